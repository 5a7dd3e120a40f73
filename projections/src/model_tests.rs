//! The read models folded from a small history, queried at the edges: the listing day, the
//! delisting day (D-7), review windows (D-1, D-2), star ratings as of a date (D-8), the funnel.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use roster_domain::actor::Actor;
use roster_domain::commands::{DelistReason, ReviewOutcome, ReviewTrigger};
use roster_domain::events::{encode, PlatformEvent};
use roster_domain::incident::IncidentKind;
use roster_domain::platform::Status;
use roster_domain::samples::{date, form_json, gd_form, uscc_with_check};
use roster_domain::store::{EventMetadata, StoredEvent};
use roster_domain::values::{Cny, Province};

use crate::memory::MemoryReadModels;
use crate::models::{
    self, funnel::FunnelDoc, incidents::IncidentsDoc, reviews::ReviewsDoc, roster::RosterDoc,
};
use crate::queries::{self, ReviewState, RosterQuery};
use crate::runner::apply_batch;
use crate::store::ReadModelStore;

#[derive(Default)]
struct Log {
    events: Vec<StoredEvent>,
}

impl Log {
    fn push(&mut self, platform: &str, on: &str, event: PlatformEvent) {
        let (event_type, schema_version, payload) = encode(&event);
        let pos = self.events.len() as i64 + 1;
        let version = self
            .events
            .iter()
            .filter(|e| e.stream_id == format!("platform-{platform}"))
            .count() as u64
            + 1;
        self.events.push(StoredEvent {
            global_position: pos,
            transaction_id: 0,
            stream_id: format!("platform-{platform}"),
            version,
            event_id: uuid::Uuid::from_u128(pos as u128),
            event_type,
            schema_version,
            payload,
            metadata: EventMetadata {
                actor: Actor::system("test"),
                command_id: uuid::Uuid::from_u128(1000 + pos as u128),
                correlation_id: uuid::Uuid::nil(),
                causation_id: None,
                recorded_at: DateTime::<Utc>::from_timestamp(1_750_000_000 + pos * 60, 0).unwrap(),
                business_date: date(on),
                backfilled_by: None,
            },
        });
    }
}

fn history() -> Log {
    use PlatformEvent as E;
    let mut log = Log::default();
    let submit = |form| E::ApplicationSubmitted {
        round_id: "2025".into(),
        cycle: 1,
        submitted_on: date("2025-07-01"),
        form,
    };
    log.push("a", "2025-07-01", submit(gd_form()));
    let js = uscc_with_check("91320100134789562");
    log.push(
        "b",
        "2025-07-02",
        submit(serde_json::from_value(form_json(&js, "32", "320100", &["chemicals"])).unwrap()),
    );
    log.push(
        "a",
        "2025-07-08",
        E::CityEndorsed {
            city: roster_domain::values::CityCode::parse("440300").unwrap(),
            opinion: "同意".into(),
        },
    );
    log.push(
        "b",
        "2025-07-10",
        E::ProvinceRejected {
            province: Province::parse("32").unwrap(),
            reasons: vec!["G-4".into()],
        },
    );
    log.push(
        "a",
        "2025-07-09",
        E::ProvinceRecommended {
            province: Province::parse("44").unwrap(),
            opinion: "推荐".into(),
            rank: Some(1),
            overridden_rules: vec![],
            override_reason: None,
            warnings: vec![],
        },
    );
    log.push(
        "a",
        "2025-09-20",
        E::ExpertEvaluationRecorded {
            score: 90,
            passed: true,
            panel: vec![],
            comments: None,
        },
    );
    log.push(
        "a",
        "2025-11-20",
        E::PublicNoticeStarted {
            from: date("2025-11-20"),
            until: date("2025-11-26"),
        },
    );
    log.push(
        "a",
        "2025-12-01",
        E::PlatformListed {
            listed_on: date("2025-12-01"),
        },
    );
    log.push(
        "a",
        "2026-12-20",
        E::AnnualEvaluationRecorded {
            year: 2026,
            stars: 4,
            findings: None,
        },
    );
    log.push(
        "a",
        "2027-03-01",
        E::IncidentReported {
            incident_id: "leak-1".into(),
            kind: IncidentKind::StrainLeak,
            occurred_on: date("2027-02-28"),
            description: "泄露".into(),
            direct_loss_cny: None,
            severity: None,
        },
    );
    log.push(
        "a",
        "2027-03-02",
        E::ReviewOpened {
            review_id: "inc-leak-1".into(),
            trigger: ReviewTrigger::Incident("leak-1".into()),
            due_on: date("2027-06-01"),
        },
    );
    log.push(
        "a",
        "2027-04-15",
        E::IncidentAssessed {
            incident_id: "leak-1".into(),
            direct_loss_cny: Cny(300_000),
            deaths: 0,
            serious_injuries: 0,
            class: roster_domain::incident::IncidentClass::General,
            conclusion: "一般".into(),
        },
    );
    log.push(
        "a",
        "2027-05-20",
        E::ReviewConcluded {
            review_id: "inc-leak-1".into(),
            outcome: ReviewOutcome::Passed,
            reasons: vec![],
        },
    );
    log.push(
        "a",
        "2027-12-20",
        E::AnnualEvaluationRecorded {
            year: 2027,
            stars: 3,
            findings: None,
        },
    );
    log.push(
        "a",
        "2028-09-02",
        E::ReviewOpened {
            review_id: "tri-1".into(),
            trigger: ReviewTrigger::Triennial,
            due_on: date("2028-12-01"),
        },
    );
    log.push(
        "a",
        "2029-05-10",
        E::PlatformDelisted {
            delisted_on: date("2029-05-10"),
            reason: DelistReason::SeriousViolation,
            area: Some(roster_domain::commands::ViolationArea::Safety),
            cause: None,
            details: None,
        },
    );
    log
}

