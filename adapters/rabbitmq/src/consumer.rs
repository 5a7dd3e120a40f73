//! A projection's consumer: turns deliveries on `<prefix>.<projection>` into `catch_up` calls.
//!
//! A delivery is a notice that the log reached its checkpoint (see `roster_projections::runner`
//! and the range notices of `message`): the consumer takes every delivery already buffered (up
//! to the prefetch) as one batch, applies the store's events up to the highest checkpoint
//! announced (documents and checkpoint in one transaction per `catch_up` batch of up to
//! `APPLY_BATCH` events), then acks the whole batch with one `multiple` ack. A
//! duplicate announces a checkpoint already passed and is acked for nothing; a lost message is
//! covered by the next one, since events come from the store.
//!
//! A consumer that hears nothing for a few seconds reads the log itself: after broker restarts
//! a subscription can come back at the broker while its deliveries never reach the consumer, so
//! the store keeps the read model current and the consumer resubscribes (at most once a minute).
//! Every call to the broker is bounded in time, acks included.
//!
//! The consumer says whether it holds its subscription (`Subscription`): subscribed once the
//! broker accepted its `basic.consume`, unsubscribed from the moment its connection or channel
//! is seen down until it is subscribed again, so the server can report a consumer that did not
//! come back.
//!
//! A message whose headers or body cannot be decoded is poison: it is rejected with requeue, and
//! the quorum queue's delivery limit moves it to the dead-letter queue while later messages keep
//! flowing.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions, BasicRejectOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, Consumer};
use roster_domain::store::{Checkpoint, EventStore};
use roster_projections::{Follower, Projection, ProjectionFollower, ReadModelStore, Subscription};
use tokio::time::Instant;

use crate::link::{
    close, connect, recovered, recovery_limit, watch, within, Backoff, Transitions, CALL_TIMEOUT,
    DEAD_LINK_GRACE,
};
use crate::message::notice;
use crate::{BrokerConfig, BrokerError};

/// How often an idle consumer checks that its connection is still alive or recovering.
const WATCHDOG: Duration = Duration::from_secs(1);

/// A consumer without deliveries for this long looks at the log itself: deliveries are only
/// notices, so the store says whether it missed any. In the soak, a consumer subscribed again
/// after a broker restart received nothing for 7 s while the log moved on by 5,606 events,
/// until this check (then 5 s) caught it up; at 2 s an idle process costs seven small reads
/// every 2 s.
const QUIET_CHECK: Duration = Duration::from_secs(2);

/// Most events a consumer applies in one read-model transaction. A notice may announce a whole
/// relay window; it is applied in as many batches as it takes.
const APPLY_BATCH: usize = 1000;

/// How long a batch may wait for the store to show the events it announces (PostgreSQL holds
/// back rows while an older transaction is open) or to come back after a failure. Past it the
/// batch is given up unacked, so the broker redelivers it.
const APPLY_PATIENCE: Duration = Duration::from_secs(60);

