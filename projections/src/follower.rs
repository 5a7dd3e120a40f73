//! Followers: anything that follows the event log up to a checkpoint, the read models and the
//! policy consumer alike. The in-process runtime and the broker consumers drive followers; they
//! do not care which.

use std::sync::Arc;

use async_trait::async_trait;
use roster_domain::store::{Checkpoint, EventStore};

use crate::runner::{catch_up, Progress, Projection, RunError};
use crate::store::ReadModelStore;

/// The policy consumer's checkpoint name (and its queue's on the broker).
pub const POLICIES: &str = "policies";

/// Anything that follows the event log up to a checkpoint: read models and the policy consumer.
/// The in-process tailer and the broker consumers drive followers; they do not care which.
#[async_trait]
pub trait Follower: Send + Sync {
    fn name(&self) -> &'static str;

    /// Processes the log after the follower's checkpoint, up to `until` (or the head).
    async fn follow(
        &self,
        until: Option<Checkpoint>,
        batch_size: usize,
    ) -> Result<Progress, RunError>;
}

/// A read model as a follower.
pub struct ProjectionFollower {
    pub events: Arc<dyn EventStore>,
    pub models: Arc<dyn ReadModelStore>,
    pub projection: Arc<dyn Projection>,
}

impl ProjectionFollower {
    /// Every read model of `models::all()` as a follower over these stores.
    pub fn all(
        events: &Arc<dyn EventStore>,
        models: &Arc<dyn ReadModelStore>,
    ) -> Vec<Arc<dyn Follower>> {
        Self::each(events, models, crate::models::all())
    }

    /// `projections` as followers over these stores.
    pub fn each(
        events: &Arc<dyn EventStore>,
        models: &Arc<dyn ReadModelStore>,
        projections: Vec<Arc<dyn Projection>>,
    ) -> Vec<Arc<dyn Follower>> {
        projections
            .into_iter()
            .map(|projection| {
                Arc::new(ProjectionFollower {
                    events: events.clone(),
                    models: models.clone(),
                    projection,
                }) as Arc<dyn Follower>
            })
            .collect()
    }
}

#[async_trait]
impl Follower for ProjectionFollower {
    fn name(&self) -> &'static str {
        self.projection.name()
    }

    #[tracing::instrument(level = "debug", name = "follow", skip_all, fields(follower = self.projection.name()))]
    async fn follow(
        &self,
        until: Option<Checkpoint>,
        batch_size: usize,
    ) -> Result<Progress, RunError> {
        catch_up(
            self.events.as_ref(),
            self.models.as_ref(),
            self.projection.as_ref(),
            self.projection.name(),
            until,
            batch_size,
        )
        .await
    }
}