async fn fold<D: serde::de::DeserializeOwned>(name: &str) -> Vec<D> {
    fold_rows(name)
        .await
        .into_iter()
        .map(|(_, v)| serde_json::from_value(v).unwrap())
        .collect()
}

/// The stored documents of `name` after folding the history, with their keys.
async fn fold_rows(name: &str) -> Vec<(String, serde_json::Value)> {
    let store = MemoryReadModels::default();
    let p = models::by_name(name).unwrap();
    let log = history();
    // Two batches, to cross a commit boundary.
    let (first, second) = log.events.split_at(7);
    apply_batch(
        &store,
        p.as_ref(),
        name,
        Default::default(),
        first,
        Utc::now(),
    )
    .await
    .unwrap()
    .unwrap();
    let cp = store.state(name).await.unwrap().checkpoint;
    apply_batch(&store, p.as_ref(), name, cp, second, Utc::now())
        .await
        .unwrap()
        .unwrap();
    store.scan(name, "").await.unwrap()
}

fn ids(rows: &[queries::RosterRow]) -> Vec<&str> {
    rows.iter().map(|r| r.platform_id.as_str()).collect()
}

#[tokio::test]
async fn d7_roster_as_of_the_listing_and_delisting_days() {
    let docs: Vec<RosterDoc> = fold("roster").await;
    let at = |d: &str| {
        queries::roster(
            &docs,
            &RosterQuery {
                as_of: Some(date(d)),
                ..Default::default()
            },
            date("2030-01-01"),
        )
    };
    assert!(at("2025-11-30").is_empty());
    assert_eq!(ids(&at("2025-12-01")), ["a"]);
    assert_eq!(
        ids(&at("2029-05-09")),
        ["a"],
        "still listed the day before the delisting"
    );
    assert!(
        at("2029-05-10").is_empty(),
        "gone on the delisting's business date"
    );
    let under_review = at("2028-10-01");
    assert_eq!(under_review[0].status, Status::UnderReview);
    assert!(
        under_review[0].on_roster,
        "UnderReview still counts on the roster"
    );
    let rejected = queries::roster(
        &docs,
        &RosterQuery {
            as_of: Some(date("2025-07-10")),
            status: Some(Status::Rejected),
            ..Default::default()
        },
        date("2030-01-01"),
    );
    assert_eq!(ids(&rejected), ["b"]);
    let before = queries::roster(
        &docs,
        &RosterQuery {
            as_of: Some(date("2025-07-09")),
            status: Some(Status::Submitted),
            ..Default::default()
        },
        date("2030-01-01"),
    );
    assert_eq!(
        ids(&before),
        ["b"],
        "b's rejection of 07-10 is not yet in force on 07-09"
    );
}

