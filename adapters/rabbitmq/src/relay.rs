//! The outbox relay: tails the event store and announces every event to the exchange, one range
//! notice per window of up to `confirm_window` events (`message`), with publisher confirms,
//! moving its checkpoint only over what the broker has confirmed.
//!
//! One relay is active at a time: it holds a PostgreSQL *session* advisory lock on a connection
//! of its own. A standby relay polls `pg_try_advisory_lock` and takes over when the active one
//! dies or its connection drops (PostgreSQL releases a session lock with its session). Two
//! relays may overlap for a moment (the old one has not yet noticed); that only duplicates
//! messages, which consumers ignore, since the checkpoint commit is compare-and-set.
//!
//! Delivery is at least once: after any fault the relay republishes from its checkpoint.
//!
//! Its `Subscription` says where it stands: on standby while another relay leads, subscribed
//! while it leads with a live publishing channel, unsubscribed while it leads without one. A
//! link seen down for a second ends the window and the connection is rebuilt.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ExchangeKind};
use roster_domain::store::{Checkpoint, EventStore};
use roster_projections::{CommitOutcome, ReadModelStore, Subscription};
use tokio::sync::{oneshot, Notify};
use tokio::time::{Interval, MissedTickBehavior};
use tokio_postgres::{Client, NoTls};

use crate::link::{
    close, connect, recovered, recovery_limit, watch, within, Backoff, Transitions, CALL_TIMEOUT,
    DEAD_LINK_GRACE,
};
use crate::message::{range_message, RangeNotice, RANGE_NOTICE};
use crate::{BrokerConfig, BrokerError};

/// Name of the relay's checkpoint in the read-model store.
pub const RELAY_CHECKPOINT: &str = "relay";

/// Key of the leader lock; differs from the migration lock (`rostermg`).
pub const RELAY_LOCK: i64 = 0x726f_7374_6572_726c; // "rosterrl"

/// How often the leader checks that its lock connection still answers: a connection that died
/// without a FIN (a cut cable) is only noticed this way.
const LOCK_CHECK: Duration = Duration::from_secs(2);

/// What a running relay has done, for `roster status` and tests.
#[derive(Debug, Clone, Default)]
pub struct RelayStats {
    inner: Arc<StatsInner>,
}

#[derive(Debug, Default)]
struct StatsInner {
    published: AtomicU64,
    confirmed: AtomicU64,
    interruptions: AtomicU64,
    leader: AtomicBool,
}

impl RelayStats {
    /// Events announced to the broker (in range notices), republished ones included.
    pub fn published(&self) -> u64 {
        self.inner.published.load(Ordering::Relaxed)
    }

    /// Events confirmed by the broker and checkpointed.
    pub fn confirmed(&self) -> u64 {
        self.inner.confirmed.load(Ordering::Relaxed)
    }

    /// Windows that ended in a fault (broker, store, unconfirmed messages) and were republished.
    pub fn interruptions(&self) -> u64 {
        self.inner.interruptions.load(Ordering::Relaxed)
    }

    /// Whether this relay holds the leader lock right now.
    pub fn is_leader(&self) -> bool {
        self.inner.leader.load(Ordering::Relaxed)
    }
}

pub struct Relay {
    events: Arc<dyn EventStore>,
    checkpoints: Arc<dyn ReadModelStore>,
    lock: tokio_postgres::Config,
    cfg: BrokerConfig,
    wake: Option<Arc<Notify>>,
    stats: RelayStats,
    subscription: Subscription,
}

/// The leader lock, held by the session of `client`.
struct Leadership {
    client: Client,
    closed: oneshot::Receiver<()>,
    check: Interval,
}

impl Leadership {
    /// Resolves once the lock may be gone: the connection ended or stopped answering.
    /// Cancel-safe, so it can sit in every `select!` of the leader.
    async fn lost(&mut self) {
        loop {
            tokio::select! {
                _ = &mut self.closed => return,
                _ = self.check.tick() => {
                    let ping = tokio::time::timeout(CALL_TIMEOUT, self.client.simple_query("SELECT 1"));
                    if !matches!(ping.await, Ok(Ok(_))) {
                        return;
                    }
                }
            }
        }
    }
}

enum Window {
    /// Everything confirmed and checkpointed.
    Done,
    /// The log had nothing after the checkpoint.
    Empty,
}

impl Relay {
    /// `lock` is where the leader lock is taken: normally the event store's own database, so
    /// that relays of different deployments never compete.
    pub fn new(
        events: Arc<dyn EventStore>,
        checkpoints: Arc<dyn ReadModelStore>,
        lock: tokio_postgres::Config,
        cfg: BrokerConfig,
    ) -> Relay {
        Relay {
            events,
            checkpoints,
            lock,
            cfg,
            wake: None,
            stats: RelayStats::default(),
            subscription: Subscription::detached(RELAY_CHECKPOINT),
        }
    }

    /// Reports to `subscription` whether this relay leads with a live publishing channel.
    pub fn report_to(mut self, subscription: Subscription) -> Relay {
        self.subscription = subscription;
        self
    }

