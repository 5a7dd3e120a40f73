//! One read of the log for all the followers of a process.
//!
//! Every read model and the policy consumer read the same events from the store, one after the
//! other: seven reads of each event, each costing the database its JSON output and the process
//! its parsing (in the pipeline benchmark, most of the CPU). `SharedLog` wraps the event store and
//! keeps the most recent stretch of the log it has read (`capacity` events): a follower asking
//! for events the stretch holds gets copies of them without a query, and while one follower
//! fetches past the end of the stretch the others wait for that fetch instead of issuing their
//! own.
//!
//! This is sound because the store's `read_all_after` is gap-safe: the events after a checkpoint
//! come back in one order that later reads only extend (an event becomes visible only once every
//! transaction before it is settled), so a stretch read once is the log's content for good.
//! Every other call goes straight to the store.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use roster_domain::store::{
    AppendOutcome, AuditEntry, Checkpoint, CommandRecord, Commit, EventStore, StoreError,
    StoredEvent,
};
use uuid::Uuid;

/// Events a stretch holds by default: seconds of the log at the rates the system sees, a few
/// tens of MB at most.
pub const DEFAULT_CAPACITY: usize = 8192;

pub struct SharedLog {
    inner: Arc<dyn EventStore>,
    stretch: Mutex<Stretch>,
    /// Held while one fetch past the end of the stretch is under way.
    fetching: tokio::sync::Mutex<()>,
    capacity: usize,
}

/// A contiguous stretch of the log: every event after `after`, through the last one held.
#[derive(Default)]
struct Stretch {
    after: Checkpoint,
    events: VecDeque<StoredEvent>,
}

impl Stretch {
    fn end(&self) -> Checkpoint {
        self.events
            .back()
            .map_or(self.after, StoredEvent::checkpoint)
    }

    /// The events after `from`, if the stretch holds at least one of them.
    fn read(&self, from: Checkpoint, limit: usize) -> Option<Vec<StoredEvent>> {
        if self.events.is_empty() || from < self.after || from >= self.end() {
            return None;
        }
        let start = self.events.partition_point(|e| e.checkpoint() <= from);
        Some(self.events.range(start..).take(limit).cloned().collect())
    }

    /// Adds what a read after `from` returned, where it joins the stretch; a read ahead of the
    /// stretch starts a new one; a read wholly behind it is not kept.
    fn remember(&mut self, from: Checkpoint, fetched: &[StoredEvent], capacity: usize) {
        let Some(last) = fetched.last() else {
            return;
        };
        let end = self.end();
        if self.events.is_empty() || from > end {
            self.after = from;
            self.events = fetched.iter().cloned().collect();
        } else if from >= self.after {
            self.events
                .extend(fetched.iter().filter(|e| e.checkpoint() > end).cloned());
        } else if last.checkpoint() >= self.after {
            for e in fetched
                .iter()
                .rev()
                .filter(|e| e.checkpoint() <= self.after)
            {
                self.events.push_front(e.clone());
            }
            self.after = from;
        } else {
            return;
        }
        while self.events.len() > capacity {
            if let Some(e) = self.events.pop_front() {
                self.after = e.checkpoint();
            }
        }
    }
}

impl SharedLog {
    pub fn new(inner: Arc<dyn EventStore>, capacity: usize) -> SharedLog {
        SharedLog {
            inner,
            stretch: Mutex::new(Stretch::default()),
            fetching: tokio::sync::Mutex::new(()),
            capacity: capacity.max(1),
        }
    }

    fn cached(&self, from: Checkpoint, limit: usize) -> Option<Vec<StoredEvent>> {
        self.stretch.lock().expect("shared log").read(from, limit)
    }

    async fn fetch(&self, from: Checkpoint, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let fetched = self.inner.read_all_after(from, limit).await?;
        self.stretch
            .lock()
            .expect("shared log")
            .remember(from, &fetched, self.capacity);
        Ok(fetched)
    }
}

#[async_trait]
impl EventStore for SharedLog {
    async fn append(&self, commit: Commit) -> Result<AppendOutcome, StoreError> {
        self.inner.append(commit).await
    }

    async fn find_command(&self, command_id: Uuid) -> Result<Option<CommandRecord>, StoreError> {
        self.inner.find_command(command_id).await
    }

    async fn load_stream(
        &self,
        stream_id: &str,
        after_version: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.load_stream(stream_id, after_version).await
    }

    async fn read_all_after(
        &self,
        after: Checkpoint,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        if let Some(hit) = self.cached(after, limit) {
            return Ok(hit);
        }
        let behind = {
            let stretch = self.stretch.lock().expect("shared log");
            !stretch.events.is_empty() && after < stretch.after
        };
        if behind {
            // A follower far behind the others reads on its own, without holding them up.
            return self.fetch(after, limit).await;
        }
        let _turn = self.fetching.lock().await;
        // Another follower may have fetched these while this one waited.
        if let Some(hit) = self.cached(after, limit) {
            return Ok(hit);
        }
        self.fetch(after, limit).await
    }

    async fn count_after(&self, after: Checkpoint) -> Result<u64, StoreError> {
        self.inner.count_after(after).await
    }