/// Consumes the projection's queue until `shutdown` resolves, applying what the deliveries
/// announce. Broker and store faults are retried with back-off (lapin's recovery first, then a
/// rebuilt connection); it returns an error only for what no retry can fix. Its subscription
/// state is reported nowhere (see [`run_consumer`]).
pub async fn run_projection_consumer(
    events: Arc<dyn EventStore>,
    models: Arc<dyn ReadModelStore>,
    projection: Arc<dyn Projection>,
    cfg: BrokerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BrokerError> {
    let follower = Arc::new(ProjectionFollower {
        events,
        models,
        projection,
    });
    let subscription = Subscription::detached(follower.name());
    run_consumer(follower, cfg, subscription, shutdown).await
}

/// Consumes the queue of any follower (a read model, the policy consumer) the same way,
/// keeping `subscription` up to date with whether it holds its subscription.
pub async fn run_consumer(
    follower: Arc<dyn Follower>,
    cfg: BrokerConfig,
    subscription: Subscription,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BrokerError> {
    let consumer = ProjectionConsumer {
        follower,
        cfg,
        resubscribed: std::sync::Mutex::new(None),
        subscription,
    };
    tokio::select! {
        () = shutdown => Ok(()),
        e = consumer.supervise() => Err(e),
    }
}

struct ProjectionConsumer {
    follower: Arc<dyn Follower>,
    cfg: BrokerConfig,
    /// When the consumer last resubscribed because the log moved on without deliveries: at most
    /// once a minute (while the relay is down, the store keeps the model current without a
    /// reconnect every few seconds).
    resubscribed: std::sync::Mutex<Option<Instant>>,
    subscription: Subscription,
}

/// The least time between two resubscriptions for silence.
const RESUBSCRIBE_AT_MOST_EVERY: Duration = Duration::from_secs(60);

impl ProjectionConsumer {
    fn name(&self) -> &'static str {
        self.follower.name()
    }

    async fn supervise(&self) -> BrokerError {
        let mut backoff = Backoff::new(&self.cfg);
        let mut broker = Transitions::new(format!("consumer {} → RabbitMQ", self.name()));
        loop {
            let (connection, channel, mut deliveries) = match self.open().await {
                Ok(opened) => opened,
                Err(e) if e.is_permanent() => return e,
                Err(e) => {
                    tracing::debug!(projection = self.name(), error = %e, "consumer: subscribing failed");
                    broker.down(&e);
                    backoff.wait().await;
                    continue;
                }
            };
            broker.up();
            backoff.reset();
            self.subscription.subscribed();
            loop {
                // The watch keeps the subscription state true while a batch is applied.
                let e = tokio::select! {
                    e = self.consume(&connection, &channel, &mut deliveries) => e,
                    () = watch(&connection, &channel, &self.subscription, None) => unreachable!("watches for good"),
                };
                self.subscription.unsubscribed();
                if e.is_permanent() {
                    return e;
                }
                let keep_channel = match e {
                    BrokerError::Amqp(_) => {
                        broker.down(&e);
                        let back =
                            recovered(&connection, &channel, e, recovery_limit(&self.cfg)).await;
                        if back {
                            // lapin's recovery consumes again with the same tag.
                            broker.up();
                            self.subscription.subscribed();
                        }
                        back
                    }
                    other => {
                        tracing::warn!(projection = self.name(), error = %other, "consumer: rebuilding; unacked deliveries come back");
                        broker.down(&other);
                        false
                    }
                };
                if !keep_channel {
                    break;
                }
            }
            tracing::info!(
                projection = self.name(),
                "consumer: rebuilding the broker connection"
            );
            close(&connection, "rebuilding").await;
            backoff.wait().await;
        }
    }

    /// Whether a resubscription for silence is due (and, if so, records it).
    fn may_resubscribe(&self) -> bool {
        let mut last = self.resubscribed.lock().expect("resubscribed");
        if last.is_some_and(|at| at.elapsed() < RESUBSCRIBE_AT_MOST_EVERY) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    async fn open(&self) -> Result<(Connection, Channel, Consumer), BrokerError> {
        let name = self.name();
        let connection = connect(&self.cfg, &format!("roster-consumer-{name}")).await?;
        let channel = within(CALL_TIMEOUT, connection.create_channel()).await?;
        within(
            CALL_TIMEOUT,
            channel.basic_qos(self.cfg.prefetch, BasicQosOptions::default()),
        )
        .await?;
        let tag = format!("roster-{name}-{}", uuid::Uuid::new_v4().simple());
        let deliveries = within(
            CALL_TIMEOUT,
            channel.basic_consume(
                self.cfg.queue(name).as_str().into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            ),
        )
        .await?;
        Ok((connection, channel, deliveries))
    }

    /// Applies batch after batch; returns only with the error that stopped it.
    async fn consume(
        &self,
        connection: &Connection,
        channel: &Channel,
        deliveries: &mut Consumer,
    ) -> BrokerError {
        let limit = usize::from(self.cfg.prefetch.max(1));
        let mut unhealthy_since: Option<Instant> = None;
        let mut quiet_since = Instant::now();
        loop {
            let next = tokio::select! {
                next = deliveries.next() => next,
                // lapin does not always tell its consumers that the connection is gone (a
                // broker-initiated close can leave it closing for good, with no error on the
                // stream): look at the connection, and rebuild when it stays down.
                () = tokio::time::sleep(WATCHDOG) => {
                    let status = connection.status();
                    if status.connected() {
                        // lapin recovers channels after the connection, consuming again with
                        // the same tag: subscribed once the channel is back too. A channel the
                        // broker closed under a live connection is rebuilt like a dead link.
                        if !channel.status().connected() {
                            self.subscription.unsubscribed();
                            let since = *unhealthy_since.get_or_insert_with(Instant::now);
                            if since.elapsed() >= recovery_limit(&self.cfg) {
                                return BrokerError::Cancelled(format!(
                                    "the channel of the {} consumer is closed and lapin is not \
                                     bringing it back",
                                    self.name()
                                ));
                            }
                            continue;
                        }
                        self.subscription.subscribed();
                        unhealthy_since = None;
                        // Connected yet silent: after a broker restart a subscription can come
                        // back at the broker while its deliveries never reach this stream (the
                        // queue's single active consumer is then a subscription nobody reads).
                        // The log is the truth: apply what it holds, and when it held something
                        // no delivery announced, rebuild the subscription.
                        if quiet_since.elapsed() >= QUIET_CHECK {
                            quiet_since = Instant::now();
                            match tokio::time::timeout(
                                APPLY_PATIENCE,
                                self.follower.follow(None, APPLY_BATCH),
                            )
                            .await
                            {
                                Ok(Ok(progress)) if progress.applied > 0 && self.may_resubscribe() => {
                                    return BrokerError::Cancelled(format!(
                                        "the {} consumer received no delivery while the log moved on by {} events; resubscribing",
                                        self.name(),
                                        progress.applied
                                    ));
                                }
                                Ok(Ok(_)) => {}
                                Ok(Err(e)) => tracing::warn!(projection = self.name(), error = %e, "consumer: catching up from the store failed"),
                                Err(_) => tracing::warn!(projection = self.name(), "consumer: catching up from the store timed out"),
                            }
                        }
                        continue;
                    }
                    // No live channel, no subscription, whatever lapin is about to do.
                    self.subscription.unsubscribed();
                    let since = *unhealthy_since.get_or_insert_with(Instant::now);
                    let grace = if status.reconnecting() {
                        recovery_limit(&self.cfg)
                    } else {
                        WATCHDOG * 2
                    };
                    if status.errored() || status.closed() || since.elapsed() >= grace {
                        return BrokerError::Cancelled(format!(
                            "the connection of the {} consumer is down and lapin is not \
                             bringing it back",
                            self.name()
                        ));
                    }
                    continue;
                }
            };
            quiet_since = Instant::now();
            let first = match next {
                Some(Ok(d)) => {
                    // A delivery proves the subscription, also after lapin recovered it
                    // unseen (under load the watchdog above never gets to look).
                    self.subscription.subscribed();
                    d
                }
                Some(Err(e)) => return e.into(),
                None => {
                    return BrokerError::Cancelled(format!(
                        "the broker cancelled the consumer of {}",
                        self.cfg.queue(self.name())
                    ))
                }
            };
            let mut batch = vec![first];
            let mut pending = None;
            while batch.len() < limit {
                match deliveries.next().now_or_never() {
                    Some(Some(Ok(d))) => batch.push(d),
                    Some(Some(Err(e))) => {
                        pending = Some(BrokerError::from(e));
                        break;
                    }
                    Some(None) | None => break,
                }
            }
            if let Err(e) = self.handle(connection, channel, &batch).await {
                return e;
            }
            if let Some(e) = pending {
                return e;
            }
        }
    }

    #[tracing::instrument(level = "debug", name = "deliveries", skip_all, fields(follower = self.follower.name(), messages = batch.len()))]
    async fn handle(
        &self,
        connection: &Connection,
        channel: &Channel,
        batch: &[Delivery],
    ) -> Result<(), BrokerError> {
        let mut target: Option<Checkpoint> = None;
        let mut last_good: Option<&Delivery> = None;
        for d in batch {
            match notice(&d.properties, &d.data) {
                Ok(checkpoint) => {
                    target = target.max(Some(checkpoint));
                    if last_good.is_none_or(|l| d.delivery_tag > l.delivery_tag) {
                        last_good = Some(d);
                    }
                }
                Err(reason) => {
                    tracing::warn!(
                        projection = self.name(),
                        message_id = ?d.properties.message_id(),
                        redelivered = d.redelivered,
                        %reason,
                        "consumer: poison message rejected; the delivery limit will dead-letter it"
                    );
                    // Before the batch's `multiple` ack, which would otherwise cover it.
                    self.settle(
                        connection,
                        channel,
                        d.acker.reject(BasicRejectOptions { requeue: true }),
                    )
                    .await?;
                }
            }
        }
        let (Some(target), Some(last)) = (target, last_good) else {
            return Ok(());
        };
        self.apply_until(target).await?;
        // Bounded: across a broker restart lapin may never settle an ack on a channel it is
        // recovering, and this consumer then waited on it for good while the broker counted
        // the (recovered) subscription as alive; its read model fell behind without a word.
        // Giving up rebuilds the connection; unacked deliveries come back as duplicates.
        if !self
            .settle(
                connection,
                channel,
                last.acker.ack(BasicAckOptions { multiple: true }),
            )
            .await?
        {
            // The channel died since the delivery: the broker redelivers the batch, which is
            // then acked as duplicates.
            tracing::debug!(
                projection = self.name(),
                "consumer: ack lost with its channel"
            );
        }
        Ok(())
    }

    /// An ack or reject: given up after `CALL_TIMEOUT`, or sooner once the link is down (an
    /// ack on a dead channel waited out the whole timeout after a broker restart, while the
    /// other consumers were long back).
    async fn settle<T>(
        &self,
        connection: &Connection,
        channel: &Channel,
        call: impl Future<Output = Result<T, lapin::Error>>,
    ) -> Result<T, BrokerError> {
        tokio::select! {
            result = within(CALL_TIMEOUT, call) => result,
            () = watch(connection, channel, &self.subscription, Some(DEAD_LINK_GRACE)) => {
                Err(BrokerError::Cancelled(format!(
                    "the link of the {} consumer went down while it acknowledged",
                    self.name()
                )))
            }
        }
    }

    async fn apply_until(&self, target: Checkpoint) -> Result<(), BrokerError> {
        let started = Instant::now();
        let mut backoff = Backoff::new(&self.cfg);
        let mut store = Transitions::quiet(format!("consumer {} → stores", self.name()));
        loop {
            match self.follower.follow(Some(target), APPLY_BATCH).await {
                Ok(progress) if progress.checkpoint >= target => {
                    store.up();
                    return Ok(());
                }
                // The store does not show the announced events yet.
                Ok(_) => tokio::time::sleep(self.cfg.idle_poll).await,
                Err(e) => {
                    store.down(&e);
                    backoff.wait().await;
                }
            }
            if started.elapsed() > APPLY_PATIENCE {
                return Err(BrokerError::Timeout(APPLY_PATIENCE));
            }
        }
    }
}
