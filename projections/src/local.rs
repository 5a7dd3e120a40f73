//! The embedded default's transport: followers run in-process over the event store, through the
//! same runner the broker consumers use. The application's runtime drives the read models and
//! then the policy consumer after each accepted command and every 250 ms; a report catches up
//! the read models only (`roster_app::App::read_your_writes`).

use std::sync::Arc;

use roster_domain::store::EventStore;

use crate::follower::{Follower, ProjectionFollower};
use crate::runner::{apply_batch_noting, Progress, Projection, RunError, WrittenKeys};
use crate::store::ReadModelStore;

/// Most events a follower applies per transaction: catching up a long log goes in large steps,
/// live events arrive in much smaller batches anyway.
pub const BATCH: usize = 2000;

pub struct LocalProjections {
    followers: Vec<Arc<dyn Follower>>,
}

impl LocalProjections {
    /// The read models `projections`, in-process.
    pub fn new(
        events: Arc<dyn EventStore>,
        models: Arc<dyn ReadModelStore>,
        projections: Vec<Arc<dyn Projection>>,
    ) -> Arc<Self> {
        Self::with_followers(ProjectionFollower::each(&events, &models, projections))
    }

    /// Any followers (read models, the policy consumer), run in the order given.
    pub fn with_followers(followers: Vec<Arc<dyn Follower>>) -> Arc<Self> {
        Arc::new(LocalProjections { followers })
    }

    /// Brings every follower up to the head of the log.
    pub async fn catch_up_all(&self) -> Result<Vec<(&'static str, Progress)>, RunError> {
        let mut out = Vec::with_capacity(self.followers.len());
        for f in &self.followers {
            out.push((f.name(), f.follow(None, BATCH).await?));
        }
        Ok(out)
    }
}

/// Rebuilds `projection` from the event store into a shadow, then swaps it in atomically.
/// `on_batch(applied_so_far)` reports progress.
pub async fn rebuild(
    events: &dyn EventStore,
    models: &dyn ReadModelStore,
    projection: &dyn Projection,
    batch_size: usize,
    mut on_batch: impl FnMut(u64),
) -> Result<Progress, RunError> {
    let shadow = format!("{}__rebuild", projection.name());
    models.reset(&shadow).await?;
    // Only this rebuild writes the shadow, so its checkpoint is tracked here; reading the next
    // batch (database-bound) overlaps with folding the current one (CPU-bound).
    let mut total = Progress::default();
    let mut from = models.state(&shadow).await?.checkpoint;
    let mut batch = events.read_all_after(from, batch_size.max(1)).await?;
    // The shadow starts empty and only this rebuild writes it: a document it has not written
    // yet does not exist, and is not looked up.
    let mut written = WrittenKeys::default();
    while let Some(last) = batch.last() {
        let next_from = last.checkpoint();
        let (next, applied) = tokio::join!(
            events.read_all_after(next_from, batch_size.max(1)),
            apply_batch_noting(
                models,
                projection,
                &shadow,
                from,
                &batch,
                chrono::Utc::now(),
                Some(&mut written),
            )
        );
        match applied? {
            Some(p) => {
                total.applied += p.applied;
                total.dead_lettered += p.dead_lettered;
                total.checkpoint = p.checkpoint;
                from = p.checkpoint;
            }
            None => {
                return Err(RunError::Store(roster_domain::store::StoreError::Other(
                    format!("another writer moved the rebuild shadow {shadow}"),
                )))
            }
        }
        on_batch(total.applied + total.dead_lettered);
        batch = next?;
    }
    models.swap(&shadow, projection.name()).await?;
    Ok(total)
}
