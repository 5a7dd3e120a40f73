//! `roster bench history`: does applying an event cost the same whatever the history before it?
//! For platforms with 10, 100, 1,000 and 10,000 events each (the same total number of events in
//! every case, so only the length of each platform's history changes), every read model is
//! rebuilt from the log, and then events arriving live, one per commit round-robin over the
//! platforms, are applied one per transaction, as a consumer at a low rate sees them. The rates
//! of the four cases should be within 20 % of each other.

use std::sync::Arc;
use std::time::Instant;

use roster_domain::store::{Checkpoint, EventStore, ExpectedVersion};
use roster_postgres::PgStore;
use roster_projections::runner::catch_up;

use crate::bench::kpi::platform_events;
use crate::bench::{append_to_streams, BenchDb};

#[derive(Debug, Clone)]
pub struct HistoryCase {
    pub per_platform: u64,
    pub platforms: u64,
    /// Events in the log when the rebuild ran.
    pub events: u64,
    /// (read model, rebuild events/s, live events/s)
    pub models: Vec<(String, f64, f64)>,
    /// All read models: events/s over the summed time of each.
    pub rebuild_all: f64,
    pub live_all: f64,
}

/// One case per entry of `per_platform`, each on a fresh database with `events` events in all,
/// then `live` events applied one at a time.
pub async fn run(
    admin_url: &str,
    events: u64,
    live: u64,
    per_platform: &[u64],
) -> anyhow::Result<Vec<HistoryCase>> {
    let mut out = Vec::new();
    for &p in per_platform {
        out.push(case(admin_url, events, live, p.max(3)).await?);
    }
    Ok(out)
}

async fn case(
    admin_url: &str,
    events: u64,
    live: u64,
    per_platform: u64,
) -> anyhow::Result<HistoryCase> {
    let db = BenchDb::create(admin_url).await?;
    let result = async {
        let store = Arc::new(PgStore::with_config(db.config.clone()).await?);
        store.migrate().await?;
        let platforms = (events / per_platform).max(1);
        let live_each = live.div_ceil(platforms);
        // Each platform's whole history, of which the first `per_platform` events are filled
        // and the rest arrive live.
        let mut histories: Vec<(String, Vec<_>)> = (0..platforms)
            .map(|q| {
                (
                    format!("platform-hist-{q}"),
                    platform_events(q, per_platform + live_each),
                )
            })
            .collect();
        let mut tails: Vec<Vec<_>> = histories
            .iter_mut()
            .map(|(_, h)| h.split_off((per_platform as usize).min(h.len())))
            .collect();
        let per_commit = (2000 / per_platform).max(1) as usize;
        for chunk in histories.chunks(per_commit) {
            let streams = chunk
                .iter()
                .map(|(id, h)| (id.clone(), ExpectedVersion::NoStream, h.clone()))
                .collect();
            append_to_streams(store.as_ref(), "bench-history", streams).await?;
        }
        let filled = store.count_after(Checkpoint::START).await?;

        let mut rebuild_secs = Vec::new();
        for m in roster_projections::models::all() {
            let started = Instant::now();
            roster_projections::local::rebuild(
                store.as_ref(),
                store.as_ref(),
                m.as_ref(),
                2000,
                |_| {},
            )
            .await?;
            rebuild_secs.push(started.elapsed().as_secs_f64());
        }

        // Live: one event per commit, round-robin over the platforms.
        let mut versions: Vec<u64> = histories.iter().map(|(_, h)| h.len() as u64).collect();
        for t in &mut tails {
            t.reverse();
        }
        let mut appended = 0u64;
        'append: loop {
            let mut any = false;
            for (q, tail) in tails.iter_mut().enumerate() {
                if appended >= live {
                    break 'append;
                }
                let Some(e) = tail.pop() else { continue };
                any = true;
                append_to_streams(
                    store.as_ref(),
                    "bench-history-live",
                    vec![(
                        histories[q].0.clone(),
                        ExpectedVersion::Exact(versions[q]),
                        vec![e],
                    )],
                )
                .await?;
                versions[q] += 1;
                appended += 1;
            }
            if !any {
                break;
            }
        }
        let mut models = Vec::new();
        for (m, rebuilt) in roster_projections::models::all().iter().zip(&rebuild_secs) {
            let started = Instant::now();
            let progress = catch_up(
                store.as_ref(),
                store.as_ref(),
                m.as_ref(),
                m.name(),
                None,
                1,
            )
            .await?;
            let live_secs = started.elapsed().as_secs_f64();
            anyhow::ensure!(
                progress.dead_lettered == 0,
                "{}: {} events dead-lettered",
                m.name(),
                progress.dead_lettered
            );
            models.push((
                m.name().to_string(),
                filled as f64 / rebuilt,
                appended as f64 / live_secs,
                live_secs,
            ));
        }
        let rebuild_total: f64 = rebuild_secs.iter().sum();
        let live_total: f64 = models.iter().map(|m| m.3).sum();
        Ok::<_, anyhow::Error>(HistoryCase {
            per_platform,
            platforms,
            events: filled,
            rebuild_all: filled as f64 / rebuild_total,
            live_all: appended as f64 / live_total,
            models: models.into_iter().map(|(n, r, l, _)| (n, r, l)).collect(),
        })
    }
    .await;
    db.drop_now().await?;
    result
}

/// The smallest rate as a share of the largest: 1.0 when all are equal.
pub fn spread(rates: impl IntoIterator<Item = f64>) -> f64 {
    let rates: Vec<f64> = rates.into_iter().collect();
    let max = rates.iter().copied().fold(f64::MIN, f64::max);
    let min = rates.iter().copied().fold(f64::MAX, f64::min);
    if max > 0.0 {
        min / max
    } else {
        1.0
    }
}

pub fn print(cases: &[HistoryCase]) {
    println!(
        "{:>12} {:>9} {:>9}  {:>16} {:>16}",
        "events/platf", "platforms", "events", "rebuild (all) /s", "live (all) /s"
    );
    for c in cases {
        println!(
            "{:>12} {:>9} {:>9}  {:>16.0} {:>16.0}",
            c.per_platform, c.platforms, c.events, c.rebuild_all, c.live_all
        );
    }
    let Some(first) = cases.first() else { return };
    println!("per read model, events/s (rebuild | live, one event per transaction):");
    print!("{:>12}", "events/platf");
    for (name, _, _) in &first.models {
        print!(" {name:>19}");
    }
    println!();
    for c in cases {
        print!("{:>12}", c.per_platform);
        for (_, r, l) in &c.models {
            print!(" {:>9.0} | {:>7.0}", r, l);
        }
        println!();
    }
    let verdict = |share: f64| if share >= 0.8 { "met" } else { "not met" };
    let rebuild = spread(cases.iter().map(|c| c.rebuild_all));
    let live = spread(cases.iter().map(|c| c.live_all));
    println!(
        "slowest case as a share of the fastest: rebuild {rebuild:.2}, live {live:.2}; target >= 0.80 (within 20 %): rebuild {}, live {}",
        verdict(rebuild),
        verdict(live)
    );
    for (i, (name, _, _)) in first.models.iter().enumerate() {
        let r = spread(cases.iter().map(|c| c.models[i].1));
        let l = spread(cases.iter().map(|c| c.models[i].2));
        println!("  {name:<10} rebuild {r:.2}, live {l:.2}");
    }
}
