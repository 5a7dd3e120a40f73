//! The notification centre (通知): what happened on the user's platforms that concerns them,
//! newest first, unread in bold, with one button to mark everything read.

use axum::http::HeaderMap;
use axum::response::Redirect;
use axum::Form;

use super::*;
use crate::web::actions::checked_form;
use crate::web::session::Flash;

fn event_name(lang: Lang, event_type: &str) -> String {
    roster_domain::events::PlatformEvent::names(event_type).map_or_else(
        || event_type.to_string(),
        |(zh, en)| lang.t(zh, en).to_string(),
    )
}

pub(crate) async fn notifications(
    State(state): State<AppState>,
    v: Viewer,
) -> Result<Response, PageError> {
    let (items, unread) = state
        .app()
        .notifications(&v.actor)
        .await
        .map_err(|r| refused(&v, r))?;
    let lang = v.lang;
    let email = state
        .app()
        .mail_address(&v.actor)
        .await
        .map_err(|r| refused(&v, r))?;
    let body = html! {
        form.filters method="post" action="/ui/notifications/email" id="mail" {
            input type="hidden" name="csrf" value=(v.csrf);
            label {
                (v.t("同时发送到邮箱（留空则不发送）", "Also e-mail them to (empty: no e-mail)"))
                input type="email" name="email" value=[email.as_deref()] size="30" autocomplete="email";
            }
            button type="submit" { (v.t("保存", "Save")) }
        }
        div.cards {
            div.card { div.muted { (v.t("未读通知", "Unread")) } div.big id="count-unread" { (unread) } }
            div.card { div.muted { (v.t("全部通知", "All")) } div.big { (items.len()) } }
        }
        @if unread > 0 {
            form method="post" action="/ui/notifications/read" {
                input type="hidden" name="csrf" value=(v.csrf);
                @if let Some(newest) = items.first() {
                    input type="hidden" name="upto" value=(newest.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
                }
                button.primary type="submit" id="mark-read" { (v.t("全部标为已读", "Mark all read")) }
            }
        }
        @if items.is_empty() {
            p.muted { (v.t("暂无通知。", "No notifications.")) }
        } @else {
            div.scroll { table id="notifications" {
                thead { tr {
                    th { (v.t("记录时间（北京时间）", "Recorded (Beijing)")) } th { (v.t("平台", "Platform")) }
                    th { (v.t("事项", "Event")) } th { (v.t("内容", "Summary")) } th { (v.t("办理单位", "By")) }
                } }
                tbody { @for n in &items {
                    tr class=[n.unread.then_some("unread")] data-event=(n.event_type) {
                        td.date { (n.recorded_at.with_timezone(&roster_domain::clock::beijing()).format("%Y-%m-%d %H:%M")) }
                        td { a href={"/ui/platforms/" (n.platform_id)} { (n.platform_name) } }
                        td { @if n.unread { span.badge.new { (v.t("未读", "new")) } " " } (event_name(lang, &n.event_type)) }
                        td { (if v.lang == Lang::Zh && !n.summary_zh.is_empty() { &n.summary_zh } else { &n.summary }) }
                        td { (crate::web::role_name(lang, &n.by)) }
                    }
                } }
            } }
        }
    };
    Ok(page(&v, v.t("通知", "Notifications"), body))
}

pub(crate) async fn mark_read(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let what = "POST /ui/notifications/read";
    let posted = match checked_form(&state, &v, &headers, form, what).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let upto = crate::web::actions::posted(&posted, "upto")
        .and_then(|u| chrono::DateTime::parse_from_rfc3339(u).ok())
        .map(|u| u.with_timezone(&chrono::Utc));
    let flash = match state.app().mark_notifications_read(&v.actor, upto).await {
        Ok(()) => Flash {
            ok: true,
            text: v.t("已全部标为已读。", "All marked read.").to_string(),
            code: None,
        },
        Err(r) => crate::web::actions::refusal_flash(&v, &r),
    };
    state.sessions().flash(&v.session_id, flash);
    Redirect::to("/ui/notifications").into_response()
}

pub(crate) async fn set_email(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let what = "POST /ui/notifications/email";
    let posted = match checked_form(&state, &v, &headers, form, what).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let email = crate::web::actions::posted(&posted, "email");
    let flash = match state.app().set_mail_address(&v.actor, email).await {
        Ok(()) => Flash {
            ok: true,
            text: match email {
                Some(e) => format!(
                    "{}{e}",
                    v.t("通知将同时发送到 ", "Notifications will also go to ")
                ),
                None => v.t("不再发送邮件通知。", "No more e-mail.").to_string(),
            },
            code: None,
        },
        Err(r) => crate::web::actions::refusal_flash(&v, &r),
    };
    state.sessions().flash(&v.session_id, flash);
    Redirect::to("/ui/notifications").into_response()
}
