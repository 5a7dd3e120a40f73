//! Commands of RULES.md §4. Each carries, in its envelope, a client-chosen command id, the actor and
//! the business date on which it takes effect.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::actor::Actor;
use crate::form::ApplicationForm;
use crate::incident::{IncidentClass, IncidentKind};
use crate::values::{Cny, Domain, Province, Uscc};

/// What every command carries besides its body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandMeta {
    pub command_id: Uuid,
    pub actor: Actor,
    pub business_date: NaiveDate,
}

/// A command with its meta, as handed to an aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<C> {
    pub meta: CommandMeta,
    pub command: C,
}

// ---------------------------------------------------------------------------------------------
// Rounds

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenRound {
    /// e.g. `2025`.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,32}$", min_length = 1, max_length = 32)]
    pub round_id: String,
    pub opens_on: NaiveDate,
    /// Applicants submit by this date, per province (Guangdong 2025: 2025-07-04). Where a
    /// province has none, the province deadline applies to its applicants too.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, NaiveDate>)]
    pub applicant_deadlines: BTreeMap<Province, NaiveDate>,
    /// Cities endorse by this date, per province (Guangdong 2025: 2025-07-10).
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, NaiveDate>)]
    pub city_deadlines: BTreeMap<Province, NaiveDate>,
    /// Provinces recommend to the ministry by this date (2025: 2025-07-11).
    pub province_deadline: NaiveDate,
    /// Provinces whose applications go through a city first (Guangdong 2025).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub city_endorsement_required: BTreeSet<Province>,
    /// R-1: at most this many recommendations per province (2025: 5).
    #[serde(default = "default_quota")]
    pub quota_per_province: u32,
    /// Minimum length of the public notice, in calendar days.
    #[serde(default = "default_notice_days")]
    pub notice_days: u32,
}

fn default_quota() -> u32 {
    5
}

fn default_notice_days() -> u32 {
    5
}

#[derive(Debug, Clone, PartialEq)]
pub enum RoundCommand {
    OpenRound(OpenRound),
    /// Issued by the command service together with a province recommendation (R-1).
    RegisterRecommendation {
        platform_id: String,
        province: Province,
        domains: BTreeSet<Domain>,
    },
}

