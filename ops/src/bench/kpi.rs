//! `roster bench kpi`: how long a KPI report as of a date takes over a large history, read from
//! the `kpi` read model, against the ceiling-free alternative of recomputing it from the raw
//! log (read every event, fold, report) in the same run.
//!
//! The history: `platforms` listed platforms (2025-12-01 … 2026-11-30), each with service
//! records spread over 2026-2027 (served enterprises from a shared pool so K-2 deduplicates,
//! products whose names repeat across platforms in other width, industrialized projects,
//! spun-off enterprises), one in fifty retracted, and some delistings.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{Days, NaiveDate};
use roster_domain::commands::{DelistReason, ServiceRecord};
use roster_domain::events::PlatformEvent;
use roster_domain::samples::{date, form_json, sample_city, uscc_with_check};
use roster_domain::store::{Checkpoint, EventStore};
use roster_domain::values::{Cny, Domain, Uscc};
use roster_postgres::PgStore;
use roster_projections::kpi::{self, Axes, ReportOptions};
use roster_projections::models;
use std::sync::Arc;
use uuid::Uuid;

use crate::bench::BenchDb;

pub struct KpiFigures {
    pub events: u64,
    pub platforms: u64,
    pub fill_secs: f64,
    pub rebuild_secs: f64,
    /// (label, milliseconds per report: median of the runs, slowest run)
    pub reports: Vec<(String, f64, f64)>,
    /// Recomputing one report by reading and folding the raw log, seconds.
    pub from_log_secs: f64,
    /// The headline values of both ways, which must agree.
    pub agree: bool,
}

fn uscc(prefix: &str, n: u64) -> Uscc {
    Uscc::parse(&uscc_with_check(&format!("{prefix}{n:09}"))).expect("valid")
}

const DOMAINS: [&str; 9] = [
    "food_additives",
    "biopharma",
    "cosmetics",
    "chemicals",
    "energy",
    "enzymes",
    "lignocellulose",
    "c1_feedstock",
    "plant_chassis",
];
const PROVINCES: [&str; 8] = ["11", "31", "32", "33", "37", "42", "44", "51"];

/// Appends `platforms` platforms of `per_platform` events each (`platform_events`) as streams
/// `platform-<name>-<n>`, about 2,000 events per commit.
pub async fn fill_platforms(
    store: &dyn EventStore,
    name: &str,
    platforms: u64,
    per_platform: u64,
) -> anyhow::Result<()> {
    let per_commit = (2000 / per_platform.max(1)).max(1);
    let mut q = 0;
    while q < platforms {
        let streams = (q..(q + per_commit).min(platforms))
            .map(|p| {
                (
                    format!("platform-{name}-{p}"),
                    roster_domain::store::ExpectedVersion::NoStream,
                    platform_events(p, per_platform),
                )
            })
            .collect();
        crate::bench::append_to_streams(store, &format!("bench-{name}"), streams).await?;
        q += per_commit;
    }
    Ok(())
}

pub fn platform_events(q: u64, per_platform: u64) -> Vec<(NaiveDate, PlatformEvent)> {
    let province = PROVINCES[(q % 8) as usize];
    let applicant = uscc_with_check(&format!("91{province}0100{:09}", 10_000 + q));
    let domains = [DOMAINS[(q % 9) as usize], DOMAINS[((q / 9) % 9) as usize]];
    let form = serde_json::from_value(form_json(
        &applicant,
        province,
        sample_city(province),
        &domains,
    ))
    .expect("form");
    let listed_on = date("2025-12-01") + Days::new(q % 365);
    let mut out = vec![
        (
            date("2025-07-01"),
            PlatformEvent::ApplicationSubmitted {
                round_id: "2025".into(),
                cycle: 1,
                submitted_on: date("2025-07-01"),
                form,
            },
        ),
        (listed_on, PlatformEvent::PlatformListed { listed_on }),
    ];
    let mut ids = Vec::new();
    for i in 2..per_platform {
        let dated = listed_on + Days::new((i * 7 + q) % 700);
        if i % 50 == 0 && !ids.is_empty() {
            out.push((
                dated,
                PlatformEvent::ServiceRetracted {
                    service_id: ids[ids.len() / 2],
                    reason: "核查不实".into(),
                },
            ));
            continue;
        }
        let record = match i % 10 {
            0..=4 => ServiceRecord::EnterpriseServed {
                enterprise_uscc: uscc("91440300", (q * 31 + i) % 60_000),
                enterprise_name: "受服务企业".into(),
                contract_cny: Cny(300_000),
            },
            5..=7 => ServiceRecord::ProductIncubated {
                product_name: if i % 20 == 5 {
                    format!("ＰＨＡ-{}", i % 97)
                } else {
                    format!("pha-{}", (q * 13 + i) % 3_000)
                },
                owner_uscc: uscc("91320100", q % 500),
                domain: Domain::Enzymes,
            },
            8 => ServiceRecord::ProjectIndustrialized {
                project: format!("产业化项目{i}"),
                revenue_cny: Cny(5_000_000),
            },
            _ => ServiceRecord::EnterpriseSpunOff {
                enterprise_uscc: uscc("91330100", q * 1000 + i),
                enterprise_name: "衍生企业".into(),
                valuation_cny: Cny(20_000_000),
            },
        };
        let id = Uuid::new_v4();
        ids.push(id);
        out.push((
            dated,
            PlatformEvent::ServiceRecorded {
                service_id: id,
                dated,
                record,
            },
        ));
    }
    if q % 17 == 0 {
        let on = listed_on + Days::new(400);
        out.push((
            on,
            PlatformEvent::PlatformDelisted {
                delisted_on: on,
                reason: DelistReason::InsufficientService,
                area: None,
                cause: None,
                details: None,
            },
        ));
    }
    out
}

