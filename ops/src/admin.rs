//! `roster status`, `roster rebuild`, `roster dlq`, `roster query`: operations and reports from
//! the command line, on the same stores and read models as the server.

use anyhow::{bail, Context};
use chrono::NaiveDate;
use roster_domain::platform::Status;
use roster_domain::store::Checkpoint;
use roster_domain::values::{Domain, Province};
use roster_projections::export;
use roster_projections::local::rebuild;
use roster_projections::models;
use roster_projections::queries::{self, RosterQuery};
use serde::Serialize;

use roster_app::{App, Backends};
use roster_domain::actor::{Actor, Role};

/// What `roster status` reports: the application's status, the store it read, and with
/// `--amqp-url` the broker's view of each queue; `problems` is what is wrong, one line each.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub store: String,
    #[serde(flatten)]
    pub status: roster_app::Status,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub broker: Vec<QueueRow>,
    pub problems: Vec<String>,
}

/// A queue as the broker counts it.
#[derive(Debug, Serialize)]
pub struct QueueRow {
    pub queue: String,
    pub ready: u32,
    pub consumers: u32,
    pub dead_letter_queue: String,
    pub dead_letters: u32,
    /// `no consumer`: nothing applies what the queue announces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<&'static str>,
}

/// Events, each reader's checkpoint, lag, dead letters and whether it is stalled (see
/// `roster serve --stall-after-seconds`), and the pending deadlines.
pub async fn status(app: &App) -> anyhow::Result<StatusReport> {
    let status = app.status().await.map_err(anyhow::Error::msg)?;
    let problems = status.problems();
    Ok(StatusReport {
        store: app.backends().description.clone(),
        status,
        broker: Vec::new(),
        problems,
    })
}

/// Adds the broker's view of each queue: ready messages, consumers as the broker counts them,
/// dead letters. A read model's or the policy consumer's queue without a consumer is a problem:
/// nothing applies what it announces.
pub fn with_queues(report: &mut StatusReport, queues: &[roster_rabbitmq::QueueStatus]) {
    for q in queues {
        let problem = (q.consumers == 0).then_some("no consumer");
        if problem.is_some() {
            report.problems.push(format!("{} has no consumer", q.queue));
        }
        report.broker.push(QueueRow {
            queue: q.queue.clone(),
            ready: q.messages,
            consumers: q.consumers,
            dead_letter_queue: q.dead_letter_queue.clone(),
            dead_letters: q.dead_letters,
            problem,
        });
    }
}

/// What the report found wrong, one line each: a stalled reader, a queue without a consumer.
/// `roster status` exits non-zero when there is any.
pub fn problems(report: &StatusReport) -> Vec<String> {
    report.problems.clone()
}

/// The heads of `keys`, in the words of the downloads and the pages: Chinese over English.
pub fn heads(columns: &[export::Column], keys: &[&str]) -> Vec<String> {
    keys.iter()
        .map(|k| {
            let c = export::term(columns, k);
            format!("{}\n{}", c.zh, c.en)
        })
        .collect()
}

