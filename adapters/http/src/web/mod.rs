//! The dashboard: HTML pages served by the API's own server under `/ui`, for the ministry,
//! provinces, cities, applicants and analysts. Pages are rendered on the server (maud) with
//! SVG charts and no script; they read through the same functions as the API (so the same
//! jurisdiction filters apply) and act through the same command path. Sign-in with a token opens
//! a cookie session (`session`); every form that changes state carries the session's CSRF token.

mod actions;
mod apply;
mod batch;
mod calls;
mod charts;
mod forms;
pub(crate) mod pages;
mod public;
mod rounds;
mod services;
pub(crate) mod session;
mod table;

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use roster_domain::actor::{Actor, Role};
use roster_domain::error::Refusal;
use serde::Deserialize;
use std::collections::HashMap;

use crate::auth::hash_token;
use crate::problem::Problem;
use crate::AppState;
use session::{cookie, same_secret, secret_cookie, Flash, LANG_COOKIE, SESSION_COOKIE};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(front_door))
        .route("/ui", get(home))
        .route("/public", get(public::roster))
        .route("/public/platforms/{platform_id}", get(public::platform))
        .route("/public/notice", get(public::notice))
        .route("/public/directory", get(public::directory))
        .route(
            "/public/needs",
            get(public::need_page).post(public::post_need),
        )
        .route(
            "/public/notice/{platform_id}/objection",
            get(public::objection_page)
                .post(public::file_objection)
                .layer(axum::extract::DefaultBodyLimit::max(
                    apply::UPLOAD_BODY_LIMIT,
                )),
        )
        .route("/public/calls", get(public::calls))
        .route("/ui/signin", get(signin_form).post(signin))
        .route("/ui/signout", post(signout))
        .route("/ui/lang", get(language))
        .route("/ui/inbox", get(pages::inbox))
        .route("/ui/notifications", get(pages::notifications))
        .route("/ui/notifications/read", post(pages::mark_read))
        .route("/ui/notifications/email", post(pages::set_email))
        .route("/ui/targets", get(pages::targets))
        .route(
            "/ui/webhooks",
            get(pages::webhooks).post(pages::register_webhook),
        )
        .route("/ui/webhooks/{webhook_id}", get(pages::webhook))
        .route(
            "/ui/webhooks/{webhook_id}/deletion",
            post(pages::delete_webhook),
        )
        .route(
            "/ui/webhooks/{webhook_id}/deliveries/{delivery_id}/replay",
            post(pages::replay_delivery),
        )
        .route("/ui/roster", get(pages::roster))
        .route("/ui/provinces", get(pages::provinces))
        .route("/ui/roster.csv", get(pages::roster_csv))
        .route("/ui/roster.xlsx", get(pages::roster_xlsx))
        .route("/ui/kpi.xlsx", get(pages::kpi_xlsx))
        .route("/ui/kpi.csv", get(pages::kpi_csv))
        .route("/ui/platforms/{platform_id}", get(pages::platform))
        .route("/ui/reviews", get(pages::reviews))
        .route("/ui/funnel", get(pages::funnel))
        .route("/ui/act", post(actions::act))
        .route("/ui/batch", post(batch::batch))
        .route("/ui/rounds", post(rounds::open_round))
        .route("/ui/rounds/new", get(rounds::new_round))
        .route("/ui/calls", get(calls::calls).post(calls::open_call))
        .route("/ui/calls/new", get(calls::new_call))
        .route(
            "/ui/calls/{call_id}",
            get(calls::call_page).post(calls::call_act),
        )
        .route("/ui/calls/{call_id}/figures.xlsx", get(calls::figures_xlsx))
        .route("/ui/batch/{action}", get(batch::batch_page))
        .route("/ui/apply", get(apply::mine))
        .route("/ui/drafts", post(apply::create))
        .route(
            "/ui/drafts/{draft_id}",
            get(apply::show)
                .post(apply::post)
                .layer(axum::extract::DefaultBodyLimit::max(
                    apply::UPLOAD_BODY_LIMIT,
                )),
        )
        .route("/ui/drafts/{draft_id}/deletion", post(apply::delete))
        .route(
            "/ui/drafts/{draft_id}/files/{sha256}",
            get(apply::draft_file),
        )
        .route(
            "/ui/platforms/{platform_id}/files/{sha256}",
            get(apply::platform_file),
        )
        .route("/ui/platforms/{platform_id}/print", get(apply::print))
        .route(
            "/ui/platforms/{platform_id}/services",
            get(services::page_of)
                .post(services::upload)
                .layer(axum::extract::DefaultBodyLimit::max(services::UPLOAD_LIMIT)),
        )
        .route(
            "/ui/services-template.csv",
            get(|| services::template("services-template.csv")),
        )
        .route(
            "/ui/services-template.xlsx",
            get(|| services::template("services-template.xlsx")),
        )
        .route("/ui/platforms/{platform_id}/amendment", post(apply::amend))
        .layer(axum::middleware::map_response(secure_headers))
}

