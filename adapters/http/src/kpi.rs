//! KPI progress (RULES.md §8) over HTTP: the same report as `roster report kpi`, as JSON, CSV (one
//! view) or an XLSX workbook; the target sets in force; and the commands that define and retire
//! target sets.
//!
//! The ministry and analysts see the national report. A province sees the report over its own
//! platforms (its own applicants, RULES.md §10). Cities and applicants have no KPI reports.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use roster_app::kpi::KpiQuery;
use roster_domain::actor::Actor;
use roster_domain::error::{code, Refusal};
use roster_domain::request::Target;
use roster_domain::targets::{RetireTargetSet, TargetSetCommand};
use roster_domain::values::Province;
use roster_projections::export;
use roster_projections::kpi;
use serde_json::{json, Value};

use crate::auth::Authenticated;
use crate::commands;
use crate::problem::Problem;
use crate::reads::{date_param, known, Params};
use crate::AppState;

pub(crate) use roster_app::kpi::scope;

/// The KPI query of the request's `as_of`, `known_at`, `target_set` and `round`.
fn query(params: &HashMap<String, String>) -> Result<KpiQuery, Refusal> {
    Ok(KpiQuery {
        as_of: date_param(params, "as_of")?,
        known_at: known_at(params)?,
        target_set: params.get("target_set").cloned(),
        round: params.get("round").cloned(),
    })
}

pub(crate) fn known_at(params: &HashMap<String, String>) -> Result<Option<DateTime<Utc>>, Refusal> {
    params
        .get("known_at")
        .map(|s| kpi::parse_known_at(s).map_err(|m| Refusal::invalid("known_at", m)))
        .transpose()
}

/// The KPI report the actor may see (national, or over a province's own platforms) for the
/// query's parameters; and the province it is restricted to.
pub(crate) async fn build(
    state: &AppState,
    actor: &Actor,
    params: &HashMap<String, String>,
) -> Result<(kpi::KpiReport, Option<Province>), Problem> {
    let scoped = state.app().kpi_report(actor, query(params)?).await?;
    Ok((scoped.report, scoped.province))
}

/// `GET /api/v1/reports/kpi?as_of=&known_at=&target_set=&round=&format=json|csv|xlsx&view=`
pub(crate) async fn report(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(params): Params,
) -> Result<Response, Problem> {
    scope(&actor)?;
    known(
        &params,
        &["as_of", "known_at", "target_set", "round", "format", "view"],
    )?;
    let format = params.get("format").map_or("json", String::as_str);
    if !["json", "csv", "xlsx"].contains(&format) {
        return Err(Refusal::invalid(
            "format",
            format!("format '{format}' is not json, csv or xlsx"),
        )
        .into());
    }
    let view = params.get("view").map(String::as_str);
    if let Some(v) = view.filter(|v| !export::VIEWS.contains(v)) {
        return Err(Refusal::invalid(
            "view",
            format!("no view '{v}'; one of {}", export::VIEWS.join(", ")),
        )
        .into());
    }
    let (report, province) = build(&state, &actor, &params).await?;
    let name = format!("kpi-{}", report.as_of);
    let internal = |e: String| Problem::new(code::INTERNAL, e);
    match format {
        "csv" => {
            let sheet = export::sheet(&report, view.unwrap_or("targets")).map_err(internal)?;
            let body = export::to_csv(&sheet).map_err(|e| internal(e.to_string()))?;
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}-{}.csv\"", sheet.name),
                    ),
                ],
                body,
            )
                .into_response())
        }
        "xlsx" => {
            let body =
                export::to_xlsx(&export::sheets(&report)).map_err(|e| internal(e.to_string()))?;
            Ok((
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                            .to_string(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}.xlsx\""),
                    ),
                ],
                body,
            )
                .into_response())
        }
        _ => {
            let mut v = serde_json::to_value(&report).map_err(|e| internal(e.to_string()))?;
            v["scope"] =
                json!(province.map_or("national".to_string(), |p| format!("province={p}")));
            Ok(Json(v).into_response())
        }
    }
}

/// `GET /api/v1/targets?known_at=`: the target sets in force.
pub(crate) async fn list(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(params): Params,
) -> Result<Response, Problem> {
    scope(&actor)?;
    known(&params, &["known_at"])?;
    let sets = state.app().target_sets(&actor, known_at(&params)?).await?;
    Ok(Json(json!({"target_sets": sets})).into_response())
}

/// `POST /api/v1/targets`: define (or revise) a target set; body = envelope + DefineTargetSet.
pub(crate) async fn define(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let parsed = commands::parse_object(body).and_then(|mut obj| {
        let env = commands::split_envelope(&mut obj)?;
        let define = commands::typed("", Value::Object(obj))?;
        Ok(commands::request(
            env,
            Target::TargetSet {
                command: TargetSetCommand::DefineTargetSet(define),
            },
        ))
    });
    match parsed {
        Ok(req) => commands::execute(&state, &actor, req).await,
        Err(r) => commands::audited(&state, &actor, "POST /api/v1/targets", r).await,
    }
}

/// `POST /api/v1/targets/{id}/retirement`: body = envelope + `reason`.
pub(crate) async fn retire(
    State(state): State<AppState>,
    Path(target_set_id): Path<String>,
    Authenticated(actor): Authenticated,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let what = format!("POST /api/v1/targets/{target_set_id}/retirement");
    let parsed = commands::parse_object(body).and_then(|mut obj| {
        let env = commands::split_envelope(&mut obj)?;
        if obj.contains_key("target_set_id") {
            return Err(Refusal::invalid(
                "target_set_id",
                "unknown field `target_set_id` (the path names the target set)",
            ));
        }
        obj.insert("target_set_id".into(), Value::String(target_set_id.clone()));
        let retire: RetireTargetSet = commands::typed("", Value::Object(obj))?;
        Ok(commands::request(
            env,
            Target::TargetSet {
                command: TargetSetCommand::RetireTargetSet(retire),
            },
        ))
    });
    match parsed {
        Ok(req) => commands::execute(&state, &actor, req).await,
        Err(r) => commands::audited(&state, &actor, &what, r).await,
    }
}
