//! The open data API (`/api/public/v1/…`, RULES.md §13): no token, read only. The roster as
//! published (search, filters, `sort`, `limit`/`skip` with `meta` totals, after openFDA), a
//! listed platform's profile, the platforms on public notice, the published lists of the
//! bioreactor competition, and bulk downloads of the whole public roster (CSV, XLSX, JSON).
//!
//! Every answer carries a strong `ETag` (SHA-256 of the body; `If-None-Match` answers 304),
//! `Last-Modified` (when the newest event was recorded) and `Access-Control-Allow-Origin: *`;
//! a preflight `OPTIONS` is answered for GET only. Each client address has its own budget for
//! the public face (`limits::Limits::public`), tighter than a signed-in user's.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use roster_domain::error::{code, Refusal};
use roster_domain::values::{Domain, Province};
use roster_projections::export;
use roster_projections::public::{self, PublicQuery};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::limits::{too_many, ClientAddress};
use crate::problem::Problem;
use crate::reads::{date_param, known};
use crate::AppState;

/// Rows a page of the public roster has unless `limit` says otherwise …
pub(crate) const DEFAULT_LIMIT: usize = 100;
/// … and at most (the bulk downloads have every row).
pub(crate) const MAX_LIMIT: usize = 1000;

/// The query parameters of `GET /api/public/v1/roster`.
pub(crate) const ROSTER_PARAMS: [&str; 9] = [
    "as_of", "search", "province", "domain", "batch", "sort", "limit", "skip", "format",
];

/// The values given (an empty value, as a page's form sends for "any", is no value).
fn given(params: &HashMap<String, String>) -> HashMap<String, String> {
    params
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k.clone(), v.trim().to_string()))
        .collect()
}

fn number(params: &HashMap<String, String>, name: &str) -> Result<Option<usize>, Refusal> {
    params
        .get(name)
        .map(|n| {
            n.parse::<usize>().map_err(|_| {
                Refusal::invalid(name, format!("{name} '{n}' is not a whole number"))
                    .zh(format!("“{n}”不是整数"))
            })
        })
        .transpose()
}

/// The public roster query (filters only; order and page apart).
pub(crate) fn roster_query(params: &HashMap<String, String>) -> Result<PublicQuery, Refusal> {
    let params = given(params);
    Ok(PublicQuery {
        as_of: date_param(&params, "as_of")?,
        search: params.get("search").cloned(),
        province: params
            .get("province")
            .map(|p| {
                Province::parse(p).ok_or_else(|| {
                    Refusal::invalid("province", format!("unknown province code '{p}'"))
                        .zh(format!("没有省份代码“{p}”"))
                })
            })
            .transpose()?,
        domain: params
            .get("domain")
            .map(|d| {
                Domain::parse(d).ok_or_else(|| {
                    Refusal::invalid("domain", format!("unknown domain '{d}'"))
                        .zh(format!("没有领域“{d}”"))
                })
            })
            .transpose()?,
        batch: number(&params, "batch")?
            .map(|b| {
                u32::try_from(b)
                    .ok()
                    .filter(|b| *b >= 1)
                    .ok_or_else(|| Refusal::invalid("batch", "batch is a number from 1"))
            })
            .transpose()?,
    })
}

/// The page of the answer: `skip` rows skipped, at most `limit` rows.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub(crate) struct Page {
    pub skip: usize,
    pub limit: usize,
    /// Every row matching the query, whatever the page.
    pub total: usize,
}

/// What every list answer of the public API says of itself.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct Meta {
    /// The date the answer is as of.
    pub as_of: NaiveDate,
    /// When the newest event behind the answer was recorded.
    pub last_updated: Option<DateTime<Utc>>,
    pub results: Page,
    /// What the figures are and where they come from.
    pub disclaimer: &'static str,
}

const DISCLAIMER: &str = "生物制造中试能力建设平台名单（工业和信息化部、国家发展改革委）。以公布的名单为准。 The roster as published by MIIT and NDRC; the published notices prevail.";

fn json_body<T: Serialize>(value: &T) -> Result<Vec<u8>, Problem> {
    serde_json::to_vec(value).map_err(|e| Problem::new(code::INTERNAL, e.to_string()))
}

