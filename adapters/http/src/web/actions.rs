//! What the ministry and provinces do from the pages: recommend or reject an application (a
//! province), list a platform after its notice and conclude a review (the ministry). A form
//! becomes the same typed command the API builds and runs through the same command service,
//! so authorisation, the rules and the audit log are the API's. Each form carries the session's
//! CSRF token and its own command id (a resubmitted form is the same command, applied once).

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveDate;
use maud::{html, Markup};
use roster_domain::actor::Role;
use roster_domain::error::{code, Refusal};
use roster_domain::platform::{Platform, Status};
use roster_domain::registry::CommandKind;
use roster_domain::request::{CommandRequest, Target};
use roster_projections::PlatformSummary;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::session::Flash;
use super::{check_csrf, PageError, Viewer};
use crate::commands;
use crate::AppState;

/// The hidden fields every action form carries, and its business date (RULES.md §12): a province's
/// act takes effect the day it is recorded, so its form shows that day and sends none; the
/// ministry may date a decision taken earlier (a meeting), never later than today.
fn envelope(v: &Viewer, platform_id: &str, action: &str, today: NaiveDate) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(v.csrf);
        input type="hidden" name="command_id" value=(Uuid::new_v4());
        input type="hidden" name="platform_id" value=(platform_id);
        input type="hidden" name="action" value=(action);
        input type="hidden" name="back" value=(v.here);
        @if roster_domain::request::acts_when_recorded(v.actor.role) {
            p.effective { (v.t("生效日期：", "Takes effect: ")) (today) (v.t("（以提交当日为准）", " (the day it is recorded)")) }
        } @else {
            label { (v.t("决定日期", "Decision date")) input type="date" name="business_date" value=(today) max=(today) required; }
        }
    }
}

fn recommend_form(v: &Viewer, platform_id: &str, today: NaiveDate, failing: bool) -> Markup {
    html! {
        details.act.recommend {
            summary { (v.t("推荐", "Recommend")) }
            form method="post" action="/ui/act" class="recommend" {
                (envelope(v, platform_id, "recommend", today))
                label { (v.t("推荐意见", "Opinion")) input type="text" name="opinion" required value=(v.t("同意推荐", "Recommended")); }
                label { (v.t("排序", "Rank")) input type="number" name="rank" min="1" max="5" size="3"; }
                @if failing {
                    label { (v.t("不符合硬性条件仍推荐的理由", "Reason to recommend despite a failed rule")) input type="text" name="override_reason"; }
                }
                button.primary type="submit" { (v.t("提交推荐", "Submit recommendation")) }
            }
        }
    }
}

fn reject_form(v: &Viewer, platform_id: &str, today: NaiveDate) -> Markup {
    html! {
        details.act.reject {
            summary { (v.t("不予推荐", "Reject")) }
            form method="post" action="/ui/act" class="reject" {
                (envelope(v, platform_id, "reject", today))
                label { (v.t("理由（每行一条）", "Reasons (one per line)")) textarea name="reasons" rows="2" required {} }
                button.danger type="submit" { (v.t("不予推荐", "Reject")) }
            }
        }
    }
}

fn list_form(v: &Viewer, platform_id: &str, today: NaiveDate) -> Markup {
    html! {
        details.act.list {
            summary { (v.t("公示期满，入列", "List (after the notice)")) }
            form method="post" action="/ui/act" class="list" {
                (envelope(v, platform_id, "list", today))
                button.primary type="submit" { (v.t("确认入列", "List the platform")) }
            }
        }
    }
}

/// The ministry concludes an open review.
pub(super) fn conclude_form(
    v: &Viewer,
    platform_id: &str,
    review_id: &str,
    today: NaiveDate,
) -> Markup {
    if v.actor.role != Role::Ministry {
        return html! {};
    }
    html! {
        details.act.conclude {
            summary { (v.t("作出复核结论", "Conclude")) }
            form method="post" action="/ui/act" class="conclude" {
                (envelope(v, platform_id, "conclude", today))
                input type="hidden" name="review_id" value=(review_id);
                label { (v.t("结论", "Outcome"))
                    select name="outcome" {
                        option value="passed" { (v.t("通过", "passed")) }
                        option value="failed" { (v.t("不通过（撤销）", "failed (delists)")) }
                    }
                }
                label { (v.t("理由（每行一条）", "Reasons (one per line)")) textarea name="reasons" rows="2" {} }
                button.primary type="submit" { (v.t("提交结论", "Submit conclusion")) }
            }
        }
    }
}

