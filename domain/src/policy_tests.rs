//! The policies D-4, D-5, D-6 (and D-3 through the aggregate) at their edges: listed or not,
//! 9,999,999 vs 10,000,000 CNY, loss known at report vs at assessment, major vs larger class,
//! and the same event always giving the same command id.

use chrono::NaiveDate;
use cqrs_es::Aggregate;
use uuid::Uuid;

use crate::actor::Actor;
use crate::commands::{
    AssessIncident, CommandMeta, DelistReason, Envelope, PlatformCommand, ReportIncident,
    ReviewOutcome, ReviewTrigger,
};
use crate::events::PlatformEvent;
use crate::incident::{IncidentClass, IncidentKind};
use crate::platform::{Platform, PlatformContext, Status};
use crate::policies::{
    command_id, fire, plan_deadlines, react, triennial_deadline, triennial_due_dates,
    DeadlineChange, PolicyConfig,
};
use crate::samples::{date, gd_form};
use crate::values::{CityCode, Cny, Province};

fn listed() -> Platform {
    use PlatformEvent as E;
    Platform::replay([
        E::ApplicationSubmitted {
            round_id: "2025".into(),
            cycle: 1,
            submitted_on: date("2025-07-01"),
            form: gd_form(),
        },
        E::CityEndorsed {
            city: CityCode::parse("440300").unwrap(),
            opinion: "同意".into(),
        },
        E::ProvinceRecommended {
            province: Province::parse("44").unwrap(),
            opinion: "推荐".into(),
            rank: None,
            overridden_rules: vec![],
            override_reason: None,
            warnings: vec![],
        },
        E::ExpertEvaluationRecorded {
            score: 88,
            passed: true,
            panel: vec![],
            comments: None,
        },
        E::PublicNoticeStarted {
            from: date("2025-11-20"),
            until: date("2025-11-26"),
        },
        E::PlatformListed {
            listed_on: date("2025-12-01"),
        },
    ])
}

/// Runs one command through the aggregate (as the command service would) and applies it.
fn run(p: &mut Platform, on: NaiveDate, command: PlatformCommand) -> Vec<PlatformEvent> {
    let sink = cqrs_es::event_sink::EventSink::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let meta = CommandMeta {
        command_id: Uuid::new_v4(),
        actor: Actor::system("test"),
        business_date: on,
    };
    rt.block_on(p.handle(
        Envelope { meta, command },
        &PlatformContext::default(),
        &sink,
    ))
    .expect("accepted");
    rt.block_on(sink.collect())
}

fn report(
    p: &mut Platform,
    kind: IncidentKind,
    loss: Option<u64>,
    severity: Option<IncidentClass>,
) -> PlatformEvent {
    let cmd = PlatformCommand::ReportIncident(ReportIncident {
        incident_id: "x1".into(),
        kind,
        occurred_on: date("2026-05-10"),
        description: "事故".into(),
        direct_loss_cny: loss.map(Cny),
        severity,
    });
    run(p, date("2026-05-11"), cmd).remove(0)
}

fn policies_of(issued: &[crate::policies::Issued]) -> Vec<&'static str> {
    issued.iter().map(|i| i.policy).collect()
}

#[test]
fn d4_a_strain_leak_of_a_listed_platform_opens_its_re_review_once() {
    let cfg = PolicyConfig::default();
    let mut p = listed();
    let e = report(&mut p, IncidentKind::StrainLeak, None, None);
    let id = Uuid::from_u128(42);
    let issued = react(&cfg, "p-1", id, date("2026-05-11"), &e, &p);
    assert_eq!(policies_of(&issued), ["D-4"]);
    let PlatformCommand::OpenReview(r) = &issued[0].command else {
        panic!()
    };
    assert_eq!(r.trigger, ReviewTrigger::Incident("x1".into()));
    assert_eq!(r.due_on, date("2026-08-09"), "90 days after the report");
    assert_eq!(issued[0].command_id, command_id(id, "D-4"));
    assert_eq!(
        react(&cfg, "p-1", id, date("2026-05-11"), &e, &p)[0].command_id,
        issued[0].command_id,
        "same event, same command id"
    );
    assert_eq!(issued[0].causation_id, id);
    // Once the review exists, a replay of the event issues nothing.
    run(&mut p, date("2026-05-11"), issued[0].command.clone());
    assert!(react(&cfg, "p-1", id, date("2026-05-11"), &e, &p).is_empty());
}

