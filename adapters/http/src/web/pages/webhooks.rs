//! 数据推送 (webhooks, RULES.md §13) for the ministry and analysts: register a receiver for
//! event types (the signing secret shown once), see each webhook's lag, failures and last
//! error, read its delivery log, send a delivery again, delete it. The same use cases as
//! `/api/v1/webhooks`.

use axum::http::HeaderMap;
use axum::response::Redirect;
use axum::Form;
use roster_app::webhooks::RegisterWebhook;
use uuid::Uuid;

use super::*;
use crate::web::actions::{checked_form, posted, refusal_flash};
use crate::web::session::Flash;

fn event_name(lang: Lang, event_type: &str) -> String {
    roster_domain::events::PlatformEvent::names(event_type).map_or_else(
        || event_type.to_string(),
        |(zh, en)| lang.t(zh, en).to_string(),
    )
}

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&roster_domain::clock::beijing())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// `GET /ui/webhooks`: the webhooks with their state, and the form to register one.
pub(crate) async fn webhooks(
    State(state): State<AppState>,
    v: Viewer,
) -> Result<Response, PageError> {
    let hooks = state
        .app()
        .webhooks(&v.actor)
        .await
        .map_err(|r| refused(&v, r))?;
    let lang = v.lang;
    let body = html! {
        p.muted { (v.t(
            "所选事件一经记录即推送到登记的地址（POST JSON），带签名头 X-Roster-Signature: t=时间戳,v1=HMAC-SHA256(密钥, \"时间戳.正文\")；接收方未返回 2xx 时按顺序重试（间隔倍增，最长 5 分钟），恢复后补发全部未送达的事件，每条以 X-Roster-Delivery 编号去重。",
            "The chosen events are POSTed as JSON to the address as they are recorded, signed in X-Roster-Signature: t=timestamp,v1=HMAC-SHA256(secret, \"timestamp.body\"); a receiver that does not answer 2xx is retried in order (doubling waits, at most 5 minutes) and gets everything it missed once back, each under its X-Roster-Delivery id."
        )) }
        @if hooks.is_empty() {
            p.muted id="no-webhooks" { (v.t("尚未登记推送地址。", "No webhook yet.")) }
        } @else {
            div.scroll { table id="webhooks" {
                thead { tr {
                    th { (v.t("地址", "URL")) } th { (v.t("事件", "Events")) } th { (v.t("登记", "Registered")) }
                    th.num { (v.t("待推送", "Lag")) } th { (v.t("状态", "State")) } th {}
                } }
                tbody { @for w in &hooks {
                    tr data-webhook=(w.webhook.webhook_id) class=[(w.failures > 0).then_some("overdue")] {
                        td { a href={"/ui/webhooks/" (w.webhook.webhook_id)} { (w.webhook.url) }
                            @if let Some(d) = &w.webhook.description { br; small.muted { (d) } } }
                        td { (w.webhook.event_types.iter().map(|t| event_name(lang, t)).collect::<Vec<_>>().join("、")) }
                        td { (when(w.webhook.created_at)) br; small.muted { (w.webhook.owner.id) } }
                        td.num { (w.lag) }
                        td.state {
                            @if !w.webhook.active { (v.t("已删除", "deleted")) }
                            @else if w.failures > 0 {
                                strong { (v.t("推送失败 ", "failing ")) (w.failures) (v.t(" 次", "×")) }
                                @if let Some(e) = &w.last_error { br; small { (e) } }
                                @if let Some(t) = w.retry_at { br; small.muted { (v.t("下次重试 ", "next attempt ")) (when(t)) } }
                            }
                            @else { (v.t("正常", "ok")) }
                        }
                        td { @if w.webhook.active {
                            form method="post" action={"/ui/webhooks/" (w.webhook.webhook_id) "/deletion"} {
                                input type="hidden" name="csrf" value=(v.csrf);
                                button type="submit" { (v.t("删除", "Delete")) }
                            }
                        } }
                    }
                } }
            } }
        }
        h2 { (v.t("登记推送地址", "Register a webhook")) }
        form.stacked method="post" action="/ui/webhooks" id="register-webhook" {
            input type="hidden" name="csrf" value=(v.csrf);
            label { (v.t("接收地址（http:// 或 https://）", "Receiver URL (http:// or https://)")) input type="url" name="url" required maxlength="2000"; }
            fieldset {
                legend { (v.t("推送的事件", "Events")) }
                @for (t, zh, en) in roster_domain::events::PLATFORM_EVENT_NAMES {
                    label.check { input type="checkbox" name="event_types" value=(t); " " (lang.t(zh, en)) }
                }
            }
            label { (v.t("用途说明", "What it is for")) input type="text" name="description" maxlength="200"; }
            label.check { input type="checkbox" name="from_start" value="yes"; " " (v.t("同时推送已记录的全部事件", "Also deliver every event already recorded")) }
            button.primary type="submit" id="register" { (v.t("登记", "Register")) }
        }
    };
    Ok(page(&v, v.t("数据推送", "Webhooks"), body))
}

/// `POST /ui/webhooks`: registers; the flash shows the secret this once.
pub(crate) async fn register(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let what = "POST /ui/webhooks";
    let posted_form = match checked_form(&state, &v, &headers, form, what).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let request = RegisterWebhook {
        url: posted(&posted_form, "url").unwrap_or_default().to_string(),
        event_types: posted_form
            .iter()
            .filter(|(k, _)| k == "event_types")
            .map(|(_, t)| t.clone())
            .collect(),
        description: posted(&posted_form, "description").map(String::from),
        from_start: posted(&posted_form, "from_start") == Some("yes"),
    };
    let flash = match state.app().register_webhook(&v.actor, request).await {
        Ok(w) => Flash {
            ok: true,
            text: format!(
                "{}{}",
                v.t(
                    "已登记。签名密钥（只显示这一次，请妥善保存）：",
                    "Registered. The signing secret (shown this once; keep it): "
                ),
                w.secret
            ),
            code: None,
        },
        Err(r) => {
            state
                .audit_refusal(v.actor.clone(), what, &r.code, &r.message)
                .await;
            refusal_flash(&v, &r)
        }
    };
    state.sessions().flash(&v.session_id, flash);
    Redirect::to("/ui/webhooks").into_response()
}

