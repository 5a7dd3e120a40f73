//! The bioreactor open competition in the browser (揭榜挂帅, RULES.md §9): the calls, and per
//! call its tasks with their figures, the figures per province, the bids the viewer may read,
//! and the forms of the acts the viewer's role has: the lead applies with its consortium,
//! withdraws and reports milestones; its province recommends (推荐表) or declines; the ministry
//! with CAS evaluates, shortlists, publishes the lists, signs task agreements, records the
//! third-party evaluation and declares success. Every form becomes the same command
//! `POST /api/v1/calls/{call_id}/{action}` takes.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use roster_domain::actor::Role;
use roster_domain::challenge::{self, Bid, BidStatus, CallView, ListKind, Tally, UnitKind};
use roster_domain::registry::CommandKind;
use roster_domain::request::{CommandRequest, Target};
use roster_domain::values::{Province, Uscc};
use roster_domain::Refusal;
use roster_projections::export::CALL_COLUMNS;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::actions::{checked_form, posted, refusal_flash};
use super::session::Flash;
use super::{page, PageError, Viewer};
use crate::{commands, AppState};

/// `/ui/calls`: the calls of the competition.
pub(super) async fn calls(State(state): State<AppState>, v: Viewer) -> Result<Response, PageError> {
    let ids = state
        .app()
        .events()
        .stream_ids("call-")
        .await
        .map_err(|e| PageError::new(&v, roster_domain::error::store_refusal(e)))?;
    let mut views = Vec::new();
    for id in ids.iter().filter_map(|s| s.strip_prefix("call-")) {
        if let Ok(view) = state.app().call(&v.actor, id, None, None).await {
            views.push(view);
        }
    }
    let body = html! {
        p.muted { (v.t(
            "高性能生物反应器创新任务揭榜挂帅（工信厅联消费函〔2025〕220号）：工业和信息化部会同中国科学院组织。",
            "The bioreactor open competition (notice 220), run by MIIT with CAS."
        )) }
        @if CommandKind::OpenCall.roles().contains(&v.actor.role) {
            p { a.button href="/ui/calls/new" id="new-call" { (v.t("发布揭榜任务", "Open a call")) } }
        }
        div.scroll { table id="calls" {
            thead { tr {
                th { (v.t("揭榜", "Call")) } th { (v.t("申请截止", "Applicants by")) }
                th { (v.t("省级推荐截止", "Provinces by")) } th.num { (v.t("任务", "Tasks")) }
                th.num { (v.t("申请", "Bids")) }
            } }
            tbody { @for c in &views {
                tr data-call=(c.call.call_id) {
                    td { a href={"/ui/calls/" (c.call.call_id)} { (c.call.name) } }
                    td { (c.call.applicant_deadline) } td { (c.call.province_deadline) }
                    td.num { (c.call.tasks.len()) } td.num { (c.bids.len()) }
                }
            } }
        } }
    };
    Ok(page(&v, v.t("揭榜挂帅", "Open competition"), body))
}

/// Rows of tasks the open-call form offers; blank rows are no task.
const TASK_ROWS: usize = 12;

