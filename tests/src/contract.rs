//! The event-store and token-store contract: what every adapter must do, as assertions over the
//! ports alone. Each case expects an empty, migrated store of its own.
//!
//! Timestamps in fixtures are whole microseconds: that is what PostgreSQL keeps, and the SQLite
//! adapter stores the same precision so that both hand back equal values.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use futures_util::future::join_all;
use roster_domain::actor::{Actor, Role};
use roster_domain::policies::{triennial_deadline, Deadline, PolicyConfig};
use roster_domain::store::{
    AppendOutcome, AttachmentStore, AuditEntry, Checkpoint, CommandRecord, Commit, DeadlineState,
    DeadlineStore, Draft, DraftStore, EventMetadata, EventStore, ExpectedVersion, NewEvent,
    StoreError, StoredEvent, StoredFile, StreamAppend, TokenRecord, TokenStore,
};
use serde_json::json;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Fixtures

pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub fn clerk() -> Actor {
    Actor {
        id: "clerk-440300-01".to_string(),
        role: Role::City,
        jurisdiction: Some("440300".to_string()),
    }
}

pub fn business_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 30).expect("valid date")
}

/// An event whose payload names its stream and a sequence number, so mix-ups show in diffs.
pub fn new_event(stream_id: &str, n: usize) -> NewEvent {
    NewEvent {
        event_id: Uuid::new_v4(),
        event_type: "PlatformRegistered".to_string(),
        schema_version: 2,
        payload: json!({ "stream": stream_id, "n": n, "name": "深圳合成生物中试平台" }),
        metadata: EventMetadata {
            actor: clerk(),
            command_id: Uuid::new_v4(),
            correlation_id: Uuid::new_v4(),
            causation_id: None,
            recorded_at: now(),
            business_date: business_date(),
            backfilled_by: None,
        },
    }
}

pub fn events(stream_id: &str, count: usize) -> Vec<NewEvent> {
    (1..=count).map(|n| new_event(stream_id, n)).collect()
}

pub fn to_stream(
    stream_id: &str,
    expected_version: ExpectedVersion,
    events: Vec<NewEvent>,
) -> StreamAppend {
    StreamAppend {
        stream_id: stream_id.to_string(),
        expected_version,
        events,
    }
}

/// A commit with a fresh command id, its own fingerprint and an "accepted" audit line.
pub fn commit(streams: Vec<StreamAppend>) -> Commit {
    let command_id = Uuid::new_v4();
    let target = streams.first().map(|s| s.stream_id.clone());
    Commit {
        command: CommandRecord {
            command_id,
            fingerprint: format!("sha256:{}", command_id.simple()),
            result: json!({ "accepted": true, "command_id": command_id }),
            recorded_at: now(),
        },
        audit: AuditEntry {
            recorded_at: now(),
            actor: clerk(),
            command_id: Some(command_id),
            command_type: "RegisterPlatform".to_string(),
            target,
            outcome: "accepted".to_string(),
            error_code: None,
            detail: None,
        },
        streams,
    }
}

pub fn single(stream_id: &str, expected: ExpectedVersion, count: usize) -> Commit {
    commit(vec![to_stream(
        stream_id,
        expected,
        events(stream_id, count),
    )])
}

pub fn refusal(error_code: &str, detail: &str) -> AuditEntry {
    AuditEntry {
        recorded_at: now(),
        actor: clerk(),
        command_id: Some(Uuid::new_v4()),
        command_type: "ListPlatform".to_string(),
        target: Some("platform-refused".to_string()),
        outcome: "refused".to_string(),
        error_code: Some(error_code.to_string()),
        detail: Some(detail.to_string()),
    }
}

fn appended(outcome: AppendOutcome) -> (Vec<u64>, i64) {
    match outcome {
        AppendOutcome::Appended {
            versions,
            last_position,
        } => (versions, last_position),
        AppendOutcome::Duplicate(record) => {
            panic!("expected an append, got a duplicate {record:?}")
        }
    }
}

async fn must_append(store: &dyn EventStore, commit: Commit) -> (Vec<u64>, i64) {
    appended(store.append(commit).await.expect("append"))
}

