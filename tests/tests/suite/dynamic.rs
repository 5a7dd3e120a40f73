//! Dynamic management (RULES.md §7, D-1..D-9) in the real event path: commands through the HTTP
//! API, the policy consumer and the deadline scheduler running as they do in `roster serve`,
//! time moved by a simulated clock. On the embedded default (SQLite) and on PostgreSQL here;
//! through RabbitMQ in `dynamic_broker`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use roster_domain::policies::PolicyConfig;
use roster_domain::store::{Checkpoint, DeadlineState, StoredEvent};
use roster_projections::POLICIES;
use serde_json::{json, Value};

use crate::api::{actors, gd_application, open_round, Actors};
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use roster_domain::policies::Deadline;
use roster_domain::store::{DeadlineRecord, DeadlineStore, StoreError};
use roster_projections::{CommitOutcome, DeadLetter, DocChange, ProjectionState, ReadModelStore};

use crate::app::{spawn_app_on, spawn_app_with, Kind, SimClock, TestApp};

/// Every event of the platform's stream, decoded type by type.
pub(crate) async fn stream(app: &TestApp, id: &str) -> Vec<StoredEvent> {
    app.store
        .load_stream(&format!("platform-{id}"), 0)
        .await
        .unwrap()
}

pub(crate) fn types(events: &[StoredEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event_type.as_str()).collect()
}

pub(crate) fn count(events: &[StoredEvent], event_type: &str) -> usize {
    events.iter().filter(|e| e.event_type == event_type).count()
}

/// The newest checkpoint of the log, read through the streams (the global reader may hold
/// back a commit for a moment while another transaction of the cluster is open).
async fn head(app: &TestApp) -> Checkpoint {
    app.all_events()
        .await
        .iter()
        .map(StoredEvent::checkpoint)
        .max()
        .unwrap_or_default()
}

