//! The ministry opens a round of applications from a page (RULES.md §6): its id, opening date,
//! the deadline to the ministry, the quota per province, the shortest notice,
//! and per province its own applicant and city deadlines and whether its cities endorse first
//! (Guangdong 2025). The form becomes the same `OpenRound` command `POST /api/v1/rounds` takes.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use chrono::NaiveDate;
use maud::html;
use roster_domain::commands::OpenRound;
use roster_domain::error::code;
use roster_domain::registry::CommandKind;
use roster_domain::request::{CommandRequest, Target};
use roster_domain::values::Province;
use roster_domain::Refusal;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::actions::{checked_form, posted};
use super::{page, PageError, Viewer};
use crate::{commands, AppState};

fn may_open(v: &Viewer) -> Result<(), Refusal> {
    if CommandKind::OpenRound.roles().contains(&v.actor.role) {
        Ok(())
    } else {
        Err(Refusal::forbidden("only the ministry opens a round")
            .zh("只有工业和信息化部可以开放申报批次"))
    }
}

pub(super) async fn new_round(
    State(state): State<AppState>,
    v: Viewer,
) -> Result<Response, PageError> {
    may_open(&v).map_err(|r| PageError::new(&v, r))?;
    let today = state.app().today();
    let lang = v.lang;
    let body = html! {
        form method="post" action="/ui/rounds" id="open-round" class="round" {
            input type="hidden" name="csrf" value=(v.csrf);
            input type="hidden" name="command_id" value=(Uuid::new_v4());
            div.filters {
                label { (v.t("批次编号", "Round id")) input type="text" name="round_id" required pattern="[A-Za-z0-9_-]{1,32}" placeholder="2026"; }
                label { (v.t("决定日期", "Decision date")) input type="date" name="business_date" value=(today) max=(today) required; }
                label { (v.t("开始受理", "Opens on")) input type="date" name="opens_on" value=(today) required; }
                label { (v.t("省级报送截止（R-4）", "Provinces' deadline (R-4)")) input type="date" name="province_deadline" required; }
                label { (v.t("每省推荐上限（R-1）", "Quota per province (R-1)")) input type="number" name="quota_per_province" min="1" max="99" value="5" required; }
                label { (v.t("公示天数（R-5）", "Notice days (R-5)")) input type="number" name="notice_days" min="1" max="60" value="5" required; }
            }
            p.muted { (v.t(
                "各省可另设单位申报截止与市级推荐截止；留空则以省级报送截止为准。勾选“须经市级推荐”的省份，其申报须先经地市推荐。",
                "A province may have its own applicant and city deadlines; left empty, the provinces' deadline applies. Where city endorsement is ticked, its applications are endorsed by their city first."
            )) }
            div.scroll { table id="round-provinces" {
                thead { tr {
                    th { (v.t("省份", "Province")) } th { (v.t("单位申报截止", "Applicant deadline")) }
                    th { (v.t("市级推荐截止", "City deadline")) } th { (v.t("须经市级推荐", "City endorses first")) }
                } }
                tbody { @for p in Province::all() {
                    tr data-province=(p.code()) {
                        td { (lang.t(p.name_zh(), p.name_en())) }
                        td { input type="date" name={"applicant_deadline:" (p.code())}; }
                        td { input type="date" name={"city_deadline:" (p.code())}; }
                        td { input type="checkbox" name="city_endorsement" value=(p.code()); }
                    }
                } }
            } }
            button.primary type="submit" { (v.t("开启批次", "Open the round")) }
        }
    };
    Ok(page(&v, v.t("开启申报批次", "Open a round"), body))
}

/// A posted date field: absent or empty is `None`, anything else must be a date.
pub(super) fn date(form: &[(String, String)], name: &str) -> Result<Option<NaiveDate>, Refusal> {
    posted(form, name)
        .map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                Refusal::new(
                    code::IMPOSSIBLE_DATE,
                    format!("{name} '{d}' is not a date (YYYY-MM-DD)"),
                )
                .at(name)
                .zh(format!("“{d}”不是日期（如 2025-07-01）"))
            })
        })
        .transpose()
}

fn number(form: &[(String, String)], name: &str) -> Result<Option<u64>, Refusal> {
    posted(form, name)
        .map(|n| {
            n.parse::<u64>().map_err(|_| {
                Refusal::invalid(name, format!("{name} '{n}' is not a whole number"))
                    .zh(format!("“{n}”不是整数"))
            })
        })
        .transpose()
}

