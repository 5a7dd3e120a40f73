//! Dynamic management in the event path (RULES.md §7): the policy consumer and the deadline
//! scheduler, the two process managers of the system, run by the application's runtime (or the
//! broker transport).
//!
//! The **policy consumer** follows the log like a read model, with its own checkpoint
//! (`policies`). For each platform event it loads the platform as it stood right after that
//! event, asks the pure policies of the domain what follows (`react`: D-4, D-5, D-6;
//! `plan_deadlines`: D-1, D-2, D-7), writes the deadline changes (idempotent) and executes the
//! commands through the command service as the system actor. A command's id is derived from
//! the triggering event and the policy, so a redelivery, a replay from the start, a crash after
//! the command and before the checkpoint, or two consumers at once all meet the first result
//! instead of acting again. Only then does the checkpoint move.
//!
//! The **scheduler** fires pending deadlines whose day has come by the injected clock. The
//! command comes from the deadline alone (id and business date), so two schedulers, or one
//! retrying after a crash, issue one identical command and the event store keeps one result.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use roster_domain::actor::Actor;
use roster_domain::challenge::{BidStatus, Call, ChallengeCommand, FlagMilestoneOverdue};
use roster_domain::clock::Clock;
use roster_domain::error::Kind;
use roster_domain::events::{self, PlatformEvent};
use roster_domain::platform::Platform;
use roster_domain::policies::{self, DeadlineChange, Issued, PolicyConfig};
use roster_domain::request::{CommandOutcome, CommandRequest, Target};
use roster_domain::store::{
    Checkpoint, DeadlineState, DeadlineStore, EventStore, StoreError, StoredEvent,
};
use roster_domain::Refusal;
use roster_projections::runner::{Progress, RunError};
use roster_projections::store::{CommitOutcome, DeadLetter, ReadModelStore};
use roster_projections::{Follower, POLICIES};

use crate::commands::{AggregateCache, CommandService};

/// A refusal the next attempt may not meet (store down, lost races): the event is retried.
fn transient(r: &Refusal) -> bool {
    r.code.is_transient()
}

fn refusal_error(r: Refusal) -> RunError {
    RunError::Store(if r.code.kind() == Kind::Outage {
        StoreError::Unavailable(r.message)
    } else {
        StoreError::Other(format!("{}: {}", r.code, r.message))
    })
}

/// Runs a command a policy or deadline issued, as the system actor of that rule. `Ok(Err(_))`
/// is a final refusal (audited by the service; e.g. the platform left the roster meanwhile).
async fn issue(
    service: &CommandService,
    issued: &Issued,
    correlation_id: Option<uuid::Uuid>,
) -> Result<Result<CommandOutcome, Refusal>, RunError> {
    let request = CommandRequest {
        command_id: issued.command_id,
        business_date: Some(issued.business_date),
        expected_version: None,
        correlation_id,
        causation_id: Some(issued.causation_id),
        target: Target::Platform {
            platform_id: issued.platform_id.clone(),
            command: issued.command.clone(),
        },
    };
    match service
        .execute(
            &Actor::system(&format!("policy {}", issued.policy)),
            request,
        )
        .await
    {
        Ok(outcome) => {
            tracing::info!(policy = issued.policy, platform = %issued.platform_id, command = issued.command.name(), command_id = %issued.command_id, duplicate = outcome.duplicate, "policy command accepted");
            Ok(Ok(outcome))
        }
        Err(r) if transient(&r) => Err(refusal_error(r)),
        Err(r) => {
            tracing::warn!(policy = issued.policy, platform = %issued.platform_id, command = issued.command.name(), code = %r.code, reason = %r.message, "policy command refused");
            Ok(Err(r))
        }
    }
}

/// The policy consumer.
pub struct PolicyConsumer {
    service: Arc<CommandService>,
    /// Where it reads the log: the service's store, or the process's shared log.
    log: Arc<dyn EventStore>,
    models: Arc<dyn ReadModelStore>,
    deadlines: Arc<dyn DeadlineStore>,
    cfg: PolicyConfig,
    /// Platforms as they stood after the last event of theirs this consumer read: each event
    /// then costs one fold, not a reload of the platform's history.
    platforms: AggregateCache<Platform>,
}

