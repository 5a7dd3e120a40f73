//! What `roster status` and `roster dlq` need from the broker: queue depths (by passive
//! declaration, which changes nothing) and the dead-letter queues' contents, with a replay that
//! moves dead-lettered messages back onto the projection's queue.

use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions, ConfirmSelectOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection};
use roster_domain::store::Checkpoint;

use crate::link::{close_channel, within, CALL_TIMEOUT};
use crate::message::notice;
use crate::{BrokerConfig, BrokerError};

/// One projection's queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStatus {
    pub projection: String,
    pub queue: String,
    /// Ready messages (unacknowledged ones are not counted by the broker here).
    pub messages: u32,
    pub consumers: u32,
    pub dead_letter_queue: String,
    pub dead_letters: u32,
}

/// A message in a dead-letter queue, as far as it can be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadMessage {
    pub message_id: Option<String>,
    pub event_type: Option<String>,
    /// The checkpoint it announces, when its headers and body decode.
    pub checkpoint: Option<Checkpoint>,
    /// Why it cannot be decoded: a poison message, which replay leaves where it is.
    pub problem: Option<String>,
    /// Why the broker dead-lettered it (`x-death` reason, e.g. `delivery_limit`, `rejected`).
    pub death_reason: Option<String>,
    pub bytes: usize,
}

/// What `dlq_replay` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DlqReplay {
    /// Moved back to the projection's queue.
    pub replayed: Vec<DeadMessage>,
    /// Left in the dead-letter queue (undecodable).
    pub left: Vec<DeadMessage>,
}

async fn passive_count(channel: &Channel, queue: &str) -> Result<(u32, u32), BrokerError> {
    let q = within(
        CALL_TIMEOUT,
        channel.queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        ),
    )
    .await?;
    Ok((q.message_count(), q.consumer_count()))
}

/// Depth and consumers of each projection's queue and dead-letter queue. A missing queue is an
/// error (the topology was not declared).
pub async fn queue_status(
    connection: &Connection,
    cfg: &BrokerConfig,
    projections: &[&str],
) -> Result<Vec<QueueStatus>, BrokerError> {
    let channel = within(CALL_TIMEOUT, connection.create_channel()).await?;
    let mut out = Vec::with_capacity(projections.len());
    for projection in projections {
        let queue = cfg.queue(projection);
        let dead_letter_queue = cfg.dead_letter_queue(projection);
        let (messages, consumers) = passive_count(&channel, &queue).await?;
        let (dead_letters, _) = passive_count(&channel, &dead_letter_queue).await?;
        out.push(QueueStatus {
            projection: projection.to_string(),
            queue,
            messages,
            consumers,
            dead_letter_queue,
            dead_letters,
        });
    }
    close_channel(&channel, "status read").await;
    Ok(out)
}

fn death_reason(d: &Delivery) -> Option<String> {
    let headers = d.properties.headers().as_ref()?;
    let AMQPValue::FieldArray(deaths) = headers.inner().get("x-death")? else {
        return None;
    };
    let AMQPValue::FieldTable(first) = deaths.as_slice().first()? else {
        return None;
    };
    match first.inner().get("reason")? {
        AMQPValue::LongString(s) => Some(s.to_string()),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}

fn describe(d: &Delivery) -> DeadMessage {
    let decoded = notice(&d.properties, &d.data);
    DeadMessage {
        message_id: d.properties.message_id().as_ref().map(|s| s.to_string()),
        event_type: d.properties.kind().as_ref().map(|s| s.to_string()),
        checkpoint: decoded.as_ref().ok().copied(),
        problem: decoded.err(),
        death_reason: death_reason(d),
        bytes: d.data.len(),
    }
}

/// Takes (unacknowledged) every message the queue held when called.
async fn take_all(channel: &Channel, queue: &str) -> Result<Vec<Delivery>, BrokerError> {
    let (count, _) = passive_count(channel, queue).await?;
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        match within(
            CALL_TIMEOUT,
            channel.basic_get(queue.into(), BasicGetOptions { no_ack: false }),
        )
        .await?
        {
            Some(message) => out.push(message.delivery),
            None => break,
        }
    }
    Ok(out)
}

async fn put_back(deliveries: &[&Delivery]) -> Result<(), BrokerError> {
    for d in deliveries {
        within(
            CALL_TIMEOUT,
            d.acker.nack(BasicNackOptions {
                multiple: false,
                requeue: true,
            }),
        )
        .await?;
    }
    Ok(())
}

/// The messages in a projection's dead-letter queue, oldest first. They stay in the queue.
pub async fn dlq_list(
    connection: &Connection,
    cfg: &BrokerConfig,
    projection: &str,
) -> Result<Vec<DeadMessage>, BrokerError> {
    let channel = within(CALL_TIMEOUT, connection.create_channel()).await?;
    let taken = take_all(&channel, &cfg.dead_letter_queue(projection)).await?;
    let listed = taken.iter().map(describe).collect();
    put_back(&taken.iter().collect::<Vec<_>>()).await?;
    close_channel(&channel, "listed").await;
    Ok(listed)
}

/// Moves every decodable message of a projection's dead-letter queue back onto its queue (the
/// consumer then treats it as the notice it is); undecodable ones are reported and left.
/// Each message leaves the dead-letter queue only once the broker confirmed its copy.
pub async fn dlq_replay(
    connection: &Connection,
    cfg: &BrokerConfig,
    projection: &str,
) -> Result<DlqReplay, BrokerError> {
    let channel = within(CALL_TIMEOUT, connection.create_channel()).await?;
    within(
        CALL_TIMEOUT,
        channel.confirm_select(ConfirmSelectOptions::default()),
    )
    .await?;
    let queue = cfg.queue(projection);
    let taken = take_all(&channel, &cfg.dead_letter_queue(projection)).await?;
    let mut result = DlqReplay::default();
    let mut left = Vec::new();
    for d in &taken {
        let info = describe(d);
        if let Some(problem) = &info.problem {
            tracing::warn!(projection, message_id = ?info.message_id, %problem, "dlq replay: undecodable message left in the dead-letter queue");
            left.push(d);
            result.left.push(info);
            continue;
        }
        // The default exchange routes by queue name: the copy reaches this projection only,
        // not every queue bound to the event exchange.
        let confirm = within(
            CALL_TIMEOUT,
            channel.basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                &d.data,
                d.properties.clone(),
            ),
        )
        .await?;
        let confirmation = within(cfg.confirm_timeout, confirm).await?;
        let ack = confirmation.is_ack();
        if !ack || confirmation.take_message().is_some() {
            put_back(&left).await?;
            return Err(BrokerError::Refused {
                message_id: info.message_id.unwrap_or_default(),
                reason: format!("{queue} did not take the replayed copy"),
            });
        }
        within(CALL_TIMEOUT, d.acker.ack(BasicAckOptions::default())).await?;
        result.replayed.push(info);
    }
    put_back(&left).await?;
    close_channel(&channel, "replayed").await;
    Ok(result)
}