#[tokio::test]
async fn d1_next_review_due_and_d8_stars_as_of() {
    let docs: Vec<RosterDoc> = fold("roster").await;
    let row = |d: &str| {
        queries::roster(
            &docs,
            &RosterQuery {
                as_of: Some(date(d)),
                ..Default::default()
            },
            date("2030-01-01"),
        )
        .remove(0)
    };
    assert_eq!(
        row("2026-01-01").next_review_due,
        Some(date("2028-12-01")),
        "3rd anniversary of the listing"
    );
    assert_eq!(
        row("2027-03-05").next_review_due,
        Some(date("2027-06-01")),
        "an open incident review comes first"
    );
    assert_eq!(row("2026-12-19").stars, None);
    assert_eq!(
        (row("2026-12-20").stars, row("2026-12-20").stars_year),
        (Some(4), Some(2026))
    );
    assert_eq!(row("2028-01-01").stars, Some(3));
    let filtered = queries::roster(
        &docs,
        &RosterQuery {
            as_of: Some(date("2027-01-01")),
            stars: Some(4),
            province: Province::parse("44"),
            ..Default::default()
        },
        date("2030-01-01"),
    );
    assert_eq!(ids(&filtered), ["a"]);
    let other = queries::roster(
        &docs,
        &RosterQuery {
            as_of: Some(date("2027-01-01")),
            province: Province::parse("32"),
            ..Default::default()
        },
        date("2030-01-01"),
    );
    assert!(other.is_empty());
}

#[tokio::test]
async fn d2_reviews_board_scheduled_opening_soon_open_overdue_lapsed() {
    let docs: Vec<ReviewsDoc> = fold("reviews").await;
    let triennial = |d: &str| {
        queries::reviews(&docs, date(d), 90)
            .into_iter()
            .find(|r| r.trigger == "triennial")
            .map(|r| r.state)
    };
    // Due 2028-12-01, opens 90 days before: 2028-09-02.
    assert_eq!(
        triennial("2028-08-02"),
        Some(ReviewState::Scheduled),
        "31 days before opening"
    );
    assert_eq!(
        triennial("2028-08-03"),
        Some(ReviewState::OpeningSoon),
        "30 days before opening"
    );
    assert_eq!(triennial("2028-09-02"), Some(ReviewState::Open));
    assert_eq!(
        triennial("2028-12-01"),
        Some(ReviewState::Open),
        "due day: not yet overdue"
    );
    assert_eq!(triennial("2028-12-02"), Some(ReviewState::Overdue));
    assert_eq!(triennial("2029-05-10"), Some(ReviewState::Lapsed));
    let incident = queries::reviews(&docs, date("2027-06-02"), 90)
        .into_iter()
        .find(|r| r.review_id.as_deref() == Some("inc-leak-1"))
        .unwrap();
    assert_eq!(
        (incident.state, incident.outcome),
        (ReviewState::Concluded, Some(ReviewOutcome::Passed))
    );
}

#[tokio::test]
async fn funnel_counts_stages_reached_by_the_date() {
    let docs: Vec<FunnelDoc> = fold("funnel").await;
    let rows = queries::funnel(&docs, Some("2025"), date("2025-07-09"));
    let gd = rows.iter().find(|r| r.province == "44").unwrap();
    assert_eq!(
        (gd.submitted, gd.endorsed, gd.recommended, gd.listed),
        (1, 1, 1, 0)
    );
    let js = rows.iter().find(|r| r.province == "32").unwrap();
    assert_eq!(
        (js.submitted, js.rejected),
        (1, 0),
        "rejected only on 07-10"
    );
    let total = rows.last().unwrap();
    assert_eq!((total.province.as_str(), total.submitted), ("total", 2));
    let later = queries::funnel(&docs, None, date("2025-12-31"));
    assert_eq!(later.last().unwrap().listed, 1);
    assert_eq!(
        later.iter().find(|r| r.province == "32").unwrap().rejected,
        1
    );
}

#[tokio::test]
async fn incident_register_shows_only_what_was_known_by_the_date() {
    let docs: Vec<IncidentsDoc> = fold("incidents").await;
    let before = queries::incidents(&docs, date("2027-04-14"));
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].incident.assessed_loss_cny, None);
    assert_eq!(before[0].incident.review_id.as_deref(), Some("inc-leak-1"));
    let after = queries::incidents(&docs, date("2027-04-15"));
    assert_eq!(after[0].incident.assessed_loss_cny, Some(Cny(300_000)));
    assert!(
        queries::incidents(&docs, date("2027-02-28")).is_empty(),
        "reported on 03-01"
    );
}

