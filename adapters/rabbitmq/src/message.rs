//! One event as one AMQP message, and back.
//!
//! The body is the `StoredEvent` JSON; the headers repeat what a consumer (or an operator
//! looking at a dead-letter queue) needs without parsing it. For a consumer a delivery is only a
//! notice that the log reached `(transaction_id, global_position)`; the events themselves are
//! read from the store.

use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::BasicProperties;
use roster_domain::store::{Checkpoint, StoredEvent};

use crate::BrokerError;

/// `delivery_mode` 2: the broker writes the message to disk before confirming it.
const PERSISTENT: u8 = 2;

/// The body and properties the relay publishes for `event` (routing key: its type).
pub fn event_message(event: &StoredEvent) -> Result<(Vec<u8>, BasicProperties), BrokerError> {
    let body = serde_json::to_vec(event)
        .map_err(|e| BrokerError::Config(format!("cannot encode event {}: {e}", event.event_id)))?;
    let transaction_id = i64::try_from(event.transaction_id).map_err(|_| {
        BrokerError::Config(format!(
            "transaction id {} does not fit a signed 64-bit header",
            event.transaction_id
        ))
    })?;
    let mut headers = FieldTable::default();
    headers.insert(
        "stream_id".into(),
        AMQPValue::LongString(event.stream_id.as_str().into()),
    );
    headers.insert(
        "version".into(),
        AMQPValue::LongLongInt(i64::try_from(event.version).unwrap_or(i64::MAX)),
    );
    headers.insert(
        "global_position".into(),
        AMQPValue::LongLongInt(event.global_position),
    );
    headers.insert(
        "transaction_id".into(),
        AMQPValue::LongLongInt(transaction_id),
    );
    headers.insert(
        "event_type".into(),
        AMQPValue::LongString(event.event_type.as_str().into()),
    );
    headers.insert(
        "schema_version".into(),
        AMQPValue::LongLongInt(i64::from(event.schema_version)),
    );
    let properties = BasicProperties::default()
        .with_delivery_mode(PERSISTENT)
        .with_content_type("application/json".into())
        .with_message_id(event.event_id.to_string().into())
        .with_type(short(&event.event_type))
        .with_app_id("roster-relay".into())
        .with_headers(headers);
    Ok((body, properties))
}

/// Event types are short identifiers; one past AMQP's 255-byte limit is cut rather than failing
/// the publish (the full type is in the body and the headers).
fn short(s: &str) -> ShortString {
    let mut end = s.len().min(255);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].into()
}

fn int_header(headers: &FieldTable, name: &str) -> Result<i64, String> {
    match headers.inner().get(name) {
        Some(AMQPValue::LongLongInt(v)) => Ok(*v),
        Some(AMQPValue::LongInt(v)) => Ok(i64::from(*v)),
        Some(AMQPValue::LongUInt(v)) => Ok(i64::from(*v)),
        Some(AMQPValue::ShortInt(v)) => Ok(i64::from(*v)),
        Some(AMQPValue::ShortUInt(v)) => Ok(i64::from(*v)),
        Some(AMQPValue::ShortShortInt(v)) => Ok(i64::from(*v)),
        Some(AMQPValue::ShortShortUInt(v)) => Ok(i64::from(*v)),
        Some(other) => Err(format!("header {name} is not an integer: {other:?}")),
        None => Err(format!("header {name} is missing")),
    }
}

/// The checkpoint a delivery announces. `Err` (with the reason) marks a poison message:
/// headers missing or malformed, a body that is not a stored event, or the two disagreeing.
pub fn notice(properties: &BasicProperties, body: &[u8]) -> Result<Checkpoint, String> {
    let headers = properties
        .headers()
        .as_ref()
        .ok_or_else(|| "the message has no headers".to_string())?;
    let global_position = int_header(headers, "global_position")?;
    let transaction_id = u64::try_from(int_header(headers, "transaction_id")?)
        .map_err(|_| "header transaction_id is negative".to_string())?;
    let checkpoint = Checkpoint {
        transaction_id,
        global_position,
    };
    let event: StoredEvent =
        serde_json::from_slice(body).map_err(|e| format!("the body is not a stored event: {e}"))?;
    if event.checkpoint() != checkpoint {
        return Err(format!(
            "headers say {checkpoint:?}, the body says {:?}",
            event.checkpoint()
        ));
    }
    Ok(checkpoint)
}
