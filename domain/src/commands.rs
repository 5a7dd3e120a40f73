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
    /// The command's id: client-chosen, or derived by a policy; its events' ids derive from it.
    pub command_id: Uuid,
    /// Who issues the command: id, role and jurisdiction (RULES.md §10).
    pub actor: Actor,
    /// The day the act takes effect (RULES.md §12), as resolved by the command service.
    pub business_date: NaiveDate,
}

/// A command with its meta, as handed to an aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<C> {
    /// Command id, actor and business date.
    pub meta: CommandMeta,
    /// The command itself.
    pub command: C,
}

// ---------------------------------------------------------------------------------------------
// Rounds

/// The ministry opens a round of applications (RULES.md §6): its opening day, deadlines per
/// province (R-4), quota (R-1) and minimum notice length. A round is opened once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenRound {
    /// e.g. `2025`.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,32}$", min_length = 1, max_length = 32)]
    pub round_id: String,
    /// First day applicants may submit; a submission before it is refused (R-4).
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

/// A command on a round's stream (`round-<id>`).
#[derive(Debug, Clone, PartialEq)]
pub enum RoundCommand {
    /// The ministry opens the round.
    OpenRound(OpenRound),
    /// Issued by the command service together with a province recommendation (R-1).
    RegisterRecommendation {
        /// The platform recommended.
        platform_id: String,
        /// The recommending province, whose quota the recommendation takes (R-1).
        province: Province,
        /// The platform's declared domains, for the concentration warning (R-2).
        domains: BTreeSet<Domain>,
    },
}

// ---------------------------------------------------------------------------------------------
// Platforms

/// An applicant submits its application form in a round (RULES.md §5), by its province's
/// applicant deadline (R-4); a unit whose cycle ended without listing, or whose platform was
/// delisted, applies again the same way. The eligibility rules are assessed on submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitApplication {
    /// The round applied in (e.g. `2025`); it must have been opened, and a platform applies at
    /// most once per round.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,32}$", min_length = 1, max_length = 32)]
    pub round_id: String,
    /// The application form (申请表).
    pub form: ApplicationForm,
}

/// The applicant amends its application before the province decides; the eligibility rules
/// are assessed again. The USCC and the province cannot be amended, nor the city once it has
/// endorsed the application (R-3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendApplication {
    /// Fields of the form to replace, as a partial form (JSON merge patch, RFC 7396).
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

/// The applicant withdraws its pending application, at any state before listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawApplication {
    /// Why the application is withdrawn; not blank.
    #[schema(min_length = 1, pattern = r"\S")]
    pub reason: String,
}

/// The applicant's city endorses the application and forwards it to the province (R-3), by
/// the round's city deadline for that province where one is set (R-4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndorseByCity {
    /// The city's opinion on the application.
    pub opinion: String,
}

/// The province recommends an application of its own province to the ministry (R-1 to R-4):
/// at most the round's quota per province, by the province deadline, and after city endorsement
/// where the round requires it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendByProvince {
    /// The province's recommendation opinion (推荐意见).
    pub opinion: String,
    /// The rank the province gives this recommendation (排序), if any: 1 up to the round's
    /// quota per province (R-1).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub rank: Option<u32>,
    /// Required to recommend an application that fails a hard rule (RULES.md §5).
    #[serde(default)]
    pub override_reason: Option<String>,
}

/// The province rejects the application (不予推荐); the unit may apply again in a later round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectByProvince {
    /// Rule ids or text; at least one.
    #[schema(min_items = 1)]
    pub reasons: Vec<String>,
}

/// The ministry records the expert evaluation (专家评价) of a recommended application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordExpertEvaluation {
    /// 0-100.
    #[schema(maximum = 100)]
    pub score: u32,
    /// Whether the application passed: then `evaluated`, otherwise `not_selected`.
    pub passed: bool,
    /// Members of the expert panel, if recorded.
    #[serde(default)]
    pub panel: Vec<String>,
    /// The panel's comments, if any.
    #[serde(default)]
    pub comments: Option<String>,
}

/// The ministry puts an evaluated platform on public notice (公示) from `from` to `until`,
/// both days included; the period lasts at least the round's `notice_days` (R-5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartPublicNotice {
    /// First day of the notice.
    pub from: NaiveDate,
    /// Last day of the notice; not before `from`.
    pub until: NaiveDate,
}

