//! `spawn_app`: a fresh store (SQLite file or PostgreSQL database), the real server on an
//! ephemeral port, and tokens for every role. Dropping the app stops the server and removes
//! the store.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use roster_domain::actor::Role;
use roster_domain::clock::Clock;
use roster_domain::policies::PolicyConfig;
use roster_domain::store::{
    AttachmentStore, DeadlineStore, DraftStore, EventStore, TokenRecord, TokenStore,
};
use roster_projections::ReadModelStore;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::support::{fresh_pg, fresh_sqlite, PgDatabase, SqliteFile};

#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Sqlite,
    Postgres,
}

#[allow(dead_code)]
enum Guard {
    Sqlite(SqliteFile),
    Postgres(Box<PgDatabase>),
}

pub(crate) struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub store: Arc<dyn EventStore>,
    pub tokens: Arc<dyn TokenStore>,
    pub models: Arc<dyn ReadModelStore>,
    pub deadlines: Arc<dyn DeadlineStore>,
    /// The server's application, to run the automation to a standstill (`state.automate()`).
    pub state: roster_app::App,
    /// The server's clock: commands are recorded at it and the automation fires by it. Tests
    /// move it (`act`), never the business date an act claims (RULES.md §12).
    pub clock: Arc<SimClock>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    /// The application's background work (followers, policy consumer, scheduler, catalog).
    runtime: Option<roster_app::Runtime>,
    _guard: Guard,
}

pub(crate) struct Response {
    pub status: u16,
    pub body: Value,
    pub content_type: String,
}

/// The app with its clock at the real today (Beijing).
pub(crate) async fn spawn_app(kind: Kind) -> TestApp {
    let today = roster_domain::clock::business_day(Utc::now()).to_string();
    spawn_app_with(kind, SimClock::at(&today), PolicyConfig::default()).await
}

/// A clock tests move: the automation fires by it, commands are recorded at it.
pub(crate) struct SimClock(std::sync::Mutex<DateTime<Utc>>);

impl SimClock {
    /// Noon in Beijing on `date`.
    pub(crate) fn at(date: &str) -> Arc<SimClock> {
        let clock = Arc::new(SimClock(std::sync::Mutex::new(Utc::now())));
        clock.set(date);
        clock
    }

    pub(crate) fn set(&self, date: &str) {
        let day = NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("date");
        *self.0.lock().unwrap() = day.and_hms_opt(4, 0, 0).unwrap().and_utc();
    }

    /// Moves the clock on by `d` (a later act is recorded later).
    pub(crate) fn advance(&self, d: chrono::Duration) {
        *self.0.lock().unwrap() += d;
    }
}

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

pub(crate) async fn spawn_app_with(
    kind: Kind,
    clock: Arc<SimClock>,
    policy: PolicyConfig,
) -> TestApp {
    spawn_app_on(kind, clock, policy, true).await
}

/// `local`: read models and policy consumer in-process; false when a broker transport (started
/// by the test, see `pg_config`) runs them.
pub(crate) async fn spawn_app_on(
    kind: Kind,
    clock: Arc<SimClock>,
    policy: PolicyConfig,
    local: bool,
) -> TestApp {
    spawn_app_configured(kind, clock, policy, local, |_| {}).await
}

/// `spawn_app_on` with the application's settings adjusted before it is built (stall limit,
/// subscription grace).
pub(crate) async fn spawn_app_configured(
    kind: Kind,
    clock: Arc<SimClock>,
    policy: PolicyConfig,
    local: bool,
    configure: impl FnOnce(&mut roster_app::Settings),
) -> TestApp {
    type Stores = (
        Arc<dyn EventStore>,
        Arc<dyn TokenStore>,
        Arc<dyn ReadModelStore>,
        Arc<dyn DeadlineStore>,
        (
            Arc<dyn DraftStore>,
            Arc<dyn AttachmentStore>,
            Arc<dyn roster_domain::store::ReadMarkStore>,
        ),
        Guard,
    );
    let (store, tokens, models, deadlines, files, guard): Stores = match kind {
        Kind::Sqlite => {
            let (s, g) = fresh_sqlite().await;
            let s = Arc::new(s);
            (
                s.clone(),
                s.clone(),
                s.clone(),
                s.clone(),
                (s.clone(), s.clone(), s),
                Guard::Sqlite(g),
            )
        }
        Kind::Postgres => {
            let (s, g) = fresh_pg().await;
            let s = Arc::new(s);
            (
                s.clone(),
                s.clone(),
                s.clone(),
                s.clone(),
                (s.clone(), s.clone(), s),
                Guard::Postgres(Box::new(g)),
            )
        }
    };
    let mut settings = roster_app::Settings::serving(
        policy,
        if local {
            roster_app::Transport::Local
        } else {
            roster_app::Transport::Broker
        },
    );
    configure(&mut settings);
    let application = roster_app::App::new(
        roster_app::Backends {
            events: store.clone(),
            tokens: tokens.clone(),
            models: models.clone(),
            deadlines: deadlines.clone(),
            drafts: files.0,
            attachments: files.1,
            read_marks: files.2,
            description: "test".into(),
        },
        clock.clone(),
        settings,
    );
    let runtime = roster_app::Runtime::start(&application);
    let state = roster_http::AppState::new(application.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        roster_http::run(listener, state, async {
            let _ = rx.await;
        })
        .await
        .expect("server");
    });
    TestApp {
        base,
        http: reqwest::Client::new(),
        store,
        tokens,
        models,
        deadlines,
        state: application,
        clock,
        shutdown: Some(tx),
        server: Some(server),
        runtime: Some(runtime),
        _guard: guard,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            h.abort();
        }
        self.runtime.take();
    }
}