/// The posted form as the `OpenRound` command and its request.
fn request(form: &[(String, String)]) -> Result<CommandRequest, Refusal> {
    let command_id = super::actions::command_id(form)?;
    let per_province = |prefix: &str| -> Result<Map<String, Value>, Refusal> {
        let mut out = Map::new();
        for p in Province::all() {
            if let Some(d) = date(form, &format!("{prefix}:{}", p.code()))? {
                out.insert(p.code().to_string(), json!(d));
            }
        }
        Ok(out)
    };
    let applicant_deadlines = per_province("applicant_deadline")?;
    let city_deadlines = per_province("city_deadline")?;
    let endorsement: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "city_endorsement")
        .map(|(_, v)| v.as_str())
        .collect();
    let body = json!({
        "round_id": posted(form, "round_id").unwrap_or_default(),
        "opens_on": date(form, "opens_on")?,
        "province_deadline": date(form, "province_deadline")?,
        "quota_per_province": number(form, "quota_per_province")?.unwrap_or(5),
        "notice_days": number(form, "notice_days")?.unwrap_or(5),
        "applicant_deadlines": applicant_deadlines,
        "city_deadlines": city_deadlines,
        "city_endorsement_required": endorsement,
    });
    let open_round: OpenRound = commands::typed("", body)?;
    Ok(CommandRequest {
        command_id,
        business_date: date(form, "business_date")?,
        expected_version: None,
        correlation_id: None,
        causation_id: None,
        target: Target::OpenRound { open_round },
    })
}

pub(super) async fn open_round(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let what = "POST /ui/rounds";
    let form = match checked_form(&state, &v, &headers, form, what).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let request = request(&form);
    // A round id that was accepted is letters, digits, '-' and '_' only.
    let done = match &request {
        Ok(CommandRequest {
            target: Target::OpenRound { open_round },
            ..
        }) => format!("/ui/funnel?round={}", open_round.round_id),
        _ => "/ui/funnel".to_string(),
    };
    super::actions::run_opening(
        &state,
        &v,
        what,
        request,
        |o| format!("OpenRound ({})", o.stream_id),
        &done,
        "/ui/rounds/new",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::web::test_pairs as pairs;

    #[test]
    fn the_form_becomes_the_open_round_command() {
        let id = Uuid::new_v4().to_string();
        let req = request(&pairs(&[
            ("command_id", &id),
            ("round_id", "2026"),
            ("business_date", "2026-05-01"),
            ("opens_on", "2026-05-06"),
            ("province_deadline", "2026-07-15"),
            ("quota_per_province", "5"),
            ("notice_days", "7"),
            ("applicant_deadline:44", "2026-06-20"),
            ("applicant_deadline:32", ""),
            ("city_deadline:44", "2026-06-30"),
            ("city_endorsement", "44"),
        ]))
        .unwrap();
        let Target::OpenRound { open_round: r } = req.target else {
            panic!("a round")
        };
        let gd = Province::parse("44").unwrap();
        assert_eq!(r.round_id, "2026");
        assert_eq!((r.quota_per_province, r.notice_days), (5, 7));
        assert_eq!(
            r.applicant_deadlines.len(),
            1,
            "an empty date is no deadline"
        );
        assert_eq!(r.applicant_deadlines[&gd].to_string(), "2026-06-20");
        assert_eq!(r.city_deadlines[&gd].to_string(), "2026-06-30");
        assert!(r.city_endorsement_required.contains(&gd));
        assert_eq!(req.business_date.unwrap().to_string(), "2026-05-01");
    }

    #[test]
    fn a_bad_date_or_number_names_its_field() {
        let id = Uuid::new_v4().to_string();
        let base = [
            ("command_id", id.as_str()),
            ("round_id", "2026"),
            ("opens_on", "2026-05-06"),
            ("province_deadline", "2026-07-15"),
        ];
        let mut bad = base.to_vec();
        bad.push(("applicant_deadline:44", "2026-02-30"));
        let r = request(&pairs(&bad)).unwrap_err();
        assert_eq!(r.field.as_deref(), Some("applicant_deadline:44"));
        let mut bad = base.to_vec();
        bad.push(("quota_per_province", "five"));
        let r = request(&pairs(&bad)).unwrap_err();
        assert_eq!(r.field.as_deref(), Some("quota_per_province"));
    }
}
