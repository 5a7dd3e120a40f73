//! The HTTP API (axum): every command of SPEC §4 as an endpoint, the platform detail with its
//! full event history, round and application listings, the audit log and the OpenAPI document.
//! Authentication by bearer token, authorisation in the domain's command service; every refusal
//! is problem+json. Tests drive the real server through `run(listener, shutdown)`.

mod auth;
mod commands;
mod kpi;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod problem;
mod queries;
mod reads;
mod web;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use roster_domain::policies::PolicyConfig;
use roster_domain::service::{Clock, CommandService};
use roster_domain::store::Checkpoint;
use roster_domain::store::{DeadlineStore, EventStore, TokenStore};
use roster_projections::automation::Fired;
use roster_projections::local::LocalProjections;
use roster_projections::{
    Catalog, Link, PolicyConsumer, ProjectionFollower, ReadModelStore, RunError, Scheduler,
    SharedLog, Subscriptions,
};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, RwLock};

pub use auth::{generate_token, hash_token, TOKEN_PREFIX};
pub use commands::{json_object, parse_envelope, ROUTES};

/// Request bodies above this are refused with 413 (an application form with its evidence list
/// is a few tens of kilobytes).
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

/// The stores the application runs on (one database holds them all in practice).
#[derive(Clone)]
pub struct Backends {
    pub events: Arc<dyn EventStore>,
    pub tokens: Arc<dyn TokenStore>,
    pub models: Arc<dyn ReadModelStore>,
    pub deadlines: Arc<dyn DeadlineStore>,
}

struct Inner {
    service: Arc<CommandService>,
    store: Arc<dyn EventStore>,
    /// The log as the followers read it: `store` with one shared read of recent events.
    log: Arc<dyn EventStore>,
    deadlines: Arc<dyn DeadlineStore>,
    policies: Arc<PolicyConsumer>,
    scheduler: Scheduler,
    policy: PolicyConfig,
    tokens: Arc<dyn TokenStore>,
    models: Arc<dyn ReadModelStore>,
    /// Projections run in this process (embedded default); `None` when broker consumers run them.
    local: Option<Arc<LocalProjections>>,
    metrics: metrics::Metrics,
    /// Woken after each accepted command (the broker relay, when one runs in this process).
    after_commit: std::sync::OnceLock<Arc<tokio::sync::Notify>>,
    clock: Arc<dyn Clock>,
    catalog: RwLock<Catalog>,
    catch_up: Mutex<()>,
    body_limit: usize,
    /// The KPI documents while the kpi read model has not moved.
    kpi: roster_projections::kpi::Cache,
    /// Dashboard sign-ins.
    sessions: web::session::Sessions,
    /// Rate limits per address, per token and for failed authentications.
    limits: limits::Limits,
    /// Per projection: the checkpoint last seen and since when it has not moved.
    progress: std::sync::Mutex<std::collections::HashMap<String, (Checkpoint, std::time::Instant)>>,
    /// A projection behind the log whose checkpoint has not moved for this long is stalled.
    stall_after: Duration,
    /// The broker transport's consumers and relay, when one runs in this process.
    subscriptions: std::sync::OnceLock<Subscriptions>,
    /// A consumer without its subscription for this long is missing.
    subscription_grace: Duration,
}

/// Default for `AppState::with_stall_after`.
pub const DEFAULT_STALL_AFTER: Duration = Duration::from_secs(120);

/// Default for `AppState::with_subscription_grace`: longer than a reconnect after a dropped
/// connection takes, shorter than anyone should wait for a consumer that did not come back.
pub const DEFAULT_SUBSCRIPTION_GRACE: Duration = Duration::from_secs(5);

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
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeadlineStatus {
    pub pending: u64,
    /// Pending although their day has passed: the scheduler is behind or stopped.
    pub late: u64,
    /// The next pending deadlines, soonest first (at most 50).
    #[schema(value_type = Vec<Object>)]
    pub next: Vec<roster_domain::store::DeadlineRecord>,
}

