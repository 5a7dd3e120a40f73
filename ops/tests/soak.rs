//! The short form of the soak drill (`roster bench soak`), run by the test suite: a real
//! `roster serve` on PostgreSQL and RabbitMQ under steady load while each fault of the mix strikes
//! once (broker connections closed, broker app restarted, server killed with SIGKILL, database
//! backends terminated, a poison message). Nothing acknowledged may be lost, nothing applied
//! twice, every read model must equal a rebuild, every strain leak must have its automatic
//! re-review (D-4), the system must recover from each fault, and outside faults every read model
//! must stay within 2 s of the log. The run's database and queues are removed afterwards.

// Tests report what they measured.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use roster::bench::soak::{run, Fault, SoakOptions, TARGET_LAG_SECS};

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_short_soak_loses_nothing_and_recovers_from_every_fault() {
    let admin = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| ADMIN_URL.into());
    let amqp = std::env::var("TEST_AMQP_URL").unwrap_or_else(|_| AMQP_URL.into());
    let opts = SoakOptions {
        seconds: 50,
        rate: 40,
        platforms: 120,
        clients: 4,
        fault_every: 8,
        server: env!("CARGO_BIN_EXE_roster").into(),
    };
    let report = run(&admin, &amqp, &opts)
        .await
        .expect("the soak ran (PostgreSQL and RabbitMQ must be up)");
    roster::bench::soak::print(&report, &opts);

    assert_eq!(report.failures(), Vec::<String>::new());
    let struck: Vec<Fault> = report.faults.iter().map(|f| f.fault).collect();
    assert_eq!(struck, Fault::ALL, "each fault of the mix struck once");
    for f in &report.faults {
        let recovery = f.recovery_secs.expect("recovered");
        assert!(
            recovery < 30.0,
            "{} took {recovery:.1} s to recover",
            f.fault.name()
        );
    }
    assert!(
        report.acknowledged as f64 >= 0.8 * (opts.rate * opts.seconds) as f64,
        "the load flowed: {} acknowledged",
        report.acknowledged
    );
    assert!(report.strain_leaks > 0, "strain leaks were reported");
    assert_eq!(report.poison_sent, 1);
    assert!(
        report.lag_outside_faults.len() > 20,
        "the lag was sampled outside faults"
    );
    assert!(
        report.lag_max() < TARGET_LAG_SECS,
        "lag outside faults up to {:.0} ms",
        report.lag_max() * 1000.0
    );
    assert!(!report.rss.is_empty(), "the server's RSS was sampled");
}
