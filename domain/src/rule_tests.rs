//! Rule tests at the edges, named by rule id (given/when/then with cqrs-es `TestFramework`).

use cqrs_es::test::TestFramework;

use crate::test_support::{actor, cmd};
use cqrs_es::Aggregate;
use serde_json::json;

use crate::actor::{Actor, Role};
use crate::commands::*;
use crate::eligibility::{assess, Outcome, PastIncident};
use crate::error::Refusal;
use crate::events::{PlatformEvent, RoundEvent};
use crate::form::ApplicationForm;
use crate::platform::{event_id, Platform, PlatformContext, Status};
use crate::round::Round;
use crate::samples::*;
use crate::values::{Domain, Province};

type PlatformTest = TestFramework<Platform>;

fn applicant() -> Actor {
    actor(Role::Applicant, Some(GD_USCC))
}
fn city() -> Actor {
    actor(Role::City, Some("440300"))
}
fn province() -> Actor {
    actor(Role::Province, Some("44"))
}
fn ministry() -> Actor {
    actor(Role::Ministry, None)
}

fn round_state(open: OpenRound) -> Round {
    let mut r = Round::default();
    r.apply(RoundEvent::RoundOpened(open));
    r
}

fn ctx_with(round: Round) -> PlatformContext {
    PlatformContext {
        platform_id: "p-1".into(),
        round: Some(round),
    }
}

fn ctx() -> PlatformContext {
    ctx_with(round_state(round_2025()))
}

fn form_with(patch: serde_json::Value) -> ApplicationForm {
    let mut v = serde_json::to_value(gd_form()).unwrap();
    merge(&mut v, &patch);
    serde_json::from_value(v).unwrap()
}

