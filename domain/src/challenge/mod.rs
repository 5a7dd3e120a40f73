//! The bioreactor open competition (揭榜挂帅, notice 220; RULES.md §9, C-1..C-8): the second
//! bounded context beside the platform roster. It shares the machinery (envelopes, refusals,
//! the event store, read models, the scheduler) but none of the roster's states.
//!
//! One aggregate per call (stream `call-<id>`): the call with its tasks (C-1) and deadlines
//! (C-5), and every bid on its tasks from submission to the success list. A call is the
//! consistency boundary because its invariants span bids: at most 5 shortlisted and at most 5
//! successful bids per task (C-6), one bid of a lead per task. Its volume is small (9 tasks, tens
//! of bids), so one stream per call costs nothing and makes the caps exact under concurrency
//! (the store's expected version).
//!
//! Who acts (RULES.md §10): the lead unit for its bid (an applicant token of the lead's USCC);
//! members read it; the province where the lead is registered verifies and recommends (C-7);
//! the ministry records evaluations, shortlists, signs agreements and publishes. The ministry
//! role is held by MIIT's and CAS's users alike (the texts have them act jointly, 工业和信息化部会同
//! 中国科学院): the actor id in the audit log says which.

mod decide;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::actor::{Actor, Role};
use crate::commands::Envelope;
use crate::error::{code, Refusal};
use crate::form::Evidence;
use crate::incident::IncidentClass;
use crate::registry::CommandKind;
use crate::values::{Province, Uscc};

/// The three categories of tasks (C-1).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 反应器系统
    ReactorSystem,
    /// 关键部件与耗材
    ComponentsConsumables,
    /// 工业操作系统
    IndustrialOs,
}

impl Category {
    /// The three, in the notice's order.
    pub const ALL: [Category; 3] = [
        Category::ReactorSystem,
        Category::ComponentsConsumables,
        Category::IndustrialOs,
    ];

    /// The code as serialised.
    pub fn code(self) -> &'static str {
        match self {
            Category::ReactorSystem => "reactor_system",
            Category::ComponentsConsumables => "components_consumables",
            Category::IndustrialOs => "industrial_os",
        }
    }

    /// The notice's name.
    pub fn name_zh(self) -> &'static str {
        match self {
            Category::ReactorSystem => "反应器系统",
            Category::ComponentsConsumables => "关键部件与耗材",
            Category::IndustrialOs => "工业操作系统",
        }
    }

    /// C-3: what the user enterprise of a consortium for this category uses.
    fn user_zh(self) -> &'static str {
        match self {
            Category::ReactorSystem => "反应器用户企业",
            Category::ComponentsConsumables | Category::IndustrialOs => "部件或系统用户企业",
        }
    }
}

/// A task of the call (揭榜任务). The list itself is an attachment not in the texts: tasks are
/// data the ministry enters with the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Task {
    /// Its id within the call, e.g. `rs-1`.
    pub task_id: String,
    /// Its name as the list gives it.
    pub name: String,
    /// Its category (C-1).
    pub category: Category,
    /// The targets the list sets (指标).
    #[serde(default)]
    pub targets: Vec<String>,
    /// The last day the task is to be completed by (the list's 期限).
    pub complete_by: NaiveDate,
}

/// The ministry's call with its tasks and deadlines (C-1, C-5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OpenCall {
    /// The call's id, e.g. `2025`.
    pub call_id: String,
    /// Its title.
    pub name: String,
    /// The first day bids are accepted.
    pub opens_on: NaiveDate,
    /// The last day a lead submits to its province (2025: 2025-06-30).
    pub applicant_deadline: NaiveDate,
    /// The last day a province recommends to the ministry (2025: 2025-07-15).
    pub province_deadline: NaiveDate,
    /// The tasks (C-1), at least one.
    pub tasks: Vec<Task>,
}

/// What kind of unit a bidder is (C-2): every kind is a legal person.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// 企业
    Enterprise,
    /// 高等院校
    University,
    /// 科研院所
    ResearchInstitute,
    /// 中国科学院院属研究单位 (may join a consortium, C-2)
    CasInstitute,
}

impl UnitKind {
    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            UnitKind::Enterprise => "企业",
            UnitKind::University => "高等院校",
            UnitKind::ResearchInstitute => "科研院所",
            UnitKind::CasInstitute => "中国科学院院属单位",
        }
    }
}

/// A unit of a bid: the lead or a member of its consortium (C-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Unit {
    /// Its registered name.
    pub name: String,
    /// Its unified social credit code (checked on submission, C-2).
    pub uscc: String,
    /// What kind of unit it is.
    pub kind: UnitKind,
    /// The province it is registered in (where the lead submits, C-7).
    #[schema(value_type = String)]
    pub province: Province,
    /// An enterprise that uses bioreactors (C-3, reactor_system).
    #[serde(default)]
    pub reactor_user: bool,
    /// An enterprise that uses the component or the system (C-3, components and OS tasks).
    #[serde(default)]
    pub component_or_system_user: bool,
}

/// The declarations of C-4, each with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Declarations {
    /// No major safety or environmental accident in the last 3 years (近3年无重大安全和环境污染事故).
    pub no_major_accident: bool,
    /// Pre-industrial validation completed (已完成产业化前期验证).
    pub validation_completed: bool,
    /// A basically finalised product with owned IP (具有基本定型产品且拥有知识产权).
    pub finalised_product_with_ip: bool,
    /// The supporting documents (佐证材料), by hash where uploaded.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