#[test]
fn d4_no_re_review_before_listing() {
    let mut p = Platform::replay([PlatformEvent::ApplicationSubmitted {
        round_id: "2025".into(),
        cycle: 1,
        submitted_on: date("2025-07-01"),
        form: gd_form(),
    }]);
    let e = report(&mut p, IncidentKind::StrainLeak, Some(20_000_000), None);
    assert!(react(
        &PolicyConfig::default(),
        "p-1",
        Uuid::nil(),
        date("2026-05-11"),
        &e,
        &p
    )
    .is_empty());
}

#[test]
fn d5_loss_known_at_report_9_999_999_keeps_10_000_000_delists() {
    let cfg = PolicyConfig::default();
    let mut p = listed();
    let e = report(&mut p, IncidentKind::StrainLeak, Some(9_999_999), None);
    assert_eq!(
        policies_of(&react(&cfg, "p-1", Uuid::nil(), date("2026-05-11"), &e, &p)),
        ["D-4"]
    );
    let mut p = listed();
    let e = report(&mut p, IncidentKind::StrainLeak, Some(10_000_000), None);
    let issued = react(&cfg, "p-1", Uuid::from_u128(7), date("2026-05-11"), &e, &p);
    assert_eq!(policies_of(&issued), ["D-4", "D-5"]);
    // Applied in order: the re-review opens, then the delisting closes it as failed.
    run(&mut p, date("2026-05-11"), issued[0].command.clone());
    let events = run(&mut p, date("2026-05-11"), issued[1].command.clone());
    assert!(
        matches!(&events[0], PlatformEvent::ReviewConcluded { outcome: ReviewOutcome::Failed, reasons, .. } if reasons[0].starts_with("D-5"))
    );
    assert!(
        matches!(&events[1], PlatformEvent::PlatformDelisted { reason: DelistReason::StrainLeakMajorLoss, cause: Some(c), delisted_on, .. } if *c == Uuid::from_u128(7) && *delisted_on == date("2026-05-11"))
    );
    assert_eq!(p.status, Status::Delisted);
}

#[test]
fn d5_loss_known_only_at_assessment_delists_on_the_assessment_date() {
    let cfg = PolicyConfig::default();
    let mut p = listed();
    let reported = report(&mut p, IncidentKind::StrainLeak, None, None);
    let open = react(
        &cfg,
        "p-1",
        Uuid::from_u128(1),
        date("2026-05-11"),
        &reported,
        &p,
    );
    run(&mut p, date("2026-05-11"), open[0].command.clone());
    let assess = |loss| {
        PlatformCommand::AssessIncident(AssessIncident {
            incident_id: "x1".into(),
            direct_loss_cny: Cny(loss),
            deaths: 0,
            serious_injuries: 0,
            conclusion: "评估".into(),
        })
    };
    let mut below = p.clone();
    let e = run(&mut below, date("2029-06-30"), assess(9_999_999)).remove(0);
    assert!(react(
        &cfg,
        "p-1",
        Uuid::from_u128(2),
        date("2029-06-30"),
        &e,
        &below
    )
    .is_empty());
    let e = run(&mut p, date("2029-06-30"), assess(12_000_000)).remove(0);
    let issued = react(&cfg, "p-1", Uuid::from_u128(3), date("2029-06-30"), &e, &p);
    assert_eq!(policies_of(&issued), ["D-5"]);
    assert_eq!(issued[0].business_date, date("2029-06-30"));
    let events = run(&mut p, date("2029-06-30"), issued[0].command.clone());
    assert_eq!(events.len(), 2, "review closed as failed, then delisted");
    assert_eq!(
        p.listed_periods,
        vec![(date("2025-12-01"), Some(date("2029-06-30")))]
    );
}

#[test]
fn d5_threshold_is_configurable() {
    let cfg = PolicyConfig {
        major_loss_threshold: Cny(5_000_000),
        ..PolicyConfig::default()
    };
    let mut p = listed();
    let e = report(&mut p, IncidentKind::StrainLeak, Some(5_000_000), None);
    assert_eq!(
        policies_of(&react(&cfg, "p-1", Uuid::nil(), date("2026-05-11"), &e, &p)),
        ["D-4", "D-5"]
    );
}

