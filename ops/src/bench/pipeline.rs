//! `roster bench pipeline`: the read side through RabbitMQ, as `roster serve --amqp-url` runs it
//! (the outbox relay and one consumer per read model), on a database and a broker prefix made
//! for the run and removed after it, whatever happens.
//!
//! 1. Sustained throughput: N realistic events are appended straight into the store (not through
//!    the command path: this measures the pipeline), then the relay and the 7 consumers (six read
//!    models, the policy consumer) start and the clock runs until the relay and every consumer
//!    have reached the head of the log.
//! 2. The ceiling of one message per event (what the relay published before range notices),
//!    measured in the same run: the N events as single-event messages, published with lapin
//!    directly (pipelined confirms) to one throwaway quorum queue with a projection queue's
//!    arguments, consumed and acked (multiple) with the same prefetch.
//! 3. End-to-end lag at a fixed offered load: small commits every 10 ms at `rate` events/s while
//!    a watcher polls the `roster` model's checkpoint and times each commit from its append to
//!    the moment the model shows it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{NaiveDate, Utc};
use futures_util::{FutureExt, StreamExt};
use roster_domain::actor::{Actor, Role};
use roster_domain::commands::ServiceRecord;
use roster_domain::events::{encode, PlatformEvent};
use roster_domain::form::ApplicationForm;
use roster_domain::incident::IncidentKind;
use roster_domain::samples::{date, form_json};
use roster_domain::store::{
    AppendOutcome, AuditEntry, Checkpoint, CommandRecord, Commit, EventMetadata, EventStore,
    ExpectedVersion, NewEvent, StreamAppend,
};
use roster_domain::values::{Cny, Uscc};
use roster_postgres::PgStore;
use roster_projections::ReadModelStore;
use roster_rabbitmq::lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use roster_rabbitmq::lapin::types::FieldTable;
use roster_rabbitmq::lapin::{BasicProperties, ExchangeKind};
use roster_rabbitmq::{BrokerConfig, RELAY_CHECKPOINT};
use tokio::sync::mpsc;
use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::bench::{peak_rss_mib, BenchDb};

/// Events per commit of the throughput load.
const LOAD_COMMIT: usize = 500;
/// Events of one platform stream: a submission, then 9 service records and incident reports.
const STREAM_LEN: u64 = 10;
/// The lag test commits this often.
const LAG_TICK: Duration = Duration::from_millis(10);
/// The lag watcher polls the `roster` checkpoint this often.
const WATCH_POLL: Duration = Duration::from_millis(2);
/// Longest wait for the pipeline to drain (throughput) or to show a commit (lag).
const DRAIN_LIMIT: Duration = Duration::from_secs(600);

/// The targets the figures are printed beside.
pub const TARGET_EVENTS_PER_SEC: f64 = 10_000.0;
pub const TARGET_LAG_RATE: u64 = 2_000;
pub const TARGET_P99_MS: f64 = 500.0;

#[derive(Debug, Clone, Copy)]
pub struct PipelineOptions {
    pub events: u64,
    /// Offered load of the lag test, events/s.
    pub rate: u64,
    pub lag_seconds: u64,
}

#[derive(Debug, Clone)]
pub struct LagFigures {
    pub commits: usize,
    pub events: u64,
    pub offered_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone)]
pub struct PipelineFigures {
    pub events: u64,
    pub projections: usize,
    /// Appending the N events (commits of `LOAD_COMMIT`), before the pipeline starts: not a
    /// pipeline figure, shown for scale.
    pub load_secs: f64,
    /// From starting the relay and consumers to every checkpoint at the head.
    pub pipeline_secs: f64,
    /// When the relay reached the head (it publishes ahead of the consumers).
    pub relay_secs: f64,
    /// Raw lapin publish + consume of the same N messages.
    pub ceiling_secs: f64,
    pub lag: LagFigures,
    /// Events the read models dead-lettered (should be 0: the events are valid).
    pub dead_letters: usize,
    /// Peak RSS once the pipeline and lag phases are done (the ceiling then holds all N
    /// messages in memory, which raises the process's peak).
    pub rss_pipeline_mib: Option<f64>,
}

impl PipelineFigures {
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.pipeline_secs
    }

    pub fn ceiling_per_sec(&self) -> f64 {
        self.events as f64 / self.ceiling_secs
    }
}

/// Deletes the run's queues, exchanges and database when dropped, on success, error or panic.
pub(crate) struct Cleanup {
    amqp_url: String,
    prefix: String,
    admin: tokio_postgres::Config,
    database: String,
}