/// A bid's check of one rule as recorded on submission (the province sees it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Check {
    /// The rule, e.g. `C-4`.
    pub rule: String,
    /// What was checked, e.g. `no_major_accident`.
    pub item: String,
    /// Whether it holds.
    pub passed: bool,
    /// Why, in English.
    pub detail: String,
    /// Why, in Chinese.
    pub detail_zh: String,
}

/// A major accident of a unit the system knows (from the roster's incident register), for C-4.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownAccident {
    /// The unit's USCC.
    pub uscc: String,
    /// The day it happened.
    pub occurred_on: NaiveDate,
    /// Its assessed class.
    pub class: IncidentClass,
    /// The incident, for the record (`platform/incident`).
    pub reference: String,
}

/// What a decision needs to know beyond the call's own events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChallengeContext {
    /// Accidents the roster knows of the units of a submitted bid (C-4).
    pub accidents: Vec<KnownAccident>,
}

/// A milestone of a task agreement (任务书的时间节点).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Milestone {
    /// Its id within the agreement, e.g. `m1`.
    pub milestone_id: String,
    /// What is due.
    pub title: String,
    /// The day it is due.
    pub due_on: NaiveDate,
}

/// Which published list (C-6).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    /// 入围揭榜单位或联合体名单
    Shortlist,
    /// 揭榜任务成功单位或联合体名单
    Success,
}

impl ListKind {
    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            ListKind::Shortlist => "入围名单",
            ListKind::Success => "揭榜成功名单",
        }
    }
}

/// C-6: at most this many shortlisted, and as many successful, bids per task.
pub const PER_TASK: usize = 5;
/// C-2: at most this many members besides the lead.
pub const MAX_MEMBERS: usize = 4;

/// The lead submits a bid for its unit or consortium (C-2..C-5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitBid {
    /// A new bid id within the call.
    pub bid_id: String,
    /// The task bid for.
    pub task_id: String,
    /// The lead unit, which submits for all (C-7).
    pub lead: Unit,
    /// The other units of the consortium (at most 4, C-2); none for a single unit.
    #[serde(default)]
    pub members: Vec<Unit>,
    /// The declarations of C-4.
    pub declarations: Declarations,
}

/// The lead withdraws its bid before it is shortlisted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawBid {
    /// The bid.
    pub bid_id: String,
    /// Why.
    pub reason: String,
}

/// The lead's province recommends the bid with its recommendation form (推荐表, C-5, C-7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendBid {
    /// The bid.
    pub bid_id: String,
    /// The province's opinion (推荐意见).
    pub opinion: String,
    /// The expert argumentation held, if any (专家论证, optional).
    #[serde(default)]
    pub expert_argumentation: Option<String>,
    /// Needed when a C-4 check failed: why the province recommends nonetheless.
    #[serde(default)]
    pub override_reason: Option<String>,
}

/// The province does not recommend the bid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineBid {
    /// The bid.
    pub bid_id: String,
    /// Why (at least one).
    pub reasons: Vec<String>,
}

/// The ministry with CAS records the expert evaluation (C-6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateBid {
    /// The bid.
    pub bid_id: String,
    /// 0-100.
    pub score: u32,
    /// Whether the panel passed it.
    pub passed: bool,
    /// The panel.
    #[serde(default)]
    pub panel: Option<String>,
}

/// The ministry shortlists a bid that passed its evaluation (C-6, at most 5 per task).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShortlistBid {
    /// The bid.
    pub bid_id: String,
}

/// The ministry publishes a task's shortlist or success list as it stands (C-6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishList {
    /// The task.
    pub task_id: String,
    /// Which list.
    pub list: ListKind,
}

/// The task agreement (任务书) of a shortlisted bid, with its targets and dated milestones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignAgreement {
    /// The bid.
    pub bid_id: String,
    /// The agreed targets.
    pub targets: Vec<String>,
    /// The milestones, at least one.
    pub milestones: Vec<Milestone>,
}

/// The lead reports a milestone done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportMilestone {
    /// The bid.
    pub bid_id: String,
    /// The milestone.
    pub milestone_id: String,
    /// What was done.
    pub summary: String,
    /// The supporting documents.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

/// The scheduler flags a milestone not reported by its date (C-8), once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagMilestoneOverdue {
    /// The bid.
    pub bid_id: String,
    /// The milestone.
    pub milestone_id: String,
}

/// The third-party evaluation on completion (第三方评价, C-6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordThirdPartyEvaluation {
    /// The bid.
    pub bid_id: String,
    /// The professional body that evaluated.
    pub evaluator: String,
    /// Whether the task was completed as agreed.
    pub passed: bool,
    /// Its findings.
    pub summary: String,
}

/// The ministry declares the bid successful (揭榜成功, C-6, at most 5 per task).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclareSuccess {
    /// The bid.
    pub bid_id: String,
}

