//! The dashboard's pages. Each reads through the same functions as the API's reports, so a page
//! shows exactly what the API would give the same user (RULES.md §10), and downloads are the API's
//! CSV and XLSX.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use maud::{html, Markup};
use roster_domain::actor::Role;
use roster_domain::commands::ReviewOutcome;
use roster_domain::eligibility::Outcome;
use roster_domain::error::{code, Refusal};
use roster_domain::incident::{IncidentClass, IncidentKind};
use roster_domain::platform::Status;
use roster_domain::values::{Domain, Province};
use roster_projections::export;
use roster_projections::kpi::KpiReport;
use roster_projections::models::incidents::IncidentsDoc;
use roster_projections::models::reviews::ReviewsDoc;
use roster_projections::models::timeline::TimelineDoc;
use roster_projections::queries::{ReviewState, RosterRow};

use super::charts::{self, Bar, Series, Stroke};
use super::{filled, page, table, Lang, PageError, Viewer};
use crate::problem::Problem;
use crate::reads::{self, date_param, known};
use crate::AppState;

type Params = Query<HashMap<String, String>>;

/// Statuses with their Chinese and English names, in lifecycle order.
pub(super) fn status_name(lang: Lang, s: Status) -> &'static str {
    lang.t(s.name_zh(), s.name_en())
}

fn status_badge(lang: Lang, s: Status) -> Markup {
    html! { span class={"status " (s.code())} data-status=(s.code()) { (status_name(lang, s)) } }
}

pub(super) fn province_name(lang: Lang, code: &str) -> String {
    Province::parse(code).map_or_else(
        || code.to_string(),
        |p| lang.t(p.name_zh(), p.name_en()).to_string(),
    )
}

fn domain_name(lang: Lang, d: Domain) -> &'static str {
    lang.t(d.name_zh(), d.code())
}

/// A query string from parameters (sorted, percent-encoded), for download links and forms.
pub(super) fn query_string(params: &HashMap<String, String>) -> String {
    let sorted: BTreeMap<_, _> = params.iter().collect();
    sorted
        .into_iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// RFC 3986's unreserved characters stay as they are; everything else is percent-encoded.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, QUERY_VALUE).to_string()
}

fn refused(v: &Viewer, r: impl Into<Problem>) -> PageError {
    PageError::new(v, r)
}

pub(crate) fn file(content_type: &str, name: &str, body: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

pub(crate) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A city by its GB/T 2260 name (the code when it is not in the list).
pub(super) fn city_name(code: &str) -> String {
    roster_domain::values::gbt2260_name(code).map_or_else(|| code.to_string(), str::to_string)
}

/// A review's trigger as written (`triennial`, `ad_hoc`, `incident:<id>`) in the page's language.
pub(super) fn trigger_name(lang: Lang, trigger: &str) -> String {
    match (lang, roster_domain::commands::ReviewTrigger::parse(trigger)) {
        (Lang::Zh, Some(t)) => t.name_zh(),
        _ => trigger.to_string(),
    }
}

/// A soft finding (鼓励项) by what it looked for.
fn soft_finding_name(lang: Lang, code: &str) -> String {
    match code {
        "parallel_bioreactors" => lang
            .t("鼓励项：平行生物反应器", "Encouraged: parallel bioreactors")
            .into(),
        "process_analytics_or_digital_twin" => lang
            .t(
                "鼓励项：过程分析与数字化仿真软件",
                "Encouraged: process analytics or digital twin",
            )
            .into(),
        other => match other
            .strip_prefix("domain_equipment:")
            .and_then(Domain::parse)
        {
            Some(d) => format!(
                "{}{}",
                lang.t("鼓励项：专用设备·", "Encouraged: equipment for "),
                domain_name(lang, d)
            ),
            None => other.to_string(),
        },
    }
}

/// The eligibility assessment rule by rule (G-1..G-12), then the soft findings.
pub(super) fn eligibility_table(
    v: &Viewer,
    a: &roster_domain::eligibility::EligibilityAssessment,
) -> Markup {
    let lang = v.lang;
    html! {
        div.scroll { table id="eligibility" {
            thead { tr { th { (v.t("规则", "Rule")) } th { (v.t("结果", "Outcome")) } th { (v.t("说明", "Detail")) } } }
            tbody {
                @for r in &a.rules {
                    tr data-rule=(r.rule) {
                        td { (r.rule) }
                        td class=(outcome_class(r.outcome)) { (outcome_name(lang, r.outcome)) }
                        td { (if lang == Lang::Zh && !r.detail_zh.is_empty() { &r.detail_zh } else { &r.detail }) }
                    }
                }
                @for s in &a.soft_findings {
                    tr data-finding=(s.code) { td { (soft_finding_name(lang, &s.code)) } td { @if s.present { (v.t("有", "present")) } @else { (v.t("无", "absent")) } } td { (s.detail) } }
                }
            }
        } }
    }
}

mod funnel;
mod platform;
mod reviews;
mod roster;

fn incident_kind(lang: Lang, k: IncidentKind) -> &'static str {
    match k {
        IncidentKind::StrainLeak => lang.t("菌种泄露", "strain leak"),
        IncidentKind::Safety => lang.t("安全事故", "safety"),
        IncidentKind::Environmental => lang.t("环境污染事故", "environmental"),
        IncidentKind::Other => lang.t("其他", "other"),
    }
}

/// Decree 493's classes.
fn incident_class(lang: Lang, c: IncidentClass) -> &'static str {
    match c {
        IncidentClass::General => lang.t("一般", "general"),
        IncidentClass::Larger => lang.t("较大", "larger"),
        IncidentClass::Major => lang.t("重大", "major"),
        IncidentClass::EspeciallyMajor => lang.t("特别重大", "especially major"),
    }
}

fn review_outcome(lang: Lang, o: ReviewOutcome) -> &'static str {
    match o {
        ReviewOutcome::Passed => lang.t("通过", "passed"),
        ReviewOutcome::Failed => lang.t("不通过", "failed"),
    }
}

fn outcome_class(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "outcome-pass",
        Outcome::Fail | Outcome::MissingEvidence => "outcome-fail",
        Outcome::NotApplicable => "",
    }
}

fn outcome_name(lang: Lang, o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => lang.t("符合", "pass"),
        Outcome::Fail => lang.t("不符合", "fail"),
        Outcome::MissingEvidence => lang.t("缺少材料", "missing evidence"),
        Outcome::NotApplicable => lang.t("不适用", "not applicable"),
    }
}

mod inbox;
mod notifications;
mod provinces;
mod targets;
mod webhooks;

pub(super) use funnel::funnel;
pub(super) use inbox::inbox;
pub(super) use notifications::{mark_read, notifications, set_email};
pub(super) use platform::platform;
pub(super) use provinces::provinces;
pub(super) use reviews::reviews;
pub(super) use roster::{roster, roster_csv, roster_xlsx};
pub(super) use targets::{kpi_csv, kpi_xlsx, targets};
pub(super) use webhooks::{
    delete as delete_webhook, register as register_webhook, replay as replay_delivery, webhook,
    webhooks,
};