/// The ministry records an objection raised during the public notice, on a business date
/// within the notice period (R-5). An upheld objection ends the application as `not_selected`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordNoticeObjection {
    /// Whether the ministry upholds the objection.
    pub upheld: bool,
    /// What the objection says; not blank.
    #[schema(min_length = 1, pattern = r"\S")]
    pub summary: String,
    /// The objection filed by the public this decides (`ObjectionFiled`), if it was filed on
    /// the public face; absent for one that reached the ministry otherwise (a letter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objection_id: Option<String>,
}

/// The id (回执编号) of the objection filed by the command `command_id`.
pub fn objection_id(command_id: Uuid) -> String {
    format!("obj-{}", &command_id.simple().to_string()[..12])
}

/// Anyone files an objection to a platform on public notice (面向社会公示, RULES.md §13, R-5),
/// on a day within the notice period (the day it is recorded). It reaches the ministry, which
/// decides it with `RecordNoticeObjection`; the platform is not listed while it is undecided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileObjection {
    /// The name of the person or unit objecting (实名反映).
    #[schema(min_length = 1, pattern = r"\S")]
    pub name: String,
    /// How the ministry reaches them (phone or e-mail); not shown to the platform.
    #[schema(min_length = 1, pattern = r"\S")]
    pub contact: String,
    /// The grounds of the objection, with the facts it rests on.
    #[schema(min_length = 1, pattern = r"\S")]
    pub grounds: String,
    /// An attachment (PDF, PNG or JPEG) uploaded with the objection, by its hash.
    #[serde(default)]
    pub attachment: Option<crate::form::Evidence>,
}

/// The ministry lists a platform whose public notice has ended with no upheld objection (R-5),
/// from the day after the notice; the listing takes effect on the business date. No fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPlatform {}

/// Service record kinds (RULES.md §8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServiceRecord {
    /// An enterprise served (服务企业), counted in K-2.
    EnterpriseServed {
        /// The served enterprise's USCC; K-2 counts each USCC once, whichever platforms served it.
        enterprise_uscc: Uscc,
        /// The served enterprise's name.
        enterprise_name: String,
        /// Contract amount, in yuan.
        contract_cny: Cny,
    },
    /// A product incubated (孵化产品), counted in K-3.
    ProductIncubated {
        /// The product's name; not blank. With `owner_uscc` it identifies the product in K-3.
        product_name: String,
        /// USCC of the product's owner.
        owner_uscc: Uscc,
        /// The product's domain.
        domain: Domain,
    },
    /// A result industrialised (成果产业化), counted in K-4.
    ProjectIndustrialized {
        /// The project's name.
        project: String,
        /// Revenue of the industrialised result, in yuan.
        revenue_cny: Cny,
    },
    /// An enterprise spun off (衍生孵化企业), counted in K-4.
    EnterpriseSpunOff {
        /// The spun-off enterprise's USCC.
        enterprise_uscc: Uscc,
        /// The spun-off enterprise's name.
        enterprise_name: String,
        /// The spun-off enterprise's valuation, in yuan.
        valuation_cny: Cny,
    },
}

/// The platform's applicant or the ministry records a pilot service delivered by a platform
/// on the roster (RULES.md §8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordService {
    /// Optional client-chosen id; derived from the command id when absent.
    #[serde(default)]
    pub service_id: Option<Uuid>,
    /// The date the service was delivered.
    pub dated: NaiveDate,
    /// What was delivered, by `kind`.
    pub record: ServiceRecord,
}

/// A listed platform (or the ministry) records several services at once, as rows of the
/// ministry's spreadsheet: all of them or none. Each row is decided as `RecordService` is; when
/// any row is refused the whole batch is refused, naming every refused row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordServices {
    /// The services, in the spreadsheet's order; 1 to 500.
    #[schema(min_items = 1, max_items = 500)]
    pub services: Vec<RecordService>,
}

/// The ministry retracts a service record, which then counts in no KPI at any as-of date
/// (RULES.md §8). A record is retracted once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetractService {
    /// The service record of this platform to retract.
    pub service_id: Uuid,
    /// Why it is retracted; not blank.
    #[schema(min_length = 1, pattern = r"\S")]
    pub reason: String,
}

