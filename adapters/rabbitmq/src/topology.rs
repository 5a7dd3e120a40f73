//! The broker topology, declared by the application at start (declarations are idempotent):
//!
//! - `exchange` (default `roster.events`): durable topic exchange; the relay publishes its
//!   range notices with routing key `log.range`.
//! - per projection a quorum queue `<prefix>.<projection>` bound with `#`, one active consumer at
//!   a time, a delivery limit, dead-lettering to `<prefix>.dlx` with the projection's name;
//! - `<prefix>.dlx`: durable direct exchange; `<prefix>.<projection>.dlq`: durable queue bound to
//!   it with the projection's name.
//!
//! `ops/rabbitmq/definitions.json` holds the same topology for `rabbitmqctl import_definitions`;
//! a test keeps the two equal.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, ExchangeKind};

use crate::link::{within, CALL_TIMEOUT};
use crate::{BrokerConfig, BrokerError};

/// The arguments of a projection's queue, exactly as declared.
pub fn queue_arguments(cfg: &BrokerConfig, projection: &str) -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    // A second consumer (a standby process) waits instead of splitting the stream: batches of
    // one projection are applied by one process at a time.
    args.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
    args.insert(
        "x-delivery-limit".into(),
        AMQPValue::LongLongInt(i64::from(cfg.delivery_limit)),
    );
    args.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString(cfg.dead_letter_exchange().into()),
    );
    args.insert(
        "x-dead-letter-routing-key".into(),
        AMQPValue::LongString(projection.into()),
    );
    args
}

fn durable_exchange() -> ExchangeDeclareOptions {
    ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    }
}

/// Declares the event exchange, the dead-letter exchange, and for each projection its quorum
/// queue and its dead-letter queue, with their bindings.
pub async fn declare_topology(
    channel: &Channel,
    cfg: &BrokerConfig,
    projections: &[&str],
) -> Result<(), BrokerError> {
    within(
        CALL_TIMEOUT,
        channel.exchange_declare(
            cfg.exchange.as_str().into(),
            ExchangeKind::Topic,
            durable_exchange(),
            FieldTable::default(),
        ),
    )
    .await?;
    let dlx = cfg.dead_letter_exchange();
    within(
        CALL_TIMEOUT,
        channel.exchange_declare(
            dlx.as_str().into(),
            ExchangeKind::Direct,
            durable_exchange(),
            FieldTable::default(),
        ),
    )
    .await?;
    for projection in projections {
        let queue = cfg.queue(projection);
        within(
            CALL_TIMEOUT,
            channel.queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions::durable(),
                queue_arguments(cfg, projection),
            ),
        )
        .await?;
        within(
            CALL_TIMEOUT,
            channel.queue_bind(
                queue.as_str().into(),
                cfg.exchange.as_str().into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            ),
        )
        .await?;
        let dlq = cfg.dead_letter_queue(projection);
        within(
            CALL_TIMEOUT,
            channel.queue_declare(
                dlq.as_str().into(),
                QueueDeclareOptions::durable(),
                FieldTable::default(),
            ),
        )
        .await?;
        within(
            CALL_TIMEOUT,
            channel.queue_bind(
                dlq.as_str().into(),
                dlx.as_str().into(),
                (*projection).into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            ),
        )
        .await?;
    }
    Ok(())
}
