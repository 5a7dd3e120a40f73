//! The embedded default's transport: every projection runs in-process, tailing the event store
//! through the same runner the broker consumers use. Woken after each accepted command, and
//! every 250 ms for events other processes append.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use roster_domain::store::EventStore;
use tokio::sync::Notify;

use crate::runner::{apply_batch, catch_up, Progress, Projection, RunError};
use crate::store::ReadModelStore;

pub const BATCH: usize = 500;

pub struct LocalProjections {
    events: Arc<dyn EventStore>,
    models: Arc<dyn ReadModelStore>,
    projections: Vec<Arc<dyn Projection>>,
    wake: Arc<Notify>,
}

impl LocalProjections {
    pub fn new(
        events: Arc<dyn EventStore>,
        models: Arc<dyn ReadModelStore>,
        projections: Vec<Arc<dyn Projection>>,
    ) -> Arc<Self> {
        Arc::new(LocalProjections {
            events,
            models,
            projections,
            wake: Arc::new(Notify::new()),
        })
    }

    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Brings every projection up to the head of the log.
    pub async fn catch_up_all(&self) -> Result<Vec<(&'static str, Progress)>, RunError> {
        let mut out = Vec::with_capacity(self.projections.len());
        for p in &self.projections {
            out.push((
                p.name(),
                catch_up(
                    self.events.as_ref(),
                    self.models.as_ref(),
                    p.as_ref(),
                    p.name(),
                    None,
                    BATCH,
                )
                .await?,
            ));
        }
        Ok(out)
    }

    /// Runs until `shutdown` resolves; store errors are logged and retried.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if let Err(e) = self.catch_up_all().await {
                tracing::warn!(error = %e, "projections could not catch up; retrying");
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
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
    while let Some(last) = batch.last() {
        let next_from = last.checkpoint();
        let (next, applied) = tokio::join!(
            events.read_all_after(next_from, batch_size.max(1)),
            apply_batch(
                models,
                projection,
                &shadow,
                from,
                &batch,
                chrono::Utc::now()
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