/// A pilot service a platform offers to enterprises (中试服务, RULES.md §13: the directory of
/// pilot services).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PilotService {
    /// 菌种构建与改造
    StrainDevelopment,
    /// 工艺开发
    ProcessDevelopment,
    /// 中试放大
    ScaleUp,
    /// 委托生产（CDMO）
    ContractManufacturing,
    /// 分析检测
    AnalysisTesting,
    /// 工程设计与装备
    EngineeringDesign,
    /// 注册申报与合规
    Regulatory,
    /// 设备共享
    EquipmentSharing,
    /// 人才培训
    Training,
}

impl PilotService {
    /// Every service, in the order the pages list them.
    pub const ALL: [PilotService; 9] = [
        PilotService::StrainDevelopment,
        PilotService::ProcessDevelopment,
        PilotService::ScaleUp,
        PilotService::ContractManufacturing,
        PilotService::AnalysisTesting,
        PilotService::EngineeringDesign,
        PilotService::Regulatory,
        PilotService::EquipmentSharing,
        PilotService::Training,
    ];

    /// The code as serialised.
    pub fn code(self) -> &'static str {
        match self {
            PilotService::StrainDevelopment => "strain_development",
            PilotService::ProcessDevelopment => "process_development",
            PilotService::ScaleUp => "scale_up",
            PilotService::ContractManufacturing => "contract_manufacturing",
            PilotService::AnalysisTesting => "analysis_testing",
            PilotService::EngineeringDesign => "engineering_design",
            PilotService::Regulatory => "regulatory",
            PilotService::EquipmentSharing => "equipment_sharing",
            PilotService::Training => "training",
        }
    }

    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            PilotService::StrainDevelopment => "菌种构建与改造",
            PilotService::ProcessDevelopment => "工艺开发",
            PilotService::ScaleUp => "中试放大",
            PilotService::ContractManufacturing => "委托生产（CDMO）",
            PilotService::AnalysisTesting => "分析检测",
            PilotService::EngineeringDesign => "工程设计与装备",
            PilotService::Regulatory => "注册申报与合规",
            PilotService::EquipmentSharing => "设备共享",
            PilotService::Training => "人才培训",
        }
    }

    /// The service of a code.
    pub fn parse(code: &str) -> Option<PilotService> {
        PilotService::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// A listed platform states the pilot services it offers to enterprises and whether it takes
/// orders now (RULES.md §13), replacing what it stated before; the public profile and the
/// directory show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateServiceOffer {
    /// The services offered, at least one.
    pub services: Vec<PilotService>,
    /// What the platform offers in its own words (capacities, lead times, terms).
    #[serde(default)]
    pub description: Option<String>,
    /// Whether it takes new orders now.
    pub accepting_orders: bool,
}

/// The longest description of a need, or note to an answer, in characters.
pub const NEED_TEXT_MAX: usize = 4000;

/// The id (需求编号) of the need posted by the command `command_id`; every platform it reaches
/// records it under this id.
pub fn need_id(command_id: Uuid) -> String {
    format!("need-{}", &command_id.simple().to_string()[..12])
}

/// An enterprise's need for pilot services (中试需求, RULES.md §13), as it posts it on the public
/// face: who it is, how to reach it, what it needs, and the criteria the directory matches it
/// by. The public face records it on every listed platform that matches (`PostNeed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Need {
    /// The enterprise's name.
    #[schema(min_length = 1, pattern = r"\S")]
    pub enterprise_name: String,
    /// The enterprise's USCC: a contract that comes of the need counts it in K-2.
    pub enterprise_uscc: Uscc,
    /// How the platforms reach it (phone or e-mail).
    #[schema(min_length = 1, pattern = r"\S")]
    pub contact: String,
    /// What it needs, in its own words (product, scale, schedule).
    #[schema(min_length = 1, pattern = r"\S")]
    pub description: String,
    /// The domain of the work; a matching platform is listed in it.
    #[serde(default)]
    pub domain: Option<Domain>,
    /// The pilot services needed; a matching platform offers every one of them.
    #[serde(default)]
    pub services: Vec<PilotService>,
    /// The smallest vessel the work needs, in litres (single-tank working volume); a matching
    /// platform has one at least as large.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub min_vessel_l: Option<u32>,
    /// The province the platform should be in (GB/T 2260 code), if it matters.
    #[serde(default)]
    pub province: Option<Province>,
}

