//! Reports from the read models: the roster as of any date (JSON or CSV), a platform's
//! timeline, the funnel, the reviews board, the incident register; operations status and
//! Prometheus metrics. Rows outside the caller's jurisdiction are left out.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use roster_domain::access::sees;
use roster_domain::actor::{Actor, Role};
use roster_domain::error::{code, Refusal};
use roster_domain::platform::Status;
use roster_domain::values::{CityCode, Domain, Province};
use roster_projections::queries::{self, RosterQuery};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

use crate::auth::Authenticated;
use crate::metrics::Gauge;
use crate::problem::Problem;
use crate::AppState;

pub(crate) type Params = Query<HashMap<String, String>>;

pub(crate) fn known(params: &HashMap<String, String>, allowed: &[&str]) -> Result<(), Refusal> {
    match params.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(Refusal::invalid(
            k,
            format!(
                "unknown query parameter `{k}`; one of {}",
                allowed.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

pub(crate) fn date_param(
    params: &HashMap<String, String>,
    name: &str,
) -> Result<Option<NaiveDate>, Refusal> {
    params
        .get(name)
        .map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                Refusal::new(
                    code::IMPOSSIBLE_DATE,
                    format!("{name} '{s}' is not a date (YYYY-MM-DD)"),
                )
                .at(name)
            })
        })
        .transpose()
}

fn csv_wanted(params: &HashMap<String, String>) -> Result<bool, Refusal> {
    match params.get("format").map(String::as_str) {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(Refusal::invalid(
            "format",
            format!("format '{other}' is not json or csv"),
        )),
    }
}

