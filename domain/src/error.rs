//! Refusals: every refused command gets a stable code (a rule id such as `R-1`, or one of the
//! codes below), a message a provincial clerk understands, and the field path when one applies.

use serde::{Deserialize, Serialize};

/// A refusal's stable code: a rule of RULES.md, or one of the kinds of failure below. The HTTP
/// status ([`Code::kind`]) and whether the policy consumer retries ([`Code::is_transient`])
/// follow from the variant, never from the spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Code {
    /// A rule refused it: `G-4`, `R-1`, `D-5`, `K-2`, `C-3` … (a business refusal).
    Rule(String),
    /// `state_conflict`: the platform's state does not allow the command (RULES.md §4), e.g. a
    /// transition not in the table, a round it already applied in, a review already concluded.
    StateConflict,
    /// `version_conflict`: the stream is not at the version the command expected (optimistic
    /// concurrency), or kept moving while the command was retried; reload and retry.
    VersionConflict,
    /// `duplicate`: what the command would create or end exists or ended already (a round, a
    /// service record, an incident, a review, a retraction, a retired target set …).
    Duplicate,
    /// `command_id_reused`: the command id was already used for a different command.
    CommandIdReused,
    /// `invalid_input`: a field is missing, of the wrong type, unknown or out of bounds
    /// (RULES.md §11); the refusal names the field.
    InvalidInput,
    /// `malformed_json`: the body is not JSON, not a JSON object, or names a key twice.
    MalformedJson,
    /// `body_too_large`: the request body is over the size limit.
    BodyTooLarge,
    /// `impossible_date`: a value that is not a date, or a date that contradicts another (a notice
    /// ending before it starts, a service or incident dated after the day it is recorded, a round's
    /// deadlines out of order).
    ImpossibleDate,
    /// A business date after today (Asia/Shanghai): no act takes effect in the future (RULES.md §12).
    FutureBusinessDate,
    /// An applicant's, city's or province's act stated a business date other than the day it
    /// is recorded (RULES.md §12): those acts happen when they are recorded.
    BusinessDateNotToday,
    /// `unauthenticated`: no bearer token, or an unknown or revoked one.
    Unauthenticated,
    /// `forbidden`: the actor's role or jurisdiction does not allow the act (RULES.md §10).
    Forbidden,
    /// `not_found`: no such platform, round, review, incident, service record, target set or route;
    /// a platform outside the caller's jurisdiction answers the same (RULES.md §10).
    NotFound,
    /// `too_many_requests`: over a rate limit.
    TooManyRequests,
    /// A store or the broker did not answer: worth retrying.
    Unavailable,
    /// `internal`: a fault of the system (e.g. a stored result that cannot be read); the cause
    /// goes to the server's log.
    Internal,
}

/// What kind of failure a code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A rule of RULES.md or of time (RULES.md §12) refused the act.
    Business,
    /// The state, a concurrent writer or an earlier command stands in the way.
    Conflict,
    /// The request itself is wrong (the field names what).
    BadInput,
    /// The request body is over the size limit.
    TooLarge,
    /// No valid bearer token.
    Unauthenticated,
    /// The role or the jurisdiction does not allow it.
    Forbidden,
    /// No such thing, or none the caller may see.
    NotFound,
    /// Over a rate limit.
    Throttled,
    /// The system could not answer now.
    Outage,
    /// A fault of the system.
    Internal,
}

