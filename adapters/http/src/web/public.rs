//! The public face's pages (RULES.md §13), without sign-in: the roster as published by batch,
//! a listed platform's profile, the platforms on public notice, the published lists of the
//! bioreactor competition. Chinese by default with the English switch, no script, phone width,
//! printable. They read through the same use cases as the open data API
//! (`App::public_roster` …), which build their answers from public fields only.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::html;
use roster_domain::challenge::ListKind;
use roster_domain::values::{Domain, Province};
use roster_domain::Refusal;
use roster_projections::export::PUBLIC_ROSTER_COLUMNS;

use super::{particulars, public_layout, Lang};
use crate::problem::Problem;
use crate::AppState;

fn lang(headers: &HeaderMap) -> Lang {
    Lang::of(headers)
}

/// A refusal as a public page (never the dashboard's navigation).
fn refused(lang: Lang, r: Refusal) -> Response {
    let p = Problem::from(r);
    let body = html! {
        section.refusal role="alert" {
            h2 { (lang.t("未找到或请求有误", "Not found, or a bad request")) " (" (p.status.as_u16()) ")" }
            p.detail { (particulars(lang, &p.refusal)) }
            p { a href="/public" { (lang.t("返回平台名单", "Back to the roster")) } }
        }
    };
    (
        p.status,
        public_layout(lang, lang.t("请求未被接受", "Request refused"), None, body),
    )
        .into_response()
}

fn stars(n: Option<u8>) -> String {
    n.map_or_else(String::new, |n| "★".repeat(n as usize))
}

/// `/public`: the roster as published, by batch, as of any date; searched and filtered.
pub(super) async fn roster(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let lang = lang(&headers);
    let (as_of, rows) = match crate::public::roster_rows(&state, &params).await {
        Ok(r) => r,
        Err(r) => return refused(lang, r),
    };
    let p = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    let query: String = params
        .iter()
        .filter(|(k, v)| !v.is_empty() && k.as_str() != "format")
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let download = |file: &str| {
        if query.is_empty() {
            format!("/api/public/v1/downloads/{file}")
        } else {
            format!("/api/public/v1/downloads/{file}?{query}")
        }
    };
    let mut batches: Vec<(u32, String, Vec<&roster_projections::public::PublicEntry>)> = Vec::new();
    for r in &rows {
        match batches.last_mut() {
            Some((b, _, list)) if *b == r.batch => list.push(r),
            _ => batches.push((r.batch, r.batch_name.clone(), vec![r])),
        }
    }
    let col = |key: &str| {
        PUBLIC_ROSTER_COLUMNS
            .iter()
            .find(|c| c.key == key)
            .map_or(key.to_string(), |c| lang.t(c.zh, c.en).to_string())
    };
    let body = html! {
        p.muted { (lang.t(
            "工业和信息化部、国家发展改革委公布的生物制造中试能力建设平台名单。以公布的名单为准。",
            "The biomanufacturing pilot platforms listed by MIIT and NDRC. The published notices prevail."
        )) }
        form.filters method="get" action="/public" id="public-filters" {
            label { (lang.t("截至日期", "As of")) input type="date" name="as_of" value=(as_of); }
            label { (lang.t("单位或平台名称", "Unit or platform")) input type="search" name="search" value=(p("search")) maxlength="200"; }
            label { (lang.t("省份", "Province")) select name="province" {
                option value="" { (lang.t("全部", "all")) }
                @for pr in Province::all() { option value=(pr.code()) selected[p("province") == pr.code()] { (lang.t(pr.name_zh(), pr.name_en())) } }
            } }
            label { (lang.t("领域", "Domain")) select name="domain" {
                option value="" { (lang.t("全部", "all")) }
                @for d in Domain::ALL { option value=(d.code()) selected[p("domain") == d.code()] { (lang.t(d.name_zh(), d.code())) } }
            } }
            button.primary type="submit" { (lang.t("查询", "Search")) }
        }
        p.downloads {
            (lang.t("下载：", "Download: "))
            a href=(download("roster.csv")) id="download-public-csv" { "CSV" } " · "
            a href=(download("roster.xlsx")) id="download-public-xlsx" { "XLSX" } " · "
            a href=(download("roster.json")) id="download-public-json" { "JSON" }
        }
        p id="public-total" { (lang.t("共 ", "")) strong { (rows.len()) } (lang.t(" 个平台", " platforms")) }
        @for (batch, name, list) in &batches {
            section.batch data-batch=(batch) {
                h2 { @if lang == Lang::Zh { (name) } @else { "Batch " (batch) } }
                div.scroll { table.public-roster {
                    thead { tr {
                        th.num { (col("serial")) } th { (col("unit_name")) } th { (col("platform_name")) }
                        th { (col("domain_names")) } th { (col("province_name")) } th { (col("stars")) }
                        th { (col("listed_on")) }
                    } }
                    tbody { @for r in list {
                        tr data-platform=(r.platform_id) {
                            td.num { (r.serial) }
                            td { (r.unit_name) }
                            td { a href={"/public/platforms/" (r.platform_id)} { (r.platform_name) } }
                            td { @if lang == Lang::Zh { (r.domain_names.join("、")) } @else { (r.domains.iter().map(|d| d.code()).collect::<Vec<_>>().join(", ")) } }
                            td { @if lang == Lang::Zh { (r.province_name) } @else { (Province::parse(&r.province).map_or("", |p| p.name_en())) } }
                            td.stars title=[r.stars_year.map(|y| format!("{y}"))] { (stars(r.stars)) }
                            td { (r.listed_on) }
                        }
                    } }
                } }
            }
        }
        @if rows.is_empty() { p.muted id="public-empty" { (lang.t("没有符合条件的平台。", "No platform matches.")) } }
    };
    public_layout(lang, lang.t("平台名单", "Roster"), None, body).into_response()
}