// ---------------------------------------------------------------------------------------------
// Platforms

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitApplication {
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,32}$", min_length = 1, max_length = 32)]
    pub round_id: String,
    pub form: ApplicationForm,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendApplication {
    /// Fields of the form to replace, as a partial form (JSON merge patch, RFC 7396).
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawApplication {
    #[schema(min_length = 1, pattern = r"\S")]
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndorseByCity {
    pub opinion: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendByProvince {
    pub opinion: String,
    #[serde(default)]
    pub rank: Option<u32>,
    /// Required to recommend an application that fails a hard rule (RULES.md §5).
    #[serde(default)]
    pub override_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectByProvince {
    /// Rule ids or text; at least one.
    #[schema(min_items = 1)]
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordExpertEvaluation {
    /// 0-100.
    #[schema(maximum = 100)]
    pub score: u32,
    pub passed: bool,
    #[serde(default)]
    pub panel: Vec<String>,
    #[serde(default)]
    pub comments: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartPublicNotice {
    pub from: NaiveDate,
    pub until: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordNoticeObjection {
    pub upheld: bool,
    #[schema(min_length = 1, pattern = r"\S")]
    pub summary: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPlatform {}

/// Service record kinds (RULES.md §8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServiceRecord {
    EnterpriseServed {
        enterprise_uscc: Uscc,
        enterprise_name: String,
        contract_cny: Cny,
    },
    ProductIncubated {
        product_name: String,
        owner_uscc: Uscc,
        domain: Domain,
    },
    ProjectIndustrialized {
        project: String,
        revenue_cny: Cny,
    },
    EnterpriseSpunOff {
        enterprise_uscc: Uscc,
        enterprise_name: String,
        valuation_cny: Cny,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordService {
    /// Optional client-chosen id; derived from the command id when absent.
    #[serde(default)]
    pub service_id: Option<Uuid>,
    /// The date the service was delivered.
    pub dated: NaiveDate,
    pub record: ServiceRecord,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetractService {
    pub service_id: Uuid,
    #[schema(min_length = 1, pattern = r"\S")]
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportIncident {
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,64}$", min_length = 1, max_length = 64)]
    pub incident_id: String,
    pub kind: IncidentKind,
    pub occurred_on: NaiveDate,
    #[schema(min_length = 1, pattern = r"\S")]
    pub description: String,
    /// Direct economic loss, if known at report time.
    #[serde(default)]
    pub direct_loss_cny: Option<Cny>,
    /// Class stated by the reporter, if already known.
    #[serde(default)]
    pub severity: Option<IncidentClass>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessIncident {
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,64}$", min_length = 1, max_length = 64)]
    pub incident_id: String,
    pub direct_loss_cny: Cny,
    #[serde(default)]
    pub deaths: u32,
    #[serde(default)]
    pub serious_injuries: u32,
    #[schema(min_length = 1, pattern = r"\S")]
    pub conclusion: String,
}

/// Why a review was opened: `triennial`, `incident:<id>` or `ad_hoc`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReviewTrigger {
    Triennial,
    Incident(String),
    AdHoc,
}

impl ReviewTrigger {
    pub fn parse(s: &str) -> Option<ReviewTrigger> {
        match s {
            "triennial" => Some(ReviewTrigger::Triennial),
            "ad_hoc" => Some(ReviewTrigger::AdHoc),
            _ => s
                .strip_prefix("incident:")
                .filter(|id| !id.is_empty())
                .map(|id| ReviewTrigger::Incident(id.to_string())),
        }
    }
}

impl std::fmt::Display for ReviewTrigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReviewTrigger::Triennial => f.write_str("triennial"),
            ReviewTrigger::AdHoc => f.write_str("ad_hoc"),
            ReviewTrigger::Incident(id) => write!(f, "incident:{id}"),
        }
    }
}

impl Serialize for ReviewTrigger {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ReviewTrigger {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ReviewTrigger::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown review trigger '{s}' (triennial, ad_hoc or incident:<incident id>)"
            ))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenReview {
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,64}$", min_length = 1, max_length = 64)]
    pub review_id: String,
    #[schema(value_type = String, example = "triennial")]
    pub trigger: ReviewTrigger,
    pub due_on: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewOutcome {
    Passed,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConcludeReview {
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,64}$", min_length = 1, max_length = 64)]
    pub review_id: String,
    pub outcome: ReviewOutcome,
    #[serde(default)]
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordAnnualEvaluation {
    pub year: i32,
    /// 服务能力星级, 1-5.
    #[schema(minimum = 1, maximum = 5)]
    pub stars: u8,
    #[serde(default)]
    pub findings: Option<String>,
}

/// D-9 reason codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DelistReason {
    ReviewFailed,
    StrainLeakMajorLoss,
    InsufficientService,
    SeriousViolation,
    Voluntary,
    Other,
}

impl DelistReason {
    /// The D-9 reason code as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            DelistReason::ReviewFailed => "review_failed",
            DelistReason::StrainLeakMajorLoss => "strain_leak_major_loss",
            DelistReason::InsufficientService => "insufficient_service",
            DelistReason::SeriousViolation => "serious_violation",
            DelistReason::Voluntary => "voluntary",
            DelistReason::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ViolationArea {
    Ip,
    Safety,
    Environment,
    Quality,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelistPlatform {
    pub reason: DelistReason,
    /// Required with `serious_violation`.
    #[serde(default)]
    pub area: Option<ViolationArea>,
    /// The event that caused the delisting, if any.
    #[serde(default)]
    pub cause: Option<Uuid>,
    /// With `strain_leak_major_loss`: the incident, whose open re-review then closes as failed
    /// with this reason (D-5).
    #[serde(default)]
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,64}$", min_length = 1, max_length = 64)]
    pub incident_id: Option<String>,
    #[serde(default)]
    pub details: Option<String>,
}

// One command lives per request; boxing the form would buy nothing but noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum PlatformCommand {
    SubmitApplication(SubmitApplication),
    AmendApplication(AmendApplication),
    WithdrawApplication(WithdrawApplication),
    EndorseByCity(EndorseByCity),
    RecommendByProvince(RecommendByProvince),
    RejectByProvince(RejectByProvince),
    RecordExpertEvaluation(RecordExpertEvaluation),
    StartPublicNotice(StartPublicNotice),
    RecordNoticeObjection(RecordNoticeObjection),
    ListPlatform(ListPlatform),
    RecordService(RecordService),
    RetractService(RetractService),
    ReportIncident(ReportIncident),
    AssessIncident(AssessIncident),
    OpenReview(OpenReview),
    ConcludeReview(ConcludeReview),
    RecordAnnualEvaluation(RecordAnnualEvaluation),
    DelistPlatform(DelistPlatform),
}

impl PlatformCommand {
    /// Its name in the registry (`crate::registry`).
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
}
