//! The application layer: what every driving side (the HTTP API, the dashboard, the CLI,
//! `roster import`, the demo) calls, and the background runtime that serves them.
//!
//! An [`App`] is built from the ports (`Backends`) and the settings by the composition root of
//! the `roster` binary, which picks the stores (SQLite or PostgreSQL) and the transport
//! (in-process followers or RabbitMQ consumers). It holds the one command service of the
//! process, the read side with its access checks ([`reads`]), the operations status
//! ([`status`]) and the in-process followers; [`runtime::Runtime`] runs them in the background.
//!
//! **Architecture invariant:** this crate knows no adapter (no SQL, no AMQP, no HTTP). Reads
//! wait for read models, never for the policy consumer: only the background runtime (or an
//! explicit [`App::automate`]) issues automatic decisions.

pub mod automation;
pub mod commands;
pub mod files;
pub mod inbox;
pub mod kpi;
pub mod mailer;
pub mod notifications;
pub mod public;
pub mod reads;
pub mod runtime;
pub mod status;
pub mod webhooks;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use roster_domain::clock::Clock;
use roster_domain::policies::PolicyConfig;
use roster_domain::store::{Checkpoint, DeadlineStore, EventStore, StoreError, TokenStore};
use roster_domain::Refusal;
use roster_projections::local::LocalProjections;
use roster_projections::{
    Catalog, Follower, ProjectionFollower, ReadModelStore, RunError, SharedLog, Subscriptions,
};

use crate::automation::{Fired, PolicyConsumer, Scheduler};
use crate::commands::CommandService;
use tokio::sync::{Mutex, Notify, RwLock};

pub use runtime::Runtime;
pub use status::{ConsumerStatus, DeadlineStatus, ProjectionStatus, StallRule, Status};

/// The stores the application runs on (one database holds them all in practice), and how to
/// name them to an operator.
#[derive(Clone)]
pub struct Backends {
    pub events: Arc<dyn EventStore>,
    pub tokens: Arc<dyn TokenStore>,
    pub models: Arc<dyn ReadModelStore>,
    pub deadlines: Arc<dyn DeadlineStore>,
    /// Applicants' drafts (their private working copies, not events).
    pub drafts: Arc<dyn roster_domain::store::DraftStore>,
    /// Attachments (佐证材料), content-addressed.
    pub attachments: Arc<dyn roster_domain::store::AttachmentStore>,
    /// Up to when each user has read their notifications.
    pub read_marks: Arc<dyn roster_domain::store::ReadMarkStore>,
    /// e.g. `SQLite roster-data/roster.sqlite`, `PostgreSQL postgres://u:***@host/db`.
    pub description: String,
}

impl Backends {
    /// Every port served by one store (each adapter implements them all over one database).
    pub fn on<S>(store: Arc<S>, description: String) -> Backends
    where
        S: EventStore
            + TokenStore
            + ReadModelStore
            + DeadlineStore
            + roster_domain::store::DraftStore
            + roster_domain::store::AttachmentStore
            + roster_domain::store::ReadMarkStore
            + 'static,
    {
        Backends {
            events: store.clone(),
            tokens: store.clone(),
            models: store.clone(),
            deadlines: store.clone(),
            drafts: store.clone(),
            attachments: store.clone(),
            read_marks: store,
            description,
        }
    }
}

/// Who applies the log to the read models and the policy consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// In this process (the embedded default, or PostgreSQL without a broker).
    Local,
    /// RabbitMQ consumers (`roster serve --amqp-url`), started beside the app.
    Broker,
}

/// How the application runs: the parameters of dynamic management and of the health checks.
#[derive(Debug, Clone)]
pub struct Settings {
    pub policy: PolicyConfig,
    pub transport: Transport,
    /// A reader behind the log whose checkpoint has not moved for this long is stalled.
    pub stall_after: Duration,
    /// How stalled readers are told apart (a serving process watches checkpoints move; a
    /// one-shot command asks the log).
    pub stall_rule: StallRule,
    /// A broker consumer without its subscription for this long is missing.
    pub subscription_grace: Duration,
    /// The SMTP relay notifications are mailed through; `None`: no e-mail.
    pub mail: Option<mailer::MailSettings>,
    /// The longest wait between attempts at a webhook whose receiver fails (seconds).
    pub webhook_retry_cap_secs: i64,
}

/// Default for `Settings::webhook_retry_cap_secs`: a receiver back from an outage gets its
/// backlog within five minutes.
pub const DEFAULT_WEBHOOK_RETRY_CAP_SECS: i64 = 300;

