//! Who acts: every command and every stored event names its actor (RULES.md §1, §10).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The roles of RULES.md §10. `System` is the role of process managers (policies, scheduler);
/// `Anonymous` only names, in the audit log, a request that presented no valid token (no token
/// has it, and it may do nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Applicant,
    City,
    Province,
    Ministry,
    Analyst,
    System,
    Anonymous,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Applicant => "applicant",
            Role::City => "city",
            Role::Province => "province",
            Role::Ministry => "ministry",
            Role::Analyst => "analyst",
            Role::System => "system",
            Role::Anonymous => "anonymous",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "applicant" => Role::Applicant,
            "city" => Role::City,
            "province" => Role::Province,
            "ministry" => Role::Ministry,
            "analyst" => Role::Analyst,
            "system" => Role::System,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated actor. `jurisdiction` is the applicant's USCC, the city's 6-digit code,
/// the province's 2-digit prefix (or `XPCC`); empty for ministry, analyst and system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    pub id: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
}

impl Actor {
    /// The actor of a request that presented no valid token (for the audit log only; review
    /// L1: it was recorded as an analyst, so a filter on analysts returned attackers).
    pub fn anonymous() -> Actor {
        Actor {
            id: "anonymous".into(),
            role: Role::Anonymous,
            jurisdiction: None,
        }
    }

    pub fn system(policy: &str) -> Actor {
        Actor {
            id: format!("system:{policy}"),
            role: Role::System,
            jurisdiction: None,
        }
    }
}