impl TestApp {
    /// The PostgreSQL database's connection settings (`None` on SQLite).
    pub(crate) fn pg_config(&self) -> Option<tokio_postgres::Config> {
        match &self._guard {
            Guard::Postgres(db) => Some(db.config.clone()),
            Guard::Sqlite(_) => None,
        }
    }

    /// Stops the application's background work (followers, policy consumer, scheduler,
    /// catalog poller): what happens next happens only through requests and `state.automate()`.
    pub(crate) fn stop_runtime(&mut self) {
        self.runtime.take();
    }

    /// The stores as the `roster` binary holds them.
    pub(crate) fn stores(&self) -> roster_app::Backends {
        self.state.backends().clone()
    }

    /// The application a one-shot `roster` command builds over these stores (system clock,
    /// stalls judged by the log after the default limit).
    pub(crate) fn cli(&self) -> roster_app::App {
        self.cli_stalled_after(roster_app::DEFAULT_STALL_AFTER)
    }

    /// `cli`, judging a reader stalled after `stall_after` (`roster status
    /// --stall-after-seconds`).
    pub(crate) fn cli_stalled_after(&self, stall_after: std::time::Duration) -> roster_app::App {
        roster::stores::one_shot(self.stores(), stall_after)
    }

    pub(crate) async fn token(&self, role: Role, jurisdiction: Option<&str>) -> String {
        let token = roster_http::generate_token();
        self.tokens
            .insert_token(TokenRecord {
                token_hash: roster_http::hash_token(&token),
                actor_id: format!("test-{role}-{}", jurisdiction.unwrap_or("")),
                role,
                jurisdiction: jurisdiction.map(String::from),
                label: "test".into(),
                created_at: chrono::Utc::now(),
                revoked_at: None,
            })
            .await
            .unwrap();
        token
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Response {
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Response {
            status,
            body,
            content_type,
        }
    }

    pub(crate) async fn post(&self, token: &str, path: &str, body: &Value) -> Response {
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .bearer_auth(token)
                .json(body),
        )
        .await
    }

    /// An act on day `on`: the clock moves to noon (Beijing) of `on` and the command (`fields`
    /// plus a new command id, no business date) is posted, so it takes effect on the day it is
    /// recorded, as RULES.md §12 has it.
    pub(crate) async fn act(
        &self,
        token: &str,
        path: &str,
        on: &str,
        mut fields: Value,
    ) -> Response {
        self.clock.set(on);
        let obj = fields.as_object_mut().expect("a command is a JSON object");
        obj.insert("command_id".into(), serde_json::json!(uuid::Uuid::new_v4()));
        self.post(token, path, &fields).await
    }

    pub(crate) async fn post_raw(
        &self,
        token: Option<&str>,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub(crate) async fn get(&self, token: Option<&str>, path: &str) -> Response {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    /// A GET whose body is binary (a workbook); asserts 200.
    pub(crate) async fn get_bytes(&self, token: Option<&str>, path: &str) -> Vec<u8> {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request");
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        resp.bytes().await.expect("body").to_vec()
    }

    /// Every stored event, by global position. Read stream by stream: the gap-safe global
    /// cursor may briefly hold back committed events while any transaction of the cluster
    /// (other tests' databases included) is in flight, which would make counts flaky.
    /// The illustrative demo, loaded as `roster demo` loads it, with the automation settled
    /// (the scheduler flags its overdue milestone, C-8), so a test's counts start from rest.
    pub(crate) async fn load_demo(&self) {
        roster::demo::load(&self.cli(), "test-operator")
            .await
            .expect("demo loads");
        self.state.automate().await.expect("automation settles");
    }

    pub(crate) async fn all_events(&self) -> Vec<roster_domain::store::StoredEvent> {
        let mut out = Vec::new();
        for stream in self.store.stream_ids("").await.unwrap() {
            out.extend(self.store.load_stream(&stream, 0).await.unwrap());
        }
        out.sort_by_key(|e| e.global_position);
        out
    }
}
