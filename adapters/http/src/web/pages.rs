//! The dashboard's pages. Each reads through the same functions as the API's reports, so a page
//! shows exactly what the API would give the same user (RULES.md §10), and downloads are the API's
//! CSV and XLSX.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use maud::{html, Markup};
use roster_domain::actor::Role;
use roster_domain::commands::ReviewOutcome;
use roster_domain::eligibility::Outcome;
use roster_domain::error::{code, Refusal};
use roster_domain::incident::{IncidentClass, IncidentKind};
use roster_domain::platform::Status;
use roster_domain::values::{Domain, Province};
use roster_projections::export;
use roster_projections::kpi::KpiReport;
use roster_projections::models::incidents::IncidentsDoc;
use roster_projections::models::reviews::ReviewsDoc;
use roster_projections::models::timeline::TimelineDoc;
use roster_projections::queries::{ReviewState, RosterRow};

use super::charts::{self, Bar, Series, Stroke};
use super::{filled, page, Lang, PageError, Viewer};
use crate::problem::Problem;
use crate::reads::{self, date_param, known};
use crate::AppState;

type Params = Query<HashMap<String, String>>;

/// Statuses with their Chinese and English names, in lifecycle order.
pub(super) fn status_name(lang: Lang, s: Status) -> &'static str {
    lang.t(s.name_zh(), s.name_en())
}

fn status_badge(lang: Lang, s: Status) -> Markup {
    html! { span class={"status " (s.code())} data-status=(s.code()) { (status_name(lang, s)) } }
}

fn province_name(lang: Lang, code: &str) -> String {
    Province::parse(code).map_or_else(
        || code.to_string(),
        |p| lang.t(p.name_zh(), p.name_en()).to_string(),
    )
}

fn domain_name(lang: Lang, d: Domain) -> &'static str {
    lang.t(d.name_zh(), d.code())
}

/// A query string from parameters (sorted, percent-encoded), for download links and forms.
pub(super) fn query_string(params: &HashMap<String, String>) -> String {
    let sorted: BTreeMap<_, _> = params.iter().collect();
    sorted
        .into_iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// RFC 3986's unreserved characters stay as they are; everything else is percent-encoded.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, QUERY_VALUE).to_string()
}

fn refused(v: &Viewer, r: impl Into<Problem>) -> PageError {
    PageError::new(v, r)
}

