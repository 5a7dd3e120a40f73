//! Webhooks (RULES.md §13): the ministry or an analyst registers a URL for event kinds, and the
//! system POSTs each such event to it as it is recorded, signed with HMAC-SHA256 over the
//! timestamp and the body with the webhook's secret.
//!
//! Each webhook follows the log from its own cursor (a checkpoint in the read-model store,
//! `webhook:<id>`), like the e-mail sender. An event is delivered under a delivery id derived
//! from the webhook and the event (UUIDv5), so a receiver deduplicates by it. The cursor moves
//! past an event only once the receiver answered 2xx; while it does not (down, refusing, slow)
//! the webhook waits with a doubling backoff capped at `Settings::webhook_retry_cap`, and every
//! attempt is in its delivery log. A receiver that comes back gets the events it missed, in
//! order, each once (a crash between a 2xx and recording it can send that one again, with the
//! same delivery id). A delivery can be sent again on request (replay), with the same id.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use roster_domain::actor::{Actor, Role};
use roster_domain::error::code;
use roster_domain::events::PlatformEvent;
use roster_domain::store::{Checkpoint, StoredEvent};
use roster_domain::Refusal;
use roster_projections::store::{CommitOutcome, DocChange};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use uuid::Uuid;

use crate::App;

/// The registrations (their own setting, not rebuilt from the log).
pub const WEBHOOKS: &str = "webhooks";
/// How many active webhooks one user may have.
pub const MAX_PER_OWNER: usize = 20;
/// The header with the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub const SIGNATURE_HEADER: &str = "x-roster-signature";
/// The header with the delivery id (the same on every attempt and replay of a delivery).
pub const DELIVERY_HEADER: &str = "x-roster-delivery";
/// The header with the event's type.
pub const EVENT_HEADER: &str = "x-roster-event";
/// Events read per pass of one webhook.
const BATCH: usize = 200;
/// The first wait after a failure; it doubles with each failure up to the cap.
const FIRST_RETRY_SECS: i64 = 1;

/// The cursor and delivery log of a webhook in the read-model store.
pub fn cursor_model(webhook_id: Uuid) -> String {
    format!("webhook:{webhook_id}")
}

/// The id of the delivery of `event_id` to `webhook_id`: the same on every attempt.
pub fn delivery_id(webhook_id: Uuid, event_id: Uuid) -> Uuid {
    Uuid::new_v5(&webhook_id, event_id.as_bytes())
}

/// The signature header's value for `body` sent at `timestamp` (unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// What the ministry or an analyst registers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterWebhook {
    /// Where deliveries go: an `http://` or `https://` URL.
    #[schema(example = "https://analytics.example.gov.cn/hooks/roster")]
    pub url: String,
    /// The event types delivered (e.g. `PlatformListed`, `PlatformDelisted`,
    /// `AnnualEvaluationRecorded`, `PublicNoticeStarted`), at least one.
    #[schema(min_items = 1)]
    pub event_types: Vec<String>,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Deliver the events already recorded too (from the first); by default only those
    /// recorded from now on.
    #[serde(default)]
    pub from_start: bool,
}

/// A registered webhook as its owner reads it (never the secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Webhook {
    pub webhook_id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub description: Option<String>,
    /// Who registered it (its deliveries carry what this user may read).
    pub owner: Actor,
    pub created_at: DateTime<Utc>,
    /// False once deleted: nothing more is delivered.
    pub active: bool,
}

/// A webhook with its delivery state.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WebhookStatus {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// Events recorded after its cursor (not all of them are of its types).
    pub lag: u64,
    /// Failed attempts since the last delivery; 0 when the receiver answers.
    pub failures: u32,
    /// When the next attempt is due after a failure.
    pub retry_at: Option<DateTime<Utc>>,
    /// The last failure: the receiver's status or the connection error.
    pub last_error: Option<String>,
}