/// A public answer: `body` with its ETag (304 when the client has it), Last-Modified, CORS.
pub(crate) fn cached(
    headers: &HeaderMap,
    content_type: &str,
    disposition: Option<String>,
    last: Option<DateTime<Utc>>,
    body: Vec<u8>,
) -> Response {
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..32]);
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut resp = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(body));
        if let Ok(v) = HeaderValue::from_str(content_type) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        if let Some(d) = disposition.and_then(|d| HeaderValue::from_str(&d).ok()) {
            r.headers_mut().insert(header::CONTENT_DISPOSITION, d);
        }
        r
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Some(v) = last.and_then(|t| HeaderValue::from_str(&httpdate(t)).ok()) {
        h.insert(header::LAST_MODIFIED, v);
    }
    // Stored by anyone, checked with the ETag before each use.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, no-cache"),
    );
    resp
}

/// An HTTP date (RFC 9110 IMF-fixdate).
fn httpdate(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn refused(r: Refusal) -> Response {
    Problem::from(r).into_response()
}

/// The public roster rows of `params`, ordered, with the date they are as of.
pub(crate) async fn roster_rows(
    state: &AppState,
    params: &HashMap<String, String>,
) -> Result<(NaiveDate, Vec<public::PublicEntry>), Refusal> {
    let q = roster_query(params)?;
    let (as_of, mut rows) = state.app().public_roster(&q).await?;
    if let Some(s) = given(params).get("sort") {
        public::sort(&mut rows, s)
            .map_err(|e| Refusal::invalid("sort", e).zh(format!("排序方式“{s}”不可用")))?;
    }
    Ok((as_of, rows))
}

/// `GET /api/public/v1/roster`: a page of the published roster with its totals; with
/// `format=csv|xlsx` every matching row as a file.
pub(crate) async fn roster(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    match roster_answer(
        &state,
        &headers,
        &params,
        params.get("format").map(String::as_str),
    )
    .await
    {
        Ok(r) => r,
        Err(r) => refused(r),
    }
}

async fn roster_answer(
    state: &AppState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    format: Option<&str>,
) -> Result<Response, Refusal> {
    known(params, &ROSTER_PARAMS)?;
    let p = given(params);
    let limit = number(&p, "limit")?.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Refusal::invalid(
            "limit",
            format!("limit is from 1 to {MAX_LIMIT}; the bulk downloads have every row"),
        )
        .zh(format!("每页条数为 1 至 {MAX_LIMIT}")));
    }
    let skip = number(&p, "skip")?.unwrap_or(0);
    let (as_of, rows) = roster_rows(state, params).await?;
    let last = state.app().last_recorded().await;
    let file = |ext: &str| format!("attachment; filename=\"pilot-platforms-{as_of}.{ext}\"");
    Ok(match format {
        None | Some("json") => {
            let total = rows.len();
            let results: Vec<_> = rows.into_iter().skip(skip).take(limit).collect();
            let body = json_body(&json!({
                "meta": Meta {
                    as_of,
                    last_updated: last,
                    results: Page { skip, limit, total },
                    disclaimer: DISCLAIMER,
                },
                "results": results,
            }))
            .map_err(|p| p.refusal)?;
            cached(headers, "application/json", None, last, body)
        }
        Some("csv") => {
            let body = export::to_csv(&export::public_roster_sheet(&rows))
                .map_err(|e| Refusal::new(code::INTERNAL, e.to_string()))?;
            cached(
                headers,
                "text/csv; charset=utf-8",
                Some(file("csv")),
                last,
                body.into_bytes(),
            )
        }
        Some("xlsx") => {
            let body = export::to_xlsx(&[export::public_roster_sheet(&rows)])
                .map_err(|e| Refusal::new(code::INTERNAL, e.to_string()))?;
            cached(
                headers,
                crate::web::pages::XLSX,
                Some(file("xlsx")),
                last,
                body,
            )
        }
        Some(other) => {
            return Err(Refusal::invalid(
                "format",
                format!("format '{other}' is not json, csv or xlsx"),
            ))
        }
    })
}

