//! `roster bench`: throughput figures, each printed beside a ceiling measured in the same run on
//! the same machine, as a ratio. Runs against a fresh PostgreSQL database created for the run
//! (and dropped after), so nothing else is disturbed.

pub mod history;
pub mod kpi;
pub mod memory;
pub mod pipeline;
pub mod soak;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use roster_app::{App, Backends, Settings, Transport};
use roster_domain::actor::{Actor, Role};
use roster_domain::clock::SystemClock;
use roster_domain::commands::{PlatformCommand, ReportIncident, SubmitApplication};
use roster_domain::events::PlatformEvent;
use roster_domain::incident::IncidentKind;
use roster_domain::policies::PolicyConfig;
use roster_domain::request::{CommandRequest, Target};
use roster_domain::samples::{date, form_json, round_2025};
use roster_domain::store::EventStore;
use roster_domain::store::ExpectedVersion;
use roster_domain::values::Uscc;
use roster_postgres::PgStore;
use tokio_postgres::NoTls;
use uuid::Uuid;

/// A throwaway database on the server of `admin_url`.
pub struct BenchDb {
    admin: tokio_postgres::Config,
    pub name: String,
    pub config: tokio_postgres::Config,
}

impl BenchDb {
    pub async fn create(admin_url: &str) -> anyhow::Result<BenchDb> {
        let admin: tokio_postgres::Config = admin_url.parse().context("database URL")?;
        let name = format!("roster_bench_{}", Uuid::new_v4().simple());
        let (client, conn) = admin
            .connect(NoTls)
            .await
            .context("connect to PostgreSQL")?;
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        let mut config = admin.clone();
        config.dbname(&name);
        Ok(BenchDb {
            admin,
            name,
            config,
        })
    }

    /// A URL for a `roster serve` process on this database.
    pub fn url(&self) -> String {
        format!(
            "postgres://{}@{}:{}/{}",
            self.config.get_user().unwrap_or("postgres"),
            match self.config.get_hosts().first() {
                Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
                _ => "127.0.0.1".into(),
            },
            self.config.get_ports().first().copied().unwrap_or(5432),
            self.name
        )
    }

    pub async fn drop_now(self) -> anyhow::Result<()> {
        let (client, conn) = self.admin.connect(NoTls).await?;
        tokio::spawn(conn);
        client
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .await?;
        Ok(())
    }
}

fn applicant_uscc(n: u64) -> Uscc {
    Uscc::with_check_character(&format!("91440300MA{:07}", n % 10_000_000)).expect("bench USCC")
}

/// A ~1 KB incident description (the reference measured 1 KB events).
fn description(n: u64) -> String {
    let mut s = format!("压力测试事件 {n}: ");
    while s.len() < 900 {
        s.push_str("发酵罐取样口密封件老化，少量菌液外溢，已按应急预案处置。");
    }
    s
}

pub struct CommandsFigures {
    pub commands: u64,
    pub secs: f64,
    pub raw_inserts_per_sec: f64,
}

/// Commands/s through the full command path (auth, load, decide, one atomic append with
/// command id, audit line and global order) with `clients` concurrent clients, fresh aggregates
/// every 10 commands (a submission, then 9 incident reports of ~1 KB); and, as the ceiling,
/// raw single-row INSERTs of the same ~1 KB payload with the same concurrency.
pub async fn commands(
    admin_url: &str,
    clients: usize,
    total: u64,
) -> anyhow::Result<CommandsFigures> {
    let db = BenchDb::create(admin_url).await?;
    let result = async {
        let store = Arc::new(PgStore::with_config(db.config.clone()).await?);
        store.migrate().await?;
        open_bench_round(store.clone()).await?;
        let secs = drive_commands(store.clone(), clients, 0, total).await?;
        let raw = raw_inserts(&db.config, clients, total.min(50_000)).await?;
        Ok::<_, anyhow::Error>(CommandsFigures {
            commands: total,
            secs,
            raw_inserts_per_sec: raw,
        })
    }
    .await;
    db.drop_now().await?;
    result
}