/// What the policy consumer keeps of the platforms it follows (see `AggregateCache`).
const PLATFORMS_CACHED: usize = 10_000;
const PLATFORM_EVENTS_CACHED: u64 = 100_000;

/// What handling one event did.
enum Handled {
    Ignored,
    Done,
    Dead(String),
}

impl PolicyConsumer {
    pub fn new(
        service: Arc<CommandService>,
        models: Arc<dyn ReadModelStore>,
        deadlines: Arc<dyn DeadlineStore>,
        cfg: PolicyConfig,
    ) -> Self {
        PolicyConsumer {
            log: service.store().clone(),
            service,
            models,
            deadlines,
            cfg,
            platforms: AggregateCache::bounded(PLATFORMS_CACHED, PLATFORM_EVENTS_CACHED),
        }
    }

    /// Reads the log through `log` (a [`crate::SharedLog`] the read models share) instead of
    /// the service's store.
    pub fn reading(mut self, log: Arc<dyn EventStore>) -> Self {
        self.log = log;
        self
    }

    fn events(&self) -> &Arc<dyn EventStore> {
        &self.log
    }

    async fn handle(&self, e: &StoredEvent) -> Result<Handled, RunError> {
        let Some(platform_id) = e.stream_id.strip_prefix("platform-") else {
            return Ok(Handled::Ignored);
        };
        let event = match events::decode_platform(&e.event_type, e.schema_version, &e.payload) {
            Ok(event) => event,
            Err(err) => {
                self.platforms.forget(&e.stream_id);
                return Ok(Handled::Dead(err.to_string()));
            }
        };
        use PlatformEvent as E;
        let relevant = matches!(
            event,
            E::PlatformListed { .. }
                | E::ReviewOpened { .. }
                | E::PlatformDelisted { .. }
                | E::IncidentReported { .. }
                | E::IncidentAssessed { .. }
        );
        // The platform as it stood right after this event, whatever happened since: the cached
        // one with this event folded in, or its history up to here.
        let after = match self.platforms.take(&e.stream_id) {
            Some((version, mut platform)) if version + 1 == e.version => {
                platform.absorb(event.clone());
                platform
            }
            // Handled before (a retried batch).
            Some((version, platform)) if version == e.version => platform,
            // A new platform: nothing to load.
            None if e.version == 1 => {
                let mut platform = Platform::default();
                platform.absorb(event.clone());
                platform
            }
            _ if !relevant => return Ok(Handled::Ignored),
            _ => match self.history(e).await? {
                Ok(platform) => platform,
                Err(dead) => return Ok(Handled::Dead(dead)),
            },
        };
        if !relevant {
            self.platforms.put(&e.stream_id, e.version, after);
            return Ok(Handled::Ignored);
        }
        let handled = self.react(platform_id, e, &event, &after).await;
        self.platforms.put(&e.stream_id, e.version, after);
        handled
    }

    /// The platform folded from its stored history up to `e`; `Err` names an event that cannot
    /// be decoded.
    async fn history(&self, e: &StoredEvent) -> Result<Result<Platform, String>, RunError> {
        let mut history = Vec::new();
        for s in self
            .events()
            .load_stream(&e.stream_id, 0)
            .await?
            .iter()
            .take_while(|s| s.version <= e.version)
        {
            match events::decode_platform(&s.event_type, s.schema_version, &s.payload) {
                Ok(decoded) => history.push(decoded),
                Err(err) => {
                    return Ok(Err(format!(
                        "the platform's event {} cannot be decoded: {err}",
                        s.event_id
                    )))
                }
            }
        }
        Ok(Ok(Platform::replay(history)))
    }

