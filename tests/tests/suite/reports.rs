//! The read models through the API, on SQLite and PostgreSQL, after the demo: the roster as of
//! dates (JSON and CSV), funnel, reviews, incidents, timeline, status and metrics; and a rebuild
//! from the event store gives exactly the documents the live projections hold.

use roster_domain::actor::Role;
use roster_projections::models;

use crate::app::TestApp;

async fn demo(app: &TestApp) -> String {
    app.load_demo().await;
    let t = app.token(Role::Analyst, None).await;
    settle(app, &t).await;
    t
}

/// Waits (bounded) until the local projections have applied every stored event. The store's
/// reader shows a commit once every older transaction of the cluster has ended (other tests'
/// databases included), so right after a burst of writes the models may briefly lag.
async fn settle(app: &TestApp, token: &str) -> serde_json::Value {
    let stored = app.all_events().await.len() as u64;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        app.get(Some(token), "/api/v1/roster").await;
        let status = app.get(Some(token), "/api/v1/status").await;
        let settled = status.body["events"] == stored
            && status.body["projections"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["lag"] == 0);
        if settled || std::time::Instant::now() > deadline {
            return status.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

pub(crate) async fn roster_as_of_dates_and_csv(app: TestApp) {
    let t = demo(&app).await;
    let count = |body: &serde_json::Value| body["total"].as_u64().unwrap();
    assert_eq!(
        count(
            &app.get(Some(&t), "/api/v1/roster?as_of=2025-11-30")
                .await
                .body
        ),
        0
    );
    assert_eq!(
        count(
            &app.get(Some(&t), "/api/v1/roster?as_of=2025-12-01")
                .await
                .body
        ),
        12
    );
    assert_eq!(
        count(
            &app.get(Some(&t), "/api/v1/roster?as_of=2025-12-01&province=44")
                .await
                .body
        ),
        4
    );
    assert_eq!(
        count(
            &app.get(Some(&t), "/api/v1/roster?as_of=2026-12-01&stars=5")
                .await
                .body
        ),
        4
    );
    assert_eq!(
        count(
            &app.get(Some(&t), "/api/v1/roster?as_of=2025-07-11&status=rejected")
                .await
                .body
        ),
        1
    );
    let enzymes = app
        .get(Some(&t), "/api/v1/roster?as_of=2026-01-01&domain=enzymes")
        .await;
    assert_eq!(count(&enzymes.body), 3, "{:?}", enzymes.body);
    let csv = app
        .get(Some(&t), "/api/v1/roster?as_of=2025-12-01&format=csv")
        .await;
    assert!(csv.content_type.starts_with("text/csv"));
    let text = csv.body.as_str().unwrap();
    assert_eq!(text.lines().count(), 13, "header + 12 rows");
    assert!(text.lines().next().unwrap().contains("platform_id"));
    let bad = app.get(Some(&t), "/api/v1/roster?as_of=2025-02-30").await;
    assert_eq!(
        (bad.status, bad.body["field"].as_str()),
        (400, Some("as_of"))
    );
    let unknown = app.get(Some(&t), "/api/v1/roster?colour=red").await;
    assert_eq!(
        (unknown.status, unknown.body["field"].as_str()),
        (400, Some("colour"))
    );
    let gd = app.token(Role::Province, Some("44")).await;
    assert_eq!(
        count(
            &app.get(Some(&gd), "/api/v1/roster?as_of=2026-01-01")
                .await
                .body
        ),
        4,
        "a province sees its own"
    );
}

pub(crate) async fn funnel_reviews_incidents_timeline(app: TestApp) {
    let t = demo(&app).await;
    let funnel = app
        .get(Some(&t), "/api/v1/funnel?round=2025&as_of=2025-12-31")
        .await;
    let total = funnel.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["province"] == "total")
        .unwrap()
        .clone();
    assert_eq!(
        (
            total["submitted"].as_u64(),
            total["recommended"].as_u64(),
            total["listed"].as_u64(),
            total["rejected"].as_u64(),
            total["withdrawn"].as_u64()
        ),
        (Some(16), Some(13), Some(12), Some(1), Some(1))
    );
    let reviews = app.get(Some(&t), "/api/v1/reviews?as_of=2028-12-02").await;
    let overdue_or_due: Vec<_> = reviews.body["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["trigger"] == "triennial")
        .collect();
    assert_eq!(overdue_or_due.len(), 12);
    assert!(overdue_or_due
        .iter()
        .all(|r| r["state"] == "not_yet_opened" && r["due_on"] == "2028-12-01"));
    let incidents = app
        .get(Some(&t), "/api/v1/incidents?as_of=2026-05-31")
        .await;
    let list = incidents.body["incidents"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert!(
        list[0]["assessed_loss_cny"].is_null(),
        "assessed only on 06-01"
    );
    let timeline = app
        .get(Some(&t), "/api/v1/platforms/gd-dg-enzyme/timeline")
        .await;
    let entries = timeline.body["entries"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["summary"]
        .as_str()
        .unwrap()
        .contains("review incident-2026-leak-01 (incident:2026-leak-01) opened automatically by policy D-4 after incident 2026-leak-01")));
    let stranger = app.token(Role::Province, Some("32")).await;
    assert_eq!(
        app.get(Some(&stranger), "/api/v1/platforms/gd-dg-enzyme/timeline")
            .await
            .status,
        404
    );
}

pub(crate) async fn status_and_metrics_show_no_lag(app: TestApp) {
    let t = demo(&app).await;
    let applicant = app
        .token(Role::Applicant, Some(roster_domain::samples::GD_USCC))
        .await;
    assert_eq!(
        app.get(Some(&applicant), "/api/v1/status").await.status,
        403
    );
    assert_eq!(app.get(None, "/metrics").await.status, 401);
    let stored = app.all_events().await.len() as u64;
    let status = crate::app::Response {
        status: 200,
        body: settle(&app, &t).await,
        content_type: String::new(),
    };
    assert_eq!(status.body["transport"], "local");
    let events = status.body["events"].as_u64().unwrap();
    assert_eq!(events, stored);
    for p in status.body["projections"].as_array().unwrap() {
        assert_eq!(p["lag"], 0, "{p:?}");
        assert_eq!(p["dead_letters"], 0);
    }
    let metrics = app.get(Some(&t), "/metrics").await;
    let text = metrics.body.as_str().unwrap();
    assert!(
        text.contains(&format!("roster_events_stored {events}")),
        "{text}"
    );
    assert!(text.contains("roster_projection_lag_events{projection=\"roster\"} 0"));
    assert!(text.contains("# TYPE roster_command_duration_seconds histogram"));
}

pub(crate) async fn rebuild_equals_the_live_projections(app: TestApp) {
    let t = demo(&app).await;
    app.get(Some(&t), "/api/v1/roster").await;
    for p in models::all() {
        let live = app.models.scan(p.name(), "").await.unwrap();
        let done = roster_projections::local::rebuild(
            app.store.as_ref(),
            app.models.as_ref(),
            p.as_ref(),
            37,
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(done.dead_lettered, 0);
        let rebuilt = app.models.scan(p.name(), "").await.unwrap();
        assert_eq!(
            live,
            rebuilt,
            "projection {} differs after rebuild",
            p.name()
        );
        assert!(
            app.models
                .scan(&format!("{}__rebuild", p.name()), "")
                .await
                .unwrap()
                .is_empty(),
            "the shadow is gone"
        );
    }
}

on_every_store!(
    roster_as_of_dates_and_csv,
    funnel_reviews_incidents_timeline,
    status_and_metrics_show_no_lag,
    rebuild_equals_the_live_projections
);
