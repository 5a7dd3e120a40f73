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

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    New,
    Submitted,
    CityEndorsed,
    Recommended,
    Evaluated,
    OnNotice,
    Listed,
    UnderReview,
    Rejected,
    NotSelected,
    Withdrawn,
    Delisted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "New",
            Status::Submitted => "Submitted",
            Status::CityEndorsed => "CityEndorsed",
            Status::Recommended => "Recommended",
            Status::Evaluated => "Evaluated",
            Status::OnNotice => "OnNotice",
            Status::Listed => "Listed",
            Status::UnderReview => "UnderReview",
            Status::Rejected => "Rejected",
            Status::NotSelected => "NotSelected",
            Status::Withdrawn => "Withdrawn",
            Status::Delisted => "Delisted",
        }
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

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub incident_id: String,
    pub kind: IncidentKind,
    pub occurred_on: NaiveDate,
    pub reported_loss: Option<Cny>,
    pub stated_severity: Option<IncidentClass>,
    pub assessed_loss: Option<Cny>,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub review_id: String,
    pub trigger: ReviewTrigger,
    pub due_on: NaiveDate,
    pub outcome: Option<ReviewOutcome>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceEntry {
    pub dated: NaiveDate,
    pub record: ServiceRecord,
    pub retracted: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Platform {
    pub status: Status,
    pub cycle: u32,
    pub round_id: Option<String>,
    pub rounds_applied: BTreeSet<String>,
    pub submitted_on: Option<NaiveDate>,
    pub form: Option<ApplicationForm>,
    pub assessment: Option<EligibilityAssessment>,
    pub endorsed_by: Option<CityCode>,
    pub recommended_by: Option<Province>,
    pub notice: Option<(NaiveDate, NaiveDate)>,
    pub listed_on: Option<NaiveDate>,
    /// Every listed period: (listed on, delisted on).
    pub listed_periods: Vec<(NaiveDate, Option<NaiveDate>)>,
    pub reviews: BTreeMap<String, Review>,
    pub services: BTreeMap<Uuid, ServiceEntry>,
    pub incidents: BTreeMap<String, Incident>,
    /// Star ratings by year (D-8); a later evaluation of the same year replaces the rating.
    pub star_ratings: BTreeMap<i32, u8>,
}

/// What a platform command needs to know beyond its own stream.
#[derive(Debug, Clone, Default)]
pub struct PlatformContext {
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
        Err(Refusal::invalid(
            field,
            format!("{field} must not be empty"),
        ))
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
        ))
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
    ))
}

