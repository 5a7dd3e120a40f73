//! The public face (RULES.md §13) on the demo: an anonymous client reads the published roster,
//! a profile, the notice and the published lists of the competition, pages with correct totals,
//! gets ETags, CORS and its own rate limit, and gets 401 or 404 on everything else.

use roster_domain::actor::Role;
use serde_json::{json, Value};

use crate::app::{spawn_app, Kind, TestApp};

async fn raw(app: &TestApp, path: &str) -> reqwest::Response {
    app.http
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap()
}

async fn an_anonymous_client_reads_the_public_face_and_nothing_else(app: TestApp) {
    app.load_demo().await;
    let analyst = app.token(Role::Analyst, None).await;
    let on = "2026-11-20";

    // The published roster: every platform on the roster that day, by batch and 序号.
    let signed_in = app
        .get(Some(&analyst), &format!("/api/v1/roster?as_of={on}"))
        .await;
    let listed = signed_in.body["total"].as_u64().unwrap() as usize;
    assert!(listed > 5, "{}", signed_in.body);
    let all = app
        .get(
            None,
            &format!("/api/public/v1/roster?as_of={on}&limit=1000"),
        )
        .await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.body["meta"]["results"]["total"], listed);
    let rows = all.body["results"].as_array().unwrap();
    assert_eq!(rows.len(), listed);
    assert_eq!(
        (rows[0]["batch_name"].as_str(), rows[0]["serial"].as_u64()),
        (Some("第一批"), Some(1))
    );
    assert_eq!(rows[0]["listed_on"], "2025-12-01");
    let serials: Vec<u64> = rows.iter().map(|r| r["serial"].as_u64().unwrap()).collect();
    assert_eq!(serials, (1..=listed as u64).collect::<Vec<_>>());
    let text = all.body.to_string();
    for private in ["uscc", "status", "next_review_due", "incident"] {
        assert!(!text.contains(private), "{private} is not public: {text}");
    }

    // Pages with correct totals; a sort; bad parameters named.
    let page = app
        .get(
            None,
            &format!("/api/public/v1/roster?as_of={on}&limit=2&skip=1"),
        )
        .await;
    assert_eq!(
        page.body["meta"]["results"],
        serde_json::json!({"skip": 1, "limit": 2, "total": listed})
    );
    assert_eq!(page.body["results"].as_array().unwrap().len(), 2);
    assert_eq!(page.body["results"][0], rows[1]);
    let last = app
        .get(
            None,
            &format!("/api/public/v1/roster?as_of={on}&skip={}", listed - 1),
        )
        .await;
    assert_eq!(last.body["results"].as_array().unwrap().len(), 1);
    let sorted = app
        .get(
            None,
            &format!("/api/public/v1/roster?as_of={on}&sort=-stars&limit=1000"),
        )
        .await;
    let stars: Vec<u64> = sorted.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["stars"].as_u64().unwrap_or(0))
        .collect();
    assert!(stars.windows(2).all(|w| w[0] >= w[1]), "{stars:?}");
    for (query, field) in [
        ("sort=uscc", "sort"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("province=99", "province"),
        ("as_of=2026-02-30", "as_of"),
        ("status=listed", "status"),
    ] {
        let r = app
            .get(None, &format!("/api/public/v1/roster?{query}"))
            .await;
        assert_eq!(
            (r.status, r.body["field"].as_str()),
            (400, Some(field)),
            "{query}: {}",
            r.body
        );
    }
    // Search by a word of the name keeps the 序号; a filter by province.
    let first_unit = rows[0]["unit_name"].as_str().unwrap().to_string();
    let found = app
        .get(
            None,
            &format!(
                "/api/public/v1/roster?as_of={on}&search={}",
                urlencode(&first_unit)
            ),
        )
        .await;
    assert_eq!(found.body["results"][0]["serial"], 1, "{}", found.body);
    let province = rows[0]["province"].as_str().unwrap();
    let in_province = app
        .get(
            None,
            &format!("/api/public/v1/roster?as_of={on}&province={province}&limit=1000"),
        )
        .await;
    let expected = rows.iter().filter(|r| r["province"] == province).count();
    assert_eq!(in_province.body["meta"]["results"]["total"], expected);
    // The national figures: K-1 is the roster's count that day; no funnel of applications.
    let kpi = app
        .get(None, &format!("/api/public/v1/kpi?as_of={on}"))
        .await;
    assert_eq!(kpi.status, 200, "{}", kpi.body);
    let k1 = kpi.body["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["rule"] == "K-1")
        .expect("K-1");
    assert_eq!(k1["value"], listed, "{}", kpi.body);
    assert!(kpi.body.get("funnel").is_none() && !kpi.body.to_string().contains("uscc"));
    // Before the first listing, nobody.
    let before = app
        .get(None, "/api/public/v1/roster?as_of=2025-11-30")
        .await;
    assert_eq!(before.body["meta"]["results"]["total"], 0);

    // A profile of a listed platform; a platform not on the roster answers as one that does
    // not exist.
    let id = rows[0]["platform_id"].as_str().unwrap();
    let profile = app
        .get(None, &format!("/api/public/v1/platforms/{id}?as_of={on}"))
        .await;
    assert_eq!(profile.status, 200, "{}", profile.body);
    assert_eq!(profile.body["serial"], 1);
    assert!(
        !profile.body["vessels"].as_array().unwrap().is_empty(),
        "{}",
        profile.body
    );
    assert!(!profile.body.to_string().contains("uscc"));
    let funnel = app.get(Some(&analyst), "/api/v1/platforms?limit=500").await;
    let unlisted = funnel.body["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["platform_id"].as_str().unwrap().to_string())
        .find(|p| !rows.iter().any(|r| r["platform_id"] == p.as_str()))
        .expect("the demo has platforms that were never listed");
    let hidden = app
        .get(None, &format!("/api/public/v1/platforms/{unlisted}"))
        .await;
    let nothing = app
        .get(None, "/api/public/v1/platforms/no-such-platform")
        .await;
    assert_eq!((hidden.status, nothing.status), (404, 404));
    assert_eq!(hidden.body["code"], nothing.body["code"]);

    // The notice: during 2025-11-20..26 the platforms on notice, the day after none.
    let notice = app.get(None, "/api/public/v1/notice?on=2025-11-26").await;
    assert_eq!(notice.status, 200, "{}", notice.body);
    let on_notice = notice.body["results"].as_array().unwrap();
    assert!(!on_notice.is_empty());
    assert_eq!(
        (
            on_notice[0]["from"].as_str(),
            on_notice[0]["until"].as_str()
        ),
        (Some("2025-11-20"), Some("2025-11-26"))
    );
    let after = app.get(None, "/api/public/v1/notice?on=2025-11-27").await;
    assert_eq!(after.body["meta"]["results"]["total"], 0, "{}", after.body);

    // The published lists of the competition, without codes or evaluations.
    let call = app.get(None, "/api/public/v1/calls/2025").await;
    assert_eq!(call.status, 200, "{}", call.body);
    let success = call.body["lists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["list"] == "success")
        .expect("the demo publishes a success list");
    assert!(!success["entries"].as_array().unwrap().is_empty());
    let text = call.body.to_string();
    assert!(
        !text.contains("uscc") && !text.contains("score") && !text.contains("milestone"),
        "{text}"
    );
    assert_eq!(
        app.get(None, "/api/public/v1/calls").await.body["results"][0]["call_id"],
        "2025"
    );
    assert_eq!(app.get(None, "/api/public/v1/calls/1999").await.status, 404);

    // Everything else needs a token: 401 on the API, the sign-in page for the dashboard.
    for path in [
        "/api/v1/roster",
        "/api/v1/platforms",
        &format!("/api/v1/platforms/{id}"),
        &format!("/api/v1/platforms/{id}/timeline"),
        "/api/v1/calls/2025",
        "/api/v1/reviews",
        "/api/v1/incidents",
        "/api/v1/reports/kpi",
        "/api/v1/audit",
    ] {
        assert_eq!(app.get(None, path).await.status, 401, "{path}");
    }
    let ui = app
        .http
        .get(format!("{}/ui/roster", app.base))
        .send()
        .await
        .unwrap();
    assert!(ui.url().path().starts_with("/ui/signin"), "{}", ui.url());
    // The front door leads a visitor to the public face; the sign-in page links it too.
    let front = app.http.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(front.url().path(), "/public");
    let signin = raw(&app, "/ui/signin").await.text().await.unwrap();
    assert!(signin.contains("href=\"/public\""));
    // The OpenAPI document is public.
    let doc = app.get(None, "/api/v1/openapi.json").await;
    assert_eq!(doc.status, 200);
    assert!(doc.body["paths"]["/api/public/v1/roster"]["get"]["security"] == serde_json::json!([]));

    // ETag and Last-Modified; the same ETag answers 304.
    let r = raw(&app, &format!("/api/public/v1/roster?as_of={on}")).await;
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert!(r.headers().contains_key("last-modified"));
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let again = app
        .http
        .get(format!("{}/api/public/v1/roster?as_of={on}", app.base))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let other = app
        .http
        .get(format!(
            "{}/api/public/v1/roster?as_of=2025-12-01",
            app.base
        ))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "another answer, another ETag");
    // CORS preflight for GET.
    let pre = app
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/public/v1/roster", app.base),
        )
        .header("Origin", "https://data.example.org")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), 204);
    assert_eq!(pre.headers()["access-control-allow-methods"], "GET, HEAD");

    // Bulk downloads: every row, CSV with a header line, XLSX, JSON.
    let csv = raw(
        &app,
        &format!("/api/public/v1/downloads/roster.csv?as_of={on}"),
    )
    .await;
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().count(), listed + 1, "{csv}");
    assert!(csv.lines().next().unwrap().contains("serial"));
    let xlsx = raw(
        &app,
        &format!("/api/public/v1/downloads/roster.xlsx?as_of={on}"),
    )
    .await;
    assert_eq!(xlsx.status(), 200);
    assert_eq!(&xlsx.bytes().await.unwrap()[..2], b"PK");
    let json: Value = raw(
        &app,
        &format!("/api/public/v1/downloads/roster.json?as_of={on}"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(json["results"].as_array().unwrap().len(), listed);
    assert_eq!(
        raw(&app, "/api/public/v1/downloads/roster.pdf")
            .await
            .status(),
        404
    );

    // The change feeds: Atom (well-formed, newest first) and JSON Feed, the same entries.
    let atom = raw(&app, "/api/public/v1/feed.atom").await;
    assert_eq!(atom.status(), 200);
    assert!(atom.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/atom+xml"));
    let atom = atom.text().await.unwrap();
    assert!(
        atom.starts_with("<?xml") && atom.trim_end().ends_with("</feed>"),
        "{atom}"
    );
    let entries = atom.matches("<entry>").count();
    let feed: Value = raw(&app, "/api/public/v1/feed.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(feed["version"], "https://jsonfeed.org/version/1.1");
    let items = feed["items"].as_array().unwrap();
    assert_eq!(items.len(), entries);
    // Every listing of the demo (and its notice) is there; the newest change comes first.
    for kind in ["listed", "notice", "stars"] {
        assert!(items.iter().any(|i| i["tags"][0] == kind), "{kind}: {feed}");
    }
    let dates: Vec<&str> = items
        .iter()
        .map(|i| i["date_published"].as_str().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "{dates:?}");
    assert_eq!(
        items.iter().filter(|i| i["tags"][0] == "listed").count(),
        listed,
        "one listing per listed platform"
    );
    // The public pages, without a session.
    let page = raw(&app, &format!("/public?as_of={on}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("第一批") && html.contains(&first_unit));
    assert!(!html.contains("统一社会信用代码"));
    let profile_page = raw(&app, &format!("/public/platforms/{id}")).await;
    assert_eq!(profile_page.status(), 200);
    assert_eq!(
        raw(&app, &format!("/public/platforms/{unlisted}"))
            .await
            .status(),
        404
    );
    let notice_page = raw(&app, "/public/notice?on=2025-11-22")
        .await
        .text()
        .await
        .unwrap();
    assert!(notice_page.contains("2025-11-26"));
    let calls_page = raw(&app, "/public/calls").await.text().await.unwrap();
    assert!(calls_page.contains("揭榜成功名单"));
}

/// RULES.md §13: the directory finds listed platforms by vessel kind and volume and by domain,
/// the same ones their public profiles say answer; the volume bound is inclusive.
async fn the_directory_finds_platforms_by_vessel_volume_and_domain(app: TestApp) {
    app.load_demo().await;
    let roster = app.get(None, "/api/public/v1/roster?limit=1000").await;
    let rows = roster.body["results"].as_array().unwrap().clone();
    assert!(!rows.is_empty());
    let mut profiles = Vec::new();
    for r in &rows {
        let id = r["platform_id"].as_str().unwrap();
        profiles.push(
            app.get(None, &format!("/api/public/v1/platforms/{id}"))
                .await
                .body,
        );
    }
    let largest = |p: &Value| {
        p["vessels"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["kind"] == "fermentation")
            .map(|v| v["volume_l"].as_f64().unwrap())
            .fold(0.0_f64, f64::max)
    };
    // A domain with a platform, and that platform's largest fermentation vessel.
    let p0 = &profiles[0];
    let domain = p0["domains"][0].as_str().unwrap();
    let volume = largest(p0);
    assert!(volume > 0.0, "{p0}");
    let ids = |body: &Value| -> Vec<String> {
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["platform_id"].as_str().unwrap().to_string())
            .collect()
    };
    let found = app
        .get(None, &format!("/api/public/v1/directory?vessel_kind=fermentation&min_vessel_l={volume}&domain={domain}"))
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    let expected: Vec<String> = profiles
        .iter()
        .filter(|p| {
            p["domains"].as_array().unwrap().iter().any(|d| d == domain) && largest(p) >= volume
        })
        .map(|p| p["platform_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids(&found.body), expected);
    assert!(expected.contains(&p0["platform_id"].as_str().unwrap().to_string()));
    assert_eq!(found.body["meta"]["results"]["total"], expected.len());
    // One litre more than its largest vessel: not that platform.
    let above = app
        .get(
            None,
            &format!(
                "/api/public/v1/directory?vessel_kind=fermentation&min_vessel_l={}&domain={domain}",
                volume + 1.0
            ),
        )
        .await;
    assert!(!ids(&above.body).contains(&p0["platform_id"].as_str().unwrap().to_string()));
    // By a pilot service the platforms state (the demo's: scale-up by all, training by some).
    for service in ["scale_up", "training"] {
        let expected: Vec<String> = profiles
            .iter()
            .filter(|p| {
                p["services"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s == service)
            })
            .map(|p| p["platform_id"].as_str().unwrap().to_string())
            .collect();
        assert!(!expected.is_empty(), "{service}");
        let found = app
            .get(
                None,
                &format!("/api/public/v1/directory?service={service}&limit=1000"),
            )
            .await;
        assert_eq!(ids(&found.body), expected, "{service}");
    }
    let r = app
        .get(None, "/api/public/v1/directory?service=cooking")
        .await;
    assert_eq!((r.status, r.body["field"].as_str()), (400, Some("service")));
    let r = app
        .get(None, "/api/public/v1/directory?vessel_kind=teapot")
        .await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (400, Some("vessel_kind"))
    );
    let r = app
        .get(None, "/api/public/v1/directory?min_vessel_l=-1")
        .await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (400, Some("min_vessel_l"))
    );
    let page = raw(
        &app,
        &format!(
            "/public/directory?vessel_kind=fermentation&min_vessel_l={volume}&domain={domain}"
        ),
    )
    .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(p0["platform_name"].as_str().unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_finds_platforms_by_vessel_volume_and_domain_on_sqlite() {
    the_directory_finds_platforms_by_vessel_volume_and_domain(spawn_app(Kind::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_finds_platforms_by_vessel_volume_and_domain_on_postgres() {
    the_directory_finds_platforms_by_vessel_volume_and_domain(spawn_app(Kind::Postgres).await)
        .await;
}

/// Percent-encodes a query value.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An address has its own budget for the public face (10/s, bursts of 60 by default): a flood
/// gets 429 with Retry-After, and the signed-in API stays open to the same address.
async fn the_public_face_has_its_own_rate_limit(app: TestApp) {
    let analyst = app.token(Role::Analyst, None).await;
    let mut limited = None;
    for _ in 0..300 {
        let r = raw(&app, "/api/public/v1/notice").await;
        if r.status() == 429 {
            limited = Some(r.headers()["retry-after"].to_str().unwrap().to_string());
            break;
        }
        assert_eq!(r.status(), 200);
    }
    let seconds: u64 = limited
        .expect("300 requests in a row were never limited")
        .parse()
        .unwrap();
    assert!(seconds >= 1);
    assert_eq!(app.get(Some(&analyst), "/api/v1/rounds").await.status, 200);
}

async fn object(app: &TestApp, platform_id: &str, body: Value) -> crate::app::Response {
    app.post_raw(
        None,
        &format!("/api/public/v1/platforms/{platform_id}/objections"),
        body.to_string(),
    )
    .await
}

/// A Guangdong platform on public notice from 2025-11-20 to 2025-11-26 (the 2025 round's
/// steps before it): its id and its applicant's token.
pub(crate) async fn on_notice(app: &TestApp, a: &crate::api::Actors) -> (String, String) {
    crate::api::open_round(app, a).await;
    let (id, owner) = crate::api::gd_application(app, a, 0).await;
    for (token, action, on, body) in [
        (
            &a.gd,
            "province-recommendation",
            "2025-07-09",
            json!({"opinion": "推荐"}),
        ),
        (
            &a.ministry,
            "expert-evaluation",
            "2025-09-20",
            json!({"score": 88, "passed": true}),
        ),
        (
            &a.ministry,
            "public-notice",
            "2025-11-20",
            json!({"from": "2025-11-20", "until": "2025-11-26"}),
        ),
    ] {
        let r = app
            .act(token, &format!("/api/v1/platforms/{id}/{action}"), on, body)
            .await;
        assert_eq!(r.status, 201, "{action}: {}", r.body);
    }
    (id, owner)
}

/// RULES.md §13, R-5: anyone objects during the notice (the last day included), not the day
/// after (the refusal names the end); the objection reaches the ministry's inbox, the platform
/// reads that it was filed but not by whom, and it is not listed until the ministry decides it.
async fn anyone_objects_during_the_notice_and_the_ministry_decides(app: TestApp) {
    let a = crate::api::actors(&app).await;
    let (id, owner) = on_notice(&app, &a).await;
    let filing = |n: u32| {
        json!({
            "command_id": uuid::Uuid::new_v4(), "name": format!("赵异议人{n}"),
            "contact": "13800000000", "grounds": "申报的用房面积与实际不符",
        })
    };
    // The last day of the notice: filed, with a receipt; the same command id again files once.
    app.clock.set("2025-11-26");
    let body = filing(1);
    let r = object(&app, &id, body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let objection_id = r.body["objection_id"].as_str().unwrap().to_string();
    assert_eq!(r.body["filed_on"], "2025-11-26");
    let again = object(&app, &id, body).await;
    assert_eq!(
        (again.status, again.body["duplicate"].as_bool()),
        (200, Some(true))
    );
    // Bad input changes nothing and names the field; a platform not on notice reads as missing.
    let r = object(
        &app,
        &id,
        json!({"command_id": uuid::Uuid::new_v4(), "name": "李四", "contact": " ", "grounds": "x"}),
    )
    .await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (400, Some("contact")),
        "{}",
        r.body
    );
    let (other, _) = crate::api::gd_application(&app, &a, 1).await;
    app.clock.set("2025-11-26");
    assert_eq!(object(&app, &other, filing(2)).await.status, 404);
    // The day after: refused, naming the day the notice ended.
    app.clock.set("2025-11-27");
    let late = object(&app, &id, filing(3)).await;
    assert_eq!(
        (late.status, late.body["code"].as_str()),
        (422, Some("R-5")),
        "{}",
        late.body
    );
    assert!(
        late.body["detail"].as_str().unwrap().contains("2025-11-26"),
        "{}",
        late.body
    );
    // Five filings an hour from one address, whatever their outcome; the sixth waits.
    let flood = object(&app, "no-such-platform", filing(4)).await;
    assert_eq!(flood.status, 429, "{}", flood.body);

    // In the ministry's inbox; the platform cannot be listed while it is undecided.
    let ministry = roster_domain::actor::Actor {
        id: "ministry-clerk".into(),
        role: Role::Ministry,
        jurisdiction: None,
    };
    let inbox = app.state.inbox(&ministry).await.unwrap();
    assert!(
        inbox.iter().any(|i| i.act == "RecordNoticeObjection"
            && i.subject.as_deref() == Some(objection_id.as_str())
            && i.platform_id == id),
        "{inbox:?}"
    );
    let r = app
        .act(
            &a.ministry,
            &format!("/api/v1/platforms/{id}/listing"),
            "2025-11-27",
            json!({}),
        )
        .await;
    assert_eq!(r.body["code"], "R-5", "{}", r.body);

    // The applicant reads that an objection was filed, not who filed it or why.
    let seen = app
        .get(Some(&owner), &format!("/api/v1/platforms/{id}"))
        .await;
    let text = seen.body.to_string();
    assert!(text.contains(&objection_id), "{text}");
    for private in ["赵异议人", "13800000000", "用房面积与实际不符", "public:"] {
        assert!(
            !text.contains(private),
            "{private} reached the applicant: {text}"
        );
    }
    let timeline = app
        .get(Some(&owner), &format!("/api/v1/platforms/{id}/timeline"))
        .await
        .body
        .to_string();
    assert!(
        !timeline.contains("赵异议人") && !timeline.contains("public:"),
        "{timeline}"
    );
    // The ministry reads it whole and decides it (after the notice: it was filed in time).
    let whole = app
        .get(Some(&a.ministry), &format!("/api/v1/platforms/{id}"))
        .await
        .body
        .to_string();
    assert!(
        whole.contains("赵异议人1") && whole.contains("13800000000"),
        "{whole}"
    );
    let r = app
        .act(&a.ministry, &format!("/api/v1/platforms/{id}/notice-objection"), "2025-11-28",
             json!({"upheld": false, "summary": "经核查，用房面积属实", "objection_id": objection_id}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app
        .act(
            &a.ministry,
            &format!("/api/v1/platforms/{id}/listing"),
            "2025-11-28",
            json!({}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // A token cannot file as the public.
    let r = app
        .act(
            &a.ministry,
            &format!("/api/v1/platforms/{id}/objection"),
            "2025-11-28",
            json!({"name": "x", "contact": "y", "grounds": "z"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
}

async fn need(app: &TestApp, body: Value) -> crate::app::Response {
    app.post_raw(None, "/api/public/v1/needs", body.to_string())
        .await
}

fn served(kpi: &Value) -> u64 {
    kpi["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["rule"] == "K-2")
        .expect("K-2")["value"]
        .as_u64()
        .unwrap()
}

/// The platform of `on_notice` listed on 2025-11-28 and offering `services` from 2026-01-05
/// (the clock then): its id and its applicant's token.
pub(crate) async fn listed_offering(
    app: &TestApp,
    a: &crate::api::Actors,
    services: Value,
) -> (String, String) {
    let (id, owner) = on_notice(app, a).await;
    let r = app
        .act(
            &a.ministry,
            &format!("/api/v1/platforms/{id}/listing"),
            "2025-11-28",
            json!({}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    app.clock.set("2026-01-05");
    let r = app
        .act(
            &owner,
            &format!("/api/v1/platforms/{id}/service-offer"),
            "2026-01-05",
            json!({"services": services, "accepting_orders": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (id, owner)
}

/// RULES.md §13, K-2: an enterprise's need reaches the listed platforms that match it (domain,
/// vessel volume, services, taking orders), not the others; it waits in the platform's inbox;
/// the platform answers it, and the contract it becomes counts as a served enterprise.
async fn a_need_reaches_the_platforms_that_match_and_a_contract_counts_in_k2(app: TestApp) {
    let a = crate::api::actors(&app).await;
    let (id, owner) = listed_offering(&app, &a, json!(["scale_up", "analysis_testing"])).await;
    let enterprise = "91440300708461136T";
    let body = |min_vessel_l: u32, services: Value| {
        json!({"command_id": uuid::Uuid::new_v4(), "need": {
            "enterprise_name": "深圳示例生物科技有限公司", "enterprise_uscc": enterprise,
            "contact": "0755-12345678", "description": "5000 升发酵中试，三个月内完成",
            "domain": "enzymes", "services": services, "min_vessel_l": min_vessel_l,
        }})
    };
    // The sample platform has two 5000 L fermenters: 5000 reaches it, 5001 nothing.
    let posted = body(5000, json!(["scale_up"]));
    let r = need(&app, posted.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let need_id = r.body["need_id"].as_str().unwrap().to_string();
    let reached: Vec<&str> = r.body["reached"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["platform_id"].as_str().unwrap())
        .collect();
    assert_eq!(reached, [id.as_str()], "{}", r.body);
    let again = need(&app, posted).await;
    assert_eq!(
        (again.status, again.body["duplicate"].as_bool()),
        (200, Some(true))
    );
    assert_eq!(again.body["need_id"], need_id.as_str());
    let r = need(&app, body(5001, json!(["scale_up"]))).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = need(&app, body(5000, json!(["training"]))).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let mut vague = body(5000, json!([]));
    vague["need"]["domain"] = Value::Null;
    let r = need(&app, vague).await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (400, Some("need.domain")),
        "{}",
        r.body
    );
    // Needs and objections share a client's budget of five filings an hour.
    let r = need(&app, body(5000, json!(["scale_up"]))).await;
    assert_eq!(r.status, 429, "{}", r.body);

    // In the platform's inbox; the platform reads who needs what.
    let applicant = roster_domain::actor::Actor {
        id: "gd-applicant".into(),
        role: Role::Applicant,
        jurisdiction: Some(roster_domain::samples::GD_USCC.into()),
    };
    let inbox = app.state.inbox(&applicant).await.unwrap();
    assert!(
        inbox.iter().any(|i| i.act == "RespondToNeed"
            && i.subject.as_deref() == Some(need_id.as_str())
            && i.platform_id == id),
        "{inbox:?}"
    );
    let page = app
        .get(Some(&owner), &format!("/api/v1/platforms/{id}"))
        .await
        .body
        .to_string();
    assert!(page.contains("0755-12345678"), "{page}");

    // Interested, then the contract: one more served enterprise from the day it was signed.
    let before = app
        .get(None, "/api/public/v1/kpi?as_of=2026-02-01")
        .await
        .body;
    let answer = |body: Value| {
        let owner = owner.clone();
        let path = format!("/api/v1/platforms/{id}/need-response");
        let app = &app;
        async move { app.act(&owner, &path, "2026-02-01", body).await }
    };
    app.clock.set("2026-02-01");
    let r = answer(json!({"need_id": need_id, "answer": {"kind": "interested"}})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = answer(json!({"need_id": need_id, "answer": {"kind": "contracted", "signed_on": "2026-02-02", "contract_cny": 500000}})).await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (400, Some("answer.signed_on")),
        "{}",
        r.body
    );
    let r = answer(json!({"need_id": need_id, "answer": {"kind": "contracted", "signed_on": "2026-01-20", "contract_cny": 500000}, "note": "已签订中试合同"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let after = app
        .get(None, "/api/public/v1/kpi?as_of=2026-02-01")
        .await
        .body;
    assert_eq!(served(&after), served(&before) + 1, "{before} {after}");
    let on_the_eve = app
        .get(None, "/api/public/v1/kpi?as_of=2026-01-19")
        .await
        .body;
    assert_eq!(served(&on_the_eve), served(&before));
    let r = answer(json!({"need_id": need_id, "answer": {"kind": "declined"}})).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(!app
        .state
        .inbox(&applicant)
        .await
        .unwrap()
        .iter()
        .any(|i| i.act == "RespondToNeed"));
    // A token cannot post as the public.
    let r = app
        .act(
            &a.ministry,
            &format!("/api/v1/platforms/{id}/need"),
            "2026-02-01",
            json!({"need_id": "need-0123456789ab", "need": body(5000, json!([]))["need"]}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_need_reaches_the_platforms_that_match_and_a_contract_counts_in_k2_on_sqlite() {
    a_need_reaches_the_platforms_that_match_and_a_contract_counts_in_k2(
        spawn_app(Kind::Sqlite).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_need_reaches_the_platforms_that_match_and_a_contract_counts_in_k2_on_postgres() {
    a_need_reaches_the_platforms_that_match_and_a_contract_counts_in_k2(
        spawn_app(Kind::Postgres).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anyone_objects_during_the_notice_and_the_ministry_decides_on_sqlite() {
    anyone_objects_during_the_notice_and_the_ministry_decides(spawn_app(Kind::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anyone_objects_during_the_notice_and_the_ministry_decides_on_postgres() {
    anyone_objects_during_the_notice_and_the_ministry_decides(spawn_app(Kind::Postgres).await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_client_reads_the_public_face_and_nothing_else_on_sqlite() {
    an_anonymous_client_reads_the_public_face_and_nothing_else(spawn_app(Kind::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_client_reads_the_public_face_and_nothing_else_on_postgres() {
    an_anonymous_client_reads_the_public_face_and_nothing_else(spawn_app(Kind::Postgres).await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_face_has_its_own_rate_limit_on_sqlite() {
    the_public_face_has_its_own_rate_limit(spawn_app(Kind::Sqlite).await).await;
}
