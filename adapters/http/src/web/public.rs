//! The public face's pages (RULES.md §13), without sign-in: the roster as published by batch,
//! a listed platform's profile, the platforms on public notice, the published lists of the
//! bioreactor competition. Chinese by default with the English switch, no script, phone width,
//! printable. They read through the same use cases as the open data API
//! (`App::public_roster` …), which build their answers from public fields only.

use std::collections::HashMap;

use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;
use roster_domain::challenge::ListKind;
use roster_domain::values::{Domain, Province};
use roster_domain::Refusal;
use roster_projections::export::PUBLIC_ROSTER_COLUMNS;

use super::{field_label_zh, particulars, public_layout, Lang};
use crate::limits::ClientAddress;
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

/// A public form shown again with what was typed and the refusal, under the refusal's status.
fn form_again(lang: Lang, title: &str, r: &Refusal, form: maud::Markup) -> Response {
    let status = Problem::from(r.clone()).status;
    (status, public_layout(lang, title, None, form)).into_response()
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
            " · " (lang.t("订阅变更：", "Changes: "))
            a href="/api/public/v1/feed.atom" id="feed-atom" { "Atom" } " · "
            a href="/api/public/v1/feed.json" id="feed-json" { "JSON Feed" }
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
            @if !p.service_names.is_empty() {
                dt { (lang.t("提供的中试服务", "Pilot services offered")) }
                dd id="services" {
                    (p.service_names.join("、"))
                    @match p.accepting_orders { Some(true) => { " · " (lang.t("接单中", "taking orders")) } Some(false) => { " · " (lang.t("暂不接单", "not taking orders")) } None => {} }
                    @if let Some(u) = p.offer_updated_on { " · " (lang.t("更新于 ", "updated ")) (u) }
                }
                @if let Some(d) = &p.service_description { dt { (lang.t("服务说明", "In their words")) } dd { (d) } }
            }
            @if let Some(b) = &p.main_business { dt { (lang.t("主营业务范围", "Main business")) } dd { (b) } }
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
    let today = state.app().today();
    let day = on.unwrap_or(today);
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
                th { }
            } }
            tbody { @for (n, r) in rows.iter().enumerate() {
                tr data-platform=(r.platform_id) {
                    td.num { (n + 1) } td { (r.unit_name) } td { (r.platform_name) }
                    td { (r.domain_names.join("、")) } td { (r.province_name) }
                    td { (r.from) " — " (r.until) }
                    td { @if r.from <= today && today <= r.until {
                        a.object href={"/public/notice/" (r.platform_id) "/objection"} { (lang.t("提出异议", "Object")) }
                    } }
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

/// The objection form of a platform on notice today, with what was typed and what was refused.
fn objection_form(
    lang: Lang,
    entry: &roster_projections::public::NoticeEntry,
    typed: &HashMap<String, String>,
    refusal: Option<&Refusal>,
) -> maud::Markup {
    let v = |k: &str| typed.get(k).cloned().unwrap_or_default();
    let command_id = typed
        .get("command_id")
        .cloned()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    html! {
        p.muted {
            (entry.unit_name) " · " (entry.platform_name) " · "
            (lang.t("公示期 ", "notice ")) (entry.from) " — " (entry.until)
        }
        @if let Some(r) = refusal {
            div.flash.error role="status" id="flash" data-code=(r.code) {
                (particulars(lang, r))
                @if let (Lang::Zh, Some(label)) = (lang, r.field.as_deref().and_then(field_label_zh)) { "（" (label) "）" }
            }
        }
        p { (lang.t(
            "请实名反映，写明异议事实与依据；联系方式仅供工业和信息化部核实使用，不向被反映单位公开。",
            "Give your name and the facts the objection rests on; your contact is for the ministry alone and is not shown to the platform."
        )) }
        form method="post" action={"/public/notice/" (entry.platform_id) "/objection"} enctype="multipart/form-data" id="objection" class="stacked" {
            input type="hidden" name="command_id" value=(command_id);
            label { (lang.t("姓名或单位名称", "Name or organisation")) input type="text" name="name" required maxlength="200" value=(v("name")); }
            label { (lang.t("联系方式（电话或电子邮箱）", "Contact (phone or e-mail)")) input type="text" name="contact" required maxlength="200" value=(v("contact")); }
            label { (lang.t("异议事实与依据", "Grounds")) textarea name="grounds" required maxlength="4000" rows="6" { (v("grounds")) } }
            label { (lang.t("附件（PDF、PNG 或 JPEG，10 MiB 以内，可不附）", "Attachment (PDF, PNG or JPEG, up to 10 MiB; optional)")) input type="file" name="file" accept=".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"; }
            button.primary type="submit" id="file-objection" { (lang.t("提交异议", "File the objection")) }
        }
    }
}

/// The platform on public notice today, for its objection form; outside the period the
/// refusal names it.
async fn on_notice_today(
    state: &AppState,
    platform_id: &str,
) -> Result<roster_projections::public::NoticeEntry, Refusal> {
    let (from, until) = state.app().notice_period(platform_id).await?;
    let today = state.app().today();
    if today > until {
        return Err(Refusal::new(
            "R-5",
            format!(
                "the public notice ended on {until}; objections were taken from {from} to {until}"
            ),
        )
        .zh(format!(
            "公示期已于 {until} 结束（公示期 {from} 至 {until}），不再受理异议"
        )));
    }
    state
        .app()
        .public_notice(None)
        .await?
        .into_iter()
        .find(|e| e.platform_id == platform_id)
        .ok_or_else(|| {
            Refusal::new("R-5", format!("the public notice starts on {from}"))
                .zh(format!("公示期自 {from} 开始"))
        })
}

/// `GET /public/notice/{platform_id}/objection`: the objection form, during the notice.
pub(super) async fn objection_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(platform_id): Path<String>,
) -> Response {
    let lang = lang(&headers);
    match on_notice_today(&state, &platform_id).await {
        Ok(entry) => public_layout(
            lang,
            lang.t("提出异议", "File an objection"),
            None,
            objection_form(lang, &entry, &HashMap::new(), None),
        )
        .into_response(),
        Err(r) => refused(lang, r),
    }
}

/// `POST /public/notice/{platform_id}/objection`: files the objection (a few an hour from one
/// address); the receipt with its number, or the form again with what was refused.
pub(super) async fn file_objection(
    State(state): State<AppState>,
    headers: HeaderMap,
    address: ClientAddress,
    Path(platform_id): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let lang = lang(&headers);
    if let Some(r) = crate::public::over_objection_budget(&state, &address) {
        return r;
    }
    let entry = match on_notice_today(&state, &platform_id).await {
        Ok(e) => e,
        Err(r) => {
            // After the period the refusal names the day it ended.
            return refused(lang, r);
        }
    };
    let read = match multipart {
        Ok(m) => super::apply::read_multipart(m).await,
        Err(e) => {
            Err(Refusal::invalid("form", e.body_text()).zh("表单无法读取，请刷新页面后重新填写"))
        }
    };
    let (pairs, file) = match read {
        Ok(x) => x,
        Err(r) => return refused(lang, r),
    };
    let typed: HashMap<String, String> = pairs.into_iter().collect();
    let text = |k: &str| typed.get(k).cloned().unwrap_or_default();
    let outcome = async {
        let command_id = uuid::Uuid::parse_str(&text("command_id")).map_err(|_| {
            Refusal::invalid("command_id", "the form has no command id; reload the page")
                .zh("表单已失效，请刷新页面后重新填写")
        })?;
        for k in ["name", "contact", "grounds"] {
            roster_domain::input::check_text(k, &text(k))?;
        }
        let objection = roster_domain::commands::FileObjection {
            name: text("name"),
            contact: text("contact"),
            grounds: text("grounds"),
            attachment: None,
        };
        let address = address
            .0
            .map_or_else(|| "unknown".to_string(), |a| a.to_string());
        state
            .app()
            .file_objection(&address, &platform_id, command_id, objection, file)
            .await
    }
    .await;
    match outcome {
        Ok(o) => {
            let receipt = crate::public::receipt(&state, &platform_id, &o);
            let body = html! {
                div.flash.ok role="status" id="flash" {
                    (lang.t("已收到您的异议。", "Your objection has been received."))
                }
                dl.profile id="receipt" {
                    dt { (lang.t("回执编号", "Receipt number")) } dd id="objection-id" { (receipt.objection_id) }
                    dt { (lang.t("平台", "Platform")) } dd { (entry.platform_name) }
                    dt { (lang.t("提交日期", "Filed on")) } dd { (receipt.filed_on) }
                }
                p { (lang.t(
                    "工业和信息化部将核实处理；查询时请提供回执编号。",
                    "The ministry will look into it; quote the receipt number when you ask about it."
                )) }
                p { a href="/public/notice" { (lang.t("返回公示", "Back to the notice")) } }
            };
            (
                StatusCode::CREATED,
                public_layout(lang, lang.t("异议已提交", "Objection filed"), None, body),
            )
                .into_response()
        }
        Err(r) => form_again(
            lang,
            lang.t("提出异议", "File an objection"),
            &r,
            objection_form(lang, &entry, &typed, Some(&r)),
        ),
    }
}

/// `/public/directory`: the pilot-services directory (中试供需对接): enterprises find listed
/// platforms by domain, province, equipment (a vessel of a kind and volume) and services.
pub(super) async fn directory(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let lang = lang(&headers);
    let q = match crate::public::directory_query(&params) {
        Ok(q) => q,
        Err(r) => return refused(lang, r),
    };
    let found = match state.app().public_directory(&q).await {
        Ok(f) => f,
        Err(r) => return refused(lang, r),
    };
    let p = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    let kinds = [
        ("fermentation", "发酵罐", "fermentation"),
        ("enzyme_catalysis", "酶催化反应器", "enzyme catalysis"),
        (
            "parallel_bioreactor",
            "平行生物反应器",
            "parallel bioreactor",
        ),
    ];
    let body = html! {
        p.muted { (lang.t(
            "中试供需对接：按领域、地区、装备（罐型与单罐工作体积）和服务内容查找名单内的中试平台。",
            "Find pilot services: listed platforms by domain, region, equipment (vessel kind and working volume) and services."
        )) }
        form.filters method="get" action="/public/directory" id="directory-filters" {
            label { (lang.t("领域", "Domain")) select name="domain" {
                option value="" { (lang.t("全部", "all")) }
                @for d in Domain::ALL { option value=(d.code()) selected[p("domain") == d.code()] { (lang.t(d.name_zh(), d.code())) } }
            } }
            label { (lang.t("省份", "Province")) select name="province" {
                option value="" { (lang.t("全部", "all")) }
                @for pr in Province::all() { option value=(pr.code()) selected[p("province") == pr.code()] { (lang.t(pr.name_zh(), pr.name_en())) } }
            } }
            label { (lang.t("罐型", "Vessel")) select name="vessel_kind" {
                option value="" { (lang.t("不限", "any")) }
                @for (code, zh, en) in kinds { option value=(code) selected[p("vessel_kind") == code] { (lang.t(zh, en)) } }
            } }
            label { (lang.t("单罐工作体积不小于（升）", "Working volume at least (L)")) input type="number" name="min_vessel_l" min="0" step="any" value=(p("min_vessel_l")); }
            label { (lang.t("中试服务", "Pilot service")) select name="service" {
                option value="" { (lang.t("不限", "any")) }
                @for s in roster_domain::commands::PilotService::ALL { option value=(s.code()) selected[p("service") == s.code()] { (lang.t(s.name_zh(), s.code())) } }
            } }
            label { (lang.t("服务或设备关键词", "Service or equipment")) input type="search" name="search" maxlength="200" value=(p("search")); }
            button.primary type="submit" { (lang.t("查找", "Find")) }
        }
        p id="directory-total" { (lang.t("找到 ", "")) strong { (found.len()) } (lang.t(" 个平台", " platforms found")) }
        div.scroll { table id="directory" {
            thead { tr {
                th { (lang.t("平台", "Platform")) } th { (lang.t("省份", "Province")) } th { (lang.t("领域", "Domains")) }
                th { (lang.t("发酵与反应装备", "Vessels")) } th { (lang.t("服务内容", "Services")) } th { (lang.t("联系人", "Contact")) }
            } }
            tbody { @for f in &found {
                tr data-platform=(f.entry.platform_id) {
                    td { a href={"/public/platforms/" (f.entry.platform_id)} { (f.entry.platform_name) } br; small { (f.entry.unit_name) } }
                    td { (lang.t(&f.entry.province_name, Province::parse(&f.entry.province).map_or("", |p| p.name_en()))) }
                    td { (f.entry.domain_names.join("、")) }
                    td { @for v in &f.vessels { div { (v.name) " × " (v.count) " (" (v.volume_l) " L)" } } }
                    td {
                        @if !f.service_names.is_empty() { div.services { (f.service_names.join("、")) } }
                        @if f.accepting_orders == Some(false) { div.muted { (lang.t("暂不接单", "not taking orders")) } }
                        (f.main_business.clone().unwrap_or_default())
                    }
                    td { @if let Some(c) = &f.contact { (c.name) @if let Some(ph) = &c.phone { br; (ph) } @if let Some(m) = &c.email { br; (m) } } }
                }
            } }
        } }
        @if found.is_empty() { p.muted id="directory-empty" { (lang.t("没有符合条件的平台。", "No platform matches.")) } }
        p { a.button href="/public/needs" id="need-link" { (lang.t("发布中试需求，送达符合条件的平台", "Post a need to the platforms that match it")) } }
    };
    public_layout(
        lang,
        lang.t("中试服务查找", "Find pilot services"),
        None,
        body,
    )
    .into_response()
}

/// The need form (中试需求), with what was typed and what was refused.
fn need_form(lang: Lang, typed: &[(String, String)], refusal: Option<&Refusal>) -> maud::Markup {
    let v = |k: &str| {
        typed
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, x)| x.clone())
            .unwrap_or_default()
    };
    let ticked = |code: &str| typed.iter().any(|(n, x)| n == "services" && x == code);
    let command_id = Some(v("command_id"))
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    html! {
        @if let Some(r) = refusal {
            div.flash.error role="status" id="flash" data-code=(r.code) {
                (particulars(lang, r))
                @if let (Lang::Zh, Some(label)) = (lang, r.field.as_deref().and_then(field_label_zh)) { "（" (label) "）" }
            }
        }
        p { (lang.t(
            "发布中试需求：需求将送达名单内符合所选领域、地区、装备和服务且正在接单的全部平台，由平台与您联系。联系方式仅向这些平台及其主管部门提供。",
            "Post a need for pilot services: it reaches every listed platform that matches the domain, region, equipment and services you choose and takes orders; the platforms contact you. Your contact goes to those platforms and their supervising authorities only."
        )) }
        form method="post" action="/public/needs" id="need" class="stacked" {
            input type="hidden" name="command_id" value=(command_id);
            label { (lang.t("企业名称", "Enterprise")) input type="text" name="enterprise_name" required maxlength="200" value=(v("enterprise_name")); }
            label { (lang.t("统一社会信用代码", "USCC")) input type="text" name="enterprise_uscc" required maxlength="18" autocapitalize="characters" value=(v("enterprise_uscc")); }
            label { (lang.t("联系方式（联系人、电话或电子邮箱）", "Contact (name, phone or e-mail)")) input type="text" name="contact" required maxlength="200" value=(v("contact")); }
            label { (lang.t("需求说明（产品、规模、时间）", "What you need (product, scale, schedule)")) textarea name="description" required maxlength="4000" rows="5" { (v("description")) } }
            label { (lang.t("所属领域", "Domain")) select name="domain" {
                option value="" { (lang.t("不限（请至少选择一项服务）", "any (choose a service)")) }
                @for d in Domain::ALL { option value=(d.code()) selected[v("domain") == d.code()] { (lang.t(d.name_zh(), d.code())) } }
            } }
            fieldset {
                legend { (lang.t("所需中试服务", "Services needed")) }
                @for s in roster_domain::commands::PilotService::ALL {
                    label.check { input type="checkbox" name="services" value=(s.code()) checked[ticked(s.code())]; " " (lang.t(s.name_zh(), s.code())) }
                }
            }
            label { (lang.t("所需单罐工作体积不小于（升，可不填）", "Vessel working volume at least (L, optional)")) input type="number" name="min_vessel_l" min="1" step="1" value=(v("min_vessel_l")); }
            label { (lang.t("平台所在省份（可不填）", "Platform's province (optional)")) select name="province" {
                option value="" { (lang.t("不限", "any")) }
                @for pr in Province::all() { option value=(pr.code()) selected[v("province") == pr.code()] { (lang.t(pr.name_zh(), pr.name_en())) } }
            } }
            button.primary type="submit" id="post-need" { (lang.t("发布需求", "Post the need")) }
        }
    }
}

