//! `roster bench`: throughput figures, each printed beside a ceiling measured in the same run on
//! the same machine, as a ratio. Runs against a fresh PostgreSQL database created for the run
//! (and dropped after), so nothing else is disturbed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use roster_domain::actor::{Actor, Role};
use roster_domain::commands::{PlatformCommand, ReportIncident, SubmitApplication};
use roster_domain::incident::IncidentKind;
use roster_domain::samples::{date, form_json, round_2025};
use roster_domain::service::{CommandRequest, CommandService, SystemClock, Target};
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
        let service = Arc::new(CommandService::new(store.clone(), Arc::new(SystemClock)));
        let ministry = Actor {
            id: "bench-ministry".into(),
            role: Role::Ministry,
            jurisdiction: None,
        };
        let mut round = round_2025();
        round.applicant_deadlines.clear();
        round.city_deadlines.clear();
        round.province_deadline = date("2099-12-31");
        service
            .execute(
                &ministry,
                CommandRequest {
                    command_id: Uuid::new_v4(),
                    business_date: date("2025-06-16"),
                    expected_version: None,
                    correlation_id: None,
                    causation_id: None,
                    target: Target::OpenRound { open_round: round },
                },
            )
            .await
            .map_err(|r| anyhow::anyhow!("{r}"))?;
        let next = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (service, next) = (service.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(10, Ordering::Relaxed);
                    if n >= total {
                        return Ok::<(), anyhow::Error>(());
                    }
                    let uscc = applicant_uscc(n / 10);
                    let actor = Actor {
                        id: format!("bench-{uscc}"),
                        role: Role::Applicant,
                        jurisdiction: Some(uscc.to_string()),
                    };
                    let platform_id = format!("bench-{}", n / 10);
                    let form: roster_domain::form::ApplicationForm = serde_json::from_value(
                        form_json(uscc.as_str(), "44", "440300", &["enzymes"]),
                    )?;
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
                            business_date: date("2025-07-02"),
                            expected_version: None,
                            correlation_id: None,
                            causation_id: None,
                            target: Target::Platform {
                                platform_id: platform_id.clone(),
                                command,
                            },
                        };
                        service
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
        let secs = started.elapsed().as_secs_f64();
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
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub fn per_sec(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}
