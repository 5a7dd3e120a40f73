//! Command endpoints. A body is the command's fields plus the envelope fields `command_id`,
//! `business_date` (optional: today) and optionally `expected_version`, `correlation_id`.
//! `POST /api/v1/commands` takes the same envelope with `platform_id` and a typed `command`
//! object; `roster import` reads one such envelope per line (with an `actor`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use roster_domain::challenge::{self, ChallengeCommand};
use roster_domain::commands::{OpenRound, PlatformCommand};
use roster_domain::error::{code, Refusal};
use roster_domain::registry::{CommandKind, Fields};
use roster_domain::request::{CommandRequest, Target};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::problem::{from_path_error, Problem, BODY_TOO_LARGE, MALFORMED_JSON};
use crate::AppState;

/// `POST /api/v1/platforms/{id}/{action}` → command type (declared in the registry).
pub use roster_domain::registry::ROUTES;

const ENVELOPE_KEYS: [&str; 4] = [
    "command_id",
    "business_date",
    "expected_version",
    "correlation_id",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvelopeFields {
    command_id: Uuid,
    /// Omitted: today (RULES.md §12).
    #[serde(default)]
    business_date: Option<NaiveDate>,
    #[serde(default)]
    expected_version: Option<u64>,
    #[serde(default)]
    correlation_id: Option<Uuid>,
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
    json_object(&bytes, "the body must be a JSON object")
}

/// One JSON object, refusing a key repeated within any object (`Strict`); `not_object` is the
/// refusal's words when the JSON is something else. Request bodies and import lines use it.
pub fn json_object(bytes: &[u8], not_object: &str) -> Result<Map<String, Value>, Refusal> {
    let Strict(value) = serde_json::from_slice(bytes)
        .map_err(|e| Refusal::new(MALFORMED_JSON, format!("malformed JSON: {e}")))?;
    match value {
        Value::Object(m) => Ok(m),
        _ => Err(Refusal::new(MALFORMED_JSON, not_object)),
    }
}

/// JSON in which no object names a key twice: serde_json keeps the last value of a repeated key
/// silently, so `{"rank": 1, "rank": 5}` would mean whatever the last one says (review L5).
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Strict;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
                Ok(Strict(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
                Ok(Strict(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
                Ok(Strict(Value::from(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Strict, E> {
                Ok(Strict(
                    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
                ))
            }
            fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
                Ok(Strict(Value::String(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Strict, E> {
                Ok(Strict(Value::String(v)))
            }
            fn visit_unit<E>(self) -> Result<Strict, E> {
                Ok(Strict(Value::Null))
            }
            fn visit_none<E>(self) -> Result<Strict, E> {
                Ok(Strict(Value::Null))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Strict, A::Error> {
                let mut items = Vec::new();
                while let Some(Strict(v)) = a.next_element()? {
                    items.push(v);
                }
                Ok(Strict(Value::Array(items)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Strict, A::Error> {
                let mut map = Map::new();
                while let Some(key) = a.next_key::<String>()? {
                    let Strict(v) = a.next_value()?;
                    if map.insert(key.clone(), v).is_some() {
                        return Err(serde::de::Error::custom(format!(
                            "the key `{key}` appears twice in one object"
                        )));
                    }
                }
                Ok(Strict(Value::Object(map)))
            }
        }
        d.deserialize_any(V)
    }
}

pub(crate) fn typed<T: serde::de::DeserializeOwned>(prefix: &str, v: Value) -> Result<T, Refusal> {
    serde_path_to_error::deserialize(v).map_err(|e| from_path_error(prefix, e))
}

/// A command's fields as the API reads them: a bad field is refused with its path under
/// `prefix` (`command.form.site.area_m2`).
struct PathFields<'a> {
    prefix: &'a str,
    value: Value,
}

impl Fields for PathFields<'_> {
    type Error = Refusal;
    fn parse<T: serde::de::DeserializeOwned>(self) -> Result<T, Refusal> {
        typed(self.prefix, self.value)
    }
}

/// Every command's name, for messages (registry order).
fn command_names() -> String {
    CommandKind::ALL
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a platform command's fields into its own struct (not through the tagged enum, which
/// would buffer the content and lose the path of a bad field).
/// The values of a service record, field by field: the record is an internally tagged enum, whose
/// errors serde can only place at `record`, so a bad amount or USCC is found here first and named
/// `record.contract_cny` (review L5).
fn check_record_fields(prefix: &str, record: &Map<String, Value>) -> Result<(), Refusal> {
    use roster_domain::values::{Cny, Domain, Uscc};
    let at = |key: &str| {
        if prefix.is_empty() {
            format!("record.{key}")
        } else {
            format!("{prefix}.record.{key}")
        }
    };
    for (key, value) in record {
        let path = at(key);
        let checked = if key.ends_with("_cny") {
            serde_json::from_value::<Cny>(value.clone()).map(drop)
        } else if key.ends_with("_uscc") {
            serde_json::from_value::<Uscc>(value.clone()).map(drop)
        } else if key == "domain" {
            serde_json::from_value::<Domain>(value.clone()).map(drop)
        } else {
            Ok(())
        };
        checked.map_err(|e| {
            let inner = e.to_string();
            // Rule-bearing messages ("G-1: invalid USCC …") keep their rule id, as elsewhere.
            let code_ = inner
                .split(':')
                .next()
                .filter(|c| crate::problem::is_rule_id(c))
                .map_or(code::INVALID_INPUT, roster_domain::error::Code::from);
            Refusal::new(code_, format!("invalid input at {path}: {inner}")).at(&path)
        })?;
    }
    Ok(())
}

/// The platform command of `kind` read from its fields (the registry's parse, with the API's
/// field paths).
pub(crate) fn platform_command(
    kind: CommandKind,
    prefix: &str,
    fields: Value,
) -> Result<PlatformCommand, Refusal> {
    if kind == CommandKind::RecordService {
        if let Some(Value::Object(record)) = fields.get("record") {
            check_record_fields(prefix, record)?;
        }
    }
    if kind == CommandKind::RecordServices {
        if let Some(Value::Array(rows)) = fields.get("services") {
            for (i, row) in rows.iter().enumerate() {
                if let Some(Value::Object(record)) = row.get("record") {
                    let at = if prefix.is_empty() {
                        format!("services[{i}]")
                    } else {
                        format!("{prefix}.services[{i}]")
                    };
                    check_record_fields(&at, record)?;
                }
            }
        }
    }
    kind.platform_command(PathFields {
        prefix,
        value: fields,
    })
    .unwrap_or_else(|| {
        Err(Refusal::invalid(
            "type",
            format!("{} is not a platform command", kind.name()),
        ))
    })
}

pub(crate) fn split_envelope(obj: &mut Map<String, Value>) -> Result<EnvelopeFields, Refusal> {
    // The cause of an event is recorded by the system (a policy names the event its command
    // follows from); a client naming one could claim any event as its cause (review L7).
    if obj.contains_key("causation_id") {
        return Err(Refusal::invalid(
            "causation_id",
            "causation_id is set by the system, not by a client; leave it out (correlation_id may group your commands)",
        ));
    }
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
        causation_id: None,
        target,
    }
}

/// Parses a generic envelope `{command_id, business_date, …, platform_id?, command: {type, …}}`.
pub fn parse_envelope(mut obj: Map<String, Value>) -> Result<CommandRequest, Refusal> {
    let platform_id = obj.remove("platform_id");
    let call_id = obj.remove("call_id");
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
    let Some(kind) = CommandKind::named(&kind) else {
        return Err(Refusal::invalid(
            "command.type",
            format!("unknown command type '{kind}'; one of {}", command_names()),
        ));
    };
    let target = if kind == CommandKind::OpenRound {
        cmd.remove("type");
        Target::OpenRound {
            open_round: typed("command", Value::Object(cmd))?,
        }
    } else if matches!(
        kind,
        CommandKind::DefineTargetSet | CommandKind::RetireTargetSet
    ) {
        Target::TargetSet {
            command: typed("command", Value::Object(cmd))?,
        }
    } else if challenge::is_call_command(kind) {
        cmd.remove("type");
        let command = call_command(kind, "command", Value::Object(cmd))?;
        let call_id = match (&command, call_id) {
            (ChallengeCommand::OpenCall(open), None) => open.call_id.clone(),
            (_, Some(Value::String(s))) => s,
            _ => {
                return Err(Refusal::invalid(
                    "call_id",
                    "a command of a call needs `call_id` (a string)",
                ))
            }
        };
        Target::Call { call_id, command }
    } else {
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
            command: platform_command(kind, "command", Value::Object(cmd))?,
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
) -> Result<roster_domain::request::CommandOutcome, Refusal> {
    let started = std::time::Instant::now();
    let result = state.app().execute(actor, req).await;
    state.metrics().observe_command(started.elapsed());
    let m = state.metrics();
    match &result {
        Ok(o) if o.duplicate => m.commands_duplicate.inc(),
        Ok(o) => {
            m.events_appended.inc_by(o.events.len() as u64);
            m.commands_accepted.inc()
        }
        Err(_) => m.commands_refused.inc(),
    };
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

pub(crate) async fn generic(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match parse_object(body).and_then(parse_envelope) {
        Ok(req) => execute(&state, &actor, req).await,
        Err(r) => audited(&state, &actor, "POST /api/v1/commands", r).await,
    }
}

pub(crate) async fn open_round(
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

/// `POST /api/v1/calls`: the ministry opens a call of the bioreactor competition.
pub(crate) async fn open_call(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let parsed = parse_object(body).and_then(|mut obj| {
        let env = split_envelope(&mut obj)?;
        let open: roster_domain::challenge::OpenCall = typed("", Value::Object(obj))?;
        Ok(request(
            env,
            Target::Call {
                call_id: open.call_id.clone(),
                command: ChallengeCommand::OpenCall(open),
            },
        ))
    });
    match parsed {
        Ok(req) => execute(&state, &actor, req).await,
        Err(r) => audited(&state, &actor, "POST /api/v1/calls", r).await,
    }
}

/// `POST /api/v1/calls/{call_id}/{action}`: a command on a call, named by the route
/// (`roster_domain::challenge::ROUTES`).
pub(crate) async fn call_action(
    State(state): State<AppState>,
    Path((call_id, action)): Path<(String, String)>,
    Authenticated(actor): Authenticated,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let what = format!("POST /api/v1/calls/{call_id}/{action}");
    let kind = challenge::routed(&action);
    let known: Vec<&str> = challenge::ROUTES.iter().map(|(a, _)| *a).collect();
    routed(
        &state,
        &actor,
        &what,
        &action,
        kind,
        &known,
        body,
        |kind, fields| {
            Ok(Target::Call {
                call_id: call_id.clone(),
                command: call_command(kind, "", fields)?,
            })
        },
    )
    .await
}

/// A command named by its route (`action`): an unknown route is not found; the body is the
/// envelope and the command's fields, which `target` turns into what the command addresses.
#[allow(clippy::too_many_arguments)]
async fn routed(
    state: &AppState,
    actor: &roster_domain::Actor,
    what: &str,
    action: &str,
    kind: Option<CommandKind>,
    known: &[&str],
    body: Result<Bytes, BytesRejection>,
    target: impl FnOnce(CommandKind, Value) -> Result<Target, Refusal>,
) -> Response {
    let Some(kind) = kind else {
        return audited(
            state,
            actor,
            what,
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
        Ok(request(env, target(kind, Value::Object(obj))?))
    });
    match parsed {
        Ok(req) => execute(state, actor, req).await,
        Err(r) => audited(state, actor, what, r).await,
    }
}

/// A command of a call read from its fields (a bad field named by its path under `prefix`).
pub(crate) fn call_command(
    kind: CommandKind,
    prefix: &str,
    value: Value,
) -> Result<ChallengeCommand, Refusal> {
    ChallengeCommand::parse(kind, PathFields { prefix, value }).unwrap_or_else(|| {
        Err(Refusal::invalid(
            "type",
            format!("{} is not a command of a call", kind.name()),
        ))
    })
}

pub(crate) async fn platform_action(
    State(state): State<AppState>,
    Path((platform_id, action)): Path<(String, String)>,
    Authenticated(actor): Authenticated,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let what = format!("POST /api/v1/platforms/{platform_id}/{action}");
    let known: Vec<&str> = ROUTES.iter().map(|(a, _)| *a).collect();
    let kind = CommandKind::routed(&action);
    routed(
        &state,
        &actor,
        &what,
        &action,
        kind,
        &known,
        body,
        |kind, fields| {
            Ok(Target::Platform {
                platform_id: platform_id.clone(),
                command: platform_command(kind, "", fields)?,
            })
        },
    )
    .await
}

/// Fuzzing of the command decoding (security review M1: a byte-slicing panic in a value parser
/// dropped connections). Arbitrary bodies, envelopes and command fields, structured and raw,
/// must give a command or a refusal, never a panic; and whatever decodes must pass or fail the
/// input bounds (RULES.md §11) without panicking either. Runs in every `cargo test` (and so in CI)
/// for a bounded number of cases.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// Any JSON value, with strings drawn from ASCII, CJK, controls, bidi and multi-byte
    /// characters, numbers of every kind, and nesting.
    fn json() -> impl Strategy<Value = Value> {
        let text = prop_oneof![
            any::<String>(),
            "[0-9]{0,8}",
            "[\\u{0}-\\u{1f}\\u{7f}-\\u{9f}\\u{202a}-\\u{202e}\\u{200b}a-z0-9é企]{0,12}",
            Just("4é444".to_string()),
            Just("440300".to_string()),
            Just("91440300708461136T".to_string()),
            Just("2025-07-01".to_string()),
            Just("+10000-01-01".to_string()),
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            text.prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            let keys = prop_oneof![
                "[a-z_]{1,12}",
                Just("form".to_string()),
                Just("applicant".to_string()),
                Just("city".to_string()),
                Just("province".to_string()),
                Just("uscc".to_string()),
                Just("name".to_string()),
                Just("record".to_string()),
                Just("kind".to_string()),
                Just("business_date".to_string()),
                Just("command_id".to_string()),
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(keys, inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn kind() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(
                CommandKind::platform()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
            )
            .prop_map(String::from),
            Just("OpenRound".to_string()),
            Just("DefineTargetSet".to_string()),
            Just("RetireTargetSet".to_string()),
            "[A-Za-z]{0,20}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn raw_bodies_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_object(Ok(Bytes::from(bytes))).and_then(parse_envelope);
        }

        #[test]
        fn envelopes_never_panic(kind in kind(), fields in json(), extra in json(), id in any::<u128>()) {
            let mut command = match fields { Value::Object(m) => m, other => Map::from_iter([("x".to_string(), other)]) };
            command.insert("type".into(), Value::from(kind.clone()));
            let mut body = Map::new();
            body.insert("command_id".into(), Value::from(Uuid::from_u128(id).to_string()));
            body.insert("platform_id".into(), extra.clone());
            body.insert("command".into(), Value::Object(command));
            if let Ok(req) = parse_envelope(body) {
                let fields = req.target.fields();
                let _ = roster_domain::input::check(&fields);
            }
            if let Some(kind) = CommandKind::named(&kind) {
                let _ = platform_command(kind, "", extra.clone());
                let _ = call_command(kind, "", extra);
            }
        }

        #[test]
        fn forms_with_hostile_values_never_panic(applicant in json(), site in json(), city in "\\PC{0,8}") {
            let mut form = roster_domain::samples::form_json("91440300708461136T", "44", "440300", &["enzymes"]);
            form["applicant"]["name"] = applicant;
            form["applicant"]["city"] = Value::from(city);
            form["site"] = site;
            let fields = serde_json::json!({"round_id": "2025", "form": form});
            if let Ok(c) = platform_command(CommandKind::SubmitApplication, "", fields) {
                let _ = roster_domain::input::check(&serde_json::to_value(c).unwrap());
            }
        }
    }
}
