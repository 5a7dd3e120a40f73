//! `roster`: serve the API, run migrations, create tokens, import command files, load the
//! illustrative demo. The embedded SQLite file is the default store; `--database-url` (or
//! `DATABASE_URL`) selects PostgreSQL.

// The binary's output code: what the `roster` commands print is their product.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[cfg(feature = "bench")]
mod bench_cli;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use roster::admin::{self, Format};
use roster::{demo, import, stores};
use roster_app::{App, Backends, Runtime, Settings, Transport};
use roster_domain::access::validate_jurisdiction;
use roster_domain::actor::Role;
use roster_domain::clock::SystemClock;
use roster_domain::store::{TokenRecord, TokenStore};

#[derive(Parser)]
#[command(
    name = "roster",
    version,
    about = "National roster of biomanufacturing pilot-scale platforms"
)]
struct Cli {
    /// PostgreSQL connection URL; without it the embedded SQLite file is used.
    #[arg(long, env = "DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// RabbitMQ URL: relay events from PostgreSQL through the broker to the read models' consumers
    /// (needs --database-url). Without it, read models run in-process.
    #[arg(long, env = "AMQP_URL", global = true)]
    amqp_url: Option<String>,
    /// Prefix of the exchange (`PREFIX.events`) and queues (`PREFIX.<read model>`).
    #[arg(
        long,
        env = "ROSTER_AMQP_PREFIX",
        default_value = "roster",
        global = true
    )]
    amqp_prefix: String,
    /// The embedded store's file.
    #[arg(
        long,
        env = "ROSTER_DATA",
        default_value = "roster-data/roster.sqlite",
        global = true
    )]
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

/// The configurable parameters of dynamic management (RULES.md §7).
#[derive(clap::Args, Debug, Clone)]
struct PolicyArgs {
    /// D-2: a triennial review opens this many days before it is due.
    #[arg(long, env = "ROSTER_REVIEW_WINDOW_DAYS", default_value_t = 90)]
    review_window_days: u64,
    /// D-5: a strain leak with at least this direct loss (CNY) delists (较大, Decree 493).
    #[arg(
        long,
        env = "ROSTER_MAJOR_LOSS_THRESHOLD",
        default_value_t = 10_000_000
    )]
    major_loss_threshold: u64,
    /// D-4/D-6: an incident re-review is due this many days after it opens.
    #[arg(long, env = "ROSTER_INCIDENT_REVIEW_DAYS", default_value_t = 90)]
    incident_review_days: u64,
}

/// Rate limits of the API and the dashboard (0 turns one off, e.g. for a load test on a
/// trusted network), and when a projection counts as stalled. Behind a reverse proxy every client shares the proxy's address: give the
/// per-address budget room for that.
#[derive(clap::Args, Debug, Clone)]
struct LimitArgs {
    /// Requests per second from one client address (sustained).
    #[arg(long, env = "ROSTER_RATE_PER_ADDRESS", default_value_t = 100)]
    rate_per_address: u32,
    /// Requests from one client address in a burst.
    #[arg(long, env = "ROSTER_BURST_PER_ADDRESS", default_value_t = 200)]
    burst_per_address: u32,
    /// Requests per second with one token (sustained).
    #[arg(long, env = "ROSTER_RATE_PER_TOKEN", default_value_t = 50)]
    rate_per_token: u32,
    /// Requests with one token in a burst.
    #[arg(long, env = "ROSTER_BURST_PER_TOKEN", default_value_t = 100)]
    burst_per_token: u32,
    /// Failed authentications (no, unknown or revoked token; failed sign-in) per minute from
    /// one address; beyond it 429, not audited.
    #[arg(long, env = "ROSTER_FAILED_AUTH_PER_MINUTE", default_value_t = 30)]
    failed_auth_per_minute: u32,
    /// A read model or the policy consumer behind the log whose checkpoint has not moved for
    /// this many seconds is stalled: /ready answers 503, /metrics and the status say so.
    #[arg(long, env = "ROSTER_STALL_AFTER_SECONDS", default_value_t = 120)]
    stall_after_seconds: u64,
    /// With --amqp-url: a consumer (or the leading relay) without its broker subscription for
    /// this many seconds is missing: /ready answers 503, /metrics and the status say so.
    #[arg(long, env = "ROSTER_SUBSCRIPTION_GRACE_SECONDS", default_value_t = 5)]
    subscription_grace_seconds: u64,
}