impl Cleanup {
    pub(crate) fn new(
        amqp_url: &str,
        prefix: &str,
        admin_url: &str,
        database: &str,
    ) -> anyhow::Result<Cleanup> {
        Ok(Cleanup {
            amqp_url: amqp_url.to_string(),
            prefix: prefix.to_string(),
            admin: admin_url.parse().context("database URL")?,
            database: database.to_string(),
        })
    }

    fn ceiling_name(&self) -> String {
        ceiling_name(&self.prefix)
    }
}

fn ceiling_name(prefix: &str) -> String {
    format!("{prefix}.ceiling")
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let cfg = crate::broker::config(&self.amqp_url, &self.prefix);
        let ceiling = self.ceiling_name();
        let (admin, database) = (self.admin.clone(), self.database.clone());
        // Drop runs inside the bench's runtime, which cannot block: a thread with its own.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                match roster_rabbitmq::connect(&cfg, "roster-bench-cleanup").await {
                    Ok(conn) => {
                        if let Ok(ch) = conn.create_channel().await {
                            let mut queues = vec![ceiling.clone()];
                            for p in crate::broker::QUEUES {
                                queues.push(cfg.queue(p));
                                queues.push(cfg.dead_letter_queue(p));
                            }
                            for q in queues {
                                let _ = ch
                                    .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                                    .await;
                            }
                            for x in [cfg.exchange.clone(), cfg.dead_letter_exchange(), ceiling] {
                                let _ = ch
                                    .exchange_delete(
                                        x.as_str().into(),
                                        ExchangeDeleteOptions::default(),
                                    )
                                    .await;
                            }
                        }
                        let _ = conn.close(200, "bench cleaned up".into()).await;
                    }
                    Err(e) => eprintln!(
                        "bench cleanup: cannot reach RabbitMQ to delete {}.*: {e}",
                        cfg.queue_prefix
                    ),
                }
                match admin.connect(NoTls).await {
                    Ok((client, conn)) => {
                        tokio::spawn(conn);
                        if let Err(e) = client
                            .batch_execute(&format!(
                                "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
                            ))
                            .await
                        {
                            eprintln!("bench cleanup: cannot drop database {database}: {e}");
                        }
                    }
                    Err(e) => eprintln!("bench cleanup: cannot drop database {database}: {e}"),
                }
            });
        })
        .join();
        if done.is_err() {
            eprintln!(
                "bench cleanup of {} / {} panicked",
                self.database, self.prefix
            );
        }
    }
}

/// Realistic platform streams, continued across commits: each platform an `ApplicationSubmitted`
/// with a complete form, then 9 alternating `ServiceRecorded` / `IncidentReported`.
struct Generator {
    platform: u64,
    /// Events already in the current platform's stream.
    version: u64,
    form: Option<ApplicationForm>,
    business_date: NaiveDate,
}

impl Generator {
    fn new() -> Generator {
        Generator {
            platform: 0,
            version: 0,
            form: None,
            business_date: date("2025-07-02"),
        }
    }

    fn uscc(prefix: &str, n: u64) -> Uscc {
        Uscc::with_check_character(&format!("{prefix}{:07}", n % 10_000_000)).expect("bench USCC")
    }

    fn event(&mut self, platform: u64, version: u64) -> NewEvent {
        let uscc = Self::uscc("91440300MA", platform);
        let event = match version {
            0 => {
                let form: ApplicationForm =
                    serde_json::from_value(form_json(uscc.as_str(), "44", "440300", &["enzymes"]))
                        .expect("bench form");
                self.form = Some(form.clone());
                PlatformEvent::ApplicationSubmitted {
                    round_id: "2025".into(),
                    cycle: 1,
                    submitted_on: self.business_date,
                    form,
                }
            }
            v if v % 2 == 1 => PlatformEvent::ServiceRecorded {
                service_id: Uuid::new_v4(),
                dated: self.business_date,
                record: ServiceRecord::EnterpriseServed {
                    enterprise_uscc: Self::uscc("91320500MB", platform * STREAM_LEN + v),
                    enterprise_name: format!("示例客户生物科技有限公司 {platform}-{v}"),
                    contract_cny: Cny(1_200_000 + v * 10_000),
                },
            },
            v => PlatformEvent::IncidentReported {
                incident_id: format!("i{v}"),
                kind: IncidentKind::Other,
                occurred_on: date("2025-07-01"),
                description: format!(
                    "压力测试事件 {platform}-{v}: 发酵罐取样口密封件老化，少量菌液外溢，\
                     已按应急预案处置，现场消毒后恢复运行，无人员伤亡。"
                ),
                direct_loss_cny: None,
                severity: None,
            },
        };
        let (event_type, schema_version, payload) = encode(&event);
        let command_id = Uuid::new_v4();
        NewEvent {
            event_id: Uuid::new_v4(),
            event_type,
            schema_version,
            payload,
            metadata: EventMetadata {
                actor: Actor {
                    id: format!("bench-{uscc}"),
                    role: Role::Applicant,
                    jurisdiction: Some(uscc.to_string()),
                },
                command_id,
                correlation_id: command_id,
                causation_id: None,
                recorded_at: Utc::now(),
                business_date: self.business_date,
                backfilled_by: Some("bench".into()),
            },
        }
    }

