//! The Platform aggregate (stream `platform-<id>`): the lifecycle of RULES.md §4 from application
//! to listing, dynamic management and delisting, with re-application on the same stream.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::commands::*;
use crate::eligibility::{self, EligibilityAssessment, PastIncident};
use crate::error::{code, Refusal};
use crate::events::PlatformEvent;
use crate::form::{Applicant, ApplicationForm};
use crate::incident::{IncidentClass, IncidentKind};
use crate::round::Round;
use crate::values::{CityCode, Cny, Province, Uscc};

mod decide;

/// Where a platform stands in the lifecycle of RULES.md §4. `listed` and `under_review` are on
/// the roster; from `withdrawn`, `rejected`, `not_selected` or `delisted` the unit may apply again,
/// in a round it has not applied in.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// No application yet on this stream.
    #[default]
    New,
    /// Application submitted in an open round; awaiting the city or the province.
    Submitted,
    /// Endorsed by the applicant's city; awaiting the province.
    CityEndorsed,
    /// Recommended by the province; awaiting the expert evaluation.
    Recommended,
    /// Passed the expert evaluation; awaiting the public notice.
    Evaluated,
    /// On public notice (公示); listed after it ends with no upheld objection.
    OnNotice,
    /// On the roster (counts in K-1).
    Listed,
    /// On the roster with at least one review open; still counts in K-1.
    UnderReview,
    /// Rejected by the province.
    Rejected,
    /// Failed the expert evaluation, or an objection during the public notice was upheld.
    NotSelected,
    /// Withdrawn by the applicant before listing.
    Withdrawn,
    /// Removed from the roster (撤除): a failed review (D-3), a strain leak with major loss (D-5),
    /// a reason of D-9, a voluntary or another delisting.
    Delisted,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 12] = [
        Status::New,
        Status::Submitted,
        Status::CityEndorsed,
        Status::Recommended,
        Status::Evaluated,
        Status::OnNotice,
        Status::Listed,
        Status::UnderReview,
        Status::Rejected,
        Status::NotSelected,
        Status::Withdrawn,
        Status::Delisted,
    ];

    /// The status's one spelling in the API, CSV, the command line and messages (as serde
    /// writes it).
    pub fn as_str(self) -> &'static str {
        self.code()
    }

    /// The code: `listed`, `under_review` … (serde's spelling, checked by a test).
    pub fn code(self) -> &'static str {
        self.labels().0
    }

    /// What a Chinese reader calls it.
    pub fn name_zh(self) -> &'static str {
        self.labels().1
    }

    /// What an English reader calls it.
    pub fn name_en(self) -> &'static str {
        self.labels().2
    }

    fn labels(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Status::New => ("new", "新建", "new"),
            Status::Submitted => ("submitted", "已申报", "submitted"),
            Status::CityEndorsed => ("city_endorsed", "市级已推荐", "endorsed by the city"),
            Status::Recommended => ("recommended", "省级已推荐", "recommended by the province"),
            Status::Evaluated => ("evaluated", "已评审", "evaluated"),
            Status::OnNotice => ("on_notice", "公示中", "on public notice"),
            Status::Listed => ("listed", "已入列", "listed"),
            Status::UnderReview => ("under_review", "复核中", "under review"),
            Status::Rejected => ("rejected", "未获推荐", "rejected"),
            Status::NotSelected => ("not_selected", "未入选", "not selected"),
            Status::Withdrawn => ("withdrawn", "已撤回", "withdrawn"),
            Status::Delisted => ("delisted", "已撤销", "delisted"),
        }
    }

    /// The status a code names.
    pub fn parse(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    /// On the roster (counts in K-1): `UnderReview` is still listed.
    pub fn is_listed(self) -> bool {
        matches!(self, Status::Listed | Status::UnderReview)
    }

    /// An application cycle that has ended without listing, or a delisting: may apply again.
    pub fn may_apply(self) -> bool {
        matches!(
            self,
            Status::New
                | Status::Withdrawn
                | Status::Rejected
                | Status::NotSelected
                | Status::Delisted
        )
    }

    fn application_pending(self) -> bool {
        matches!(
            self,
            Status::Submitted
                | Status::CityEndorsed
                | Status::Recommended
                | Status::Evaluated
                | Status::OnNotice
        )
    }

    /// The one transition function of the lifecycle (RULES.md §4, §7): the status after `event`.
    /// `reviews_still_open`: whether a review is open once the event is folded (concluding the
    /// last open review returns the platform to `Listed`; D-3 delists in the same commit when
    /// the review failed). The aggregate, the catalog and the roster read model all fold their
    /// status with it, so they cannot disagree.
    pub fn after(self, event: &PlatformEvent, reviews_still_open: bool) -> Status {
        use PlatformEvent as E;
        match event {
            E::ApplicationSubmitted { .. } => Status::Submitted,
            E::ApplicationWithdrawn { .. } => Status::Withdrawn,
            E::CityEndorsed { .. } => Status::CityEndorsed,
            E::ProvinceRecommended { .. } => Status::Recommended,
            E::ProvinceRejected { .. } => Status::Rejected,
            E::ExpertEvaluationRecorded { passed: true, .. } => Status::Evaluated,
            E::ExpertEvaluationRecorded { passed: false, .. } => Status::NotSelected,
            E::PublicNoticeStarted { .. } => Status::OnNotice,
            E::NoticeObjectionRecorded { upheld: true, .. } => Status::NotSelected,
            E::PlatformListed { .. } => Status::Listed,
            E::ReviewOpened { .. } => Status::UnderReview,
            E::ReviewConcluded { .. } if self == Status::UnderReview && !reviews_still_open => {
                Status::Listed
            }
            E::PlatformDelisted { .. } => Status::Delisted,
            E::ReviewConcluded { .. }
            | E::NoticeObjectionRecorded { upheld: false, .. }
            | E::ObjectionFiled { .. }
            | E::ServiceOfferUpdated { .. }
            | E::NeedReceived { .. }
            | E::NeedAnswered { .. }
            | E::EligibilityAssessed { .. }
            | E::ApplicationAmended { .. }
            | E::ServiceRecorded { .. }
            | E::ServiceRetracted { .. }
            | E::IncidentReported { .. }
            | E::IncidentAssessed { .. }
            | E::AnnualEvaluationRecorded { .. } => self,
        }
    }

    /// The commands RULES.md §4 allows in this state (declared in `crate::registry`).
    pub fn allowed_commands(self) -> Vec<&'static str> {
        crate::registry::CommandKind::platform()
            .filter(|k| k.allowed_in().contains(&self))
            .map(|k| k.name())
            .collect()
    }
}

