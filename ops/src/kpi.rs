//! `roster report kpi` and `roster targets`: the analyst's progress report against the 2027
//! targets (and any defined target set) as of a date, as known at a recorded time, as a table,
//! JSON, CSV or an XLSX workbook; and the commands that define and retire target sets.

use std::path::PathBuf;

use anyhow::{bail, Context};
use chrono::NaiveDate;
use roster_app::kpi::KpiQuery;
use roster_app::App;
use roster_domain::actor::{Actor, Role};
use roster_domain::request::{CommandRequest, Target};
use roster_domain::targets::{DefineTargetSet, RetireTargetSet, TargetSetCommand};
use roster_projections::export;
use roster_projections::kpi;
use uuid::Uuid;

use crate::admin::Format;

/// `roster report kpi`'s arguments.
#[derive(clap::Args)]
pub struct KpiArgs {
    /// Business date (default: today, Beijing time).
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    /// Ignore everything recorded after this time: RFC 3339, `YYYY-MM-DD HH:MM[:SS]`
    /// (Beijing) or a date (its end).
    #[arg(long)]
    pub known_at: Option<String>,
    /// Only this target set (default: all in force).
    #[arg(long)]
    pub target_set: Option<String>,
    /// Only this round in the funnel.
    #[arg(long)]
    pub round: Option<String>,
    /// One view: about, targets, kpis, province, domain, applicant_kind, monthly, funnel
    /// (CSV: default targets; the table: only this view).
    #[arg(long)]
    pub view: Option<String>,
    /// Write to this file instead of standard output (required for xlsx).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

pub async fn report(app: &App, a: KpiArgs, format: Format) -> anyhow::Result<()> {
    let known_at = a
        .known_at
        .as_deref()
        .map(kpi::parse_known_at)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    if let Some(view) = &a.view {
        if !export::VIEWS.contains(&view.as_str()) {
            bail!("no view '{view}'; one of {}", export::VIEWS.join(", "));
        }
    }
    let report = app
        .kpi_report(
            &crate::admin::host_reader(),
            KpiQuery {
                as_of: a.as_of,
                known_at,
                target_set: a.target_set.clone(),
                round: a.round.clone(),
            },
        )
        .await
        .map_err(|r| match r.field.as_deref() {
            Some("target_set") => anyhow::anyhow!("{} (see `roster targets list`)", r.message),
            _ => anyhow::Error::msg(r),
        })?
        .report;
    let bytes: Vec<u8> = match format {
        Format::Json => serde_json::to_vec_pretty(&report)?,
        Format::Csv => {
            let view = a.view.as_deref().unwrap_or("targets");
            export::to_csv(&export::sheet(&report, view).map_err(anyhow::Error::msg)?)?.into_bytes()
        }
        Format::Xlsx => {
            if a.output.is_none() {
                bail!("an XLSX workbook is binary: give --output FILE.xlsx");
            }
            export::to_xlsx(&export::sheets(&report))?
        }
        Format::Table => {
            let sheets: Vec<export::Sheet> = export::sheets(&report)
                .into_iter()
                .filter(|s| a.view.as_deref().is_none_or(|v| v == s.name))
                .collect();
            export::to_table(&sheets).into_bytes()
        }
    };
    match &a.output {
        Some(path) => {
            std::fs::write(path, &bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {} ({} bytes)", path.display(), bytes.len());
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)?;
            if format == Format::Json {
                out.write_all(b"\n")?;
            }
        }
    }
    Ok(())
}

/// Who a `roster targets` command acts as: a local operator with the given role.
pub fn operator(role: &str, jurisdiction: Option<&str>, label: &str) -> anyhow::Result<Actor> {
    let role: Role = serde_json::from_value(serde_json::json!(role))
        .with_context(|| format!("unknown role '{role}' (analyst, ministry, province)"))?;
    let jurisdiction = roster_domain::access::validate_jurisdiction(role, jurisdiction)
        .map_err(anyhow::Error::msg)?;
    Ok(Actor {
        id: if label.is_empty() {
            format!("cli:{role}")
        } else {
            format!("cli:{label}")
        },
        role,
        jurisdiction,
    })
}

async fn execute(app: &App, actor: &Actor, command: TargetSetCommand) -> anyhow::Result<()> {
    let req = CommandRequest {
        command_id: Uuid::new_v4(),
        business_date: None,
        expected_version: None,
        correlation_id: None,
        causation_id: None,
        target: Target::TargetSet { command },
    };
    match app.service().execute(actor, req).await {
        Ok(o) => {
            println!("{} at version {}", o.stream_id, o.version);
            app.read_your_writes().await;
            Ok(())
        }
        Err(r) => bail!(
            "refused {}{}: {}",
            r.code,
            r.field.map(|f| format!(" [{f}]")).unwrap_or_default(),
            r.message
        ),
    }
}

/// Defines (or revises) a target set from a JSON file with `target_set_id`, `name`,
/// `description` and `targets`.
pub async fn define(app: &App, actor: &Actor, file: &PathBuf) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    let define: DefineTargetSet = serde_path_to_error::deserialize(de)
        .map_err(|e| anyhow::anyhow!("{}: {} at `{}`", file.display(), e.inner(), e.path()))?;
    execute(app, actor, TargetSetCommand::DefineTargetSet(define)).await
}

pub async fn retire(app: &App, actor: &Actor, id: &str, reason: &str) -> anyhow::Result<()> {
    execute(
        app,
        actor,
        TargetSetCommand::RetireTargetSet(RetireTargetSet {
            target_set_id: id.to_string(),
            reason: reason.to_string(),
        }),
    )
    .await
}

pub async fn list(app: &App, known_at: Option<&str>, json: bool) -> anyhow::Result<()> {
    let known_at = known_at
        .map(kpi::parse_known_at)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let views = app
        .target_sets(&crate::admin::host_reader(), known_at)
        .await
        .map_err(anyhow::Error::msg)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&views)?);
        return Ok(());
    }
    for s in views {
        println!(
            "{} (revision {}{}): {}",
            s.target_set_id,
            s.revision,
            if s.built_in { ", built in" } else { "" },
            s.name
        );
        for t in &s.targets {
            println!(
                "  {} {:<22} {:<28} {} {:<5} by {}",
                t.metric.rule(),
                t.metric.code(),
                t.filter().describe(),
                t.comparator.symbol(),
                t.threshold,
                t.deadline
            );
        }
    }
    Ok(())
}