impl AppState {
    /// `local_projections`: run the read models and the policy consumer in this process (the
    /// embedded default, or PostgreSQL without a broker); false when RabbitMQ consumers run
    /// them. The deadline scheduler runs in every serving process (`run`); two are harmless.
    pub fn new(
        backends: Backends,
        clock: Arc<dyn Clock>,
        local_projections: bool,
        policy: PolicyConfig,
    ) -> AppState {
        let Backends {
            events: store,
            tokens,
            models,
            deadlines,
        } = backends;
        let service = Arc::new(CommandService::new(store.clone(), clock.clone()));
        // Every follower of this process (read models, policy consumer) reads the log once.
        let log: Arc<dyn EventStore> = Arc::new(SharedLog::new(
            store.clone(),
            roster_projections::shared_log::DEFAULT_CAPACITY,
        ));
        let policies = Arc::new(
            PolicyConsumer::new(
                service.clone(),
                models.clone(),
                deadlines.clone(),
                policy.clone(),
            )
            .reading(log.clone()),
        );
        let local = local_projections.then(|| {
            let mut followers = ProjectionFollower::all(&log, &models);
            followers.push(policies.clone());
            LocalProjections::with_followers(followers)
        });
        AppState {
            inner: Arc::new(Inner {
                scheduler: Scheduler::new(service.clone(), deadlines.clone(), clock.clone()),
                policy,
                service,
                deadlines,
                policies,
                log,
                store,
                tokens,
                models,
                local,
                metrics: metrics::Metrics::default(),
                after_commit: std::sync::OnceLock::new(),
                clock,
                catalog: RwLock::new(Catalog::default()),
                catch_up: Mutex::new(()),
                body_limit: DEFAULT_BODY_LIMIT,
                kpi: Default::default(),
                sessions: Default::default(),
                limits: Default::default(),
                progress: Default::default(),
                stall_after: DEFAULT_STALL_AFTER,
                subscriptions: std::sync::OnceLock::new(),
                subscription_grace: DEFAULT_SUBSCRIPTION_GRACE,
            }),
        }
    }

    /// The same state with another stall limit (before it serves).
    pub fn with_stall_after(mut self, after: Duration) -> AppState {
        Arc::get_mut(&mut self.inner)
            .expect("the stall limit is set before the state is shared")
            .stall_after = after;
        self
    }

    /// The same state with another grace before a consumer without its subscription counts as
    /// missing (before it serves).
    pub fn with_subscription_grace(mut self, grace: Duration) -> AppState {
        Arc::get_mut(&mut self.inner)
            .expect("the grace is set before the state is shared")
            .subscription_grace = grace;
        self
    }

    /// Reports the broker transport's consumers (`/ready`, status, `/metrics`); set once.
    pub fn report_subscriptions(&self, subscriptions: Subscriptions) {
        let _ = self.inner.subscriptions.set(subscriptions);
    }

    /// The relay and the consumers of the broker transport in this process, if one runs.
    pub fn consumers(&self) -> Vec<ConsumerStatus> {
        let Some(subscriptions) = self.inner.subscriptions.get() else {
            return Vec::new();
        };
        subscriptions
            .states()
            .into_iter()
            .map(|s| ConsumerStatus {
                missing: s.missing(self.inner.subscription_grace),
                subscribed: s.link == Link::Subscribed,
                standby: s.link == Link::Standby,
                since: s.since,
                last_subscribed: s.last_subscribed,
                consumer: s.name,
            })
            .collect()
    }

    /// Whether a projection at `checkpoint`, `lag` events behind, has been stuck longer than the
    /// stall limit (its checkpoint unchanged since first seen behind).
    fn stalled(&self, projection: &str, checkpoint: Checkpoint, lag: u64) -> bool {
        let now = std::time::Instant::now();
        let mut seen = self.inner.progress.lock().expect("progress");
        let entry = seen
            .entry(projection.to_string())
            .or_insert((checkpoint, now));
        if entry.0 != checkpoint || lag == 0 {
            *entry = (checkpoint, now);
        }
        lag > 0 && now.duration_since(entry.1) >= self.inner.stall_after
    }

    /// The same state with other rate limits (before it serves).
    pub fn with_limits(mut self, config: limits::LimitConfig) -> AppState {
        Arc::get_mut(&mut self.inner)
            .expect("limits are set before the state is shared")
            .limits = limits::Limits::new(config);
        self
    }

    pub fn limits(&self) -> &limits::Limits {
        &self.inner.limits
    }

    pub fn service(&self) -> &CommandService {
        &self.inner.service
    }

    pub fn deadlines(&self) -> &Arc<dyn DeadlineStore> {
        &self.inner.deadlines
    }

    /// The policy consumer, for a broker transport to drive (`local_projections` false).
    pub fn policy_consumer(&self) -> Arc<PolicyConsumer> {
        self.inner.policies.clone()
    }

