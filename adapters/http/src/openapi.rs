//! The OpenAPI 3.1 document, served at `/api/v1/openapi.json` (security review finding M6).
//!
//! Schemas come from the domain types (utoipa derives, with their `#[schema]` bounds); the
//! command paths come from the same route table the router uses. Two things utoipa cannot say
//! are added here after generation:
//! - a command body is ONE object: the envelope fields next to the command's own fields, with
//!   `additionalProperties: false` (an `allOf` of two closed objects accepts nothing);
//! - the text, list and number bounds of `roster_domain::input`, which the server applies by
//!   field name to every command, are written onto every field of that name.

use std::collections::BTreeMap;

use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use roster_domain::input;
use roster_domain::registry::CommandKind;
use roster_domain::request::CommandOutcome;
use roster_domain::targets::{Comparator, Metric, Target};
use roster_projections::catalog::RoundSummary;
use roster_projections::queries::{FunnelRow, IncidentRow, ReviewRow, RosterRow};
use roster_projections::PlatformSummary;
use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::commands::ROUTES;

/// The envelope fields a client may send with every command. Merged into each command's body
/// schema, not published on its own.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
struct CommandEnvelope {
    /// Client-chosen; the same id sent again returns the first result (200) and appends nothing.
    command_id: Uuid,
    /// The date the act takes effect (Asia/Shanghai calendar). Omitted: today. Applicants,
    /// cities and provinces may send only today's date; nobody a date after today.
    business_date: Option<NaiveDate>,
    /// Refuse with 409 `version_conflict` unless the target stream is at this version.
    expected_version: Option<u64>,
    /// Groups the events of one business process; recorded in their metadata.
    correlation_id: Option<Uuid>,
}

/// RFC 9457 problem details, as every refusal leaves the API (`application/problem+json`).
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
pub struct ProblemDetails {
    /// `urn:roster:problem:<code>`.
    r#type: String,
    title: String,
    status: u16,
    detail: String,
    /// Stable code: a rule id (`G-4`, `R-1` …) or `state_conflict`, `version_conflict`,
    /// `forbidden`, `invalid_input`, `malformed_json`, `not_found`, `command_id_reused` …
    code: String,
    /// The rule id, when `code` is one.
    rule: Option<String>,
    /// Path of the offending field, e.g. `form.site.area_m2`.
    field: Option<String>,
}

#[derive(OpenApi)]
#[openapi(components(schemas(
    CommandEnvelope,
    ProblemDetails,
    CommandOutcome,
    PlatformSummary,
    RoundSummary,
    RosterRow,
    FunnelRow,
    ReviewRow,
    IncidentRow,
    roster_domain::store::AuditEntry,
    roster_domain::store::StoredEvent,
    roster_app::Status,
    Target,
    Metric,
    Comparator,
    roster_domain::challenge::CallView,
    roster_domain::challenge::PublicCall,
    roster_projections::public::PublicEntry,
    roster_projections::public::PublicProfile,
    roster_projections::public::NoticeEntry,
    crate::public::Meta,
    crate::public::ObjectionReceipt,
    roster_app::public::NeedReceipt,
    roster_app::webhooks::RegisterWebhook,
    roster_app::webhooks::Webhook,
    roster_app::webhooks::WebhookStatus,
    roster_app::webhooks::RegisteredWebhook,
    roster_app::webhooks::Delivery,
    roster_domain::commands::Need
)))]
struct ApiDoc;

const DESCRIPTION: &str = "Applications, recommendations, listing, dynamic management and delisting of the MIIT/NDRC pilot-platform roster (工信厅联消费函〔2025〕234号), and the bioreactor open competition of MIIT with CAS (揭榜挂帅, 工信厅联消费函〔2025〕220号) under `/api/v1/calls`. Every change is an immutable event.\n\nEvery route of the API is described here except the dashboard's HTML pages under `/ui`. Every request but `/health`, `/ready`, this document and the open data API under `/api/public/v1` (the published roster, platform profiles, the public notice and the published lists of the competition: no token, CORS for GET, ETag and Last-Modified, a tighter per-address rate limit) needs `Authorization: Bearer <token>`. A method a path does not declare answers 405 with an empty body. Request bodies above 2 MiB are refused with 413. Requests are rate-limited per client address, per token and for failed authentications; over a limit the answer is 429 with `Retry-After`.";

/// Path parameters, with the server's own id rules (`valid_platform_id`, `valid_round_id`,
/// `valid_target_set_id`).
const PLATFORM_ID: &str = "^[a-z0-9][a-z0-9_-]{2,63}$";
const ROUND_ID: &str = "^[A-Za-z0-9_-]{1,32}$";
const TARGET_SET_ID: &str = "^[a-z0-9][a-z0-9_-]{0,47}$";

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn response_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/responses/{name}")})
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

/// The problem+json responses, by status, each described once.
fn error_responses() -> Value {
    let problem = |d: &str| json!({"description": d, "content": {"application/problem+json": {"schema": schema_ref("ProblemDetails")}}});
    json!({
        "BadRequest": problem("malformed JSON, an unknown field or query parameter, a wrong type or an invalid value (`field` names it)"),
        "Unauthorized": problem("no bearer token, or an unknown or revoked one"),
        "Forbidden": problem("the role or the jurisdiction does not allow this"),
        "NotFound": problem("no such platform, round, review, incident, service, target set or action (a platform outside the caller's jurisdiction answers the same)"),
        "Conflict": problem("`state_conflict`, `version_conflict`, `duplicate` or `command_id_reused`"),
        "PayloadTooLarge": problem("the body is larger than the limit"),
        "Unprocessable": problem("a rule refused it (its id in `code` and `rule`), or the business date is in the future or, for applicants, cities and provinces, not today"),
        "InternalError": problem("a stored document could not be read"),
        "Unavailable": problem("the store is unreachable"),
        "TooManyRequests": {
            "description": "over a rate limit: requests per client address (every route), per token, or failed authentications per address; retry after the `Retry-After` seconds",
            "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}},
            "content": {"application/problem+json": {"schema": schema_ref("ProblemDetails")}},
        },
    })
}

/// The error responses of an operation: the statuses given, and 429, which every route can
/// answer (the per-address rate limit).
fn errors(statuses: &[u16]) -> Map<String, Value> {
    statuses
        .iter()
        .chain(&[429])
        .map(|s| {
            let name = match s {
                400 => "BadRequest",
                401 => "Unauthorized",
                403 => "Forbidden",
                404 => "NotFound",
                409 => "Conflict",
                413 => "PayloadTooLarge",
                422 => "Unprocessable",
                500 => "InternalError",
                503 => "Unavailable",
                429 => "TooManyRequests",
                other => unreachable!("no problem response for {other}"),
            };
            (s.to_string(), response_ref(name))
        })
        .collect()
}

fn path_param(name: &str, pattern: &str, description: &str, example: &str) -> Value {
    json!({
        "name": name, "in": "path", "required": true, "description": description,
        "schema": {"type": "string", "pattern": pattern}, "example": example,
    })
}

fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn date_schema() -> Value {
    json!({"type": "string", "format": "date"})
}