/// Runs the automation until nothing moves: every follower (read models and the policy
/// consumer) at the head of the log, and nothing due by the simulated clock. `broker`: the
/// followers run as RabbitMQ consumers, so this only waits for them and runs the scheduler.
pub(crate) async fn settle(app: &TestApp) {
    let give_up = Instant::now() + Duration::from_secs(60);
    loop {
        let fired = app.state.automate().await.expect("automation");
        // The states before the head: the policy consumer appends the commands an event calls
        // for before it commits its checkpoint past that event, so a head read first could
        // miss them while the checkpoints read next already passed it (the D-7 cancellation of
        // a delisting D-5 issued was then not yet done when `settle` returned).
        let states = app.models.states().await.unwrap();
        let head = head(app).await;
        let behind: Vec<&str> = roster_projections::models::NAMES
            .into_iter()
            .chain([POLICIES])
            .filter(|name| {
                states
                    .iter()
                    .find(|s| s.projection == *name)
                    .is_none_or(|s| s.checkpoint < head)
            })
            .collect();
        if fired.is_empty() && behind.is_empty() {
            return;
        }
        assert!(
            Instant::now() < give_up,
            "automation did not settle: {behind:?} behind the head {head:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An act on day `on` (the clock moves there: RULES.md §12 dates acts by when they are recorded).
async fn post(app: &TestApp, token: &str, id: &str, action: &str, on: &str, body: Value) -> Value {
    let r = app
        .act(token, &format!("/api/v1/platforms/{id}/{action}"), on, body)
        .await;
    assert_eq!(r.status, 201, "{action} on {on}: {:?}", r.body);
    r.body
}

/// A Guangdong platform listed on `listed_on` (the 2025 round's steps before it).
pub(crate) async fn listed_platform(
    app: &TestApp,
    a: &Actors,
    n: usize,
    listed_on: &str,
) -> String {
    if n == 0 {
        open_round(app, a).await;
    }
    let (id, _) = gd_application(app, a, n).await;
    let m = &a.ministry;
    post(
        app,
        &a.gd,
        &id,
        "province-recommendation",
        "2025-07-09",
        json!({"opinion": "推荐"}),
    )
    .await;
    post(
        app,
        m,
        &id,
        "expert-evaluation",
        "2025-09-20",
        json!({"score": 88, "passed": true}),
    )
    .await;
    post(
        app,
        m,
        &id,
        "public-notice",
        "2025-11-20",
        json!({"from": "2025-11-20", "until": "2025-11-26"}),
    )
    .await;
    post(app, m, &id, "listing", listed_on, json!({})).await;
    id
}

async fn report_leak(
    app: &TestApp,
    a: &Actors,
    id: &str,
    incident: &str,
    on: &str,
    loss: Option<u64>,
) {
    post(
        app,
        &a.gd,
        id,
        "incident",
        on,
        json!({
            "incident_id": incident,
            "kind": "strain_leak",
            "occurred_on": on,
            "description": "菌种泄露",
            "direct_loss_cny": loss,
        }),
    )
    .await;
}

async fn assess(app: &TestApp, a: &Actors, id: &str, incident: &str, on: &str, loss: u64) {
    post(
        app,
        &a.ministry,
        id,
        "incident-assessment",
        on,
        json!({"incident_id": incident, "direct_loss_cny": loss, "deaths": 0,
               "serious_injuries": 0, "conclusion": "评估结论"}),
    )
    .await;
}

async fn roster_on(app: &TestApp, token: &str, as_of: &str) -> Vec<Value> {
    let r = app
        .get(Some(token), &format!("/api/v1/roster?as_of={as_of}"))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["platforms"].as_array().cloned().expect("platforms")
}

async fn reviews_on(app: &TestApp, token: &str, as_of: &str) -> Vec<Value> {
    let r = app
        .get(Some(token), &format!("/api/v1/reviews?as_of={as_of}"))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["reviews"].as_array().cloned().expect("reviews")
}

fn timeline_text(timeline: &Value) -> Vec<String> {
    timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap().to_string())
        .collect()
}

/// The scenario of the issue over a simulated 2025-2031: listing in December 2025, services, a
/// minor strain leak in 2026 (re-review opened automatically, passed), an annual evaluation
/// each year, the first triennial review opening 90 days before December 2028, a 2029 strain
/// leak reported with unknown loss and assessed at 12,000,000 CNY (automatic delisting on the
/// assessment date), and the roster at each year end.
pub(crate) async fn d1_to_d9_scenario_2025_to_2031(env: &Env) {
    let (app, clock) = (&env.app, &env.clock);
    let a = actors(app).await;
    clock.set("2025-12-01");
    let id = listed_platform(app, &a, 0, "2025-12-01").await;
    settle(app).await;

    // D-1: listing schedules the first triennial review on the 3rd anniversary, opening 90
    // days before (D-2).
    let pending = app.deadlines.deadlines(true, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].deadline.due_on.to_string(), "2028-12-01");
    assert_eq!(pending[0].deadline.fire_on.to_string(), "2028-09-02");
    let listing_event = stream(app, &id).await.last().unwrap().event_id;
    assert_eq!(pending[0].deadline.scheduled_by, listing_event);

    // D-8: an evaluation each year (the 2025 one in December 2025).
    post(
        app,
        &a.ministry,
        &id,
        "annual-evaluation",
        "2025-12-20",
        json!({"year": 2025, "stars": 3}),
    )
    .await;

    // Services in 2026.
    clock.set("2026-03-01");
    post(
        app,
        &a.ministry,
        &id,
        "service",
        "2026-03-01",
        json!({"dated": "2026-03-01", "record": {"kind": "enterprise_served",
               "enterprise_uscc": roster_domain::samples::uscc_with_check("91440300MA5999999"),
               "enterprise_name": "示例企业", "contract_cny": 500000}}),
    )
    .await;

    // D-4: a minor strain leak opens the incident re-review automatically, once.
    clock.set("2026-05-11");
    report_leak(app, &a, &id, "leak-2026", "2026-05-11", Some(300_000)).await;
    settle(app).await;
    let events = stream(app, &id).await;
    let reported = events
        .iter()
        .find(|e| e.event_type == "IncidentReported")
        .unwrap()
        .clone();
    let opened = events.last().unwrap();
    assert_eq!(opened.event_type, "ReviewOpened");
    assert_eq!(opened.payload["review_id"], "incident-leak-2026");
    assert_eq!(opened.payload["due_on"], "2026-08-09");
    assert_eq!(opened.metadata.actor.id, "system:policy D-4");
    assert_eq!(opened.metadata.causation_id, Some(reported.event_id));
    assert_eq!(opened.metadata.business_date.to_string(), "2026-05-11");
    let timeline = app
        .get(
            Some(&a.ministry),
            &format!("/api/v1/platforms/{id}/timeline"),
        )
        .await;
    let text = timeline_text(&timeline.body);
    let line = text
        .iter()
        .find(|l| l.contains("incident-leak-2026"))
        .unwrap();
    assert!(
        line.contains("opened automatically by policy D-4 after incident leak-2026")
            && line.contains(&reported.event_id.to_string()),
        "{line}"
    );
    // The re-review passes; the platform stays on the roster.
    post(
        app,
        &a.ministry,
        &id,
        "review-conclusion",
        "2026-07-20",
        json!({"review_id": "incident-leak-2026", "outcome": "passed", "reasons": ["整改到位"]}),
    )
    .await;
    // Each annual evaluation is recorded on its day (the clock moves there); 2028's after the
    // triennial review below, whose opening needs the clock before its due date.
    for (year, on, stars) in [(2026, "2026-12-15", 4), (2027, "2027-12-15", 4)] {
        post(
            app,
            &a.ministry,
            &id,
            "annual-evaluation",
            on,
            json!({"year": year, "stars": stars}),
        )
        .await;
    }

    // D-2: the clock reaches the day before the opening: nothing; the opening day: opened.
    clock.set("2028-09-01");
    settle(app).await;
    assert_eq!(count(&stream(app, &id).await, "ReviewOpened"), 1);
    clock.set("2028-09-02");
    settle(app).await;
    let events = stream(app, &id).await;
    assert_eq!(count(&events, "ReviewOpened"), 2);
    let triennial = events
        .iter()
        .find(|e| e.payload["trigger"] == "triennial")
        .unwrap();
    assert_eq!(triennial.payload["due_on"], "2028-12-01");
    assert_eq!(triennial.metadata.business_date.to_string(), "2028-09-02");
    assert_eq!(triennial.metadata.actor.id, "system:policy D-2");
    assert_eq!(triennial.metadata.causation_id, Some(listing_event));
    // …and the next one is scheduled on the 2031 anniversary (no drift).
    let pending = app.deadlines.deadlines(true, 10).await.unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|d| d.deadline.due_on.to_string())
            .collect::<Vec<_>>(),
        ["2031-12-01"]
    );
    // Not concluded by its due date: overdue on the board and in the metrics.
    clock.set("2028-12-02");
    settle(app).await;
    let board = reviews_on(app, &a.analyst, "2028-12-02").await;
    let row = board
        .iter()
        .find(|r| r["review_id"] == "triennial-2028-12-01")
        .unwrap();
    assert_eq!(row["state"], "overdue", "{row}");
    let on_due_day = reviews_on(app, &a.analyst, "2028-12-01").await;
    assert_eq!(
        on_due_day
            .iter()
            .find(|r| r["review_id"] == "triennial-2028-12-01")
            .unwrap()["state"],
        "open",
        "due today is not overdue yet"
    );
    let metrics = app.get(Some(&a.ministry), "/metrics").await;
    let metrics = metrics.body.as_str().unwrap_or_default().to_string();
    assert!(metrics.contains("roster_reviews_overdue 1"), "{metrics}");
    assert!(metrics.contains("roster_deadlines_pending 1"), "{metrics}");
    post(
        app,
        &a.ministry,
        &id,
        "review-conclusion",
        "2028-12-10",
        json!({"review_id": "triennial-2028-12-01", "outcome": "passed", "reasons": []}),
    )
    .await;
    post(
        app,
        &a.ministry,
        &id,
        "annual-evaluation",
        "2028-12-15",
        json!({"year": 2028, "stars": 5}),
    )
    .await;

    // D-5: a 2029 strain leak, loss unknown at report: the re-review opens (D-4) but the
    // platform stays listed; the assessment at 12,000,000 CNY delists it on that date.
    clock.set("2029-03-10");
    report_leak(app, &a, &id, "leak-2029", "2029-03-10", None).await;
    settle(app).await;
    assert_eq!(count(&stream(app, &id).await, "PlatformDelisted"), 0);
    clock.set("2029-06-30");
    assess(app, &a, &id, "leak-2029", "2029-06-30", 12_000_000).await;
    settle(app).await;
    let events = stream(app, &id).await;
    let assessed = events
        .iter()
        .rev()
        .find(|e| e.event_type == "IncidentAssessed")
        .unwrap();
    let tail = &events[events.len() - 2..];
    assert_eq!(types(tail), ["ReviewConcluded", "PlatformDelisted"]);
    assert_eq!(tail[0].payload["review_id"], "incident-leak-2029");
    assert_eq!(tail[0].payload["outcome"], "failed");
    assert!(tail[0].payload["reasons"][0]
        .as_str()
        .unwrap()
        .contains("D-5"));
    assert_eq!(tail[1].payload["reason"], "strain_leak_major_loss");
    assert_eq!(tail[1].payload["delisted_on"], "2029-06-30");
    assert_eq!(tail[1].payload["cause"], json!(assessed.event_id));
    assert_eq!(tail[1].metadata.actor.id, "system:policy D-5");
    assert_eq!(tail[1].metadata.causation_id, Some(assessed.event_id));
    // D-7: the pending 2031 review is cancelled with the listing.
    assert!(app.deadlines.deadlines(true, 10).await.unwrap().is_empty());
    let all = app.deadlines.deadlines(false, 10).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|d| (d.deadline.due_on.to_string(), d.state))
            .collect::<Vec<_>>(),
        [
            ("2028-12-01".to_string(), DeadlineState::Fired),
            ("2031-12-01".to_string(), DeadlineState::Cancelled)
        ]
    );

    // Years later nothing else happens: no review of a delisted platform.
    clock.set("2031-12-31");
    settle(app).await;
    assert_eq!(stream(app, &id).await.len(), events.len());

    // The roster at each year end, with the star rating as of that date (D-8).
    let mut seen = Vec::new();
    for year in 2025..=2031 {
        let rows = roster_on(app, &a.analyst, &format!("{year}-12-31")).await;
        let row = rows.iter().find(|r| r["platform_id"] == id.as_str());
        seen.push((year, row.map(|r| r["stars"].clone())));
    }
    assert_eq!(
        seen,
        [
            (2025, Some(json!(3))),
            (2026, Some(json!(4))),
            (2027, Some(json!(4))),
            (2028, Some(json!(5))),
            (2029, None),
            (2030, None),
            (2031, None),
        ]
    );
    // Listed the day before the assessment, not on it (D-7).
    let listed = |rows: &[Value]| rows.iter().any(|r| r["platform_id"] == id.as_str());
    assert!(listed(&roster_on(app, &a.analyst, "2029-06-29").await));
    assert!(!listed(&roster_on(app, &a.analyst, "2029-06-30").await));
}