/// The answer to a registration: the webhook and its secret, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RegisteredWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The HMAC-SHA256 key of the signatures; keep it: it is not shown again.
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Registration {
    #[serde(flatten)]
    webhook: Webhook,
    secret: String,
}

/// One delivery: an event sent to a webhook, with its attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Delivery {
    pub delivery_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub stream_id: String,
    /// The event's position in the log.
    pub position: i64,
    /// Attempts so far, replays included.
    pub attempts: u32,
    /// Whether the receiver answered 2xx to an attempt.
    pub delivered: bool,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_attempt_at: DateTime<Utc>,
    /// The receiver's status code of the last attempt, if it answered.
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Backoff {
    failures: u32,
    retry_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
}

fn unavailable(e: impl std::fmt::Display) -> Refusal {
    Refusal::new(code::UNAVAILABLE, format!("the store is unavailable: {e}"))
}

fn registrar(actor: &Actor) -> Result<(), Refusal> {
    match actor.role {
        Role::Ministry | Role::Analyst => Ok(()),
        _ => Err(
            Refusal::forbidden("webhooks are registered by the ministry and analysts")
                .zh("仅工业和信息化部和分析人员可登记推送地址"),
        ),
    }
}

fn delivery_key(position: i64, delivery_id: Uuid) -> String {
    format!("d:{position:020}:{delivery_id}")
}

const BACKOFF_KEY: &str = "backoff";

/// The URL checked: http or https, a host, no credentials, at most 2,000 characters.
fn check_url(url: &str) -> Result<(), Refusal> {
    let bad = |why: &str| {
        Err(Refusal::invalid("url", format!("'{url}' {why}"))
            .zh("推送地址须为 http:// 或 https:// 开头的完整网址"))
    };
    if url.len() > 2000 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("is not a URL");
    }
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return bad("is not an http:// or https:// URL");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return bad("carries credentials; put them in the receiver, not the URL");
    }
    let host = authority
        .rsplit_once(':')
        .filter(|(_, p)| p.parse::<u16>().is_ok())
        .map_or(authority, |(h, _)| h);
    if host.is_empty() || host.starts_with('.') || host.ends_with(':') {
        return bad("names no host");
    }
    Ok(())
}

fn backoff_after(failures: u32, cap_secs: i64) -> chrono::Duration {
    let secs = FIRST_RETRY_SECS
        .saturating_mul(1i64 << failures.saturating_sub(1).min(30))
        .min(cap_secs.max(1));
    chrono::Duration::seconds(secs)
}

/// What one attempt came to.
enum Attempt {
    Delivered(u16),
    Failed(Option<u16>, String),
}

impl App {
    async fn registrations(&self) -> Result<Vec<Registration>, Refusal> {
        Ok(self
            .models()
            .scan(WEBHOOKS, "")
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter_map(|(_, d)| serde_json::from_value(d).ok())
            .collect())
    }

    async fn registration(&self, actor: &Actor, webhook_id: Uuid) -> Result<Registration, Refusal> {
        registrar(actor)?;
        self.registrations()
            .await?
            .into_iter()
            .find(|r| {
                r.webhook.webhook_id == webhook_id
                    && (actor.role == Role::Ministry || r.webhook.owner == *actor)
            })
            .ok_or_else(|| {
                Refusal::not_found(format!("no webhook {webhook_id}"))
                    .zh(format!("没有推送地址 {webhook_id}"))
            })
    }

    /// Writes documents of `model` without moving its checkpoint (retried when the checkpoint
    /// moved meanwhile).
    async fn save_docs(&self, model: &str, changes: Vec<DocChange>) -> Result<(), Refusal> {
        let models = self.models();
        for _ in 0..5 {
            let at = models.state(model).await.map_err(unavailable)?.checkpoint;
            if models
                .commit(model, at, at, 0, changes.clone(), vec![])
                .await
                .map_err(unavailable)?
                == CommitOutcome::Committed
            {
                return Ok(());
            }
        }
        Err(Refusal::new(code::UNAVAILABLE, "could not be saved; try again").zh("未能保存，请重试"))
    }

