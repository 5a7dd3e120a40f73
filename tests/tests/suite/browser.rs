//! The dashboard in a real browser: headless Chromium driven through ChromeDriver (WebDriver,
//! fantoccini) against the real server with the demo loaded. Signs in, reads the targets and
//! changes the as-of date, filters the roster and downloads it, opens a platform, recommends an
//! application as a province and sees another province refused, checks phone width. Every page
//! is saved as a PNG under `target/tmp/browser/` (the test's artefacts).
//!
//! Chromium and ChromeDriver come from Debian (`ops/install-browser.sh`, run by `ops/test.sh`).
//! Without them the test fails under `CI=true` and is skipped, loudly, otherwise.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use roster_domain::actor::Role;
use roster_domain::values::Uscc;
use serde_json::{json, Value};

use crate::app::{spawn_app, Kind, TestApp};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

fn artefacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).expect("artefact folder");
    dir
}

/// The browser is there, or the test may not run: under CI that is a failure.
fn browser_available() -> bool {
    let there = Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists();
    if !there {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("CI=true but {CHROMIUM} or {CHROMEDRIVER} is missing: run ops/install-browser.sh (ops/test.sh does)");
        }
        eprintln!("SKIPPED: the browser tests need {CHROMIUM} and {CHROMEDRIVER} (ops/install-browser.sh)");
    }
    there
}

struct Driver {
    process: tokio::process::Child,
    url: String,
}

impl Driver {
    async fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{url}/status")).send().await {
                if r.status().is_success() {
                    return Driver { process, url };
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not answer on {url}");
    }
}

/// One browser (its own profile and download folder) signed in as one user.
struct Browser {
    client: Client,
    base: String,
    name: &'static str,
    downloads: PathBuf,
}

impl Browser {
    async fn open(driver: &Driver, base: &str, name: &'static str) -> Browser {
        let downloads = std::env::temp_dir().join(format!("roster-dl-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&downloads).unwrap();
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,900", "--lang=zh-CN"],
                "prefs": {
                    "download.default_directory": downloads.to_str().unwrap(),
                    "download.prompt_for_download": false,
                }
            }
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("a browser session");
        Browser {
            client,
            base: base.to_string(),
            name,
            downloads,
        }
    }

    async fn go(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    async fn path(&self) -> String {
        let u = self.client.current_url().await.unwrap();
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        }
    }

    async fn text(&self, css: &str) -> String {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e.text().await.unwrap(),
            Err(e) => {
                self.shot("failed").await;
                panic!("{}: no {css} on {}: {e}", self.name, self.path().await)
            }
        }
    }