impl Need {
    /// What makes a need well-formed, whichever platform it reaches: the name, contact and
    /// description given and bounded, a USCC (checked by its type), a vessel of at least 1
    /// litre, each service once, and a domain or a service to match it by (a need that
    /// names neither would reach every platform).
    pub fn check(&self) -> Result<(), crate::error::Refusal> {
        use crate::error::Refusal;
        for (field, text, max) in [
            ("need.enterprise_name", &self.enterprise_name, 200),
            ("need.contact", &self.contact, 200),
            ("need.description", &self.description, NEED_TEXT_MAX),
        ] {
            if text.trim().is_empty() {
                return Err(
                    Refusal::invalid(field, format!("{field} must not be empty"))
                        .zh("此项为必填项"),
                );
            }
            if text.chars().count() > max {
                return Err(Refusal::invalid(
                    field,
                    format!("{field} has at most {max} characters"),
                )
                .zh(format!("此项最多 {max} 个字")));
            }
        }
        if self.min_vessel_l == Some(0) {
            return Err(Refusal::invalid(
                "need.min_vessel_l",
                "a vessel volume is at least 1 litre",
            )
            .zh("发酵罐容积至少 1 升"));
        }
        let mut seen = BTreeSet::new();
        if let Some(twice) = self.services.iter().find(|s| !seen.insert(**s)) {
            return Err(Refusal::invalid(
                "need.services",
                format!("{} is named twice", twice.code()),
            )
            .zh(format!("“{}”重复", twice.name_zh())));
        }
        if self.domain.is_none() && self.services.is_empty() {
            return Err(Refusal::invalid(
                "need.domain",
                "name the domain of the work or at least one service needed, so that the need reaches the platforms that match it",
            )
            .zh("请选择所属领域或至少一项所需中试服务，以便送达相应平台"));
        }
        Ok(())
    }
}

/// A need (RULES.md §13) reaches a listed platform that matches it. The public face issues it
/// for each matching platform, all under one need id; no token may.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostNeed {
    /// The need's id, the same on every platform it reaches (`need_id`).
    #[schema(pattern = r"^need-[0-9a-f]{12}$")]
    pub need_id: String,
    /// The need.
    pub need: Need,
}

/// What a platform answers to a need that reached it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NeedResponse {
    /// The platform will take it up with the enterprise (对接中).
    Interested,
    /// The platform cannot serve it.
    Declined,
    /// The need became a contract: recorded as a service to the enterprise (K-2), dated the
    /// day the contract was signed.
    Contracted {
        /// The day the contract was signed, not after the day it is recorded.
        signed_on: NaiveDate,
        /// The contract amount, in yuan.
        contract_cny: Cny,
    },
}

/// A listed platform answers a need that reached it: interested or declined once, and a
/// contract once (after interest, or directly); a declined or contracted need is answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RespondToNeed {
    /// The need answered.
    #[schema(pattern = r"^need-[0-9a-f]{12}$")]
    pub need_id: String,
    /// The answer, by `kind`.
    pub answer: NeedResponse,
    /// A note to the record (what was agreed, why declined).
    #[serde(default)]
    pub note: Option<String>,
}

/// An incident of the platform is reported, in any state, by its applicant, its province or the
/// ministry. For a platform on the roster, a strain leak opens a re-review (D-4) and, with major
/// loss, delists it (D-5); a major safety or environmental accident opens a review (D-6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportIncident {
    /// The incident's id, unique on the platform.
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,64}$", min_length = 1, max_length = 64)]
    pub incident_id: String,
    /// What kind of incident it is.
    pub kind: IncidentKind,
    /// The day it happened; not after the business date of the report.
    pub occurred_on: NaiveDate,
    /// What happened; not blank.
    #[schema(min_length = 1, pattern = r"\S")]
    pub description: String,
    /// Direct economic loss, if known at report time.
    #[serde(default)]
    pub direct_loss_cny: Option<Cny>,
    /// Class stated by the reporter, if already known.
    #[serde(default)]
    pub severity: Option<IncidentClass>,
}