/// The application over a bench database, as `roster serve --amqp-url` builds it (no
/// in-process followers): a fresh one has a cold aggregate cache.
pub(crate) fn bench_app(store: Arc<PgStore>, description: String) -> App {
    App::new(
        Backends::on(store, description),
        Arc::new(SystemClock),
        Settings::serving(PolicyConfig::default(), Transport::Broker),
    )
}

async fn open_bench_round(store: Arc<PgStore>) -> anyhow::Result<()> {
    let app = bench_app(store, "bench".into());
    let service = app.service();
    let ministry = Actor {
        id: "bench-ministry".into(),
        role: Role::Ministry,
        jurisdiction: None,
    };
    let mut round = round_2025();
    round.applicant_deadlines.clear();
    round.city_deadlines.clear();
    round.province_deadline = date("2099-12-31");
    let req = CommandRequest {
        command_id: Uuid::new_v4(),
        business_date: Some(date("2025-06-16")),
        expected_version: None,
        correlation_id: None,
        causation_id: None,
        target: Target::OpenRound { open_round: round },
    };
    service
        .execute(&ministry, req)
        .await
        .map_err(|r| anyhow::anyhow!("{r}"))?;
    Ok(())
}

/// Runs `total` commands from `clients` concurrent clients through a fresh command service
/// (cold cache), fresh aggregates every 10 commands (platform numbers from `first`); seconds.
async fn drive_commands(
    store: Arc<PgStore>,
    clients: usize,
    first: u64,
    total: u64,
) -> anyhow::Result<f64> {
    let app = bench_app(store, "bench".into());
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (app, next) = (app.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(10, Ordering::Relaxed);
                if n >= total {
                    return Ok::<(), anyhow::Error>(());
                }
                let k = first + n / 10;
                let uscc = applicant_uscc(k);
                let actor = Actor {
                    id: format!("bench-{uscc}"),
                    role: Role::Applicant,
                    jurisdiction: Some(uscc.to_string()),
                };
                let platform_id = format!("bench-c{k}");
                let form: roster_domain::form::ApplicationForm =
                    serde_json::from_value(form_json(uscc.as_str(), "44", "440300", &["enzymes"]))?;
                for i in 0..10u64.min(total - n) {
                    let command = if i == 0 {
                        PlatformCommand::SubmitApplication(SubmitApplication {
                            round_id: "2025".into(),
                            form: form.clone(),
                        })
                    } else {
                        PlatformCommand::ReportIncident(ReportIncident {
                            incident_id: format!("i{i}"),
                            kind: IncidentKind::Other,
                            occurred_on: date("2025-07-01"),
                            description: description(n + i),
                            direct_loss_cny: None,
                            severity: None,
                        })
                    };
                    let req = CommandRequest {
                        command_id: Uuid::new_v4(),
                        // Applicants act on the day recorded (RULES.md §12); the bench round's
                        // deadline is 2099.
                        business_date: None,
                        expected_version: None,
                        correlation_id: None,
                        causation_id: None,
                        target: Target::Platform {
                            platform_id: platform_id.clone(),
                            command,
                        },
                    };
                    app.service()
                        .execute(&actor, req)
                        .await
                        .map_err(|r| anyhow::anyhow!("bench command refused: {r}"))?;
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(started.elapsed().as_secs_f64())
}

pub struct ScaleFigures {
    pub small_events: u64,
    pub small_rate: f64,
    pub large_events: u64,
    pub large_rate: f64,
    pub fill_secs: f64,
}

/// Append throughput through the full command path with about 10k stored events, then again
/// after the same database was bulk-filled to `events` stored events.
pub async fn append_scale(
    admin_url: &str,
    clients: usize,
    commands: u64,
    events: u64,
) -> anyhow::Result<ScaleFigures> {
    let db = BenchDb::create(admin_url).await?;
    let result = async {
        let store = Arc::new(PgStore::with_config(db.config.clone()).await?);
        store.migrate().await?;
        open_bench_round(store.clone()).await?;
        fill(store.as_ref(), 10_000_000, 200, 50).await?;
        let small_events = store.count_after(roster_domain::store::Checkpoint::START).await?;
        let small_rate = commands as f64 / drive_commands(store.clone(), clients, 0, commands).await?;
        // Bulk fill on the server: realistic row sizes, distinct streams and ids, one
        // transaction per million rows, then statistics as a running system would have them.
        let started = Instant::now();
        let (client, conn) = db.config.connect(NoTls).await?;
        tokio::spawn(conn);
        let have = store.count_after(roster_domain::store::Checkpoint::START).await?;
        let mut at = 0u64;
        while have + at < events {
            let n = (events - have - at).min(1_000_000);
            client
                .execute(
                    "INSERT INTO events (stream_id, version, event_id, event_type, schema_version, payload, metadata, recorded_at, business_date)
                     SELECT 'platform-fill-' || (($1::bigint + g) / 50), (($1::bigint + g) % 50) + 1, gen_random_uuid(), 'ServiceRecorded', 1,
                            jsonb_build_object('service_id', gen_random_uuid(), 'dated', '2026-02-01',
                                               'record', jsonb_build_object('kind', 'enterprise_served', 'enterprise_uscc', '91440300MA5F00000X',
                                                                            'enterprise_name', '压测企业' || g, 'contract_cny', 250000)),
                            jsonb_build_object('actor', jsonb_build_object('id', 'bench-fill', 'role', 'ministry'),
                                               'command_id', gen_random_uuid(), 'correlation_id', gen_random_uuid(),
                                               'recorded_at', now(), 'business_date', '2026-02-01'),
                            now(), '2026-02-01'
                     FROM generate_series(0, $2::bigint - 1) g",
                    &[&(at as i64), &(n as i64)],
                )
                .await?;
            at += n;
        }
        client.batch_execute("VACUUM ANALYZE events").await?;
        let fill_secs = started.elapsed().as_secs_f64();
        let large_events = store.count_after(roster_domain::store::Checkpoint::START).await?;
        let large_rate = commands as f64 / drive_commands(store.clone(), clients, 1_000_000, commands).await?;
        Ok::<_, anyhow::Error>(ScaleFigures { small_events, small_rate, large_events, large_rate, fill_secs })
    }
    .await;
    db.drop_now().await?;
    result
}

/// The ceiling: `total` single-row INSERTs of a ~1 KB JSON payload from `clients` connections.
async fn raw_inserts(
    config: &tokio_postgres::Config,
    clients: usize,
    total: u64,
) -> anyhow::Result<f64> {
    let (setup, conn) = config.connect(NoTls).await?;
    tokio::spawn(conn);
    setup.batch_execute("CREATE TABLE bench_raw (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stream_id text, payload jsonb)").await?;
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (config, next) = (config.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let (client, conn) = config.connect(NoTls).await?;
            tokio::spawn(conn);
            let stmt = client.prepare("INSERT INTO bench_raw (stream_id, payload) VALUES ($1, $2)").await?;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return Ok::<(), anyhow::Error>(());
                }
                let payload = serde_json::json!({"incident_id": format!("i{n}"), "kind": "other", "occurred_on": "2025-07-01", "description": description(n)});
                client.execute(&stmt, &[&format!("bench-{}", n / 10), &payload]).await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Peak resident set size of this process, from /proc (Linux), in MiB.
/// A port free on the loopback interface right now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `binary serve` on `127.0.0.1:port` without rate limits (a benchmark's clients are many and
/// fast), logging warnings; the caller adds the stores and spawns it. With
/// `ROSTER_BENCH_SERVER_WRAPPER` set (e.g. `heaptrack`, with a build whose `system-alloc`
/// feature leaves the allocator to the profiler), the server runs under that program.
pub fn bench_server(binary: &std::path::Path, port: u16) -> tokio::process::Command {
    let mut command = match std::env::var_os("ROSTER_BENCH_SERVER_WRAPPER") {
        Some(wrapper) => {
            let mut c = tokio::process::Command::new(wrapper);
            c.arg(binary);
            c
        }
        None => tokio::process::Command::new(binary),
    };
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--rate-per-address",
            "0",
            "--rate-per-token",
            "0",
            "--failed-auth-per-minute",
            "0",
        ])
        .env("ROSTER_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true);
    command
}

/// A new ministry token for `actor`, stored; returns the secret.
pub async fn ministry_token(
    store: &dyn roster_domain::store::TokenStore,
    actor: &str,
) -> anyhow::Result<String> {
    let token = roster_http::generate_token();
    store
        .insert_token(roster_domain::store::TokenRecord {
            token_hash: roster_http::hash_token(&token),
            actor_id: actor.into(),
            role: Role::Ministry,
            jurisdiction: None,
            label: actor.into(),
            created_at: chrono::Utc::now(),
            revoked_at: None,
        })
        .await?;
    Ok(token)
}

pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub fn per_sec(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// Appends the events of several platform streams (each new) in one commit straight into the
/// store, not through the command path: how the benchmarks fill a large history fast.
pub async fn append_streams(
    store: &dyn roster_domain::store::EventStore,
    label: &str,
    streams: Vec<(String, Vec<(chrono::NaiveDate, PlatformEvent)>)>,
) -> anyhow::Result<()> {
    let streams = streams
        .into_iter()
        .map(|(id, events)| (id, ExpectedVersion::NoStream, events))
        .collect();
    append_to_streams(store, label, streams).await
}

/// A stream, the version it must be at, and its events with their business dates.
pub type StreamEvents = (
    String,
    ExpectedVersion,
    Vec<(chrono::NaiveDate, PlatformEvent)>,
);

/// Appends events to streams at the versions given, in one commit, straight into the store.
pub async fn append_to_streams(
    store: &dyn roster_domain::store::EventStore,
    label: &str,
    streams: Vec<StreamEvents>,
) -> anyhow::Result<()> {
    use roster_domain::events::encode;
    use roster_domain::store::{
        AuditEntry, CommandRecord, Commit, EventMetadata, NewEvent, StreamAppend,
    };
    let actor = Actor {
        id: label.into(),
        role: Role::Ministry,
        jurisdiction: None,
    };
    let command_id = Uuid::new_v4();
    let now = chrono::Utc::now();
    let streams = streams
        .into_iter()
        .map(|(stream_id, expected_version, events)| StreamAppend {
            stream_id,
            expected_version,
            events: events
                .into_iter()
                .map(|(on, e)| {
                    let (event_type, schema_version, payload) = encode(&e);
                    NewEvent {
                        event_id: Uuid::new_v4(),
                        event_type,
                        schema_version,
                        payload,
                        metadata: EventMetadata {
                            actor: actor.clone(),
                            command_id,
                            correlation_id: command_id,
                            causation_id: None,
                            recorded_at: now,
                            business_date: on,
                            backfilled_by: Some("bench".into()),
                        },
                    }
                })
                .collect(),
        })
        .collect();
    store
        .append(Commit {
            command: CommandRecord {
                command_id,
                fingerprint: label.into(),
                result: serde_json::Value::Null,
                recorded_at: now,
            },
            streams,
            audit: AuditEntry {
                recorded_at: now,
                actor,
                command_id: Some(command_id),
                command_type: "BenchFill".into(),
                target: None,
                outcome: "accepted".into(),
                error_code: None,
                detail: None,
            },
        })
        .await?;
    Ok(())
}

/// Appends `platforms` × `per_platform` realistic events straight into the store (not through
/// the command path), in commits of about 1,000 events: per platform an application, then
/// served enterprises, incubated products and incident reports.
pub async fn fill(
    store: &dyn roster_domain::store::EventStore,
    first_platform: u64,
    platforms: u64,
    per_platform: u64,
) -> anyhow::Result<()> {
    use roster_domain::commands::ServiceRecord;
    let per_commit = (1000 / per_platform.max(1)).max(1);
    let on = date("2026-02-01");
    let mut p = first_platform;
    while p < first_platform + platforms {
        let mut streams = Vec::new();
        for q in p..(p + per_commit).min(first_platform + platforms) {
            let uscc = applicant_uscc(q);
            let form: roster_domain::form::ApplicationForm =
                serde_json::from_value(form_json(uscc.as_str(), "44", "440300", &["enzymes"]))?;
            let mut events = Vec::with_capacity(per_platform as usize);
            for i in 0..per_platform {
                let e = match i {
                    0 => PlatformEvent::ApplicationSubmitted {
                        round_id: "2025".into(),
                        cycle: 1,
                        submitted_on: date("2025-07-01"),
                        form: form.clone(),
                    },
                    i if i % 5 == 0 => PlatformEvent::IncidentReported {
                        incident_id: format!("i{i}"),
                        kind: IncidentKind::Other,
                        occurred_on: date("2026-01-01"),
                        description: "压力测试事件：取样口少量外溢，已处置".into(),
                        direct_loss_cny: Some(roster_domain::values::Cny(10_000)),
                        severity: None,
                    },
                    i if i % 2 == 0 => PlatformEvent::ServiceRecorded {
                        service_id: Uuid::new_v4(),
                        dated: date("2026-02-01"),
                        record: ServiceRecord::ProductIncubated {
                            product_name: format!("压测产品{q}-{i}"),
                            owner_uscc: applicant_uscc(q + i),
                            domain: roster_domain::values::Domain::Enzymes,
                        },
                    },
                    i => PlatformEvent::ServiceRecorded {
                        service_id: Uuid::new_v4(),
                        dated: date("2026-02-01"),
                        record: ServiceRecord::EnterpriseServed {
                            enterprise_uscc: applicant_uscc(q * 7 + i),
                            enterprise_name: format!("压测企业{i}"),
                            contract_cny: roster_domain::values::Cny(250_000),
                        },
                    },
                };
                events.push((on, e));
            }
            streams.push((format!("platform-bench-{q}"), events));
        }
        append_streams(store, "bench-fill", streams).await?;
        p += per_commit;
    }
    Ok(())
}

pub struct RebuildFigures {
    pub events: u64,
    pub fill_secs: f64,
    pub read_events_per_sec: f64,
    /// (read model, events per second)
    pub rebuilds: Vec<(String, f64)>,
}

/// Rebuild speed at `events` stored events: each read model rebuilt from the store, against
/// the ceiling of reading and decoding the same log without folding it.
pub async fn rebuild(admin_url: &str, events: u64) -> anyhow::Result<RebuildFigures> {
    let db = BenchDb::create(admin_url).await?;
    let result = async {
        let store = Arc::new(PgStore::with_config(db.config.clone()).await?);
        store.migrate().await?;
        let per_platform = 50;
        let started = Instant::now();
        fill(store.as_ref(), 0, events / per_platform, per_platform).await?;
        let fill_secs = started.elapsed().as_secs_f64();
        let total = store
            .count_after(roster_domain::store::Checkpoint::START)
            .await?;
        // Ceiling: read and decode the whole log, in the rebuild's batch size.
        let started = Instant::now();
        let mut from = roster_domain::store::Checkpoint::START;
        let mut read = 0u64;
        loop {
            let batch = store.read_all_after(from, 2000).await?;
            let Some(last) = batch.last() else { break };
            from = last.checkpoint();
            read += batch.len() as u64;
        }
        let read_events_per_sec = read as f64 / started.elapsed().as_secs_f64();
        let mut rebuilds = Vec::new();
        for p in roster_projections::models::all() {
            let started = Instant::now();
            roster_projections::local::rebuild(
                store.as_ref(),
                store.as_ref(),
                p.as_ref(),
                2000,
                |_| {},
            )
            .await?;
            rebuilds.push((
                p.name().to_string(),
                total as f64 / started.elapsed().as_secs_f64(),
            ));
        }
        Ok::<_, anyhow::Error>(RebuildFigures {
            events: total,
            fill_secs,
            read_events_per_sec,
            rebuilds,
        })
    }
    .await;
    db.drop_now().await?;
    result
}