    /// The log as this process's followers read it (one shared read of recent events), for a
    /// transport that runs the read models elsewhere than in `local`.
    pub fn shared_log(&self) -> Arc<dyn EventStore> {
        self.inner.log.clone()
    }

    /// Runs dynamic management to a standstill: (in local mode) the read models and the policy
    /// consumer catch up, then the scheduler fires what is due, and again while anything
    /// fired (an opened review schedules the next one, which may be due too when the clock has
    /// jumped). Returns the deadlines fired. With broker consumers only the scheduler runs here.
    pub async fn automate(&self) -> Result<Vec<Fired>, RunError> {
        let mut all = Vec::new();
        loop {
            if let Some(local) = &self.inner.local {
                local.catch_up_all().await?;
            }
            let fired = self.inner.scheduler.tick().await?;
            if fired.is_empty() {
                return Ok(all);
            }
            all.extend(fired);
        }
    }

    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.inner.store
    }

    pub fn kpi_cache(&self) -> &roster_projections::kpi::Cache {
        &self.inner.kpi
    }

    pub(crate) fn sessions(&self) -> &web::session::Sessions {
        &self.inner.sessions
    }

    pub fn models(&self) -> &Arc<dyn ReadModelStore> {
        &self.inner.models
    }

    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    /// In local mode, brings the read models up to the head of the log before a report, so a
    /// report reflects every accepted command. With broker consumers, reports show what the
    /// consumers have applied (their lag is in `status`).
    pub async fn refresh_projections(&self) {
        if let Some(local) = &self.inner.local {
            if let Err(e) = local.catch_up_all().await {
                tracing::warn!(error = %e, "projections could not catch up");
            }
        }
    }

    pub fn wake_projections(&self) {
        if let Some(local) = &self.inner.local {
            local.wake();
        }
        if let Some(n) = self.inner.after_commit.get() {
            n.notify_one();
        }
    }

    /// Registers what to wake after each accepted command (e.g. the relay); set once.
    pub fn wake_after_commit(&self, notify: Arc<tokio::sync::Notify>) {
        let _ = self.inner.after_commit.set(notify);
    }

    /// Each read model's and the policy consumer's checkpoint, lag, dead letters and whether it
    /// is stalled (what `/ready` and `status` report).
    pub async fn projections(&self) -> Result<Vec<ProjectionStatus>, roster_domain::Refusal> {
        let unavailable = |e: roster_domain::store::StoreError| {
            roster_domain::Refusal::new("unavailable", e.to_string())
        };
        let states = self.inner.models.states().await.map_err(unavailable)?;
        self.projections_with(&states).await
    }

    async fn projections_with(
        &self,
        states: &[roster_projections::ProjectionState],
    ) -> Result<Vec<ProjectionStatus>, roster_domain::Refusal> {
        let unavailable = |e: roster_domain::store::StoreError| {
            roster_domain::Refusal::new("unavailable", e.to_string())
        };
        let dead = self
            .inner
            .models
            .dead_letters(None)
            .await
            .map_err(unavailable)?;
        let mut projections = Vec::new();
        for name in roster_projections::models::NAMES
            .into_iter()
            .chain([roster_projections::POLICIES])
        {
            let st = states.iter().find(|s| s.projection == name);
            let checkpoint = st.map(|s| s.checkpoint).unwrap_or_default();
            let lag = self
                .inner
                .store
                .count_after(checkpoint)
                .await
                .map_err(unavailable)?;
            projections.push(ProjectionStatus {
                projection: name.to_string(),
                checkpoint,
                applied: st.map_or(0, |s| s.applied),
                lag,
                stalled: self.stalled(name, checkpoint, lag),
                dead_letters: dead
                    .iter()
                    .filter(|d| d.projection == name && d.replayed_at.is_none())
                    .count() as u64,
                updated_at: st.and_then(|s| s.updated_at),
            });
        }
        Ok(projections)
    }

    pub async fn status(&self) -> Result<Status, roster_domain::Refusal> {
        let unavailable = |e: roster_domain::store::StoreError| {
            roster_domain::Refusal::new("unavailable", e.to_string())
        };
        let events = self
            .inner
            .store
            .count_after(Checkpoint::START)
            .await
            .map_err(unavailable)?;
        let states = self.inner.models.states().await.map_err(unavailable)?;
        let projections = self.projections_with(&states).await?;
        let relay = states.iter().find(|s| s.projection == "relay");
        let relay_lag = match relay {
            Some(r) => Some(
                self.inner
                    .store
                    .count_after(r.checkpoint)
                    .await
                    .map_err(unavailable)?,
            ),
            None => None,
        };
        let today = self.inner.clock.today();
        let pending = self
            .inner
            .deadlines
            .deadlines(true, usize::MAX >> 1)
            .await
            .map_err(unavailable)?;
        let deadlines = DeadlineStatus {
            pending: pending.len() as u64,
            late: pending
                .iter()
                .filter(|d| d.deadline.fire_on < today)
                .count() as u64,
            next: pending.into_iter().take(50).collect(),
        };
        let reviews: Vec<roster_projections::models::reviews::ReviewsDoc> = self
            .inner
            .models
            .scan("reviews", "")
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter_map(|(_, v)| serde_json::from_value(v).ok())
            .collect();
        let window = u32::try_from(self.inner.policy.review_window_days).unwrap_or(u32::MAX);
        let reviews_overdue = roster_projections::queries::reviews(&reviews, today, window)
            .iter()
            .filter(|r| r.state == roster_projections::queries::ReviewState::Overdue)
            .count() as u64;
        Ok(Status {
            deadlines,
            reviews_overdue,
            events,
            projections,
            relay_checkpoint: relay.map(|r| r.checkpoint),
            relay_lag,
            transport: if self.inner.local.is_some() {
                "local"
            } else {
                "broker"
            },
            consumers: self.consumers(),
        })
    }

    pub fn tokens(&self) -> &Arc<dyn TokenStore> {
        &self.inner.tokens
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// Brings the catalog up to the head of the store. Serialised, so two requests never apply
    /// the same event twice; the catalog ignores duplicates anyway.
    pub async fn catch_up(&self) -> Result<u64, roster_domain::Refusal> {
        let _guard = self.inner.catch_up.lock().await;
        let mut applied = 0;
        loop {
            let from = self.inner.catalog.read().await.checkpoint;
            let batch = self
                .inner
                .store
                .read_all_after(from, 1000)
                .await
                .map_err(|e| roster_domain::Refusal::new("unavailable", e.to_string()))?;
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
            if let Err(e) = self.catch_up().await {
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

    pub async fn catalog(&self) -> tokio::sync::RwLockReadGuard<'_, Catalog> {
        self.inner.catalog.read().await
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(queries::health))
        .route("/ready", get(queries::ready))
        .route("/api/v1/openapi.json", get(openapi::serve))
        .route("/api/v1/commands", post(commands::generic))
        .route(
            "/api/v1/rounds",
            post(commands::open_round).get(queries::rounds),
        )
        .route("/api/v1/rounds/{round_id}", get(queries::round))
        .route("/api/v1/platforms", get(queries::platforms))
        .route("/api/v1/platforms/{platform_id}", get(queries::platform))
        .route(
            "/api/v1/platforms/{platform_id}/events",
            get(queries::platform_events),
        )
        .route(
            "/api/v1/platforms/{platform_id}/{action}",
            post(commands::platform_action),
        )
        .route("/api/v1/audit", get(queries::audit))
        .route("/api/v1/roster", get(reads::roster))
        .route(
            "/api/v1/platforms/{platform_id}/timeline",
            get(reads::timeline),
        )
        .route("/api/v1/funnel", get(reads::funnel))
        .route("/api/v1/reviews", get(reads::reviews))
        .route("/api/v1/incidents", get(reads::incidents))
        .route("/api/v1/status", get(reads::status))
        .route("/api/v1/reports/kpi", get(kpi::report))
        .route("/api/v1/targets", get(kpi::list).post(kpi::define))
        .route(
            "/api/v1/targets/{target_set_id}/retirement",
            post(kpi::retire),
        )
        .route("/metrics", get(reads::metrics))
        .merge(web::routes())
        .fallback(no_route)
        .layer(axum::middleware::from_fn(api_headers))
        .layer(axum::extract::DefaultBodyLimit::max(state.body_limit()))
        // A client that starts a body and stops sending is cut off (review L2).
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            BODY_READ_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::per_address,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// How long a client may take to send a request's headers (a connection that sends nothing,
/// or trickles, is closed: review L2) …
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// … and its body.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// An unknown route: problem+json (review L6), like every other refusal.
async fn no_route() -> problem::Problem {
    problem::Problem::new(
        roster_domain::error::code::NOT_FOUND,
        "no such route; the API is described at /api/v1/openapi.json",
    )
}

/// API answers are not cached and not sniffed (review L9); the dashboard sets its own headers.
/// An error the router or an extractor answered by itself (method not allowed, a path that is
/// not UTF-8) becomes problem+json like every other refusal (review L6).
async fn api_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue, StatusCode};
    let dashboard = req.uri().path().starts_with("/ui");
    let mut resp = next.run(req).await;
    let status = resp.status();
    let plain = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|t| t.starts_with("text/plain"));
    if !dashboard && (status.is_client_error() || status.is_server_error()) && plain {
        let allow = resp.headers().get(header::ALLOW).cloned();
        let detail = if status == StatusCode::METHOD_NOT_ALLOWED {
            let allowed = allow.as_ref().and_then(|v| v.to_str().ok()).unwrap_or("");
            format!("this route does not take that method; allowed: {allowed}")
        } else {
            let body = axum::body::to_bytes(std::mem::take(resp.body_mut()), 4096)
                .await
                .unwrap_or_default();
            String::from_utf8_lossy(&body).chars().take(300).collect()
        };
        let code = match status {
            StatusCode::NOT_FOUND => roster_domain::error::code::NOT_FOUND,
            StatusCode::PAYLOAD_TOO_LARGE => problem::BODY_TOO_LARGE,
            s if s.is_server_error() => roster_domain::error::code::INTERNAL,
            _ => roster_domain::error::code::INVALID_INPUT,
        };
        let mut problem = problem::Problem::new(code, detail);
        problem.status = status;
        resp = axum::response::IntoResponse::into_response(problem);
        if let Some(a) = allow {
            resp.headers_mut().insert(header::ALLOW, a);
        }
    }
    let h = resp.headers_mut();
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    h.entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    resp
}

