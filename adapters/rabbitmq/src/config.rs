//! Broker settings and the names derived from them.

use std::time::Duration;

/// Where the broker is and how the relay and the consumers use it. Every queue and exchange
/// name derives from `exchange` and `queue_prefix`, so two deployments (or two tests) can share
/// one broker without seeing each other's messages.
#[derive(Clone)]
pub struct BrokerConfig {
    /// `amqp://user:password@host:port/vhost` (the vhost URL-encoded: `%2f` is `/`).
    pub amqp_url: String,
    /// The topic exchange the relay's notices are published to.
    pub exchange: String,
    /// Queues are `<prefix>.<projection>`, dead-letter queues `<prefix>.<projection>.dlq`, the
    /// dead-letter exchange `<prefix>.dlx`.
    pub queue_prefix: String,
    /// Deliveries of one message (a poison message, rejected each time) before the quorum queue
    /// dead-letters it.
    pub delivery_limit: u32,
    /// Unacknowledged deliveries a consumer holds (and settles with one ack).
    pub prefetch: u16,
    /// Most events one range notice announces: the relay reads this many after its checkpoint,
    /// publishes one message for them and waits for its confirm.
    pub confirm_window: usize,
    /// Longest wait for the confirms of one window; past it the relay republishes.
    pub confirm_timeout: Duration,
    /// Bounds of the exponential back-off between reconnection attempts.
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    /// How often an idle relay looks for new events when nobody wakes it.
    pub idle_poll: Duration,
    /// How often a standby relay tries to take the leader lock.
    pub lock_poll: Duration,
}

/// RabbitMQ on this machine with its default account, as in the README's set-up.
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            amqp_url: DEFAULT_AMQP_URL.to_string(),
            exchange: "roster.events".to_string(),
            queue_prefix: "roster".to_string(),
            delivery_limit: 5,
            prefetch: 256,
            confirm_window: 2048,
            confirm_timeout: Duration::from_secs(10),
            reconnect_min: Duration::from_millis(100),
            // Well under the 10 s in which a consumer must be back after the broker's return:
            // a 10 s ceiling let one wait out most of that window before its next attempt.
            reconnect_max: Duration::from_secs(3),
            idle_poll: Duration::from_millis(50),
            lock_poll: Duration::from_millis(500),
        }
    }
}

impl BrokerConfig {
    /// The defaults, on the broker at `amqp_url`.
    pub fn new(amqp_url: impl Into<String>) -> Self {
        BrokerConfig {
            amqp_url: amqp_url.into(),
            ..BrokerConfig::default()
        }
    }

    /// The quorum queue a projection consumes.
    pub fn queue(&self, projection: &str) -> String {
        format!("{}.{projection}", self.queue_prefix)
    }

    /// Where the projection's queue dead-letters messages past the delivery limit.
    pub fn dead_letter_queue(&self, projection: &str) -> String {
        format!("{}.{projection}.dlq", self.queue_prefix)
    }

    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.queue_prefix)
    }
}

impl std::fmt::Debug for BrokerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: show where, not who.
        let url = match self.amqp_url.rsplit_once('@') {
            Some((_, host)) => format!("amqp://…@{host}"),
            None => self.amqp_url.clone(),
        };
        f.debug_struct("BrokerConfig")
            .field("amqp_url", &url)
            .field("exchange", &self.exchange)
            .field("queue_prefix", &self.queue_prefix)
            .field("delivery_limit", &self.delivery_limit)
            .field("prefetch", &self.prefetch)
            .field("confirm_window", &self.confirm_window)
            .field("confirm_timeout", &self.confirm_timeout)
            .field("reconnect_min", &self.reconnect_min)
            .field("reconnect_max", &self.reconnect_max)
            .finish_non_exhaustive()
    }
}