fn assert_same_event(stored: &StoredEvent, sent: &NewEvent, stream_id: &str, version: u64) {
    assert_eq!(stored.stream_id, stream_id);
    assert_eq!(stored.version, version);
    assert_eq!(stored.event_id, sent.event_id);
    assert_eq!(stored.event_type, sent.event_type);
    assert_eq!(stored.schema_version, sent.schema_version);
    assert_eq!(stored.payload, sent.payload);
    assert_eq!(stored.metadata, sent.metadata);
}

/// Pages through the global log from `from` until `want` events have arrived. A PostgreSQL
/// reader legitimately holds back rows while any older transaction is open anywhere on the
/// server (other tests run in parallel), so an empty page is retried until a deadline.
pub async fn read_all_until(
    store: &dyn EventStore,
    from: Checkpoint,
    want: usize,
    page: usize,
) -> Vec<StoredEvent> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut checkpoint = from;
    let mut out: Vec<StoredEvent> = Vec::new();
    while out.len() < want {
        let batch = store
            .read_all_after(checkpoint, page)
            .await
            .expect("read_all_after");
        assert!(
            batch.len() <= page,
            "a page of {page} returned {}",
            batch.len()
        );
        if batch.is_empty() {
            assert!(
                Instant::now() < deadline,
                "read_all_after stalled at {checkpoint:?} after {} of {want} events",
                out.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        for e in &batch {
            assert!(
                e.checkpoint() > checkpoint,
                "read_all_after({checkpoint:?}) returned an event at or before it: {:?}",
                e.checkpoint()
            );
            checkpoint = e.checkpoint();
        }
        out.extend(batch);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Cases

pub async fn append_then_load_stream(store: &dyn EventStore) {
    let first = single("platform-a", ExpectedVersion::NoStream, 3);
    let sent = first.streams[0].events.clone();
    let (versions, last_position) = must_append(store, first.clone()).await;
    assert_eq!(versions, vec![3]);

    let loaded = store.load_stream("platform-a", 0).await.unwrap();
    assert_eq!(loaded.len(), 3);
    for (i, (stored, sent)) in loaded.iter().zip(&sent).enumerate() {
        assert_same_event(stored, sent, "platform-a", i as u64 + 1);
    }
    assert!(loaded
        .windows(2)
        .all(|w| w[0].global_position < w[1].global_position));
    assert_eq!(loaded[2].global_position, last_position);

    let tail = store.load_stream("platform-a", 2).await.unwrap();
    assert_eq!(tail.len(), 1);
    assert_same_event(&tail[0], &sent[2], "platform-a", 3);
    assert!(store.load_stream("platform-a", 3).await.unwrap().is_empty());
    assert!(store
        .load_stream("platform-none", 0)
        .await
        .unwrap()
        .is_empty());

    let second = single("platform-a", ExpectedVersion::Exact(3), 2);
    let more = second.streams[0].events.clone();
    let (versions, _) = must_append(store, second).await;
    assert_eq!(versions, vec![5]);
    let tail = store.load_stream("platform-a", 3).await.unwrap();
    assert_eq!(tail.len(), 2);
    assert_same_event(&tail[0], &more[0], "platform-a", 4);
    assert_same_event(&tail[1], &more[1], "platform-a", 5);

    assert_eq!(
        store.find_command(first.command.command_id).await.unwrap(),
        Some(first.command.clone())
    );
    assert_eq!(store.find_command(Uuid::new_v4()).await.unwrap(), None);
    let audit = store.audit_log(10).await.unwrap();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[1], first.audit);
}

pub async fn stale_expected_version_conflicts(store: &dyn EventStore) {
    must_append(store, single("platform-b", ExpectedVersion::NoStream, 2)).await;

    let stale = single("platform-b", ExpectedVersion::Exact(1), 1);
    let stale_id = stale.command.command_id;
    assert_eq!(
        store.append(stale).await,
        Err(StoreError::VersionConflict {
            stream_id: "platform-b".to_string(),
            expected: 1,
            actual: 2,
        })
    );
    assert_eq!(
        store
            .append(single("platform-b", ExpectedVersion::NoStream, 1))
            .await,
        Err(StoreError::VersionConflict {
            stream_id: "platform-b".to_string(),
            expected: 0,
            actual: 2,
        })
    );

    assert_eq!(store.load_stream("platform-b", 0).await.unwrap().len(), 2);
    // The refused command left no record, so the caller may retry it under the same id.
    assert_eq!(store.find_command(stale_id).await.unwrap(), None);
    assert_eq!(store.audit_log(10).await.unwrap().len(), 1);
}

pub async fn expected_version_ahead_conflicts(store: &dyn EventStore) {
    assert_eq!(
        store
            .append(single("platform-c", ExpectedVersion::Exact(2), 1))
            .await,
        Err(StoreError::VersionConflict {
            stream_id: "platform-c".to_string(),
            expected: 2,
            actual: 0,
        })
    );
    assert!(store.load_stream("platform-c", 0).await.unwrap().is_empty());
    assert!(store.stream_ids("").await.unwrap().is_empty());

    must_append(store, single("platform-c", ExpectedVersion::NoStream, 1)).await;
    assert_eq!(
        store
            .append(single("platform-c", ExpectedVersion::Exact(5), 1))
            .await,
        Err(StoreError::VersionConflict {
            stream_id: "platform-c".to_string(),
            expected: 5,
            actual: 1,
        })
    );
    let loaded = store.load_stream("platform-c", 0).await.unwrap();
    assert_eq!(
        loaded.iter().map(|e| e.version).collect::<Vec<_>>(),
        vec![1]
    );
}

pub async fn multi_stream_commit_is_atomic(store: &dyn EventStore) {
    must_append(store, single("round-2025", ExpectedVersion::NoStream, 1)).await;

    let doomed = commit(vec![
        to_stream(
            "platform-x",
            ExpectedVersion::NoStream,
            events("platform-x", 2),
        ),
        to_stream(
            "round-2025",
            ExpectedVersion::NoStream,
            events("round-2025", 1),
        ),
    ]);
    let doomed_id = doomed.command.command_id;
    assert_eq!(
        store.append(doomed).await,
        Err(StoreError::VersionConflict {
            stream_id: "round-2025".to_string(),
            expected: 0,
            actual: 1,
        })
    );
    assert!(store.load_stream("platform-x", 0).await.unwrap().is_empty());
    assert_eq!(store.load_stream("round-2025", 0).await.unwrap().len(), 1);
    assert_eq!(store.stream_ids("").await.unwrap(), vec!["round-2025"]);
    assert_eq!(store.find_command(doomed_id).await.unwrap(), None);
    assert_eq!(store.audit_log(10).await.unwrap().len(), 1);

    let good = commit(vec![
        to_stream(
            "platform-x",
            ExpectedVersion::NoStream,
            events("platform-x", 2),
        ),
        to_stream(
            "round-2025",
            ExpectedVersion::Exact(1),
            events("round-2025", 1),
        ),
    ]);
    let (versions, _) = must_append(store, good).await;
    assert_eq!(versions, vec![2, 2]);
    assert_eq!(store.load_stream("platform-x", 0).await.unwrap().len(), 2);
    assert_eq!(store.load_stream("round-2025", 0).await.unwrap().len(), 2);
}

pub async fn repeated_command_id_is_idempotent(store: &dyn EventStore) {
    let first = single("platform-d", ExpectedVersion::NoStream, 1);
    must_append(store, first.clone()).await;

    // The very same request again (a client retry after a timeout): its expected version is
    // stale by now, yet the answer is the first result, not a conflict.
    assert_eq!(
        store.append(first.clone()).await,
        Ok(AppendOutcome::Duplicate(first.command.clone()))
    );

    // Same id and fingerprint, different events and result: still the first result.
    let mut replay = single("platform-d", ExpectedVersion::Exact(1), 2);
    replay.command.command_id = first.command.command_id;
    replay.command.fingerprint = first.command.fingerprint.clone();
    replay.command.result = json!({ "accepted": "twice?" });
    assert_eq!(
        store.append(replay).await,
        Ok(AppendOutcome::Duplicate(first.command.clone()))
    );

    let mut reused = single("platform-e", ExpectedVersion::NoStream, 1);
    reused.command.command_id = first.command.command_id;
    assert_eq!(
        store.append(reused).await,
        Err(StoreError::CommandIdReused(first.command.command_id))
    );

    assert_eq!(store.load_stream("platform-d", 0).await.unwrap().len(), 1);
    assert!(store.load_stream("platform-e", 0).await.unwrap().is_empty());
    assert_eq!(
        store.find_command(first.command.command_id).await.unwrap(),
        Some(first.command.clone())
    );
    assert_eq!(store.audit_log(10).await.unwrap().len(), 1);
}

pub async fn read_all_pages_every_event_once_in_order(store: &dyn EventStore) {
    // 10 commits over 3 streams, one of them touching two streams: 20 events.
    let mut commit_of: HashMap<Uuid, usize> = HashMap::new();
    let mut versions: HashMap<&str, u64> = HashMap::new();
    let plan: [&[(&str, usize)]; 10] = [
        &[("platform-p", 2)],
        &[("platform-q", 1)],
        &[("platform-p", 3)],
        &[("round-2025", 1), ("platform-q", 2)],
        &[("platform-r", 1)],
        &[("platform-p", 1)],
        &[("platform-q", 3)],
        &[("platform-r", 2)],
        &[("round-2025", 3)],
        &[("platform-p", 1)],
    ];
    for (i, streams) in plan.iter().enumerate() {
        let appends = streams
            .iter()
            .map(|&(stream, count)| {
                let current = versions.entry(stream).or_insert(0);
                let append = to_stream(
                    stream,
                    ExpectedVersion::from_current(*current),
                    events(stream, count),
                );
                *current += count as u64;
                append
            })
            .collect();
        let c = commit(appends);
        for e in c.streams.iter().flat_map(|s| &s.events) {
            commit_of.insert(e.event_id, i);
        }
        must_append(store, c).await;
    }
    let total = commit_of.len();
    assert_eq!(total, 20);

    let all = read_all_until(store, Checkpoint::START, total, 3).await;
    assert_eq!(all.len(), total);
    let ids: HashSet<Uuid> = all.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), total, "an event came back twice");
    assert!(all.iter().all(|e| commit_of.contains_key(&e.event_id)));
    let order: Vec<usize> = all.iter().map(|e| commit_of[&e.event_id]).collect();
    assert!(
        order.windows(2).all(|w| w[0] <= w[1]),
        "events out of commit order: {order:?}"
    );
    assert!(all
        .windows(2)
        .all(|w| w[0].checkpoint() < w[1].checkpoint()));
    for stream in ["platform-p", "platform-q", "platform-r", "round-2025"] {
        let seen: Vec<u64> = all
            .iter()
            .filter(|e| e.stream_id == stream)
            .map(|e| e.version)
            .collect();
        let want: Vec<u64> = (1..=versions[stream]).collect();
        assert_eq!(seen, want, "versions of {stream} in the global log");
    }

    let end = all.last().unwrap().checkpoint();
    assert!(store.read_all_after(end, 3).await.unwrap().is_empty());
    assert!(store
        .read_all_after(Checkpoint::START, 0)
        .await
        .unwrap()
        .is_empty());
    // One big page sees the same log as many small ones.
    assert_eq!(
        read_all_until(store, Checkpoint::START, total, 100).await,
        all
    );
}

