//! Rule tests of the bioreactor open competition at their edges, named by rule id (C-2..C-8).

use std::collections::BTreeSet;

use cqrs_es::test::TestFramework;

use crate::test_support::{actor, cmd};

use super::*;
use crate::samples::{date, uscc_with_check};

type CallTest = TestFramework<Call>;

fn ministry() -> Actor {
    actor(Role::Ministry, None)
}

fn province(code: &str) -> Actor {
    actor(Role::Province, Some(code))
}

/// A unit registered in Jiangsu (320100) or elsewhere, numbered `n`.
fn unit(n: u32, division: &str, kind: UnitKind) -> Unit {
    Unit {
        name: format!("示例单位{n}"),
        uscc: uscc_with_check(&format!("91{division}MA{n:07}")),
        kind,
        province: Province::parse(&division[..2]).unwrap(),
        reactor_user: false,
        component_or_system_user: false,
    }
}

fn lead() -> Unit {
    unit(1, "320100", UnitKind::Enterprise)
}

fn reactor_user(n: u32) -> Unit {
    Unit {
        reactor_user: true,
        ..unit(n, "320100", UnitKind::Enterprise)
    }
}

fn component_user(n: u32) -> Unit {
    Unit {
        component_or_system_user: true,
        ..unit(n, "440300", UnitKind::Enterprise)
    }
}

fn task(id: &str, category: Category) -> Task {
    Task {
        task_id: id.into(),
        name: format!("示例任务 {id}"),
        category,
        targets: vec!["示例指标".into()],
        complete_by: date("2027-12-31"),
    }
}

fn call_2025() -> OpenCall {
    OpenCall {
        call_id: "2025".into(),
        name: "高性能生物反应器创新任务揭榜挂帅".into(),
        opens_on: date("2025-05-20"),
        applicant_deadline: date("2025-06-30"),
        province_deadline: date("2025-07-15"),
        tasks: vec![
            task("rs-1", Category::ReactorSystem),
            task("cc-1", Category::ComponentsConsumables),
            task("os-1", Category::IndustrialOs),
        ],
    }
}

fn declarations() -> Declarations {
    Declarations {
        no_major_accident: true,
        validation_completed: true,
        finalised_product_with_ip: true,
        evidence: vec![],
    }
}

fn submit(bid_id: &str, task_id: &str, lead: Unit, members: Vec<Unit>) -> ChallengeCommand {
    ChallengeCommand::SubmitBid(SubmitBid {
        bid_id: bid_id.into(),
        task_id: task_id.into(),
        lead,
        members,
        declarations: declarations(),
    })
}

fn as_lead(lead: &Unit) -> Actor {
    actor(Role::Applicant, Some(&lead.uscc))
}

/// The events a command records on a call that has `given`, or its refusal (which must say
/// its particulars in Chinese too).
fn run(
    given: Vec<ChallengeEvent>,
    c: Envelope<ChallengeCommand>,
) -> Result<Vec<ChallengeEvent>, Refusal> {
    run_with(given, c, ChallengeContext::default())
}

fn run_with(
    given: Vec<ChallengeEvent>,
    c: Envelope<ChallengeCommand>,
    ctx: ChallengeContext,
) -> Result<Vec<ChallengeEvent>, Refusal> {
    let r = CallTest::with(ctx).given(given).when(c).inspect_result();
    if let Err(e) = &r {
        assert!(
            e.message_zh
                .as_deref()
                .is_some_and(|z| z.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))),
            "{} has no Chinese particulars: {e:?}",
            e.code
        );
    }
    r
}

fn opened() -> Vec<ChallengeEvent> {
    vec![ChallengeEvent::CallOpened(call_2025())]
}

/// `given` and then what `c` recorded.
fn then(mut given: Vec<ChallengeEvent>, c: Envelope<ChallengeCommand>) -> Vec<ChallengeEvent> {
    let new = run(given.clone(), c).expect("accepted");
    given.extend(new);
    given
}