/// `listed` → `Listed`, for the start of a label.
fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod status_tests {
    use super::Status;

    #[test]
    fn a_status_is_spelled_as_serde_writes_it_and_reads_back() {
        for s in Status::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.code(), "{s:?}");
            assert_eq!(Status::parse(s.code()), Some(s));
            assert_eq!(s.to_string(), s.code());
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An incident reported for the platform, with what its latest assessment found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Its id as reported, unique on the platform.
    pub incident_id: String,
    /// What happened: a strain leak, a safety or environmental accident, or other.
    pub kind: IncidentKind,
    /// When it occurred.
    pub occurred_on: NaiveDate,
    /// Direct economic loss stated in the report, if known then.
    pub reported_loss: Option<Cny>,
    /// Class stated by the reporter, if any.
    pub stated_severity: Option<IncidentClass>,
    /// Direct economic loss found by the latest assessment.
    pub assessed_loss: Option<Cny>,
    /// Class under Decree 493 from the latest assessment's consequences.
    pub assessed_class: Option<IncidentClass>,
}

impl Incident {
    /// The best known direct loss: the assessment's, else the report's.
    pub fn direct_loss(&self) -> Option<Cny> {
        self.assessed_loss.or(self.reported_loss)
    }

    /// The class: the highest of the assessment's, the reporter's and what the known loss gives.
    pub fn class(&self) -> IncidentClass {
        let from_loss = IncidentClass::from_consequences(self.direct_loss(), 0, 0);
        [Some(from_loss), self.assessed_class, self.stated_severity]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(IncidentClass::General)
    }
}

