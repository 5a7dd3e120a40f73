//! `roster bench memory`: the resident memory of a real `roster serve` process over a large
//! history and under sustained load. It fills a fresh database with `platforms` listed
//! platforms of `per_platform` events each (1M events over 10,000 platforms by default), starts
//! the server on it (its in-process read models catch up from the log), then for `seconds`
//! sends `rate` service records per second spread over every platform (so the aggregate cache
//! meets them all) with a KPI report and a roster read every few seconds, and samples the
//! server's RSS every 5 s. Run for 30 minutes, it is the soak's memory figure: flat means the
//! last half of the run grows by less than 10 %.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use roster_domain::samples::uscc_with_check;
use roster_domain::store::{Checkpoint, EventStore};
use roster_postgres::PgStore;

use crate::bench::kpi::fill_platforms;
use crate::bench::{bench_server, free_port, ministry_token, BenchDb};

#[derive(Debug, Clone, Copy)]
pub struct MemoryOptions {
    pub platforms: u64,
    pub per_platform: u64,
    pub seconds: u64,
    pub rate: u64,
}

#[derive(Debug, Clone)]
pub struct MemoryFigures {
    pub events: u64,
    pub fill_secs: f64,
    pub catch_up_secs: f64,
    pub rss_ready_mib: f64,
    /// (seconds since the load started, the log's newest position, RSS MiB), every second
    pub samples: Vec<(f64, u64, f64)>,
    pub accepted: u64,
    pub refused: u64,
    pub reports: u64,
}

impl MemoryFigures {
    pub fn peak_mib(&self) -> f64 {
        self.samples
            .iter()
            .map(|s| s.2)
            .fold(self.rss_ready_mib, f64::max)
    }

    /// RSS at the end of the run over RSS at its middle.
    pub fn growth_last_half(&self) -> f64 {
        let Some(last) = self.samples.last() else {
            return 1.0;
        };
        let mid = self
            .samples
            .iter()
            .find(|s| s.0 >= last.0 / 2.0)
            .unwrap_or(last);
        last.2 / mid.2
    }
}

/// The resident set size of process `pid`, from /proc (Linux), in MiB.
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub async fn run(admin_url: &str, opts: MemoryOptions) -> anyhow::Result<MemoryFigures> {
    let db = BenchDb::create(admin_url).await?;
    let result = measure(&db, opts).await;
    db.drop_now().await?;
    result
}