    /// The checkpoint of the newest event recorded.
    async fn log_head(&self) -> Result<Checkpoint, Refusal> {
        let mut at = Checkpoint::START;
        loop {
            let page = self
                .events()
                .read_all_after(at, 5000)
                .await
                .map_err(roster_domain::error::store_refusal)?;
            match page.last() {
                Some(e) => at = e.checkpoint(),
                None => return Ok(at),
            }
        }
    }

    /// Registers a webhook for the ministry or an analyst: the URL and event types checked,
    /// at most `MAX_PER_OWNER` active per user; its cursor starts at the newest event (or the
    /// first, with `from_start`). The secret is in the answer only.
    pub async fn register_webhook(
        &self,
        actor: &Actor,
        r: RegisterWebhook,
    ) -> Result<RegisteredWebhook, Refusal> {
        registrar(actor)?;
        let url = r.url.trim().to_string();
        check_url(&url)?;
        if r.event_types.is_empty() {
            return Err(
                Refusal::invalid("event_types", "name at least one event type")
                    .zh("请至少选择一种事件"),
            );
        }
        let mut event_types = Vec::new();
        for t in &r.event_types {
            if PlatformEvent::names(t).is_none() {
                return Err(Refusal::invalid(
                    "event_types",
                    format!(
                        "unknown event type '{t}'; known: {}",
                        roster_domain::events::PLATFORM_EVENT_NAMES
                            .iter()
                            .map(|(t, _, _)| *t)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .zh(format!("未知的事件类型“{t}”")));
            }
            if !event_types.contains(t) {
                event_types.push(t.clone());
            }
        }
        let description = r
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(String::from);
        if let Some(d) = &description {
            roster_domain::input::check_text("description", d)?;
        }
        let mine = self
            .registrations()
            .await?
            .into_iter()
            .filter(|x| x.webhook.active && x.webhook.owner == *actor)
            .count();
        if mine >= MAX_PER_OWNER {
            return Err(Refusal::new(
                code::STATE_CONFLICT,
                format!("a user has at most {MAX_PER_OWNER} webhooks; delete one first"),
            )
            .zh(format!(
                "每位用户最多登记 {MAX_PER_OWNER} 个推送地址，请先删除不用的"
            )));
        }
        let webhook = Webhook {
            webhook_id: Uuid::new_v4(),
            url,
            event_types,
            description,
            owner: actor.clone(),
            created_at: self.now(),
            active: true,
        };
        let secret = format!(
            "whsec_{}{}",
            Uuid::new_v4().simple(),
            Uuid::new_v4().simple()
        );
        let start = if r.from_start {
            Checkpoint::START
        } else {
            self.log_head().await?
        };
        let model = cursor_model(webhook.webhook_id);
        self.models()
            .commit(&model, Checkpoint::START, start, 0, vec![], vec![])
            .await
            .map_err(unavailable)?;
        self.save_docs(
            WEBHOOKS,
            vec![DocChange {
                key: webhook.webhook_id.to_string(),
                doc: Some(json!(Registration {
                    webhook: webhook.clone(),
                    secret: secret.clone(),
                })),
            }],
        )
        .await?;
        Ok(RegisteredWebhook { webhook, secret })
    }

    /// The webhooks the actor reads (the ministry: all; an analyst: its own), with their
    /// delivery state, newest first.
    pub async fn webhooks(&self, actor: &Actor) -> Result<Vec<WebhookStatus>, Refusal> {
        registrar(actor)?;
        let mut out = Vec::new();
        for r in self.registrations().await? {
            if actor.role != Role::Ministry && r.webhook.owner != *actor {
                continue;
            }
            out.push(self.webhook_status(r.webhook).await?);
        }
        out.sort_by_key(|w| std::cmp::Reverse(w.webhook.created_at));
        Ok(out)
    }

    async fn webhook_status(&self, webhook: Webhook) -> Result<WebhookStatus, Refusal> {
        let model = cursor_model(webhook.webhook_id);
        let at = self
            .models()
            .state(&model)
            .await
            .map_err(unavailable)?
            .checkpoint;
        let lag = self
            .events()
            .count_after(at)
            .await
            .map_err(roster_domain::error::store_refusal)?;
        let backoff = self.backoff(&model).await?;
        Ok(WebhookStatus {
            webhook,
            lag,
            failures: backoff.failures,
            retry_at: backoff.retry_at,
            last_error: backoff.last_error,
        })
    }

    /// Every active webhook with its delivery state (the operations status).
    pub async fn active_webhooks(&self) -> Result<Vec<WebhookStatus>, Refusal> {
        let mut out = Vec::new();
        for r in self.registrations().await? {
            if r.webhook.active {
                out.push(self.webhook_status(r.webhook).await?);
            }
        }
        Ok(out)
    }

    /// One webhook with its delivery state.
    pub async fn webhook(&self, actor: &Actor, webhook_id: Uuid) -> Result<WebhookStatus, Refusal> {
        let r = self.registration(actor, webhook_id).await?;
        self.webhook_status(r.webhook).await
    }

    /// Deletes (deactivates) a webhook: nothing more is delivered; its log stays readable.
    pub async fn delete_webhook(&self, actor: &Actor, webhook_id: Uuid) -> Result<(), Refusal> {
        let mut r = self.registration(actor, webhook_id).await?;
        r.webhook.active = false;
        self.save_docs(
            WEBHOOKS,
            vec![DocChange {
                key: webhook_id.to_string(),
                doc: Some(json!(r)),
            }],
        )
        .await
    }

    /// The delivery log of a webhook, newest first, at most `limit`.
    pub async fn webhook_deliveries(
        &self,
        actor: &Actor,
        webhook_id: Uuid,
        limit: usize,
    ) -> Result<Vec<Delivery>, Refusal> {
        self.registration(actor, webhook_id).await?;
        let mut out: Vec<Delivery> = self
            .models()
            .scan(&cursor_model(webhook_id), "d:")
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter_map(|(_, d)| serde_json::from_value(d).ok())
            .collect();
        out.sort_by_key(|d| std::cmp::Reverse(d.position));
        out.truncate(limit);
        Ok(out)
    }

    /// Sends a delivery again now, with its id (a receiver that lost it, or wants it again);
    /// the attempt is logged and its outcome returned.
    pub async fn replay_delivery(
        &self,
        actor: &Actor,
        webhook_id: Uuid,
        delivery_id: Uuid,
        client: &reqwest::Client,
    ) -> Result<Delivery, Refusal> {
        let r = self.registration(actor, webhook_id).await?;
        let model = cursor_model(webhook_id);
        let missing = || {
            Refusal::not_found(format!("no delivery {delivery_id} of webhook {webhook_id}"))
                .zh(format!("没有推送记录 {delivery_id}"))
        };
        let (key, mut d) = self
            .models()
            .scan(&model, "d:")
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter(|(k, _)| k.ends_with(&delivery_id.to_string()))
            .find_map(|(k, d)| Some((k, serde_json::from_value::<Delivery>(d).ok()?)))
            .ok_or_else(missing)?;
        let stored = self
            .events()
            .load_stream(&d.stream_id, 0)
            .await
            .map_err(roster_domain::error::store_refusal)?
            .into_iter()
            .find(|e| e.event_id == d.event_id)
            .ok_or_else(missing)?;
        let attempt = self.send(client, &r, &stored).await;
        self.note_attempt(&mut d, &attempt);
        self.save_docs(
            &model,
            vec![DocChange {
                key,
                doc: Some(json!(d)),
            }],
        )
        .await?;
        Ok(d)
    }

    async fn backoff(&self, model: &str) -> Result<Backoff, Refusal> {
        Ok(self
            .models()
            .load(model, &[BACKOFF_KEY.to_string()])
            .await
            .map_err(unavailable)?
            .into_values()
            .next()
            .and_then(|d| serde_json::from_value(d).ok())
            .unwrap_or_default())
    }

    fn note_attempt(&self, d: &mut Delivery, attempt: &Attempt) {
        let now = self.now();
        d.attempts += 1;
        d.last_attempt_at = now;
        match attempt {
            Attempt::Delivered(status) => {
                d.delivered = true;
                d.delivered_at.get_or_insert(now);
                d.last_status = Some(*status);
                d.last_error = None;
            }
            Attempt::Failed(status, error) => {
                d.last_status = *status;
                d.last_error = Some(error.clone());
            }
        }
    }

    /// The body of the delivery of `e` to `r`: the event as its owner may read it.
    fn delivery_body(&self, r: &Registration, e: &StoredEvent) -> Vec<u8> {
        let mut e = e.clone();
        if !crate::reads::sees_objectors(&r.webhook.owner) {
            crate::reads::redact_event(&mut e);
        }
        let (zh, en) = PlatformEvent::names(&e.event_type).unwrap_or(("", ""));
        let body = json!({
            "delivery_id": delivery_id(r.webhook.webhook_id, e.event_id),
            "webhook_id": r.webhook.webhook_id,
            "event": {
                "event_id": e.event_id,
                "type": e.event_type,
                "name_zh": zh,
                "name_en": en,
                "stream_id": e.stream_id,
                "platform_id": roster_projections::models::platform_id(&e),
                "version": e.version,
                "position": e.global_position,
                "business_date": e.metadata.business_date,
                "recorded_at": e.metadata.recorded_at,
                "data": e.payload,
            },
        });
        serde_json::to_vec(&body).unwrap_or_default()
    }

    async fn send(&self, client: &reqwest::Client, r: &Registration, e: &StoredEvent) -> Attempt {
        let body = self.delivery_body(r, e);
        let t = self.now().timestamp();
        let sent = client
            .post(&r.webhook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::USER_AGENT, "roster-webhooks/1")
            .header(SIGNATURE_HEADER, signature(&r.secret, t, &body))
            .header(
                DELIVERY_HEADER,
                delivery_id(r.webhook.webhook_id, e.event_id).to_string(),
            )
            .header(EVENT_HEADER, &e.event_type)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(resp) if resp.status().is_success() => Attempt::Delivered(resp.status().as_u16()),
            Ok(resp) => Attempt::Failed(
                Some(resp.status().as_u16()),
                format!("the receiver answered {}", resp.status()),
            ),
            Err(err) => Attempt::Failed(None, format!("the receiver could not be reached: {err}")),
        }
    }

    /// One pass over every active webhook: delivers the events of its types after its cursor,
    /// in order, moving the cursor past each once the receiver answered 2xx (and past the
    /// events of other types). A webhook whose receiver fails waits out its backoff. How many
    /// deliveries succeeded.
    pub async fn deliver_webhooks(&self, client: &reqwest::Client) -> Result<usize, Refusal> {
        let mut sent = 0;
        for r in self.registrations().await? {
            if r.webhook.active {
                sent += self.deliver_to(client, &r).await?;
            }
        }
        Ok(sent)
    }

    async fn deliver_to(
        &self,
        client: &reqwest::Client,
        r: &Registration,
    ) -> Result<usize, Refusal> {
        let models = self.models();
        let model = cursor_model(r.webhook.webhook_id);
        let mut backoff = self.backoff(&model).await?;
        if backoff.retry_at.is_some_and(|t| t > self.now()) {
            return Ok(0);
        }
        let mut at = models.state(&model).await.map_err(unavailable)?.checkpoint;
        let events = self
            .events()
            .read_all_after(at, BATCH)
            .await
            .map_err(roster_domain::error::store_refusal)?;
        let mut skip_to = at;
        let mut sent = 0;
        // Moves the cursor from `at` to `to` with `changes`; false when another sender moved
        // it meanwhile (this pass then stops: the other one goes on).
        let advance = |at: Checkpoint, to: Checkpoint, changes: Vec<DocChange>| {
            let model = model.clone();
            async move {
                models
                    .commit(&model, at, to, u64::from(to != at), changes, vec![])
                    .await
                    .map(|o| o == CommitOutcome::Committed)
                    .map_err(unavailable)
            }
        };
        for e in &events {
            if !r.webhook.event_types.contains(&e.event_type) {
                skip_to = e.checkpoint();
                continue;
            }
            if skip_to != at {
                if !advance(at, skip_to, vec![]).await? {
                    return Ok(sent);
                }
                at = skip_to;
            }
            let id = delivery_id(r.webhook.webhook_id, e.event_id);
            let key = delivery_key(e.global_position, id);
            let mut d = models
                .load(&model, std::slice::from_ref(&key))
                .await
                .map_err(unavailable)?
                .into_values()
                .next()
                .and_then(|d| serde_json::from_value::<Delivery>(d).ok())
                .unwrap_or(Delivery {
                    delivery_id: id,
                    event_id: e.event_id,
                    event_type: e.event_type.clone(),
                    stream_id: e.stream_id.clone(),
                    position: e.global_position,
                    attempts: 0,
                    delivered: false,
                    delivered_at: None,
                    last_attempt_at: self.now(),
                    last_status: None,
                    last_error: None,
                });
            let attempt = self.send(client, r, e).await;
            self.note_attempt(&mut d, &attempt);
            let log = DocChange {
                key,
                doc: Some(json!(d)),
            };
            match attempt {
                Attempt::Delivered(_) => {
                    let cleared = DocChange {
                        key: BACKOFF_KEY.into(),
                        doc: None,
                    };
                    if !advance(at, e.checkpoint(), vec![log, cleared]).await? {
                        return Ok(sent);
                    }
                    backoff = Backoff::default();
                    at = e.checkpoint();
                    skip_to = at;
                    sent += 1;
                }
                Attempt::Failed(_, error) => {
                    backoff.failures += 1;
                    backoff.retry_at = Some(
                        self.now()
                            + backoff_after(
                                backoff.failures,
                                self.inner.settings.webhook_retry_cap_secs,
                            ),
                    );
                    tracing::warn!(webhook = %r.webhook.webhook_id, url = %r.webhook.url, failures = backoff.failures, error = %error, "a webhook delivery failed; retrying later");
                    backoff.last_error = Some(error);
                    let state = DocChange {
                        key: BACKOFF_KEY.into(),
                        doc: Some(json!(backoff)),
                    };
                    advance(at, at, vec![log, state]).await?;
                    return Ok(sent);
                }
            }
        }
        if skip_to != at {
            advance(at, skip_to, vec![]).await?;
        }
        Ok(sent)
    }
}

/// The client deliveries go out with: a timeout, no redirects followed (a receiver answers
/// where it was registered).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .connect_timeout(std::time::Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client with a timeout and no redirects")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_hmac_sha256_of_the_timestamp_and_the_body() {
        // Against a value computed independently (Python's hmac module:
        // hmac.new(b"whsec_test", b"1700000000.{}", hashlib.sha256).hexdigest()).
        assert_eq!(
            signature("whsec_test", 1_700_000_000, b"{}"),
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
    }

    #[test]
    fn the_backoff_doubles_from_one_second_up_to_the_cap() {
        let s = |n| backoff_after(n, 300).num_seconds();
        assert_eq!([s(1), s(2), s(3), s(4)], [1, 2, 4, 8]);
        assert_eq!(s(9), 256);
        assert_eq!(s(10), 300);
        assert_eq!(s(1000), 300);
    }

    #[test]
    fn a_url_is_http_or_https_with_a_host_and_no_credentials() {
        for ok in [
            "http://127.0.0.1:8080/hook",
            "https://analytics.example.gov.cn/hooks/roster?x=1",
            "http://receiver",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://x",
            "http://",
            "https://user:pw@host/",
            "http://host/ space",
            "javascript:alert(1)",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