/// No script runs on these pages, nothing frames them, and they are not cached by proxies.
async fn secure_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, private"),
    );
    resp
}

/// The page language: Chinese by default, English on request (a cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Zh,
    En,
}

impl Lang {
    pub(crate) fn of(parts_headers: &axum::http::HeaderMap) -> Lang {
        match cookie(parts_headers, LANG_COOKIE).as_deref() {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    /// The label in this language.
    pub(crate) fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// The signed-in user of a page request. Without a live session the request is sent to the
/// sign-in page; a token revoked since sign-in ends the session.
pub(crate) struct Viewer {
    pub actor: Actor,
    pub csrf: String,
    pub session_id: String,
    pub lang: Lang,
    pub flash: Option<Flash>,
    /// The path and query of this page (forms come back to it).
    pub here: String,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let lang = Lang::of(&parts.headers);
        let to_signin = || Redirect::to("/ui/signin").into_response();
        let Some(sid) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_signin());
        };
        let Some(session) = state.sessions().take(&sid, state.now()) else {
            return Err(to_signin());
        };
        let record = state
            .app()
            .tokens()
            .find_token(&session.token_hash)
            .await
            .map_err(|e| {
                page_error(
                    lang,
                    None,
                    Problem::new(roster_domain::error::code::UNAVAILABLE, e.to_string()),
                )
            })?;
        match record {
            Some(t) if t.revoked_at.is_none() => Ok(Viewer {
                actor: t.actor(),
                csrf: session.csrf,
                session_id: sid,
                lang,
                flash: session.flash,
                here: parts
                    .uri
                    .path_and_query()
                    .map_or_else(|| "/ui".to_string(), |p| p.as_str().to_string()),
            }),
            _ => {
                state.sessions().close(&sid);
                Err(to_signin())
            }
        }
    }
}

impl Viewer {
    pub(crate) fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        self.lang.t(zh, en)
    }
}

/// Query parameters of a page, with the empty values of a form's "any" choice dropped.
pub(crate) fn filled(params: HashMap<String, String>) -> HashMap<String, String> {
    params
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k, v.trim().to_string()))
        .collect()
}

/// A page's failure as an HTML page with the refusal's code, rule id and field.
pub(crate) struct PageError {
    lang: Lang,
    viewer: Option<(Actor, String)>,
    problem: Problem,
}