    async fn stream_ids(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.stream_ids(prefix).await
    }

    async fn record_refusal(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.inner.record_refusal(entry).await
    }

    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.audit_log(limit).await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn cp(global_position: i64) -> Checkpoint {
        Checkpoint {
            transaction_id: 1,
            global_position,
        }
    }

    fn event(global_position: i64) -> StoredEvent {
        roster_domain::samples::stored_event(1, global_position)
    }

    fn events(range: std::ops::RangeInclusive<i64>) -> Vec<StoredEvent> {
        range.map(event).collect()
    }

    fn positions(events: &[StoredEvent]) -> Vec<i64> {
        events.iter().map(|e| e.global_position).collect()
    }

    #[test]
    fn a_stretch_answers_only_for_what_it_holds_after_the_checkpoint() {
        let mut s = Stretch::default();
        assert!(s.read(cp(0), 10).is_none(), "empty");
        s.remember(cp(0), &events(1..=5), 100);
        assert_eq!(positions(&s.read(cp(0), 10).unwrap()), vec![1, 2, 3, 4, 5]);
        assert_eq!(positions(&s.read(cp(2), 2).unwrap()), vec![3, 4]);
        assert!(s.read(cp(5), 10).is_none(), "at its end: the store decides");
        // A read from its end extends it.
        s.remember(cp(5), &events(6..=8), 100);
        assert_eq!(positions(&s.read(cp(4), 10).unwrap()), vec![5, 6, 7, 8]);
        // An overlapping read adds only what is new.
        s.remember(cp(6), &events(7..=9), 100);
        assert_eq!(
            positions(&s.read(cp(0), 100).unwrap()),
            (1..=9).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_stretch_keeps_the_newest_events_up_to_its_capacity() {
        let mut s = Stretch::default();
        s.remember(cp(0), &events(1..=8), 4);
        assert_eq!(s.after, cp(4));
        assert!(s.read(cp(2), 10).is_none(), "behind the stretch");
        assert_eq!(positions(&s.read(cp(4), 10).unwrap()), vec![5, 6, 7, 8]);
        // A read wholly behind it is not kept; one ahead of it starts a new stretch.
        s.remember(cp(0), &events(1..=3), 4);
        assert_eq!(s.after, cp(4));
        s.remember(cp(20), &events(21..=22), 4);
        assert_eq!(s.after, cp(20));
        assert_eq!(positions(&s.read(cp(20), 10).unwrap()), vec![21, 22]);
        // One that reaches it from behind is joined to its front.
        s.remember(cp(18), &events(19..=21), 4);
        assert_eq!(
            positions(&s.read(cp(18), 10).unwrap()),
            vec![19, 20, 21, 22]
        );
    }

    /// A log of `n` events that counts the reads it serves.
    pub(crate) struct CountingLog {
        pub(crate) log: Vec<StoredEvent>,
        pub(crate) reads: AtomicUsize,
    }

    #[async_trait]
    impl EventStore for CountingLog {
        async fn append(&self, _: Commit) -> Result<AppendOutcome, StoreError> {
            unreachable!("read only")
        }
        async fn find_command(&self, _: Uuid) -> Result<Option<CommandRecord>, StoreError> {
            Ok(None)
        }
        async fn load_stream(&self, _: &str, _: u64) -> Result<Vec<StoredEvent>, StoreError> {
            Ok(vec![])
        }
        async fn read_all_after(
            &self,
            after: Checkpoint,
            limit: usize,
        ) -> Result<Vec<StoredEvent>, StoreError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok(self
                .log
                .iter()
                .filter(|e| e.checkpoint() > after)
                .take(limit)
                .cloned()
                .collect())
        }
        async fn stream_ids(&self, _: &str) -> Result<Vec<String>, StoreError> {
            Ok(vec![])
        }
        async fn record_refusal(&self, _: AuditEntry) -> Result<(), StoreError> {
            Ok(())
        }
        async fn audit_log(&self, _: usize) -> Result<Vec<AuditEntry>, StoreError> {
            Ok(vec![])
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn seven_followers_reading_the_same_log_read_the_store_about_once() {
        let store = Arc::new(CountingLog {
            log: events(1..=2000),
            reads: AtomicUsize::new(0),
        });
        let shared = Arc::new(SharedLog::new(store.clone(), 4096));
        let mut readers = Vec::new();
        for _ in 0..7 {
            let shared = shared.clone();
            readers.push(tokio::spawn(async move {
                let (mut from, mut seen) = (cp(0), Vec::new());
                loop {
                    let batch = shared.read_all_after(from, 100).await.unwrap();
                    let Some(last) = batch.last() else {
                        return seen;
                    };
                    from = last.checkpoint();
                    seen.extend(positions(&batch));
                }
            }));
        }
        for r in readers {
            assert_eq!(r.await.unwrap(), (1..=2000).collect::<Vec<_>>());
        }
        // 20 batches of 100 and the final empty read, each once (a reader may find the end a
        // little earlier than another and read it again).
        let reads = store.reads.load(Ordering::SeqCst);
        assert!(reads <= 21 + 7, "{reads} reads of the store for 7 readers");
    }
}
