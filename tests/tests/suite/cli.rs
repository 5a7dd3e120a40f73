//! The CLI's import and demo, on SQLite and PostgreSQL: line-numbered refusals, nothing applied
//! from a file with a malformed line, idempotent re-runs.

use roster_domain::samples::{form_json, GD_USCC};
use serde_json::json;

use crate::app::TestApp;

fn line(
    command_id: u128,
    on: &str,
    actor: serde_json::Value,
    platform_id: Option<&str>,
    command: serde_json::Value,
) -> String {
    let mut v = json!({"command_id": uuid::Uuid::from_u128(command_id), "business_date": on, "actor": actor, "command": command});
    if let Some(p) = platform_id {
        v["platform_id"] = json!(p);
    }
    v.to_string()
}

/// The file's lines are history (2025 dates for applicants and cities): an operator migrates them.
fn history() -> roster::import::Mode {
    roster::import::Mode::Backfill {
        operator: "test-operator".into(),
    }
}

fn file() -> String {
    let mut round = serde_json::to_value(roster_domain::samples::round_2025()).unwrap();
    round["type"] = json!("OpenRound");
    let mut submit = json!({"type": "SubmitApplication", "round_id": "2025", "form": form_json(GD_USCC, "44", "440300", &["enzymes"])});
    submit["form"]["site"]["area_m2"] = json!(1500);
    [
        "# an import file: one command envelope per line".to_string(),
        line(
            1,
            "2025-06-16",
            json!({"id": "clerk-m", "role": "ministry"}),
            None,
            round,
        ),
        line(
            2,
            "2025-07-01",
            json!({"id": "unit", "role": "applicant", "jurisdiction": GD_USCC}),
            Some("gd-imp"),
            submit,
        ),
        line(
            3,
            "2025-07-08",
            json!({"id": "js", "role": "province", "jurisdiction": "32"}),
            Some("gd-imp"),
            json!({"type": "RecommendByProvince", "opinion": "推荐"}),
        ),
        String::new(),
        line(
            4,
            "2025-07-08",
            json!({"id": "sz", "role": "city", "jurisdiction": "440300"}),
            Some("gd-imp"),
            json!({"type": "EndorseByCity", "opinion": "同意"}),
        ),
    ]
    .join("\n")
}

pub(crate) async fn import_reports_refused_lines_and_reruns_safely(app: TestApp) {
    let report = roster::import::import(&app.cli(), &file(), false, &history()).await;
    assert!(!report.aborted);
    assert_eq!(
        (report.lines, report.accepted, report.duplicates),
        (4, 3, 0)
    );
    assert_eq!(report.refused.len(), 1);
    assert_eq!(
        report.refused[0].0, 4,
        "line numbers count every line of the file"
    );
    assert_eq!(
        report.refused[0].1.code, "not_found",
        "Jiangsu does not see Guangdong's applicant"
    );
    let events = app.all_events().await.len();
    let again = roster::import::import(&app.cli(), &file(), false, &history()).await;
    assert_eq!(
        (again.accepted, again.duplicates, again.refused.len()),
        (0, 3, 1)
    );
    assert_eq!(
        app.all_events().await.len(),
        events,
        "a re-run appends nothing"
    );
}

pub(crate) async fn import_with_a_malformed_line_applies_nothing(app: TestApp) {
    let text = format!("{}\n{{\"command_id\": \"not-a-uuid\"\n{}", file(), "[1,2]");
    let report = roster::import::import(&app.cli(), &text, false, &history()).await;
    assert!(report.aborted);
    let lines: Vec<usize> = report.refused.iter().map(|r| r.0).collect();
    assert_eq!(lines, vec![7, 8]);
    assert_eq!(app.all_events().await.len(), 0);
    let bad_actor = line(
        9,
        "2025-06-16",
        json!({"id": "x", "role": "emperor"}),
        None,
        json!({"type": "OpenRound"}),
    );
    let report = roster::import::import(&app.cli(), &bad_actor, false, &history()).await;
    assert_eq!(report.refused[0].1.field.as_deref(), Some("actor"));
}