/// The commands of a call's stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum ChallengeCommand {
    /// The ministry opens the call (C-1, C-5).
    OpenCall(OpenCall),
    /// The lead submits a bid for its unit or consortium (C-2..C-5).
    SubmitBid(SubmitBid),
    /// The lead withdraws its bid before it is shortlisted.
    WithdrawBid(WithdrawBid),
    /// The lead's province recommends the bid with its recommendation form (推荐表, C-5, C-7).
    RecommendBid(RecommendBid),
    /// The province does not recommend the bid.
    DeclineBid(DeclineBid),
    /// The ministry with CAS records the expert evaluation (C-6).
    EvaluateBid(EvaluateBid),
    /// The ministry shortlists a bid that passed its evaluation (C-6, at most 5 per task).
    ShortlistBid(ShortlistBid),
    /// The ministry publishes a task's shortlist or success list as it stands (C-6).
    PublishList(PublishList),
    /// The task agreement (任务书) of a shortlisted bid, with its targets and dated milestones.
    SignAgreement(SignAgreement),
    /// The lead reports a milestone done.
    ReportMilestone(ReportMilestone),
    /// The scheduler flags a milestone not reported by its date (C-8), once.
    FlagMilestoneOverdue(FlagMilestoneOverdue),
    /// The third-party evaluation on completion (第三方评价, C-6).
    RecordThirdPartyEvaluation(RecordThirdPartyEvaluation),
    /// The ministry declares the bid successful (揭榜成功, C-6, at most 5 per task).
    DeclareSuccess(DeclareSuccess),
}

impl ChallengeCommand {
    /// Its kind in the registry (`crate::registry`): its name and who may issue it.
    pub fn kind(&self) -> CommandKind {
        use ChallengeCommand as C;
        match self {
            C::OpenCall(_) => CommandKind::OpenCall,
            C::SubmitBid(_) => CommandKind::SubmitBid,
            C::WithdrawBid(_) => CommandKind::WithdrawBid,
            C::RecommendBid(_) => CommandKind::RecommendBid,
            C::DeclineBid(_) => CommandKind::DeclineBid,
            C::EvaluateBid(_) => CommandKind::EvaluateBid,
            C::ShortlistBid(_) => CommandKind::ShortlistBid,
            C::PublishList(_) => CommandKind::PublishList,
            C::SignAgreement(_) => CommandKind::SignAgreement,
            C::ReportMilestone(_) => CommandKind::ReportMilestone,
            C::FlagMilestoneOverdue(_) => CommandKind::FlagMilestoneOverdue,
            C::RecordThirdPartyEvaluation(_) => CommandKind::RecordThirdPartyEvaluation,
            C::DeclareSuccess(_) => CommandKind::DeclareSuccess,
        }
    }

    /// The command's name, as the API and the audit log write it.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// The roles that may issue it (RULES.md §10); jurisdiction is checked by the decision.
    pub fn roles(&self) -> &'static [Role] {
        self.kind().roles()
    }

    /// The bid it acts on, if any.
    pub fn bid_id(&self) -> Option<&str> {
        match self {
            ChallengeCommand::OpenCall(_) | ChallengeCommand::PublishList(PublishList { .. }) => {
                None
            }
            ChallengeCommand::SubmitBid(SubmitBid { bid_id, .. })
            | ChallengeCommand::WithdrawBid(WithdrawBid { bid_id, .. })
            | ChallengeCommand::RecommendBid(RecommendBid { bid_id, .. })
            | ChallengeCommand::DeclineBid(DeclineBid { bid_id, .. })
            | ChallengeCommand::EvaluateBid(EvaluateBid { bid_id, .. })
            | ChallengeCommand::ShortlistBid(ShortlistBid { bid_id })
            | ChallengeCommand::SignAgreement(SignAgreement { bid_id, .. })
            | ChallengeCommand::ReportMilestone(ReportMilestone { bid_id, .. })
            | ChallengeCommand::FlagMilestoneOverdue(FlagMilestoneOverdue { bid_id, .. })
            | ChallengeCommand::RecordThirdPartyEvaluation(RecordThirdPartyEvaluation {
                bid_id,
                ..
            })
            | ChallengeCommand::DeclareSuccess(DeclareSuccess { bid_id }) => Some(bid_id),
        }
    }
}

/// `POST /api/v1/calls/{call_id}/{route}` → the command of a call it records (the call itself
/// is opened at `POST /api/v1/calls`).
pub const ROUTES: [(&str, CommandKind); 12] = [
    ("bid", CommandKind::SubmitBid),
    ("bid-withdrawal", CommandKind::WithdrawBid),
    ("bid-recommendation", CommandKind::RecommendBid),
    ("bid-decline", CommandKind::DeclineBid),
    ("bid-evaluation", CommandKind::EvaluateBid),
    ("shortlisting", CommandKind::ShortlistBid),
    ("list-publication", CommandKind::PublishList),
    ("agreement", CommandKind::SignAgreement),
    ("milestone-report", CommandKind::ReportMilestone),
    ("milestone-overdue", CommandKind::FlagMilestoneOverdue),
    (
        "third-party-evaluation",
        CommandKind::RecordThirdPartyEvaluation,
    ),
    ("success", CommandKind::DeclareSuccess),
];

/// The command of a call routed at `POST /api/v1/calls/{call_id}/{action}`.
pub fn routed(action: &str) -> Option<CommandKind> {
    ROUTES.iter().find(|(a, _)| *a == action).map(|(_, k)| *k)
}

/// Whether `kind` is a command of a call (the bioreactor competition).
pub fn is_call_command(kind: CommandKind) -> bool {
    kind == CommandKind::OpenCall || ROUTES.iter().any(|(_, k)| *k == kind)
}

