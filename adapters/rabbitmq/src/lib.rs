//! RabbitMQ transport for the event log: the outbox relay, projection consumers, the broker
//! topology and the dead-letter tools.
//!
//! The event store stays the source of truth. The relay (one active at a time, by a PostgreSQL
//! advisory lock) announces the stored events in range notices (one message per window of
//! events) with publisher confirms and checkpoints what the broker confirmed; a projection's
//! consumer treats each delivery as a notice and applies events
//! from the store (`roster_projections::catch_up`), so duplicates and gaps are harmless. Both
//! survive broker and database faults: lapin's auto-recovery first, then a supervisor loop that
//! rebuilds the connection with bounded exponential back-off.

mod config;
mod consumer;
mod error;
mod link;
mod message;
mod relay;
mod status;
mod topology;

pub use config::{BrokerConfig, DEFAULT_AMQP_URL};
pub use consumer::{run_consumer, run_projection_consumer};
pub use error::BrokerError;
pub use link::{close, connect, open_channel, CALL_TIMEOUT};
pub use message::{event_message, notice, range_message, RangeNotice, RANGE_NOTICE};
pub use relay::{Relay, RelayStats, RELAY_CHECKPOINT, RELAY_LOCK};
pub use status::{dlq_list, dlq_replay, queue_status, DeadMessage, DlqReplay, QueueStatus};
pub use topology::{declare_topology, queue_arguments};

/// Re-exported so that callers (the `roster` binary, tests) use the same lapin as this crate.
pub use lapin;
