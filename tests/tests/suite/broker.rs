//! The RabbitMQ transport against the real broker and PostgreSQL: relay → exchange → quorum queue
//! → consumer → read model, with duplicates, poison messages, a standby relay, and faults of the
//! broker and the database during the flow.
//!
//! Each test has its own exchange and queue prefix (and its own database) and deletes them at the
//! end. Tests that disrupt the whole broker (closing every connection, stopping the app) take the
//! broker lock exclusively; the others share it, so they never run during a disruption.

use std::collections::HashMap;
use std::future::Future;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use roster_domain::store::{Checkpoint, EventStore, ExpectedVersion, StoreError, StoredEvent};
use roster_postgres::PgStore;
use roster_projections::{Projection, ReadModelStore};
use roster_rabbitmq::lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, ExchangeDeleteOptions,
    QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use roster_rabbitmq::lapin::types::{AMQPValue, FieldTable};
use roster_rabbitmq::lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use roster_rabbitmq::{
    declare_topology, dlq_list, dlq_replay, event_message, queue_status, run_projection_consumer,
    BrokerConfig, RangeNotice, Relay, RelayStats, DEFAULT_AMQP_URL, RANGE_NOTICE,
};
use roster_tests::contract::{commit, events, read_all_until, to_stream};
use roster_tests::read_models::{catch_up_to, expected_counts, CountPerStream};
use serde_json::Value;
use tokio::sync::{oneshot, RwLock};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

use crate::support::{fresh_pg, raw_client, PgDatabase};

/// Shared by every broker test; taken exclusively by those that disrupt the whole broker.
pub(crate) static BROKER: LazyLock<RwLock<()>> = LazyLock::new(|| RwLock::new(()));

/// Every wait in these tests gives up after this long.
const PATIENCE: Duration = Duration::from_secs(30);

const PROJECTION: &str = "count_per_stream";

/// The relay's and consumers' transitions, shown with a failing test's output
/// (`RUST_LOG` overrides the filter).
fn logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "roster_rabbitmq=info,roster_projections=warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL").unwrap_or_else(|_| DEFAULT_AMQP_URL.to_string())
}

/// A broker configuration whose every name is unique to one test, with short back-offs.
pub(crate) fn test_config() -> BrokerConfig {
    logs();
    let prefix = format!("t{}", Uuid::new_v4().simple());
    BrokerConfig {
        exchange: format!("{prefix}.events"),
        queue_prefix: prefix,
        confirm_timeout: Duration::from_secs(5),
        reconnect_min: Duration::from_millis(50),
        reconnect_max: Duration::from_secs(1),
        lock_poll: Duration::from_millis(100),
        ..BrokerConfig::new(amqp_url())
    }
}

async fn amqp(cfg: &BrokerConfig) -> Connection {
    match Connection::connect(&cfg.amqp_url, ConnectionProperties::default()).await {
        Ok(c) => c,
        Err(e) => panic!(
            "RabbitMQ is unreachable at {:?} ({e}). These tests never skip: start RabbitMQ or \
             point TEST_AMQP_URL at one.",
            cfg
        ),
    }
}

/// The test's exchanges and queues, deleted on drop (even when the test failed).
pub(crate) struct Namespace {
    cfg: BrokerConfig,
    queues: Vec<String>,
}

impl Namespace {
    /// Declares the topology for `projections` plus an `audit` queue that keeps a copy of
    /// everything published, so a test can check that every event reached the broker.
    pub(crate) async fn declare(cfg: &BrokerConfig, projections: &[&str]) -> Namespace {
        let connection = amqp(cfg).await;
        let channel = connection.create_channel().await.unwrap();
        declare_topology(&channel, cfg, projections).await.unwrap();
        let audit = audit_queue(cfg);
        channel
            .queue_declare(
                audit.as_str().into(),
                QueueDeclareOptions::durable(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        channel
            .queue_bind(
                audit.as_str().into(),
                cfg.exchange.as_str().into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let _ = connection.close(200, "declared".into()).await;
        let mut queues = vec![audit];
        for p in projections {
            queues.push(cfg.queue(p));
            queues.push(cfg.dead_letter_queue(p));
        }
        Namespace {
            cfg: cfg.clone(),
            queues,
        }
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let cfg = self.cfg.clone();
        let queues = self.queues.clone();
        // Drop may run inside the test's runtime, which cannot be blocked on.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async move {
                let connection =
                    Connection::connect(&cfg.amqp_url, ConnectionProperties::default())
                        .await
                        .map_err(|e| e.to_string())?;
                let channel = connection
                    .create_channel()
                    .await
                    .map_err(|e| e.to_string())?;
                for q in queues {
                    channel
                        .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                        .await
                        .map_err(|e| e.to_string())?;
                }
                for x in [cfg.exchange.clone(), cfg.dead_letter_exchange()] {
                    channel
                        .exchange_delete(x.as_str().into(), ExchangeDeleteOptions::default())
                        .await
                        .map_err(|e| e.to_string())?;
                }
                let _ = connection.close(200, "cleaned up".into()).await;
                Ok::<(), String>(())
            })
        })
        .join();
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!(
                "could not delete broker objects of {}: {e}",
                self.cfg.queue_prefix
            ),
            Err(_) => eprintln!(
                "could not delete broker objects of {}: cleanup panicked",
                self.cfg.queue_prefix
            ),
        }
    }
}

fn audit_queue(cfg: &BrokerConfig) -> String {
    format!("{}.audit", cfg.queue_prefix)
}