/// A call with bid `id` of lead number `n` for `task_id` submitted, recommended, evaluated as
/// passed.
fn evaluated(
    mut given: Vec<ChallengeEvent>,
    id: &str,
    n: u32,
    task_id: &str,
) -> Vec<ChallengeEvent> {
    let l = unit(n, "320100", UnitKind::Enterprise);
    given = then(
        given,
        cmd(as_lead(&l), "2025-06-01", submit(id, task_id, l, vec![])),
    );
    given = then(
        given,
        cmd(
            province("32"),
            "2025-07-01",
            ChallengeCommand::RecommendBid(RecommendBid {
                bid_id: id.into(),
                opinion: "同意推荐".into(),
                expert_argumentation: None,
                override_reason: None,
            }),
        ),
    );
    then(
        given,
        cmd(
            ministry(),
            "2025-08-01",
            ChallengeCommand::EvaluateBid(EvaluateBid {
                bid_id: id.into(),
                score: 85,
                passed: true,
                panel: None,
            }),
        ),
    )
}

fn shortlist(id: &str) -> Envelope<ChallengeCommand> {
    cmd(
        ministry(),
        "2025-08-10",
        ChallengeCommand::ShortlistBid(ShortlistBid { bid_id: id.into() }),
    )
}

fn agreed(mut given: Vec<ChallengeEvent>, id: &str) -> Vec<ChallengeEvent> {
    given = then(given, shortlist(id));
    then(
        given,
        cmd(
            ministry(),
            "2025-09-01",
            ChallengeCommand::SignAgreement(SignAgreement {
                bid_id: id.into(),
                targets: vec!["反应器规模 ≥ 50 m³".into()],
                milestones: vec![
                    Milestone {
                        milestone_id: "m1".into(),
                        title: "样机".into(),
                        due_on: date("2026-03-31"),
                    },
                    Milestone {
                        milestone_id: "m2".into(),
                        title: "验证".into(),
                        due_on: date("2026-09-30"),
                    },
                ],
            }),
        ),
    )
}

fn lead_of(n: u32) -> Actor {
    as_lead(&unit(n, "320100", UnitKind::Enterprise))
}

fn report(n: u32, id: &str, m: &str, on: &str) -> Envelope<ChallengeCommand> {
    cmd(
        lead_of(n),
        on,
        ChallengeCommand::ReportMilestone(ReportMilestone {
            bid_id: id.into(),
            milestone_id: m.into(),
            summary: "完成".into(),
            evidence: vec![],
        }),
    )
}

fn assessed(mut given: Vec<ChallengeEvent>, n: u32, id: &str) -> Vec<ChallengeEvent> {
    given = agreed(given, id);
    given = then(given, report(n, id, "m1", "2026-03-20"));
    given = then(given, report(n, id, "m2", "2026-09-20"));
    then(
        given,
        cmd(
            ministry(),
            "2027-01-10",
            ChallengeCommand::RecordThirdPartyEvaluation(RecordThirdPartyEvaluation {
                bid_id: id.into(),
                evaluator: "示例第三方评价机构".into(),
                passed: true,
                summary: "达到任务书目标".into(),
            }),
        ),
    )
}

#[test]
fn c2_a_consortium_of_lead_and_4_is_accepted_lead_and_5_refused() {
    let members = |k: u32| -> Vec<Unit> {
        (0..k)
            .map(|i| {
                if i == 0 {
                    reactor_user(10)
                } else {
                    unit(10 + i, "110108", UnitKind::University)
                }
            })
            .collect()
    };
    let four = run(
        opened(),
        cmd(
            as_lead(&lead()),
            "2025-06-01",
            submit("b1", "rs-1", lead(), members(4)),
        ),
    );
    assert!(four.is_ok(), "{four:?}");
    let five = run(
        opened(),
        cmd(
            as_lead(&lead()),
            "2025-06-01",
            submit("b1", "rs-1", lead(), members(5)),
        ),
    )
    .unwrap_err();
    assert_eq!(five.code, "C-2");
    assert_eq!(five.field.as_deref(), Some("members"));
}

