//! `roster status`, `roster rebuild`, `roster dlq`, `roster query`: operations and reports from
//! the command line, on the same stores and read models as the server.

use anyhow::{bail, Context};
use chrono::NaiveDate;
use roster_domain::platform::Status;
use roster_domain::store::Checkpoint;
use roster_domain::values::{Domain, Province};
use roster_projections::local::{rebuild, LocalProjections};
use roster_projections::models;
use roster_projections::queries::{self, RosterQuery};
use serde::Serialize;

use crate::stores::Stores;

/// Whether a reader at `checkpoint` is stalled: behind the log, with the oldest event it has not
/// applied recorded longer than `limit` ago and its checkpoint unmoved for as long. A one-shot
/// command cannot watch the checkpoint the way the server does, so it asks the log how long the
/// reader has been leaving an event unapplied.
async fn stalled(
    stores: &Stores,
    checkpoint: Checkpoint,
    lag: u64,
    updated_at: Option<chrono::DateTime<chrono::Utc>>,
    limit: std::time::Duration,
) -> anyhow::Result<bool> {
    if lag == 0 {
        return Ok(false);
    }
    let limit = chrono::Duration::from_std(limit).unwrap_or(chrono::Duration::MAX);
    let now = chrono::Utc::now();
    if updated_at.is_some_and(|at| now - at < limit) {
        return Ok(false);
    }
    let oldest = stores.events.read_all_after(checkpoint, 1).await?;
    Ok(oldest
        .first()
        .is_some_and(|e| now - e.metadata.recorded_at >= limit))
}

/// Events, each reader's checkpoint, lag, dead letters and whether it is stalled (see
/// `roster serve --stall-after-seconds`), and the pending deadlines.
pub async fn status(
    stores: &Stores,
    stall_after: std::time::Duration,
) -> anyhow::Result<serde_json::Value> {
    let events = stores.events.count_after(Checkpoint::START).await?;
    let states = stores.models.states().await?;
    let dead = stores.models.dead_letters(None).await?;
    let mut projections = Vec::new();
    for name in models::NAMES
        .iter()
        .copied()
        .chain([roster_projections::POLICIES, "relay"])
    {
        let Some(st) = states.iter().find(|s| s.projection == name) else {
            if name != "relay" {
                let stalled = stalled(stores, Checkpoint::START, events, None, stall_after).await?;
                projections.push(serde_json::json!({"projection": name, "applied": 0, "lag": events, "dead_letters": 0, "stalled": stalled, "note": "never run"}));
            }
            continue;
        };
        let lag = stores.events.count_after(st.checkpoint).await?;
        projections.push(serde_json::json!({
            "projection": name,
            "checkpoint": st.checkpoint,
            "applied": st.applied,
            "lag": lag,
            "dead_letters": dead.iter().filter(|d| d.projection == name && d.replayed_at.is_none()).count(),
            "updated_at": st.updated_at,
            "stalled": stalled(stores, st.checkpoint, lag, st.updated_at, stall_after).await?,
        }));
    }
    let today = roster_domain::service::business_day(chrono::Utc::now());
    let pending = stores.deadlines.deadlines(true, usize::MAX >> 1).await?;
    let late = pending
        .iter()
        .filter(|d| d.deadline.fire_on < today)
        .count();
    Ok(serde_json::json!({
        "store": stores.description,
        "events": events,
        "projections": projections,
        "deadlines": {"pending": pending.len(), "late": late, "today": today, "list": pending},
    }))
}

/// Adds the broker's view of each queue (`broker`): ready messages, consumers as the broker
/// counts them, dead letters. A read model's or the policy consumer's queue without a consumer
/// is a problem: nothing applies what it announces.
pub fn with_queues(v: &mut serde_json::Value, queues: &[roster_rabbitmq::QueueStatus]) {
    v["broker"] = serde_json::json!(queues
        .iter()
        .map(|q| {
            let mut row = serde_json::json!({"queue": q.queue, "ready": q.messages, "consumers": q.consumers, "dead_letter_queue": q.dead_letter_queue, "dead_letters": q.dead_letters});
            if q.consumers == 0 {
                row["problem"] = "no consumer".into();
            }
            row
        })
        .collect::<Vec<_>>());
}