pub async fn stream_ids_by_prefix(store: &dyn EventStore) {
    for stream in [
        "platform-b",
        "platform-a",
        "round-2025",
        "platform_x",
        "Platform-c",
    ] {
        must_append(store, single(stream, ExpectedVersion::NoStream, 1)).await;
    }
    must_append(store, single("platform-a", ExpectedVersion::Exact(1), 1)).await;

    assert_eq!(
        store.stream_ids("platform-").await.unwrap(),
        vec!["platform-a", "platform-b"]
    );
    // Byte order, whatever the database locale; every stream once.
    assert_eq!(
        store.stream_ids("").await.unwrap(),
        vec![
            "Platform-c",
            "platform-a",
            "platform-b",
            "platform_x",
            "round-2025"
        ]
    );
    // A prefix is literal text: no LIKE wildcards, no case folding.
    assert_eq!(
        store.stream_ids("platform_").await.unwrap(),
        vec!["platform_x"]
    );
    assert!(store.stream_ids("plat%").await.unwrap().is_empty());
    assert!(store.stream_ids("PLATFORM").await.unwrap().is_empty());
    assert_eq!(
        store.stream_ids("round-2025").await.unwrap(),
        vec!["round-2025"]
    );
}

pub async fn refusals_and_audit_log_newest_first(store: &dyn EventStore) {
    let accepted = single("platform-f", ExpectedVersion::NoStream, 1);
    must_append(store, accepted.clone()).await;

    let g8 = refusal("G-8", "场地面积 1499 m²，低于 1500 m² 的要求");
    let forbidden = refusal("forbidden", "该账号无权操作其他城市的平台");
    let mut anonymous = refusal("state_conflict", "平台已被除名");
    anonymous.command_id = None;
    anonymous.target = None;
    for entry in [&g8, &forbidden, &anonymous] {
        store.record_refusal(entry.clone()).await.unwrap();
    }

    assert_eq!(
        store.audit_log(10).await.unwrap(),
        vec![
            anonymous.clone(),
            forbidden.clone(),
            g8.clone(),
            accepted.audit.clone()
        ]
    );
    assert_eq!(
        store.audit_log(2).await.unwrap(),
        vec![anonymous, forbidden]
    );
    // A refusal writes nothing but its audit line.
    assert_eq!(store.stream_ids("").await.unwrap(), vec!["platform-f"]);
    assert_eq!(
        store.find_command(g8.command_id.unwrap()).await.unwrap(),
        None
    );
}

