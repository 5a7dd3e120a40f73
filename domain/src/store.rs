//! Ports of the event store and the token store. Adapters (PostgreSQL, SQLite) implement them;
//! the contract suite in `tests/` runs the same assertions against every adapter.
//!
//! The store knows nothing of domain event types: it keeps JSON payloads with their type and
//! schema version. Decoding and upcasting belong to the domain (`crate::events`).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::actor::{Actor, Role};

/// Everything recorded about an event besides its payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventMetadata {
    pub actor: Actor,
    pub command_id: Uuid,
    pub correlation_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    /// System time at which the store accepted the event (the "as known at" axis).
    pub recorded_at: DateTime<Utc>,
    /// Date on which the decision took effect (the "as of" axis), Asia/Shanghai calendar.
    pub business_date: NaiveDate,
    /// The operator who migrated this event from history (`roster import --backfill`, the demo);
    /// absent for every act recorded as it happened (RULES.md §12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfilled_by: Option<String>,
}

/// An entry recorded more than this many days after its business date is a late entry (RULES.md §12).
pub const LATE_ENTRY_DAYS: i64 = 30;

impl EventMetadata {
    /// Recorded more than 30 days after it took effect (a decision entered late, or history
    /// migrated by a backfill): shown as such on the timeline.
    pub fn late_entry(&self) -> bool {
        late_entry(self.business_date, self.recorded_at)
    }
}

/// Whether an act of `business_date` recorded at `recorded_at` is a late entry (> 30 days).
pub fn late_entry(business_date: NaiveDate, recorded_at: DateTime<Utc>) -> bool {
    let recorded_day = crate::clock::business_day(recorded_at);
    (recorded_day - business_date).num_days() > LATE_ENTRY_DAYS
}

/// An event about to be appended.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u32,
    pub payload: Value,
    pub metadata: EventMetadata,
}

/// Optimistic concurrency expectation for one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// The stream must have no events.
    NoStream,
    /// The stream's last version must be exactly this (versions start at 1).
    Exact(u64),
}

impl ExpectedVersion {
    pub fn from_current(version: u64) -> Self {
        if version == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(version)
        }
    }

    pub fn as_u64(self) -> u64 {
        match self {
            ExpectedVersion::NoStream => 0,
            ExpectedVersion::Exact(v) => v,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StreamAppend {
    pub stream_id: String,
    pub expected_version: ExpectedVersion,
    pub events: Vec<NewEvent>,
}

/// The first result of a command, kept under its command id so that a repeated command id
/// returns it and appends nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandRecord {
    pub command_id: Uuid,
    /// Hash of the command's canonical JSON: the same id with a different command is refused.
    pub fingerprint: String,
    pub result: Value,
    pub recorded_at: DateTime<Utc>,
}

/// One line of the audit log: who tried what, and what came of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub recorded_at: DateTime<Utc>,
    pub actor: Actor,
    pub command_id: Option<Uuid>,
    pub command_type: String,
    /// Stream the command addressed (e.g. `platform-xyz`, `round-2025`), when known.
    pub target: Option<String>,
    /// `accepted` or `refused`.
    pub outcome: String,
    /// Stable error code on refusal (`G-8`, `R-1`, `forbidden`, `state_conflict` …).
    pub error_code: Option<String>,
    pub detail: Option<String>,
}

impl AuditEntry {
    /// The entry as the audit log keeps it: what a caller sent (a path, a detail quoting its
    /// input) is cut to a bounded length and stripped of control characters, NUL included, so
    /// that any refusal can be recorded on every store and no caller can write megabytes or
    /// forge lines into the log (review H3, M2).
    pub fn bounded(mut self) -> AuditEntry {
        fn clean(s: &str, max: usize) -> String {
            let mut out: String = s
                .chars()
                .take(max)
                .map(|c| if c.is_control() { '\u{fffd}' } else { c })
                .collect();
            if s.chars().nth(max).is_some() {
                out.push('…');
            }
            out
        }
        self.command_type = clean(&self.command_type, AUDIT_WHAT_MAX);
        self.target = self.target.map(|t| clean(&t, AUDIT_WHAT_MAX));
        self.error_code = self.error_code.map(|c| clean(&c, 64));
        self.detail = self.detail.map(|d| clean(&d, AUDIT_DETAIL_MAX));
        self.actor.id = clean(&self.actor.id, AUDIT_WHAT_MAX);
        self
    }
}

/// The longest request path or command name an audit line keeps (characters).
pub const AUDIT_WHAT_MAX: usize = 200;
/// The longest detail an audit line keeps (characters).
pub const AUDIT_DETAIL_MAX: usize = 1000;

/// Everything one accepted command writes, in one transaction: events for one or more streams
/// (each with its own expected version), the command record and the audit line.
#[derive(Debug, Clone, PartialEq)]
pub struct Commit {
    pub command: CommandRecord,
    pub streams: Vec<StreamAppend>,
    pub audit: AuditEntry,
}

/// A stored event as read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredEvent {
    pub global_position: i64,
    /// PostgreSQL: the writing transaction's xid8. SQLite (one writer): always 0.
    pub transaction_id: u64,
    pub stream_id: String,
    pub version: u64,
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u32,
    #[schema(value_type = Object)]
    pub payload: Value,
    #[schema(value_type = Object)]
    pub metadata: EventMetadata,
}

impl StoredEvent {
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            transaction_id: self.transaction_id,
            global_position: self.global_position,
        }
    }
}