fn as_of(what: &str) -> Value {
    query(
        "as_of",
        date_schema(),
        &format!("{what} as of this business date (YYYY-MM-DD); default today"),
    )
}

fn known_at() -> Value {
    query(
        "known_at",
        json!({"type": "string", "minLength": 1, "maxLength": 64}),
        "As the system knew it at this recorded time: RFC 3339, `YYYY-MM-DD HH:MM[:SS]` (Beijing time) or a date (its end); default now",
    )
}

fn format_param(formats: &[&str]) -> Value {
    query(
        "format",
        json!({"type": "string", "enum": formats}),
        "Response format; default json",
    )
}

fn province_codes() -> Vec<&'static str> {
    roster_domain::values::PROVINCES
        .iter()
        .map(|p| p.0)
        .collect()
}

fn province_param() -> Value {
    query(
        "province",
        json!({"type": "string", "enum": province_codes()}),
        "Province code (GB/T 2260 2-digit prefix, or XPCC)",
    )
}

fn city_param() -> Value {
    query(
        "city",
        json!({"type": "string", "pattern": "^[0-9]{6}$"}),
        "GB/T 2260 city code (6 digits)",
    )
}

fn csv() -> Value {
    json!({"schema": {"type": "string"}})
}

/// A read: 200 with `ok` (a response object), the given query parameters, and the errors.
fn get(summary: &str, id: &str, params: Vec<Value>, ok: Value, errs: &[u16]) -> Value {
    let mut responses = errors(errs);
    responses.insert("200".into(), ok);
    json!({
        "get": {
            "summary": summary, "operationId": id, "tags": ["queries"],
            "parameters": params, "responses": responses,
        }
    })
}

/// A command: the body schema `body` (a component), 201 accepted, 200 a repeated command id.
fn post(summary: &str, id: &str, params: Vec<Value>, body: &str, example: Value) -> Value {
    let mut responses = errors(&[400, 401, 403, 404, 409, 413, 422, 500, 503]);
    responses.insert(
        "201".into(),
        json_response(
            "accepted: the events appended",
            schema_ref("CommandOutcome"),
        ),
    );
    responses.insert(
        "200".into(),
        json_response(
            "the recorded result of the same command id sent before (nothing appended)",
            schema_ref("CommandOutcome"),
        ),
    );
    json!({
        "post": {
            "summary": summary, "operationId": id, "tags": ["commands"],
            "parameters": params,
            "requestBody": {
                "required": true,
                "content": {"application/json": {"schema": schema_ref(body), "example": example}},
            },
            "responses": responses,
        }
    })
}

/// Writes the bounds `roster_domain::input` checks by field name onto every property of that
/// name: names 1-200 characters, other text at most 4000, lists at most 500 entries (50 for
/// `reasons` and `panel`), amounts at most `CNY_MAX` and counts at most `COUNT_MAX`.
fn bound(schema: &mut Value, key: Option<&str>) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let types: Vec<String> = match obj.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(String::from))
            .collect(),
        _ => vec![],
    };
    let has = |t: &str| types.iter().any(|x| x == t);
    if let Some(key) = key {
        if has("string") && !obj.contains_key("format") && !obj.contains_key("enum") {
            let name = input::NAME_KEYS.contains(&key);
            let max = if name {
                input::NAME_MAX_CHARS
            } else {
                input::TEXT_MAX_CHARS
            };
            tighten(obj, "maxLength", max as u64, u64::min);
            if name {
                tighten(obj, "minLength", 1, u64::max);
            }
        }
        if has("array") {
            let max = if input::SHORT_LISTS.contains(&key) {
                input::SHORT_LIST_MAX_ENTRIES
            } else {
                input::LIST_MAX_ENTRIES
            };
            tighten(obj, "maxItems", max as u64, u64::min);
        }
        if has("integer") {
            if let Some(max) = input::number_max(key) {
                tighten(obj, "maximum", max, u64::min);
            }
        }
    }
    // Items of a list carry the list's name (`reasons[2]` is checked as `reasons`).
    if let Some(items) = obj.get_mut("items") {
        bound(items, key);
    }
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        for (k, v) in props.iter_mut() {
            bound(v, Some(k));
        }
    }
    for k in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(alts)) = obj.get_mut(k) {
            for alt in alts {
                bound(alt, key);
            }
        }
    }
}

/// The components `roots` name and every component they reach through `$ref`.
fn referenced(schemas: &Map<String, Value>, roots: &[&str]) -> Vec<String> {
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get("$ref") {
                    if let Some(name) = r.strip_prefix("#/components/schemas/") {
                        out.push(name.to_string());
                    }
                }
                o.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut seen: Vec<String> = Vec::new();
    let mut todo: Vec<String> = roots.iter().map(|r| r.to_string()).collect();
    while let Some(name) = todo.pop() {
        if seen.contains(&name) {
            continue;
        }
        if let Some(s) = schemas.get(&name) {
            refs(s, &mut todo);
        }
        seen.push(name);
    }
    seen
}

fn tighten(obj: &mut Map<String, Value>, k: &str, v: u64, pick: fn(u64, u64) -> u64) {
    let v = obj
        .get(k)
        .and_then(Value::as_u64)
        .map_or(v, |old| pick(old, v));
    obj.insert(k.into(), json!(v));
}

