//! `roster report kpi|roster|funnel|reviews|incidents|timeline|audit` (also `roster query`).

use std::path::PathBuf;

use clap::Subcommand;
use roster::admin::{self, Format};
use roster_app::App;

#[derive(Subcommand)]
pub(crate) enum Report {
    /// KPI progress against the 2027 targets and every target set, as of a business date (and as
    /// known at a recorded time): targets, KPIs, breakdowns by province, domain and applicant
    /// kind, monthly series, funnel.
    Kpi {
        /// Business date (default: today, Beijing time).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        /// Ignore everything recorded after this time: RFC 3339, `YYYY-MM-DD HH:MM[:SS]`
        /// (Beijing) or a date (its end).
        #[arg(long)]
        known_at: Option<String>,
        /// Only this target set (default: all in force).
        #[arg(long)]
        target_set: Option<String>,
        /// Only this round in the funnel.
        #[arg(long)]
        round: Option<String>,
        /// One view: about, targets, kpis, province, domain, applicant_kind, monthly, funnel
        /// (CSV: default targets).
        #[arg(long)]
        view: Option<String>,
        /// Write to this file instead of standard output (required for xlsx).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// The roster as of a date (default: platforms on the roster; --status for any status).
    Roster {
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        #[arg(long)]
        province: Option<String>,
        #[arg(long)]
        domain: Option<String>,
        #[arg(long)]
        status: Option<String>,
    },
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
        Report::Kpi {
            as_of,
            known_at,
            target_set,
            round,
            view,
            output,
        } => {
            roster::kpi::report(
                app,
                roster::kpi::KpiArgs {
                    as_of,
                    known_at,
                    target_set,
                    round,
                    view,
                    output,
                },
                format,
            )
            .await?
        }
        Report::Roster {
            as_of,
            province,
            domain,
            status,
        } => {
            admin::query_roster(
                app,
                admin::RosterArgs {
                    as_of,
                    province,
                    domain,
                    status,
                },
                format,
            )
            .await?
        }
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
