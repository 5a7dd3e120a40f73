//! The home page (待办): the acts waiting for the user, overdue first and in red with the days
//! overdue, then by deadline; each links to the platform page where its form is.

use roster_domain::registry::CommandKind;

use super::*;
use crate::web::forms;

/// How an act is named in the inbox: its form's title, or for an act the user only follows
/// (a review open on an applicant's platform) what it is.
fn act_name(lang: Lang, act: &str, mine: bool) -> String {
    let kind = CommandKind::named(act);
    match (kind, mine) {
        // The bioreactor competition's acts (its forms are on the call's page).
        (Some(CommandKind::RecommendBid), _) => {
            lang.t("推荐揭榜申请", "Recommend a bid").to_string()
        }
        (Some(CommandKind::EvaluateBid), _) => lang
            .t("录入揭榜申请的专家评价", "Record a bid's evaluation")
            .to_string(),
        (Some(CommandKind::ReportMilestone), true) => lang
            .t("报告任务书时间节点", "Report a milestone")
            .to_string(),
        (Some(CommandKind::ReportMilestone), false) => lang
            .t(
                "任务书时间节点逾期（待牵头单位报告）",
                "Milestone overdue (the lead reports)",
            )
            .to_string(),
        (Some(CommandKind::ConcludeReview), false) => lang
            .t(
                "复核进行中（待部里结论）",
                "Review open (the ministry concludes)",
            )
            .to_string(),
        (Some(k), _) => forms::form(k).map_or_else(
            || k.name().to_string(),
            |f| lang.t(f.title.zh, f.title.en).to_string(),
        ),
        (None, _) => act.to_string(),
    }
}

pub(crate) async fn inbox(State(state): State<AppState>, v: Viewer) -> Result<Response, PageError> {
    let items = state
        .app()
        .inbox(&v.actor)
        .await
        .map_err(|r| refused(&v, r))?;
    let lang = v.lang;
    let overdue = items.iter().filter(|i| i.overdue()).count();
    let unread = state
        .app()
        .notifications(&v.actor)
        .await
        .map_or(0, |(_, unread)| unread);
    let body = html! {
        div.cards {
            div.card { div.muted { (v.t("待办", "To do")) } div.big id="count-todo" { (items.iter().filter(|i| i.mine).count()) } }
            div.card { div.muted { (v.t("逾期", "Overdue")) } div.big.overdue id="count-overdue" { (overdue) } }
            div.card { div.muted { a href="/ui/notifications" { (v.t("未读通知", "Unread notifications")) } } div.big id="count-unread" { (unread) } }
        }
        @let batches: Vec<_> = forms::all()
            .filter(|f| f.batch.is_some() && f.kind.roles().contains(&v.actor.role))
            .collect();
        @if roster_domain::registry::CommandKind::OpenRound.roles().contains(&v.actor.role) {
            p { a.button href="/ui/rounds/new" id="new-round" { (v.t("开启申报批次", "Open a round")) } }
        }
        @if !batches.is_empty() {
            p #batches { (v.t("批量办理：", "Batch acts: "))
                @for (n, f) in batches.iter().enumerate() {
                    @if n > 0 { " · " }
                    a href={"/ui/batch/" (f.action)} { (v.t(f.title.zh, f.title.en)) }
                }
            }
        }
        @if items.is_empty() {
            p.muted id="inbox-empty" { (v.t("目前没有待办事项。", "Nothing is waiting for you.")) }
        } @else {
            div.scroll { table id="inbox" {
                thead { tr {
                    th { (v.t("事项", "Act")) } th { (v.t("平台", "Platform")) } th { (v.t("省份", "Province")) }
                    th { (v.t("截止日期", "Due")) } th { (v.t("剩余天数", "Days left")) }
                } }
                tbody { @for i in &items {
                    tr data-platform=(i.platform_id) data-act=(i.act) class=[i.overdue().then_some("overdue")] {
                        td { (act_name(lang, &i.act, i.mine)) @if let Some(s) = &i.subject { " · " (s) } }
                        td { @match &i.call_id {
                            Some(call) => { a href={"/ui/calls/" (call)} { (i.platform_name) } }
                            None => { a href={"/ui/platforms/" (i.platform_id)} { (i.platform_name) } }
                        } }
                        td { (province_name(lang, &i.province)) }
                        td { @if let Some(d) = i.due_on { (d) } @else { "—" } }
                        td.days {
                            @match i.days_left {
                                Some(d) if d < 0 => { (v.t("逾期", "overdue by ")) (-d) (v.t("天", " days")) }
                                Some(0) => { (v.t("今日截止", "due today")) }
                                Some(d) => { (d) (v.t("天", " days")) }
                                None => { "—" }
                            }
                        }
                    }
                } }
            } }
        }
    };
    Ok(page(&v, v.t("待办事项", "To do"), body))
}