impl ChallengeCommand {
    /// The command of a call of this kind read from its fields; `None` when the kind is not a
    /// command of a call.
    pub fn parse<F: crate::registry::Fields>(
        kind: CommandKind,
        fields: F,
    ) -> Option<Result<ChallengeCommand, F::Error>> {
        use ChallengeCommand as C;
        Some(match kind {
            CommandKind::OpenCall => fields.parse().map(C::OpenCall),
            CommandKind::SubmitBid => fields.parse().map(C::SubmitBid),
            CommandKind::WithdrawBid => fields.parse().map(C::WithdrawBid),
            CommandKind::RecommendBid => fields.parse().map(C::RecommendBid),
            CommandKind::DeclineBid => fields.parse().map(C::DeclineBid),
            CommandKind::EvaluateBid => fields.parse().map(C::EvaluateBid),
            CommandKind::ShortlistBid => fields.parse().map(C::ShortlistBid),
            CommandKind::PublishList => fields.parse().map(C::PublishList),
            CommandKind::SignAgreement => fields.parse().map(C::SignAgreement),
            CommandKind::ReportMilestone => fields.parse().map(C::ReportMilestone),
            CommandKind::FlagMilestoneOverdue => fields.parse().map(C::FlagMilestoneOverdue),
            CommandKind::RecordThirdPartyEvaluation => {
                fields.parse().map(C::RecordThirdPartyEvaluation)
            }
            CommandKind::DeclareSuccess => fields.parse().map(C::DeclareSuccess),
            _ => return None,
        })
    }
}

/// The events of a call's stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type")]
pub enum ChallengeEvent {
    /// The call was opened with its tasks and deadlines.
    CallOpened(OpenCall),
    /// A lead submitted a bid; the checks of C-4 as recorded then.
    BidSubmitted {
        /// The bid.
        bid_id: String,
        /// The task.
        task_id: String,
        /// The day it was recorded (C-5).
        submitted_on: NaiveDate,
        /// The lead.
        lead: Unit,
        /// The members.
        members: Vec<Unit>,
        /// The declarations.
        declarations: Declarations,
        /// The checks of C-4.
        checks: Vec<Check>,
    },
    /// The lead withdrew the bid.
    BidWithdrawn {
        /// The bid.
        bid_id: String,
        /// Why.
        reason: String,
    },
    /// The province recommended the bid (推荐表).
    BidRecommended {
        /// The bid.
        bid_id: String,
        /// The recommending province.
        #[schema(value_type = String)]
        province: Province,
        /// Its opinion.
        opinion: String,
        /// The expert argumentation held, if any.
        expert_argumentation: Option<String>,
        /// The failed checks recommended over, with the reason.
        overridden: Vec<String>,
        /// Why.
        override_reason: Option<String>,
    },
    /// The province did not recommend the bid.
    BidDeclined {
        /// The bid.
        bid_id: String,
        /// The province.
        #[schema(value_type = String)]
        province: Province,
        /// Why.
        reasons: Vec<String>,
    },
    /// The expert evaluation (C-6).
    BidEvaluated {
        /// The bid.
        bid_id: String,
        /// 0-100.
        score: u32,
        /// Passed or not.
        passed: bool,
        /// The panel.
        panel: Option<String>,
    },
    /// The bid was shortlisted (入围).
    BidShortlisted {
        /// The bid.
        bid_id: String,
        /// Its task.
        task_id: String,
    },
    /// A task's list was published as it stood.
    ListPublished {
        /// The task.
        task_id: String,
        /// Which list.
        list: ListKind,
        /// The bids on it, in the order they were put on it.
        bid_ids: Vec<String>,
        /// The day of publication.
        published_on: NaiveDate,
    },
    /// The task agreement was signed.
    AgreementSigned {
        /// The bid.
        bid_id: String,
        /// The day.
        signed_on: NaiveDate,
        /// The targets.
        targets: Vec<String>,
        /// The milestones.
        milestones: Vec<Milestone>,
    },
    /// The lead reported a milestone.
    MilestoneReported {
        /// The bid.
        bid_id: String,
        /// The milestone.
        milestone_id: String,
        /// The day it was reported.
        reported_on: NaiveDate,
        /// After its due date.
        late: bool,
        /// What was done.
        summary: String,
        /// The documents.
        evidence: Vec<Evidence>,
    },
    /// A milestone passed its date unreported (C-8).
    MilestoneOverdue {
        /// The bid.
        bid_id: String,
        /// The milestone.
        milestone_id: String,
        /// Its due date.
        due_on: NaiveDate,
    },
    /// The third-party evaluation on completion.
    ThirdPartyEvaluated {
        /// The bid.
        bid_id: String,
        /// The body.
        evaluator: String,
        /// Passed or not.
        passed: bool,
        /// Its findings.
        summary: String,
    },
    /// The bid succeeded (揭榜成功).
    BidSucceeded {
        /// The bid.
        bid_id: String,
        /// Its task.
        task_id: String,
    },
}