/// A province's decisions on an application awaiting its recommendation.
fn province_may_decide(v: &Viewer, status: Status) -> bool {
    v.actor.role == Role::Province && matches!(status, Status::Submitted | Status::CityEndorsed)
}

/// The actions a row of the funnel's application list offers to this user.
pub(super) fn summary_forms(v: &Viewer, p: &PlatformSummary, today: NaiveDate) -> Markup {
    html! {
        @if province_may_decide(v, p.status) {
            (recommend_form(v, &p.platform_id, today, !p.hard_failures.is_empty()))
            (reject_form(v, &p.platform_id, today))
        }
        @if v.actor.role == Role::Ministry && p.status == Status::OnNotice {
            (list_form(v, &p.platform_id, today))
        }
    }
}

/// The actions the platform page offers to this user.
pub(super) fn platform_forms(
    v: &Viewer,
    platform_id: &str,
    p: &Platform,
    today: NaiveDate,
) -> Markup {
    let failing = p
        .assessment
        .as_ref()
        .is_some_and(|a| !a.hard_failures().is_empty());
    let open: Vec<&String> = p
        .reviews
        .values()
        .filter(|r| r.outcome.is_none())
        .map(|r| &r.review_id)
        .collect();
    html! {
        @if v.may_act() {
            div.actions {
                @if province_may_decide(v, p.status) {
                    (recommend_form(v, platform_id, today, failing))
                    (reject_form(v, platform_id, today))
                }
                @if v.actor.role == Role::Ministry && p.status == Status::OnNotice {
                    (list_form(v, platform_id, today))
                }
                @if p.status == Status::UnderReview {
                    @for r in &open { (conclude_form(v, platform_id, r, today)) }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ActForm {
    csrf: Option<String>,
    command_id: Option<String>,
    business_date: Option<String>,
    platform_id: Option<String>,
    action: Option<String>,
    opinion: Option<String>,
    rank: Option<String>,
    override_reason: Option<String>,
    reasons: Option<String>,
    review_id: Option<String>,
    outcome: Option<String>,
    back: Option<String>,
}

fn lines(s: Option<&str>) -> Vec<String> {
    s.unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn some_text(s: Option<&String>) -> Option<&str> {
    s.map(|x| x.trim()).filter(|x| !x.is_empty())
}

/// The form as the command request the API would build from the same fields.
fn request(f: &ActForm) -> Result<CommandRequest, Refusal> {
    let platform_id = some_text(f.platform_id.as_ref())
        .ok_or_else(|| Refusal::invalid("platform_id", "the form names no platform"))?;
    let command_id = some_text(f.command_id.as_ref())
        .and_then(|c| Uuid::parse_str(c).ok())
        .ok_or_else(|| Refusal::invalid("command_id", "the form's command id is not a UUID"))?;
    // No date: the act takes effect today (RULES.md §12); the service checks a stated one.
    let business_date = some_text(f.business_date.as_ref())
        .map(|date| {
            NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| {
                Refusal::new(
                    code::IMPOSSIBLE_DATE,
                    format!("the decision date '{date}' is not a date (YYYY-MM-DD)"),
                )
                .at("business_date")
            })
        })
        .transpose()?;
    let (kind, fields): (CommandKind, Value) = match f.action.as_deref().unwrap_or_default() {
        "recommend" => {
            let rank = some_text(f.rank.as_ref())
                .map(|r| {
                    r.parse::<u32>().map_err(|_| {
                        Refusal::invalid("rank", format!("rank '{r}' is not a number"))
                    })
                })
                .transpose()?;
            let mut v = json!({"opinion": f.opinion.clone().unwrap_or_default(), "rank": rank});
            if let Some(o) = some_text(f.override_reason.as_ref()) {
                v["override_reason"] = json!(o);
            }
            (CommandKind::RecommendByProvince, v)
        }
        "reject" => (
            CommandKind::RejectByProvince,
            json!({"reasons": lines(f.reasons.as_deref())}),
        ),
        "list" => (CommandKind::ListPlatform, json!({})),
        "conclude" => (
            CommandKind::ConcludeReview,
            json!({
                "review_id": f.review_id.clone().unwrap_or_default(),
                "outcome": f.outcome.clone().unwrap_or_default(),
                "reasons": lines(f.reasons.as_deref()),
            }),
        ),
        other => {
            return Err(Refusal::invalid(
                "action",
                format!("no action '{other}'; one of recommend, reject, list, conclude"),
            ))
        }
    };
    if kind == CommandKind::RejectByProvince && lines(f.reasons.as_deref()).is_empty() {
        return Err(Refusal::invalid(
            "reasons",
            "a rejection needs at least one reason",
        ));
    }
    let command = commands::platform_command(kind, "", fields)?;
    Ok(CommandRequest {
        command_id,
        business_date,
        expected_version: None,
        correlation_id: None,
        causation_id: None,
        target: Target::Platform {
            platform_id: platform_id.to_string(),
            command,
        },
    })
}

/// Only back to a page of the dashboard, by a path a `Location` header can carry (a CR/LF in it
/// made the redirect fail with 500 after the command had run: review L10).
fn back_to(f: &ActForm) -> String {
    f.back
        .as_deref()
        .filter(|b| b.starts_with("/ui") && !b.starts_with("//"))
        .filter(|b| b.len() <= 512 && b.bytes().all(|c| c.is_ascii_graphic()))
        .unwrap_or("/ui")
        .to_string()
}

/// A form posted from another site is refused even when the browser sent the cookie.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest == host)
}

pub(super) async fn act(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    form: Result<Form<ActForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let what = "POST /ui/act";
    let form = match form {
        Ok(Form(f)) => f,
        Err(e) => {
            let r = Refusal::invalid("form", format!("the form could not be read: {e}"));
            state
                .audit_refusal(v.actor.clone(), what, &r.code, &r.message)
                .await;
            return PageError::new(&v, r).into_response();
        }
    };
    let csrf = check_csrf(&v, form.csrf.as_deref()).and_then(|()| {
        if same_origin(&headers) {
            Ok(())
        } else {
            Err(Refusal::forbidden("the form was posted from another site"))
        }
    });
    if let Err(r) = csrf {
        state
            .audit_refusal(v.actor.clone(), what, &r.code, &r.message)
            .await;
        return PageError::new(&v, r).into_response();
    }
    let back = back_to(&form);
    let flash = match request(&form) {
        Err(r) => {
            state
                .audit_refusal(v.actor.clone(), what, &r.code, &r.message)
                .await;
            refusal_flash(&v, &r)
        }
        Ok(req) => {
            let kind = match &req.target {
                Target::Platform { command, .. } => command.name(),
                _ => "",
            };
            match commands::run(&state, &v.actor, req).await {
                Ok(o) => {
                    let mut text = format!(
                        "{} {} ({}){}",
                        v.t("已受理：", "Accepted:"),
                        kind,
                        o.stream_id,
                        if o.duplicate {
                            v.t("（此前已受理）", " (already accepted before)")
                        } else {
                            ""
                        }
                    );
                    for w in &o.warnings {
                        text.push_str(&format!(" ⚠ {w}"));
                    }
                    Flash { ok: true, text }
                }
                Err(r) => refusal_flash(&v, &r),
            }
        }
    };
    state.sessions().flash(&v.session_id, flash);
    Redirect::to(&back).into_response()
}

fn refusal_flash(v: &Viewer, r: &Refusal) -> Flash {
    Flash {
        ok: false,
        text: format!(
            "{} [{}] {}{}",
            v.t("未受理：", "Refused:"),
            r.code,
            r.message,
            r.field
                .as_deref()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default()
        ),
    }
}