/// A review of a listed platform: triennial (D-1), after an incident (D-4, D-6) or ad hoc.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// Its id, unique on the platform (the system opens `triennial-<due date>` and
    /// `incident-<incident id>`).
    pub review_id: String,
    /// Why it was opened.
    pub trigger: ReviewTrigger,
    /// The day by which it is to be concluded; an open review after it is overdue (D-2).
    pub due_on: NaiveDate,
    /// `None` while it is open.
    pub outcome: Option<ReviewOutcome>,
}

/// A service record (RULES.md §8) as the platform keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceEntry {
    /// The date of the service, which K-2..K-4 compare with the listed periods.
    pub dated: NaiveDate,
    /// What was delivered.
    pub record: ServiceRecord,
    /// Whether it was retracted; a retracted record never counts.
    pub retracted: bool,
}

/// The Platform aggregate: the state folded from the platform's stream, the current
/// application cycle with the history kept across cycles (listed periods, reviews, services,
/// incidents, star ratings).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Platform {
    /// Where the platform stands (folded with `Status::after`).
    pub status: Status,
    /// The current application cycle: 1 for the first application on the stream, +1 for each
    /// application after; 0 before any.
    pub cycle: u32,
    /// The round of the current cycle's application.
    pub round_id: Option<String>,
    /// Every round the platform has applied in; it applies at most once per round.
    pub rounds_applied: BTreeSet<String>,
    /// Business date of the current cycle's submission.
    pub submitted_on: Option<NaiveDate>,
    /// The current cycle's application form, with its amendments applied.
    pub form: Option<ApplicationForm>,
    /// The latest eligibility assessment of that form (G-1..G-12).
    pub assessment: Option<EligibilityAssessment>,
    /// The city that endorsed the current cycle's application, if any.
    pub endorsed_by: Option<CityCode>,
    /// The province that recommended it, if any.
    pub recommended_by: Option<Province>,
    /// The current cycle's public notice: first and last day, both included.
    pub notice: Option<(NaiveDate, NaiveDate)>,
    /// The current cycle's listing date; kept after a delisting, cleared by the next submission.
    pub listed_on: Option<NaiveDate>,
    /// Every listed period: (listed on, delisted on).
    pub listed_periods: Vec<(NaiveDate, Option<NaiveDate>)>,
    /// Reviews by id: the concluded ones and those open (an open review is dropped when the
    /// platform is delisted or applies again).
    pub reviews: BTreeMap<String, Review>,
    /// Service records by id, retracted ones included (marked as such).
    pub services: BTreeMap<Uuid, ServiceEntry>,
    /// Incidents by incident id, of every cycle.
    pub incidents: BTreeMap<String, Incident>,
    /// Star ratings by year (D-8); a later evaluation of the same year replaces the rating.
    pub star_ratings: BTreeMap<i32, u8>,
    /// The objections the public filed during the current cycle's notice, by id.
    pub objections: BTreeMap<String, FiledObjection>,
    /// The pilot services the platform offers, as it last stated them.
    #[serde(default)]
    pub service_offer: Option<ServiceOffer>,
    /// The needs of enterprises that reached the platform (RULES.md §13), by need id, with the
    /// platform's answers; kept across cycles.
    #[serde(default)]
    pub needs: BTreeMap<String, ReceivedNeed>,
}