/// Percent-encodes a query value (the filters carried into the download links).
fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `/public/platforms/{platform_id}`: a listed platform's public profile.
pub(super) async fn platform(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(platform_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let lang = lang(&headers);
    let as_of = match crate::reads::date_param(&params, "as_of") {
        Ok(d) => d,
        Err(r) => return refused(lang, r),
    };
    let p = match state.app().public_profile(&platform_id, as_of).await {
        Ok(p) => p,
        Err(r) => return refused(lang, r),
    };
    let e = &p.entry;
    let body = html! {
        p.muted { (e.unit_name) " · " (if lang == Lang::Zh { e.province_name.clone() } else { Province::parse(&e.province).map_or(String::new(), |p| p.name_en().to_string()) }) }
        dl.profile id="profile" {
            dt { (lang.t("批次与序号", "Batch and no.")) } dd { (e.batch_name) " " (e.serial) }
            dt { (lang.t("列入日期", "Listed on")) } dd { (e.listed_on) }
            dt { (lang.t("领域", "Domains")) } dd { (e.domain_names.join("、")) }
            dt { (lang.t("星级", "Stars")) } dd.stars {
                @for r in &p.star_ratings { span data-year=(r.year) { (r.year) (lang.t("年度 ", " ")) (stars(Some(r.stars))) } " " }
                @if p.star_ratings.is_empty() { (lang.t("尚未评定", "not yet rated")) }
            }
            @if let Some(b) = &p.main_business { dt { (lang.t("主营业务范围（服务内容）", "Main business (services)")) } dd { (b) } }
            @if let Some(y) = p.years_in_operation { dt { (lang.t("运行年限", "Years in operation")) } dd { (y) } }
            @if let Some(a) = p.site_area_m2 { dt { (lang.t("用房面积", "Site area")) } dd { (a) " m²" } }
            @if let Some(a) = &p.address { dt { (lang.t("通讯地址", "Address")) } dd { (a) } }
            @if let Some(c) = &p.contact {
                dt { (lang.t("联系人", "Contact")) }
                dd id="contact" { (c.name) @if let Some(ph) = &c.phone { " · " (ph) } @if let Some(m) = &c.email { " · " (m) } }
            }
        }
        h2 { (lang.t("发酵与反应装备", "Vessels")) }
        div.scroll { table id="vessels" {
            thead { tr { th { (lang.t("类别", "Kind")) } th { (lang.t("名称", "Name")) } th.num { (lang.t("单罐工作体积（L）", "Working volume (L)")) } th.num { (lang.t("数量", "Count")) } } }
            tbody { @for v in &p.vessels {
                tr { td { (lang.t(&v.kind_name, &v.kind)) } td { (v.name) } td.num { (v.volume_l) } td.num { (v.count) } }
            } }
        } }
        @if !p.instruments.is_empty() {
            h2 { (lang.t("仪器设备与软件", "Instruments and software")) }
            div.scroll { table id="instruments" {
                thead { tr { th { (lang.t("名称", "Name")) } th { (lang.t("品牌", "Brand")) } th { (lang.t("型号/版本", "Model/version")) } th.num { (lang.t("数量", "Count")) } } }
                tbody { @for i in &p.instruments {
                    tr data-group=(i.group) { td { (i.name) } td { (i.brand.clone().unwrap_or_default()) } td { (i.model.clone().unwrap_or_default()) } td.num { (i.count.map(|c| c.to_string()).unwrap_or_default()) } }
                } }
            } }
        }
        p { a href="/public" { (lang.t("返回平台名单", "Back to the roster")) } }
    };
    public_layout(lang, &e.platform_name, None, body).into_response()
}

/// `/public/notice`: the platforms on public notice today (or on a day).
pub(super) async fn notice(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let lang = lang(&headers);
    let on = match crate::reads::date_param(&params, "on") {
        Ok(d) => d,
        Err(r) => return refused(lang, r),
    };
    let rows = match state.app().public_notice(on).await {
        Ok(r) => r,
        Err(r) => return refused(lang, r),
    };
    let day = on.unwrap_or_else(|| state.app().today());
    let body = html! {
        p.muted { (lang.t(
            "以下平台拟列入生物制造中试能力建设平台名单，现予公示。公示期间，任何单位和个人对公示平台有异议的，可向工业和信息化部反映。",
            "The platforms below are proposed for the roster and on public notice. Anyone may raise an objection with the ministry during the notice period."
        )) }
        form.filters method="get" action="/public/notice" {
            label { (lang.t("日期", "On")) input type="date" name="on" value=(day); }
            button.primary type="submit" { (lang.t("查询", "Show")) }
        }
        div.scroll { table id="notice" {
            thead { tr {
                th.num { (lang.t("序号", "No.")) } th { (lang.t("依托单位", "Unit")) } th { (lang.t("平台名称", "Platform")) }
                th { (lang.t("领域", "Domains")) } th { (lang.t("省份", "Province")) } th { (lang.t("公示期", "Notice period")) }
            } }
            tbody { @for (n, r) in rows.iter().enumerate() {
                tr data-platform=(r.platform_id) {
                    td.num { (n + 1) } td { (r.unit_name) } td { (r.platform_name) }
                    td { (r.domain_names.join("、")) } td { (r.province_name) }
                    td { (r.from) " — " (r.until) }
                }
            } }
        } }
        @if rows.is_empty() { p.muted id="notice-empty" { (lang.t("当日没有公示中的平台。", "No platform is on notice that day.")) } }
    };
    public_layout(lang, lang.t("公示", "Public notice"), None, body).into_response()
}

/// `/public/calls`: the calls of the bioreactor competition with their published lists.
pub(super) async fn calls(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let lang = lang(&headers);
    let calls = match state.app().public_calls().await {
        Ok(c) => c,
        Err(r) => return refused(lang, r),
    };
    let body = html! {
        p.muted { (lang.t(
            "高性能生物反应器创新任务揭榜挂帅（工业和信息化部、中国科学院）：公布的入围名单与揭榜成功名单。",
            "The bioreactor open competition (MIIT with CAS): the published shortlists and success lists."
        )) }
        @for c in &calls {
            section.call data-call=(c.call_id) {
                h2 { (c.name) " (" (c.call_id) ")" }
                p.muted { (lang.t("申请截止 ", "Applicants by ")) (c.applicant_deadline) " · " (lang.t("省级推荐截止 ", "provinces by ")) (c.province_deadline) }
                @if c.lists.is_empty() { p.muted { (lang.t("尚未公布名单。", "No list published yet.")) } }
                @for l in &c.lists {
                    h3 { (l.task_name) " · " (if lang == Lang::Zh { l.list.name_zh() } else if l.list == ListKind::Shortlist { "shortlist" } else { "success list" }) }
                    div.scroll { table.published data-task=(l.task_id) data-list=(if l.list == ListKind::Shortlist { "shortlist" } else { "success" }) {
                        thead { tr { th.num { (lang.t("序号", "No.")) } th { (lang.t("牵头单位", "Lead")) } th { (lang.t("联合申请单位", "Members")) } th { (lang.t("省份", "Province")) } } }
                        tbody { @for e in &l.entries {
                            tr { td.num { (e.serial) } td { (e.lead.name) } td { (e.members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join("、")) } td { (lang.t(e.province.name_zh(), e.province.name_en())) } }
                        } }
                    } }
                }
            }
        }
        @if calls.is_empty() { p.muted { (lang.t("尚无揭榜任务。", "No call yet.")) } }
    };
    public_layout(lang, lang.t("揭榜挂帅", "Open competition"), None, body).into_response()
}