fn merge(t: &mut serde_json::Value, p: &serde_json::Value) {
    match (t, p) {
        (serde_json::Value::Object(t), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn outcome_of(form: &ApplicationForm, rule: &str) -> Outcome {
    assess(form, date("2025-07-01"), &[]).outcome(rule).unwrap()
}

fn submitted(form: ApplicationForm, on: &str) -> Vec<PlatformEvent> {
    let assessment = assess(&form, date(on), &[]);
    vec![
        PlatformEvent::ApplicationSubmitted {
            round_id: "2025".into(),
            cycle: 1,
            submitted_on: date(on),
            form,
        },
        PlatformEvent::EligibilityAssessed { assessment },
    ]
}

fn endorsed() -> PlatformEvent {
    PlatformEvent::CityEndorsed {
        city: crate::values::CityCode::parse("440300").unwrap(),
        opinion: "同意".into(),
    }
}

fn recommended() -> PlatformEvent {
    PlatformEvent::ProvinceRecommended {
        province: Province::parse("44").unwrap(),
        opinion: "推荐".into(),
        rank: Some(1),
        overridden_rules: vec![],
        override_reason: None,
        warnings: vec![],
    }
}

fn listed_history() -> Vec<PlatformEvent> {
    let mut e = submitted(gd_form(), "2025-07-01");
    e.extend([
        endorsed(),
        recommended(),
        PlatformEvent::ExpertEvaluationRecorded {
            score: 86,
            passed: true,
            panel: vec![],
            comments: None,
        },
        PlatformEvent::PublicNoticeStarted {
            from: date("2025-11-20"),
            until: date("2025-11-26"),
        },
        PlatformEvent::PlatformListed {
            listed_on: date("2025-12-01"),
        },
    ]);
    e
}

fn recommend() -> PlatformCommand {
    PlatformCommand::RecommendByProvince(RecommendByProvince {
        opinion: "推荐".into(),
        rank: Some(1),
        override_reason: None,
    })
}

/// The refusal, which also says its particulars in Chinese for the pages.
fn err(v: cqrs_es::test::AggregateResultValidator<Platform>) -> Refusal {
    let e = v.inspect_result().expect_err("expected a refusal");
    let zh = e.message_zh.as_deref().unwrap_or_default();
    assert!(
        zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{} has no Chinese particulars: {e:?}",
        e.code
    );
    e
}

// ---------------------------------------------------------------------------------------------
// Eligibility G-1..G-12

#[test]
fn g1_individual_business_is_not_a_legal_entity() {
    let u = uscc_with_check("92440300MA5F00000");
    let f = form_with(json!({"applicant": {"uscc": u}}));
    assert_eq!(outcome_of(&f, "G-1"), Outcome::Fail);
    assert_eq!(outcome_of(&gd_form(), "G-1"), Outcome::Pass);
}

#[test]
fn g2_built_or_not() {
    assert_eq!(
        outcome_of(&form_with(json!({"platform": {"built": false}})), "G-2"),
        Outcome::Fail
    );
    let mut f = gd_form();
    f.platform.built = None;
    assert_eq!(outcome_of(&f, "G-2"), Outcome::MissingEvidence);
}

#[test]
fn g3_penalty_and_own_incidents_in_the_last_three_years() {
    assert_eq!(
        outcome_of(
            &form_with(json!({"compliance": {"penalised": true, "penalty_details": "环保罚款"}})),
            "G-3"
        ),
        Outcome::Fail
    );
    let serious = |on: &str| PastIncident {
        incident_id: "i1".into(),
        occurred_on: date(on),
        serious: true,
    };
    let f = gd_form();
    // Submission on 2028-07-01: an incident on 2025-07-02 is inside the 3 years, 2025-07-01 is not.
    assert_eq!(
        assess(&f, date("2028-07-01"), &[serious("2025-07-02")]).outcome("G-3"),
        Some(Outcome::Fail)
    );
    assert_eq!(
        assess(&f, date("2028-07-01"), &[serious("2025-07-01")]).outcome("G-3"),
        Some(Outcome::Pass)
    );
    let minor = PastIncident {
        incident_id: "i2".into(),
        occurred_on: date("2027-01-01"),
        serious: false,
    };
    assert_eq!(
        assess(&f, date("2028-07-01"), &[minor]).outcome("G-3"),
        Some(Outcome::Pass)
    );
}

#[test]
fn g4_site_area_1499_fails_1500_passes() {
    assert_eq!(
        outcome_of(&form_with(json!({"site": {"area_m2": 1499}})), "G-4"),
        Outcome::Fail
    );
    assert_eq!(
        outcome_of(&form_with(json!({"site": {"area_m2": 1499.99}})), "G-4"),
        Outcome::Fail
    );
    assert_eq!(
        outcome_of(&form_with(json!({"site": {"area_m2": 1500}})), "G-4"),
        Outcome::Pass
    );
    let mut f = gd_form();
    f.site = None;
    assert_eq!(outcome_of(&f, "G-4"), Outcome::MissingEvidence);
}

#[test]
fn g5_site_conditions_all_required() {
    assert_eq!(outcome_of(&gd_form(), "G-5"), Outcome::Pass);
    assert_eq!(
        outcome_of(
            &form_with(json!({"site": {"explosion_proof_area": false}})),
            "G-5"
        ),
        Outcome::Fail
    );
    assert_eq!(
        outcome_of(
            &form_with(json!({"site": {"health_assessment_passed": null}})),
            "G-5"
        ),
        Outcome::MissingEvidence
    );
}

#[test]
fn g6_all_nine_utilities() {
    assert_eq!(outcome_of(&gd_form(), "G-6"), Outcome::Pass);
    let eight = json!({"utilities": ["clean_in_place", "ventilation", "air_purification", "purified_water", "steam", "chilled_water", "off_gas_treatment", "wastewater_treatment"]});
    let a = assess(&form_with(eight), date("2025-07-01"), &[]);
    assert_eq!(a.outcome("G-6"), Some(Outcome::Fail));
    assert!(a.rules[5].detail.contains("power_supply"));
}

#[test]
fn g7_team_14_fails_15_passes() {
    assert_eq!(
        outcome_of(
            &form_with(json!({"team": {"fixed_technical_staff": 14, "qualified_staff": 14}})),
            "G-7"
        ),
        Outcome::Fail
    );
    assert_eq!(
        outcome_of(
            &form_with(json!({"team": {"fixed_technical_staff": 15, "qualified_staff": 9}})),
            "G-7"
        ),
        Outcome::Pass
    );
}

#[test]
fn g7_qualified_share_59_fails_60_passes() {
    assert_eq!(
        outcome_of(
            &form_with(json!({"team": {"fixed_technical_staff": 100, "qualified_staff": 59}})),
            "G-7"
        ),
        Outcome::Fail
    );
    assert_eq!(
        outcome_of(
            &form_with(json!({"team": {"fixed_technical_staff": 100, "qualified_staff": 60}})),
            "G-7"
        ),
        Outcome::Pass
    );
    // 8 of 15 is 53.3 %, 9 of 15 is exactly 60 %.
    assert_eq!(
        outcome_of(
            &form_with(json!({"team": {"fixed_technical_staff": 15, "qualified_staff": 8}})),
            "G-7"
        ),
        Outcome::Fail
    );
}

#[test]
fn g8_vessel_999_fails_1000_passes_and_biopharma_waiver() {
    let vessels = |l: u32| json!({"equipment": {"vessels": [{"kind": "fermentation", "name": "发酵罐", "volume_l": l, "count": 1}]}});
    assert_eq!(outcome_of(&form_with(vessels(999)), "G-8"), Outcome::Fail);
    assert_eq!(outcome_of(&form_with(vessels(1000)), "G-8"), Outcome::Pass);
    let mut bio = form_with(vessels(200));
    bio.domains.insert(Domain::Biopharma);
    let a = assess(&bio, date("2025-07-01"), &[]);
    assert_eq!(a.outcome("G-8"), Some(Outcome::Pass));
    assert!(a.rules[7].detail.contains("waived"));
    let enzyme = json!({"equipment": {"vessels": [{"kind": "enzyme_catalysis", "name": "酶催化罐", "volume_l": 1000, "count": 1}]}});
    assert_eq!(outcome_of(&form_with(enzyme), "G-8"), Outcome::Pass);
    // A parallel bioreactor is not a production-scale vessel.
    let parallel = json!({"equipment": {"vessels": [{"kind": "parallel_bioreactor", "name": "平行反应器", "volume_l": 2000, "count": 1}]}});
    assert_eq!(outcome_of(&form_with(parallel), "G-8"), Outcome::Fail);
}

#[test]
fn g9_projects_4_fail_5_pass() {
    let tr = |p: u32| json!({"track_record": {"pilot_projects": p}});
    assert_eq!(outcome_of(&form_with(tr(4)), "G-9"), Outcome::Fail);
    assert_eq!(outcome_of(&form_with(tr(5)), "G-9"), Outcome::Pass);
}

#[test]
fn g9_industrialized_or_spun_off_with_2000_wan_valuation() {
    let rec = |ind: u32, rev: u64, spun: u32, val: u64| json!({"track_record": {"pilot_projects": 5, "industrialized_projects": ind, "industrialized_revenue_cny": rev, "spun_off_enterprises": spun, "spun_off_valuation_cny": val}});
    assert_eq!(
        outcome_of(&form_with(rec(2, 1, 0, 0)), "G-9"),
        Outcome::Pass
    );
    assert_eq!(
        outcome_of(&form_with(rec(1, 9_000_000, 0, 0)), "G-9"),
        Outcome::Fail
    );
    assert_eq!(
        outcome_of(&form_with(rec(2, 0, 0, 0)), "G-9"),
        Outcome::Fail,
        "industrialized without revenue"
    );
    assert_eq!(
        outcome_of(&form_with(rec(0, 0, 3, 19_999_999)), "G-9"),
        Outcome::Fail
    );
    assert_eq!(
        outcome_of(&form_with(rec(0, 0, 3, 20_000_000)), "G-9"),
        Outcome::Pass
    );
    assert_eq!(
        outcome_of(&form_with(rec(0, 0, 2, 90_000_000)), "G-9"),
        Outcome::Fail
    );
}

#[test]
fn g10_gmp_only_for_biopharma() {
    assert_eq!(outcome_of(&gd_form(), "G-10"), Outcome::NotApplicable);
    let mut f = form_with(json!({"gmp_compliant": false}));
    f.domains.insert(Domain::Biopharma);
    assert_eq!(outcome_of(&f, "G-10"), Outcome::Fail);
    f.gmp_compliant = Some(true);
    assert_eq!(outcome_of(&f, "G-10"), Outcome::Pass);
}

#[test]
fn g11_cctv_89_days_fails_90_passes() {
    assert_eq!(
        outcome_of(
            &form_with(json!({"ip_protection": {"cctv_retention_days": 89}})),
            "G-11"
        ),
        Outcome::Fail
    );
    assert_eq!(
        outcome_of(
            &form_with(json!({"ip_protection": {"cctv_retention_days": 90}})),
            "G-11"
        ),
        Outcome::Pass
    );
    assert_eq!(
        outcome_of(
            &form_with(json!({"ip_protection": {"strain_bank_dual_lock": false}})),
            "G-11"
        ),
        Outcome::Fail
    );
}

#[test]
fn g12_at_least_one_domain() {
    let mut f = gd_form();
    f.domains.clear();
    assert_eq!(outcome_of(&f, "G-12"), Outcome::Fail);
    assert_eq!(outcome_of(&gd_form(), "G-12"), Outcome::Pass);
}

#[test]
fn assessment_lists_every_rule_in_order_and_soft_findings() {
    let a = assess(&gd_form(), date("2025-07-01"), &[]);
    let ids: Vec<&str> = a.rules.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(
        ids,
        ["G-1", "G-2", "G-3", "G-4", "G-5", "G-6", "G-7", "G-8", "G-9", "G-10", "G-11", "G-12"]
    );
    assert!(a.hard_failures().is_empty(), "{:?}", a.rules);
    assert!(a
        .soft_findings
        .iter()
        .any(|s| s.code == "parallel_bioreactors" && s.present));
    assert!(a
        .soft_findings
        .iter()
        .any(|s| s.code == "domain_equipment:enzymes" && s.present));
}

// ---------------------------------------------------------------------------------------------
// Submission and R-4 deadlines

#[test]
fn submission_emits_application_and_assessment() {
    let form = gd_form();
    PlatformTest::with(ctx())
        .given_no_previous_events()
        .when(cmd(
            applicant(),
            "2025-07-01",
            PlatformCommand::SubmitApplication(SubmitApplication {
                round_id: "2025".into(),
                form: form.clone(),
            }),
        ))
        .then_expect_events(submitted(form, "2025-07-01"));
}

#[test]
fn r4_applicant_deadline_day_allowed_day_after_refused() {
    let submit = |on: &str| {
        cmd(
            applicant(),
            on,
            PlatformCommand::SubmitApplication(SubmitApplication {
                round_id: "2025".into(),
                form: gd_form(),
            }),
        )
    };
    let ok = PlatformTest::with(ctx())
        .given_no_previous_events()
        .when(submit("2025-07-04"))
        .inspect_result();
    assert!(ok.is_ok());
    let e = err(PlatformTest::with(ctx())
        .given_no_previous_events()
        .when(submit("2025-07-05")));
    assert_eq!(e.code, "R-4");
    assert!(e.message.contains("2025-07-04"), "{}", e.message);
}

#[test]
fn r4_province_without_own_applicant_deadline_uses_the_national_one() {
    let js = uscc_with_check("91320100134789562");
    let form: ApplicationForm =
        serde_json::from_value(form_json(&js, "32", "320100", &["chemicals"])).unwrap();
    let submit = |on: &str| {
        cmd(
            actor(Role::Applicant, Some(&js)),
            on,
            PlatformCommand::SubmitApplication(SubmitApplication {
                round_id: "2025".into(),
                form: form.clone(),
            }),
        )
    };
    assert!(PlatformTest::with(ctx())
        .given_no_previous_events()
        .when(submit("2025-07-11"))
        .inspect_result()
        .is_ok());
    assert_eq!(
        err(PlatformTest::with(ctx())
            .given_no_previous_events()
            .when(submit("2025-07-12")))
        .code,
        "R-4"
    );
    assert_eq!(
        err(PlatformTest::with(ctx())
            .given_no_previous_events()
            .when(submit("2025-06-15")))
        .code,
        "R-4",
        "before the round opens"
    );
}

#[test]
fn r4_city_deadline_day_allowed_day_after_refused() {
    let endorse = |on: &str| {
        cmd(
            city(),
            on,
            PlatformCommand::EndorseByCity(EndorseByCity {
                opinion: "同意".into(),
            }),
        )
    };
    PlatformTest::with(ctx())
        .given(submitted(gd_form(), "2025-07-01"))
        .when(endorse("2025-07-10"))
        .then_expect_events(vec![endorsed()]);
    let e = err(PlatformTest::with(ctx())
        .given(submitted(gd_form(), "2025-07-01"))
        .when(endorse("2025-07-11")));
    assert_eq!(e.code, "R-4");
    assert!(e.message.contains("2025-07-10"));
}

#[test]
fn r4_province_deadline_day_allowed_day_after_refused() {
    let mut given = submitted(gd_form(), "2025-07-01");
    given.push(endorsed());
    PlatformTest::with(ctx())
        .given(given.clone())
        .when(cmd(province(), "2025-07-11", recommend()))
        .then_expect_events(vec![recommended()]);
    let e = err(PlatformTest::with(ctx()).given(given).when(cmd(
        province(),
        "2025-07-12",
        recommend(),
    )));
    assert_eq!(e.code, "R-4");
    assert!(e.message.contains("2025-07-11"));
}

#[test]
fn guangdong_requires_city_endorsement_before_recommendation() {
    let e = err(PlatformTest::with(ctx())
        .given(submitted(gd_form(), "2025-07-01"))
        .when(cmd(province(), "2025-07-08", recommend())));
    assert_eq!(e.code, "state_conflict");
    assert!(e.message.contains("city endorsement"));
}

#[test]
fn other_provinces_recommend_straight_from_submission() {
    let js = uscc_with_check("91320100134789562");
    let form: ApplicationForm =
        serde_json::from_value(form_json(&js, "32", "320100", &["chemicals"])).unwrap();
    let r = PlatformTest::with(ctx())
        .given(submitted(form, "2025-07-01"))
        .when(cmd(
            actor(Role::Province, Some("32")),
            "2025-07-08",
            recommend(),
        ))
        .inspect_result()
        .unwrap();
    assert!(matches!(r[0], PlatformEvent::ProvinceRecommended { .. }));
}

// ---------------------------------------------------------------------------------------------
// R-3 jurisdiction of the USCC and of the city

#[test]
fn r3_wrong_province_uscc_is_refused() {
    // Declared in Guangdong, registered in Jiangsu (320100).
    let js = uscc_with_check("91320100134789562");
    let form: ApplicationForm =
        serde_json::from_value(form_json(&js, "44", "440300", &["enzymes"])).unwrap();
    let mut given = submitted(form, "2025-07-01");
    given.push(endorsed());
    let e = err(PlatformTest::with(ctx()).given(given).when(cmd(
        province(),
        "2025-07-08",
        recommend(),
    )));
    assert_eq!(e.code, "R-3");
    assert!(e.message.contains("320100"));
}

#[test]
fn r3_central_registration_is_allowed_in_any_province() {
    let central = uscc_with_check("91100000717800021");
    assert!(crate::values::Uscc::parse(&central).unwrap().is_central());
    let form: ApplicationForm =
        serde_json::from_value(form_json(&central, "44", "440300", &["enzymes"])).unwrap();
    let mut given = submitted(form, "2025-07-01");
    given.push(endorsed());
    PlatformTest::with(ctx())
        .given(given)
        .when(cmd(province(), "2025-07-08", recommend()))
        .then_expect_events(vec![recommended()]);
}

fn submit_as(uscc: &str, province: &str, city: &str) -> Result<Vec<PlatformEvent>, Refusal> {
    let form: ApplicationForm =
        serde_json::from_value(form_json(uscc, province, city, &["enzymes"])).unwrap();
    PlatformTest::with(ctx())
        .given_no_previous_events()
        .when(cmd(
            actor(Role::Applicant, Some(uscc)),
            "2025-07-01",
            PlatformCommand::SubmitApplication(SubmitApplication {
                round_id: "2025".into(),
                form,
            }),
        ))
        .inspect_result()
}

#[test]
fn r3_submission_declaring_another_province_than_the_usccs_is_refused() {
    // A Shenzhen-registered USCC (division 440300) declaring Jiangsu, with a Nanjing city that
    // does belong to Jiangsu: the province is still not the registering one.
    let e = submit_as(GD_USCC, "32", "320100").expect_err("refused");
    assert_eq!(e.code, "invalid_input");
    assert_eq!(e.field.as_deref(), Some("form.applicant.province"));
    assert!(e.message.contains("440300"), "{}", e.message);
    assert!(e.message.contains("32 (江苏省)"), "{}", e.message);
    assert!(submit_as(GD_USCC, "44", "440300").is_ok());
}

#[test]
fn r3_submission_with_a_central_uscc_is_accepted_in_any_province() {
    let central = uscc_with_check("91100000717800021");
    for (province, city) in [
        ("44", "440300"),
        ("32", "320100"),
        ("11", "110108"),
        ("XPCC", "659001"),
    ] {
        assert!(
            submit_as(&central, province, city).is_ok(),
            "{province} {city}"
        );
    }
}

#[test]
fn r3_submission_with_a_city_of_another_province_is_refused() {
    let e = submit_as(GD_USCC, "44", "320100").expect_err("refused");
    assert_eq!(e.code, "invalid_input");
    assert_eq!(e.field.as_deref(), Some("form.applicant.city"));
    assert!(e.message.contains("320100"), "{}", e.message);
    // Central registration does not excuse a city outside the declared province.
    let central = uscc_with_check("91100000717800021");
    let e = submit_as(&central, "32", "440300").expect_err("refused");
    assert_eq!(e.field.as_deref(), Some("form.applicant.city"));
}

#[test]
fn r3_xpcc_applicant_registered_under_6590xx_or_66_is_accepted() {
    // 659001 石河子市 (a county-level city administered by XPCC) and the XPCC 66 prefix.
    for prefix in ["91659001MA1000001", "91660100MA1000002"] {
        let uscc = uscc_with_check(prefix);
        assert!(
            submit_as(&uscc, "XPCC", "659001").is_ok(),
            "{uscc} XPCC 659001"
        );
        // An XPCC-registered unit is not one of the Xinjiang Uygur Autonomous Region (65).
        let e = submit_as(&uscc, "65", "650100").expect_err("refused");
        assert_eq!(e.field.as_deref(), Some("form.applicant.province"));
    }
    // And the other way round: a unit registered in Urumqi (650100) is not an XPCC applicant.
    let urumqi = uscc_with_check("91650100MA1000003");
    let e = submit_as(&urumqi, "XPCC", "659001").expect_err("refused");
    assert_eq!(e.field.as_deref(), Some("form.applicant.province"));
    assert!(submit_as(&urumqi, "65", "650100").is_ok());
}

#[test]
fn r3_city_endorses_only_its_own_city() {
    let e = err(PlatformTest::with(ctx())
        .given(submitted(gd_form(), "2025-07-01"))
        .when(cmd(
            actor(Role::City, Some("440100")),
            "2025-07-08",
            PlatformCommand::EndorseByCity(EndorseByCity {
                opinion: "同意".into(),
            }),
        )));
    assert_eq!(e.code, "R-3");
}

// ---------------------------------------------------------------------------------------------
// R-1 quota, R-2 single-domain warning, hard-rule override

fn round_with(recs: usize, domain: Domain) -> Round {
    let mut r = round_state(round_2025());
    for i in 0..recs {
        r.apply(RoundEvent::RecommendationRegistered {
            platform_id: format!("gd-{i}"),
            province: Province::parse("44").unwrap(),
            domains: [domain].into(),
        });
    }
    r
}

#[test]
fn r1_fifth_recommendation_accepted_sixth_refused() {
    let mut given = submitted(gd_form(), "2025-07-01");
    given.push(endorsed());
    let fifth = PlatformTest::with(ctx_with(round_with(4, Domain::Biopharma)))
        .given(given.clone())
        .when(cmd(province(), "2025-07-09", recommend()));
    assert!(fifth.inspect_result().is_ok());
    let e = err(
        PlatformTest::with(ctx_with(round_with(5, Domain::Biopharma)))
            .given(given)
            .when(cmd(province(), "2025-07-09", recommend())),
    );
    assert_eq!(e.code, "R-1");
    assert!(e.message.contains("quota is 5"), "{}", e.message);
}

#[test]
fn r3_a_city_acts_only_on_applicants_of_its_own_city() {
    let platform = Platform::replay(submitted(gd_form(), "2025-07-01"));
    let endorse = PlatformCommand::EndorseByCity(EndorseByCity {
        opinion: "同意".into(),
    });
    assert!(crate::access::check_scope(&city(), &platform, &endorse).is_ok());
    // Guangzhou, in the same province as the Shenzhen applicant.
    let guangzhou = actor(Role::City, Some("440100"));
    let e = crate::access::check_scope(&guangzhou, &platform, &endorse).unwrap_err();
    assert_eq!(e.code, crate::error::code::FORBIDDEN);
    assert!(e.message.contains("440300"), "{}", e.message);
}

#[test]
fn r1_a_rank_runs_from_1_to_the_quota() {
    let mut given = submitted(gd_form(), "2025-07-01");
    given.push(endorsed());
    let with_rank = |ctx: PlatformContext, rank: u32| {
        PlatformTest::with(ctx)
            .given(given.clone())
            .when(cmd(
                province(),
                "2025-07-09",
                PlatformCommand::RecommendByProvince(RecommendByProvince {
                    opinion: "推荐".into(),
                    rank: Some(rank),
                    override_reason: None,
                }),
            ))
            .inspect_result()
    };
    assert!(with_rank(ctx(), 1).is_ok());
    assert!(with_rank(ctx(), 5).is_ok());
    for bad in [0, 6] {
        let e = with_rank(ctx(), bad).expect_err("outside 1-5");
        assert_eq!(e.code, crate::error::code::INVALID_INPUT);
        assert_eq!(e.field.as_deref(), Some("rank"));
        assert!(e.message.contains("1-5"), "{}", e.message);
    }
    // The sixth recommendation, ranked 6, is refused for the quota it exceeds.
    let e = with_rank(ctx_with(round_with(5, Domain::Biopharma)), 6).expect_err("over the quota");
    assert_eq!(e.code, "R-1");
}

#[test]
fn r5_a_round_without_a_notice_day_is_refused() {
    let open = |days: u32| {
        let mut round = Round::default();
        let sink = cqrs_es::event_sink::EventSink::default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(round.handle(
            Envelope {
                meta: CommandMeta {
                    command_id: uuid::Uuid::nil(),
                    actor: ministry(),
                    business_date: date("2025-06-16"),
                },
                command: RoundCommand::OpenRound(OpenRound {
                    notice_days: days,
                    ..round_2025()
                }),
            },
            &(),
            &sink,
        ))
    };
    let e = open(0).expect_err("no notice day");
    assert_eq!(e.field.as_deref(), Some("notice_days"));
    assert!(open(1).is_ok());
}

#[test]
fn r1_round_aggregate_refuses_the_sixth_registration() {
    let mut round = round_with(5, Domain::Enzymes);
    let sink = cqrs_es::event_sink::EventSink::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let r = rt.block_on(round.handle(
        Envelope {
            meta: CommandMeta {
                command_id: uuid::Uuid::nil(),
                actor: province(),
                business_date: date("2025-07-09"),
            },
            command: RoundCommand::RegisterRecommendation {
                platform_id: "x".into(),
                province: Province::parse("44").unwrap(),
                domains: [Domain::Enzymes].into(),
            },
        },
        &(),
        &sink,
    ));
    assert_eq!(r.unwrap_err().code, "R-1");
}

#[test]
fn r2_single_domain_concentration_is_accepted_with_a_warning() {
    let mut given = submitted(gd_form(), "2025-07-01");
    given.push(endorsed());
    let events = PlatformTest::with(ctx_with(round_with(2, Domain::Enzymes)))
        .given(given.clone())
        .when(cmd(province(), "2025-07-09", recommend()))
        .inspect_result()
        .unwrap();
    let PlatformEvent::ProvinceRecommended { warnings, .. } = &events[0] else {
        panic!()
    };
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].starts_with("R-2"));
    // A second domain among the recommendations: no warning. The first one alone: no warning.
    for round in [
        round_with(2, Domain::Biopharma),
        round_with(0, Domain::Enzymes),
    ] {
        let events = PlatformTest::with(ctx_with(round))
            .given(given.clone())
            .when(cmd(province(), "2025-07-09", recommend()))
            .inspect_result()
            .unwrap();
        let PlatformEvent::ProvinceRecommended { warnings, .. } = &events[0] else {
            panic!()
        };
        assert!(warnings.is_empty());
    }
}

#[test]
fn hard_rule_failure_blocks_recommendation_unless_overridden() {
    let mut given = submitted(form_with(json!({"site": {"area_m2": 1499}})), "2025-07-01");
    given.push(endorsed());
    let e = err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
        province(),
        "2025-07-09",
        recommend(),
    )));
    assert_eq!(e.code, "G-4");
    assert_eq!(e.field.as_deref(), Some("override_reason"));
    let overridden = PlatformCommand::RecommendByProvince(RecommendByProvince {
        opinion: "推荐".into(),
        rank: None,
        override_reason: Some("扩建中，9月完工".into()),
    });
    let events = PlatformTest::with(ctx())
        .given(given)
        .when(cmd(province(), "2025-07-09", overridden))
        .inspect_result()
        .unwrap();
    let PlatformEvent::ProvinceRecommended {
        overridden_rules, ..
    } = &events[0]
    else {
        panic!()
    };
    assert_eq!(overridden_rules, &vec!["G-4".to_string()]);
}