/// A need that reached the platform and what the platform answered (RULES.md §13).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceivedNeed {
    /// The day it was posted.
    pub received_on: NaiveDate,
    /// The need.
    pub need: crate::commands::Need,
    /// The answers in order, each with its day (interested, then contracted; or declined).
    pub answers: Vec<(NaiveDate, crate::commands::NeedResponse)>,
}

impl ReceivedNeed {
    /// The latest answer, if any.
    pub fn answer(&self) -> Option<&crate::commands::NeedResponse> {
        self.answers.last().map(|(_, a)| a)
    }
}

/// A platform's offer of pilot services (RULES.md §13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceOffer {
    /// The services offered.
    pub services: Vec<crate::commands::PilotService>,
    /// In its own words.
    pub description: Option<String>,
    /// Whether it takes new orders.
    pub accepting_orders: bool,
    /// The day it was stated.
    pub updated_on: NaiveDate,
}

/// An objection filed on the public face (RULES.md §13) and the ministry's decision on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiledObjection {
    /// The day it was filed.
    pub filed_on: NaiveDate,
    /// Who objects, and how to reach them (for the ministry alone).
    pub name: String,
    /// Phone or e-mail.
    pub contact: String,
    /// The grounds.
    pub grounds: String,
    /// The uploaded attachment, if any.
    pub attachment: Option<crate::form::Evidence>,
    /// `Some(upheld)` once the ministry decided it.
    pub decided: Option<bool>,
}

/// What a platform command needs to know beyond its own stream.
#[derive(Debug, Clone, Default)]
pub struct PlatformContext {
    /// The platform's id (its stream is `platform-<id>`).
    pub platform_id: String,
    /// The round the command concerns (the submitted round, or the current cycle's round).
    pub round: Option<Round>,
}

/// Event ids are derived from the command id, so a decision is reproducible and its own events
/// can be named as causes (e.g. the failed review behind a delisting).
pub fn event_id(command_id: Uuid, index: usize) -> Uuid {
    Uuid::new_v5(&command_id, format!("event-{index}").as_bytes())
}

fn required(field: &str, s: &str) -> Result<(), Refusal> {
    if s.trim().is_empty() {
        Err(Refusal::invalid(field, format!("{field} must not be empty")).zh("此项为必填项"))
    } else {
        Ok(())
    }
}

fn valid_id(field: &str, s: &str) -> Result<(), Refusal> {
    let ok = (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Refusal::invalid(
            field,
            format!("{field} has 1-64 letters, digits or - _ . :"),
        )
        .zh("编号为 1-64 位字母、数字或 - _ . :"))
    }
}

/// The declared province is the one whose authority registered the applicant's USCC (chars 3-4;
/// XPCC for 6590xx and 66xxxx), unless the USCC is centrally registered (`100000`): a province
/// recommends only applicants registered in it, so a mismatch is refused on submission
/// rather than discovered at recommendation.
fn applicant_registered_in_province(applicant: &Applicant) -> Result<(), Refusal> {
    let uscc = &applicant.uscc;
    if uscc.is_central() || uscc.registering_province() == Some(applicant.province) {
        return Ok(());
    }
    let registered = uscc
        .registering_province()
        .map(|p| format!("{p} ({})", p.name_zh()))
        .unwrap_or_else(|| "no known province".into());
    Err(Refusal::invalid(
        "form.applicant.province",
        format!(
            "R-3: the declared province {} ({}) is not the registering province of USCC {uscc}: division {} is in {registered}; declare the province that registered the applicant (central registration, 100000, may apply in any province)",
            applicant.province,
            applicant.province.name_zh(),
            uscc.division(),
        ),
    ).zh(format!("申报省份{}不是统一社会信用代码 {uscc} 的登记省份（登记机关区划 {}）；请填写登记该单位的省份（中央登记 100000 的可在任一省份申报）", applicant.province.name_zh(), uscc.division())))
}

