//! Bearer tokens: a random secret handed out once by `roster token create`; only its SHA-256
//! hash is stored, bound to a role and a jurisdiction (RULES.md §10).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use roster_domain::actor::Actor;
use sha2::{Digest, Sha256};

use crate::problem::{Problem, UNAUTHENTICATED};
use crate::AppState;

pub const TOKEN_PREFIX: &str = "rst_";

/// A new secret: 244 random bits from the OS (two v4 UUIDs), hex-encoded.
pub fn generate_token() -> String {
    format!(
        "{TOKEN_PREFIX}{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// The authenticated actor of a request.
pub(crate) struct Authenticated(pub Actor);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let address = crate::limits::client_address(parts);
        match authenticate(parts, state).await {
            Ok((actor, token_hash)) => match state.limits().token(&token_hash) {
                Ok(()) => Ok(Authenticated(actor)),
                Err(seconds) => {
                    state.metrics().rate_limited();
                    Err(crate::limits::too_many(seconds, "requests with this token"))
                }
            },
            Err(Failure::Unavailable(p)) => Err(p.into_response()),
            Err(Failure::Refused {
                actor,
                why,
                problem,
            }) => {
                // Over the address's budget of failed authentications: 429, and no audit line,
                // so a flood cannot fill the audit log (review H3).
                if let Some(Err(seconds)) = address.map(|a| state.limits().failure(a)) {
                    state.metrics().rate_limited();
                    return Err(crate::limits::too_many(seconds, "failed authentications"));
                }
                let what = format!("{} {}", parts.method, parts.uri.path());
                state
                    .audit_refusal(actor, &what, &UNAUTHENTICATED, why)
                    .await;
                Err(problem.into_response())
            }
        }
    }
}

enum Failure {
    Unavailable(Problem),
    Refused {
        actor: Actor,
        why: &'static str,
        problem: Problem,
    },
}

/// The actor and token hash of a request's bearer token.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<(Actor, String), Failure> {
    {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok());
        let token = header.and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        });
        let refuse = |actor: Actor, why: &'static str, detail: &str| Failure::Refused {
            actor,
            why,
            problem: Problem::new(UNAUTHENTICATED, detail.to_string()),
        };
        let Some(token) = token else {
            return Err(refuse(
                Actor::anonymous(),
                "no bearer token",
                "a bearer token is required (Authorization: Bearer <token>); create one with `roster token create`",
            ));
        };
        let token_hash = hash_token(token);
        let record = state
            .app()
            .tokens()
            .find_token(&token_hash)
            .await
            .map_err(|e| {
                // The cause is for the log, not for an unauthenticated caller (review L4).
                tracing::warn!(error = %e, "token look-up failed");
                Failure::Unavailable(Problem::new(
                    roster_domain::error::code::UNAVAILABLE,
                    "the service cannot check tokens right now; retry shortly",
                ))
            })?;
        match record {
            Some(t) if t.revoked_at.is_none() => Ok((t.actor(), token_hash)),
            Some(t) => Err(refuse(
                t.actor(),
                "revoked token",
                "this token has been revoked",
            )),
            None => Err(refuse(Actor::anonymous(), "unknown token", "unknown token")),
        }
    }
}

impl AppState {
    pub(crate) async fn audit_refusal(
        &self,
        actor: Actor,
        what: &str,
        code: &roster_domain::error::Code,
        detail: &str,
    ) {
        self.app.audit_refusal(actor, what, code, detail).await;
    }
}