// ---------------------------------------------------------------------------------------------
// R-5 notice and listing; state conflicts

#[test]
fn r5_listing_only_after_the_notice_ends() {
    let mut given = listed_history();
    given.pop();
    let e = err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
        ministry(),
        "2025-11-26",
        PlatformCommand::ListPlatform(ListPlatform {}),
    )));
    assert_eq!(e.code, "R-5");
    PlatformTest::with(ctx())
        .given(given)
        .when(cmd(
            ministry(),
            "2025-11-27",
            PlatformCommand::ListPlatform(ListPlatform {}),
        ))
        .then_expect_events(vec![PlatformEvent::PlatformListed {
            listed_on: date("2025-11-27"),
        }]);
}

#[test]
fn r5_upheld_objection_means_not_selected() {
    let mut given = listed_history();
    given.pop();
    let objection = PlatformCommand::RecordNoticeObjection(RecordNoticeObjection {
        upheld: true,
        summary: "场地面积不实".into(),
        objection_id: None,
    });
    let events = PlatformTest::with(ctx())
        .given(given.clone())
        .when(cmd(ministry(), "2025-11-22", objection))
        .inspect_result()
        .unwrap();
    given.extend(events);
    let p = Platform::replay(given.clone());
    assert_eq!(p.status, Status::NotSelected);
    let e = err(PlatformTest::with(ctx()).given(given).when(cmd(
        ministry(),
        "2025-11-28",
        PlatformCommand::ListPlatform(ListPlatform {}),
    )));
    assert_eq!(e.code, "state_conflict");
}

