//! Reports from the read models: the roster as of any date (JSON or CSV), a platform's
//! timeline, the funnel, the reviews board, the incident register; operations status and
//! Prometheus metrics. Rows outside the caller's jurisdiction are left out.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use roster_domain::error::{code, Refusal};
use roster_domain::platform::Status;
use roster_domain::values::{CityCode, Domain, Province};
use roster_projections::queries::{self, RosterQuery};
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
        )
        .zh(format!("网址中有不认识的参数“{k}”"))),
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
                .zh(format!("“{s}”不是日期（如 2025-07-01）"))
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

pub(crate) use roster_app::reads::{operator, reader};

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
                Status::parse(s).ok_or_else(|| {
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

pub(crate) async fn roster(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(params): Params,
) -> Result<Response, Problem> {
    reader(&actor)?;
    known(&params, &ROSTER_PARAMS)?;
    let q = roster_query(&params)?;
    let csv = csv_wanted(&params)?;
    let (as_of, rows) = state.app().roster(&actor, &q).await?;
    if csv {
        return csv_response(&rows, "roster");
    }
    Ok(Json(json!({"as_of": as_of, "total": rows.len(), "platforms": rows})).into_response())
}

pub(crate) async fn timeline(
    State(state): State<AppState>,
    Path(platform_id): Path<String>,
    Authenticated(actor): Authenticated,
) -> Result<Response, Problem> {
    let what = format!("GET /api/v1/platforms/{platform_id}/timeline");
    let doc = state.app().timeline(&actor, &platform_id, &what).await?;
    Ok(Json(doc).into_response())
}

pub(crate) async fn funnel(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(params): Params,
) -> Result<Response, Problem> {
    reader(&actor)?;
    known(&params, &["round", "as_of", "format"])?;
    let as_of = date_param(&params, "as_of")?.unwrap_or_else(|| state.app().today());
    let csv = csv_wanted(&params)?;
    let rows = state
        .app()
        .funnel(&actor, params.get("round").map(String::as_str), as_of)
        .await?;
    if csv {
        return csv_response(&rows, "funnel");
    }
    Ok(Json(json!({"as_of": as_of, "rows": rows})).into_response())
}

pub(crate) async fn reviews(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(params): Params,
) -> Result<Response, Problem> {
    reader(&actor)?;
    known(&params, &["as_of", "window_days", "format"])?;
    let as_of = date_param(&params, "as_of")?.unwrap_or_else(|| state.app().today());
    let window = params
        .get("window_days")
        .map(|w| {
            w.parse::<u32>()
                .map_err(|_| Refusal::invalid("window_days", "window_days is a number of days"))
        })
        .transpose()?
        .unwrap_or(90);
    let csv = csv_wanted(&params)?;
    let rows = state.app().reviews(&actor, as_of, window).await?;
    if csv {
        return csv_response(&rows, "reviews");
    }
    Ok(Json(json!({"as_of": as_of, "window_days": window, "reviews": rows})).into_response())
}

pub(crate) async fn incidents(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(params): Params,
) -> Result<Response, Problem> {
    reader(&actor)?;
    known(&params, &["as_of"])?;
    let as_of = date_param(&params, "as_of")?.unwrap_or_else(|| state.app().today());
    let rows = state.app().incidents(&actor, as_of).await?;
    Ok(Json(json!({"as_of": as_of, "incidents": rows})).into_response())
}

pub(crate) async fn status(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Response, Problem> {
    operator(&actor)?;
    Ok(Json(state.app().status().await?).into_response())
}

pub(crate) async fn metrics(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Response, Problem> {
    operator(&actor)?;
    let status = state.app().status().await?;
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
    for w in &status.webhooks {
        gauges.push(Gauge {
            name: "roster_webhook_lag_events",
            help: "Events after a webhook's cursor (its receiver down or refusing?).",
            labels: vec![("webhook", w.webhook.webhook_id.to_string())],
            value: w.lag as f64,
        });
    }
    for w in &status.webhooks {
        gauges.push(Gauge {
            name: "roster_webhook_failures",
            help: "Failed attempts at a webhook since its last delivery.",
            labels: vec![("webhook", w.webhook.webhook_id.to_string())],
            value: f64::from(w.failures),
        });
    }
    if let Some(lag) = status.mail_lag {
        gauges.push(Gauge {
            name: "roster_mail_lag_events",
            help: "Events the e-mail sender of notifications has not gone past (the relay down?).",
            labels: vec![],
            value: lag as f64,
        });
        gauges.push(Gauge {
            name: "roster_mail_stalled",
            help: "1 when the e-mail sender is behind and has not moved for the stall limit.",
            labels: vec![],
            value: f64::from(u8::from(status.mail_stalled)),
        });
    }
    if let Some(lag) = status.relay_lag {
        gauges.push(Gauge {
            name: "roster_relay_lag_events",
            help: "Events not yet confirmed by the broker.",
            labels: vec![],
            value: lag as f64,
        });
    }
    Ok((
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.metrics().render(&gauges),
    )
        .into_response())
}
