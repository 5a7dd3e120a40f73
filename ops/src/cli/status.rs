//! `roster status [--json]`: events, readers, the relay, deadlines, and with `--amqp-url` the
//! broker's queues; exits with 3 when something is wrong.

use roster::admin;
use roster_app::App;
use roster_rabbitmq::BrokerConfig;

pub(crate) async fn run(
    app: &App,
    json: bool,
    broker: Option<&BrokerConfig>,
) -> anyhow::Result<()> {
    let mut v = admin::status(app).await?;
    if let Some(cfg) = broker {
        let queues = roster::broker::status(cfg).await?;
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
    Ok(())
}