/// `GET /api/public/v1/downloads/roster.csv|.xlsx|.json`: the whole published roster as of a date (the
/// bulk downloads; the same filters, no page).
pub(crate) async fn bulk(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let format = match file.as_str() {
        "roster.csv" => "csv",
        "roster.xlsx" => "xlsx",
        "roster.json" => "json",
        _ => {
            return refused(Refusal::not_found(format!(
                "no download {file}; roster.csv, roster.xlsx or roster.json"
            )))
        }
    };
    let mut params = params;
    if params.contains_key("format") || params.contains_key("limit") || params.contains_key("skip")
    {
        return refused(Refusal::invalid(
            "format",
            "a download has every row in the format its name gives",
        ));
    }
    if format == "json" {
        let run = async {
            known(&params, &ROSTER_PARAMS)?;
            let (as_of, rows) = roster_rows(&state, &params).await?;
            let last = state.app().last_recorded().await;
            let total = rows.len();
            let body = json_body(&json!({
                "meta": Meta {
                    as_of,
                    last_updated: last,
                    results: Page { skip: 0, limit: total, total },
                    disclaimer: DISCLAIMER,
                },
                "results": rows,
            }))
            .map_err(|p| p.refusal)?;
            Ok::<_, Refusal>(cached(
                &headers,
                "application/json",
                Some(format!(
                    "attachment; filename=\"pilot-platforms-{as_of}.json\""
                )),
                last,
                body,
            ))
        };
        return run.await.unwrap_or_else(refused);
    }
    params.remove("format");
    roster_answer(&state, &headers, &params, Some(format))
        .await
        .unwrap_or_else(refused)
}

/// `GET /api/public/v1/platforms/{platform_id}`: a listed platform's public profile.
pub(crate) async fn platform(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(platform_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let run = async {
        known(&params, &["as_of"])?;
        let as_of = date_param(&given(&params), "as_of")?;
        let profile = state.app().public_profile(&platform_id, as_of).await?;
        let last = state.app().last_recorded().await;
        let body = json_body(&profile).map_err(|p| p.refusal)?;
        Ok::<_, Refusal>(cached(&headers, "application/json", None, last, body))
    };
    run.await.unwrap_or_else(refused)
}

/// `GET /api/public/v1/notice`: the platforms on public notice on a day (default today).
pub(crate) async fn notice(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let run = async {
        known(&params, &["on"])?;
        let on = date_param(&given(&params), "on")?;
        let rows = state.app().public_notice(on).await?;
        let last = state.app().last_recorded().await;
        let total = rows.len();
        let body = json_body(&json!({
            "meta": Meta {
                as_of: on.unwrap_or_else(|| state.app().today()),
                last_updated: last,
                results: Page { skip: 0, limit: total, total },
                disclaimer: DISCLAIMER,
            },
            "results": rows,
        }))
        .map_err(|p| p.refusal)?;
        Ok::<_, Refusal>(cached(&headers, "application/json", None, last, body))
    };
    run.await.unwrap_or_else(refused)
}

/// `GET /api/public/v1/calls`: the calls of the bioreactor competition with their published
/// lists.
pub(crate) async fn calls(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let run = async {
        let calls = state.app().public_calls().await?;
        let last = state.app().last_recorded().await;
        let body = json_body(&json!({ "results": calls })).map_err(|p| p.refusal)?;
        Ok::<_, Refusal>(cached(&headers, "application/json", None, last, body))
    };
    run.await.unwrap_or_else(refused)
}

/// `GET /api/public/v1/calls/{call_id}`: one call with its lists as published by `as_of`.
pub(crate) async fn call(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(call_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let run = async {
        known(&params, &["as_of"])?;
        let as_of = date_param(&given(&params), "as_of")?;
        let call = state.app().public_call(&call_id, as_of).await?;
        let last = state.app().last_recorded().await;
        let body = json_body(&call).map_err(|p| p.refusal)?;
        Ok::<_, Refusal>(cached(&headers, "application/json", None, last, body))
    };
    run.await.unwrap_or_else(refused)
}

/// CORS for the public API: every origin may GET (no credentials: there are none); a
/// preflight is answered for GET and HEAD only.
pub(crate) async fn cors(req: Request, next: Next) -> Response {
    let public = req.uri().path().starts_with("/api/public/");
    if public && req.method() == Method::OPTIONS {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        let h = resp.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, HEAD"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("If-None-Match"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("86400"),
        );
        return resp;
    }
    let mut resp = next.run(req).await;
    if public {
        let h = resp.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("ETag, Last-Modified, Retry-After"),
        );
    }
    resp
}

