//! A command as every driving side hands it to the command service: the envelope (command id,
//! business date, expected version, correlation), what it addresses, and the outcome of an
//! accepted command.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::actor::Role;
use crate::challenge::{Call, ChallengeCommand};
use crate::commands::{OpenRound, PlatformCommand};
use crate::platform::Platform;
use crate::round::Round;
use crate::targets::{TargetSet, TargetSetCommand};

/// What a command addresses.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Target {
    /// A platform command, on the platform's stream.
    Platform {
        /// The platform addressed (see `valid_platform_id`).
        platform_id: String,
        /// The command on it.
        command: PlatformCommand,
    },
    /// The opening of a round, on the round's stream.
    OpenRound {
        /// The round to open.
        open_round: OpenRound,
    },
    /// A command on a KPI target set (define or retire it), on the set's stream.
    TargetSet {
        /// The command on the set.
        command: TargetSetCommand,
    },
    /// A command of the bioreactor open competition, on its call's stream (RULES.md §9).
    Call {
        /// The call addressed (for `OpenCall`, the call it opens).
        call_id: String,
        /// The command on it.
        command: ChallengeCommand,
    },
}

impl Target {
    /// The command's kind in the registry (`crate::registry`).
    pub fn kind(&self) -> crate::registry::CommandKind {
        match self {
            Target::Platform { command, .. } => command.kind(),
            Target::OpenRound { .. } => crate::registry::CommandKind::OpenRound,
            Target::TargetSet { command } => command.kind(),
            Target::Call { command, .. } => command.kind(),
        }
    }

    /// The command's name in the registry (`type` in a request).
    pub fn command_name(&self) -> &'static str {
        self.kind().name()
    }

    /// The command's own fields as JSON (for the input bounds of RULES.md §11).
    pub fn fields(&self) -> serde_json::Value {
        match self {
            Target::Platform { command, .. } => serde_json::to_value(command),
            Target::OpenRound { open_round } => serde_json::to_value(open_round),
            Target::TargetSet { command } => serde_json::to_value(command),
            Target::Call { command, .. } => serde_json::to_value(command),
        }
        .unwrap_or_default()
    }

    /// The stream the command addresses: `platform-<id>`, `round-<id>` or `targetset-<id>`.
    pub fn stream_id(&self) -> String {
        match self {
            Target::Platform { platform_id, .. } => Platform::stream_id(platform_id),
            Target::OpenRound { open_round } => Round::stream_id(&open_round.round_id),
            Target::TargetSet { command } => TargetSet::stream_id(command.target_set_id()),
            Target::Call { call_id, .. } => Call::stream_id(call_id),
        }
    }
}

/// A command as the service receives it (the actor comes from authentication, not the body).
#[derive(Debug, Clone, PartialEq)]
pub struct CommandRequest {
    /// Client-chosen id: sent again with the same request, it returns the first result and appends
    /// nothing; with a different request, it is refused (`command_id_reused`). The nil UUID is
    /// refused.
    pub command_id: Uuid,
    /// When the act takes effect. `None`: today (Asia/Shanghai, by the service's clock). The
    /// service refuses a date after today, and for applicants, cities and provinces any date but
    /// today (RULES.md §12); only the ministry, the system and a backfill state a past date.
    pub business_date: Option<NaiveDate>,
    /// Optimistic concurrency from the client: refuse if the target stream moved on.
    pub expected_version: Option<u64>,
    /// Groups related commands; recorded in every event's metadata (the command id when absent).
    pub correlation_id: Option<Uuid>,
    /// The event this command follows from; named only by the system's policies, never by a
    /// client.
    pub causation_id: Option<Uuid>,
    /// What the command addresses, with the command itself.
    pub target: Target,
}

/// An event appended by an accepted command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventRef {
    /// The event's id, derived from the command id and the event's index.
    pub event_id: Uuid,
    /// The event's type, e.g. `PlatformListed`.
    pub event_type: String,
    /// The stream it was appended to.
    pub stream_id: String,
    /// Its version in that stream (the first event of a stream is 1).
    pub version: u64,
}

/// The result of an accepted command; the same is returned for a repeated command id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CommandOutcome {
    /// The command's id.
    pub command_id: Uuid,
    /// The target stream.
    pub stream_id: String,
    /// The target stream's version after the command.
    pub version: u64,
    /// The events appended, in order; a province recommendation also appends to its round's
    /// stream.
    pub events: Vec<EventRef>,
    /// Accepted with warnings (e.g. R-2).
    pub warnings: Vec<String>,
    /// True when this is the recorded result of an earlier identical command.
    #[serde(default)]
    pub duplicate: bool,
}

/// Applicants, cities and provinces act on the day their act is recorded (RULES.md §12, R-4, C-5).
pub fn acts_when_recorded(role: Role) -> bool {
    matches!(
        role,
        Role::Applicant | Role::City | Role::Province | Role::Public
    )
}

/// Whether `id` can name a platform (lowercase letters, digits, `-`, `_`; 3-64 characters).
pub fn valid_platform_id(id: &str) -> bool {
    (3..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && id.as_bytes()[0].is_ascii_alphanumeric()
}
