//! What the relay and the consumers share about staying connected: opening a connection with
//! lapin's own recovery on, waiting (boundedly) for that recovery after an error, the back-off
//! of the supervisor loop that rebuilds a connection when recovery gives up, and logging each
//! up/down transition once rather than once per failed attempt.

use std::future::Future;
use std::time::Duration;

use lapin::{Channel, Connection, ConnectionProperties};
use roster_projections::Subscription;

use crate::{BrokerConfig, BrokerError};

/// lapin's own reconnection attempts before it gives up and the supervisor takes over.
const RECOVERY_ATTEMPTS: usize = 6;

/// Opening a connection never hangs longer than this (a broker whose app is stopped may
/// accept TCP and then say nothing).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Every other call to the broker (channel, declarations, consume, ack, reject, publish) gives
/// up after this long: a broker that stopped answering must not stop a relay or a consumer for
/// good. Confirms have their own limit (`BrokerConfig::confirm_timeout`).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Closing is a courtesy to the broker: never waited on for longer than this.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Connects with automatic recovery, bounded exponential back-off between lapin's attempts, and
/// `name` shown in the management UI and `rabbitmqctl list_connections`.
pub async fn connect(cfg: &BrokerConfig, name: &str) -> Result<Connection, BrokerError> {
    let (min, max) = (cfg.reconnect_min, cfg.reconnect_max);
    let properties = ConnectionProperties::default()
        .with_connection_name(name.into())
        .enable_auto_recover()
        .configure_backoff(move |b| {
            b.with_min_delay(min)
                .with_max_delay(max)
                .with_max_times(RECOVERY_ATTEMPTS)
                .with_jitter()
        });
    within(
        CONNECT_TIMEOUT,
        Connection::connect(&cfg.amqp_url, properties),
    )
    .await
}

/// Closes `connection`, waiting at most a second: the link may already be dead.
pub async fn close(connection: &Connection, reason: &str) {
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, connection.close(200, reason.into())).await;
}

/// Closes `channel`, waiting at most a second.
pub(crate) async fn close_channel(channel: &Channel, reason: &str) {
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, channel.close(200, reason.into())).await;
}

/// Opens a channel on `connection`, or `BrokerError::Timeout` after [`CALL_TIMEOUT`].
pub async fn open_channel(connection: &Connection) -> Result<Channel, BrokerError> {
    within(CALL_TIMEOUT, connection.create_channel()).await
}

/// `fut`, or `BrokerError::Timeout` after `limit`: how every await on the broker is bounded.
pub(crate) async fn within<T, E>(
    limit: Duration,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, BrokerError>
where
    BrokerError: From<E>,
{
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result.map_err(BrokerError::from),
        Err(_) => Err(BrokerError::Timeout(limit)),
    }
}

/// After `error` on `channel`: whether lapin recovered the channel (connection, topology,
/// consumers, confirm mode) within `limit`. `false` means the caller must rebuild it.
///
/// lapin's notifier alone is not enough: an error raised while it was already reconnecting may
/// carry none, and when lapin exhausts its attempts the notifier never fires. So the connection's
/// state is watched too: back to `Connected` means recovered, `Error`/`Closed` means given up.
pub(crate) async fn recovered(
    connection: &Connection,
    channel: &Channel,
    error: BrokerError,
    limit: Duration,
) -> bool {
    let BrokerError::Amqp(error) = error else {
        return channel.status().connected();
    };
    let deadline = tokio::time::Instant::now() + limit;
    let notified = channel.wait_for_recovery(error);
    tokio::pin!(notified);
    let mut notifier_pending = true;
    let mut connected_polls = 0;
    let mut channel_behind_since: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            result = &mut notified, if notifier_pending => {
                notifier_pending = false;
                if result.is_ok() && channel.status().connected() {
                    return true;
                }
            }
            () = tokio::time::sleep(STATE_POLL) => {}
        }
        let status = connection.status();
        if status.errored() || status.closed() {
            return false;
        }
        if status.connected() && channel.status().connected() {
            connected_polls += 1;
            // Without a notifier to wait for, or when it stays silent although the link is
            // back: a few polls in a row of a connected channel is recovery.
            if !notifier_pending || connected_polls >= 3 {
                return true;
            }
        } else {
            connected_polls = 0;
            // The connection is back and the channel is not: lapin's channel recovery failed
            // or stalls (after broker restarts a relay waited out the whole limit this way). A
            // new connection is quicker.
            if status.connected() {
                let since = *channel_behind_since.get_or_insert_with(tokio::time::Instant::now);
                if since.elapsed() >= CHANNEL_RECOVERY {
                    return false;
                }
            } else {
                channel_behind_since = None;
            }
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::debug!(
                connection_connected = status.connected(),
                connection_reconnecting = status.reconnecting(),
                channel_connected = channel.status().connected(),
                channel_reconnecting = channel.status().reconnecting(),
                notifier_pending,
                "lapin did not recover within {limit:?}"
            );
            return false;
        }
    }
}