#[test]
fn c2_a_member_with_an_invalid_uscc_is_refused_naming_it() {
    let mut bad = reactor_user(11);
    bad.uscc
        .replace_range(17..18, if bad.uscc.ends_with('0') { "1" } else { "0" });
    let e = run(
        opened(),
        cmd(
            as_lead(&lead()),
            "2025-06-01",
            submit("b1", "rs-1", lead(), vec![bad]),
        ),
    )
    .unwrap_err();
    assert_eq!(e.code, "C-2");
    assert_eq!(e.field.as_deref(), Some("members[0].uscc"));
    // CAS institutes may join (C-2).
    let cas = unit(12, "110108", UnitKind::CasInstitute);
    assert!(run(
        opened(),
        cmd(
            as_lead(&lead()),
            "2025-06-01",
            submit("b1", "rs-1", lead(), vec![reactor_user(11), cas])
        ),
    )
    .is_ok());
}

#[test]
fn c3_a_components_consortium_without_a_user_enterprise_is_refused_with_one_accepted() {
    let university = unit(20, "110108", UnitKind::University);
    let e = run(
        opened(),
        cmd(
            as_lead(&lead()),
            "2025-06-01",
            submit("b1", "cc-1", lead(), vec![university.clone()]),
        ),
    )
    .unwrap_err();
    assert_eq!(e.code, "C-3");
    // A reactor user does not count for a components task, and a user that is not an
    // enterprise does not count at all.
    let not_enterprise = Unit {
        component_or_system_user: true,
        ..unit(21, "110108", UnitKind::ResearchInstitute)
    };
    for wrong in [reactor_user(22), not_enterprise] {
        assert_eq!(
            run(
                opened(),
                cmd(
                    as_lead(&lead()),
                    "2025-06-01",
                    submit("b1", "cc-1", lead(), vec![university.clone(), wrong])
                ),
            )
            .unwrap_err()
            .code,
            "C-3"
        );
    }
    assert!(run(
        opened(),
        cmd(
            as_lead(&lead()),
            "2025-06-01",
            submit("b1", "cc-1", lead(), vec![university, component_user(23)])
        ),
    )
    .is_ok());
    // The same for an industrial OS task.
    assert!(run(
        opened(),
        cmd(
            as_lead(&lead()),
            "2025-06-01",
            submit("b1", "os-1", lead(), vec![component_user(23)])
        ),
    )
    .is_ok());
}

#[test]
fn c3_a_reactor_system_consortium_needs_a_reactor_user_a_single_unit_does_not() {
    let e = run(
        opened(),
        cmd(
            as_lead(&lead()),
            "2025-06-01",
            submit("b1", "rs-1", lead(), vec![component_user(30)]),
        ),
    )
    .unwrap_err();
    assert_eq!(e.code, "C-3");
    assert!(e.message_zh.unwrap().contains("反应器用户企业"));
    // The lead itself may be the reactor user.
    let user_lead = reactor_user(1);
    assert!(run(
        opened(),
        cmd(
            as_lead(&user_lead),
            "2025-06-01",
            submit("b1", "rs-1", user_lead.clone(), vec![component_user(30)])
        ),
    )
    .is_ok());
    // One unit alone is not a consortium: C-3 does not apply.
    assert!(run(
        opened(),
        cmd(
            as_lead(&lead()),
            "2025-06-01",
            submit("b1", "rs-1", lead(), vec![])
        ),
    )
    .is_ok());
}

#[test]
fn c2_the_same_unit_bids_for_two_tasks_but_once_per_task() {
    let given = then(
        opened(),
        cmd(
            as_lead(&lead()),
            "2025-06-01",
            submit("b1", "rs-1", lead(), vec![]),
        ),
    );
    assert!(run(
        given.clone(),
        cmd(
            as_lead(&lead()),
            "2025-06-02",
            submit("b2", "cc-1", lead(), vec![])
        ),
    )
    .is_ok());
    // As a member of another lead's consortium for the same task too.
    let other = reactor_user(40);
    assert!(run(
        given.clone(),
        cmd(
            as_lead(&other),
            "2025-06-02",
            submit("b3", "rs-1", other.clone(), vec![lead()])
        ),
    )
    .is_ok());
    let twice = run(
        given,
        cmd(
            as_lead(&lead()),
            "2025-06-02",
            submit("b2", "rs-1", lead(), vec![]),
        ),
    )
    .unwrap_err();
    assert_eq!(twice.code, "duplicate");
}