impl ChallengeEvent {
    /// The event's type string as stored; it never changes.
    pub fn event_type(&self) -> &'static str {
        match self {
            ChallengeEvent::CallOpened(_) => "CallOpened",
            ChallengeEvent::BidSubmitted { .. } => "BidSubmitted",
            ChallengeEvent::BidWithdrawn { .. } => "BidWithdrawn",
            ChallengeEvent::BidRecommended { .. } => "BidRecommended",
            ChallengeEvent::BidDeclined { .. } => "BidDeclined",
            ChallengeEvent::BidEvaluated { .. } => "BidEvaluated",
            ChallengeEvent::BidShortlisted { .. } => "BidShortlisted",
            ChallengeEvent::ListPublished { .. } => "ListPublished",
            ChallengeEvent::AgreementSigned { .. } => "AgreementSigned",
            ChallengeEvent::MilestoneReported { .. } => "MilestoneReported",
            ChallengeEvent::MilestoneOverdue { .. } => "MilestoneOverdue",
            ChallengeEvent::ThirdPartyEvaluated { .. } => "ThirdPartyEvaluated",
            ChallengeEvent::BidSucceeded { .. } => "BidSucceeded",
        }
    }
}

impl DomainEvent for ChallengeEvent {
    fn event_type(&self) -> String {
        ChallengeEvent::event_type(self).to_string()
    }

    fn event_version(&self) -> String {
        crate::events::schema_version(ChallengeEvent::event_type(self)).to_string()
    }
}

/// Where a bid stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BidStatus {
    /// 已提交（待省级推荐）
    Submitted,
    /// 已撤回
    Withdrawn,
    /// 省级已推荐
    Recommended,
    /// 省级未推荐
    Declined,
    /// 已评审
    Evaluated,
    /// 已入围
    Shortlisted,
    /// 任务实施中（任务书已签订）
    UnderAgreement,
    /// 已完成第三方评价
    Assessed,
    /// 揭榜成功
    Succeeded,
}

impl BidStatus {
    /// The English name.
    pub fn name_en(self) -> &'static str {
        match self {
            BidStatus::Submitted => "submitted",
            BidStatus::Withdrawn => "withdrawn",
            BidStatus::Recommended => "recommended by the province",
            BidStatus::Declined => "not recommended",
            BidStatus::Evaluated => "evaluated",
            BidStatus::Shortlisted => "shortlisted",
            BidStatus::UnderAgreement => "under agreement",
            BidStatus::Assessed => "third-party evaluated",
            BidStatus::Succeeded => "succeeded",
        }
    }

    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            BidStatus::Submitted => "已提交",
            BidStatus::Withdrawn => "已撤回",
            BidStatus::Recommended => "省级已推荐",
            BidStatus::Declined => "省级未推荐",
            BidStatus::Evaluated => "已评审",
            BidStatus::Shortlisted => "已入围",
            BidStatus::UnderAgreement => "任务实施中",
            BidStatus::Assessed => "已完成第三方评价",
            BidStatus::Succeeded => "揭榜成功",
        }
    }
}

/// A milestone as the events leave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MilestoneState {
    /// The milestone as agreed.
    pub milestone: Milestone,
    /// The day it was reported, if it was.
    pub reported_on: Option<NaiveDate>,
    /// Flagged overdue (C-8).
    pub overdue: bool,
}

/// A bid as the events leave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Bid {
    /// Its id.
    pub bid_id: String,
    /// Its task.
    pub task_id: String,
    /// The lead.
    pub lead: Unit,
    /// The members.
    pub members: Vec<Unit>,
    /// The day it was submitted.
    pub submitted_on: NaiveDate,
    /// The checks of C-4.
    pub checks: Vec<Check>,
    /// Where it stands.
    pub status: BidStatus,
    /// The expert evaluation passed.
    pub evaluation_passed: Option<bool>,
    /// The agreement's milestones, once signed.
    pub milestones: Vec<MilestoneState>,
    /// The third-party evaluation passed.
    pub third_party_passed: Option<bool>,
}

impl Bid {
    /// The province that verifies and recommends it (C-7): the registering province of the
    /// lead's USCC, or the one it declares when centrally registered (`100000`).
    pub fn province(&self) -> Province {
        Uscc::parse(&self.lead.uscc)
            .ok()
            .and_then(|u| u.registering_province())
            .unwrap_or(self.lead.province)
    }

    /// Every unit: the lead first.
    pub fn units(&self) -> impl Iterator<Item = &Unit> {
        std::iter::once(&self.lead).chain(self.members.iter())
    }

    /// May `actor` read this bid (RULES.md §10): the ministry, analysts and the system; its
    /// province; its lead and its members.
    pub fn readable_by(&self, actor: &Actor) -> bool {
        match actor.role {
            Role::Ministry | Role::Analyst | Role::System => true,
            Role::Province => actor.jurisdiction.as_deref() == Some(self.province().code()),
            Role::Applicant => actor
                .jurisdiction
                .as_deref()
                .is_some_and(|j| self.units().any(|u| u.uscc.eq_ignore_ascii_case(j))),
            Role::City | Role::Anonymous | Role::Public => false,
        }
    }

    /// A C-4 check failed.
    pub fn failed_checks(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{} {}", c.rule, c.item))
            .collect()
    }
}

/// A call as its events leave it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// The call as opened; `None` before.
    pub config: Option<OpenCall>,
    /// Its bids by id.
    pub bids: BTreeMap<String, Bid>,
    /// Per task, the shortlisted bids, in order.
    pub shortlists: BTreeMap<String, Vec<String>>,
    /// Per task, the successful bids, in order.
    pub successes: BTreeMap<String, Vec<String>>,
    /// Per task and list, what was last published.
    pub published: BTreeMap<String, BTreeMap<ListKind, Vec<String>>>,
}

