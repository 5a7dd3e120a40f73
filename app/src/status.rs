//! The operations status, one use case for `/api/v1/status`, `/ready`, `/metrics` and
//! `roster status`: events stored, each reader's checkpoint, lag, dead letters and whether it is
//! stalled, the relay, the broker consumers of this process, pending deadlines and overdue
//! reviews.

use chrono::{DateTime, NaiveDate, Utc};
use roster_domain::store::{Checkpoint, DeadlineRecord, StoreError};
use roster_domain::Refusal;
use roster_projections::models::{self, reviews::ReviewsDoc};
use roster_projections::queries::{self, ReviewState};
use roster_projections::{Link, ProjectionState};
use serde::Serialize;

use crate::{refused, App};

/// The relay's checkpoint name.
pub const RELAY: &str = "relay";

/// How a reader behind the log is told stalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StallRule {
    /// A serving process watches each checkpoint: unmoved while behind for the stall limit.
    Observed,
    /// A one-shot command cannot watch, so it asks the log: the oldest event the reader left
    /// unapplied was recorded longer than the limit ago, and the reader has not written since.
    FromLog,
}

/// Whether one consumer of the broker transport (a read model, `policies`) or the relay
/// (`relay`) holds its subscription, as this process sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsumerStatus {
    pub consumer: String,
    /// Its consumer tag is active on a live channel; for the relay: it holds the leader lock
    /// and has its publishing channel.
    pub subscribed: bool,
    /// The relay waits while another process holds the leader lock (not a fault).
    pub standby: bool,
    /// Since when `subscribed` (or `standby`) has held.
    pub since: DateTime<Utc>,
    /// When it last became subscribed; absent if it never was since the server started.
    pub last_subscribed: Option<DateTime<Utc>>,
    /// Without its subscription for longer than the server's grace (`roster serve
    /// --subscription-grace-seconds`): `/ready` answers 503.
    pub missing: bool,
}

/// Where a projection stands against the log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectionStatus {
    pub projection: String,
    pub checkpoint: Checkpoint,
    pub applied: u64,
    pub lag: u64,
    pub dead_letters: u64,
    pub updated_at: Option<DateTime<Utc>>,
    /// Behind the log with a checkpoint that has not moved for longer than the server's stall
    /// limit (`roster serve --stall-after-seconds`): its consumer is stuck or gone.
    pub stalled: bool,
    /// It has never applied anything (no checkpoint stored yet).
    pub never_run: bool,
}

/// Named `OperationsStatus` in the OpenAPI document (`Status` is a platform's status there).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = OperationsStatus)]
pub struct Status {
    /// Events in the store.
    pub events: u64,
    pub projections: Vec<ProjectionStatus>,
    /// Set when a relay has published: its checkpoint and how many events it has yet to publish.
    pub relay_checkpoint: Option<Checkpoint>,
    pub relay_lag: Option<u64>,
    /// The relay is behind and has not published for longer than the stall limit.
    pub relay_stalled: bool,
    /// The e-mail sender's place in the log, when it has run (`roster serve --smtp-url`).
    pub mail_checkpoint: Option<Checkpoint>,
    /// Events the e-mail sender has not gone past yet.
    pub mail_lag: Option<u64>,
    /// The e-mail sender is behind and has not moved for the stall limit (the relay down, say);
    /// reported, but not a reason for `/ready` to refuse traffic: the roster works without mail.
    pub mail_stalled: bool,
    /// `local` (in-process) or `broker`.
    #[schema(value_type = String)]
    pub transport: &'static str,
    /// With the broker transport: the relay and every consumer of this process, and whether
    /// each holds its subscription. Empty with the local transport.
    pub consumers: Vec<ConsumerStatus>,
    /// Deadlines waiting to fire (D-1, D-2).
    pub deadlines: DeadlineStatus,
    /// Reviews open past their due date as of today (D-2).
    pub reviews_overdue: u64,
    /// The active webhooks with their lag and failures since their last delivery: a receiver
    /// that fails is reported here (and in `/metrics`), not a reason for `/ready` to refuse.
    pub webhooks: Vec<crate::webhooks::WebhookStatus>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeadlineStatus {
    pub pending: u64,
    /// Pending although their day has passed: the scheduler is behind or stopped.
    pub late: u64,
    /// The business day the status is as of (Beijing).
    pub today: NaiveDate,
    /// The next pending deadlines, soonest first (at most 50).
    #[schema(value_type = Vec<Object>)]
    pub next: Vec<DeadlineRecord>,
}

/// How many pending deadlines the status lists.
const NEXT_DEADLINES: usize = 50;

impl Status {
    /// What is wrong, one line each: a stalled reader or relay, a consumer without its
    /// subscription. `/ready` answers 503 and `roster status` exits non-zero when there is any.
    pub fn problems(&self) -> Vec<String> {
        let stalled = self
            .projections
            .iter()
            .filter(|p| p.stalled)
            .map(|p| format!("{} is stalled", p.projection));
        let relay = self
            .relay_stalled
            .then(|| format!("{RELAY} is stalled"))
            .into_iter();
        let missing = self
            .consumers
            .iter()
            .filter(|c| c.missing)
            .map(|c| format!("{} has no subscription", c.consumer));
        stalled.chain(relay).chain(missing).collect()
    }
}

impl App {
    /// The relay and the consumers of the broker transport in this process, if one runs.
    pub fn consumers(&self) -> Vec<ConsumerStatus> {
        let Some(subscriptions) = self.inner.subscriptions.get() else {
            return Vec::new();
        };
        let grace = self.inner.settings.subscription_grace;
        subscriptions
            .states()
            .into_iter()
            .map(|s| ConsumerStatus {
                missing: s.missing(grace),
                subscribed: s.link == Link::Subscribed,
                standby: s.link == Link::Standby,
                since: s.since,
                last_subscribed: s.last_subscribed,
                consumer: s.name,
            })
            .collect()
    }

