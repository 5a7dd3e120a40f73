//! `/api/v1/webhooks`: the ministry and analysts register URLs for event kinds, read their
//! delivery logs and send a delivery again (RULES.md §13; `roster_app::webhooks`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_app::webhooks::RegisterWebhook;
use roster_domain::Refusal;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::commands::{audited, parse_object, typed};
use crate::AppState;

fn id_of(s: &str, what: &str) -> Result<Uuid, Refusal> {
    Uuid::parse_str(s).map_err(|_| Refusal::not_found(format!("no {what} {s}")))
}

/// The answer to `what`: `ok` of its value, or the refusal as problem+json, audited.
async fn answer<T, R: IntoResponse>(
    state: &AppState,
    actor: &roster_domain::Actor,
    what: &str,
    result: Result<T, Refusal>,
    ok: impl FnOnce(T) -> R,
) -> Response {
    match result {
        Ok(v) => ok(v).into_response(),
        Err(r) => audited(state, actor, what, r).await,
    }
}

/// `POST /api/v1/webhooks`: registers a webhook; 201 with its secret (shown this once).
pub(crate) async fn register(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let run = async {
        let obj = parse_object(body)?;
        let r: RegisterWebhook = typed("", serde_json::Value::Object(obj))?;
        state.app().register_webhook(&actor, r).await
    };
    answer(&state, &actor, "POST /api/v1/webhooks", run.await, |w| {
        (StatusCode::CREATED, Json(w))
    })
    .await
}

/// `GET /api/v1/webhooks`: the webhooks the caller reads, with their delivery state.
pub(crate) async fn list(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Response {
    let listed = state.app().webhooks(&actor).await;
    answer(&state, &actor, "GET /api/v1/webhooks", listed, Json).await
}

/// `GET /api/v1/webhooks/{id}`: one webhook with its delivery state.
pub(crate) async fn one(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(webhook_id): Path<String>,
) -> Response {
    let run = async {
        let id = id_of(&webhook_id, "webhook")?;
        state.app().webhook(&actor, id).await
    };
    answer(&state, &actor, "GET /api/v1/webhooks/{id}", run.await, Json).await
}

/// `DELETE /api/v1/webhooks/{id}`: nothing more is delivered; 204.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(webhook_id): Path<String>,
) -> Response {
    let run = async {
        let id = id_of(&webhook_id, "webhook")?;
        state.app().delete_webhook(&actor, id).await
    };
    answer(
        &state,
        &actor,
        "DELETE /api/v1/webhooks/{id}",
        run.await,
        |()| StatusCode::NO_CONTENT,
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogQuery {
    limit: Option<usize>,
}

/// `GET /api/v1/webhooks/{id}/deliveries?limit=`: the delivery log, newest first.
pub(crate) async fn deliveries(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(webhook_id): Path<String>,
    q: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let run = async {
        let Query(q) = q.map_err(|e| Refusal::invalid("query", e.body_text()))?;
        let limit = q.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(Refusal::invalid("limit", "limit is 1 to 1000"));
        }
        let id = id_of(&webhook_id, "webhook")?;
        state.app().webhook_deliveries(&actor, id, limit).await
    };
    answer(
        &state,
        &actor,
        "GET /api/v1/webhooks/{id}/deliveries",
        run.await,
        Json,
    )
    .await
}

/// `POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/replay`: sends the delivery again now,
/// with its id; 200 with the delivery as logged after the attempt.
pub(crate) async fn replay(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((webhook_id, delivery_id)): Path<(String, String)>,
) -> Response {
    let run = async {
        let id = id_of(&webhook_id, "webhook")?;
        let delivery = id_of(&delivery_id, "delivery")?;
        state
            .app()
            .replay_delivery(&actor, id, delivery, state.webhook_client())
            .await
    };
    answer(
        &state,
        &actor,
        "POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/replay",
        run.await,
        Json,
    )
    .await
}