pub async fn old_schema_version_reads_back_untouched(store: &dyn EventStore) {
    let mut old = new_event("platform-g", 1);
    old.schema_version = 1;
    // A payload shape the current domain no longer writes; the store must not care.
    old.payload = json!({ "platform_name": "旧名称", "area_sqm": "1500", "legacy": null });
    let mut current = new_event("platform-g", 2);
    current.schema_version = 3;
    let c = commit(vec![to_stream(
        "platform-g",
        ExpectedVersion::NoStream,
        vec![old.clone(), current.clone()],
    )]);
    must_append(store, c).await;

    let loaded = store.load_stream("platform-g", 0).await.unwrap();
    assert_same_event(&loaded[0], &old, "platform-g", 1);
    assert_same_event(&loaded[1], &current, "platform-g", 2);
    let global = read_all_until(store, Checkpoint::START, 2, 10).await;
    assert_eq!(global, loaded);
}

/// A `ReviewOpened` written at schema v1 (trigger as an object) is stored as written and
/// upcast by the domain on the way out, through the same load path the command service uses.
pub async fn old_schema_version_is_upcast_on_load(store: &dyn EventStore) {
    let mut v1 = new_event("platform-u", 1);
    v1.event_type = "ReviewOpened".into();
    v1.schema_version = 1;
    v1.payload = json!({"review_id": "r-1", "trigger": {"kind": "incident", "incident_id": "leak-9"}, "due_on": "2026-03-01"});
    must_append(
        store,
        commit(vec![to_stream(
            "platform-u",
            ExpectedVersion::NoStream,
            vec![v1.clone()],
        )]),
    )
    .await;
    let loaded = store.load_stream("platform-u", 0).await.unwrap();
    assert_eq!(
        (loaded[0].schema_version, &loaded[0].payload),
        (1, &v1.payload),
        "stored untouched"
    );
    let event = roster_domain::events::decode_platform(
        &loaded[0].event_type,
        loaded[0].schema_version,
        &loaded[0].payload,
    )
    .unwrap();
    assert_eq!(
        event,
        roster_domain::events::PlatformEvent::ReviewOpened {
            review_id: "r-1".into(),
            trigger: roster_domain::commands::ReviewTrigger::Incident("leak-9".into()),
            due_on: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        }
    );
}