    /// Schedules or cancels the deadlines and issues the commands the policies derive from
    /// `event`, with the platform as it stood right after it.
    async fn react(
        &self,
        platform_id: &str,
        e: &StoredEvent,
        event: &PlatformEvent,
        after: &Platform,
    ) -> Result<Handled, RunError> {
        let on = e.metadata.business_date;
        let now = self.service.now();
        for change in policies::plan_deadlines(&self.cfg, platform_id, e.event_id, on, event, after)
        {
            match change {
                DeadlineChange::Schedule(d) => {
                    if self
                        .deadlines
                        .schedule(std::slice::from_ref(&d), now)
                        .await?
                        > 0
                    {
                        tracing::info!(platform = platform_id, deadline = %d.deadline_id, fire_on = %d.fire_on, "deadline scheduled (D-1)");
                    }
                }
                DeadlineChange::CancelPending {
                    platform_id,
                    listed_on,
                    reason,
                    ..
                } => {
                    self.deadlines
                        .cancel_pending(&platform_id, listed_on, &reason, now)
                        .await?;
                }
            }
        }
        for issued in policies::react(&self.cfg, platform_id, e.event_id, on, event, after) {
            // A final refusal is audited by the service and logged by `issue`: the event is done.
            let _accepted_or_refused =
                issue(&self.service, &issued, Some(e.metadata.correlation_id)).await?;
        }
        Ok(Handled::Done)
    }
}

#[async_trait]
impl Follower for PolicyConsumer {
    fn name(&self) -> &'static str {
        POLICIES
    }

    #[tracing::instrument(level = "debug", name = "follow", skip_all, fields(follower = POLICIES))]
    async fn follow(
        &self,
        until: Option<Checkpoint>,
        batch_size: usize,
    ) -> Result<Progress, RunError> {
        let mut total = Progress::default();
        loop {
            let from = self.models.state(POLICIES).await?.checkpoint;
            total.checkpoint = from;
            if until.is_some_and(|u| from >= u) {
                return Ok(total);
            }
            let batch = self
                .events()
                .read_all_after(from, batch_size.max(1))
                .await?;
            if batch.is_empty() {
                return Ok(total);
            }
            // Event by event; the checkpoint covers what was handled, up to a failure.
            let (mut to, mut applied, mut dead, mut failure) = (from, 0u64, Vec::new(), None);
            for e in &batch {
                match self.handle(e).await {
                    Ok(Handled::Ignored) => {}
                    Ok(Handled::Done) => applied += 1,
                    Ok(Handled::Dead(reason)) => {
                        tracing::error!(consumer = POLICIES, position = e.global_position, event_type = %e.event_type, %reason, "event dead-lettered");
                        dead.push(DeadLetter {
                            projection: POLICIES.to_string(),
                            global_position: e.global_position,
                            transaction_id: e.transaction_id,
                            event_id: e.event_id,
                            event_type: e.event_type.clone(),
                            reason,
                            recorded_at: self.service.now(),
                            replayed_at: None,
                        })
                    }
                    Err(err) => {
                        failure = Some(err);
                        break;
                    }
                }
                to = e.checkpoint();
            }
            if to > from {
                let dead_count = dead.len() as u64;
                match self
                    .models
                    .commit(POLICIES, from, to, applied, vec![], dead)
                    .await?
                {
                    CommitOutcome::Committed => {
                        total.applied += applied;
                        total.dead_lettered += dead_count;
                        total.checkpoint = to;
                    }
                    // Another consumer got there first; its commands were the same ones.
                    CommitOutcome::Moved => {}
                }
            }
            if let Some(err) = failure {
                return Err(err);
            }
        }
    }
}

/// What the scheduler did with one deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub deadline_id: String,
    pub command_id: uuid::Uuid,
    /// `Fired` or `Refused`.
    pub state: DeadlineState,
    /// False when another scheduler settled it first.
    pub settled_here: bool,
}

/// The deadline scheduler.
pub struct Scheduler {
    service: Arc<CommandService>,
    deadlines: Arc<dyn DeadlineStore>,
    clock: Arc<dyn Clock>,
}

impl Scheduler {
    pub fn new(
        service: Arc<CommandService>,
        deadlines: Arc<dyn DeadlineStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Scheduler {
            service,
            deadlines,
            clock,
        }
    }

