//! Who acts: every command and every stored event names its actor (RULES.md §1, §10).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The roles of RULES.md §10. `System` is the role of process managers (policies, scheduler);
/// `Anonymous` only names, in the audit log, a request that presented no valid token (no token
/// has it, and it may do nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An applicant unit: acts only on its own platforms, by its USCC.
    Applicant,
    /// A city department (地级市工信局): endorses the applications of its city.
    City,
    /// A provincial department (省级工信主管部门) or the XPCC: verifies, recommends and rejects
    /// the applications of its province.
    Province,
    /// The ministry (MIIT with NDRC, or with CAS for the bioreactor programme): opens rounds,
    /// records evaluations, lists, reviews and delists.
    Ministry,
    /// An analyst: reads only, except that it may define and retire KPI target sets.
    Analyst,
    /// A process manager of dynamic management (policies, deadline scheduler).
    System,
    /// No valid token: names a refused request in the audit log, never an acting user.
    Anonymous,
    /// A member of the public, without a token, on the public face: files an objection during
    /// a public notice (RULES.md §13, R-5) and nothing else. No token has this role.
    Public,
}

impl Role {
    /// The code, as serialised (e.g. `ministry`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Applicant => "applicant",
            Role::City => "city",
            Role::Province => "province",
            Role::Ministry => "ministry",
            Role::Analyst => "analyst",
            Role::System => "system",
            Role::Anonymous => "anonymous",
            Role::Public => "public",
        }
    }

    /// The role as the Chinese pages and refusals name it.
    pub fn name_zh(self) -> &'static str {
        match self {
            Role::Applicant => "申报单位",
            Role::City => "市级主管部门",
            Role::Province => "省级主管部门",
            Role::Ministry => "工业和信息化部",
            Role::Analyst => "分析人员（只读）",
            Role::System => "系统",
            Role::Anonymous => "未登录",
            Role::Public => "社会公众",
        }
    }

    /// The role of a code; `None` for an unknown code and for `anonymous`, which no token may have.
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
    /// Who acts: a token's actor id, `system:<policy>` for a process manager, `anonymous`
    /// without a token.
    pub id: String,
    /// The role the actor acts in (RULES.md §10).
    pub role: Role,
    /// Where the actor may act (see above); absent for ministry, analyst and system.
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

    /// A member of the public filing on the public face, named by the client address it came
    /// from (for the audit log and abuse handling; not shown to the platform).
    pub fn public(address: &str) -> Actor {
        Actor {
            id: format!("public:{address}"),
            role: Role::Public,
            jurisdiction: None,
        }
    }

    /// The actor of a process manager: id `system:<policy>` (e.g. `system:policy D-4`), role
    /// `system`, no jurisdiction.
    pub fn system(policy: &str) -> Actor {
        Actor {
            id: format!("system:{policy}"),
            role: Role::System,
            jurisdiction: None,
        }
    }
}
