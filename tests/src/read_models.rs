//! The read-model store contract: what every `ReadModelStore` (PostgreSQL, SQLite, in memory)
//! must do, as assertions over the port alone, plus the projection runner over a real event
//! store. Each case expects empty, migrated stores of its own.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use roster_domain::store::{Checkpoint, EventStore, ExpectedVersion, StoredEvent};
use roster_projections::{
    catch_up, CommitOutcome, DeadLetter, DocChange, Progress, Projection, ReadModelStore,
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::contract::{commit, events, now, read_all_until, to_stream};

// ---------------------------------------------------------------------------------------------
// Fixtures

pub fn cp(transaction_id: u64, global_position: i64) -> Checkpoint {
    Checkpoint {
        transaction_id,
        global_position,
    }
}

pub fn put(key: &str, doc: Value) -> DocChange {
    DocChange {
        key: key.to_string(),
        doc: Some(doc),
    }
}

pub fn delete(key: &str) -> DocChange {
    DocChange {
        key: key.to_string(),
        doc: None,
    }
}

pub fn dead_letter(projection: &str, global_position: i64, reason: &str) -> DeadLetter {
    DeadLetter {
        projection: projection.to_string(),
        global_position,
        transaction_id: 7,
        event_id: Uuid::new_v4(),
        event_type: "PlatformRegistered".to_string(),
        reason: reason.to_string(),
        recorded_at: now(),
        replayed_at: None,
    }
}

async fn must_commit(
    store: &dyn ReadModelStore,
    projection: &str,
    from: Checkpoint,
    to: Checkpoint,
    applied: u64,
    changes: Vec<DocChange>,
    dead: Vec<DeadLetter>,
) {
    assert_eq!(
        store
            .commit(projection, from, to, applied, changes, dead)
            .await
            .expect("commit"),
        CommitOutcome::Committed,
        "commit of {projection} from {from:?}"
    );
}

fn keys(docs: &[(String, Value)]) -> Vec<&str> {
    docs.iter().map(|(k, _)| k.as_str()).collect()
}

/// Counts the events of each stream into a document `stream/<id>`. It refuses an event whose
/// version is not above the last one it counted, so applying anything twice (or out of order)
/// shows up as a dead letter; and it refuses any event whose payload says `"poison": true`.
pub struct CountPerStream;

impl Projection for CountPerStream {
    fn name(&self) -> &'static str {
        "count_per_stream"
    }

    fn keys(&self, event: &StoredEvent) -> Vec<String> {
        vec![format!("stream/{}", event.stream_id)]
    }

    fn apply(
        &self,
        event: &StoredEvent,
        docs: &mut BTreeMap<String, Option<Value>>,
    ) -> Result<(), String> {
        if event.payload.get("poison") == Some(&Value::Bool(true)) {
            return Err("payload marked poison".to_string());
        }
        let key = format!("stream/{}", event.stream_id);
        let doc = docs.get(&key).cloned().flatten();
        let count = doc.as_ref().and_then(|d| d["count"].as_u64()).unwrap_or(0);
        let last = doc
            .as_ref()
            .and_then(|d| d["last_version"].as_u64())
            .unwrap_or(0);
        if event.version <= last {
            return Err(format!(
                "version {} after {last}: applied twice or out of order",
                event.version
            ));
        }
        docs.insert(
            key,
            Some(json!({ "count": count + 1, "last_version": event.version })),
        );
        Ok(())
    }
}

