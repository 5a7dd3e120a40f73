//! The real `roster` process with PostgreSQL and RabbitMQ: killed with SIGKILL while commands
//! flow, then restarted. Every command the server acknowledged must have its events in the store;
//! every read model must converge to exactly what a rebuild from the store gives; no event may
//! be applied twice. The test restores what it changes (server stopped, database dropped, queues
//! and exchanges deleted) even when it fails.

// Tests report what they measured.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use roster_domain::actor::Role;
use roster_domain::samples::{form_json, round_2025};
use roster_domain::store::{EventStore, TokenRecord, TokenStore};
use roster_postgres::PgStore;
use roster_projections::{catch_up, models, ReadModelStore};
use serde_json::{json, Value};
use tokio::process::{Child, Command};
use tokio_postgres::NoTls;
use uuid::Uuid;

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| ADMIN_URL.into())
}

fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL").unwrap_or_else(|_| AMQP_URL.into())
}

/// Drops the database and deletes the broker objects, whatever happened.
struct Cleanup {
    database: String,
    prefix: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (prefix, database) = (self.prefix.clone(), self.database.clone());
        // Drop may run inside the test's runtime, which cannot block: a thread with its own.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let cfg = roster::broker::config(&amqp_url(), &prefix);
                if let Ok(conn) = roster_rabbitmq::connect(&cfg, "kill-test-cleanup").await {
                    if let Ok(ch) = conn.create_channel().await {
                        use roster_rabbitmq::lapin::options::{
                            ExchangeDeleteOptions, QueueDeleteOptions,
                        };
                        for p in models::NAMES {
                            for q in [cfg.queue(p), cfg.dead_letter_queue(p)] {
                                let _ = ch
                                    .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                                    .await;
                            }
                        }
                        for x in [cfg.exchange.clone(), cfg.dead_letter_exchange()] {
                            let _ = ch
                                .exchange_delete(
                                    x.as_str().into(),
                                    ExchangeDeleteOptions::default(),
                                )
                                .await;
                        }
                    }
                    let _ = conn.close(200, "cleaned up".into()).await;
                }
                let admin: tokio_postgres::Config = admin_url().parse().expect("admin URL");
                if let Ok((client, conn)) = admin.connect(NoTls).await {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!(
                            "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
                        ))
                        .await;
                }
            });
        })
        .join();
        if done.is_err() {
            eprintln!("cleanup of {} / {} panicked", self.database, self.prefix);
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(db_url: &str, prefix: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", db_url)
        .env("AMQP_URL", amqp_url())
        .env("ROSTER_AMQP_PREFIX", prefix)
        .env("ROSTER_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start roster serve")
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{base}/health")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not become healthy within 30 s");
}