pub async fn large_payload_round_trips(store: &dyn EventStore) {
    let paragraph =
        "生物制造中试平台面向合成生物学、酶工程与发酵工艺放大，提供从实验室到产业化的验证服务。";
    let mut sections = Vec::new();
    let mut size = 0;
    let mut i = 0;
    while size < 1_000_000 {
        let text = format!("{i}: {paragraph}");
        size += text.len() + 16;
        sections.push(json!({ "i": i, "text": text }));
        i += 1;
    }
    let mut big = new_event("platform-h", 1);
    big.payload = json!({ "description": paragraph.repeat(100), "sections": sections });
    let encoded = serde_json::to_string(&big.payload).unwrap().len();
    assert!(encoded > 1_000_000, "payload is only {encoded} bytes");

    let c = commit(vec![to_stream(
        "platform-h",
        ExpectedVersion::NoStream,
        vec![big.clone()],
    )]);
    must_append(store, c).await;
    let loaded = store.load_stream("platform-h", 0).await.unwrap();
    assert_eq!(loaded.len(), 1);
    assert_same_event(&loaded[0], &big, "platform-h", 1);
    let global = read_all_until(store, Checkpoint::START, 1, 1).await;
    assert_eq!(global[0].payload, big.payload);
}

const RACERS: usize = 16;
const EVENTS_PER_RACER: usize = 3;

