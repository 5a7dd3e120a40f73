//! The roster page (RULES.md §4, D-8) as of a date, with filters and CSV/XLSX downloads.

use super::*;

const ROSTER_PAGE_PARAMS: [&str; 10] = [
    "as_of", "province", "domain", "status", "stars", "city", "q", "sort", "dir", "page",
];

/// The columns the roster table sorts on.
const SORTS: [&str; 7] = [
    "platform",
    "applicant",
    "province",
    "status",
    "listed_on",
    "next_review",
    "stars",
];

/// A column's head in the words of the download and the CLI (`export::ROSTER_COLUMNS`).
fn head(key: &str) -> (&'static str, &'static str) {
    let c = export::term(&export::ROSTER_COLUMNS, key);
    (c.zh, c.en)
}

fn sort_key(r: &RosterRow, col: &str) -> table::Key {
    use table::Key;
    let date = Key::day;
    match col {
        "platform" => Key::Text(r.platform_name.clone()),
        "applicant" => Key::Text(r.applicant_name.clone()),
        "province" => Key::Text(r.province.clone()),
        "status" => Key::Text(r.status.code().to_string()),
        "listed_on" => date(r.listed_on),
        "next_review" => date(r.next_review_due),
        _ => r.stars.map_or(Key::Blank, |s| Key::Num(s.into())),
    }
}

/// The roster rows of the page's filters, search and order (every page: the downloads take
/// them all), and the view.
async fn roster_for(
    state: &AppState,
    v: &Viewer,
    params: &HashMap<String, String>,
) -> Result<(NaiveDate, Vec<RosterRow>, table::View), PageError> {
    known(params, &ROSTER_PAGE_PARAMS).map_err(|r| refused(v, r))?;
    let view = table::View::of(params, &SORTS).map_err(|r| refused(v, r))?;
    let q = reads::roster_query(params).map_err(|r| refused(v, r))?;
    let (as_of, mut rows) = state
        .app()
        .roster(&v.actor, &q)
        .await
        .map_err(|p| refused(v, p))?;
    if let Some(city) = params.get("city") {
        rows.retain(|r| &r.city == city);
    }
    let rows = view.select(
        rows,
        |r| {
            format!(
                "{} {} {} {} {}",
                r.platform_name, r.applicant_name, r.uscc, r.platform_id, r.province_name
            )
        },
        sort_key,
    );
    Ok((as_of, rows, view))
}

pub(crate) async fn roster(
    State(state): State<AppState>,
    v: Viewer,
    Query(params): Params,
) -> Result<Response, PageError> {
    let params = filled(params);
    let (as_of, rows, view) = roster_for(&state, &v, &params).await?;
    let (shown, pages) = view.page_of(&rows);
    let cities: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.city.as_str()).collect();
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
            @if v.actor.role != Role::City && v.actor.role != Role::Applicant {
                label { (v.t("城市", "City"))
                    select name="city" id="city" {
                        option value="" { (v.t("全部", "All")) }
                        @for c in &cities {
                            option value=(c) selected[selected("city", c)] { (city_name(c)) }
                        }
                        @if let Some(c) = params.get("city").filter(|c| !cities.contains(c.as_str())) {
                            option value=(c) selected { (city_name(c)) }
                        }
                    }
                }
            }
            (table::search(&v, &view))
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
                    (table::th(&v, "/ui/roster", &params, &view, "platform", head("platform_name")))
                    (table::th(&v, "/ui/roster", &params, &view, "applicant", head("applicant_name")))
                    (table::th(&v, "/ui/roster", &params, &view, "province", head("province_name")))
                    th { (v.t(head("domain_names").0, head("domain_names").1)) }
                    (table::th(&v, "/ui/roster", &params, &view, "status", head("status_name")))
                    (table::th(&v, "/ui/roster", &params, &view, "listed_on", head("listed_on")))
                    (table::th(&v, "/ui/roster", &params, &view, "next_review", head("next_review_due")))
                    (table::th(&v, "/ui/roster", &params, &view, "stars", head("stars")))
                } }
                tbody {
                    @for r in shown {
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
        (table::pager(&v, "/ui/roster", &params, &view, pages, rows.len()))
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
    let (as_of, rows, _) = roster_for(&state, &v, &filled(params)).await?;
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
    let (as_of, rows, _) = roster_for(&state, &v, &filled(params)).await?;
    let body = export::to_xlsx(&[export::roster_sheet(&rows)])
        .map_err(|e| refused(&v, Problem::new(code::INTERNAL, e.to_string())))?;
    Ok(file(XLSX, &format!("roster-{as_of}.xlsx"), body))
}