fn deadline(rule: &str, what: &str, on: NaiveDate, last_day: NaiveDate) -> Result<(), Refusal> {
    if on > last_day {
        Err(Refusal::new(
            rule,
            format!("{what} on {on} is after the deadline {last_day} (the deadline day itself is still allowed)"),
        ).zh(format!("{on} 已过截止日期 {last_day}（截止日当天仍可办理）")))
    } else {
        Ok(())
    }
}

/// RFC 7396 merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

impl Platform {
    /// The stream of a platform: `platform-<id>`.
    pub fn stream_id(platform_id: &str) -> String {
        format!("platform-{platform_id}")
    }

    /// The applicant's USCC from the current form; `None` before the first submission.
    pub fn applicant_uscc(&self) -> Option<&Uscc> {
        self.form.as_ref().map(|f| &f.applicant.uscc)
    }

    /// The applicant's declared province from the current form.
    pub fn province(&self) -> Option<Province> {
        self.form.as_ref().map(|f| f.applicant.province)
    }

    /// The applicant's city from the current form.
    pub fn city(&self) -> Option<&CityCode> {
        self.form.as_ref().map(|f| &f.applicant.city)
    }

    /// The reviews not concluded yet.
    pub fn open_reviews(&self) -> impl Iterator<Item = &Review> {
        self.reviews.values().filter(|r| r.outcome.is_none())
    }

    fn past_incidents(&self) -> Vec<PastIncident> {
        self.incidents
            .values()
            .map(|i| PastIncident {
                incident_id: i.incident_id.clone(),
                occurred_on: i.occurred_on,
                serious: i.class() >= IncidentClass::Larger,
            })
            .collect()
    }

    fn refuse_state(&self, command: &str) -> Refusal {
        Refusal::new(
            code::STATE_CONFLICT,
            format!(
                "{command} is not allowed: the platform is {} ({}, {}); allowed now: {}",
                self.status,
                capitalized(self.status.name_en()),
                self.status.name_zh(),
                self.status.allowed_commands().join(", ")
            ),
        )
        .zh(format!(
            "平台当前状态为“{}”，不能办理此事项",
            self.status.name_zh()
        ))
    }

    fn round<'a>(&self, ctx: &'a PlatformContext) -> Result<&'a Round, Refusal> {
        ctx.round
            .as_ref()
            .filter(|r| r.config.is_some())
            .ok_or_else(|| {
                Refusal::not_found("the round of this application is not open")
                    .zh("本申报所属批次未开放")
            })
    }

    fn decide(
        &self,
        cmd: &Envelope<PlatformCommand>,
        ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        let kind = cmd.command.kind();
        if !kind.allowed_in().contains(&self.status) {
            return Err(self.refuse_state(kind.name()));
        }
        use PlatformCommand as C;
        match &cmd.command {
            C::SubmitApplication(c) => self.submit_application(c, &cmd.meta, ctx),
            C::AmendApplication(c) => self.amend_application(c, &cmd.meta, ctx),
            C::WithdrawApplication(c) => self.withdraw_application(c, &cmd.meta, ctx),
            C::EndorseByCity(c) => self.endorse_by_city(c, &cmd.meta, ctx),
            C::RecommendByProvince(c) => self.recommend_by_province(c, &cmd.meta, ctx),
            C::RejectByProvince(c) => self.reject_by_province(c, &cmd.meta, ctx),
            C::RecordExpertEvaluation(c) => self.record_expert_evaluation(c, &cmd.meta, ctx),
            C::StartPublicNotice(c) => self.start_public_notice(c, &cmd.meta, ctx),
            C::RecordNoticeObjection(c) => self.record_notice_objection(c, &cmd.meta, ctx),
            C::FileObjection(c) => self.file_objection(c, &cmd.meta, ctx),
            C::UpdateServiceOffer(c) => self.update_service_offer(c, &cmd.meta, ctx),
            C::PostNeed(c) => self.post_need(c, &cmd.meta, ctx),
            C::RespondToNeed(c) => self.respond_to_need(c, &cmd.meta, ctx),
            C::ListPlatform(c) => self.list_platform(c, &cmd.meta, ctx),
            C::RecordService(c) => self.record_service(c, &cmd.meta, ctx),
            C::RecordServices(c) => self.record_services(c, &cmd.meta, ctx),
            C::RetractService(c) => self.retract_service(c, &cmd.meta, ctx),
            C::ReportIncident(c) => self.report_incident(c, &cmd.meta, ctx),
            C::AssessIncident(c) => self.assess_incident(c, &cmd.meta, ctx),
            C::OpenReview(c) => self.open_review(c, &cmd.meta, ctx),
            C::ConcludeReview(c) => self.conclude_review(c, &cmd.meta, ctx),
            C::RecordAnnualEvaluation(c) => self.record_annual_evaluation(c, &cmd.meta, ctx),
            C::DelistPlatform(c) => self.delist_platform(c, &cmd.meta, ctx),
        }
    }
}

