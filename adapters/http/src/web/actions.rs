//! What users do from the pages: the forms of `forms.rs` that the registry lets them issue, and
//! `/ui/act`, where a posted form becomes the same typed command the API builds and runs through
//! the same command service, so authorisation, the rules and the audit log are the API's. Each form carries the session's
//! CSRF token and its own command id (a resubmitted form is the same command, applied once).

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveDate;
use maud::{html, Markup};
use roster_domain::error::{code, Refusal};
use std::collections::BTreeSet;

use roster_domain::platform::{Platform, Status};
use roster_domain::registry::CommandKind;
use roster_domain::request::{CommandOutcome, CommandRequest, Target};
use roster_domain::round::Round;
use roster_domain::values::{Domain, Province};
use roster_projections::PlatformSummary;
use uuid::Uuid;

use super::forms::{self, Subject};
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

/// What a platform's forms depend on besides its state: its round (the deadlines of R-4, the
/// quota of R-1 and the recommendations R-2 compares with), its province and its domains.
pub(super) struct Situation<'a> {
    pub round: Option<Round>,
    pub province: Option<Province>,
    pub domains: &'a BTreeSet<Domain>,
}

impl Situation<'_> {
    /// The last day of `kind` here, if a rule sets one.
    fn deadline(&self, kind: CommandKind) -> Option<NaiveDate> {
        self.round
            .as_ref()
            .zip(self.province)
            .and_then(|(r, p)| r.deadline_of(kind, p))
    }

    /// What a province sees before it recommends: the quota in use and whether this
    /// recommendation would put all of them in one domain.
    fn before_recommending(&self, v: &Viewer) -> Markup {
        let (Some(round), Some(p)) = (self.round.as_ref(), self.province) else {
            return html! {};
        };
        let used = round.recommended(p).len();
        html! {
            p.quota data-used=(used) data-quota=(round.quota()) {
                (v.t("本省本批次已推荐 ", "Recommended by the province in this round: "))
                strong { (used) "/" (round.quota()) }
            }
            @if round.concentrated_after(p, self.domains) {
                p.warning.r2 { "⚠ " (v.t(
                    "R-2：推荐后本省的推荐将全部集中在同一领域（原则上不集中在单一方向或领域）",
                    "R-2: with this one, all of the province's recommendations are in one domain (in principle they should not be)"
                )) }
            }
        }
    }
}

/// The forms about the platform itself that this user may issue in its state, before the act's
/// deadline (a lapsed act is not offered; forged, the command service refuses it).
fn platform_subject_forms(
    v: &Viewer,
    platform_id: &str,
    status: Status,
    today: NaiveDate,
    rules_fail: bool,
    in_list: bool,
    situation: &Situation<'_>,
) -> Markup {
    html! {
        @for f in forms::offered(v, Subject::Platform, status)
            .filter(|f| f.in_lists || !in_list)
            .filter(|f| situation.deadline(f.kind).is_none_or(|d| d >= today))
        {
            (f.render(v, html! {
                (envelope(v, platform_id, f.action, today))
                @if let Some(d) = situation.deadline(f.kind) {
                    p.deadline { (v.t("截止日期：", "Deadline: ")) (d) " (" (v.t("剩余", "")) ((d - today).num_days()) (v.t("天", " days left")) ")" }
                }
                @if f.kind == CommandKind::RecommendByProvince { (situation.before_recommending(v)) }
            }, rules_fail, today))
        }
    }
}

/// The forms about one open review of a platform (a conclusion) that this user may issue.
pub(super) fn review_forms(
    v: &Viewer,
    platform_id: &str,
    review_id: &str,
    today: NaiveDate,
) -> Markup {
    html! {
        @for f in forms::offered(v, Subject::OpenReview, Status::UnderReview) {
            (f.render(v, html! {
                (envelope(v, platform_id, f.action, today))
                input type="hidden" name="review_id" value=(review_id);
            }, false, today))
        }
    }
}

/// The forms about one incident of a platform not yet assessed (an assessment).
fn incident_forms(
    v: &Viewer,
    platform_id: &str,
    status: Status,
    incident_id: &str,
    today: NaiveDate,
) -> Markup {
    html! {
        @for f in forms::offered(v, Subject::Incident, status) {
            (f.render(v, html! {
                (envelope(v, platform_id, f.action, today))
                input type="hidden" name="incident_id" value=(incident_id);
            }, false, today))
        }
    }
}

