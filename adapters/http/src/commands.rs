//! Command endpoints. A body is the command's fields plus the envelope fields `command_id`,
//! `business_date` and optionally `expected_version`, `correlation_id`, `causation_id`.
//! `POST /api/v1/commands` takes the same envelope with `platform_id` and a typed `command`
//! object; `roster import` reads one such envelope per line (with an `actor`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use roster_domain::commands::{OpenRound, PlatformCommand};
use roster_domain::error::{code, Refusal};
use roster_domain::service::{CommandRequest, Target};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::problem::{from_path_error, Problem, BODY_TOO_LARGE, MALFORMED_JSON};
use crate::AppState;

/// `POST /api/v1/platforms/{id}/{action}` → command type.
pub const ROUTES: [(&str, &str); 18] = [
    ("application", "SubmitApplication"),
    ("amendment", "AmendApplication"),
    ("withdrawal", "WithdrawApplication"),
    ("city-endorsement", "EndorseByCity"),
    ("province-recommendation", "RecommendByProvince"),
    ("province-rejection", "RejectByProvince"),
    ("expert-evaluation", "RecordExpertEvaluation"),
    ("public-notice", "StartPublicNotice"),
    ("notice-objection", "RecordNoticeObjection"),
    ("listing", "ListPlatform"),
    ("service", "RecordService"),
    ("service-retraction", "RetractService"),
    ("incident", "ReportIncident"),
    ("incident-assessment", "AssessIncident"),
    ("review", "OpenReview"),
    ("review-conclusion", "ConcludeReview"),
    ("annual-evaluation", "RecordAnnualEvaluation"),
    ("delisting", "DelistPlatform"),
];

const ENVELOPE_KEYS: [&str; 5] = [
    "command_id",
    "business_date",
    "expected_version",
    "correlation_id",
    "causation_id",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvelopeFields {
    command_id: Uuid,
    /// Omitted: today (SPEC §12).
    #[serde(default)]
    business_date: Option<NaiveDate>,
    #[serde(default)]
    expected_version: Option<u64>,
    #[serde(default)]
    correlation_id: Option<Uuid>,
    #[serde(default)]
    causation_id: Option<Uuid>,
}

pub(crate) fn parse_object(
    body: Result<Bytes, BytesRejection>,
) -> Result<Map<String, Value>, Refusal> {
    let bytes = body.map_err(|rej| {
        if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Refusal::new(BODY_TOO_LARGE, "the request body is larger than the limit")
        } else {
            Refusal::new(
                MALFORMED_JSON,
                format!("the request body could not be read: {rej}"),
            )
        }
    })?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Refusal::new(MALFORMED_JSON, format!("malformed JSON: {e}")))?;
    match value {
        Value::Object(m) => Ok(m),
        _ => Err(Refusal::new(
            MALFORMED_JSON,
            "the body must be a JSON object",
        )),
    }
}

pub(crate) fn typed<T: serde::de::DeserializeOwned>(prefix: &str, v: Value) -> Result<T, Refusal> {
    serde_path_to_error::deserialize(v).map_err(|e| from_path_error(prefix, e))
}

/// Parses a platform command's fields into its own struct (not through the tagged enum, which
/// would buffer the content and lose the path of a bad field).
pub(crate) fn platform_command(
    kind: &str,
    prefix: &str,
    fields: Value,
) -> Result<PlatformCommand, Refusal> {
    macro_rules! by_name {
        ($($name:ident),* $(,)?) => {
            match kind {
                $(stringify!($name) => Ok(PlatformCommand::$name(typed(prefix, fields)?)),)*
                other => Err(Refusal::invalid(
                    "type",
                    format!("unknown command type '{other}'; one of OpenRound, {}", PlatformCommand::NAMES.join(", ")),
                )),
            }
        };
    }
    by_name!(
        SubmitApplication,
        AmendApplication,
        WithdrawApplication,
        EndorseByCity,
        RecommendByProvince,
        RejectByProvince,
        RecordExpertEvaluation,
        StartPublicNotice,
        RecordNoticeObjection,
        ListPlatform,
        RecordService,
        RetractService,
        ReportIncident,
        AssessIncident,
        OpenReview,
        ConcludeReview,
        RecordAnnualEvaluation,
        DelistPlatform,
    )
}

pub(crate) fn split_envelope(obj: &mut Map<String, Value>) -> Result<EnvelopeFields, Refusal> {
    let mut env = Map::new();
    for k in ENVELOPE_KEYS {
        if let Some(v) = obj.remove(k) {
            env.insert(k.to_string(), v);
        }
    }
    typed("", Value::Object(env))
}

pub(crate) fn request(env: EnvelopeFields, target: Target) -> CommandRequest {
    CommandRequest {
        command_id: env.command_id,
        business_date: env.business_date,
        expected_version: env.expected_version,
        correlation_id: env.correlation_id,
        causation_id: env.causation_id,
        target,
    }
}