#[test]
fn c5_a_bid_submitted_on_06_30_is_accepted_on_07_01_refused() {
    let on = |day: &str| {
        run(
            opened(),
            cmd(as_lead(&lead()), day, submit("b1", "rs-1", lead(), vec![])),
        )
    };
    assert!(on("2025-06-30").is_ok());
    let late = on("2025-07-01").unwrap_err();
    assert_eq!(late.code, "C-5");
    assert!(late.message.contains("2025-06-30"), "{}", late.message);
    assert_eq!(
        on("2025-05-19").unwrap_err().code,
        "C-5",
        "before the call opens"
    );
}

#[test]
fn c5_a_province_recommends_on_07_15_not_on_07_16() {
    let given = then(
        opened(),
        cmd(
            as_lead(&lead()),
            "2025-06-30",
            submit("b1", "rs-1", lead(), vec![]),
        ),
    );
    let recommend = |day: &str, p: &str| {
        run(
            given.clone(),
            cmd(
                province(p),
                day,
                ChallengeCommand::RecommendBid(RecommendBid {
                    bid_id: "b1".into(),
                    opinion: "材料真实完整".into(),
                    expert_argumentation: Some("2025-07-10 组织专家论证".into()),
                    override_reason: None,
                }),
            ),
        )
    };
    let ok = recommend("2025-07-15", "32").unwrap();
    assert!(matches!(
        &ok[0],
        ChallengeEvent::BidRecommended { province, expert_argumentation: Some(_), .. }
            if province.code() == "32"
    ));
    assert_eq!(recommend("2025-07-16", "32").unwrap_err().code, "C-5");
    // C-7: only the province where the lead is registered; another answers as if there were
    // no such bid.
    assert_eq!(recommend("2025-07-15", "44").unwrap_err().code, "not_found");
}

#[test]
fn c7_the_lead_acts_for_the_consortium_members_only_read() {
    let member = component_user(50);
    let given = then(
        opened(),
        cmd(
            as_lead(&lead()),
            "2025-06-01",
            submit("b1", "cc-1", lead(), vec![member.clone()]),
        ),
    );
    let call = given.iter().fold(Call::default(), |mut c, e| {
        c.apply(e.clone());
        c
    });
    let bid = &call.bids["b1"];
    assert!(bid.readable_by(&as_lead(&member)));
    assert!(!bid.readable_by(&as_lead(&unit(51, "320100", UnitKind::Enterprise))));
    assert!(!bid.readable_by(&actor(Role::City, Some("320100"))));
    let withdraw = |a: Actor| {
        run(
            given.clone(),
            cmd(
                a,
                "2025-06-02",
                ChallengeCommand::WithdrawBid(WithdrawBid {
                    bid_id: "b1".into(),
                    reason: "调整方案".into(),
                }),
            ),
        )
    };
    assert_eq!(withdraw(as_lead(&member)).unwrap_err().code, "forbidden");
    assert!(withdraw(as_lead(&lead())).is_ok());
    // Nobody submits in another unit's name.
    let e = run(
        opened(),
        cmd(
            as_lead(&member),
            "2025-06-01",
            submit("b9", "cc-1", lead(), vec![member.clone()]),
        ),
    )
    .unwrap_err();
    assert_eq!(e.code, "forbidden");
}

