//! Webhooks (RULES.md §13) against a real receiver: a local HTTP server that checks every
//! signature on its own (HMAC-SHA256 of "<t>.<body>"), is stopped, misses deliveries, is
//! started again on the same port, and then receives every missed delivery exactly once by its
//! delivery id, in order; a replay sends one again under the same id.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use roster_domain::actor::Role;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::oneshot;

use crate::app::{spawn_app, Kind, TestApp};

/// What the receiver saw: each verified delivery (its id, event type and body), and how many
/// requests failed the signature check.
#[derive(Default)]
struct Seen {
    deliveries: Vec<(String, String, Value)>,
    bad_signatures: usize,
}

struct Receiver {
    seen: Arc<Mutex<Seen>>,
    secret: Arc<Mutex<String>>,
    port: u16,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Whether `header` (`t=<unix>,v1=<hex>`) signs `body` with `secret`.
fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = Some(x.to_string()),
            Some(("v1", x)) => v1 = hex::decode(x).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&v1).is_ok()
}

impl Receiver {
    fn new() -> Receiver {
        Receiver {
            seen: Arc::default(),
            secret: Arc::default(),
            port: 0,
            stop: None,
            task: None,
        }
    }

    /// Serves on its port (any free one the first time, the same one after).
    async fn start(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("the receiver binds its port");
        self.port = listener.local_addr().unwrap().port();
        let (seen, secret) = (self.seen.clone(), self.secret.clone());
        let router = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let (seen, secret) = (seen.clone(), secret.clone());
                async move {
                    let text = |k: &str| {
                        headers
                            .get(k)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    let secret = secret.lock().unwrap().clone();
                    let mut seen = seen.lock().unwrap();
                    if !verify(&secret, &text("x-roster-signature"), &body) {
                        seen.bad_signatures += 1;
                        return StatusCode::UNAUTHORIZED;
                    }
                    let value: Value = serde_json::from_slice(&body).unwrap();
                    assert_eq!(value["delivery_id"], text("x-roster-delivery"));
                    seen.deliveries.push((
                        text("x-roster-delivery"),
                        text("x-roster-event"),
                        value,
                    ));
                    StatusCode::OK
                }
            }),
        );
        let (tx, rx) = oneshot::channel::<()>();
        self.stop = Some(tx);
        self.task = Some(tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        }));
    }

    /// Stops serving: the port refuses connections until `start`.
    async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn types(&self) -> Vec<String> {
        let seen = self.seen.lock().unwrap();
        seen.deliveries.iter().map(|(_, t, _)| t.clone()).collect()
    }

    fn ids(&self) -> Vec<String> {
        let seen = self.seen.lock().unwrap();
        seen.deliveries
            .iter()
            .map(|(id, _, _)| id.clone())
            .collect()
    }
}

/// Waits (the sender looks every second) until `done` holds; panics after 20 s.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 20 s");
}