/// `/ui/calls/new`: the ministry opens a call (C-1) with its deadlines (C-5) and its tasks,
/// entered as data from the call's task list. The form becomes the `OpenCall` command
/// `POST /api/v1/calls` takes.
pub(super) async fn new_call(
    State(state): State<AppState>,
    v: Viewer,
) -> Result<Response, PageError> {
    if !CommandKind::OpenCall.roles().contains(&v.actor.role) {
        return Err(PageError::new(
            &v,
            Refusal::forbidden("only the ministry opens a call")
                .zh("只有工业和信息化部（会同中国科学院）可以发布揭榜任务"),
        ));
    }
    let today = state.app().today();
    let body = html! {
        form method="post" action="/ui/calls" id="open-call" class="call" {
            input type="hidden" name="csrf" value=(v.csrf);
            input type="hidden" name="command_id" value=(Uuid::new_v4());
            div.filters {
                label { (v.t("揭榜编号", "Call id")) input type="text" name="call_id" required pattern="[A-Za-z0-9_-]{1,32}" placeholder="2026"; }
                label { (v.t("名称", "Title")) input type="text" name="name" required value="高性能生物反应器创新任务揭榜挂帅"; }
                label { (v.t("决定日期", "Decision date")) input type="date" name="business_date" value=(today) max=(today) required; }
                label { (v.t("开始受理", "Opens on")) input type="date" name="opens_on" value=(today) required; }
                label { (v.t("单位申请截止（C-5）", "Applicants by (C-5)")) input type="date" name="applicant_deadline" required; }
                label { (v.t("省级推荐截止（C-5）", "Provinces by (C-5)")) input type="date" name="province_deadline" required; }
            }
            p.muted { (v.t(
                "按揭榜任务榜单逐项填写任务；空行不计。指标每行一条（多条用“；”分隔）。",
                "Enter the tasks of the call's list, one per row; blank rows are ignored. Targets are separated by “；”."
            )) }
            div.scroll { table id="call-tasks-form" {
                thead { tr {
                    th { (v.t("任务编号", "Task id")) } th { (v.t("任务名称", "Task")) }
                    th { (v.t("类别（C-1）", "Category (C-1)")) } th { (v.t("指标", "Targets")) }
                    th { (v.t("完成期限", "Complete by")) }
                } }
                tbody { @for i in 0..TASK_ROWS {
                    tr {
                        td { input type="text" name={"task_id:" (i)} pattern="[A-Za-z0-9_-]{1,32}" size="8"; }
                        td { input type="text" name={"task_name:" (i)}; }
                        td { select name={"category:" (i)} {
                            @for c in challenge::Category::ALL { option value=(c.code()) { (v.t(c.name_zh(), c.code())) } }
                        } }
                        td { input type="text" name={"targets:" (i)}; }
                        td { input type="date" name={"complete_by:" (i)}; }
                    }
                } }
            } }
            button.primary type="submit" { (v.t("发布揭榜任务", "Open the call")) }
        }
    };
    Ok(page(&v, v.t("发布揭榜任务", "Open a call"), body))
}