/// Whether `id` is a valid call, task, bid or milestone id: 1-32 ASCII letters, digits, `-`
/// or `_`.
pub fn valid_id(id: &str) -> bool {
    crate::round::valid_round_id(id)
}

impl Call {
    /// The event stream of a call: `call-<id>`.
    pub fn stream_id(call_id: &str) -> String {
        format!("call-{call_id}")
    }

    /// The task `task_id` of the call.
    pub fn task(&self, task_id: &str) -> Option<&Task> {
        self.config
            .as_ref()?
            .tasks
            .iter()
            .find(|t| t.task_id == task_id)
    }

    /// The bid `bid_id`, or a refusal saying there is none.
    fn bid(&self, bid_id: &str) -> Result<&Bid, Refusal> {
        self.bids.get(bid_id).ok_or_else(|| no_bid(bid_id))
    }
}

impl Aggregate for Call {
    const TYPE: &'static str = "call";
    type Command = Envelope<ChallengeCommand>;
    type Event = ChallengeEvent;
    type Error = Refusal;
    type Services = ChallengeContext;

    async fn handle(
        &mut self,
        cmd: Self::Command,
        ctx: &ChallengeContext,
        sink: &EventSink<Self>,
    ) -> Result<(), Refusal> {
        let events = self.decide(&cmd, ctx)?;
        for e in events {
            sink.write(e, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: ChallengeEvent) {
        use ChallengeEvent as E;
        match event {
            E::CallOpened(c) => self.config = Some(c),
            E::BidSubmitted {
                bid_id,
                task_id,
                submitted_on,
                lead,
                members,
                checks,
                ..
            } => {
                self.bids.insert(
                    bid_id.clone(),
                    Bid {
                        bid_id,
                        task_id,
                        lead,
                        members,
                        submitted_on,
                        checks,
                        status: BidStatus::Submitted,
                        evaluation_passed: None,
                        milestones: vec![],
                        third_party_passed: None,
                    },
                );
            }
            E::BidWithdrawn { bid_id, .. } => self.set(&bid_id, BidStatus::Withdrawn),
            E::BidRecommended { bid_id, .. } => self.set(&bid_id, BidStatus::Recommended),
            E::BidDeclined { bid_id, .. } => self.set(&bid_id, BidStatus::Declined),
            E::BidEvaluated { bid_id, passed, .. } => {
                if let Some(b) = self.bids.get_mut(&bid_id) {
                    b.status = BidStatus::Evaluated;
                    b.evaluation_passed = Some(passed);
                }
            }
            E::BidShortlisted { bid_id, task_id } => {
                self.set(&bid_id, BidStatus::Shortlisted);
                self.shortlists.entry(task_id).or_default().push(bid_id);
            }
            E::ListPublished {
                task_id,
                list,
                bid_ids,
                ..
            } => {
                self.published
                    .entry(task_id)
                    .or_default()
                    .insert(list, bid_ids);
            }
            E::AgreementSigned {
                bid_id, milestones, ..
            } => {
                if let Some(b) = self.bids.get_mut(&bid_id) {
                    b.status = BidStatus::UnderAgreement;
                    b.milestones = milestones
                        .into_iter()
                        .map(|milestone| MilestoneState {
                            milestone,
                            reported_on: None,
                            overdue: false,
                        })
                        .collect();
                }
            }
            E::MilestoneReported {
                bid_id,
                milestone_id,
                reported_on,
                ..
            } => {
                if let Some(m) = self.milestone_mut(&bid_id, &milestone_id) {
                    m.reported_on = Some(reported_on);
                }
            }
            E::MilestoneOverdue {
                bid_id,
                milestone_id,
                ..
            } => {
                if let Some(m) = self.milestone_mut(&bid_id, &milestone_id) {
                    m.overdue = true;
                }
            }
            E::ThirdPartyEvaluated { bid_id, passed, .. } => {
                if let Some(b) = self.bids.get_mut(&bid_id) {
                    b.status = BidStatus::Assessed;
                    b.third_party_passed = Some(passed);
                }
            }
            E::BidSucceeded { bid_id, task_id } => {
                self.set(&bid_id, BidStatus::Succeeded);
                self.successes.entry(task_id).or_default().push(bid_id);
            }
        }
    }
}

/// One task's or one province's figures (RULES.md §9 read side).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Tally {
    /// The task id, or the province code.
    pub key: String,
    /// Its name (task name, or province name in Chinese).
    pub name: String,
    /// Bids submitted and not withdrawn.
    pub bids: u32,
    /// Of which consortia (a lead and at least one member).
    pub consortia: u32,
    /// Units in those bids (leads and members, each unit once).
    pub units: u32,
    /// Recommended by their province.
    pub recommended: u32,
    /// Shortlisted (入围).
    pub shortlisted: u32,
    /// Milestones reported by their date.
    pub milestones_on_time: u32,
    /// Milestones reported after their date.
    pub milestones_late: u32,
    /// Milestones past their date and not reported.
    pub milestones_overdue: u32,
    /// Successful (揭榜成功).
    pub succeeded: u32,
}

/// A unit's part in a call: the bids it leads or is a member of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Participation {
    /// The bid.
    pub bid_id: String,
    /// Its task.
    pub task_id: String,
    /// `lead` or `member`.
    pub role: String,
    /// Where the bid stands.
    pub status: BidStatus,
}