/// The ministry or the platform's province records its assessment of a reported incident; the
/// accident class of Decree 493 follows from the loss, deaths and serious injuries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessIncident {
    /// The reported incident of this platform assessed.
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,64}$", min_length = 1, max_length = 64)]
    pub incident_id: String,
    /// Direct economic loss as assessed, in yuan. For a strain leak of a platform on the roster, a
    /// loss at or above the major-loss threshold delists it (D-5).
    pub direct_loss_cny: Cny,
    /// Deaths caused; 0 when absent.
    #[serde(default)]
    pub deaths: u32,
    /// Serious injuries caused; 0 when absent.
    #[serde(default)]
    pub serious_injuries: u32,
    /// The assessment's conclusion; not blank.
    #[schema(min_length = 1, pattern = r"\S")]
    pub conclusion: String,
}

/// Why a review was opened: `triennial`, `incident:<id>` or `ad_hoc`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReviewTrigger {
    /// The review every three years after listing (D-1); one per due date (D-2).
    Triennial,
    /// The re-review after the named incident of the platform (D-4, D-6); one per incident.
    Incident(String),
    /// A review opened for any other reason.
    AdHoc,
}

impl ReviewTrigger {
    /// Reads a trigger as written: `triennial`, `ad_hoc` or `incident:<id>` with a non-empty id;
    /// `None` for anything else.
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

impl ReviewTrigger {
    /// In Chinese: 三年复核, 事故复核（<id>）, 专项复核.
    pub fn name_zh(&self) -> String {
        match self {
            ReviewTrigger::Triennial => "三年复核".into(),
            ReviewTrigger::Incident(id) => format!("事故复核（{id}）"),
            ReviewTrigger::AdHoc => "专项复核".into(),
        }
    }
}

impl ReviewOutcome {
    /// In Chinese: 通过 or 不通过.
    pub fn name_zh(self) -> &'static str {
        match self {
            ReviewOutcome::Passed => "通过",
            ReviewOutcome::Failed => "不通过",
        }
    }
}

impl DelistReason {
    /// In Chinese (D-9's wording).
    pub fn name_zh(self) -> &'static str {
        match self {
            DelistReason::ReviewFailed => "复核不通过",
            DelistReason::StrainLeakMajorLoss => "菌种泄露造成重大经济损失",
            DelistReason::InsufficientService => "服务能力或成效不达要求",
            DelistReason::SeriousViolation => "严重违法违规",
            DelistReason::Voluntary => "主动申请退出",
            DelistReason::Other => "其他原因",
        }
    }
}

impl ViolationArea {
    /// In Chinese: 知识产权, 安全生产, 生态环境, 质量安全.
    pub fn name_zh(self) -> &'static str {
        match self {
            ViolationArea::Ip => "知识产权",
            ViolationArea::Safety => "安全生产",
            ViolationArea::Environment => "生态环境",
            ViolationArea::Quality => "质量安全",
        }
    }
}

impl ServiceRecord {
    /// The kind in Chinese: 服务企业, 孵化产品, 项目产业化, 孵化企业.
    pub fn kind_zh(&self) -> &'static str {
        match self {
            ServiceRecord::EnterpriseServed { .. } => "服务企业",
            ServiceRecord::ProductIncubated { .. } => "孵化产品",
            ServiceRecord::ProjectIndustrialized { .. } => "项目产业化",
            ServiceRecord::EnterpriseSpunOff { .. } => "孵化企业",
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

/// The ministry or the system opens a review of a platform on the roster (RULES.md §7); the
/// platform is then `under_review`. Several reviews may be open at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenReview {
    /// The review's id, unique on the platform.
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,64}$", min_length = 1, max_length = 64)]
    pub review_id: String,
    /// Why it is opened: `triennial`, `incident:<incident id>` or `ad_hoc`.
    #[schema(value_type = String, example = "triennial")]
    pub trigger: ReviewTrigger,
    /// The day the review is due; one not concluded by then is overdue (D-2).
    pub due_on: NaiveDate,
}

/// The outcome of a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewOutcome {
    /// The platform stays on the roster: `listed` again once no other review is open.
    Passed,
    /// The platform is delisted in the same commit (D-3).
    Failed,
}

/// The ministry or the system concludes an open review of the platform (RULES.md §7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConcludeReview {
    /// The open review concluded.
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,64}$", min_length = 1, max_length = 64)]
    pub review_id: String,
    /// Passed or failed; a failed review delists the platform (D-3).
    pub outcome: ReviewOutcome,
    /// The reasons for the outcome, if any.
    #[serde(default)]
    pub reasons: Vec<String>,
}

