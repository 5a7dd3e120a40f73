//! The HTTP API (axum): every command of SPEC §4 as an endpoint, the platform detail with its
//! full event history, round and application listings, the audit log and the OpenAPI document.
//! Authentication by bearer token, authorisation in the domain's command service; every refusal
//! is problem+json. Tests drive the real server through `run(listener, shutdown)`.

mod auth;
mod commands;
pub mod openapi;
pub mod problem;
mod queries;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use roster_domain::service::{Clock, CommandService};
use roster_domain::store::{EventStore, TokenStore};
use roster_projections::Catalog;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, RwLock};

pub use auth::{generate_token, hash_token, TOKEN_PREFIX};
pub use commands::{parse_envelope, ROUTES};

/// Request bodies above this are refused with 413 (an application form with its evidence list
/// is a few tens of kilobytes).
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    service: CommandService,
    store: Arc<dyn EventStore>,
    tokens: Arc<dyn TokenStore>,
    clock: Arc<dyn Clock>,
    catalog: RwLock<Catalog>,
    catch_up: Mutex<()>,
    body_limit: usize,
}

impl AppState {
    pub fn new(
        store: Arc<dyn EventStore>,
        tokens: Arc<dyn TokenStore>,
        clock: Arc<dyn Clock>,
    ) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                service: CommandService::new(store.clone(), clock.clone()),
                store,
                tokens,
                clock,
                catalog: RwLock::new(Catalog::default()),
                catch_up: Mutex::new(()),
                body_limit: DEFAULT_BODY_LIMIT,
            }),
        }
    }

    pub fn service(&self) -> &CommandService {
        &self.inner.service
    }

    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.inner.store
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
        .layer(axum::extract::DefaultBodyLimit::max(state.body_limit()))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
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
    let result = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    poller.abort();
    result
}
