//! End-to-end through HTTP against the real server, on SQLite and on PostgreSQL: the lifecycle,
//! access control, bad input, idempotency, concurrency and the OpenAPI document.

use roster_domain::actor::Role;
use roster_domain::samples::{form_json, uscc_with_check, GD_USCC};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::app::TestApp;

/// A ministry's (or analyst's) command stating the business date `on`, which RULES.md §12 allows
/// them for a decision taken earlier (never after the app's clock). Applicants', cities' and
/// provinces' acts go through `TestApp::act`, which moves the clock instead.
pub(crate) fn cmd(on: &str, mut fields: Value) -> Value {
    let obj = fields.as_object_mut().expect("object");
    obj.insert("command_id".into(), json!(Uuid::new_v4()));
    obj.insert("business_date".into(), json!(on));
    fields
}

/// A command taking effect on the day it is recorded: the fields and a new command id.
pub(crate) fn today(mut fields: Value) -> Value {
    let obj = fields.as_object_mut().expect("object");
    obj.insert("command_id".into(), json!(Uuid::new_v4()));
    fields
}

fn round_body() -> Value {
    let mut v = serde_json::to_value(roster_domain::samples::round_2025()).unwrap();
    v["command_id"] = json!(Uuid::new_v4());
    v["business_date"] = json!("2025-06-16");
    v
}

pub(crate) struct Actors {
    pub ministry: String,
    pub analyst: String,
    pub gd: String,
    pub js: String,
    pub shenzhen: String,
}

pub(crate) async fn actors(app: &TestApp) -> Actors {
    Actors {
        ministry: app.token(Role::Ministry, None).await,
        analyst: app.token(Role::Analyst, None).await,
        gd: app.token(Role::Province, Some("44")).await,
        js: app.token(Role::Province, Some("32")).await,
        shenzhen: app.token(Role::City, Some("440300")).await,
    }
}