#[test]
fn a_listed_platform_states_its_pilot_services_at_least_one_each_once_and_only_when_changed() {
    use crate::commands::PilotService as S;
    let offer = |services: Vec<S>, accepting: bool| {
        PlatformCommand::UpdateServiceOffer(UpdateServiceOffer {
            services,
            description: Some(" 万升级发酵放大 ".into()),
            accepting_orders: accepting,
        })
    };
    let given = listed_history();
    let empty = err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
        applicant(),
        "2026-01-05",
        offer(vec![], true),
    )));
    assert_eq!(empty.field.as_deref(), Some("services"));
    let twice = err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
        applicant(),
        "2026-01-05",
        offer(vec![S::ScaleUp, S::ScaleUp], true),
    )));
    assert_eq!(twice.field.as_deref(), Some("services"));
    let stated = PlatformTest::with(ctx())
        .given(given.clone())
        .when(cmd(
            applicant(),
            "2026-01-05",
            offer(vec![S::ScaleUp, S::AnalysisTesting], true),
        ))
        .inspect_result()
        .unwrap();
    assert!(matches!(
        &stated[..],
        [PlatformEvent::ServiceOfferUpdated { description: Some(d), updated_on, .. }]
            if d == "万升级发酵放大" && *updated_on == date("2026-01-05")
    ));
    let mut after = given.clone();
    after.extend(stated);
    let same = err(PlatformTest::with(ctx()).given(after.clone()).when(cmd(
        applicant(),
        "2026-02-01",
        offer(vec![S::ScaleUp, S::AnalysisTesting], true),
    )));
    assert_eq!(same.code, "duplicate");
    assert!(PlatformTest::with(ctx())
        .given(after)
        .when(cmd(
            applicant(),
            "2026-02-01",
            offer(vec![S::ScaleUp, S::AnalysisTesting], false)
        ))
        .inspect_result()
        .is_ok());
    // Not before the platform is on the roster.
    let mut on_notice = given;
    on_notice.pop();
    let early = err(PlatformTest::with(ctx()).given(on_notice).when(cmd(
        applicant(),
        "2025-11-22",
        offer(vec![S::ScaleUp], true),
    )));
    assert_eq!(early.code, "state_conflict");
}