/// Keyset cursor over the global log: `(transaction_id, global_position)`. A bare position
/// cursor skips transactions that commit late; this one does not (ARCHITECTURE.md, "Storage").
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub struct Checkpoint {
    pub transaction_id: u64,
    pub global_position: i64,
}

impl Checkpoint {
    pub const START: Checkpoint = Checkpoint {
        transaction_id: 0,
        global_position: 0,
    };
}

#[derive(Debug, Clone, PartialEq)]
pub enum AppendOutcome {
    /// Events were appended; the new version of each stream, in the order of `Commit::streams`.
    Appended {
        versions: Vec<u64>,
        last_position: i64,
    },
    /// The command id was already recorded with the same fingerprint: nothing was appended.
    Duplicate(CommandRecord),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StoreError {
    #[error("stream {stream_id} is at version {actual}, the command expected {expected}")]
    VersionConflict {
        stream_id: String,
        expected: u64,
        actual: u64,
    },
    #[error("command id {0} was already used for a different command")]
    CommandIdReused(Uuid),
    #[error("event store unavailable: {0}")]
    Unavailable(String),
    #[error("event store error: {0}")]
    Other(String),
}

/// The event store port.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Appends a commit atomically: all streams' events, the command record and the audit line,
    /// or nothing. A command id already recorded returns `Duplicate` (same fingerprint) or
    /// `CommandIdReused` (different fingerprint) and appends nothing.
    async fn append(&self, commit: Commit) -> Result<AppendOutcome, StoreError>;

    /// The recorded first result of a command id, if any.
    async fn find_command(&self, command_id: Uuid) -> Result<Option<CommandRecord>, StoreError>;

    /// Events of a stream with version > `after_version`, in version order.
    async fn load_stream(
        &self,
        stream_id: &str,
        after_version: u64,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// Up to `limit` events after the checkpoint in commit order, never skipping a transaction
    /// that was still in flight when an earlier call returned.
    async fn read_all_after(
        &self,
        after: Checkpoint,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// How many events lie after `after` (a reader's lag). Adapters answer with one query;
    /// this default pages through the log.
    async fn count_after(&self, after: Checkpoint) -> Result<u64, StoreError> {
        let mut from = after;
        let mut n = 0u64;
        loop {
            let batch = self.read_all_after(from, 10_000).await?;
            match batch.last() {
                Some(last) => from = last.checkpoint(),
                None => return Ok(n),
            }
            n += batch.len() as u64;
        }
    }

    /// Ids of streams starting with `prefix`, sorted.
    async fn stream_ids(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// Records a refused command (nothing else is written).
    async fn record_refusal(&self, entry: AuditEntry) -> Result<(), StoreError>;

    /// The newest `limit` audit lines, newest first.
    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
}

/// A bearer token as stored: only the SHA-256 hash of the secret is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub token_hash: String,
    pub actor_id: String,
    pub role: Role,
    pub jurisdiction: Option<String>,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn insert_token(&self, token: TokenRecord) -> Result<(), StoreError>;
    async fn find_token(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError>;
    /// Marks a token revoked; returns false when no such token exists.
    async fn revoke_token(&self, token_hash: &str, at: DateTime<Utc>) -> Result<bool, StoreError>;
}

impl TokenRecord {
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.actor_id.clone(),
            role: self.role,
            jurisdiction: self.jurisdiction.clone(),
        }
    }
}

/// Where a deadline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineState {
    /// Waiting for its day.
    Pending,
    /// Its command was accepted (or had been, under the same id).
    Fired,
    /// Its command was refused (e.g. the review had been opened by hand): it will not fire.
    Refused,
    /// The listing it belonged to ended before it fired.
    Cancelled,
}

impl DeadlineState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineState::Pending => "pending",
            DeadlineState::Fired => "fired",
            DeadlineState::Refused => "refused",
            DeadlineState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<DeadlineState> {
        [
            DeadlineState::Pending,
            DeadlineState::Fired,
            DeadlineState::Refused,
            DeadlineState::Cancelled,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// A deadline with its bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadlineRecord {
    #[serde(flatten)]
    pub deadline: crate::policies::Deadline,
    pub state: DeadlineState,
    pub scheduled_at: DateTime<Utc>,
    /// When it fired, was refused or cancelled.
    pub settled_at: Option<DateTime<Utc>>,
    /// The command it issued.
    pub command_id: Option<Uuid>,
    /// Why it was refused or cancelled.
    pub note: Option<String>,
}

/// The deadline table (D-1, D-2): written by the policy consumer, fired by the scheduler. Every
/// operation is idempotent, so replaying the events that scheduled deadlines, or two schedulers
/// settling one deadline, changes nothing more.
#[async_trait]
pub trait DeadlineStore: Send + Sync {
    /// Inserts the deadlines whose id is not known yet; returns how many were new.
    async fn schedule(
        &self,
        deadlines: &[crate::policies::Deadline],
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Cancels the pending deadlines of one listing of a platform; returns how many.
    async fn cancel_pending(
        &self,
        platform_id: &str,
        listed_on: NaiveDate,
        note: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Pending deadlines to fire by `today`, oldest first.
    async fn due(
        &self,
        today: NaiveDate,
        limit: usize,
    ) -> Result<Vec<crate::policies::Deadline>, StoreError>;

    /// Settles a pending deadline as fired or refused; false when it was no longer pending.
    async fn settle(
        &self,
        deadline_id: &str,
        state: DeadlineState,
        command_id: Uuid,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Deadlines by fire date: only pending ones, or all; at most `limit`.
    async fn deadlines(
        &self,
        pending_only: bool,
        limit: usize,
    ) -> Result<Vec<DeadlineRecord>, StoreError>;
}