/// D-3, D-6 and the reason codes of D-9: a major safety accident opens a review without
/// delisting, its failure delists with `review_failed`; a serious violation names its area.
pub(crate) async fn d3_d6_d9_reviews_and_reason_codes(env: &Env) {
    let (app, clock) = (&env.app, &env.clock);
    let a = actors(app).await;
    clock.set("2026-01-10");
    let one = listed_platform(app, &a, 0, "2025-12-01").await;
    let two = listed_platform(app, &a, 1, "2025-12-01").await;
    let three = listed_platform(app, &a, 2, "2025-12-01").await;
    // D-6: 较大 (49,999,999) opens nothing; 重大 (50,000,000) opens a review, no delisting.
    for (incident, loss) in [("fire-1", 49_999_999u64), ("fire-2", 50_000_000)] {
        post(
            app,
            &a.gd,
            &one,
            "incident",
            "2026-01-10",
            json!({"incident_id": incident,
            "kind": "safety", "occurred_on": "2026-01-09", "description": "安全事故",
            "direct_loss_cny": loss}),
        )
        .await;
    }
    settle(app).await;
    let events = stream(app, &one).await;
    assert_eq!(count(&events, "ReviewOpened"), 1);
    let opened = events.last().unwrap();
    assert_eq!(opened.payload["review_id"], "incident-fire-2");
    assert_eq!(opened.metadata.actor.id, "system:policy D-6");
    assert_eq!(count(&events, "PlatformDelisted"), 0);
    // D-3: the review fails: delisted on the conclusion date with review_failed.
    post(
        app,
        &a.ministry,
        &one,
        "review-conclusion",
        "2026-03-01",
        json!({"review_id": "incident-fire-2", "outcome": "failed", "reasons": ["整改不到位"]}),
    )
    .await;
    let events = stream(app, &one).await;
    let delisted = events.last().unwrap();
    assert_eq!(delisted.event_type, "PlatformDelisted");
    assert_eq!(delisted.payload["reason"], "review_failed");
    assert_eq!(delisted.payload["delisted_on"], "2026-03-01");
    // D-9: a serious violation must name its area; with it, the platform is removed.
    let bad = app
        .act(
            &a.ministry,
            &format!("/api/v1/platforms/{two}/delisting"),
            "2026-04-01",
            json!({"reason": "serious_violation"}),
        )
        .await;
    assert_eq!(
        (bad.status, bad.body["field"].as_str()),
        (400, Some("area")),
        "{:?}",
        bad.body
    );
    assert_eq!(
        count(&stream(app, &two).await, "PlatformDelisted"),
        0,
        "changes nothing"
    );
    post(
        app,
        &a.ministry,
        &two,
        "delisting",
        "2026-04-01",
        json!({"reason": "serious_violation", "area": "ip"}),
    )
    .await;
    post(
        app,
        &a.ministry,
        &three,
        "delisting",
        "2026-04-02",
        json!({"reason": "insufficient_service"}),
    )
    .await;
    settle(app).await;
    let last = |events: Vec<StoredEvent>| events.last().unwrap().payload.clone();
    assert_eq!(last(stream(app, &two).await)["area"], "ip");
    assert_eq!(
        last(stream(app, &three).await)["reason"],
        "insufficient_service"
    );
    // The delistings cancelled the platforms' pending reviews (D-7).
    assert!(app.deadlines.deadlines(true, 10).await.unwrap().is_empty());
    let rows = roster_on(app, &a.analyst, "2026-04-02").await;
    assert!(rows.is_empty(), "{rows:?}");
    let rows = roster_on(app, &a.analyst, "2026-03-31").await;
    assert_eq!(rows.len(), 2, "two and three still listed the day before");
}