#[tokio::test]
async fn timeline_keeps_every_event_with_actor_and_summary() {
    let rows = fold_rows("timeline").await;
    let docs = models::timeline::assemble_all(rows).unwrap();
    let a = docs.iter().find(|d| d.platform_id == "a").unwrap();
    assert_eq!(a.entries.len(), 14);
    assert!(a
        .entries
        .iter()
        .any(|e| e.summary.contains("listed on 2025-12-01")));
    assert!(a
        .entries
        .last()
        .unwrap()
        .summary
        .starts_with("delisted: serious_violation"));
    assert!(a.entries.windows(2).all(|w| w[0].position < w[1].position));
}

#[tokio::test]
async fn an_undecodable_event_is_dead_lettered_and_later_ones_apply() {
    let store = MemoryReadModels::default();
    let mut log = history();
    log.events[2].payload = serde_json::json!({"nonsense": true});
    let p = models::by_name("roster").unwrap();
    let progress = apply_batch(
        &store,
        p.as_ref(),
        "roster",
        Default::default(),
        &log.events,
        Utc::now(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(progress.dead_lettered, 1);
    assert_eq!(
        store.dead_letters(Some("roster")).await.unwrap()[0].global_position,
        3
    );
    let docs: Vec<RosterDoc> = store
        .scan("roster", "")
        .await
        .unwrap()
        .into_iter()
        .map(|(_, v)| serde_json::from_value(v).unwrap())
        .collect();
    assert!(
        docs.iter()
            .any(|d| d.platform_id == "a"
                && d.listed_at(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()))
    );
}

/// Every event type a lifecycle model declares it ignores really leaves its documents as they
/// were: folding the whole history through the model (which skips them) gives exactly what
/// folding every event through its fold gives.
#[tokio::test]
async fn ignored_events_change_nothing() {
    use roster_domain::commands::ServiceRecord;
    use roster_domain::values::Domain;
    use PlatformEvent as E;
    let mut log = history();
    let service = uuid::Uuid::from_u128(77);
    let extra = [
        (
            "a",
            "2026-01-05",
            E::EligibilityAssessed {
                assessment: roster_domain::eligibility::assess(&gd_form(), date("2025-07-01"), &[]),
            },
        ),
        (
            "a",
            "2026-01-06",
            E::ServiceRecorded {
                service_id: service,
                dated: date("2026-01-06"),
                record: ServiceRecord::ProductIncubated {
                    product_name: "PHA".into(),
                    owner_uscc: roster_domain::values::Uscc::parse(&uscc_with_check(
                        "91440300134789562",
                    ))
                    .unwrap(),
                    domain: Domain::Enzymes,
                },
            },
        ),
        (
            "a",
            "2026-01-07",
            E::ServiceRetracted {
                service_id: service,
                reason: "重复".into(),
            },
        ),
        (
            "b",
            "2025-07-11",
            E::ApplicationAmended {
                changes: serde_json::json!({"platform": {"name": "新名称"}}),
                form: gd_form(),
            },
        ),
        (
            "b",
            "2025-07-12",
            E::NoticeObjectionRecorded {
                upheld: false,
                summary: "不成立".into(),
                objection_id: None,
            },
        ),
        (
            "b",
            "2025-07-13",
            E::ApplicationWithdrawn {
                reason: "撤回".into(),
            },
        ),
    ];
    for (platform, on, e) in extra {
        log.push(platform, on, e);
    }
    let types: std::collections::BTreeSet<&str> =
        log.events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types.len(),
        19,
        "the history has every event type: {types:?}"
    );

    async fn both<D>(
        model: models::DocModel<D>,
        log: &Log,
    ) -> (
        Vec<(String, serde_json::Value)>,
        BTreeMap<String, Option<serde_json::Value>>,
    )
    where
        D: serde::Serialize + serde::de::DeserializeOwned + Default + Send + Sync + 'static,
    {
        let mut unfiltered = BTreeMap::new();
        assert!(models::fold_batch::<D>(&log.events, &mut unfiltered, model.fold).is_empty());
        let store = MemoryReadModels::default();
        let name = model.name;
        apply_batch(
            &store,
            &model,
            name,
            Default::default(),
            &log.events,
            Utc::now(),
        )
        .await
        .unwrap()
        .unwrap();
        (store.scan(name, "").await.unwrap(), unfiltered)
    }
    let results = [
        both(models::roster::model(), &log).await,
        both(models::funnel::model(), &log).await,
        both(models::reviews::model(), &log).await,
        both(models::incidents::model(), &log).await,
    ];
    for (stored, unfiltered) in results {
        let unfiltered: Vec<(String, serde_json::Value)> = unfiltered
            .into_iter()
            .map(|(k, v)| (k, v.unwrap()))
            .collect();
        assert_eq!(stored, unfiltered);
    }
}

/// A listed platform's history of `n` events: application, listing, then mostly service
/// records, a retraction every 50 events, an incident every 700 and a yearly rating every 365.
fn long_history(n: usize) -> Log {
    use roster_domain::commands::ServiceRecord;
    use roster_domain::values::{Domain, Uscc};
    use PlatformEvent as E;
    let mut log = Log::default();
    log.push(
        "long",
        "2025-07-01",
        E::ApplicationSubmitted {
            round_id: "2025".into(),
            cycle: 1,
            submitted_on: date("2025-07-01"),
            form: gd_form(),
        },
    );
    log.push(
        "long",
        "2025-12-01",
        E::PlatformListed {
            listed_on: date("2025-12-01"),
        },
    );
    for i in 2..n {
        let on = "2026-03-01";
        let event = if i % 700 == 0 {
            E::IncidentReported {
                incident_id: format!("inc-{i}"),
                kind: IncidentKind::Other,
                occurred_on: date(on),
                description: "取样口少量外溢，已处置".into(),
                direct_loss_cny: Some(Cny(10_000)),
                severity: None,
            }
        } else if i % 365 == 0 {
            E::AnnualEvaluationRecorded {
                year: 2025 + (i / 365) as i32,
                stars: 3,
                findings: None,
            }
        } else if i % 50 == 0 {
            E::ServiceRetracted {
                service_id: uuid::Uuid::from_u128(i as u128 - 1),
                reason: "核查不实".into(),
            }
        } else {
            E::ServiceRecorded {
                service_id: uuid::Uuid::from_u128(i as u128),
                dated: date(on),
                record: if i % 2 == 0 {
                    ServiceRecord::EnterpriseServed {
                        enterprise_uscc: Uscc::parse(&uscc_with_check(&format!(
                            "91440300{:09}",
                            i
                        )))
                        .unwrap(),
                        enterprise_name: "受服务企业".into(),
                        contract_cny: Cny(300_000),
                    }
                } else {
                    ServiceRecord::ProductIncubated {
                        product_name: format!("pha-{i}"),
                        owner_uscc: Uscc::parse(&uscc_with_check("91320100134789562")).unwrap(),
                        domain: Domain::Enzymes,
                    }
                },
            }
        };
        log.push("long", on, event);
    }
    log
}

/// The JSON bytes every read model loads and writes to apply the last event of `log` alone,
/// after folding the rest, as a live consumer does: (model, bytes).
async fn bytes_to_apply_last(log: &Log) -> Vec<(&'static str, usize)> {
    let (history, last) = log.events.split_at(log.events.len() - 1);
    let mut out = Vec::new();
    for p in models::all() {
        let store = MemoryReadModels::default();
        let mut from = Default::default();
        for batch in history.chunks(500) {
            from = apply_batch(&store, p.as_ref(), p.name(), from, batch, Utc::now())
                .await
                .unwrap()
                .unwrap()
                .checkpoint;
        }
        let keys = p.keys(&last[0]);
        let loaded = store.load(p.name(), &keys).await.unwrap();
        let mut docs: BTreeMap<String, Option<serde_json::Value>> = keys
            .iter()
            .map(|k| (k.clone(), loaded.get(k).cloned()))
            .collect();
        assert!(p.apply_all(last, &mut docs).is_empty());
        let size = |v: &serde_json::Value| serde_json::to_string(v).unwrap().len();
        let read: usize = loaded.values().map(size).sum();
        let written: usize = docs.values().flatten().map(size).sum();
        out.push((p.name(), read + written));
    }
    out
}

/// Applying an event costs the same whatever the history before it: recording a service, a
/// retraction or a rating on a platform with 5,000 events reads and writes no more than a few
/// kilobytes in any read model, as on a platform with 10 (one growing document per platform
/// made it the size of the whole history: megabytes for the timeline).
#[tokio::test]
async fn applying_an_event_reads_and_writes_a_bounded_amount_whatever_the_history() {
    for last in [10, 5_000] {
        for n in [last - 1, last, last + 1] {
            let log = long_history(n);
            let kind = log.events.last().unwrap().event_type.clone();
            for (model, bytes) in bytes_to_apply_last(&log).await {
                assert!(
                    bytes <= 16 * 1024,
                    "{model}: {bytes} bytes to apply {kind} after {} events",
                    n - 1
                );
            }
        }
    }
}

/// A rebuild does not look up documents it has not written yet (`WrittenKeys`); one it wrote
/// in an earlier batch it must. Rebuilt in batches of 3 (every platform's documents written in
/// several batches, a retraction landing on a chunk written batches before), every model equals
/// the same history applied in one batch.
#[tokio::test]
async fn a_rebuild_in_small_batches_equals_one_pass() {
    let mut log = history();
    for mut e in long_history(160).events {
        e.global_position = log.events.len() as i64 + 1;
        e.event_id = uuid::Uuid::from_u128(e.global_position as u128);
        log.events.push(e);
    }
    let events = crate::shared_log::tests::CountingLog {
        log: log.events.clone(),
        reads: Default::default(),
    };
    for p in models::all() {
        let store = MemoryReadModels::default();
        apply_batch(
            &store,
            p.as_ref(),
            p.name(),
            Default::default(),
            &log.events,
            Utc::now(),
        )
        .await
        .unwrap()
        .unwrap();
        let one_pass = store.scan(p.name(), "").await.unwrap();
        let progress = crate::local::rebuild(&events, &store, p.as_ref(), 3, |_| {})
            .await
            .unwrap();
        assert_eq!(progress.dead_lettered, 0, "{}", p.name());
        assert_eq!(
            store.scan(p.name(), "").await.unwrap(),
            one_pass,
            "{}",
            p.name()
        );
    }
}

/// The platform lifecycle is folded once (`Status::after`): the aggregate, the catalog and the
/// roster read model agree on the status after every event of a history with two reviews open
/// at once and one concluded as failed before its delisting is recorded. The roster model used
/// to return to `Listed` only on a passed conclusion, the others on any.
#[tokio::test]
async fn the_aggregate_the_catalog_and_the_roster_model_agree_on_the_status() {
    use PlatformEvent as E;
    let mut log = Log::default();
    log.push(
        "c",
        "2025-07-01",
        E::ApplicationSubmitted {
            round_id: "2025".into(),
            cycle: 1,
            submitted_on: date("2025-07-01"),
            form: gd_form(),
        },
    );
    let listed = history()
        .events
        .into_iter()
        .filter(|e| e.stream_id == "platform-a")
        .map(|e| models::decode(&e).unwrap())
        .filter(|e| {
            matches!(
                e,
                E::CityEndorsed { .. }
                    | E::ProvinceRecommended { .. }
                    | E::ExpertEvaluationRecorded { .. }
                    | E::PublicNoticeStarted { .. }
                    | E::PlatformListed { .. }
            )
        });
    for e in listed {
        log.push("c", "2025-12-01", e);
    }
    let review = |id: &str, trigger: ReviewTrigger| E::ReviewOpened {
        review_id: id.into(),
        trigger,
        due_on: date("2028-12-01"),
    };
    let conclude = |id: &str, outcome: ReviewOutcome| E::ReviewConcluded {
        review_id: id.into(),
        outcome,
        reasons: vec![],
    };
    log.push("c", "2028-09-02", review("tri-1", ReviewTrigger::Triennial));
    log.push(
        "c",
        "2028-09-10",
        review("inc-1", ReviewTrigger::Incident("leak".into())),
    );
    log.push("c", "2028-10-01", conclude("inc-1", ReviewOutcome::Passed));
    log.push("c", "2028-11-01", conclude("tri-1", ReviewOutcome::Failed));
    log.push(
        "c",
        "2028-11-01",
        E::PlatformDelisted {
            delisted_on: date("2028-11-01"),
            reason: DelistReason::ReviewFailed,
            area: None,
            cause: None,
            details: None,
        },
    );
    let roster = models::roster::model();
    for n in 1..=log.events.len() {
        let prefix = &log.events[..n];
        let aggregate = roster_domain::platform::Platform::replay(
            prefix.iter().map(|e| models::decode(e).unwrap()),
        )
        .status;
        let mut catalog = crate::Catalog::default();
        for e in prefix {
            catalog.apply(e).unwrap();
        }
        let store = MemoryReadModels::default();
        apply_batch(
            &store,
            &roster,
            "roster",
            Default::default(),
            prefix,
            Utc::now(),
        )
        .await
        .unwrap()
        .unwrap();
        let doc: RosterDoc =
            serde_json::from_value(store.scan("roster", "").await.unwrap()[0].1.clone()).unwrap();
        let model = doc.statuses.last().map(|c| c.status);
        let last = &prefix[n - 1].event_type;
        assert_eq!(
            catalog.platforms["c"].status, aggregate,
            "catalog after {last}"
        );
        assert_eq!(model, Some(aggregate), "roster model after {last}");
    }
}