    /// The next `n` events as one commit (a stream may continue in the next commit).
    fn commit(&mut self, n: usize) -> Commit {
        let mut streams: Vec<StreamAppend> = Vec::new();
        for _ in 0..n {
            if self.version == STREAM_LEN {
                self.platform += 1;
                self.version = 0;
            }
            let (platform, version) = (self.platform, self.version);
            let stream_id = format!("platform-bench-{platform}");
            if streams.last().is_none_or(|s| s.stream_id != stream_id) {
                streams.push(StreamAppend {
                    stream_id,
                    expected_version: ExpectedVersion::from_current(version),
                    events: Vec::new(),
                });
            }
            let event = self.event(platform, version);
            if let Some(s) = streams.last_mut() {
                s.events.push(event);
            }
            self.version += 1;
        }
        let now = Utc::now();
        let actor = Actor {
            id: "bench-pipeline".into(),
            role: Role::System,
            jurisdiction: None,
        };
        Commit {
            command: CommandRecord {
                command_id: Uuid::new_v4(),
                fingerprint: "bench-pipeline".into(),
                result: serde_json::json!({"bench": "pipeline", "events": n}),
                recorded_at: now,
            },
            audit: AuditEntry {
                recorded_at: now,
                actor,
                command_id: None,
                command_type: "bench_pipeline_load".into(),
                target: streams.first().map(|s| s.stream_id.clone()),
                outcome: "accepted".into(),
                error_code: None,
                detail: None,
            },
            streams,
        }
    }
}

async fn append(store: &PgStore, commit: Commit) -> anyhow::Result<i64> {
    match store.append(commit).await? {
        AppendOutcome::Appended { last_position, .. } => Ok(last_position),
        AppendOutcome::Duplicate(_) => bail!("a bench commit was taken for a duplicate"),
    }
}

/// Runs the three phases and returns the figures; the database and broker objects are removed
/// in every case.
pub async fn run(
    admin_url: &str,
    amqp_url: &str,
    opts: PipelineOptions,
) -> anyhow::Result<PipelineFigures> {
    if opts.events == 0 || opts.rate == 0 || opts.lag_seconds == 0 {
        bail!("--events, --rate and --lag-seconds must be positive");
    }
    let db = BenchDb::create(admin_url).await?;
    // From here on the database and the broker objects are removed on every exit: an error, a
    // panic, or Ctrl-C / SIGTERM (which would otherwise end the process without unwinding).
    let prefix = format!("bench{}", &Uuid::new_v4().simple().to_string()[..8]);
    let _cleanup = Cleanup::new(amqp_url, &prefix, admin_url, &db.name)?;
    let cfg = crate::broker::config(amqp_url, &prefix);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("SIGTERM handler")?;
    tokio::select! {
        figures = phases(db, cfg, opts) => figures,
        _ = tokio::signal::ctrl_c() => bail!("interrupted; the bench database and queues are removed"),
        _ = terminate.recv() => bail!("terminated; the bench database and queues are removed"),
    }
}