/// Opens the 2025 round and submits + endorses a Guangdong application `n` (Shenzhen).
pub(crate) async fn gd_application(app: &TestApp, a: &Actors, n: usize) -> (String, String) {
    let uscc = if n == 0 {
        GD_USCC.to_string()
    } else {
        uscc_with_check(&format!("91440300MA5{n:06}"))
    };
    let applicant = app.token(Role::Applicant, Some(&uscc)).await;
    let id = format!("gd-{n}");
    let form = form_json(
        &uscc,
        "44",
        "440300",
        &[["enzymes", "biopharma", "chemicals"][n % 3]],
    );
    let r = app
        .act(
            &applicant,
            &format!("/api/v1/platforms/{id}/application"),
            "2025-07-01",
            json!({"round_id": "2025", "form": form}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = app
        .act(
            &a.shenzhen,
            &format!("/api/v1/platforms/{id}/city-endorsement"),
            "2025-07-08",
            json!({"opinion": "同意"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    (id, applicant)
}

/// The ministry opens the 2025 round on 2025-06-16 (the clock moves there).
pub(crate) async fn open_round(app: &TestApp, a: &Actors) {
    app.clock.set("2025-06-16");
    let r = app.post(&a.ministry, "/api/v1/rounds", &round_body()).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}

pub(crate) async fn lifecycle_to_listing_and_history(app: TestApp) {
    let a = actors(&app).await;
    open_round(&app, &a).await;
    let (id, _) = gd_application(&app, &a, 0).await;
    let steps = [
        (
            &a.gd,
            "province-recommendation",
            "2025-07-09",
            json!({"opinion": "推荐", "rank": 1}),
        ),
        (
            &a.ministry,
            "expert-evaluation",
            "2025-09-20",
            json!({"score": 88, "passed": true, "panel": ["专家A"]}),
        ),
        (
            &a.ministry,
            "public-notice",
            "2025-11-20",
            json!({"from": "2025-11-20", "until": "2025-11-26"}),
        ),
        (&a.ministry, "listing", "2025-12-01", json!({})),
    ];
    for (token, action, on, fields) in steps {
        let r = app
            .act(
                token,
                &format!("/api/v1/platforms/{id}/{action}"),
                on,
                fields,
            )
            .await;
        assert_eq!(r.status, 201, "{action}: {:?}", r.body);
    }
    let detail = app
        .get(Some(&a.analyst), &format!("/api/v1/platforms/{id}"))
        .await;
    assert_eq!(detail.status, 200);
    assert_eq!(detail.body["status"], "listed");
    assert_eq!(detail.body["on_roster"], true);
    let types: Vec<&str> = detail.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "ApplicationSubmitted",
            "EligibilityAssessed",
            "CityEndorsed",
            "ProvinceRecommended",
            "ExpertEvaluationRecorded",
            "PublicNoticeStarted",
            "PlatformListed"
        ]
    );
    let first = &detail.body["history"][0]["metadata"];
    assert_eq!(first["actor"]["role"], "applicant");
    assert_eq!(first["business_date"], "2025-07-01");
    let list = app
        .get(
            Some(&a.analyst),
            "/api/v1/platforms?status=listed&province=44",
        )
        .await;
    assert_eq!(list.body["total"], 1, "{:?}", list.body);
    let round = app.get(Some(&a.analyst), "/api/v1/rounds/2025").await;
    assert_eq!(round.body["round"]["recommendations"]["44"], json!([id]));
}

pub(crate) async fn sixth_recommendation_refused_and_other_province_forbidden(app: TestApp) {
    let a = actors(&app).await;
    open_round(&app, &a).await;
    let mut ids = vec![];
    for n in 0..6 {
        ids.push(gd_application(&app, &a, n).await.0);
    }
    app.clock.set("2025-07-09");
    let recommend = |rank: usize| today(json!({"opinion": "推荐", "rank": rank}));
    let r = app
        .post(
            &a.js,
            &format!("/api/v1/platforms/{}/province-recommendation", ids[0]),
            &recommend(1),
        )
        .await;
    assert_eq!(
        r.status, 404,
        "another province's applicant is not there for Jiangsu: {:?}",
        r.body
    );
    assert_eq!(r.body["code"], "not_found");
    for (i, id) in ids.iter().take(5).enumerate() {
        let r = app
            .post(
                &a.gd,
                &format!("/api/v1/platforms/{id}/province-recommendation"),
                &recommend(i + 1),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let before = app.all_events().await.len();
    let r = app
        .post(
            &a.gd,
            &format!("/api/v1/platforms/{}/province-recommendation", ids[5]),
            &recommend(6),
        )
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert_eq!(r.body["code"], "R-1");
    assert_eq!(r.body["rule"], "R-1");
    assert!(r.content_type.starts_with("application/problem+json"));
    assert_eq!(
        app.all_events().await.len(),
        before,
        "a refusal appends nothing"
    );
    let audit = app.get(Some(&a.ministry), "/api/v1/audit?limit=50").await;
    let refused: Vec<&Value> = audit
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "refused")
        .collect();
    assert!(
        refused
            .iter()
            .any(|e| e["error_code"] == "R-1" && e["actor"]["jurisdiction"] == "44"),
        "{refused:?}"
    );
    assert!(refused
        .iter()
        .any(|e| e["error_code"] == "not_found" && e["actor"]["jurisdiction"] == "32"));
    assert_eq!(app.get(Some(&a.analyst), "/api/v1/audit").await.status, 403);
}

pub(crate) async fn bad_input_is_refused_specifically_and_changes_nothing(app: TestApp) {
    let a = actors(&app).await;
    open_round(&app, &a).await;
    let applicant = app.token(Role::Applicant, Some(GD_USCC)).await;
    let before = app.all_events().await.len();
    let path = "/api/v1/platforms/gd-x/application";
    app.clock.set("2025-07-01");
    let good = || {
        today(json!({"round_id": "2025", "form": form_json(GD_USCC, "44", "440300", &["enzymes"])}))
    };

    let r = app
        .post_raw(Some(&applicant), path, "{\"command_id\": ")
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("malformed_json"))
    );

    let mut unknown = good();
    unknown["form"]["site"]["roof_colour"] = json!("red");
    let r = app.post(&applicant, path, &unknown).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(r.body["field"], "form.site.roof_colour", "{:?}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("roof_colour"));

    let mut bad_uscc = good();
    bad_uscc["form"]["applicant"]["uscc"] = json!("91440300708461136X");
    let r = app.post(&applicant, path, &bad_uscc).await;
    assert_eq!(r.body["code"], "G-1", "{:?}", r.body);
    assert_eq!(r.body["field"], "form.applicant.uscc");
    assert!(
        r.body["detail"].as_str().unwrap().contains("'T'"),
        "names the expected check character"
    );

    let mut bad_date = good();
    bad_date["business_date"] = json!("2025-02-30");
    let r = app.post(&applicant, path, &bad_date).await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (400, Some("business_date")),
        "{:?}",
        r.body
    );

    let mut negative = good();
    negative["form"]["equipment_value_cny"] = json!(-1);
    let r = app.post(&applicant, path, &negative).await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (400, Some("form.equipment_value_cny")),
        "{:?}",
        r.body
    );

    let mut bad_code = good();
    bad_code["form"]["applicant"]["province"] = json!("99");
    let r = app.post(&applicant, path, &bad_code).await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (400, Some("form.applicant.province")),
        "{:?}",
        r.body
    );

    let huge = json!({"command_id": Uuid::new_v4(), "reason": "x".repeat(3 * 1024 * 1024)});
    let r = app
        .post(&applicant, "/api/v1/platforms/gd-x/withdrawal", &huge)
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (413, Some("body_too_large")),
        "{:?}",
        r.body
    );

    let r = app.post_raw(None, path, good().to_string()).await;
    assert_eq!(r.status, 401);
    let r = app.post(&a.analyst, path, &good()).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (403, Some("forbidden"))
    );
    let other = app.token(Role::Applicant, Some("91110000802100433B")).await;
    let r = app.post(&other, path, &good()).await;
    assert_eq!(
        r.status, 403,
        "an applicant applies only under its own USCC"
    );
    let r = app
        .post(&applicant, "/api/v1/platforms/gd-x/teleport", &good())
        .await;
    assert_eq!(r.status, 404);
    let r = app
        .post(
            &applicant,
            "/api/v1/platforms/gd-x/listing",
            &today(json!({})),
        )
        .await;
    assert_eq!(r.status, 403, "applicants do not list");

    assert_eq!(
        app.all_events().await.len(),
        before,
        "nothing appended by any bad request"
    );
    let r = app.post(&applicant, path, &good()).await;
    assert_eq!(r.status, 201, "the good request still works: {:?}", r.body);
}

