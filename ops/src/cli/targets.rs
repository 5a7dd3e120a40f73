//! `roster targets define|retire|list`: KPI target sets as data (RULES.md §8).

use std::path::PathBuf;

use clap::Subcommand;
use roster_app::App;

#[derive(Subcommand)]
pub(crate) enum TargetsCommand {
    /// Define a target set, or revise it, from a JSON file: {"target_set_id", "name",
    /// "description", "targets": [{"metric", "province"?, "domain"?, "applicant_kind"?,
    /// "comparator": ">" | ">=", "threshold", "deadline"}]}.
    Define {
        file: PathBuf,
        #[command(flatten)]
        who: Operator,
    },
    /// Retire a target set (it stays in reports as known before).
    Retire {
        target_set_id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        who: Operator,
    },
    /// The target sets in force (as known at a recorded time).
    List {
        #[arg(long)]
        known_at: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// Who a target-set command acts as.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Operator {
    /// analyst, ministry, or province (with --jurisdiction, for its own province's plan).
    #[arg(long, default_value = "analyst")]
    role: String,
    #[arg(long)]
    jurisdiction: Option<String>,
    /// Shown in the audit log as the actor (`cli:<label>`).
    #[arg(long, default_value = "")]
    label: String,
}

pub(crate) async fn run(app: &App, command: TargetsCommand) -> anyhow::Result<()> {
    match command {
        TargetsCommand::Define { file, who } => {
            let actor = roster::kpi::operator(&who.role, who.jurisdiction.as_deref(), &who.label)?;
            roster::kpi::define(app, &actor, &file).await?
        }
        TargetsCommand::Retire {
            target_set_id,
            reason,
            who,
        } => {
            let actor = roster::kpi::operator(&who.role, who.jurisdiction.as_deref(), &who.label)?;
            roster::kpi::retire(app, &actor, &target_set_id, &reason).await?
        }
        TargetsCommand::List { known_at, json } => {
            roster::kpi::list(app, known_at.as_deref(), json).await?
        }
    }
    Ok(())
}