/// D-2 with a clock that jumps years ahead at once: each anniversary's review opens exactly
/// once, on its own scheduled day, and the chain continues.
pub(crate) async fn d2_clock_jumping_years_opens_each_review_once(env: &Env) {
    let (app, clock) = (&env.app, &env.clock);
    let a = actors(app).await;
    clock.set("2025-12-01");
    let id = listed_platform(app, &a, 0, "2025-12-01").await;
    settle(app).await;
    clock.set("2035-01-01");
    settle(app).await;
    settle(app).await;
    let events = stream(app, &id).await;
    let opened: Vec<(String, String)> = events
        .iter()
        .filter(|e| e.event_type == "ReviewOpened")
        .map(|e| {
            (
                e.payload["due_on"].as_str().unwrap().to_string(),
                e.metadata.business_date.to_string(),
            )
        })
        .collect();
    assert_eq!(
        opened,
        [
            ("2028-12-01".to_string(), "2028-09-02".to_string()),
            ("2031-12-01".to_string(), "2031-09-02".to_string()),
            ("2034-12-01".to_string(), "2034-09-02".to_string()),
        ]
    );
    let pending = app.deadlines.deadlines(true, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].deadline.due_on.to_string(), "2037-12-01");
    // All three are open past their due dates as of the clock: overdue.
    let board = reviews_on(app, &a.analyst, "2035-01-01").await;
    assert_eq!(board.iter().filter(|r| r["state"] == "overdue").count(), 3);
}