/// Default for `Settings::stall_after`.
pub const DEFAULT_STALL_AFTER: Duration = Duration::from_secs(120);

/// Default for `Settings::subscription_grace`: longer than a reconnect after a dropped
/// connection takes, shorter than anyone should wait for a consumer that did not come back.
pub const DEFAULT_SUBSCRIPTION_GRACE: Duration = Duration::from_secs(5);

impl Settings {
    /// A serving process (`roster serve`) with the default limits.
    pub fn serving(policy: PolicyConfig, transport: Transport) -> Settings {
        Settings {
            policy,
            transport,
            stall_after: DEFAULT_STALL_AFTER,
            stall_rule: StallRule::Observed,
            subscription_grace: DEFAULT_SUBSCRIPTION_GRACE,
            mail: None,
            webhook_retry_cap_secs: DEFAULT_WEBHOOK_RETRY_CAP_SECS,
        }
    }

    /// A one-shot command of the CLI: read models caught up in-process, stalls judged by the log.
    pub fn one_shot(policy: PolicyConfig, stall_after: Duration) -> Settings {
        Settings {
            stall_after,
            stall_rule: StallRule::FromLog,
            ..Settings::serving(policy, Transport::Local)
        }
    }
}

/// The application: built once per process by the composition root; cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    service: Arc<CommandService>,
    backends: Backends,
    /// The log as the followers read it: the event store with one shared read of recent events.
    log: Arc<dyn EventStore>,
    policies: Arc<PolicyConsumer>,
    scheduler: Scheduler,
    settings: Settings,
    /// The read models run in this process (`Transport::Local`); never the policy consumer.
    local: Option<Arc<LocalProjections>>,
    /// Wakes the background runtime after each accepted command.
    wake: Arc<Notify>,
    /// Woken after each accepted command (the broker relay, when one runs in this process).
    after_commit: OnceLock<Arc<Notify>>,
    clock: Arc<dyn Clock>,
    catalog: RwLock<Catalog>,
    catalog_catch_up: Mutex<()>,
    /// The KPI documents while the kpi read model has not moved.
    kpi: roster_projections::kpi::Cache,
    /// Per reader: the checkpoint last seen and since when it has not moved.
    progress: std::sync::Mutex<HashMap<String, (Checkpoint, Instant)>>,
    /// The broker transport's consumers and relay, when one runs in this process.
    subscriptions: OnceLock<Subscriptions>,
}

impl App {
    /// The application over `backends`, recording acts at `clock`.
    pub fn new(backends: Backends, clock: Arc<dyn Clock>, settings: Settings) -> App {
        let service = Arc::new(CommandService::new(backends.events.clone(), clock.clone()));
        // Every follower of this process (read models, policy consumer) reads the log once.
        let log: Arc<dyn EventStore> = Arc::new(SharedLog::new(
            backends.events.clone(),
            roster_projections::shared_log::DEFAULT_CAPACITY,
        ));
        let policies = Arc::new(
            PolicyConsumer::new(
                service.clone(),
                backends.models.clone(),
                backends.deadlines.clone(),
                settings.policy.clone(),
            )
            .reading(log.clone()),
        );
        let local = (settings.transport == Transport::Local).then(|| {
            LocalProjections::with_followers(ProjectionFollower::all(&log, &backends.models))
        });
        App {
            inner: Arc::new(Inner {
                scheduler: Scheduler::new(
                    service.clone(),
                    backends.deadlines.clone(),
                    clock.clone(),
                ),
                service,
                backends,
                log,
                policies,
                settings,
                local,
                wake: Arc::new(Notify::new()),
                after_commit: OnceLock::new(),
                clock,
                catalog: RwLock::new(Catalog::default()),
                catalog_catch_up: Mutex::new(()),
                kpi: Default::default(),
                progress: Default::default(),
                subscriptions: OnceLock::new(),
            }),
        }
    }