/// `GET /public/needs`: the form an enterprise posts a need with.
pub(super) async fn need_page(headers: HeaderMap) -> Response {
    let lang = lang(&headers);
    public_layout(
        lang,
        lang.t("发布中试需求", "Post a need"),
        None,
        need_form(lang, &[], None),
    )
    .into_response()
}

/// The need a posted form states, refused naming the field that is wrong.
fn need_of(
    posted: &[(String, String)],
) -> Result<(uuid::Uuid, roster_domain::commands::Need), Refusal> {
    let text = |k: &str| {
        posted
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, x)| x.trim().to_string())
            .unwrap_or_default()
    };
    let command_id = uuid::Uuid::parse_str(&text("command_id")).map_err(|_| {
        Refusal::invalid("command_id", "the form has no command id; reload the page")
            .zh("表单已失效，请刷新页面后重新填写")
    })?;
    for k in ["enterprise_name", "contact", "description"] {
        roster_domain::input::check_text(&format!("need.{k}"), &text(k))?;
    }
    let enterprise_uscc = roster_domain::values::Uscc::parse(
        &text("enterprise_uscc").to_uppercase(),
    )
    .map_err(|e| {
        Refusal::invalid("need.enterprise_uscc", e.to_string())
            .zh("统一社会信用代码不正确（18 位，含校验码）")
    })?;
    let domain = match text("domain").as_str() {
        "" => None,
        d => Some(Domain::parse(d).ok_or_else(|| {
            Refusal::invalid("need.domain", format!("unknown domain {d}")).zh("领域不正确")
        })?),
    };
    let province = match text("province").as_str() {
        "" => None,
        p => Some(Province::parse(p).ok_or_else(|| {
            Refusal::invalid("need.province", format!("unknown province {p}")).zh("省份不正确")
        })?),
    };
    let min_vessel_l = match text("min_vessel_l").replace([',', '，'], "").as_str() {
        "" => None,
        l => Some(l.parse::<u32>().map_err(|_| {
            Refusal::invalid(
                "need.min_vessel_l",
                format!("{l} is not a whole number of litres"),
            )
            .zh("容积请填写整数（升）")
        })?),
    };
    let mut services = Vec::new();
    for (_, code) in posted.iter().filter(|(n, _)| n == "services") {
        services.push(
            roster_domain::commands::PilotService::parse(code).ok_or_else(|| {
                Refusal::invalid("need.services", format!("unknown service {code}"))
                    .zh("服务内容不正确")
            })?,
        );
    }
    Ok((
        command_id,
        roster_domain::commands::Need {
            enterprise_name: text("enterprise_name"),
            enterprise_uscc,
            contact: text("contact"),
            description: text("description"),
            domain,
            services,
            min_vessel_l,
            province,
        },
    ))
}