/// 16 appenders race on one stream: first all at once for the first version (exactly one may
/// win), then each appends its own events, retrying from the version the conflict reported.
pub async fn racing_appenders_never_gap(store: &dyn EventStore) {
    let stream = "platform-race";
    let first_round =
        join_all((0..RACERS).map(|_| store.append(single(stream, ExpectedVersion::NoStream, 1))))
            .await;
    let winners = first_round.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "outcomes: {first_round:?}");
    for r in &first_round {
        match r {
            Ok(outcome) => assert_eq!(appended(outcome.clone()).0, vec![1]),
            Err(e) => assert_eq!(
                *e,
                StoreError::VersionConflict {
                    stream_id: stream.to_string(),
                    expected: 0,
                    actual: 1,
                }
            ),
        }
    }

    let racer = |id: usize| async move {
        let mut mine = Vec::new();
        let mut expected = 1;
        let mut conflicts = 0;
        for n in 0..EVENTS_PER_RACER {
            let event = new_event(stream, id * 100 + n);
            loop {
                let c = commit(vec![to_stream(
                    stream,
                    ExpectedVersion::Exact(expected),
                    vec![event.clone()],
                )]);
                match store.append(c).await {
                    Ok(outcome) => {
                        let (versions, _) = appended(outcome);
                        assert_eq!(versions, vec![expected + 1]);
                        expected += 1;
                        break;
                    }
                    Err(StoreError::VersionConflict {
                        stream_id,
                        expected: e,
                        actual,
                    }) => {
                        assert_eq!(stream_id, stream);
                        assert_eq!(e, expected);
                        assert!(
                            actual > expected,
                            "conflict at {expected} reported {actual}"
                        );
                        expected = actual;
                        conflicts += 1;
                        assert!(conflicts < 2_000, "racer {id} starved");
                    }
                    Err(other) => panic!("racer {id} got {other:?} instead of a conflict"),
                }
            }
            mine.push(event.event_id);
        }
        mine
    };
    let written: Vec<Uuid> = join_all((0..RACERS).map(racer))
        .await
        .into_iter()
        .flatten()
        .collect();

    let loaded = store.load_stream(stream, 0).await.unwrap();
    let total = 1 + RACERS * EVENTS_PER_RACER;
    assert_eq!(
        loaded.iter().map(|e| e.version).collect::<Vec<_>>(),
        (1..=total as u64).collect::<Vec<_>>(),
        "versions must be 1..={total}, each once"
    );
    let stored: HashSet<Uuid> = loaded.iter().map(|e| e.event_id).collect();
    assert_eq!(stored.len(), total);
    assert!(written.iter().all(|id| stored.contains(id)));
}

pub async fn tokens_insert_find_revoke(store: &dyn TokenStore) {
    let city = TokenRecord {
        token_hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".to_string(),
        actor_id: "clerk-440300-01".to_string(),
        role: Role::City,
        jurisdiction: Some("440300".to_string()),
        label: "深圳市工信局 窗口 1".to_string(),
        created_at: now(),
        revoked_at: None,
    };
    let ministry = TokenRecord {
        token_hash: "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752".to_string(),
        actor_id: "miit-01".to_string(),
        role: Role::Ministry,
        jurisdiction: None,
        label: "ministry desk".to_string(),
        created_at: now(),
        revoked_at: None,
    };
    store.insert_token(city.clone()).await.unwrap();
    store.insert_token(ministry.clone()).await.unwrap();
    assert!(matches!(
        store.insert_token(city.clone()).await,
        Err(StoreError::Other(_))
    ));

    assert_eq!(
        store.find_token(&city.token_hash).await.unwrap(),
        Some(city.clone())
    );
    assert_eq!(store.find_token("no-such-hash").await.unwrap(), None);

    let revoked_at = now();
    assert!(store
        .revoke_token(&city.token_hash, revoked_at)
        .await
        .unwrap());
    let found = store.find_token(&city.token_hash).await.unwrap().unwrap();
    assert_eq!(found.revoked_at, Some(revoked_at));
    assert_eq!(found.actor(), clerk());

    // Revoking again keeps the date the token actually stopped working.
    let later = revoked_at + chrono::Duration::hours(1);
    assert!(store.revoke_token(&city.token_hash, later).await.unwrap());
    assert_eq!(
        store
            .find_token(&city.token_hash)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(revoked_at)
    );
    assert!(!store.revoke_token("no-such-hash", later).await.unwrap());
    assert_eq!(
        store.find_token(&ministry.token_hash).await.unwrap(),
        Some(ministry)
    );
}