fn a_need(services: Vec<PilotService>) -> Need {
    Need {
        enterprise_name: " 深圳示例生物科技有限公司 ".into(),
        enterprise_uscc: crate::values::Uscc::parse("91440300708461136T").unwrap(),
        contact: "0755-12345678".into(),
        description: "5000 升发酵中试".into(),
        domain: Some(crate::values::Domain::FoodAdditives),
        services,
        min_vessel_l: Some(5000),
        province: None,
    }
}

fn post_need(need: Need) -> PlatformCommand {
    PlatformCommand::PostNeed(PostNeed {
        need_id: "need-0123456789ab".into(),
        need,
    })
}

fn answer(answer: NeedResponse) -> PlatformCommand {
    PlatformCommand::RespondToNeed(RespondToNeed {
        need_id: "need-0123456789ab".into(),
        answer,
        note: None,
    })
}

fn offering(services: Vec<PilotService>, accepting_orders: bool) -> PlatformEvent {
    PlatformEvent::ServiceOfferUpdated {
        services,
        description: None,
        accepting_orders,
        updated_on: date("2025-12-15"),
    }
}

#[test]
fn a_need_reaches_a_listed_platform_that_takes_orders_and_offers_what_it_names() {
    use PilotService as S;
    let public = crate::actor::Actor::public("203.0.113.7");
    let mut given = listed_history();
    given.push(offering(vec![S::ScaleUp, S::AnalysisTesting], true));
    let received = PlatformTest::with(ctx())
        .given(given.clone())
        .when(cmd(
            public.clone(),
            "2026-01-05",
            post_need(a_need(vec![S::ScaleUp])),
        ))
        .inspect_result()
        .unwrap();
    assert!(matches!(
        &received[..],
        [PlatformEvent::NeedReceived { need_id, received_on, need }]
            if need_id == "need-0123456789ab" && *received_on == date("2026-01-05")
                && need.enterprise_name == "深圳示例生物科技有限公司"
    ));
    // A service the platform does not offer; a platform that takes no orders.
    let not_offered = err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
        public.clone(),
        "2026-01-05",
        post_need(a_need(vec![S::ScaleUp, S::Training])),
    )));
    assert_eq!(not_offered.field.as_deref(), Some("need.services"));
    let mut closed = listed_history();
    closed.push(offering(vec![S::ScaleUp], false));
    let not_taking = err(PlatformTest::with(ctx()).given(closed).when(cmd(
        public.clone(),
        "2026-01-05",
        post_need(a_need(vec![S::ScaleUp])),
    )));
    assert_eq!(not_taking.code, "state_conflict");
    // Neither a domain nor a service: it would reach every platform.
    let vague = Need {
        domain: None,
        ..a_need(vec![])
    };
    let e = err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
        public.clone(),
        "2026-01-05",
        post_need(vague),
    )));
    assert_eq!(e.field.as_deref(), Some("need.domain"));
    let blank = Need {
        contact: " ".into(),
        ..a_need(vec![])
    };
    let e = err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
        public.clone(),
        "2026-01-05",
        post_need(blank),
    )));
    assert_eq!(e.field.as_deref(), Some("need.contact"));
    // Once per platform; never to a platform that is not on the roster.
    let mut after = given.clone();
    after.extend(received);
    let twice = err(PlatformTest::with(ctx()).given(after).when(cmd(
        public.clone(),
        "2026-01-06",
        post_need(a_need(vec![])),
    )));
    assert_eq!(twice.code, "duplicate");
    let mut on_notice = listed_history();
    on_notice.pop();
    let early = err(PlatformTest::with(ctx()).given(on_notice).when(cmd(
        public,
        "2025-11-22",
        post_need(a_need(vec![])),
    )));
    assert_eq!(early.code, "state_conflict");
}

#[test]
fn k2_a_need_that_becomes_a_contract_is_a_served_enterprise_dated_the_day_it_was_signed() {
    let public = crate::actor::Actor::public("203.0.113.7");
    let mut given = listed_history();
    given.extend(
        PlatformTest::with(ctx())
            .given(given.clone())
            .when(cmd(public, "2026-01-05", post_need(a_need(vec![]))))
            .inspect_result()
            .unwrap(),
    );
    // An unknown need; a contract signed before the need was posted, or after the day it is
    // recorded.
    let unknown = err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
        applicant(),
        "2026-01-06",
        PlatformCommand::RespondToNeed(RespondToNeed {
            need_id: "need-ffffffffffff".into(),
            answer: NeedResponse::Interested,
            note: None,
        }),
    )));
    assert_eq!(unknown.code, "not_found");
    let contract = |signed_on: &str| NeedResponse::Contracted {
        signed_on: date(signed_on),
        contract_cny: crate::values::Cny(500_000),
    };
    let before = err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
        applicant(),
        "2026-02-01",
        answer(contract("2026-01-04")),
    )));
    assert_eq!(before.field.as_deref(), Some("answer.signed_on"));
    let future = err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
        applicant(),
        "2026-02-01",
        answer(contract("2026-02-02")),
    )));
    assert_eq!(future.field.as_deref(), Some("answer.signed_on"));
    // Interested, then the contract on the day the need was posted: the service is recorded
    // with the enterprise of the need.
    let interested = PlatformTest::with(ctx())
        .given(given.clone())
        .when(cmd(
            applicant(),
            "2026-01-06",
            answer(NeedResponse::Interested),
        ))
        .inspect_result()
        .unwrap();
    given.extend(interested);
    let again = err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
        applicant(),
        "2026-01-07",
        answer(NeedResponse::Interested),
    )));
    assert_eq!(again.code, "duplicate");
    let signed = PlatformTest::with(ctx())
        .given(given.clone())
        .when(cmd(
            applicant(),
            "2026-02-01",
            answer(contract("2026-01-05")),
        ))
        .inspect_result()
        .unwrap();
    assert!(matches!(
        &signed[..],
        [
            PlatformEvent::NeedAnswered { answered_on, .. },
            PlatformEvent::ServiceRecorded {
                dated,
                record: ServiceRecord::EnterpriseServed { enterprise_uscc, contract_cny, .. },
                ..
            }
        ] if *answered_on == date("2026-02-01") && *dated == date("2026-01-05")
            && enterprise_uscc.as_str() == "91440300708461136T" && contract_cny.0 == 500_000
    ));
    // A contracted need is answered for good; so is a declined one.
    given.extend(signed);
    let after = err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
        applicant(),
        "2026-02-02",
        answer(NeedResponse::Declined),
    )));
    assert_eq!(after.code, "state_conflict");
}