#[test]
fn c4_a_major_accident_on_record_fails_the_check_and_a_recommendation_needs_a_reason() {
    let member = reactor_user(60);
    let ctx = ChallengeContext {
        accidents: vec![KnownAccident {
            uscc: member.uscc.clone(),
            occurred_on: date("2023-03-01"),
            class: IncidentClass::Major,
            reference: "js-x/inc-1".into(),
        }],
    };
    let submitted = run_with(
        opened(),
        cmd(
            as_lead(&lead()),
            "2025-06-01",
            submit("b1", "rs-1", lead(), vec![member.clone()]),
        ),
        ctx.clone(),
    )
    .unwrap();
    let ChallengeEvent::BidSubmitted { checks, .. } = &submitted[0] else {
        panic!("{submitted:?}")
    };
    let accident = checks
        .iter()
        .find(|c| c.item == "no_major_accident")
        .unwrap();
    assert!(
        !accident.passed && accident.detail_zh.contains("重大"),
        "{accident:?}"
    );
    // Three years back to the day (2022-06-01) it no longer counts, the day after it does; a
    // 较大 accident never did.
    for (on, class, counts) in [
        ("2022-06-01", IncidentClass::Major, false),
        ("2022-06-02", IncidentClass::Major, true),
        ("2024-01-01", IncidentClass::Larger, false),
    ] {
        let older = ChallengeContext {
            accidents: vec![KnownAccident {
                occurred_on: date(on),
                class,
                ..ctx.accidents[0].clone()
            }],
        };
        let events = run_with(
            opened(),
            cmd(
                as_lead(&lead()),
                "2025-06-01",
                submit("b1", "rs-1", lead(), vec![member.clone()]),
            ),
            older,
        )
        .unwrap();
        let ChallengeEvent::BidSubmitted { checks, .. } = &events[0] else {
            panic!()
        };
        assert_eq!(checks.iter().all(|c| c.passed), !counts, "{on}: {checks:?}");
    }
    let mut given = opened();
    given.extend(submitted);
    let recommend = |reason: Option<&str>| {
        run(
            given.clone(),
            cmd(
                province("32"),
                "2025-07-01",
                ChallengeCommand::RecommendBid(RecommendBid {
                    bid_id: "b1".into(),
                    opinion: "推荐".into(),
                    expert_argumentation: None,
                    override_reason: reason.map(String::from),
                }),
            ),
        )
    };
    assert_eq!(recommend(None).unwrap_err().code, "C-4");
    let ok = recommend(Some("事故系成员单位其他厂区，已整改")).unwrap();
    assert!(
        matches!(&ok[0], ChallengeEvent::BidRecommended { overridden, .. } if overridden.len() == 1)
    );
}

#[test]
fn c6_the_sixth_shortlisted_bid_of_a_task_is_refused() {
    let mut given = opened();
    for n in 1..=6 {
        given = evaluated(given, &format!("b{n}"), n, "rs-1");
    }
    for n in 1..=5 {
        given = then(given, shortlist(&format!("b{n}")));
    }
    let sixth = run(given.clone(), shortlist("b6")).unwrap_err();
    assert_eq!(sixth.code, "C-6");
    // Another task keeps its own five.
    let other = evaluated(given, "c1", 7, "cc-1");
    assert!(run(other, shortlist("c1")).is_ok());
}

#[test]
fn c6_only_an_evaluated_passed_bid_is_shortlisted_and_lists_publish_as_they_stand() {
    let given = evaluated(opened(), "b1", 1, "rs-1");
    let failed = then(
        then(
            given.clone(),
            cmd(
                as_lead(&unit(2, "320100", UnitKind::Enterprise)),
                "2025-06-01",
                submit(
                    "b2",
                    "rs-1",
                    unit(2, "320100", UnitKind::Enterprise),
                    vec![],
                ),
            ),
        ),
        cmd(
            province("32"),
            "2025-07-01",
            ChallengeCommand::RecommendBid(RecommendBid {
                bid_id: "b2".into(),
                opinion: "推荐".into(),
                expert_argumentation: None,
                override_reason: None,
            }),
        ),
    );
    let failed = then(
        failed,
        cmd(
            ministry(),
            "2025-08-01",
            ChallengeCommand::EvaluateBid(EvaluateBid {
                bid_id: "b2".into(),
                score: 40,
                passed: false,
                panel: None,
            }),
        ),
    );
    assert_eq!(
        run(failed, shortlist("b2")).unwrap_err().code,
        "state_conflict"
    );
    let publish = cmd(
        ministry(),
        "2025-08-15",
        ChallengeCommand::PublishList(PublishList {
            task_id: "rs-1".into(),
            list: ListKind::Shortlist,
        }),
    );
    assert_eq!(
        run(given.clone(), publish.clone()).unwrap_err().code,
        "state_conflict",
        "nobody on it yet"
    );
    let listed = then(given, shortlist("b1"));
    let fold = |events: &[ChallengeEvent]| {
        let mut call = Call::default();
        for e in events {
            cqrs_es::Aggregate::apply(&mut call, e.clone());
        }
        call
    };
    assert!(
        fold(&listed).public_view().unwrap().lists.is_empty(),
        "a shortlist is not public before it is published"
    );
    let published = then(listed, publish.clone());
    assert!(
        matches!(published.last(), Some(ChallengeEvent::ListPublished { bid_ids, .. }) if bid_ids == &["b1"])
    );
    // Once published, the public reads the list: units by name and kind, the lead's province.
    let public = fold(&published).public_view().unwrap();
    assert_eq!(public.lists.len(), 1);
    let list = &public.lists[0];
    assert_eq!(
        (list.task_id.as_str(), list.list),
        ("rs-1", ListKind::Shortlist)
    );
    assert_eq!(list.entries.len(), 1);
    assert_eq!(list.entries[0].serial, 1);
    assert_eq!(list.entries[0].province.code(), "32");
    let public_json = serde_json::to_string(&public).unwrap();
    assert!(
        !public_json.contains("uscc") && !public_json.contains("score"),
        "no code, evaluation or declaration is public: {public_json}"
    );
    assert_eq!(
        run(published, publish).unwrap_err().code,
        "duplicate",
        "unchanged since"
    );
}