fn deadline(platform: &str, listed_on: &str, due_on: &str) -> Deadline {
    let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    triennial_deadline(
        &PolicyConfig::default(),
        platform,
        date(listed_on),
        date(due_on),
        Uuid::new_v4(),
    )
}

/// D-1/D-2 storage: scheduling is insert-if-absent, `due` honours the fire date to the day,
/// settling happens once, and a delisting cancels only its own listing's pending deadlines.
pub async fn deadlines_schedule_fire_and_cancel(store: &dyn DeadlineStore) {
    let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let a = deadline("p-a", "2025-12-01", "2028-12-01");
    let b = deadline("p-b", "2025-12-15", "2028-12-15");
    assert_eq!(
        store
            .schedule(&[a.clone(), b.clone()], now())
            .await
            .unwrap(),
        2
    );
    // A replay of the scheduling event adds nothing and keeps the first row.
    let mut replayed = a.clone();
    replayed.scheduled_by = Uuid::new_v4();
    assert_eq!(store.schedule(&[replayed], now()).await.unwrap(), 0);
    assert_eq!(store.schedule(&[], now()).await.unwrap(), 0);

    // a fires on 2028-09-02: not the day before, from that day on.
    assert!(store.due(date("2028-09-01"), 10).await.unwrap().is_empty());
    assert_eq!(
        store.due(date("2028-09-02"), 10).await.unwrap(),
        vec![a.clone()]
    );
    assert_eq!(
        store.due(date("2030-01-01"), 10).await.unwrap(),
        vec![a.clone(), b.clone()],
        "oldest first"
    );
    assert_eq!(
        store.due(date("2030-01-01"), 1).await.unwrap(),
        vec![a.clone()]
    );

    let command = Uuid::new_v4();
    assert!(store
        .settle(&a.deadline_id, DeadlineState::Fired, command, None, now())
        .await
        .unwrap());
    assert!(
        !store
            .settle(
                &a.deadline_id,
                DeadlineState::Refused,
                command,
                Some("late"),
                now()
            )
            .await
            .unwrap(),
        "settled once"
    );
    assert_eq!(
        store.due(date("2030-01-01"), 10).await.unwrap(),
        vec![b.clone()]
    );

    // b's platform is delisted, then listed again: the old listing's deadline is cancelled, the
    // new one's stays pending, whatever order a replay applies them in.
    let b2 = deadline("p-b", "2029-06-01", "2032-06-01");
    store
        .schedule(std::slice::from_ref(&b2), now())
        .await
        .unwrap();
    assert_eq!(
        store
            .cancel_pending(
                "p-b",
                date("2025-12-15"),
                "platform delisted (other)",
                now()
            )
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .cancel_pending("p-b", date("2025-12-15"), "again", now())
            .await
            .unwrap(),
        0
    );
    let pending = store.deadlines(true, 10).await.unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|r| r.deadline.clone())
            .collect::<Vec<_>>(),
        vec![b2.clone()]
    );
    let all = store.deadlines(false, 10).await.unwrap();
    let states: Vec<(&str, DeadlineState, Option<&str>)> = all
        .iter()
        .map(|r| (r.deadline.deadline_id.as_str(), r.state, r.note.as_deref()))
        .collect();
    assert_eq!(
        states,
        vec![
            ("p-a/triennial/2028-12-01", DeadlineState::Fired, None),
            (
                "p-b/triennial/2028-12-15",
                DeadlineState::Cancelled,
                Some("platform delisted (other)")
            ),
            ("p-b/triennial/2032-06-01", DeadlineState::Pending, None),
        ]
    );
    assert_eq!(all[0].command_id, Some(command));
    assert!(all[0].settled_at.is_some() && all[2].settled_at.is_none());
    assert_eq!(all[0].deadline, a, "read back as scheduled");
}

