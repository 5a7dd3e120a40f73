//! Rate limits (security review H3): per client address on every request, per token once a
//! request is authenticated, and a small budget of failed authentications (no token, unknown or
//! revoked token, failed sign-in) per address. A request over a limit gets 429 with
//! `Retry-After` and is not audited, so a flood can neither fill the append-only audit log nor
//! guess tokens at speed; the real refusals stay readable.
//!
//! Built on `governor` (the GCRA limiter `tower_governor` wraps) rather than a layer in front of
//! the router: which budget a request spends depends on the outcome of authentication, which
//! only the extractor knows.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::problem::Problem;
use crate::AppState;

pub const TOO_MANY_REQUESTS: roster_domain::error::Code =
    roster_domain::error::code::TOO_MANY_REQUESTS;

/// The budgets; `0` in a rate turns that limit off (a load test on a trusted network).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitConfig {
    /// Requests per second from one client address, sustained …
    pub per_address_per_second: u32,
    /// … and in a burst.
    pub per_address_burst: u32,
    /// Requests per second with one token, sustained and in a burst.
    pub per_token_per_second: u32,
    pub per_token_burst: u32,
    /// Failed authentications per minute from one address (also the burst).
    pub failures_per_minute: u32,
    /// Requests per second from one address to the public face (`/public`, `/api/public`),
    /// sustained and in a burst: anyone may call it, so it has its own, tighter budget.
    pub public_per_address_per_second: u32,
    pub public_per_address_burst: u32,
    /// Objections one address may file per hour (also the burst): a person objects once or
    /// twice; a flood would bury the ministry's inbox.
    pub objections_per_hour: u32,
}

impl Default for LimitConfig {
    /// Generous for a bureau behind one address, tight for guessing: 100 requests/s per
    /// address (burst 200), 50/s per token (burst 100), 30 failed authentications a minute.
    fn default() -> Self {
        LimitConfig {
            per_address_per_second: 100,
            per_address_burst: 200,
            per_token_per_second: 50,
            per_token_burst: 100,
            failures_per_minute: 30,
            public_per_address_per_second: 10,
            public_per_address_burst: 60,
            objections_per_hour: 5,
        }
    }
}

fn limiter<K: std::hash::Hash + Eq + Clone>(
    per: Option<Quota>,
) -> Option<DefaultKeyedRateLimiter<K>> {
    per.map(RateLimiter::keyed)
}

fn quota(rate: u32, burst: u32, per_minute: bool) -> Option<Quota> {
    let rate = NonZeroU32::new(rate)?;
    let burst = NonZeroU32::new(burst.max(1)).expect("at least 1");
    Some(if per_minute {
        Quota::per_minute(rate).allow_burst(burst)
    } else {
        Quota::per_second(rate).allow_burst(burst)
    })
}

pub struct Limits {
    per_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_token: Option<DefaultKeyedRateLimiter<String>>,
    failures: Option<DefaultKeyedRateLimiter<IpAddr>>,
    public: Option<DefaultKeyedRateLimiter<IpAddr>>,
    objections: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new(LimitConfig::default())
    }
}

/// How long to wait before retrying, in whole seconds (at least 1).
fn wait(not_until: &governor::NotUntil<governor::clock::QuantaInstant>) -> u64 {
    let d: Duration = not_until.wait_time_from(DefaultClock::default().now());
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

impl Limits {
    pub fn new(c: LimitConfig) -> Limits {
        Limits {
            per_address: limiter(quota(c.per_address_per_second, c.per_address_burst, false)),
            per_token: limiter(quota(c.per_token_per_second, c.per_token_burst, false)),
            failures: limiter(quota(c.failures_per_minute, c.failures_per_minute, true)),
            public: limiter(quota(
                c.public_per_address_per_second,
                c.public_per_address_burst,
                false,
            )),
            objections: limiter(
                NonZeroU32::new(c.objections_per_hour).map(|n| Quota::per_hour(n).allow_burst(n)),
            ),
        }
    }

    /// A request from `addr`: `Err(seconds)` when the address is over its budget.
    pub fn address(&self, addr: IpAddr) -> Result<(), u64> {
        match &self.per_address {
            Some(l) => l.check_key(&addr).map_err(|n| wait(&n)),
            None => Ok(()),
        }
    }

    /// An authenticated request with the token whose hash is `token_hash`.
    pub fn token(&self, token_hash: &str) -> Result<(), u64> {
        match &self.per_token {
            Some(l) => l.check_key(&token_hash.to_string()).map_err(|n| wait(&n)),
            None => Ok(()),
        }
    }

    /// A failed authentication from `addr`: `Err(seconds)` when the address has used up its
    /// budget (the failure is then answered 429 and not audited).
    pub fn failure(&self, addr: IpAddr) -> Result<(), u64> {
        match &self.failures {
            Some(l) => l.check_key(&addr).map_err(|n| wait(&n)),
            None => Ok(()),
        }
    }

    /// A request from `addr` to the public face: `Err(seconds)` when over its budget.
    pub fn public(&self, addr: IpAddr) -> Result<(), u64> {
        match &self.public {
            Some(l) => l.check_key(&addr).map_err(|n| wait(&n)),
            None => Ok(()),
        }
    }

    /// An objection filed from `addr`: `Err(seconds)` when the address has filed its share.
    pub fn objection(&self, addr: IpAddr) -> Result<(), u64> {
        match &self.objections {
            Some(l) => l.check_key(&addr).map_err(|n| wait(&n)),
            None => Ok(()),
        }
    }

    /// Forgets keys whose budgets are full again, so memory follows the active clients.
    pub fn forget_idle(&self) {
        if let Some(l) = &self.per_address {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.per_token {
            l.retain_recent();
            l.shrink_to_fit();
        }
        for l in [&self.failures, &self.public, &self.objections]
            .into_iter()
            .flatten()
        {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

/// 429 as problem+json, with `Retry-After`.
pub fn too_many(seconds: u64, what: &str) -> Response {
    let mut resp = Problem::new(
        TOO_MANY_REQUESTS,
        format!("too many {what} from this client; retry after {seconds} s"),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// The client's address (the peer of the connection; `None` in handler tests without one).
pub fn client_address(req: &axum::http::request::Parts) -> Option<IpAddr> {
    req.extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The client's address, when the connection has one (requests in handler tests do not).
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(client_address(parts)))
    }
}

/// Whether `path` is of the public face (no sign-in, its own budget).
pub fn is_public(path: &str) -> bool {
    path == "/public" || path.starts_with("/public/") || path.starts_with("/api/public/")
}

/// Middleware: the per-address budget for every request, and the public face's own.
pub async fn per_address(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(ConnectInfo(addr)) = req.extensions().get::<ConnectInfo<SocketAddr>>() {
        if let Err(seconds) = state.limits().address(addr.ip()) {
            state.metrics().rate_limited();
            return too_many(seconds, "requests");
        }
        if is_public(req.uri().path()) {
            if let Err(seconds) = state.limits().public(addr.ip()) {
                state.metrics().rate_limited();
                return too_many(seconds, "requests to the public face");
            }
        }
    }
    next.run(req).await
}