fn file(content_type: &str, name: &str, body: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

// ---------------------------------------------------------------- targets (RULES.md §8)

const KPI_PARAMS: [&str; 3] = ["as_of", "known_at", "target_set"];

/// The KPI report the viewer may see for the page's as-of, known-at and target set.
async fn kpi_for(
    state: &AppState,
    v: &Viewer,
    params: &HashMap<String, String>,
) -> Result<(KpiReport, Option<Province>), PageError> {
    known(params, &KPI_PARAMS).map_err(|r| refused(v, r))?;
    crate::kpi::build(state, &v.actor, params)
        .await
        .map_err(|p| refused(v, p))
}

pub(super) async fn targets(
    State(state): State<AppState>,
    v: Viewer,
    Query(params): Params,
) -> Result<Response, PageError> {
    let params = filled(params);
    let (report, province) = kpi_for(&state, &v, &params).await?;
    let lang = v.lang;
    let qs = query_string(&params);
    let scope = match province {
        Some(p) => format!(
            "{} {}",
            lang.t("本省平台：", "Platforms of"),
            lang.t(p.name_zh(), p.name_en())
        ),
        None => lang.t("全国", "National").to_string(),
    };
    let body = html! {
        form.filters method="get" action="/ui/targets" id="targets-filter" {
            label { (v.t("截至日期", "As of")) input type="date" name="as_of" id="as_of" value=(report.as_of); }
            label title=(v.t("只计入该日（北京时间）结束前已记录的事实：当时公布的数字", "Only facts recorded by the end of that day (Beijing): the figures as published then")) {
                (v.t("记录截至（可选）", "As known at (optional)"))
                input type="date" name="known_at" id="known_at" value=[params.get("known_at")];
            }
            label { (v.t("目标集", "Target set"))
                select name="target_set" id="target_set" {
                    option value="" { (v.t("全部生效目标", "All sets in force")) }
                    @for s in &report.target_sets {
                        option value=(s.target_set_id) selected[params.get("target_set") == Some(&s.target_set_id)] { (s.name) }
                    }
                }
            }
            button.primary type="submit" id="apply" { (v.t("更新", "Update")) }
        }
        p.muted { (scope) " · " (v.t("截至", "as of")) " " span id="as-of-shown" { (report.as_of) } }
        div.cards {
            @for k in &report.values {
                div.card data-metric=(k.metric.code()) {
                    div.muted { (k.rule) " · " (v.t(k.name_zh, k.name_en)) }
                    div.big id={"kpi-" (k.metric.code())} { (k.value) }
                }
            }
        }
        h2 { (v.t("目标进度", "Progress against targets")) }
        div.grid2 {
            @for t in &report.targets {
                div.card.target data-metric=(t.metric.code()) data-target-set=(t.target_set_id) {
                    div { strong { (v.t(t.name_zh, t.name_en)) } " " span.muted { (t.rule) " · " (t.target_set_name) " · " (t.scope) } }
                    (charts::progress(&format!("{} {}", v.t(t.name_zh, t.name_en), t.value), t.value, t.threshold, t.met))
                    div {
                        (v.t("当前", "Value")) " " strong.value { (t.value) } " · "
                        (v.t("目标", "target")) " " (t.comparator) " " (t.threshold) " · "
                        (v.t("差距", "gap")) " " strong.gap { (t.gap) } " · "
                        (v.t("截止", "deadline")) " " (t.deadline) " "
                        span class={"status " (t.status)} { (status_label(lang, t.status)) }
                    }
                    div.muted {
                        (v.t("按近期速度预计截止时达到", "At the recent rate, by the deadline")) " "
                        (format!("{:.1}", t.forecast_at_deadline)) " ("
                        (format!("{:.2}", t.rate_per_month)) (v.t("/月", "/month")) ")"
                        @if let Some(r) = t.required_per_month {
                            " · " (v.t("需每月", "needs")) " " (format!("{:.2}", r)) (v.t("", "/month"))
                        }
                    }
                }
            }
        }
        h2 { (v.t("月度走势、预测与所需轨迹", "Monthly figures, forecast and required trajectory")) }
        div.grid2 {
            @for (i, t) in report.targets.iter().enumerate() {
                @if t.scope == "national" {
                    div.card id={"chart-" (i)} {
                        strong { (v.t(t.name_zh, t.name_en)) " · " (t.target_set_name) }
                        (trajectory_chart(lang, &report, t))
                    }
                }
            }
        }
        h2 { (v.t("下载", "Downloads")) }
        p.downloads {
            a href={"/ui/kpi.xlsx?" (qs)} id="download-kpi-xlsx" { (v.t("KPI 报告 (XLSX)", "KPI report (XLSX)")) }
            a href={"/ui/kpi.csv?" (qs)} id="download-kpi-csv" { (v.t("目标进度 (CSV)", "Targets (CSV)")) }
        }
    };
    Ok(page(&v, v.t("目标进度", "Targets"), body))
}

fn status_label(lang: Lang, s: &str) -> &'static str {
    match s {
        "met" => lang.t("已达成", "met"),
        "on_track" => lang.t("按期可达", "on track"),
        "behind" => lang.t("进度落后", "behind"),
        "missed" => lang.t("未达成", "missed"),
        _ => "—",
    }
}

