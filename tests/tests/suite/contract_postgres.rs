//! The contract on the PostgreSQL adapter, plus the late-commit tests that only a store with
//! concurrent writers needs.

use roster_domain::store::{
    Checkpoint, EventStore, ExpectedVersion, NewEvent, StoreError, StoredEvent,
};
use roster_postgres::{insert_events, EventRow, PgStore};
use roster_tests::contract::{new_event, read_all_until, single};
use tokio_postgres::Client;
use uuid::Uuid;

use crate::support::{admin_config, create_pg_database, fresh_pg, raw_client, PgDatabase};

contract_cases!(crate::support::fresh_pg());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_can_migrate_at_once() {
    let db = create_pg_database().await;
    let first = PgStore::with_config(db.config.clone()).await.unwrap();
    let second = PgStore::with_config(db.config.clone()).await.unwrap();
    let (a, b) = tokio::join!(first.migrate(), second.migrate());
    a.unwrap();
    b.unwrap();
    first.migrate().await.unwrap();

    let applied = raw_client(&db)
        .await
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get::<_, i64>(0);
    // 0001 event store, 0002 read models, 0003 append function, 0004 deadlines, 0005 read-model
    // layout, 0006 drafts, attachments and read marks: each applied once, not once per process.
    assert_eq!(applied, 7);
    first
        .append(single("platform-a", ExpectedVersion::NoStream, 1))
        .await
        .unwrap();
    drop((first, second));
}