/// The ministry records the annual evaluation of a platform on the roster and its
/// service-capability star rating (D-8); a later evaluation of the same year replaces that
/// year's rating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordAnnualEvaluation {
    /// The year evaluated, from 2025 up to the year of the business date.
    pub year: i32,
    /// 服务能力星级, 1-5.
    #[schema(minimum = 1, maximum = 5)]
    pub stars: u8,
    /// The evaluation's findings, if any.
    #[serde(default)]
    pub findings: Option<String>,
}

/// D-9 reason codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DelistReason {
    /// A review failed (D-3).
    ReviewFailed,
    /// A strain leak with major economic loss (D-5).
    StrainLeakMajorLoss,
    /// Service capability or results below requirements (D-9).
    InsufficientService,
    /// A serious violation in one `area`: intellectual property, production safety,
    /// environmental protection or quality safety (D-9).
    SeriousViolation,
    /// The unit gives up the listing of its own accord.
    Voluntary,
    /// Any other reason.
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

/// The area of a serious violation (D-9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ViolationArea {
    /// Intellectual property.
    Ip,
    /// Production safety.
    Safety,
    /// Environmental protection.
    Environment,
    /// Quality safety.
    Quality,
}

/// The ministry or the system removes a platform from the roster (撤除); the delisting takes
/// effect on its business date (D-7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelistPlatform {
    /// Why the platform is delisted.
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
    /// Free-text explanation, if any.
    #[serde(default)]
    pub details: Option<String>,
}

/// A command on one platform's stream, named in `type` as in the registry.
// One command lives per request; boxing the form would buy nothing but noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum PlatformCommand {
    /// Applicant: submit an application (to `submitted`).
    SubmitApplication(SubmitApplication),
    /// Applicant: amend a pending application before the province decides.
    AmendApplication(AmendApplication),
    /// Applicant: withdraw a pending application (to `withdrawn`).
    WithdrawApplication(WithdrawApplication),
    /// City: endorse an application of its own city (to `city_endorsed`).
    EndorseByCity(EndorseByCity),
    /// Province: recommend an application to the ministry (to `recommended`).
    RecommendByProvince(RecommendByProvince),
    /// Province: reject an application (to `rejected`).
    RejectByProvince(RejectByProvince),
    /// Ministry: record the expert evaluation (to `evaluated` or `not_selected`).
    RecordExpertEvaluation(RecordExpertEvaluation),
    /// Ministry: start the public notice (to `on_notice`).
    StartPublicNotice(StartPublicNotice),
    /// Ministry: record an objection to the notice (upheld: to `not_selected`).
    RecordNoticeObjection(RecordNoticeObjection),
    /// Anyone objects during the public notice (RULES.md §13).
    FileObjection(FileObjection),
    /// A listed platform states its offer of pilot services (RULES.md §13).
    UpdateServiceOffer(UpdateServiceOffer),
    /// A need posted on the public face reaches a matching listed platform (RULES.md §13).
    PostNeed(PostNeed),
    /// A listed platform answers a need that reached it; a contract counts in K-2.
    RespondToNeed(RespondToNeed),
    /// Ministry: list the platform after its notice (to `listed`).
    ListPlatform(ListPlatform),
    /// Applicant or ministry: record a service of a platform on the roster.
    RecordService(RecordService),
    /// Applicant or ministry: record several services at once, all or none.
    RecordServices(RecordServices),
    /// Ministry: retract a service record.
    RetractService(RetractService),
    /// Applicant, province or ministry: report an incident, in any state.
    ReportIncident(ReportIncident),
    /// Ministry or province: assess a reported incident.
    AssessIncident(AssessIncident),
    /// Ministry or system: open a review (to `under_review`).
    OpenReview(OpenReview),
    /// Ministry or system: conclude a review (passed: `listed` once no review is open; failed:
    /// `delisted`).
    ConcludeReview(ConcludeReview),
    /// Ministry: record the annual evaluation and star rating (D-8).
    RecordAnnualEvaluation(RecordAnnualEvaluation),
    /// Ministry or system: delist the platform (to `delisted`).
    DelistPlatform(DelistPlatform),
}

impl PlatformCommand {
    /// Its name in the registry (`crate::registry`).
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
}