/// The named component (a command's own fields) merged with the envelope into one closed
/// object; `drop` removes fields the path supplies; `extra` adds fields.
fn body_schema(
    schemas: &Map<String, Value>,
    envelope: &Value,
    command: &str,
    drop: &[&str],
    extra: &[(&str, Value, bool)],
) -> Value {
    let cmd = &schemas[command];
    let mut props = envelope["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut required: Vec<Value> = vec![json!("command_id")];
    for (k, v, is_required) in extra {
        props.insert(k.to_string(), v.clone());
        if *is_required {
            required.push(json!(k));
        }
    }
    if let Some(own) = cmd["properties"].as_object() {
        for (k, v) in own {
            if !drop.contains(&k.as_str()) {
                props.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some(req) = cmd["required"].as_array() {
        required.extend(
            req.iter()
                .filter(|r| !drop.iter().any(|d| r.as_str() == Some(d)))
                .cloned(),
        );
    }
    let mut s = json!({
        "type": "object",
        "required": required,
        "properties": props,
        "additionalProperties": false,
    });
    if let Some(d) = cmd.get("description") {
        s["description"] = d.clone();
    }
    s
}

fn command_id(n: u32) -> String {
    format!("5f0c1a2e-0000-4000-8000-{n:012}")
}

/// An example of every command (envelope included): valid against its body schema and meant
/// for the illustrative demo (`roster serve --demo`), acted by a ministry token unless noted.
pub fn examples() -> BTreeMap<&'static str, Value> {
    let form = roster_domain::samples::form_json(
        roster_domain::samples::GD_USCC,
        "44",
        "440300",
        &["enzymes"],
    );
    let e = |n: u32, fields: Value| {
        let mut v = json!({"command_id": command_id(n)});
        v.as_object_mut()
            .expect("object")
            .extend(fields.as_object().cloned().unwrap_or_default());
        v
    };
    let mut all: BTreeMap<&'static str, Value> = CommandKind::ALL
        .iter()
        .map(|k| (k.name(), example(*k, &e, &form)))
        .collect();
    all.insert(
        "Command",
        e(
            22,
            json!({
                "platform_id": "gd-sz-synbio",
                "command": {"type": "RecordAnnualEvaluation", "year": 2026, "stars": 4},
            }),
        ),
    );
    all
}

/// A command's example request body (each command has one: the match is exhaustive).
fn example(kind: CommandKind, e: &dyn Fn(u32, Value) -> Value, form: &Value) -> Value {
    let form = form.clone();
    match kind {
        // An applicant's act (its own USCC's token); a ministry token is refused (403).
        CommandKind::SubmitApplication => e(1, json!({"round_id": "2025", "form": form})),
        CommandKind::AmendApplication => {
            e(2, json!({"changes": {"goals": "三年内服务企业100家以上"}}))
        }
        CommandKind::WithdrawApplication => e(3, json!({"reason": "单位战略调整，主动撤回申请"})),
        CommandKind::EndorseByCity => e(4, json!({"opinion": "同意推荐"})),
        CommandKind::RecommendByProvince => {
            e(5, json!({"opinion": "条件具备，同意推荐", "rank": 1}))
        }
        CommandKind::RejectByProvince => e(6, json!({"reasons": ["G-8: 发酵罐总容积不足"]})),
        CommandKind::RecordExpertEvaluation => e(
            7,
            json!({"score": 86, "passed": true, "panel": ["张工", "李工"]}),
        ),
        CommandKind::StartPublicNotice => {
            e(8, json!({"from": "2026-01-05", "until": "2026-01-11"}))
        }
        CommandKind::RecordNoticeObjection => e(
            9,
            json!({"upheld": false, "summary": "异议所述设备已于公示前到位"}),
        ),
        CommandKind::ListPlatform => e(10, json!({})),
        // The public's act: on the public face (`/api/public/v1/platforms/{id}/objections`, no
        // token); with a token it is refused (no token is the public's).
        CommandKind::UpdateServiceOffer => e(
            41,
            json!({"services": ["scale_up", "analysis_testing"], "description": "万升级发酵放大，周期约 8 周", "accepting_orders": true}),
        ),
        // The public's act too: on the public face (`/api/public/v1/needs`), for each
        // matching platform.
        CommandKind::PostNeed => e(
            42,
            json!({"need_id": "need-0123456789ab", "need": {"enterprise_name": "深圳示例生物科技有限公司", "enterprise_uscc": "91440300708461136T", "contact": "0755-12345678", "description": "5000 升发酵中试，三个月内", "domain": "food_additives", "min_vessel_l": 5000}}),
        ),
        CommandKind::RespondToNeed => e(
            43,
            json!({"need_id": "need-0123456789ab", "answer": {"kind": "contracted", "signed_on": "2026-03-02", "contract_cny": 500000}, "note": "已签订中试合同"}),
        ),
        CommandKind::FileObjection => e(
            40,
            json!({"name": "张三", "contact": "13800000000", "grounds": "申报的用房面积与实际不符"}),
        ),
        CommandKind::RecordService => e(
            11,
            json!({
                "dated": "2026-03-02",
                "record": {"kind": "enterprise_served", "enterprise_uscc": "91440300708461136T", "enterprise_name": "深圳示例生物科技有限公司", "contract_cny": 1200000},
            }),
        ),
        CommandKind::RecordServices => e(
            11,
            json!({"services": [
                {"dated": "2026-03-02", "record": {"kind": "enterprise_served", "enterprise_uscc": "91440300708461136T", "enterprise_name": "深圳示例生物科技有限公司", "contract_cny": 1200000}},
                {"dated": "2026-03-05", "record": {"kind": "project_industrialized", "project": "酶法合成示例项目", "revenue_cny": 8000000}}
            ]}),
        ),
        CommandKind::RetractService => e(
            12,
            json!({"service_id": "0190c7e2-4b1d-7a3c-9e2f-3d4c5b6a7980", "reason": "重复录入"}),
        ),
        CommandKind::ReportIncident => e(
            13,
            json!({
                "incident_id": "2026-spill-02", "kind": "safety", "occurred_on": "2026-06-01",
                "description": "发酵车间蒸汽管道泄漏，无人员受伤",
            }),
        ),
        CommandKind::AssessIncident => e(
            14,
            json!({"incident_id": "2026-leak-01", "direct_loss_cny": 500000, "conclusion": "一般事故，已整改"}),
        ),
        CommandKind::OpenReview => e(
            15,
            json!({"review_id": "ad-hoc-2026-01", "trigger": "ad_hoc", "due_on": "2026-12-31"}),
        ),
        CommandKind::ConcludeReview => e(
            16,
            json!({"review_id": "ad-hoc-2026-01", "outcome": "passed"}),
        ),
        CommandKind::RecordAnnualEvaluation => e(
            17,
            json!({"year": 2026, "stars": 4, "findings": "服务能力稳定"}),
        ),
        CommandKind::DelistPlatform => e(
            18,
            json!({"reason": "voluntary", "details": "单位申请退出"}),
        ),
        CommandKind::OpenRound => e(
            19,
            json!({
                "round_id": "2027", "opens_on": "2027-06-01", "province_deadline": "2027-07-11",
                "quota_per_province": 5, "notice_days": 5,
            }),
        ),
        CommandKind::DefineTargetSet => e(
            20,
            json!({
                "target_set_id": "guangdong-2027", "name": "广东省2027年目标",
                "targets": [{"metric": "listed_platforms", "province": "44", "comparator": ">=", "threshold": 5, "deadline": "2027-12-31"}],
            }),
        ),
        CommandKind::RetireTargetSet => e(21, json!({"reason": "并入全国目标"})),
        // The bioreactor competition (RULES.md §9), on call 2025.
        CommandKind::OpenCall => e(
            23,
            json!({
                "call_id": "2025", "name": "高性能生物反应器创新任务揭榜挂帅",
                "opens_on": "2025-05-20", "applicant_deadline": "2025-06-30", "province_deadline": "2025-07-15",
                "tasks": [{"task_id": "rs-1", "name": "大规模动物细胞培养反应器系统", "category": "reactor_system", "targets": ["单罐工作体积 ≥ 2000 L"], "complete_by": "2027-12-31"}],
            }),
        ),
        // The lead's act (its own USCC's token).
        CommandKind::SubmitBid => e(
            24,
            json!({
                "bid_id": "js-rs-1", "task_id": "rs-1",
                "lead": {"name": "南京示例生物装备有限公司", "uscc": roster_domain::samples::uscc_with_check("91320100MA1000001"), "kind": "enterprise", "province": "32", "reactor_user": false, "component_or_system_user": false},
                "members": [{"name": "苏州示例生物制药有限公司", "uscc": roster_domain::samples::uscc_with_check("91320500MA1000002"), "kind": "enterprise", "province": "32", "reactor_user": true, "component_or_system_user": false}],
                "declarations": {"no_major_accident": true, "validation_completed": true, "finalised_product_with_ip": true, "evidence": []},
            }),
        ),
        CommandKind::WithdrawBid => e(25, json!({"bid_id": "js-rs-1", "reason": "调整联合体组成"})),
        // The lead's province.
        CommandKind::RecommendBid => e(
            26,
            json!({"bid_id": "js-rs-1", "opinion": "材料真实、完整、有效，同意推荐", "expert_argumentation": "2025-07-08 组织专家论证"}),
        ),
        CommandKind::DeclineBid => e(
            27,
            json!({"bid_id": "js-rs-1", "reasons": ["C-4: 尚未完成产业化前期验证"]}),
        ),
        CommandKind::EvaluateBid => e(
            28,
            json!({"bid_id": "js-rs-1", "score": 88, "passed": true, "panel": "工业和信息化部、中国科学院专家组"}),
        ),
        CommandKind::ShortlistBid => e(29, json!({"bid_id": "js-rs-1"})),
        CommandKind::PublishList => e(30, json!({"task_id": "rs-1", "list": "shortlist"})),
        CommandKind::SignAgreement => e(
            31,
            json!({"bid_id": "js-rs-1", "targets": ["单罐工作体积 ≥ 2000 L"], "milestones": [{"milestone_id": "m1", "title": "完成样机", "due_on": "2026-06-30"}]}),
        ),
        CommandKind::ReportMilestone => e(
            32,
            json!({"bid_id": "js-rs-1", "milestone_id": "m1", "summary": "样机完成并通过内部测试", "evidence": []}),
        ),
        // The scheduler's act (C-8); a person's token is refused.
        CommandKind::FlagMilestoneOverdue => {
            e(33, json!({"bid_id": "js-rs-1", "milestone_id": "m1"}))
        }
        CommandKind::RecordThirdPartyEvaluation => e(
            34,
            json!({"bid_id": "js-rs-1", "evaluator": "示例第三方评价机构", "passed": true, "summary": "达到任务书目标"}),
        ),
        CommandKind::DeclareSuccess => e(35, json!({"bid_id": "js-rs-1"})),
    }
}

/// The name of the body schema of a command.
pub fn body_name(command: &str) -> String {
    format!("{command}Request")
}

pub fn document() -> Value {
    let mut api = ApiDoc::openapi();
    // Every command's request schema (and the schemas it uses), from the registry.
    let components = api.components.get_or_insert_with(Default::default);
    for kind in CommandKind::ALL {
        for (name, schema) in kind.schemas() {
            components.schemas.entry(name).or_insert(schema);
        }
    }
    let mut doc = serde_json::to_value(api).expect("the document serialises");
    doc["info"] = json!({
        "title": "National roster of biomanufacturing pilot-scale platforms",
        "description": DESCRIPTION,
        "version": "1",
    });
    let mut schemas = doc["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    schemas["Province"]["enum"] = json!(province_codes());
    // A webhook is registered for the platform events by their type strings.
    schemas["RegisterWebhook"]["properties"]["event_types"]["items"]["enum"] =
        json!(roster_domain::events::PLATFORM_EVENT_NAMES
            .iter()
            .map(|(t, _, _)| *t)
            .collect::<Vec<_>>());
    schemas["RegisterWebhook"]["properties"]["url"]["pattern"] =
        json!("^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\\s]*)?$");
    schemas["RegisterWebhook"]["properties"]["url"]["maxLength"] = json!(2000);
    let envelope = schemas.remove("CommandEnvelope").expect("envelope schema");
    let own: Vec<&str> = CommandKind::ALL.iter().map(|k| k.name()).collect();
    // The input bounds hold for what commands carry (the envelope is not checked that way),
    // not for what responses report.
    for name in referenced(&schemas, &own) {
        if let Some(s) = schemas.get_mut(&name) {
            bound(s, None);
        }
    }
    let examples = examples();

    // One body schema per command.
    let platform_id_field = json!({"type": "string", "pattern": PLATFORM_ID, "description": "Required for platform commands"});
    let mut bodies = Map::new();
    let mut variants = Vec::new();
    for command in &own {
        let drop: &[&str] = if *command == "RetireTargetSet" {
            &["target_set_id"]
        } else {
            &[]
        };
        let mut body = body_schema(&schemas, &envelope, command, drop, &[]);
        body["examples"] = json!([examples[command]]);
        bodies.insert(body_name(command), body);
        // `POST /api/v1/commands`: the command's own fields and its `type`.
        let mut variant = schemas[*command].clone();
        variant["title"] = json!(command);
        variant["properties"]["type"] = json!({"const": command});
        let mut required = variant["required"].as_array().cloned().unwrap_or_default();
        required.insert(0, json!("type"));
        variant["required"] = json!(required);
        variant["additionalProperties"] = json!(false);
        variants.push(variant);
    }
    let mut generic = body_schema(
        &schemas,
        &envelope,
        "ListPlatform",
        &[],
        &[
            ("platform_id", platform_id_field, false),
            (
                "call_id",
                json!({"type": "string", "pattern": ROUND_ID, "description": "Required for the commands of a call (bioreactor competition) other than OpenCall"}),
                false,
            ),
            ("command", json!({"oneOf": variants}), true),
        ],
    );
    generic["description"] = json!("Any command: `command.type` names it; `platform_id` names the platform of a platform command.");
    generic["examples"] = json!([examples["Command"]]);
    bodies.insert(body_name("Command"), generic);
    schemas.extend(bodies);
    doc["components"]["schemas"] = Value::Object(schemas);
    doc["components"]["responses"] = error_responses();
    doc["components"]["securitySchemes"] = json!({"bearer": {"type": "http", "scheme": "bearer"}});
    doc["security"] = json!([{"bearer": []}]);
    doc["paths"] = paths(&examples);
    doc
}

fn paths(examples: &BTreeMap<&'static str, Value>) -> Value {
    let platform = || {
        path_param(
            "platform_id",
            PLATFORM_ID,
            "3-64 lower-case letters, digits, '-' or '_', starting with a letter or digit",
            "gd-sz-synbio",
        )
    };
    let round = || {
        path_param(
            "round_id",
            ROUND_ID,
            "1-32 letters, digits, '-' or '_'",
            "2025",
        )
    };
    let target_set = || {
        path_param(
            "target_set_id",
            TARGET_SET_ID,
            "1-48 lower-case letters, digits, '-' or '_'",
            "guangdong-2027",
        )
    };
    let mut p = Map::new();
    let mut add = |path: &str, op: Value| {
        let entry = p.entry(path.to_string()).or_insert_with(|| json!({}));
        entry
            .as_object_mut()
            .expect("path item")
            .extend(op.as_object().cloned().unwrap_or_default());
    };
    let open = |op: Value| {
        // Health checks are readable without a token (RULES.md §10).
        let mut op = op;
        if let Some(o) = op.as_object_mut().and_then(|o| o.values_mut().next()) {
            o["security"] = json!([]);
        }
        op
    };

    // Operations.
    add(
        "/health",
        open(get(
            "Liveness",
            "health",
            vec![],
            json_response(
                "the process serves",
                json!({"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}),
            ),
            &[],
        )),
    );
    let mut ready = get(
        "Readiness: the event store answers",
        "ready",
        vec![],
        json_response(
            "ready",
            json!({"type": "object", "required": ["status"], "properties": {"status": {"const": "ready"}}}),
        ),
        &[],
    );
    ready["get"]["responses"]["503"] = json_response(
        "the event store does not answer, a read model or the policy consumer is stalled behind the log, or a consumer of the broker transport (or the leading relay) has been without its subscription for longer than the grace (the cause is in the server's log and in `/api/v1/status`, never in this answer)",
        json!({"type": "object", "required": ["status"], "additionalProperties": false, "properties": {"status": {"const": "unavailable"}}}),
    );
    add("/ready", open(ready));
    add(
        "/metrics",
        get(
            "Prometheus metrics (ministry and analysts)",
            "metrics",
            vec![],
            json!({"description": "OpenMetrics text format 1.0", "content": {"application/openmetrics-text": {"schema": {"type": "string"}}}}),
            &[401, 403, 500, 503],
        ),
    );
    add(
        "/api/v1/openapi.json",
        open(get(
            "This document (no token needed)",
            "openapi",
            vec![],
            json_response(
                "OpenAPI 3.1",
                json!({"type": "object", "required": ["openapi", "info", "paths"]}),
            ),
            &[503],
        )),
    );
    public_paths(&mut add, &open);
    add(
        "/api/v1/commands",
        post(
            "Any command, named by `command.type`",
            "command",
            vec![],
            &body_name("Command"),
            examples["Command"].clone(),
        ),
    );
    for (action, command) in ROUTES {
        add(
            &format!("/api/v1/platforms/{{platform_id}}/{action}"),
            post(
                command,
                command,
                vec![platform()],
                &body_name(command),
                examples[command].clone(),
            ),
        );
    }
    let call = || {
        path_param(
            "call_id",
            ROUND_ID,
            "1-32 letters, digits, '-' or '_'",
            "2025",
        )
    };
    add(
        "/api/v1/calls",
        post(
            "Open a call of the bioreactor competition (ministry with CAS)",
            "OpenCall",
            vec![],
            &body_name("OpenCall"),
            examples["OpenCall"].clone(),
        ),
    );
    for (action, kind) in roster_domain::challenge::ROUTES {
        let command = kind.name();
        add(
            &format!("/api/v1/calls/{{call_id}}/{action}"),
            post(
                command,
                command,
                vec![call()],
                &body_name(command),
                examples[command].clone(),
            ),
        );
    }
    add(
        "/api/v1/calls/{call_id}",
        get(
            "A call of the bioreactor competition: its tasks, the bids the caller may read, the lists, the figures per task and per province; as of any date on both time axes",
            "getCall",
            vec![
                call(),
                as_of("The call"),
                known_at(),
                format_param(&["json", "csv", "xlsx"]),
                query(
                    "view",
                    json!({"type": "string", "enum": ["tasks", "provinces"]}),
                    "The figures a CSV holds; default tasks",
                ),
            ],
            json!({
                "description": "the call",
                "content": {
                    "application/json": {"schema": schema_ref("CallView")},
                    "text/csv": csv(),
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "contentMediaType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}},
                },
            }),
            &[400, 401, 403, 404, 500, 503],
        ),
    );
    add(
        "/api/v1/rounds",
        post(
            "Open a round (ministry)",
            "OpenRound",
            vec![],
            &body_name("OpenRound"),
            examples["OpenRound"].clone(),
        ),
    );
    add(
        "/api/v1/rounds",
        get(
            "Rounds with the recommendations per province the caller may see",
            "listRounds",
            vec![],
            json_response(
                "the rounds",
                json!({"type": "array", "items": schema_ref("RoundSummary")}),
            ),
            &[401, 500, 503],
        ),
    );
    add(
        "/api/v1/rounds/{round_id}",
        get(
            "One round and the applications in it the caller may see",
            "getRound",
            vec![round()],
            json_response(
                "the round",
                json!({
                    "type": "object", "required": ["round", "platforms"],
                    "properties": {
                        "round": schema_ref("RoundSummary"),
                        "platforms": {"type": "array", "items": schema_ref("PlatformSummary")},
                    },
                }),
            ),
            &[401, 404, 500, 503],
        ),
    );
    let count = json!({"type": "integer", "minimum": 0, "maximum": u64::MAX});
    add(
        "/api/v1/platforms",
        get(
            "Applications and platforms the caller may see",
            "listPlatforms",
            vec![
                query("status", schema_ref("Status"), "Current status"),
                province_param(),
                city_param(),
                query(
                    "round",
                    json!({"type": "string", "pattern": ROUND_ID}),
                    "Round id",
                ),
                query("domain", schema_ref("Domain"), "One of the nine domains"),
                query("offset", count.clone(), "Rows to skip; default 0"),
                query(
                    "limit",
                    count.clone(),
                    "At most this many rows (capped at 5000); default 500",
                ),
            ],
            json_response(
                "a page of platforms",
                json!({
                    "type": "object", "required": ["total", "offset", "platforms"],
                    "properties": {
                        "total": {"type": "integer", "minimum": 0},
                        "offset": {"type": "integer", "minimum": 0},
                        "platforms": {"type": "array", "items": schema_ref("PlatformSummary")},
                    },
                }),
            ),
            &[400, 401, 500, 503],
        ),
    );
    add(
        "/api/v1/platforms/{platform_id}",
        get(
            "A platform: its state, the commands allowed now and its full event history",
            "getPlatform",
            vec![platform()],
            json_response(
                "the platform",
                json!({
                    "type": "object",
                    "required": ["platform_id", "version", "status", "on_roster", "allowed_commands", "state", "history"],
                    "properties": {
                        "platform_id": {"type": "string"},
                        "version": {"type": "integer", "minimum": 0},
                        "status": schema_ref("Status"),
                        "on_roster": {"type": "boolean"},
                        "allowed_commands": {"type": "array", "items": {"type": "string"}},
                        "state": {"type": "object"},
                        "history": {"type": "array", "items": schema_ref("StoredEvent")},
                    },
                }),
            ),
            &[401, 404, 500, 503],
        ),
    );
    add(
        "/api/v1/platforms/{platform_id}/events",
        get(
            "A platform's events with actor, business date and recorded time",
            "getPlatformEvents",
            vec![platform()],
            json_response(
                "the events, oldest first",
                json!({"type": "array", "items": schema_ref("StoredEvent")}),
            ),
            &[401, 404, 500, 503],
        ),
    );
    add(
        "/api/v1/platforms/{platform_id}/timeline",
        get(
            "A platform's timeline: one readable line per event",
            "getPlatformTimeline",
            vec![platform()],
            json_response(
                "the timeline",
                json!({
                    "type": "object", "required": ["platform_id", "entries"],
                    "properties": {
                        "platform_id": {"type": "string"},
                        "entries": {"type": "array", "items": {"type": "object"}},
                    },
                }),
            ),
            &[401, 404, 500, 503],
        ),
    );
    add(
        "/api/v1/audit",
        get(
            "Audit log of accepted and refused commands, newest first (ministry only)",
            "getAudit",
            vec![query(
                "limit",
                count.clone(),
                "At most this many entries (capped at 10000); default 200",
            )],
            json_response(
                "audit entries",
                json!({"type": "array", "items": schema_ref("AuditEntry")}),
            ),
            &[400, 401, 403, 500, 503],
        ),
    );
    let json_or_csv = |description: &str, schema: Value| json!({"description": description, "content": {"application/json": {"schema": schema}, "text/csv": csv()}});
    add(
        "/api/v1/roster",
        get(
            "The roster as of a date (JSON or CSV)",
            "getRoster",
            vec![
                as_of("The roster"),
                province_param(),
                city_param(),
                query("domain", schema_ref("Domain"), "One of the nine domains"),
                query("status", schema_ref("Status"), "Status as of the date"),
                query(
                    "stars",
                    json!({"type": "integer", "minimum": 1, "maximum": 5}),
                    "Latest star rating",
                ),
                format_param(&["json", "csv"]),
            ],
            json_or_csv(
                "the roster",
                json!({
                    "type": "object", "required": ["as_of", "total", "platforms"],
                    "properties": {
                        "as_of": date_schema(),
                        "total": {"type": "integer", "minimum": 0},
                        "platforms": {"type": "array", "items": schema_ref("RosterRow")},
                    },
                }),
            ),
            &[400, 401, 403, 500, 503],
        ),
    );
    add(
        "/api/v1/funnel",
        get(
            "Applications per round and province through each stage (JSON or CSV)",
            "getFunnel",
            vec![
                query(
                    "round",
                    json!({"type": "string", "pattern": ROUND_ID}),
                    "Round id",
                ),
                as_of("The funnel"),
                format_param(&["json", "csv"]),
            ],
            json_or_csv(
                "the funnel",
                json!({
                    "type": "object", "required": ["as_of", "rows"],
                    "properties": {"as_of": date_schema(), "rows": {"type": "array", "items": schema_ref("FunnelRow")}},
                }),
            ),
            &[400, 401, 403, 500, 503],
        ),
    );
    add(
        "/api/v1/reviews",
        get(
            "The reviews board (JSON or CSV)",
            "getReviews",
            vec![
                as_of("The board"),
                query(
                    "window_days",
                    json!({"type": "integer", "minimum": 0, "maximum": u32::MAX}),
                    "D-2's review window in days; default 90",
                ),
                format_param(&["json", "csv"]),
            ],
            json_or_csv(
                "the reviews",
                json!({
                    "type": "object", "required": ["as_of", "window_days", "reviews"],
                    "properties": {
                        "as_of": date_schema(),
                        "window_days": {"type": "integer", "minimum": 0},
                        "reviews": {"type": "array", "items": schema_ref("ReviewRow")},
                    },
                }),
            ),
            &[400, 401, 403, 500, 503],
        ),
    );
    add(
        "/api/v1/incidents",
        get(
            "The incident register",
            "getIncidents",
            vec![as_of("The register")],
            json_response(
                "the incidents",
                json!({
                    "type": "object", "required": ["as_of", "incidents"],
                    "properties": {"as_of": date_schema(), "incidents": {"type": "array", "items": schema_ref("IncidentRow")}},
                }),
            ),
            &[400, 401, 403, 500, 503],
        ),
    );
    add(
        "/api/v1/status",
        get(
            "Operations status: events, projection lag, dead letters, deadlines (ministry and analysts)",
            "getStatus",
            vec![],
            json_response("the status", schema_ref("OperationsStatus")),
            &[401, 403, 500, 503],
        ),
    );
    add(
        "/api/v1/reports/kpi",
        get(
            "KPI progress against every target set in force (ministry, analysts; a province over its own platforms)",
            "getKpiReport",
            vec![
                as_of("Figures"),
                known_at(),
                query(
                    "target_set",
                    json!({"type": "string", "pattern": TARGET_SET_ID}),
                    "Only this target set",
                ),
                query(
                    "round",
                    json!({"type": "string", "pattern": ROUND_ID}),
                    "Only platforms of this round",
                ),
                format_param(&["json", "csv", "xlsx"]),
                query(
                    "view",
                    json!({"type": "string", "enum": roster_projections::export::VIEWS}),
                    "The sheet a CSV holds; default targets",
                ),
            ],
            json!({
                "description": "the report",
                "content": {
                    "application/json": {"schema": {"type": "object", "required": ["as_of", "scope"]}},
                    "text/csv": csv(),
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "contentMediaType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}},
                },
            }),
            &[400, 401, 403, 404, 500, 503],
        ),
    );
    add(
        "/api/v1/targets",
        get(
            "KPI target sets in force",
            "listTargetSets",
            vec![known_at()],
            json_response(
                "the target sets the caller may read",
                json!({
                    "type": "object", "required": ["target_sets"],
                    "properties": {"target_sets": {"type": "array", "items": {"type": "object"}}},
                }),
            ),
            &[400, 401, 403, 500, 503],
        ),
    );
    add(
        "/api/v1/targets",
        post(
            "Define or revise a KPI target set",
            "DefineTargetSet",
            vec![],
            &body_name("DefineTargetSet"),
            examples["DefineTargetSet"].clone(),
        ),
    );
    webhook_paths(&mut add);
    add(
        "/api/v1/targets/{target_set_id}/retirement",
        post(
            "Retire a KPI target set (it stays in reports as known before)",
            "RetireTargetSet",
            vec![target_set()],
            &body_name("RetireTargetSet"),
            examples["RetireTargetSet"].clone(),
        ),
    );
    Value::Object(p)
}

/// `/api/v1/webhooks` (RULES.md §13): the ministry and analysts.
fn webhook_paths(add: &mut impl FnMut(&str, Value)) {
    let tagged = |mut op: Value| {
        if let Some(o) = op.as_object_mut().and_then(|o| o.values_mut().next()) {
            o["tags"] = json!(["webhooks"]);
        }
        op
    };
    let webhook = || {
        path_param(
            "webhook_id",
            "^[0-9a-fA-F-]{36}$",
            "The webhook's id (a UUID)",
            "0b6c3e52-6a3f-4c11-9d8e-5f1a2b3c4d5e",
        )
    };
    add(
        "/api/v1/webhooks",
        tagged(get(
            "The webhooks the caller reads (the ministry: all; an analyst: its own), with their delivery state",
            "listWebhooks",
            vec![],
            json_response(
                "the webhooks",
                json!({"type": "array", "items": schema_ref("WebhookStatus")}),
            ),
            &[401, 403, 500, 503],
        )),
    );
    let mut responses = errors(&[400, 401, 403, 409, 413, 500, 503]);
    responses.insert(
        "201".into(),
        json_response(
            "registered: the webhook and its signing secret, shown this once",
            schema_ref("RegisteredWebhook"),
        ),
    );
    add(
        "/api/v1/webhooks",
        tagged(json!({"post": {
            "summary": "Register a webhook for event types (ministry, analyst; at most 20 each): each such event is POSTed to the URL as it is recorded, with `X-Roster-Delivery` (the delivery id, the same on every attempt), `X-Roster-Event` and `X-Roster-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" with the secret>`; a failed delivery is retried with a doubling backoff up to five minutes, in order",
            "operationId": "registerWebhook",
            "requestBody": {"required": true, "content": {"application/json": {
                "schema": schema_ref("RegisterWebhook"),
                "example": {"url": "https://analytics.example.gov.cn/hooks/roster", "event_types": ["PlatformListed", "PlatformDelisted", "AnnualEvaluationRecorded"], "description": "名单变动同步到分析平台"},
            }}},
            "responses": responses,
        }})),
    );
    add(
        "/api/v1/webhooks/{webhook_id}",
        tagged(get(
            "One webhook with its delivery state (lag, failures, next attempt, last error)",
            "getWebhook",
            vec![webhook()],
            json_response("the webhook", schema_ref("WebhookStatus")),
            &[401, 403, 404, 500, 503],
        )),
    );
    let mut responses = errors(&[401, 403, 404, 500, 503]);
    responses.insert(
        "204".into(),
        json!({"description": "deleted: nothing more is delivered"}),
    );
    add(
        "/api/v1/webhooks/{webhook_id}",
        tagged(json!({"delete": {
            "summary": "Delete a webhook: nothing more is delivered; its delivery log stays readable",
            "operationId": "deleteWebhook",
            "parameters": [webhook()],
            "responses": responses,
        }})),
    );
    add(
        "/api/v1/webhooks/{webhook_id}/deliveries",
        tagged(get(
            "The delivery log of a webhook, newest first: each event sent, its attempts, the receiver's last status or error",
            "webhookDeliveries",
            vec![
                webhook(),
                query(
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
                    "At most this many deliveries",
                ),
            ],
            json_response(
                "the deliveries",
                json!({"type": "array", "items": schema_ref("Delivery")}),
            ),
            &[400, 401, 403, 404, 500, 503],
        )),
    );
    let mut responses = errors(&[401, 403, 404, 500, 503]);
    responses.insert(
        "200".into(),
        json_response(
            "sent again: the delivery as logged after the attempt (delivered or not)",
            schema_ref("Delivery"),
        ),
    );
    add(
        "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay",
        tagged(json!({"post": {
            "summary": "Send a delivery again now, with its delivery id (the receiver deduplicates by it)",
            "operationId": "replayWebhookDelivery",
            "parameters": [webhook(), path_param(
                "delivery_id",
                "^[0-9a-fA-F-]{36}$",
                "The delivery's id (a UUID)",
                "7d1f0c2e-8b3a-5e47-9c6d-2a1b0e9f8c7d",
            )],
            "responses": responses,
        }})),
    );
}

pub async fn serve() -> Response {
    Json(document()).into_response()
}

/// The open data API (RULES.md §13): no token; answers carry `meta` totals where they are lists.
fn public_paths(add: &mut impl FnMut(&str, Value), open: &impl Fn(Value) -> Value) {
    let public = |op: Value| {
        let mut op = open(op);
        if let Some(o) = op.as_object_mut().and_then(|o| o.values_mut().next()) {
            o["tags"] = json!(["open data"]);
        }
        op
    };
    let list = |items: &str| {
        json!({
            "type": "object", "required": ["meta", "results"],
            "properties": {
                "meta": schema_ref("Meta"),
                "results": {"type": "array", "items": schema_ref(items)},
            },
        })
    };
    let filters = || {
        vec![
            as_of("The roster"),
            query(
                "search",
                json!({"type": "string", "maxLength": 200}),
                "Words of the unit's or the platform's name (all of them, any case)",
            ),
            province_param(),
            query("domain", schema_ref("Domain"), "One of the nine domains"),
            query(
                "batch",
                json!({"type": "integer", "minimum": 1}),
                "A batch (1 = 第一批)",
            ),
            query(
                "sort",
                json!({"type": "string", "enum": ["serial", "-serial", "listed_on", "-listed_on", "province", "-province", "stars", "-stars", "unit", "-unit", "platform", "-platform"]}),
                "Order; default serial (batch, then 序号); '-' reverses",
            ),
        ]
    };
    let file_types = json!({
        "text/csv": csv(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "contentMediaType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}},
    });
    let mut roster_params = filters();
    roster_params.push(query(
        "limit",
        json!({"type": "integer", "minimum": 1, "maximum": crate::public::MAX_LIMIT}),
        "Rows per page; default 100",
    ));
    roster_params.push(query(
        "skip",
        json!({"type": "integer", "minimum": 0}),
        "Rows skipped before the page",
    ));
    roster_params.push(format_param(&["json", "csv", "xlsx"]));
    let mut roster_content = file_types.clone();
    roster_content["application/json"] = json!({"schema": list("PublicEntry")});
    add(
        "/api/public/v1/roster",
        public(get(
            "The roster as published, as of any date: by batch with 序号, unit, platform, domains, province, star rating and listing date; searched, filtered, sorted and paged (`meta.results.total` counts every matching row)",
            "publicRoster",
            roster_params,
            json!({"description": "a page of the roster (JSON) or every matching row (CSV, XLSX)", "content": roster_content}),
            &[400, 500, 503],
        )),
    );
    let mut bulk_content = file_types;
    bulk_content["application/json"] = json!({"schema": list("PublicEntry")});
    add(
        "/api/public/v1/downloads/{file}",
        public(get(
            "The whole published roster as a file (bulk download), with the same filters",
            "publicRosterDownload",
            {
                let mut p = vec![json!({
                    "name": "file", "in": "path", "required": true,
                    "description": "roster.csv, roster.xlsx or roster.json",
                    "schema": {"type": "string", "pattern": "^roster\\.(csv|xlsx|json)$", "enum": ["roster.csv", "roster.xlsx", "roster.json"]},
                })];
                p.extend(filters());
                p
            },
            json!({"description": "the roster", "content": bulk_content}),
            &[400, 404, 500, 503],
        )),
    );
    add(
        "/api/public/v1/platforms/{platform_id}",
        public(get(
            "The public profile of a listed platform: domains, scale, equipment, main business, contact, star ratings",
            "publicPlatform",
            vec![
                path_param(
                    "platform_id",
                    PLATFORM_ID,
                    "3-64 lower-case letters, digits, '-' or '_', starting with a letter or digit",
                    "gd-sz-synbio",
                ),
                as_of("The profile"),
            ],
            json_response("the profile", schema_ref("PublicProfile")),
            &[400, 404, 500, 503],
        )),
    );
    let mut responses = errors(&[400, 404, 409, 413, 422, 500, 503]);
    responses.insert(
        "201".into(),
        json_response("filed: the receipt", schema_ref("ObjectionReceipt")),
    );
    responses.insert(
        "200".into(),
        json_response(
            "the same command id sent before: the receipt, nothing filed again",
            schema_ref("ObjectionReceipt"),
        ),
    );
    add(
        "/api/public/v1/platforms/{platform_id}/objections",
        public(json!({"post": {
            "summary": "File an objection to a platform on public notice (no token; a few per hour from one address); after the notice period 422 naming the day it ended (R-5)",
            "operationId": "publicObjection",
            "parameters": [path_param(
                "platform_id",
                PLATFORM_ID,
                "3-64 lower-case letters, digits, '-' or '_', starting with a letter or digit",
                "gd-sz-synbio",
            )],
            "requestBody": {"required": true, "content": {"application/json": {
                "schema": {
                    "type": "object", "additionalProperties": false,
                    "required": ["command_id", "name", "contact", "grounds"],
                    "properties": {
                        "command_id": {"type": "string", "format": "uuid", "description": "Chosen by the client: a retry files once"},
                        "name": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"},
                        "contact": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S", "description": "Phone or e-mail; for the ministry alone"},
                        "grounds": {"type": "string", "minLength": 1, "maxLength": 4000, "pattern": "\\S"},
                    },
                },
                "example": {"command_id": "6f1c2a8e-3b9d-4c57-9a0e-2d4b8c7f1e60", "name": "张三", "contact": "13800000000", "grounds": "申报的用房面积与实际不符"},
            }}},
            "responses": responses,
        }})),
    );
    let mut responses = errors(&[400, 404, 409, 413, 422, 500, 503]);
    responses.insert(
        "201".into(),
        json_response(
            "posted: the need id and the platforms it reached",
            schema_ref("NeedReceipt"),
        ),
    );
    responses.insert(
        "200".into(),
        json_response(
            "the same command id sent before: the receipt, nothing posted again",
            schema_ref("NeedReceipt"),
        ),
    );
    add(
        "/api/public/v1/needs",
        public(json!({"post": {
            "summary": "Post an enterprise's need for pilot services (中试需求, no token; a few per hour from one address, counted with objections): it reaches every listed platform that matches its domain, province, vessel volume and services, and takes orders; 404 when none matches",
            "operationId": "publicNeed",
            "requestBody": {"required": true, "content": {"application/json": {
                "schema": {
                    "type": "object", "additionalProperties": false,
                    "required": ["command_id", "need"],
                    "properties": {
                        "command_id": {"type": "string", "format": "uuid", "description": "Chosen by the client: a retry reaches each platform once"},
                        "need": schema_ref("Need"),
                    },
                },
                "example": {"command_id": "3d5e7a90-1c2b-4f6e-8a9d-0b1c2d3e4f50", "need": {"enterprise_name": "深圳示例生物科技有限公司", "enterprise_uscc": "91440300708461136T", "contact": "0755-12345678", "description": "5000 升发酵中试，三个月内完成", "domain": "food_additives", "services": ["scale_up"], "min_vessel_l": 5000}},
            }}},
            "responses": responses,
        }})),
    );
    add(
        "/api/public/v1/notice",
        public(get(
            "The platforms on public notice (公示) on a day, with the notice period",
            "publicNotice",
            vec![query(
                "on",
                date_schema(),
                "The day (YYYY-MM-DD); default today",
            )],
            json_response("the notice", list("NoticeEntry")),
            &[400, 500, 503],
        )),
    );
    let mut directory_params = vec![
        province_param(),
        query("domain", schema_ref("Domain"), "One of the nine domains"),
        query(
            "vessel_kind",
            json!({"type": "string", "enum": ["fermentation", "enzyme_catalysis", "parallel_bioreactor"]}),
            "A vessel of this kind …",
        ),
        query(
            "min_vessel_l",
            json!({"type": "number", "minimum": 0}),
            "… with a single-tank working volume of at least this many litres",
        ),
        query(
            "service",
            json!({"type": "string", "enum": roster_domain::commands::PilotService::ALL.iter().map(|s| s.code()).collect::<Vec<_>>()}),
            "A pilot service the platform offers",
        ),
        query(
            "search",
            json!({"type": "string", "maxLength": 200}),
            "Words of the main business, instruments, unit or platform name",
        ),
    ];
    directory_params.push(query(
        "limit",
        json!({"type": "integer", "minimum": 1, "maximum": crate::public::MAX_LIMIT}),
        "Rows per page; default 100",
    ));
    directory_params.push(query(
        "skip",
        json!({"type": "integer", "minimum": 0}),
        "Rows skipped before the page",
    ));
    add(
        "/api/public/v1/directory",
        public(get(
            "The pilot-services directory (中试供需对接): listed platforms by domain, province, vessel kind and volume, and services, with their public profiles",
            "publicDirectory",
            directory_params,
            json_response("the platforms found", list("PublicProfile")),
            &[400, 500, 503],
        )),
    );
    add(
        "/api/public/v1/feed.atom",
        public(get(
            "The changes of the published roster (listed, delisted, star ratings, notices started), newest first, as an Atom feed",
            "publicFeedAtom",
            vec![],
            json!({"description": "the Atom feed", "content": {"application/atom+xml": {"schema": {"type": "string"}}}}),
            &[500, 503],
        )),
    );
    add(
        "/api/public/v1/feed.json",
        public(get(
            "The same changes as a JSON Feed 1.1",
            "publicFeedJson",
            vec![],
            json!({"description": "the JSON Feed", "content": {"application/feed+json": {"schema": {
                "type": "object", "required": ["version", "title", "items"],
                "properties": {"version": {"const": "https://jsonfeed.org/version/1.1"}, "title": {"type": "string"}, "items": {"type": "array", "items": {"type": "object"}}},
            }}}}),
            &[500, 503],
        )),
    );
    add(
        "/api/public/v1/kpi",
        public(get(
            "The national figures (K-1 platforms listed, K-2 enterprises served, K-3 products incubated, K-4) and the progress against the national targets, as of a date, by province and domain",
            "publicKpi",
            vec![as_of("The figures")],
            json_response(
                "the figures",
                json!({
                    "type": "object",
                    "required": ["as_of", "values", "targets", "by_province", "by_domain"],
                    "properties": {
                        "as_of": date_schema(),
                        "values": {"type": "array", "items": {"type": "object"}},
                        "targets": {"type": "array", "items": {"type": "object"}},
                        "by_province": {"type": "array", "items": {"type": "object"}},
                        "by_domain": {"type": "array", "items": {"type": "object"}},
                    },
                }),
            ),
            &[400, 500, 503],
        )),
    );
    add(
        "/api/public/v1/calls",
        public(get(
            "The calls of the bioreactor competition with their published lists",
            "publicCalls",
            vec![],
            json_response(
                "the calls",
                json!({"type": "object", "required": ["results"], "properties": {"results": {"type": "array", "items": schema_ref("PublicCall")}}}),
            ),
            &[500, 503],
        )),
    );
    add(
        "/api/public/v1/calls/{call_id}",
        public(get(
            "A call with its shortlists and success lists as published by a date",
            "publicCall",
            vec![
                path_param(
                    "call_id",
                    ROUND_ID,
                    "1-32 letters, digits, '-' or '_'",
                    "2025",
                ),
                as_of("The lists"),
            ],
            json_response("the call", schema_ref("PublicCall")),
            &[400, 404, 500, 503],
        )),
    );
}
