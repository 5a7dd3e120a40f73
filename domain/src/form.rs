//! The application form (申请表, attachment 3 of the 2025 Guideline) as submitted.
//!
//! Answers that a rule needs are optional: an application may be submitted incomplete, and the
//! eligibility assessment then reports `missing_evidence` for the rules it cannot judge.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::values::{ApplicantKind, CityCode, Cny, Domain, Domains, Province, Quantity, Uscc};

/// The application form (申请表) of the 2025 Guideline as submitted or amended; the
/// eligibility rules G-1..G-12 are assessed on it (RULES.md §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationForm {
    /// The applying unit (申报单位).
    pub applicant: Applicant,
    /// The pilot platform applied for (中试能力建设平台).
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
    /// Staff by category (人员配置), if given.
    #[serde(default)]
    pub staffing: Option<Staffing>,
    /// 近三年服务情况 (G-9).
    #[serde(default)]
    pub track_record: Option<TrackRecord>,
    /// The equipment lists (中试装备仪器); the vessels are checked by G-8.
    #[serde(default)]
    pub equipment: Equipment,
    /// Site and qualifications (场所配备及资质, G-4, G-5); absent, both rules report missing
    /// evidence.
    #[serde(default)]
    pub site: Option<Site>,
    /// 公用工程 (G-6).
    #[serde(default)]
    pub utilities: Option<Vec<Utility>>,
    /// The pilot technical team (人才团队, G-7); absent, G-7 reports missing evidence.
    #[serde(default)]
    pub team: Option<Team>,
    /// IP protection (知识产权保护, G-11); absent, G-11 reports missing evidence.
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

/// The applying unit (申报单位): a PRC-registered independent legal entity (G-1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Applicant {
    /// Full name of the unit (申报单位名称).
    pub name: String,
    /// The unit's unified social credit code (统一社会信用代码, G-1).
    pub uscc: Uscc,
    /// University, research institute, state-owned or private enterprise (申报单位属性).
    pub kind: ApplicantKind,
    /// Name of the legal representative (法定代表人).
    pub legal_representative: String,
    /// The province that recommends the unit (GB/T 2260 two-digit prefix, or `XPCC`): the
    /// registering province of its USCC, unless the USCC is centrally registered.
    pub province: Province,
    /// The unit's city (6-digit GB/T 2260 code), within `province`; its department endorses the
    /// application where the round requires it.
    pub city: CityCode,
    /// Postal address (通讯地址), if given.
    #[serde(default)]
    pub address: Option<String>,
    /// The contact person, if given.
    #[serde(default)]
    pub contact: Option<Contact>,
}

/// A contact person of the applicant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// The contact person's name.
    pub name: String,
    /// Phone number (联系电话), if given.
    #[serde(default)]
    pub phone: Option<String>,
    /// E-mail, if given.
    #[serde(default)]
    pub email: Option<String>,
}

/// The pilot platform (中试能力建设平台) as the form describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformInfo {
    /// Name of the platform (中试能力建设平台名称).
    pub name: String,
    /// Name of the platform leader (平台负责人).
    pub leader: String,
    /// Main business scope of the platform (平台主营业务范围), if given.
    #[serde(default)]
    pub main_business: Option<String>,
    /// 中试平台是否已建成 (G-2).
    #[serde(default)]
    pub built: Option<bool>,
    /// 平台运行时间 (years).
    #[serde(default)]
    pub years_in_operation: Option<u32>,
}

/// The penalty question of the form (是否违反安全、环保等法律法规而受到处罚, G-3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Compliance {
    /// Penalised for safety or environmental violations in recent years.
    #[serde(default)]
    pub penalised: Option<bool>,
    /// What penalty (受到何种处罚), if one was declared.
    #[serde(default)]
    pub penalty_details: Option<String>,
}

/// Staff numbers by category (人员配置).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Staffing {
    /// Management staff (管理人员), number of people.
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

/// The record of the last three years (近三年服务情况, G-9).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackRecord {
    /// 已开展中试项目 (G-9: at least 5).
    pub pilot_projects: u32,
    /// 成功实现成果产业化生产 (G-9: at least 2, with revenue).
    pub industrialized_projects: u32,
    /// Revenue of the industrialized results, in yuan (实现营业收入; G-9: more than zero).
    pub industrialized_revenue_cny: Cny,
    /// 创办或孵化企业 (G-9: at least 3).
    pub spun_off_enterprises: u32,
    /// 企业估值总计 (G-9: at least 20,000,000 CNY).
    pub spun_off_valuation_cny: Cny,
}

/// The equipment lists of the form (中试装备仪器).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Equipment {
    /// 发酵或酶催化相关设备 (G-8).
    #[serde(default)]
    pub vessels: Vec<Vessel>,
    /// Purification and concentration equipment (纯化浓缩设备).
    #[serde(default)]
    pub purification: Vec<Instrument>,
    /// Testing equipment (检验设备).
    #[serde(default)]
    pub testing: Vec<Instrument>,
    /// Other equipment (其他设备).
    #[serde(default)]
    pub other: Vec<Instrument>,
    /// Digital software systems (数字化软件系统).
    #[serde(default)]
    pub software: Vec<Software>,
}

/// Kind of a vessel in the fermentation or enzyme-catalysis equipment list (发酵或酶催化相关设备).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VesselKind {
    /// Fermentation vessel (发酵罐); counts for G-8.
    Fermentation,
    /// Enzyme-catalysis vessel (酶催化); counts for G-8.
    EnzymeCatalysis,
    /// 平行生物反应器 (soft finding).
    ParallelBioreactor,
}

