//! The bioreactor open competition through the API (RULES.md §9): a consortium from its bid to
//! the success list, every act at the day the clock says, on SQLite and on PostgreSQL.

use roster_domain::actor::Role;
use roster_domain::samples::uscc_with_check;
use serde_json::{json, Value};

use crate::app::{spawn_app, Kind, TestApp};

fn unit(name: &str, prefix17: &str, province: &str, reactor_user: bool) -> Value {
    json!({
        "name": name, "uscc": uscc_with_check(prefix17), "kind": "enterprise",
        "province": province, "reactor_user": reactor_user,
    })
}

fn id() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn act(app: &TestApp, token: &str, path: &str, mut body: Value) -> crate::app::Response {
    body["command_id"] = json!(id());
    app.post(token, path, &body).await
}

async fn a_consortium_goes_from_its_bid_to_the_success_list(app: &TestApp) {
    let ministry = app.token(Role::Ministry, None).await;
    app.clock.set("2025-05-20");
    let r = act(
        app,
        &ministry,
        "/api/v1/calls",
        json!({
            "call_id": "2025", "name": "高性能生物反应器创新任务揭榜挂帅",
            "opens_on": "2025-05-20", "applicant_deadline": "2025-06-30", "province_deadline": "2025-07-15",
            "tasks": [
                {"task_id": "rs-1", "name": "大规模反应器系统", "category": "reactor_system", "complete_by": "2027-12-31"},
                {"task_id": "cc-1", "name": "一次性反应袋", "category": "components_consumables", "complete_by": "2027-12-31"},
            ],
        }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);

    let lead = unit("南京示例生物装备有限公司", "91320100MA1000001", "32", false);
    let member = unit("苏州示例生物制药有限公司", "91320500MA1000002", "32", true);
    let lead_token = app
        .token(Role::Applicant, Some(lead["uscc"].as_str().unwrap()))
        .await;
    let member_token = app
        .token(Role::Applicant, Some(member["uscc"].as_str().unwrap()))
        .await;
    let jiangsu = app.token(Role::Province, Some("32")).await;
    let guangdong = app.token(Role::Province, Some("44")).await;
    let bid = |id: &str, task: &str, members: Value| {
        json!({
            "bid_id": id, "task_id": task, "lead": lead, "members": members,
            "declarations": {"no_major_accident": true, "validation_completed": true, "finalised_product_with_ip": true},
        })
    };

    // C-3: a reactor-system consortium without a reactor user is refused; with one, accepted.
    app.clock.set("2025-06-30");
    let no_user = unit("南京示例高校科技公司", "91320100MA1000003", "32", false);
    let r = act(
        app,
        &lead_token,
        "/api/v1/calls/2025/bid",
        bid("b1", "rs-1", json!([no_user])),
    )
    .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (422, Some("C-3")),
        "{}",
        r.body
    );
    let r = act(
        app,
        &lead_token,
        "/api/v1/calls/2025/bid",
        bid("b1", "rs-1", json!([member])),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Declarations name their evidence by hash: a file never uploaded is refused.
    let mut unheld = bid("b9", "cc-1", json!([]));
    unheld["declarations"]["evidence"] =
        json!([{"title": "知识产权证明", "reference": "ip.pdf", "sha256": "ab".repeat(32)}]);
    let r = act(app, &lead_token, "/api/v1/calls/2025/bid", unheld).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.body["field"], "declarations.evidence[0].sha256",
        "{}",
        r.body
    );
    // C-5: the day after the applicants' deadline, refused by the clock (a claimed date is not
    // the applicant's to state).
    app.clock.set("2025-07-01");
    let r = act(
        app,
        &lead_token,
        "/api/v1/calls/2025/bid",
        bid("b2", "cc-1", json!([])),
    )
    .await;
    assert_eq!(r.body["code"], "C-5", "{}", r.body);

    // C-7: another province sees no such bid; the lead's province recommends by 07-15.
    let r = act(
        app,
        &guangdong,
        "/api/v1/calls/2025/bid-recommendation",
        json!({"bid_id": "b1", "opinion": "推荐"}),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    app.clock.set("2025-07-15");
    let r = act(
        app,
        &jiangsu,
        "/api/v1/calls/2025/bid-recommendation",
        json!({"bid_id": "b1", "opinion": "材料真实完整，同意推荐", "expert_argumentation": "2025-07-10 专家论证"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // The ministry with CAS evaluates, shortlists, publishes, signs the agreement.
    app.clock.set("2025-08-20");
    for (path, body) in [
        (
            "bid-evaluation",
            json!({"bid_id": "b1", "score": 90, "passed": true}),
        ),
        ("shortlisting", json!({"bid_id": "b1"})),
        (
            "list-publication",
            json!({"task_id": "rs-1", "list": "shortlist"}),
        ),
        (
            "agreement",
            json!({"bid_id": "b1", "targets": ["单罐 ≥ 2000 L"], "milestones": [
                {"milestone_id": "m1", "title": "样机", "due_on": "2026-03-31"},
                {"milestone_id": "m2", "title": "示范应用", "due_on": "2026-12-31"}]}),
        ),
    ] {
        let r = act(app, &ministry, &format!("/api/v1/calls/2025/{path}"), body).await;
        assert_eq!(r.status, 201, "{path}: {}", r.body);
    }

    // Members read the bid, do not act for it; a city and another applicant see no bids.
    let seen = app.get(Some(&member_token), "/api/v1/calls/2025").await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.body["bids"][0]["status"], "under_agreement");
    assert_eq!(
        seen.body["mine"],
        json!([{"bid_id": "b1", "task_id": "rs-1", "role": "member", "status": "under_agreement"}]),
        "the member's part in the call"
    );
    let r = act(
        app,
        &member_token,
        "/api/v1/calls/2025/milestone-report",
        json!({"bid_id": "b1", "milestone_id": "m1", "summary": "样机完成"}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let other = app
        .token(Role::Applicant, Some(&uscc_with_check("91440300MA1000009")))
        .await;
    let seen = app.get(Some(&other), "/api/v1/calls/2025").await;
    assert_eq!(seen.body["bids"], json!([]), "{}", seen.body);
    assert_eq!(
        seen.body["published"]["rs-1"]["shortlist"],
        json!(["b1"]),
        "published lists are public"
    );
    assert_eq!(
        seen.body["published_units"]["b1"],
        json!(["南京示例生物装备有限公司", "苏州示例生物制药有限公司"]),
        "with the units of the published bids"
    );
    assert_eq!(app.get(None, "/api/v1/calls/2025").await.status, 401);

    // The lead reports both milestones; the third-party evaluation; success; the list.
    app.clock.set("2026-03-30");
    let r = act(
        app,
        &lead_token,
        "/api/v1/calls/2025/milestone-report",
        json!({"bid_id": "b1", "milestone_id": "m1", "summary": "样机完成"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // C-8: m2 (due 2026-12-31) unreported on 2027-01-01 is flagged overdue by the scheduler,
    // once, however often it runs; then reported late, and said to be.
    app.clock.set("2026-12-31");
    assert!(
        app.state.automate().await.unwrap().is_empty(),
        "not on its day"
    );
    app.clock.set("2027-01-02");
    let fired = app.state.automate().await.unwrap();
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].deadline_id, "2025/b1/m2");
    assert!(app.state.automate().await.unwrap().is_empty(), "once");
    let seen = app.get(Some(&lead_token), "/api/v1/calls/2025").await;
    let milestones = &seen.body["bids"][0]["milestones"];
    assert_eq!(milestones[1]["overdue"], true, "{milestones}");
    assert_eq!(milestones[0]["overdue"], false, "m1 was reported in time");
    let r = act(
        app,
        &lead_token,
        "/api/v1/calls/2025/milestone-report",
        json!({"bid_id": "b1", "milestone_id": "m2", "summary": "在两家用户企业示范应用"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let overdue = app
        .all_events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "MilestoneOverdue")
        .count();
    assert_eq!(overdue, 1);
    app.clock.set("2027-01-15");
    for (path, body) in [
        (
            "third-party-evaluation",
            json!({"bid_id": "b1", "evaluator": "示例第三方评价机构", "passed": true, "summary": "达到任务书目标"}),
        ),
        ("success", json!({"bid_id": "b1"})),
        (
            "list-publication",
            json!({"task_id": "rs-1", "list": "success"}),
        ),
    ] {
        let r = act(app, &ministry, &format!("/api/v1/calls/2025/{path}"), body).await;
        assert_eq!(r.status, 201, "{path}: {}", r.body);
    }
    let seen = app.get(Some(&ministry), "/api/v1/calls/2025").await;
    assert_eq!(seen.body["bids"][0]["status"], "succeeded", "{}", seen.body);
    assert_eq!(seen.body["published"]["rs-1"]["success"], json!(["b1"]));

    // The figures per task and per province (the bids the reader may read).
    let rs1 = &seen.body["by_task"][0];
    assert_eq!(
        (
            rs1["key"].as_str(),
            rs1["bids"].as_u64(),
            rs1["consortia"].as_u64(),
            rs1["units"].as_u64(),
            rs1["shortlisted"].as_u64(),
            rs1["milestones_on_time"].as_u64(),
            rs1["milestones_late"].as_u64(),
            rs1["succeeded"].as_u64()
        ),
        (
            Some("rs-1"),
            Some(1),
            Some(1),
            Some(2),
            Some(1),
            Some(1),
            Some(1),
            Some(1)
        ),
        "{rs1}"
    );
    assert_eq!(seen.body["by_province"][0]["key"], "32");
    let csv = app
        .get(
            Some(&ministry),
            "/api/v1/calls/2025?format=csv&view=provinces",
        )
        .await;
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let text = csv.body.as_str().unwrap_or_default();
    assert!(
        text.contains("key,name,bids") && text.contains("32,江苏省,1,1,2,1,1,1,1,0,1"),
        "{text}"
    );
    // As of any date, on both time axes: on 2025-08-19, the day before the evaluation, the bid
    // was recommended and nothing shortlisted; as known before the call was opened there is no
    // call.
    let then = app
        .get(Some(&ministry), "/api/v1/calls/2025?as_of=2025-08-19")
        .await;
    assert_eq!(then.body["shortlists"], json!({}), "{}", then.body);
    assert_eq!(then.body["bids"][0]["status"], "recommended");
    let before = app
        .get(
            Some(&ministry),
            "/api/v1/calls/2025?known_at=2000-01-01T00:00:00Z",
        )
        .await;
    assert_eq!(before.status, 404, "{}", before.body);

    // The generic endpoint takes a call's command with `call_id`.
    let r = app
        .post(
            &ministry,
            "/api/v1/commands",
            &json!({"command_id": id(), "call_id": "2025", "command": {"type": "PublishList", "task_id": "rs-1", "list": "success"}}),
        )
        .await;
    assert_eq!(
        r.body["code"], "duplicate",
        "published as it stands: {}",
        r.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consortium_goes_from_its_bid_to_the_success_list_on_sqlite() {
    a_consortium_goes_from_its_bid_to_the_success_list(&spawn_app(Kind::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consortium_goes_from_its_bid_to_the_success_list_on_postgres() {
    a_consortium_goes_from_its_bid_to_the_success_list(&spawn_app(Kind::Postgres).await).await;
}

/// The same journey with the RabbitMQ transport (relay, read-model consumers and the policy
/// consumer on their queues): the inbox, the known accidents of C-4 and the scheduler's C-8
/// flag read models fed through the broker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consortium_goes_from_its_bid_to_the_success_list_on_postgres_with_rabbitmq() {
    let env = crate::dynamic::Env::broker().await;
    a_consortium_goes_from_its_bid_to_the_success_list(&env.app).await;
    env.finish().await;
}