pub(crate) async fn repeated_command_id_returns_the_first_result(app: TestApp) {
    let a = actors(&app).await;
    let body = round_body();
    let first = app.post(&a.ministry, "/api/v1/rounds", &body).await;
    assert_eq!(first.status, 201);
    let n = app.all_events().await.len();
    let again = app.post(&a.ministry, "/api/v1/rounds", &body).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["duplicate"], true);
    assert_eq!(again.body["events"], first.body["events"]);
    assert_eq!(app.all_events().await.len(), n);
    let mut changed = body.clone();
    changed["quota_per_province"] = json!(6);
    let r = app.post(&a.ministry, "/api/v1/rounds", &changed).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (409, Some("command_id_reused"))
    );
}

pub(crate) async fn stale_expected_version_is_a_conflict(app: TestApp) {
    let a = actors(&app).await;
    open_round(&app, &a).await;
    let (id, applicant) = gd_application(&app, &a, 0).await;
    app.clock.set("2025-07-03");
    let mut body = today(json!({"changes": {"goals": "扩大服务"}}));
    body["expected_version"] = json!(2);
    let r = app
        .post(
            &applicant,
            &format!("/api/v1/platforms/{id}/amendment"),
            &body,
        )
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (409, Some("version_conflict")),
        "{:?}",
        r.body
    );
    body["expected_version"] = json!(3);
    let r = app
        .post(
            &applicant,
            &format!("/api/v1/platforms/{id}/amendment"),
            &body,
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}

pub(crate) async fn racing_provinces_clerks_never_exceed_the_quota(app: TestApp) {
    let a = actors(&app).await;
    open_round(&app, &a).await;
    let mut ids = vec![];
    for n in 0..8 {
        ids.push(gd_application(&app, &a, n).await.0);
    }
    app.clock.set("2025-07-09");
    let mut handles = vec![];
    for id in &ids {
        let (http, token) = (app.http.clone(), a.gd.clone());
        let url = format!("{}/api/v1/platforms/{id}/province-recommendation", app.base);
        let body = today(json!({"opinion": "推荐"}));
        handles.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }));
    }
    let mut results = vec![];
    for h in handles {
        results.push(h.await.unwrap());
    }
    let accepted = results.iter().filter(|r| r.0 == 201).count();
    let quota = results.iter().filter(|r| r.1["code"] == "R-1").count();
    let codes: Vec<&Value> = results.iter().map(|r| &r.1["code"]).collect();
    assert_eq!((accepted, quota), (5, 3), "{codes:?}");
    let round = app.get(Some(&a.analyst), "/api/v1/rounds/2025").await;
    assert_eq!(
        round.body["round"]["recommendations"]["44"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

/// RULES.md §12 (security review H2): on 2026-11-30 an applicant claimed 2025-07-01 to submit to
/// round 2025 and a province claimed 2025-07-10 to recommend it; both are refused naming
/// `business_date`, the same acts dated by the clock meet R-4's deadline, and a date after today
/// is refused for every role, the ministry's too. Nothing is appended by any of them.
pub(crate) async fn deadlines_compare_the_day_an_act_is_recorded_not_a_claimed_date(app: TestApp) {
    let a = actors(&app).await;
    open_round(&app, &a).await;
    let (endorsed, _) = gd_application(&app, &a, 0).await;
    app.clock.set("2026-11-30");
    let before = app.all_events().await.len();
    let uscc = "91320100MA5FEC003A";
    let applicant = app.token(Role::Applicant, Some(uscc)).await;
    let submit = json!({"round_id": "2025", "form": form_json(uscc, "32", "320100", &["enzymes"])});
    let path = "/api/v1/platforms/js-late-01/application";

    let mut backdated = today(submit.clone());
    backdated["business_date"] = json!("2025-07-01");
    let r = app.post(&applicant, path, &backdated).await;
    assert_eq!(
        (r.status, r.body["code"].as_str(), r.body["field"].as_str()),
        (422, Some("business_date_not_today"), Some("business_date")),
        "{:?}",
        r.body
    );
    assert!(
        r.body["detail"].as_str().unwrap().contains("2026-11-30"),
        "names the day of recording: {:?}",
        r.body
    );
    let r = app.post(&applicant, path, &today(submit.clone())).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (422, Some("R-4")),
        "{:?}",
        r.body
    );

    let mut backdated = today(json!({"opinion": "backdated", "rank": 3}));
    backdated["business_date"] = json!("2025-07-10");
    let recommend = format!("/api/v1/platforms/{endorsed}/province-recommendation");
    let r = app.post(&a.gd, &recommend, &backdated).await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (422, Some("business_date")),
        "{:?}",
        r.body
    );
    let r = app
        .post(
            &a.gd,
            &recommend,
            &today(json!({"opinion": "on time?", "rank": 3})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (422, Some("R-4")),
        "{:?}",
        r.body
    );

    for date in ["2026-12-01", "9999-12-31"] {
        let mut future = today(submit.clone());
        future["business_date"] = json!(date);
        let r = app.post(&applicant, path, &future).await;
        assert_eq!(
            (r.status, r.body["code"].as_str(), r.body["field"].as_str()),
            (422, Some("future_business_date"), Some("business_date")),
            "{date}: {:?}",
            r.body
        );
        let mut future = round_body();
        future["round_id"] = json!("2027");
        future["business_date"] = json!(date);
        let r = app.post(&a.ministry, "/api/v1/rounds", &future).await;
        assert_eq!(
            r.body["code"], "future_business_date",
            "the ministry may not date a decision after today either: {:?}",
            r.body
        );
    }
    let mut far = today(submit);
    far["business_date"] = json!("+10000-01-01");
    let r = app.post(&applicant, path, &far).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (422, Some("future_business_date")),
        "{:?}",
        r.body
    );
    assert_eq!(app.all_events().await.len(), before, "nothing appended");
}