fn csv_response<T: Serialize>(rows: &[T], name: &str) -> Result<Response, Problem> {
    let body = queries::to_csv(rows).map_err(|e| Problem::new(code::INTERNAL, e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}

pub(crate) async fn docs<D: DeserializeOwned>(
    state: &AppState,
    projection: &str,
) -> Result<Vec<D>, Problem> {
    state.refresh_projections().await;
    let rows = state
        .models()
        .scan(projection, "")
        .await
        .map_err(|e| Problem::new(code::UNAVAILABLE, e.to_string()))?;
    rows.into_iter()
        .map(|(k, v)| {
            serde_json::from_value(v).map_err(|e| {
                Problem::new(
                    code::INTERNAL,
                    format!("{projection} document {k} unreadable: {e}"),
                )
            })
        })
        .collect()
}

pub(crate) fn today(state: &AppState) -> NaiveDate {
    // Business dates are Asia/Shanghai calendar days (UTC+8, no daylight saving).
    (state.now() + chrono::Duration::hours(8)).date_naive()
}

pub(crate) fn reader(actor: &Actor) -> Result<(), Refusal> {
    match actor.role {
        Role::Ministry | Role::Analyst | Role::Province | Role::City | Role::Applicant => Ok(()),
        Role::System => Err(Refusal::forbidden("the system role does not read reports")),
        Role::Anonymous => Err(Refusal::forbidden("sign in first")),
    }
}

/// The roster query of `GET /api/v1/roster` and the dashboard's roster page.
pub(crate) const ROSTER_PARAMS: [&str; 7] = [
    "as_of", "province", "city", "domain", "status", "stars", "format",
];

/// Parses the roster filters.
pub(crate) fn roster_query(params: &HashMap<String, String>) -> Result<RosterQuery, Refusal> {
    Ok(RosterQuery {
        as_of: date_param(params, "as_of")?,
        province: params
            .get("province")
            .map(|p| {
                Province::parse(p).ok_or_else(|| {
                    Refusal::invalid("province", format!("unknown province code '{p}'"))
                })
            })
            .transpose()?,
        city: params
            .get("city")
            .map(|c| {
                CityCode::parse(c).map(|c| c.to_string()).ok_or_else(|| {
                    Refusal::invalid(
                        "city",
                        format!("unknown city code '{c}' (not in GB/T 2260)"),
                    )
                })
            })
            .transpose()?,
        domain: params
            .get("domain")
            .map(|d| {
                Domain::parse(d)
                    .ok_or_else(|| Refusal::invalid("domain", format!("unknown domain '{d}'")))
            })
            .transpose()?,
        status: params
            .get("status")
            .map(|s| {
                serde_json::from_value::<Status>(json!(s)).map_err(|_| {
                    Refusal::invalid(
                        "status",
                        format!(
                            "unknown status '{s}' (e.g. listed, under_review, delisted, rejected)"
                        ),
                    )
                })
            })
            .transpose()?,
        stars: params
            .get("stars")
            .map(|s| {
                s.parse::<u8>()
                    .ok()
                    .filter(|n| (1..=5).contains(n))
                    .ok_or_else(|| Refusal::invalid("stars", "stars is 1-5"))
            })
            .transpose()?,
    })
}

/// The roster rows the actor may see (SPEC §10), and the date they are as of.
pub(crate) async fn roster_rows(
    state: &AppState,
    actor: &Actor,
    q: &RosterQuery,
) -> Result<(NaiveDate, Vec<queries::RosterRow>), Problem> {
    reader(actor)?;
    let all = docs(state, "roster").await?;
    let today = today(state);
    let rows = queries::roster(&all, q, today)
        .into_iter()
        .filter(|r| sees(actor, &r.uscc, &r.city, &r.province))
        .collect();
    Ok((q.as_of.unwrap_or(today), rows))
}

pub async fn roster(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(params): Params,
) -> Result<Response, Problem> {
    reader(&actor)?;
    known(&params, &ROSTER_PARAMS)?;
    let q = roster_query(&params)?;
    let csv = csv_wanted(&params)?;
    let (as_of, rows) = roster_rows(&state, &actor, &q).await?;
    if csv {
        return csv_response(&rows, "roster");
    }
    Ok(Json(json!({"as_of": as_of, "total": rows.len(), "platforms": rows})).into_response())
}

pub async fn timeline(
    State(state): State<AppState>,
    Path(platform_id): Path<String>,
    Authenticated(actor): Authenticated,
) -> Result<Response, Problem> {
    let what = format!("GET /api/v1/platforms/{platform_id}/timeline");
    crate::queries::load_readable(&state, &actor, &platform_id, &what).await?;
    state.refresh_projections().await;
    let doc = roster_projections::models::timeline::read(state.models().as_ref(), &platform_id)
        .await
        .map_err(|e| Problem::new(code::UNAVAILABLE, e.to_string()))?;
    Ok(Json(doc).into_response())
}

/// National rows for the ministry and analysts; a province's (or its cities' and applicants')
/// own province's rows for the others.
fn national_or_own(actor: &Actor, province: &str) -> bool {
    matches!(actor.role, Role::Ministry | Role::Analyst) || sees(actor, "", "", province)
}

pub(crate) async fn funnel_rows(
    state: &AppState,
    actor: &Actor,
    round: Option<&str>,
    as_of: NaiveDate,
) -> Result<Vec<queries::FunnelRow>, Problem> {
    reader(actor)?;
    let all = docs(state, "funnel").await?;
    Ok(queries::funnel(&all, round, as_of)
        .into_iter()
        .filter(|r| {
            matches!(actor.role, Role::Ministry | Role::Analyst)
                || (r.province != "total" && national_or_own(actor, &r.province))
        })
        .collect())
}

pub(crate) async fn review_rows(
    state: &AppState,
    actor: &Actor,
    as_of: NaiveDate,
    window_days: u32,
) -> Result<Vec<queries::ReviewRow>, Problem> {
    reader(actor)?;
    let all = docs(state, "reviews").await?;
    Ok(queries::reviews(&all, as_of, window_days)
        .into_iter()
        .filter(|r| national_or_own(actor, &r.province))
        .collect())
}

pub(crate) async fn incident_rows(
    state: &AppState,
    actor: &Actor,
    as_of: NaiveDate,
) -> Result<Vec<queries::IncidentRow>, Problem> {
    reader(actor)?;
    let all = docs(state, "incidents").await?;
    Ok(queries::incidents(&all, as_of)
        .into_iter()
        .filter(|r| national_or_own(actor, &r.province))
        .collect())
}

pub async fn funnel(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(params): Params,
) -> Result<Response, Problem> {
    reader(&actor)?;
    known(&params, &["round", "as_of", "format"])?;
    let as_of = date_param(&params, "as_of")?.unwrap_or_else(|| today(&state));
    let csv = csv_wanted(&params)?;
    let rows = funnel_rows(
        &state,
        &actor,
        params.get("round").map(String::as_str),
        as_of,
    )
    .await?;
    if csv {
        return csv_response(&rows, "funnel");
    }
    Ok(Json(json!({"as_of": as_of, "rows": rows})).into_response())
}

pub async fn reviews(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(params): Params,
) -> Result<Response, Problem> {
    reader(&actor)?;
    known(&params, &["as_of", "window_days", "format"])?;
    let as_of = date_param(&params, "as_of")?.unwrap_or_else(|| today(&state));
    let window = params
        .get("window_days")
        .map(|w| {
            w.parse::<u32>()
                .map_err(|_| Refusal::invalid("window_days", "window_days is a number of days"))
        })
        .transpose()?
        .unwrap_or(90);
    let csv = csv_wanted(&params)?;
    let rows = review_rows(&state, &actor, as_of, window).await?;
    if csv {
        return csv_response(&rows, "reviews");
    }
    Ok(Json(json!({"as_of": as_of, "window_days": window, "reviews": rows})).into_response())
}

pub async fn incidents(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(params): Params,
) -> Result<Response, Problem> {
    reader(&actor)?;
    known(&params, &["as_of"])?;
    let as_of = date_param(&params, "as_of")?.unwrap_or_else(|| today(&state));
    let rows = incident_rows(&state, &actor, as_of).await?;
    Ok(Json(json!({"as_of": as_of, "incidents": rows})).into_response())
}

fn operator(actor: &Actor) -> Result<(), Refusal> {
    if matches!(actor.role, Role::Ministry | Role::Analyst) {
        Ok(())
    } else {
        Err(Refusal::forbidden(
            "operations status is for the ministry and analysts",
        ))
    }
}

pub async fn status(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Response, Problem> {
    operator(&actor)?;
    Ok(Json(state.status().await?).into_response())
}

pub async fn metrics(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Response, Problem> {
    operator(&actor)?;
    let status = state.status().await?;
    let mut gauges = vec![Gauge {
        name: "roster_events_stored",
        help: "Events in the store.",
        labels: vec![],
        value: status.events as f64,
    }];
    for p in &status.projections {
        gauges.push(Gauge {
            name: "roster_projection_lag_events",
            help: "Events not yet applied by a projection.",
            labels: vec![("projection", p.projection.clone())],
            value: p.lag as f64,
        });
    }
    for p in &status.projections {
        gauges.push(Gauge {
            name: "roster_projection_stalled",
            help: "1 when a projection is behind the log and its checkpoint has not moved for longer than the stall limit.",
            labels: vec![("projection", p.projection.clone())],
            value: f64::from(u8::from(p.stalled)),
        });
    }
    for p in &status.projections {
        gauges.push(Gauge {
            name: "roster_projection_dead_letters",
            help: "Events a projection could not apply.",
            labels: vec![("projection", p.projection.clone())],
            value: p.dead_letters as f64,
        });
    }
    gauges.extend(crate::metrics::consumer_gauges(&status.consumers));
    gauges.push(Gauge {
        name: "roster_reviews_overdue",
        help: "Reviews open past their due date, as of today (D-2).",
        labels: vec![],
        value: status.reviews_overdue as f64,
    });
    gauges.push(Gauge {
        name: "roster_deadlines_pending",
        help: "Scheduled deadlines not yet fired (D-1, D-2).",
        labels: vec![],
        value: status.deadlines.pending as f64,
    });
    gauges.push(Gauge {
        name: "roster_deadlines_late",
        help: "Pending deadlines whose day has passed (the scheduler is behind).",
        labels: vec![],
        value: status.deadlines.late as f64,
    });
    if let Some(lag) = status.relay_lag {
        gauges.push(Gauge {
            name: "roster_relay_lag_events",
            help: "Events not yet confirmed by the broker.",
            labels: vec![],
            value: lag as f64,
        });
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics().render(&gauges),
    )
        .into_response())
}