    async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.unwrap().len()
    }

    /// Clicks what loads a new page and waits until the new page has loaded.
    async fn click(&self, css: &str) {
        self.client
            .execute("window.__rosterOldPage = true;", vec![])
            .await
            .unwrap();
        self.click_here(css).await;
        self.loaded().await;
    }

    /// Clicks what changes nothing but the current page (opens a `details`).
    async fn click_here(&self, css: &str) {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{}: no {css}: {e}", self.name))
            .click()
            .await
            .unwrap();
    }

    async fn loaded(&self) {
        for _ in 0..200 {
            let fresh = self
                .client
                .execute(
                    "return window.__rosterOldPage === undefined && document.readyState === 'complete';",
                    vec![],
                )
                .await
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            if fresh {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{}: the next page did not load", self.name);
    }

    async fn fill(&self, css: &str, value: &str) {
        let e = self.client.find(Locator::Css(css)).await.unwrap();
        e.clear().await.unwrap();
        e.send_keys(value).await.unwrap();
    }

    /// Sets a date input (typing into it depends on the browser's locale).
    async fn set_value(&self, css: &str, value: &str) {
        self.client
            .execute(
                "document.querySelector(arguments[0]).value = arguments[1];",
                vec![json!(css), json!(value)],
            )
            .await
            .unwrap();
    }

    async fn select(&self, css: &str, value: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .select_by_value(value)
            .await
            .unwrap();
    }

    /// Each page at phone width (390 px): it reflows, nothing scrolls sideways but the tables in
    /// their boxes; a shot of each; the window back at 1280 px after.
    async fn phone_pages<P: AsRef<str>>(&self, pages: &[(P, &str)]) {
        self.client.set_window_size(390, 844).await.unwrap();
        for (path, name) in pages {
            let path = path.as_ref();
            self.go(path).await;
            self.text("main h1").await;
            assert!(self.fits_width().await, "{path} is wider than a phone");
            self.shot(name).await;
        }
        self.client.set_window_size(1280, 900).await.unwrap();
    }

    /// The computed value of a CSS property of the first element `css` selects.
    async fn style(&self, css: &str, property: &str) -> String {
        self.client
            .execute(
                "return getComputedStyle(document.querySelector(arguments[0])).getPropertyValue(arguments[1]);",
                vec![json!(css), json!(property)],
            )
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The whole page (the window grows to the page's height for the picture).
    async fn shot(&self, page: &str) {
        let (w, h) = self.client.get_window_size().await.unwrap();
        let full = self
            .client
            .execute("return document.documentElement.scrollHeight;", vec![])
            .await
            .ok()
            .and_then(|v| v.as_u64())
            .unwrap_or(h);
        let grow = full > h;
        if grow {
            // Window size includes the browser's frame; a little extra keeps the bottom in view.
            self.client
                .set_window_size(w as u32, (full + 100).min(8000) as u32)
                .await
                .unwrap();
        }
        let png = self.client.screenshot().await.unwrap();
        if grow {
            self.client
                .set_window_size(w as u32, h as u32)
                .await
                .unwrap();
        }
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let file = artefacts().join(format!("{}-{page}.png", self.name));
        std::fs::write(&file, png).unwrap();
    }

    async fn sign_in(&self, token: &str) {
        self.go("/ui/signin").await;
        self.fill("#token", token).await;
        self.click("#signin button[type=submit]").await;
        self.text("header .who").await;
    }

    /// No horizontal scrolling of the page itself (tables scroll inside their boxes).
    async fn fits_width(&self) -> bool {
        let v = self
            .client
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth];",
                vec![],
            )
            .await
            .unwrap();
        let (scroll, inner) = (v[0].as_f64().unwrap(), v[1].as_f64().unwrap());
        scroll <= inner + 1.0
    }

    async fn close(self) {
        self.client.close().await.ok();
        std::fs::remove_dir_all(&self.downloads).ok();
    }
}

async fn api(app: &TestApp, token: &str, path: &str) -> Value {
    let r = app.get(Some(token), path).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.body
}

fn kpi_value(report: &Value, metric: &str) -> u64 {
    report["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["metric"] == metric)
        .unwrap()["value"]
        .as_u64()
        .unwrap()
}

/// The demo, plus an open round in which a Jiangsu applicant has just applied.
pub(crate) async fn demo_with_an_open_round(app: &TestApp) -> String {
    app.load_demo().await;
    let ministry = app.token(Role::Ministry, None).await;
    let today = roster_domain::clock::business_day(chrono::Utc::now());
    let r = app
        .post(
            &ministry,
            "/api/v1/rounds",
            &json!({
                "command_id": uuid::Uuid::new_v4(), "business_date": today - chrono::Days::new(5),
                "round_id": "browser", "opens_on": today - chrono::Days::new(5),
                "applicant_deadlines": {}, "city_deadlines": {},
                "province_deadline": today + chrono::Days::new(30),
                "city_endorsement_required": [], "quota_per_province": 5, "notice_days": 5
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let uscc = Uscc::with_check_character("91320100MA1234567").unwrap();
    let applicant = app.token(Role::Applicant, Some(uscc.as_str())).await;
    let mut form = roster_domain::samples::form_json(uscc.as_str(), "32", "320100", &["enzymes"]);
    form["platform"]["name"] = json!("南京示例酶制剂中试平台（浏览器测试）");
    let r = app
        .post(
            &applicant,
            "/api/v1/platforms/js-browser/application",
            &json!({"command_id": uuid::Uuid::new_v4(), "business_date": today, "round_id": "browser", "form": form}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    "js-browser".into()
}

pub(crate) async fn the_dashboard_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    // Chromium takes most of a core for a few seconds: not while a test restarts the broker
    // and times the recovery (those take the lock exclusively).
    let _not_during_broker_faults = crate::broker::BROKER.read().await;
    let app = spawn_app(Kind::Sqlite).await;
    let platform = demo_with_an_open_round(&app).await;
    let ministry = app.token(Role::Ministry, None).await;
    let analyst = app.token(Role::Analyst, None).await;
    let jiangsu = app.token(Role::Province, Some("32")).await;
    let guangdong = app.token(Role::Province, Some("44")).await;
    // An ad hoc review opened ten days ago and due yesterday: overdue in the ministry's inbox.
    crate::dashboard::an_overdue_review(&app, &ministry, "adhoc-browser", 1).await;
    let driver = Driver::start().await;

    // --- the ministry: sign-in, targets, roster, downloads, platform, reviews, funnel.
    let b = Browser::open(&driver, &app.base, "ministry").await;
    b.go("/ui/roster").await;
    assert_eq!(b.path().await, "/ui/signin", "pages need a session");
    b.shot("signin").await;
    b.fill("#token", "rst_not-a-token").await;
    b.click("#signin button[type=submit]").await;
    assert!(b.text("#flash").await.contains("令牌无效"));
    b.sign_in(&ministry).await;
    // Home is the inbox (待办): what is due for the ministry, then the targets.
    assert_eq!(b.path().await, "/ui/inbox");
    b.text("#count-todo").await;
    // The overdue review first, in red, with its days overdue.
    let overdue = "tr.overdue[data-platform=js-nj-chem][data-act=ConcludeReview]";
    assert!(
        b.text(overdue).await.contains("逾期1天"),
        "{}",
        b.text(overdue).await
    );
    assert_eq!(
        b.style(&format!("{overdue} td"), "color").await,
        "rgb(179, 38, 30)"
    );
    // And the demo's milestone left unreported past its date (C-8), which the lead reports.
    assert_eq!(
        b.count("#inbox tr.overdue[data-act=ReportMilestone][data-platform=rs1-gd]")
            .await,
        1
    );
    assert_eq!(b.text("#count-overdue").await.trim(), "2");
    b.shot("inbox").await;
    b.go("/ui/targets").await;
    let cookies = b
        .client
        .execute("return document.cookie;", vec![])
        .await
        .unwrap();
    assert!(
        !cookies
            .as_str()
            .unwrap_or_default()
            .contains("roster_session"),
        "the session cookie is HttpOnly: {cookies}"
    );

    let now = api(&app, &ministry, "/api/v1/reports/kpi").await;
    let listed_now = kpi_value(&now, "listed_platforms");
    assert_eq!(
        b.text("#kpi-listed_platforms").await,
        listed_now.to_string()
    );
    assert_eq!(
        b.text("#kpi-served_enterprises").await,
        kpi_value(&now, "served_enterprises").to_string()
    );
    assert_eq!(b.count(".target svg.gauge").await, 3, "the 2027 targets");
    assert!(b.count("svg.chart polyline.forecast").await >= 3);
    b.shot("targets").await;
    let before = api(&app, &ministry, "/api/v1/reports/kpi?as_of=2025-12-15").await;
    b.set_value("#as_of", "2025-12-15").await;
    b.click("#apply").await;
    b.text("#as-of-shown").await;
    assert_eq!(b.text("#as-of-shown").await, "2025-12-15");
    let listed_then = b.text("#kpi-listed_platforms").await;
    assert_eq!(
        listed_then,
        kpi_value(&before, "listed_platforms").to_string()
    );
    assert_eq!(
        b.text("#kpi-served_enterprises").await,
        kpi_value(&before, "served_enterprises").to_string()
    );
    assert_ne!(
        b.text("#kpi-served_enterprises").await,
        kpi_value(&now, "served_enterprises").to_string(),
        "an earlier as-of date shows other numbers"
    );
    b.shot("targets-2025-12-15").await;

    b.go("/ui/roster").await;
    let all = api(&app, &ministry, "/api/v1/roster").await["total"]
        .as_u64()
        .unwrap();
    assert_eq!(b.text("#roster-count").await, all.to_string());
    b.select("#province", "44").await;
    b.click("#apply").await;
    b.text("#roster-count").await;
    let gd = api(&app, &ministry, "/api/v1/roster?province=44").await["total"]
        .as_u64()
        .unwrap();
    assert!(gd > 0 && gd < all, "{gd} of {all}");
    assert_eq!(b.text("#roster-count").await, gd.to_string());
    assert_eq!(b.count("#roster-table tbody tr").await as u64, gd);
    for row in b
        .client
        .find_all(Locator::Css("#roster-table tbody td:nth-child(3)"))
        .await
        .unwrap()
    {
        assert_eq!(row.text().await.unwrap(), "广东省");
    }
    b.select("#domain", "enzymes").await;
    b.click("#apply").await;
    b.text("#roster-count").await;
    let gd_enzymes = api(&app, &ministry, "/api/v1/roster?province=44&domain=enzymes").await
        ["total"]
        .as_u64()
        .unwrap();
    assert_eq!(b.text("#roster-count").await, gd_enzymes.to_string());
    b.shot("roster-guangdong-enzymes").await;
    b.click_here("#download-roster-xlsx").await;
    let xlsx = downloaded(&b.downloads, ".xlsx").await;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    use calamine::Reader;
    let sheet = book.worksheet_range("中试平台名单").unwrap();
    assert_eq!(
        sheet.height() as u64,
        2 + gd_enzymes,
        "two header rows and the filtered platforms"
    );
    b.go("/ui/targets").await;
    b.click_here("#download-kpi-xlsx").await;
    let kpi = downloaded(&b.downloads, "kpi-").await;
    let book: calamine::Xlsx<_> = calamine::open_workbook(&kpi).unwrap();
    assert!(book.sheet_names().contains(&"目标进展".to_string()));

    b.go("/ui/roster").await;
    b.click("#roster-table tbody tr a").await;
    b.text("#timeline").await;
    assert!(b.path().await.starts_with("/ui/platforms/"));
    assert_eq!(b.count("#eligibility tr[data-rule]").await, 12, "G-1..G-12");
    assert!(b.count("#timeline tbody tr").await >= 5);
    b.shot("platform").await;
    b.go("/ui/platforms/gd-dg-enzyme").await;
    b.text("#incidents").await;
    assert!(b.count("#incidents tbody tr").await >= 1, "the demo's leak");
    b.shot("platform-with-incident").await;
    b.go("/ui/reviews").await;
    b.text("#count-overdue").await;
    b.shot("reviews").await;
    b.go("/ui/funnel?round=2025").await;
    let total = b
        .text("#funnel tr[data-province=total] td:nth-child(2)")
        .await;
    assert_eq!(total, "16", "the demo's 16 applications");
    b.shot("funnel").await;
    // The ministry's batch tables and the round form.
    for (path, name) in [
        ("/ui/batch/annual", "batch-annual"),
        ("/ui/batch/list", "batch-list"),
        ("/ui/rounds/new", "round-new"),
        ("/ui/provinces", "provinces"),
        ("/ui/notifications", "notifications"),
    ] {
        b.go(path).await;
        b.text("main h1").await;
        b.shot(name).await;
    }
    // The province comparison: every authority, zeros included; the map draws the provinces
    // coloured by K-1 with Guangdong's value.
    b.go("/ui/provinces").await;
    assert_eq!(b.count("#provinces tbody tr").await, 32);
    assert_eq!(b.count("svg.china path.province[data-province]").await, 31);
    let gd = api(&app, &ministry, "/api/v1/reports/kpi").await["by_province"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "44")
        .unwrap()["listed_platforms"]
        .as_u64()
        .unwrap();
    assert_eq!(
        b.text("#provinces tr[data-province='44'] td:nth-child(2)")
            .await,
        gd.to_string()
    );

    // Phone width: the pages reflow, nothing scrolls sideways but the tables in their boxes.
    b.phone_pages(&[
        ("/ui/inbox", "phone-inbox"),
        ("/ui/targets", "phone-targets"),
        ("/ui/roster", "phone-roster"),
        ("/ui/platforms/gd-dg-enzyme", "phone-platform"),
        ("/ui/funnel?round=2025", "phone-funnel"),
        ("/ui/batch/annual", "phone-batch-annual"),
        ("/ui/rounds/new", "phone-round-new"),
        ("/ui/provinces", "phone-provinces"),
        ("/ui/reviews", "phone-reviews"),
        ("/ui/batch/evaluate", "phone-batch-evaluate"),
        ("/ui/notifications", "phone-notifications"),
        ("/ui/webhooks", "phone-webhooks"),
    ])
    .await;
    b.go("/ui/lang?to=en").await;
    b.go("/ui/targets").await;
    assert_eq!(b.text("main h1").await, "Targets");
    b.shot("targets-en").await;
    // The English interface at phone width too.
    b.phone_pages(&[
        ("/ui/inbox", "phone-inbox-en"),
        ("/ui/roster", "phone-roster-en"),
        ("/ui/platforms/gd-dg-enzyme", "phone-platform-en"),
        ("/ui/reviews", "phone-reviews-en"),
        ("/ui/funnel?round=2025", "phone-funnel-en"),
    ])
    .await;
    b.go("/ui/lang?to=zh").await;
    b.click("#signout").await;
    b.text("#signin").await;
    b.go("/ui/targets").await;
    assert_eq!(b.path().await, "/ui/signin", "signed out");
    b.close().await;

    // --- an analyst reads everything and acts on nothing.
    let a = Browser::open(&driver, &app.base, "analyst").await;
    a.sign_in(&analyst).await;
    a.go("/ui/funnel?round=browser").await;
    a.text("#applications").await;
    assert_eq!(a.count("#applications tr[data-platform]").await, 1);
    assert_eq!(a.count("form.recommend").await, 0, "analysts read only");
    a.shot("funnel-analyst").await;
    for (path, name) in [
        ("/ui/inbox", "inbox"),
        ("/ui/targets", "targets"),
        ("/ui/provinces", "provinces"),
        ("/ui/reviews", "reviews"),
    ] {
        a.go(path).await;
        a.text("main h1").await;
        a.shot(name).await;
    }
    a.phone_pages(&[
        ("/ui/inbox", "phone-inbox"),
        ("/ui/targets", "phone-targets"),
        ("/ui/provinces", "phone-provinces"),
        ("/ui/funnel?round=browser", "phone-funnel"),
        ("/ui/roster", "phone-roster"),
    ])
    .await;
    a.close().await;

    // --- Jiangsu recommends its applicant from the funnel page.
    let js = Browser::open(&driver, &app.base, "jiangsu").await;
    js.sign_in(&jiangsu).await;
    js.go("/ui/funnel?round=browser").await;
    let row = format!("#applications tr[data-platform={platform}]");
    assert_eq!(
        js.text(&format!("{row} [data-status]")).await,
        "已申报",
        "submitted"
    );
    js.click_here(&format!("{row} details.recommend summary"))
        .await;
    js.fill(
        &format!("{row} form.recommend input[name=opinion]"),
        "同意推荐（浏览器测试）",
    )
    .await;
    js.shot("funnel-recommend").await;
    js.click(&format!("{row} form.recommend button[type=submit]"))
        .await;
    let flash = js.text("#flash").await;
    assert!(flash.contains("已受理"), "{flash}");
    assert_eq!(
        js.client
            .find(Locator::Css(&format!("{row} [data-status]")))
            .await
            .unwrap()
            .attr("data-status")
            .await
            .unwrap()
            .as_deref(),
        Some("recommended")
    );
    js.shot("funnel-recommended").await;
    let detail = api(&app, &ministry, &format!("/api/v1/platforms/{platform}")).await;
    assert_eq!(detail["status"], "recommended");
    js.close().await;

    // --- Guangdong may neither see nor recommend Jiangsu's applicant.
    let events_before = app.all_events().await.len();
    let gdb = Browser::open(&driver, &app.base, "guangdong").await;
    gdb.sign_in(&guangdong).await;
    gdb.go("/ui/funnel?round=browser").await;
    gdb.text("#applications").await;
    assert_eq!(gdb.count("#applications tr[data-platform]").await, 0);
    gdb.go(&format!("/ui/platforms/{platform}")).await;
    let refusal = gdb.text(".refusal").await;
    assert!(
        refusal.contains("not_found") && refusal.contains(&format!("没有平台 {platform}")),
        "another province's platform is shown as one that does not exist: {refusal}"
    );
    gdb.shot("platform-refused").await;
    // A recommendation forged in Guangdong's own session goes through the command path and is
    // refused there.
    gdb.go("/ui/funnel?round=browser").await;
    gdb.client
        .execute(
            r#"window.__rosterOldPage = true;
               const csrf = document.querySelector('header input[name=csrf]').value;
               const f = document.createElement('form');
               f.method = 'post'; f.action = '/ui/act';
               const add = (n, v) => { const i = document.createElement('input'); i.type = 'hidden'; i.name = n; i.value = v; f.appendChild(i); };
               add('csrf', csrf); add('command_id', crypto.randomUUID()); add('platform_id', arguments[0]);
               add('action', 'recommend'); add('opinion', '越权推荐'); add('business_date', arguments[1]);
               add('back', '/ui/funnel?round=browser');
               document.body.appendChild(f); f.submit();"#,
            vec![
                json!(platform),
                json!(roster_domain::clock::business_day(chrono::Utc::now()).to_string()),
            ],
        )
        .await
        .unwrap();
    gdb.loaded().await;
    let flash = gdb.text("#flash").await;
    assert!(
        flash.contains("未受理") && flash.contains("未找到"),
        "{flash}"
    );
    gdb.shot("recommend-refused").await;
    gdb.close().await;
    assert_eq!(
        app.all_events().await.len(),
        events_before,
        "a refusal appends nothing"
    );
    let audit = api(&app, &ministry, "/api/v1/audit?limit=20").await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["outcome"] == "refused"
                && e["actor"]["jurisdiction"] == "44"
                && e["command_type"] == "RecommendByProvince"),
        "the refused recommendation is in the audit log: {audit}"
    );
    drop(driver.process);
}

/// Waits for a finished download whose name contains `part` (Chromium writes `.crdownload`
/// first), returns its path.
async fn downloaded(dir: &Path, part: &str) -> PathBuf {
    for _ in 0..100 {
        if let Some(p) = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                let n = p.file_name().unwrap().to_string_lossy().to_string();
                n.contains(part) && !n.ends_with(".crdownload")
            })
        {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no download containing {part} in {}", dir.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_a_real_browser_on_sqlite() {
    the_dashboard_in_a_real_browser().await;
}

/// An applicant in the browser: a new draft from 我的申报, the form filled in by typing and
/// ticking, a PDF attached through the file input, the eligibility previewed, the application
/// submitted, and the 申报书 printed to PDF by Chromium (print stylesheet: no navigation).
pub(crate) async fn an_applicant_applies_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let _not_during_broker_faults = crate::broker::BROKER.read().await;
    let sink = crate::applying::SmtpSink::start(0).await;
    let app = crate::applying::mailing_app(Kind::Sqlite, &sink).await;
    demo_with_an_open_round(&app).await;
    let uscc = Uscc::with_check_character("91320100MA2468024").unwrap();
    let applicant = app.token(Role::Applicant, Some(uscc.as_str())).await;
    let driver = Driver::start().await;
    let b = Browser::open(&driver, &app.base, "applicant").await;
    b.sign_in(&applicant).await;
    b.go("/ui/apply").await;
    b.shot("apply").await;
    b.click("#new-draft").await;
    assert!(b.path().await.starts_with("/ui/drafts/d-"));
    b.shot("draft-new").await;
    for (name, value) in [
        ("form.applicant.name", "南京浏览器示例生物有限公司"),
        ("form.applicant.legal_representative", "赵六"),
        ("form.applicant.city", "320100"),
        ("form.platform.name", "南京浏览器示例中试平台"),
        ("form.platform.leader", "孙八"),
        ("form.equipment.vessels.0.name", "5000L发酵罐"),
        ("form.equipment.vessels.0.volume_l", "5000"),
        ("form.equipment.vessels.0.count", "2"),
        ("form.site.area_m2", "1500"),
    ] {
        b.fill(&format!("[name='{name}']"), value).await;
    }
    b.select("[name='form.applicant.kind']", "private").await;
    b.select("[name='form.platform.built']", "yes").await;
    b.select("[name='form.equipment.vessels.0.kind']", "fermentation")
        .await;
    b.click_here("input[name='form.domains'][value='enzymes']")
        .await;
    let pdf = artefacts().join("evidence.pdf");
    std::fs::write(&pdf, crate::applying::PDF).unwrap();
    b.client
        .find(Locator::Css("input[type=file][name=file]"))
        .await
        .unwrap()
        .send_keys(pdf.to_str().unwrap())
        .await
        .unwrap();
    b.fill("[name=upload_title]", "安全评价报告").await;
    b.click("#check").await;
    assert!(b.text("#flash").await.contains("已上传"));
    // The preview: every rule, as the assessment will record it (G-4 passes at 1,500 m²).
    assert_eq!(b.count("#eligibility tr[data-rule]").await, 12);
    assert_eq!(
        b.text("#eligibility tr[data-rule='G-4'] td:nth-child(2)")
            .await,
        "符合"
    );
    assert_eq!(b.count("ul.files li").await, 1, "the PDF is listed");
    b.shot("draft-preview").await;
    b.client.set_window_size(390, 844).await.unwrap();
    b.shot("phone-draft").await;
    let wide = b
        .client
        .execute(
            "return [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.scroll')).slice(0, 5).map(e => e.tagName + '.' + e.className + '[' + (e.getAttribute('name') || '') + '] ' + Math.round(e.getBoundingClientRect().right)).join('; ');",
            vec![],
        )
        .await
        .unwrap();
    assert!(b.fits_width().await, "the form fits a phone: {wide}");
    b.client.set_window_size(1280, 900).await.unwrap();

    b.click("#submit").await;
    let page = b.path().await;
    let platform = page
        .strip_prefix("/ui/platforms/")
        .unwrap_or_else(|| panic!("submitted to the platform page, not {page}"))
        .to_string();
    assert!(b.text("#flash").await.contains("申报已提交"));
    assert_eq!(b.count("#evidence a[href*='/files/']").await, 1);
    b.shot("submitted").await;

    b.click("#print").await;
    b.text(".doc-title").await;
    b.shot("print").await;
    let printed = b
        .client
        .print(fantoccini::wd::PrintConfiguration::default())
        .await
        .expect("Chromium prints the page to PDF");
    assert!(printed.starts_with(b"%PDF"), "a PDF");
    std::fs::write(artefacts().join("applicant-print.pdf"), &printed).unwrap();
    // Every section on A4 pages (Skia writes each page's dictionary uncompressed).
    let pages = printed
        .windows(b"/Type /Page\n".len())
        .filter(|w| {
            *w == b"/Type /Page\n"
                || w.starts_with(b"/Type /Page/")
                || w.starts_with(b"/Type /Page ")
        })
        .count();
    assert!(pages >= 2, "the whole application on {pages} A4 page(s)");
    b.client.set_window_size(390, 844).await.unwrap();
    b.go(&format!("/ui/platforms/{platform}/print")).await;
    assert!(b.fits_width().await, "the print page fits a phone");
    b.shot("phone-print").await;
    b.client.set_window_size(1280, 900).await.unwrap();

    // --- The applicant leaves an e-mail address for its notifications.
    b.go("/ui/notifications").await;
    b.fill("#mail input[name=email]", "shenbao@example.com")
        .await;
    b.click("#mail button[type=submit]").await;
    assert!(b.text("#flash").await.contains("shenbao@example.com"));

    // --- Nanjing endorses from its inbox.
    let nanjing = app.token(Role::City, Some("320100")).await;
    let c = Browser::open(&driver, &app.base, "city").await;
    c.sign_in(&nanjing).await;
    assert_eq!(c.path().await, "/ui/inbox");
    assert!(
        c.count(&format!("a[href='/ui/platforms/{platform}']"))
            .await
            >= 1,
        "in the city's inbox"
    );
    c.shot("inbox").await;
    c.go(&format!("/ui/platforms/{platform}")).await;
    c.click_here("details.endorse summary").await;
    c.shot("endorse").await;
    c.click("form.endorse button[type=submit]").await;
    assert!(c.text("#flash").await.contains("已受理"));
    c.phone_pages(&[
        ("/ui/inbox", "phone-inbox"),
        ("/ui/notifications", "phone-notifications"),
        ("/ui/funnel", "phone-funnel"),
        ("/ui/roster", "phone-roster"),
    ])
    .await;
    c.close().await;

    // --- Jiangsu recommends with its quota in use shown.
    let jiangsu = app.token(Role::Province, Some("32")).await;
    let j = Browser::open(&driver, &app.base, "province").await;
    j.sign_in(&jiangsu).await;
    j.shot("inbox").await;
    j.go(&format!("/ui/platforms/{platform}")).await;
    j.click_here("details.recommend summary").await;
    assert!(j.text("details.recommend p.quota").await.contains("/5"));
    j.fill("form.recommend input[name=rank]", "1").await;
    j.shot("recommend").await;
    j.click("form.recommend button[type=submit]").await;
    assert!(j.text("#flash").await.contains("已受理"));
    j.phone_pages(&[
        ("/ui/inbox", "phone-inbox"),
        ("/ui/targets", "phone-targets"),
        (
            &format!("/ui/platforms/{platform}") as &str,
            "phone-platform",
        ),
    ])
    .await;
    j.close().await;
    // The applicant is told of the endorsement and the recommendation, by e-mail too.
    for _ in 0..100 {
        if sink.to("shenbao@example.com").len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sink.to("shenbao@example.com").len(),
        2,
        "the endorsement and the recommendation mailed, once each"
    );
    b.go("/ui/notifications").await;
    assert!(
        b.count("#notifications tr.unread[data-event=ProvinceRecommended]")
            .await
            == 1
    );
    b.shot("notifications").await;

    // --- The ministry evaluates, starts the notice and lists from the batch tables.
    let ministry = app.token(Role::Ministry, None).await;
    let m = Browser::open(&driver, &app.base, "ministry-journey").await;
    m.sign_in(&ministry).await;
    let tick = format!("#batch-rows input[name=rows][value={platform}]");
    m.go("/ui/batch/evaluate").await;
    eprintln!(
        "FIND {:?}",
        m.client.find(Locator::Css(&tick)).await.map(|_| ())
    );
    m.click_here(&tick).await;
    m.fill(&format!("input[name=\"score:{platform}\"]"), "86")
        .await;
    m.select(&format!("select[name=\"passed:{platform}\"]"), "yes")
        .await;
    m.shot("batch-evaluate").await;
    m.click("#batch button[type=submit]").await;
    assert!(
        m.text("#flash").await.contains("已受理 1"),
        "{}",
        m.text("#flash").await
    );
    let today =
        roster_domain::clock::business_day(roster_domain::clock::Clock::now(app.clock.as_ref()));
    m.go("/ui/batch/notice").await;
    m.set_value("[name=until]", &(today + chrono::Days::new(5)).to_string())
        .await;
    m.click_here(&tick).await;
    m.click("#batch button[type=submit]").await;
    assert!(
        m.text("#flash").await.contains("已受理 1"),
        "{}",
        m.text("#flash").await
    );
    // The notice runs its days; the day after it the platform is listed.
    app.clock.advance(chrono::Duration::days(6));
    // A week later the sessions (12 hours) have ended: everyone signs in again.
    m.sign_in(&ministry).await;
    b.sign_in(&applicant).await;
    m.go("/ui/batch/list").await;
    m.click_here(&tick).await;
    m.shot("batch-list").await;
    m.click("#batch button[type=submit]").await;
    assert!(
        m.text("#flash").await.contains("已受理 1"),
        "{}",
        m.text("#flash").await
    );
    let status = |d: Value| d["status"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        status(api(&app, &ministry, &format!("/api/v1/platforms/{platform}")).await),
        "listed"
    );

    // --- The listed platform uploads its services: a sheet with one bad row changes nothing and
    // names the row; the corrected sheet records every row.
    let day =
        roster_domain::clock::business_day(roster_domain::clock::Clock::now(app.clock.as_ref()));
    let bad = artefacts().join("services-bad.csv");
    let good = artefacts().join("services-good.csv");
    let sheet = |last: chrono::NaiveDate| {
        format!(
            "日期,类别,企业名称,企业统一社会信用代码,合同金额（元）\n{day},服务企业,浏览器示例企业甲,91110000802100433B,300000\n{last},服务企业,浏览器示例企业乙,91110000802100433B,200000\n"
        )
    };
    std::fs::write(&bad, sheet(day + chrono::Days::new(1))).unwrap();
    std::fs::write(&good, sheet(day)).unwrap();
    b.go(&format!("/ui/platforms/{platform}")).await;
    b.click("#services-bulk").await;
    let upload = |file: std::path::PathBuf| {
        let b = &b;
        async move {
            b.client
                .find(Locator::Css("#services-upload input[type=file]"))
                .await
                .unwrap()
                .send_keys(file.to_str().unwrap())
                .await
                .unwrap();
            b.click("#services-upload button[type=submit]").await;
        }
    };
    upload(bad).await;
    assert!(b.text("#flash").await.contains("未登记任何一行"));
    assert_eq!(
        b.count("#report tr.refused[data-line='3']").await,
        1,
        "the bad row by its line"
    );
    b.shot("services-refused").await;
    let services = |d: Value| {
        d["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event_type"] == "ServiceRecorded")
            .count()
    };
    assert_eq!(
        services(api(&app, &ministry, &format!("/api/v1/platforms/{platform}")).await),
        0
    );
    upload(good).await;
    assert!(
        b.text("#flash").await.contains("已登记 2"),
        "{}",
        b.text("#flash").await
    );
    b.shot("services-recorded").await;
    assert_eq!(
        services(api(&app, &ministry, &format!("/api/v1/platforms/{platform}")).await),
        2
    );

    // --- Stars for the year, then a delisting with its confirmation.
    m.go("/ui/batch/annual").await;
    m.shot("batch-annual").await;
    m.click_here(&tick).await;
    m.fill(&format!("[name=\"stars:{platform}\"]"), "4").await;
    m.click("#batch button[type=submit]").await;
    assert!(
        m.text("#flash").await.contains("已受理 1"),
        "{}",
        m.text("#flash").await
    );
    m.go(&format!("/ui/platforms/{platform}")).await;
    m.click_here("details.delist summary").await;
    m.select("form.delist select[name=reason]", "insufficient_service")
        .await;
    m.fill(
        "form.delist input[name=details]",
        "年度评价后服务能力不达要求（浏览器测试）",
    )
    .await;
    m.click_here("form.delist input[name=confirm]").await;
    m.shot("delist").await;
    m.click("form.delist button[type=submit]").await;
    assert!(
        m.text("#flash").await.contains("已受理"),
        "{}",
        m.text("#flash").await
    );
    assert_eq!(
        status(api(&app, &ministry, &format!("/api/v1/platforms/{platform}")).await),
        "delisted"
    );
    m.shot("delisted").await;
    m.close().await;

    // --- Every page of the journey at phone width too.
    b.phone_pages(&[
        ("/ui/apply".to_string(), "phone-apply"),
        ("/ui/notifications".to_string(), "phone-notifications"),
        (
            format!("/ui/platforms/{platform}/services"),
            "phone-services",
        ),
        (format!("/ui/platforms/{platform}"), "phone-platform"),
    ])
    .await;
    b.close().await;
    drop(driver.process);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applicant_applies_in_a_real_browser_on_sqlite() {
    an_applicant_applies_in_a_real_browser().await;
}

/// The bioreactor open competition in a real browser (RULES.md §9): a lead applies with its
/// consortium, its province recommends, the ministry evaluates, shortlists, publishes and signs
/// the task agreement, the lead reports its milestones, the ministry records the third-party
/// evaluation, declares success and publishes the success list. Each act at the day the
/// clock says; every page at 1280 and 390 px.
async fn a_consortium_goes_to_the_success_list_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let _not_during_broker_faults = crate::broker::BROKER.read().await;
    let app = spawn_app(Kind::Sqlite).await;
    let ministry = app.token(Role::Ministry, None).await;
    app.clock.set("2025-05-20");
    let lead_uscc = roster_domain::samples::uscc_with_check("91320100MA1000001");
    let member_uscc = roster_domain::samples::uscc_with_check("91320500MA1000002");
    let driver = Driver::start().await;

    // --- The ministry opens the call with its two tasks from the call's page.
    let m = Browser::open(&driver, &app.base, "consortium-ministry-opens").await;
    m.sign_in(&ministry).await;
    m.go("/ui/calls").await;
    m.click("#new-call").await;
    m.fill("#open-call input[name=call_id]", "2025").await;
    m.set_value("#open-call input[name=applicant_deadline]", "2025-06-30")
        .await;
    m.set_value("#open-call input[name=province_deadline]", "2025-07-15")
        .await;
    for (i, id, name, category) in [
        (0, "rs-1", "大规模反应器系统", "reactor_system"),
        (1, "cc-1", "一次性反应袋", "components_consumables"),
    ] {
        m.fill(&format!("#open-call input[name='task_id:{i}']"), id)
            .await;
        m.fill(&format!("#open-call input[name='task_name:{i}']"), name)
            .await;
        m.select(&format!("#open-call select[name='category:{i}']"), category)
            .await;
        m.fill(
            &format!("#open-call input[name='targets:{i}']"),
            "单罐 ≥ 2000 L；国产化率 ≥ 90%",
        )
        .await;
        m.set_value(
            &format!("#open-call input[name='complete_by:{i}']"),
            "2027-12-31",
        )
        .await;
    }
    m.shot("call-open").await;
    m.click("#open-call button[type=submit]").await;
    assert!(
        m.text("#flash").await.contains("已受理"),
        "{}",
        m.text("#flash").await
    );
    assert_eq!(m.count("#call-tasks tr[data-key]").await, 2);
    m.close().await;
    let opened = app.get(Some(&ministry), "/api/v1/calls/2025").await;
    assert_eq!(
        opened.body["call"]["tasks"][1]["targets"],
        json!(["单罐 ≥ 2000 L", "国产化率 ≥ 90%"]),
        "{}",
        opened.body
    );

    // --- The lead applies for its consortium (the member: a reactor user enterprise).
    app.clock.set("2025-06-30");
    let lead_token = app.token(Role::Applicant, Some(&lead_uscc)).await;
    let l = Browser::open(&driver, &app.base, "consortium-lead").await;
    l.sign_in(&lead_token).await;
    l.go("/ui/calls").await;
    l.click("#calls a[href='/ui/calls/2025']").await;
    l.select("#new-bid select[name=task_id]", "rs-1").await;
    l.set_value("#new-bid input[name=bid_id]", "js-rs-1").await;
    l.fill(
        "#new-bid input[name='lead.name']",
        "南京示例生物装备有限公司",
    )
    .await;
    l.fill(
        "#new-bid input[name='members.0.name']",
        "苏州示例生物制药有限公司",
    )
    .await;
    l.fill("#new-bid input[name='members.0.uscc']", &member_uscc)
        .await;
    l.select("#new-bid select[name='members.0.province']", "32")
        .await;
    l.click_here("#new-bid input[name='members.0.reactor_user']")
        .await;
    for d in [
        "no_major_accident",
        "validation_completed",
        "finalised_product_with_ip",
    ] {
        l.click_here(&format!("#new-bid input[name={d}]")).await;
    }
    l.shot("call-new-bid").await;
    l.click("#submit-bid").await;
    assert!(
        l.text("#flash").await.contains("已受理"),
        "{}",
        l.text("#flash").await
    );
    assert_eq!(l.count("#bids tr[data-bid=js-rs-1]").await, 1);
    l.shot("call-bid-submitted").await;
    l.phone_pages(&[("/ui/calls/2025", "phone-call")]).await;
    l.close().await;

    // --- Jiangsu recommends it with its recommendation form.
    app.clock.set("2025-07-15");
    let jiangsu = app.token(Role::Province, Some("32")).await;
    let j = Browser::open(&driver, &app.base, "consortium-province").await;
    j.sign_in(&jiangsu).await;
    // On its inbox, with the province deadline (today: 0 days left).
    j.go("/ui/inbox").await;
    assert!(j
        .text("#inbox tr[data-act=RecommendBid]")
        .await
        .contains("今日截止"));
    j.click("#inbox tr[data-act=RecommendBid] a").await;
    j.click_here("details.bid-recommendation summary").await;
    j.fill(
        "form.bid-recommendation input[name=expert_argumentation]",
        "2025-07-10 组织专家论证",
    )
    .await;
    j.shot("call-recommend").await;
    j.click("form.bid-recommendation button[type=submit]").await;
    assert!(
        j.text("#flash").await.contains("省级推荐"),
        "{}",
        j.text("#flash").await
    );
    j.phone_pages(&[("/ui/calls/2025", "phone-call")]).await;
    j.close().await;

    // --- The ministry with CAS: evaluation, shortlist, the published shortlist, the agreement.
    app.clock.set("2025-08-20");
    let m = Browser::open(&driver, &app.base, "consortium-ministry").await;
    m.sign_in(&ministry).await;
    m.go("/ui/calls/2025").await;
    m.click_here("details.bid-evaluation summary").await;
    m.fill("form.bid-evaluation input[name=score]", "90").await;
    m.click("form.bid-evaluation button[type=submit]").await;
    assert!(m.text("#flash").await.contains("专家评价"));
    m.click_here("details.shortlisting summary").await;
    m.click("form.shortlisting button[type=submit]").await;
    assert!(m.text("#flash").await.contains("列入入围名单"));
    m.click_here("details.list-publication summary").await;
    m.click("form.list-publication button[type=submit]").await;
    assert!(m.text("#published").await.contains("入围名单"));
    m.click_here("details.agreement summary").await;
    m.fill(
        "form.agreement textarea[name=targets]",
        "单罐工作体积 ≥ 2000 L",
    )
    .await;
    m.fill(
        "form.agreement textarea[name=milestones]",
        "m1|完成样机|2026-03-31\nm2|示范应用|2026-12-31",
    )
    .await;
    m.shot("call-agreement").await;
    m.click("form.agreement button[type=submit]").await;
    assert!(
        m.text("#flash").await.contains("签订任务书"),
        "{}",
        m.text("#flash").await
    );
    m.close().await;

    // --- The lead reports m1 in time; m2 passes its date and the scheduler flags it (C-8).
    for (day, milestone) in [("2026-03-30", "m1"), ("2027-01-05", "m2")] {
        app.clock.set(day);
        if milestone == "m2" {
            app.state.automate().await.unwrap();
        }
        let l = Browser::open(&driver, &app.base, "consortium-lead").await;
        l.sign_in(&lead_token).await;
        // The milestone is on the lead's inbox: m1 due tomorrow, m2 overdue in red.
        l.go("/ui/inbox").await;
        let row = "#inbox tr[data-act=ReportMilestone]";
        assert!(
            l.text(row).await.contains(milestone),
            "{}",
            l.text(row).await
        );
        if milestone == "m2" {
            assert_eq!(
                l.count("#inbox tr.overdue[data-act=ReportMilestone]").await,
                1
            );
            l.shot("inbox-milestone-overdue").await;
        }
        l.go("/ui/calls/2025").await;
        if milestone == "m2" {
            assert!(
                l.count("#bids div.milestone.overdue[data-milestone=m2]")
                    .await
                    == 1
            );
            l.shot("call-milestone-overdue").await;
        }
        l.click_here("details.milestone-report summary").await;
        l.select("form.milestone-report select[name=milestone_id]", milestone)
            .await;
        l.fill(
            "form.milestone-report textarea[name=summary]",
            "按任务书完成",
        )
        .await;
        l.click("form.milestone-report button[type=submit]").await;
        assert!(
            l.text("#flash").await.contains("报告时间节点"),
            "{}",
            l.text("#flash").await
        );
        l.close().await;
    }

    // --- Third-party evaluation, success, the published success list.
    app.clock.set("2027-01-15");
    let m = Browser::open(&driver, &app.base, "consortium-ministry").await;
    m.sign_in(&ministry).await;
    m.go("/ui/calls/2025").await;
    m.click_here("details.third-party-evaluation summary").await;
    m.fill(
        "form.third-party-evaluation input[name=evaluator]",
        "示例第三方评价机构",
    )
    .await;
    m.fill(
        "form.third-party-evaluation textarea[name=summary]",
        "达到任务书目标",
    )
    .await;
    m.click("form.third-party-evaluation button[type=submit]")
        .await;
    m.click_here("details.success summary").await;
    m.click("form.success button[type=submit]").await;
    assert!(m.text("#flash").await.contains("揭榜成功"));
    m.click_here("details.list-publication summary").await;
    m.click("form.list-publication button[type=submit]").await;
    assert!(m.text("#published").await.contains("揭榜成功名单"));
    assert!(
        m.text("#published")
            .await
            .contains("南京示例生物装备有限公司"),
        "the published lists name the units"
    );
    assert_eq!(
        m.text("#bids tr[data-bid=js-rs-1] td.status").await,
        "揭榜成功"
    );
    assert_eq!(
        m.text("#call-tasks tr[data-key=rs-1] td:last-child").await,
        "1",
        "one success for the task"
    );
    m.shot("call-success").await;
    m.click_here("#download-call-xlsx").await;
    let xlsx = downloaded(&m.downloads, "call-2025").await;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    use calamine::Reader;
    assert_eq!(book.sheet_names(), ["分任务", "分省"]);
    let tasks = book.worksheet_range("分任务").unwrap();
    assert_eq!(tasks.height(), 2 + 2, "two header rows and the two tasks");
    m.phone_pages(&[
        ("/ui/calls", "phone-calls"),
        ("/ui/calls/2025", "phone-call"),
    ])
    .await;
    m.close().await;

    // --- Anyone, without signing in, reads the published success list.
    let o = Browser::open(&driver, &app.base, "consortium-public").await;
    o.go("/public/calls").await;
    assert_eq!(
        o.count("table.published[data-task=rs-1][data-list=success] tbody tr")
            .await,
        1
    );
    assert!(o
        .text("table.published[data-list=success]")
        .await
        .contains("南京示例生物装备有限公司"));
    o.shot("public-call-success").await;
    o.close().await;
    drop(driver.process);
}

/// RULES.md §13: the public pages read without a session, at desktop and phone width: the
/// roster by batch with a search, a profile, the notice, the competition's lists, in Chinese
/// and in English.
async fn the_public_pages_read_without_signing_in() {
    if !browser_available() {
        return;
    }
    let _not_during_broker_faults = crate::broker::BROKER.read().await;
    let app = spawn_app(Kind::Sqlite).await;
    app.load_demo().await;
    let driver = Driver::start().await;
    let b = Browser::open(&driver, &app.base, "public").await;
    b.go("/public?as_of=2026-11-20").await;
    assert_eq!(b.text("main h1").await, "平台名单");
    let rows = b.count("table.public-roster tbody tr").await;
    assert!(rows > 5, "{rows} rows");
    assert_eq!(b.text("section.batch[data-batch='1'] h2").await, "第一批");
    b.shot("public-roster").await;
    let unit = b
        .text("table.public-roster tbody tr:first-child td:nth-child(2)")
        .await;
    b.fill("#public-filters input[name=search]", &unit).await;
    b.click("#public-filters button[type=submit]").await;
    assert_eq!(b.count("table.public-roster tbody tr").await, 1);
    assert_eq!(
        b.text("table.public-roster tbody tr td.num").await,
        "1",
        "a search keeps the 序号"
    );
    b.click("table.public-roster tbody tr a").await;
    assert!(b.text("#profile").await.contains("第一批"));
    assert!(
        b.text("#services").await.contains("中试放大"),
        "the services the platform offers"
    );
    assert!(b.count("#vessels tbody tr").await > 0);
    b.shot("public-profile").await;
    b.go("/public/notice?on=2025-11-22").await;
    assert!(b.count("#notice tbody tr").await > 0);
    b.shot("public-notice").await;
    b.go("/public/calls").await;
    assert!(b.text("main").await.contains("揭榜成功名单"));
    // The directory: a fermentation vessel of at least 5,000 L.
    b.go("/public/directory").await;
    b.select(
        "#directory-filters select[name=vessel_kind]",
        "fermentation",
    )
    .await;
    b.fill("#directory-filters input[name=min_vessel_l]", "5000")
        .await;
    b.click("#directory-filters button[type=submit]").await;
    assert!(b.count("#directory tbody tr").await > 0);
    b.shot("public-directory").await;
    // English, and back on the page the switch was clicked on.
    b.go("/public").await;
    b.click("#lang-switch").await;
    assert_eq!(b.text("main h1").await, "Roster");
    b.shot("public-roster-en").await;
    b.click("#lang-switch").await;
    b.phone_pages(&[
        ("/public?as_of=2026-11-20", "phone-public-roster"),
        ("/public/notice?on=2025-11-22", "phone-public-notice"),
        ("/public/calls", "phone-public-calls"),
        (
            "/public/directory?vessel_kind=fermentation&min_vessel_l=5000",
            "phone-public-directory",
        ),
    ])
    .await;
    b.close().await;
    drop(driver.process);
}

/// RULES.md §13, R-5: someone without an account files an objection with an attachment on the
/// public notice page (at phone width); it reaches the ministry's inbox, the ministry reads who
/// objected and decides it on the platform's page, and the platform can then be listed.
async fn an_objection_from_the_public_reaches_the_ministry() {
    if !browser_available() {
        return;
    }
    let _not_during_broker_faults = crate::broker::BROKER.read().await;
    let app = spawn_app(Kind::Sqlite).await;
    let a = crate::api::actors(&app).await;
    let (id, _) = crate::public::on_notice(&app, &a).await;
    app.clock.set("2025-11-24");
    let driver = Driver::start().await;
    let o = Browser::open(&driver, &app.base, "objector").await;
    o.client.set_window_size(390, 844).await.unwrap();
    o.go("/public/notice").await;
    o.click(&format!("#notice tr[data-platform='{id}'] a.object"))
        .await;
    assert!(o.fits_width().await, "the objection form fits a phone");
    o.fill("#objection input[name=name]", "赵异议人").await;
    o.fill("#objection input[name=contact]", "zhao@example.org")
        .await;
    o.fill(
        "#objection textarea[name=grounds]",
        "申报的用房面积与实际不符，附现场照片说明",
    )
    .await;
    let pdf = artefacts().join("objection.pdf");
    std::fs::write(&pdf, crate::applying::PDF).unwrap();
    o.client
        .find(Locator::Css("#objection input[type=file][name=file]"))
        .await
        .unwrap()
        .send_keys(pdf.to_str().unwrap())
        .await
        .unwrap();
    o.shot("objection-form").await;
    o.click("#file-objection").await;
    let objection_id = o.text("#objection-id").await;
    assert!(objection_id.starts_with("obj-"), "{objection_id}");
    o.shot("objection-receipt").await;
    o.close().await;

    // The ministry: in its inbox, decided on the platform's page with the objection's id.
    app.clock.set("2025-11-27");
    let m = Browser::open(&driver, &app.base, "objection-ministry").await;
    m.sign_in(&a.ministry).await;
    m.go("/ui/inbox").await;
    assert_eq!(
        m.count(&format!(
            "#inbox tr[data-act=RecordNoticeObjection][data-platform='{id}']"
        ))
        .await,
        1
    );
    m.go(&format!("/ui/platforms/{id}")).await;
    let row = format!("#objections tr[data-objection='{objection_id}']");
    assert!(m.text(&row).await.contains("赵异议人"));
    assert!(m.text(&row).await.contains("zhao@example.org"));
    assert_eq!(m.count(&format!("{row} a[href*='/files/']")).await, 1);
    m.shot("objection-on-platform").await;
    m.click_here("details.objection summary").await;
    m.fill("form.objection [name=summary]", "经现场核查，用房面积属实")
        .await;
    m.select("form.objection select[name=upheld]", "no").await;
    m.fill("form.objection [name=objection_id]", &objection_id)
        .await;
    m.click("form.objection button[type=submit]").await;
    assert!(
        m.text("#flash").await.contains("已受理"),
        "{}",
        m.text("#flash").await
    );
    assert_eq!(m.text(&format!("{row} td.decision")).await, "不成立");
    m.close().await;
    drop(driver.process);
}

/// RULES.md §13, K-2: an enterprise without an account posts a need from its phone; it reaches
/// the listed platform that matches, whose applicant finds it in the inbox and records the
/// contract on the platform's page.
async fn a_need_from_an_enterprise_reaches_the_platform_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let _not_during_broker_faults = crate::broker::BROKER.read().await;
    let app = spawn_app(Kind::Sqlite).await;
    let a = crate::api::actors(&app).await;
    let (id, owner) = crate::public::listed_offering(&app, &a, json!(["scale_up"])).await;
    let driver = Driver::start().await;
    let e = Browser::open(&driver, &app.base, "enterprise").await;
    e.client.set_window_size(390, 844).await.unwrap();
    e.go("/public/directory").await;
    e.click("#need-link").await;
    assert!(e.fits_width().await, "the need form fits a phone");
    e.fill(
        "#need input[name=enterprise_name]",
        "深圳示例生物科技有限公司",
    )
    .await;
    e.fill("#need input[name=enterprise_uscc]", "91440300708461136t")
        .await;
    e.fill("#need input[name=contact]", "王经理 0755-12345678")
        .await;
    e.fill(
        "#need textarea[name=description]",
        "5000 升发酵中试，三个月内完成",
    )
    .await;
    e.select("#need select[name=domain]", "enzymes").await;
    e.click_here("#need input[name=services][value=scale_up]")
        .await;
    e.fill("#need input[name=min_vessel_l]", "5000").await;
    e.shot("need-form").await;
    e.click("#post-need").await;
    let need_id = e.text("#need-id").await;
    assert!(need_id.starts_with("need-"), "{need_id}");
    assert_eq!(
        e.count(&format!("#reached tr[data-platform='{id}']")).await,
        1
    );
    e.shot("need-receipt").await;
    e.close().await;

    app.clock.set("2026-02-01");
    let p = Browser::open(&driver, &app.base, "need-platform").await;
    p.sign_in(&owner).await;
    p.go("/ui/inbox").await;
    assert_eq!(
        p.count(&format!(
            "#inbox tr[data-act=RespondToNeed][data-platform='{id}']"
        ))
        .await,
        1
    );
    p.go(&format!("/ui/platforms/{id}")).await;
    let row = format!("#needs tr[data-need='{need_id}']");
    assert!(p.text(&row).await.contains("王经理 0755-12345678"));
    p.click_here("details.need-response summary").await;
    p.fill("form.need-response [name=need_id]", &need_id).await;
    p.select(
        "form.need-response select[name='answer.kind']",
        "contracted",
    )
    .await;
    p.set_value("form.need-response [name='answer.signed_on']", "2026-01-20")
        .await;
    p.fill("form.need-response [name='answer.contract_cny']", "500,000")
        .await;
    p.click("form.need-response button[type=submit]").await;
    assert!(
        p.text("#flash").await.contains("已受理"),
        "{}",
        p.text("#flash").await
    );
    assert!(p.text(&format!("{row} td.answer")).await.contains("已签约"));
    p.shot("need-contracted").await;
    p.close().await;
    drop(driver.process);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_need_from_an_enterprise_reaches_the_platform_in_a_real_browser_on_sqlite() {
    a_need_from_an_enterprise_reaches_the_platform_in_a_real_browser().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_objection_from_the_public_reaches_the_ministry_on_sqlite() {
    an_objection_from_the_public_reaches_the_ministry().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_pages_read_without_signing_in_on_sqlite() {
    the_public_pages_read_without_signing_in().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consortium_goes_to_the_success_list_in_a_real_browser_on_sqlite() {
    a_consortium_goes_to_the_success_list_in_a_real_browser().await;
}