/// `G-4`, `R-1`, `D-5`, `K-2`, `C-3`…
pub fn is_rule_id(code: &str) -> bool {
    let mut parts = code.splitn(2, '-');
    matches!(parts.next(), Some("G" | "R" | "D" | "K" | "C"))
        && parts
            .next()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

impl Code {
    const NAMED: [(Code, &'static str); 17] = [
        (Code::StateConflict, "state_conflict"),
        (Code::VersionConflict, "version_conflict"),
        (Code::Duplicate, "duplicate"),
        (Code::CommandIdReused, "command_id_reused"),
        (Code::InvalidInput, "invalid_input"),
        (Code::MalformedJson, "malformed_json"),
        (Code::BodyTooLarge, "body_too_large"),
        (Code::ImpossibleDate, "impossible_date"),
        (Code::FutureBusinessDate, "future_business_date"),
        (Code::BusinessDateNotToday, "business_date_not_today"),
        (Code::Unauthenticated, "unauthenticated"),
        (Code::Forbidden, "forbidden"),
        (Code::NotFound, "not_found"),
        (Code::TooManyRequests, "too_many_requests"),
        (Code::Unavailable, "unavailable"),
        (Code::Internal, "internal"),
        // Never matched by name (a rule id parses as `Rule`); keeps the table exhaustive.
        (Code::Rule(String::new()), ""),
    ];

    /// The code as it is written in problem details, the audit log and messages.
    pub fn as_str(&self) -> &str {
        match self {
            Code::Rule(id) => id,
            other => Code::NAMED
                .iter()
                .find(|(c, _)| c == other)
                .map_or("internal", |(_, n)| n),
        }
    }

    /// The code written `s`: a rule id, or one of the names above. Anything else is not a code.
    pub fn parse(s: &str) -> Option<Code> {
        if is_rule_id(s) {
            return Some(Code::Rule(s.to_string()));
        }
        Code::NAMED
            .iter()
            .find(|(_, n)| !n.is_empty() && *n == s)
            .map(|(c, _)| c.clone())
    }

    /// What the refusal means, in Chinese, for the people who read it on a page: by the rule
    /// for a rule's refusal, by its kind otherwise. The message keeps the particulars.
    pub fn explain_zh(&self) -> String {
        let fixed = match self {
            Code::Rule(id) => {
                return match id.as_str() {
                    "R-1" => "超出本省本批次推荐名额（R-1）".into(),
                    "R-2" => "推荐集中于单一领域（R-2）".into(),
                    "R-3" => "不在本辖区：省级只推荐本省单位，市级只审核本市单位（R-3）".into(),
                    "R-4" => "已过本环节截止日期（R-4）".into(),
                    "R-5" => "公示期未满或公示异议成立，暂不能列入名单（R-5）".into(),
                    "D-3" => "复核未通过（D-3）".into(),
                    "D-5" => "菌种泄露造成较大经济损失（D-5）".into(),
                    g if g.starts_with("G-") => format!("不符合申报条件 {g}"),
                    d if d.starts_with("D-") => format!("不符合动态管理规则 {d}"),
                    k if k.starts_with("K-") => format!("不符合目标与指标规则 {k}"),
                    c if c.starts_with("C-") => format!("不符合揭榜挂帅规则 {c}"),
                    other => format!("不符合规则 {other}"),
                }
            }
            Code::StateConflict => "当前状态下不能办理此事项",
            Code::VersionConflict => "数据已被他人更新，请刷新后重试",
            Code::Duplicate => "已办理过，不能重复办理",
            Code::CommandIdReused => "此表单已用于其他事项，请刷新页面后重新填写",
            Code::InvalidInput => "填写内容有误",
            Code::MalformedJson => "提交的数据格式有误",
            Code::BodyTooLarge => "提交的内容过大",
            Code::ImpossibleDate => "日期无效",
            Code::FutureBusinessDate => "业务日期不能晚于今天",
            Code::BusinessDateNotToday => "本单位办理的事项以提交当日为准，不能另填日期",
            Code::Unauthenticated => "未登录或登录已失效",
            Code::Forbidden => "无权办理（角色或辖区不符）",
            Code::NotFound => "未找到",
            Code::TooManyRequests => "请求过于频繁，请稍后再试",
            Code::Unavailable => "系统暂时不可用，请稍后重试",
            Code::Internal => "系统内部错误",
        };
        fixed.to_string()
    }

    /// The rule id, when a rule refused.
    pub fn rule(&self) -> Option<&str> {
        match self {
            Code::Rule(id) => Some(id),
            _ => None,
        }
    }

    /// What kind of failure the code is; the API's HTTP status follows from it.
    pub fn kind(&self) -> Kind {
        match self {
            Code::Rule(_) | Code::FutureBusinessDate | Code::BusinessDateNotToday => Kind::Business,
            Code::StateConflict
            | Code::VersionConflict
            | Code::Duplicate
            | Code::CommandIdReused => Kind::Conflict,
            Code::InvalidInput | Code::MalformedJson | Code::ImpossibleDate => Kind::BadInput,
            Code::BodyTooLarge => Kind::TooLarge,
            Code::Unauthenticated => Kind::Unauthenticated,
            Code::Forbidden => Kind::Forbidden,
            Code::NotFound => Kind::NotFound,
            Code::TooManyRequests => Kind::Throttled,
            Code::Unavailable => Kind::Outage,
            Code::Internal => Kind::Internal,
        }
    }

    /// Whether the same command may succeed when tried again unchanged: an outage, a
    /// concurrent writer, a fault of the system (what the policy consumer retries).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Code::Unavailable | Code::VersionConflict | Code::Internal
        )
    }
}