#[test]
fn c6_the_sixth_success_of_a_task_is_refused() {
    let mut given = opened();
    for n in 1..=5 {
        given = evaluated(given, &format!("b{n}"), n, "rs-1");
    }
    for n in 1..=5 {
        given = assessed(given, n, &format!("b{n}"));
    }
    for n in 1..=4 {
        given = then(
            given,
            cmd(
                ministry(),
                "2027-02-01",
                ChallengeCommand::DeclareSuccess(DeclareSuccess {
                    bid_id: format!("b{n}"),
                }),
            ),
        );
    }
    let fifth = run(
        given.clone(),
        cmd(
            ministry(),
            "2027-02-01",
            ChallengeCommand::DeclareSuccess(DeclareSuccess {
                bid_id: "b5".into(),
            }),
        ),
    );
    assert!(fifth.is_ok(), "{fifth:?}");
    let mut full = given;
    full.extend(fifth.unwrap());
    let call = full.iter().fold(Call::default(), |mut c, e| {
        c.apply(e.clone());
        c
    });
    assert_eq!(call.successes["rs-1"].len(), PER_TASK);
    // A sixth bid of the task that passed its third-party evaluation (put straight into the
    // history: the shortlist cap keeps the commands from making one) is still refused.
    let mut sixth = full.clone();
    sixth.push(ChallengeEvent::BidSubmitted {
        bid_id: "b6".into(),
        task_id: "rs-1".into(),
        submitted_on: date("2025-06-01"),
        lead: unit(6, "320100", UnitKind::Enterprise),
        members: vec![],
        declarations: declarations(),
        checks: vec![],
    });
    sixth.push(ChallengeEvent::ThirdPartyEvaluated {
        bid_id: "b6".into(),
        evaluator: "示例第三方评价机构".into(),
        passed: true,
        summary: "达标".into(),
    });
    let e = run(
        sixth,
        cmd(
            ministry(),
            "2027-02-01",
            ChallengeCommand::DeclareSuccess(DeclareSuccess {
                bid_id: "b6".into(),
            }),
        ),
    )
    .unwrap_err();
    assert_eq!(e.code, "C-6");
}

