//! What the relay publishes, and how a consumer reads it back.
//!
//! For a consumer a delivery is only a notice that the log reached `(transaction_id,
//! global_position)`; the events themselves are read from the store. So the relay publishes one
//! **range notice** per window it relays (routing key [`RANGE_NOTICE`]): "the log holds these
//! `events` events after `after`, through `through`", with the ids of the first and last event.
//! One message then stands for up to a whole window (2,048 events by default) instead of one
//! message per event, which kept the broker, not the read models, the pipeline's bottleneck
//! (each message is fanned out to every queue).
//!
//! A single-event notice (the body a `StoredEvent`, routing key its type: what the relay
//! published before range notices) still decodes, so messages left in queues or dead-letter
//! queues by an earlier version are applied or replayed as before.
//!
//! The headers repeat what a consumer (or an operator looking at a dead-letter queue) needs
//! without parsing the body; the body must agree with them, or the message is poison.

use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::BasicProperties;
use roster_domain::store::{Checkpoint, StoredEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::BrokerError;

/// `delivery_mode` 2: the broker writes the message to disk before confirming it.
const PERSISTENT: u8 = 2;

/// Routing key (and AMQP `type`) of a range notice. Every projection queue is bound with `#`.
pub const RANGE_NOTICE: &str = "log.range";

/// The body of a range notice: the log holds `events` events after `after`, through `through`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeNotice {
    /// The checkpoint before the first event announced (exclusive).
    pub after: Checkpoint,
    /// The checkpoint of the last event announced (inclusive): what a consumer applies up to.
    pub through: Checkpoint,
    pub events: u64,
    pub first_event_id: Uuid,
    pub last_event_id: Uuid,
}

impl RangeNotice {
    /// The notice for `events` (in log order, non-empty), which follow `after` in the log.
    pub fn covering(after: Checkpoint, events: &[StoredEvent]) -> Option<RangeNotice> {
        let (first, last) = (events.first()?, events.last()?);
        Some(RangeNotice {
            after,
            through: last.checkpoint(),
            events: events.len() as u64,
            first_event_id: first.event_id,
            last_event_id: last.event_id,
        })
    }

    /// Whether the event at `checkpoint` is one of those announced.
    pub fn covers(&self, checkpoint: Checkpoint) -> bool {
        self.after < checkpoint && checkpoint <= self.through
    }

    /// A stable id: the same range republished after a fault carries the same id.
    pub fn message_id(&self) -> String {
        format!(
            "range-{}.{}-{}.{}",
            self.after.transaction_id,
            self.after.global_position,
            self.through.transaction_id,
            self.through.global_position
        )
    }
}

fn position_headers(headers: &mut FieldTable, through: Checkpoint) -> Result<(), BrokerError> {
    let transaction_id = i64::try_from(through.transaction_id).map_err(|_| {
        BrokerError::Config(format!(
            "transaction id {} does not fit a signed 64-bit header",
            through.transaction_id
        ))
    })?;
    headers.insert(
        "global_position".into(),
        AMQPValue::LongLongInt(through.global_position),
    );
    headers.insert(
        "transaction_id".into(),
        AMQPValue::LongLongInt(transaction_id),
    );
    Ok(())
}

/// The body and properties the relay publishes for `notice` (routing key [`RANGE_NOTICE`]).
pub fn range_message(notice: &RangeNotice) -> Result<(Vec<u8>, BasicProperties), BrokerError> {
    let body = serde_json::to_vec(notice)
        .map_err(|e| BrokerError::Config(format!("cannot encode a range notice: {e}")))?;
    let mut headers = FieldTable::default();
    position_headers(&mut headers, notice.through)?;
    headers.insert(
        "after_global_position".into(),
        AMQPValue::LongLongInt(notice.after.global_position),
    );
    headers.insert(
        "events".into(),
        AMQPValue::LongLongInt(i64::try_from(notice.events).unwrap_or(i64::MAX)),
    );
    let properties = BasicProperties::default()
        .with_delivery_mode(PERSISTENT)
        .with_content_type("application/json".into())
        .with_message_id(notice.message_id().into())
        .with_type(RANGE_NOTICE.into())
        .with_app_id("roster-relay".into())
        .with_headers(headers);
    Ok((body, properties))
}