    /// C-8: every milestone of a signed task agreement still unreported after its due date is
    /// flagged overdue, once. Calls are few (tens of bids each), so the scheduler reads them
    /// whole instead of keeping timers; the command id comes from the call, bid and milestone
    /// and its business date is the day after the due date whenever the scheduler gets to it,
    /// so two schedulers or a late start flag it once. Only what was flagged now is returned.
    async fn flag_overdue_milestones(&self, today: NaiveDate) -> Result<Vec<Fired>, RunError> {
        let store = self.service.store();
        let mut out = Vec::new();
        for stream in store.stream_ids("call-").await? {
            let Some(call_id) = stream.strip_prefix("call-") else {
                continue;
            };
            let mut call = Call::default();
            for e in store.load_stream(&stream, 0).await? {
                match events::decode_challenge(&e.event_type, e.schema_version, &e.payload) {
                    Ok(event) => cqrs_es::Aggregate::apply(&mut call, event),
                    Err(err) => {
                        tracing::error!(stream = %stream, error = %err, "a call's event cannot be read; its milestones are not checked");
                        call = Call::default();
                        break;
                    }
                }
            }
            let late: Vec<(String, String, NaiveDate)> = call
                .bids
                .values()
                .filter(|b| b.status == BidStatus::UnderAgreement)
                .flat_map(|b| {
                    b.milestones
                        .iter()
                        .filter(|m| m.reported_on.is_none() && !m.overdue)
                        .filter(|m| m.milestone.due_on < today)
                        .map(|m| {
                            (
                                b.bid_id.clone(),
                                m.milestone.milestone_id.clone(),
                                m.milestone.due_on,
                            )
                        })
                })
                .collect();
            for (bid_id, milestone_id, due_on) in late {
                let key = format!("{call_id}/{bid_id}/{milestone_id}");
                let command_id = uuid::Uuid::new_v5(
                    &policies::DEADLINE_NAMESPACE,
                    format!("C-8 {key}").as_bytes(),
                );
                let request = CommandRequest {
                    command_id,
                    business_date: due_on.succ_opt(),
                    expected_version: None,
                    correlation_id: None,
                    causation_id: None,
                    target: Target::Call {
                        call_id: call_id.to_string(),
                        command: ChallengeCommand::FlagMilestoneOverdue(FlagMilestoneOverdue {
                            bid_id,
                            milestone_id,
                        }),
                    },
                };
                match self
                    .service
                    .execute(&Actor::system("policy C-8"), request)
                    .await
                {
                    Ok(outcome) if !outcome.duplicate => {
                        tracing::info!(milestone = %key, due_on = %due_on, "milestone flagged overdue (C-8)");
                        out.push(Fired {
                            deadline_id: key,
                            command_id,
                            state: DeadlineState::Fired,
                            settled_here: true,
                        });
                    }
                    Ok(_) => {}
                    Err(r) if transient(&r) => return Err(refusal_error(r)),
                    Err(r) => {
                        tracing::warn!(milestone = %key, code = %r.code, reason = %r.message, "milestone not flagged overdue");
                    }
                }
            }
        }
        Ok(out)
    }

    /// Fires every deadline due by today (the injected clock's Asia/Shanghai date), and flags
    /// the milestones of the bioreactor competition that are overdue (C-8).
    #[tracing::instrument(level = "debug", name = "scheduler", skip_all)]
    pub async fn tick(&self) -> Result<Vec<Fired>, RunError> {
        let today = self.clock.today();
        let mut out = self.flag_overdue_milestones(today).await?;
        loop {
            let due = self.deadlines.due(today, 100).await?;
            if due.is_empty() {
                return Ok(out);
            }
            for d in due {
                let issued = policies::fire(&d);
                let (state, note) = match issue(&self.service, &issued, None).await? {
                    Ok(outcome) => {
                        tracing::info!(deadline = %d.deadline_id, due_on = %d.due_on, today = %today, duplicate = outcome.duplicate, "triennial review opened (D-2)");
                        (DeadlineState::Fired, None)
                    }
                    Err(r) => (
                        DeadlineState::Refused,
                        Some(format!("{}: {}", r.code, r.message)),
                    ),
                };
                let settled_here = self
                    .deadlines
                    .settle(
                        &d.deadline_id,
                        state,
                        issued.command_id,
                        note.as_deref(),
                        self.clock.now(),
                    )
                    .await?;
                out.push(Fired {
                    deadline_id: d.deadline_id,
                    command_id: issued.command_id,
                    state,
                    settled_here,
                });
            }
        }
    }
}
