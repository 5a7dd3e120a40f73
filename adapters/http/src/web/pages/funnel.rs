//! The funnel of applications per round and province (RULES.md §6).

use super::*;

/// A funnel stage: its Chinese and English names and its count in a row.
type Stage = (
    &'static str,
    &'static str,
    fn(&roster_projections::queries::FunnelRow) -> u32,
);

/// The columns the application list sorts on.
const SORTS: [&str; 5] = ["platform", "applicant", "province", "submitted", "status"];

pub(crate) async fn funnel(
    State(state): State<AppState>,
    v: Viewer,
    Query(params): Params,
) -> Result<Response, PageError> {
    let params = filled(params);
    known(
        &params,
        &["round", "as_of", "city", "q", "sort", "dir", "page"],
    )
    .map_err(|r| refused(&v, r))?;
    let view = table::View::of(&params, &SORTS).map_err(|r| refused(&v, r))?;
    let as_of = date_param(&params, "as_of")
        .map_err(|r| refused(&v, r))?
        .unwrap_or_else(|| state.app().today());
    state
        .app()
        .catch_up_catalog()
        .await
        .map_err(|e| refused(&v, roster_domain::error::store_refusal(e)))?;
    let rounds: Vec<String> = state.app().catalog().await.rounds.keys().cloned().collect();
    let round = params
        .get("round")
        .cloned()
        .or_else(|| rounds.last().cloned());
    let rows = state
        .app()
        .funnel(&v.actor, round.as_deref(), as_of)
        .await
        .map_err(|p| refused(&v, p))?;
    let applications: Vec<roster_projections::PlatformSummary> = state
        .app()
        .catalog()
        .await
        .platforms
        .values()
        .filter(|p| round.is_none() || p.round_id == round)
        .filter(|p| roster_domain::access::sees(&v.actor, &p.uscc, &p.city, &p.province))
        .cloned()
        .collect();
    let cities: std::collections::BTreeSet<String> =
        applications.iter().map(|p| p.city.clone()).collect();
    let applications: Vec<roster_projections::PlatformSummary> = view.select(
        applications
            .into_iter()
            .filter(|p| params.get("city").is_none_or(|c| &p.city == c))
            .collect(),
        |p| {
            format!(
                "{} {} {} {}",
                p.platform_name, p.applicant_name, p.uscc, p.platform_id
            )
        },
        |p, col| match col {
            "platform" => table::Key::Text(p.platform_name.clone()),
            "applicant" => table::Key::Text(p.applicant_name.clone()),
            "province" => table::Key::Text(p.province.clone()),
            "status" => table::Key::Text(p.status.code().to_string()),
            _ => table::Key::day(p.submitted_on),
        },
    );
    let (shown, pages) = view.page_of(&applications);
    let lang = v.lang;
    // Each stage headed with the words of the download and the CLI (export::FUNNEL_COLUMNS).
    let stage = |key: &str, count: fn(&roster_projections::queries::FunnelRow) -> u32| -> Stage {
        let c = export::term(&export::FUNNEL_COLUMNS, key);
        (c.zh, c.en, count)
    };
    let stages: [Stage; 9] = [
        stage("submitted", |r| r.submitted),
        stage("endorsed", |r| r.endorsed),
        stage("recommended", |r| r.recommended),
        stage("evaluated_pass", |r| r.evaluated_pass),
        stage("on_notice", |r| r.on_notice),
        stage("listed", |r| r.listed),
        stage("rejected", |r| r.rejected),
        stage("not_selected", |r| r.not_selected),
        stage("withdrawn", |r| r.withdrawn),
    ];
    let totals: Vec<Bar> = stages
        .iter()
        .map(|(zh, en, f)| Bar {
            label: lang.t(zh, en).to_string(),
            value: rows
                .iter()
                .filter(|r| r.province != "total")
                .map(|r| u64::from(f(r)))
                .sum(),
        })
        .collect();
    let today = state.app().today();
    let rounds_now: HashMap<&str, roster_domain::round::Round> = {
        let catalog = state.app().catalog().await;
        applications
            .iter()
            .filter_map(|p| p.round_id.as_deref())
            .filter_map(|r| Some((r, roster_app::round_of(&catalog, r)?)))
            .collect()
    };
    let body = html! {
        form.filters method="get" action="/ui/funnel" {
            label { (v.t("批次", "Round"))
                select name="round" id="round" {
                    @for r in &rounds { option value=(r) selected[round.as_deref() == Some(r.as_str())] { (r) } }
                }
            }
            label { (v.t("截至日期", "As of")) input type="date" name="as_of" id="as_of" value=(as_of); }
            @if !matches!(v.actor.role, Role::City | Role::Applicant) {
                label { (v.t("城市", "City"))
                    select name="city" id="city" {
                        option value="" { (v.t("全部", "All")) }
                        @for c in &cities { option value=(c) selected[params.get("city") == Some(c)] { (city_name(c)) } }
                    }
                }
            }
            (table::search(&v, &view))
            button.primary type="submit" id="apply" { (v.t("更新", "Update")) }
        }
        div.grid2 {
            div.scroll { table id="funnel" {
                thead { tr { th { (v.t("省份", "Province")) } @for (zh, en, _) in &stages { th.num { (lang.t(zh, en)) } } } }
                tbody { @for r in &rows {
                    tr data-province=(r.province) {
                        td { @if r.province == "total" { strong { (v.t("合计", "Total")) } } @else { (province_name(lang, &r.province)) } }
                        @for (_, _, f) in &stages { td.num { (f(r)) } }
                    }
                } }
            } }
            div { (charts::bars(v.t("各阶段数量", "Applications by stage"), &totals)) }
        }
        h2 { (v.t("本批次申报", "Applications in this round")) " (" (applications.len()) ")" }
        div.scroll { table id="applications" {
            thead { tr {
                (table::th(&v, "/ui/funnel", &params, &view, "platform", ("平台", "Platform")))
                (table::th(&v, "/ui/funnel", &params, &view, "applicant", ("申报单位", "Applicant")))
                (table::th(&v, "/ui/funnel", &params, &view, "province", ("省份", "Province")))
                (table::th(&v, "/ui/funnel", &params, &view, "submitted", ("提交日期", "Submitted")))
                (table::th(&v, "/ui/funnel", &params, &view, "status", ("状态", "Status")))
                th { (v.t("资格", "Eligibility")) } th { (v.t("操作", "Actions")) }
            } }
            tbody { @for p in shown {
                tr data-platform=(p.platform_id) {
                    td { a href={"/ui/platforms/" (p.platform_id)} { (p.platform_name) } }
                    td { (p.applicant_name) }
                    td { (province_name(lang, &p.province)) }
                    td.date { @if let Some(d) = p.submitted_on { (d) } }
                    td { (status_badge(lang, p.status)) }
                    td { @if p.hard_failures.is_empty() { span.outcome-pass { (v.t("符合", "pass")) } } @else { span.outcome-fail { (p.hard_failures.join(", ")) } } }
                    td { (crate::web::actions::summary_forms(&v, p, p.round_id.as_deref().and_then(|r| rounds_now.get(r)).cloned(), today)) }
                }
            } }
        } }
        (table::pager(&v, "/ui/funnel", &params, &view, pages, applications.len()))
    };
    Ok(page(&v, v.t("申报漏斗", "Funnel"), body))
}
