//! `roster report kpi|roster|funnel|reviews|incidents|timeline|audit` (also `roster query`).

use clap::Subcommand;
use roster::admin::{self, Format};
use roster_app::App;

#[derive(Subcommand)]
pub(crate) enum Report {
    /// KPI progress against the 2027 targets and every target set, as of a business date (and as
    /// known at a recorded time): targets, KPIs, breakdowns by province, domain and applicant
    /// kind, monthly series, funnel.
    Kpi(roster::kpi::KpiArgs),
    /// The roster as of a date (default: platforms on the roster; --status for any status).
    Roster(admin::RosterArgs),
    /// Applications per round and province, by stage reached.
    Funnel {
        #[arg(long)]
        round: Option<String>,
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
    },
    /// Reviews due, opening soon, open, overdue.
    Reviews {
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        #[arg(long, default_value_t = 90)]
        window_days: u32,
    },
    /// The incident register.
    Incidents {
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
    },
    /// A platform's timeline.
    Timeline { platform_id: String },
    /// The audit log: commands accepted and refused, newest first.
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

pub(crate) async fn run(app: &App, report: Report, format: Format) -> anyhow::Result<()> {
    match report {
        Report::Kpi(args) => roster::kpi::report(app, args, format).await?,
        Report::Roster(args) => admin::query_roster(app, args, format).await?,
        Report::Funnel { round, as_of } => admin::query_funnel(app, round, as_of, format).await?,
        Report::Reviews { as_of, window_days } => {
            admin::query_reviews(app, as_of, window_days, format).await?
        }
        Report::Incidents { as_of } => admin::query_incidents(app, as_of, format).await?,
        Report::Timeline { platform_id } => admin::query_timeline(app, &platform_id).await?,
        Report::Audit { limit } => admin::print_audit(app.backends(), limit, format).await?,
    }
    Ok(())
}