async fn phases(
    db: BenchDb,
    cfg: BrokerConfig,
    opts: PipelineOptions,
) -> anyhow::Result<PipelineFigures> {
    let prefix = cfg.queue_prefix.clone();
    let store = Arc::new(PgStore::with_config(db.config.clone()).await?);
    store.migrate().await?;
    // The application as `roster serve --amqp-url` builds it: the policy consumer rides the
    // pipeline too, and the followers share one read of the log.
    let app = crate::bench::bench_app(store.clone(), format!("PostgreSQL database {}", db.name));
    let stores = app.backends().clone();
    let log = app.shared_log();
    let policies = app.policy_consumer();

    // 1. The load, then the pipeline from a standing start.
    let mut generator = Generator::new();
    let load_started = Instant::now();
    let mut head_position = 0;
    let mut left = opts.events;
    while left > 0 {
        let n = left.min(LOAD_COMMIT as u64);
        head_position = append(&store, generator.commit(n as usize)).await?;
        left -= n;
    }
    let load_secs = load_started.elapsed().as_secs_f64();
    let in_log = store.count_after(Checkpoint::START).await?;
    if in_log != opts.events {
        bail!(
            "the log holds {in_log} events, {} were appended",
            opts.events
        );
    }
    eprintln!(
        "bench pipeline: {} events appended in {load_secs:.1} s; starting the relay and {} consumers (prefix {prefix})",
        opts.events,
        crate::broker::QUEUES.len()
    );

    let started = Instant::now();
    let transport = crate::broker::start_with_lock(
        &stores,
        log,
        db.config.clone(),
        cfg.clone(),
        Some(policies),
    )
    .await
    .context("starting the relay and consumers")?;
    let phases = async {
        let relay_secs = drained(&store, head_position, started).await?;
        let pipeline_secs = started.elapsed().as_secs_f64();
        for name in std::iter::once(RELAY_CHECKPOINT).chain(crate::broker::QUEUES) {
            let at = store.state(name).await?.checkpoint;
            let behind = store.count_after(at).await?;
            if behind != 0 {
                bail!("{name} is {behind} events behind the head after draining");
            }
        }
        eprintln!(
            "bench pipeline: drained in {pipeline_secs:.1} s; lag test at {} events/s for {} s",
            opts.rate, opts.lag_seconds
        );
        let lag = lag_test(&store, &mut generator, &transport.wake_relay, opts).await?;
        Ok::<_, anyhow::Error>((relay_secs, pipeline_secs, lag))
    }
    .await;
    transport.stop().await;
    let (relay_secs, pipeline_secs, lag) = phases?;
    let dead_letters = store.dead_letters(None).await?.len();
    let rss_pipeline_mib = peak_rss_mib();

    // 2. The ceiling: the same messages (the first N events, as the relay published them).
    eprintln!("bench pipeline: ceiling (raw lapin publish + consume of the same messages)");
    let messages = first_messages(&store, opts.events).await?;
    let ceiling_secs = ceiling(&cfg, &ceiling_name(&prefix), &messages).await?;
    drop(messages);

    drop(stores);
    drop(store);
    Ok(PipelineFigures {
        events: opts.events,
        projections: crate::broker::QUEUES.len(),
        load_secs,
        pipeline_secs,
        relay_secs,
        ceiling_secs,
        lag,
        dead_letters,
        rss_pipeline_mib,
    })
}

