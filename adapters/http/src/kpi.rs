//! KPI progress (SPEC §8) over HTTP: the same report as `roster report kpi`, as JSON, CSV (one
//! view) or an XLSX workbook; the target sets in force; and the commands that define and retire
//! target sets.
//!
//! The ministry and analysts see the national report. A province sees the report over its own
//! platforms (its own applicants, SPEC §10). Cities and applicants have no KPI reports.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::actor::{Actor, Role};
use roster_domain::error::{code, Refusal};
use roster_domain::service::Target;
use roster_domain::targets::{RetireTargetSet, TargetSetCommand};
use roster_domain::values::Province;
use roster_projections::export;
use roster_projections::kpi::{self, Axes, Loaded, ReportOptions};
use roster_projections::models::kpi::KpiDoc;
use serde_json::{json, Value};

use crate::auth::Authenticated;
use crate::commands;
use crate::problem::Problem;
use crate::reads::{date_param, known, Params};
use crate::AppState;

/// Which platforms the caller's KPI figures cover: `None` all, `Some(p)` one province's.
pub(crate) fn scope(actor: &Actor) -> Result<Option<Province>, Refusal> {
    match actor.role {
        Role::Ministry | Role::Analyst => Ok(None),
        Role::Province => actor
            .jurisdiction
            .as_deref()
            .and_then(Province::parse)
            .map(Some)
            .ok_or_else(|| Refusal::forbidden("a province token without a province")),
        other => Err(Refusal::forbidden(format!(
            "KPI reports are for the ministry, analysts and provinces, not a {other}"
        ))),
    }
}

/// Keeps only the application cycles of `province` (and so only its listed periods and the
/// services dated within them).
fn restrict(docs: &[KpiDoc], province: Province) -> Vec<KpiDoc> {
    docs.iter()
        .filter(|d| d.cycles.iter().any(|c| c.province == province.code()))
        .map(|d| {
            let mut d = d.clone();
            d.cycles.retain(|c| c.province == province.code());
            d
        })
        .collect()
}

pub(crate) async fn load(state: &AppState) -> Result<Arc<Loaded>, Problem> {
    state.refresh_projections().await;
    state
        .kpi_cache()
        .load(state.models().as_ref())
        .await
        .map_err(|e| Problem::new(code::UNAVAILABLE, e.to_string()))
}

pub(crate) fn axes(state: &AppState, params: &HashMap<String, String>) -> Result<Axes, Refusal> {
    let as_of = date_param(params, "as_of")?
        .unwrap_or_else(|| roster_domain::service::business_day(state.now()));
    let known_at = params
        .get("known_at")
        .map(|s| kpi::parse_known_at(s).map_err(|m| Refusal::invalid("known_at", m)))
        .transpose()?;
    Ok(Axes::new(as_of, known_at))
}

/// The KPI report the actor may see (national, or over a province's own platforms) for the
/// query's `as_of`, `known_at`, `target_set` and `round`; and the province it is restricted to.
pub(crate) async fn build(
    state: &AppState,
    actor: &Actor,
    params: &HashMap<String, String>,
) -> Result<(kpi::KpiReport, Option<Province>), Problem> {
    let province = scope(actor)?;
    let axes = axes(state, params)?;
    let opts = ReportOptions {
        target_set: params.get("target_set").cloned(),
        round: params.get("round").cloned(),
    };
    let loaded = load(state).await?;
    let visible = visible_sets(actor, &loaded.target_sets);
    let sets = &visible;
    if let Some(id) = &opts.target_set {
        if !kpi::target_sets(sets, &axes)
            .iter()
            .any(|s| &s.target_set_id == id)
        {
            return Err(Refusal::not_found(format!(
                "no target set '{id}' in force as known at that time"
            ))
            .at("target_set")
            .into());
        }
    }
    let restricted;
    let docs = match province {
        Some(p) => {
            restricted = restrict(&loaded.platforms, p);
            &restricted
        }
        None => &loaded.platforms,
    };
    Ok((kpi::report(docs, sets, axes, &opts), province))
}

/// `GET /api/v1/reports/kpi?as_of=&known_at=&target_set=&round=&format=json|csv|xlsx&view=`
pub async fn report(
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
pub async fn list(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(params): Params,
) -> Result<Response, Problem> {
    scope(&actor)?;
    known(&params, &["known_at"])?;
    let axes = axes(&state, &params)?;
    let loaded = load(&state).await?;
    let visible = visible_sets(&actor, &loaded.target_sets);
    Ok(Json(json!({"target_sets": kpi::target_sets(&visible, &axes)})).into_response())
}

/// The target sets the actor may read: a province the national ones and its own, never another
/// province's plan, in any revision (SPEC §10; review finding L8).
fn visible_sets(
    actor: &Actor,
    docs: &[roster_projections::models::kpi::TargetSetDoc],
) -> Vec<roster_projections::models::kpi::TargetSetDoc> {
    docs.iter()
        .filter(|d| {
            d.revisions
                .iter()
                .all(|r| roster_domain::targets::target_set_visible(actor, &r.targets))
        })
        .cloned()
        .collect()
}

/// `POST /api/v1/targets`: define (or revise) a target set; body = envelope + DefineTargetSet.
pub async fn define(
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
pub async fn retire(
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
