//! Acts the ministry does for many platforms at once, from one table: the expert evaluation of a
//! round's recommended applications, the public notice of a batch, the listing of a batch on one
//! date, and the annual evaluation with star ratings of every listed platform of a year. Each
//! ticked row is its own command (with its own command id, so a resubmitted table acts once),
//! run through the same path as a single form; the outcome names every row refused and why,
//! and a refused row leaves the others as they were decided.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use roster_domain::access::sees;
use uuid::Uuid;

use super::actions::{back_to, checked_form, posted, refusal_flash, refusal_line, run_form};
use super::forms::{self, CommandForm, Input};
use super::session::Flash;
use super::{page, PageError, Viewer};
use crate::AppState;

/// The batch form posted under `action`, if it has one.
fn batch_form(action: &str) -> Option<(&'static CommandForm, &'static [&'static str])> {
    let f = forms::by_action(action)?;
    Some((f, f.batch?))
}

pub(super) async fn batch_page(
    State(state): State<AppState>,
    Path(action): Path<String>,
    v: Viewer,
) -> Result<Response, PageError> {
    let Some((form, per_row)) = batch_form(&action) else {
        return Err(PageError::new(
            &v,
            roster_domain::Refusal::not_found(format!("no batch act '{action}'"))
                .zh(format!("没有“{action}”这一批量事项")),
        ));
    };
    if !form.kind.roles().contains(&v.actor.role) {
        return Err(PageError::new(
            &v,
            roster_domain::Refusal::forbidden(format!(
                "{} is not an act of this role",
                form.kind.name()
            ))
            .zh("本角色无权办理此批量事项"),
        ));
    }
    state
        .app()
        .catch_up_catalog()
        .await
        .map_err(|e| PageError::new(&v, roster_domain::error::store_refusal(e)))?;
    let today = state.app().today();
    let rows: Vec<roster_projections::PlatformSummary> = state
        .app()
        .catalog()
        .await
        .platforms
        .values()
        .filter(|p| form.kind.allowed_in().contains(&p.status))
        .filter(|p| sees(&v.actor, &p.uscc, &p.city, &p.province))
        .cloned()
        .collect();
    let shared: Vec<_> = form
        .fields
        .iter()
        .filter(|f| !per_row.contains(&f.name))
        .collect();
    let row_fields: Vec<_> = form
        .fields
        .iter()
        .filter(|f| per_row.contains(&f.name))
        .collect();
    let lang = v.lang;
    let body = html! {
        form method="post" action="/ui/batch" id="batch" class={"batch " (form.action)} {
            input type="hidden" name="csrf" value=(v.csrf);
            input type="hidden" name="action" value=(form.action);
            input type="hidden" name="back" value=(v.here);
            div.filters {
                @if roster_domain::request::acts_when_recorded(v.actor.role) {
                    p.effective { (v.t("生效日期：", "Takes effect: ")) (today) }
                } @else {
                    label { (v.t("决定日期", "Decision date")) input type="date" name="business_date" value=(today) max=(today) required; }
                }
                @for f in &shared {
                    @if !matches!(f.input, Input::Preset | Input::NewId(_)) {
                        label { (v.t(f.label.zh, f.label.en)) (f.control(&v, today, f.name, f.required, &[])) }
                    }
                }
            }
            @if rows.is_empty() {
                p.muted id="batch-empty" { (v.t("没有可办理的平台。", "No platform is in a state for this act.")) }
            } @else {
                div.scroll { table id="batch-rows" {
                    thead { tr {
                        th { (v.t("选择", "Include")) } th { (v.t("平台", "Platform")) } th { (v.t("省份", "Province")) }
                        th { (v.t("状态", "Status")) }
                        @for f in &row_fields { th { (v.t(f.label.zh, f.label.en)) } }
                    } }
                    tbody { @for p in &rows {
                        tr data-platform=(p.platform_id) {
                            td {
                                input type="checkbox" name="rows" value=(p.platform_id);
                                input type="hidden" name={"command_id:" (p.platform_id)} value=(Uuid::new_v4());
                            }
                            td { a href={"/ui/platforms/" (p.platform_id)} { (p.platform_name) } }
                            td { (super::pages::province_name(lang, &p.province)) }
                            td { (super::pages::status_name(lang, p.status)) }
                            @for f in &row_fields {
                                td { (f.control(&v, today, &format!("{}:{}", f.name, p.platform_id), false, &[])) }
                            }
                        }
                    } }
                } }
                button.primary type="submit" { (v.t(form.submit.zh, form.submit.en)) (v.t("（所选各项）", " (ticked rows)")) }
            }
        }
    };
    Ok(page(
        &v,
        &format!(
            "{}{}",
            v.t(form.title.zh, form.title.en),
            v.t("（批量）", " (batch)")
        ),
        body,
    ))
}

/// The posted table as one form per ticked row: the shared fields, the row's own fields under
/// their plain names, its command id and platform.
fn row_forms(
    posted_form: &[(String, String)],
    per_row: &[&str],
) -> Vec<(String, Vec<(String, String)>)> {
    let shared: Vec<(String, String)> = posted_form
        .iter()
        .filter(|(k, _)| !k.contains(':') && k != "rows" && k != "command_id")
        .cloned()
        .collect();
    posted_form
        .iter()
        .filter(|(k, _)| k == "rows")
        .map(|(_, platform_id)| {
            let suffix = format!(":{platform_id}");
            let mut pairs = shared.clone();
            pairs.push(("platform_id".into(), platform_id.clone()));
            for (k, v) in posted_form {
                if let Some(name) = k.strip_suffix(&suffix) {
                    if name == "command_id" || per_row.contains(&name) {
                        pairs.push((name.to_string(), v.clone()));
                    }
                }
            }
            (platform_id.clone(), pairs)
        })
        .collect()
}

pub(super) async fn batch(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let what = "POST /ui/batch";
    let form = match checked_form(&state, &v, &headers, form, what).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let action = posted(&form, "action").unwrap_or_default();
    let Some((_, per_row)) = batch_form(action) else {
        let r = roster_domain::Refusal::invalid("action", format!("no batch act '{action}'"))
            .zh(format!("没有“{action}”这一批量事项"));
        state.sessions().flash(&v.session_id, refusal_flash(&v, &r));
        return Redirect::to(&back_to(&form)).into_response();
    };
    let rows = row_forms(&form, per_row);
    let flash = if rows.is_empty() {
        Flash {
            ok: false,
            text: v.t("未选择任何平台。", "No row was ticked.").to_string(),
            code: None,
        }
    } else {
        let mut accepted = 0;
        let mut refused = Vec::new();
        for (platform_id, pairs) in &rows {
            match run_form(&state, &v, pairs, what).await {
                Ok(_) => accepted += 1,
                Err(r) => refused.push(format!("{platform_id} {}", refusal_line(&v, &r))),
            }
        }
        Flash {
            ok: refused.is_empty(),
            text: format!(
                "{}{accepted}{}{}",
                v.t("已受理 ", "Accepted: "),
                v.t(" 项", ""),
                if refused.is_empty() {
                    String::new()
                } else {
                    format!(
                        "{}{}{}：{}",
                        v.t("；未受理 ", "; refused: "),
                        refused.len(),
                        v.t(" 项", ""),
                        refused.join("；")
                    )
                }
            ),
            code: None,
        }
    };
    state.sessions().flash(&v.session_id, flash);
    Redirect::to(&back_to(&form)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::web::test_pairs as pairs;

    #[test]
    fn each_ticked_row_becomes_its_own_form_with_the_shared_fields() {
        let posted = pairs(&[
            ("csrf", "t"),
            ("action", "annual"),
            ("business_date", "2026-12-01"),
            ("year", "2026"),
            ("rows", "a"),
            ("rows", "c"),
            ("command_id:a", "id-a"),
            ("command_id:b", "id-b"),
            ("command_id:c", "id-c"),
            ("stars:a", "4"),
            ("stars:b", "5"),
            ("stars:c", "3"),
            ("findings:c", "良好"),
            ("other:a", "ignored"),
        ]);
        let rows = row_forms(&posted, &["stars", "findings"]);
        assert_eq!(rows.len(), 2, "only ticked rows");
        let (id, a) = &rows[0];
        assert_eq!(id, "a");
        let get = |f: &[(String, String)], k: &str| {
            f.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        };
        assert_eq!(get(a, "platform_id").as_deref(), Some("a"));
        assert_eq!(get(a, "command_id").as_deref(), Some("id-a"));
        assert_eq!(get(a, "stars").as_deref(), Some("4"));
        assert_eq!(get(a, "year").as_deref(), Some("2026"));
        assert_eq!(get(a, "findings"), None);
        assert_eq!(get(a, "other"), None);
        let (_, c) = &rows[1];
        assert_eq!(get(c, "findings").as_deref(), Some("良好"));
        assert_eq!(get(c, "command_id").as_deref(), Some("id-c"));
    }
}