fn public_objection() -> PlatformCommand {
    PlatformCommand::FileObjection(FileObjection {
        name: "张三".into(),
        contact: "13800000000".into(),
        grounds: "申报的用房面积与实际不符".into(),
        attachment: None,
    })
}

#[test]
fn r5_anyone_objects_on_the_last_notice_day_not_the_day_after_nor_before_it() {
    let mut given = listed_history();
    given.pop(); // on notice 2025-11-20..=2025-11-26
    let public = crate::actor::Actor::public("203.0.113.7");
    let filed = PlatformTest::with(ctx())
        .given(given.clone())
        .when(cmd(public.clone(), "2025-11-26", public_objection()))
        .inspect_result()
        .unwrap();
    assert!(
        matches!(&filed[..], [PlatformEvent::ObjectionFiled { filed_on, name, .. }] if *filed_on == date("2025-11-26") && name == "张三")
    );
    let late = err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
        public.clone(),
        "2025-11-27",
        public_objection(),
    )));
    assert_eq!(late.code, "R-5");
    assert!(
        late.message.contains("ended on 2025-11-26")
            && late.message_zh.as_deref().unwrap().contains("2025-11-26"),
        "the refusal names the day the notice ended: {late:?}"
    );
    let early = err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
        public.clone(),
        "2025-11-19",
        public_objection(),
    )));
    assert_eq!(early.code, "R-5");
    let blank = err(PlatformTest::with(ctx()).given(given).when(cmd(
        public,
        "2025-11-22",
        PlatformCommand::FileObjection(FileObjection {
            name: "张三".into(),
            contact: " ".into(),
            grounds: "理由".into(),
            attachment: None,
        }),
    )));
    assert_eq!(blank.field.as_deref(), Some("contact"));
}

#[test]
fn r5_an_undecided_objection_holds_the_listing_until_the_ministry_decides_it_once() {
    let mut given = listed_history();
    given.pop();
    let public = crate::actor::Actor::public("203.0.113.7");
    given.extend(
        PlatformTest::with(ctx())
            .given(given.clone())
            .when(cmd(public, "2025-11-24", public_objection()))
            .inspect_result()
            .unwrap(),
    );
    let Some(PlatformEvent::ObjectionFiled { objection_id, .. }) = given.last().cloned() else {
        panic!("filed")
    };
    let list = || PlatformCommand::ListPlatform(ListPlatform {});
    let held = err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
        ministry(),
        "2025-11-27",
        list(),
    )));
    assert_eq!(held.code, "R-5");
    assert!(held.message.contains(&objection_id), "{held:?}");
    let decide = |id: &str| {
        PlatformCommand::RecordNoticeObjection(RecordNoticeObjection {
            upheld: false,
            summary: "经核查，用房面积属实".into(),
            objection_id: Some(id.into()),
        })
    };
    // Decided after the notice ended: it was filed in time.
    let unknown = err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
        ministry(),
        "2025-11-28",
        decide("obj-000000000000"),
    )));
    assert_eq!(unknown.code, "not_found");
    given.extend(
        PlatformTest::with(ctx())
            .given(given.clone())
            .when(cmd(ministry(), "2025-11-28", decide(&objection_id)))
            .inspect_result()
            .unwrap(),
    );
    let twice = err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
        ministry(),
        "2025-11-28",
        decide(&objection_id),
    )));
    assert_eq!(twice.code, "duplicate");
    PlatformTest::with(ctx())
        .given(given)
        .when(cmd(ministry(), "2025-11-28", list()))
        .then_expect_events(vec![PlatformEvent::PlatformListed {
            listed_on: date("2025-11-28"),
        }]);
}

#[test]
fn r5_notice_shorter_than_the_round_requires_is_refused() {
    let mut given = submitted(gd_form(), "2025-07-01");
    given.extend([
        endorsed(),
        recommended(),
        PlatformEvent::ExpertEvaluationRecorded {
            score: 80,
            passed: true,
            panel: vec![],
            comments: None,
        },
    ]);
    let notice = |until: &str| {
        PlatformCommand::StartPublicNotice(StartPublicNotice {
            from: date("2025-11-20"),
            until: date(until),
        })
    };
    assert_eq!(
        err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
            ministry(),
            "2025-11-20",
            notice("2025-11-23")
        )))
        .code,
        "R-5"
    );
    assert!(PlatformTest::with(ctx())
        .given(given)
        .when(cmd(ministry(), "2025-11-20", notice("2025-11-24")))
        .inspect_result()
        .is_ok());
}

#[test]
fn failed_expert_evaluation_is_not_selected() {
    let mut given = submitted(gd_form(), "2025-07-01");
    given.extend([endorsed(), recommended()]);
    let ev = PlatformCommand::RecordExpertEvaluation(RecordExpertEvaluation {
        score: 55,
        passed: false,
        panel: vec!["专家A".into()],
        comments: None,
    });
    given.extend(
        PlatformTest::with(ctx())
            .given(given.clone())
            .when(cmd(ministry(), "2025-09-01", ev))
            .inspect_result()
            .unwrap(),
    );
    assert_eq!(Platform::replay(given).status, Status::NotSelected);
    let bad = PlatformCommand::RecordExpertEvaluation(RecordExpertEvaluation {
        score: 101,
        passed: true,
        panel: vec![],
        comments: None,
    });
    let mut g2 = submitted(gd_form(), "2025-07-01");
    g2.extend([endorsed(), recommended()]);
    assert_eq!(
        err(PlatformTest::with(ctx())
            .given(g2)
            .when(cmd(ministry(), "2025-09-01", bad)))
        .field
        .as_deref(),
        Some("score")
    );
}

#[test]
fn refused_transition_names_the_current_state_and_the_allowed_commands() {
    let e = err(PlatformTest::with(ctx()).given(listed_history()).when(cmd(
        ministry(),
        "2025-12-02",
        PlatformCommand::ListPlatform(ListPlatform {}),
    )));
    assert_eq!(e.code, "state_conflict");
    assert!(e.message.contains("Listed"), "{}", e.message);
    assert!(e.message.contains("OpenReview"), "{}", e.message);
}

#[test]
fn amendment_only_before_the_province_decides_and_reassesses() {
    let amend = PlatformCommand::AmendApplication(AmendApplication {
        changes: json!({"site": {"area_m2": 1400}}),
    });
    let events = PlatformTest::with(ctx())
        .given(submitted(gd_form(), "2025-07-01"))
        .when(cmd(applicant(), "2025-07-02", amend.clone()))
        .inspect_result()
        .unwrap();
    let PlatformEvent::EligibilityAssessed { assessment } = &events[1] else {
        panic!()
    };
    assert_eq!(assessment.outcome("G-4"), Some(Outcome::Fail));
    let mut given = submitted(gd_form(), "2025-07-01");
    given.extend([endorsed(), recommended()]);
    assert_eq!(
        err(PlatformTest::with(ctx())
            .given(given)
            .when(cmd(applicant(), "2025-07-12", amend)))
        .code,
        "state_conflict"
    );
    let uscc = PlatformCommand::AmendApplication(AmendApplication {
        changes: json!({"applicant": {"uscc": "91110000802100433B"}}),
    });
    assert_eq!(
        err(PlatformTest::with(ctx())
            .given(submitted(gd_form(), "2025-07-01"))
            .when(cmd(applicant(), "2025-07-02", uscc)))
        .field
        .as_deref(),
        Some("changes.applicant.uscc")
    );
}

