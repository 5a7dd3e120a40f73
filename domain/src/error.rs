//! Refusals: every refused command gets a stable code (a rule id such as `R-1`, or one of the
//! codes below), a message a provincial clerk understands, and the field path when one applies.

use serde::{Deserialize, Serialize};

/// Error codes that are not rule ids.
pub mod code {
    pub const STATE_CONFLICT: &str = "state_conflict";
    pub const VERSION_CONFLICT: &str = "version_conflict";
    pub const FORBIDDEN: &str = "forbidden";
    pub const INVALID_INPUT: &str = "invalid_input";
    pub const NOT_FOUND: &str = "not_found";
    pub const IMPOSSIBLE_DATE: &str = "impossible_date";
    /// A business date after today (Asia/Shanghai): no act takes effect in the future (SPEC §12).
    pub const FUTURE_BUSINESS_DATE: &str = "future_business_date";
    /// An applicant's, city's or province's act stated a business date other than the day it
    /// is recorded (SPEC §12): those acts happen when they are recorded.
    pub const BUSINESS_DATE_NOT_TODAY: &str = "business_date_not_today";
    pub const COMMAND_ID_REUSED: &str = "command_id_reused";
    pub const DUPLICATE: &str = "duplicate";
    pub const UNAVAILABLE: &str = "unavailable";
    pub const INTERNAL: &str = "internal";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Refusal {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Refusal {
    pub fn new(code: &str, message: impl Into<String>) -> Refusal {
        Refusal {
            code: code.to_string(),
            message: message.into(),
            field: None,
        }
    }

    pub fn at(mut self, field: &str) -> Refusal {
        self.field = Some(field.to_string());
        self
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Refusal {
        Refusal::new(code::INVALID_INPUT, message).at(field)
    }

    pub fn forbidden(message: impl Into<String>) -> Refusal {
        Refusal::new(code::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> Refusal {
        Refusal::new(code::NOT_FOUND, message)
    }
}