impl LimitArgs {
    fn config(&self) -> roster_http::limits::LimitConfig {
        roster_http::limits::LimitConfig {
            per_address_per_second: self.rate_per_address,
            per_address_burst: self.burst_per_address,
            per_token_per_second: self.rate_per_token,
            per_token_burst: self.burst_per_token,
            failures_per_minute: self.failed_auth_per_minute,
        }
    }
}

impl PolicyArgs {
    fn config(&self) -> roster_domain::policies::PolicyConfig {
        roster_domain::policies::PolicyConfig {
            major_loss_threshold: roster_domain::values::Cny(self.major_loss_threshold),
            incident_review_days: self.incident_review_days,
            review_window_days: self.review_window_days,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve {
        #[arg(long, env = "ROSTER_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Load the illustrative demo first and print sign-in tokens for its roles.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        policy: PolicyArgs,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Create or upgrade the store's schema.
    Migrate,
    /// Bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Apply a JSONL file of command envelopes (one per line, with the `actor` they act as).
    Import {
        file: PathBuf,
        /// Migrate history: keep the lines' past business dates (applicants', cities' and
        /// provinces' acts included) and mark every event as backfilled by the operator.
        #[arg(long)]
        backfill: bool,
        /// Who runs the backfill, named in the audit log and on every event (default: the
        /// login name).
        #[arg(long, env = "ROSTER_OPERATOR")]
        operator: Option<String>,
    },
    /// Load the illustrative national scenario (fictional units) through the command path.
    Demo,
    /// Event count, each read model's checkpoint, lag, dead letters and whether it is stalled;
    /// with --amqp-url each queue's depth and consumers as the broker counts them. Exits with 3
    /// when a reader is stalled or a queue has no consumer.
    Status {
        #[arg(long)]
        json: bool,
        /// A reader behind the log that has left an event unapplied, with its checkpoint
        /// unmoved, for this many seconds is stalled (as `roster serve --stall-after-seconds`).
        #[arg(long, env = "ROSTER_STALL_AFTER_SECONDS", default_value_t = 120)]
        stall_after_seconds: u64,
    },
    /// Rebuild read models from the event store (all, or one) into fresh tables swapped in
    /// atomically.
    Rebuild { projection: Option<String> },
    /// Events a read model could not apply.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Throughput benchmarks against a fresh PostgreSQL database (needs --database-url), each
    /// figure printed beside a ceiling measured in the same run (built with `--features bench`).
    #[cfg(feature = "bench")]
    Bench {
        #[command(subcommand)]
        bench: bench_cli::Bench,
    },
    /// KPI target sets (RULES.md §8): define, retire, list.
    Targets {
        #[command(subcommand)]
        command: TargetsCommand,
    },
    /// Reports from the read models (also as `roster query`).
    #[command(visible_alias = "query")]
    Report {
        #[command(subcommand)]
        report: Report,
        #[arg(long, value_enum, default_value = "table", global = true)]
        format: Format,
    },
}

#[derive(Subcommand)]
enum DlqCommand {
    /// List dead-lettered events (of one read model, or all); with --broker, the messages in the
    /// broker's dead-letter queues.
    List {
        projection: Option<String>,
        #[arg(long)]
        broker: bool,
    },
    /// Retry them after the cause is fixed: the read model is rebuilt in log order; with
    /// --broker, decodable messages move from the dead-letter queue back to the read model's queue.
    Replay {
        projection: String,
        #[arg(long)]
        broker: bool,
    },
}

#[derive(Subcommand)]
enum TargetsCommand {
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
struct Operator {
    /// analyst, ministry, or province (with --jurisdiction, for its own province's plan).
    #[arg(long, default_value = "analyst")]
    role: String,
    #[arg(long)]
    jurisdiction: Option<String>,
    /// Shown in the audit log as the actor (`cli:<label>`).
    #[arg(long, default_value = "")]
    label: String,
}

#[derive(Subcommand)]
enum Report {
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

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token; it is printed once and only its hash is stored.
    Create {
        /// applicant, city, province, ministry, analyst
        #[arg(long)]
        role: String,
        /// USCC (applicant), 6-digit city code (city), province code 11..65 or XPCC (province).
        #[arg(long)]
        jurisdiction: Option<String>,
        /// Who holds it (shown in the audit log as the actor id).
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke a token.
    Revoke { token: String },
}

async fn create_token(
    tokens: &dyn TokenStore,
    role: Role,
    jurisdiction: Option<&str>,
    label: &str,
) -> anyhow::Result<String> {
    let jurisdiction = validate_jurisdiction(role, jurisdiction).map_err(anyhow::Error::msg)?;
    let token = roster_http::generate_token();
    let label = if label.is_empty() {
        format!(
            "{role}{}",
            jurisdiction
                .as_deref()
                .map(|j| format!("-{j}"))
                .unwrap_or_default()
        )
    } else {
        label.to_string()
    };
    tokens
        .insert_token(TokenRecord {
            token_hash: roster_http::hash_token(&token),
            actor_id: label.clone(),
            role,
            jurisdiction,
            label,
            created_at: chrono::Utc::now(),
            revoked_at: None,
        })
        .await?;
    Ok(token)
}

/// The operator of a backfill: as given, or the login name of whoever runs the command on the
/// server host.
fn operator_name(given: Option<String>) -> anyhow::Result<String> {
    let name = given
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .context("name the operator of the backfill: --operator NAME (or ROSTER_OPERATOR)")?;
    if name.chars().count() > 64 || name.chars().any(char::is_control) {
        bail!("the operator's name has at most 64 characters and no control characters");
    }
    Ok(name)
}

async fn load_demo(app: &App) -> anyhow::Result<()> {
    println!(
        "Loading the ILLUSTRATIVE demo (fictional units) into {} …",
        app.backends().description
    );
    let operator = operator_name(None)
        .map(|n| format!("{n} (roster demo)"))
        .unwrap_or_else(|_| "roster demo".into());
    let report = demo::load(app, &operator).await?;
    println!(
        "  {} commands accepted, {} already loaded",
        report.accepted, report.already_loaded
    );
    for (label, why) in &report.refused_as_meant {
        println!("  refused as the scenario intends: {label}: {why}");
    }
    Ok(())
}

/// jemalloc, not glibc's malloc: under load the server's resident memory kept the peaks of every
/// report load in per-thread arenas (ARCHITECTURE.md, "What the server keeps in memory").
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ROSTER_LOG")
                .unwrap_or_else(|_| "info,tower_http=warn,tokio_postgres=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    // Benchmarks make their own database; they must not migrate the one the URL names.
    #[cfg(feature = "bench")]
    if let Command::Bench { bench } = &cli.command {
        return bench_cli::run(cli.database_url.as_deref(), cli.amqp_url.as_deref(), bench).await;
    }
    let backends = stores::open(cli.database_url.as_deref(), &cli.data).await?;
    if let Command::Serve {
        listen,
        demo,
        policy,
        limits,
    } = cli.command
    {
        return serve(
            backends,
            cli.database_url.as_deref(),
            cli.amqp_url
                .as_deref()
                .map(|url| roster::broker::config(url, &cli.amqp_prefix)),
            listen,
            demo,
            policy.config(),
            &limits,
        )
        .await;
    }
    let stall_after = match &cli.command {
        Command::Status {
            stall_after_seconds,
            ..
        } => std::time::Duration::from_secs(*stall_after_seconds),
        _ => roster_app::DEFAULT_STALL_AFTER,
    };
    // The one application of this command (the composition root: `stores::open` chose the
    // stores, the command line runs the read models in-process).
    let app = stores::one_shot(backends, stall_after);
    let stores = app.backends().clone();
    match cli.command {
        Command::Migrate => println!("schema up to date: {}", stores.description),
        Command::Token {
            command:
                TokenCommand::Create {
                    role,
                    jurisdiction,
                    label,
                },
        } => {
            let role = Role::parse(&role)
                .filter(|r| *r != Role::System)
                .with_context(|| {
                    format!("unknown role '{role}' (applicant, city, province, ministry, analyst)")
                })?;
            println!(
                "{}",
                create_token(
                    stores.tokens.as_ref(),
                    role,
                    jurisdiction.as_deref(),
                    &label
                )
                .await?
            );
        }
        Command::Token {
            command: TokenCommand::Revoke { token },
        } => {
            if !stores
                .tokens
                .revoke_token(&roster_http::hash_token(&token), chrono::Utc::now())
                .await?
            {
                bail!("no such token");
            }
            println!("revoked");
        }
        Command::Import {
            file,
            backfill,
            operator,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let mode = if backfill {
                import::Mode::Backfill {
                    operator: operator_name(operator)?,
                }
            } else {
                if operator.is_some() {
                    bail!("--operator names who runs a --backfill; this import is not one");
                }
                import::Mode::Live
            };
            let report = import::import(&app, &text, true, &mode).await;
            for (line, r) in &report.refused {
                let field = r
                    .field
                    .as_deref()
                    .map(|f| format!(" [{f}]"))
                    .unwrap_or_default();
                eprintln!(
                    "{}:{line}: refused {}{field}: {}",
                    file.display(),
                    r.code,
                    r.message
                );
            }
            if report.aborted {
                bail!(
                    "{} malformed line(s) of {}: nothing was applied",
                    report.refused.len(),
                    report.lines
                );
            }
            println!(
                "{} lines: {} accepted, {} already applied, {} refused",
                report.lines,
                report.accepted,
                report.duplicates,
                report.refused.len()
            );
            if !report.refused.is_empty() {
                std::process::exit(2);
            }
        }
        Command::Demo => load_demo(&app).await?,
        Command::Status { json, .. } => {
            let mut v = admin::status(&app).await?;
            if let Some(url) = cli.amqp_url.as_deref() {
                let queues =
                    roster::broker::status(&roster::broker::config(url, &cli.amqp_prefix)).await?;
                admin::with_queues(&mut v, &queues);
            }
            let problems = admin::problems(&v);
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                admin::print_status(&v);
            }
            if !problems.is_empty() {
                for p in &problems {
                    eprintln!("problem: {p}");
                }
                std::process::exit(3);
            }
        }
        Command::Rebuild { projection } => {
            admin::rebuild_all(&stores, projection.as_deref(), true).await?;
        }
        Command::Dlq {
            command:
                DlqCommand::List {
                    projection,
                    broker: true,
                },
        } => {
            let cfg = roster::broker::config(
                cli.amqp_url
                    .as_deref()
                    .context("--broker needs --amqp-url")?,
                &cli.amqp_prefix,
            );
            let conn = roster_rabbitmq::connect(&cfg, "roster-dlq").await?;
            let names: Vec<String> = match projection {
                Some(p) => vec![p],
                None => roster::broker::QUEUES
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            };
            for p in names {
                for m in roster_rabbitmq::dlq_list(&conn, &cfg, &p).await? {
                    println!(
                        "{:<10} {} {} {}{}",
                        p,
                        m.message_id.as_deref().unwrap_or("(no id)"),
                        m.event_type.as_deref().unwrap_or("?"),
                        m.death_reason.as_deref().unwrap_or(""),
                        m.problem
                            .map(|p| format!(" poison: {p}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        Command::Dlq {
            command:
                DlqCommand::Replay {
                    projection,
                    broker: true,
                },
        } => {
            let cfg = roster::broker::config(
                cli.amqp_url
                    .as_deref()
                    .context("--broker needs --amqp-url")?,
                &cli.amqp_prefix,
            );
            let conn = roster_rabbitmq::connect(&cfg, "roster-dlq").await?;
            let r = roster_rabbitmq::dlq_replay(&conn, &cfg, &projection).await?;
            println!(
                "{projection}: {} message(s) moved back to the queue, {} left (undecodable)",
                r.replayed.len(),
                r.left.len()
            );
        }
        Command::Dlq {
            command:
                DlqCommand::List {
                    projection,
                    broker: false,
                },
        } => {
            let dead = stores.models.dead_letters(projection.as_deref()).await?;
            for d in &dead {
                println!(
                    "{:<10} position {:<8} {} {:<26} {}{}",
                    d.projection,
                    d.global_position,
                    d.event_id,
                    d.event_type,
                    d.reason,
                    d.replayed_at
                        .map(|t| format!(" (replayed {t})"))
                        .unwrap_or_default()
                );
            }
            println!("{} dead letter(s)", dead.len());
        }
        Command::Dlq {
            command:
                DlqCommand::Replay {
                    projection,
                    broker: false,
                },
        } => {
            let (replayed, still) = admin::dlq_replay(&stores, &projection).await?;
            println!("{projection}: {replayed} event(s) now applied, {still} still dead-lettered");
        }
        #[cfg(feature = "bench")]
        Command::Bench { .. } => unreachable!("handled before the stores are opened"),
        Command::Targets { command } => match command {
            TargetsCommand::Define { file, who } => {
                let actor =
                    roster::kpi::operator(&who.role, who.jurisdiction.as_deref(), &who.label)?;
                roster::kpi::define(&app, &actor, &file).await?
            }
            TargetsCommand::Retire {
                target_set_id,
                reason,
                who,
            } => {
                let actor =
                    roster::kpi::operator(&who.role, who.jurisdiction.as_deref(), &who.label)?;
                roster::kpi::retire(&app, &actor, &target_set_id, &reason).await?
            }
            TargetsCommand::List { known_at, json } => {
                roster::kpi::list(&app, known_at.as_deref(), json).await?
            }
        },
        Command::Report { report, format } => match report {
            Report::Kpi {
                as_of,
                known_at,
                target_set,
                round,
                view,
                output,
            } => {
                roster::kpi::report(
                    &app,
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
                    &app,
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
            Report::Funnel { round, as_of } => {
                admin::query_funnel(&app, round, as_of, format).await?
            }
            Report::Reviews { as_of, window_days } => {
                admin::query_reviews(&app, as_of, window_days, format).await?
            }
            Report::Incidents { as_of } => admin::query_incidents(&app, as_of, format).await?,
            Report::Timeline { platform_id } => admin::query_timeline(&app, &platform_id).await?,
            Report::Audit { limit } => admin::print_audit(&stores, limit, format).await?,
        },
        Command::Serve { .. } => unreachable!("served above"),
    }
    Ok(())
}

/// `roster serve`: the composition root of a serving process. The application is built once
/// over the stores, with the broker transport when a RabbitMQ URL is given (else the read
/// models and the policy consumer run in-process); its background runtime and the HTTP server
/// run until Ctrl-C.
async fn serve(
    backends: Backends,
    database_url: Option<&str>,
    broker: Option<roster_rabbitmq::BrokerConfig>,
    listen: SocketAddr,
    demo: bool,
    policy: roster_domain::policies::PolicyConfig,
    limits: &LimitArgs,
) -> anyhow::Result<()> {
    let transport = if broker.is_some() {
        Transport::Broker
    } else {
        Transport::Local
    };
    let settings = Settings {
        stall_after: std::time::Duration::from_secs(limits.stall_after_seconds),
        subscription_grace: std::time::Duration::from_secs(limits.subscription_grace_seconds),
        ..Settings::serving(policy, transport)
    };
    let app = App::new(backends, Arc::new(SystemClock), settings);
    if demo {
        load_demo(&app).await?;
        println!("Sign-in tokens for the demo (shown once):");
        for (role, j) in [
            (Role::Ministry, None),
            (Role::Analyst, None),
            (Role::Province, Some("44")),
            (Role::City, Some("440300")),
            (Role::Province, Some("32")),
        ] {
            let t = create_token(app.tokens().as_ref(), role, j, "").await?;
            println!("  {:<9} {:<7} {t}", role.as_str(), j.unwrap_or(""));
        }
    }
    let broker = match broker {
        Some(cfg) => Some(
            roster::broker::start(
                app.backends(),
                app.shared_log(),
                database_url,
                cfg,
                Some(app.policy_consumer()),
            )
            .await?,
        ),
        None => None,
    };
    if let Some(t) = &broker {
        app.wake_after_commit(t.wake_relay.clone());
        app.report_subscriptions(t.subscriptions.clone());
    }
    let runtime = Runtime::start(&app);
    let state = roster_http::AppState::new(app.clone()).with_limits(limits.config());
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    println!(
        "Serving on http://{addr} ({}, read models {}); dashboard at http://{addr}/ui (sign in with a token); OpenAPI at /api/v1/openapi.json; Ctrl-C stops.",
        app.backends().description,
        if broker.is_some() { "fed through RabbitMQ" } else { "in-process" }
    );
    roster_http::run(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    runtime.stop();
    if let Some(t) = broker {
        t.stop().await;
    }
    Ok(())
}