impl Call {
    /// Per task (in the call's order) and per province (of the lead), the figures of the bids
    /// `visible` lets through, as of `today` for overdue milestones.
    pub fn tallies(
        &self,
        today: NaiveDate,
        visible: impl Fn(&Bid) -> bool,
    ) -> (Vec<Tally>, Vec<Tally>) {
        let bids: Vec<&Bid> = self
            .bids
            .values()
            .filter(|b| b.status != BidStatus::Withdrawn && visible(b))
            .collect();
        let tally = |key: String, name: String, of: &[&Bid]| {
            let mut t = Tally {
                key,
                name,
                ..Tally::default()
            };
            let mut units = std::collections::BTreeSet::new();
            for b in of {
                t.bids += 1;
                t.consortia += u32::from(!b.members.is_empty());
                units.extend(b.units().map(|u| u.uscc.to_ascii_uppercase()));
                t.recommended += u32::from(!matches!(
                    b.status,
                    BidStatus::Submitted | BidStatus::Declined
                ));
                t.shortlisted += u32::from(matches!(
                    b.status,
                    BidStatus::Shortlisted
                        | BidStatus::UnderAgreement
                        | BidStatus::Assessed
                        | BidStatus::Succeeded
                ));
                t.succeeded += u32::from(b.status == BidStatus::Succeeded);
                for m in &b.milestones {
                    match m.reported_on {
                        Some(r) if r <= m.milestone.due_on => t.milestones_on_time += 1,
                        Some(_) => t.milestones_late += 1,
                        None if m.overdue || m.milestone.due_on < today => {
                            t.milestones_overdue += 1
                        }
                        None => {}
                    }
                }
            }
            t.units = units.len() as u32;
            t
        };
        let tasks = self
            .config
            .iter()
            .flat_map(|c| c.tasks.iter())
            .map(|task| {
                let of: Vec<&Bid> = bids
                    .iter()
                    .copied()
                    .filter(|b| b.task_id == task.task_id)
                    .collect();
                tally(task.task_id.clone(), task.name.clone(), &of)
            })
            .collect();
        let mut provinces: BTreeMap<Province, Vec<&Bid>> = BTreeMap::new();
        for b in &bids {
            provinces.entry(b.province()).or_default().push(b);
        }
        let provinces = provinces
            .into_iter()
            .map(|(p, of)| tally(p.code().to_string(), p.name_zh().to_string(), &of))
            .collect();
        (tasks, provinces)
    }

    /// The bids unit `uscc` leads or is a member of, of those `visible` lets through.
    pub fn participation(&self, uscc: &str, visible: impl Fn(&Bid) -> bool) -> Vec<Participation> {
        self.bids
            .values()
            .filter(|b| visible(b))
            .filter_map(|b| {
                let role = if b.lead.uscc.eq_ignore_ascii_case(uscc) {
                    "lead"
                } else if b.members.iter().any(|m| m.uscc.eq_ignore_ascii_case(uscc)) {
                    "member"
                } else {
                    return None;
                };
                Some(Participation {
                    bid_id: b.bid_id.clone(),
                    task_id: b.task_id.clone(),
                    role: role.into(),
                    status: b.status,
                })
            })
            .collect()
    }
}

/// A call as one reader may see it (`GET /api/v1/calls/{call_id}`): the call and its tasks, the
/// bids the reader may read (RULES.md §10), and the lists: published ones whole (they are
/// public), the current shortlists and successes only as far as the reader may read the bids.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CallView {
    /// The call as opened.
    pub call: OpenCall,
    /// The bids the reader may read, by id.
    pub bids: Vec<Bid>,
    /// Per task, the shortlisted bids (of those the reader may read), in order.
    pub shortlists: BTreeMap<String, Vec<String>>,
    /// Per task, the successful bids (of those the reader may read), in order.
    pub successes: BTreeMap<String, Vec<String>>,
    /// Per task and list, the bids of the list as last published.
    pub published: BTreeMap<String, BTreeMap<ListKind, Vec<String>>>,
    /// The units of every published bid (public once published, C-6): bid id → the lead's
    /// name, then its members' names.
    pub published_units: BTreeMap<String, Vec<String>>,
    /// Per task, the figures of the bids the reader may read.
    pub by_task: Vec<Tally>,
    /// Per province of the lead, the same.
    pub by_province: Vec<Tally>,
    /// For a unit (an applicant token), its part in the call: the bids it leads or is a member
    /// of, across tasks.
    pub mine: Vec<Participation>,
}

/// A unit of a published bid as the public reads it: its name and kind, nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PublicUnit {
    /// The unit's name.
    pub name: String,
    /// What kind of unit it is.
    pub kind: UnitKind,
}

/// One bid of a published list: the lead, its members, the lead's province.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PublishedEntry {
    /// 序号 in the list, from 1.
    pub serial: usize,
    /// The bid's id.
    pub bid_id: String,
    /// The lead unit (牵头单位).
    pub lead: PublicUnit,
    /// The members (联合申请单位), in the bid's order.
    pub members: Vec<PublicUnit>,
    /// The lead's province (the one that recommended the bid).
    #[schema(value_type = String)]
    pub province: Province,
}

