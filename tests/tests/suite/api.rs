//! End-to-end through HTTP against the real server, on SQLite and on PostgreSQL: the lifecycle,
//! access control, bad input, idempotency, concurrency and the OpenAPI document.

use roster_domain::actor::Role;
use roster_domain::samples::{form_json, uscc_with_check, GD_USCC};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::app::TestApp;

pub(crate) fn cmd(on: &str, mut fields: Value) -> Value {
    let obj = fields.as_object_mut().expect("object");
    obj.insert("command_id".into(), json!(Uuid::new_v4()));
    obj.insert("business_date".into(), json!(on));
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
        .post(
            &applicant,
            &format!("/api/v1/platforms/{id}/application"),
            &cmd("2025-07-01", json!({"round_id": "2025", "form": form})),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = app
        .post(
            &a.shenzhen,
            &format!("/api/v1/platforms/{id}/city-endorsement"),
            &cmd("2025-07-08", json!({"opinion": "同意"})),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    (id, applicant)
}

pub(crate) async fn open_round(app: &TestApp, a: &Actors) {
    let r = app.post(&a.ministry, "/api/v1/rounds", &round_body()).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}

pub async fn lifecycle_to_listing_and_history(app: TestApp) {
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
            .post(
                token,
                &format!("/api/v1/platforms/{id}/{action}"),
                &cmd(on, fields),
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

pub async fn sixth_recommendation_refused_and_other_province_forbidden(app: TestApp) {
    let a = actors(&app).await;
    open_round(&app, &a).await;
    let mut ids = vec![];
    for n in 0..6 {
        ids.push(gd_application(&app, &a, n).await.0);
    }
    let recommend = |rank: usize| cmd("2025-07-09", json!({"opinion": "推荐", "rank": rank}));
    let r = app
        .post(
            &a.js,
            &format!("/api/v1/platforms/{}/province-recommendation", ids[0]),
            &recommend(1),
        )
        .await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    assert_eq!(r.body["code"], "forbidden");
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
        .any(|e| e["error_code"] == "forbidden" && e["actor"]["jurisdiction"] == "32"));
    assert_eq!(app.get(Some(&a.analyst), "/api/v1/audit").await.status, 403);
}

pub async fn bad_input_is_refused_specifically_and_changes_nothing(app: TestApp) {
    let a = actors(&app).await;
    open_round(&app, &a).await;
    let applicant = app.token(Role::Applicant, Some(GD_USCC)).await;
    let before = app.all_events().await.len();
    let path = "/api/v1/platforms/gd-x/application";
    let good = || {
        cmd(
            "2025-07-01",
            json!({"round_id": "2025", "form": form_json(GD_USCC, "44", "440300", &["enzymes"])}),
        )
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

    let huge = json!({"command_id": Uuid::new_v4(), "business_date": "2025-07-01", "reason": "x".repeat(3 * 1024 * 1024)});
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
            &cmd("2025-07-01", json!({})),
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

pub async fn repeated_command_id_returns_the_first_result(app: TestApp) {
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

pub async fn stale_expected_version_is_a_conflict(app: TestApp) {
    let a = actors(&app).await;
    open_round(&app, &a).await;
    let (id, applicant) = gd_application(&app, &a, 0).await;
    let mut body = cmd("2025-07-03", json!({"changes": {"goals": "扩大服务"}}));
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

pub async fn racing_provinces_clerks_never_exceed_the_quota(app: TestApp) {
    let a = actors(&app).await;
    open_round(&app, &a).await;
    let mut ids = vec![];
    for n in 0..8 {
        ids.push(gd_application(&app, &a, n).await.0);
    }
    let mut handles = vec![];
    for id in &ids {
        let (http, token) = (app.http.clone(), a.gd.clone());
        let url = format!("{}/api/v1/platforms/{id}/province-recommendation", app.base);
        let body = cmd("2025-07-09", json!({"opinion": "推荐"}));
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

pub async fn reads_need_a_token_and_stay_in_jurisdiction(app: TestApp) {
    let a = actors(&app).await;
    open_round(&app, &a).await;
    let (id, owner) = gd_application(&app, &a, 0).await;
    assert_eq!(app.get(None, "/health").await.status, 200);
    assert_eq!(app.get(None, "/api/v1/platforms").await.status, 401);
    assert_eq!(app.get(None, "/api/v1/openapi.json").await.status, 401);
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
        403
    );
    assert_eq!(
        app.get(Some(&a.js), &format!("/api/v1/platforms/{id}"))
            .await
            .status,
        403
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

pub async fn openapi_lists_every_command(app: TestApp) {
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
    lifecycle_to_listing_and_history,
    sixth_recommendation_refused_and_other_province_forbidden,
    bad_input_is_refused_specifically_and_changes_nothing,
    repeated_command_id_returns_the_first_result,
    stale_expected_version_is_a_conflict,
    racing_provinces_clerks_never_exceed_the_quota,
    reads_need_a_token_and_stay_in_jurisdiction,
    openapi_lists_every_command,
);
