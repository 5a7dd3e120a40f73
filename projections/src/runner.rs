//! Runs a projection over the event store: the one apply path used by the in-process tailer
//! (embedded default), the RabbitMQ consumers and `roster rebuild`.
//!
//! A broker delivery is treated as a notice that the log has reached a checkpoint: the runner
//! applies, in order and from the event store, every event between the projection's checkpoint
//! and that one. So a duplicate delivery applies nothing, a missing delivery (gap) is filled
//! from the store, and the order of deliveries does not matter. An event that cannot be decoded
//! or applied is dead-lettered and skipped, so later events keep flowing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use roster_domain::store::{Checkpoint, EventStore, StoreError, StoredEvent};
use serde_json::Value;

use crate::store::{CommitOutcome, DeadLetter, DocChange, ReadModelStore};

/// A read model as a pure fold over events into JSON documents.
pub trait Projection: Send + Sync {
    /// Stable name: table rows, queues and metrics carry it.
    fn name(&self) -> &'static str;

    /// The document keys `event` touches; empty when the event does not concern this model.
    fn keys(&self, event: &StoredEvent) -> Vec<String>;

    /// Folds `event` into `docs` (every key of `keys`, `None` where no document exists yet).
    /// An `Err` dead-letters the event, and it must then leave `docs` unchanged.
    fn apply(
        &self,
        event: &StoredEvent,
        docs: &mut BTreeMap<String, Option<Value>>,
    ) -> Result<(), String>;

    /// Folds a batch of events (in log order) into `docs`, returning the index and reason of
    /// every event that could not be applied (dead letters; they change nothing). Models
    /// override it to convert each document once per batch instead of once per event.
    fn apply_all(
        &self,
        events: &[StoredEvent],
        docs: &mut BTreeMap<String, Option<Value>>,
    ) -> Vec<(usize, String)> {
        let mut dead = Vec::new();
        for (i, e) in events.iter().enumerate() {
            let keys = self.keys(e);
            if keys.is_empty() {
                continue;
            }
            let mut scratch: BTreeMap<String, Option<Value>> = keys
                .iter()
                .map(|k| (k.clone(), docs.get(k).cloned().flatten()))
                .collect();
            match self.apply(e, &mut scratch) {
                Ok(()) => docs.extend(scratch),
                Err(reason) => dead.push((i, reason)),
            }
        }
        dead
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    pub applied: u64,
    pub dead_lettered: u64,
    pub checkpoint: Checkpoint,
}

/// Applies `events` (in log order, all after `from`) to the documents of `stored_as`, as one
/// commit. Returns `None` when another writer moved the checkpoint first.
pub async fn apply_batch(
    models: &dyn ReadModelStore,
    projection: &dyn Projection,
    stored_as: &str,
    from: Checkpoint,
    events: &[StoredEvent],
    now: DateTime<Utc>,
) -> Result<Option<Progress>, RunError> {
    apply_batch_noting(models, projection, stored_as, from, events, now, None).await
}

/// The keys a writer has stored, as hashes: a key whose hash is absent was never written, so a
/// sole writer (a rebuild into its shadow) need not ask the store for it. A rebuild from short
/// histories otherwise looks up every document it is about to create, one lookup per document
/// and model, for nothing. Hashes, not keys: 8 bytes per document, and a collision only costs a
/// lookup.
#[derive(Debug, Default)]
pub struct WrittenKeys {
    hashes: std::collections::HashSet<u64>,
}

impl WrittenKeys {
    fn hash(key: &str) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        h.finish()
    }

    /// Whether `key` may have been written (false: certainly not).
    pub fn may_hold(&self, key: &str) -> bool {
        self.hashes.contains(&Self::hash(key))
    }

    pub fn note(&mut self, key: &str) {
        self.hashes.insert(Self::hash(key));
    }
}