pub(crate) async fn demo_loads_through_the_command_path_once(app: TestApp) {
    let first = roster::demo::load(&app.cli(), "test-operator")
        .await
        .expect("demo loads");
    assert!(first.accepted > 150, "{}", first.accepted);
    // Guangdong's sixth recommendation and the sixth shortlisting of task rs-1 (C-6).
    assert_eq!(
        first.refused_as_meant.len(),
        2,
        "{:?}",
        first.refused_as_meant
    );
    assert!(first.refused_as_meant[0].1.starts_with("R-1"));
    assert!(first.refused_as_meant[1].1.starts_with("C-6"));
    // The scheduler flags the demo's overdue milestone (C-8) once; settle it before counting.
    app.state.automate().await.expect("automation settles");
    let events = app.all_events().await.len();
    let second = roster::demo::load(&app.cli(), "test-operator")
        .await
        .expect("demo reloads");
    assert_eq!(
        (second.accepted, second.already_loaded),
        (0, first.accepted)
    );
    assert_eq!(app.all_events().await.len(), events);
    // `roster status` lists the triennial reviews the 12 listings scheduled (D-1, D-2).
    let status = serde_json::to_value(roster::admin::status(&app.cli()).await.expect("status"))
        .expect("status as JSON");
    assert_eq!(
        status["deadlines"]["pending"], 12,
        "{}",
        status["deadlines"]
    );
    assert!(status["deadlines"]["next"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["fire_on"] == "2028-09-02" && d["due_on"] == "2028-12-01"));
    let ministry = app.token(roster_domain::actor::Role::Ministry, None).await;
    let listed = app
        .get(Some(&ministry), "/api/v1/platforms?status=listed")
        .await;
    assert_eq!(listed.body["total"], 12, "{:?}", listed.body["total"]);
    let warned = app
        .get(Some(&ministry), "/api/v1/platforms/sd-qd-enzyme")
        .await;
    let recommended = warned.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "ProvinceRecommended")
        .unwrap()
        .clone();
    assert!(recommended["payload"]["warnings"][0]
        .as_str()
        .unwrap()
        .starts_with("R-2"));
    // The KPIs of the README's walkthrough: the product two platforms report (once in
    // full-width letters) counts once; the retracted service never counts.
    let analyst = app.token(roster_domain::actor::Role::Analyst, None).await;
    let kpi = app
        .get(Some(&analyst), "/api/v1/reports/kpi?as_of=2026-11-21")
        .await;
    let values: Vec<u64> = kpi.body["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_u64().unwrap())
        .collect();
    assert_eq!(values, [12, 39, 37, 3, 2], "{}", kpi.body["values"]);
}

/// RULES.md §12: an import that is not a backfill records acts as they happen, so the same file's
/// 2025 applicant and city lines are refused naming `business_date` (a ministry line may state a
/// past date), and nothing of them is stored; the backfill marks every event and names the
/// operator in the audit log.
pub(crate) async fn only_a_backfill_import_keeps_past_dates_of_applicants_and_cities(app: TestApp) {
    let live =
        roster::import::import(&app.cli(), &file(), false, &roster::import::Mode::Live).await;
    assert_eq!(
        (live.accepted, live.refused.len()),
        (1, 3),
        "{:?}",
        live.refused
    );
    for (line, r) in &live.refused {
        assert_eq!(r.code, "business_date_not_today", "line {line}: {r:?}");
        assert_eq!(r.field.as_deref(), Some("business_date"));
    }
    let events = app.all_events().await;
    assert!(
        events.iter().all(|e| e.stream_id == "round-2025"),
        "only the ministry's round was recorded"
    );
    assert!(events.iter().all(|e| e.metadata.backfilled_by.is_none()));
    let report = roster::import::import(&app.cli(), &file(), false, &history()).await;
    assert_eq!(report.accepted, 2, "{:?}", report.refused);
    let platform: Vec<_> = app
        .all_events()
        .await
        .into_iter()
        .filter(|e| e.stream_id == "platform-gd-imp")
        .collect();
    assert!(!platform.is_empty());
    for e in &platform {
        assert_eq!(e.metadata.backfilled_by.as_deref(), Some("test-operator"));
        assert!(e.metadata.late_entry(), "recorded long after 2025");
    }
    let audit = app.store.audit_log(100).await.unwrap();
    let accepted: Vec<_> = audit
        .iter()
        .filter(|a| a.outcome == "accepted" && a.target.as_deref() == Some("platform-gd-imp"))
        .collect();
    assert_eq!(accepted.len(), 2);
    for a in accepted {
        let detail = a.detail.as_deref().unwrap_or_default();
        assert!(
            detail.contains("backfilled by operator test-operator")
                && detail.contains("late entry"),
            "{detail}"
        );
    }
}

on_every_store!(
    only_a_backfill_import_keeps_past_dates_of_applicants_and_cities,
    import_reports_refused_lines_and_reruns_safely,
    import_with_a_malformed_line_applies_nothing,
    demo_loads_through_the_command_path_once,
);