/// Serves until `shutdown` resolves. A background task keeps the catalog caught up with events
/// written by other processes (e.g. an import running beside the server).
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Err(e) = state.catch_up().await {
        tracing::warn!(error = %e, "initial catch-up failed; the catalog will retry");
    }
    let poller = {
        let state = state.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                if let Err(e) = state.catch_up().await {
                    tracing::warn!(error = %e, "catalog catch-up failed");
                }
            }
        })
    };
    let automation = tokio::spawn(automation_loop(state.clone()));
    let forget = {
        let state = state.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                state.limits().forget_idle();
            }
        })
    };
    let result = serve(listener, router(state), shutdown).await;
    poller.abort();
    automation.abort();
    forget.abort();
    result
}

/// HTTP/1.1 over `listener` with a header-read timeout (axum's `serve` has none, so half-open
/// and trickling connections stayed open: review L2), the peer address for the rate limits, and
/// a graceful shutdown that lets requests in flight finish.
async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use tower::ServiceExt;

    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                app.clone().oneshot(req.map(axum::body::Body::new))
            });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    // Requests in flight finish; idle connections close.
    let _ = tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await;
    Ok(())
}

/// How often the scheduler looks for due deadlines when nothing wakes it.
const SCHEDULER_PERIOD: Duration = Duration::from_secs(5);

/// The in-process followers (local mode) after every accepted command and every 250 ms; the
/// scheduler every few seconds and whenever the followers applied something.
async fn automation_loop(state: AppState) {
    let mut last_tick: Option<tokio::time::Instant> = None;
    loop {
        let mut moved = false;
        if let Some(local) = &state.inner.local {
            match local.catch_up_all().await {
                Ok(progress) => moved = progress.iter().any(|(_, p)| p.applied > 0),
                Err(e) => {
                    tracing::warn!(error = %e, "in-process followers could not catch up; retrying")
                }
            }
        }
        if moved || last_tick.is_none_or(|t| t.elapsed() >= SCHEDULER_PERIOD) {
            last_tick = Some(tokio::time::Instant::now());
            match state.inner.scheduler.tick().await {
                // Fired reviews schedule their successors: go round again at once.
                Ok(fired) if !fired.is_empty() => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the deadline scheduler failed; retrying"),
            }
        }
        match &state.inner.local {
            Some(local) => local.wait(Duration::from_millis(250)).await,
            None => tokio::time::sleep(SCHEDULER_PERIOD).await,
        }
    }
}