fn rabbitmqctl(args: &[&str]) {
    let out = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run rabbitmqctl {args:?}: {e}"));
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn rabbitmqctl_json(args: &[&str]) -> Value {
    let out = Command::new("rabbitmqctl")
        .args(args)
        .args(["--formatter", "json"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run rabbitmqctl {args:?}: {e}"));
    assert!(out.status.success(), "rabbitmqctl {args:?} failed");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "rabbitmqctl {args:?} did not print JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Restarts the broker app on drop, so a test that stopped it never leaves it stopped.
struct StartAppGuard;

impl Drop for StartAppGuard {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl").arg("start_app").status();
        let _ = Command::new("rabbitmqctl")
            .args(["await_startup", "--timeout", "60"])
            .status();
    }
}

/// A background task and the sender that stops it.
struct Running<T> {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<T>,
}

impl<T> Running<T> {
    fn spawn<F>(body: impl FnOnce(Box<dyn Future<Output = ()> + Send + Unpin>) -> F) -> Running<T>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let (stop, rx) = oneshot::channel::<()>();
        let shutdown = Box::new(Box::pin(async move {
            let _ = rx.await;
        }));
        Running {
            stop: Some(stop),
            task: tokio::spawn(body(shutdown)),
        }
    }

    async fn stop(mut self) -> T {
        let _ = self.stop.take().expect("stopped once").send(());
        tokio::time::timeout(PATIENCE, &mut self.task)
            .await
            .expect("the task stops on shutdown")
            .expect("the task did not panic")
    }

    /// What killing the process does: the task is gone, its connections dropped.
    fn kill(self) {
        self.task.abort();
    }
}

fn relay(store: &PgStore, db: &PgDatabase, cfg: &BrokerConfig) -> (Running<()>, RelayStats) {
    let relay = Relay::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        db.config.clone(),
        cfg.clone(),
    );
    let stats = relay.stats();
    let running = Running::spawn(move |shutdown| async move {
        relay
            .run(shutdown)
            .await
            .expect("the relay runs until shut down");
    });
    (running, stats)
}

fn consumer(store: &PgStore, cfg: &BrokerConfig) -> Running<()> {
    let events: Arc<dyn EventStore> = Arc::new(store.clone());
    let models: Arc<dyn ReadModelStore> = Arc::new(store.clone());
    let projection: Arc<dyn Projection> = Arc::new(CountPerStream);
    let cfg = cfg.clone();
    Running::spawn(move |shutdown| async move {
        run_projection_consumer(events, models, projection, cfg, shutdown)
            .await
            .expect("the consumer runs until shut down");
    })
}

/// Appends, retrying while the store is unavailable (the command id makes a retry safe).
async fn append_retrying(store: &PgStore, stream: &str, version: u64, n: usize) {
    let c = commit(vec![to_stream(
        stream,
        ExpectedVersion::from_current(version),
        events(stream, n),
    )]);
    let deadline = Instant::now() + PATIENCE;
    loop {
        match store.append(c.clone()).await {
            Ok(_) => return,
            Err(StoreError::Unavailable(e)) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("append to {stream} failed: {e}"),
        }
    }
}

/// `rounds` commits of `per_commit` events to each of `streams` streams, interleaved, `pause`
/// apart; counts committed events in `done`.
async fn flow(
    store: PgStore,
    prefix: &str,
    streams: usize,
    rounds: usize,
    per_commit: usize,
    pause: Duration,
    done: Arc<AtomicUsize>,
) {
    for round in 0..rounds {
        for s in 0..streams {
            let version = (round * per_commit) as u64;
            append_retrying(&store, &format!("{prefix}-{s}"), version, per_commit).await;
            done.fetch_add(per_commit, Ordering::SeqCst);
            tokio::time::sleep(pause).await;
        }
    }
}

async fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the consumer's projection stands at `target`.
async fn wait_applied(models: &dyn ReadModelStore, target: Checkpoint) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let state = models.state(PROJECTION).await;
        if let Ok(s) = &state {
            if s.checkpoint >= target {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the projection did not reach {target:?} in {PATIENCE:?}: {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The projection applied every event exactly once: same documents as a rebuild from the log
/// into a fresh namespace, an applied count equal to the number of events, no dead letters
/// (`CountPerStream` dead-letters an event it would count twice).
async fn assert_applied_once(store: &PgStore, stored: &[StoredEvent]) {
    let target = stored.last().unwrap().checkpoint();
    let state = store.state(PROJECTION).await.unwrap();
    assert_eq!(state.checkpoint, target);
    assert_eq!(state.applied, stored.len() as u64, "applied once each");
    assert!(ReadModelStore::dead_letters(store, Some(PROJECTION))
        .await
        .unwrap()
        .is_empty());
    catch_up_to(store, store, &CountPerStream, "rebuild", target, 500).await;
    let consumed = store.scan(PROJECTION, "").await.unwrap();
    assert_eq!(consumed, store.scan("rebuild", "").await.unwrap());
    assert_eq!(consumed, expected_counts(stored));
}

/// Reads the audit queue until every event of `stored` was announced there at least once (by
/// a range notice covering its checkpoint, or a single-event notice carrying its id).
async fn assert_all_published(cfg: &BrokerConfig, stored: &[StoredEvent]) {
    use futures_util::StreamExt;
    let mut missing: HashMap<Checkpoint, String> = stored
        .iter()
        .map(|e| (e.checkpoint(), e.event_id.to_string()))
        .collect();
    let connection = amqp(cfg).await;
    let channel = connection.create_channel().await.unwrap();
    let mut deliveries = channel
        .basic_consume(
            audit_queue(cfg).as_str().into(),
            "audit".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    while !missing.is_empty() {
        let next = tokio::time::timeout_at(deadline, deliveries.next())
            .await
            .unwrap_or_else(|_| panic!("{} events never reached the broker", missing.len()));
        let d = next.expect("audit consumer open").expect("audit delivery");
        let range = (d.properties.kind().as_ref().map(|k| k.as_str()) == Some(RANGE_NOTICE))
            .then(|| serde_json::from_slice::<RangeNotice>(&d.data).expect("a range notice"));
        match range {
            Some(range) => missing.retain(|at, _| !range.covers(*at)),
            None => {
                if let Some(id) = d.properties.message_id() {
                    missing.retain(|_, event_id| event_id != id.as_str());
                }
            }
        }
    }
    let _ = connection.close(200, "audited".into()).await;
}

pub(crate) async fn publisher(cfg: &BrokerConfig) -> (Connection, Channel) {
    let connection = amqp(cfg).await;
    let channel = connection.create_channel().await.unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    (connection, channel)
}

/// Publishes by hand (outside the relay) and waits for the broker's confirm.
pub(crate) async fn publish_raw(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    properties: BasicProperties,
) {
    let confirmation = channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            body,
            properties,
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(confirmation.is_ack());
    assert!(confirmation.take_message().is_none(), "routed");
}

// ---------------------------------------------------------------------------------------------

/// The definitions file for operators and what `declare_topology` declares are the same
/// topology (names, types, durability, every queue argument, bindings).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topology_matches_the_definitions_file() {
    let _shared = BROKER.read().await;
    let file: Value = serde_json::from_str(include_str!("../../../ops/rabbitmq/definitions.json"))
        .expect("definitions.json is JSON");
    let projections: Vec<String> = file["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["source"] == "roster.events")
        .map(|b| {
            b["destination"]
                .as_str()
                .unwrap()
                .trim_start_matches("roster.")
                .to_string()
        })
        .collect();
    assert_eq!(projections, roster::broker::QUEUES.to_vec());

    let cfg = test_config();
    let names: Vec<&str> = projections.iter().map(String::as_str).collect();
    let ns = Namespace::declare(&cfg, &names).await;
    // The file, renamed into this test's namespace (the default prefix is "roster").
    let prefix = format!("{}.", cfg.queue_prefix);
    let rename = |v: &Value| -> Value {
        serde_json::from_str(&v.to_string().replace("\"roster.", &format!("\"{prefix}"))).unwrap()
    };
    assert_eq!(cfg.exchange, format!("{prefix}events"));

    let declared_queues: Vec<Value> = rabbitmqctl_json(&[
        "list_queues",
        "name",
        "durable",
        "arguments",
    ])
    .as_array()
    .unwrap()
    .iter()
    .filter(|q| q["name"].as_str().unwrap().starts_with(&prefix))
    .filter(|q| q["name"].as_str().unwrap() != audit_queue(&cfg))
    .map(|q| {
        // rabbitmqctl lists arguments as [name, AMQP type, value]; the file as an object.
        let arguments: serde_json::Map<String, Value> = q["arguments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a[0].as_str().unwrap().to_string(), a[2].clone()))
            .collect();
        serde_json::json!({ "name": q["name"], "durable": q["durable"], "arguments": arguments })
    })
    .collect();
    let mut expected_queues: Vec<Value> = file["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            let q = rename(q);
            serde_json::json!({ "name": q["name"], "durable": q["durable"], "arguments": q["arguments"] })
        })
        .collect();
    let mut declared_queues = declared_queues;
    let by_name = |a: &Value, b: &Value| a["name"].as_str().cmp(&b["name"].as_str());
    declared_queues.sort_by(by_name);
    expected_queues.sort_by(by_name);
    assert_eq!(declared_queues, expected_queues);

    let declared_exchanges: Vec<Value> =
        rabbitmqctl_json(&["list_exchanges", "name", "type", "durable"])
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["name"].as_str().unwrap().starts_with(&prefix))
            .cloned()
            .collect();
    let mut expected_exchanges: Vec<Value> = file["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            let x = rename(x);
            serde_json::json!({ "name": x["name"], "type": x["type"], "durable": x["durable"] })
        })
        .collect();
    let mut declared_exchanges = declared_exchanges;
    declared_exchanges.sort_by(by_name);
    expected_exchanges.sort_by(by_name);
    assert_eq!(declared_exchanges, expected_exchanges);

    let mut declared_bindings: Vec<(String, String, String)> = rabbitmqctl_json(&[
        "list_bindings",
        "source_name",
        "destination_name",
        "routing_key",
    ])
    .as_array()
    .unwrap()
    .iter()
    .filter(|b| b["source_name"].as_str().unwrap().starts_with(&prefix))
    .filter(|b| b["destination_name"].as_str().unwrap() != audit_queue(&cfg))
    .map(|b| {
        (
            b["source_name"].as_str().unwrap().to_string(),
            b["destination_name"].as_str().unwrap().to_string(),
            b["routing_key"].as_str().unwrap().to_string(),
        )
    })
    .collect();
    let mut expected_bindings: Vec<(String, String, String)> = file["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let b = rename(b);
            (
                b["source"].as_str().unwrap().to_string(),
                b["destination"].as_str().unwrap().to_string(),
                b["routing_key"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    declared_bindings.sort();
    expected_bindings.sort();
    assert_eq!(declared_bindings, expected_bindings);

    // The broker itself agrees: re-declaring with the file's arguments is accepted as
    // equivalent (a difference would close the channel with PRECONDITION_FAILED).
    let connection = amqp(&cfg).await;
    let channel = connection.create_channel().await.unwrap();
    for q in file["queues"].as_array().unwrap() {
        let q = rename(q);
        let mut args = FieldTable::default();
        for (k, v) in q["arguments"].as_object().unwrap() {
            let value = match v {
                Value::String(s) => AMQPValue::LongString(s.as_str().into()),
                Value::Bool(b) => AMQPValue::Boolean(*b),
                Value::Number(n) => AMQPValue::LongLongInt(n.as_i64().unwrap()),
                other => panic!("unexpected argument {k}: {other}"),
            };
            args.insert(k.as_str().into(), value);
        }
        channel
            .queue_declare(
                q["name"].as_str().unwrap().into(),
                QueueDeclareOptions::durable(),
                args,
            )
            .await
            .unwrap_or_else(|e| panic!("{} differs from the file: {e}", q["name"]));
    }
    let _ = connection.close(200, "compared".into()).await;
    drop(ns);
}

/// Events appended to the store reach the projection through relay, exchange, queue and
/// consumer, and the result equals a direct rebuild from the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_a_projection_through_relay_and_broker() {
    let _shared = BROKER.read().await;
    let (store, db) = fresh_pg().await;
    let cfg = test_config();
    let _ns = Namespace::declare(&cfg, &[PROJECTION]).await;
    let (relay, stats) = relay(&store, &db, &cfg);
    let consumer = consumer(&store, &cfg);

    let done = Arc::new(AtomicUsize::new(0));
    flow(store.clone(), "platform", 5, 6, 10, Duration::ZERO, done).await;
    let stored = read_all_until(&store, Checkpoint::START, 300, 500).await;
    wait_applied(&store, stored.last().unwrap().checkpoint()).await;
    assert_applied_once(&store, &stored).await;
    assert_all_published(&cfg, &stored).await;
    assert!(stats.is_leader());
    assert_eq!(
        store
            .state(roster_rabbitmq::RELAY_CHECKPOINT)
            .await
            .unwrap()
            .checkpoint,
        stored.last().unwrap().checkpoint(),
        "the relay checkpointed everything"
    );

    consumer.stop().await;
    relay.stop().await;
}

/// Messages republished by hand (the same events again, out of order) are acked and ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn republished_duplicates_change_nothing() {
    let _shared = BROKER.read().await;
    let (store, db) = fresh_pg().await;
    let cfg = test_config();
    let _ns = Namespace::declare(&cfg, &[PROJECTION]).await;
    let (relay, _) = relay(&store, &db, &cfg);
    let consumer = consumer(&store, &cfg);

    flow(
        store.clone(),
        "platform",
        3,
        4,
        5,
        Duration::ZERO,
        Arc::new(AtomicUsize::new(0)),
    )
    .await;
    let stored = read_all_until(&store, Checkpoint::START, 60, 500).await;
    let target = stored.last().unwrap().checkpoint();
    wait_applied(&store, target).await;
    let before = store.scan(PROJECTION, "").await.unwrap();
    let state_before = store.state(PROJECTION).await.unwrap();

    let (connection, channel) = publisher(&cfg).await;
    for event in stored.iter().rev().chain(stored.iter()) {
        let (body, properties) = event_message(event).unwrap();
        publish_raw(
            &channel,
            &cfg.exchange,
            &event.event_type,
            &body,
            properties,
        )
        .await;
    }
    // Wait until the queue is drained (every duplicate acked), then compare.
    let status_conn = amqp(&cfg).await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let status = queue_status(&status_conn, &cfg, &[PROJECTION])
            .await
            .unwrap();
        if status[0].messages == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "duplicates never drained: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(store.scan(PROJECTION, "").await.unwrap(), before);
    let state_after = store.state(PROJECTION).await.unwrap();
    assert_eq!(
        (state_after.checkpoint, state_after.applied),
        (state_before.checkpoint, state_before.applied)
    );
    assert_applied_once(&store, &stored).await;

    let _ = connection.close(200, "done".into()).await;
    let _ = status_conn.close(200, "done".into()).await;
    consumer.stop().await;
    relay.stop().await;
}

/// A message that cannot be decoded, put straight onto the projection's queue by another
/// connection, is rejected until the delivery limit dead-letters it, while events published
/// after it are applied. `dlq_list` shows it, `dlq_replay` leaves it but moves a decodable
/// dead-lettered message back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_message_is_dead_lettered_and_later_events_apply() {
    let _shared = BROKER.read().await;
    let (store, db) = fresh_pg().await;
    let cfg = test_config();
    let _ns = Namespace::declare(&cfg, &[PROJECTION]).await;
    let (relay, _) = relay(&store, &db, &cfg);
    let consumer = consumer(&store, &cfg);

    let (connection, channel) = publisher(&cfg).await;
    let queue = cfg.queue(PROJECTION);
    let mut headers = FieldTable::default();
    headers.insert("global_position".into(), AMQPValue::LongString("x".into()));
    publish_raw(
        &channel,
        "",
        &queue,
        b"{not json",
        BasicProperties::default()
            .with_message_id("poison-1".into())
            .with_headers(headers),
    )
    .await;

    flow(
        store.clone(),
        "platform",
        2,
        3,
        5,
        Duration::ZERO,
        Arc::new(AtomicUsize::new(0)),
    )
    .await;
    let stored = read_all_until(&store, Checkpoint::START, 30, 500).await;
    wait_applied(&store, stored.last().unwrap().checkpoint()).await;

    let status_conn = amqp(&cfg).await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let status = queue_status(&status_conn, &cfg, &[PROJECTION])
            .await
            .unwrap();
        if status[0].dead_letters == 1 {
            assert_eq!(status[0].queue, queue);
            assert_eq!(status[0].consumers, 1);
            break;
        }
        assert!(Instant::now() < deadline, "never dead-lettered: {status:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_applied_once(&store, &stored).await;

    let listed = dlq_list(&status_conn, &cfg, PROJECTION).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].message_id.as_deref(), Some("poison-1"));
    assert!(listed[0].problem.is_some());
    assert!(listed[0].checkpoint.is_none());

    // A decodable message in the DLQ (as a delivery-limit hit during an outage would leave):
    // replay moves it back, the consumer acks it as the duplicate it is.
    let (body, properties) = event_message(&stored[3]).unwrap();
    publish_raw(
        &channel,
        "",
        &cfg.dead_letter_queue(PROJECTION),
        &body,
        properties,
    )
    .await;
    let replay = dlq_replay(&status_conn, &cfg, PROJECTION).await.unwrap();
    assert_eq!(replay.replayed.len(), 1, "{replay:?}");
    assert_eq!(replay.replayed[0].checkpoint, Some(stored[3].checkpoint()));
    assert_eq!(replay.left.len(), 1);
    assert_eq!(replay.left[0].message_id.as_deref(), Some("poison-1"));
    let left = dlq_list(&status_conn, &cfg, PROJECTION).await.unwrap();
    assert_eq!(left.len(), 1, "the poison message stays: {left:?}");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let status = queue_status(&status_conn, &cfg, &[PROJECTION])
            .await
            .unwrap();
        if status[0].messages == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "replayed copy never consumed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_applied_once(&store, &stored).await;

    let _ = connection.close(200, "done".into()).await;
    let _ = status_conn.close(200, "done".into()).await;
    consumer.stop().await;
    relay.stop().await;
}

/// Two relays on one store: only the lock holder publishes; killing it lets the standby take
/// over, and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_one_relay_publishes_and_a_standby_takes_over() {
    let _shared = BROKER.read().await;
    let (store, db) = fresh_pg().await;
    let cfg = test_config();
    let _ns = Namespace::declare(&cfg, &[PROJECTION]).await;
    let (first, first_stats) = relay(&store, &db, &cfg);
    wait_until("the first relay leads", || first_stats.is_leader()).await;
    let (second, second_stats) = relay(&store, &db, &cfg);
    let consumer = consumer(&store, &cfg);

    flow(
        store.clone(),
        "platform",
        4,
        5,
        10,
        Duration::ZERO,
        Arc::new(AtomicUsize::new(0)),
    )
    .await;
    let stored = read_all_until(&store, Checkpoint::START, 200, 500).await;
    wait_applied(&store, stored.last().unwrap().checkpoint()).await;
    assert!(first_stats.published() >= 200);
    assert_eq!(second_stats.published(), 0, "the standby published nothing");
    assert!(!second_stats.is_leader());

    first.kill();
    flow(
        store.clone(),
        "later",
        4,
        5,
        10,
        Duration::ZERO,
        Arc::new(AtomicUsize::new(0)),
    )
    .await;
    let stored = read_all_until(&store, Checkpoint::START, 400, 500).await;
    wait_applied(&store, stored.last().unwrap().checkpoint()).await;
    assert!(second_stats.is_leader());
    assert!(second_stats.published() >= 200, "the standby took over");
    assert_applied_once(&store, &stored).await;
    assert_all_published(&cfg, &stored).await;

    consumer.stop().await;
    second.stop().await;
}

const FLOW_EVENTS: usize = 2000;

/// Handed to a fault so it can check that it struck while events were still being appended.
struct Striking(Arc<AtomicUsize>);

impl Striking {
    fn during_flow(&self) {
        let by_then = self.0.load(Ordering::SeqCst);
        assert!(
            by_then < FLOW_EVENTS,
            "the fault must strike during the flow, yet all {by_then} events were appended"
        );
    }
}

/// Runs 2,000 events through relay and consumer (paced over a few seconds) while `fault`
/// strikes, soon after the first 200 are in the store; everything arrives and nothing is
/// applied twice.
async fn flow_through_fault<F, Fut>(fault: F)
where
    F: FnOnce(PgDatabase, Striking) -> Fut,
    Fut: Future<Output = PgDatabase>,
{
    let started = Instant::now();
    let (store, db) = fresh_pg().await;
    let cfg = test_config();
    let _ns = Namespace::declare(&cfg, &[PROJECTION]).await;
    let (relay, stats) = relay(&store, &db, &cfg);
    let consumer = consumer(&store, &cfg);

    let done = Arc::new(AtomicUsize::new(0));
    let appender = tokio::spawn(flow(
        store.clone(),
        "platform",
        20,
        FLOW_EVENTS / 200,
        10,
        Duration::from_millis(10),
        done.clone(),
    ));
    wait_until("200 events are appended", || {
        done.load(Ordering::SeqCst) >= 200
    })
    .await;
    let db = fault(db, Striking(done.clone())).await;
    tokio::time::timeout(PATIENCE, appender)
        .await
        .expect("the appender finishes")
        .expect("the appender did not panic");
    let stored = read_all_until(&store, Checkpoint::START, FLOW_EVENTS, 500).await;
    wait_applied(&store, stored.last().unwrap().checkpoint()).await;
    assert_applied_once(&store, &stored).await;
    assert_all_published(&cfg, &stored).await;
    eprintln!(
        "{FLOW_EVENTS} events through the fault in {:?}: {} published, {} relay windows interrupted",
        started.elapsed(),
        stats.published(),
        stats.interruptions()
    );

    consumer.stop().await;
    relay.stop().await;
    drop(store);
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_connections_closed_during_flow() {
    let _exclusive = BROKER.write().await;
    flow_through_fault(|db, striking| async move {
        rabbitmqctl(&["close_all_connections", "roster test: connection fault"]);
        striking.during_flow();
        tokio::time::sleep(Duration::from_millis(300)).await;
        rabbitmqctl(&[
            "close_all_connections",
            "roster test: second connection fault",
        ]);
        db
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_connections_terminated_during_flow() {
    let _shared = BROKER.read().await;
    flow_through_fault(|db, striking| async move {
        let admin = raw_client(&db).await;
        for _ in 0..3 {
            // The pool's connections, the relay's lock connection: everything but this one.
            let killed = admin
                .query_one(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                    &[],
                )
                .await
                .unwrap()
                .get::<_, i64>(0);
            assert!(killed > 0);
            striking.during_flow();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        db
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_app_restart_during_flow() {
    let _exclusive = BROKER.write().await;
    flow_through_fault(|db, striking| async move {
        let restart = StartAppGuard;
        rabbitmqctl(&["stop_app"]);
        striking.during_flow();
        // Longer than lapin's own recovery attempts with the test's back-off (about 2.5 s):
        // the supervisors must rebuild the connections themselves.
        tokio::time::sleep(Duration::from_secs(4)).await;
        drop(restart);
        db
    })
    .await;
}

/// The RabbitMQ transport of a PostgreSQL app spawned without in-process projections: its own
/// namespace, the relay, a consumer per read model and the policy consumer, as
/// `roster serve --amqp-url` runs them.
pub(crate) async fn transport_for(
    app: &crate::app::TestApp,
) -> (BrokerConfig, Namespace, roster::broker::Transport) {
    let cfg = test_config();
    let namespace = Namespace::declare(&cfg, &roster::broker::QUEUES).await;
    let transport = roster::broker::start_with_lock(
        &app.stores(),
        app.state.shared_log(),
        app.pg_config().unwrap(),
        cfg.clone(),
        Some(app.state.policy_consumer()),
    )
    .await
    .expect("broker transport");
    app.state.wake_after_commit(transport.wake_relay.clone());
    app.state
        .report_subscriptions(transport.subscriptions.clone());
    (cfg, namespace, transport)
}

/// Consumers per queue of the namespace, as the broker counts them.
fn consumers_per_queue(cfg: &BrokerConfig, names: &[&str]) -> Vec<(String, u64)> {
    let listed = rabbitmqctl_json(&["list_queues", "name", "consumers"]);
    names
        .iter()
        .map(|n| {
            let queue = cfg.queue(n);
            let consumers = listed
                .as_array()
                .unwrap()
                .iter()
                .find(|q| q["name"] == queue.as_str())
                .and_then(|q| q["consumers"].as_u64())
                .unwrap_or(0);
            (queue, consumers)
        })
        .collect()
}

/// Load for the broker drills: applications to a round open until 2099, one every 20 ms,
/// through the command service (which needs no broker), until `finish`.
struct Load {
    stop: Arc<std::sync::atomic::AtomicBool>,
    task: JoinHandle<Vec<String>>,
}

impl Load {
    async fn start(app: &crate::app::TestApp) -> Load {
        let ministry = roster_domain::actor::Actor {
            id: "m".into(),
            role: roster_domain::actor::Role::Ministry,
            jurisdiction: None,
        };
        let mut round = roster_domain::samples::round_2025();
        round.applicant_deadlines.clear();
        round.city_deadlines.clear();
        round.city_endorsement_required.clear();
        round.province_deadline = chrono::NaiveDate::from_ymd_opt(2099, 12, 31).unwrap();
        app.state
            .service()
            .execute(
                &ministry,
                roster_domain::request::CommandRequest {
                    command_id: Uuid::new_v4(),
                    business_date: None,
                    expected_version: None,
                    correlation_id: None,
                    causation_id: None,
                    target: roster_domain::request::Target::OpenRound { open_round: round },
                },
            )
            .await
            .expect("round opened");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (state, stopped) = (app.state.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut accepted = Vec::new();
            let mut n = 0u64;
            while !stopped.load(Ordering::Relaxed) {
                n += 1;
                let uscc = roster_domain::samples::uscc_with_check(&format!("91440300MA{n:07}"));
                let applicant = roster_domain::actor::Actor {
                    id: format!("a{n}"),
                    role: roster_domain::actor::Role::Applicant,
                    jurisdiction: Some(uscc.clone()),
                };
                let form = serde_json::from_value(roster_domain::samples::form_json(
                    &uscc,
                    "44",
                    "440300",
                    &["enzymes"],
                ))
                .unwrap();
                let platform_id = format!("drill-{n}");
                let request = roster_domain::request::CommandRequest {
                    command_id: Uuid::new_v4(),
                    business_date: None,
                    expected_version: None,
                    correlation_id: None,
                    causation_id: None,
                    target: roster_domain::request::Target::Platform {
                        platform_id: platform_id.clone(),
                        command: roster_domain::commands::PlatformCommand::SubmitApplication(
                            roster_domain::commands::SubmitApplication {
                                round_id: "2025".into(),
                                form,
                            },
                        ),
                    },
                };
                state
                    .service()
                    .execute(&applicant, request)
                    .await
                    .expect("the command path needs no broker");
                accepted.push(platform_id);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            accepted
        });
        Load { stop, task }
    }

    /// Stops the load; the platforms whose application was accepted.
    async fn finish(mut self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        (&mut self.task).await.expect("the load did not panic")
    }
}

impl Drop for Load {
    /// A failed drill stops its load too, before its database goes.
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Issue 13: after each of ten broker stop/start cycles under load, every read-model consumer
/// and the policy consumer is subscribed again within 10 s of the broker's return (counted by
/// the broker itself, and seen by the process, the relay included), and at the end every read
/// model has caught up with the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_consumer_comes_back_after_ten_broker_restarts() {
    let _exclusive = BROKER.write().await;
    let clock = crate::app::SimClock::at("2026-01-10");
    let app = crate::app::spawn_app_on(
        crate::app::Kind::Postgres,
        clock,
        roster_domain::policies::PolicyConfig::default(),
        false,
    )
    .await;
    let (cfg, _namespace, transport) = transport_for(&app).await;
    wait_until("every queue has its consumer", || {
        every_queue_consumed(&cfg)
    })
    .await;
    wait_until("the process sees every subscription", || {
        all_subscribed(&app.state)
    })
    .await;

    let load = Load::start(&app).await;

    for cycle in 1..=10 {
        let restart = StartAppGuard;
        rabbitmqctl(&["stop_app"]);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        drop(restart);
        let (broker_count, own_view) = time_to_return(&app, &cfg, &format!("cycle {cycle}")).await;
        eprintln!(
            "cycle {cycle}: every queue consumed (broker's count) {broker_count:?}, every \
             subscription seen by the process {own_view:?} after the broker's return"
        );
    }
    let commands = load.finish().await.len();
    assert!(commands > 50, "load did not flow: {commands} commands");

    // Everything reaches every read model and the policy consumer.
    wait_caught_up(&app, &cfg, Duration::from_secs(60)).await;
    transport.stop().await;
}

/// Whether the broker counts at least one consumer on every queue of the system. rabbitmqctl
/// takes about a second (it starts an Erlang VM): off the runtime's workers, which run the
/// consumers being counted.
fn every_queue_consumed(cfg: &BrokerConfig) -> bool {
    tokio::task::block_in_place(|| {
        consumers_per_queue(cfg, &roster::broker::QUEUES)
            .iter()
            .all(|(_, n)| *n >= 1)
    })
}

/// After the broker's return: how long until the broker counted a consumer on every queue
/// (the moment of the `rabbitmqctl` sample that showed it, so only about a second precise), and
/// until the process saw the relay and every consumer subscribed (looked at every 20 ms, apart
/// from the slow samples). Panics past 10 s.
async fn time_to_return(
    app: &crate::app::TestApp,
    cfg: &BrokerConfig,
    what: &str,
) -> (Duration, Duration) {
    let limit = Duration::from_secs(10);
    let back = Instant::now();
    let state = app.state.clone();
    let own_view = tokio::spawn(async move {
        while !all_subscribed(&state) && back.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        all_subscribed(&state).then(|| back.elapsed())
    });
    let mut broker_count = None;
    while broker_count.is_none() && back.elapsed() < limit {
        let sampled = back.elapsed();
        if every_queue_consumed(cfg) {
            broker_count = Some(sampled);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let broker_count = broker_count.unwrap_or_else(|| {
        panic!(
            "{what}: 10 s after the broker came back, queues without a consumer: {:?}",
            consumers_per_queue(cfg, &roster::broker::QUEUES)
        )
    });
    let own_view = own_view
        .await
        .expect("the watcher did not panic")
        .unwrap_or_else(|| {
            panic!(
                "{what}: 10 s after the broker came back, not subscribed in the process: {:?}",
                app.state.consumers()
            )
        });
    (broker_count, own_view)
}

/// Whether the relay and every consumer of the app's transport hold their subscription, as
/// the process sees it.
fn all_subscribed(state: &roster_app::App) -> bool {
    let consumers = state.consumers();
    consumers.len() == roster::broker::QUEUES.len() + 1 && consumers.iter().all(|c| c.subscribed)
}

/// Issue 13: a read model or the policy consumer whose consumer is gone (here: no transport
/// runs at all) falls behind the log; once its checkpoint has not moved for the stall limit,
/// `/ready` answers 503 and `/metrics` and the status name it, and all is well again once
/// it has caught up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_consumer_makes_the_server_not_ready() {
    let app = crate::app::spawn_app_configured(
        crate::app::Kind::Postgres,
        crate::app::SimClock::at("2026-01-10"),
        roster_domain::policies::PolicyConfig::default(),
        false,
        |s| s.stall_after = Duration::from_secs(1),
    )
    .await;
    let a = crate::api::actors(&app).await;
    assert_eq!(
        app.get(None, "/ready").await.status,
        200,
        "nothing behind yet"
    );
    let r = app
        .post(
            &a.ministry,
            "/api/v1/rounds",
            &crate::api::today(serde_json::to_value(roster_domain::samples::round_2025()).unwrap()),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let first = app.state.status().await.unwrap();
    assert!(
        first.projections.iter().all(|p| p.lag > 0 && !p.stalled),
        "behind, not yet stalled"
    );
    assert_eq!(
        app.get(None, "/ready").await.status,
        200,
        "behind for less than the limit"
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let ready = app.get(None, "/ready").await;
    assert_eq!(
        (ready.status, ready.body.clone()),
        (503, serde_json::json!({"status": "unavailable"}))
    );
    let status = app.state.status().await.unwrap();
    assert!(
        status.projections.iter().all(|p| p.stalled),
        "{:?}",
        status.projections
    );
    let metrics = app.get(Some(&a.ministry), "/metrics").await;
    let text = metrics.body.as_str().unwrap().to_string();
    assert!(
        text.contains("roster_projection_stalled{projection=\"roster\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("roster_projection_stalled{projection=\"policies\"} 1"),
        "{text}"
    );
    // `roster status` judges by the log: the oldest event a reader left unapplied is older
    // than its limit (these were recorded on the test clock's day, long ago).
    let cli = roster::admin::status(&app.cli_stalled_after(Duration::from_secs(1)))
        .await
        .unwrap();
    let problems = roster::admin::problems(&cli);
    assert!(
        problems.contains(&"roster is stalled".to_string())
            && problems.contains(&"policies is stalled".to_string()),
        "{problems:?}"
    );
    let patient = roster::admin::status(&app.cli_stalled_after(Duration::from_secs(1 << 40)))
        .await
        .unwrap();
    assert_eq!(roster::admin::problems(&patient), Vec::<String>::new());
    // The consumers catch up (here: by hand): ready again.
    for follower in roster_projections::ProjectionFollower::all(&app.store, &app.models)
        .into_iter()
        .chain([app.state.policy_consumer() as Arc<dyn roster_projections::Follower>])
    {
        follower.follow(None, 500).await.unwrap();
    }
    assert_eq!(app.get(None, "/ready").await.status, 200);
    let cli = roster::admin::status(&app.cli_stalled_after(Duration::from_secs(1)))
        .await
        .unwrap();
    assert_eq!(roster::admin::problems(&cli), Vec::<String>::new());
}

/// The RabbitMQ node's OS process id, as `rabbitmqctl status` reports it.
fn broker_pid() -> u32 {
    let status = rabbitmqctl_json(&["status"]);
    let pid = status["pid"]
        .as_u64()
        .unwrap_or_else(|| panic!("rabbitmqctl status gave no pid: {status}"));
    u32::try_from(pid).expect("a process id")
}

/// Whether process `pid` is gone (or a zombie waiting for its parent).
fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // "pid (comm) state …": the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Starts the RabbitMQ node (`rabbitmq-server -detached`, which runs it as its own user when
/// called by root) and waits until it serves.
fn start_broker() -> Result<(), String> {
    let started = Command::new("rabbitmq-server")
        .arg("-detached")
        .status()
        .map_err(|e| format!("cannot run rabbitmq-server -detached: {e}"))?;
    if !started.success() {
        return Err(format!("rabbitmq-server -detached failed: {started}"));
    }
    // `await_startup` fails at once while the node is not yet registered: ask until it waits.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let up = Command::new("rabbitmqctl")
            .args(["await_startup", "--timeout", "60"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if up {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err("the RabbitMQ node did not start within 90 s".into());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The broker's process, killed with SIGKILL (no goodbye to any client, as a crash or the OOM
/// killer): started again by `restart`, or on drop, so a failing test never leaves it down.
struct KilledBroker {
    restarted: bool,
}

/// The real user id of process `pid` (`self` for this one), from `/proc`.
fn process_uid(pid: &str) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        .and_then(|uid| uid.parse().ok())
        .unwrap_or_else(|| panic!("no Uid in /proc/{pid}/status"))
}

impl KilledBroker {
    fn kill() -> KilledBroker {
        let pid = broker_pid();
        // Only kill what this test can start again: as root (the Debian wrapper then runs the
        // node as its own user) or as the broker's user, with `rabbitmq-server` on the PATH.
        let (me, owner) = (process_uid("self"), process_uid(&pid.to_string()));
        assert!(
            me == 0 || me == owner,
            "this test kills and restarts the RabbitMQ node: run it as root or as the node's \
             user (uid {owner}), not uid {me}"
        );
        let on_path = std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|dir| dir.join("rabbitmq-server").is_file())
        });
        assert!(
            on_path,
            "rabbitmq-server is not on the PATH: the killed node could not be started again"
        );
        let guard = KilledBroker { restarted: false };
        let killed = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .expect("cannot run kill");
        assert!(killed.success(), "kill -KILL {pid} failed");
        let deadline = std::time::Instant::now() + PATIENCE;
        while !process_gone(pid) {
            assert!(
                std::time::Instant::now() < deadline,
                "the broker process {pid} outlived SIGKILL"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        guard
    }

    /// Starts the node again; returns once it serves.
    fn restart(mut self) {
        self.restarted = true;
        start_broker().unwrap_or_else(|e| panic!("{e}"));
    }
}

impl Drop for KilledBroker {
    fn drop(&mut self) {
        if !self.restarted {
            if let Err(e) = start_broker() {
                eprintln!("could not restart the killed broker: {e}");
            }
        }
    }
}

/// Polls `done` every 100 ms for at most `limit`; how long it took, if it happened.
async fn within_limit(limit: Duration, mut done: impl AsyncFnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if done().await {
            return Some(start.elapsed());
        }
        if start.elapsed() >= limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until every read model, the policy consumer and the relay have caught up with the log,
/// failing with what is behind (and the broker's consumers) after `within`.
async fn wait_caught_up(app: &crate::app::TestApp, cfg: &BrokerConfig, within: Duration) {
    let give_up = Instant::now() + within;
    loop {
        let status = app.state.status().await.expect("status");
        let behind: Vec<_> = status
            .projections
            .iter()
            .filter(|p| p.lag > 0)
            .map(|p| (p.projection.clone(), p.lag))
            .chain(
                status
                    .relay_lag
                    .filter(|lag| *lag > 0)
                    .map(|lag| ("relay".to_string(), lag)),
            )
            .collect();
        if behind.is_empty() {
            return;
        }
        assert!(
            Instant::now() < give_up,
            "still behind {within:?} after the drill: {behind:?}; consumers: {:?}",
            consumers_per_queue(cfg, &roster::broker::QUEUES)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A PostgreSQL app whose consumers count as missing after 1 s without their subscription.
async fn app_with_short_grace() -> crate::app::TestApp {
    crate::app::spawn_app_configured(
        crate::app::Kind::Postgres,
        crate::app::SimClock::at("2026-01-10"),
        roster_domain::policies::PolicyConfig::default(),
        false,
        |s| s.subscription_grace = Duration::from_secs(1),
    )
    .await
}

/// Issue 13: the broker's process is killed (SIGKILL) under load and started again. While it
/// is down `/ready` answers 503 and `/metrics` shows every consumer unsubscribed; within 10 s
/// of its return every queue of the system has its consumer again (counted by the broker) and
/// the process sees the relay and every consumer subscribed; nothing acknowledged is lost:
/// every event the broker confirmed before the crash is still in it (the audit queue holds
/// every event), and every accepted command reaches every read model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_consumer_comes_back_after_the_broker_process_is_killed() {
    let _exclusive = BROKER.write().await;
    let started = Instant::now();
    let app = app_with_short_grace().await;
    let ministry = app.token(roster_domain::actor::Role::Ministry, None).await;
    let (cfg, _namespace, transport) = transport_for(&app).await;
    wait_until("every queue has its consumer", || {
        every_queue_consumed(&cfg)
    })
    .await;
    wait_until("the process sees every subscription", || {
        all_subscribed(&app.state)
    })
    .await;
    assert_eq!(app.get(None, "/ready").await.status, 200);

    let load = Load::start(&app).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killed = KilledBroker::kill();
    let down = Instant::now();
    let noticed = within_limit(Duration::from_secs(10), async || {
        app.get(None, "/ready").await.status == 503
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "/ready still answers 200 10 s after the broker died: {:?}",
            app.state.consumers()
        )
    });
    let ready = app.get(None, "/ready").await;
    assert_eq!(ready.body, serde_json::json!({"status": "unavailable"}));
    // Each consumer notices on its own (a failed call, or its watchdog a second later).
    within_limit(Duration::from_secs(10), async || {
        app.state.consumers().iter().all(|c| c.missing)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "consumers not missing 10 s after the broker died: {:?}",
            app.state.consumers()
        )
    });
    assert_eq!(app.get(None, "/ready").await.status, 503);
    let metrics = app.get(Some(&ministry), "/metrics").await;
    let text = metrics.body.as_str().unwrap().to_string();
    for name in roster::broker::QUEUES.iter().chain([&"relay"]) {
        assert!(
            text.contains(&format!(
                "roster_consumer_subscribed{{consumer=\"{name}\"}} 0"
            )),
            "{name} subscribed with the broker down: {text}"
        );
    }
    let status = app.get(Some(&ministry), "/api/v1/status").await;
    let missing: Vec<&str> = status.body["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["missing"] == true)
        .map(|c| c["consumer"].as_str().unwrap())
        .collect();
    assert_eq!(
        missing.len(),
        roster::broker::QUEUES.len() + 1,
        "{}",
        status.body
    );

    killed.restart();
    let outage = down.elapsed();
    let (broker_count, own_view) = time_to_return(&app, &cfg, "after the kill").await;
    let ready_again = within_limit(Duration::from_secs(10), async || {
        app.get(None, "/ready").await.status == 200
    })
    .await
    .expect("ready again after the broker's return");
    eprintln!(
        "broker killed: /ready said 503 after {noticed:?}; down for {outage:?} (kill to serving); \
         after its return every queue had its consumer in {broker_count:?} (broker's count), \
         the process saw every subscription in {own_view:?}, ready again {ready_again:?} later"
    );

    let accepted = load.finish().await;
    assert!(accepted.len() > 20, "load did not flow: {accepted:?}");
    wait_caught_up(&app, &cfg, Duration::from_secs(30)).await;
    let on_roster = app.models.load("roster", &accepted).await.unwrap();
    assert_eq!(
        on_roster.len(),
        accepted.len(),
        "every accepted application"
    );
    assert_all_published(&cfg, &app.all_events().await).await;
    transport.stop().await;
    eprintln!(
        "{} applications through a broker crash in {:?}",
        accepted.len(),
        started.elapsed()
    );
}

/// Issue 13: a consumer that lost its subscription while the process runs on (its queue was
/// deleted at the broker, which cancels the consumer and refuses it until the queue is back)
/// is reported: after the grace `/ready` answers 503 (saying nothing more), the status names
/// it missing and `/metrics` shows its gauge at 0; once the queue is declared again the
/// consumer subscribes by itself and the server is ready. `roster status` marks a queue
/// without a consumer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_without_its_subscription_makes_the_server_not_ready() {
    let _shared = BROKER.read().await;
    let app = app_with_short_grace().await;
    let ministry = app.token(roster_domain::actor::Role::Ministry, None).await;
    let (cfg, _namespace, transport) = transport_for(&app).await;
    wait_until("the process sees every subscription", || {
        all_subscribed(&app.state)
    })
    .await;
    assert_eq!(app.get(None, "/ready").await.status, 200);
    let stall_after = Duration::from_secs(120);
    let report = roster::admin::status(&app.cli_stalled_after(stall_after))
        .await
        .unwrap();
    let mut report = report;
    roster::admin::with_queues(&mut report, &roster::broker::status(&cfg).await.unwrap());
    assert_eq!(roster::admin::problems(&report), Vec::<String>::new());

    let gone = "funnel";
    {
        let connection = amqp(&cfg).await;
        let channel = connection.create_channel().await.unwrap();
        channel
            .queue_delete(
                cfg.queue(gone).as_str().into(),
                QueueDeleteOptions::default(),
            )
            .await
            .unwrap();
        let _ = connection.close(200, "deleted".into()).await;
    }
    within_limit(PATIENCE, async || {
        app.get(None, "/ready").await.status == 503
    })
    .await
    .unwrap_or_else(|| panic!("/ready stays 200: {:?}", app.state.consumers()));
    assert_eq!(
        app.get(None, "/ready").await.body,
        serde_json::json!({"status": "unavailable"}),
        "/ready names nothing"
    );
    let status = app.get(Some(&ministry), "/api/v1/status").await;
    let consumers = status.body["consumers"].as_array().unwrap();
    let missing: Vec<&str> = consumers
        .iter()
        .filter(|c| c["missing"] == true)
        .map(|c| c["consumer"].as_str().unwrap())
        .collect();
    assert_eq!(missing, [gone], "{consumers:?}");
    let funnel = consumers.iter().find(|c| c["consumer"] == gone).unwrap();
    assert_eq!(funnel["subscribed"], false);
    assert!(funnel["last_subscribed"].is_string(), "{funnel}");
    let metrics = app.get(Some(&ministry), "/metrics").await;
    let text = metrics.body.as_str().unwrap().to_string();
    for expected in [
        "roster_consumer_subscribed{consumer=\"funnel\"} 0",
        "roster_consumer_missing{consumer=\"funnel\"} 1",
        "roster_consumer_subscribed{consumer=\"roster\"} 1",
        "roster_consumer_subscribed{consumer=\"policies\"} 1",
        "roster_consumer_subscribed{consumer=\"relay\"} 1",
        "roster_consumer_missing{consumer=\"roster\"} 0",
        "roster_relay_leader 1",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }

    // The queue comes back: so does its consumer, by itself.
    {
        let connection = amqp(&cfg).await;
        let channel = connection.create_channel().await.unwrap();
        declare_topology(&channel, &cfg, &[gone]).await.unwrap();
        let _ = connection.close(200, "declared".into()).await;
    }
    within_limit(PATIENCE, async || {
        app.get(None, "/ready").await.status == 200
    })
    .await
    .unwrap_or_else(|| panic!("not ready again: {:?}", app.state.consumers()));
    assert!(all_subscribed(&app.state), "{:?}", app.state.consumers());
    wait_until("the broker counts the consumer again", || {
        consumers_per_queue(&cfg, &[gone])[0].1 >= 1
    })
    .await;

    // Without the transport every queue is left without a consumer, which `roster status`
    // reports, queue by queue.
    transport.stop().await;
    let mut report = roster::admin::status(&app.cli_stalled_after(stall_after))
        .await
        .unwrap();
    roster::admin::with_queues(&mut report, &roster::broker::status(&cfg).await.unwrap());
    let problems = roster::admin::problems(&report);
    assert_eq!(
        problems,
        roster::broker::QUEUES
            .iter()
            .map(|q| format!("{} has no consumer", cfg.queue(q)))
            .collect::<Vec<_>>()
    );
}
