//! The broker transport of `roster serve --amqp-url`: declares the topology, runs the relay (one
//! active across instances, by PostgreSQL advisory lock) and one consumer per read model, all
//! stopped by the same shutdown signal. Each of them reports whether it holds its subscription
//! in the transport's `Subscriptions`, which the server reads for `/ready`, the status and
//! `/metrics` (`AppState::report_subscriptions`).

use std::sync::Arc;

use anyhow::{bail, Context};
use roster_app::automation::PolicyConsumer;
use roster_domain::store::EventStore;
use roster_projections::{models, ProjectionFollower, Subscriptions, POLICIES};
use roster_rabbitmq::{BrokerConfig, Relay, RELAY_CHECKPOINT};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use roster_app::Backends;

pub fn config(amqp_url: &str, prefix: &str) -> BrokerConfig {
    let mut cfg = BrokerConfig::new(amqp_url);
    cfg.exchange = format!("{prefix}.events");
    cfg.queue_prefix = prefix.to_string();
    cfg
}

/// One queue per read model (`models::NAMES`, the one list of them), and one for the policy
/// consumer.
pub const QUEUES: [&str; models::NAMES.len() + 1] = {
    let mut out = [POLICIES; models::NAMES.len() + 1];
    let mut i = 0;
    while i < models::NAMES.len() {
        out[i] = models::NAMES[i];
        i += 1;
    }
    out
};

pub struct Transport {
    pub wake_relay: Arc<Notify>,
    /// Whether the relay and each consumer hold their subscription right now.
    pub subscriptions: Subscriptions,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// `log` is what the followers read the event log through: normally the application's shared
/// log (`AppState::shared_log`), so that the read models and the policy consumer read each event
/// from the store once.
pub async fn start(
    stores: &Backends,
    log: Arc<dyn EventStore>,
    database_url: Option<&str>,
    cfg: BrokerConfig,
    policies: Option<Arc<PolicyConsumer>>,
) -> anyhow::Result<Transport> {
    let Some(database_url) = database_url else {
        bail!(
            "the RabbitMQ transport relays events committed in PostgreSQL: give --database-url too"
        );
    };
    let lock: tokio_postgres::Config = database_url.parse().context("database URL")?;
    start_with_lock(stores, log, lock, cfg, policies).await
}

/// [`start`], with the relay's leader lock taken on the database `lock` names (normally the event
/// store's own): for callers that hold a connection configuration rather than a URL (`roster
/// bench pipeline`, whose database is made for the run).
pub async fn start_with_lock(
    stores: &Backends,
    log: Arc<dyn EventStore>,
    lock: tokio_postgres::Config,
    cfg: BrokerConfig,
    policies: Option<Arc<PolicyConsumer>>,
) -> anyhow::Result<Transport> {
    let conn = roster_rabbitmq::connect(&cfg, "roster-topology")
        .await
        .context("cannot reach RabbitMQ")?;
    let channel = roster_rabbitmq::open_channel(&conn)
        .await
        .context("RabbitMQ channel")?;
    roster_rabbitmq::declare_topology(&channel, &cfg, &QUEUES)
        .await
        .context("declaring the RabbitMQ topology")?;
    roster_rabbitmq::close(&conn, "topology declared").await;

    let (stop, rx) = watch::channel(false);
    let wake_relay = Arc::new(Notify::new());
    let subscriptions = Subscriptions::default();
    let mut tasks = Vec::new();
    let relay = Relay::new(
        stores.events.clone(),
        stores.models.clone(),
        lock,
        cfg.clone(),
    )
    .wake_on(wake_relay.clone())
    .report_to(subscriptions.register(RELAY_CHECKPOINT));
    let shutdown = stopped(rx.clone());
    tasks.push(tokio::spawn(async move {
        if let Err(e) = relay.run(shutdown).await {
            tracing::error!(error = %e, "the relay stopped");
        }
    }));
    let mut followers = ProjectionFollower::all(&log, &stores.models);
    if let Some(p) = policies {
        followers.push(p);
    }
    for follower in followers {
        let (cfg, shutdown) = (cfg.clone(), stopped(rx.clone()));
        let subscription = subscriptions.register(follower.name());
        tasks.push(tokio::spawn(async move {
            let name = follower.name();
            if let Err(e) =
                roster_rabbitmq::run_consumer(follower, cfg, subscription, shutdown).await
            {
                tracing::error!(consumer = name, error = %e, "a consumer stopped");
            }
        }));
    }
    Ok(Transport {
        wake_relay,
        subscriptions,
        stop,
        tasks,
    })
}

impl Transport {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

pub async fn status(cfg: &BrokerConfig) -> anyhow::Result<Vec<roster_rabbitmq::QueueStatus>> {
    let conn = roster_rabbitmq::connect(cfg, "roster-status")
        .await
        .context("cannot reach RabbitMQ")?;
    let rows = roster_rabbitmq::queue_status(&conn, cfg, &QUEUES).await?;
    roster_rabbitmq::close(&conn, "status read").await;
    Ok(rows)
}