    /// Executes one command for `actor` (the use case of the API and the dashboard's forms):
    /// the command service decides and records it; once accepted, the background work is woken
    /// and the catalog waits (bounded) until it has seen the write, so the client reads it.
    #[tracing::instrument(name = "execute", skip_all)]
    pub async fn execute(
        &self,
        actor: &roster_domain::Actor,
        req: roster_domain::request::CommandRequest,
    ) -> Result<roster_domain::request::CommandOutcome, Refusal> {
        // An application names its uploaded files by hash: each must be held (the service
        // decides on the command alone and does not read the attachment store).
        // So do a bid's declarations and a milestone report of the bioreactor competition.
        use roster_domain::challenge::ChallengeCommand as C;
        use roster_domain::request::Target;
        let evidence = match &req.target {
            Target::Platform {
                command: roster_domain::commands::PlatformCommand::SubmitApplication(submit),
                ..
            } => Some((submit.form.evidence.as_slice(), "form.evidence")),
            Target::Call {
                command: C::SubmitBid(bid),
                ..
            } => Some((
                bid.declarations.evidence.as_slice(),
                "declarations.evidence",
            )),
            Target::Call {
                command: C::ReportMilestone(report),
                ..
            } => Some((report.evidence.as_slice(), "evidence")),
            Target::Platform {
                command: roster_domain::commands::PlatformCommand::FileObjection(objection),
                ..
            } => Some((objection.attachment.as_slice(), "attachment")),
            _ => None,
        };
        if let Some((evidence, at)) = evidence {
            if let Err(refusal) = self.check_attachments(evidence, at).await {
                self.audit_refusal(
                    actor.clone(),
                    req.target.command_name(),
                    &refusal.code,
                    &refusal.message,
                )
                .await;
                return Err(refusal);
            }
        }
        // A bid of the bioreactor competition is checked against the accidents the roster
        // knows of its units (C-4), read here from the read models.
        let result = match &req.target {
            roster_domain::request::Target::Call {
                command: roster_domain::challenge::ChallengeCommand::SubmitBid(bid),
                ..
            } => {
                let usccs: Vec<&str> = std::iter::once(bid.lead.uscc.as_str())
                    .chain(bid.members.iter().map(|m| m.uscc.as_str()))
                    .collect();
                let on = self.today();
                match self.known_accidents(&usccs, on).await {
                    Ok(accidents) => {
                        let ctx = roster_domain::challenge::ChallengeContext { accidents };
                        self.inner.service.execute_with(actor, req, &ctx).await
                    }
                    Err(r) => Err(r),
                }
            }
            _ => self.inner.service.execute(actor, req).await,
        };
        if let Ok(outcome) = &result {
            if !outcome.duplicate {
                self.wake();
            }
            self.wait_until_seen(&outcome.stream_id, outcome.version, Duration::from_secs(2))
                .await;
        }
        result
    }

    /// The command service: every command of every driving side goes through this one.
    pub fn service(&self) -> &CommandService {
        &self.inner.service
    }

    pub fn backends(&self) -> &Backends {
        &self.inner.backends
    }

    pub fn events(&self) -> &Arc<dyn EventStore> {
        &self.inner.backends.events
    }

    pub fn models(&self) -> &Arc<dyn ReadModelStore> {
        &self.inner.backends.models
    }

    pub fn tokens(&self) -> &Arc<dyn TokenStore> {
        &self.inner.backends.tokens
    }

    pub fn deadlines(&self) -> &Arc<dyn DeadlineStore> {
        &self.inner.backends.deadlines
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Today in Beijing by the application's clock: the default "as of" of every report.
    pub fn today(&self) -> NaiveDate {
        self.inner.clock.today()
    }

    pub fn kpi_cache(&self) -> &roster_projections::kpi::Cache {
        &self.inner.kpi
    }

    /// The policy consumer, for a broker transport to drive (`Transport::Broker`).
    pub fn policy_consumer(&self) -> Arc<PolicyConsumer> {
        self.inner.policies.clone()
    }

    /// The log as this process's followers read it (one shared read of recent events), for a
    /// transport that runs the read models elsewhere than in this process.
    pub fn shared_log(&self) -> Arc<dyn EventStore> {
        self.inner.log.clone()
    }

    /// Reports the broker transport's consumers (`/ready`, status, `/metrics`); set once.
    pub fn report_subscriptions(&self, subscriptions: Subscriptions) {
        let _ = self.inner.subscriptions.set(subscriptions);
    }

    /// Registers what to wake after each accepted command (e.g. the relay); set once.
    pub fn wake_after_commit(&self, notify: Arc<Notify>) {
        let _ = self.inner.after_commit.set(notify);
    }

    /// After an accepted command: the background runtime (and the relay) look at the log now
    /// rather than at their next period.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
        if let Some(n) = self.inner.after_commit.get() {
            n.notify_one();
        }
    }