/// `apply_batch` for a sole writer that tracks what it wrote (`written`): keys it never wrote
/// are not loaded, and what the batch writes is noted once committed.
pub async fn apply_batch_noting(
    models: &dyn ReadModelStore,
    projection: &dyn Projection,
    stored_as: &str,
    from: Checkpoint,
    events: &[StoredEvent],
    now: DateTime<Utc>,
    written: Option<&mut WrittenKeys>,
) -> Result<Option<Progress>, RunError> {
    let Some(last) = events.last() else {
        return Ok(Some(Progress {
            checkpoint: from,
            ..Progress::default()
        }));
    };
    let mut wanted: Vec<String> = events.iter().flat_map(|e| projection.keys(e)).collect();
    wanted.sort();
    wanted.dedup();
    let loaded = match written.as_deref() {
        Some(w) => {
            let held: Vec<String> = wanted.iter().filter(|k| w.may_hold(k)).cloned().collect();
            if held.is_empty() {
                BTreeMap::new()
            } else {
                models.load(stored_as, &held).await?
            }
        }
        None => models.load(stored_as, &wanted).await?,
    };
    let mut docs: BTreeMap<String, Option<Value>> = wanted
        .iter()
        .map(|k| (k.clone(), loaded.get(k).cloned()))
        .collect();
    let original = docs.clone();
    let mut progress = Progress {
        checkpoint: last.checkpoint(),
        ..Progress::default()
    };
    let relevant = events
        .iter()
        .filter(|e| !projection.keys(e).is_empty())
        .count() as u64;
    let failed = projection.apply_all(events, &mut docs);
    progress.dead_lettered = failed.len() as u64;
    progress.applied = relevant - progress.dead_lettered;
    let dead: Vec<DeadLetter> = failed
        .into_iter()
        .map(|(i, reason)| {
            let e = &events[i];
            tracing::error!(projection = projection.name(), position = e.global_position, event_type = %e.event_type, %reason, "event dead-lettered");
            DeadLetter {
                projection: stored_as.to_string(),
                global_position: e.global_position,
                transaction_id: e.transaction_id,
                event_id: e.event_id,
                event_type: e.event_type.clone(),
                reason,
                recorded_at: now,
                replayed_at: None,
            }
        })
        .collect();
    let changes: Vec<DocChange> = docs
        .into_iter()
        .filter(|(k, v)| original.get(k) != Some(v))
        .map(|(key, doc)| DocChange { key, doc })
        .collect();
    let stored: Vec<String> = match written {
        Some(_) => changes
            .iter()
            .filter(|c| c.doc.is_some())
            .map(|c| c.key.clone())
            .collect(),
        None => Vec::new(),
    };
    match models
        .commit(
            stored_as,
            from,
            progress.checkpoint,
            progress.applied,
            changes,
            dead,
        )
        .await?
    {
        CommitOutcome::Committed => {
            if let Some(w) = written {
                for key in &stored {
                    w.note(key);
                }
            }
            Ok(Some(progress))
        }
        CommitOutcome::Moved => Ok(None),
    }
}

/// Brings `stored_as` (normally the projection's own name; a shadow name during a rebuild) up
/// to `until` (or the head of the log), in batches of `batch_size` events per transaction.
pub async fn catch_up(
    events: &dyn EventStore,
    models: &dyn ReadModelStore,
    projection: &dyn Projection,
    stored_as: &str,
    until: Option<Checkpoint>,
    batch_size: usize,
) -> Result<Progress, RunError> {
    let mut total = Progress::default();
    loop {
        let from = models.state(stored_as).await?.checkpoint;
        total.checkpoint = from;
        if until.is_some_and(|u| from >= u) {
            return Ok(total);
        }
        let mut batch = events.read_all_after(from, batch_size.max(1)).await?;
        if let Some(u) = until {
            batch.retain(|e| e.checkpoint() <= u);
        }
        if batch.is_empty() {
            return Ok(total);
        }
        if let Some(p) =
            apply_batch(models, projection, stored_as, from, &batch, Utc::now()).await?
        {
            total.applied += p.applied;
            total.dead_lettered += p.dead_lettered;
            total.checkpoint = p.checkpoint;
        }
    }
}
