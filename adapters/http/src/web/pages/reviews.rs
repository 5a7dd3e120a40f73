//! The reviews board and the incident register (D-1..D-5).

use super::*;

/// The columns the reviews board and the incident register sort on (one order for the page: a
/// column a table does not have leaves that table in its own order).
const SORTS: [&str; 6] = [
    "platform", "province", "opened", "due", "occurred", "reported",
];

pub(crate) async fn reviews(
    State(state): State<AppState>,
    v: Viewer,
    Query(params): Params,
) -> Result<Response, PageError> {
    let params = filled(params);
    known(&params, &["as_of", "q", "sort", "dir", "page"]).map_err(|r| refused(&v, r))?;
    let view = table::View::of(&params, &SORTS).map_err(|r| refused(&v, r))?;
    let as_of = date_param(&params, "as_of")
        .map_err(|r| refused(&v, r))?
        .unwrap_or_else(|| state.app().today());
    let window = u32::try_from(state.app().settings().policy.review_window_days).unwrap_or(90);
    let rows = state
        .app()
        .reviews(&v.actor, as_of, window)
        .await
        .map_err(|p| refused(&v, p))?;
    let incidents = state
        .app()
        .incidents(&v.actor, as_of)
        .await
        .map_err(|p| refused(&v, p))?;
    // One search over both registers: platform, province, review and incident ids.
    let rows = view.select(
        rows,
        |r| {
            format!(
                "{} {} {} {}",
                r.platform_name,
                r.platform_id,
                province_name(Lang::Zh, &r.province),
                r.review_id.as_deref().unwrap_or("")
            )
        },
        |r, col| match col {
            "platform" => table::Key::Text(r.platform_name.clone()),
            "province" => table::Key::Text(r.province.clone()),
            "opened" => table::Key::day(r.opened_on),
            "due" => table::Key::day(Some(r.due_on)),
            _ => table::Key::Blank,
        },
    );
    let incidents = view.select(
        incidents,
        |i| {
            format!(
                "{} {} {} {}",
                i.platform_name, i.platform_id, i.incident.incident_id, i.incident.description
            )
        },
        |i, col| match col {
            "platform" => table::Key::Text(i.platform_name.clone()),
            "occurred" => table::Key::day(Some(i.incident.occurred_on)),
            "reported" => table::Key::day(Some(i.incident.reported_on)),
            _ => table::Key::Blank,
        },
    );
    let (register, pages) = view.page_of(&incidents);
    let lang = v.lang;
    let sections: [(&str, &str, &str, &[ReviewState]); 4] = [
        ("overdue", "逾期未结", "Overdue", &[ReviewState::Overdue]),
        (
            "open",
            "进行中（待结论）",
            "Open, due",
            &[ReviewState::Open],
        ),
        (
            "opening",
            "即将开启（30天内）或应开未开",
            "Opening soon (30 days) or due to open",
            &[ReviewState::OpeningSoon, ReviewState::NotYetOpened],
        ),
        (
            "scheduled",
            "已排期",
            "Scheduled",
            &[ReviewState::Scheduled],
        ),
    ];
    let open_incident_reviews: Vec<_> = incidents
        .iter()
        .filter(|i| i.incident.review_id.is_some() && i.incident.review_outcome.is_none())
        .collect();
    let body = html! {
        form.filters method="get" action="/ui/reviews" {
            label { (v.t("截至日期", "As of")) input type="date" name="as_of" id="as_of" value=(as_of); }
            (table::search(&v, &view))
            button.primary type="submit" id="apply" { (v.t("更新", "Update")) }
        }
        @for (id, zh, en, states) in sections {
            @let list: Vec<_> = rows.iter().filter(|r| states.contains(&r.state)).collect();
            h2 { (lang.t(zh, en)) " (" span id={"count-" (id)} { (list.len()) } ")" }
            div.scroll { table id={"reviews-" (id)} {
                thead { tr {
                    (table::th(&v, "/ui/reviews", &params, &view, "platform", ("平台", "Platform")))
                    (table::th(&v, "/ui/reviews", &params, &view, "province", ("省份", "Province")))
                    th { (v.t("起因", "Trigger")) }
                    (table::th(&v, "/ui/reviews", &params, &view, "opened", ("开启", "Opened")))
                    (table::th(&v, "/ui/reviews", &params, &view, "due", ("截止", "Due")))
                    th { }
                } }
                tbody { @for r in &list {
                    tr data-platform=(r.platform_id) {
                        td { a href={"/ui/platforms/" (r.platform_id)} { (r.platform_name) } }
                        td { (province_name(lang, &r.province)) }
                        td { (trigger_name(lang, &r.trigger)) } td { @if let Some(o) = r.opened_on { (o) } } td { (r.due_on) }
                        td { @if let Some(rid) = &r.review_id { (crate::web::actions::review_forms(&v, &r.platform_id, rid, state.app().today())) } }
                    }
                } }
            } }
        }
        h2 { (v.t("事故触发的复核（未结）", "Open incident re-reviews")) " (" span id="count-incident-reviews" { (open_incident_reviews.len()) } ")" }
        div.scroll { table id="incident-reviews" {
            thead { tr { th { (v.t("平台", "Platform")) } th { (v.t("事故", "Incident")) } th { (v.t("发生", "Occurred")) } th { (v.t("评定等级", "Assessed class")) } th { (v.t("复核", "Review")) } } }
            tbody { @for i in &open_incident_reviews {
                tr { td { a href={"/ui/platforms/" (i.platform_id)} { (i.platform_name) } } td { (i.incident.description) }
                     td { (i.incident.occurred_on) } td { @if let Some(c) = i.incident.assessed_class { (incident_class(lang, c)) } }
                     td { (i.incident.review_id.clone().unwrap_or_default()) } }
            } }
        } }
        h2 { (v.t("事故登记", "Incident register")) " (" (incidents.len()) ")" }
        div.scroll { table id="incident-register" {
            thead { tr {
                (table::th(&v, "/ui/reviews", &params, &view, "platform", ("平台", "Platform")))
                th { (v.t("类别", "Kind")) }
                (table::th(&v, "/ui/reviews", &params, &view, "occurred", ("发生", "Occurred")))
                (table::th(&v, "/ui/reviews", &params, &view, "reported", ("报告", "Reported")))
                th { (v.t("评定等级", "Assessed class")) }
            } }
            tbody { @for i in register {
                tr { td { a href={"/ui/platforms/" (i.platform_id)} { (i.platform_name) } } td { (incident_kind(lang, i.incident.kind)) }
                     td { (i.incident.occurred_on) } td { (i.incident.reported_on) }
                     td { @if let Some(c) = i.incident.assessed_class { (incident_class(lang, c)) } } }
            } }
        } }
        (table::pager(&v, "/ui/reviews", &params, &view, pages, incidents.len()))
    };
    Ok(page(&v, v.t("复核与事故", "Reviews & incidents"), body))
}