/// What `status` (with `with_queues`) found wrong, one line each: a stalled reader, a queue
/// without a consumer. `roster status` exits non-zero when there is any.
pub fn problems(v: &serde_json::Value) -> Vec<String> {
    let stalled = v["projections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["stalled"] == true)
        .map(|p| format!("{} is stalled", p["projection"].as_str().unwrap_or("")));
    let unconsumed = v["broker"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|q| q.get("problem").is_some())
        .map(|q| format!("{} has no consumer", q["queue"].as_str().unwrap_or("")));
    stalled.chain(unconsumed).collect()
}

pub fn print_status(v: &serde_json::Value) {
    println!(
        "{}: {} events",
        v["store"].as_str().unwrap_or(""),
        v["events"]
    );
    println!(
        "{:<10} {:>10} {:>8} {:>12} {:>24}",
        "reader", "applied", "lag", "dead letters", "updated"
    );
    for p in v["projections"].as_array().into_iter().flatten() {
        println!(
            "{:<10} {:>10} {:>8} {:>12} {:>24}{}",
            p["projection"].as_str().unwrap_or(""),
            p["applied"].to_string(),
            p["lag"].to_string(),
            p["dead_letters"].to_string(),
            p["updated_at"]
                .as_str()
                .unwrap_or(p["note"].as_str().unwrap_or("-")),
            if p["stalled"] == true {
                "  STALLED"
            } else {
                ""
            }
        );
    }
    for q in v["broker"].as_array().into_iter().flatten() {
        println!(
            "queue {:<24} ready {:>6}  consumers {}  dead letters {}{}",
            q["queue"].as_str().unwrap_or(""),
            q["ready"].to_string(),
            q["consumers"],
            q["dead_letters"],
            if q.get("problem").is_some() {
                "  NO CONSUMER"
            } else {
                ""
            }
        );
    }
    let d = &v["deadlines"];
    println!(
        "\nPending deadlines: {} ({} late as of {})",
        d["pending"],
        d["late"],
        d["today"].as_str().unwrap_or("")
    );
    let list = d["list"].as_array().cloned().unwrap_or_default();
    if !list.is_empty() {
        println!(
            "{:<12} {:<12} {:<18} {:<24} deadline",
            "fires on", "due on", "kind", "platform"
        );
    }
    for r in &list {
        println!(
            "{:<12} {:<12} {:<18} {:<24} {}",
            r["fire_on"].as_str().unwrap_or(""),
            r["due_on"].as_str().unwrap_or(""),
            r["kind"].as_str().unwrap_or(""),
            r["platform_id"].as_str().unwrap_or(""),
            r["deadline_id"].as_str().unwrap_or("")
        );
    }
}

pub async fn rebuild_all(
    stores: &Stores,
    only: Option<&str>,
    progress: bool,
) -> anyhow::Result<Vec<(String, u64, u64)>> {
    let targets: Vec<_> = match only {
        Some(name) => vec![models::by_name(name).with_context(|| {
            format!(
                "no projection '{name}' (one of {})",
                models::NAMES.join(", ")
            )
        })?],
        None => models::all(),
    };
    let total = stores.events.count_after(Checkpoint::START).await?;
    let mut out = Vec::new();
    for p in targets {
        let bar = if progress {
            indicatif::ProgressBar::new(total)
        } else {
            indicatif::ProgressBar::hidden()
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(&format!(
                "{:<10} {{bar:40}} {{pos}}/{{len}} events ({{per_sec}})",
                p.name()
            ))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let started = std::time::Instant::now();
        let done = rebuild(
            stores.events.as_ref(),
            stores.models.as_ref(),
            p.as_ref(),
            2000,
            |n| bar.set_position(n),
        )
        .await?;
        bar.finish_and_clear();
        let secs = started.elapsed().as_secs_f64();
        if progress {
            println!(
                "{:<10} rebuilt: {} events applied, {} dead-lettered, {:.1} s ({:.0} events/s)",
                p.name(),
                done.applied,
                done.dead_lettered,
                secs,
                (done.applied + done.dead_lettered) as f64 / secs.max(1e-9)
            );
        }
        out.push((p.name().to_string(), done.applied, done.dead_lettered));
    }
    Ok(out)
}

/// Dead-lettered events are retried by rebuilding their projection in log order (after the
/// cause was fixed); those that now apply are marked replayed.
pub async fn dlq_replay(stores: &Stores, projection: &str) -> anyhow::Result<(usize, usize)> {
    let before = stores.models.dead_letters(Some(projection)).await?;
    let pending: Vec<_> = before
        .into_iter()
        .filter(|d| d.replayed_at.is_none())
        .collect();
    rebuild_all(stores, Some(projection), false).await?;
    let still: Vec<_> = stores.models.dead_letters(Some(projection)).await?;
    let mut replayed = 0;
    for d in &pending {
        if !still.iter().any(|s| s.event_id == d.event_id) {
            replayed += 1;
        }
    }
    Ok((replayed, still.len()))
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
    /// A workbook, one sheet per view (`report kpi` with --output).
    Xlsx,
}

fn emit<T: Serialize>(rows: &[T], format: Format, table: impl Fn(&[T])) -> anyhow::Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(rows)?),
        Format::Csv => print!("{}", queries::to_csv(rows)?),
        Format::Table => table(rows),
        Format::Xlsx => bail!("XLSX is offered by `roster report kpi`; use csv or json here"),
    }
    Ok(())
}

