//! The HTTP API (axum): every command of RULES.md §4 as an endpoint, the platform detail with its
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
mod public;
mod queries;
mod reads;
mod web;
mod webhooks;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use roster_app::App;
use tokio::net::TcpListener;

pub use auth::{generate_token, hash_token, TOKEN_PREFIX};
pub use commands::{json_object, parse_envelope, ROUTES};

/// Request bodies above this are refused with 413 (an application form with its evidence list
/// is a few tens of kilobytes).
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// What the handlers share: the application, and what only HTTP needs (metrics of requests,
/// dashboard sign-ins, rate limits, the body limit).
#[derive(Clone)]
pub struct AppState {
    app: App,
    web: Arc<Web>,
}

struct Web {
    metrics: metrics::Metrics,
    /// Dashboard sign-ins.
    sessions: web::session::Sessions,
    /// Rate limits per address, per token and for failed authentications.
    limits: limits::Limits,
    body_limit: usize,
    /// The client a replayed webhook delivery goes out with.
    webhook_client: reqwest::Client,
}

impl AppState {
    /// The HTTP face of `app`, with the default rate limits.
    pub fn new(app: App) -> AppState {
        AppState {
            app,
            web: Arc::new(Web {
                metrics: metrics::Metrics::default(),
                sessions: Default::default(),
                limits: Default::default(),
                body_limit: DEFAULT_BODY_LIMIT,
                webhook_client: roster_app::webhooks::client(),
            }),
        }
    }

    /// The same state with other rate limits (before it serves).
    pub fn with_limits(mut self, config: limits::LimitConfig) -> AppState {
        Arc::get_mut(&mut self.web)
            .expect("limits are set before the state is shared")
            .limits = limits::Limits::new(config);
        self
    }

    /// The application the handlers call.
    pub fn app(&self) -> &App {
        &self.app
    }

    pub fn limits(&self) -> &limits::Limits {
        &self.web.limits
    }

    pub(crate) fn sessions(&self) -> &web::session::Sessions {
        &self.web.sessions
    }

    pub fn metrics(&self) -> &metrics::Metrics {
        &self.web.metrics
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.app.now()
    }

    pub(crate) fn webhook_client(&self) -> &reqwest::Client {
        &self.web.webhook_client
    }

    pub fn body_limit(&self) -> usize {
        self.web.body_limit
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(queries::health))
        .route("/ready", get(queries::ready))
        .route("/api/v1/openapi.json", get(openapi::serve))
        .route("/api/public/v1/roster", get(public::roster))
        .route("/api/public/v1/downloads/{file}", get(public::bulk))
        .route(
            "/api/public/v1/platforms/{platform_id}",
            get(public::platform),
        )
        .route(
            "/api/public/v1/platforms/{platform_id}/objections",
            post(public::object),
        )
        .route("/api/public/v1/notice", get(public::notice))
        .route("/api/public/v1/directory", get(public::directory))
        .route("/api/public/v1/needs", post(public::post_need))
        .route("/api/public/v1/kpi", get(public::kpi))
        .route("/api/public/v1/feed.atom", get(public::atom))
        .route("/api/public/v1/feed.json", get(public::json_feed))
        .route("/api/public/v1/calls", get(public::calls))
        .route("/api/public/v1/calls/{call_id}", get(public::call))
        .route("/api/v1/commands", post(commands::generic))
        .route(
            "/api/v1/rounds",
            post(commands::open_round).get(queries::rounds),
        )
        .route("/api/v1/rounds/{round_id}", get(queries::round))
        .route("/api/v1/calls", post(commands::open_call))
        .route("/api/v1/calls/{call_id}", get(queries::call))
        .route(
            "/api/v1/calls/{call_id}/{action}",
            post(commands::call_action),
        )
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
        .route(
            "/api/v1/webhooks",
            get(webhooks::list).post(webhooks::register),
        )
        .route(
            "/api/v1/webhooks/{webhook_id}",
            get(webhooks::one).delete(webhooks::delete),
        )
        .route(
            "/api/v1/webhooks/{webhook_id}/deliveries",
            get(webhooks::deliveries),
        )
        .route(
            "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay",
            post(webhooks::replay),
        )
        .route("/metrics", get(reads::metrics))
        .merge(web::routes())
        .fallback(no_route)
        .layer(axum::middleware::from_fn(api_headers))
        .layer(axum::middleware::from_fn(public::cors))
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

/// Serves until `shutdown` resolves. The application's background work (followers, policy
/// consumer, scheduler, catalog) is the composition root's to start (`roster_app::Runtime`).
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Err(e) = state.app().catch_up_catalog().await {
        tracing::warn!(error = %e, "initial catch-up failed; the catalog will retry");
    }
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