/// Re-parses an amended form; a field error names its path under `changes`.
fn serde_path_to_error_free(doc: Value) -> Result<ApplicationForm, Refusal> {
    serde_json::from_value::<ApplicationForm>(doc).map_err(|e| {
        Refusal::invalid("changes", format!("the amended form is invalid: {e}"))
            .zh("修改后的申请表格式不正确")
    })
}

impl Aggregate for Platform {
    const TYPE: &'static str = "platform";
    type Command = Envelope<PlatformCommand>;
    type Event = PlatformEvent;
    type Error = Refusal;
    type Services = PlatformContext;

    async fn handle(
        &mut self,
        cmd: Self::Command,
        ctx: &PlatformContext,
        sink: &EventSink<Self>,
    ) -> Result<(), Refusal> {
        for event in self.decide(&cmd, ctx)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: PlatformEvent) {
        // Whether a review is open once the event is folded: only a conclusion can end one
        // and leave the status to decide on it.
        let still_open = match &event {
            PlatformEvent::ReviewConcluded { review_id, .. } => {
                self.open_reviews().any(|r| &r.review_id != review_id)
            }
            _ => self.open_reviews().next().is_some(),
        };
        let next = self.status.after(&event, still_open);
        self.fold(event);
        self.status = next;
    }
}

impl Platform {
    /// The platform after `events`, folded as the aggregate folds them.
    pub fn replay(events: impl IntoIterator<Item = PlatformEvent>) -> Platform {
        let mut p = Platform::default();
        for e in events {
            p.apply(e);
        }
        p
    }

