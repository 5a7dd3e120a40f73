//! `roster bench soak`: the system run as an operator runs it, with the faults an operator meets.
//!
//! A real `roster serve` process on PostgreSQL and RabbitMQ (a database and a broker prefix made
//! for the run and removed after it), over `platforms` listed platforms. Clients send `rate`
//! commands per second (service records spread over every platform, and now and then a strain
//! leak on a platform that had none, which the policy consumer must answer with a re-review,
//! D-4), retrying what got no answer with the same command id, as a client of an idempotent API
//! does. Every `fault_every` seconds one fault strikes, in turn:
//!
//! - `close-connections`: `rabbitmqctl close_all_connections`;
//! - `broker-restart`: `rabbitmqctl stop_app`, 2 s down, `start_app`;
//! - `server-kill`: SIGKILL of the server, started again on the same port;
//! - `backends-terminated`: `pg_terminate_backend` of every connection of the server;
//! - `poison-message`: a malformed notice published onto every queue.
//!
//! It reports the recovery time of each fault (from the fault until `/ready` answers 200 and
//! every read model, the policy consumer and the relay have applied what the log then held),
//! the commit → read-model lag outside faults (sampled every half second: the log's head, then
//! the time until every consumer passed it), the server's RSS every 5 s, and at the end: acknowledged
//! commands whose events are not in the store (must be 0), strain leaks without their automatic
//! re-review (0), events applied twice (each read model's applied count against the events it
//! reads: 0), read models that differ from a rebuild from the log (none), poison messages
//! dead-lettered.
//!
//! The broker faults act on the whole broker: run it where nothing else depends on it.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use roster_domain::samples::uscc_with_check;
use roster_domain::store::{Checkpoint, EventStore, StoredEvent};
use roster_postgres::PgStore;
use roster_projections::{catch_up, models, ReadModelStore};
use roster_rabbitmq::lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use roster_rabbitmq::lapin::types::{AMQPValue, FieldTable};
use roster_rabbitmq::lapin::BasicProperties;
use roster_rabbitmq::{BrokerConfig, RANGE_NOTICE, RELAY_CHECKPOINT};
use serde_json::{json, Value};
use tokio::process::Child;
use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::bench::kpi::fill_platforms;
use crate::bench::memory::rss_mib;
use crate::bench::pipeline::Cleanup;
use crate::bench::{bench_server, free_port, ministry_token, BenchDb};

/// Events of each platform before the run (submitted, listed, a few services).
const PER_PLATFORM: u64 = 12;
/// Longest wait for the system to recover from one fault, and to catch up at the end.
const RECOVERY_LIMIT: Duration = Duration::from_secs(120);
/// The lag the soak expects outside faults.
pub const TARGET_LAG_SECS: f64 = 2.0;
/// A strain leak every this many commands.
const LEAK_EVERY: u64 = 200;
/// Application name of the soak's own database connections, which the backend fault spares.
const SOAK_APPLICATION: &str = "roster-soak";

#[derive(Debug, Clone)]
pub struct SoakOptions {
    pub seconds: u64,
    pub rate: u64,
    pub platforms: u64,
    pub clients: u64,
    pub fault_every: u64,
    /// The `roster` binary to run as the server.
    pub server: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    ConnectionsClosed,
    BrokerRestarted,
    ServerKilled,
    BackendsTerminated,
    PoisonMessage,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::ConnectionsClosed,
        Fault::BrokerRestarted,
        Fault::ServerKilled,
        Fault::BackendsTerminated,
        Fault::PoisonMessage,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::ConnectionsClosed => "close-connections",
            Fault::BrokerRestarted => "broker-restart",
            Fault::ServerKilled => "server-kill",
            Fault::BackendsTerminated => "backends-terminated",
            Fault::PoisonMessage => "poison-message",
        }
    }
}