async fn token(store: &PgStore, role: Role, jurisdiction: Option<&str>) -> String {
    let t = roster_http::generate_token();
    store
        .insert_token(TokenRecord {
            token_hash: roster_http::hash_token(&t),
            actor_id: format!("kill-test-{role}"),
            role,
            jurisdiction: jurisdiction.map(String::from),
            label: "kill test".into(),
            created_at: chrono::Utc::now(),
            revoked_at: None,
        })
        .await
        .unwrap();
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_the_server_loses_no_acknowledged_command_and_models_converge() {
    let database = format!("roster_t_{}", Uuid::new_v4().simple());
    let prefix = format!("k{}", &Uuid::new_v4().simple().to_string()[..12]);
    let _cleanup = Cleanup {
        database: database.clone(),
        prefix: prefix.clone(),
    };
    let admin: tokio_postgres::Config = admin_url().parse().unwrap();
    let (client, conn) = admin
        .connect(NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is unreachable ({e}); this test never skips"));
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE \"{database}\""))
        .await
        .unwrap();
    let mut db_config = admin.clone();
    db_config.dbname(&database);
    let db_url = format!("{}/{database}", admin_url().rsplit_once('/').unwrap().0);
    let store = Arc::new(PgStore::with_config(db_config).await.unwrap());
    store.migrate().await.unwrap();
    let ministry = token(&store, Role::Ministry, None).await;

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut server = serve(&db_url, &prefix, port);
    wait_healthy(&http, &base).await;
    let mut round = serde_json::to_value(round_2025()).unwrap();
    round["province_deadline"] = json!("2099-12-31");
    round["applicant_deadlines"] = json!({});
    round["city_deadlines"] = json!({});
    round["command_id"] = json!(Uuid::new_v4());
    round["business_date"] = json!("2025-06-16");
    assert_eq!(
        http.post(format!("{base}/api/v1/rounds"))
            .bearer_auth(&ministry)
            .json(&round)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );

    // Load: applications and incident reports from 4 clients, recording what was acknowledged.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..4u64 {
        let (http, base, stop, store) = (http.clone(), base.clone(), stop.clone(), store.clone());
        clients.push(tokio::spawn(async move {
            let mut acknowledged: Vec<Value> = Vec::new();
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let uscc = roster_domain::values::Uscc::with_check_character(&format!("91440300MA{:07}", c * 1_000_000 + n)).unwrap();
                let applicant = token(&store, Role::Applicant, Some(uscc.as_str())).await;
                let id = format!("kill-{c}-{n}");
                let bodies = [
                    ("application", json!({"round_id": "2025", "form": form_json(uscc.as_str(), "44", "440300", &["enzymes"])})),
                    ("incident", json!({"incident_id": "i-1", "kind": "other", "occurred_on": "2025-07-01", "description": "压力测试"})),
                ];
                for (action, mut body) in bodies {
                    // An applicant's act takes effect on the day it is recorded (RULES.md §12).
                    body["command_id"] = json!(Uuid::new_v4());
                    if let Ok(r) = http.post(format!("{base}/api/v1/platforms/{id}/{action}")).bearer_auth(&applicant).json(&body).send().await {
                        if r.status().as_u16() == 201 {
                            acknowledged.push(r.json().await.unwrap());
                        }
                    }
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.start_kill().expect("SIGKILL");
    server.wait().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut server = serve(&db_url, &prefix, port);
    wait_healthy(&http, &base).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    for c in clients {
        acknowledged.extend(c.await.unwrap());
    }
    assert!(
        acknowledged.len() > 20,
        "load did not flow: {} commands",
        acknowledged.len()
    );

    // 1. Every acknowledged command's events are in the store.
    for outcome in &acknowledged {
        for e in outcome["events"].as_array().unwrap() {
            let stream = e["stream_id"].as_str().unwrap();
            let version = e["version"].as_u64().unwrap();
            let stored = store.load_stream(stream, version - 1).await.unwrap();
            assert_eq!(
                stored.first().map(|s| s.event_id.to_string()),
                e["event_id"].as_str().map(String::from),
                "acknowledged event missing: {e}"
            );
        }
    }

    // 2. Relay and consumers catch up after the restart.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut lag = 0;
        for name in models::NAMES.iter().copied().chain(["relay"]) {
            lag += store
                .count_after(store.state(name).await.unwrap().checkpoint)
                .await
                .unwrap();
        }
        if lag == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "read models still {lag} events behind after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // 3. Each read model equals a rebuild from the store, and applied each event exactly once.
    let mut platform_events = Vec::new();
    for s in store.stream_ids("platform-").await.unwrap() {
        platform_events.extend(store.load_stream(&s, 0).await.unwrap());
    }
    for p in models::all() {
        let verify = format!("{}__verify", p.name());
        catch_up(
            store.as_ref(),
            store.as_ref(),
            p.as_ref(),
            &verify,
            None,
            1000,
        )
        .await
        .unwrap();
        let live = store.scan(p.name(), "").await.unwrap();
        let rebuilt = store.scan(&verify, "").await.unwrap();
        assert_eq!(live.len(), rebuilt.len(), "{}", p.name());
        assert!(
            live == rebuilt,
            "{} differs from a rebuild after the kill",
            p.name()
        );
        // Each model counts the events it reads (the lifecycle models skip service records).
        let reads = platform_events
            .iter()
            .filter(|e| !p.keys(e).is_empty())
            .count() as u64;
        assert!(reads > 0, "{} reads some of the events", p.name());
        let state = store.state(p.name()).await.unwrap();
        assert_eq!(
            state.applied,
            reads,
            "{}: every platform event it reads applied exactly once",
            p.name()
        );
        store.reset(&verify).await.unwrap();
    }
    server.start_kill().ok();
    server.wait().await.ok();
}