    /// Folds everything of `event` but the status (`Status::after` decides that).
    fn fold(&mut self, event: PlatformEvent) {
        use PlatformEvent as E;
        match event {
            E::ApplicationSubmitted {
                round_id,
                cycle,
                submitted_on,
                form,
            } => {
                self.cycle = cycle;
                self.rounds_applied.insert(round_id.clone());
                self.round_id = Some(round_id);
                self.submitted_on = Some(submitted_on);
                self.form = Some(form);
                self.assessment = None;
                self.endorsed_by = None;
                self.recommended_by = None;
                self.notice = None;
                self.objections.clear();
                self.listed_on = None;
                self.reviews.retain(|_, r| r.outcome.is_some());
            }
            E::EligibilityAssessed { assessment } => self.assessment = Some(assessment),
            E::ApplicationAmended { form, .. } => self.form = Some(form),
            E::CityEndorsed { city, .. } => self.endorsed_by = Some(city),
            E::ProvinceRecommended { province, .. } => self.recommended_by = Some(province),
            E::PublicNoticeStarted { from, until } => self.notice = Some((from, until)),
            E::ApplicationWithdrawn { .. }
            | E::ProvinceRejected { .. }
            | E::ExpertEvaluationRecorded { .. } => {}
            E::NoticeObjectionRecorded {
                objection_id,
                upheld,
                ..
            } => {
                if let Some(o) = objection_id.and_then(|id| self.objections.get_mut(&id)) {
                    o.decided = Some(upheld);
                }
            }
            E::ServiceOfferUpdated {
                services,
                description,
                accepting_orders,
                updated_on,
            } => {
                self.service_offer = Some(ServiceOffer {
                    services,
                    description,
                    accepting_orders,
                    updated_on,
                });
            }
            E::ObjectionFiled {
                objection_id,
                filed_on,
                name,
                contact,
                grounds,
                attachment,
            } => {
                self.objections.insert(
                    objection_id,
                    FiledObjection {
                        filed_on,
                        name,
                        contact,
                        grounds,
                        attachment,
                        decided: None,
                    },
                );
            }
            E::NeedReceived {
                need_id,
                received_on,
                need,
            } => {
                self.needs.insert(
                    need_id,
                    ReceivedNeed {
                        received_on,
                        need,
                        answers: vec![],
                    },
                );
            }
            E::NeedAnswered {
                need_id,
                answer,
                answered_on,
                ..
            } => {
                if let Some(n) = self.needs.get_mut(&need_id) {
                    n.answers.push((answered_on, answer));
                }
            }
            E::PlatformListed { listed_on } => {
                self.listed_on = Some(listed_on);
                self.listed_periods.push((listed_on, None));
            }
            E::ServiceRecorded {
                service_id,
                dated,
                record,
            } => {
                self.services.insert(
                    service_id,
                    ServiceEntry {
                        dated,
                        record,
                        retracted: false,
                    },
                );
            }
            E::ServiceRetracted { service_id, .. } => {
                if let Some(s) = self.services.get_mut(&service_id) {
                    s.retracted = true;
                }
            }
            E::IncidentReported {
                incident_id,
                kind,
                occurred_on,
                direct_loss_cny,
                severity,
                ..
            } => {
                self.incidents.insert(
                    incident_id.clone(),
                    Incident {
                        incident_id,
                        kind,
                        occurred_on,
                        reported_loss: direct_loss_cny,
                        stated_severity: severity,
                        assessed_loss: None,
                        assessed_class: None,
                    },
                );
            }
            E::IncidentAssessed {
                incident_id,
                direct_loss_cny,
                class,
                ..
            } => {
                if let Some(i) = self.incidents.get_mut(&incident_id) {
                    i.assessed_loss = Some(direct_loss_cny);
                    i.assessed_class = Some(class);
                }
            }
            E::ReviewOpened {
                review_id,
                trigger,
                due_on,
            } => {
                self.reviews.insert(
                    review_id.clone(),
                    Review {
                        review_id,
                        trigger,
                        due_on,
                        outcome: None,
                    },
                );
            }
            E::ReviewConcluded {
                review_id, outcome, ..
            } => {
                if let Some(r) = self.reviews.get_mut(&review_id) {
                    r.outcome = Some(outcome);
                }
            }
            E::AnnualEvaluationRecorded { year, stars, .. } => {
                self.star_ratings.insert(year, stars);
            }
            E::PlatformDelisted { delisted_on, .. } => {
                if let Some(last) = self.listed_periods.last_mut() {
                    last.1 = Some(delisted_on);
                }
                // Reviews still open lapse with the delisting.
                self.reviews.retain(|_, r| r.outcome.is_some());
            }
        }
    }
}

impl Platform {
    /// Folds one more event in: a reader that follows the log keeps a platform current this way
    /// instead of reloading its history.
    pub fn absorb(&mut self, event: PlatformEvent) {
        Aggregate::apply(self, event);
    }

    /// Convenience: the pending application of the current cycle, if any.
    pub fn has_pending_application(&self) -> bool {
        self.status.application_pending()
    }
}