impl VesselKind {
    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            VesselKind::Fermentation => "发酵罐",
            VesselKind::EnzymeCatalysis => "酶催化反应器",
            VesselKind::ParallelBioreactor => "平行生物反应器",
        }
    }
}

/// A line of the fermentation or enzyme-catalysis equipment list (发酵或酶催化相关设备): vessels
/// of one kind and size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Vessel {
    /// Kind of vessel (类别).
    pub kind: VesselKind,
    /// Name of the vessel, e.g. 5000L发酵罐.
    pub name: String,
    /// Brand (品牌), if given.
    #[serde(default)]
    pub brand: Option<String>,
    /// Single-tank working volume in litres.
    pub volume_l: Quantity,
    /// How many such vessels (数量); a line with 0 counts for nothing (G-8).
    pub count: u32,
}

/// An instrument line of the form: name, brand, model (仪器名称, 品牌, 型号).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Instrument {
    /// Name of the instrument (仪器名称); searched for the Guideline's domain-specific
    /// equipment (a soft finding).
    pub name: String,
    /// Brand (品牌), if given.
    #[serde(default)]
    pub brand: Option<String>,
    /// Model (型号), if given.
    #[serde(default)]
    pub model: Option<String>,
    /// Number of units, if given.
    #[serde(default)]
    pub count: Option<u32>,
}

/// What a software system does; process analytics or a digital twin is a soft finding
/// (RULES.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SoftwareKind {
    /// 过程分析技术 (PAT)
    ProcessAnalytics,
    /// 数字孪生 / 过程仿真
    DigitalTwin,
    /// Process control, e.g. multi-parameter bioreactor control (生物反应器多参数控制系统).
    ProcessControl,
    /// Process data management (过程数据管理系统).
    DataManagement,
    /// Any other software.
    Other,
}

/// A software line of the form: name, kind, version (软件名称, 版本).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Software {
    /// Name of the software (软件名称).
    pub name: String,
    /// What the software does.
    pub kind: SoftwareKind,
    /// Version (版本), if given.
    #[serde(default)]
    pub version: Option<String>,
}

/// Site and qualifications (场所配备及资质, G-4, G-5). Where a rule needs an answer that is left
/// out, it reports missing evidence; a `false` fails G-5.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// 用房面积, m² (G-4: at least 1500).
    #[serde(default)]
    pub area_m2: Option<Quantity>,
    /// Strain room (菌种室), G-5.
    #[serde(default)]
    pub strain_room: Option<bool>,
    /// Clean area (洁净区), G-5.
    #[serde(default)]
    pub clean_area: Option<bool>,
    /// Explosion-proof area (防爆区), G-5.
    #[serde(default)]
    pub explosion_proof_area: Option<bool>,
    /// Storage area (储存区), G-5.
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
    /// Clean-in-place system (原位清洗系统, CIP).
    CleanInPlace,
    /// Ventilation system (通风系统).
    Ventilation,
    /// Air purification system (空气净化系统).
    AirPurification,
    /// Purified water system (纯净水系统).
    PurifiedWater,
    /// Steam system (蒸汽系统).
    Steam,
    /// Chilled water system (制冷水系统).
    ChilledWater,
    /// Off-gas treatment system (尾气处理系统).
    OffGasTreatment,
    /// Wastewater treatment system (污水处理系统).
    WastewaterTreatment,
    /// Power supply system (供电系统).
    PowerSupply,
}

impl Utility {
    /// The Chinese name (e.g. 纯化水).
    pub fn name_zh(self) -> &'static str {
        match self {
            Utility::CleanInPlace => "在线清洗（CIP）",
            Utility::Ventilation => "通风",
            Utility::AirPurification => "空气净化",
            Utility::PurifiedWater => "纯化水",
            Utility::Steam => "蒸汽",
            Utility::ChilledWater => "冷冻水",
            Utility::OffGasTreatment => "尾气处理",
            Utility::WastewaterTreatment => "污水处理",
            Utility::PowerSupply => "供电",
        }
    }

    /// The nine utilities, in the Guideline's order; G-6 requires every one.
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

    /// Its code, as serialised (e.g. `clean_in_place`).
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

/// The pilot technical team (人才团队, G-7).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Team {
    /// 从事中试服务的固定技术团队人员 (G-7: at least 15).
    pub fixed_technical_staff: u32,
    /// 硕士以上学历或中级以上职称的科技人员 (G-7: at least 60 % of the team).
    pub qualified_staff: u32,
    /// Staff hold the health certificates and special-equipment operating qualifications their
    /// posts need (配备健康证及特种设备操作等相关资质), if answered.
    #[serde(default)]
    pub certificates: Option<bool>,
}

/// IP protection (知识产权保护, G-11): every measure must be in place.
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

/// Market services of the last three years (市场服务).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketServices {
    /// Number of firms served (近三年平台相关服务企业).
    pub enterprises_served: u32,
    /// Total of the contracts, in yuan (合同总金额).
    pub contract_total_cny: Cny,
}

/// A supporting document (佐证材料).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The rule the document supports, e.g. `G-4`.
    #[serde(default)]
    pub rule: Option<String>,
    /// The document's title.
    pub title: String,
    /// Where the document is found (free text); for an uploaded file, its file name.
    pub reference: String,
    /// The uploaded file (佐证材料), by the SHA-256 of its bytes as the attachment store keeps
    /// them; `None` for a document referenced only by title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: Option<String>,
    /// The uploaded file's media type (`application/pdf`, `image/png`, `image/jpeg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The uploaded file's size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

impl ApplicationForm {
    /// Whether `d` is among the declared domains (申报类别).
    pub fn has_domain(&self, d: Domain) -> bool {
        self.domains.contains(&d)
    }
}