/// Two schedulers settling the same deadline at once: exactly one wins.
pub async fn racing_settlements_settle_once(store: &dyn DeadlineStore) {
    let d = deadline("p-race", "2025-12-01", "2028-12-01");
    store
        .schedule(std::slice::from_ref(&d), now())
        .await
        .unwrap();
    let command = Uuid::new_v4();
    let wins = join_all(
        (0..8).map(|_| store.settle(&d.deadline_id, DeadlineState::Fired, command, None, now())),
    )
    .await;
    assert_eq!(wins.into_iter().filter(|w| *w.as_ref().unwrap()).count(), 1);
}

pub async fn drafts_save_list_delete(store: &dyn DraftStore) {
    let draft = |owner: &str, id: &str, name: &str, at: DateTime<Utc>| Draft {
        owner: owner.to_string(),
        draft_id: id.to_string(),
        fields: vec![
            ("form.platform.name".to_string(), name.to_string()),
            ("form.domains".to_string(), "enzymes".to_string()),
            ("form.domains".to_string(), "fermentation".to_string()),
        ],
        updated_at: at,
    };
    let t0 = now();
    let first = draft("applicant-a", "d-0001", "甲平台", t0);
    store.save_draft(first.clone()).await.unwrap();
    store
        .save_draft(draft(
            "applicant-a",
            "d-0002",
            "乙平台",
            t0 + chrono::Duration::seconds(5),
        ))
        .await
        .unwrap();
    store
        .save_draft(draft("applicant-b", "d-0001", "别人的", t0))
        .await
        .unwrap();
    // Fields come back as saved, in order, repeated names included; owners are apart.
    assert_eq!(
        store.load_draft("applicant-a", "d-0001").await.unwrap(),
        Some(first.clone())
    );
    let mine: Vec<String> = store
        .drafts("applicant-a")
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.draft_id)
        .collect();
    assert_eq!(mine, ["d-0002", "d-0001"], "the most recently saved first");
    // Saving again replaces the draft whole.
    let later = draft(
        "applicant-a",
        "d-0001",
        "甲平台（改）",
        t0 + chrono::Duration::seconds(9),
    );
    store.save_draft(later.clone()).await.unwrap();
    assert_eq!(
        store.load_draft("applicant-a", "d-0001").await.unwrap(),
        Some(later)
    );
    assert!(store.delete_draft("applicant-a", "d-0001").await.unwrap());
    assert!(!store.delete_draft("applicant-a", "d-0001").await.unwrap());
    assert_eq!(
        store.load_draft("applicant-a", "d-0001").await.unwrap(),
        None
    );
    assert!(store
        .load_draft("applicant-b", "d-0001")
        .await
        .unwrap()
        .is_some());
}

pub async fn attachments_are_stored_once_by_hash(store: &dyn AttachmentStore) {
    let file = StoredFile {
        sha256: "3a".repeat(32),
        media_type: "application/pdf".to_string(),
        bytes: b"%PDF-1.4\n\x00\xff binary".to_vec(),
    };
    store.put_file(file.clone()).await.unwrap();
    // The same hash again changes nothing (the first bytes stay).
    store
        .put_file(StoredFile {
            bytes: b"%PDF-other".to_vec(),
            ..file.clone()
        })
        .await
        .unwrap();
    assert_eq!(store.get_file(&file.sha256).await.unwrap(), Some(file));
    assert_eq!(store.get_file(&"00".repeat(32)).await.unwrap(), None);
}

pub async fn read_marks_only_move_forward(store: &dyn roster_domain::store::ReadMarkStore) {
    assert_eq!(store.read_upto("clerk-1").await.unwrap(), None);
    let t = now();
    store.mark_read("clerk-1", t).await.unwrap();
    assert_eq!(store.read_upto("clerk-1").await.unwrap(), Some(t));
    // An older mark (a page opened earlier and posted late) does not move it back.
    store
        .mark_read("clerk-1", t - chrono::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(store.read_upto("clerk-1").await.unwrap(), Some(t));
    let later = t + chrono::Duration::seconds(30);
    store.mark_read("clerk-1", later).await.unwrap();
    assert_eq!(store.read_upto("clerk-1").await.unwrap(), Some(later));
    assert_eq!(store.read_upto("clerk-2").await.unwrap(), None);
}