#[derive(Debug, Clone)]
pub struct FaultOutcome {
    pub fault: Fault,
    /// Seconds since the load started.
    pub at_secs: f64,
    /// From the fault until ready and caught up; `None` when not within `RECOVERY_LIMIT`.
    pub recovery_secs: Option<f64>,
}

#[derive(Debug, Clone, Default)]
pub struct SoakReport {
    /// The server's log of the run (its stderr, across restarts).
    pub server_log: PathBuf,
    pub load_secs: f64,
    pub events_before: u64,
    pub events_after: u64,
    pub acknowledged: u64,
    /// Answered with a 4xx other than 429: business refusals, shown with their first reasons.
    pub refused: u64,
    pub refusal_samples: Vec<String>,
    /// Never answered within the client's retries.
    pub unanswered: u64,
    pub lost: Vec<String>,
    pub strain_leaks: u64,
    pub leaks_without_re_review: Vec<String>,
    pub applied_twice: Vec<String>,
    pub differs_from_rebuild: Vec<String>,
    pub faults: Vec<FaultOutcome>,
    /// (seconds since the load started, lag in seconds) of the samples outside faults.
    pub lag_outside_faults: Vec<Sample>,
    pub lag_samples_in_faults: usize,
    /// (seconds since the load started, RSS MiB of the server then).
    pub rss: Vec<Sample>,
    pub poison_sent: u64,
    pub dead_lettered: u64,
    pub caught_up_at_end: bool,
}

/// (seconds since the load started, a measured value).
type Sample = (f64, f64);

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

impl SoakReport {
    fn lags_sorted(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self.lag_outside_faults.iter().map(|l| l.1).collect();
        v.sort_by(f64::total_cmp);
        v
    }

    pub fn lag_p50(&self) -> f64 {
        percentile(&self.lags_sorted(), 0.5)
    }

    pub fn lag_p99(&self) -> f64 {
        percentile(&self.lags_sorted(), 0.99)
    }

    pub fn lag_max(&self) -> f64 {
        self.lags_sorted().last().copied().unwrap_or(0.0)
    }

    /// What went wrong; empty when the run holds every promise.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.acknowledged == 0 {
            out.push("no command was acknowledged".to_string());
        }
        if !self.lost.is_empty() {
            out.push(format!(
                "{} acknowledged events are not in the store: {:?}",
                self.lost.len(),
                &self.lost[..self.lost.len().min(5)]
            ));
        }
        if !self.leaks_without_re_review.is_empty() {
            out.push(format!(
                "{} strain leaks without their automatic re-review: {:?}",
                self.leaks_without_re_review.len(),
                &self.leaks_without_re_review[..self.leaks_without_re_review.len().min(5)]
            ));
        }
        if !self.applied_twice.is_empty() {
            out.push(format!("applied twice: {:?}", self.applied_twice));
        }
        if !self.differs_from_rebuild.is_empty() {
            out.push(format!(
                "read models differ from a rebuild: {:?}",
                self.differs_from_rebuild
            ));
        }
        for f in &self.faults {
            if f.recovery_secs.is_none() {
                out.push(format!(
                    "no recovery within {RECOVERY_LIMIT:?} after {} at {:.0} s",
                    f.fault.name(),
                    f.at_secs
                ));
            }
        }
        if !self.caught_up_at_end {
            out.push("the read models did not catch up after the load".to_string());
        }
        if self.dead_lettered != self.poison_sent * crate::broker::QUEUES.len() as u64 {
            out.push(format!(
                "{} poison messages sent to {} queues, {} dead-lettered",
                self.poison_sent,
                crate::broker::QUEUES.len(),
                self.dead_lettered
            ));
        }
        out
    }
}

/// The server process, started again after a kill on the same port.
struct Server {
    binary: PathBuf,
    database_url: String,
    amqp_url: String,
    prefix: String,
    port: u16,
    child: Child,
    pid: Arc<AtomicU32>,
}