/// A plain table for a terminal: no borders, columns as wide as their widest cell (CJK counted
/// double), `right` columns aligned right.
pub fn table<S: AsRef<str>>(header: &[S], right: &[usize]) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header.iter().map(|h| h.as_ref().to_string()));
    for i in right {
        if let Some(c) = t.column_mut(*i) {
            c.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    t
}

pub fn print_status(r: &StatusReport) {
    let v = &r.status;
    println!("{}: {} events", r.store, v.events);
    let mut readers = table(
        &["reader", "applied", "lag", "dead letters", "updated", ""],
        &[1, 2, 3],
    );
    for p in &v.projections {
        readers.add_row(vec![
            p.projection.clone(),
            p.applied.to_string(),
            p.lag.to_string(),
            p.dead_letters.to_string(),
            match (p.updated_at, p.never_run) {
                (Some(t), _) => t.to_rfc3339(),
                (None, true) => "never run".into(),
                (None, false) => "-".into(),
            },
            if p.stalled { "STALLED" } else { "" }.into(),
        ]);
    }
    if let (Some(c), Some(lag)) = (v.relay_checkpoint, v.relay_lag) {
        readers.add_row(vec![
            roster_app::status::RELAY.to_string(),
            c.global_position.to_string(),
            lag.to_string(),
            "-".into(),
            "-".into(),
            if v.relay_stalled { "STALLED" } else { "" }.into(),
        ]);
    }
    if let (Some(c), Some(lag)) = (v.mail_checkpoint, v.mail_lag) {
        readers.add_row(vec![
            roster_app::mailer::MAILER.to_string(),
            c.global_position.to_string(),
            lag.to_string(),
            "-".into(),
            "-".into(),
            if v.mail_stalled { "STALLED" } else { "" }.into(),
        ]);
    }
    for w in &v.webhooks {
        readers.add_row(vec![
            roster_app::webhooks::cursor_model(w.webhook.webhook_id),
            "-".into(),
            w.lag.to_string(),
            "-".into(),
            "-".into(),
            if w.failures > 0 {
                format!("FAILING ({} attempts)", w.failures)
            } else {
                String::new()
            },
        ]);
    }
    println!("{readers}");
    if !r.broker.is_empty() {
        let mut queues = table(
            &["queue", "ready", "consumers", "dead letters", ""],
            &[1, 2, 3],
        );
        for q in &r.broker {
            queues.add_row(vec![
                q.queue.clone(),
                q.ready.to_string(),
                q.consumers.to_string(),
                q.dead_letters.to_string(),
                if q.problem.is_some() {
                    "NO CONSUMER"
                } else {
                    ""
                }
                .into(),
            ]);
        }
        println!("\n{queues}");
    }
    let d = &v.deadlines;
    println!(
        "\nPending deadlines: {} ({} late as of {})",
        d.pending, d.late, d.today
    );
    if !d.next.is_empty() {
        let mut deadlines = table(&["fires on", "due on", "kind", "platform", "deadline"], &[]);
        for r in &d.next {
            deadlines.add_row(vec![
                r.deadline.fire_on.to_string(),
                r.deadline.due_on.to_string(),
                serde_json::to_value(r.deadline.kind)
                    .ok()
                    .and_then(|k| k.as_str().map(str::to_string))
                    .unwrap_or_default(),
                r.deadline.platform_id.clone(),
                r.deadline.deadline_id.clone(),
            ]);
        }
        println!("{deadlines}");
    }
    if d.pending as usize > d.next.len() {
        println!("… and {} more", d.pending as usize - d.next.len());
    }
}

pub async fn rebuild_all(
    stores: &Backends,
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
pub async fn dlq_replay(stores: &Backends, projection: &str) -> anyhow::Result<(usize, usize)> {
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

/// Who reads the reports of the command line: the operator on the server host, with an
/// analyst's national view.
pub fn host_reader() -> Actor {
    Actor {
        id: "cli:operator".into(),
        role: Role::Analyst,
        jurisdiction: None,
    }
}

/// `roster report roster`'s arguments.
#[derive(clap::Args)]
pub struct RosterArgs {
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    #[arg(long)]
    pub province: Option<String>,
    #[arg(long)]
    pub domain: Option<String>,
    #[arg(long)]
    pub status: Option<String>,
}

pub async fn query_roster(app: &App, a: RosterArgs, format: Format) -> anyhow::Result<()> {
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
            Some(s) => Some(Status::parse(s).with_context(|| format!("unknown status '{s}'"))?),
            None => None,
        },
        ..RosterQuery::default()
    };
    let (as_of, rows) = app
        .roster(&host_reader(), &q)
        .await
        .map_err(anyhow::Error::msg)?;
    emit(&rows, format, |rows| {
        let mut t = table(
            &heads(
                &export::ROSTER_COLUMNS,
                &[
                    "platform_id",
                    "province",
                    "status_name",
                    "listed_on",
                    "next_review_due",
                    "stars",
                    "platform_name",
                ],
            ),
            &[5],
        );
        for r in rows {
            t.add_row(vec![
                r.platform_id.clone(),
                r.province.clone(),
                r.status.name_zh().to_string(),
                r.listed_on.map(|d| d.to_string()).unwrap_or_default(),
                r.next_review_due.map(|d| d.to_string()).unwrap_or_default(),
                r.stars.map(|s| "★".repeat(s as usize)).unwrap_or_default(),
                r.platform_name.clone(),
            ]);
        }
        println!("{t}");
        println!("{} platform(s) as of {as_of}", rows.len());
    })
}

pub async fn query_funnel(
    app: &App,
    round: Option<String>,
    as_of: Option<NaiveDate>,
    format: Format,
) -> anyhow::Result<()> {
    let as_of = as_of.unwrap_or_else(|| app.today());
    let rows = app
        .funnel(&host_reader(), round.as_deref(), as_of)
        .await
        .map_err(anyhow::Error::msg)?;
    emit(&rows, format, |rows| {
        let keys: Vec<&str> = export::FUNNEL_COLUMNS.iter().map(|c| c.key).collect();
        let mut t = table(
            &heads(&export::FUNNEL_COLUMNS, &keys),
            &[2, 3, 4, 5, 6, 7, 8, 9, 10],
        );
        for r in rows {
            t.add_row(vec![
                r.round_id.clone(),
                r.province.clone(),
                r.submitted.to_string(),
                r.endorsed.to_string(),
                r.recommended.to_string(),
                r.evaluated_pass.to_string(),
                r.on_notice.to_string(),
                r.listed.to_string(),
                r.rejected.to_string(),
                r.not_selected.to_string(),
                r.withdrawn.to_string(),
            ]);
        }
        println!("{t}");
    })
}

pub async fn query_reviews(
    app: &App,
    as_of: Option<NaiveDate>,
    window_days: u32,
    format: Format,
) -> anyhow::Result<()> {
    let as_of = as_of.unwrap_or_else(|| app.today());
    let rows = app
        .reviews(&host_reader(), as_of, window_days)
        .await
        .map_err(anyhow::Error::msg)?;
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
    app: &App,
    as_of: Option<NaiveDate>,
    format: Format,
) -> anyhow::Result<()> {
    if format == Format::Csv {
        bail!("the incident register is available as table or json");
    }
    let as_of = as_of.unwrap_or_else(|| app.today());
    let rows = app
        .incidents(&host_reader(), as_of)
        .await
        .map_err(anyhow::Error::msg)?;
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

pub async fn query_timeline(app: &App, platform_id: &str) -> anyhow::Result<()> {
    let doc = app
        .platform_timeline(platform_id)
        .await
        .map_err(anyhow::Error::msg)?;
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

pub async fn print_audit(stores: &Backends, limit: usize, format: Format) -> anyhow::Result<()> {
    let entries = stores.events.audit_log(limit).await?;
    if format != Format::Table {
        return emit(&entries, Format::Json, |_| {});
    }
    let mut t = table(
        &[
            "recorded", "outcome", "role", "actor", "command", "target", "refusal",
        ],
        &[],
    );
    for a in entries {
        t.add_row(vec![
            a.recorded_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            a.outcome,
            a.actor.role.as_str().to_string(),
            a.actor.id,
            a.command_type,
            a.target.unwrap_or_else(|| "-".into()),
            a.error_code
                .map(|c| format!("{c}: {}", a.detail.unwrap_or_default()))
                .unwrap_or_default(),
        ]);
    }
    println!("{t}");
    Ok(())
}
