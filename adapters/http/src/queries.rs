//! Reads. Every read needs a token (RULES.md §10: nothing is readable without one except health
//! checks); applicants, cities and provinces see only their own jurisdiction.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::actor::{Actor, Role};
use roster_domain::error::{code, Refusal};
use roster_domain::platform::Platform;
use roster_domain::values::{CityCode, Domain, Province};
use roster_projections::PlatformSummary;
use serde::Deserialize;
use serde_json::json;

use crate::auth::Authenticated;
use crate::problem::Problem;
use crate::AppState;

pub(crate) async fn health() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// Readiness for load balancers, without a token: it says whether the event store answers and
/// nothing about it (review L4); the cause goes to the server's log, and to operators through
/// `/api/v1/status` and `roster status`.
pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    let unavailable = || {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable"})),
        )
            .into_response()
    };
    if let Err(e) = state
        .app()
        .events()
        .read_all_after(Default::default(), 1)
        .await
    {
        tracing::warn!(error = %e, "not ready: the event store does not answer");
        return unavailable();
    }
    // A consumer of the broker transport (or the leading relay) without its subscription for
    // longer than the grace: its read model, or the policies, get nothing from the broker.
    let missing: Vec<String> = state
        .app()
        .consumers()
        .into_iter()
        .filter(|c| c.missing)
        .map(|c| c.consumer)
        .collect();
    if !missing.is_empty() {
        tracing::warn!(
            ?missing,
            "not ready: consumers without their broker subscription"
        );
        return unavailable();
    }
    // A read model or the policy consumer stuck behind the log (its consumer hung or gone) makes
    // the server not ready: its reports would be stale, its policies not applied.
    match state.app().projections().await {
        Ok(projections) => {
            let stalled: Vec<&str> = projections
                .iter()
                .filter(|p| p.stalled)
                .map(|p| p.projection.as_str())
                .collect();
            if stalled.is_empty() {
                Json(json!({"status": "ready"})).into_response()
            } else {
                tracing::warn!(?stalled, "not ready: projections stalled behind the log");
                unavailable()
            }
        }
        Err(r) => {
            tracing::warn!(error = %r.message, "not ready: projection states unreadable");
            unavailable()
        }
    }
}

async fn refreshed(state: &AppState) -> Result<(), Problem> {
    state
        .app()
        .catch_up_catalog()
        .await
        .map(|_| ())
        .map_err(|e| Problem::from(roster_domain::error::store_refusal(e)))
}

/// A round as `actor` may read it: its dates, deadlines and quota are public; its
/// recommendations only those of platforms the actor sees (a province its own list, the
/// ministry and analysts all), as RULES.md §10 confines every read (review finding H1).
fn round_for(
    actor: &Actor,
    round: &roster_projections::catalog::RoundSummary,
    platforms: &std::collections::BTreeMap<String, PlatformSummary>,
) -> serde_json::Value {
    let mut v = serde_json::to_value(round).unwrap_or_default();
    if let Some(recommendations) = v
        .get_mut("recommendations")
        .and_then(serde_json::Value::as_object_mut)
    {
        for ids in recommendations.values_mut() {
            if let Some(list) = ids.as_array_mut() {
                list.retain(|id| {
                    id.as_str()
                        .and_then(|id| platforms.get(id))
                        .is_some_and(|p| sees(actor, p))
                });
            }
        }
        recommendations.retain(|_, ids| ids.as_array().is_some_and(|l| !l.is_empty()));
    }
    let applications = platforms
        .values()
        .filter(|p| p.round_id.as_deref() == Some(round.round.round_id.as_str()))
        .filter(|p| sees(actor, p))
        .count();
    v["applications"] = json!(applications);
    v
}