/// D-4/D-5 exactly once: the policy consumer replays the log from the start (a rebuild of its
/// state, or every notice redelivered), and crashes after its commands and before its
/// checkpoint; the platform still has one re-review and one delisting.
pub(crate) async fn d4_d5_exactly_once_under_replay_redelivery_and_crash(env: &Env) {
    let (app, clock) = (&env.app, &env.clock);
    let a = actors(app).await;
    clock.set("2026-05-11");
    let id = listed_platform(app, &a, 0, "2025-12-01").await;
    report_leak(app, &a, &id, "leak-big", "2026-05-11", Some(15_000_000)).await;
    settle(app).await;
    let once = stream(app, &id).await;
    assert_eq!(
        types(&once[once.len() - 4..]),
        [
            "IncidentReported",
            "ReviewOpened",
            "ReviewConcluded",
            "PlatformDelisted"
        ]
    );
    let audit_before = app.store.audit_log(1000).await.unwrap().len();

    // Replay: the consumer's checkpoint is gone (a rebuild); with the broker, every event is
    // also published again, so each notice arrives twice.
    app.models.reset(POLICIES).await.unwrap();
    env.redeliver(&once).await;
    settle(app).await;
    assert_eq!(stream(app, &id).await, once, "replay acted again");
    // …and not even tried: each replayed command met its first result by id, so no refusal
    // was audited.
    assert_eq!(
        app.store.audit_log(1000).await.unwrap().len(),
        audit_before,
        "the replayed policy commands were decided again instead of answered by their ids"
    );

    // A second platform; its leak's commands run, then the checkpoint commit fails (a crash
    // between decision and acknowledgement).
    let two = listed_platform(app, &a, 1, "2025-12-01").await;
    settle(app).await;
    report_leak(app, &a, &two, "leak-two", "2026-05-12", None).await;
    let faulty = Arc::new(FailingCheckpoint {
        inner: app.models.clone(),
        fail: std::sync::atomic::AtomicBool::new(true),
    });
    let crashing = roster_app::automation::PolicyConsumer::new(
        Arc::new(roster_app::commands::CommandService::new(
            app.store.clone(),
            Arc::new(roster_domain::clock::SystemClock),
        )),
        faulty.clone(),
        app.deadlines.clone(),
        PolicyConfig::default(),
    );
    use roster_projections::Follower;
    // The in-process consumer (embedded) or the broker's may get there first: either way the
    // crashing one runs the same commands.
    let _ = crashing.follow(None, 100).await;
    faulty
        .fail
        .store(false, std::sync::atomic::Ordering::SeqCst);
    crashing.follow(None, 100).await.expect("after the crash");
    settle(app).await;
    let events = stream(app, &two).await;
    assert_eq!(count(&events, "ReviewOpened"), 1, "{:?}", types(&events));
    assert_eq!(count(&events, "PlatformDelisted"), 0);
}