fn webhook_id(id: &str) -> Result<Uuid, Refusal> {
    Uuid::parse_str(id).map_err(|_| {
        Refusal::not_found(format!("no webhook {id}")).zh(format!("没有推送地址 {id}"))
    })
}

/// `GET /ui/webhooks/{id}`: one webhook's delivery log, newest first, with a replay button.
pub(crate) async fn webhook(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = webhook_id(&id).map_err(|r| refused(&v, r))?;
    let w = state
        .app()
        .webhook(&v.actor, id)
        .await
        .map_err(|r| refused(&v, r))?;
    let log = state
        .app()
        .webhook_deliveries(&v.actor, id, 200)
        .await
        .map_err(|r| refused(&v, r))?;
    let lang = v.lang;
    let body = html! {
        p { a href="/ui/webhooks" { (v.t("返回数据推送", "Back to the webhooks")) } }
        dl.profile {
            dt { (v.t("地址", "URL")) } dd { (w.webhook.url) }
            dt { (v.t("事件", "Events")) } dd { (w.webhook.event_types.iter().map(|t| event_name(lang, t)).collect::<Vec<_>>().join("、")) }
            dt { (v.t("待推送", "Lag")) } dd id="lag" { (w.lag) }
            dt { (v.t("连续失败", "Failures")) } dd id="failures" { (w.failures) }
        }
        h2 { (v.t("推送记录", "Deliveries")) }
        @if log.is_empty() { p.muted { (v.t("尚无推送。", "Nothing delivered yet.")) } }
        @else {
            div.scroll { table id="deliveries" {
                thead { tr {
                    th { (v.t("推送编号", "Delivery")) } th { (v.t("事件", "Event")) } th { (v.t("平台", "Platform")) }
                    th.num { (v.t("尝试", "Attempts")) } th { (v.t("结果", "Outcome")) } th { (v.t("最近一次", "Last attempt")) } th {}
                } }
                tbody { @for d in &log {
                    tr data-delivery=(d.delivery_id) {
                        td { code { (d.delivery_id) } }
                        td { (event_name(lang, &d.event_type)) }
                        td { (d.stream_id.strip_prefix("platform-").unwrap_or(&d.stream_id)) }
                        td.num { (d.attempts) }
                        td.outcome {
                            @if d.delivered { (v.t("已送达", "delivered")) @if let Some(s) = d.last_status { " (" (s) ")" } }
                            @else { strong { (v.t("未送达", "not delivered")) } @if let Some(e) = &d.last_error { br; small { (e) } } }
                        }
                        td { (when(d.last_attempt_at)) }
                        td { form method="post" action={"/ui/webhooks/" (id) "/deliveries/" (d.delivery_id) "/replay"} {
                            input type="hidden" name="csrf" value=(v.csrf);
                            button type="submit" { (v.t("重新推送", "Send again")) }
                        } }
                    }
                } }
            } }
        }
    };
    Ok(page(&v, v.t("推送记录", "Deliveries"), body))
}

/// `POST /ui/webhooks/{id}/deletion`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let what = "POST /ui/webhooks/{id}/deletion";
    if let Err(page) = checked_form(&state, &v, &headers, form, what).await {
        return page;
    }
    let outcome = match Uuid::parse_str(&id) {
        Ok(id) => state.app().delete_webhook(&v.actor, id).await,
        Err(_) => Err(Refusal::not_found(format!("no webhook {id}"))),
    };
    let flash = match outcome {
        Ok(()) => Flash {
            ok: true,
            text: v
                .t("已删除，不再推送。", "Deleted: nothing more is delivered.")
                .into(),
            code: None,
        },
        Err(r) => refusal_flash(&v, &r),
    };
    state.sessions().flash(&v.session_id, flash);
    Redirect::to("/ui/webhooks").into_response()
}

/// `POST /ui/webhooks/{id}/deliveries/{delivery_id}/replay`: sends it again now.
pub(crate) async fn replay(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    Path((id, delivery)): Path<(String, String)>,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let what = "POST /ui/webhooks/{id}/deliveries/{delivery_id}/replay";
    if let Err(page) = checked_form(&state, &v, &headers, form, what).await {
        return page;
    }
    let outcome = match (Uuid::parse_str(&id), Uuid::parse_str(&delivery)) {
        (Ok(w), Ok(d)) => {
            state
                .app()
                .replay_delivery(&v.actor, w, d, state.webhook_client())
                .await
        }
        _ => Err(Refusal::not_found(format!("no delivery {delivery}"))),
    };
    let flash = match outcome {
        Ok(d) if d.delivered && d.last_error.is_none() => Flash {
            ok: true,
            text: v
                .t(
                    "已重新推送，接收方已确认。",
                    "Sent again; the receiver confirmed.",
                )
                .into(),
            code: None,
        },
        Ok(d) => Flash {
            ok: false,
            text: format!(
                "{}{}",
                v.t("重新推送未成功：", "Not delivered: "),
                d.last_error.unwrap_or_default()
            ),
            code: None,
        },
        Err(r) => refusal_flash(&v, &r),
    };
    state.sessions().flash(&v.session_id, flash);
    Redirect::to(&format!("/ui/webhooks/{id}")).into_response()
}