/// The monthly values of the target's metric, the run-rate forecast from the as-of date to the
/// deadline, and the straight line from today's value to the least value that meets the target.
fn trajectory_chart(
    lang: Lang,
    report: &KpiReport,
    t: &roster_projections::kpi::TargetProgress,
) -> Markup {
    let actual: Vec<(NaiveDate, f64)> = report
        .monthly
        .iter()
        .map(|m| (m.as_of, m.counts.get(t.metric) as f64))
        .collect();
    let from = report
        .monthly
        .first()
        .and_then(|m| NaiveDate::parse_from_str(&format!("{}-01", m.month), "%Y-%m-%d").ok())
        .unwrap_or(report.as_of);
    let to = t.deadline.max(report.as_of);
    let mut series = vec![Series {
        name: lang.t("实际（月末）", "actual (month end)").into(),
        class: "actual",
        stroke: Stroke::Solid,
        points: actual,
    }];
    if report.as_of < t.deadline {
        let least = if t.comparator == ">" {
            t.threshold + 1
        } else {
            t.threshold
        };
        series.push(Series {
            name: lang
                .t("按近期速度预测", "forecast at the recent rate")
                .into(),
            class: "forecast",
            stroke: Stroke::Dashed,
            points: vec![
                (report.as_of, t.value as f64),
                (t.deadline, t.forecast_at_deadline),
            ],
        });
        series.push(Series {
            name: lang.t("达标所需轨迹", "required trajectory").into(),
            class: "required",
            stroke: Stroke::Dotted,
            points: vec![
                (report.as_of, t.value as f64),
                (t.deadline, least.max(t.value) as f64),
            ],
        });
    }
    let threshold_name = format!(
        "{} {} {}",
        lang.t("目标", "target"),
        t.comparator,
        t.threshold
    );
    charts::lines(
        &format!("{} {}", lang.t(t.name_zh, t.name_en), t.deadline),
        &series,
        Some((t.threshold as f64, &threshold_name)),
        from,
        to,
    )
}

pub(super) async fn kpi_xlsx(
    State(state): State<AppState>,
    v: Viewer,
    Query(params): Params,
) -> Result<Response, PageError> {
    let (report, _) = kpi_for(&state, &v, &filled(params)).await?;
    let body = export::to_xlsx(&export::sheets(&report))
        .map_err(|e| refused(&v, Problem::new(code::INTERNAL, e.to_string())))?;
    Ok(file(XLSX, &format!("kpi-{}.xlsx", report.as_of), body))
}

pub(super) async fn kpi_csv(
    State(state): State<AppState>,
    v: Viewer,
    Query(params): Params,
) -> Result<Response, PageError> {
    let mut params = filled(params);
    let view = params.remove("view").unwrap_or_else(|| "targets".into());
    let (report, _) = kpi_for(&state, &v, &params).await?;
    let sheet =
        export::sheet(&report, &view).map_err(|e| refused(&v, Refusal::invalid("view", e)))?;
    let body = export::to_csv(&sheet)
        .map_err(|e| refused(&v, Problem::new(code::INTERNAL, e.to_string())))?;
    Ok(file(
        "text/csv; charset=utf-8",
        &format!("kpi-{}-{}.csv", report.as_of, sheet.name),
        body,
    ))
}

// ---------------------------------------------------------------- roster (RULES.md §4, D-8)

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