/// The actions a row of the funnel's application list offers to this user.
pub(super) fn summary_forms(
    v: &Viewer,
    p: &PlatformSummary,
    round: Option<Round>,
    today: NaiveDate,
) -> Markup {
    let situation = Situation {
        round,
        province: Province::parse(&p.province),
        domains: &p.domains,
    };
    platform_subject_forms(
        v,
        &p.platform_id,
        p.status,
        today,
        !p.hard_failures.is_empty(),
        true,
        &situation,
    )
}

/// The actions the platform page offers to this user.
pub(super) fn platform_forms(
    v: &Viewer,
    platform_id: &str,
    p: &Platform,
    round: Option<Round>,
    today: NaiveDate,
) -> Markup {
    let no_domains = BTreeSet::new();
    let situation = Situation {
        round,
        province: p.province(),
        domains: p.form.as_ref().map_or(&no_domains, |f| &f.domains),
    };
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
    let unassessed: Vec<&String> = p
        .incidents
        .values()
        .filter(|i| i.assessed_class.is_none() && i.assessed_loss.is_none())
        .map(|i| &i.incident_id)
        .collect();
    html! {
        div.actions {
            (platform_subject_forms(v, platform_id, p.status, today, failing, false, &situation))
            @if p.status == Status::UnderReview {
                @for r in &open { (review_forms(v, platform_id, r, today)) }
            }
            @for i in &unassessed { (incident_forms(v, platform_id, p.status, i, today)) }
        }
    }
}

/// The posted value of `name`, trimmed; `None` when absent or empty.
pub(super) fn posted<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The command id a form carries (a new one with each page, so a form posted twice acts once).
pub(super) fn command_id(form: &[(String, String)]) -> Result<Uuid, Refusal> {
    posted(form, "command_id")
        .and_then(|c| Uuid::parse_str(c).ok())
        .ok_or_else(|| {
            Refusal::invalid("command_id", "the form's command id is not a UUID")
                .zh("表单已失效，请刷新页面后重新填写")
        })
}

/// The form as the command request the API would build from the same fields.
pub(super) fn request(form: &[(String, String)]) -> Result<CommandRequest, Refusal> {
    let platform_id = posted(form, "platform_id").ok_or_else(|| {
        Refusal::invalid("platform_id", "the form names no platform").zh("表单未指明平台")
    })?;
    let command_id = command_id(form)?;
    // No date: the act takes effect today (RULES.md §12); the service checks a stated one.
    let business_date = posted(form, "business_date")
        .map(|date| {
            NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| {
                Refusal::new(
                    code::IMPOSSIBLE_DATE,
                    format!("the decision date '{date}' is not a date (YYYY-MM-DD)"),
                )
                .at("business_date")
                .zh(format!("决定日期“{date}”不是日期（如 2025-07-01）"))
            })
        })
        .transpose()?;
    let action = posted(form, "action").unwrap_or_default();
    let spec = forms::by_action(action).ok_or_else(|| {
        let actions: Vec<&str> = forms::all().map(|f| f.action).collect();
        Refusal::invalid(
            "action",
            format!("no action '{action}'; one of {}", actions.join(", ")),
        )
        .zh(format!("没有“{action}”这一事项"))
    })?;
    let command = commands::platform_command(spec.kind, "", spec.fields(form)?)?;
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
pub(super) fn back_to(form: &[(String, String)]) -> String {
    posted(form, "back")
        .filter(|b| b.starts_with("/ui") && !b.starts_with("//"))
        .filter(|b| b.len() <= 512 && b.bytes().all(|c| c.is_ascii_graphic()))
        .unwrap_or("/ui")
        .to_string()
}