#[test]
fn d6_major_safety_or_environmental_accident_opens_a_review_without_delisting() {
    let cfg = PolicyConfig::default();
    for kind in [IncidentKind::Safety, IncidentKind::Environmental] {
        let mut p = listed();
        let e = report(&mut p, kind, Some(60_000_000), None);
        assert_eq!(
            policies_of(&react(&cfg, "p-1", Uuid::nil(), date("2026-05-11"), &e, &p)),
            ["D-6"],
            "{kind:?}"
        );
        let mut p = listed();
        let e = report(&mut p, kind, Some(49_999_999), None);
        assert!(
            react(&cfg, "p-1", Uuid::nil(), date("2026-05-11"), &e, &p).is_empty(),
            "较大 is not 重大"
        );
        let mut p = listed();
        let e = report(&mut p, kind, None, Some(IncidentClass::Major));
        assert_eq!(
            policies_of(&react(&cfg, "p-1", Uuid::nil(), date("2026-05-11"), &e, &p)),
            ["D-6"],
            "stated major"
        );
    }
}

#[test]
fn d6_a_later_assessment_to_major_opens_the_review() {
    let cfg = PolicyConfig::default();
    let mut p = listed();
    let reported = report(&mut p, IncidentKind::Safety, None, None);
    assert!(react(&cfg, "p-1", Uuid::nil(), date("2026-05-11"), &reported, &p).is_empty());
    let cmd = PlatformCommand::AssessIncident(AssessIncident {
        incident_id: "x1".into(),
        direct_loss_cny: Cny(0),
        deaths: 10,
        serious_injuries: 0,
        conclusion: "重大事故".into(),
    });
    let e = run(&mut p, date("2026-06-01"), cmd).remove(0);
    assert_eq!(
        policies_of(&react(&cfg, "p-1", Uuid::nil(), date("2026-06-01"), &e, &p)),
        ["D-6"]
    );
}

fn listed_on(on: &str) -> (Platform, PlatformEvent) {
    let mut p = listed();
    p.listed_on = Some(date(on));
    p.listed_periods = vec![(date(on), None)];
    (
        p,
        PlatformEvent::PlatformListed {
            listed_on: date(on),
        },
    )
}

fn scheduled(changes: &[DeadlineChange]) -> Vec<(NaiveDate, NaiveDate)> {
    changes
        .iter()
        .filter_map(|c| match c {
            DeadlineChange::Schedule(d) => Some((d.due_on, d.fire_on)),
            DeadlineChange::CancelPending { .. } => None,
        })
        .collect()
}

#[test]
fn d1_reviews_fall_on_anniversaries_without_drift() {
    let due: Vec<NaiveDate> = triennial_due_dates(date("2025-12-01")).take(3).collect();
    assert_eq!(
        due,
        [date("2028-12-01"), date("2031-12-01"), date("2034-12-01")]
    );
    // A leap-day listing is due on 28 February in common years, and back on the 29th when the
    // anniversary is a leap year: each date counts from the listing, never from the last one.
    let leap: Vec<NaiveDate> = triennial_due_dates(date("2024-02-29")).take(4).collect();
    assert_eq!(
        leap,
        [
            date("2027-02-28"),
            date("2030-02-28"),
            date("2033-02-28"),
            date("2036-02-29")
        ]
    );
}

#[test]
fn d1_a_listing_schedules_its_first_review_and_each_opening_the_next() {
    let cfg = PolicyConfig::default();
    let (p, listing) = listed_on("2025-12-01");
    let plan = plan_deadlines(
        &cfg,
        "p-1",
        Uuid::from_u128(5),
        date("2025-12-01"),
        &listing,
        &p,
    );
    assert_eq!(scheduled(&plan), [(date("2028-12-01"), date("2028-09-02"))]);
    let DeadlineChange::Schedule(d) = &plan[0] else {
        panic!()
    };
    assert_eq!(d.deadline_id, "p-1/triennial/2028-12-01");
    assert_eq!(d.scheduled_by, Uuid::from_u128(5));
    // The 2028 review opens (even late, or early by hand): the next is the 2031 anniversary.
    let opened = PlatformEvent::ReviewOpened {
        review_id: "triennial-2028-12-01".into(),
        trigger: ReviewTrigger::Triennial,
        due_on: date("2028-12-20"),
    };
    let plan = plan_deadlines(&cfg, "p-1", Uuid::nil(), date("2028-10-01"), &opened, &p);
    assert_eq!(scheduled(&plan), [(date("2031-12-01"), date("2031-09-02"))]);
    // Incident reviews schedule nothing.
    let incident = PlatformEvent::ReviewOpened {
        review_id: "incident-x1".into(),
        trigger: ReviewTrigger::Incident("x1".into()),
        due_on: date("2026-08-09"),
    };
    assert!(plan_deadlines(&cfg, "p-1", Uuid::nil(), date("2026-05-11"), &incident, &p).is_empty());
}