/// Runs `catch_up` until `stored_as` reaches `target`. A PostgreSQL reader legitimately holds
/// back rows while an older transaction is open anywhere on the server (tests run in parallel),
/// so one call may stop short.
pub async fn catch_up_to(
    events: &dyn EventStore,
    models: &dyn ReadModelStore,
    projection: &dyn Projection,
    stored_as: &str,
    target: Checkpoint,
    batch_size: usize,
) -> Progress {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut total = Progress::default();
    loop {
        let p = catch_up(events, models, projection, stored_as, None, batch_size)
            .await
            .expect("catch_up");
        total.applied += p.applied;
        total.dead_lettered += p.dead_lettered;
        total.checkpoint = p.checkpoint;
        if p.checkpoint >= target {
            return total;
        }
        assert!(
            Instant::now() < deadline,
            "catch_up of {stored_as} stalled at {:?}, short of {target:?}",
            p.checkpoint
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Appends `per_stream` events to each of `streams` streams named `<prefix>-<i>`, in commits of
/// at most 10 events, and returns every stored event once they are all readable.
pub async fn append_streams(
    store: &dyn EventStore,
    prefix: &str,
    streams: usize,
    per_stream: usize,
    after: Checkpoint,
) -> Vec<StoredEvent> {
    for s in 0..streams {
        let stream_id = format!("{prefix}-{s}");
        let mut version = 0u64;
        while (version as usize) < per_stream {
            let n = (per_stream - version as usize).min(10);
            store
                .append(commit(vec![to_stream(
                    &stream_id,
                    ExpectedVersion::from_current(version),
                    events(&stream_id, n),
                )]))
                .await
                .expect("append");
            version += n as u64;
        }
    }
    read_all_until(store, after, streams * per_stream, 500).await
}

/// What `CountPerStream` must hold after applying `events` once each.
pub fn expected_counts(events: &[StoredEvent]) -> Vec<(String, Value)> {
    let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for e in events {
        let entry = counts.entry(format!("stream/{}", e.stream_id)).or_default();
        entry.0 += 1;
        entry.1 = entry.1.max(e.version);
    }
    counts
        .into_iter()
        .map(|(k, (count, last))| (k, json!({ "count": count, "last_version": last })))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Store cases

pub async fn commit_then_load_and_scan(store: &dyn ReadModelStore) {
    let fresh = store.state("catalog").await.unwrap();
    assert_eq!(fresh.checkpoint, Checkpoint::START);
    assert_eq!((fresh.applied, fresh.updated_at), (0, None));

    must_commit(
        store,
        "catalog",
        Checkpoint::START,
        cp(10, 3),
        3,
        vec![
            put("platform/b", json!({ "name": "B" })),
            put(
                "platform/a",
                json!({ "name": "A", "nested": { "n": [1, 2] } }),
            ),
            put("round/2025", json!({ "slots": 5 })),
        ],
        vec![],
    )
    .await;
    let state = store.state("catalog").await.unwrap();
    assert_eq!(state.projection, "catalog");
    assert_eq!((state.checkpoint, state.applied), (cp(10, 3), 3));
    assert!(state.updated_at.is_some());

    let wanted = ["platform/a".to_string(), "platform/zz".to_string()];
    let loaded = store.load("catalog", &wanted).await.unwrap();
    assert_eq!(
        loaded,
        BTreeMap::from([(
            "platform/a".to_string(),
            json!({ "name": "A", "nested": { "n": [1, 2] } })
        )]),
        "only the keys that exist"
    );
    assert!(store.load("catalog", &[]).await.unwrap().is_empty());
    assert!(store.load("other", &wanted).await.unwrap().is_empty());

    let platforms = store.scan("catalog", "platform/").await.unwrap();
    assert_eq!(keys(&platforms), vec!["platform/a", "platform/b"]);
    assert_eq!(platforms[1].1, json!({ "name": "B" }));
    let all = store.scan("catalog", "").await.unwrap();
    assert_eq!(keys(&all), vec!["platform/a", "platform/b", "round/2025"]);
    assert!(store.scan("other", "").await.unwrap().is_empty());

    must_commit(
        store,
        "catalog",
        cp(10, 3),
        cp(12, 4),
        2,
        vec![put("platform/b", json!({ "name": "B2" }))],
        vec![],
    )
    .await;
    let state = store.state("catalog").await.unwrap();
    assert_eq!(
        (state.checkpoint, state.applied),
        (cp(12, 4), 5),
        "applied adds up"
    );
    assert_eq!(
        store.scan("catalog", "platform/b").await.unwrap(),
        vec![("platform/b".to_string(), json!({ "name": "B2" }))],
        "replaced"
    );
}

pub async fn scan_prefix_is_literal_and_bytewise(store: &dyn ReadModelStore) {
    let docs = ["a%b", "a_c", "axb", "abc", "A%b", "B", "a", "é", "z"];
    must_commit(
        store,
        "m",
        Checkpoint::START,
        cp(0, 1),
        1,
        docs.iter().map(|k| put(k, json!({ "k": k }))).collect(),
        vec![],
    )
    .await;
    assert_eq!(keys(&store.scan("m", "a%").await.unwrap()), vec!["a%b"]);
    assert_eq!(keys(&store.scan("m", "a_").await.unwrap()), vec!["a_c"]);
    assert_eq!(keys(&store.scan("m", "A").await.unwrap()), vec!["A%b"]);
    assert!(store.scan("m", "%").await.unwrap().is_empty());
    // Byte order, as in Rust: uppercase before lowercase, multi-byte UTF-8 last.
    assert_eq!(
        keys(&store.scan("m", "").await.unwrap()),
        vec!["A%b", "B", "a", "a%b", "a_c", "abc", "axb", "z", "é"]
    );
}

/// `scan_each` hands on what `scan` returns, in the same (key) order; a document its reader
/// refuses ends the scan with the reader's reason, and the store answers normally afterwards.
pub async fn scan_each_streams_what_scan_returns(store: &dyn ReadModelStore) {
    let docs: Vec<String> = (0..300)
        .map(|i| format!("k/{:03}", (i * 7) % 300))
        .collect();
    must_commit(
        store,
        "m",
        Checkpoint::START,
        cp(0, 1),
        1,
        docs.iter().map(|k| put(k, json!({ "k": k }))).collect(),
        vec![],
    )
    .await;
    let mut seen = Vec::new();
    store
        .scan_each("m", "k/", &mut |k, v| {
            seen.push((k, v));
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(seen, store.scan("m", "k/").await.unwrap());
    assert_eq!(seen.len(), 300);

    let mut read = 0;
    let refused = store
        .scan_each("m", "", &mut |k, _| {
            read += 1;
            if k == "k/100" {
                Err(format!("{k} refused"))
            } else {
                Ok(())
            }
        })
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("k/100 refused"), "{refused}");
    assert_eq!(read, 101, "nothing read after the refusal");
    assert_eq!(store.scan("m", "k/2").await.unwrap().len(), 100);
}

pub async fn stale_from_is_moved_and_writes_nothing(store: &dyn ReadModelStore) {
    // A projection that never ran stands at START: any other `from` is stale.
    assert_eq!(
        store
            .commit(
                "m",
                cp(1, 1),
                cp(2, 2),
                1,
                vec![put("k", json!(1))],
                vec![dead_letter("m", 2, "bad")]
            )
            .await
            .unwrap(),
        CommitOutcome::Moved
    );
    assert_eq!(
        store.state("m").await.unwrap().checkpoint,
        Checkpoint::START
    );
    assert!(store.states().await.unwrap().is_empty(), "no trace left");
    assert!(store.scan("m", "").await.unwrap().is_empty());
    assert!(store.dead_letters(Some("m")).await.unwrap().is_empty());

    must_commit(
        store,
        "m",
        Checkpoint::START,
        cp(5, 5),
        1,
        vec![put("k", json!(1))],
        vec![],
    )
    .await;
    for stale in [Checkpoint::START, cp(4, 4), cp(5, 6), cp(6, 5)] {
        assert_eq!(
            store
                .commit(
                    "m",
                    stale,
                    cp(9, 9),
                    1,
                    vec![put("k", json!(2)), delete("k2")],
                    vec![dead_letter("m", 9, "bad")]
                )
                .await
                .unwrap(),
            CommitOutcome::Moved,
            "from {stale:?}"
        );
    }
    let state = store.state("m").await.unwrap();
    assert_eq!((state.checkpoint, state.applied), (cp(5, 5), 1));
    assert_eq!(
        store.scan("m", "").await.unwrap(),
        vec![("k".to_string(), json!(1))]
    );
    assert!(store.dead_letters(None).await.unwrap().is_empty());
}

pub async fn racing_committers_exactly_one_wins(store: &dyn ReadModelStore) {
    const RACERS: usize = 4;
    let mut winners = BTreeSet::new();
    for round in 0..6i64 {
        // Round 0 races on a projection that has no checkpoint row yet.
        let from = store.state("m").await.unwrap().checkpoint;
        let outcomes = join_all((0..RACERS).map(|racer| {
            store.commit(
                "m",
                from,
                cp(round as u64 + 1, round + 1),
                1,
                vec![
                    put("winner", json!(racer)),
                    put(&format!("racer-{round}-{racer}"), json!(true)),
                ],
                vec![],
            )
        }))
        .await;
        let won: Vec<usize> = outcomes
            .into_iter()
            .enumerate()
            .filter_map(|(racer, o)| match o.expect("commit") {
                CommitOutcome::Committed => Some(racer),
                CommitOutcome::Moved => None,
            })
            .collect();
        assert_eq!(
            won.len(),
            1,
            "round {round}: exactly one commits, got {won:?}"
        );
        let loaded = store.load("m", &["winner".to_string()]).await.unwrap();
        assert_eq!(loaded["winner"], json!(won[0]), "the winner's documents");
        winners.insert(format!("racer-{round}-{}", won[0]));
    }
    let racers: BTreeSet<String> = store
        .scan("m", "racer-")
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(racers, winners, "losers wrote nothing");
    let state = store.state("m").await.unwrap();
    assert_eq!((state.checkpoint, state.applied), (cp(6, 6), 6));
}

pub async fn none_deletes_a_document(store: &dyn ReadModelStore) {
    must_commit(
        store,
        "m",
        Checkpoint::START,
        cp(0, 1),
        2,
        vec![put("a", json!(1)), put("b", json!(2))],
        vec![],
    )
    .await;
    must_commit(
        store,
        "m",
        cp(0, 1),
        cp(0, 2),
        2,
        // Deleting a document that does not exist is not an error.
        vec![delete("a"), delete("never")],
        vec![],
    )
    .await;
    assert_eq!(
        store.scan("m", "").await.unwrap(),
        vec![("b".to_string(), json!(2))]
    );
    assert!(store
        .load("m", &["a".to_string()])
        .await
        .unwrap()
        .is_empty());
}

pub async fn later_change_to_a_key_wins(store: &dyn ReadModelStore) {
    must_commit(
        store,
        "m",
        Checkpoint::START,
        cp(0, 1),
        1,
        vec![
            put("a", json!(1)),
            put("a", json!(2)),
            put("b", json!(1)),
            delete("b"),
            delete("c"),
            put("c", json!(3)),
        ],
        vec![],
    )
    .await;
    assert_eq!(
        store.scan("m", "").await.unwrap(),
        vec![("a".to_string(), json!(2)), ("c".to_string(), json!(3))]
    );
}

/// A commit of ~2.5 MB (which the PostgreSQL adapter sends as several statements) and a single
/// document over 1 MB round-trip whole.
pub async fn large_commit_round_trips(store: &dyn ReadModelStore) {
    let mut changes: Vec<DocChange> = (0..3000)
        .map(|i| {
            put(
                &format!("doc/{i:05}"),
                json!({ "i": i, "text": "中试平台".repeat(60) }),
            )
        })
        .collect();
    let big = json!({ "text": "发酵".repeat(200_000) });
    changes.insert(1500, put("big", big.clone()));
    must_commit(
        store,
        "m",
        Checkpoint::START,
        cp(0, 3000),
        3000,
        changes,
        vec![],
    )
    .await;
    let all = store.scan("m", "doc/").await.unwrap();
    assert_eq!(all.len(), 3000);
    assert_eq!(all[2999].1["i"], json!(2999));
    assert!(all
        .iter()
        .enumerate()
        .all(|(i, (_, d))| d["i"] == json!(i) && d["text"].as_str().unwrap().len() == 720));
    assert_eq!(
        store.scan("m", "big").await.unwrap(),
        vec![("big".to_string(), big)]
    );
    let wanted: Vec<String> = (0..3000)
        .step_by(3)
        .map(|i| format!("doc/{i:05}"))
        .collect();
    assert_eq!(store.load("m", &wanted).await.unwrap().len(), 1000);
    must_commit(
        store,
        "m",
        cp(0, 3000),
        cp(0, 3001),
        1,
        (0..3000).map(|i| delete(&format!("doc/{i:05}"))).collect(),
        vec![],
    )
    .await;
    assert_eq!(
        store.scan("m", "").await.unwrap().len(),
        1,
        "the big one is left"
    );
}

pub async fn dead_letters_are_kept_and_marked_replayed(store: &dyn ReadModelStore) {
    let first = dead_letter("m", 3, "cannot decode");
    let second = dead_letter("m", 8, "unknown round");
    let other = dead_letter("n", 5, "bad");
    must_commit(
        store,
        "m",
        Checkpoint::START,
        cp(0, 3),
        0,
        vec![],
        vec![first.clone()],
    )
    .await;
    must_commit(
        store,
        "m",
        cp(0, 3),
        cp(0, 9),
        1,
        vec![put("k", json!(1))],
        vec![second.clone()],
    )
    .await;
    must_commit(
        store,
        "n",
        Checkpoint::START,
        cp(0, 5),
        0,
        vec![],
        vec![other.clone()],
    )
    .await;

    assert_eq!(
        store.dead_letters(Some("m")).await.unwrap(),
        vec![first.clone(), second.clone()]
    );
    assert_eq!(
        store.dead_letters(None).await.unwrap(),
        vec![first.clone(), other.clone(), second.clone()],
        "all projections, oldest event first"
    );
    assert!(store.dead_letters(Some("zz")).await.unwrap().is_empty());

    let at = now();
    store.mark_replayed("m", second.event_id, at).await.unwrap();
    // Unknown ids and projections are not errors: a replay may race a reset.
    store.mark_replayed("m", Uuid::new_v4(), at).await.unwrap();
    store
        .mark_replayed("zz", second.event_id, at)
        .await
        .unwrap();
    let after = store.dead_letters(Some("m")).await.unwrap();
    assert_eq!(after[0].replayed_at, None);
    assert_eq!(after[1].replayed_at, Some(at));
    assert_eq!(
        store.dead_letters(Some("n")).await.unwrap()[0].replayed_at,
        None
    );
}

/// Database adapters only: the in-memory store keeps every letter it is given.
pub async fn duplicate_dead_letters_are_ignored(store: &dyn ReadModelStore) {
    let letter = dead_letter("m", 3, "cannot decode");
    let mut again = letter.clone();
    again.reason = "second attempt".to_string();
    must_commit(
        store,
        "m",
        Checkpoint::START,
        cp(0, 3),
        0,
        vec![],
        vec![letter.clone(), again.clone()],
    )
    .await;
    must_commit(store, "m", cp(0, 3), cp(0, 4), 0, vec![], vec![again]).await;
    assert_eq!(
        store.dead_letters(Some("m")).await.unwrap(),
        vec![letter],
        "the first record of an event stays"
    );
}

pub async fn reset_forgets_everything(store: &dyn ReadModelStore) {
    for p in ["m", "keep"] {
        must_commit(
            store,
            p,
            Checkpoint::START,
            cp(1, 2),
            2,
            vec![put("k", json!(p))],
            vec![dead_letter(p, 2, "bad")],
        )
        .await;
    }
    store.reset("m").await.unwrap();
    store.reset("never-ran").await.unwrap();
    let state = store.state("m").await.unwrap();
    assert_eq!((state.checkpoint, state.applied), (Checkpoint::START, 0));
    assert_eq!(state.updated_at, None);
    assert!(store.scan("m", "").await.unwrap().is_empty());
    assert!(store.dead_letters(Some("m")).await.unwrap().is_empty());
    let names: Vec<String> = store
        .states()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.projection)
        .collect();
    assert_eq!(names, vec!["keep"]);
    assert_eq!(store.scan("keep", "").await.unwrap().len(), 1);
    // A reset projection starts over from START.
    must_commit(store, "m", Checkpoint::START, cp(0, 1), 1, vec![], vec![]).await;
}

pub async fn swap_replaces_the_target_and_readers_never_see_a_mix(store: &dyn ReadModelStore) {
    const DOCS: usize = 40;
    let done = AtomicBool::new(false);
    let scans = AtomicUsize::new(0);
    let reader = async {
        while !done.load(Ordering::SeqCst) {
            let docs = store.scan("target", "").await.unwrap();
            let generations: BTreeSet<u64> = docs
                .iter()
                .map(|(_, d)| d["gen"].as_u64().unwrap())
                .collect();
            assert!(
                generations.len() <= 1 && (docs.is_empty() || docs.len() == DOCS),
                "a reader saw {} documents of generations {generations:?}",
                docs.len()
            );
            scans.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
        }
    };
    let writer = async {
        for generation in 1..=5u64 {
            store.reset("shadow").await.unwrap();
            // Each generation has its own keys, so a half-swapped model would show both.
            let changes = (0..DOCS)
                .map(|i| {
                    put(
                        &format!("g{generation}/{i:03}"),
                        json!({ "gen": generation }),
                    )
                })
                .collect();
            let mut letter = dead_letter("shadow", generation as i64, "bad");
            letter.event_id = Uuid::from_u128(u128::from(generation));
            must_commit(
                store,
                "shadow",
                Checkpoint::START,
                cp(generation, generation as i64 * 10),
                DOCS as u64,
                changes,
                vec![letter],
            )
            .await;
            store.swap("shadow", "target").await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        done.store(true, Ordering::SeqCst);
    };
    tokio::join!(reader, writer);
    assert!(scans.load(Ordering::SeqCst) > 0);

    let docs = store.scan("target", "").await.unwrap();
    assert_eq!(docs.len(), DOCS);
    assert!(docs
        .iter()
        .all(|(k, d)| k.starts_with("g5/") && d["gen"] == 5));
    let state = store.state("target").await.unwrap();
    assert_eq!(state.projection, "target");
    assert_eq!((state.checkpoint, state.applied), (cp(5, 50), DOCS as u64));
    let letters = store.dead_letters(Some("target")).await.unwrap();
    assert_eq!(letters.len(), 1, "the target's old letters went with it");
    assert_eq!(letters[0].event_id, Uuid::from_u128(5));
    assert_eq!(letters[0].projection, "target");

    let shadow = store.state("shadow").await.unwrap();
    assert_eq!((shadow.checkpoint, shadow.applied), (Checkpoint::START, 0));
    assert!(store.scan("shadow", "").await.unwrap().is_empty());
    assert!(store.dead_letters(Some("shadow")).await.unwrap().is_empty());
    let names: Vec<String> = store
        .states()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.projection)
        .collect();
    assert_eq!(names, vec!["target"]);
    // The swapped-in model carries on from the shadow's checkpoint.
    must_commit(store, "target", cp(5, 50), cp(6, 60), 1, vec![], vec![]).await;
}

pub async fn states_lists_every_projection_with_a_checkpoint(store: &dyn ReadModelStore) {
    assert!(store.states().await.unwrap().is_empty());
    must_commit(
        store,
        "timeline",
        Checkpoint::START,
        cp(3, 4),
        4,
        vec![],
        vec![],
    )
    .await;
    must_commit(
        store,
        "funnel",
        Checkpoint::START,
        cp(3, 2),
        2,
        vec![],
        vec![],
    )
    .await;
    let _ = store
        .commit("stale", cp(1, 1), cp(2, 2), 1, vec![], vec![])
        .await
        .unwrap();
    let mut states = store.states().await.unwrap();
    states.sort_by(|a, b| a.projection.cmp(&b.projection));
    let summary: Vec<(String, Checkpoint, u64)> = states
        .iter()
        .map(|s| (s.projection.clone(), s.checkpoint, s.applied))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("funnel".to_string(), cp(3, 2), 2),
            ("timeline".to_string(), cp(3, 4), 4)
        ]
    );
    assert!(states.iter().all(|s| s.updated_at.is_some()));
}

// ---------------------------------------------------------------------------------------------
// Runner cases: `catch_up` over a real event store

pub async fn catch_up_applies_every_event_exactly_once(
    events: &dyn EventStore,
    models: &dyn ReadModelStore,
) {
    let stored = append_streams(events, "platform-count", 7, 23, Checkpoint::START).await;
    let target = stored.last().unwrap().checkpoint();
    // Two runners of one projection at once, in small batches so that they race many times:
    // the checkpoint makes each batch commit once.
    let (a, b) = tokio::join!(
        catch_up_to(events, models, &CountPerStream, "count", target, 7),
        catch_up_to(events, models, &CountPerStream, "count", target, 5),
    );
    assert_eq!(a.applied + b.applied, stored.len() as u64, "{a:?} {b:?}");
    assert_eq!(a.dead_lettered + b.dead_lettered, 0);

    let state = models.state("count").await.unwrap();
    assert_eq!(state.checkpoint, target);
    assert_eq!(state.applied, stored.len() as u64);
    assert_eq!(
        models.scan("count", "").await.unwrap(),
        expected_counts(&stored)
    );
    assert!(models.dead_letters(Some("count")).await.unwrap().is_empty());

    // Nothing new: a further run applies nothing.
    let again = catch_up(events, models, &CountPerStream, "count", None, 50)
        .await
        .unwrap();
    assert_eq!((again.applied, again.checkpoint), (0, target));
}

pub async fn failing_event_is_dead_lettered_and_later_events_apply(
    events: &dyn EventStore,
    models: &dyn ReadModelStore,
) {
    let mut batch = crate::contract::events("platform-p", 3);
    batch[1].payload["poison"] = json!(true);
    let poison_id = batch[1].event_id;
    events
        .append(commit(vec![to_stream(
            "platform-p",
            ExpectedVersion::NoStream,
            batch,
        )]))
        .await
        .unwrap();
    let first = read_all_until(events, Checkpoint::START, 3, 10).await;
    catch_up_to(
        events,
        models,
        &CountPerStream,
        "count",
        first[2].checkpoint(),
        2,
    )
    .await;

    let later = append_streams(events, "platform-q", 1, 2, first[2].checkpoint()).await;
    let target = later.last().unwrap().checkpoint();
    catch_up_to(events, models, &CountPerStream, "count", target, 2).await;

    let letters = models.dead_letters(Some("count")).await.unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    let poison = &first[1];
    assert_eq!(letters[0].event_id, poison_id);
    assert_eq!(letters[0].global_position, poison.global_position);
    assert_eq!(letters[0].transaction_id, poison.transaction_id);
    assert_eq!(letters[0].event_type, poison.event_type);
    assert_eq!(letters[0].reason, "payload marked poison");
    assert_eq!(letters[0].replayed_at, None);

    let docs: HashMap<String, Value> = models
        .scan("count", "")
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        docs["stream/platform-p"],
        json!({ "count": 2, "last_version": 3 })
    );
    assert_eq!(
        docs["stream/platform-q-0"],
        json!({ "count": 2, "last_version": 2 })
    );
    let state = models.state("count").await.unwrap();
    assert_eq!((state.checkpoint, state.applied), (target, 4));
}