impl From<&str> for Code {
    /// A rule id or a code's name; anything else is a fault of the caller, kept as `internal`.
    fn from(s: &str) -> Code {
        Code::parse(s).unwrap_or_else(|| {
            debug_assert!(false, "'{s}' is not a refusal code");
            Code::Internal
        })
    }
}

impl From<&String> for Code {
    fn from(s: &String) -> Code {
        Code::from(s.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Code {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Code, D::Error> {
        let s = String::deserialize(d)?;
        Code::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown code '{s}'")))
    }
}

/// The codes that are not rule ids, by name.
pub mod code {
    use super::Code;
    /// [`Code::StateConflict`] (`state_conflict`).
    pub const STATE_CONFLICT: Code = Code::StateConflict;
    /// [`Code::VersionConflict`] (`version_conflict`).
    pub const VERSION_CONFLICT: Code = Code::VersionConflict;
    /// [`Code::Forbidden`] (`forbidden`).
    pub const FORBIDDEN: Code = Code::Forbidden;
    /// [`Code::InvalidInput`] (`invalid_input`).
    pub const INVALID_INPUT: Code = Code::InvalidInput;
    /// [`Code::NotFound`] (`not_found`).
    pub const NOT_FOUND: Code = Code::NotFound;
    /// [`Code::ImpossibleDate`] (`impossible_date`).
    pub const IMPOSSIBLE_DATE: Code = Code::ImpossibleDate;
    /// [`Code::FutureBusinessDate`] (`future_business_date`).
    pub const FUTURE_BUSINESS_DATE: Code = Code::FutureBusinessDate;
    /// [`Code::BusinessDateNotToday`] (`business_date_not_today`).
    pub const BUSINESS_DATE_NOT_TODAY: Code = Code::BusinessDateNotToday;
    /// [`Code::CommandIdReused`] (`command_id_reused`).
    pub const COMMAND_ID_REUSED: Code = Code::CommandIdReused;
    /// [`Code::Duplicate`] (`duplicate`).
    pub const DUPLICATE: Code = Code::Duplicate;
    /// [`Code::Unavailable`] (`unavailable`).
    pub const UNAVAILABLE: Code = Code::Unavailable;
    /// [`Code::Internal`] (`internal`).
    pub const INTERNAL: Code = Code::Internal;
    /// [`Code::MalformedJson`] (`malformed_json`).
    pub const MALFORMED_JSON: Code = Code::MalformedJson;
    /// [`Code::Unauthenticated`] (`unauthenticated`).
    pub const UNAUTHENTICATED: Code = Code::Unauthenticated;
    /// [`Code::BodyTooLarge`] (`body_too_large`).
    pub const BODY_TOO_LARGE: Code = Code::BodyTooLarge;
    /// [`Code::TooManyRequests`] (`too_many_requests`).
    pub const TOO_MANY_REQUESTS: Code = Code::TooManyRequests;
}

/// A store failure as the refusal a caller sees: conflicts as conflicts, outages and faults without
/// the driver's words (those go to the log).
pub fn store_refusal(e: crate::store::StoreError) -> Refusal {
    use crate::store::StoreError;
    match e {
        StoreError::VersionConflict { stream_id, expected, actual } => Refusal::new(
            code::VERSION_CONFLICT,
            format!("{stream_id} is at version {actual}, the command expected {expected}; reload and retry"),
        ).zh("数据已被他人更新，请刷新页面后重新办理"),
        StoreError::CommandIdReused(id) => Refusal::new(
            code::COMMAND_ID_REUSED,
            format!("command id {id} was already used for a different command; use a new command id"),
        )
        .at("command_id").zh("此表单已提交过其他内容，请刷新页面后重新填写"),
        // The driver's words (SQL, hosts, database names) go to the log, never to a caller
        // (review M2, L4).
        StoreError::Unavailable(m) => {
            tracing::warn!(error = %m, "event store unavailable");
            Refusal::new(code::UNAVAILABLE, "the event store is unavailable; retry shortly (the cause is in the server's log)").zh("数据库暂时不可用，请稍后重试")
        }
        StoreError::Other(m) => {
            tracing::error!(error = %m, "event store error");
            Refusal::new(code::INTERNAL, "the event store could not complete the operation (the cause is in the server's log)").zh("数据库未能完成操作，请联系系统管理员")
        }
    }
}

/// A refused command or request: its stable code, a message for whoever sent it, and the
/// offending field when one applies. A refusal appends nothing (RULES.md §11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Refusal {
    /// The stable code: a rule id (`G-4`, `R-1` …) or one of the named codes.
    pub code: Code,
    /// What went wrong, in words a provincial clerk understands.
    pub message: String,
    /// Path of the offending field (e.g. `form.site.area_m2`), when one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The same particulars in Chinese, for the Chinese pages (the API keeps `message`). Every
    /// refusal a form on the pages can meet says it; the pages fall back to `message` for the
    /// rest (refusals only a hand-written API request can meet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_zh: Option<String>,
}

impl Refusal {
    /// A refusal with `code` and `message`, naming no field.
    pub fn new(code: impl Into<Code>, message: impl Into<String>) -> Refusal {
        Refusal {
            code: code.into(),
            message: message.into(),
            field: None,
            message_zh: None,
        }
    }

    /// The particulars in Chinese (see [`Refusal::message_zh`]).
    pub fn zh(mut self, message_zh: impl Into<String>) -> Refusal {
        self.message_zh = Some(message_zh.into());
        self
    }

    /// Names the offending field.
    pub fn at(mut self, field: &str) -> Refusal {
        self.field = Some(field.to_string());
        self
    }

    /// An `invalid_input` refusal of `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Refusal {
        Refusal::new(code::INVALID_INPUT, message).at(field)
    }

    /// A `forbidden` refusal.
    pub fn forbidden(message: impl Into<String>) -> Refusal {
        Refusal::new(code::FORBIDDEN, message)
    }

    /// A `not_found` refusal.
    pub fn not_found(message: impl Into<String>) -> Refusal {
        Refusal::new(code::NOT_FOUND, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_as_it_is_written() {
        for (c, name) in Code::NAMED.iter().filter(|(_, n)| !n.is_empty()) {
            assert_eq!(Code::parse(name).as_ref(), Some(c), "{name}");
            assert_eq!(c.as_str(), *name);
            let json = serde_json::to_value(c).unwrap();
            assert_eq!(serde_json::from_value::<Code>(json).unwrap(), *c);
        }
        assert_eq!(Code::parse("G-12"), Some(Code::Rule("G-12".into())));
        assert_eq!(Code::parse("G-"), None);
        assert_eq!(Code::parse("no_such_code"), None);
        assert!(serde_json::from_value::<Code>(serde_json::json!("no_such_code")).is_err());
    }

    #[test]
    fn outages_and_lost_races_are_retried_refusals_are_not() {
        assert!(code::UNAVAILABLE.is_transient());
        assert!(code::VERSION_CONFLICT.is_transient());
        for final_ in [
            Code::Rule("D-4".into()),
            code::STATE_CONFLICT,
            code::FORBIDDEN,
            code::NOT_FOUND,
            code::INVALID_INPUT,
            code::DUPLICATE,
        ] {
            assert!(!final_.is_transient(), "{final_}");
        }
        assert_eq!(Code::Rule("R-1".into()).kind(), Kind::Business);
        assert_eq!(code::COMMAND_ID_REUSED.kind(), Kind::Conflict);
        assert_eq!(code::UNAVAILABLE.kind(), Kind::Outage);
    }
}

#[cfg(test)]
mod explain_tests {
    use super::*;

    #[test]
    fn every_code_is_explained_in_chinese() {
        for (c, name) in Code::NAMED.iter().filter(|(_, n)| !n.is_empty()) {
            let zh = c.explain_zh();
            assert!(
                zh.chars().any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch)),
                "{name}: {zh}"
            );
        }
        assert_eq!(
            Code::Rule("R-1".into()).explain_zh(),
            "超出本省本批次推荐名额（R-1）"
        );
        assert_eq!(Code::Rule("G-4".into()).explain_zh(), "不符合申报条件 G-4");
    }
}