#[test]
fn d2_the_review_opens_window_days_before_it_is_due_configurably() {
    let (_, listing) = listed_on("2025-12-01");
    let (p, _) = listed_on("2025-12-01");
    for (window, fire_on) in [(90, "2028-09-02"), (89, "2028-09-03"), (0, "2028-12-01")] {
        let cfg = PolicyConfig {
            review_window_days: window,
            ..PolicyConfig::default()
        };
        let plan = plan_deadlines(&cfg, "p-1", Uuid::nil(), date("2025-12-01"), &listing, &p);
        assert_eq!(scheduled(&plan), [(date("2028-12-01"), date(fire_on))]);
    }
}

#[test]
fn d2_firing_is_one_command_whoever_fires_it_and_whenever() {
    let cfg = PolicyConfig::default();
    let d = triennial_deadline(
        &cfg,
        "p-1",
        date("2025-12-01"),
        date("2028-12-01"),
        Uuid::from_u128(9),
    );
    let (a, b) = (fire(&d), fire(&d.clone()));
    assert_eq!(a, b, "same deadline, same command, same id");
    assert_eq!(
        a.business_date,
        date("2028-09-02"),
        "opened on its scheduled day"
    );
    assert_eq!(a.causation_id, Uuid::from_u128(9));
    let PlatformCommand::OpenReview(open) = &a.command else {
        panic!()
    };
    assert_eq!(open.trigger, ReviewTrigger::Triennial);
    assert_eq!(open.due_on, date("2028-12-01"));
    let other = triennial_deadline(
        &cfg,
        "p-1",
        date("2025-12-01"),
        date("2031-12-01"),
        Uuid::from_u128(9),
    );
    assert_ne!(fire(&other).command_id, a.command_id);
}

#[test]
fn d2_a_second_triennial_review_for_one_due_date_is_refused() {
    let (mut p, _) = listed_on("2025-12-01");
    let d = triennial_deadline(
        &PolicyConfig::default(),
        "p-1",
        date("2025-12-01"),
        date("2028-12-01"),
        Uuid::nil(),
    );
    // The ministry opened it by hand first, under another id.
    run(
        &mut p,
        date("2028-08-01"),
        PlatformCommand::OpenReview(crate::commands::OpenReview {
            review_id: "r-2028".into(),
            trigger: ReviewTrigger::Triennial,
            due_on: date("2028-12-01"),
        }),
    );
    let sink = cqrs_es::event_sink::EventSink::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let refused = rt
        .block_on(p.handle(
            Envelope {
                meta: CommandMeta {
                    command_id: Uuid::new_v4(),
                    actor: Actor::system("D-2"),
                    business_date: d.fire_on,
                },
                command: fire(&d).command,
            },
            &PlatformContext::default(),
            &sink,
        ))
        .unwrap_err();
    assert_eq!(refused.code, crate::error::code::DUPLICATE);
}

#[test]
fn d7_a_delisting_cancels_pending_deadlines() {
    let (mut p, _) = listed_on("2025-12-01");
    p.listed_periods = vec![(date("2025-12-01"), Some(date("2027-03-01")))];
    let e = PlatformEvent::PlatformDelisted {
        delisted_on: date("2027-03-01"),
        reason: DelistReason::InsufficientService,
        area: None,
        cause: None,
        details: None,
    };
    let plan = plan_deadlines(
        &PolicyConfig::default(),
        "p-1",
        Uuid::nil(),
        date("2027-03-01"),
        &e,
        &p,
    );
    assert_eq!(
        plan,
        [DeadlineChange::CancelPending {
            platform_id: "p-1".into(),
            listed_on: date("2025-12-01"),
            on: date("2027-03-01"),
            reason: "platform delisted (insufficient_service)".into()
        }]
    );
}