/// D-2: two scheduler instances (two processes, each with its own command service) see the
/// same due deadline at the same moment and both fire it: one review opens, both get the one
/// result of the one command id, the deadline is settled once.
pub(crate) async fn d2_two_schedulers_open_one_review(env: &Env) {
    let (app, clock) = (&env.app, &env.clock);
    let a = actors(app).await;
    clock.set("2025-12-01");
    let id = listed_platform(app, &a, 0, "2025-12-01").await;
    settle(app).await;
    // Both schedulers read the due list before either fires.
    let together = Arc::new(SeeDueTogether {
        inner: app.deadlines.clone(),
        barrier: tokio::sync::Barrier::new(2),
    });
    // The racing schedulers run on their own clock, three years on; the server's own scheduler
    // stays at the listing day, so it cannot fire the deadline before them (under load it did,
    // and then neither racer settled it).
    let later = crate::app::SimClock::at("2028-09-02");
    let scheduler = || {
        roster_app::automation::Scheduler::new(
            Arc::new(roster_app::commands::CommandService::new(
                app.store.clone(),
                later.clone(),
            )),
            together.clone(),
            later.clone(),
        )
    };
    let (first, second) = (scheduler(), scheduler());
    let (x, y) = tokio::join!(first.tick(), second.tick());
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!((x.len(), y.len()), (1, 1), "both fired: {x:?} {y:?}");
    assert_eq!(x[0].command_id, y[0].command_id);
    assert!(
        x[0].state == DeadlineState::Fired && y[0].state == DeadlineState::Fired,
        "both met the accepted command, neither a refusal: {x:?} {y:?}"
    );
    assert_eq!(
        u8::from(x[0].settled_here) + u8::from(y[0].settled_here),
        1,
        "settled once"
    );
    settle(app).await;
    let events = stream(app, &id).await;
    assert_eq!(count(&events, "ReviewOpened"), 1, "{:?}", types(&events));
    let all = app.deadlines.deadlines(false, 10).await.unwrap();
    assert_eq!(all[0].state, DeadlineState::Fired);
    assert_eq!(all[0].command_id, Some(x[0].command_id));
}

/// Holds the first `due` reads of two schedulers until both have read.
struct SeeDueTogether {
    inner: Arc<dyn DeadlineStore>,
    barrier: tokio::sync::Barrier,
}

#[async_trait::async_trait]
impl DeadlineStore for SeeDueTogether {
    async fn schedule(&self, d: &[Deadline], at: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.schedule(d, at).await
    }
    async fn cancel_pending(
        &self,
        platform_id: &str,
        listed_on: NaiveDate,
        note: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.inner
            .cancel_pending(platform_id, listed_on, note, at)
            .await
    }
    async fn due(&self, today: NaiveDate, limit: usize) -> Result<Vec<Deadline>, StoreError> {
        let due = self.inner.due(today, limit).await?;
        if !due.is_empty() {
            self.barrier.wait().await;
        }
        Ok(due)
    }
    async fn settle(
        &self,
        deadline_id: &str,
        state: DeadlineState,
        command_id: uuid::Uuid,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.inner
            .settle(deadline_id, state, command_id, note, at)
            .await
    }
    async fn deadlines(
        &self,
        pending_only: bool,
        limit: usize,
    ) -> Result<Vec<DeadlineRecord>, StoreError> {
        self.inner.deadlines(pending_only, limit).await
    }
}

/// Fails the policy consumer's checkpoint commits while `fail` is set.
struct FailingCheckpoint {
    inner: Arc<dyn ReadModelStore>,
    fail: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl ReadModelStore for FailingCheckpoint {
    async fn state(&self, p: &str) -> Result<ProjectionState, StoreError> {
        self.inner.state(p).await
    }
    async fn states(&self) -> Result<Vec<ProjectionState>, StoreError> {
        self.inner.states().await
    }
    async fn load(&self, p: &str, keys: &[String]) -> Result<BTreeMap<String, Value>, StoreError> {
        self.inner.load(p, keys).await
    }
    async fn scan(&self, p: &str, prefix: &str) -> Result<Vec<(String, Value)>, StoreError> {
        self.inner.scan(p, prefix).await
    }
    async fn commit(
        &self,
        p: &str,
        from: Checkpoint,
        to: Checkpoint,
        applied: u64,
        changes: Vec<DocChange>,
        dead: Vec<DeadLetter>,
    ) -> Result<CommitOutcome, StoreError> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unavailable(
                "simulated crash before the checkpoint".into(),
            ));
        }
        self.inner.commit(p, from, to, applied, changes, dead).await
    }
    async fn reset(&self, p: &str) -> Result<(), StoreError> {
        self.inner.reset(p).await
    }
    async fn swap(&self, shadow: &str, target: &str) -> Result<(), StoreError> {
        self.inner.swap(shadow, target).await
    }
    async fn dead_letters(&self, p: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        self.inner.dead_letters(p).await
    }
    async fn mark_replayed(
        &self,
        p: &str,
        id: uuid::Uuid,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        self.inner.mark_replayed(p, id, at).await
    }
}