    /// Read-your-writes for reports: with the local transport, the read models are brought up
    /// to the head of the log first, so a report reflects every accepted command. The policy
    /// consumer is not run (a read never issues a command); with broker consumers, reports show
    /// what the consumers have applied (their lag is in the status).
    pub async fn read_your_writes(&self) {
        if let Some(local) = &self.inner.local {
            if let Err(e) = local.catch_up_all().await {
                tracing::warn!(error = %e, "read models could not catch up");
            }
        }
    }

    /// One pass of the background work of the local transport: the read models, then the policy
    /// consumer, up to the head of the log. Returns whether anything was applied.
    async fn follow_locally(&self) -> Result<bool, RunError> {
        let Some(local) = &self.inner.local else {
            return Ok(false);
        };
        let mut moved = local
            .catch_up_all()
            .await?
            .iter()
            .any(|(_, p)| p.applied > 0);
        let p = self
            .inner
            .policies
            .follow(None, roster_projections::local::BATCH)
            .await?;
        moved |= p.applied > 0;
        Ok(moved)
    }

    /// Runs dynamic management to a standstill: (with the local transport) the read models and
    /// the policy consumer catch up, then the scheduler fires what is due, and again while
    /// anything fired (an opened review schedules the next one, which may be due too when the
    /// clock has jumped). Returns the deadlines fired. With broker consumers only the scheduler
    /// runs here. What the background runtime does continuously, for tests and one-shot loads.
    pub async fn automate(&self) -> Result<Vec<Fired>, RunError> {
        let mut all = Vec::new();
        loop {
            while self.follow_locally().await? {}
            let fired = self.inner.scheduler.tick().await?;
            if fired.is_empty() {
                return Ok(all);
            }
            all.extend(fired);
        }
    }

    /// Brings the catalog up to the head of the store. Serialised, so two requests never apply
    /// the same event twice; the catalog ignores duplicates anyway.
    pub async fn catch_up_catalog(&self) -> Result<u64, StoreError> {
        let _guard = self.inner.catalog_catch_up.lock().await;
        let mut applied = 0;
        loop {
            let from = self.inner.catalog.read().await.checkpoint;
            let batch = self.events().read_all_after(from, 1000).await?;
            if batch.is_empty() {
                return Ok(applied);
            }
            let mut catalog = self.inner.catalog.write().await;
            for e in &batch {
                match catalog.apply(e) {
                    Ok(true) => applied += 1,
                    Ok(false) => {}
                    Err(err) => {
                        // A poison event must not stop the catalog: skip it, loudly.
                        tracing::error!(position = e.global_position, error = %err, "catalog skipped an undecodable event");
                        catalog.checkpoint = e.checkpoint();
                    }
                }
            }
        }
    }

    /// Waits (bounded) until the catalog has applied `stream_id` up to `version`, so the
    /// client that just wrote sees its write in the listings. The store's reader only shows a
    /// commit once every transaction that started before it has ended, which under concurrent
    /// writers takes a few milliseconds.
    pub async fn wait_until_seen(&self, stream_id: &str, version: u64, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Err(e) = self.catch_up_catalog().await {
                tracing::warn!(error = %e, "catalog catch-up failed");
            }
            if self.inner.catalog.read().await.seen(stream_id) >= version {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(
                    stream_id,
                    version,
                    "catalog did not see a committed write in time"
                );
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The catalog as of its last catch-up.
    pub async fn catalog(&self) -> tokio::sync::RwLockReadGuard<'_, Catalog> {
        self.inner.catalog.read().await
    }
}

/// A round as the domain knows it (its deadlines, quota and recommendations with their
/// domains, for ), rebuilt from the catalog for the pages and the inbox.
pub fn round_of(catalog: &Catalog, round_id: &str) -> Option<roster_domain::round::Round> {
    use roster_domain::round::{Recommendation, Round};
    use roster_domain::values::Province;
    let summary = catalog.rounds.get(round_id)?;
    let recommendations = summary
        .recommendations
        .iter()
        .filter_map(|(province, ids)| {
            let recs = ids
                .iter()
                .map(|id| Recommendation {
                    platform_id: id.clone(),
                    domains: catalog
                        .platforms
                        .get(id)
                        .map(|p| p.domains.clone())
                        .unwrap_or_default(),
                })
                .collect();
            Some((Province::parse(province)?, recs))
        })
        .collect();
    Some(Round {
        config: Some(summary.round.clone()),
        recommendations,
    })
}

/// A store failure as the refusal every driving side reports (the driver's words go to the log).
pub(crate) fn refused(e: StoreError) -> Refusal {
    roster_domain::error::store_refusal(e)
}