/// RULES.md §12: the ministry may record a decision taken earlier (a meeting) with its past date;
/// both dates are kept, and an entry recorded more than 30 days after its business date is
/// marked as a late entry on the timeline and in the audit log (30 days is not late, 31 is).
pub(crate) async fn ministry_decisions_entered_late_are_marked_as_late_entries(app: TestApp) {
    let a = actors(&app).await;
    open_round(&app, &a).await;
    let (id, _) = gd_application(&app, &a, 0).await;
    app.act(
        &a.gd,
        &format!("/api/v1/platforms/{id}/province-recommendation"),
        "2025-07-09",
        json!({"opinion": "推荐"}),
    )
    .await;
    // Recorded 2025-10-20: the evaluation of 2025-09-20 is 30 days old (not late) …
    app.clock.set("2025-10-20");
    let r = app
        .post(
            &a.ministry,
            &format!("/api/v1/platforms/{id}/expert-evaluation"),
            &cmd("2025-09-20", json!({"score": 88, "passed": true})),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    // … the notice of 2025-09-19, entered on 2025-10-21, is 32 days old: late.
    app.clock.set("2025-10-21");
    let r = app
        .post(
            &a.ministry,
            &format!("/api/v1/platforms/{id}/public-notice"),
            &cmd(
                "2025-09-19",
                json!({"from": "2025-09-22", "until": "2025-09-28"}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    app.state.automate().await.expect("automation");
    let timeline = app
        .get(
            Some(&a.ministry),
            &format!("/api/v1/platforms/{id}/timeline"),
        )
        .await;
    assert_eq!(timeline.status, 200, "{:?}", timeline.body);
    let marks: Vec<(String, String, bool)> = timeline.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event_type"].as_str().unwrap().to_string(),
                e["business_date"].as_str().unwrap().to_string(),
                e["late_entry"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(
        marks.contains(&(
            "ExpertEvaluationRecorded".into(),
            "2025-09-20".into(),
            false
        )),
        "{marks:?}"
    );
    assert!(
        marks.contains(&("PublicNoticeStarted".into(), "2025-09-19".into(), true)),
        "{marks:?}"
    );
    let entries = timeline.body["entries"].as_array().unwrap();
    let notice = entries
        .iter()
        .find(|e| e["event_type"] == "PublicNoticeStarted")
        .unwrap();
    assert!(
        notice["recorded_at"]
            .as_str()
            .unwrap()
            .starts_with("2025-10-2"),
        "{notice}"
    );
    assert!(
        entries.iter().all(|e| e.get("backfilled_by").is_none()),
        "nothing here was backfilled"
    );
    let audit = app.get(Some(&a.ministry), "/api/v1/audit?limit=20").await;
    let late: Vec<&Value> = audit
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["detail"]
                .as_str()
                .is_some_and(|d| d.contains("late entry"))
        })
        .collect();
    assert_eq!(late.len(), 1, "{:?}", audit.body);
    assert_eq!(late[0]["command_type"], "StartPublicNotice");
}

/// RULES.md §10 (review finding H1): the round reads give a province, city or applicant only its
/// own applications and recommendations; the ministry and analysts see all.
pub(crate) async fn round_reads_stay_inside_the_callers_jurisdiction(app: TestApp) {
    let a = actors(&app).await;
    open_round(&app, &a).await;
    let (gd, gd_owner) = gd_application(&app, &a, 0).await;
    let (gd_other, _) = gd_application(&app, &a, 1).await;
    let uscc = "91320100MA5FEC003A";
    let js_owner = app.token(Role::Applicant, Some(uscc)).await;
    let r = app
        .act(
            &js_owner,
            "/api/v1/platforms/js-1/application",
            "2025-07-02",
            json!({"round_id": "2025", "form": form_json(uscc, "32", "320100", &["enzymes"])}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    for (token, id) in [(&a.gd, &gd), (&a.js, &"js-1".to_string())] {
        let r = app
            .act(
                token,
                &format!("/api/v1/platforms/{id}/province-recommendation"),
                "2025-07-09",
                json!({"opinion": "推荐"}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let nanjing = app.token(Role::City, Some("320100")).await;
    let ids = |body: &Value| -> Vec<String> {
        let mut v: Vec<String> = body["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["platform_id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let cases: [(&str, &String, Vec<&str>, Value); 6] = [
        (
            "ministry",
            &a.ministry,
            vec![gd.as_str(), gd_other.as_str(), "js-1"],
            json!({"32": ["js-1"], "44": [gd]}),
        ),
        (
            "analyst",
            &a.analyst,
            vec![gd.as_str(), gd_other.as_str(), "js-1"],
            json!({"32": ["js-1"], "44": [gd]}),
        ),
        ("Jiangsu", &a.js, vec!["js-1"], json!({"32": ["js-1"]})),
        (
            "Shenzhen",
            &a.shenzhen,
            vec![gd.as_str(), gd_other.as_str()],
            json!({"44": [gd]}),
        ),
        ("Nanjing", &nanjing, vec!["js-1"], json!({"32": ["js-1"]})),
        (
            "the Guangdong applicant",
            &gd_owner,
            vec![gd.as_str()],
            json!({"44": [gd]}),
        ),
    ];
    for (who, token, expected, recommendations) in cases {
        let r = app.get(Some(token), "/api/v1/rounds/2025").await;
        assert_eq!(r.status, 200, "{who}: {:?}", r.body);
        assert_eq!(ids(&r.body), expected, "{who}");
        assert_eq!(r.body["round"]["recommendations"], recommendations, "{who}");
        let all = app.get(Some(token), "/api/v1/rounds").await;
        assert_eq!(
            all.body[0]["recommendations"], recommendations,
            "{who}: /rounds"
        );
        assert_eq!(
            all.body[0]["applications"],
            expected.len(),
            "{who}: /rounds"
        );
    }
    let r = app.get(Some(&js_owner), "/api/v1/rounds/2025").await;
    assert_eq!(ids(&r.body), ["js-1"]);
    assert_eq!(r.body["round"]["recommendations"], json!({"32": ["js-1"]}));
    assert_eq!(
        r.body["round"]["round"]["province_deadline"], "2025-07-11",
        "the round's dates are not secret"
    );
    assert_eq!(
        r.body["round"]["applications"], 1,
        "its own applications only"
    );
}

/// RULES.md §10 (review finding M7): a platform outside the caller's jurisdiction answers exactly as
/// one that does not exist, for reads and for commands, before any version, state or rule is
/// looked at; refusals name no other jurisdiction's city, version or state.
pub(crate) async fn platforms_outside_the_jurisdiction_answer_as_if_they_did_not_exist(
    app: TestApp,
) {
    let a = actors(&app).await;
    open_round(&app, &a).await;
    let (id, _) = gd_application(&app, &a, 0).await;
    let nanjing = app.token(Role::City, Some("320100")).await;
    let guangzhou = app.token(Role::City, Some("440100")).await;
    let before = app.all_events().await.len();
    for token in [&nanjing, &guangzhou, &a.js] {
        let real = app
            .get(Some(token), &format!("/api/v1/platforms/{id}"))
            .await;
        let ghost = app
            .get(Some(token), "/api/v1/platforms/gd-no-such-one")
            .await;
        assert_eq!((real.status, ghost.status), (404, 404));
        assert_eq!(
            real.body["detail"].as_str().unwrap().replace(&id, "X"),
            ghost.body["detail"]
                .as_str()
                .unwrap()
                .replace("gd-no-such-one", "X"),
        );
        for suffix in ["/events", "/timeline"] {
            let r = app
                .get(Some(token), &format!("/api/v1/platforms/{id}{suffix}"))
                .await;
            assert_eq!(r.status, 404, "{suffix}");
        }
    }
    app.clock.set("2025-07-09");
    for (token, action, fields) in [
        (&nanjing, "city-endorsement", json!({"opinion": "同意"})),
        (&guangzhou, "city-endorsement", json!({"opinion": "同意"})),
        (&a.js, "province-recommendation", json!({"opinion": "推荐"})),
    ] {
        for expected_version in [None, Some(0)] {
            let mut body = today(fields.clone());
            if let Some(v) = expected_version {
                body["expected_version"] = json!(v);
            }
            let real = app
                .post(token, &format!("/api/v1/platforms/{id}/{action}"), &body)
                .await;
            let mut body = body.clone();
            body["command_id"] = json!(Uuid::new_v4());
            let ghost = app
                .post(
                    token,
                    &format!("/api/v1/platforms/gd-no-such-one/{action}"),
                    &body,
                )
                .await;
            assert_eq!(
                (real.status, real.body["code"].as_str()),
                (404, Some("not_found")),
                "{action}: {:?}",
                real.body
            );
            assert_eq!(
                real.body["detail"].as_str().unwrap().replace(&id, "X"),
                ghost.body["detail"]
                    .as_str()
                    .unwrap()
                    .replace("gd-no-such-one", "X"),
                "{action}"
            );
            let detail = real.body["detail"].as_str().unwrap();
            for secret in ["440300", "version", "Submitted", "CityEndorsed", "allowed"] {
                assert!(
                    !detail.contains(secret),
                    "{action} reveals {secret}: {detail}"
                );
            }
        }
    }
    assert_eq!(app.all_events().await.len(), before, "nothing appended");
    let audit = app.get(Some(&a.ministry), "/api/v1/audit?limit=100").await;
    assert!(
        audit
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"]["jurisdiction"] == "320100" && e["outcome"] == "refused"),
        "the refusals are audited"
    );
}

/// RULES.md §10 (review finding L8): a province reads the national target sets and its own, not
/// another province's, in the list and in the KPI report; retiring another province's set
/// answers as a set that does not exist (not "already retired").
pub(crate) async fn a_province_reads_only_national_and_its_own_target_sets(app: TestApp) {
    let a = actors(&app).await;
    let plan = |id: &str, province: &str| {
        today(json!({"target_set_id": id, "name": id,
            "targets": [{"metric": "listed_platforms", "province": province, "comparator": ">=",
                         "threshold": 3, "deadline": "2027-12-31"}]}))
    };
    for (token, id, province) in [(&a.gd, "gd-plan", "44"), (&a.js, "js-plan", "32")] {
        let r = app
            .post(token, "/api/v1/targets", &plan(id, province))
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let r = app
        .post(
            &a.gd,
            "/api/v1/targets/gd-plan/retirement",
            &today(json!({"reason": "superseded"})),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let sets = |body: &Value| -> Vec<String> {
        body["target_sets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["target_set_id"].as_str().unwrap().to_string())
            .collect()
    };
    let r = app.get(Some(&a.js), "/api/v1/targets").await;
    assert_eq!(sets(&r.body), ["national-2027", "js-plan"], "{:?}", r.body);
    let r = app.get(Some(&a.analyst), "/api/v1/targets").await;
    assert_eq!(
        sets(&r.body),
        ["national-2027", "js-plan"],
        "retired sets are not in force"
    );
    let report = app.get(Some(&a.gd), "/api/v1/reports/kpi").await;
    let in_report: Vec<&str> = report.body["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target_set_id"].as_str().unwrap())
        .collect();
    assert!(!in_report.contains(&"js-plan"), "{in_report:?}");
    let r = app
        .get(Some(&a.gd), "/api/v1/reports/kpi?target_set=js-plan")
        .await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    for (id, expected_version) in [
        ("gd-plan", None),
        ("gd-plan", Some(0)),
        ("no-such-plan", None),
    ] {
        let mut body = today(json!({"reason": "probe"}));
        if let Some(v) = expected_version {
            body["expected_version"] = json!(v);
        }
        let r = app
            .post(&a.js, &format!("/api/v1/targets/{id}/retirement"), &body)
            .await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (404, Some("not_found")),
            "{id}: {:?}",
            r.body
        );
        assert_eq!(
            r.body["detail"].as_str().unwrap(),
            format!("no target set {id}")
        );
    }
}

/// Review finding L10: an actor refused by role that reuses another command's id gets its
/// authorisation refusal, not `command_id_reused` (no oracle of command ids).
pub(crate) async fn a_refused_actor_reusing_a_command_id_learns_nothing_about_it(app: TestApp) {
    let a = actors(&app).await;
    let body = round_body();
    assert_eq!(
        app.post(&a.ministry, "/api/v1/rounds", &body).await.status,
        201
    );
    let r = app.post(&a.analyst, "/api/v1/rounds", &body).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (403, Some("forbidden")),
        "{:?}",
        r.body
    );
    let r = app.post(&a.gd, "/api/v1/rounds", &body).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (403, Some("forbidden")),
        "{:?}",
        r.body
    );
    let again = app.post(&a.ministry, "/api/v1/rounds", &body).await;
    assert_eq!(
        (again.status, again.body["duplicate"].as_bool()),
        (200, Some(true))
    );
}

pub(crate) async fn reads_need_a_token_and_stay_in_jurisdiction(app: TestApp) {
    let a = actors(&app).await;
    open_round(&app, &a).await;
    let (id, owner) = gd_application(&app, &a, 0).await;
    assert_eq!(app.get(None, "/health").await.status, 200);
    assert_eq!(app.get(None, "/api/v1/platforms").await.status, 401);
    assert_eq!(
        app.get(None, "/api/v1/openapi.json").await.status,
        200,
        "the OpenAPI document is public (RULES.md §13)"
    );
    assert_eq!(
        app.get(Some(&owner), &format!("/api/v1/platforms/{id}"))
            .await
            .status,
        200
    );
    let stranger = app.token(Role::Applicant, Some("91110000802100433B")).await;
    assert_eq!(
        app.get(Some(&stranger), &format!("/api/v1/platforms/{id}"))
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(Some(&a.js), &format!("/api/v1/platforms/{id}"))
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(Some(&a.js), "/api/v1/platforms").await.body["total"],
        0
    );
    assert_eq!(
        app.get(Some(&a.gd), "/api/v1/platforms").await.body["total"],
        1
    );
    let r = app
        .get(Some(&a.analyst), "/api/v1/platforms?domain=unicorns")
        .await;
    assert_eq!((r.status, r.body["field"].as_str()), (400, Some("domain")));
}

pub(crate) async fn openapi_lists_every_command(app: TestApp) {
    let a = actors(&app).await;
    let doc = app.get(Some(&a.analyst), "/api/v1/openapi.json").await;
    assert_eq!(doc.status, 200);
    let paths = doc.body["paths"].as_object().unwrap();
    for (action, _) in roster_http::ROUTES {
        assert!(
            paths.contains_key(&format!("/api/v1/platforms/{{platform_id}}/{action}")),
            "{action}"
        );
    }
    assert!(paths.contains_key("/api/v1/rounds"));
    for p in [
        "/api/v1/targets",
        "/api/v1/targets/{target_set_id}/retirement",
        "/api/v1/reports/kpi",
    ] {
        assert!(paths.contains_key(p), "{p}");
    }
    assert!(doc.body["components"]["schemas"]["SubmitApplication"].is_object());
    assert!(doc.body["components"]["schemas"]["DefineTargetSet"].is_object());
}

/// The routes `fn router` serves, read from its source, as (path, method): the document is
/// checked against the router itself, not against a second list that could drift with it.
fn served_routes() -> Vec<(String, &'static str)> {
    let src = include_str!("../../../adapters/http/src/lib.rs");
    let start = src.find("pub fn router(").expect("fn router");
    let body = &src[start..];
    let body = &body[..body.find("\n}\n").expect("end of fn router")];
    let mut routes = Vec::new();
    for call in body.split(".route(").skip(1) {
        let path = call.split('"').nth(1).expect("a path literal");
        // The call's own arguments end where the next method of the builder begins.
        let args = call.split("\n        .").next().unwrap_or(call);
        for (needle, method) in [("get(", "get"), ("post(", "post")] {
            if args.contains(needle) {
                routes.push((path.to_string(), method));
            }
        }
    }
    assert!(routes.len() > 20, "parsed too few routes: {routes:?}");
    routes
}

/// Resolves a local `$ref`.
fn deref<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let target = doc
                .pointer(r.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("dangling $ref {r}"));
            deref(doc, target)
        }
        None => schema,
    }
}

/// A light JSON Schema check (types, required, closed objects, enum/const, bounds, oneOf); the
/// full check, with formats and patterns, is ops/api-check.sh's.
fn conforms(doc: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    let schema = deref(doc, schema);
    if let Some(alts) = schema["oneOf"].as_array() {
        let ok = alts
            .iter()
            .filter(|a| conforms(doc, a, v, at).is_ok())
            .count();
        return if ok == 1 {
            Ok(())
        } else {
            Err(format!("{at}: matches {ok} of oneOf"))
        };
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let is = |t: &str| match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => false,
    };
    if !types.is_empty() && !types.iter().any(|t| is(t)) {
        return Err(format!("{at}: {v} is not {types:?}"));
    }
    if let Some(c) = schema.get("const") {
        if c != v {
            return Err(format!("{at}: {v} is not {c}"));
        }
    }
    if let Some(e) = schema["enum"].as_array() {
        if !e.contains(v) {
            return Err(format!("{at}: {v} is not one of {e:?}"));
        }
    }
    let n = |k: &str| schema[k].as_f64();
    if let Some(x) = v.as_f64() {
        if n("minimum").is_some_and(|m| x < m) || n("maximum").is_some_and(|m| x > m) {
            return Err(format!("{at}: {x} is out of bounds"));
        }
    }
    if let Some(s) = v.as_str() {
        let len = s.chars().count() as f64;
        if n("minLength").is_some_and(|m| len < m) || n("maxLength").is_some_and(|m| len > m) {
            return Err(format!("{at}: length {len} is out of bounds"));
        }
    }
    if let Some(items) = v.as_array() {
        let len = items.len() as f64;
        if n("minItems").is_some_and(|m| len < m) || n("maxItems").is_some_and(|m| len > m) {
            return Err(format!("{at}: {len} items is out of bounds"));
        }
        for (i, item) in items.iter().enumerate() {
            conforms(doc, &schema["items"], item, &format!("{at}[{i}]"))?;
        }
    }
    if let Some(obj) = v.as_object() {
        let props = schema["properties"].as_object();
        for r in schema["required"].as_array().into_iter().flatten() {
            let r = r.as_str().unwrap_or_default();
            if !obj.contains_key(r) {
                return Err(format!("{at}: `{r}` is required"));
            }
        }
        for (k, item) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(p) => conforms(doc, p, item, &format!("{at}.{k}"))?,
                None if schema["additionalProperties"] == json!(false) => {
                    return Err(format!("{at}: `{k}` is not allowed"))
                }
                None => {}
            }
        }
    }
    Ok(())
}

/// Security review M6: the served document declares every route the router serves, with a
/// schema on every path parameter; every command body is one closed object (envelope fields
/// included, `causation_id` not) that accepts its own example, and the server's parser and
/// input bounds accept that example too.
pub(crate) async fn openapi_describes_every_route_and_accepts_its_examples(app: TestApp) {
    let a = actors(&app).await;
    let doc = app.get(Some(&a.ministry), "/api/v1/openapi.json").await;
    assert_eq!(doc.status, 200);
    let doc = doc.body;
    assert_eq!(doc["openapi"].as_str().map(|v| &v[..3]), Some("3.1"));
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in served_routes() {
        let expanded: Vec<String> =
            if path.starts_with("/api/v1/calls/") && path.ends_with("/{action}") {
                roster_domain::challenge::ROUTES
                    .iter()
                    .map(|(action, _)| path.replace("{action}", action))
                    .collect()
            } else if path.ends_with("/{action}") {
                roster_http::ROUTES
                    .iter()
                    .map(|(action, _)| path.replace("{action}", action))
                    .collect()
            } else {
                vec![path.clone()]
            };
        for p in expanded {
            assert!(
                paths.get(&p).and_then(|item| item.get(method)).is_some(),
                "{method} {p} is served but not in the document"
            );
        }
    }
    let mut examples = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            for p in &params {
                assert!(
                    p["schema"].is_object(),
                    "{method} {path}: parameter {p} has no schema"
                );
            }
            for name in path.split('{').skip(1).filter_map(|s| s.split('}').next()) {
                let declared = params
                    .iter()
                    .find(|p| p["name"] == name && p["in"] == "path");
                let declared =
                    declared.unwrap_or_else(|| panic!("{method} {path}: `{name}` undeclared"));
                assert!(declared["schema"]["pattern"].is_string(), "{path}: {name}");
            }
            for (status, response) in op["responses"].as_object().expect("responses") {
                let response = deref(&doc, response);
                if status == "204" {
                    // No content (a deleted webhook).
                    assert!(response.get("content").is_none(), "{method} {path}: 204");
                } else if status.starts_with('2') {
                    let content = response["content"].as_object();
                    assert!(
                        content.is_some_and(|c| c.values().all(|m| m["schema"].is_object())),
                        "{method} {path}: {status} has no schema"
                    );
                } else {
                    assert!(
                        response["content"]["application/problem+json"]["schema"].is_object()
                            || (path == "/ready" && status == "503"),
                        "{method} {path}: {status} is not problem+json"
                    );
                }
            }
            let Some(media) = op.pointer("/requestBody/content/application~1json") else {
                continue;
            };
            let schema = deref(&doc, &media["schema"]);
            assert_eq!(schema["type"], "object", "{path}");
            assert_eq!(schema["additionalProperties"], json!(false), "{path}");
            assert!(schema.get("allOf").is_none(), "{path}");
            let props = schema["properties"].as_object().expect("properties");
            if path == "/api/v1/webhooks" {
                // A subscription is a setting of its owner (like the e-mail address), not a
                // command on the log: no command id, business date or version.
                assert_eq!(schema["required"], json!(["url", "event_types"]), "{path}");
                continue;
            }
            if path.starts_with("/api/public/") {
                // The public's filing: its command id only (it acts on the day it is recorded,
                // on no version, in no correlation of its own).
                assert_eq!(schema["required"][0], "command_id", "{path}");
                assert!(!props.contains_key("business_date"), "{path}");
                continue;
            }
            for k in [
                "command_id",
                "business_date",
                "expected_version",
                "correlation_id",
            ] {
                assert!(props.contains_key(k), "{path}: no `{k}`");
            }
            assert!(!props.contains_key("causation_id"), "{path}");
            assert_eq!(schema["required"][0], "command_id", "{path}");
            assert!(
                !schema["required"]
                    .as_array()
                    .expect("required")
                    .contains(&json!("business_date")),
                "{path}: business_date is optional (today)"
            );
            if path.ends_with("/retirement") {
                assert!(!props.contains_key("target_set_id"), "{path}");
            }
            let example = &media["example"];
            assert_eq!(Some(example), schema["examples"].get(0), "{path}");
            if let Err(e) = conforms(&doc, schema, example, "body") {
                panic!("{method} {path}: its example does not fit its schema: {e}");
            }
            // The server parses it and its input bounds accept it: whatever the state of this
            // empty store answers, it is not a 400.
            let url = path
                .replace("{platform_id}", "gd-sz-synbio")
                .replace("{target_set_id}", "guangdong-2027")
                .replace("{call_id}", "2025");
            let r = app.post(&a.ministry, &url, example).await;
            assert_ne!(
                r.status, 400,
                "{path}: its example is refused as input: {}",
                r.body
            );
            examples += 1;
        }
    }
    // Platform routes, the generic endpoint, rounds, target sets and their retirement, calls
    // and the commands of a call.
    assert_eq!(
        examples,
        roster_http::ROUTES.len() + 4 + 1 + roster_domain::challenge::ROUTES.len()
    );
    let schemas = &doc["components"]["schemas"];
    let stars = &schemas["RecordAnnualEvaluation"]["properties"]["stars"];
    assert_eq!(
        (stars["minimum"].as_u64(), stars["maximum"].as_u64()),
        (Some(1), Some(5))
    );
    assert_eq!(
        schemas["RecordExpertEvaluation"]["properties"]["score"]["maximum"].as_u64(),
        Some(100)
    );
    assert!(schemas["Uscc"]["pattern"].is_string());
    assert_eq!(schemas["CityCode"]["pattern"], "^[0-9]{6}$");
}

/// Instantiates each case on SQLite and on PostgreSQL.
macro_rules! on_every_store {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(crate::app::spawn_app(crate::app::Kind::Sqlite).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(crate::app::spawn_app(crate::app::Kind::Postgres).await).await;
                }
            )*
        }
    };
}

on_every_store!(
    round_reads_stay_inside_the_callers_jurisdiction,
    platforms_outside_the_jurisdiction_answer_as_if_they_did_not_exist,
    a_province_reads_only_national_and_its_own_target_sets,
    a_refused_actor_reusing_a_command_id_learns_nothing_about_it,
    deadlines_compare_the_day_an_act_is_recorded_not_a_claimed_date,
    ministry_decisions_entered_late_are_marked_as_late_entries,
    lifecycle_to_listing_and_history,
    sixth_recommendation_refused_and_other_province_forbidden,
    bad_input_is_refused_specifically_and_changes_nothing,
    repeated_command_id_returns_the_first_result,
    stale_expected_version_is_a_conflict,
    racing_provinces_clerks_never_exceed_the_quota,
    reads_need_a_token_and_stay_in_jurisdiction,
    openapi_lists_every_command,
    openapi_describes_every_route_and_accepts_its_examples,
);