/// R-3 (security review M4): once the city endorsed, the application cannot move to another
/// city; before the endorsement it may (within its province).
#[test]
fn an_endorsed_application_cannot_change_its_city() {
    let to_guangzhou = PlatformCommand::AmendApplication(AmendApplication {
        changes: json!({"applicant": {"city": "440100"}}),
    });
    PlatformTest::with(ctx())
        .given(submitted(gd_form(), "2025-07-01"))
        .when(cmd(applicant(), "2025-07-02", to_guangzhou.clone()))
        .inspect_result()
        .expect("before the endorsement the city may be corrected");
    let mut given = submitted(gd_form(), "2025-07-01");
    given.push(endorsed());
    let e = err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
        applicant(),
        "2025-07-05",
        to_guangzhou,
    )));
    assert_eq!(
        (e.code.as_str(), e.field.as_deref()),
        ("R-3", Some("changes.applicant.city"))
    );
    assert!(e.message.contains("440300"), "{}", e.message);
    // Other amendments after the endorsement still go through.
    PlatformTest::with(ctx())
        .given(given)
        .when(cmd(
            applicant(),
            "2025-07-05",
            PlatformCommand::AmendApplication(AmendApplication {
                changes: json!({"goals": "扩大服务"}),
            }),
        ))
        .inspect_result()
        .expect("a goal may still be amended");
}

#[test]
fn withdrawal_before_listing_only() {
    let w = PlatformCommand::WithdrawApplication(WithdrawApplication {
        reason: "改年度申报".into(),
    });
    let mut given = submitted(gd_form(), "2025-07-01");
    given.push(endorsed());
    PlatformTest::with(ctx())
        .given(given)
        .when(cmd(applicant(), "2025-07-05", w.clone()))
        .then_expect_events(vec![PlatformEvent::ApplicationWithdrawn {
            reason: "改年度申报".into(),
        }]);
    assert_eq!(
        err(PlatformTest::with(ctx()).given(listed_history()).when(cmd(
            applicant(),
            "2025-12-05",
            w
        )))
        .code,
        "state_conflict"
    );
}

#[test]
fn reapplication_after_delisting_in_a_later_round_only() {
    let mut given = listed_history();
    given.push(PlatformEvent::PlatformDelisted {
        delisted_on: date("2026-03-01"),
        reason: DelistReason::Voluntary,
        area: None,
        cause: None,
        details: None,
    });
    let same = PlatformCommand::SubmitApplication(SubmitApplication {
        round_id: "2025".into(),
        form: gd_form(),
    });
    assert_eq!(
        err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
            applicant(),
            "2025-07-01",
            same
        )))
        .code,
        "state_conflict"
    );
    let mut r2027 = round_2025();
    r2027.round_id = "2027".into();
    r2027.opens_on = date("2027-05-01");
    r2027.province_deadline = date("2027-07-10");
    r2027.applicant_deadlines.clear();
    r2027.city_deadlines.clear();
    let later = PlatformCommand::SubmitApplication(SubmitApplication {
        round_id: "2027".into(),
        form: gd_form(),
    });
    let events = PlatformTest::with(ctx_with(round_state(r2027)))
        .given(given.clone())
        .when(cmd(applicant(), "2027-06-01", later))
        .inspect_result()
        .unwrap();
    let PlatformEvent::ApplicationSubmitted { cycle, .. } = &events[0] else {
        panic!()
    };
    assert_eq!(*cycle, 2);
    given.extend(events);
    let p = Platform::replay(given);
    assert_eq!(p.status, Status::Submitted);
    assert_eq!(
        p.listed_periods,
        vec![(date("2025-12-01"), Some(date("2026-03-01")))]
    );
}

// ---------------------------------------------------------------------------------------------
// Reviews, incidents, services, annual evaluations, delisting

#[test]
fn d3_failed_review_delists_with_the_review_as_cause() {
    let mut given = listed_history();
    given.push(PlatformEvent::ReviewOpened {
        review_id: "tri-2028".into(),
        trigger: ReviewTrigger::Triennial,
        due_on: date("2028-12-01"),
    });
    let conclude = cmd(
        ministry(),
        "2028-11-20",
        PlatformCommand::ConcludeReview(ConcludeReview {
            review_id: "tri-2028".into(),
            outcome: ReviewOutcome::Failed,
            reasons: vec!["服务能力不足".into()],
        }),
    );
    let id = conclude.meta.command_id;
    PlatformTest::with(ctx())
        .given(given)
        .when(conclude)
        .then_expect_events(vec![
            PlatformEvent::ReviewConcluded {
                review_id: "tri-2028".into(),
                outcome: ReviewOutcome::Failed,
                reasons: vec!["服务能力不足".into()],
            },
            PlatformEvent::PlatformDelisted {
                delisted_on: date("2028-11-20"),
                reason: DelistReason::ReviewFailed,
                area: None,
                cause: Some(event_id(id, 0)),
                details: Some("review tri-2028 failed".into()),
            },
        ]);
}

#[test]
fn several_reviews_open_at_once_and_listed_again_when_all_pass() {
    let mut given = listed_history();
    given.push(PlatformEvent::IncidentReported {
        incident_id: "leak-1".into(),
        kind: crate::incident::IncidentKind::StrainLeak,
        occurred_on: date("2026-04-01"),
        description: "菌种泄露".into(),
        direct_loss_cny: None,
        severity: None,
    });
    given.push(PlatformEvent::ReviewOpened {
        review_id: "inc-leak-1".into(),
        trigger: ReviewTrigger::Incident("leak-1".into()),
        due_on: date("2026-07-01"),
    });
    given.push(PlatformEvent::ReviewOpened {
        review_id: "adhoc-1".into(),
        trigger: ReviewTrigger::AdHoc,
        due_on: date("2026-08-01"),
    });
    let pass = |id: &str| PlatformEvent::ReviewConcluded {
        review_id: id.into(),
        outcome: ReviewOutcome::Passed,
        reasons: vec![],
    };
    let mut p = Platform::replay(given.clone());
    assert_eq!(p.status, Status::UnderReview);
    assert!(p.status.is_listed());
    p.apply(pass("inc-leak-1"));
    assert_eq!(p.status, Status::UnderReview);
    p.apply(pass("adhoc-1"));
    assert_eq!(p.status, Status::Listed);
    // D-4 guard: a second re-review for the same incident is refused.
    let again = PlatformCommand::OpenReview(OpenReview {
        review_id: "inc-leak-1-b".into(),
        trigger: ReviewTrigger::Incident("leak-1".into()),
        due_on: date("2026-09-01"),
    });
    assert_eq!(
        err(PlatformTest::with(ctx())
            .given(given)
            .when(cmd(ministry(), "2026-05-01", again)))
        .code,
        "duplicate"
    );
}

#[test]
fn services_recorded_in_a_batch_all_or_none_naming_every_refused_row() {
    let served = |dated: &str, id: Option<u128>| RecordService {
        service_id: id.map(uuid::Uuid::from_u128),
        dated: date(dated),
        record: ServiceRecord::EnterpriseServed {
            enterprise_uscc: "91110000802100433B".parse_uscc(),
            enterprise_name: "某企业".into(),
            contract_cny: crate::values::Cny(300_000),
        },
    };
    let batch = |rows: Vec<RecordService>| {
        PlatformCommand::RecordServices(RecordServices { services: rows })
    };
    let given = listed_history();
    // Three good rows: three events, each with its own id (derived where none is given).
    let events = PlatformTest::with(ctx())
        .given(given.clone())
        .when(cmd(
            applicant(),
            "2026-01-11",
            batch(vec![
                served("2026-01-05", None),
                served("2026-01-11", None),
                served("2026-01-06", Some(9)),
            ]),
        ))
        .inspect_result()
        .unwrap();
    assert_eq!(events.len(), 3);
    let ids: std::collections::HashSet<_> = events
        .iter()
        .map(|e| match e {
            PlatformEvent::ServiceRecorded { service_id, .. } => *service_id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids.len(), 3);
    // A row dated the day after recording, and an id twice: refused, both rows named, nothing
    // recorded.
    let r = err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
        applicant(),
        "2026-01-11",
        batch(vec![
            served("2026-01-05", Some(1)),
            served("2026-01-12", None),
            served("2026-01-06", Some(1)),
        ]),
    )));
    assert_eq!(r.code, "impossible_date");
    assert_eq!(r.field.as_deref(), Some("services[1].dated"));
    assert!(
        r.message.starts_with("2 of 3 services refused"),
        "{}",
        r.message
    );
    assert!(
        r.message.contains("services[2]: service record"),
        "{}",
        r.message
    );
    // An empty batch.
    assert_eq!(
        err(PlatformTest::with(ctx()).given(given).when(cmd(
            applicant(),
            "2026-01-11",
            batch(vec![])
        )))
        .field
        .as_deref(),
        Some("services")
    );
}

