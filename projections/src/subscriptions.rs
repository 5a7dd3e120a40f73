//! Whether each consumer of a transport holds its subscription right now: the process's own
//! view, which the broker's consumer count cannot give (the broker may count a subscription
//! whose process is gone, and says nothing about which process a queue is missing from).
//!
//! The transport registers each consumer (and the relay) and moves its state as the link goes
//! down and comes back; the server reads the states for `/ready`, the status and `/metrics`.
//! Nothing here does I/O.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// Where one consumer stands with the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Its consumer tag is active on a live channel (the relay: it leads and has its publishing
    /// channel).
    Subscribed,
    /// It should hold a subscription and does not: connecting, recovering, or refused.
    Unsubscribed,
    /// It waits by design: a relay while another process holds the leader lock.
    Standby,
}

/// The consumers of one transport, shared between it and whoever reports on it.
#[derive(Debug, Clone, Default)]
pub struct Subscriptions {
    inner: Arc<Mutex<BTreeMap<String, Entry>>>,
}

#[derive(Debug, Clone)]
struct Entry {
    link: Link,
    /// When `link` last changed, for the grace before a missing subscription counts.
    changed: Instant,
    changed_at: DateTime<Utc>,
    last_subscribed: Option<DateTime<Utc>>,
}

/// One consumer's state as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionState {
    pub name: String,
    pub link: Link,
    /// Since when `link` holds.
    pub since: DateTime<Utc>,
    /// How long `link` has held.
    pub held_for: Duration,
    /// When it last became subscribed (`None`: never, in this process).
    pub last_subscribed: Option<DateTime<Utc>>,
}

impl SubscriptionState {
    /// Without its subscription (and not on standby) for at least `grace`: a reconnect in
    /// progress is not yet a missing consumer.
    pub fn missing(&self, grace: Duration) -> bool {
        self.link == Link::Unsubscribed && self.held_for >= grace
    }
}

impl Subscriptions {
    /// Adds a consumer, unsubscribed until it says otherwise.
    pub fn register(&self, name: &str) -> Subscription {
        self.lock().insert(
            name.to_string(),
            Entry {
                link: Link::Unsubscribed,
                changed: Instant::now(),
                changed_at: Utc::now(),
                last_subscribed: None,
            },
        );
        Subscription {
            name: name.to_string(),
            registry: self.clone(),
        }
    }

    /// Every registered consumer, by name.
    pub fn states(&self) -> Vec<SubscriptionState> {
        self.lock()
            .iter()
            .map(|(name, e)| SubscriptionState {
                name: name.clone(),
                link: e.link,
                since: e.changed_at,
                held_for: e.changed.elapsed(),
                last_subscribed: e.last_subscribed,
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        // A panic while holding this lock leaves plain data behind: keep reporting.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, name: &str, link: Link) {
        let mut entries = self.lock();
        let Some(e) = entries.get_mut(name) else {
            return;
        };
        if e.link == link {
            return;
        }
        let now = Utc::now();
        if link == Link::Subscribed {
            e.last_subscribed = Some(now);
        }
        e.link = link;
        e.changed = Instant::now();
        e.changed_at = now;
    }
}

/// A consumer's handle on its own entry. Dropping it (the consumer stopped) marks it
/// unsubscribed, so a consumer that ended for good is reported, not forgotten.
#[derive(Debug)]
pub struct Subscription {
    name: String,
    registry: Subscriptions,
}

impl Subscription {
    /// A handle nobody reads (a consumer run outside a server, as in tests).
    pub fn detached(name: &str) -> Subscription {
        Subscriptions::default().register(name)
    }

    pub fn set(&self, link: Link) {
        self.registry.set(&self.name, link);
    }

    pub fn subscribed(&self) {
        self.set(Link::Subscribed);
    }

    pub fn unsubscribed(&self) {
        self.set(Link::Unsubscribed);
    }

    pub fn standby(&self) {
        self.set(Link::Standby);
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.unsubscribed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_is_missing_only_after_the_grace() {
        let subs = Subscriptions::default();
        let roster = subs.register("roster");
        let state = |subs: &Subscriptions| subs.states().remove(0);
        assert_eq!(state(&subs).link, Link::Unsubscribed);
        assert!(!state(&subs).missing(Duration::from_secs(60)));
        assert!(state(&subs).missing(Duration::ZERO));
        roster.subscribed();
        let up = state(&subs);
        assert_eq!(up.link, Link::Subscribed);
        assert_eq!(up.last_subscribed, Some(up.since));
        assert!(!up.missing(Duration::ZERO));
        roster.unsubscribed();
        let down = state(&subs);
        assert_eq!(down.last_subscribed, up.last_subscribed, "kept while down");
        assert!(down.missing(Duration::ZERO));
    }

    #[test]
    fn repeating_a_state_keeps_its_since() {
        let subs = Subscriptions::default();
        let relay = subs.register("relay");
        relay.subscribed();
        let first = subs.states()[0].since;
        std::thread::sleep(Duration::from_millis(5));
        relay.subscribed();
        assert_eq!(subs.states()[0].since, first);
    }

    #[test]
    fn standby_is_never_missing_and_a_dropped_consumer_is() {
        let subs = Subscriptions::default();
        let relay = subs.register("relay");
        relay.standby();
        assert!(!subs.states()[0].missing(Duration::ZERO));
        drop(relay);
        assert_eq!(subs.states()[0].link, Link::Unsubscribed);
    }
}