/// The receipt of an objection filed by the public (回执).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct ObjectionReceipt {
    /// The objection's id (回执编号): quote it when asking the ministry about it.
    pub objection_id: String,
    pub platform_id: String,
    /// The day it was filed.
    pub filed_on: NaiveDate,
    /// True when the same `command_id` was sent before (nothing filed again).
    pub duplicate: bool,
}

/// The receipt of a filed objection.
pub(crate) fn receipt(
    state: &AppState,
    platform_id: &str,
    outcome: &roster_domain::request::CommandOutcome,
) -> ObjectionReceipt {
    ObjectionReceipt {
        objection_id: roster_domain::commands::objection_id(outcome.command_id),
        platform_id: platform_id.to_string(),
        filed_on: state.app().today(),
        duplicate: outcome.duplicate,
    }
}

/// The objections budget of the client's address (a few an hour): the 429 answer when it is
/// spent.
pub(crate) fn over_objection_budget(state: &AppState, address: &ClientAddress) -> Option<Response> {
    match address.0.map(|a| state.limits().objection(a)) {
        Some(Err(seconds)) => {
            state.metrics().rate_limited();
            Some(too_many(seconds, "public filings (objections and needs)"))
        }
        _ => None,
    }
}

/// `POST /api/public/v1/platforms/{platform_id}/objections`: anyone objects to a platform on
/// public notice (RULES.md §13, R-5); `{command_id, name, contact, grounds}`. 201 with the
/// receipt; after the notice period 422 naming the day it ended.
pub(crate) async fn object(
    State(state): State<AppState>,
    address: ClientAddress,
    Path(platform_id): Path<String>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    if let Some(r) = over_objection_budget(&state, &address) {
        return r;
    }
    let run = async {
        let mut obj = crate::commands::parse_object(body)?;
        let command_id = command_id_of(&mut obj)?;
        let objection: roster_domain::commands::FileObjection =
            crate::commands::typed("", serde_json::Value::Object(obj))?;
        if objection.attachment.is_some() {
            return Err(Refusal::invalid(
                "attachment",
                "an attachment is uploaded with the form on the public notice page",
            ));
        }
        roster_domain::input::check_text("grounds", &objection.grounds)?;
        let outcome = state
            .app()
            .file_objection(&filer(&address), &platform_id, command_id, objection, None)
            .await?;
        Ok::<_, Refusal>(outcome)
    };
    match run.await {
        Ok(outcome) => {
            let status = if outcome.duplicate {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            (status, axum::Json(receipt(&state, &platform_id, &outcome))).into_response()
        }
        Err(r) => refused(r),
    }
}

/// The client's command id of a public filing: required, a UUID.
fn command_id_of(
    obj: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<uuid::Uuid, Refusal> {
    match obj.remove("command_id") {
        Some(serde_json::Value::String(s)) => uuid::Uuid::parse_str(&s).map_err(|_| {
            Refusal::invalid("command_id", "command_id is not a UUID").zh("command_id 不是 UUID")
        }),
        _ => Err(Refusal::invalid(
            "command_id",
            "command_id (a UUID the client chooses, so a retry files once) is required",
        )),
    }
}

/// The client's address as the audit log names a public filer.
fn filer(address: &ClientAddress) -> String {
    address
        .0
        .map_or_else(|| "unknown".to_string(), |a| a.to_string())
}

/// `POST /api/public/v1/needs`: an enterprise posts a need for pilot services (RULES.md §13),
/// `{command_id, need: {...}}`; it reaches every listed platform that matches it. 201 with the
/// receipt (the need id and the platforms reached), 200 for a repeated `command_id`, 404 when
/// no platform matches. Counted with the objections in the client's hourly budget of filings.
pub(crate) async fn post_need(
    State(state): State<AppState>,
    address: ClientAddress,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    if let Some(r) = over_objection_budget(&state, &address) {
        return r;
    }
    let run = async {
        let mut obj = crate::commands::parse_object(body)?;
        let command_id = command_id_of(&mut obj)?;
        if let Some(extra) = obj.keys().find(|k| k.as_str() != "need") {
            return Err(Refusal::invalid(
                extra,
                format!("unknown field {extra}: the body is {{command_id, need}}"),
            ));
        }
        let need: roster_domain::commands::Need = crate::commands::typed(
            "need",
            obj.remove("need")
                .ok_or_else(|| Refusal::invalid("need", "need is required"))?,
        )?;
        for (k, v) in [
            ("need.enterprise_name", &need.enterprise_name),
            ("need.contact", &need.contact),
            ("need.description", &need.description),
        ] {
            roster_domain::input::check_text(k, v)?;
        }
        state
            .app()
            .post_need(&filer(&address), command_id, need)
            .await
    };
    match run.await {
        Ok(receipt) => {
            let status = if receipt.duplicate {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            (status, axum::Json(receipt)).into_response()
        }
        Err(r) => refused(r),
    }
}

/// The query parameters of `GET /api/public/v1/directory`.
pub(crate) const DIRECTORY_PARAMS: [&str; 8] = [
    "domain",
    "province",
    "vessel_kind",
    "min_vessel_l",
    "service",
    "search",
    "limit",
    "skip",
];

/// The directory query of `params`.
pub(crate) fn directory_query(
    params: &HashMap<String, String>,
) -> Result<public::DirectoryQuery, Refusal> {
    known(params, &DIRECTORY_PARAMS)?;
    let filters = roster_query(
        &given(params)
            .into_iter()
            .filter(|(k, _)| k == "domain" || k == "province")
            .collect(),
    )?;
    let p = given(params);
    let vessel_kind = p.get("vessel_kind").cloned();
    if let Some(k) = &vessel_kind {
        if !["fermentation", "enzyme_catalysis", "parallel_bioreactor"].contains(&k.as_str()) {
            return Err(Refusal::invalid(
                "vessel_kind",
                format!("vessel_kind '{k}' is not fermentation, enzyme_catalysis or parallel_bioreactor"),
            )
            .zh(format!("没有设备类别“{k}”")));
        }
    }
    let min_vessel_l = p
        .get("min_vessel_l")
        .map(|v| {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| {
                    Refusal::invalid(
                        "min_vessel_l",
                        format!("min_vessel_l '{v}' is not a volume in litres"),
                    )
                    .zh(format!("“{v}”不是以升计的容积"))
                })
        })
        .transpose()?;
    let service = p
        .get("service")
        .map(|s| {
            roster_domain::commands::PilotService::parse(s).ok_or_else(|| {
                Refusal::invalid("service", format!("no pilot service '{s}'"))
                    .zh(format!("没有中试服务“{s}”"))
            })
        })
        .transpose()?;
    Ok(public::DirectoryQuery {
        domain: filters.domain,
        province: filters.province,
        vessel_kind,
        min_vessel_l,
        search: p.get("search").cloned(),
        service,
    })
}

/// `GET /api/public/v1/directory`: the pilot-services directory (中试供需对接): listed platforms
/// by domain, province, vessel kind and volume, and words of their services and equipment,
/// with their public profiles; paged with `meta` totals.
pub(crate) async fn directory(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let run = async {
        let q = directory_query(&params)?;
        let p = given(&params);
        let limit = number(&p, "limit")?.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(Refusal::invalid(
                "limit",
                format!("limit is from 1 to {MAX_LIMIT}"),
            ));
        }
        let skip = number(&p, "skip")?.unwrap_or(0);
        let found = state.app().public_directory(&q).await?;
        let last = state.app().last_recorded().await;
        let total = found.len();
        let results: Vec<_> = found.into_iter().skip(skip).take(limit).collect();
        let body = json_body(&json!({
            "meta": Meta {
                as_of: state.app().today(),
                last_updated: last,
                results: Page { skip, limit, total },
                disclaimer: DISCLAIMER,
            },
            "results": results,
        }))
        .map_err(|p| p.refusal)?;
        Ok::<_, Refusal>(cached(&headers, "application/json", None, last, body))
    };
    run.await.unwrap_or_else(refused)
}

/// `GET /api/public/v1/kpi`: the national figures (K-1..K-4) and the progress against the
/// national targets as of a date, with breakdowns by province and domain.
pub(crate) async fn kpi(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let run = async {
        known(&params, &["as_of"])?;
        let as_of = date_param(&given(&params), "as_of")?;
        let report = state.app().public_kpi(as_of).await?;
        let last = state.app().last_recorded().await;
        let body = json_body(&report).map_err(|p| p.refusal)?;
        Ok::<_, Refusal>(cached(&headers, "application/json", None, last, body))
    };
    run.await.unwrap_or_else(refused)
}

/// Entries a change feed carries (the newest).
const FEED_ENTRIES: usize = 200;

/// The base of absolute links in a feed: the request's host (letters, digits, '.', '-', ':'
/// and brackets only; otherwise `localhost`), https behind a proxy that says so.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// A business date as an RFC 3339 instant: the start of the day in Beijing.
fn day_start(d: NaiveDate) -> String {
    format!("{d}T00:00:00+08:00")
}

const FEED_TITLE: &str = "生物制造中试能力建设平台名单变更";

/// `GET /api/public/v1/feed.atom`: the changes of the published roster as an Atom feed.
pub(crate) async fn atom(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let changes = match state.app().public_changes(FEED_ENTRIES).await {
        Ok(c) => c,
        Err(r) => return refused(r),
    };
    let base = base_url(&headers);
    let updated = changes
        .first()
        .map_or_else(|| day_start(state.app().today()), |c| day_start(c.on));
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str(&format!(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"zh-CN\">\n<title>{}</title>\n<id>{base}/api/public/v1/feed.atom</id>\n<link rel=\"self\" type=\"application/atom+xml\" href=\"{base}/api/public/v1/feed.atom\"/>\n<link rel=\"alternate\" type=\"text/html\" href=\"{base}/public\"/>\n<updated>{updated}</updated>\n<author><name>工业和信息化部 国家发展改革委</name></author>\n",
        xml(FEED_TITLE)
    ));
    for c in &changes {
        out.push_str(&format!(
            "<entry>\n<title>{}</title>\n<id>urn:roster:change:{}</id>\n<link href=\"{base}/public/platforms/{}\"/>\n<updated>{}</updated>\n<category term=\"{}\"/>\n<summary>{}</summary>\n</entry>\n",
            xml(&c.title),
            xml(&c.id),
            xml(&c.platform_id),
            day_start(c.on),
            xml(&c.kind),
            xml(&format!("{} · {} · {}", c.unit_name, c.province_name, c.on)),
        ));
    }
    out.push_str("</feed>\n");
    let last = state.app().last_recorded().await;
    cached(
        &headers,
        "application/atom+xml; charset=utf-8",
        None,
        last,
        out.into_bytes(),
    )
}

/// `GET /api/public/v1/feed.json`: the same changes as a JSON Feed (version 1.1).
pub(crate) async fn json_feed(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let changes = match state.app().public_changes(FEED_ENTRIES).await {
        Ok(c) => c,
        Err(r) => return refused(r),
    };
    let base = base_url(&headers);
    let items: Vec<serde_json::Value> = changes
        .iter()
        .map(|c| {
            json!({
                "id": format!("urn:roster:change:{}", c.id),
                "url": format!("{base}/public/platforms/{}", c.platform_id),
                "title": c.title,
                "content_text": format!("{} · {} · {}", c.unit_name, c.province_name, c.on),
                "date_published": day_start(c.on),
                "tags": [c.kind],
                "_roster": c,
            })
        })
        .collect();
    let body = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": FEED_TITLE,
        "home_page_url": format!("{base}/public"),
        "feed_url": format!("{base}/api/public/v1/feed.json"),
        "language": "zh-CN",
        "items": items,
    });
    let last = state.app().last_recorded().await;
    match json_body(&body) {
        Ok(b) => cached(&headers, "application/feed+json", None, last, b),
        Err(p) => p.into_response(),
    }
}