pub(super) async fn roster(
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

pub(super) async fn roster_csv(
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

pub(super) async fn roster_xlsx(
    State(state): State<AppState>,
    v: Viewer,
    Query(params): Params,
) -> Result<Response, PageError> {
    let (as_of, rows) = roster_for(&state, &v, &filled(params)).await?;
    let body = export::to_xlsx(&[export::roster_sheet(&rows)])
        .map_err(|e| refused(&v, Problem::new(code::INTERNAL, e.to_string())))?;
    Ok(file(XLSX, &format!("roster-{as_of}.xlsx"), body))
}

// ---------------------------------------------------------------- platform

pub(super) async fn platform(
    State(state): State<AppState>,
    Path(platform_id): Path<String>,
    v: Viewer,
) -> Result<Response, PageError> {
    let what = format!("GET /ui/platforms/{platform_id}");
    let loaded = state
        .app()
        .readable_platform(&v.actor, &platform_id, &what)
        .await
        .map_err(|r| refused(&v, r))?;
    let timeline: TimelineDoc = state
        .app()
        .platform_timeline(&platform_id)
        .await
        .map_err(|r| refused(&v, r))?;
    let (reviews, incidents): (ReviewsDoc, IncidentsDoc) = state
        .app()
        .platform_record(&platform_id)
        .await
        .map_err(|r| refused(&v, r))?;
    let p = &loaded.state;
    let lang = v.lang;
    let form = p.form.as_ref();
    let name = form.map_or(platform_id.as_str(), |f| f.platform.name.as_str());
    let by_event: HashMap<uuid::Uuid, &str> = timeline
        .entries
        .iter()
        .map(|e| (e.event_id, e.event_type.as_str()))
        .collect();
    let today = state.app().today();
    let body = html! {
        div.cards {
            div.card {
                div.muted { (v.t("状态", "Status")) }
                div { (status_badge(lang, p.status)) }
                @for (from, to) in &p.listed_periods {
                    div.muted { (v.t("在名单内", "Listed")) " " (from) " – " @if let Some(t) = to { (t) } @else { (v.t("至今", "now")) } }
                }
            }
            @if let Some(f) = form {
                div.card {
                    div.muted { (v.t("申报单位", "Applicant")) }
                    div { (f.applicant.name) }
                    div.muted { (f.applicant.uscc.as_str()) " · " (province_name(lang, f.applicant.province.code())) " · " (f.applicant.city.as_str()) }
                }
                div.card {
                    div.muted { (v.t("领域", "Domains")) }
                    div { (f.domains.iter().map(|d| domain_name(lang, *d)).collect::<Vec<_>>().join("、")) }
                }
            }
            div.card {
                div.muted { (v.t("服务能力星级", "Star ratings")) }
                @if p.star_ratings.is_empty() { div { "—" } }
                @for (year, stars) in &p.star_ratings { div { (year) ": " (stars) " ★" } }
            }
        }
        (super::actions::platform_forms(&v, &platform_id, p, today))
        h2 { (v.t("资格审查（各条规则）", "Eligibility (each rule)")) }
        @if let Some(a) = &p.assessment {
            p.muted { (v.t("审查日期", "Assessed on")) " " (a.assessed_on) }
            div.scroll { table id="eligibility" {
                thead { tr { th { (v.t("规则", "Rule")) } th { (v.t("结果", "Outcome")) } th { (v.t("说明", "Detail")) } } }
                tbody {
                    @for r in &a.rules {
                        tr data-rule=(r.rule) {
                            td { (r.rule) }
                            td class=(outcome_class(r.outcome)) { (outcome_name(lang, r.outcome)) }
                            td { (r.detail) }
                        }
                    }
                    @for s in &a.soft_findings {
                        tr { td { (s.code) } td { @if s.present { (v.t("有", "present")) } @else { (v.t("无", "absent")) } } td { (s.detail) } }
                    }
                }
            } }
            @for w in &a.warnings { p.muted { "⚠ " (w) } }
        } @else {
            p.muted { (v.t("尚无资格审查。", "No eligibility assessment yet.")) }
        }
        h2 { (v.t("复核", "Reviews")) }
        div.scroll { table id="reviews" {
            thead { tr { th { (v.t("复核", "Review")) } th { (v.t("起因", "Trigger")) } th { (v.t("开启", "Opened")) } th { (v.t("截止", "Due")) } th { (v.t("结论", "Outcome")) } } }
            tbody { @for r in &reviews.reviews {
                tr { td { (r.review_id) } td { (r.trigger) } td { (r.opened_on) } td { (r.due_on) }
                     td { @if let Some(o) = r.outcome { (review_outcome(lang, o)) " " @if let Some(c) = r.concluded_on { (c) } } @else if r.lapsed_on.is_some() { (v.t("失效", "lapsed")) } @else { (v.t("进行中", "open")) } } }
            } }
        } }
        h2 { (v.t("事故", "Incidents")) }
        div.scroll { table id="incidents" {
            thead { tr { th { (v.t("事故", "Incident")) } th { (v.t("类别", "Kind")) } th { (v.t("发生", "Occurred")) } th { (v.t("报告", "Reported")) } th { (v.t("评定等级", "Assessed class")) } th { (v.t("复核", "Review")) } } }
            tbody { @for i in &incidents.incidents {
                tr { td { (i.incident_id) } td { (incident_kind(lang, i.kind)) } td { (i.occurred_on) } td { (i.reported_on) }
                     td { @if let Some(c) = i.assessed_class { (incident_class(lang, c)) } }
                     td { @if let Some(r) = &i.review_id { (r) @if let Some(o) = i.review_outcome { " · " (review_outcome(lang, o)) } } } }
            } }
        } }
        h2 { (v.t("时间线", "Timeline")) }
        div.scroll { table id="timeline" {
            thead { tr { th { (v.t("业务日期", "Business date")) } th { (v.t("事件", "Event")) } th { (v.t("内容", "Summary")) } th { (v.t("操作者", "Actor")) } th { (v.t("起因", "Cause")) } th { (v.t("记录时间", "Recorded")) } } }
            tbody { @for e in &timeline.entries {
                tr data-event=(e.event_type) {
                    td { (e.business_date) } td { (e.event_type) } td { (e.summary) }
                    td { (super::role_name(lang, &e.actor)) " (" (e.actor.id) ")" }
                    td { @if let Some(c) = e.causation_id { (by_event.get(&c).copied().unwrap_or("command")) " " span.muted { (c.simple().to_string()[..8]) } } }
                    td.muted {
                        (e.recorded_at.format("%Y-%m-%d %H:%M:%S UTC"))
                        @if e.late_entry { " " span.badge.late title=(v.t("记录时间晚于业务日期30天以上", "recorded more than 30 days after its business date")) { (v.t("补录", "late entry")) } }
                        @if let Some(op) = &e.backfilled_by { " " span.badge.backfill title=(op) { (v.t("历史迁移", "backfilled")) } }
                    }
                }
            } }
        } }
    };
    Ok(page(&v, name, body))
}

fn incident_kind(lang: Lang, k: IncidentKind) -> &'static str {
    match k {
        IncidentKind::StrainLeak => lang.t("菌种泄露", "strain leak"),
        IncidentKind::Safety => lang.t("安全事故", "safety"),
        IncidentKind::Environmental => lang.t("环境污染事故", "environmental"),
        IncidentKind::Other => lang.t("其他", "other"),
    }
}

/// Decree 493's classes.
fn incident_class(lang: Lang, c: IncidentClass) -> &'static str {
    match c {
        IncidentClass::General => lang.t("一般", "general"),
        IncidentClass::Larger => lang.t("较大", "larger"),
        IncidentClass::Major => lang.t("重大", "major"),
        IncidentClass::EspeciallyMajor => lang.t("特别重大", "especially major"),
    }
}

