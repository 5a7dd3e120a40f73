//! RFC 9457 problem details: every refusal leaves the API as `application/problem+json` with its
//! stable code, the rule id where one applies, and the field path.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use roster_domain::error::{code, Code, Kind, Refusal};
use serde_json::json;

#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub refusal: Refusal,
}

pub const MALFORMED_JSON: Code = code::MALFORMED_JSON;
pub const UNAUTHENTICATED: Code = code::UNAUTHENTICATED;
pub const BODY_TOO_LARGE: Code = code::BODY_TOO_LARGE;

pub use roster_domain::error::is_rule_id;

/// The HTTP status of a refusal, from its kind (`Code::kind`): the one mapping, exhaustive.
pub fn status_for(code_: impl Into<Code>) -> StatusCode {
    let code_: Code = code_.into();
    match code_.kind() {
        Kind::BadInput => StatusCode::BAD_REQUEST,
        Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Kind::Throttled => StatusCode::TOO_MANY_REQUESTS,
        Kind::Outage => StatusCode::SERVICE_UNAVAILABLE,
        Kind::Business => StatusCode::UNPROCESSABLE_ENTITY,
        Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<Refusal> for Problem {
    fn from(refusal: Refusal) -> Self {
        Problem {
            status: status_for(refusal.code.clone()),
            refusal,
        }
    }
}

impl Problem {
    pub fn new(code_: impl Into<Code>, message: impl Into<String>) -> Problem {
        Refusal::new(code_, message).into()
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let r = &self.refusal;
        let body = json!({
            "type": format!("urn:roster:problem:{}", r.code),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": r.message,
            "code": r.code,
            "rule": r.code.rule(),
            "field": r.field,
        });
        let mut resp = (self.status, body.to_string()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// Turns a serde error with its path into a refusal naming the field.
pub fn from_path_error(prefix: &str, e: serde_path_to_error::Error<serde_json::Error>) -> Refusal {
    let path = e.path().to_string();
    let field = match (prefix.is_empty(), path.as_str()) {
        (_, ".") => prefix.to_string(),
        (true, p) => p.to_string(),
        (false, p) => format!("{prefix}.{p}"),
    };
    let inner = e.into_inner().to_string();
    // Rule-bearing messages (e.g. "G-1: invalid USCC …") keep their rule id as the code.
    let code_ = inner
        .split(':')
        .next()
        .filter(|c| is_rule_id(c))
        .map_or(code::INVALID_INPUT, Code::from);
    let field_opt = if field.is_empty() {
        None
    } else {
        Some(field.clone())
    };
    let at = field_opt
        .as_deref()
        .map(|f| format!(" at {f}"))
        .unwrap_or_default();
    let message_zh = serde_zh(&code_, &inner);
    Refusal {
        code: code_,
        message: format!("invalid input{at}: {inner}"),
        field: field_opt,
        message_zh: Some(message_zh),
    }
}

/// What a value serde could not read means, in Chinese, by the kind of serde's message (its
/// words stay in `message`).
fn serde_zh(code: &Code, inner: &str) -> String {
    let zh = if code.rule() == Some("G-1") {
        "统一社会信用代码无效（18 位，校验位须正确）"
    } else if inner.starts_with("missing field") {
        "缺少必填项"
    } else if inner.starts_with("unknown variant") {
        "不是可选的值之一"
    } else if inner.starts_with("unknown field") {
        "有不认识的字段"
    } else if inner.contains("date") || inner.contains("premature end of input") {
        "日期格式不正确（如 2025-07-01）"
    } else if inner.starts_with("invalid type") || inner.starts_with("invalid value") {
        "类型或取值不正确（数字不带单位，日期如 2025-07-01）"
    } else {
        "格式不正确"
    };
    zh.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_recognised() {
        for c in ["G-4", "R-1", "D-5", "K-2", "C-3", "G-12"] {
            assert!(is_rule_id(c), "{c}");
            assert_eq!(status_for(c), StatusCode::UNPROCESSABLE_ENTITY);
        }
        for c in ["state_conflict", "G-", "X-1", "G-1a"] {
            assert!(!is_rule_id(c), "{c}");
        }
    }
}

#[cfg(test)]
mod path_tests {
    use roster_domain::commands::SubmitApplication;
    use serde_json::json;

    #[test]
    fn unknown_nested_field_keeps_its_path() {
        let mut form = roster_domain::samples::form_json(
            roster_domain::samples::GD_USCC,
            "44",
            "440300",
            &["enzymes"],
        );
        form["site"]["roof_colour"] = json!("red");
        let v = json!({"round_id": "2025", "form": form});
        let e = serde_path_to_error::deserialize::<_, SubmitApplication>(v).unwrap_err();
        let r = super::from_path_error("", e);
        assert_eq!(r.field.as_deref(), Some("form.site.roof_colour"), "{r:?}");
    }
}