impl PageError {
    pub(crate) fn new(v: &Viewer, problem: impl Into<Problem>) -> PageError {
        PageError {
            lang: v.lang,
            viewer: Some((v.actor.clone(), v.csrf.clone())),
            problem: problem.into(),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let viewer = self.viewer.as_ref().map(|(a, c)| (a, c.as_str()));
        page_error(self.lang, viewer, self.problem)
    }
}

/// The particulars of a refusal in the page's language: in Chinese when the refusal says them
/// in Chinese (every refusal a page's form can meet does), otherwise as the API states them.
pub(crate) fn particulars(lang: Lang, r: &Refusal) -> &str {
    match (lang, r.message_zh.as_deref()) {
        (Lang::Zh, Some(zh)) => zh,
        _ => &r.message,
    }
}

/// The label a page gives the field a refusal names (`form.site.area_m2` → 场地面积), with the
/// row of a table (`form.equipment.vessels[1].volume_l` → …第 2 行…); `None` for a field no page
/// shows (the Chinese pages then leave the path out).
pub(crate) fn field_label_zh(path: &str) -> Option<String> {
    let path = path
        .strip_prefix("changes.")
        .map_or_else(|| path.to_string(), |p| format!("form.{p}"));
    let (base, row, column) = match path.split_once('[') {
        Some((base, rest)) => {
            let (n, column) = rest.split_once(']')?;
            let row = n.parse::<usize>().ok()? + 1;
            (base, Some(row), column.strip_prefix('.'))
        }
        None => (path.as_str(), None, None),
    };
    let fields = apply::SECTIONS
        .iter()
        .flat_map(|s| s.fields.iter())
        .chain(forms::all().flat_map(|f| f.fields.iter()));
    let f = fields.into_iter().find(|f| f.name == base)?;
    let label = f.label.zh;
    Some(match (row, column, &f.input) {
        (Some(row), Some(c), forms::Input::Table(columns)) => {
            match columns.iter().find(|x| x.name == c) {
                Some(col) => format!("{label}第 {row} 行“{}”", col.label.zh),
                None => format!("{label}第 {row} 行"),
            }
        }
        (Some(row), _, _) => format!("{label}第 {row} 项"),
        _ => label.to_string(),
    })
}

fn page_error(lang: Lang, viewer: Option<(&Actor, &str)>, p: Problem) -> Response {
    let r = &p.refusal;
    let body = html! {
        section.refusal role="alert" {
            h2 { (lang.t("请求未被接受", "Request refused")) " (" (p.status.as_u16()) ")" }
            p.code { code { (r.code) } @if let Some(rule) = r.code.rule() { " · " (lang.t("规则", "rule")) " " (rule) } }
            @if lang == Lang::Zh { p.explain { strong { (r.code.explain_zh()) } } }
            p.detail { (particulars(lang, r)) }
            @match (lang, r.field.as_deref()) {
                (Lang::Zh, Some(f)) => @if let Some(label) = field_label_zh(f) { p { "填写项：" (label) } },
                (_, Some(f)) => p { "field: " code { (f) } },
                _ => {}
            }
            p { a href="/ui" { (lang.t("返回首页", "Back to the start page")) } }
        }
    };
    let title = lang.t("请求未被接受", "Request refused");
    (p.status, layout(lang, viewer, title, None, body)).into_response()
}

const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,"Noto Sans CJK SC","WenQuanYi Zen Hei","Microsoft YaHei",sans-serif;color:#1b2430;background:#f4f6f9}
header{background:#123a63;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center}
header a{color:#fff}
header .brand{font-weight:600;margin-right:auto}
nav{display:flex;flex-wrap:wrap;gap:.25rem 1rem}
nav a{text-decoration:none;padding:.2rem 0;border-bottom:2px solid transparent}
nav a.on{border-color:#ffd166}
.who{font-size:.85rem;opacity:.9}
header form{display:inline}
header button{background:transparent;color:#fff;border:1px solid #fff6;border-radius:4px;padding:.1rem .5rem;cursor:pointer}
main{max-width:1280px;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.25rem 0 1rem}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.flash{padding:.6rem .8rem;border-radius:6px;margin-bottom:1rem}
.flash.ok{background:#e3f4e8;border:1px solid #8fcf9f}
.flash.error,.refusal{background:#fdecea;border:1px solid #f1a9a0;padding:.6rem .8rem;border-radius:6px}
.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end;background:#fff;padding:.75rem;border-radius:6px;margin-bottom:1rem}
.filters label{display:flex;flex-direction:column;font-size:.85rem}
input,select,textarea,button{font:inherit}
input,select,textarea{padding:.25rem .4rem;border:1px solid #b8c2cc;border-radius:4px;max-width:100%}
button.primary,a.button{background:#123a63;color:#fff;border:0;border-radius:4px;padding:.35rem .9rem;cursor:pointer;text-decoration:none;display:inline-block}
button.danger{background:#a4262c;color:#fff;border:0;border-radius:4px;padding:.35rem .9rem;cursor:pointer}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:.75rem}
.card{background:#fff;border-radius:6px;padding:.75rem;box-shadow:0 1px 2px #0001}
.card .big{font-size:1.8rem;font-weight:600}
tr.overdue td{color:#b3261e}
tr.unread td{font-weight:600}
.badge.new{background:#ffd166}
tr.overdue td.days{font-weight:600}
.card .big.overdue{color:#b3261e}
.warning{color:#8a4b00;background:#fff4e0;border-radius:4px;padding:.25rem .5rem}
p.deadline,p.quota{margin:.25rem 0;font-size:.9rem}
.muted{color:#5c6773;font-size:.85rem}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:1rem}
.scroll{overflow-x:auto;background:#fff;border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{padding:.35rem .5rem;border-bottom:1px solid #e3e7ec;text-align:left;vertical-align:top}
th{background:#eef2f6;white-space:nowrap}
td.num,th.num{text-align:right}
#timeline td:first-child,#timeline td:last-child,td.date{white-space:nowrap}
.status{display:inline-block;padding:0 .4rem;border-radius:3px;background:#eef2f6;font-size:.8rem}
.status.met,.status.on_track,.outcome-pass{background:#e3f4e8}
.status.behind,.status.missed,.outcome-fail{background:#fdecea}
.badge{display:inline-block;padding:0 .35rem;border-radius:3px;font-size:.75rem;white-space:nowrap}
.badge.late{background:#fff4d6}.badge.backfill{background:#e8eefc}
svg.chart{width:100%;height:auto;background:#fff;border-radius:6px}
svg.gauge{width:100%;max-width:420px;height:auto}
svg .bar{fill:#2f6fad}
svg .label,svg .value,svg .axis{font-size:12px;fill:#1b2430}
svg .grid{stroke:#e3e7ec}
svg .track{fill:#e3e7ec}
svg .fill{fill:#2f6fad}
svg .fill.met{fill:#2e8b57}
svg .gauge-text{font-size:12px;fill:#fff;paint-order:stroke;stroke:#123a63;stroke-width:2px}
svg .series{fill:none;stroke-width:2.5}
svg .actual{stroke:#2f6fad}
svg .forecast{stroke:#e07a1f}
svg .required{stroke:#2e8b57}
svg .dashed{stroke-dasharray:8 5}
svg .dotted{stroke-dasharray:2 4}
svg .threshold{stroke:#a4262c;stroke-width:1.5;stroke-dasharray:4 3}
details.act{margin:.25rem 0}
details.act form{display:flex;flex-wrap:wrap;gap:.4rem;align-items:flex-end;margin:.4rem 0}
details.act label{display:flex;flex-direction:column;font-size:.8rem}
.downloads a{margin-right:1rem}
nav.sections{display:flex;flex-wrap:wrap;gap:.25rem .75rem;font-size:.85rem;margin-bottom:.5rem}
form.application fieldset{min-width:0;background:#fff;border:1px solid #e3e7ec;border-radius:6px;margin:0 0 .75rem;padding:.5rem .75rem;display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end}
form.application legend{font-weight:600;padding:0 .25rem}
form.application label,form.application .field{display:flex;flex-direction:column;font-size:.85rem;flex:1 1 220px}
form.application .field{flex-basis:100%;min-width:0;max-width:100%}
form.application label.tick{flex-direction:row;flex:0 0 auto;gap:.25rem;align-items:center}
form.application textarea{width:100%}
.many{display:flex;flex-wrap:wrap;gap:.25rem 1rem}
table.entry td{padding:.2rem}
table.entry input,table.entry select{width:100%;min-width:5rem}
.upload{display:flex;flex-wrap:wrap;gap:.5rem 1rem;width:100%;border-top:1px dashed #b8c2cc;padding-top:.5rem}
.buttons{display:flex;flex-wrap:wrap;gap:.5rem;margin:.75rem 0;position:sticky;bottom:0;background:#f4f6f9;padding:.5rem 0}
.buttons button{padding:.35rem .9rem}
ul.files{width:100%;margin:.25rem 0}
svg.china{width:100%;height:auto;background:#fff;border-radius:6px}
svg.china .province{stroke:#fff;stroke-width:.6}
svg.china .c0{fill:#e3e7ec}svg.china .c1{fill:#c6dbef}svg.china .c2{fill:#6baed6}svg.china .c3{fill:#2f6fad}svg.china .c4{fill:#123a63}
svg.china .other{fill:#d5d8dc}
svg.china .maritime{fill:none;stroke:#5c6773;stroke-width:1.2}
svg.china .province:hover{stroke:#ffd166;stroke-width:1.5}
.legend .swatch{display:inline-block;width:.9rem;height:.9rem;vertical-align:middle;border-radius:2px}
.legend .c0{background:#e3e7ec}.legend .c1{background:#c6dbef}.legend .c2{background:#6baed6}.legend .c3{background:#2f6fad}.legend .c4{background:#123a63}
figure.map{margin:0}
#provinces td:first-child,#provinces th{white-space:nowrap}
nav.pager{display:flex;gap:1rem;align-items:center;margin:.5rem 0;font-size:.9rem}
th a.sort{color:inherit;text-decoration:none}
th[aria-sort] a.sort{text-decoration:underline}
p.links{display:flex;flex-wrap:wrap;gap:1rem;align-items:center}
form.inline{display:inline}
div.milestone{font-size:.85rem;white-space:nowrap}
div.milestone.overdue{color:#b3261e}
fieldset{border:1px solid #d5dbe3;border-radius:6px;margin:.5rem 0;padding:.5rem}
label.check{display:inline-flex;gap:.3rem;align-items:center;margin-right:1rem}
.print-doc{background:#fff;padding:1rem 1.5rem;border-radius:6px}
.doc-title{font-size:1.5rem;font-weight:700;text-align:center;margin:.5rem 0 1rem}
.print-row{display:flex;gap:1rem;border-bottom:1px solid #e3e7ec;padding:.2rem 0}
.print-row .label{flex:0 0 16rem;color:#5c6773}
.print-table{margin:.25rem 0 .75rem}
.stamp .sign{display:flex;flex-wrap:wrap;justify-content:space-between;gap:1rem;margin-top:2.5rem;min-height:4rem}
form.stacked label{display:block;margin:.6rem 0}
form.stacked input[type=text],form.stacked textarea{display:block;width:100%;max-width:40rem}
dl.profile dt{color:#5a6472;margin-top:.4rem}dl.profile dd{margin:0 0 .2rem 0;font-weight:500}
@media print{
 @page{size:A4;margin:18mm 15mm 20mm;@bottom-center{content:counter(page) " / " counter(pages)}}
 body{background:#fff;font-size:11pt}
 header,.flash,.no-print,details.act,p.links,nav.sections,.buttons,form{display:none!important}
 main{max-width:none;padding:0}
 main>h1{display:none}
 .print-doc{padding:0}
 .scroll{overflow:visible}
 .print-section{break-inside:auto}
 .print-section h2{break-after:avoid}
 tr,.print-row{break-inside:avoid}
 a{color:inherit;text-decoration:none}
}
@media (max-width:640px){
 .print-row{flex-direction:column;gap:0}
 .print-row .label{flex:none}
 main{padding:.5rem}
 header{padding:.5rem}
 .grid2{grid-template-columns:1fr}
 h1{font-size:1.2rem}
 .filters label{flex:1 1 45%}
}
"#;

/// The pages the role has, in the navigation's order: (path, 中文, English).
fn nav_for(role: Role) -> Vec<(&'static str, &'static str, &'static str)> {
    let mut v = Vec::new();
    if role != Role::Analyst {
        v.push(("/ui/inbox", "待办事项", "To do"));
    }
    if role != Role::Analyst {
        v.push(("/ui/notifications", "通知", "Notifications"));
    }
    if role == Role::Applicant {
        v.push(("/ui/apply", "我的申报", "My applications"));
    }
    if matches!(role, Role::Ministry | Role::Analyst | Role::Province) {
        v.push(("/ui/targets", "目标进度", "Targets"));
    }
    v.push(("/ui/roster", "平台名单", "Roster"));
    if matches!(role, Role::Ministry | Role::Analyst) {
        v.push(("/ui/provinces", "分省对比", "Provinces"));
    }
    v.push(("/ui/reviews", "复核与事故", "Reviews & incidents"));
    v.push(("/ui/funnel", "申报漏斗", "Funnel"));
    if role != Role::City {
        v.push(("/ui/calls", "揭榜挂帅", "Open competition"));
    }
    if matches!(role, Role::Ministry | Role::Analyst) {
        v.push(("/ui/webhooks", "数据推送", "Webhooks"));
    }
    v
}

pub(crate) fn role_name(lang: Lang, actor: &Actor) -> String {
    let role = lang.t(
        actor.role.name_zh(),
        match actor.role {
            Role::Ministry => "Ministry",
            Role::Analyst => "Analyst (read-only)",
            Role::Province => "Province",
            Role::City => "City",
            Role::Applicant => "Applicant",
            Role::System => "System",
            Role::Anonymous => "Anonymous",
            Role::Public => "Public",
        },
    );
    match &actor.jurisdiction {
        Some(j) => {
            let place = match actor.role {
                Role::Province => roster_domain::values::Province::parse(j)
                    .map(|p| lang.t(p.name_zh(), p.name_en()).to_string()),
                Role::City => roster_domain::values::gbt2260_name(j).map(|n| format!("{n}（{j}）")),
                _ => None,
            };
            format!("{role} · {}", place.unwrap_or_else(|| j.clone()))
        }
        None => role.to_string(),
    }
}

/// The frame of every page: header with navigation, who is signed in, language switch and
/// sign-out; the one-shot message; the content.
pub(crate) fn layout(
    lang: Lang,
    viewer: Option<(&Actor, &str)>,
    title: &str,
    flash: Option<&Flash>,
    content: Markup,
) -> Markup {
    let header = html! {
        a.brand href="/ui" { (lang.t("生物制造中试平台名单", "Pilot platform roster")) }
        @if let Some((actor, csrf)) = viewer {
            nav {
                @for (path, zh, en) in nav_for(actor.role) {
                    a href=(path) class=[title.eq(lang.t(zh, en)).then_some("on")] { (lang.t(zh, en)) }
                }
            }
            span.who { (role_name(lang, actor)) }
            form method="post" action="/ui/signout" {
                input type="hidden" name="csrf" value=(csrf);
                button type="submit" id="signout" { (lang.t("退出", "Sign out")) }
            }
        }
    };
    shell(lang, title, header, flash, content)
}

/// The public face's pages (RULES.md §13): no session, their own navigation, a sign-in link.
pub(crate) fn public_layout(
    lang: Lang,
    title: &str,
    flash: Option<&Flash>,
    content: Markup,
) -> Markup {
    let header = html! {
        a.brand href="/public" { (lang.t("生物制造中试能力建设平台", "Biomanufacturing pilot platforms")) }
        nav {
            @for (path, zh, en) in [
                ("/public", "平台名单", "Roster"),
                ("/public/directory", "中试服务查找", "Find pilot services"),
                ("/public/notice", "公示", "Public notice"),
                ("/public/calls", "揭榜挂帅", "Open competition"),
                ("/api/v1/openapi.json", "开放数据", "Open data"),
            ] {
                a href=(path) class=[title.eq(lang.t(zh, en)).then_some("on")] { (lang.t(zh, en)) }
            }
        }
        a href="/ui/signin" id="signin-link" { (lang.t("登录", "Sign in")) }
    };
    shell(lang, title, header, flash, content)
}

fn shell(
    lang: Lang,
    title: &str,
    header: Markup,
    flash: Option<&Flash>,
    content: Markup,
) -> Markup {
    let other = match lang {
        Lang::Zh => ("en", "English"),
        Lang::En => ("zh", "中文"),
    };
    html! {
        (DOCTYPE)
        html lang=(lang.t("zh-CN", "en")) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (lang.t("生物制造中试平台名单", "Biomanufacturing pilot platform roster")) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    (header)
                    a href={"/ui/lang?to=" (other.0)} lang=(other.0) id="lang-switch" { (other.1) }
                }
                main {
                    h1 { (title) }
                    @if let Some(f) = flash {
                        div class={"flash " (if f.ok { "ok" } else { "error" })} role="status" id="flash" data-code=[f.code.as_deref()] { (f.text) }
                    }
                    (content)
                }
            }
        }
    }
}

/// A refusal as the page the user sees.
pub(crate) fn refusal_page(v: &Viewer, r: Refusal) -> Response {
    PageError::new(v, r).into_response()
}

/// The platform `v` may read, for the page `what`; otherwise the refusal page (a platform
/// outside the user's reach reads as one that does not exist).
pub(crate) async fn readable_or_page(
    state: &AppState,
    v: &Viewer,
    platform_id: &str,
    what: &str,
) -> Result<roster_app::commands::Loaded<roster_domain::platform::Platform>, Response> {
    state
        .app()
        .readable_platform(&v.actor, platform_id, what)
        .await
        .map_err(|r| refusal_page(v, r))
}

/// A page of a signed-in user.
pub(crate) fn page(v: &Viewer, title: &str, content: Markup) -> Response {
    layout(
        v.lang,
        Some((&v.actor, &v.csrf)),
        title,
        v.flash.as_ref(),
        content,
    )
    .into_response()
}

/// The front door: the public face for a visitor, the dashboard for a browser with a session
/// (which `/ui` checks).
async fn front_door(headers: axum::http::HeaderMap) -> Redirect {
    if cookie(&headers, SESSION_COOKIE).is_some() {
        Redirect::to("/ui")
    } else {
        Redirect::to("/public")
    }
}

/// Home is what is due for the user; analysts, who act on nothing, start at the targets.
async fn home(v: Viewer) -> Redirect {
    match v.actor.role {
        Role::Analyst => Redirect::to("/ui/targets"),
        _ => Redirect::to("/ui/inbox"),
    }
}

async fn signin_form(headers: axum::http::HeaderMap) -> Response {
    signin_page(&headers, None, StatusCode::OK)
}

fn signin_page(
    headers: &axum::http::HeaderMap,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let lang = Lang::of(headers);
    let nonce = session::random_secret();
    let body = html! {
        form.filters method="post" action="/ui/signin" id="signin" {
            input type="hidden" name="csrf" value=(nonce);
            label {
                (lang.t("访问令牌", "Access token"))
                input type="password" name="token" id="token" autocomplete="off" required size="40";
            }
            button.primary type="submit" { (lang.t("登录", "Sign in")) }
        }
        p.muted { (lang.t(
            "令牌由部里用 `roster token create` 发放，绑定角色与辖区。",
            "Tokens are issued with `roster token create` and bound to a role and a jurisdiction."
        )) }
        p { a href="/public" id="public-link" { (lang.t(
            "公众查询（无需登录）：平台名单、公示、中试服务查找",
            "For the public (no sign-in): the roster, the public notice, pilot services"
        )) } }
    };
    let flash = error.map(|e| Flash {
        ok: false,
        text: e.to_string(),
        code: None,
    });
    let mut resp = (
        status,
        layout(lang, None, lang.t("登录", "Sign in"), flash.as_ref(), body),
    )
        .into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&secret_cookie(
            session::SIGNIN_COOKIE,
            &nonce,
            1800,
            session::behind_tls(headers),
        ))
        .expect("cookie value"),
    );
    resp
}

#[derive(Deserialize)]
struct SigninForm {
    token: String,
    csrf: String,
}

async fn signin(
    State(state): State<AppState>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: axum::http::HeaderMap,
    form: Result<Form<SigninForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = Lang::of(&headers);
    let address = peer.map(|p| p.0 .0.ip());
    let Ok(Form(form)) = form else {
        return signin_page(
            &headers,
            Some(lang.t("登录表单不完整。", "The sign-in form was incomplete.")),
            StatusCode::BAD_REQUEST,
        );
    };
    let expected = cookie(&headers, session::SIGNIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same_secret(&expected, &form.csrf) {
        return signin_page(
            &headers,
            Some(lang.t(
                "登录页面已过期，请重新输入令牌。",
                "The sign-in page had expired; enter the token again.",
            )),
            StatusCode::FORBIDDEN,
        );
    }
    let hash = hash_token(&form.token);
    let record = match state.app().tokens().find_token(&hash).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "token look-up failed");
            return page_error(
                lang,
                None,
                Problem::new(
                    roster_domain::error::code::UNAVAILABLE,
                    "the service cannot check tokens right now; retry shortly",
                ),
            );
        }
    };
    match record {
        Some(t) if t.revoked_at.is_none() && t.role != Role::System => {
            let sid = state.sessions().open(hash, state.now());
            let mut resp = Redirect::to("/ui").into_response();
            let h = resp.headers_mut();
            h.append(
                header::SET_COOKIE,
                HeaderValue::from_str(&secret_cookie(
                    SESSION_COOKIE,
                    &sid,
                    session::SESSION_HOURS * 3600,
                    session::behind_tls(&headers),
                ))
                .expect("cookie value"),
            );
            h.append(
                header::SET_COOKIE,
                HeaderValue::from_str(&secret_cookie(
                    session::SIGNIN_COOKIE,
                    "",
                    0,
                    session::behind_tls(&headers),
                ))
                .expect("cookie value"),
            );
            resp
        }
        Some(t) if t.revoked_at.is_none() => {
            signin_refused(
                &state,
                &headers,
                address,
                "the system role has no dashboard",
            )
            .await
        }
        Some(_) => signin_refused(&state, &headers, address, "revoked token").await,
        None => signin_refused(&state, &headers, address, "unknown token").await,
    }
}

/// A refused sign-in: audited with why, shown without saying why (no token probing).
async fn signin_refused(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    address: Option<std::net::IpAddr>,
    why: &str,
) -> Response {
    let lang = Lang::of(headers);
    // Over the address's budget of failed authentications: 429, not audited (review H3).
    if let Some(Err(seconds)) = address.map(|a| state.limits().failure(a)) {
        state.metrics().rate_limited();
        return crate::limits::too_many(seconds, "failed sign-ins");
    }
    state
        .audit_refusal(
            Actor::anonymous(),
            "POST /ui/signin",
            &crate::problem::UNAUTHENTICATED,
            why,
        )
        .await;
    signin_page(
        headers,
        Some(lang.t(
            "令牌无效或已撤销。",
            "The token is unknown or has been revoked.",
        )),
        StatusCode::UNAUTHORIZED,
    )
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn signout(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    v: Viewer,
    form: Result<Form<CsrfOnly>, axum::extract::rejection::FormRejection>,
) -> Response {
    if let Err(r) = check_csrf(&v, form.ok().map(|f| f.0.csrf).as_deref()) {
        return PageError::new(&v, r).into_response();
    }
    state.sessions().close(&v.session_id);
    let mut resp = Redirect::to("/ui/signin").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&secret_cookie(
            SESSION_COOKIE,
            "",
            0,
            session::behind_tls(&headers),
        ))
        .expect("cookie value"),
    );
    resp
}

/// A state-changing form must carry the session's CSRF token.
pub(crate) fn check_csrf(v: &Viewer, sent: Option<&str>) -> Result<(), Refusal> {
    match sent {
        Some(s) if same_secret(s, &v.csrf) => Ok(()),
        _ => Err(Refusal::forbidden(
            "the form's CSRF token is missing or does not belong to this session; reload the page and try again",
        )),
    }
}

#[derive(Deserialize)]
struct LangQuery {
    to: String,
}

async fn language(
    headers: axum::http::HeaderMap,
    q: Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let to = match q.as_ref().map(|q| q.to.as_str()) {
        Ok("en") => "en",
        _ => "zh",
    };
    // Back to the page the switch was clicked on (same site only).
    // The referer's path (after the scheme and host), if it is a dashboard or public page.
    let back = headers
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .map(|r| {
            let after_scheme = r.find("://").map_or(r, |i| &r[i + 3..]);
            after_scheme
                .find('/')
                .map_or("/", |i| &after_scheme[i..])
                .to_string()
        })
        .filter(|p| {
            (p.starts_with("/ui") || crate::limits::is_public(p.split('?').next().unwrap_or("")))
                && !p.starts_with("/ui/lang")
                && !p.starts_with("//")
        })
        .unwrap_or_else(|| "/ui".into());
    let mut resp = Redirect::to(&back).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={to}; Path=/; SameSite=Lax; Max-Age=31536000"
        ))
        .expect("cookie value"),
    );
    resp
}

/// A posted form from literal pairs, for the form parsers' tests.
#[cfg(test)]
pub(crate) fn test_pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod refusal_tests {
    use super::*;

    #[test]
    fn a_refused_field_is_named_by_its_label_and_row() {
        assert_eq!(
            field_label_zh("form.site.area_m2").as_deref(),
            Some("中试场地面积（平方米）")
        );
        // An amendment names the same field under `changes`.
        assert_eq!(
            field_label_zh("changes.site.area_m2"),
            field_label_zh("form.site.area_m2")
        );
        assert_eq!(
            field_label_zh("form.equipment.vessels[1].volume_l").as_deref(),
            Some("发酵或酶催化相关设备（G-8）第 2 行“容积（升）”")
        );
        assert!(field_label_zh("stars").is_some_and(|l| l.contains('星')));
        assert_eq!(field_label_zh("no.such.field"), None);
        assert_eq!(field_label_zh("form.equipment.vessels[x].volume_l"), None);
    }

    #[test]
    fn a_refusal_reads_in_chinese_when_it_says_it_in_chinese() {
        let r =
            Refusal::invalid("stars", "a star rating is 1-5, not 6").zh("星级为 1-5 星，不能是 6");
        assert_eq!(particulars(Lang::Zh, &r), "星级为 1-5 星，不能是 6");
        assert_eq!(particulars(Lang::En, &r), "a star rating is 1-5, not 6");
        let api_only = Refusal::invalid("x", "only the API meets this");
        assert_eq!(particulars(Lang::Zh, &api_only), "only the API meets this");
    }
}