/// A list as published (C-6): a task's shortlist or success list.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PublishedList {
    /// The task.
    pub task_id: String,
    /// Its name.
    pub task_name: String,
    /// Its category.
    pub category: Category,
    /// Which list.
    pub list: ListKind,
    /// The bids of the list, in the published order.
    pub entries: Vec<PublishedEntry>,
}

/// A call as anyone reads it without signing in (RULES.md §13): the call, its tasks and the
/// lists as last published. Bids, declarations, evaluations and milestones are not public.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PublicCall {
    /// The call's id.
    pub call_id: String,
    /// Its title.
    pub name: String,
    /// The first day bids were accepted.
    pub opens_on: NaiveDate,
    /// The applicants' deadline.
    pub applicant_deadline: NaiveDate,
    /// The provinces' deadline.
    pub province_deadline: NaiveDate,
    /// The tasks of the call.
    pub tasks: Vec<Task>,
    /// The published lists, task by task (shortlist before success list).
    pub lists: Vec<PublishedList>,
}

impl Call {
    /// What anyone may read of the call: the lists as last published; `None` before it is
    /// opened.
    pub fn public_view(&self) -> Option<PublicCall> {
        let call = self.config.clone()?;
        let public = |u: &Unit| PublicUnit {
            name: u.name.clone(),
            kind: u.kind,
        };
        let mut lists = Vec::new();
        for t in &call.tasks {
            for (list, ids) in self.published.get(&t.task_id).into_iter().flatten() {
                let entries = ids
                    .iter()
                    .filter_map(|id| self.bids.get(id))
                    .enumerate()
                    .map(|(n, b)| PublishedEntry {
                        serial: n + 1,
                        bid_id: b.bid_id.clone(),
                        lead: public(&b.lead),
                        members: b.members.iter().map(public).collect(),
                        province: b.province(),
                    })
                    .collect();
                lists.push(PublishedList {
                    task_id: t.task_id.clone(),
                    task_name: t.name.clone(),
                    category: t.category,
                    list: *list,
                    entries,
                });
            }
        }
        Some(PublicCall {
            call_id: call.call_id,
            name: call.name,
            opens_on: call.opens_on,
            applicant_deadline: call.applicant_deadline,
            province_deadline: call.province_deadline,
            tasks: call.tasks,
            lists,
        })
    }
}

impl Call {
    /// What `actor` may see of the call, with milestones overdue as of `today`; `None` before
    /// it is opened.
    pub fn view_for(&self, actor: &Actor, today: NaiveDate) -> Option<CallView> {
        let call = self.config.clone()?;
        let (by_task, by_province) = self.tallies(today, |b| b.readable_by(actor));
        let readable = |id: &String| self.bids.get(id).is_some_and(|b| b.readable_by(actor));
        let visible = |lists: &BTreeMap<String, Vec<String>>| {
            lists
                .iter()
                .map(|(t, ids)| {
                    (
                        t.clone(),
                        ids.iter()
                            .filter(|i| readable(i))
                            .cloned()
                            .collect::<Vec<_>>(),
                    )
                })
                .filter(|(_, ids)| !ids.is_empty())
                .collect()
        };
        Some(CallView {
            call,
            bids: self
                .bids
                .values()
                .filter(|b| b.readable_by(actor))
                .cloned()
                .collect(),
            shortlists: visible(&self.shortlists),
            successes: visible(&self.successes),
            published: self.published.clone(),
            published_units: self
                .published
                .values()
                .flat_map(|lists| lists.values().flatten())
                .filter_map(|id| self.bids.get(id))
                .map(|b| {
                    (
                        b.bid_id.clone(),
                        b.units().map(|u| u.name.clone()).collect(),
                    )
                })
                .collect(),
            by_task,
            by_province,
            mine: match (actor.role, actor.jurisdiction.as_deref()) {
                (Role::Applicant, Some(uscc)) => self.participation(uscc, |_| true),
                _ => vec![],
            },
        })
    }

    fn set(&mut self, bid_id: &str, status: BidStatus) {
        if let Some(b) = self.bids.get_mut(bid_id) {
            b.status = status;
        }
    }

    fn milestone_mut(&mut self, bid_id: &str, milestone_id: &str) -> Option<&mut MilestoneState> {
        self.bids
            .get_mut(bid_id)?
            .milestones
            .iter_mut()
            .find(|m| m.milestone.milestone_id == milestone_id)
    }
}

/// No such bid, or none the actor may see (the same answer, RULES.md §10).
fn no_bid(bid_id: &str) -> Refusal {
    Refusal::not_found(format!("no bid {bid_id} in this call"))
        .at("bid_id")
        .zh(format!("本次揭榜中没有申请 {bid_id}"))
}

/// A refusal of `code` with its particulars in English and Chinese.
fn refuse(code: impl Into<crate::error::Code>, en: String, zh: String) -> Refusal {
    Refusal::new(code, en).zh(zh)
}

/// A state refusal naming where the bid stands.
fn wrong_state(bid: &Bid, act: &str, act_zh: &str) -> Refusal {
    refuse(
        code::STATE_CONFLICT,
        format!(
            "{act} is not possible: bid {} is {:?}",
            bid.bid_id, bid.status
        ),
        format!(
            "申请 {} 当前为“{}”，不能{act_zh}",
            bid.bid_id,
            bid.status.name_zh()
        ),
    )
}
