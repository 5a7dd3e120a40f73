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
    /// Who acted: id, role and jurisdiction.
    pub actor: Actor,
    /// The command that wrote the event.
    pub command_id: Uuid,
    /// Groups the events of one piece of work: the client's correlation id, else the command id;
    /// a policy's command carries the one of the event it answers.
    pub correlation_id: Uuid,
    /// The event behind the command: set only on commands of the process managers (a policy's
    /// triggering event, the event that scheduled a deadline); a client cannot set it.
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
    /// Its id, derived from the command id and the event's index, so a decision is reproducible.
    pub event_id: Uuid,
    /// Its type, e.g. `PlatformListed`; type strings never change.
    pub event_type: String,
    /// The version of the payload's schema for this type (a changed payload bumps it).
    pub schema_version: u32,
    /// The event's data as JSON.
    pub payload: Value,
    /// Who, when it was recorded, and as of which business date.
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
    /// The expectation for a stream now at `version`: `NoStream` for 0, else `Exact`.
    pub fn from_current(version: u64) -> Self {
        if version == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(version)
        }
    }

    /// The expected version as a number: 0 for `NoStream`.
    pub fn as_u64(self) -> u64 {
        match self {
            ExpectedVersion::NoStream => 0,
            ExpectedVersion::Exact(v) => v,
        }
    }
}

/// The events one commit appends to one stream, with the version the stream must be at.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamAppend {
    /// The stream: `platform-<id>`, `round-<id>` or `targetset-<id>`.
    pub stream_id: String,
    /// The version the stream must be at; otherwise nothing of the commit is written
    /// (`StoreError::VersionConflict`).
    pub expected_version: ExpectedVersion,
    /// The events in order; they take the versions that follow the expected one.
    pub events: Vec<NewEvent>,
}

/// The first result of a command, kept under its command id so that a repeated command id
/// returns it and appends nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandRecord {
    /// The command's id.
    pub command_id: Uuid,
    /// Hash of the command's canonical JSON: the same id with a different command is refused.
    pub fingerprint: String,
    /// The command's result as JSON, returned again for a repeated command id.
    pub result: Value,
    /// When the command was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// One line of the audit log: who tried what, and what came of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// When the line was written.
    pub recorded_at: DateTime<Utc>,
    /// Who tried: the actor of the token presented (revoked or not), or `anonymous` when there
    /// was no token or an unknown one.
    pub actor: Actor,
    /// The command id sent; absent for a refused request that was not a command (a read, an
    /// authentication).
    pub command_id: Option<Uuid>,
    /// The command's name, or the method and path of a refused request (e.g. `GET /api/v1/audit`).
    pub command_type: String,
    /// Stream the command addressed (e.g. `platform-xyz`, `round-2025`), when known.
    pub target: Option<String>,
    /// `accepted` or `refused`.
    pub outcome: String,
    /// Stable error code on refusal (`G-8`, `R-1`, `forbidden`, `state_conflict` …).
    pub error_code: Option<String>,
    /// The refusal's message; for an accepted command, notes such as the backfill operator or a
    /// late entry (RULES.md §12).
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
    /// The command record, kept under the command id.
    pub command: CommandRecord,
    /// The events per stream, each with its expected version.
    pub streams: Vec<StreamAppend>,
    /// The audit line of the accepted command.
    pub audit: AuditEntry,
}

/// A stored event as read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredEvent {
    /// Position in the one log of all streams, assigned when the event was stored.
    pub global_position: i64,
    /// PostgreSQL: the writing transaction's xid8. SQLite (one writer): always 0.
    pub transaction_id: u64,
    /// The stream the event belongs to: `platform-<id>`, `round-<id>` or `targetset-<id>`.
    pub stream_id: String,
    /// Its version in the stream: 1, 2, 3 … without gaps.
    pub version: u64,
    /// Its id, derived from the id of the command that wrote it and its index in that command.
    pub event_id: Uuid,
    /// Its type, e.g. `PlatformListed`.
    pub event_type: String,
    /// The schema version of its payload; an older payload is upcast when decoded.
    pub schema_version: u32,
    /// The event's data.
    #[schema(value_type = Object)]
    pub payload: Value,
    /// Actor, command id, correlation and causation ids, recorded time (`recorded_at`) and
    /// business date (`business_date`).
    #[schema(value_type = Object)]
    pub metadata: EventMetadata,
}

impl StoredEvent {
    /// The log position of this event: a reader that has applied it reads on after this checkpoint.
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
    /// The transaction that wrote the last event covered (PostgreSQL xid8; 0 on SQLite).
    pub transaction_id: u64,
    /// The global position of the last event covered.
    pub global_position: i64,
}

impl Checkpoint {
    /// Before the first event: reading after it reads the whole log.
    pub const START: Checkpoint = Checkpoint {
        transaction_id: 0,
        global_position: 0,
    };
}

