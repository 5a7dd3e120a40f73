//! The roster page (RULES.md §4, D-8) as of a date, with filters and CSV/XLSX downloads.

use super::*;

const ROSTER_PAGE_PARAMS: [&str; 5] = ["as_of", "province", "domain", "status", "stars"];

async fn roster_for(
    state: &AppState,
    v: &Viewer,
    params: &HashMap<String, String>,
) -> Result<(NaiveDate, Vec<RosterRow>), PageError> {
    known(params, &ROSTER_PAGE_PARAMS).map_err(|r| refused(v, r))?;
    let q = reads::roster_query(params).map_err(|r| refused(v, r))?;
    state
        .app()
        .roster(&v.actor, &q)
        .await
        .map_err(|p| refused(v, p))
}

pub(crate) async fn roster(
    State(state): State<AppState>,
    v: Viewer,
    Query(params): Params,
) -> Result<Response, PageError> {
    let params = filled(params);
    let (as_of, rows) = roster_for(&state, &v, &params).await?;
    let lang = v.lang;
    let qs = query_string(&params);
    let national = matches!(v.actor.role, Role::Ministry | Role::Analyst);
    let mut per_province: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_domain: BTreeMap<Domain, u64> = BTreeMap::new();
    for r in &rows {
        *per_province.entry(r.province.clone()).or_default() += 1;
        for d in r.domains.split(';').filter_map(Domain::parse) {
            *per_domain.entry(d).or_default() += 1;
        }
    }
    let mut province_bars: Vec<Bar> = per_province
        .into_iter()
        .map(|(p, n)| Bar {
            label: province_name(lang, &p),
            value: n,
        })
        .collect();
    province_bars.sort_by(|a, b| b.value.cmp(&a.value).then(a.label.cmp(&b.label)));
    let mut domain_bars: Vec<Bar> = per_domain
        .into_iter()
        .map(|(d, n)| Bar {
            label: domain_name(lang, d).to_string(),
            value: n,
        })
        .collect();
    domain_bars.sort_by(|a, b| b.value.cmp(&a.value).then(a.label.cmp(&b.label)));
    let selected = |k: &str, val: &str| params.get(k).map(String::as_str) == Some(val);
    let body = html! {
        form.filters method="get" action="/ui/roster" id="roster-filter" {
            label { (v.t("截至日期", "As of")) input type="date" name="as_of" id="as_of" value=(as_of); }
            @if national {
                label { (v.t("省份", "Province"))
                    select name="province" id="province" {
                        option value="" { (v.t("全部", "All")) }
                        @for p in Province::all() {
                            option value=(p.code()) selected[selected("province", p.code())] { (lang.t(p.name_zh(), p.name_en())) }
                        }
                    }
                }
            }
            label { (v.t("领域", "Domain"))
                select name="domain" id="domain" {
                    option value="" { (v.t("全部", "All")) }
                    @for d in Domain::ALL {
                        option value=(d.code()) selected[selected("domain", d.code())] { (domain_name(lang, d)) }
                    }
                }
            }
            label { (v.t("状态", "Status"))
                select name="status" id="status" {
                    option value="" { (v.t("在名单内", "On the roster")) }
                    @for st in Status::ALL.into_iter().filter(|st| *st != Status::New) {
                        option value=(st.code()) selected[selected("status", st.code())] { (status_name(lang, st)) }
                    }
                }
            }
            label { (v.t("服务能力星级", "Star rating"))
                select name="stars" id="stars" {
                    option value="" { (v.t("全部", "All")) }
                    @for n in 1..=5u8 {
                        @let s = n.to_string();
                        option value=(s) selected[selected("stars", &s)] { (s) " ★" }
                    }
                }
            }
            button.primary type="submit" id="apply" { (v.t("筛选", "Filter")) }
        }
        p { span id="roster-count" data-count=(rows.len()) { (rows.len()) } " " (v.t("个平台，截至", "platforms as of")) " " (as_of)
            span.downloads { " · "
                a href={"/ui/roster.csv?" (qs)} id="download-roster-csv" { "CSV" }
                a href={"/ui/roster.xlsx?" (qs)} id="download-roster-xlsx" { "XLSX" }
            }
        }
        div.scroll {
            table id="roster-table" {
                thead { tr {
                    th { (v.t("平台", "Platform")) } th { (v.t("申报单位", "Applicant")) } th { (v.t("省份", "Province")) }
                    th { (v.t("领域", "Domains")) } th { (v.t("状态", "Status")) } th { (v.t("入列日期", "Listed on")) }
                    th { (v.t("下次复核截止", "Next review due")) } th { (v.t("星级", "Stars")) }
                } }
                tbody {
                    @for r in &rows {
                        tr data-platform=(r.platform_id) {
                            td { a href={"/ui/platforms/" (r.platform_id)} { (r.platform_name) } }
                            td { (r.applicant_name) }
                            td { (province_name(lang, &r.province)) }
                            td { (r.domains.split(';').filter_map(Domain::parse).map(|d| domain_name(lang, d)).collect::<Vec<_>>().join("、")) }
                            td { (status_badge(lang, r.status)) }
                            td { @if let Some(d) = r.listed_on { (d) } }
                            td { @if let Some(d) = r.next_review_due { (d) } }
                            td.stars { @if let Some(s) = r.stars { (s) " ★ (" (r.stars_year.unwrap_or_default()) ")" } }
                        }
                    }
                }
            }
        }
        div.grid2 {
            div { h2 { (v.t("按省份", "By province")) } (charts::bars(v.t("按省份的平台数", "Platforms by province"), &province_bars)) }
            div { h2 { (v.t("按领域", "By domain")) } (charts::bars(v.t("按领域的平台数（多领域平台各计一次）", "Platforms by domain (a multi-domain platform in each)"), &domain_bars)) }
        }
    };
    Ok(page(&v, v.t("平台名单", "Roster"), body))
}

pub(crate) async fn roster_csv(
    State(state): State<AppState>,
    v: Viewer,
    Query(params): Params,
) -> Result<Response, PageError> {
    let (as_of, rows) = roster_for(&state, &v, &filled(params)).await?;
    let body = export::to_csv(&export::roster_sheet(&rows))
        .map_err(|e| refused(&v, Problem::new(code::INTERNAL, e.to_string())))?;
    Ok(file(
        "text/csv; charset=utf-8",
        &format!("roster-{as_of}.csv"),
        body,
    ))
}

pub(crate) async fn roster_xlsx(
    State(state): State<AppState>,
    v: Viewer,
    Query(params): Params,
) -> Result<Response, PageError> {
    let (as_of, rows) = roster_for(&state, &v, &filled(params)).await?;
    let body = export::to_xlsx(&[export::roster_sheet(&rows)])
        .map_err(|e| refused(&v, Problem::new(code::INTERNAL, e.to_string())))?;
    Ok(file(XLSX, &format!("roster-{as_of}.xlsx"), body))
}