    /// Wakes the idle relay at once when `notify` is signalled (`notify_one` after an append),
    /// instead of at its next poll.
    pub fn wake_on(mut self, notify: Arc<Notify>) -> Relay {
        self.wake = Some(notify);
        self
    }

    pub fn stats(&self) -> RelayStats {
        self.stats.clone()
    }

    /// Relays until `shutdown` resolves. Faults of the broker or the databases are retried with
    /// back-off for as long as it runs; it returns an error only for what no retry can fix.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), BrokerError> {
        tokio::select! {
            () = shutdown => Ok(()),
            e = self.lead() => Err(e),
        }
    }

    async fn lead(&self) -> BrokerError {
        let mut backoff = Backoff::new(&self.cfg);
        let mut db = Transitions::new("relay lock (PostgreSQL)");
        loop {
            self.subscription.standby();
            let mut leadership = self.acquire(&mut db).await;
            tracing::info!("relay: took the leader lock; publishing");
            self.stats.inner.leader.store(true, Ordering::Relaxed);
            self.subscription.unsubscribed();
            let e = self.publish_while_leader(&mut leadership).await;
            self.stats.inner.leader.store(false, Ordering::Relaxed);
            self.subscription.standby();
            // Dropping the client ends the session, which releases the lock if it still held.
            drop(leadership);
            if e.is_permanent() {
                return e;
            }
            tracing::warn!(error = %e, "relay: stopped publishing; will try to lead again");
            backoff.wait().await;
        }
    }

    /// Waits until this relay holds the leader lock.
    async fn acquire(&self, db: &mut Transitions) -> Leadership {
        let mut backoff = Backoff::new(&self.cfg);
        let mut standby_logged = false;
        loop {
            let (client, connection) = match within(CALL_TIMEOUT, self.lock.connect(NoTls)).await {
                Ok(pair) => pair,
                Err(e) => {
                    db.down(&e);
                    backoff.wait().await;
                    continue;
                }
            };
            db.up();
            let (tx, closed) = oneshot::channel();
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "relay lock connection ended");
                }
                let _ = tx.send(());
            });
            let mut check = tokio::time::interval(LOCK_CHECK);
            check.set_missed_tick_behavior(MissedTickBehavior::Delay);
            let mut leadership = Leadership {
                client,
                closed,
                check,
            };
            loop {
                let taken = within(
                    CALL_TIMEOUT,
                    leadership
                        .client
                        .query_one("SELECT pg_try_advisory_lock($1)", &[&RELAY_LOCK]),
                )
                .await;
                match taken.map(|row| row.try_get::<_, bool>(0)) {
                    Ok(Ok(true)) => return leadership,
                    Ok(Ok(false)) => {
                        if !standby_logged {
                            tracing::info!(
                                "relay: another relay holds the leader lock; standing by"
                            );
                            standby_logged = true;
                        }
                    }
                    Ok(Err(e)) => {
                        db.down(&e);
                        break;
                    }
                    Err(e) => {
                        db.down(&e);
                        break;
                    }
                }
                tokio::select! {
                    () = tokio::time::sleep(self.cfg.lock_poll) => {}
                    () = leadership.lost() => break,
                }
            }
            backoff.wait().await;
        }
    }

    /// Publishes until the lock is lost (or a permanent error). Rebuilds the broker connection
    /// whenever lapin's own recovery does not bring the channel back.
    async fn publish_while_leader(&self, lead: &mut Leadership) -> BrokerError {
        let mut backoff = Backoff::new(&self.cfg);
        let mut broker = Transitions::new("relay → RabbitMQ");
        let mut store = Transitions::quiet("relay → event store");
        loop {
            let opened = tokio::select! {
                o = self.open() => o,
                () = lead.lost() => return BrokerError::LockLost,
            };
            let (connection, channel) = match opened {
                Ok(pair) => pair,
                Err(e) if e.is_permanent() => return e,
                Err(e) => {
                    self.subscription.unsubscribed();
                    broker.down(&e);
                    tokio::select! {
                        () = backoff.wait() => continue,
                        () = lead.lost() => return BrokerError::LockLost,
                    }
                }
            };
            broker.up();
            self.subscription.subscribed();
            loop {
                let e = tokio::select! {
                    e = self.pump(&channel, &mut backoff, &mut store) => e,
                    () = lead.lost() => return BrokerError::LockLost,
                    // lapin can leave a publish or a confirm pending on a link it is recovering
                    // (or failing to): a dead link ends the window at once, not at the timeouts.
                    () = watch(&connection, &channel, &self.subscription, Some(DEAD_LINK_GRACE)) => {
                        BrokerError::Cancelled("the relay's broker link is down".into())
                    }
                };
                if e.is_permanent() {
                    return e;
                }
                self.stats
                    .inner
                    .interruptions
                    .fetch_add(1, Ordering::Relaxed);
                let keep_channel = match e {
                    BrokerError::Store(_) | BrokerError::Run(_) => {
                        store.down(&e);
                        true
                    }
                    BrokerError::Amqp(_) => {
                        broker.down(&e);
                        self.subscription.unsubscribed();
                        let back = tokio::select! {
                            back = recovered(&connection, &channel, e, recovery_limit(&self.cfg)) => back,
                            () = lead.lost() => return BrokerError::LockLost,
                        };
                        if back {
                            broker.up();
                            self.subscription.subscribed();
                        }
                        back
                    }
                    other => {
                        // Nacked, returned (no queue bound yet?) or unconfirmed: republish from
                        // the checkpoint after a pause, on a new connection if this one is down.
                        tracing::warn!(error = %other, "relay: window not confirmed; republishing from the checkpoint");
                        let alive = connection.status().connected() && channel.status().connected();
                        if !alive {
                            broker.down(&other);
                            self.subscription.unsubscribed();
                        }
                        alive
                    }
                };
                tokio::select! {
                    () = backoff.wait() => {}
                    () = lead.lost() => return BrokerError::LockLost,
                }
                if !keep_channel {
                    break;
                }
            }
            tracing::info!("relay: rebuilding the broker connection");
            self.subscription.unsubscribed();
            close(&connection, "rebuilding").await;
        }
    }

    async fn open(&self) -> Result<(Connection, Channel), BrokerError> {
        let connection = connect(&self.cfg, "roster-relay").await?;
        let channel = within(CALL_TIMEOUT, connection.create_channel()).await?;
        within(
            CALL_TIMEOUT,
            channel.confirm_select(ConfirmSelectOptions::default()),
        )
        .await?;
        // The exchange is ours to publish to, so make sure it exists; queues and bindings are
        // the application's (`declare_topology`). Until one is bound, every message comes back
        // unroutable and the relay waits and retries: nothing is lost.
        within(
            CALL_TIMEOUT,
            channel.exchange_declare(
                self.cfg.exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            ),
        )
        .await?;
        Ok((connection, channel))
    }

    /// Publishes window after window; returns only with the error that stopped it.
    async fn pump(
        &self,
        channel: &Channel,
        backoff: &mut Backoff,
        store: &mut Transitions,
    ) -> BrokerError {
        loop {
            match self.window(channel).await {
                Ok(Window::Done) => {
                    store.up();
                    backoff.reset();
                }
                Ok(Window::Empty) => {
                    store.up();
                    backoff.reset();
                    self.idle().await;
                }
                Err(e) => return e,
            }
        }
    }

    async fn idle(&self) {
        match &self.wake {
            Some(notify) => {
                tokio::select! {
                    () = tokio::time::sleep(self.cfg.idle_poll) => {}
                    () = notify.notified() => {}
                }
            }
            None => tokio::time::sleep(self.cfg.idle_poll).await,
        }
    }

    /// Announces up to `confirm_window` events after the checkpoint as one range notice, waits
    /// for its confirm, then checkpoints the range.
    async fn window(&self, channel: &Channel) -> Result<Window, BrokerError> {
        let from = self.checkpoints.state(RELAY_CHECKPOINT).await?.checkpoint;
        let batch = self
            .events
            .read_all_after(from, self.cfg.confirm_window.max(1))
            .await?;
        let Some(range) = RangeNotice::covering(from, &batch) else {
            return Ok(Window::Empty);
        };
        let (body, properties) = range_message(&range)?;
        let confirm = within(
            CALL_TIMEOUT,
            channel.basic_publish(
                self.cfg.exchange.as_str().into(),
                RANGE_NOTICE.into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                &body,
                properties,
            ),
        )
        .await?;
        self.stats
            .inner
            .published
            .fetch_add(range.events, Ordering::Relaxed);
        let confirmation = tokio::time::timeout(self.cfg.confirm_timeout, confirm)
            .await
            .map_err(|_| BrokerError::ConfirmTimeout {
                message_id: range.message_id(),
                timeout: self.cfg.confirm_timeout,
            })??;
        let ack = confirmation.is_ack();
        if let Some(returned) = confirmation.take_message() {
            return Err(refused(
                &range,
                format!("returned {} {}", returned.reply_code, returned.reply_text),
            ));
        }
        if !ack {
            return Err(refused(&range, "nacked".to_string()));
        }
        self.checkpoint(from, &range).await?;
        Ok(Window::Done)
    }

    async fn checkpoint(&self, from: Checkpoint, sent: &RangeNotice) -> Result<(), BrokerError> {
        let n = sent.events;
        match self
            .checkpoints
            .commit(RELAY_CHECKPOINT, from, sent.through, n, vec![], vec![])
            .await?
        {
            CommitOutcome::Committed => {
                self.stats.inner.confirmed.fetch_add(n, Ordering::Relaxed);
            }
            // Only a relay that lost its lock without noticing yet can get here; the next
            // window starts from whatever the other one stored.
            CommitOutcome::Moved => {
                tracing::warn!("relay: the checkpoint moved under this relay; rereading it");
            }
        }
        Ok(())
    }
}

fn refused(range: &RangeNotice, reason: String) -> BrokerError {
    BrokerError::Refused {
        message_id: range.message_id(),
        reason,
    }
}