/// How often `recovered` and `watch` look at the connection's state.
const STATE_POLL: Duration = Duration::from_millis(100);

/// How long a call may wait on a link that is down before it is given up: lapin can leave an
/// ack or a publish pending on a connection it is recovering (or failing to), and then the
/// caller is stuck and its subscription state stale until the call's own timeout.
pub(crate) const DEAD_LINK_GRACE: Duration = Duration::from_secs(1);

/// Keeps `subscription` true to the link while it runs: subscribed while the connection and
/// `channel` are up (lapin's recovery consumes again with the same tag, or the relay can
/// publish), unsubscribed as soon as either is seen down. Resolves once the link has been down
/// for `give_up` without a break; never, with `None`.
pub(crate) async fn watch(
    connection: &Connection,
    channel: &Channel,
    subscription: &Subscription,
    give_up: Option<Duration>,
) {
    let mut down_since: Option<tokio::time::Instant> = None;
    loop {
        if connection.status().connected() && channel.status().connected() {
            subscription.subscribed();
            down_since = None;
        } else {
            subscription.unsubscribed();
            let since = *down_since.get_or_insert_with(tokio::time::Instant::now);
            if give_up.is_some_and(|limit| since.elapsed() >= limit) {
                return;
            }
        }
        tokio::time::sleep(STATE_POLL).await;
    }
}

/// How long a recovered connection may stay without its channel before it is rebuilt.
const CHANNEL_RECOVERY: Duration = Duration::from_secs(2);

/// What a recovery's handshake may take. Shorter than `CONNECT_TIMEOUT`: giving up on lapin's
/// recovery only means a connection of our own, which then has the full timeout.
const RECOVERY_HANDSHAKE: Duration = Duration::from_secs(3);

/// How long lapin may take to recover before the supervisor rebuilds: its back-off delays plus
/// one handshake. Usually the connection state says sooner that it gave up.
pub(crate) fn recovery_limit(cfg: &BrokerConfig) -> Duration {
    let mut total = RECOVERY_HANDSHAKE;
    let mut delay = cfg.reconnect_min;
    for _ in 0..RECOVERY_ATTEMPTS {
        total += delay;
        delay = (delay * 2).min(cfg.reconnect_max);
    }
    total
}

/// Exponential back-off between `min` and `max`, doubled per failure, reset by a success.
#[derive(Debug)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub(crate) fn new(cfg: &BrokerConfig) -> Self {
        Backoff {
            min: cfg.reconnect_min,
            max: cfg.reconnect_max.max(cfg.reconnect_min),
            next: cfg.reconnect_min,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.next = self.min;
    }

    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }

    pub(crate) async fn wait(&mut self) {
        tokio::time::sleep(self.next_delay()).await;
    }
}

/// Logs a link going down or coming back once per transition, not once per attempt.
#[derive(Debug)]
pub(crate) struct Transitions {
    what: String,
    up: Option<bool>,
    announce_first: bool,
}

impl Transitions {
    /// A link whose first success is worth a line (a connection being made).
    pub(crate) fn new(what: impl Into<String>) -> Self {
        Transitions {
            what: what.into(),
            up: None,
            announce_first: true,
        }
    }

    /// A link that is only news when it fails and comes back (store calls per batch).
    pub(crate) fn quiet(what: impl Into<String>) -> Self {
        Transitions {
            announce_first: false,
            ..Transitions::new(what)
        }
    }

    pub(crate) fn up(&mut self) {
        match self.up {
            Some(false) => tracing::info!(link = %self.what, "recovered"),
            None if self.announce_first => tracing::info!(link = %self.what, "connected"),
            _ => {}
        }
        self.up = Some(true);
    }

    pub(crate) fn down(&mut self, error: &dyn std::fmt::Display) {
        if self.up != Some(false) {
            tracing::warn!(link = %self.what, %error, "unavailable; retrying with back-off");
        }
        self.up = Some(false);
    }
}