async fn docs<D: serde::de::DeserializeOwned>(
    stores: &Stores,
    projection: &str,
) -> anyhow::Result<Vec<D>> {
    let local = LocalProjections::new(stores.events.clone(), stores.models.clone(), models::all());
    local.catch_up_all().await?;
    stores
        .models
        .scan(projection, "")
        .await?
        .into_iter()
        .map(|(_, v)| serde_json::from_value(v).map_err(anyhow::Error::from))
        .collect()
}

pub struct RosterArgs {
    pub as_of: Option<NaiveDate>,
    pub province: Option<String>,
    pub domain: Option<String>,
    pub status: Option<String>,
}

pub async fn query_roster(stores: &Stores, a: RosterArgs, format: Format) -> anyhow::Result<()> {
    let q = RosterQuery {
        as_of: a.as_of,
        province: match a.province.as_deref() {
            Some(p) => {
                Some(Province::parse(p).with_context(|| format!("unknown province code '{p}'"))?)
            }
            None => None,
        },
        domain: match a.domain.as_deref() {
            Some(d) => Some(Domain::parse(d).with_context(|| format!("unknown domain '{d}'"))?),
            None => None,
        },
        status: match a.status.as_deref() {
            Some(s) => Some(
                serde_json::from_value::<Status>(serde_json::json!(s))
                    .with_context(|| format!("unknown status '{s}'"))?,
            ),
            None => None,
        },
        ..RosterQuery::default()
    };
    let all = docs(stores, "roster").await?;
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let rows = queries::roster(&all, &q, today);
    emit(&rows, format, |rows| {
        let header = [
            "platform",
            "prov.",
            "status",
            "listed on",
            "review due",
            "stars",
            "name",
        ];
        println!(
            "{:<18} {:<6} {:<13} {:<11} {:<11} {:>5}  {}",
            header[0], header[1], header[2], header[3], header[4], header[5], header[6]
        );
        for r in rows {
            println!(
                "{:<18} {:<6} {:<13} {:<11} {:<11} {:>5}  {}",
                r.platform_id,
                r.province,
                r.status.as_str(),
                r.listed_on.map(|d| d.to_string()).unwrap_or_default(),
                r.next_review_due.map(|d| d.to_string()).unwrap_or_default(),
                r.stars.map(|s| "★".repeat(s as usize)).unwrap_or_default(),
                r.platform_name
            );
        }
        println!(
            "{} platform(s) as of {}",
            rows.len(),
            q.as_of.unwrap_or(today)
        );
    })
}