pub(crate) async fn rounds(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Response, Problem> {
    refreshed(&state).await?;
    let c = state.app().catalog().await;
    let rounds: Vec<serde_json::Value> = c
        .rounds
        .values()
        .map(|r| round_for(&actor, r, &c.platforms))
        .collect();
    Ok(Json(rounds).into_response())
}

pub(crate) async fn round(
    State(state): State<AppState>,
    Path(round_id): Path<String>,
    Authenticated(actor): Authenticated,
) -> Result<Response, Problem> {
    refreshed(&state).await?;
    let c = state.app().catalog().await;
    match c.rounds.get(&round_id) {
        Some(r) => {
            let applications: Vec<&PlatformSummary> = c
                .platforms
                .values()
                .filter(|p| p.round_id.as_deref() == Some(round_id.as_str()))
                .filter(|p| sees(&actor, p))
                .collect();
            Ok(Json(
                json!({"round": round_for(&actor, r, &c.platforms), "platforms": applications}),
            )
            .into_response())
        }
        None => Err(Refusal::not_found(format!("no round {round_id}")).into()),
    }
}

/// `GET /api/v1/calls/{call_id}`: a call of the bioreactor competition and the bids the caller
/// may read (RULES.md §9, §10).
///
/// `as_of` (business date) and `known_at` (recorded time) read it on both time axes;
/// `format=csv&view=tasks|provinces` or `format=xlsx` give its figures as a sheet.
pub(crate) async fn call(
    State(state): State<AppState>,
    Path(call_id): Path<String>,
    Authenticated(actor): Authenticated,
    axum::extract::Query(params): crate::reads::Params,
) -> Result<Response, Problem> {
    crate::reads::known(&params, &["as_of", "known_at", "format", "view"])?;
    let as_of = crate::reads::date_param(&params, "as_of")?;
    let known_at = crate::kpi::known_at(&params)?;
    let format = params.get("format").map_or("json", String::as_str);
    let view_name = params.get("view").map_or("tasks", String::as_str);
    if !["json", "csv", "xlsx"].contains(&format) {
        return Err(Refusal::invalid(
            "format",
            format!("format '{format}' is not json, csv or xlsx"),
        )
        .into());
    }
    if !["tasks", "provinces"].contains(&view_name) {
        return Err(Refusal::invalid(
            "view",
            format!("no view '{view_name}'; one of tasks, provinces"),
        )
        .into());
    }
    let view = state.app().call(&actor, &call_id, as_of, known_at).await?;
    let internal = |e: String| Problem::new(code::INTERNAL, e);
    let name = format!(
        "call-{call_id}-{}",
        as_of.unwrap_or_else(|| state.app().today())
    );
    let sheets = roster_projections::export::call_sheets(&view);
    match format {
        "csv" => {
            let sheet = sheets
                .iter()
                .find(|s| s.name == view_name)
                .expect("both views");
            let body =
                roster_projections::export::to_csv(sheet).map_err(|e| internal(e.to_string()))?;
            Ok(crate::web::pages::file(
                "text/csv; charset=utf-8",
                &format!("{name}-{view_name}.csv"),
                body,
            ))
        }
        "xlsx" => {
            let body = roster_projections::export::to_xlsx(&sheets)
                .map_err(|e| internal(e.to_string()))?;
            Ok(crate::web::pages::file(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &format!("{name}.xlsx"),
                body,
            ))
        }
        _ => Ok(Json(view).into_response()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlatformFilter {
    status: Option<String>,
    province: Option<String>,
    city: Option<String>,
    round: Option<String>,
    domain: Option<String>,
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

fn sees(actor: &Actor, p: &PlatformSummary) -> bool {
    roster_domain::access::sees(actor, &p.uscc, &p.city, &p.province)
}

pub(crate) async fn platforms(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    filter: Result<Query<PlatformFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let Query(f) = filter.map_err(|e| Problem::from(Refusal::invalid("query", e.body_text())))?;
    let province = match &f.province {
        Some(p) => Some(
            Province::parse(p)
                .ok_or_else(|| {
                    Refusal::invalid("province", format!("unknown province code '{p}'"))
                })?
                .to_string(),
        ),
        None => None,
    };
    if let Some(c) = &f.city {
        CityCode::parse(c)
            .ok_or_else(|| Refusal::invalid("city", format!("unknown city code '{c}'")))?;
    }
    let domain = match &f.domain {
        Some(d) => Some(
            Domain::parse(d)
                .ok_or_else(|| Refusal::invalid("domain", format!("unknown domain '{d}'")))?,
        ),
        None => None,
    };
    let status = f
        .status
        .as_ref()
        .map(|s| s.to_ascii_lowercase().replace('_', ""));
    let limit = f.limit.unwrap_or(500).min(5000);
    refreshed(&state).await?;
    let c = state.app().catalog().await;
    let rows: Vec<&PlatformSummary> = c
        .platforms
        .values()
        .filter(|p| sees(&actor, p))
        .filter(|p| {
            status
                .as_ref()
                .is_none_or(|s| p.status.code().replace('_', "") == *s)
        })
        .filter(|p| province.as_ref().is_none_or(|x| &p.province == x))
        .filter(|p| f.city.as_ref().is_none_or(|x| &p.city == x))
        .filter(|p| {
            f.round
                .as_ref()
                .is_none_or(|x| p.round_id.as_ref() == Some(x))
        })
        .filter(|p| domain.is_none_or(|d| p.domains.contains(&d)))
        .collect();
    let total = rows.len();
    let page: Vec<&PlatformSummary> = rows.into_iter().skip(f.offset).take(limit).collect();
    Ok(Json(json!({"total": total, "offset": f.offset, "platforms": page})).into_response())
}

/// A platform `actor` may read (`roster_app::App::readable_platform`).
pub(crate) async fn load_readable(
    state: &AppState,
    actor: &Actor,
    platform_id: &str,
    what: &str,
) -> Result<(Platform, u64, Vec<roster_domain::store::StoredEvent>), Refusal> {
    let loaded = state
        .app()
        .readable_platform(actor, platform_id, what)
        .await?;
    Ok((loaded.state, loaded.version, loaded.events))
}

pub(crate) async fn platform(
    State(state): State<AppState>,
    Path(platform_id): Path<String>,
    Authenticated(actor): Authenticated,
) -> Result<Response, Problem> {
    let what = format!("GET /api/v1/platforms/{platform_id}");
    let (p, version, events) = load_readable(&state, &actor, &platform_id, &what).await?;
    Ok(Json(json!({
        "platform_id": platform_id,
        "version": version,
        "status": p.status,
        "on_roster": p.status.is_listed(),
        "allowed_commands": p.status.allowed_commands(),
        "state": p,
        "history": events,
    }))
    .into_response())
}

pub(crate) async fn platform_events(
    State(state): State<AppState>,
    Path(platform_id): Path<String>,
    Authenticated(actor): Authenticated,
) -> Result<Response, Problem> {
    let what = format!("GET /api/v1/platforms/{platform_id}/events");
    let (_, _, events) = load_readable(&state, &actor, &platform_id, &what).await?;
    Ok(Json(events).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    limit: Option<usize>,
}

pub(crate) async fn audit(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    if actor.role != Role::Ministry {
        state
            .audit_refusal(
                actor.clone(),
                "GET /api/v1/audit",
                &code::FORBIDDEN,
                "audit log is for the ministry",
            )
            .await;
        return Err(Refusal::forbidden("the audit log is readable by the ministry only").into());
    }
    let Query(q) = q.map_err(|e| Problem::from(Refusal::invalid("query", e.body_text())))?;
    let entries = state
        .app()
        .events()
        .audit_log(q.limit.unwrap_or(200).min(10_000))
        .await
        .map_err(|e| Problem::from(roster_domain::error::store_refusal(e)))?;
    Ok(Json(entries).into_response())
}
