//! `roster dlq list|replay [--broker]`: events a read model could not apply, in the store or in
//! the broker's dead-letter queues.

use anyhow::Context;
use clap::Subcommand;
use roster::admin;
use roster_app::App;
use roster_rabbitmq::BrokerConfig;

#[derive(Subcommand)]
pub(crate) enum DlqCommand {
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

pub(crate) async fn run(
    app: &App,
    command: DlqCommand,
    broker: Option<&BrokerConfig>,
) -> anyhow::Result<()> {
    match command {
        DlqCommand::List {
            projection,
            broker: true,
        } => {
            let cfg = broker.context("--broker needs --amqp-url")?;
            let conn = roster_rabbitmq::connect(cfg, "roster-dlq").await?;
            let names: Vec<String> = match projection {
                Some(p) => vec![p],
                None => roster::broker::QUEUES
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            };
            for p in names {
                for m in roster_rabbitmq::dlq_list(&conn, cfg, &p).await? {
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
        DlqCommand::Replay {
            projection,
            broker: true,
        } => {
            let cfg = broker.context("--broker needs --amqp-url")?;
            let conn = roster_rabbitmq::connect(cfg, "roster-dlq").await?;
            let r = roster_rabbitmq::dlq_replay(&conn, cfg, &projection).await?;
            println!(
                "{projection}: {} message(s) moved back to the queue, {} left (undecodable)",
                r.replayed.len(),
                r.left.len()
            );
        }
        DlqCommand::List {
            projection,
            broker: false,
        } => {
            let dead = app.models().dead_letters(projection.as_deref()).await?;
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
        DlqCommand::Replay {
            projection,
            broker: false,
        } => {
            let (replayed, still) = admin::dlq_replay(app.backends(), &projection).await?;
            println!("{projection}: {replayed} event(s) now applied, {still} still dead-lettered");
        }
    }
    Ok(())
}