async fn fill(store: &dyn EventStore, platforms: u64, per_platform: u64) -> anyhow::Result<()> {
    let per_commit = (2000 / per_platform.max(1)).max(1);
    let mut q = 0;
    while q < platforms {
        let streams = (q..(q + per_commit).min(platforms))
            .map(|p| {
                (
                    format!("platform-kpi-{p}"),
                    platform_events(p, per_platform),
                )
            })
            .collect();
        crate::bench::append_streams(store, "bench-kpi", streams).await?;
        q += per_commit;
    }
    Ok(())
}

fn headline(r: &kpi::KpiReport) -> Vec<u64> {
    r.values.iter().map(|v| v.value).collect()
}

pub async fn run(
    admin_url: &str,
    events: u64,
    per_platform: u64,
    runs: usize,
) -> anyhow::Result<KpiFigures> {
    let db = BenchDb::create(admin_url).await?;
    let result = async {
        let store = Arc::new(PgStore::with_config(db.config.clone()).await?);
        store.migrate().await?;
        let platforms = (events / per_platform).max(1);
        let started = Instant::now();
        fill(store.as_ref(), platforms, per_platform).await?;
        let fill_secs = started.elapsed().as_secs_f64();
        let total = store.count_after(Checkpoint::START).await?;
        let model = models::by_name(models::kpi::NAME).expect("kpi model");
        let started = Instant::now();
        roster_projections::local::rebuild(
            store.as_ref(),
            store.as_ref(),
            model.as_ref(),
            2000,
            |_| {},
        )
        .await?;
        let rebuild_secs = started.elapsed().as_secs_f64();

        let cases: [(&str, NaiveDate, Option<chrono::DateTime<chrono::Utc>>); 3] = [
            ("as of 2026-06-30", date("2026-06-30"), None),
            ("as of 2027-12-31", date("2027-12-31"), None),
            (
                "as of 2027-12-31, known at now",
                date("2027-12-31"),
                Some(chrono::Utc::now()),
            ),
        ];
        let mut reports = Vec::new();
        let mut last = None;
        for (label, d, t) in cases {
            // Cold: a fresh cache each time, so the documents are read from the store.
            let mut cold = Vec::new();
            for _ in 0..runs.max(1) {
                let started = Instant::now();
                let loaded = kpi::Cache::default().load(store.as_ref()).await?;
                let r = kpi::report(
                    &loaded.platforms,
                    &loaded.target_sets,
                    Axes::new(d, t),
                    &ReportOptions::default(),
                );
                cold.push(started.elapsed().as_secs_f64() * 1000.0);
                last = Some(r);
            }
            cold.sort_by(f64::total_cmp);
            reports.push((
                format!("{label} (read from the store)"),
                cold[cold.len() / 2],
                *cold.last().expect("a run"),
            ));
            // Warm: the server's cache, the read model unchanged since the last report.
            let cache = kpi::Cache::default();
            cache.load(store.as_ref()).await?;
            let mut warm = Vec::new();
            for _ in 0..runs.max(1) {
                let started = Instant::now();
                let loaded = cache.load(store.as_ref()).await?;
                kpi::report(
                    &loaded.platforms,
                    &loaded.target_sets,
                    Axes::new(d, t),
                    &ReportOptions::default(),
                );
                warm.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            warm.sort_by(f64::total_cmp);
            reports.push((
                format!("{label} (server cache)"),
                warm[warm.len() / 2],
                *warm.last().expect("a run"),
            ));
        }

        // The alternative: read the whole log and fold it, then report.
        let started = Instant::now();
        let mut docs: BTreeMap<String, Option<serde_json::Value>> = BTreeMap::new();
        let mut from = Checkpoint::START;
        loop {
            let batch = store.read_all_after(from, 5000).await?;
            let Some(e) = batch.last() else { break };
            from = e.checkpoint();
            model.apply_all(&batch, &mut docs);
        }
        let (platforms_docs, _) =
            models::kpi::assemble(docs.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))))
                .map_err(anyhow::Error::msg)?;
        let from_log = kpi::report(
            &platforms_docs,
            &[],
            Axes::new(date("2027-12-31"), Some(chrono::Utc::now())),
            &ReportOptions::default(),
        );
        let from_log_secs = started.elapsed().as_secs_f64();
        let agree = last.as_ref().map(headline) == Some(headline(&from_log));
        Ok::<_, anyhow::Error>(KpiFigures {
            events: total,
            platforms,
            fill_secs,
            rebuild_secs,
            reports,
            from_log_secs,
            agree,
        })
    }
    .await;
    db.drop_now().await?;
    result
}