#[test]
fn services_recorded_and_retracted_once() {
    let sid = uuid::Uuid::from_u128(7);
    let rec = PlatformCommand::RecordService(RecordService {
        service_id: Some(sid),
        dated: date("2026-01-10"),
        record: ServiceRecord::EnterpriseServed {
            enterprise_uscc: "91110000802100433B".parse_uscc(),
            enterprise_name: "某企业".into(),
            contract_cny: crate::values::Cny(300_000),
        },
    });
    let mut given = listed_history();
    given.extend(
        PlatformTest::with(ctx())
            .given(given.clone())
            .when(cmd(applicant(), "2026-01-11", rec.clone()))
            .inspect_result()
            .unwrap(),
    );
    assert_eq!(
        err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
            applicant(),
            "2026-01-11",
            rec
        )))
        .code,
        "duplicate"
    );
    let future = PlatformCommand::RecordService(RecordService {
        service_id: None,
        dated: date("2026-02-01"),
        record: ServiceRecord::ProjectIndustrialized {
            project: "x".into(),
            revenue_cny: crate::values::Cny(1),
        },
    });
    assert_eq!(
        err(PlatformTest::with(ctx()).given(given.clone()).when(cmd(
            applicant(),
            "2026-01-11",
            future
        )))
        .code,
        "impossible_date"
    );
    let retract = PlatformCommand::RetractService(RetractService {
        service_id: sid,
        reason: "重复申报".into(),
    });
    given.extend(
        PlatformTest::with(ctx())
            .given(given.clone())
            .when(cmd(ministry(), "2026-03-01", retract.clone()))
            .inspect_result()
            .unwrap(),
    );
    assert!(Platform::replay(given.clone()).services[&sid].retracted);
    assert_eq!(
        err(PlatformTest::with(ctx())
            .given(given)
            .when(cmd(ministry(), "2026-03-02", retract)))
        .code,
        "duplicate"
    );
}

trait ParseUscc {
    fn parse_uscc(&self) -> crate::values::Uscc;
}
impl ParseUscc for &str {
    fn parse_uscc(&self) -> crate::values::Uscc {
        crate::values::Uscc::parse(self).unwrap()
    }
}

#[test]
fn d5_incident_class_follows_the_assessed_loss() {
    let mut given = listed_history();
    given.push(PlatformEvent::IncidentReported {
        incident_id: "leak-2".into(),
        kind: crate::incident::IncidentKind::StrainLeak,
        occurred_on: date("2029-03-01"),
        description: "菌种泄露".into(),
        direct_loss_cny: None,
        severity: None,
    });
    let assess_cmd = |loss: u64| {
        PlatformCommand::AssessIncident(AssessIncident {
            incident_id: "leak-2".into(),
            direct_loss_cny: crate::values::Cny(loss),
            deaths: 0,
            serious_injuries: 0,
            conclusion: "评估完成".into(),
        })
    };
    for (loss, class) in [
        (9_999_999, crate::incident::IncidentClass::General),
        (10_000_000, crate::incident::IncidentClass::Larger),
    ] {
        let mut g = given.clone();
        g.extend(
            PlatformTest::with(ctx())
                .given(given.clone())
                .when(cmd(ministry(), "2029-04-01", assess_cmd(loss)))
                .inspect_result()
                .unwrap(),
        );
        assert_eq!(Platform::replay(g).incidents["leak-2"].class(), class);
    }
}

#[test]
fn d8_star_rating_is_one_to_five() {
    let rate = |stars: u8| {
        PlatformCommand::RecordAnnualEvaluation(RecordAnnualEvaluation {
            year: 2026,
            stars,
            findings: None,
        })
    };
    for bad in [0, 6] {
        assert_eq!(
            err(PlatformTest::with(ctx()).given(listed_history()).when(cmd(
                ministry(),
                "2026-12-20",
                rate(bad)
            )))
            .field
            .as_deref(),
            Some("stars")
        );
    }
    PlatformTest::with(ctx())
        .given(listed_history())
        .when(cmd(ministry(), "2026-12-20", rate(4)))
        .then_expect_events(vec![PlatformEvent::AnnualEvaluationRecorded {
            year: 2026,
            stars: 4,
            findings: None,
        }]);
}

#[test]
fn d9_serious_violation_names_its_area() {
    let delist = |reason, area| {
        PlatformCommand::DelistPlatform(DelistPlatform {
            reason,
            area,
            cause: None,
            incident_id: None,
            details: None,
        })
    };
    assert_eq!(
        err(PlatformTest::with(ctx()).given(listed_history()).when(cmd(
            ministry(),
            "2026-06-01",
            delist(DelistReason::SeriousViolation, None)
        )))
        .field
        .as_deref(),
        Some("area")
    );
    assert_eq!(
        err(PlatformTest::with(ctx()).given(listed_history()).when(cmd(
            ministry(),
            "2026-06-01",
            delist(DelistReason::Voluntary, Some(ViolationArea::Ip))
        )))
        .field
        .as_deref(),
        Some("area")
    );
    let ok = PlatformTest::with(ctx())
        .given(listed_history())
        .when(cmd(
            ministry(),
            "2026-06-01",
            delist(DelistReason::SeriousViolation, Some(ViolationArea::Safety)),
        ))
        .inspect_result()
        .unwrap();
    assert!(matches!(
        ok[0],
        PlatformEvent::PlatformDelisted {
            reason: DelistReason::SeriousViolation,
            area: Some(ViolationArea::Safety),
            ..
        }
    ));
}

#[test]
fn commands_refuse_unknown_fields_and_name_the_path() {
    let ok: PlatformCommand =
        serde_json::from_value(json!({"type": "WithdrawApplication", "reason": "x"})).unwrap();
    assert_eq!(ok.name(), "WithdrawApplication");
    let unknown = serde_json::from_value::<PlatformCommand>(
        json!({"type": "WithdrawApplication", "reason": "x", "foo": 1}),
    )
    .unwrap_err();
    assert!(unknown.to_string().contains("foo"), "{unknown}");
    let nested = serde_json::from_value::<PlatformCommand>(json!({"type": "RecordService", "dated": "2026-01-01", "record": {"kind": "project_industrialized", "project": "p", "revenue_cny": 1, "extra": true}})).unwrap_err();
    assert!(nested.to_string().contains("extra"), "{nested}");
}

#[test]
fn every_rule_explains_itself_in_chinese_too() {
    // A complete form, and one that answers almost nothing: every rule's result has its
    // Chinese detail, whichever branch it took.
    let full = crate::samples::gd_form();
    let mut bare = crate::samples::gd_form();
    bare.platform.built = None;
    bare.compliance.penalised = Some(true);
    bare.site = None;
    bare.utilities = Some(vec![]);
    bare.team = None;
    bare.equipment.vessels.clear();
    bare.track_record = None;
    bare.ip_protection = None;
    bare.domains.clear();
    for form in [&full, &bare] {
        let a = crate::eligibility::assess(form, date("2026-01-01"), &[]);
        for r in &a.rules {
            assert!(
                !r.detail_zh.is_empty(),
                "{} {:?}: {}",
                r.rule,
                r.outcome,
                r.detail
            );
            assert!(
                !r.detail_zh.chars().any(|c| c.is_ascii_lowercase()) || r.rule == "G-1",
                "{}: {}",
                r.rule,
                r.detail_zh
            );
        }
    }
    let a = crate::eligibility::assess(&full, date("2026-01-01"), &[]);
    assert_eq!(a.rules[3].detail_zh, "用房面积 3200 平方米 ≥ 1500 平方米");
}