#[tokio::test]
async fn unreachable_server_is_unavailable() {
    // Port 1 is never PostgreSQL: the connection is refused.
    match PgStore::connect("postgres://postgres@127.0.0.1:1/test").await {
        Err(StoreError::Unavailable(msg)) => assert!(msg.contains("cannot reach"), "{msg}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let mut missing = admin_config();
    missing.dbname(format!("roster_t_missing_{}", Uuid::new_v4().simple()));
    match PgStore::with_config(missing).await {
        Err(StoreError::Unavailable(msg)) => assert!(msg.contains("does not exist"), "{msg}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_connections_are_unavailable_then_recover() {
    let (store, db) = fresh_pg().await;
    store
        .append(single("platform-a", ExpectedVersion::NoStream, 1))
        .await
        .unwrap();
    let admin = raw_client(&db).await;
    for _ in 0..5 {
        // What a server restart or an operator's pg_terminate_backend does to the pool.
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .unwrap();
        // The pool may notice the dead connection and open a new one, or hand it out once;
        // never twice.
        match store.load_stream("platform-a", 0).await {
            Ok(events) => assert_eq!(events.len(), 1),
            Err(StoreError::Unavailable(msg)) => {
                assert!(msg.contains("PostgreSQL"), "{msg}");
                let retry = store.load_stream("platform-a", 0).await;
                assert_eq!(
                    retry.map(|e| e.len()),
                    Ok(1),
                    "the retry got the dead connection"
                );
            }
            Err(other) => panic!("a terminated connection must read as Unavailable: {other:?}"),
        }
    }
}

/// Transaction A inserts first (lower position) and stays open; B inserts after it and commits.
struct LateCommit {
    a: Client,
    a_event: NewEvent,
    b_event: NewEvent,
    a_position: i64,
    b_position: i64,
}

async fn open_a_then_commit_b(db: &PgDatabase) -> LateCommit {
    let a = raw_client(db).await;
    let b = raw_client(db).await;
    let a_event = new_event("platform-late-a", 1);
    let b_event = new_event("platform-late-b", 1);

    a.batch_execute("BEGIN").await.unwrap();
    let a_position = insert_events(
        &a,
        &[EventRow {
            stream_id: "platform-late-a",
            version: 1,
            event: &a_event,
        }],
    )
    .await
    .unwrap()[0];

    b.batch_execute("BEGIN").await.unwrap();
    let b_position = insert_events(
        &b,
        &[EventRow {
            stream_id: "platform-late-b",
            version: 1,
            event: &b_event,
        }],
    )
    .await
    .unwrap()[0];
    b.batch_execute("COMMIT").await.unwrap();

    assert!(
        a_position < b_position,
        "the interleaving needs A below B: {a_position} vs {b_position}"
    );
    LateCommit {
        a,
        a_event,
        b_event,
        a_position,
        b_position,
    }
}

fn ids(events: &[StoredEvent]) -> Vec<Uuid> {
    events.iter().map(|e| e.event_id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyset_reader_never_skips_a_late_commit() {
    let (store, db) = fresh_pg().await;
    let early = single("platform-early", ExpectedVersion::NoStream, 1);
    let early_id = early.streams[0].events[0].event_id;
    store.append(early).await.unwrap();
    let mut seen = read_all_until(&store, Checkpoint::START, 1, 10).await;
    let mut checkpoint = seen[0].checkpoint();

    let late = open_a_then_commit_b(&db).await;
    // B is committed, but A (below it) may still commit: handing out B now would move the
    // reader's checkpoint past A for good.
    for _ in 0..3 {
        let during = store.read_all_after(checkpoint, 100).await.unwrap();
        assert!(
            !ids(&during).contains(&late.b_event.event_id),
            "read_all_after returned B (position {}) while A (position {}) was still open",
            late.b_position,
            late.a_position
        );
        if let Some(last) = during.last() {
            checkpoint = last.checkpoint();
        }
        seen.extend(during);
    }

    late.a.batch_execute("COMMIT").await.unwrap();
    let rest = read_all_until(&store, checkpoint, 2, 10).await;
    checkpoint = rest.last().unwrap().checkpoint();
    seen.extend(rest);
    assert_eq!(
        ids(&seen),
        vec![early_id, late.a_event.event_id, late.b_event.event_id],
        "every event exactly once, A before B"
    );
    assert!(store
        .read_all_after(checkpoint, 100)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_position_cursor_would_skip_the_late_commit() {
    // The same interleaving read with `global_position > $last`: proves the test above can fail.
    let (store, db) = fresh_pg().await;
    store
        .append(single("platform-early", ExpectedVersion::NoStream, 1))
        .await
        .unwrap();
    let reader = raw_client(&db).await;
    let read_after = |last: i64| {
        let reader = &reader;
        async move {
            reader
                .query(
                    "SELECT global_position, event_id FROM events
                     WHERE global_position > $1 ORDER BY global_position",
                    &[&last],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get::<_, i64>(0), r.get::<_, Uuid>(1)))
                .collect::<Vec<_>>()
        }
    };
    let mut last = read_after(0).await[0].0;
    let mut seen = Vec::new();

    let late = open_a_then_commit_b(&db).await;
    for (position, id) in read_after(last).await {
        last = position;
        seen.push(id);
    }
    late.a.batch_execute("COMMIT").await.unwrap();
    for (position, id) in read_after(last).await {
        last = position;
        seen.push(id);
    }

    assert_eq!(
        seen,
        vec![late.b_event.event_id],
        "the bare cursor read B only"
    );
    assert_eq!(last, late.b_position);
    let everything: Vec<Uuid> = read_after(0).await.into_iter().map(|(_, id)| id).collect();
    assert!(
        everything.contains(&late.a_event.event_id),
        "A is committed, yet the bare cursor, past B, will never return it"
    );
}

/// Transaction ids compare as numbers, not text: with ids 999 and 1000 ("1000" < "999" as
/// text) a page of one event at a time must still return both, 999 first. Sorting the cursor
/// by the text form would return 1000 first and then skip 999.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyset_pages_order_transaction_ids_as_numbers() {
    let (store, db) = fresh_pg().await;
    let client = raw_client(&db).await;
    for (xid, id) in [(999u64, 1u128), (1000, 2)] {
        let e = new_event("platform-xid", id as usize);
        client
            .execute(
                "INSERT INTO events (transaction_id, stream_id, version, event_id, event_type, schema_version, payload, metadata, recorded_at, business_date)
                 VALUES ($1::text::xid8, 'platform-xid', $2, $3, $4, 1, $5, $6, $7, $8)",
                &[
                    &xid.to_string(),
                    &(id as i64),
                    &Uuid::from_u128(id),
                    &e.event_type,
                    &e.payload,
                    &serde_json::to_value(&e.metadata).unwrap(),
                    &e.metadata.recorded_at,
                    &e.metadata.business_date,
                ],
            )
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut from = Checkpoint::START;
    loop {
        let page = store.read_all_after(from, 1).await.unwrap();
        let Some(e) = page.first() else { break };
        seen.push(e.transaction_id);
        from = e.checkpoint();
    }
    assert_eq!(seen, vec![999, 1000]);
}

/// Upgrading a database whose timeline and KPI read models are in the earlier layout (one
/// growing document per platform): the migration drops them with their checkpoints, and the
/// next catch-up rebuilds both from the log in the row layout; the other read models are kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_layout_migration_rebuilds_timeline_and_kpi_from_the_log() {
    use roster_domain::events::{encode, PlatformEvent};
    use roster_domain::samples::{date, gd_form};
    use roster_projections::local::LocalProjections;
    use roster_projections::models;
    use roster_projections::store::ReadModelStore;
    use std::sync::Arc;

    let (store, db) = fresh_pg().await;
    let store = Arc::new(store);
    let (event_type, schema_version, payload) = encode(&PlatformEvent::ApplicationSubmitted {
        round_id: "2025".into(),
        cycle: 1,
        submitted_on: date("2025-07-01"),
        form: gd_form(),
    });
    let mut event = new_event("platform-gd-a", 1);
    event.event_type = event_type;
    event.schema_version = schema_version;
    event.payload = payload;
    let mut commit = single("platform-gd-a", ExpectedVersion::NoStream, 1);
    commit.streams[0].events = vec![event];
    store.append(commit).await.unwrap();
    let head = store.load_stream("platform-gd-a", 0).await.unwrap()[0].checkpoint();
    let local = LocalProjections::new(store.clone(), store.clone(), models::all());
    // One pass stops at the cluster's visibility horizon: a transaction another test holds open
    // keeps the new commit back for a moment, so catch up until every model has passed it.
    let catch_up = || async {
        let give_up = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            local.catch_up_all().await.unwrap();
            let states = store.states().await.unwrap();
            let behind: Vec<&str> = models::NAMES
                .into_iter()
                .filter(|name| {
                    states
                        .iter()
                        .find(|s| s.projection == *name)
                        .is_none_or(|s| s.checkpoint < head)
                })
                .collect();
            if behind.is_empty() {
                return;
            }
            assert!(
                std::time::Instant::now() < give_up,
                "{behind:?} never reached the commit"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    catch_up().await;

    // What a database of the earlier layout holds: the documents under the platform id.
    let client = raw_client(&db).await;
    client
        .batch_execute(
            "DELETE FROM read_model_docs WHERE projection IN ('timeline', 'kpi');
             INSERT INTO read_model_docs VALUES
               ('timeline', 'gd-a', '{\"platform_id\":\"gd-a\",\"entries\":[]}'),
               ('kpi', 'p/gd-a', '{\"platform_id\":\"gd-a\",\"cycles\":[],\"services\":\"\"}'),
               ('kpi', 'i/gd-a', '{\"lines\":{}}');
             DELETE FROM schema_migrations WHERE version IN (5, 7);",
        )
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let kept: Vec<String> = client
        .query(
            "SELECT DISTINCT projection FROM read_model_docs ORDER BY projection",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(kept, vec!["funnel", "incidents", "reviews", "roster"]);
    assert_eq!(
        store.state("timeline").await.unwrap().checkpoint,
        Checkpoint::START
    );

    catch_up().await;
    let timeline = models::timeline::read(store.as_ref(), "gd-a")
        .await
        .unwrap();
    assert_eq!(timeline.entries.len(), 1);
    assert!(timeline.entries[0]
        .summary
        .starts_with("application submitted to round 2025"));
    // Rebuilt from the log, the line reads in Chinese too (migration 7).
    assert!(
        timeline.entries[0].summary_zh.contains("2025"),
        "{:?}",
        timeline.entries[0]
    );
    let (platforms, _) = roster_projections::kpi::load(store.as_ref()).await.unwrap();
    assert_eq!(platforms.len(), 1);
    assert_eq!(platforms[0].cycles.len(), 1);
}