/// Parses a generic envelope `{command_id, business_date, …, platform_id?, command: {type, …}}`.
pub fn parse_envelope(mut obj: Map<String, Value>) -> Result<CommandRequest, Refusal> {
    let platform_id = obj.remove("platform_id");
    let command = obj
        .remove("command")
        .ok_or_else(|| Refusal::invalid("command", "missing field `command`"))?;
    let env = split_envelope(&mut obj)?;
    if let Some(k) = obj.keys().next() {
        return Err(Refusal::invalid(k, format!("unknown field `{k}`")));
    }
    let Value::Object(mut cmd) = command else {
        return Err(Refusal::invalid(
            "command",
            "`command` must be an object with a `type`",
        ));
    };
    let kind = cmd
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let target = if kind == "OpenRound" {
        cmd.remove("type");
        Target::OpenRound {
            open_round: typed("command", Value::Object(cmd))?,
        }
    } else if kind == "DefineTargetSet" || kind == "RetireTargetSet" {
        Target::TargetSet {
            command: typed("command", Value::Object(cmd))?,
        }
    } else {
        if !PlatformCommand::NAMES.contains(&kind.as_str()) {
            return Err(Refusal::invalid(
                "command.type",
                format!(
                    "unknown command type '{kind}'; one of OpenRound, DefineTargetSet, RetireTargetSet, {}",
                    PlatformCommand::NAMES.join(", ")
                ),
            ));
        }
        let platform_id: String = match platform_id {
            Some(Value::String(s)) => s,
            _ => {
                return Err(Refusal::invalid(
                    "platform_id",
                    "a platform command needs `platform_id` (a string)",
                ))
            }
        };
        cmd.remove("type");
        Target::Platform {
            platform_id,
            command: platform_command(&kind, "command", Value::Object(cmd))?,
        }
    };
    Ok(request(env, target))
}

/// Runs a command through the command service, counting it in the metrics and waking the
/// projections; once accepted, waits (bounded) until the listings have seen it, so the caller
/// reads its own write. The API and the dashboard's forms both come this way.
pub(crate) async fn run(
    state: &AppState,
    actor: &roster_domain::Actor,
    req: CommandRequest,
) -> Result<roster_domain::service::CommandOutcome, Refusal> {
    use std::sync::atomic::Ordering;
    let started = std::time::Instant::now();
    let result = state.service().execute(actor, req).await;
    state.metrics().observe_command(started.elapsed());
    let m = state.metrics();
    match &result {
        Ok(o) if o.duplicate => m.commands_duplicate.fetch_add(1, Ordering::Relaxed),
        Ok(o) => {
            m.events_appended
                .fetch_add(o.events.len() as u64, Ordering::Relaxed);
            state.wake_projections();
            m.commands_accepted.fetch_add(1, Ordering::Relaxed)
        }
        Err(_) => m.commands_refused.fetch_add(1, Ordering::Relaxed),
    };
    if let Ok(outcome) = &result {
        state
            .wait_until_seen(
                &outcome.stream_id,
                outcome.version,
                std::time::Duration::from_secs(2),
            )
            .await;
    }
    result
}

pub(crate) async fn execute(
    state: &AppState,
    actor: &roster_domain::Actor,
    req: CommandRequest,
) -> Response {
    match run(state, actor, req).await {
        Ok(outcome) => {
            let status = if outcome.duplicate {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            (status, Json(outcome)).into_response()
        }
        Err(r) => Problem::from(r).into_response(),
    }
}

pub(crate) async fn audited(
    state: &AppState,
    actor: &roster_domain::Actor,
    what: &str,
    r: Refusal,
) -> Response {
    state
        .audit_refusal(actor.clone(), what, &r.code, &r.message)
        .await;
    Problem::from(r).into_response()
}

pub async fn generic(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match parse_object(body).and_then(parse_envelope) {
        Ok(req) => execute(&state, &actor, req).await,
        Err(r) => audited(&state, &actor, "POST /api/v1/commands", r).await,
    }
}

pub async fn open_round(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let parsed = parse_object(body).and_then(|mut obj| {
        let env = split_envelope(&mut obj)?;
        let open_round: OpenRound = typed("", Value::Object(obj))?;
        Ok(request(env, Target::OpenRound { open_round }))
    });
    match parsed {
        Ok(req) => execute(&state, &actor, req).await,
        Err(r) => audited(&state, &actor, "POST /api/v1/rounds", r).await,
    }
}

pub async fn platform_action(
    State(state): State<AppState>,
    Path((platform_id, action)): Path<(String, String)>,
    Authenticated(actor): Authenticated,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let what = format!("POST /api/v1/platforms/{platform_id}/{action}");
    let Some((_, kind)) = ROUTES.iter().find(|(a, _)| *a == action) else {
        let known: Vec<&str> = ROUTES.iter().map(|(a, _)| *a).collect();
        return audited(
            &state,
            &actor,
            &what,
            Refusal::new(
                code::NOT_FOUND,
                format!("no action '{action}'; one of {}", known.join(", ")),
            ),
        )
        .await;
    };
    let parsed = parse_object(body).and_then(|mut obj| {
        let env = split_envelope(&mut obj)?;
        if obj.contains_key("type") {
            return Err(Refusal::invalid(
                "type",
                "unknown field `type` (the endpoint names the command)",
            ));
        }
        let command = platform_command(kind, "", Value::Object(obj))?;
        Ok(request(
            env,
            Target::Platform {
                platform_id: platform_id.clone(),
                command,
            },
        ))
    });
    match parsed {
        Ok(req) => execute(&state, &actor, req).await,
        Err(r) => audited(&state, &actor, &what, r).await,
    }
}