#[test]
fn c8_an_overdue_milestone_is_flagged_once_and_not_before_its_day() {
    let given = agreed(evaluated(opened(), "b1", 1, "rs-1"), "b1");
    let flag = |on: &str| {
        cmd(
            actor(Role::System, None),
            on,
            ChallengeCommand::FlagMilestoneOverdue(FlagMilestoneOverdue {
                bid_id: "b1".into(),
                milestone_id: "m1".into(),
            }),
        )
    };
    // Due 2026-03-31: on its day it is not overdue, the day after it is.
    assert_eq!(
        run(given.clone(), flag("2026-03-31")).unwrap_err().code,
        "state_conflict"
    );
    let flagged = then(given.clone(), flag("2026-04-01"));
    assert_eq!(
        run(flagged.clone(), flag("2026-04-02")).unwrap_err().code,
        "duplicate",
        "once"
    );
    // Reported late, it says so; reported in time, it is never flagged.
    let late = run(flagged, report(1, "b1", "m1", "2026-04-10")).unwrap();
    assert!(matches!(
        &late[0],
        ChallengeEvent::MilestoneReported { late: true, .. }
    ));
    let on_time = then(given, report(1, "b1", "m1", "2026-03-31"));
    assert_eq!(
        run(on_time, flag("2026-04-01")).unwrap_err().code,
        "state_conflict"
    );
}

#[test]
fn c6_the_third_party_evaluation_waits_for_every_milestone() {
    let given = agreed(evaluated(opened(), "b1", 1, "rs-1"), "b1");
    let given = then(given, report(1, "b1", "m1", "2026-03-20"));
    let evaluate = cmd(
        ministry(),
        "2026-10-01",
        ChallengeCommand::RecordThirdPartyEvaluation(RecordThirdPartyEvaluation {
            bid_id: "b1".into(),
            evaluator: "示例第三方评价机构".into(),
            passed: true,
            summary: "达标".into(),
        }),
    );
    assert_eq!(
        run(given.clone(), evaluate.clone()).unwrap_err().code,
        "state_conflict"
    );
    let done = then(given, report(1, "b1", "m2", "2026-09-20"));
    assert!(run(done, evaluate).is_ok());
}

#[test]
fn c1_a_call_has_tasks_with_unique_ids_and_ordered_deadlines() {
    let open = |c: OpenCall| {
        run(
            vec![],
            cmd(ministry(), "2025-05-20", ChallengeCommand::OpenCall(c)),
        )
    };
    assert!(open(call_2025()).is_ok());
    let mut twice = call_2025();
    twice.tasks.push(task("rs-1", Category::IndustrialOs));
    assert_eq!(
        open(twice).unwrap_err().field.as_deref(),
        Some("tasks[3].task_id")
    );
    let mut backwards = call_2025();
    backwards.province_deadline = date("2025-06-29");
    assert_eq!(open(backwards).unwrap_err().code, "impossible_date");
    assert_eq!(
        open(OpenCall {
            tasks: vec![],
            ..call_2025()
        })
        .unwrap_err()
        .field
        .as_deref(),
        Some("tasks")
    );
    // Only the ministry opens a call; a second opening is refused.
    let by_province = run(
        vec![],
        cmd(
            province("32"),
            "2025-05-20",
            ChallengeCommand::OpenCall(call_2025()),
        ),
    );
    assert_eq!(by_province.unwrap_err().code, "forbidden");
    assert_eq!(
        run(
            opened(),
            cmd(
                ministry(),
                "2025-05-21",
                ChallengeCommand::OpenCall(call_2025())
            )
        )
        .unwrap_err()
        .code,
        "duplicate"
    );
}

#[test]
fn every_event_of_a_call_is_stored_and_read_back_as_it_was() {
    let mut history = opened();
    history = assessed(evaluated(history, "b1", 1, "rs-1"), 1, "b1");
    history = then(
        history,
        cmd(
            ministry(),
            "2027-02-01",
            ChallengeCommand::DeclareSuccess(DeclareSuccess {
                bid_id: "b1".into(),
            }),
        ),
    );
    history = then(
        history,
        cmd(
            ministry(),
            "2027-02-02",
            ChallengeCommand::PublishList(PublishList {
                task_id: "rs-1".into(),
                list: ListKind::Success,
            }),
        ),
    );
    let types: BTreeSet<&str> = history.iter().map(|e| e.event_type()).collect();
    assert!(types.len() >= 10, "{types:?}");
    for e in &history {
        let (t, v, payload) = crate::events::encode(e);
        assert_eq!(t, e.event_type());
        let back = crate::events::decode_challenge(&t, v, &payload).unwrap();
        assert_eq!(&back, e);
    }
}