/// A single-event notice: the body is the `StoredEvent` JSON, the routing key its type. The
/// relay publishes range notices; consumers still accept these (see the module note).
pub fn event_message(event: &StoredEvent) -> Result<(Vec<u8>, BasicProperties), BrokerError> {
    let body = serde_json::to_vec(event)
        .map_err(|e| BrokerError::Config(format!("cannot encode event {}: {e}", event.event_id)))?;
    let mut headers = FieldTable::default();
    position_headers(&mut headers, event.checkpoint())?;
    headers.insert(
        "stream_id".into(),
        AMQPValue::LongString(event.stream_id.as_str().into()),
    );
    headers.insert(
        "version".into(),
        AMQPValue::LongLongInt(i64::try_from(event.version).unwrap_or(i64::MAX)),
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

/// The checkpoint a delivery announces (a range notice's `through`, a single event's own).
/// `Err` (with the reason) marks a poison message: headers missing or malformed, a body that is
/// neither a range notice nor a stored event, or body and headers disagreeing.
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
    let announced = if properties.kind().as_ref().map(|k| k.as_str()) == Some(RANGE_NOTICE) {
        let range: RangeNotice = serde_json::from_slice(body)
            .map_err(|e| format!("the body is not a range notice: {e}"))?;
        if range.after >= range.through || range.events == 0 {
            return Err(format!(
                "the range announces nothing: after {:?}, through {:?}, {} events",
                range.after, range.through, range.events
            ));
        }
        range.through
    } else {
        let event: StoredEvent = serde_json::from_slice(body)
            .map_err(|e| format!("the body is not a stored event: {e}"))?;
        event.checkpoint()
    };
    if announced != checkpoint {
        return Err(format!(
            "headers say {checkpoint:?}, the body says {announced:?}"
        ));
    }
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(transaction_id: u64, global_position: i64) -> StoredEvent {
        roster_domain::samples::stored_event(transaction_id, global_position)
    }

    fn cp(transaction_id: u64, global_position: i64) -> Checkpoint {
        Checkpoint {
            transaction_id,
            global_position,
        }
    }

    #[test]
    fn a_range_notice_announces_its_last_event_and_covers_exactly_its_range() {
        let events = [event(7, 11), event(7, 12), event(9, 13)];
        let range = RangeNotice::covering(cp(5, 10), &events).unwrap();
        assert_eq!(range.events, 3);
        assert_eq!(range.through, cp(9, 13));
        assert!(!range.covers(cp(5, 10)), "the start is exclusive");
        assert!(range.covers(cp(7, 11)) && range.covers(cp(9, 13)));
        assert!(!range.covers(cp(9, 14)));
        let (body, properties) = range_message(&range).unwrap();
        assert_eq!(notice(&properties, &body), Ok(cp(9, 13)));
        assert_eq!(
            properties.message_id().as_ref().map(|s| s.to_string()),
            Some("range-5.10-9.13".to_string())
        );
        assert!(RangeNotice::covering(cp(5, 10), &[]).is_none());
    }

    #[test]
    fn a_single_event_notice_still_decodes() {
        let e = event(3, 4);
        let (body, properties) = event_message(&e).unwrap();
        assert_eq!(notice(&properties, &body), Ok(cp(3, 4)));
    }

    #[test]
    fn a_range_whose_body_disagrees_with_its_headers_or_announces_nothing_is_poison() {
        let range = RangeNotice::covering(cp(5, 10), &[event(7, 11)]).unwrap();
        let (_, properties) = range_message(&range).unwrap();
        let other = RangeNotice::covering(cp(5, 10), &[event(7, 12)]).unwrap();
        let body = serde_json::to_vec(&other).unwrap();
        let refused = notice(&properties, &body).unwrap_err();
        assert!(refused.contains("headers say"), "{refused}");

        let empty = RangeNotice {
            through: range.after,
            ..range.clone()
        };
        let (body, properties) = range_message(&empty).unwrap();
        let refused = notice(&properties, &body).unwrap_err();
        assert!(refused.contains("announces nothing"), "{refused}");

        let refused = notice(&properties, b"{\"not\": \"a range\"}").unwrap_err();
        assert!(refused.contains("not a range notice"), "{refused}");
    }
}