async fn measure(db: &BenchDb, opts: MemoryOptions) -> anyhow::Result<MemoryFigures> {
    let store = Arc::new(PgStore::with_config(db.config.clone()).await?);
    store.migrate().await?;
    let started = Instant::now();
    fill_platforms(store.as_ref(), "mem", opts.platforms, opts.per_platform).await?;
    let fill_secs = started.elapsed().as_secs_f64();
    let events = store.count_after(Checkpoint::START).await?;
    let token = ministry_token(store.as_ref(), "bench-memory").await?;
    drop(store);

    let port = free_port()?;
    let url = db.url();
    let mut server = bench_server(&std::env::current_exe()?, port)
        .env("DATABASE_URL", &url)
        .spawn()
        .context("start roster serve")?;
    let pid = server.id().context("server pid")?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let auth = format!("Bearer {token}");

    // Ready, and every read model caught up with the log.
    let started = Instant::now();
    loop {
        if let Some(status) = server.try_wait()? {
            anyhow::bail!("the server stopped before it was ready: {status}");
        }
        let caught_up = async {
            let r = http
                .get(format!("{base}/api/v1/status"))
                .header("authorization", &auth)
                .send()
                .await
                .ok()?;
            let v: serde_json::Value = r.json().await.ok()?;
            let projections = v["projections"].as_array()?;
            Some(!projections.is_empty() && projections.iter().all(|p| p["lag"] == 0))
        }
        .await;
        if caught_up == Some(true) {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "the server did not catch up within 30 minutes"
        );
        // Not more often: the status counts each model's lag in the log.
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let catch_up_secs = started.elapsed().as_secs_f64();
    let rss_ready_mib = rss_mib(pid).unwrap_or(0.0);

    // Load: `rate` service records per second over every platform still listed, 8 clients.
    let platforms: Vec<u64> = (0..opts.platforms).filter(|q| q % 17 != 0).collect();
    let platforms = Arc::new(platforms);
    let accepted = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(opts.seconds);
    let clients = 8u64;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, base, auth) = (http.clone(), base.clone(), auth.clone());
        let (platforms, accepted, refused, next) = (
            platforms.clone(),
            accepted.clone(),
            refused.clone(),
            next.clone(),
        );
        let per_client = Duration::from_secs_f64(clients as f64 / opts.rate.max(1) as f64);
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(per_client);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while Instant::now() < deadline {
                tick.tick().await;
                let n = next.fetch_add(1, Ordering::Relaxed);
                let q = platforms[(n % platforms.len() as u64) as usize];
                let body = serde_json::json!({
                    "command_id": uuid::Uuid::new_v4(),
                    "dated": roster_domain::clock::business_day(chrono::Utc::now()).to_string(),
                    "record": {"kind": "enterprise_served",
                               "enterprise_uscc": uscc_with_check(&format!("91110000{:09}", n % 900_000_000)),
                               "enterprise_name": format!("浸泡测试企业{n}"),
                               "contract_cny": 100000}
                });
                let ok = http
                    .post(format!("{base}/api/v1/platforms/mem-{q}/service"))
                    .header("authorization", &auth)
                    .json(&body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if ok {
                    accepted.fetch_add(1, Ordering::Relaxed);
                } else {
                    refused.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let load_started = Instant::now();
    // RSS every second, apart from the reads (a KPI read under load may take many seconds: a
    // sampler waiting for it saw two or three points in three minutes and missed the peaks).
    let sampler = {
        let (client, conn) = db.config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let head: i64 = client
                    .query_one("SELECT coalesce(max(global_position), 0) FROM events", &[])
                    .await?
                    .get(0);
                samples.push((
                    load_started.elapsed().as_secs_f64(),
                    head.max(0) as u64,
                    rss_mib(pid).unwrap_or(0.0),
                ));
            }
            Ok::<_, anyhow::Error>(samples)
        })
    };
    let mut reports = 0u64;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(5)).await;
        for path in ["/api/v1/reports/kpi", "/api/v1/roster"] {
            let r = http
                .get(format!("{base}{path}"))
                .header("authorization", &auth)
                .send()
                .await?;
            anyhow::ensure!(r.status().is_success(), "{path}: {}", r.status());
            r.bytes().await?;
            reports += 1;
        }
    }
    for t in tasks {
        t.await?;
    }
    let samples = sampler.await??;
    server.kill().await?;
    Ok(MemoryFigures {
        events,
        fill_secs,
        catch_up_secs,
        rss_ready_mib,
        samples,
        accepted: accepted.load(Ordering::Relaxed),
        refused: refused.load(Ordering::Relaxed),
        reports,
    })
}

pub fn print(f: &MemoryFigures, opts: MemoryOptions) {
    println!(
        "filled {} events over {} platforms in {:.0} s; the server caught up in {:.0} s; RSS then {:.0} MiB",
        f.events, opts.platforms, f.fill_secs, f.catch_up_secs, f.rss_ready_mib
    );
    println!(
        "load: {} service records accepted, {} refused, {} report/roster reads in {} s",
        f.accepted, f.refused, f.reports, opts.seconds
    );
    println!("{:>8} {:>10} {:>9}", "seconds", "position", "RSS MiB");
    let step = (f.samples.len() / 24).max(1);
    for (i, (t, events, rss)) in f.samples.iter().enumerate() {
        if i % step == 0 || i + 1 == f.samples.len() {
            println!("{t:>8.0} {events:>10} {rss:>9.0}");
        }
    }
    let peak = f.peak_mib();
    let growth = f.growth_last_half();
    println!(
        "peak RSS {peak:.0} MiB; target < 300 MB: {}; growth over the last half of the run {:+.1} %; flat (< 10 %): {}",
        if peak * 1.048_576 < 300.0 { "met" } else { "not met" },
        (growth - 1.0) * 100.0,
        if growth < 1.10 { "met" } else { "not met" }
    );
}
