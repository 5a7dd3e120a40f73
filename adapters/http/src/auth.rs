//! Bearer tokens: a random secret handed out once by `roster token create`; only its SHA-256
//! hash is stored, bound to a role and a jurisdiction (SPEC §10).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use roster_domain::actor::Actor;
use roster_domain::store::AuditEntry;
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
pub struct Authenticated(pub Actor);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok());
        let token = header.and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        });
        let refuse = |why: &str| Problem::new(UNAUTHENTICATED, why.to_string());
        let what = format!("{} {}", parts.method, parts.uri.path());
        let Some(token) = token else {
            state
                .audit_refusal(
                    Actor::anonymous(),
                    &what,
                    UNAUTHENTICATED,
                    "no bearer token",
                )
                .await;
            return Err(refuse("a bearer token is required (Authorization: Bearer <token>); create one with `roster token create`"));
        };
        let record = state
            .tokens()
            .find_token(&hash_token(token))
            .await
            .map_err(|e| Problem::new("unavailable", e.to_string()))?;
        match record {
            Some(t) if t.revoked_at.is_none() => Ok(Authenticated(t.actor())),
            Some(t) => {
                state
                    .audit_refusal(t.actor(), &what, UNAUTHENTICATED, "revoked token")
                    .await;
                Err(refuse("this token has been revoked"))
            }
            None => {
                state
                    .audit_refusal(Actor::anonymous(), &what, UNAUTHENTICATED, "unknown token")
                    .await;
                Err(refuse("unknown token"))
            }
        }
    }
}

impl AppState {
    pub(crate) async fn audit_refusal(&self, actor: Actor, what: &str, code: &str, detail: &str) {
        let entry = AuditEntry {
            recorded_at: self.now(),
            actor,
            command_id: None,
            command_type: what.to_string(),
            target: None,
            outcome: "refused".into(),
            error_code: Some(code.to_string()),
            detail: Some(detail.to_string()),
        };
        if let Err(e) = self.store().record_refusal(entry).await {
            tracing::warn!(error = %e, "could not audit a refused request");
        }
    }
}