/// Waits until the relay and every read model are at `head` (the last position appended; one
/// writer, so positions and transactions rise together). Returns when the relay got there.
async fn drained(store: &PgStore, head: i64, started: Instant) -> anyhow::Result<f64> {
    let mut relay_at = None;
    let mut reached: Vec<&str> = Vec::new();
    loop {
        let states = store.states().await?;
        let at = |name: &str| {
            states
                .iter()
                .find(|s| s.projection == name)
                .map_or(0, |s| s.checkpoint.global_position)
        };
        if relay_at.is_none() && at(RELAY_CHECKPOINT) >= head {
            relay_at = Some(started.elapsed().as_secs_f64());
        }
        for name in crate::broker::QUEUES {
            if at(name) >= head && !reached.contains(&name) {
                reached.push(name);
                eprintln!(
                    "bench pipeline: {name} reached the head after {:.1} s",
                    started.elapsed().as_secs_f64()
                );
            }
        }
        if let Some(relay) = relay_at {
            if crate::broker::QUEUES.iter().all(|n| at(n) >= head) {
                return Ok(relay);
            }
        }
        if started.elapsed() > DRAIN_LIMIT {
            let behind: Vec<String> = std::iter::once(RELAY_CHECKPOINT)
                .chain(crate::broker::QUEUES)
                .map(|n| format!("{n} at {}", at(n)))
                .collect();
            bail!(
                "the pipeline did not drain within {DRAIN_LIMIT:?} (head {head}; {})",
                behind.join(", ")
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Offers `rate` events/s in commits every `LAG_TICK` (paced against the clock: a late tick
/// commits what is due), while a watcher times each commit until the `roster` model shows it.
async fn lag_test(
    store: &Arc<PgStore>,
    generator: &mut Generator,
    wake_relay: &tokio::sync::Notify,
    opts: PipelineOptions,
) -> anyhow::Result<LagFigures> {
    let (tx, mut rx) = mpsc::unbounded_channel::<(i64, Instant)>();
    let watcher = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut pending: VecDeque<(i64, Instant)> = VecDeque::new();
            let mut lags: Vec<Duration> = Vec::new();
            let mut closed = false;
            let mut tick = tokio::time::interval(WATCH_POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut idle_since: Option<Instant> = None;
            loop {
                tick.tick().await;
                loop {
                    match rx.try_recv() {
                        Ok(c) => pending.push_back(c),
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => {
                            closed = true;
                            break;
                        }
                    }
                }
                if pending.is_empty() {
                    if closed {
                        return Ok::<_, anyhow::Error>(lags);
                    }
                    continue;
                }
                let at = store
                    .state(roster_projections::models::ROSTER.name)
                    .await?
                    .checkpoint
                    .global_position;
                let now = Instant::now();
                while let Some(&(position, committed)) = pending.front() {
                    if position > at {
                        break;
                    }
                    lags.push(now.saturating_duration_since(committed));
                    pending.pop_front();
                }
                if closed {
                    let since = *idle_since.get_or_insert(now);
                    if since.elapsed() > DRAIN_LIMIT {
                        bail!(
                            "the roster model did not show {} commits within {DRAIN_LIMIT:?}",
                            pending.len()
                        );
                    }
                }
            }
        })
    };

    let total = opts.rate * opts.lag_seconds;
    let started = Instant::now();
    let mut tick = tokio::time::interval(LAG_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sent = 0u64;
    let mut commits = 0usize;
    while sent < total {
        tick.tick().await;
        let due = ((opts.rate as f64 * started.elapsed().as_secs_f64()) as u64).min(total);
        if due <= sent {
            continue;
        }
        let n = (due - sent) as usize;
        let position = append(store, generator.commit(n)).await?;
        let committed = Instant::now();
        // As `roster serve` does after each commit: the idle relay publishes at once.
        wake_relay.notify_one();
        sent += n as u64;
        commits += 1;
        if tx.send((position, committed)).is_err() {
            break;
        }
    }
    let offered_secs = started.elapsed().as_secs_f64();
    drop(tx);
    let mut lags = watcher.await.context("the lag watcher panicked")??;
    if lags.len() != commits {
        bail!("{commits} commits, {} lags measured", lags.len());
    }
    lags.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pct = |p: f64| {
        let i = ((lags.len() as f64 * p).ceil() as usize).clamp(1, lags.len()) - 1;
        ms(lags[i])
    };
    Ok(LagFigures {
        commits,
        events: sent,
        offered_per_sec: sent as f64 / offered_secs,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: lags.last().copied().map_or(0.0, ms),
    })
}

/// Bodies, properties and routing keys of the first `n` events, as the relay publishes them.
async fn first_messages(
    store: &PgStore,
    n: u64,
) -> anyhow::Result<Vec<(String, Vec<u8>, BasicProperties)>> {
    let mut out = Vec::with_capacity(n as usize);
    let mut from = Checkpoint::START;
    while (out.len() as u64) < n {
        let want = (n - out.len() as u64).min(10_000) as usize;
        let batch = store.read_all_after(from, want).await?;
        let Some(last) = batch.last() else {
            bail!("the log ended after {} events", out.len());
        };
        from = last.checkpoint();
        for e in &batch {
            let (body, properties) = roster_rabbitmq::event_message(e)?;
            out.push((e.event_type.clone(), body, properties));
        }
    }
    Ok(out)
}

/// Raw lapin: publishes `messages` to a throwaway quorum queue (a projection queue's arguments)
/// in windows of the relay's size, waiting for each window's confirms as the relay does, while
/// a consumer with the consumers' prefetch takes and acks (multiple) what arrives. Returns the
/// seconds from the first publish to the last delivery.
async fn ceiling(
    cfg: &BrokerConfig,
    name: &str,
    messages: &[(String, Vec<u8>, BasicProperties)],
) -> anyhow::Result<f64> {
    let total = messages.len();
    let publisher = roster_rabbitmq::connect(cfg, "roster-bench-ceiling-publish").await?;
    let consumer = roster_rabbitmq::connect(cfg, "roster-bench-ceiling-consume").await?;
    let pub_ch = publisher.create_channel().await?;
    pub_ch
        .exchange_declare(
            name.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    pub_ch
        .queue_declare(
            name.into(),
            QueueDeclareOptions::durable(),
            roster_rabbitmq::queue_arguments(cfg, "ceiling"),
        )
        .await?;
    pub_ch
        .queue_bind(
            name.into(),
            name.into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    pub_ch
        .confirm_select(ConfirmSelectOptions::default())
        .await?;

    let con_ch = consumer.create_channel().await?;
    con_ch
        .basic_qos(cfg.prefetch, BasicQosOptions::default())
        .await?;
    let mut deliveries = con_ch
        .basic_consume(
            name.into(),
            "roster-bench-ceiling".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let limit = usize::from(cfg.prefetch.max(1));
    let consuming = tokio::spawn(async move {
        let mut seen = 0usize;
        while seen < total {
            let first = match deliveries.next().await {
                Some(d) => d?,
                None => bail!("the broker cancelled the ceiling consumer after {seen}"),
            };
            let mut last = first;
            let mut n = 1;
            while n < limit {
                match deliveries.next().now_or_never() {
                    Some(Some(d)) => {
                        last = d?;
                        n += 1;
                    }
                    Some(None) | None => break,
                }
            }
            last.acker.ack(BasicAckOptions { multiple: true }).await?;
            seen += n;
        }
        Ok::<_, anyhow::Error>(Instant::now())
    });

    let started = Instant::now();
    for window in messages.chunks(cfg.confirm_window.max(1)) {
        let mut confirms = Vec::with_capacity(window.len());
        for (routing_key, body, properties) in window {
            confirms.push(
                pub_ch
                    .basic_publish(
                        name.into(),
                        routing_key.as_str().into(),
                        BasicPublishOptions {
                            mandatory: true,
                            ..BasicPublishOptions::default()
                        },
                        body,
                        properties.clone(),
                    )
                    .await?,
            );
        }
        for confirm in confirms {
            let confirmation = confirm.await?;
            if !confirmation.is_ack() || confirmation.take_message().is_some() {
                bail!("the broker refused a ceiling message");
            }
        }
    }
    let done = tokio::time::timeout(DRAIN_LIMIT, consuming)
        .await
        .context("the ceiling consumer did not get every message")?
        .context("the ceiling consumer panicked")??;
    let secs = done.duration_since(started).as_secs_f64();
    let _ = publisher.close(200, "ceiling done".into()).await;
    let _ = consumer.close(200, "ceiling done".into()).await;
    Ok(secs)
}

/// The report, each figure beside its ceiling or target.
pub fn print(f: &PipelineFigures, opts: PipelineOptions) {
    let x = f.events_per_sec();
    let y = f.ceiling_per_sec();
    println!(
        "load: {} events appended straight into the store in commits of {LOAD_COMMIT} in {:.1} s (not part of the figure)",
        f.events, f.load_secs
    );
    println!(
        "pipeline: {x:.0} events/s into every consumer (ceiling of one message per event, the relay's design before range notices: raw lapin publish+consume of the same events as messages, one queue: {y:.0} msg/s; ratio {:.2}) [target >= {TARGET_EVENTS_PER_SEC:.0} events/s: {}]",
        x / y,
        if x >= TARGET_EVENTS_PER_SEC { "met" } else { "MISSED" }
    );
    println!(
        "pipeline: {:.0} deliveries/s ({} events x {} projections in {:.2} s; the relay reached the head after {:.2} s, {:.0} events/s)",
        (f.events * f.projections as u64) as f64 / f.pipeline_secs,
        f.events,
        f.projections,
        f.pipeline_secs,
        f.relay_secs,
        f.events as f64 / f.relay_secs
    );
    let l = &f.lag;
    let on_target = opts.rate >= TARGET_LAG_RATE && l.p99_ms < TARGET_P99_MS;
    println!(
        "lag (commit -> roster read model): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} commits; offered {:.0} events/s (asked {} for {} s) [target p99 < {TARGET_P99_MS:.0} ms at {TARGET_LAG_RATE} events/s: {}]",
        l.p50_ms,
        l.p99_ms,
        l.max_ms,
        l.commits,
        l.offered_per_sec,
        opts.rate,
        opts.lag_seconds,
        if on_target {
            "met"
        } else if opts.rate < TARGET_LAG_RATE {
            "not measured at the target rate"
        } else {
            "MISSED"
        }
    );
    if f.dead_letters > 0 {
        println!("WARNING: {} events dead-lettered", f.dead_letters);
    }
    if let Some(rss) = f.rss_pipeline_mib {
        println!("peak RSS after the pipeline and lag phases: {rss:.0} MiB");
    }
}
