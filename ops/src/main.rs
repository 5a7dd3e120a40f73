//! `roster`: serve the API, run migrations, create tokens, import command files, load the
//! illustrative demo. The embedded SQLite file is the default store; `--database-url` (or
//! `DATABASE_URL`) selects PostgreSQL.

// The binary's output code: what the `roster` commands print is their product.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cli;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use roster::admin::{self, Format};
use roster::stores;

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
        policy: cli::serve::PolicyArgs,
        #[command(flatten)]
        limits: cli::serve::LimitArgs,
        #[command(flatten)]
        mail: cli::serve::MailArgs,
    },
    /// Create or upgrade the store's schema.
    Migrate,
    /// Bearer tokens.
    Token {
        #[command(subcommand)]
        command: cli::token::TokenCommand,
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
        command: cli::dlq::DlqCommand,
    },
    /// Throughput benchmarks against a fresh PostgreSQL database (needs --database-url), each
    /// figure printed beside a ceiling measured in the same run (built with `--features bench`).
    #[cfg(feature = "bench")]
    Bench {
        #[command(subcommand)]
        bench: cli::bench::Bench,
    },
    /// KPI target sets (RULES.md §8): define, retire, list.
    Targets {
        #[command(subcommand)]
        command: cli::targets::TargetsCommand,
    },
    /// Reports from the read models (also as `roster query`).
    #[command(visible_alias = "query")]
    Report {
        #[command(subcommand)]
        report: cli::report::Report,
        #[arg(long, value_enum, default_value = "table", global = true)]
        format: Format,
    },
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
        return cli::bench::run(cli.database_url.as_deref(), cli.amqp_url.as_deref(), bench).await;
    }
    let broker = cli
        .amqp_url
        .as_deref()
        .map(|url| roster::broker::config(url, &cli.amqp_prefix));
    let backends = stores::open(cli.database_url.as_deref(), &cli.data).await?;
    if let Command::Serve {
        listen,
        demo,
        policy,
        limits,
        mail,
    } = cli.command
    {
        return cli::serve::serve(
            backends,
            cli.database_url.as_deref(),
            broker,
            listen,
            demo,
            (policy.config(), &limits, mail.settings()?),
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
    match cli.command {
        Command::Migrate => println!("schema up to date: {}", app.backends().description),
        Command::Token { command } => cli::token::run(&app, command).await?,
        Command::Import {
            file,
            backfill,
            operator,
        } => cli::import::run(&app, &file, backfill, operator).await?,
        Command::Demo => cli::serve::load_demo(&app).await?,
        Command::Status { json, .. } => cli::status::run(&app, json, broker.as_ref()).await?,
        Command::Rebuild { projection } => {
            admin::rebuild_all(app.backends(), projection.as_deref(), true).await?;
        }
        Command::Dlq { command } => cli::dlq::run(&app, command, broker.as_ref()).await?,
        Command::Targets { command } => cli::targets::run(&app, command).await?,
        Command::Report { report, format } => cli::report::run(&app, report, format).await?,
        #[cfg(feature = "bench")]
        Command::Bench { .. } => unreachable!("handled before the stores are opened"),
        Command::Serve { .. } => unreachable!("served above"),
    }
    Ok(())
}