/// What `EventStore::append` did with a commit.
#[derive(Debug, Clone, PartialEq)]
pub enum AppendOutcome {
    /// Events were appended; the new version of each stream, in the order of `Commit::streams`.
    Appended {
        /// The new version of each stream.
        versions: Vec<u64>,
        /// The global position of the last event written (0 when the commit held no events).
        last_position: i64,
    },
    /// The command id was already recorded with the same fingerprint: nothing was appended.
    Duplicate(CommandRecord),
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StoreError {
    /// A stream was not at the version the commit expected (optimistic concurrency); nothing was
    /// written.
    #[error("stream {stream_id} is at version {actual}, the command expected {expected}")]
    VersionConflict {
        /// The stream.
        stream_id: String,
        /// The version the commit expected.
        expected: u64,
        /// The version the stream was found at.
        actual: u64,
    },
    /// The command id is recorded with a different command (fingerprint); nothing was written.
    #[error("command id {0} was already used for a different command")]
    CommandIdReused(Uuid),
    /// The store cannot be reached or used right now (connection, lock, disk): worth retrying.
    #[error("event store unavailable: {0}")]
    Unavailable(String),
    /// Any other failure (bad data, a broken invariant, a bug): a retry would not fix it.
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
    /// Hex-encoded SHA-256 of the token's secret: the key the token is found by.
    pub token_hash: String,
    /// The actor id of its requests (in their events and audit lines).
    pub actor_id: String,
    /// The role it acts in.
    pub role: Role,
    /// The applicant's USCC, the city's 6-digit code or the province's code (or `XPCC`); `None`
    /// for the ministry and analysts.
    pub jurisdiction: Option<String>,
    /// Who holds it, as given when it was issued.
    pub label: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; a revoked token authenticates no request.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The token store port: bearer tokens, found by the hash of their secret (RULES.md §10).
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a new token; a hash already stored is refused (`StoreError::Other`) and the stored
    /// token is kept.
    async fn insert_token(&self, token: TokenRecord) -> Result<(), StoreError>;
    /// The token with this hash, revoked or not; `None` when there is none.
    async fn find_token(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError>;
    /// Marks a token revoked; returns false when no such token exists.
    async fn revoke_token(&self, token_hash: &str, at: DateTime<Utc>) -> Result<bool, StoreError>;
}

/// An applicant's draft of an application (暂存): its private working copy, not an event. It
/// keeps the fields as typed, valid or not, so a half-filled form comes back as it was left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// The actor who owns it; nobody else reads it.
    pub owner: String,
    /// The draft's id, unique per owner.
    pub draft_id: String,
    /// The form's fields as posted: name and text, in order.
    pub fields: Vec<(String, String)>,
    /// When it was last saved.
    pub updated_at: DateTime<Utc>,
}

/// The draft store port: an applicant's drafts, by owner.
#[async_trait]
pub trait DraftStore: Send + Sync {
    /// Stores the draft, replacing the owner's draft of the same id.
    async fn save_draft(&self, draft: Draft) -> Result<(), StoreError>;
    /// The owner's draft of this id; `None` when there is none.
    async fn load_draft(&self, owner: &str, draft_id: &str) -> Result<Option<Draft>, StoreError>;
    /// The owner's drafts, the most recently saved first.
    async fn drafts(&self, owner: &str) -> Result<Vec<Draft>, StoreError>;
    /// Deletes the owner's draft; false when there was none.
    async fn delete_draft(&self, owner: &str, draft_id: &str) -> Result<bool, StoreError>;
}

/// The read mark port: up to when a user has read their notifications (通知), by owner.
#[async_trait]
pub trait ReadMarkStore: Send + Sync {
    /// Marks everything recorded up to `upto` read; an earlier mark never moves it back.
    async fn mark_read(&self, owner: &str, upto: DateTime<Utc>) -> Result<(), StoreError>;
    /// Up to when the owner has read; `None` when never.
    async fn read_upto(&self, owner: &str) -> Result<Option<DateTime<Utc>>, StoreError>;
}

/// A stored file (佐证材料): its bytes are found by their SHA-256, so the same document uploaded
/// twice is stored once and an event that names the hash names exactly those bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// SHA-256 of the bytes, 64 lower-case hex digits.
    pub sha256: String,
    /// The media type found from the bytes (`application/pdf`, `image/png`, `image/jpeg`).
    pub media_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// The attachment store port: content-addressed files.
#[async_trait]
pub trait AttachmentStore: Send + Sync {
    /// Stores the file under its hash; storing the same hash again changes nothing. The caller
    /// has computed the hash from the bytes.
    async fn put_file(&self, file: StoredFile) -> Result<(), StoreError>;
    /// The file with this hash; `None` when there is none.
    async fn get_file(&self, sha256: &str) -> Result<Option<StoredFile>, StoreError>;
}

impl TokenRecord {
    /// The actor a request authenticated with this token acts as.
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
    /// Its spelling in the store and in JSON: `pending`, `fired`, `refused` or `cancelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineState::Pending => "pending",
            DeadlineState::Fired => "fired",
            DeadlineState::Refused => "refused",
            DeadlineState::Cancelled => "cancelled",
        }
    }

    /// The state `as_str` spells `s`, if any.
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
    /// The deadline itself.
    #[serde(flatten)]
    pub deadline: crate::policies::Deadline,
    /// Where it stands.
    pub state: DeadlineState,
    /// When it was scheduled (system time).
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