/// `POST /public/needs`: posts the need (a few an hour from one address, counted with
/// objections); the receipt with the platforms it reached, or the form again with what was
/// refused.
pub(super) async fn post_need(
    State(state): State<AppState>,
    headers: HeaderMap,
    address: ClientAddress,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = lang(&headers);
    if let Some(r) = crate::public::over_objection_budget(&state, &address) {
        return r;
    }
    let posted = form.map(|Form(f)| f).unwrap_or_default();
    let outcome = async {
        let (command_id, need) = need_of(&posted)?;
        let filer = address
            .0
            .map_or_else(|| "unknown".to_string(), |a| a.to_string());
        state.app().post_need(&filer, command_id, need).await
    }
    .await;
    match outcome {
        Ok(receipt) => {
            let body = html! {
                div.flash.ok role="status" id="flash" {
                    (lang.t("需求已发布，已送达以下平台。", "Your need has been posted to the platforms below."))
                }
                dl.profile id="receipt" {
                    dt { (lang.t("需求编号", "Need id")) } dd id="need-id" { (receipt.need_id) }
                    dt { (lang.t("发布日期", "Posted on")) } dd { (receipt.posted_on) }
                }
                div.scroll { table id="reached" {
                    thead { tr { th { (lang.t("平台", "Platform")) } th { (lang.t("依托单位", "Unit")) } th { (lang.t("省份", "Province")) } } }
                    tbody { @for e in &receipt.reached {
                        tr data-platform=(e.platform_id) {
                            td { a href={"/public/platforms/" (e.platform_id)} { (e.platform_name) } }
                            td { (e.unit_name) }
                            td { (lang.t(&e.province_name, Province::parse(&e.province).map_or("", |p| p.name_en()))) }
                        }
                    } }
                } }
                p { (lang.t(
                    "平台将通过您留下的联系方式与您联系；签约后计入平台服务企业数。",
                    "The platforms will contact you; a contract that comes of it counts as an enterprise served."
                )) }
                p { a href="/public/directory" { (lang.t("返回中试服务查找", "Back to the directory")) } }
            };
            let status = if receipt.duplicate {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            (
                status,
                public_layout(lang, lang.t("需求已发布", "Need posted"), None, body),
            )
                .into_response()
        }
        Err(r) => form_again(
            lang,
            lang.t("发布中试需求", "Post a need"),
            &r,
            need_form(lang, &posted, Some(&r)),
        ),
    }
}
