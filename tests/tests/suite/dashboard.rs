//! The dashboard's security and scoping over plain HTTP (the browser test drives the pages):
//! session cookie flags, pages without a session, CSRF and cross-site posts refused with nothing
//! appended, a revoked token ending its session, and what each role's pages offer.

use reqwest::header::{HeaderMap, CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::redirect::Policy;
use roster_domain::actor::Role;

use crate::app::TestApp;
use crate::applying::{
    a_listed_platform_uploads_its_services_all_or_none,
    a_province_sees_national_targets_as_national_with_its_share,
    an_applicant_drafts_attaches_previews_submits_prints_and_amends,
    each_user_is_told_of_what_concerns_them_and_marks_it_read,
    the_roster_table_searches_sorts_and_filters_by_city,
};
use crate::browser::demo_with_an_open_round;

/// A user's browser without a browser: keeps the session cookie by hand.
pub(crate) struct Session {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

/// Opens an ad hoc review of the demo's Nanjing platform (js-nj-chem) ten days ago, due
/// `overdue_by` days ago (D-2): an overdue review on the ministry's desk.
pub(crate) async fn an_overdue_review(
    app: &TestApp,
    ministry: &str,
    review_id: &str,
    overdue_by: i64,
) {
    let day = |n: i64| {
        (roster_domain::clock::business_day(chrono::Utc::now()) + chrono::Duration::days(n))
            .to_string()
    };
    let r = app
        .post(
            ministry,
            "/api/v1/platforms/js-nj-chem/review",
            &serde_json::json!({"command_id": uuid::Uuid::new_v4(), "business_date": day(-10),
                "review_id": review_id, "trigger": "ad_hoc", "due_on": day(-overdue_by)}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

fn set_cookies(h: &HeaderMap) -> Vec<String> {
    h.get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

pub(crate) fn hidden(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let at = body.find(&marker)? + marker.len();
    Some(body[at..].split('"').next()?.to_string())
}

pub(crate) async fn page(http: &reqwest::Client, req: reqwest::RequestBuilder) -> Page {
    let _ = http;
    let r = req.send().await.unwrap();
    Page {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.text().await.unwrap(),
    }
}

/// Signs in through the form; returns the sign-in response and, when it opened one, the session.
pub(crate) async fn sign_in(app: &TestApp, token: &str) -> (Page, Option<Session>) {
    let http = client();
    let form = page(&http, http.get(format!("{}/ui/signin", app.base))).await;
    assert_eq!(form.status, 200);
    let nonce_cookie = set_cookies(&form.headers)
        .into_iter()
        .find(|c| c.starts_with("roster_signin="))
        .expect("the sign-in form sets its CSRF cookie");
    assert!(nonce_cookie.contains("HttpOnly") && nonce_cookie.contains("SameSite=Strict"));
    let nonce = hidden(&form.body, "csrf").unwrap();
    let resp = page(
        &http,
        http.post(format!("{}/ui/signin", app.base))
            .header(COOKIE, format!("roster_signin={nonce}"))
            .form(&[("token", token), ("csrf", &nonce)]),
    )
    .await;
    let Some(session) = set_cookies(&resp.headers)
        .into_iter()
        .find(|c| c.starts_with("roster_session=") && !c.starts_with("roster_session=;"))
    else {
        return (resp, None);
    };
    let cookie = session.split(';').next().unwrap().to_string();
    let home = page(
        &http,
        http.get(format!("{}/ui/roster", app.base))
            .header(COOKIE, &cookie),
    )
    .await;
    let csrf = hidden(&home.body, "csrf").expect("the sign-out form carries the CSRF token");
    (
        resp,
        Some(Session {
            http,
            base: app.base.clone(),
            cookie,
            csrf,
        }),
    )
}

impl Session {
    pub(crate) async fn get(&self, path: &str) -> Page {
        page(
            &self.http,
            self.http
                .get(format!("{}{path}", self.base))
                .header(COOKIE, &self.cookie),
        )
        .await
    }

    pub(crate) async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Page {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .form(form);
        if let Some(o) = origin {
            req = req.header(ORIGIN, o);
        }
        page(&self.http, req).await
    }
}

pub(crate) async fn sessions_are_strict_http_only_cookies_and_pages_need_one(app: TestApp) {
    let ministry = app.token(Role::Ministry, None).await;
    let http = client();
    let r = page(&http, http.get(format!("{}/ui/roster", app.base))).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.headers[LOCATION], "/ui/signin");
    let r = page(&http, http.get(format!("{}/ui/roster.xlsx", app.base))).await;
    assert_eq!(r.status, 303, "downloads need a session too");

    // The sign-in form's CSRF value must match its cookie.
    let r = page(
        &http,
        http.post(format!("{}/ui/signin", app.base))
            .header(COOKIE, "roster_signin=aaaa")
            .form(&[("token", ministry.as_str()), ("csrf", "bbbb")]),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(set_cookies(&r.headers)
        .iter()
        .all(|c| !c.starts_with("roster_session=")));

    let (r, s) = sign_in(&app, "rst_unknown").await;
    assert_eq!(r.status, 401);
    assert!(s.is_none());
    let (r, s) = sign_in(&app, &ministry).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.headers[LOCATION], "/ui");
    let cookie = set_cookies(&r.headers)
        .into_iter()
        .find(|c| c.starts_with("roster_session="))
        .unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    assert!(
        !cookie.contains(&ministry),
        "the cookie holds a session id, not the token"
    );
    let s = s.unwrap();
    let home = s.get("/ui/targets").await;
    assert_eq!(home.status, 200);
    assert!(home.headers[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = home.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    // The bearer API does not take the cookie.
    let api = page(
        &s.http,
        s.http
            .get(format!("{}/api/v1/roster", app.base))
            .header(COOKIE, &s.cookie),
    )
    .await;
    assert_eq!(api.status, 401);

    // Signing out needs the CSRF token, then ends the session.
    assert_eq!(
        s.post("/ui/signout", &[("csrf", "x")], None).await.status,
        403
    );
    assert_eq!(s.get("/ui/targets").await.status, 200);
    let out = s.post("/ui/signout", &[("csrf", &s.csrf)], None).await;
    assert_eq!(out.status, 303);
    assert_eq!(s.get("/ui/targets").await.status, 303);

    // A token revoked while signed in ends its session at the next request.
    let (_, s) = sign_in(&app, &ministry).await;
    let s = s.unwrap();
    assert_eq!(s.get("/ui/roster").await.status, 200);
    app.tokens
        .revoke_token(&roster_http::hash_token(&ministry), chrono::Utc::now())
        .await
        .unwrap();
    let r = s.get("/ui/roster").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.headers[LOCATION], "/ui/signin");
}

pub(crate) async fn forms_without_the_sessions_csrf_token_change_nothing(app: TestApp) {
    let platform = demo_with_an_open_round(&app).await;
    let jiangsu = app.token(Role::Province, Some("32")).await;
    let (_, s) = sign_in(&app, &jiangsu).await;
    let s = s.unwrap();
    let funnel = s.get("/ui/funnel?round=browser").await;
    assert_eq!(funnel.status, 200);
    let at = funnel
        .body
        .find("class=\"recommend\"")
        .expect("a recommend form");
    let command_id = hidden(&funnel.body[at..], "command_id").unwrap();
    let today = roster_domain::clock::business_day(chrono::Utc::now()).to_string();
    let form = |csrf: &'static str| {
        vec![
            ("csrf", csrf),
            ("action", "recommend"),
            ("opinion", "同意推荐"),
            ("back", "/ui/funnel?round=browser"),
        ]
    };
    let events = app.all_events().await.len();
    let mut fields = form("");
    fields.extend([
        ("command_id", command_id.as_str()),
        ("platform_id", platform.as_str()),
        ("business_date", today.as_str()),
    ]);
    let r = s.post("/ui/act", &fields, None).await;
    assert_eq!(r.status, 403, "no CSRF token");
    assert!(r.body.contains("CSRF"), "{}", r.body);
    fields[0].1 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    assert_eq!(
        s.post("/ui/act", &fields, None).await.status,
        403,
        "another token"
    );
    fields[0].1 = s.csrf.as_str();
    let r = s
        .post("/ui/act", &fields, Some("http://evil.example"))
        .await;
    assert_eq!(r.status, 403, "posted from another site");
    assert_eq!(app.all_events().await.len(), events, "nothing appended");

    // With the session's token (and the browser's own origin) the command goes through, once.
    let origin = app.base.clone();
    let r = s.post("/ui/act", &fields, Some(&origin)).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.headers[LOCATION], "/ui/funnel?round=browser");
    let after = app.all_events().await.len();
    assert!(after > events);
    let shown = s.get("/ui/funnel?round=browser").await;
    assert!(
        shown.body.contains("id=\"flash\""),
        "the outcome is shown once"
    );
    assert!(shown.body.contains("已受理： 推荐 ("));
    assert!(!s
        .get("/ui/funnel?round=browser")
        .await
        .body
        .contains("id=\"flash\""));
    s.post("/ui/act", &fields, None).await;
    assert_eq!(
        app.all_events().await.len(),
        after,
        "a resubmitted form is the same command"
    );
    // A bad date is refused with the field named, and appends nothing.
    let mut bad = fields.clone();
    bad.retain(|(k, _)| *k != "business_date" && *k != "command_id");
    let fresh = uuid::Uuid::new_v4().to_string();
    bad.extend([
        ("business_date", "2026-02-30"),
        ("command_id", fresh.as_str()),
    ]);
    s.post("/ui/act", &bad, None).await;
    let shown = s.get("/ui/funnel?round=browser").await.body;
    assert!(
        shown.contains("impossible_date") && shown.contains("决定日期“2026-02-30”不是日期"),
        "{shown}"
    );
    assert_eq!(app.all_events().await.len(), after);
    let audit = app
        .get(
            Some(&app.token(Role::Ministry, None).await),
            "/api/v1/audit?limit=50",
        )
        .await;
    let refused_here = audit
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["command_type"] == "POST /ui/act" && e["outcome"] == "refused")
        .count();
    assert_eq!(
        refused_here, 4,
        "every refused form is audited: {}",
        audit.body
    );
}

pub(crate) async fn each_role_sees_its_own_pages_and_analysts_only_read(app: TestApp) {
    let platform = demo_with_an_open_round(&app).await;
    let ministry = app.token(Role::Ministry, None).await;
    let city = app.token(Role::City, Some("440300")).await;
    let (_, c) = sign_in(&app, &city).await;
    let c = c.unwrap();
    let roster = c.get("/ui/roster").await;
    assert_eq!(roster.status, 200);
    assert!(
        !roster.body.contains("href=\"/ui/targets\""),
        "no targets page for a city"
    );
    let targets = c.get("/ui/targets").await;
    assert_eq!(targets.status, 403);
    assert!(targets.body.contains("forbidden"));
    let api = app.get(Some(&city), "/api/v1/roster").await.body["total"]
        .as_u64()
        .unwrap();
    assert_eq!(
        roster.body.matches("<tr data-platform=").count() as u64,
        api,
        "the city's page lists what the API gives the city"
    );
    assert!(
        api < app.get(Some(&ministry), "/api/v1/roster").await.body["total"]
            .as_u64()
            .unwrap()
    );

    let guangdong = app.token(Role::Province, Some("44")).await;
    let (_, g) = sign_in(&app, &guangdong).await;
    let g = g.unwrap();
    let other = g.get(&format!("/ui/platforms/{platform}")).await;
    assert_eq!(
        other.status, 404,
        "Jiangsu's applicant is not Guangdong's: shown as not existing"
    );
    let targets = g.get("/ui/targets").await;
    assert_eq!(targets.status, 200);
    assert!(
        targets.body.contains("本省平台") && !targets.body.contains("全国 ·"),
        "a province's KPIs are its own"
    );

    let analyst = app.token(Role::Analyst, None).await;
    let (_, a) = sign_in(&app, &analyst).await;
    let a = a.unwrap();
    for path in [
        "/ui/targets",
        "/ui/roster",
        "/ui/reviews",
        "/ui/funnel?round=browser",
        &format!("/ui/platforms/{platform}"),
    ] {
        let p = a.get(path).await;
        assert_eq!(p.status, 200, "{path}");
        assert!(
            !p.body.contains("action=\"/ui/act\""),
            "{path} offers an analyst a form"
        );
    }
    // An analyst's forged form reaches the command service, which refuses it.
    let events = app.all_events().await.len();
    let today = roster_domain::clock::business_day(chrono::Utc::now()).to_string();
    let id = uuid::Uuid::new_v4().to_string();
    let r = a
        .post(
            "/ui/act",
            &[
                ("csrf", a.csrf.as_str()),
                ("command_id", &id),
                ("platform_id", &platform),
                ("action", "recommend"),
                ("opinion", "x"),
                ("business_date", &today),
                ("back", "/ui/funnel"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, 303);
    let shown = a.get("/ui/funnel").await.body;
    assert!(shown.contains("forbidden"), "{shown}");
    assert_eq!(app.all_events().await.len(), events);

    // A ministry page in English.
    let (_, m) = sign_in(&app, &ministry).await;
    let m = m.unwrap();
    let en = page(
        &m.http,
        m.http
            .get(format!("{}/ui/targets", app.base))
            .header(COOKIE, format!("{}; roster_lang=en", m.cookie)),
    )
    .await;
    assert!(en.body.contains("<html lang=\"en\">") && en.body.contains("Progress against targets"));
    let zh = m.get("/ui/targets").await;
    assert!(zh.body.contains("<html lang=\"zh-CN\">") && zh.body.contains("目标进度"));
}

/// The hidden fields of the first form of `class` on a page, as form pairs.
fn form_fields(body: &str, class: &str) -> Vec<(String, String)> {
    let at = body
        .find(&format!("class=\"{class}\""))
        .unwrap_or_else(|| panic!("no {class} form"));
    let form = &body[at..at + body[at..].find("</form>").unwrap()];
    [
        "csrf",
        "command_id",
        "platform_id",
        "action",
        "back",
        "review_id",
        "incident_id",
    ]
    .into_iter()
    .filter_map(|n| hidden(form, n).map(|v| (n.to_string(), v)))
    .collect()
}

pub(crate) async fn the_ministry_concludes_a_review_and_a_province_rejects_from_the_pages(
    app: TestApp,
) {
    let platform = demo_with_an_open_round(&app).await;
    let ministry = app.token(Role::Ministry, None).await;
    let today = roster_domain::clock::business_day(chrono::Utc::now()).to_string();
    // An ad hoc review opened ten days ago and due yesterday: overdue (D-2).
    an_overdue_review(&app, &ministry, "adhoc-ui", 1).await;
    let (_, m) = sign_in(&app, &ministry).await;
    let m = m.unwrap();
    let board = m.get("/ui/reviews").await;
    assert_eq!(board.status, 200);
    assert!(
        board.body.contains("id=\"count-overdue\">1<"),
        "{}",
        board.body
    );
    let mut fields = form_fields(&board.body, "conclude");
    let reviewed = fields
        .iter()
        .find(|f| f.0 == "platform_id")
        .unwrap()
        .1
        .clone();
    let review_id = fields
        .iter()
        .find(|f| f.0 == "review_id")
        .unwrap()
        .1
        .clone();
    fields.extend([
        ("business_date".into(), today.clone()),
        ("outcome".into(), "passed".into()),
        ("reasons".into(), "整改到位\n复查合格".into()),
    ]);
    // Review L10: a `back` a Location header cannot carry (CR/LF) sends the user home instead of
    // failing with 500 after the command ran.
    for f in fields.iter_mut().filter(|f| f.0 == "back") {
        f.1 = "/ui/reviews\r\nSet-Cookie: forged=1".into();
    }
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = m.post("/ui/act", &pairs, None).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.headers["location"], "/ui");
    let back = m.get("/ui/targets").await.body;
    assert!(back.contains("已受理： 作出复核结论"), "{back}");
    let detail = app
        .get(Some(&ministry), &format!("/api/v1/platforms/{reviewed}"))
        .await
        .body;
    assert_eq!(
        detail["state"]["reviews"][&review_id]["outcome"], "passed",
        "{detail}"
    );

    // Jiangsu rejects its applicant: a rejection without a reason is refused, with one it is taken.
    let jiangsu = app.token(Role::Province, Some("32")).await;
    let (_, j) = sign_in(&app, &jiangsu).await;
    let j = j.unwrap();
    let page = j.get(&format!("/ui/platforms/{platform}")).await.body;
    assert!(page.contains("id=\"eligibility\""));
    let mut fields = form_fields(&page, "reject");
    fields.push(("business_date".into(), today.clone()));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let events = app.all_events().await.len();
    j.post("/ui/act", &pairs, None).await;
    let shown = j.get(&format!("/ui/platforms/{platform}")).await.body;
    assert!(
        shown.contains("reasons"),
        "the refusal names the field: {shown}"
    );
    assert_eq!(app.all_events().await.len(), events);
    let mut with_reason = pairs.clone();
    with_reason.push(("reasons", "G-4: 用房面积不足"));
    j.post("/ui/act", &with_reason, None).await;
    let detail = app
        .get(Some(&ministry), &format!("/api/v1/platforms/{platform}"))
        .await
        .body;
    assert_eq!(detail["status"], "rejected");
}

/// Opens the form of `class` on `path`, fills in `fields` and posts it; the outcome shown back
/// on the page (the flash).
async fn act(s: &Session, path: &str, class: &str, fields: &[(&str, &str)]) -> String {
    let body = s.get(path).await.body;
    let mut pairs = form_fields(&body, class);
    pairs.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = s.post("/ui/act", &pairs, None).await;
    assert_eq!(r.status, 303, "{class}: {}", r.body);
    let back = s.get(path).await.body;
    let at = back.find("id=\"flash\"").expect("an outcome is shown");
    back[at..at + back[at..].find("</").unwrap()].to_string()
}

/// Every step of the funnel and of dynamic management that a page offers, done from the pages
/// by the role that does it: the city endorses, the province recommends, the ministry records
/// the evaluation, starts the notice, lists, rates and delists (after a refused unconfirmed
/// delisting), each one becoming the event the API would record.
pub(crate) async fn each_role_takes_an_application_to_the_roster_and_the_ministry_delists_it(
    app: TestApp,
) {
    let platform = demo_with_an_open_round(&app).await;
    let page = format!("/ui/platforms/{platform}");
    let ministry = app.token(Role::Ministry, None).await;
    let status = |body: serde_json::Value| body["status"].as_str().unwrap_or_default().to_string();
    let detail = || async {
        status(
            app.get(Some(&ministry), &format!("/api/v1/platforms/{platform}"))
                .await
                .body,
        )
    };
    let day = |n: u64| {
        (roster_domain::clock::business_day(chrono::Utc::now()) + chrono::Days::new(n)).to_string()
    };
    let today = day(0);

    let nanjing = app.token(Role::City, Some("320100")).await;
    let (_, c) = sign_in(&app, &nanjing).await;
    let c = c.unwrap();
    let shown = act(&c, &page, "endorse", &[("opinion", "情况属实，同意推荐")]).await;
    assert!(shown.contains("已受理： 审核通过，报送省级"), "{shown}");
    assert_eq!(detail().await, "city_endorsed");
    assert!(
        !c.get(&page).await.body.contains("class=\"endorse\""),
        "endorsed once, not offered again"
    );

    let jiangsu = app.token(Role::Province, Some("32")).await;
    let (_, j) = sign_in(&app, &jiangsu).await;
    let j = j.unwrap();
    act(
        &j,
        &page,
        "recommend",
        &[("opinion", "同意推荐"), ("rank", "1")],
    )
    .await;
    assert_eq!(detail().await, "recommended");

    let (_, m) = sign_in(&app, &ministry).await;
    let m = m.unwrap();
    let board = m.get(&page).await.body;
    for absent in ["class=\"notice\"", "class=\"list\"", "class=\"delist\""] {
        assert!(!board.contains(absent), "{absent} before the evaluation");
    }
    act(
        &m,
        &page,
        "evaluate",
        &[
            ("business_date", &today),
            ("score", "86"),
            ("passed", "yes"),
            ("panel", "张三\n李四\n王五"),
        ],
    )
    .await;
    assert_eq!(detail().await, "evaluated");
    act(
        &m,
        &page,
        "notice",
        &[
            ("business_date", &today),
            ("from", &today),
            ("until", &day(6)),
        ],
    )
    .await;
    assert_eq!(detail().await, "on_notice");

    // The notice ends; the ministry signs in a week later and lists the platform.
    app.clock.set(&day(7));
    let (_, m) = sign_in(&app, &ministry).await;
    let m = m.unwrap();
    let shown = act(&m, &page, "list", &[("business_date", &day(7))]).await;
    assert!(shown.contains("已受理： 公示期满，入列"), "{shown}");
    assert_eq!(detail().await, "listed");
    let year = &day(7)[..4];
    act(
        &m,
        &page,
        "annual",
        &[("business_date", &day(7)), ("year", year), ("stars", "4")],
    )
    .await;
    let body = app
        .get(Some(&ministry), &format!("/api/v1/platforms/{platform}"))
        .await
        .body;
    assert_eq!(body["state"]["star_ratings"][year], 4, "{body}");

    // A delisting without its confirmation is refused before it is sent, naming the box.
    let events = app.all_events().await.len();
    let shown = act(
        &m,
        &page,
        "delist",
        &[
            ("business_date", &day(7)),
            ("reason", "serious_violation"),
            ("area", "safety"),
            ("details", "发生重大安全事故"),
        ],
    )
    .await;
    assert!(shown.contains("confirm"), "{shown}");
    assert_eq!(app.all_events().await.len(), events, "nothing appended");
    assert_eq!(detail().await, "listed");
    act(
        &m,
        &page,
        "delist",
        &[
            ("business_date", &day(7)),
            ("reason", "serious_violation"),
            ("area", "safety"),
            ("details", "发生重大安全事故"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(detail().await, "delisted");
    let after = m.get(&page).await.body;
    assert!(
        !after.contains("class=\"delist\"") && !after.contains("class=\"annual\""),
        "a delisted platform is offered no roster act"
    );
    // The timeline in Chinese: event names, Beijing time, in business-date order.
    let timeline = &after[after.find("id=\"timeline\"").unwrap()..];
    assert!(timeline.contains(">列入名单<") && timeline.contains(">撤销<"));
    assert!(!timeline.contains(">PlatformListed<"), "no raw event type");
    assert!(timeline.contains("北京时间") && !timeline.contains(" UTC"));
    let dates: Vec<&str> = timeline
        .match_indices("<tr data-event=")
        .map(|(at, _)| {
            let cell = &timeline[at..];
            let td = cell.find("<td>").unwrap() + 4;
            &cell[td..td + 10]
        })
        .collect();
    assert!(dates.len() >= 8, "{dates:?}");
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "{dates:?}");
}

/// Each user's home page lists what is due for them in their jurisdiction, overdue first and
/// marked, with the days left.
pub(crate) async fn each_inbox_lists_what_is_due_for_its_user(app: TestApp) {
    let platform = demo_with_an_open_round(&app).await;
    let ministry = app.token(Role::Ministry, None).await;
    an_overdue_review(&app, &ministry, "adhoc-inbox", 2).await;
    let day = |n: i64| {
        (roster_domain::clock::business_day(chrono::Utc::now()) + chrono::Duration::days(n))
            .to_string()
    };
    let row = |body: &str, platform: &str, act: &str| -> Option<String> {
        let marker = format!("data-platform=\"{platform}\" data-act=\"{act}\"");
        let at = body.find(&marker)?;
        let start = body[..at].rfind("<tr").unwrap();
        Some(body[start..at + body[at..].find("</tr>").unwrap()].to_string())
    };

    let (first, s) = sign_in(&app, &ministry).await;
    assert_eq!(first.status, 303);
    let s = s.unwrap();
    let home = s.get("/ui").await;
    assert_eq!(home.headers[LOCATION], "/ui/inbox", "home is the inbox");
    let inbox = s.get("/ui/inbox").await.body;
    let overdue = row(&inbox, "js-nj-chem", "ConcludeReview").expect("the overdue review");
    assert!(
        overdue.contains("class=\"overdue\"") && overdue.contains("逾期2天"),
        "{overdue}"
    );
    let first_row = inbox.find("<tbody").map(|t| &inbox[t..]).unwrap();
    assert!(
        first_row.find("class=\"overdue\"").unwrap() < first_row.find("</tr>").unwrap(),
        "overdue first"
    );

    let jiangsu = app.token(Role::Province, Some("32")).await;
    let (_, j) = sign_in(&app, &jiangsu).await;
    let inbox = j.unwrap().get("/ui/inbox").await.body;
    let due = row(&inbox, &platform, "RecommendByProvince").expect("Jiangsu recommends");
    assert!(due.contains("30天") && due.contains(&day(30)), "{due}");
    assert!(
        row(&inbox, "js-nj-chem", "ConcludeReview").is_some(),
        "its platform's review"
    );

    let nanjing = app.token(Role::City, Some("320100")).await;
    let (_, c) = sign_in(&app, &nanjing).await;
    let c = c.unwrap();
    let inbox = c.get("/ui/inbox").await.body;
    assert!(row(&inbox, &platform, "EndorseByCity").is_some(), "{inbox}");
    let reviews = c.get("/ui/reviews").await.body;
    assert!(
        reviews.contains("data-platform=\"js-nj-chem\""),
        "a city's reviews board shows its own platforms' reviews"
    );
    let funnel = c.get("/ui/funnel?round=browser").await.body;
    let jiangsu_row = &funnel[funnel
        .find("<tr data-province=\"32\"")
        .expect("a city's funnel counts its own applicants")..];
    let first_count = &jiangsu_row[jiangsu_row.find("class=\"num\">").unwrap() + 12..];
    assert!(
        first_count.starts_with("1<"),
        "one application submitted: {first_count:.40}"
    );

    let guangdong = app.token(Role::Province, Some("44")).await;
    let (_, g) = sign_in(&app, &guangdong).await;
    let inbox = g.unwrap().get("/ui/inbox").await.body;
    assert!(row(&inbox, &platform, "RecommendByProvince").is_none());
    assert!(row(&inbox, "js-nj-chem", "ConcludeReview").is_none());

    // The deadline passes: the recommendation lapses from the province's inbox.
    app.clock.set(&day(31));
    let (_, j) = sign_in(&app, &jiangsu).await;
    let inbox = j.unwrap().get("/ui/inbox").await.body;
    assert!(
        row(&inbox, &platform, "RecommendByProvince").is_none(),
        "{inbox}"
    );
}

/// Before recommending, a province sees its quota in use, the deadline and the R-2 warning
/// when this recommendation would put all of its recommendations in one domain; after the
/// deadline the recommendation is no longer offered, and the old form, posted, is refused.
pub(crate) async fn a_province_sees_quota_deadline_and_r2_before_recommending_and_nothing_after(
    app: TestApp,
) {
    let platform = demo_with_an_open_round(&app).await;
    let page = format!("/ui/platforms/{platform}");
    let day = |n: u64| {
        (roster_domain::clock::business_day(chrono::Utc::now()) + chrono::Days::new(n)).to_string()
    };
    // A second Jiangsu applicant in enzymes, recommended first.
    let uscc = roster_domain::values::Uscc::with_check_character("91320100MA7654321").unwrap();
    let applicant = app.token(Role::Applicant, Some(uscc.as_str())).await;
    let form = roster_domain::samples::form_json(uscc.as_str(), "32", "320100", &["enzymes"]);
    let r = app
        .post(
            &applicant,
            "/api/v1/platforms/js-second/application",
            &serde_json::json!({"command_id": uuid::Uuid::new_v4(), "round_id": "browser", "form": form}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let jiangsu = app.token(Role::Province, Some("32")).await;
    let r = app
        .post(
            &jiangsu,
            "/api/v1/platforms/js-second/province-recommendation",
            &serde_json::json!({"command_id": uuid::Uuid::new_v4(), "opinion": "同意", "rank": 1}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    let (_, j) = sign_in(&app, &jiangsu).await;
    let j = j.unwrap();
    let body = j.get(&page).await.body;
    assert!(
        body.contains("data-used=\"1\" data-quota=\"5\""),
        "the quota in use: {body}"
    );
    assert!(body.contains("1/5"));
    assert!(body.contains("class=\"warning r2\""), "the R-2 warning");
    assert!(
        body.contains(&format!("截止日期：{}", day(30))),
        "the deadline"
    );
    let stale = form_fields(&body, "recommend");

    app.clock.set(&day(31));
    let (_, j) = sign_in(&app, &jiangsu).await;
    let j = j.unwrap();
    let body = j.get(&page).await.body;
    assert!(
        !body.contains("class=\"recommend\""),
        "no recommendation after the deadline"
    );
    assert!(
        body.contains("class=\"reject\""),
        "a rejection has no deadline"
    );
    let events = app.all_events().await.len();
    let mut pairs: Vec<(String, String)> = stale
        .into_iter()
        .filter(|(k, _)| k != "csrf")
        .chain([
            ("csrf".to_string(), j.csrf.clone()),
            ("opinion".to_string(), "同意推荐".to_string()),
        ])
        .collect();
    pairs.retain(|(k, _)| k != "business_date");
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    j.post("/ui/act", &pairs, None).await;
    let shown = j.get(&page).await.body;
    assert!(shown.contains("R-4"), "{shown}");
    // In Chinese, what it means and the particulars, none of the API's English words.
    let flash = &shown[shown.find("id=\"flash\"").expect("an outcome")..];
    let flash = &flash[..flash.find("</div>").unwrap_or(flash.len())];
    assert!(
        flash.contains("已过本环节截止日期") && flash.contains("截止日当天仍可办理"),
        "{flash}"
    );
    assert!(!flash.contains("deadline"), "{flash}");
    assert_eq!(app.all_events().await.len(), events, "nothing appended");
}

/// The ministry rates every listed platform of a year from one table: each ticked row is its own
/// command, a refused row is named with its reason and leaves the others decided, and the same
/// table posted again acts once.
pub(crate) async fn the_ministry_rates_a_years_platforms_from_one_table(app: TestApp) {
    demo_with_an_open_round(&app).await;
    let ministry = app.token(Role::Ministry, None).await;
    let analyst = app.token(Role::Analyst, None).await;
    let (_, a) = sign_in(&app, &analyst).await;
    let page = a.unwrap().get("/ui/batch/annual").await;
    assert_eq!(page.status, 403, "an analyst acts on nothing");

    let (_, m) = sign_in(&app, &ministry).await;
    let m = m.unwrap();
    let inbox = m.get("/ui/inbox").await.body;
    assert!(
        inbox.contains("href=\"/ui/batch/annual\""),
        "linked from home"
    );
    let table = m.get("/ui/batch/annual").await.body;
    let listed: Vec<String> = table
        .match_indices("<tr data-platform=\"")
        .map(|(at, m)| {
            let rest = &table[at + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect();
    assert!(listed.len() >= 3, "the demo's listed platforms: {listed:?}");
    let id_of = |p: &str| hidden(&table, &format!("command_id:{p}")).unwrap();
    let (good, other, unrated) = (&listed[0], &listed[1], &listed[2]);
    let today = roster_domain::clock::business_day(chrono::Utc::now()).to_string();
    let year = &today[..4];
    let (g_id, o_id, u_id) = (id_of(good), id_of(other), id_of(unrated));
    let fields: Vec<(String, String)> = [
        ("csrf", m.csrf.as_str()),
        ("action", "annual"),
        ("back", "/ui/batch/annual"),
        ("business_date", today.as_str()),
        ("year", year),
        ("rows", good.as_str()),
        ("rows", other.as_str()),
        (&format!("command_id:{good}") as &str, g_id.as_str()),
        (&format!("command_id:{other}") as &str, o_id.as_str()),
        (&format!("command_id:{unrated}") as &str, u_id.as_str()),
        (&format!("stars:{good}") as &str, "4"),
        (&format!("stars:{other}") as &str, ""),
        (&format!("stars:{unrated}") as &str, "5"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let stars = |p: String| {
        let app = &app;
        let ministry = &ministry;
        async move {
            app.get(Some(ministry), &format!("/api/v1/platforms/{p}"))
                .await
                .body["state"]["star_ratings"][year]
                .clone()
        }
    };
    let other_before = stars(other.clone()).await;
    let unrated_before = stars(unrated.clone()).await;
    let events = app.all_events().await.len();
    let r = m.post("/ui/batch", &pairs, None).await;
    assert_eq!(r.status, 303);
    let shown = m.get("/ui/batch/annual").await.body;
    let flash = &shown[shown.find("id=\"flash\"").expect("an outcome")..];
    assert!(
        flash.contains("已受理 1 项")
            && flash.contains("未受理 1 项")
            && flash.contains(other.as_str())
            && flash.contains("stars"),
        "{}",
        &flash[..flash.find("</").unwrap()]
    );
    assert_eq!(app.all_events().await.len(), events + 1, "one row decided");
    assert_eq!(stars(good.clone()).await, 4);
    assert_eq!(
        stars(other.clone()).await,
        other_before,
        "the refused row is unchanged"
    );
    assert_eq!(
        stars(unrated.clone()).await,
        unrated_before,
        "an unticked row is not rated"
    );
    m.post("/ui/batch", &pairs, None).await;
    assert_eq!(
        app.all_events().await.len(),
        events + 1,
        "the same table posted again acts once"
    );
}

/// The ministry opens a round from a page, with a province's own deadlines and its cities
/// endorsing first; an impossible round is refused naming the field and appends nothing.
pub(crate) async fn the_ministry_opens_a_round_from_a_page(app: TestApp) {
    let ministry = app.token(Role::Ministry, None).await;
    let analyst = app.token(Role::Analyst, None).await;
    let (_, a) = sign_in(&app, &analyst).await;
    assert_eq!(a.unwrap().get("/ui/rounds/new").await.status, 403);
    let (_, m) = sign_in(&app, &ministry).await;
    let m = m.unwrap();
    assert!(m
        .get("/ui/inbox")
        .await
        .body
        .contains("href=\"/ui/rounds/new\""));
    let page = m.get("/ui/rounds/new").await.body;
    let command_id = hidden(&page, "command_id").unwrap();
    let day = |n: u64| {
        (roster_domain::clock::business_day(chrono::Utc::now()) + chrono::Days::new(n)).to_string()
    };
    let (today, gd_applicants, gd_cities, deadline) = (day(0), day(20), day(25), day(40));
    let mut fields = vec![
        ("csrf", m.csrf.as_str()),
        ("command_id", command_id.as_str()),
        ("round_id", "ui-round"),
        ("business_date", today.as_str()),
        ("opens_on", today.as_str()),
        ("province_deadline", today.as_str()),
        ("quota_per_province", "5"),
        ("notice_days", "5"),
        ("applicant_deadline:44", gd_applicants.as_str()),
        ("city_deadline:44", gd_cities.as_str()),
        ("city_endorsement", "44"),
    ];
    // The Guangdong deadlines lie after the provinces' deadline: refused, naming the field.
    let events = app.all_events().await.len();
    let r = m.post("/ui/rounds", &fields, None).await;
    assert_eq!(r.headers[LOCATION], "/ui/rounds/new");
    let shown = m.get("/ui/rounds/new").await.body;
    assert!(shown.contains("impossible_date"), "{shown}");
    assert_eq!(app.all_events().await.len(), events);

    fields[5].1 = deadline.as_str();
    let fresh = uuid::Uuid::new_v4().to_string();
    fields[1].1 = fresh.as_str();
    let r = m.post("/ui/rounds", &fields, None).await;
    assert_eq!(r.headers[LOCATION], "/ui/funnel?round=ui-round");
    let round = app
        .get(Some(&ministry), "/api/v1/rounds/ui-round")
        .await
        .body;
    let text = round.to_string();
    assert!(
        text.contains(&gd_applicants) && text.contains(&gd_cities) && text.contains(&deadline),
        "{round}"
    );
    assert!(
        text.contains("\"city_endorsement_required\":[\"44\"]"),
        "{round}"
    );
}

/// Instantiates each case on one store.
macro_rules! on_store {
    ($store:ident, $kind:ident: $($case:ident),* $(,)?) => {
        mod $store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(crate::app::spawn_app(crate::app::Kind::$kind).await).await;
                }
            )*
        }
    };
}

on_store!(
    sqlite,
    Sqlite:
    sessions_are_strict_http_only_cookies_and_pages_need_one,
    forms_without_the_sessions_csrf_token_change_nothing,
    the_ministry_concludes_a_review_and_a_province_rejects_from_the_pages,
    each_role_takes_an_application_to_the_roster_and_the_ministry_delists_it,
    a_province_sees_quota_deadline_and_r2_before_recommending_and_nothing_after,
    the_ministry_rates_a_years_platforms_from_one_table,
    the_ministry_opens_a_round_from_a_page,
    each_inbox_lists_what_is_due_for_its_user,
    each_role_sees_its_own_pages_and_analysts_only_read,
);

on_store!(
    postgres,
    Postgres:
    forms_without_the_sessions_csrf_token_change_nothing,
    each_role_takes_an_application_to_the_roster_and_the_ministry_delists_it,
    each_inbox_lists_what_is_due_for_its_user,
);

on_store!(
    applying_sqlite,
    Sqlite: an_applicant_drafts_attaches_previews_submits_prints_and_amends,
    a_listed_platform_uploads_its_services_all_or_none,
    each_user_is_told_of_what_concerns_them_and_marks_it_read,
    a_province_sees_national_targets_as_national_with_its_share,
    the_roster_table_searches_sorts_and_filters_by_city,
);

on_store!(
    applying_postgres,
    Postgres: an_applicant_drafts_attaches_previews_submits_prints_and_amends,
    a_listed_platform_uploads_its_services_all_or_none,
    each_user_is_told_of_what_concerns_them_and_marks_it_read,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_mailed_once_and_none_is_lost_while_the_relay_is_down_on_sqlite() {
    crate::applying::notifications_are_mailed_once_and_none_is_lost_while_the_relay_is_down(
        crate::app::Kind::Sqlite,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_mailed_once_and_none_is_lost_while_the_relay_is_down_on_postgres() {
    crate::applying::notifications_are_mailed_once_and_none_is_lost_while_the_relay_is_down(
        crate::app::Kind::Postgres,
    )
    .await;
}