/// The posted open-call form as the `OpenCall` command and its request; a row without a task
/// id and name is no task.
fn open_call_request(form: &[(String, String)]) -> Result<CommandRequest, Refusal> {
    let command_id = super::actions::command_id(form)?;
    let text = |k: &str| posted(form, k).unwrap_or_default().to_string();
    let mut tasks = Vec::new();
    for i in 0..TASK_ROWS {
        let (id, name) = (
            text(&format!("task_id:{i}")),
            text(&format!("task_name:{i}")),
        );
        if id.is_empty() && name.is_empty() {
            continue;
        }
        let targets: Vec<&str> = posted(form, &format!("targets:{i}"))
            .unwrap_or_default()
            .split(['；', ';'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        tasks.push(json!({
            "task_id": id, "name": name, "category": text(&format!("category:{i}")),
            "targets": targets,
            "complete_by": super::rounds::date(form, &format!("complete_by:{i}"))?,
        }));
    }
    let body = json!({
        "call_id": text("call_id"), "name": text("name"),
        "opens_on": super::rounds::date(form, "opens_on")?,
        "applicant_deadline": super::rounds::date(form, "applicant_deadline")?,
        "province_deadline": super::rounds::date(form, "province_deadline")?,
        "tasks": tasks,
    });
    let open: challenge::OpenCall = commands::typed("", body)?;
    Ok(CommandRequest {
        command_id,
        business_date: super::rounds::date(form, "business_date")?,
        expected_version: None,
        correlation_id: None,
        causation_id: None,
        target: Target::Call {
            call_id: open.call_id.clone(),
            command: challenge::ChallengeCommand::OpenCall(open),
        },
    })
}

/// `POST /ui/calls`: opens the call; on success the call's page, else the form again with
/// what was refused.
pub(super) async fn open_call(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let what = "POST /ui/calls";
    let form = match checked_form(&state, &v, &headers, form, what).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let request = open_call_request(&form);
    // A call id that was accepted is letters, digits, '-' and '_' only.
    let done = match &request {
        Ok(CommandRequest {
            target: Target::Call { call_id, .. },
            ..
        }) => format!("/ui/calls/{call_id}"),
        _ => "/ui/calls".to_string(),
    };
    super::actions::run_opening(
        &state,
        &v,
        what,
        request,
        |_| challenge_event_name(v.lang, "CallOpened"),
        &done,
        "/ui/calls/new",
    )
    .await
}

fn tally_table(v: &Viewer, id: &str, first: (&str, &str), rows: &[Tally]) -> Markup {
    html! {
        div.scroll { table id=(id) {
            thead { tr {
                th { (v.t(first.0, first.1)) }
                @for c in &CALL_COLUMNS[2..] { th.num { (v.t(c.zh, c.en)) } }
            } }
            tbody { @for t in rows {
                tr data-key=(t.key) {
                    td { (t.name) }
                    @for n in [t.bids, t.consortia, t.units, t.recommended, t.shortlisted, t.milestones_on_time, t.milestones_late, t.milestones_overdue, t.succeeded] {
                        td.num { (n) }
                    }
                }
            } }
        } }
    }
}

/// A small form posting one act on a call.
fn act_form(
    v: &Viewer,
    call_id: &str,
    action: &str,
    title: (&str, &str),
    fields: Markup,
) -> Markup {
    html! {
        details class={"act " (action)} {
            summary { (v.t(title.0, title.1)) }
            form method="post" action={"/ui/calls/" (call_id)} class=(action) {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="command_id" value=(Uuid::new_v4());
                input type="hidden" name="action" value=(action);
                (fields)
                button.primary type="submit" { (v.t(title.0, title.1)) }
            }
        }
    }
}

fn bid_forms(v: &Viewer, call_id: &str, b: &Bid) -> Markup {
    let id = html! { input type="hidden" name="bid_id" value=(b.bid_id); };
    let is_lead = v
        .actor
        .jurisdiction
        .as_deref()
        .is_some_and(|j| j.eq_ignore_ascii_case(&b.lead.uscc));
    let failed = b.failed_checks();
    html! {
        @match (v.actor.role, b.status) {
            (Role::Province, BidStatus::Submitted) => {
                (act_form(v, call_id, "bid-recommendation", ("推荐", "Recommend"), html! {
                    (id)
                    label { (v.t("推荐意见（推荐表）", "Opinion (recommendation form)")) textarea name="opinion" required { "经核实，申请材料真实、完整、有效，同意推荐" } }
                    label { (v.t("专家论证（如有）", "Expert argumentation (if held)")) input type="text" name="expert_argumentation"; }
                    @if !failed.is_empty() {
                        p.warning { "⚠ " (v.t("未通过：", "Failed: ")) (failed.join("、")) }
                        label { (v.t("推荐理由（须填写）", "Reason to recommend nonetheless")) input type="text" name="override_reason" required; }
                    }
                }))
                (act_form(v, call_id, "bid-decline", ("不予推荐", "Decline"), html! {
                    (id)
                    label { (v.t("理由（每行一条）", "Reasons (one per line)")) textarea name="reasons" required {} }
                }))
            }
            (Role::Ministry, BidStatus::Recommended) => {
                (act_form(v, call_id, "bid-evaluation", ("录入专家评价", "Record the evaluation"), html! {
                    (id)
                    label { (v.t("评分", "Score")) input type="number" name="score" min="0" max="100" required; }
                    label { (v.t("结论", "Verdict")) select name="passed" { option value="yes" { (v.t("通过", "passed")) } option value="no" { (v.t("未通过", "not passed")) } } }
                    label { (v.t("专家组", "Panel")) input type="text" name="panel" value="工业和信息化部、中国科学院专家组"; }
                }))
            }
            (Role::Ministry, BidStatus::Evaluated) if b.evaluation_passed == Some(true) => {
                (act_form(v, call_id, "shortlisting", ("列入入围名单", "Shortlist"), id))
            }
            (Role::Ministry, BidStatus::Shortlisted) => {
                (act_form(v, call_id, "agreement", ("签订任务书", "Sign the task agreement"), html! {
                    (id)
                    label { (v.t("任务目标（每行一条）", "Targets (one per line)")) textarea name="targets" required {} }
                    label { (v.t("时间节点（每行：编号|内容|日期）", "Milestones (one per line: id|title|date)")) textarea name="milestones" required placeholder="m1|完成样机|2026-06-30" {} }
                }))
            }
            (Role::Ministry, BidStatus::UnderAgreement) if b.milestones.iter().all(|m| m.reported_on.is_some()) => {
                (act_form(v, call_id, "third-party-evaluation", ("登记第三方评价", "Record the third-party evaluation"), html! {
                    (id)
                    label { (v.t("评价机构", "Evaluator")) input type="text" name="evaluator" required; }
                    label { (v.t("结论", "Verdict")) select name="passed" { option value="yes" { (v.t("达到任务目标", "targets met")) } option value="no" { (v.t("未达到", "not met")) } } }
                    label { (v.t("评价意见", "Findings")) textarea name="summary" required {} }
                }))
            }
            (Role::Ministry, BidStatus::Assessed) if b.third_party_passed == Some(true) => {
                (act_form(v, call_id, "success", ("确定为揭榜成功", "Declare success"), id))
            }
            (Role::Applicant, BidStatus::UnderAgreement) if is_lead => {
                @let open: Vec<_> = b.milestones.iter().filter(|m| m.reported_on.is_none()).collect();
                @if !open.is_empty() {
                    (act_form(v, call_id, "milestone-report", ("报告时间节点完成情况", "Report a milestone"), html! {
                        (id)
                        label { (v.t("时间节点", "Milestone")) select name="milestone_id" {
                            @for m in &open { option value=(m.milestone.milestone_id) { (m.milestone.milestone_id) " " (m.milestone.title) "（" (m.milestone.due_on) "）" } }
                        } }
                        label { (v.t("完成情况", "What was done")) textarea name="summary" required {} }
                    }))
                }
            }
            (Role::Applicant, BidStatus::Submitted | BidStatus::Recommended | BidStatus::Declined | BidStatus::Evaluated) if is_lead => {
                (act_form(v, call_id, "bid-withdrawal", ("撤回申请", "Withdraw"), html! {
                    (id)
                    label { (v.t("撤回原因", "Reason")) input type="text" name="reason" required; }
                }))
            }
            _ => {}
        }
    }
}

fn milestones(v: &Viewer, b: &Bid) -> Markup {
    html! {
        @for m in &b.milestones {
            @let overdue = m.overdue && m.reported_on.is_none();
            div data-milestone=(m.milestone.milestone_id) class={ "milestone" @if overdue { " overdue" } } {
                (m.milestone.milestone_id) " " (m.milestone.title) "（" (m.milestone.due_on) "）："
                @match m.reported_on {
                    Some(r) if r > m.milestone.due_on => { (v.t("逾期完成 ", "reported late ")) (r) }
                    Some(r) => { (v.t("已完成 ", "reported ")) (r) }
                    None if m.overdue => { strong { (v.t("逾期未完成", "overdue")) } }
                    None => { (v.t("进行中", "due")) }
                }
            }
        }
    }
}

fn new_bid_form(v: &Viewer, view: &CallView) -> Markup {
    let uscc = v.actor.jurisdiction.clone().unwrap_or_default();
    let province = Uscc::parse(&uscc)
        .ok()
        .and_then(|u| u.registering_province())
        .map(|p| p.code().to_string())
        .unwrap_or_default();
    let kinds = [
        (UnitKind::Enterprise, "enterprise"),
        (UnitKind::University, "university"),
        (UnitKind::ResearchInstitute, "research_institute"),
        (UnitKind::CasInstitute, "cas_institute"),
    ];
    let unit = |prefix: &str, fixed_uscc: Option<&str>| {
        html! {
            label { (v.t("单位名称", "Name")) input type="text" name={(prefix) ".name"} required[fixed_uscc.is_some()]; }
            label { (v.t("统一社会信用代码", "USCC")) @match fixed_uscc {
                Some(u) => { input type="text" name={(prefix) ".uscc"} value=(u) readonly; }
                None => { input type="text" name={(prefix) ".uscc"} maxlength="18"; }
            } }
            label { (v.t("单位类型", "Kind")) select name={(prefix) ".kind"} {
                @for (k, code) in kinds { option value=(code) { (v.t(k.name_zh(), code)) } }
            } }
            label { (v.t("注册地省份", "Province")) select name={(prefix) ".province"} {
                @for p in Province::all() { option value=(p.code()) selected[p.code() == province && fixed_uscc.is_some()] { (v.t(p.name_zh(), p.name_en())) } }
            } }
            label.check { input type="checkbox" name={(prefix) ".reactor_user"} value="yes"; (v.t("反应器用户企业", "reactor user")) }
            label.check { input type="checkbox" name={(prefix) ".component_or_system_user"} value="yes"; (v.t("部件或系统用户企业", "component or system user")) }
        }
    };
    html! {
        details.act.bid open {
            summary { (v.t("提交揭榜申请（牵头单位为联合体统一填报）", "Submit a bid (the lead for its consortium)")) }
            form method="post" action={"/ui/calls/" (view.call.call_id)} class="bid" id="new-bid" {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="command_id" value=(Uuid::new_v4());
                input type="hidden" name="action" value="bid";
                div.filters {
                    label { (v.t("揭榜任务", "Task")) select name="task_id" {
                        @for t in &view.call.tasks { option value=(t.task_id) { (t.task_id) " " (t.name) "（" (t.category.name_zh()) "）" } }
                    } }
                    label { (v.t("申请编号", "Bid id")) input type="text" name="bid_id" required pattern="[A-Za-z0-9_-]{1,32}" value={"b-" (&Uuid::new_v4().simple().to_string()[..8])}; }
                }
                fieldset { legend { (v.t("牵头单位", "Lead unit")) } div.filters { (unit("lead", Some(&uscc))) } }
                @for i in 0..challenge::MAX_MEMBERS {
                    fieldset { legend { (v.t("联合申请单位", "Member")) " " (i + 1) } div.filters { (unit(&format!("members.{i}"), None)) } }
                }
                fieldset { legend { (v.t("申请要求（C-4）", "Declarations (C-4)")) }
                    label.check { input type="checkbox" name="no_major_accident" value="yes"; (v.t("近 3 年无重大安全和环境污染事故", "no major accident in the last 3 years")) }
                    label.check { input type="checkbox" name="validation_completed" value="yes"; (v.t("已完成产业化前期验证", "pre-industrial validation completed")) }
                    label.check { input type="checkbox" name="finalised_product_with_ip" value="yes"; (v.t("具有基本定型产品且拥有知识产权", "a finalised product with owned IP")) }
                }
                button.primary type="submit" id="submit-bid" { (v.t("提交申请", "Submit the bid")) }
            }
        }
    }
}

/// The call as the viewer may see it as of the page's `as_of` (default today).
async fn view_as_of(
    state: &AppState,
    v: &Viewer,
    call_id: &str,
    params: &HashMap<String, String>,
) -> Result<(Option<chrono::NaiveDate>, CallView), PageError> {
    let as_of = crate::reads::date_param(params, "as_of").map_err(|r| PageError::new(v, r))?;
    let view = state
        .app()
        .call(&v.actor, call_id, as_of, None)
        .await
        .map_err(|r| PageError::new(v, r))?;
    Ok((as_of, view))
}

/// `/ui/calls/{call_id}`: the call as the viewer may see it, with the forms of its acts.
pub(super) async fn call_page(
    State(state): State<AppState>,
    Path(call_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    v: Viewer,
) -> Result<Response, PageError> {
    let (as_of, view) = view_as_of(&state, &v, &call_id, &params).await?;
    let today = state.app().today();
    let task_name = |id: &str| {
        view.call
            .tasks
            .iter()
            .find(|t| t.task_id == id)
            .map_or(id.to_string(), |t| t.name.clone())
    };
    let body = html! {
        p.muted {
            (v.t("申请截止 ", "Applicants by ")) (view.call.applicant_deadline) " · "
            (v.t("省级推荐截止 ", "provinces by ")) (view.call.province_deadline)
        }
        form.filters method="get" action={"/ui/calls/" (call_id)} {
            label { (v.t("截至日期", "As of")) input type="date" name="as_of" value=(as_of.unwrap_or(today)); }
            button.primary type="submit" { (v.t("更新", "Update")) }
            a href={"/ui/calls/" (call_id) "/figures.xlsx" @if let Some(d) = as_of { "?as_of=" (d) }} id="download-call-xlsx" { (v.t("下载 XLSX", "Download XLSX")) }
        }
        h2 { (v.t("分任务", "By task")) }
        (tally_table(&v, "call-tasks", ("任务", "Task"), &view.by_task))
        h2 { (v.t("分省", "By province")) }
        (tally_table(&v, "call-provinces", ("省份", "Province"), &view.by_province))
        h2 { (v.t("公布的名单", "Published lists")) }
        ul id="published" { @for (task, lists) in &view.published { @for (list, ids) in lists {
            li data-task=(task) data-list=(list.name_zh()) { (task_name(task)) " · " (v.t(list.name_zh(), if *list == ListKind::Shortlist { "shortlist" } else { "success list" })) "："
                @for (n, id) in ids.iter().enumerate() {
                    @if n > 0 { "；" }
                    span.unit data-bid=(id) { (view.published_units.get(id).map_or(id.clone(), |u| u.join("、"))) }
                }
            }
        } } }
        @if v.actor.role == Role::Ministry {
            @for t in &view.call.tasks {
                @for list in [ListKind::Shortlist, ListKind::Success] {
                    @let current = match list { ListKind::Shortlist => view.shortlists.get(&t.task_id), ListKind::Success => view.successes.get(&t.task_id) };
                    @let published = view.published.get(&t.task_id).and_then(|p| p.get(&list));
                    @if current.is_some_and(|c| Some(c) != published) {
                        (act_form(&v, &call_id, "list-publication", (&format!("发布 {} {}", t.task_id, list.name_zh()), "Publish the list"), html! {
                            input type="hidden" name="task_id" value=(t.task_id);
                            input type="hidden" name="list" value=(if list == ListKind::Shortlist { "shortlist" } else { "success" });
                        }))
                    }
                }
            }
        }
        h2 { (v.t("申请", "Bids")) " (" (view.bids.len()) ")" }
        div.scroll { table id="bids" {
            thead { tr {
                th { (v.t("申请", "Bid")) } th { (v.t("任务", "Task")) } th { (v.t("牵头单位", "Lead")) }
                th { (v.t("联合申请单位", "Members")) } th { (v.t("状态", "Status")) }
                th { (v.t("时间节点", "Milestones")) } th { }
            } }
            tbody { @for b in &view.bids {
                tr data-bid=(b.bid_id) data-status=(serde_json::to_value(b.status).ok().and_then(|s| s.as_str().map(String::from)).unwrap_or_default()) {
                    td { (b.bid_id) } td { (task_name(&b.task_id)) }
                    td { (b.lead.name) br; small { (b.province().name_zh()) } }
                    td { @for m in &b.members { div { (m.name) } } }
                    td.status { (v.t(b.status.name_zh(), b.status.name_en())) }
                    td { (milestones(&v, b)) }
                    td { (bid_forms(&v, &call_id, b)) }
                }
            } }
        } }
        @if v.actor.role == Role::Applicant && today <= view.call.applicant_deadline && today >= view.call.opens_on {
            (new_bid_form(&v, &view))
        }
    };
    Ok(page(&v, &view.call.name, body))
}

/// `/ui/calls/{call_id}/figures.xlsx`: the figures per task and per province, as of the page's
/// date, of the bids the viewer may read.
pub(super) async fn figures_xlsx(
    State(state): State<AppState>,
    Path(call_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    v: Viewer,
) -> Result<Response, PageError> {
    let (as_of, view) = view_as_of(&state, &v, &call_id, &params).await?;
    let body = roster_projections::export::to_xlsx(&roster_projections::export::call_sheets(&view))
        .map_err(|e| {
            PageError::new(
                &v,
                Refusal::new(roster_domain::error::code::INTERNAL, e.to_string()),
            )
        })?;
    let day = as_of.unwrap_or_else(|| state.app().today());
    Ok(super::pages::file(
        super::pages::XLSX,
        &format!("call-{}-{day}.xlsx", view.call.call_id),
        body,
    ))
}

fn yes(form: &[(String, String)], name: &str) -> bool {
    posted(form, name) == Some("yes")
}

fn lines(form: &[(String, String)], name: &str) -> Vec<String> {
    posted(form, name)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

fn unit(form: &[(String, String)], prefix: &str) -> Value {
    let text = |k: &str| posted(form, &format!("{prefix}.{k}")).unwrap_or_default();
    json!({
        "name": text("name"), "uscc": text("uscc").to_uppercase(), "kind": text("kind"),
        "province": text("province"),
        "reactor_user": yes(form, &format!("{prefix}.reactor_user")),
        "component_or_system_user": yes(form, &format!("{prefix}.component_or_system_user")),
    })
}

/// The posted form as the command of a call and its request.
fn request(call_id: &str, form: &[(String, String)]) -> Result<CommandRequest, Refusal> {
    let command_id = super::actions::command_id(form)?;
    let action = posted(form, "action").unwrap_or_default();
    let kind = challenge::routed(action).ok_or_else(|| {
        Refusal::invalid("action", format!("no action '{action}'"))
            .zh(format!("没有“{action}”这一事项"))
    })?;
    let text = |k: &str| posted(form, k).unwrap_or_default().to_string();
    let bid_id = text("bid_id");
    let fields = match kind {
        CommandKind::SubmitBid => {
            let members: Vec<Value> = (0..challenge::MAX_MEMBERS)
                .filter(|i| posted(form, &format!("members.{i}.uscc")).is_some())
                .map(|i| unit(form, &format!("members.{i}")))
                .collect();
            json!({
                "bid_id": bid_id, "task_id": text("task_id"), "lead": unit(form, "lead"), "members": members,
                "declarations": {
                    "no_major_accident": yes(form, "no_major_accident"),
                    "validation_completed": yes(form, "validation_completed"),
                    "finalised_product_with_ip": yes(form, "finalised_product_with_ip"),
                },
            })
        }
        CommandKind::WithdrawBid => json!({"bid_id": bid_id, "reason": text("reason")}),
        CommandKind::RecommendBid => {
            let mut m = Map::new();
            m.insert("bid_id".into(), json!(bid_id));
            m.insert("opinion".into(), json!(text("opinion")));
            for k in ["expert_argumentation", "override_reason"] {
                if let Some(v) = posted(form, k) {
                    m.insert(k.into(), json!(v));
                }
            }
            Value::Object(m)
        }
        CommandKind::DeclineBid => json!({"bid_id": bid_id, "reasons": lines(form, "reasons")}),
        CommandKind::EvaluateBid => {
            let score = text("score");
            let score: u32 = score.parse().map_err(|_| {
                Refusal::invalid("score", format!("score '{score}' is not a whole number"))
                    .zh(format!("评分“{score}”不是整数"))
            })?;
            json!({"bid_id": bid_id, "score": score, "passed": yes(form, "passed"), "panel": posted(form, "panel")})
        }
        CommandKind::ShortlistBid | CommandKind::DeclareSuccess => json!({"bid_id": bid_id}),
        CommandKind::PublishList => json!({"task_id": text("task_id"), "list": text("list")}),
        CommandKind::SignAgreement => {
            let mut milestones = Vec::new();
            for (i, line) in lines(form, "milestones").iter().enumerate() {
                let parts: Vec<&str> = line.split(['|', '｜']).map(str::trim).collect();
                let [id, title, due] = parts[..] else {
                    return Err(Refusal::invalid(
                        "milestones",
                        format!("line {} is not id|title|date: {line}", i + 1),
                    )
                    .zh(format!("第 {} 行应为“编号|内容|日期”：{line}", i + 1)));
                };
                milestones.push(json!({"milestone_id": id, "title": title, "due_on": due}));
            }
            json!({"bid_id": bid_id, "targets": lines(form, "targets"), "milestones": milestones})
        }
        CommandKind::ReportMilestone => json!({
            "bid_id": bid_id, "milestone_id": text("milestone_id"), "summary": text("summary"),
        }),
        CommandKind::FlagMilestoneOverdue => {
            json!({"bid_id": bid_id, "milestone_id": text("milestone_id")})
        }
        CommandKind::RecordThirdPartyEvaluation => json!({
            "bid_id": bid_id, "evaluator": text("evaluator"), "passed": yes(form, "passed"), "summary": text("summary"),
        }),
        _ => Value::Null,
    };
    Ok(CommandRequest {
        command_id,
        business_date: None,
        expected_version: None,
        correlation_id: None,
        causation_id: None,
        target: Target::Call {
            call_id: call_id.to_string(),
            command: commands::call_command(kind, "", fields)?,
        },
    })
}

/// `POST /ui/calls/{call_id}`: one act on the call; the outcome is shown on the call's page.
pub(super) async fn call_act(
    State(state): State<AppState>,
    Path(call_id): Path<String>,
    v: Viewer,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let what = format!("POST /ui/calls/{call_id}");
    let form = match checked_form(&state, &v, &headers, form, &what).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let outcome = match request(&call_id, &form) {
        Ok(req) => commands::run(&state, &v.actor, req).await,
        Err(r) => {
            state
                .audit_refusal(v.actor.clone(), &what, &r.code, &r.message)
                .await;
            Err(r)
        }
    };
    let flash = match outcome {
        Ok(o) => Flash {
            ok: true,
            text: format!(
                "{} {}{}",
                v.t("已受理：", "Accepted:"),
                o.events
                    .iter()
                    .map(|e| challenge_event_name(v.lang, &e.event_type))
                    .collect::<Vec<_>>()
                    .join("、"),
                if o.duplicate {
                    v.t("（此前已受理）", " (already accepted before)")
                } else {
                    ""
                }
            ),
            code: None,
        },
        Err(r) => refusal_flash(&v, &r),
    };
    state.sessions().flash(&v.session_id, flash);
    // A call id that reached here was routed: letters, digits, '-' and '_' only.
    let back = if challenge::valid_id(&call_id) {
        format!("/ui/calls/{call_id}")
    } else {
        "/ui/calls".to_string()
    };
    Redirect::to(&back).into_response()
}

/// The name of an event of a call, as the pages show it.
fn challenge_event_name(lang: super::Lang, event_type: &str) -> String {
    let zh = match event_type {
        "CallOpened" => "发布揭榜",
        "BidSubmitted" => "提交申请",
        "BidWithdrawn" => "撤回申请",
        "BidRecommended" => "省级推荐",
        "BidDeclined" => "省级不予推荐",
        "BidEvaluated" => "专家评价",
        "BidShortlisted" => "列入入围名单",
        "ListPublished" => "发布名单",
        "AgreementSigned" => "签订任务书",
        "MilestoneReported" => "报告时间节点",
        "MilestoneOverdue" => "时间节点逾期",
        "ThirdPartyEvaluated" => "第三方评价",
        "BidSucceeded" => "揭榜成功",
        other => other,
    };
    match lang {
        super::Lang::Zh => zh.to_string(),
        super::Lang::En => event_type.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::web::test_pairs as pairs;

    #[test]
    fn the_bid_form_becomes_the_submit_bid_command_with_its_members() {
        let id = Uuid::new_v4().to_string();
        let lead = roster_domain::samples::uscc_with_check("91320100MA1000001");
        let member = roster_domain::samples::uscc_with_check("91320500MA1000002");
        let req = request(
            "2025",
            &pairs(&[
                ("command_id", &id),
                ("action", "bid"),
                ("bid_id", "b-1"),
                ("task_id", "rs-1"),
                ("lead.name", "牵头单位"),
                ("lead.uscc", &lead),
                ("lead.kind", "enterprise"),
                ("lead.province", "32"),
                ("members.0.name", "成员"),
                ("members.0.uscc", &member.to_lowercase()),
                ("members.0.kind", "enterprise"),
                ("members.0.province", "32"),
                ("members.0.reactor_user", "yes"),
                ("members.1.name", ""),
                ("members.1.uscc", ""),
                ("no_major_accident", "yes"),
                ("validation_completed", "yes"),
            ]),
        )
        .unwrap();
        let Target::Call {
            command: challenge::ChallengeCommand::SubmitBid(b),
            call_id,
        } = req.target
        else {
            panic!("a bid")
        };
        assert_eq!(call_id, "2025");
        assert_eq!(b.members.len(), 1, "an empty member row is no member");
        assert!(b.members[0].reactor_user && b.members[0].uscc == member);
        assert!(b.declarations.no_major_accident && !b.declarations.finalised_product_with_ip);
    }

    #[test]
    fn the_open_call_form_becomes_the_open_call_command_without_blank_rows() {
        let id = Uuid::new_v4().to_string();
        let req = open_call_request(&pairs(&[
            ("command_id", &id),
            ("call_id", "2026"),
            ("name", "揭榜挂帅"),
            ("business_date", "2026-05-01"),
            ("opens_on", "2026-05-06"),
            ("applicant_deadline", "2026-06-30"),
            ("province_deadline", "2026-07-15"),
            ("task_id:0", "os-1"),
            ("task_name:0", "生物制造工业操作系统"),
            ("category:0", "industrial_os"),
            ("targets:0", "实时控制；数据采集;  "),
            ("complete_by:0", "2028-06-30"),
            ("task_id:1", ""),
            ("task_name:1", ""),
            ("category:1", "reactor_system"),
        ]))
        .unwrap();
        let Target::Call {
            command: challenge::ChallengeCommand::OpenCall(c),
            call_id,
        } = req.target
        else {
            panic!("a call")
        };
        assert_eq!(call_id, "2026");
        assert_eq!(c.tasks.len(), 1, "a blank row is no task");
        assert_eq!(c.tasks[0].category, challenge::Category::IndustrialOs);
        assert_eq!(c.tasks[0].targets, ["实时控制", "数据采集"]);
        assert_eq!(c.applicant_deadline.to_string(), "2026-06-30");
        assert_eq!(req.business_date.unwrap().to_string(), "2026-05-01");

        let bad = open_call_request(&pairs(&[
            ("command_id", &id),
            ("call_id", "2026"),
            ("task_id:0", "os-1"),
            ("task_name:0", "x"),
            ("complete_by:0", "2028-02-30"),
        ]))
        .unwrap_err();
        assert_eq!(bad.field.as_deref(), Some("complete_by:0"));
    }

    #[test]
    fn milestones_are_written_one_per_line() {
        let id = Uuid::new_v4().to_string();
        let form = |m: &str| {
            request(
                "2025",
                &pairs(&[
                    ("command_id", &id),
                    ("action", "agreement"),
                    ("bid_id", "b-1"),
                    ("targets", "单罐 ≥ 2000 L"),
                    ("milestones", m),
                ]),
            )
        };
        let ok = form("m1|样机|2026-06-30\nm2｜示范|2027-06-30\n").unwrap();
        let Target::Call {
            command: challenge::ChallengeCommand::SignAgreement(a),
            ..
        } = ok.target
        else {
            panic!("an agreement")
        };
        assert_eq!(a.milestones.len(), 2);
        assert_eq!(a.milestones[1].due_on.to_string(), "2027-06-30");
        let bad = form("m1 样机 2026-06-30").unwrap_err();
        assert_eq!(bad.field.as_deref(), Some("milestones"));
        assert!(bad.message_zh.unwrap().contains("第 1 行"));
    }
}