fn deadline(rule: &str, what: &str, on: NaiveDate, last_day: NaiveDate) -> Result<(), Refusal> {
    if on > last_day {
        Err(Refusal::new(
            rule,
            format!("{what} on {on} is after the deadline {last_day} (the deadline day itself is still allowed)"),
        ))
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
    pub fn stream_id(platform_id: &str) -> String {
        format!("platform-{platform_id}")
    }

    pub fn applicant_uscc(&self) -> Option<&Uscc> {
        self.form.as_ref().map(|f| &f.applicant.uscc)
    }

    pub fn province(&self) -> Option<Province> {
        self.form.as_ref().map(|f| f.applicant.province)
    }

    pub fn city(&self) -> Option<&CityCode> {
        self.form.as_ref().map(|f| &f.applicant.city)
    }

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
                "{command} is not allowed: the platform is {}; allowed now: {}",
                self.status,
                self.status.allowed_commands().join(", ")
            ),
        )
    }

    fn round<'a>(&self, ctx: &'a PlatformContext) -> Result<&'a Round, Refusal> {
        ctx.round
            .as_ref()
            .filter(|r| r.config.is_some())
            .ok_or_else(|| Refusal::not_found("the round of this application is not open"))
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
        let on = cmd.meta.business_date;
        let actor = &cmd.meta.actor;
        use PlatformCommand as C;
        use PlatformEvent as E;
        Ok(match &cmd.command {
            C::SubmitApplication(c) => {
                let round = self.round(ctx)?;
                let config = round.config.as_ref().expect("checked");
                if config.round_id != c.round_id {
                    return Err(Refusal::not_found(format!(
                        "round {} is not open",
                        c.round_id
                    )));
                }
                let form = &c.form;
                required("form.applicant.name", &form.applicant.name)?;
                required(
                    "form.applicant.legal_representative",
                    &form.applicant.legal_representative,
                )?;
                required("form.platform.name", &form.platform.name)?;
                required("form.platform.leader", &form.platform.leader)?;
                applicant_registered_in_province(&form.applicant)?;
                if form.applicant.city.province() != form.applicant.province {
                    return Err(Refusal::invalid(
                        "form.applicant.city",
                        format!(
                            "city {} is not in province {}",
                            form.applicant.city, form.applicant.province
                        ),
                    ));
                }
                if let Some(existing) = self.applicant_uscc() {
                    if existing != &form.applicant.uscc {
                        return Err(Refusal::forbidden(format!(
                            "platform {} belongs to applicant {existing}; another applicant cannot apply on its stream",
                            ctx.platform_id
                        )));
                    }
                }
                if self.rounds_applied.contains(&c.round_id) {
                    return Err(Refusal::new(
                        code::STATE_CONFLICT,
                        format!("this platform already applied in round {}; it may apply again in a later round", c.round_id),
                    ));
                }
                if on < config.opens_on {
                    return Err(Refusal::new(
                        "R-4",
                        format!(
                            "round {} opens on {}; submission on {on} is too early",
                            c.round_id, config.opens_on
                        ),
                    ));
                }
                let last = round
                    .applicant_deadline(form.applicant.province)
                    .expect("round open");
                deadline("R-4", "submission", on, last)?;
                let assessment = eligibility::assess(form, on, &self.past_incidents());
                vec![
                    E::ApplicationSubmitted {
                        round_id: c.round_id.clone(),
                        cycle: self.cycle + 1,
                        submitted_on: on,
                        form: form.clone(),
                    },
                    E::EligibilityAssessed { assessment },
                ]
            }
            C::AmendApplication(c) => {
                if !c.changes.is_object() {
                    return Err(Refusal::invalid(
                        "changes",
                        "changes must be an object of form fields",
                    ));
                }
                let current = self.form.as_ref().expect("submitted");
                let mut doc = serde_json::to_value(current).expect("form serializes");
                merge_patch(&mut doc, &c.changes);
                let form: ApplicationForm = {
                    let de = doc;
                    serde_path_to_error_free(de)?
                };
                if form.applicant.uscc != current.applicant.uscc {
                    return Err(Refusal::invalid(
                        "changes.applicant.uscc",
                        "the applicant's USCC cannot be amended",
                    ));
                }
                if form.applicant.province != current.applicant.province {
                    return Err(Refusal::invalid(
                        "changes.applicant.province",
                        "the province cannot be amended; withdraw and apply in the right province",
                    ));
                }
                if form.applicant.city.province() != form.applicant.province {
                    return Err(Refusal::invalid(
                        "changes.applicant.city",
                        format!(
                            "city {} is not in province {}",
                            form.applicant.city, form.applicant.province
                        ),
                    ));
                }
                // the endorsement is the city's; an application it endorsed cannot move to
                // another city (security review M4). Before the endorsement it may.
                if self.status == Status::CityEndorsed
                    && form.applicant.city != current.applicant.city
                {
                    return Err(Refusal::new(
                        "R-3",
                        format!(
                            "city {} has endorsed this application; the city cannot be amended now (withdraw and apply again through the right city)",
                            current.applicant.city
                        ),
                    )
                    .at("changes.applicant.city"));
                }
                let assessment = eligibility::assess(&form, on, &self.past_incidents());
                vec![
                    E::ApplicationAmended {
                        changes: c.changes.clone(),
                        form,
                    },
                    E::EligibilityAssessed { assessment },
                ]
            }
            C::WithdrawApplication(c) => {
                required("reason", &c.reason)?;
                vec![E::ApplicationWithdrawn {
                    reason: c.reason.clone(),
                }]
            }
            C::EndorseByCity(c) => {
                let city = actor
                    .jurisdiction
                    .as_deref()
                    .and_then(CityCode::parse)
                    .ok_or_else(|| {
                        Refusal::forbidden(
                            "a city endorsement needs a city actor with a 6-digit city code",
                        )
                    })?;
                let own = self.city().expect("submitted");
                if &city != own {
                    return Err(Refusal::new("R-3", format!("city {city} may endorse only applicants of its own city; this applicant is in {own}")));
                }
                let round = self.round(ctx)?;
                if let Some(last) = round.city_deadline(city.province()) {
                    deadline("R-4", "city endorsement", on, last)?;
                }
                vec![E::CityEndorsed {
                    city,
                    opinion: c.opinion.clone(),
                }]
            }
            C::RecommendByProvince(c) => {
                let round = self.round(ctx)?;
                let province = self.province().expect("submitted");
                let round_id = &round.config.as_ref().expect("open").round_id;
                if self.status == Status::Submitted && round.requires_city_endorsement(province) {
                    return Err(Refusal::new(
                        code::STATE_CONFLICT,
                        format!("in round {round_id} applications of province {province} ({}) are recommended only after city endorsement", province.name_zh()),
                    ));
                }
                deadline(
                    "R-4",
                    "province recommendation",
                    on,
                    round.province_deadline().expect("open"),
                )?;
                let uscc = self.applicant_uscc().expect("submitted");
                if !uscc.is_central() && uscc.registering_province() != Some(province) {
                    return Err(Refusal::new(
                        "R-3",
                        format!(
                            "province {province} may recommend only applicants registered in it (or centrally, 100000); {uscc} is registered under division {}",
                            uscc.division()
                        ),
                    ));
                }
                let failed = self
                    .assessment
                    .as_ref()
                    .map(|a| a.hard_failures())
                    .unwrap_or_default();
                let override_reason = c.override_reason.as_ref().filter(|r| !r.trim().is_empty());
                if !failed.is_empty() && override_reason.is_none() {
                    return Err(Refusal::new(
                        &failed[0],
                        format!("the application fails hard rule(s) {}; a recommendation needs an override_reason", failed.join(", ")),
                    )
                    .at("override_reason"));
                }
                round.check_quota(province)?;
                let domains = &self.form.as_ref().expect("submitted").domains;
                let mut warnings = Vec::new();
                if round.concentrated_after(province, domains) {
                    warnings.push(format!(
                        "R-2: every recommendation of province {province} in round {round_id} is in the single domain {} (原则上不集中在单一方向或领域)",
                        domains.iter().map(|d| d.code()).collect::<Vec<_>>().join(",")
                    ));
                }
                vec![E::ProvinceRecommended {
                    province,
                    opinion: c.opinion.clone(),
                    rank: c.rank,
                    overridden_rules: if override_reason.is_some() {
                        failed
                    } else {
                        vec![]
                    },
                    override_reason: override_reason.cloned(),
                    warnings,
                }]
            }
            C::RejectByProvince(c) => {
                if c.reasons.iter().all(|r| r.trim().is_empty()) {
                    return Err(Refusal::invalid(
                        "reasons",
                        "a rejection gives at least one reason (rule id or text)",
                    ));
                }
                vec![E::ProvinceRejected {
                    province: self.province().expect("submitted"),
                    reasons: c.reasons.clone(),
                }]
            }
            C::RecordExpertEvaluation(c) => {
                if c.score > 100 {
                    return Err(Refusal::invalid(
                        "score",
                        format!("score {} is outside 0-100", c.score),
                    ));
                }
                vec![E::ExpertEvaluationRecorded {
                    score: c.score,
                    passed: c.passed,
                    panel: c.panel.clone(),
                    comments: c.comments.clone(),
                }]
            }
            C::StartPublicNotice(c) => {
                if c.until < c.from {
                    return Err(Refusal::new(
                        code::IMPOSSIBLE_DATE,
                        format!(
                            "the notice ends ({}) before it starts ({})",
                            c.until, c.from
                        ),
                    )
                    .at("until"));
                }
                let min_days = self
                    .round(ctx)
                    .ok()
                    .and_then(|r| r.config.as_ref())
                    .map_or(1, |c| c.notice_days.max(1));
                let days = (c.until - c.from).num_days() + 1;
                if days < i64::from(min_days) {
                    return Err(Refusal::new("R-5", format!("the public notice lasts {days} day(s); this round requires at least {min_days}")).at("until"));
                }
                vec![E::PublicNoticeStarted {
                    from: c.from,
                    until: c.until,
                }]
            }
            C::RecordNoticeObjection(c) => {
                required("summary", &c.summary)?;
                let (from, until) = self.notice.expect("on notice");
                if on < from || on > until {
                    return Err(Refusal::new("R-5", format!("objections are recorded during the public notice {from}..{until}; {on} is outside it")));
                }
                vec![E::NoticeObjectionRecorded {
                    upheld: c.upheld,
                    summary: c.summary.clone(),
                }]
            }
            C::ListPlatform(_) => {
                let (_, until) = self.notice.expect("on notice");
                if on <= until {
                    return Err(Refusal::new("R-5", format!("the public notice runs until {until}; listing is possible from the day after")));
                }
                vec![E::PlatformListed { listed_on: on }]
            }
            C::RecordService(c) => {
                if c.dated > on {
                    return Err(Refusal::new(
                        code::IMPOSSIBLE_DATE,
                        format!(
                            "a service dated {} cannot be recorded on {on}, before it happened",
                            c.dated
                        ),
                    )
                    .at("dated"));
                }
                let service_id = c
                    .service_id
                    .unwrap_or_else(|| Uuid::new_v5(&cmd.meta.command_id, b"service"));
                if self.services.contains_key(&service_id) {
                    return Err(Refusal::new(
                        code::DUPLICATE,
                        format!("service record {service_id} already exists"),
                    )
                    .at("service_id"));
                }
                if let ServiceRecord::ProductIncubated { product_name, .. } = &c.record {
                    required("record.product_name", product_name)?;
                }
                vec![E::ServiceRecorded {
                    service_id,
                    dated: c.dated,
                    record: c.record.clone(),
                }]
            }
            C::RetractService(c) => {
                required("reason", &c.reason)?;
                match self.services.get(&c.service_id) {
                    None => {
                        return Err(Refusal::not_found(format!(
                            "no service record {} on this platform",
                            c.service_id
                        ))
                        .at("service_id"))
                    }
                    Some(s) if s.retracted => {
                        return Err(Refusal::new(
                            code::DUPLICATE,
                            format!("service record {} is already retracted", c.service_id),
                        ))
                    }
                    Some(_) => vec![E::ServiceRetracted {
                        service_id: c.service_id,
                        reason: c.reason.clone(),
                    }],
                }
            }
            C::ReportIncident(c) => {
                valid_id("incident_id", &c.incident_id)?;
                required("description", &c.description)?;
                if self.incidents.contains_key(&c.incident_id) {
                    return Err(Refusal::new(
                        code::DUPLICATE,
                        format!("incident {} is already reported", c.incident_id),
                    )
                    .at("incident_id"));
                }
                if c.occurred_on > on {
                    return Err(Refusal::new(
                        code::IMPOSSIBLE_DATE,
                        format!(
                            "an incident occurring on {} cannot be reported on {on}",
                            c.occurred_on
                        ),
                    )
                    .at("occurred_on"));
                }
                vec![E::IncidentReported {
                    incident_id: c.incident_id.clone(),
                    kind: c.kind,
                    occurred_on: c.occurred_on,
                    description: c.description.clone(),
                    direct_loss_cny: c.direct_loss_cny,
                    severity: c.severity,
                }]
            }
            C::AssessIncident(c) => {
                if !self.incidents.contains_key(&c.incident_id) {
                    return Err(Refusal::not_found(format!(
                        "no incident {} on this platform",
                        c.incident_id
                    ))
                    .at("incident_id"));
                }
                required("conclusion", &c.conclusion)?;
                vec![E::IncidentAssessed {
                    incident_id: c.incident_id.clone(),
                    direct_loss_cny: c.direct_loss_cny,
                    deaths: c.deaths,
                    serious_injuries: c.serious_injuries,
                    class: IncidentClass::from_consequences(
                        Some(c.direct_loss_cny),
                        c.deaths,
                        c.serious_injuries,
                    ),
                    conclusion: c.conclusion.clone(),
                }]
            }
            C::OpenReview(c) => {
                valid_id("review_id", &c.review_id)?;
                if self.reviews.contains_key(&c.review_id) {
                    return Err(Refusal::new(
                        code::DUPLICATE,
                        format!("review {} already exists", c.review_id),
                    )
                    .at("review_id"));
                }
                if c.trigger == ReviewTrigger::Triennial {
                    // D-2: one triennial review per due date, whether the ministry or the
                    // scheduler opens it first.
                    if let Some(r) = self
                        .reviews
                        .values()
                        .find(|r| r.trigger == ReviewTrigger::Triennial && r.due_on == c.due_on)
                    {
                        return Err(Refusal::new(
                            code::DUPLICATE,
                            format!(
                                "the triennial review due {} is already open as {} (D-2: once per due date)",
                                c.due_on, r.review_id
                            ),
                        )
                        .at("due_on"));
                    }
                }
                if let ReviewTrigger::Incident(id) = &c.trigger {
                    if !self.incidents.contains_key(id) {
                        return Err(Refusal::not_found(format!(
                            "no incident {id} on this platform"
                        ))
                        .at("trigger"));
                    }
                    if let Some(r) = self.reviews.values().find(|r| r.trigger == c.trigger) {
                        return Err(Refusal::new(code::DUPLICATE, format!("incident {id} already has its re-review {} (D-4: once per incident)", r.review_id)).at("trigger"));
                    }
                }
                vec![E::ReviewOpened {
                    review_id: c.review_id.clone(),
                    trigger: c.trigger.clone(),
                    due_on: c.due_on,
                }]
            }
            C::ConcludeReview(c) => {
                match self.reviews.get(&c.review_id) {
                    None => {
                        return Err(Refusal::not_found(format!(
                            "no review {} on this platform",
                            c.review_id
                        ))
                        .at("review_id"))
                    }
                    Some(r) if r.outcome.is_some() => {
                        return Err(Refusal::new(
                            code::STATE_CONFLICT,
                            format!("review {} is already concluded", c.review_id),
                        ));
                    }
                    Some(_) => {}
                }
                let mut events = vec![E::ReviewConcluded {
                    review_id: c.review_id.clone(),
                    outcome: c.outcome,
                    reasons: c.reasons.clone(),
                }];
                if c.outcome == ReviewOutcome::Failed {
                    // D-3: 未通过复核的平台将从名单中撤除.
                    events.push(E::PlatformDelisted {
                        delisted_on: on,
                        reason: DelistReason::ReviewFailed,
                        area: None,
                        cause: Some(event_id(cmd.meta.command_id, 0)),
                        details: Some(format!("review {} failed", c.review_id)),
                    });
                }
                events
            }
            C::RecordAnnualEvaluation(c) => {
                if !(1..=5).contains(&c.stars) {
                    return Err(Refusal::invalid(
                        "stars",
                        format!("a star rating is 1-5, not {}", c.stars),
                    ));
                }
                if c.year < 2025 || c.year > on.year() {
                    return Err(Refusal::invalid(
                        "year",
                        format!(
                            "year {} is not an evaluation year up to {}",
                            c.year,
                            on.year()
                        ),
                    ));
                }
                vec![E::AnnualEvaluationRecorded {
                    year: c.year,
                    stars: c.stars,
                    findings: c.findings.clone(),
                }]
            }
            C::DelistPlatform(c) => {
                match (c.reason, c.area) {
                    (DelistReason::SeriousViolation, None) => {
                        return Err(Refusal::invalid("area", "a serious_violation delisting names its area: ip, safety, environment or quality"));
                    }
                    (r, Some(_)) if r != DelistReason::SeriousViolation => {
                        return Err(Refusal::invalid(
                            "area",
                            "an area is given only with reason serious_violation",
                        ));
                    }
                    _ => {}
                }
                let mut events = Vec::new();
                if let Some(incident_id) = &c.incident_id {
                    if c.reason != DelistReason::StrainLeakMajorLoss {
                        return Err(Refusal::invalid(
                            "incident_id",
                            "an incident is named only with reason strain_leak_major_loss",
                        ));
                    }
                    if !self.incidents.contains_key(incident_id) {
                        return Err(Refusal::not_found(format!(
                            "no incident {incident_id} on this platform"
                        ))
                        .at("incident_id"));
                    }
                    // D-5: the incident's re-review closes as failed with this reason.
                    let trigger = ReviewTrigger::Incident(incident_id.clone());
                    for r in self.open_reviews().filter(|r| r.trigger == trigger) {
                        events.push(E::ReviewConcluded {
                            review_id: r.review_id.clone(),
                            outcome: ReviewOutcome::Failed,
                            reasons: vec![format!("D-5: strain leak {incident_id} with major economic loss (发生菌种泄露事故并造成较大经济损失)")],
                        });
                    }
                }
                events.push(E::PlatformDelisted {
                    delisted_on: on,
                    reason: c.reason,
                    area: c.area,
                    cause: c.cause,
                    details: c.details.clone(),
                });
                events
            }
        })
    }
}

/// Re-parses an amended form; a field error names its path under `changes`.
fn serde_path_to_error_free(doc: Value) -> Result<ApplicationForm, Refusal> {
    serde_json::from_value::<ApplicationForm>(doc)
        .map_err(|e| Refusal::invalid("changes", format!("the amended form is invalid: {e}")))
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
            | E::ExpertEvaluationRecorded { .. }
            | E::NoticeObjectionRecorded { .. } => {}
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
    /// Folds events into a platform (for reads and tests).
    pub fn from_events(events: impl IntoIterator<Item = PlatformEvent>) -> Platform {
        let mut p = Platform::default();
        for e in events {
            p.apply(e);
        }
        p
    }

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