impl Server {
    fn spawn(&mut self) -> anyhow::Result<()> {
        self.child = spawn_server(
            &self.binary,
            &self.database_url,
            &self.amqp_url,
            &self.prefix,
            self.port,
        )?;
        self.pid
            .store(self.child.id().unwrap_or(0), Ordering::Relaxed);
        Ok(())
    }
}

fn spawn_server(
    binary: &std::path::Path,
    database_url: &str,
    amqp_url: &str,
    prefix: &str,
    port: u16,
) -> anyhow::Result<Child> {
    bench_server(binary, port)
        .env("DATABASE_URL", database_url)
        .env("AMQP_URL", amqp_url)
        .env("ROSTER_AMQP_PREFIX", prefix)
        .stderr(Stdio::from(server_log(prefix)?))
        .spawn()
        .with_context(|| format!("start {}", binary.display()))
}

/// Where the server's log goes (appended across restarts), kept after the run.
pub fn server_log_path(prefix: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{prefix}-server.log"))
}

fn server_log(prefix: &str) -> anyhow::Result<std::fs::File> {
    let path = server_log_path(prefix);
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("open {}", path.display()))
}

fn rabbitmqctl(args: &[&str]) -> anyhow::Result<()> {
    let out = std::process::Command::new("rabbitmqctl")
        .args(args)
        .output()
        .with_context(|| format!("run rabbitmqctl {args:?}"))?;
    if !out.status.success() {
        bail!(
            "rabbitmqctl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Starts the broker app again when dropped, so that a run that failed while it was stopped
/// never leaves it stopped.
struct BrokerGuard;

impl Drop for BrokerGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl")
            .arg("start_app")
            .output();
    }
}

/// What the consumers and the relay have applied, and the log's head, read in one query each.
struct Probe {
    client: tokio_postgres::Client,
}

impl Probe {
    async fn connect(config: &tokio_postgres::Config) -> anyhow::Result<Probe> {
        let (client, conn) = config.connect(NoTls).await.context("probe connection")?;
        tokio::spawn(conn);
        Ok(Probe { client })
    }

    async fn head(&self) -> anyhow::Result<Option<Checkpoint>> {
        let row = self
            .client
            .query_opt(
                "SELECT transaction_id::text::bigint, global_position FROM events \
                 ORDER BY global_position DESC LIMIT 1",
                &[],
            )
            .await?;
        Ok(row.map(|r| Checkpoint {
            transaction_id: r.get::<_, i64>(0) as u64,
            global_position: r.get(1),
        }))
    }

    /// Whether every consumer and the relay stand at or past `head`.
    async fn passed(&self, head: Checkpoint) -> anyhow::Result<bool> {
        let rows = self
            .client
            .query(
                "SELECT projection, transaction_id, global_position FROM projection_checkpoints",
                &[],
            )
            .await?;
        let at: HashMap<String, Checkpoint> = rows
            .iter()
            .map(|r| {
                (
                    r.get::<_, String>(0),
                    Checkpoint {
                        transaction_id: r.get::<_, i64>(1) as u64,
                        global_position: r.get(2),
                    },
                )
            })
            .collect();
        Ok(crate::broker::QUEUES
            .iter()
            .chain([&RELAY_CHECKPOINT])
            .all(|name| at.get(*name).is_some_and(|c| *c >= head)))
    }

    /// Waits until everything the log holds now is applied everywhere; the time it took.
    async fn caught_up(&self, limit: Duration) -> anyhow::Result<Option<Duration>> {
        let started = Instant::now();
        let Some(head) = self.head().await? else {
            return Ok(Some(Duration::ZERO));
        };
        while started.elapsed() < limit {
            if self.passed(head).await? {
                return Ok(Some(started.elapsed()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(None)
    }

    /// Waits until everything is applied and nothing new came meanwhile: the policy consumer
    /// appends the commands an event calls for before its checkpoint passes that event, so one
    /// pass of the head is not yet a standstill.
    async fn settled(&self, limit: Duration) -> anyhow::Result<bool> {
        let started = Instant::now();
        loop {
            let before = self.head().await?;
            let left = limit.saturating_sub(started.elapsed());
            if self.caught_up(left).await?.is_none() {
                return Ok(false);
            }
            if self.head().await? == before {
                return Ok(true);
            }
        }
    }
}

async fn ready(http: &reqwest::Client, base: &str) -> bool {
    http.get(format!("{base}/ready"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// From now until `/ready` answers 200 and every consumer has applied what the log then held.
async fn recover(
    http: &reqwest::Client,
    base: &str,
    probe: &mut Probe,
    config: &tokio_postgres::Config,
    since: Instant,
) -> Option<f64> {
    let deadline = since + RECOVERY_LIMIT;
    while Instant::now() < deadline {
        if !ready(http, base).await {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match probe.caught_up(left).await {
            Ok(Some(_)) => return Some(since.elapsed().as_secs_f64()),
            Ok(None) => return None,
            // The probe's own connection may be gone after a database fault.
            Err(_) => match Probe::connect(config).await {
                Ok(p) => *probe = p,
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            },
        }
    }
    None
}

/// One command as a client of an idempotent API sends it: retried with the same command id
/// while it gets no answer (server down, 5xx, 429), for up to a minute.
async fn send(
    http: &reqwest::Client,
    url: &str,
    auth: &str,
    body: &Value,
) -> Result<Value, Option<String>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = http
            .post(url)
            .header("authorization", auth)
            .timeout(Duration::from_secs(10))
            .json(body)
            .send()
            .await;
        if let Ok(r) = answer {
            let status = r.status();
            if status.is_success() {
                return r.json().await.map_err(|_| None);
            }
            if status.is_client_error() && status.as_u16() != 429 {
                return Err(Some(format!(
                    "{status} {}",
                    r.text().await.unwrap_or_default()
                )));
            }
        }
        if Instant::now() >= deadline {
            return Err(None);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[derive(Default)]
struct Acknowledged {
    /// Event ids of the acknowledged answers.
    events: Vec<String>,
    /// Event ids of acknowledged strain leaks.
    leaks: Vec<String>,
    refused: u64,
    refusal_samples: Vec<String>,
    unanswered: u64,
}

pub async fn run(
    admin_url: &str,
    amqp_url: &str,
    opts: &SoakOptions,
) -> anyhow::Result<SoakReport> {
    if opts.seconds == 0 || opts.rate == 0 || opts.platforms < 2 || opts.clients == 0 {
        bail!("--seconds, --rate and --clients must be positive, --platforms at least 2");
    }
    let db = BenchDb::create(admin_url).await?;
    let prefix = format!("soak{}", &Uuid::new_v4().simple().to_string()[..8]);
    let _cleanup = Cleanup::new(amqp_url, &prefix, admin_url, &db.name)?;
    let _broker = BrokerGuard;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("SIGTERM handler")?;
    tokio::select! {
        report = soak(&db, amqp_url, &prefix, opts) => report,
        _ = tokio::signal::ctrl_c() => bail!("interrupted; the soak database and queues are removed"),
        _ = terminate.recv() => bail!("terminated; the soak database and queues are removed"),
    }
}

async fn soak(
    db: &BenchDb,
    amqp_url: &str,
    prefix: &str,
    opts: &SoakOptions,
) -> anyhow::Result<SoakReport> {
    let mut own = db.config.clone();
    own.application_name(SOAK_APPLICATION);
    let store = Arc::new(PgStore::with_config(own.clone()).await?);
    store.migrate().await?;
    fill_platforms(store.as_ref(), "soak", opts.platforms, PER_PLATFORM).await?;
    let events_before = store.count_after(Checkpoint::START).await?;
    let token = ministry_token(store.as_ref(), "bench-soak").await?;
    let port = free_port()?;
    let pid = Arc::new(AtomicU32::new(0));
    let mut server = Server {
        binary: opts.server.clone(),
        database_url: db.url(),
        amqp_url: amqp_url.to_string(),
        prefix: prefix.to_string(),
        port,
        child: spawn_server(&opts.server, &db.url(), amqp_url, prefix, port)?,
        pid: pid.clone(),
    };
    pid.store(server.child.id().unwrap_or(0), Ordering::Relaxed);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let auth = format!("Bearer {token}");
    let mut probe = Probe::connect(&own).await?;
    let started = Instant::now();
    if recover(&http, &base, &mut probe, &own, started)
        .await
        .is_none()
    {
        if let Some(status) = server.child.try_wait()? {
            bail!("the server stopped before it was ready: {status}");
        }
        bail!("the server was not ready and caught up within {RECOVERY_LIMIT:?}");
    }
    eprintln!(
        "bench soak: {events_before} events over {} platforms; server ready in {:.1} s; load for {} s at {} commands/s, a fault every {} s",
        opts.platforms,
        started.elapsed().as_secs_f64(),
        opts.seconds,
        opts.rate,
        opts.fault_every
    );

    // The load.
    let load_started = Instant::now();
    let deadline = load_started + Duration::from_secs(opts.seconds);
    let platforms: Arc<Vec<u64>> = Arc::new((0..opts.platforms).filter(|q| q % 17 != 0).collect());
    let next = Arc::new(AtomicU64::new(0));
    let next_leak = Arc::new(AtomicU64::new(0));
    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let mut clients = Vec::new();
    for _ in 0..opts.clients {
        let (http, base, auth) = (http.clone(), base.clone(), auth.clone());
        let (platforms, next, next_leak, acknowledged) = (
            platforms.clone(),
            next.clone(),
            next_leak.clone(),
            acknowledged.clone(),
        );
        let every = Duration::from_secs_f64(opts.clients as f64 / opts.rate as f64);
        clients.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while Instant::now() < deadline {
                tick.tick().await;
                let n = next.fetch_add(1, Ordering::Relaxed);
                let today = roster_domain::clock::business_day(chrono::Utc::now()).to_string();
                // Each strain leak on a platform of its own, from the end of the list.
                let leak = (n % LEAK_EVERY == LEAK_EVERY - 1)
                    .then(|| next_leak.fetch_add(1, Ordering::Relaxed))
                    .filter(|k| (*k as usize) < platforms.len() / 2);
                let (q, action, body) = match leak {
                    Some(k) => (
                        platforms[platforms.len() - 1 - k as usize],
                        "incident",
                        json!({
                            "command_id": Uuid::new_v4(),
                            "incident_id": format!("soak-leak-{k}"),
                            "kind": "strain_leak",
                            "occurred_on": today,
                            "description": "浸泡测试：发酵罐取样口菌液外溢，已按应急预案处置。",
                        }),
                    ),
                    None => (
                        platforms[(n % platforms.len() as u64) as usize],
                        "service",
                        json!({
                            "command_id": Uuid::new_v4(),
                            "dated": today,
                            "record": {"kind": "enterprise_served",
                                       "enterprise_uscc": uscc_with_check(&format!("91110000{:09}", n % 900_000_000)),
                                       "enterprise_name": format!("浸泡测试企业{n}"),
                                       "contract_cny": 100000}
                        }),
                    ),
                };
                let url = format!("{base}/api/v1/platforms/soak-{q}/{action}");
                let outcome = send(&http, &url, &auth, &body).await;
                let mut ack = acknowledged.lock().expect("acknowledged");
                match outcome {
                    Ok(answer) => {
                        let ids = answer["events"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|e| e["event_id"].as_str().map(String::from));
                        for id in ids {
                            if leak.is_some() {
                                ack.leaks.push(id.clone());
                            }
                            ack.events.push(id);
                        }
                    }
                    Err(Some(refusal)) => {
                        ack.refused += 1;
                        if ack.refusal_samples.len() < 5 {
                            ack.refusal_samples.push(format!("{action} soak-{q}: {refusal}"));
                        }
                    }
                    Err(None) => ack.unanswered += 1,
                }
            }
        }));
    }

    // RSS every 5 s, and the lag probe every half second, until the load ends.
    let stop = Arc::new(AtomicBool::new(false));
    let rss_task = {
        let (pid, stop) = (pid.clone(), stop.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if let Some(rss) = rss_mib(pid.load(Ordering::Relaxed)) {
                    samples.push((load_started.elapsed().as_secs_f64(), rss));
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            samples
        })
    };
    let lag_task = {
        let (stop, own) = (stop.clone(), own.clone());
        tokio::spawn(async move {
            let mut samples: Vec<Sample> = Vec::new();
            let mut probe = None;
            while !stop.load(Ordering::Relaxed) {
                if probe.is_none() {
                    probe = Probe::connect(&own).await.ok();
                }
                if let Some(p) = &probe {
                    let at = load_started.elapsed().as_secs_f64();
                    match p.caught_up(RECOVERY_LIMIT).await {
                        Ok(Some(lag)) => samples.push((at, lag.as_secs_f64())),
                        Ok(None) => samples.push((at, RECOVERY_LIMIT.as_secs_f64())),
                        Err(_) => probe = None,
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            samples
        })
    };

    // The faults, in turn.
    let cfg = crate::broker::config(amqp_url, prefix);
    let mut faults = Vec::new();
    let mut windows: Vec<(f64, f64)> = Vec::new();
    let mut poison_sent = 0u64;
    let mut turn = 0usize;
    loop {
        let at = load_started + Duration::from_secs(opts.fault_every * (turn as u64 + 1));
        if at + Duration::from_secs(5) > deadline {
            break;
        }
        tokio::time::sleep_until(at.into()).await;
        let fault = Fault::ALL[turn % Fault::ALL.len()];
        turn += 1;
        let struck = Instant::now();
        let at_secs = load_started.elapsed().as_secs_f64();
        match fault {
            Fault::ConnectionsClosed => rabbitmqctl(&["close_all_connections", "bench soak"])?,
            Fault::BrokerRestarted => {
                rabbitmqctl(&["stop_app"])?;
                tokio::time::sleep(Duration::from_secs(2)).await;
                rabbitmqctl(&["start_app"])?;
            }
            Fault::ServerKilled => {
                server.child.start_kill().context("SIGKILL the server")?;
                server.child.wait().await?;
                server.spawn()?;
            }
            Fault::BackendsTerminated => {
                probe
                    .client
                    .execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = current_database() AND pid <> pg_backend_pid() \
                         AND application_name <> $1",
                        &[&SOAK_APPLICATION],
                    )
                    .await
                    .context("terminate the server's backends")?;
            }
            Fault::PoisonMessage => {
                publish_poison(&cfg).await?;
                poison_sent += 1;
            }
        }
        let recovery_secs = recover(&http, &base, &mut probe, &own, struck).await;
        eprintln!(
            "bench soak: {} at {at_secs:.0} s, recovered in {}",
            fault.name(),
            recovery_secs.map_or("(not within the limit)".to_string(), |s| format!(
                "{s:.1} s"
            ))
        );
        windows.push((
            at_secs,
            at_secs + recovery_secs.unwrap_or(RECOVERY_LIMIT.as_secs_f64()),
        ));
        faults.push(FaultOutcome {
            fault,
            at_secs,
            recovery_secs,
        });
    }
    for c in clients {
        c.await?;
    }
    let load_secs = load_started.elapsed().as_secs_f64();
    let caught_up_at_end = recover(&http, &base, &mut probe, &own, Instant::now())
        .await
        .is_some()
        && probe.settled(RECOVERY_LIMIT).await?;
    stop.store(true, Ordering::Relaxed);
    let rss = rss_task.await?;
    let lags = lag_task.await?;
    // A sample belongs to a fault when its wait overlapped the fault's window.
    let (in_faults, outside): (Vec<Sample>, Vec<Sample>) =
        lags.into_iter().partition(|(at, lag)| {
            windows
                .iter()
                .any(|(from, to)| *at <= *to && at + lag >= *from)
        });

    let acknowledged = std::mem::take(&mut *acknowledged.lock().expect("acknowledged"));
    let status = crate::broker::status(&cfg).await?;
    let dead_lettered = status.iter().map(|q| u64::from(q.dead_letters)).sum();
    server.child.start_kill().ok();
    server.child.wait().await.ok();

    let mut report = SoakReport {
        server_log: server_log_path(prefix),
        load_secs,
        events_before,
        acknowledged: acknowledged.events.len() as u64,
        refused: acknowledged.refused,
        refusal_samples: acknowledged.refusal_samples,
        unanswered: acknowledged.unanswered,
        strain_leaks: acknowledged.leaks.len() as u64,
        faults,
        lag_outside_faults: outside,
        lag_samples_in_faults: in_faults.len(),
        rss,
        poison_sent,
        dead_lettered,
        caught_up_at_end,
        ..SoakReport::default()
    };
    verify(
        store.as_ref(),
        &acknowledged.events,
        &acknowledged.leaks,
        &mut report,
    )
    .await?;
    Ok(report)
}

/// A notice no consumer can decode, onto every queue: each rejects it until the quorum queue's
/// delivery limit dead-letters it, while later notices keep flowing.
async fn publish_poison(cfg: &BrokerConfig) -> anyhow::Result<()> {
    let conn = roster_rabbitmq::connect(cfg, "roster-soak-poison").await?;
    let channel = roster_rabbitmq::open_channel(&conn).await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let mut headers = FieldTable::default();
    headers.insert("global_position".into(), AMQPValue::LongLongInt(1));
    let confirm = channel
        .basic_publish(
            cfg.exchange.as_str().into(),
            RANGE_NOTICE.into(),
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            b"{\"soak\": \"poison\"}",
            // Persistent like the relay's notices: a transient one would vanish from its
            // dead-letter queue at the next broker restart.
            BasicProperties::default()
                .with_delivery_mode(2)
                .with_type(RANGE_NOTICE.into())
                .with_message_id(format!("soak-poison-{}", Uuid::new_v4()).into())
                .with_headers(headers),
        )
        .await?
        .await?;
    roster_rabbitmq::close(&conn, "poison sent").await;
    if !confirm.is_ack() {
        bail!("the broker did not take the poison message");
    }
    Ok(())
}

/// The end-of-run checks: acknowledged events in the store, the automatic re-review of every
/// strain leak, each event applied once, each read model equal to a rebuild.
async fn verify(
    store: &PgStore,
    acknowledged: &[String],
    leaks: &[String],
    report: &mut SoakReport,
) -> anyhow::Result<()> {
    let mut log: Vec<StoredEvent> = Vec::new();
    let mut from = Checkpoint::START;
    loop {
        let page = store.read_all_after(from, 5000).await?;
        let Some(last) = page.last() else { break };
        from = last.checkpoint();
        log.extend(page);
    }
    report.events_after = log.len() as u64;
    let ids: HashSet<String> = log.iter().map(|e| e.event_id.to_string()).collect();
    report.lost = acknowledged
        .iter()
        .filter(|id| !ids.contains(*id))
        .cloned()
        .collect();
    let caused: HashSet<String> = log
        .iter()
        .filter_map(|e| e.metadata.causation_id.map(|c| c.to_string()))
        .collect();
    report.leaks_without_re_review = leaks
        .iter()
        .filter(|id| !caused.contains(*id))
        .cloned()
        .collect();
    for p in models::all() {
        let reads = log.iter().filter(|e| !p.keys(e).is_empty()).count() as u64;
        let state = store.state(p.name()).await?;
        if state.applied != reads {
            report.applied_twice.push(format!(
                "{}: applied {}, reads {reads}",
                p.name(),
                state.applied
            ));
        }
        let verify = format!("{}__soak_verify", p.name());
        catch_up(store, store, p.as_ref(), &verify, None, 2000).await?;
        if store.scan(p.name(), "").await? != store.scan(&verify, "").await? {
            report.differs_from_rebuild.push(p.name().to_string());
        }
        store.reset(&verify).await?;
    }
    Ok(())
}

pub fn print(r: &SoakReport, opts: &SoakOptions) {
    println!(
        "soak: {:.0} s at {} commands/s over {} platforms ({} clients), a fault every {} s; the log grew from {} to {} events",
        r.load_secs, opts.rate, opts.platforms, opts.clients, opts.fault_every, r.events_before, r.events_after
    );
    println!(
        "commands: {} acknowledged ({:.0}/s), {} refused, {} unanswered after a minute of retries",
        r.acknowledged,
        r.acknowledged as f64 / r.load_secs.max(1.0),
        r.refused,
        r.unanswered
    );
    for s in &r.refusal_samples {
        println!("  refused: {s}");
    }
    println!("{:<22} {:>8} {:>12}", "fault", "at s", "recovery s");
    for f in &r.faults {
        println!(
            "{:<22} {:>8.0} {:>12}",
            f.fault.name(),
            f.at_secs,
            f.recovery_secs
                .map_or("none".to_string(), |s| format!("{s:.1}"))
        );
    }
    for fault in Fault::ALL {
        let times: Vec<f64> = r
            .faults
            .iter()
            .filter(|f| f.fault == fault)
            .filter_map(|f| f.recovery_secs)
            .collect();
        if !times.is_empty() {
            println!(
                "  {}: {} times, recovery max {:.1} s",
                fault.name(),
                times.len(),
                times.iter().copied().fold(0.0, f64::max)
            );
        }
    }
    println!(
        "lag commit → every read model, the policy consumer and the relay, outside faults ({} samples; {} during faults): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; target < {TARGET_LAG_SECS} s: {}",
        r.lag_outside_faults.len(),
        r.lag_samples_in_faults,
        r.lag_p50() * 1000.0,
        r.lag_p99() * 1000.0,
        r.lag_max() * 1000.0,
        if r.lag_max() < TARGET_LAG_SECS { "met" } else { "not met" }
    );
    let mut worst = r.lag_outside_faults.clone();
    worst.sort_by(|a, b| b.1.total_cmp(&a.1));
    let worst: Vec<String> = worst
        .iter()
        .take(5)
        .map(|(at, lag)| format!("{:.0} ms at {at:.0} s", lag * 1000.0))
        .collect();
    println!("  slowest samples outside faults: {}", worst.join(", "));
    println!("{:>8} {:>9}", "seconds", "RSS MiB");
    let step = (r.rss.len() / 24).max(1);
    for (i, (t, rss)) in r.rss.iter().enumerate() {
        if i % step == 0 || i + 1 == r.rss.len() {
            println!("{t:>8.0} {rss:>9.0}");
        }
    }
    println!(
        "lost acknowledged events: {}; strain leaks {} (without re-review: {}); applied twice: {}; differ from a rebuild: {}; poison messages {} → dead-lettered {}",
        r.lost.len(),
        r.strain_leaks,
        r.leaks_without_re_review.len(),
        r.applied_twice.len(),
        r.differs_from_rebuild.len(),
        r.poison_sent,
        r.dead_lettered
    );
    println!("the server's log: {}", r.server_log.display());
    let failures = r.failures();
    if failures.is_empty() {
        println!("soak: passed");
    } else {
        for f in failures {
            println!("soak FAILED: {f}");
        }
    }
}