/// A form posted from another site is refused even when the browser sent the cookie.
pub(super) fn same_origin(headers: &HeaderMap) -> bool {
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

/// The posted form of a state-changing page, once it is known to come from this session's own
/// page (CSRF token and origin); otherwise the refusal page, audited under `what`.
pub(super) async fn checked_form(
    state: &AppState,
    v: &Viewer,
    headers: &HeaderMap,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
    what: &str,
) -> Result<Vec<(String, String)>, Response> {
    let checked = form
        .map(|Form(f)| f)
        .map_err(|e| {
            Refusal::invalid("form", format!("the form could not be read: {e}"))
                .zh("表单无法读取，请刷新页面后重新填写")
        })
        .and_then(|f| {
            check_csrf(v, posted(&f, "csrf"))?;
            if same_origin(headers) {
                Ok(f)
            } else {
                Err(Refusal::forbidden("the form was posted from another site")
                    .zh("表单来自其他网站，未予受理"))
            }
        });
    match checked {
        Ok(f) => Ok(f),
        Err(r) => {
            state
                .audit_refusal(v.actor.clone(), what, &r.code, &r.message)
                .await;
            Err(PageError::new(v, r).into_response())
        }
    }
}

/// Runs the command a posted form stands for, as the API runs it; a form refused before it is
/// sent is audited under `what`. The command's name and its outcome.
pub(super) async fn run_form(
    state: &AppState,
    v: &Viewer,
    form: &[(String, String)],
    what: &str,
) -> Result<(&'static str, CommandOutcome), Refusal> {
    let req = match request(form) {
        Ok(req) => req,
        Err(r) => {
            state
                .audit_refusal(v.actor.clone(), what, &r.code, &r.message)
                .await;
            return Err(r);
        }
    };
    let kind = match &req.target {
        Target::Platform { command, .. } => command.name(),
        _ => "",
    };
    commands::run(state, &v.actor, req).await.map(|o| (kind, o))
}

pub(super) async fn act(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let what = "POST /ui/act";
    let form = match checked_form(&state, &v, &headers, form, what).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let flash = match run_form(&state, &v, &form, what).await {
        Ok((kind, o)) => {
            // The act by its form's title (the Chinese page shows no command names).
            let title = roster_domain::registry::CommandKind::named(kind)
                .and_then(super::forms::form)
                .map_or(kind, |f| v.t(f.title.zh, f.title.en));
            let mut text = format!(
                "{} {} ({}){}",
                v.t("已受理：", "Accepted:"),
                title,
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
            Flash {
                ok: true,
                text,
                code: None,
            }
        }
        Err(r) => refusal_flash(&v, &r),
    };
    state.sessions().flash(&v.session_id, flash);
    Redirect::to(&back_to(&form)).into_response()
}

/// A refusal as one line: `[code] message (field)`.
pub(super) fn refusal_text(r: &Refusal) -> String {
    format!(
        "[{}] {}{}",
        r.code,
        r.message,
        r.field
            .as_deref()
            .map(|f| format!(" ({f})"))
            .unwrap_or_default()
    )
}

/// A refusal as one line in the viewer's language: in Chinese what it means, the field by its
/// label on the page and the particulars in Chinese; in English `[code] message (field)`.
pub(super) fn refusal_line(v: &Viewer, r: &Refusal) -> String {
    match v.lang {
        super::Lang::Zh => format!(
            "{}{}：{}",
            r.code.explain_zh(),
            r.field
                .as_deref()
                .and_then(super::field_label_zh)
                .map(|f| format!("（{f}）"))
                .unwrap_or_default(),
            super::particulars(v.lang, r)
        ),
        super::Lang::En => refusal_text(r),
    }
}

pub(super) fn refusal_flash(v: &Viewer, r: &Refusal) -> Flash {
    // What it means first, in Chinese; the particulars (the row, the date, the value) after.
    Flash {
        ok: false,
        text: format!("{} {}", v.t("未受理：", "Refused:"), refusal_line(v, r)),
        code: Some(r.code.to_string()),
    }
}

/// Runs the command a page's opening form became (a round, a call): a form that did not become
/// one is audited as refused; the outcome is flashed (`accepted` words an accepted one), and
/// the browser goes to `done` when it was accepted, back to `back` when refused.
pub(super) async fn run_opening(
    state: &AppState,
    v: &Viewer,
    what: &str,
    request: Result<CommandRequest, Refusal>,
    accepted: impl FnOnce(&CommandOutcome) -> String,
    done: &str,
    back: &str,
) -> Response {
    let outcome = match request {
        Ok(req) => commands::run(state, &v.actor, req).await,
        Err(r) => {
            state
                .audit_refusal(v.actor.clone(), what, &r.code, &r.message)
                .await;
            Err(r)
        }
    };
    match outcome {
        Ok(o) => {
            let text = format!(
                "{} {}{}",
                v.t("已受理：", "Accepted:"),
                accepted(&o),
                if o.duplicate {
                    v.t("（此前已受理）", " (already accepted before)")
                } else {
                    ""
                }
            );
            state.sessions().flash(
                &v.session_id,
                Flash {
                    ok: true,
                    text,
                    code: None,
                },
            );
            Redirect::to(done).into_response()
        }
        Err(r) => {
            state.sessions().flash(&v.session_id, refusal_flash(v, &r));
            Redirect::to(back).into_response()
        }
    }
}