    /// Each read model's and the policy consumer's checkpoint, lag, dead letters and whether it
    /// is stalled (what `/ready` reports).
    pub async fn projections(&self) -> Result<Vec<ProjectionStatus>, Refusal> {
        let states = self.models().states().await.map_err(refused)?;
        self.projections_with(&states).await.map_err(refused)
    }

    async fn projections_with(
        &self,
        states: &[ProjectionState],
    ) -> Result<Vec<ProjectionStatus>, StoreError> {
        let dead = self.models().dead_letters(None).await?;
        let mut projections = Vec::new();
        for name in roster_projections::models::NAMES
            .into_iter()
            .chain([roster_projections::POLICIES])
        {
            let st = states.iter().find(|s| s.projection == name);
            let checkpoint = st.map(|s| s.checkpoint).unwrap_or_default();
            let lag = self.events().count_after(checkpoint).await?;
            let updated_at = st.and_then(|s| s.updated_at);
            projections.push(ProjectionStatus {
                projection: name.to_string(),
                checkpoint,
                applied: st.map_or(0, |s| s.applied),
                lag,
                stalled: self.stalled(name, checkpoint, lag, updated_at).await?,
                dead_letters: dead
                    .iter()
                    .filter(|d| d.projection == name && d.replayed_at.is_none())
                    .count() as u64,
                updated_at,
                never_run: st.is_none(),
            });
        }
        Ok(projections)
    }

    /// Whether a reader at `checkpoint`, `lag` events behind, is stalled (see [`StallRule`]).
    async fn stalled(
        &self,
        reader: &str,
        checkpoint: Checkpoint,
        lag: u64,
        updated_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let limit = self.inner.settings.stall_after;
        match self.inner.settings.stall_rule {
            StallRule::Observed => {
                let now = std::time::Instant::now();
                let mut seen = self.inner.progress.lock().expect("progress");
                let entry = seen.entry(reader.to_string()).or_insert((checkpoint, now));
                if entry.0 != checkpoint || lag == 0 {
                    *entry = (checkpoint, now);
                }
                Ok(lag > 0 && now.duration_since(entry.1) >= limit)
            }
            StallRule::FromLog => {
                if lag == 0 {
                    return Ok(false);
                }
                let limit = chrono::Duration::from_std(limit).unwrap_or(chrono::Duration::MAX);
                let now = self.now();
                if updated_at.is_some_and(|at| now - at < limit) {
                    return Ok(false);
                }
                let oldest = self.events().read_all_after(checkpoint, 1).await?;
                Ok(oldest
                    .first()
                    .is_some_and(|e| now - e.metadata.recorded_at >= limit))
            }
        }
    }

    /// The whole operations status.
    pub async fn status(&self) -> Result<Status, Refusal> {
        self.status_inner().await.map_err(refused)
    }

    async fn status_inner(&self) -> Result<Status, StoreError> {
        let events = self.events().count_after(Checkpoint::START).await?;
        let states = self.models().states().await?;
        let projections = self.projections_with(&states).await?;
        let relay = states.iter().find(|s| s.projection == RELAY);
        let (relay_lag, relay_stalled) = match relay {
            Some(r) => {
                let lag = self.events().count_after(r.checkpoint).await?;
                let stalled = self.stalled(RELAY, r.checkpoint, lag, r.updated_at).await?;
                (Some(lag), stalled)
            }
            None => (None, false),
        };
        let mail = states
            .iter()
            .find(|s| s.projection == crate::mailer::MAILER);
        let (mail_lag, mail_stalled) = match mail {
            Some(m) => {
                let lag = self.events().count_after(m.checkpoint).await?;
                let stalled = self
                    .stalled(crate::mailer::MAILER, m.checkpoint, lag, m.updated_at)
                    .await?;
                (Some(lag), stalled)
            }
            None => (None, false),
        };
        let today = self.today();
        let pending = self.deadlines().deadlines(true, usize::MAX >> 1).await?;
        let deadlines = DeadlineStatus {
            pending: pending.len() as u64,
            late: pending
                .iter()
                .filter(|d| d.deadline.fire_on < today)
                .count() as u64,
            today,
            next: pending.into_iter().take(NEXT_DEADLINES).collect(),
        };
        let reviews: Vec<ReviewsDoc> = models::REVIEWS.load(self.models().as_ref()).await?;
        let window =
            u32::try_from(self.inner.settings.policy.review_window_days).unwrap_or(u32::MAX);
        let reviews_overdue = queries::reviews(&reviews, today, window)
            .iter()
            .filter(|r| r.state == ReviewState::Overdue)
            .count() as u64;
        Ok(Status {
            deadlines,
            reviews_overdue,
            events,
            projections,
            relay_checkpoint: relay.map(|r| r.checkpoint),
            relay_lag,
            relay_stalled,
            mail_checkpoint: mail.map(|m| m.checkpoint),
            mail_lag,
            mail_stalled,
            transport: match self.inner.settings.transport {
                crate::Transport::Local => "local",
                crate::Transport::Broker => "broker",
            },
            consumers: self.consumers(),
            webhooks: self
                .active_webhooks()
                .await
                .map_err(|r| StoreError::Unavailable(r.message))?,
        })
    }
}
