//! The application form (申请表, attachment 3 of the 2025 Guideline) as submitted.
//!
//! Answers that a rule needs are optional: an application may be submitted incomplete, and the
//! eligibility assessment then reports `missing_evidence` for the rules it cannot judge.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::values::{ApplicantKind, CityCode, Cny, Domain, Domains, Province, Quantity, Uscc};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationForm {
    pub applicant: Applicant,
    pub platform: PlatformInfo,
    /// 申报类别, one or more (G-12).
    #[serde(default)]
    #[schema(value_type = Vec<Domain>)]
    pub domains: Domains,
    /// 是否违反安全、环保等法律法规而受到处罚 (G-3).
    #[serde(default)]
    pub compliance: Compliance,
    /// 仪器设备原值, in yuan.
    #[serde(default)]
    pub equipment_value_cny: Option<Cny>,
    #[serde(default)]
    pub staffing: Option<Staffing>,
    /// 近三年服务情况 (G-9).
    #[serde(default)]
    pub track_record: Option<TrackRecord>,
    #[serde(default)]
    pub equipment: Equipment,
    #[serde(default)]
    pub site: Option<Site>,
    /// 公用工程 (G-6).
    #[serde(default)]
    pub utilities: Option<Vec<Utility>>,
    #[serde(default)]
    pub team: Option<Team>,
    #[serde(default)]
    pub ip_protection: Option<IpProtection>,
    /// Biopharma platforms: complies with drug GMP (G-10).
    #[serde(default)]
    pub gmp_compliant: Option<bool>,
    /// 市场服务: firms served and contract total over the last three years.
    #[serde(default)]
    pub market_services: Option<MarketServices>,
    /// 发展目标 (2-3 years), free text.
    #[serde(default)]
    pub goals: Option<String>,
    /// 佐证材料: supporting documents, by title and reference.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Applicant {
    pub name: String,
    pub uscc: Uscc,
    pub kind: ApplicantKind,
    pub legal_representative: String,
    pub province: Province,
    pub city: CityCode,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub contact: Option<Contact>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformInfo {
    pub name: String,
    pub leader: String,
    #[serde(default)]
    pub main_business: Option<String>,
    /// 中试平台是否已建成 (G-2).
    #[serde(default)]
    pub built: Option<bool>,
    /// 平台运行时间 (years).
    #[serde(default)]
    pub years_in_operation: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Compliance {
    /// Penalised for safety or environmental violations in recent years.
    #[serde(default)]
    pub penalised: Option<bool>,
    #[serde(default)]
    pub penalty_details: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Staffing {
    pub management: u32,
    /// 正高级工程师
    pub professor_engineers: u32,
    /// 高级工程师
    pub senior_engineers: u32,
    /// 工程师
    pub engineers: u32,
    /// 检测人员
    pub testing_staff: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackRecord {
    /// 已开展中试项目 (G-9: at least 5).
    pub pilot_projects: u32,
    /// 成功实现成果产业化生产 (G-9: at least 2, with revenue).
    pub industrialized_projects: u32,
    pub industrialized_revenue_cny: Cny,
    /// 创办或孵化企业 (G-9: at least 3).
    pub spun_off_enterprises: u32,
    /// 企业估值总计 (G-9: at least 20,000,000 CNY).
    pub spun_off_valuation_cny: Cny,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Equipment {
    /// 发酵或酶催化相关设备 (G-8).
    #[serde(default)]
    pub vessels: Vec<Vessel>,
    #[serde(default)]
    pub purification: Vec<Instrument>,
    #[serde(default)]
    pub testing: Vec<Instrument>,
    #[serde(default)]
    pub other: Vec<Instrument>,
    #[serde(default)]
    pub software: Vec<Software>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VesselKind {
    Fermentation,
    EnzymeCatalysis,
    /// 平行生物反应器 (soft finding).
    ParallelBioreactor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Vessel {
    pub kind: VesselKind,
    pub name: String,
    #[serde(default)]
    pub brand: Option<String>,
    /// Single-tank working volume in litres.
    pub volume_l: Quantity,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Instrument {
    pub name: String,
    #[serde(default)]
    pub brand: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub count: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SoftwareKind {
    /// 过程分析技术 (PAT)
    ProcessAnalytics,
    /// 数字孪生 / 过程仿真
    DigitalTwin,
    ProcessControl,
    DataManagement,
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Software {
    pub name: String,
    pub kind: SoftwareKind,
    #[serde(default)]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// 用房面积, m² (G-4: at least 1500).
    #[serde(default)]
    pub area_m2: Option<Quantity>,
    #[serde(default)]
    pub strain_room: Option<bool>,
    #[serde(default)]
    pub clean_area: Option<bool>,
    #[serde(default)]
    pub explosion_proof_area: Option<bool>,
    #[serde(default)]
    pub storage_area: Option<bool>,
    /// 安全评价
    #[serde(default)]
    pub safety_assessment_passed: Option<bool>,
    /// 环境影响评价
    #[serde(default)]
    pub environmental_assessment_passed: Option<bool>,
    /// 卫生评估
    #[serde(default)]
    pub health_assessment_passed: Option<bool>,
    /// 防爆、消防等安全防护设备
    #[serde(default)]
    pub safety_equipment: Option<bool>,
}

/// 公用工程: the nine utilities of G-6.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Utility {
    CleanInPlace,
    Ventilation,
    AirPurification,
    PurifiedWater,
    Steam,
    ChilledWater,
    OffGasTreatment,
    WastewaterTreatment,
    PowerSupply,
}

impl Utility {
    pub const ALL: [Utility; 9] = [
        Utility::CleanInPlace,
        Utility::Ventilation,
        Utility::AirPurification,
        Utility::PurifiedWater,
        Utility::Steam,
        Utility::ChilledWater,
        Utility::OffGasTreatment,
        Utility::WastewaterTreatment,
        Utility::PowerSupply,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Utility::CleanInPlace => "clean_in_place",
            Utility::Ventilation => "ventilation",
            Utility::AirPurification => "air_purification",
            Utility::PurifiedWater => "purified_water",
            Utility::Steam => "steam",
            Utility::ChilledWater => "chilled_water",
            Utility::OffGasTreatment => "off_gas_treatment",
            Utility::WastewaterTreatment => "wastewater_treatment",
            Utility::PowerSupply => "power_supply",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Team {
    /// 从事中试服务的固定技术团队人员 (G-7: at least 15).
    pub fixed_technical_staff: u32,
    /// 硕士以上学历或中级以上职称的科技人员 (G-7: at least 60 % of the team).
    pub qualified_staff: u32,
    #[serde(default)]
    pub certificates: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IpProtection {
    /// 设立知识产权保护部门
    pub ip_department: bool,
    /// 由主要负责人担任主任
    pub headed_by_principal: bool,
    /// 菌种库，双人双锁
    pub strain_bank_dual_lock: bool,
    /// 独立门禁系统，人员分级授权
    pub access_control_graded: bool,
    /// 视频资料保存天数 (G-11: at least 3 months = 90 days).
    pub cctv_retention_days: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketServices {
    pub enterprises_served: u32,
    pub contract_total_cny: Cny,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The rule the document supports, e.g. `G-4`.
    #[serde(default)]
    pub rule: Option<String>,
    pub title: String,
    pub reference: String,
}

impl ApplicationForm {
    pub fn has_domain(&self, d: Domain) -> bool {
        self.domains.contains(&d)
    }
}
