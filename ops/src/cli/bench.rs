//! `roster bench …`: the benchmarks' command line (the `bench` feature).

use anyhow::Context;
use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum Bench {
    /// Append throughput at ~10k stored events and again at N (default 10M) stored events.
    AppendScale {
        #[arg(long, default_value_t = 10_000_000)]
        events: u64,
        #[arg(long, default_value_t = 32)]
        clients: usize,
        #[arg(long, default_value_t = 20_000)]
        commands: u64,
    },
    /// Rebuild speed of each read model at N stored events vs reading the same log.
    Rebuild {
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
    },
    /// A KPI report as of a date over N stored events (read from the kpi read model) vs
    /// recomputing it from the raw log.
    Kpi {
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Events per platform (services, retractions, listing …).
        #[arg(long, default_value_t = 500)]
        per_platform: u64,
        /// Reports per case (median and slowest printed).
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Read-model apply and rebuild rates for platforms with 10, 100, 1,000 and 10,000 events
    /// each (the same total): applying an event should cost the same whatever the history.
    History {
        /// Events in the log of each case.
        #[arg(long, default_value_t = 20_000)]
        events: u64,
        /// Events then applied live, one per transaction, in each case.
        #[arg(long, default_value_t = 500)]
        live: u64,
        /// Events per platform of each case.
        #[arg(long, value_delimiter = ',', default_value = "10,100,1000,10000")]
        per_platform: Vec<u64>,
    },
    /// Resident memory of a real `roster serve` over a large history (1M events over 10,000
    /// platforms) and under sustained load, sampled every 5 s (--seconds 1800: the soak's figure).
    Memory {
        #[arg(long, default_value_t = 10_000)]
        platforms: u64,
        #[arg(long, default_value_t = 100)]
        per_platform: u64,
        /// Length of the load phase.
        #[arg(long, default_value_t = 120)]
        seconds: u64,
        /// Service records per second during the load.
        #[arg(long, default_value_t = 300)]
        rate: u64,
    },
    /// The soak drill: a real `roster serve` on PostgreSQL and RabbitMQ under steady load while
    /// faults strike in turn (broker connections closed, broker app restarted, server killed,
    /// database backends terminated, a poison message); reports lost acknowledged commands,
    /// events applied twice, models vs a rebuild, recovery per fault, lag, RSS. Exit code 1 when
    /// a promise fails. The broker faults act on the whole broker.
    Soak {
        #[arg(long, default_value_t = 1800)]
        seconds: u64,
        /// Commands per second offered.
        #[arg(long, default_value_t = 300)]
        rate: u64,
        #[arg(long, default_value_t = 2000)]
        platforms: u64,
        #[arg(long, default_value_t = 32)]
        clients: u64,
        /// Seconds between two faults.
        #[arg(long, default_value_t = 60)]
        fault_every: u64,
    },
    /// Commands/s through the full command path vs raw single-row INSERTs.
    Commands {
        #[arg(long, default_value_t = 32)]
        clients: usize,
        #[arg(long, default_value_t = 20_000)]
        commands: u64,
    },
    /// Events/s through the RabbitMQ relay and the 5 read-model consumers vs raw lapin
    /// publish+consume of the same messages; then commit-to-read-model lag at a fixed rate
    /// (needs --amqp-url).
    Pipeline {
        #[arg(long, default_value_t = 100_000)]
        events: u64,
        /// Offered load of the lag test, events/s.
        #[arg(long, default_value_t = 2_000)]
        rate: u64,
        #[arg(long, default_value_t = 10)]
        lag_seconds: u64,
    },
}

pub(crate) async fn run(
    database_url: Option<&str>,
    amqp_url: Option<&str>,
    bench: &Bench,
) -> anyhow::Result<()> {
    let url = database_url.context(
        "roster bench needs --database-url (a PostgreSQL server where it may create a database)",
    )?;
    match *bench {
        Bench::AppendScale {
            events,
            clients,
            commands,
        } => {
            let f = roster::bench::append_scale(url, clients, commands, events).await?;
            println!(
                "append at {} stored events: {:.0} commands/s; at {} stored events (filled in {:.0} s): {:.0} commands/s; ratio {:.2} (target: within 20 %, i.e. >= 0.80)",
                f.small_events, f.small_rate, f.large_events, f.fill_secs, f.large_rate, f.large_rate / f.small_rate
            );
        }
        Bench::Rebuild { events } => {
            let f = roster::bench::rebuild(url, events).await?;
            println!("filled {} events in {:.0} s; reading and decoding the log: {:.0} events/s (ceiling)", f.events, f.fill_secs, f.read_events_per_sec);
            for (name, rate) in &f.rebuilds {
                println!("rebuild {name:<10} {rate:>8.0} events/s; ratio to reading {:.2}; target >= 50000 events/s: {}", rate / f.read_events_per_sec, if *rate >= 50_000.0 { "met" } else { "not met" });
            }
        }
        Bench::Kpi {
            events,
            per_platform,
            runs,
        } => {
            let f = roster::bench::kpi::run(url, events, per_platform, runs).await?;
            println!(
                "filled {} events ({} platforms) in {:.0} s; kpi read model rebuilt in {:.1} s",
                f.events, f.platforms, f.fill_secs, f.rebuild_secs
            );
            for (label, median, slowest) in &f.reports {
                println!(
                    "kpi report {label:<56} median {median:>7.1} ms, slowest {slowest:>7.1} ms; vs recomputing from the raw log {:.1} s: ratio {:.3}; target < 1000 ms: {}",
                    f.from_log_secs,
                    median / 1000.0 / f.from_log_secs,
                    if *slowest < 1000.0 { "met" } else { "not met" }
                );
            }
            println!(
                "the report from the read model and the one from the raw log agree: {}",
                f.agree
            );
        }
        Bench::History {
            events,
            live,
            ref per_platform,
        } => {
            let cases = roster::bench::history::run(url, events, live, per_platform).await?;
            roster::bench::history::print(&cases);
        }
        Bench::Memory {
            platforms,
            per_platform,
            seconds,
            rate,
        } => {
            let opts = roster::bench::memory::MemoryOptions {
                platforms,
                per_platform,
                seconds,
                rate,
            };
            let f = roster::bench::memory::run(url, opts).await?;
            roster::bench::memory::print(&f, opts);
        }
        Bench::Soak {
            seconds,
            rate,
            platforms,
            clients,
            fault_every,
        } => {
            let amqp_url = amqp_url.context(
                "roster bench soak needs --amqp-url (or AMQP_URL): a RabbitMQ it may restart",
            )?;
            let opts = roster::bench::soak::SoakOptions {
                seconds,
                rate,
                platforms,
                clients,
                fault_every,
                server: std::env::current_exe()?,
            };
            let report = roster::bench::soak::run(url, amqp_url, &opts).await?;
            roster::bench::soak::print(&report, &opts);
            if !report.failures().is_empty() {
                std::process::exit(1);
            }
        }
        Bench::Commands { clients, commands } => {
            let f = roster::bench::commands(url, clients, commands).await?;
            let rate = f.commands as f64 / f.secs;
            println!(
                "commands: {} through the full command path, {clients} clients, fresh aggregates every 10 commands: {:.0} commands/s; ceiling raw single-row INSERT of the same ~1 KB payload: {:.0}/s; ratio {:.2}",
                f.commands, rate, f.raw_inserts_per_sec, rate / f.raw_inserts_per_sec
            );
        }
        Bench::Pipeline {
            events,
            rate,
            lag_seconds,
        } => {
            let amqp_url = amqp_url
                .context("roster bench pipeline needs --amqp-url (or AMQP_URL): a RabbitMQ where it may declare and delete queues")?;
            let opts = roster::bench::pipeline::PipelineOptions {
                events,
                rate,
                lag_seconds,
            };
            let f = roster::bench::pipeline::run(url, amqp_url, opts).await?;
            roster::bench::pipeline::print(&f, opts);
        }
    }
    if let Some(rss) = roster::bench::peak_rss_mib() {
        println!("peak RSS: {rss:.0} MiB");
    }
    Ok(())
}