async fn webhook_state(app: &TestApp, token: &str, id: &str) -> Value {
    let r = app
        .get(Some(token), &format!("/api/v1/webhooks/{id}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn webhooks_deliver_every_missed_event_once_after_the_receiver_is_back(app: TestApp) {
    let a = crate::api::actors(&app).await;
    let (platform, owner) = crate::public::on_notice(&app, &a).await;
    let mut receiver = Receiver::new();
    receiver.start().await;

    // Who may register, and what.
    let applicant = app
        .token(Role::Applicant, Some(roster_domain::samples::GD_USCC))
        .await;
    let body = |url: &str, types: Value| json!({"url": url, "event_types": types});
    let types = json!([
        "PlatformListed",
        "ServiceRecorded",
        "AnnualEvaluationRecorded"
    ]);
    let r = app
        .post(
            &applicant,
            "/api/v1/webhooks",
            &body(&receiver.url(), types.clone()),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = app
        .post(
            &a.ministry,
            "/api/v1/webhooks",
            &body("ftp://x/hook", types.clone()),
        )
        .await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (400, Some("url")),
        "{}",
        r.body
    );
    let r = app
        .post(
            &a.ministry,
            "/api/v1/webhooks",
            &body(&receiver.url(), json!(["PlatformListd"])),
        )
        .await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (400, Some("event_types")),
        "{}",
        r.body
    );
    let r = app
        .post(
            &a.ministry,
            "/api/v1/webhooks",
            &body(&receiver.url(), types),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["webhook_id"].as_str().unwrap().to_string();
    let secret = r.body["secret"].as_str().unwrap().to_string();
    *receiver.secret.lock().unwrap() = secret.clone();
    // The secret is shown once; the analyst does not read the ministry's webhook.
    let listed = app.get(Some(&a.ministry), "/api/v1/webhooks").await;
    assert!(
        !listed.body.to_string().contains(&secret),
        "{}",
        listed.body
    );
    assert_eq!(
        app.get(Some(&a.analyst), &format!("/api/v1/webhooks/{id}"))
            .await
            .status,
        404
    );

    // Listed: delivered (events from before the registration are not).
    let r = app
        .act(
            &a.ministry,
            &format!("/api/v1/platforms/{platform}/listing"),
            "2025-11-28",
            json!({}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    until("the listing's delivery", || {
        receiver.types() == ["PlatformListed"]
    })
    .await;
    let first = receiver.seen.lock().unwrap().deliveries[0].2.clone();
    assert_eq!(first["event"]["platform_id"], platform.as_str());
    assert_eq!(first["event"]["business_date"], "2025-11-28");

    // The receiver is down: three services and an annual evaluation are recorded meanwhile.
    receiver.stop().await;
    app.clock.set("2026-03-01");
    for n in 0..3 {
        let r = app
            .act(
                &owner,
                &format!("/api/v1/platforms/{platform}/service"),
                "2026-03-01",
                json!({"dated": "2026-02-20", "record": {"kind": "enterprise_served",
                       "enterprise_uscc": "91440300708461136T", "enterprise_name": format!("示例企业{n}"),
                       "contract_cny": 100000}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = app
        .act(
            &a.ministry,
            &format!("/api/v1/platforms/{platform}/annual-evaluation"),
            "2026-03-01",
            json!({"year": 2025, "stars": 4}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // The failure is noticed and reported: in the webhook's state, nothing lost.
    let mut state = Value::Null;
    for _ in 0..200 {
        state = webhook_state(&app, &a.ministry, &id).await;
        if state["failures"].as_u64() >= Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(state["failures"].as_u64() >= Some(1), "{state}");
    assert!(
        state["last_error"]
            .as_str()
            .unwrap()
            .contains("could not be reached"),
        "{state}"
    );
    assert!(state["lag"].as_u64() >= Some(4), "{state}");
    assert_eq!(receiver.types(), ["PlatformListed"]);

    // An hour later it is back on the same port: everything it missed, in order, once each.
    app.clock.advance(chrono::Duration::hours(1));
    receiver.start().await;
    until("the missed deliveries", || receiver.types().len() >= 5).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        receiver.types(),
        [
            "PlatformListed",
            "ServiceRecorded",
            "ServiceRecorded",
            "ServiceRecorded",
            "AnnualEvaluationRecorded"
        ]
    );
    let ids = receiver.ids();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "a delivery id came twice: {ids:?}");
    assert_eq!(receiver.seen.lock().unwrap().bad_signatures, 0);
    let state = webhook_state(&app, &a.ministry, &id).await;
    assert_eq!(
        (state["failures"].as_u64(), state["lag"].as_u64()),
        (Some(0), Some(0)),
        "{state}"
    );

    // The delivery log: five delivered, the first missed one after more than one attempt.
    let log = app
        .get(
            Some(&a.ministry),
            &format!("/api/v1/webhooks/{id}/deliveries"),
        )
        .await;
    assert_eq!(log.status, 200, "{}", log.body);
    let log = log.body.as_array().unwrap().clone();
    assert_eq!(log.len(), 5);
    assert!(log.iter().all(|d| d["delivered"] == true), "{log:?}");
    let missed = log
        .iter()
        .find(|d| d["delivery_id"] == ids[1].as_str())
        .unwrap();
    assert!(missed["attempts"].as_u64() >= Some(2), "{missed}");

    // A replay sends it again under the same id (the receiver deduplicates by it).
    let r = app
        .post(
            &a.ministry,
            &format!("/api/v1/webhooks/{id}/deliveries/{}/replay", ids[1]),
            &json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["delivered"].as_bool()),
        (200, Some(true)),
        "{}",
        r.body
    );
    assert_eq!(receiver.ids().last(), Some(&ids[1]));
    assert_eq!(receiver.ids().len(), 6);

    // A deleted webhook gets nothing more.
    let r = app
        .http
        .delete(format!("{}/api/v1/webhooks/{id}", app.base))
        .bearer_auth(&a.ministry)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = app
        .act(
            &a.ministry,
            &format!("/api/v1/platforms/{platform}/annual-evaluation"),
            "2026-03-01",
            json!({"year": 2026, "stars": 5}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(receiver.ids().len(), 6);
    receiver.stop().await;
}

/// The ministry on its pages (数据推送): registers a webhook (the secret shown once), sees it
/// fail while its receiver is unreachable, reads the delivery log and sends one again; an
/// analyst does not see the ministry's webhook.
async fn the_ministry_registers_a_webhook_and_follows_it_on_the_pages(app: TestApp) {
    let a = crate::api::actors(&app).await;
    let (platform, _) = crate::public::on_notice(&app, &a).await;
    let (_, s) = crate::dashboard::sign_in(&app, &a.ministry).await;
    let s = s.unwrap();
    let page = s.get("/ui/webhooks").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"no-webhooks\""), "{}", page.body);
    // Nothing chosen: refused, in Chinese, nothing registered.
    let unreachable = "http://127.0.0.1:9/hook";
    let r = s
        .post(
            "/ui/webhooks",
            &[("csrf", &s.csrf), ("url", unreachable)],
            None,
        )
        .await;
    assert_eq!(r.status, 303);
    let shown = s.get("/ui/webhooks").await.body;
    assert!(shown.contains("请至少选择一种事件"), "{shown}");
    assert!(shown.contains("id=\"no-webhooks\""));
    let r = s
        .post(
            "/ui/webhooks",
            &[
                ("csrf", &s.csrf),
                ("url", unreachable),
                ("event_types", "PlatformListed"),
                ("event_types", "PlatformDelisted"),
                ("description", "名单变动同步"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, 303);
    let shown = s.get("/ui/webhooks").await.body;
    assert!(
        shown.contains("whsec_"),
        "the secret is shown once: {shown}"
    );
    assert!(
        !s.get("/ui/webhooks").await.body.contains("whsec_"),
        "only once"
    );
    let id = shown
        .split("data-webhook=\"")
        .nth(1)
        .and_then(|x| x.split('"').next())
        .expect("the webhook's row")
        .to_string();
    // The platform is listed; the receiver cannot be reached: the failure shows.
    let r = app
        .act(
            &a.ministry,
            &format!("/api/v1/platforms/{platform}/listing"),
            "2025-11-28",
            json!({}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // (The act moved the clock past the session's idle limit: sign in again.)
    let (_, s) = crate::dashboard::sign_in(&app, &a.ministry).await;
    let s = s.unwrap();
    let mut shown = String::new();
    for _ in 0..100 {
        shown = s.get("/ui/webhooks").await.body;
        if shown.contains("推送失败") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        shown.contains("推送失败") && shown.contains("下次重试"),
        "{shown}"
    );
    let log = s.get(&format!("/ui/webhooks/{id}")).await.body;
    assert!(log.contains("未送达") && log.contains("列入名单"), "{log}");
    let delivery = log
        .split("data-delivery=\"")
        .nth(1)
        .and_then(|x| x.split('"').next())
        .expect("the delivery's row")
        .to_string();
    let r = s
        .post(
            &format!("/ui/webhooks/{id}/deliveries/{delivery}/replay"),
            &[("csrf", &s.csrf)],
            None,
        )
        .await;
    assert_eq!(r.status, 303);
    let log = s.get(&format!("/ui/webhooks/{id}")).await.body;
    assert!(log.contains("重新推送未成功"), "{log}");
    // Without the CSRF token nothing happens.
    let r = s
        .post(&format!("/ui/webhooks/{id}/deletion"), &[], None)
        .await;
    assert_ne!(r.status, 303, "{}", r.body);
    // The analyst reads only its own.
    let (_, an) = crate::dashboard::sign_in(&app, &a.analyst).await;
    let an = an.unwrap();
    assert!(!an.get("/ui/webhooks").await.body.contains(&id));
    assert_eq!(an.get(&format!("/ui/webhooks/{id}")).await.status, 404);
    // Deleted from the page.
    let r = s
        .post(
            &format!("/ui/webhooks/{id}/deletion"),
            &[("csrf", &s.csrf)],
            None,
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(s.get("/ui/webhooks").await.body.contains("已删除"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ministry_registers_a_webhook_and_follows_it_on_the_pages_on_sqlite() {
    the_ministry_registers_a_webhook_and_follows_it_on_the_pages(spawn_app(Kind::Sqlite).await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_deliver_every_missed_event_once_after_the_receiver_is_back_on_sqlite() {
    webhooks_deliver_every_missed_event_once_after_the_receiver_is_back(
        spawn_app(Kind::Sqlite).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_deliver_every_missed_event_once_after_the_receiver_is_back_on_postgres() {
    webhooks_deliver_every_missed_event_once_after_the_receiver_is_back(
        spawn_app(Kind::Postgres).await,
    )
    .await;
}