/// A test's world: the app, its clock and, with the broker, the transport and its namespace.
pub(crate) struct Env {
    pub app: TestApp,
    pub clock: Arc<SimClock>,
    broker: Option<Broker>,
}

struct Broker {
    transport: roster::broker::Transport,
    cfg: roster_rabbitmq::BrokerConfig,
    _namespace: crate::broker::Namespace,
    _shared: tokio::sync::RwLockReadGuard<'static, ()>,
}

impl Env {
    pub(crate) async fn embedded(kind: Kind) -> Env {
        let clock = SimClock::at("2025-06-16");
        let app = spawn_app_with(kind, clock.clone(), PolicyConfig::default()).await;
        Env {
            app,
            clock,
            broker: None,
        }
    }

    /// PostgreSQL with the RabbitMQ transport: relay, read-model consumers and the policy
    /// consumer on their queues, as `roster serve --amqp-url` runs them.
    pub(crate) async fn broker() -> Env {
        let shared = crate::broker::BROKER.read().await;
        let clock = SimClock::at("2025-06-16");
        let app = spawn_app_on(
            Kind::Postgres,
            clock.clone(),
            PolicyConfig::default(),
            false,
        )
        .await;
        let (cfg, namespace, transport) = crate::broker::transport_for(&app).await;
        Env {
            app,
            clock,
            broker: Some(Broker {
                transport,
                cfg,
                _namespace: namespace,
                _shared: shared,
            }),
        }
    }

    /// With the broker, publishes `events` again (duplicate notices on every queue).
    async fn redeliver(&self, events: &[StoredEvent]) {
        let Some(b) = &self.broker else { return };
        let (connection, channel) = crate::broker::publisher(&b.cfg).await;
        for e in events {
            let (body, props) = roster_rabbitmq::event_message(e).unwrap();
            crate::broker::publish_raw(&channel, &b.cfg.exchange, &e.stream_id, &body, props).await;
        }
        let _ = connection.close(200, "redelivered".into()).await;
    }

    pub(crate) async fn finish(self) {
        if let Some(b) = self.broker {
            b.transport.stop().await;
        }
    }
}

macro_rules! on_every_transport {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let env = super::Env::embedded(crate::app::Kind::Sqlite).await;
                    super::$case(&env).await;
                    env.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let env = super::Env::embedded(crate::app::Kind::Postgres).await;
                    super::$case(&env).await;
                    env.finish().await;
                }
            )*
        }
        mod rabbitmq {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let env = super::Env::broker().await;
                    super::$case(&env).await;
                    env.finish().await;
                }
            )*
        }
    };
}

on_every_transport!(
    d1_to_d9_scenario_2025_to_2031,
    d3_d6_d9_reviews_and_reason_codes,
    d2_clock_jumping_years_opens_each_review_once,
    d2_two_schedulers_open_one_review,
    d4_d5_exactly_once_under_replay_redelivery_and_crash,
);

/// Counts the stream loads of the store it wraps.
struct CountingLoads {
    inner: Arc<dyn roster_domain::store::EventStore>,
    loads: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl roster_domain::store::EventStore for CountingLoads {
    async fn append(
        &self,
        commit: roster_domain::store::Commit,
    ) -> Result<roster_domain::store::AppendOutcome, StoreError> {
        self.inner.append(commit).await
    }
    async fn find_command(
        &self,
        command_id: uuid::Uuid,
    ) -> Result<Option<roster_domain::store::CommandRecord>, StoreError> {
        self.inner.find_command(command_id).await
    }
    async fn load_stream(
        &self,
        stream_id: &str,
        after_version: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.load_stream(stream_id, after_version).await
    }
    async fn read_all_after(
        &self,
        after: Checkpoint,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.read_all_after(after, limit).await
    }
    async fn stream_ids(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.stream_ids(prefix).await
    }
    async fn record_refusal(
        &self,
        entry: roster_domain::store::AuditEntry,
    ) -> Result<(), StoreError> {
        self.inner.record_refusal(entry).await
    }
    async fn audit_log(
        &self,
        limit: usize,
    ) -> Result<Vec<roster_domain::store::AuditEntry>, StoreError> {
        self.inner.audit_log(limit).await
    }
}

/// Issue 13: the policy consumer keeps each platform folded as it reads the log instead of
/// loading the platform's whole history for every event it acts on (the cost of an event grew
/// with the platform's history: 10,000 loads for 100,000 events in the pipeline benchmark).
/// Following a log from its start it loads no history at all; starting in the middle of a
/// platform's history, it loads it once. Either way it acts as before (D-4: one re-review).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_consumer_loads_a_platforms_history_at_most_once() {
    use roster_projections::Follower;
    let env = Env::embedded(Kind::Sqlite).await;
    let (app, clock) = (&env.app, &env.clock);
    let a = actors(app).await;
    clock.set("2025-12-01");
    let id = listed_platform(app, &a, 0, "2025-12-01").await;
    for i in 0..30 {
        post(
            app,
            &a.ministry,
            &id,
            "service",
            "2026-03-02",
            json!({"dated": "2026-03-02", "record": {"kind": "enterprise_served",
                   "enterprise_uscc": roster_domain::samples::uscc_with_check(&format!("91110000{i:09}")),
                   "enterprise_name": format!("受服务企业{i}"), "contract_cny": 100000}}),
        )
        .await;
    }
    report_leak(app, &a, &id, "leak-one", "2026-05-12", None).await;
    settle(app).await;
    let before = stream(app, &id).await;
    assert_eq!(count(&before, "ReviewOpened"), 1, "{:?}", types(&before));

