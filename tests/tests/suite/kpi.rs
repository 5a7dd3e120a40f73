//! KPI analytics (RULES.md §8) end to end: commands through the HTTP API, the `kpi` read model kept
//! by the server's own automation, the report over HTTP (JSON, CSV, XLSX) and from the CLI, on
//! the embedded default and on PostgreSQL. Recorded times follow a simulated clock, so "as known
//! at" can be tested against a retraction made later.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use roster_domain::actor::Role;
use roster_domain::policies::PolicyConfig;
use roster_domain::samples::{form_json, uscc_with_check};
use serde_json::{json, Value};

use crate::api::{actors, cmd, Actors};
use crate::app::{spawn_app_with, Kind, SimClock, TestApp};
use crate::dynamic::{listed_platform, settle};

fn enterprise(n: usize) -> String {
    uscc_with_check(&format!("91440300{:09}", 500_000_000 + n))
}

async fn service(app: &TestApp, a: &Actors, id: &str, dated: &str, record: Value) -> Value {
    let r = app
        .post(
            &a.ministry,
            &format!("/api/v1/platforms/{id}/service"),
            &cmd(dated, json!({"dated": dated, "record": record})),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

fn served(n: usize) -> Value {
    json!({"kind": "enterprise_served", "enterprise_uscc": enterprise(n),
           "enterprise_name": "受服务企业", "contract_cny": 200000})
}

/// A Jiangsu platform listed on `listed_on` (Jiangsu needs no city endorsement in 2025).
async fn jiangsu_platform(app: &TestApp, a: &Actors, listed_on: &str) -> String {
    let uscc = uscc_with_check("91320100MA1000001");
    let applicant = app.token(Role::Applicant, Some(&uscc)).await;
    let id = "js-1";
    let form = form_json(&uscc, "32", "320100", &["chemicals", "enzymes"]);
    let steps: [(&str, &str, &str, Value); 5] = [
        (
            &applicant,
            "application",
            "2025-07-01",
            json!({"round_id": "2025", "form": form}),
        ),
        (
            &a.js,
            "province-recommendation",
            "2025-07-09",
            json!({"opinion": "推荐"}),
        ),
        (
            &a.ministry,
            "expert-evaluation",
            "2025-09-20",
            json!({"score": 90, "passed": true}),
        ),
        (
            &a.ministry,
            "public-notice",
            "2025-11-20",
            json!({"from": "2025-11-20", "until": "2025-11-26"}),
        ),
        (&a.ministry, "listing", listed_on, json!({})),
    ];
    for (token, action, on, body) in steps {
        let r = app
            .act(token, &format!("/api/v1/platforms/{id}/{action}"), on, body)
            .await;
        assert_eq!(r.status, 201, "{action}: {:?}", r.body);
    }
    id.to_string()
}

fn kpi(report: &Value, metric: &str) -> u64 {
    report["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["metric"] == metric)
        .unwrap_or_else(|| panic!("{metric} in {report}"))["value"]
        .as_u64()
        .unwrap()
}

fn target<'a>(report: &'a Value, set: &str, metric: &str) -> &'a Value {
    report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target_set_id"] == set && t["metric"] == metric)
        .unwrap_or_else(|| panic!("{set}/{metric} in {report}"))
}

async fn report(app: &TestApp, token: &str, query: &str) -> Value {
    let r = app
        .get(Some(token), &format!("/api/v1/reports/kpi?{query}"))
        .await;
    assert_eq!(r.status, 200, "{query}: {:?}", r.body);
    r.body
}

/// The scenario: two Guangdong platforms and one Jiangsu platform listed in December 2025; the
/// same enterprise served by all three; a product reported twice in other width and case; a
/// record dated before the listing; a retraction in September of a January record; a
/// provincial target set; the report as of dates and as known at the publication time.
pub(crate) async fn kpis_on_both_time_axes_through_http(kind: Kind) {
    let clock = SimClock::at("2025-06-16");
    let app = spawn_app_with(kind, clock.clone(), PolicyConfig::default()).await;
    let a = actors(&app).await;
    let gd0 = listed_platform(&app, &a, 0, "2025-12-01").await;
    let gd1 = listed_platform(&app, &a, 1, "2025-12-01").await;
    let js = jiangsu_platform(&app, &a, "2025-12-01").await;

    clock.set("2026-01-31");
    let shared = served(1);
    service(&app, &a, &gd0, "2026-01-10", shared.clone()).await;
    service(&app, &a, &gd1, "2026-01-11", shared.clone()).await;
    service(&app, &a, &js, "2026-01-12", shared).await;
    let wrong = service(&app, &a, &gd0, "2026-01-15", served(2)).await;
    service(&app, &a, &gd0, "2025-11-30", served(3)).await; // before the listing
    let owner = enterprise(9);
    service(
        &app,
        &a,
        &gd0,
        "2026-01-20",
        json!({"kind": "product_incubated",
        "product_name": "PHA 可降解材料", "owner_uscc": owner, "domain": "enzymes"}),
    )
    .await;
    service(
        &app,
        &a,
        &js,
        "2026-01-21",
        json!({"kind": "product_incubated",
        "product_name": " ｐｈａ　可降解材料", "owner_uscc": owner, "domain": "chemicals"}),
    )
    .await;
    settle(&app).await;
    let published = report(&app, &a.analyst, "as_of=2026-01-31").await;
    assert_eq!(kpi(&published, "listed_platforms"), 3);
    assert_eq!(kpi(&published, "served_enterprises"), 2, "{published}");
    assert_eq!(kpi(&published, "incubated_products"), 1);
    let published_at = "2026-01-31T23:59:59+08:00";

    // September: the January record was wrong.
    clock.set("2026-09-01");
    let service_id = wrong["events"][0]["event_id"].as_str().unwrap().to_string();
    let events = app.all_events().await;
    let recorded = events
        .iter()
        .find(|e| e.event_id.to_string() == service_id)
        .unwrap();
    let retraction = app
        .post(
            &a.ministry,
            &format!("/api/v1/platforms/{gd0}/service-retraction"),
            &cmd(
                "2026-09-01",
                json!({"service_id": recorded.payload["service_id"], "reason": "重复上报"}),
            ),
        )
        .await;
    assert_eq!(retraction.status, 201, "{:?}", retraction.body);
    settle(&app).await;

    // History is repaired at every as-of date …
    let now = report(&app, &a.analyst, "as_of=2026-01-31").await;
    assert_eq!(kpi(&now, "served_enterprises"), 1);
    let before = report(&app, &a.analyst, "as_of=2026-01-14").await;
    assert_eq!(kpi(&before, "served_enterprises"), 1);
    // … while the published figure is reproduced as known at its publication.
    let then = report(
        &app,
        &a.analyst,
        &format!(
            "as_of=2026-01-31&known_at={}",
            published_at.replace('+', "%2B")
        ),
    )
    .await;
    assert_eq!(kpi(&then, "served_enterprises"), 2);
    assert_eq!(then["known_at"], "2026-01-31T15:59:59Z");

    // National targets: K-2 > 200 not met, gap counted to 201.
    let t = target(&now, "national-2027", "served_enterprises");
    assert_eq!(
        (t["comparator"].as_str(), t["threshold"].as_u64()),
        (Some(">"), Some(200))
    );
    assert_eq!(
        (t["met"].as_bool(), t["gap"].as_u64()),
        (Some(false), Some(200))
    );

    // Breakdowns: the enterprise in each province once, the total deduplicated; the
    // multi-domain Jiangsu platform in chemicals and enzymes.
    let rows = |dim: &str| -> Vec<(String, u64, u64)> {
        now[dim]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["key"].as_str().unwrap().to_string(),
                    r["listed_platforms"].as_u64().unwrap(),
                    r["served_enterprises"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        rows("by_province"),
        [
            ("32".into(), 1, 1),
            ("44".into(), 2, 1),
            ("total".into(), 3, 1)
        ]
    );
    let domains = rows("by_domain");
    assert!(domains.contains(&("chemicals".into(), 1, 1)), "{domains:?}");
    assert!(domains.contains(&("enzymes".into(), 2, 1)), "{domains:?}");

    // Target sets as data: an analyst defines a provincial plan; Guangdong may not define one
    // for Jiangsu; the report shows it.
    let plan = json!({"target_set_id": "jiangsu-2027", "name": "江苏省2027年目标",
        "targets": [{"metric": "served_enterprises", "province": "32", "comparator": ">=",
                     "threshold": 10, "deadline": "2027-12-31"}]});
    clock.set("2026-09-02");
    let refused = app
        .post(&a.gd, "/api/v1/targets", &cmd("2026-09-02", plan.clone()))
        .await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    let defined = app
        .post(&a.analyst, "/api/v1/targets", &cmd("2026-09-02", plan))
        .await;
    assert_eq!(defined.status, 201, "{:?}", defined.body);
    let bad = app
        .post(
            &a.analyst,
            "/api/v1/targets",
            &cmd("2026-09-02", json!({"target_set_id": "x", "name": "x", "targets": [
                {"metric": "served_enterprises", "comparator": "<", "threshold": 1, "deadline": "2027-12-31"}]})),
        )
        .await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    assert_eq!(bad.body["field"], "targets[0].comparator", "{:?}", bad.body);
    settle(&app).await;
    let with_plan = report(&app, &a.analyst, "as_of=2026-09-30").await;
    let js_target = target(&with_plan, "jiangsu-2027", "served_enterprises");
    assert_eq!(
        (
            js_target["value"].as_u64(),
            js_target["gap"].as_u64(),
            js_target["scope"].as_str()
        ),
        (Some(1), Some(9), Some("province=32"))
    );
    let listed = app.get(Some(&a.analyst), "/api/v1/targets").await;
    assert_eq!(listed.body["target_sets"].as_array().unwrap().len(), 2);

    // A province sees the report over its own platforms; a city has none.
    let gd_view = report(&app, &a.gd, "as_of=2026-09-30").await;
    assert_eq!(kpi(&gd_view, "listed_platforms"), 2);
    assert_eq!(gd_view["scope"], "province=44");
    let city = app
        .get(Some(&a.shenzhen), "/api/v1/reports/kpi?as_of=2026-09-30")
        .await;
    assert_eq!(city.status, 403);
    let bad_date = app
        .get(Some(&a.analyst), "/api/v1/reports/kpi?as_of=2026-02-30")
        .await;
    assert_eq!(
        (bad_date.status, bad_date.body["field"].as_str()),
        (400, Some("as_of"))
    );
    let bad_known = app
        .get(Some(&a.analyst), "/api/v1/reports/kpi?known_at=yesterday")
        .await;
    assert_eq!(
        (bad_known.status, bad_known.body["field"].as_str()),
        (400, Some("known_at"))
    );

    // The same content as CSV and as a workbook.
    let csv = app
        .get(
            Some(&a.analyst),
            "/api/v1/reports/kpi?as_of=2026-09-30&format=csv&view=province",
        )
        .await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let text = csv.body.as_str().unwrap().trim_start_matches('\u{feff}');
    assert!(
        text.starts_with("key,name_zh,name_en,listed_platforms,served_enterprises"),
        "{text}"
    );
    assert!(text.contains("44,广东省,Guangdong,2,1,"), "{text}");
    let xlsx = app
        .get_bytes(
            Some(&a.analyst),
            "/api/v1/reports/kpi?as_of=2026-09-30&format=xlsx",
        )
        .await;
    let mut book = Xlsx::new(Cursor::new(xlsx)).expect("a workbook");
    assert_eq!(
        book.sheet_names(),
        [
            "报告说明",
            "目标进展",
            "指标值",
            "分省",
            "分领域",
            "分单位类型",
            "月度序列",
            "申报漏斗"
        ],
        "sheets named as the pages name the same tables"
    );
    let kpis = book.worksheet_range("指标值").unwrap();
    assert_eq!(kpis.get((0, 4)), Some(&Data::String("数值".into())));
    assert_eq!(kpis.get((1, 4)), Some(&Data::String("value".into())));
    assert_eq!(
        kpis.get((3, 1)),
        Some(&Data::String("served_enterprises".into()))
    );
    assert_eq!(kpis.get((3, 4)), Some(&Data::Float(1.0)));
    let targets = book.worksheet_range("目标进展").unwrap();
    assert_eq!(targets.get((0, 0)), Some(&Data::String("目标集".into())));
    assert_eq!(targets.height(), 2 + 4, "two header rows and four targets");

    // The CLI prints the same report from the same read model.
    let cli = app.cli();
    let dir = tempdir();
    let out = dir.join("kpi.json");
    roster::kpi::report(
        &cli,
        roster::kpi::KpiArgs {
            as_of: Some(chrono::NaiveDate::from_ymd_opt(2026, 9, 30).unwrap()),
            known_at: None,
            target_set: None,
            round: None,
            view: None,
            output: Some(out.clone()),
        },
        roster::admin::Format::Json,
    )
    .await
    .unwrap();
    let from_cli: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(from_cli["values"], with_plan["values"]);
    assert_eq!(from_cli["targets"], with_plan["targets"]);
    let xlsx_out = dir.join("kpi.xlsx");
    roster::kpi::report(
        &cli,
        roster::kpi::KpiArgs {
            as_of: Some(chrono::NaiveDate::from_ymd_opt(2026, 9, 30).unwrap()),
            known_at: Some(published_at.into()),
            target_set: Some("national-2027".into()),
            round: None,
            view: None,
            output: Some(xlsx_out.clone()),
        },
        roster::admin::Format::Xlsx,
    )
    .await
    .unwrap();
    let mut book: Xlsx<_> = calamine::open_workbook(&xlsx_out).unwrap();
    let targets = book.worksheet_range("目标进展").unwrap();
    assert_eq!(
        targets.height(),
        2 + 3,
        "the national set only, as known in January"
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("roster-kpi-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn kpis_on_both_time_axes_through_http() {
        super::kpis_on_both_time_axes_through_http(crate::app::Kind::Sqlite).await;
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn kpis_on_both_time_axes_through_http() {
        super::kpis_on_both_time_axes_through_http(crate::app::Kind::Postgres).await;
    }
}
