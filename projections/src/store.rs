//! The read-model store port. A projection's state is a set of JSON documents under keys, plus
//! the checkpoint of the last event it applied; documents and checkpoint move together in one
//! transaction, and only from the checkpoint the writer read (so two consumers of the same
//! projection can never both apply a batch). Adapters: PostgreSQL and SQLite.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use roster_domain::store::{Checkpoint, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// A change to one document: `Some` replaces it, `None` deletes it.
#[derive(Debug, Clone, PartialEq)]
pub struct DocChange {
    pub key: String,
    pub doc: Option<Value>,
}

/// Where a projection stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectionState {
    pub projection: String,
    pub checkpoint: Checkpoint,
    /// Events applied since the projection was (re)built.
    pub applied: u64,
    pub updated_at: Option<DateTime<Utc>>,
}

/// An event a projection could not decode or apply: skipped, kept for `roster dlq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub projection: String,
    pub global_position: i64,
    pub transaction_id: u64,
    pub event_id: Uuid,
    pub event_type: String,
    pub reason: String,
    pub recorded_at: DateTime<Utc>,
    /// Set when `roster dlq replay` applied it successfully.
    pub replayed_at: Option<DateTime<Utc>>,
}

/// What `commit` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    Committed,
    /// The stored checkpoint was not `from`: another writer moved it; nothing was written.
    Moved,
}

#[async_trait]
pub trait ReadModelStore: Send + Sync {
    /// The projection's state; `Checkpoint::START` and 0 applied when it never ran.
    async fn state(&self, projection: &str) -> Result<ProjectionState, StoreError>;

    /// Every projection that has a checkpoint.
    async fn states(&self) -> Result<Vec<ProjectionState>, StoreError>;

    /// The documents under `keys` that exist.
    async fn load(
        &self,
        projection: &str,
        keys: &[String],
    ) -> Result<BTreeMap<String, Value>, StoreError>;

    /// All documents whose key starts with `prefix` (empty: all), in key order.
    async fn scan(
        &self,
        projection: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Value)>, StoreError>;

    /// The documents `scan` returns, handed to `each` one at a time as they arrive, so a large
    /// model is never held twice (raw rows and decoded documents) before its reader folds it.
    /// `each` refusing a document ends the scan with that error. The default goes through
    /// `scan`; adapters whose models grow large stream.
    async fn scan_each(
        &self,
        projection: &str,
        prefix: &str,
        each: &mut (dyn FnMut(String, Value) -> Result<(), String> + Send),
    ) -> Result<(), StoreError> {
        for (key, doc) in self.scan(projection, prefix).await? {
            each(key, doc).map_err(StoreError::Other)?;
        }
        Ok(())
    }

    /// In one transaction: applies `changes`, records `dead_letters`, moves the checkpoint from
    /// `from` to `to` and adds `applied` to the count, but only if the stored checkpoint is
    /// still `from`; otherwise writes nothing and returns `Moved`.
    async fn commit(
        &self,
        projection: &str,
        from: Checkpoint,
        to: Checkpoint,
        applied: u64,
        changes: Vec<DocChange>,
        dead_letters: Vec<DeadLetter>,
    ) -> Result<CommitOutcome, StoreError>;

    /// Removes a projection's documents, checkpoint and dead letters (a rebuild target).
    async fn reset(&self, projection: &str) -> Result<(), StoreError>;

    /// Atomically makes `shadow`'s documents, checkpoint and dead letters those of `target`
    /// (replacing `target`'s) and leaves `shadow` empty: the last step of a rebuild, so
    /// readers see either the old or the new model, never a half-built one.
    async fn swap(&self, shadow: &str, target: &str) -> Result<(), StoreError>;

    /// Dead letters of one projection (or all), oldest first.
    async fn dead_letters(&self, projection: Option<&str>) -> Result<Vec<DeadLetter>, StoreError>;

    /// Marks a dead letter replayed.
    async fn mark_replayed(
        &self,
        projection: &str,
        event_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}