pub async fn query_funnel(
    stores: &Stores,
    round: Option<String>,
    as_of: Option<NaiveDate>,
    format: Format,
) -> anyhow::Result<()> {
    let all = docs(stores, "funnel").await?;
    let as_of =
        as_of.unwrap_or_else(|| (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive());
    let rows = queries::funnel(&all, round.as_deref(), as_of);
    emit(&rows, format, |rows| {
        println!(
            "{:<6} {:<6} {:>9} {:>8} {:>11} {:>9} {:>9} {:>6} {:>8} {:>12} {:>9}",
            "round",
            "prov.",
            "submitted",
            "endorsed",
            "recommended",
            "eval.pass",
            "on notice",
            "listed",
            "rejected",
            "not selected",
            "withdrawn"
        );
        for r in rows {
            println!(
                "{:<6} {:<6} {:>9} {:>8} {:>11} {:>9} {:>9} {:>6} {:>8} {:>12} {:>9}",
                r.round_id,
                r.province,
                r.submitted,
                r.endorsed,
                r.recommended,
                r.evaluated_pass,
                r.on_notice,
                r.listed,
                r.rejected,
                r.not_selected,
                r.withdrawn
            );
        }
    })
}

pub async fn query_reviews(
    stores: &Stores,
    as_of: Option<NaiveDate>,
    window_days: u32,
    format: Format,
) -> anyhow::Result<()> {
    let all = docs(stores, "reviews").await?;
    let as_of =
        as_of.unwrap_or_else(|| (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive());
    let rows = queries::reviews(&all, as_of, window_days);
    emit(&rows, format, |rows| {
        for r in rows {
            println!(
                "{:<18} {:<6} {:<24} {:<14} due {}  {:?}",
                r.platform_id,
                r.province,
                r.review_id.as_deref().unwrap_or("(not yet opened)"),
                r.trigger,
                r.due_on,
                r.state
            );
        }
    })
}

pub async fn query_incidents(
    stores: &Stores,
    as_of: Option<NaiveDate>,
    format: Format,
) -> anyhow::Result<()> {
    if format == Format::Csv {
        bail!("the incident register is available as table or json");
    }
    let all = docs(stores, "incidents").await?;
    let as_of =
        as_of.unwrap_or_else(|| (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive());
    let rows = queries::incidents(&all, as_of);
    emit(&rows, format, |rows| {
        for r in rows {
            println!(
                "{:<18} {:<6} {:<16} {:?} occurred {} loss {} review {}",
                r.platform_id,
                r.province,
                r.incident.incident_id,
                r.incident.kind,
                r.incident.occurred_on,
                r.incident
                    .assessed_loss_cny
                    .or(r.incident.reported_loss_cny)
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "unknown".into()),
                r.incident.review_id.as_deref().unwrap_or("-")
            );
        }
    })
}

pub async fn query_timeline(stores: &Stores, platform_id: &str) -> anyhow::Result<()> {
    LocalProjections::new(stores.events.clone(), stores.models.clone(), models::all())
        .catch_up_all()
        .await?;
    let doc = models::timeline::read(stores.models.as_ref(), platform_id).await?;
    if doc.entries.is_empty() {
        bail!("no platform {platform_id}")
    }
    for e in doc.entries {
        println!(
            "{}  v{:<3} {:<10} {:<28} {}",
            e.business_date,
            e.version,
            e.actor.role.as_str(),
            e.actor.id,
            e.summary
        );
    }
    Ok(())
}

pub async fn print_audit(stores: &Stores, limit: usize, format: Format) -> anyhow::Result<()> {
    let entries = stores.events.audit_log(limit).await?;
    if format != Format::Table {
        return emit(&entries, Format::Json, |_| {});
    }
    for a in entries {
        println!(
            "{} {:<8} {:<9} {:<34} {:<24} {:<30} {}",
            a.recorded_at.format("%Y-%m-%d %H:%M:%S"),
            a.outcome,
            a.actor.role.as_str(),
            a.actor.id,
            a.command_type,
            a.target.as_deref().unwrap_or("-"),
            a.error_code
                .map(|c| format!("{c}: {}", a.detail.unwrap_or_default()))
                .unwrap_or_default()
        );
    }
    Ok(())
}