    let consumer = |models: Arc<roster_projections::memory::MemoryReadModels>| {
        let counting = Arc::new(CountingLoads {
            inner: app.store.clone(),
            loads: std::sync::atomic::AtomicUsize::new(0),
        });
        let consumer = roster_app::automation::PolicyConsumer::new(
            Arc::new(roster_app::commands::CommandService::new(
                app.store.clone(),
                Arc::new(roster_domain::clock::SystemClock),
            )),
            models,
            app.deadlines.clone(),
            PolicyConfig::default(),
        )
        .reading(counting.clone());
        (consumer, counting)
    };
    let loads = |c: &CountingLoads| c.loads.load(std::sync::atomic::Ordering::SeqCst);

    // From the start of the log, in small batches.
    let (from_start, counting) = consumer(Arc::default());
    from_start.follow(None, 7).await.unwrap();
    assert_eq!(loads(&counting), 0, "histories loaded from the start");

    // From the middle of the platform's history (after its listing).
    let listed = before
        .iter()
        .find(|e| e.event_type == "PlatformListed")
        .unwrap()
        .checkpoint();
    let models = Arc::new(roster_projections::memory::MemoryReadModels::default());
    models
        .commit(POLICIES, Checkpoint::START, listed, 0, vec![], vec![])
        .await
        .unwrap();
    let (mid_way, counting) = consumer(models);
    mid_way.follow(None, 7).await.unwrap();
    assert_eq!(loads(&counting), 1, "the platform's history loaded once");

    settle(app).await;
    assert_eq!(stream(app, &id).await, before, "nothing issued twice");
}

/// A read never issues a command (in-process transport): after a strain leak, which calls for a
/// re-review (D-4), every report is read, and the reports show the leak, yet nothing is
/// appended until the background runtime runs the policy consumer (here `automate`, what the
/// runtime does continuously). Before the application layer, a report read ran every
/// in-process follower, the policy consumer among them, so a page view could open a review.
async fn reads_never_issue_commands(kind: Kind) {
    let mut app = spawn_app_with(kind, SimClock::at("2025-06-16"), PolicyConfig::default()).await;
    app.stop_runtime();
    let a = actors(&app).await;
    let id = listed_platform(&app, &a, 0, "2025-12-01").await;
    report_leak(&app, &a, &id, "leak-1", "2026-03-02", Some(1_000)).await;
    let log = app.all_events().await.len();
    for path in [
        "/api/v1/roster?as_of=2026-03-02".to_string(),
        "/api/v1/reviews?as_of=2026-03-02".to_string(),
        "/api/v1/funnel".to_string(),
        "/api/v1/reports/kpi".to_string(),
        "/api/v1/status".to_string(),
        format!("/api/v1/platforms/{id}/timeline"),
        format!("/api/v1/platforms/{id}"),
    ] {
        let r = app.get(Some(&a.ministry), &path).await;
        assert_eq!(r.status, 200, "{path}: {:?}", r.body);
    }
    let incidents = app
        .get(Some(&a.ministry), "/api/v1/incidents?as_of=2026-03-02")
        .await;
    assert_eq!(
        incidents.body["incidents"][0]["incident_id"], "leak-1",
        "the read models show the leak: {:?}",
        incidents.body
    );
    assert_eq!(
        app.all_events().await.len(),
        log,
        "a read appended events: {:?}",
        types(&stream(&app, &id).await)
    );
    assert_eq!(count(&stream(&app, &id).await, "ReviewOpened"), 0);
    // The background work opens the re-review.
    app.state.automate().await.expect("automation");
    assert_eq!(count(&stream(&app, &id).await, "ReviewOpened"), 1);
}

mod reads {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_issue_commands_on_sqlite() {
        super::reads_never_issue_commands(crate::app::Kind::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_issue_commands_on_postgres() {
        super::reads_never_issue_commands(crate::app::Kind::Postgres).await;
    }
}