fn review_outcome(lang: Lang, o: ReviewOutcome) -> &'static str {
    match o {
        ReviewOutcome::Passed => lang.t("通过", "passed"),
        ReviewOutcome::Failed => lang.t("不通过", "failed"),
    }
}

fn outcome_class(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "outcome-pass",
        Outcome::Fail | Outcome::MissingEvidence => "outcome-fail",
        Outcome::NotApplicable => "",
    }
}

fn outcome_name(lang: Lang, o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => lang.t("符合", "pass"),
        Outcome::Fail => lang.t("不符合", "fail"),
        Outcome::MissingEvidence => lang.t("缺少材料", "missing evidence"),
        Outcome::NotApplicable => lang.t("不适用", "not applicable"),
    }
}

// ---------------------------------------------------------------- reviews and incidents (D-1..D-5)

pub(super) async fn reviews(
    State(state): State<AppState>,
    v: Viewer,
    Query(params): Params,
) -> Result<Response, PageError> {
    let params = filled(params);
    known(&params, &["as_of"]).map_err(|r| refused(&v, r))?;
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
            button.primary type="submit" id="apply" { (v.t("更新", "Update")) }
        }
        @for (id, zh, en, states) in sections {
            @let list: Vec<_> = rows.iter().filter(|r| states.contains(&r.state)).collect();
            h2 { (lang.t(zh, en)) " (" span id={"count-" (id)} { (list.len()) } ")" }
            div.scroll { table id={"reviews-" (id)} {
                thead { tr { th { (v.t("平台", "Platform")) } th { (v.t("省份", "Province")) } th { (v.t("起因", "Trigger")) } th { (v.t("开启", "Opened")) } th { (v.t("截止", "Due")) } th { } } }
                tbody { @for r in &list {
                    tr data-platform=(r.platform_id) {
                        td { a href={"/ui/platforms/" (r.platform_id)} { (r.platform_name) } }
                        td { (province_name(lang, &r.province)) }
                        td { (r.trigger) } td { @if let Some(o) = r.opened_on { (o) } } td { (r.due_on) }
                        td { @if let Some(rid) = &r.review_id { (super::actions::conclude_form(&v, &r.platform_id, rid, state.app().today())) } }
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
            thead { tr { th { (v.t("平台", "Platform")) } th { (v.t("类别", "Kind")) } th { (v.t("发生", "Occurred")) } th { (v.t("报告", "Reported")) } th { (v.t("评定等级", "Assessed class")) } } }
            tbody { @for i in &incidents {
                tr { td { a href={"/ui/platforms/" (i.platform_id)} { (i.platform_name) } } td { (incident_kind(lang, i.incident.kind)) }
                     td { (i.incident.occurred_on) } td { (i.incident.reported_on) }
                     td { @if let Some(c) = i.incident.assessed_class { (incident_class(lang, c)) } } }
            } }
        } }
    };
    Ok(page(&v, v.t("复核与事故", "Reviews & incidents"), body))
}

// ---------------------------------------------------------------- funnel (RULES.md §6)

/// A funnel stage: its Chinese and English names and its count in a row.
type Stage = (
    &'static str,
    &'static str,
    fn(&roster_projections::queries::FunnelRow) -> u32,
);

pub(super) async fn funnel(
    State(state): State<AppState>,
    v: Viewer,
    Query(params): Params,
) -> Result<Response, PageError> {
    let params = filled(params);
    known(&params, &["round", "as_of"]).map_err(|r| refused(&v, r))?;
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
    let lang = v.lang;
    let stages: [Stage; 9] = [
        ("申报", "submitted", |r| r.submitted),
        ("市级推荐", "endorsed", |r| r.endorsed),
        ("省级推荐", "recommended", |r| r.recommended),
        ("评审通过", "evaluated (pass)", |r| r.evaluated_pass),
        ("公示", "on notice", |r| r.on_notice),
        ("入列", "listed", |r| r.listed),
        ("未获推荐", "rejected", |r| r.rejected),
        ("未入选", "not selected", |r| r.not_selected),
        ("撤回", "withdrawn", |r| r.withdrawn),
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
    let body = html! {
        form.filters method="get" action="/ui/funnel" {
            label { (v.t("批次", "Round"))
                select name="round" id="round" {
                    @for r in &rounds { option value=(r) selected[round.as_deref() == Some(r.as_str())] { (r) } }
                }
            }
            label { (v.t("截至日期", "As of")) input type="date" name="as_of" id="as_of" value=(as_of); }
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
            thead { tr { th { (v.t("平台", "Platform")) } th { (v.t("申报单位", "Applicant")) } th { (v.t("省份", "Province")) } th { (v.t("状态", "Status")) } th { (v.t("资格", "Eligibility")) } th { (v.t("操作", "Actions")) } } }
            tbody { @for p in &applications {
                tr data-platform=(p.platform_id) {
                    td { a href={"/ui/platforms/" (p.platform_id)} { (p.platform_name) } }
                    td { (p.applicant_name) }
                    td { (province_name(lang, &p.province)) }
                    td { (status_badge(lang, p.status)) }
                    td { @if p.hard_failures.is_empty() { span.outcome-pass { (v.t("符合", "pass")) } } @else { span.outcome-fail { (p.hard_failures.join(", ")) } } }
                    td { (super::actions::summary_forms(&v, p, today)) }
                }
            } }
        } }
    };
    Ok(page(&v, v.t("申报漏斗", "Funnel"), body))
}
