//! Eligibility rules G-1..G-12 of the 2025 Guideline (培育指南（2025版）), evaluated on
//! submission and on every amendment. A failed hard rule does not block submission (the province
//! decides), but it blocks recommendation unless the province records an override (RULES.md §5).

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::form::{ApplicationForm, SoftwareKind, Utility, VesselKind};
use crate::values::{Cny, Domain};

/// G-4: 用房面积不少于1500平方米.
pub const MIN_SITE_AREA_M2: f64 = 1500.0;
/// G-7: 固定技术团队人员不少于15人.
pub const MIN_TEAM: u32 = 15;
/// G-7: 硕士以上学历或中级以上职称的科技人员不低于60%.
pub const MIN_QUALIFIED_PERCENT: u32 = 60;
/// G-8: 单罐体积1000L以上.
pub const MIN_VESSEL_LITRES: f64 = 1000.0;
/// G-9: 至少已开展中试项目5项.
pub const MIN_PILOT_PROJECTS: u32 = 5;
/// G-9: 至少成功实现2项成果产业化生产.
pub const MIN_INDUSTRIALIZED: u32 = 2;
/// G-9: 衍生孵化3家以上企业.
pub const MIN_SPUN_OFF: u32 = 3;
/// G-9: 估值总计达2000万元以上.
pub const MIN_SPUN_OFF_VALUATION: Cny = Cny::wan(2000);
/// G-11: 视频资料应保存3个月以上, counted as 90 days.
pub const MIN_CCTV_DAYS: u32 = 90;
/// G-3: "in recent years" (近年来) is read as the 3 years before the submission date.
pub const G3_LOOKBACK_YEARS: u32 = 3;

/// The outcome of one eligibility rule for an application (RULES.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The rule is met.
    Pass,
    /// The rule is not met: a province can recommend the application only with an override reason.
    Fail,
    /// The form lacks the answer the rule needs.
    MissingEvidence,
    /// The rule does not apply (G-10 outside biopharma).
    NotApplicable,
}

/// The outcome of one hard rule (G-1..G-12) for an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RuleResult {
    /// The rule id, e.g. `G-8`.
    pub rule: String,
    /// Pass, fail, missing evidence or not applicable.
    pub outcome: Outcome,
    /// What the rule found, in words (e.g. `largest vessel 5000 L ≥ 1000 L`).
    pub detail: String,
    /// The same in Chinese (e.g. `最大罐体 5000 升 ≥ 1000 升`); empty in assessments recorded
    /// before it existed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail_zh: String,
}

impl RuleResult {
    /// The result with its Chinese detail.
    fn zh(mut self, detail_zh: impl Into<String>) -> RuleResult {
        self.detail_zh = detail_zh.into();
        self
    }
}

/// A soft finding (RULES.md §5): equipment or software the Guideline encourages; shown, never
/// blocking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SoftFinding {
    /// What was looked for: `parallel_bioreactors`, `process_analytics_or_digital_twin`, or
    /// `domain_equipment:<domain>` for each declared domain.
    pub code: String,
    /// Whether the form declares it.
    pub present: bool,
    /// The Guideline's wording; for domain equipment, the items found, or the items looked for when
    /// none was found.
    pub detail: String,
}

/// The eligibility assessment of an application (`EligibilityAssessed`), made on submission and on
/// every amendment (RULES.md §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EligibilityAssessment {
    /// The business date of the submission or amendment; G-3's three years count back from it.
    pub assessed_on: NaiveDate,
    /// Every hard rule G-1..G-12 with its outcome, in rule order.
    pub rules: Vec<RuleResult>,
    /// Shown, never blocking.
    pub soft_findings: Vec<SoftFinding>,
    /// Warnings that are not rule outcomes (e.g. the organisation-code check of the USCC).
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl EligibilityAssessment {
    /// The ids of the failed hard rules, in rule order: a recommendation needs an override reason
    /// while there is any.
    pub fn hard_failures(&self) -> Vec<String> {
        self.rules
            .iter()
            .filter(|r| r.outcome == Outcome::Fail)
            .map(|r| r.rule.clone())
            .collect()
    }

    /// The outcome of rule `rule` (e.g. `G-3`); `None` when the assessment does not list it.
    pub fn outcome(&self, rule: &str) -> Option<Outcome> {
        self.rules
            .iter()
            .find(|r| r.rule == rule)
            .map(|r| r.outcome)
    }
}

/// What G-3 needs to know of the platform's own incident history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastIncident {
    /// The incident's id on the platform's stream.
    pub incident_id: String,
    /// The day the incident occurred.
    pub occurred_on: NaiveDate,
    /// Classified 较大 or above, or a major safety/environmental accident.
    pub serious: bool,
}

fn result(rule: &str, outcome: Outcome, detail: impl Into<String>) -> RuleResult {
    RuleResult {
        rule: rule.to_string(),
        outcome,
        detail: detail.into(),
        detail_zh: String::new(),
    }
}

fn all_true(items: &[(&str, &str, Option<bool>)]) -> (Outcome, String, String) {
    let missing: Vec<(&str, &str)> = items
        .iter()
        .filter(|(_, _, v)| v.is_none())
        .map(|(n, z, _)| (*n, *z))
        .collect();
    let failing: Vec<(&str, &str)> = items
        .iter()
        .filter(|(_, _, v)| *v == Some(false))
        .map(|(n, z, _)| (*n, *z))
        .collect();
    let en = |l: &[(&str, &str)]| l.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
    let zh = |l: &[(&str, &str)]| l.iter().map(|(_, z)| *z).collect::<Vec<_>>().join("、");
    if !failing.is_empty() {
        (
            Outcome::Fail,
            format!("lacking: {}", en(&failing)),
            format!("缺少：{}", zh(&failing)),
        )
    } else if !missing.is_empty() {
        (
            Outcome::MissingEvidence,
            format!("not answered: {}", en(&missing)),
            format!("未填写：{}", zh(&missing)),
        )
    } else {
        (Outcome::Pass, "all present".into(), "均已具备".into())
    }
}

/// What a rule looks at: the form, the day it is assessed on, the platform's past incidents.
struct Subject<'a> {
    form: &'a ApplicationForm,
    on: NaiveDate,
    incidents: &'a [PastIncident],
}

/// Every eligibility rule of the Guideline (RULES.md §5), in order: one function each, which may
/// add warnings beside its outcome.
type Rule = fn(&Subject<'_>, &mut Vec<String>) -> RuleResult;
const RULES: [(&str, Rule); 12] = [
    ("G-1", g1),
    ("G-2", g2),
    ("G-3", g3),
    ("G-4", g4),
    ("G-5", g5),
    ("G-6", g6),
    ("G-7", g7),
    ("G-8", g8),
    ("G-9", g9),
    ("G-10", g10),
    ("G-11", g11),
    ("G-12", g12),
];

/// Assesses a form as of `on` (the submission or amendment date).
pub fn assess(
    form: &ApplicationForm,
    on: NaiveDate,
    incidents: &[PastIncident],
) -> EligibilityAssessment {
    let subject = Subject {
        form,
        on,
        incidents,
    };
    let mut warnings = Vec::new();
    let rules = RULES
        .iter()
        .map(|(_, rule)| rule(&subject, &mut warnings))
        .collect();
    EligibilityAssessment {
        assessed_on: on,
        rules,
        soft_findings: soft_findings(form),
        warnings,
    }
}

/// G-1: PRC-registered independent legal entity. The USCC's check character was verified on
/// input; an individual business (个体工商户, 92…) has no legal personality.
fn g1(cx: &Subject<'_>, warnings: &mut Vec<String>) -> RuleResult {
    let form = cx.form;
    let uscc = &form.applicant.uscc;
    if let Some(w) = uscc.organisation_code_warning() {
        warnings.push(w);
    }
    if uscc.is_individual_business() {
        result("G-1", Outcome::Fail, format!("{uscc} is registered as an individual business (个体工商户), not an independent legal entity"))
            .zh(format!("{uscc} 为个体工商户，不是独立法人"))
    } else {
        result("G-1", Outcome::Pass, format!("USCC {uscc} valid"))
            .zh(format!("统一社会信用代码 {uscc} 有效"))
    }
}

/// G-2: built and in normal operation.
fn g2(cx: &Subject<'_>, _warnings: &mut Vec<String>) -> RuleResult {
    let form = cx.form;
    match form.platform.built {
        Some(true) => {
            result("G-2", Outcome::Pass, "platform built and operating").zh("已建成并正常运营")
        }
        Some(false) => result(
            "G-2",
            Outcome::Fail,
            "platform not yet built (已建成且正常运营 required)",
        )
        .zh("尚未建成（须已建成且正常运营）"),
        None => result(
            "G-2",
            Outcome::MissingEvidence,
            "form does not say whether the platform is built",
        )
        .zh("未填写是否已建成"),
    }
}

/// G-3: no major safety/environmental accident or penalty in recent years; the platform's
/// own serious incidents of the last 3 years count.
fn g3(cx: &Subject<'_>, _warnings: &mut Vec<String>) -> RuleResult {
    let form = cx.form;
    let on = cx.on;
    let incidents = cx.incidents;
    let since = on
        .checked_sub_months(Months::new(12 * G3_LOOKBACK_YEARS))
        .unwrap_or(on);
    let recent: Vec<&PastIncident> = incidents
        .iter()
        .filter(|i| i.serious && i.occurred_on > since && i.occurred_on <= on)
        .collect();
    if !recent.is_empty() {
        let ids: Vec<&str> = recent.iter().map(|i| i.incident_id.as_str()).collect();
        result(
            "G-3",
            Outcome::Fail,
            format!(
                "serious incident(s) recorded since {since}: {}",
                ids.join(", ")
            ),
        )
        .zh(format!(
            "{since} 以来记录有较大及以上事故：{}",
            ids.join("、")
        ))
    } else {
        match form.compliance.penalised {
            Some(true) => result(
                "G-3",
                Outcome::Fail,
                format!(
                    "penalised for safety/environmental violations: {}",
                    form.compliance
                        .penalty_details
                        .as_deref()
                        .unwrap_or("(no details)")
                ),
            )
            .zh(format!(
                "因违反安全、环保等法律法规受到处罚：{}",
                form.compliance
                    .penalty_details
                    .as_deref()
                    .unwrap_or("（未说明）")
            )),
            Some(false) => result(
                "G-3",
                Outcome::Pass,
                "no penalty declared, no serious incident recorded in 3 years",
            )
            .zh("未申报处罚，近三年无较大及以上事故记录"),
            None => result(
                "G-3",
                Outcome::MissingEvidence,
                "form does not answer the penalty question",
            )
            .zh("未回答是否受到处罚"),
        }
    }
}

/// G-4: independent pilot site of at least 1500 m².
fn g4(cx: &Subject<'_>, _warnings: &mut Vec<String>) -> RuleResult {
    let form = cx.form;
    match form.site.as_ref().and_then(|s| s.area_m2) {
        Some(a) if a.0 >= MIN_SITE_AREA_M2 => {
            result("G-4", Outcome::Pass, format!("{} m² ≥ 1500 m²", a.0))
                .zh(format!("用房面积 {} 平方米 ≥ 1500 平方米", a.0))
        }
        Some(a) => result(
            "G-4",
            Outcome::Fail,
            format!("{} m² < 1500 m² (用房面积不少于1500平方米)", a.0),
        )
        .zh(format!("用房面积 {} 平方米 < 1500 平方米", a.0)),
        None => result("G-4", Outcome::MissingEvidence, "site area not given").zh("未填写用房面积"),
    }
}

/// G-5: site conditions and assessments.
fn g5(cx: &Subject<'_>, _warnings: &mut Vec<String>) -> RuleResult {
    let form = cx.form;
    match &form.site {
        None => result("G-5", Outcome::MissingEvidence, "site conditions not given")
            .zh("未填写场所配备及资质"),
        Some(s) => {
            let (o, d, z) = all_true(&[
                ("strain_room", "菌种室", s.strain_room),
                ("clean_area", "洁净区", s.clean_area),
                ("explosion_proof_area", "防爆区", s.explosion_proof_area),
                ("storage_area", "仓储区", s.storage_area),
                (
                    "safety_assessment_passed",
                    "安全评价",
                    s.safety_assessment_passed,
                ),
                (
                    "environmental_assessment_passed",
                    "环境影响评价",
                    s.environmental_assessment_passed,
                ),
                (
                    "health_assessment_passed",
                    "职业卫生评价",
                    s.health_assessment_passed,
                ),
            ]);
            result("G-5", o, d).zh(z)
        }
    }
}

/// G-6: all nine utilities.
fn g6(cx: &Subject<'_>, _warnings: &mut Vec<String>) -> RuleResult {
    let form = cx.form;
    match &form.utilities {
        None => result("G-6", Outcome::MissingEvidence, "utilities not given").zh("未填写公用工程"),
        Some(have) => {
            let missing: Vec<&str> = Utility::ALL
                .iter()
                .filter(|u| !have.contains(u))
                .map(|u| u.code())
                .collect();
            if missing.is_empty() {
                result("G-6", Outcome::Pass, "all nine utilities present").zh("九项公用工程齐全")
            } else {
                result(
                    "G-6",
                    Outcome::Fail,
                    format!("missing utilities: {}", missing.join(", ")),
                )
                .zh(format!(
                    "缺少公用工程：{}",
                    Utility::ALL
                        .iter()
                        .filter(|u| !have.contains(u))
                        .map(|u| u.name_zh())
                        .collect::<Vec<_>>()
                        .join("、")
                ))
            }
        }
    }
}

/// G-7: team of at least 15, at least 60 % qualified (integer arithmetic: no rounding).
fn g7(cx: &Subject<'_>, _warnings: &mut Vec<String>) -> RuleResult {
    let form = cx.form;
    match &form.team {
        None => result("G-7", Outcome::MissingEvidence, "team not given").zh("未填写人才团队"),
        Some(t) if t.qualified_staff > t.fixed_technical_staff => result(
            "G-7",
            Outcome::Fail,
            format!(
                "qualified staff ({}) exceeds the team ({})",
                t.qualified_staff, t.fixed_technical_staff
            ),
        )
        .zh(format!(
            "具备资质人员（{}）多于团队人数（{}）",
            t.qualified_staff, t.fixed_technical_staff
        )),
        Some(t) => {
            let size_ok = t.fixed_technical_staff >= MIN_TEAM;
            let share_ok = u64::from(t.qualified_staff) * 100
                >= u64::from(MIN_QUALIFIED_PERCENT) * u64::from(t.fixed_technical_staff);
            let pct = if t.fixed_technical_staff == 0 {
                0.0
            } else {
                f64::from(t.qualified_staff) * 100.0 / f64::from(t.fixed_technical_staff)
            };
            let detail = format!(
                "team {} (≥ 15), qualified {} = {:.1} % (≥ 60 %)",
                t.fixed_technical_staff, t.qualified_staff, pct
            );
            result(
                "G-7",
                if size_ok && share_ok && t.fixed_technical_staff > 0 {
                    Outcome::Pass
                } else {
                    Outcome::Fail
                },
                detail,
            )
            .zh(format!(
                "固定技术人员 {} 人（≥ 15），具备资质 {} 人，占 {:.1}%（≥ 60%）",
                t.fixed_technical_staff, t.qualified_staff, pct
            ))
        }
    }
}

/// G-8: a fermentation or enzyme vessel of at least 1000 L; biopharma may be smaller.
fn g8(cx: &Subject<'_>, _warnings: &mut Vec<String>) -> RuleResult {
    let form = cx.form;
    let vessels: Vec<_> = form
        .equipment
        .vessels
        .iter()
        .filter(|v| {
            matches!(
                v.kind,
                VesselKind::Fermentation | VesselKind::EnzymeCatalysis
            ) && v.count > 0
        })
        .collect();
    let largest = vessels
        .iter()
        .map(|v| v.volume_l.0)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    match largest {
        None => result(
            "G-8",
            Outcome::Fail,
            "no fermentation or enzyme-catalysis vessel declared",
        )
        .zh("未填报发酵或酶催化设备"),
        Some(l) if l >= MIN_VESSEL_LITRES => result(
            "G-8",
            Outcome::Pass,
            format!("largest vessel {l} L ≥ 1000 L"),
        )
        .zh(format!("最大罐体 {l} 升 ≥ 1000 升")),
        Some(l) if form.has_domain(Domain::Biopharma) => result(
            "G-8",
            Outcome::Pass,
            format!("largest vessel {l} L; waived for biopharma (生物制药领域单罐体积可降低)"),
        )
        .zh(format!("最大罐体 {l} 升；生物制药领域单罐体积可降低")),
        Some(l) => result(
            "G-8",
            Outcome::Fail,
            format!("largest vessel {l} L < 1000 L"),
        )
        .zh(format!("最大罐体 {l} 升 < 1000 升")),
    }
}

/// G-9: track record.
fn g9(cx: &Subject<'_>, _warnings: &mut Vec<String>) -> RuleResult {
    let form = cx.form;
    match &form.track_record {
        None => result(
            "G-9",
            Outcome::MissingEvidence,
            "three-year record not given",
        )
        .zh("未填写近三年服务情况"),
        Some(t) => {
            let projects_ok = t.pilot_projects >= MIN_PILOT_PROJECTS;
            let industrialized_ok = t.industrialized_projects >= MIN_INDUSTRIALIZED
                && t.industrialized_revenue_cny.0 > 0;
            let spun_off_ok = t.spun_off_enterprises >= MIN_SPUN_OFF
                && t.spun_off_valuation_cny >= MIN_SPUN_OFF_VALUATION;
            let detail = format!(
                "{} pilot projects (≥ 5); {} industrialized with revenue {} (≥ 2, > 0); {} spun off valued {} (≥ 3, ≥ 20000000 CNY)",
                t.pilot_projects, t.industrialized_projects, t.industrialized_revenue_cny, t.spun_off_enterprises, t.spun_off_valuation_cny
            );
            result(
                "G-9",
                if projects_ok && (industrialized_ok || spun_off_ok) {
                    Outcome::Pass
                } else {
                    Outcome::Fail
                },
                detail,
            )
            .zh(format!(
                "中试项目 {} 项（≥ 5）；产业化 {} 项、营业收入 {} 元（≥ 2 项且 > 0）；孵化企业 {} 家、估值 {} 元（≥ 3 家且 ≥ 2000 万元）",
                t.pilot_projects,
                t.industrialized_projects,
                t.industrialized_revenue_cny.yuan(),
                t.spun_off_enterprises,
                t.spun_off_valuation_cny.yuan()
            ))
        }
    }
}

/// G-10: biopharma complies with drug GMP.
fn g10(cx: &Subject<'_>, _warnings: &mut Vec<String>) -> RuleResult {
    let form = cx.form;
    if !form.has_domain(Domain::Biopharma) {
        result("G-10", Outcome::NotApplicable, "not a biopharma platform")
            .zh("非生物制药领域，不适用")
    } else {
        match form.gmp_compliant {
            Some(true) => result("G-10", Outcome::Pass, "complies with drug GMP")
                .zh("符合药品生产质量管理规范"),
            Some(false) => result(
                "G-10",
                Outcome::Fail,
                "biopharma platform does not comply with drug GMP (药品质量管理规范)",
            )
            .zh("生物制药平台不符合药品生产质量管理规范"),
            None => result(
                "G-10",
                Outcome::MissingEvidence,
                "GMP compliance not stated",
            )
            .zh("未说明是否符合药品生产质量管理规范"),
        }
    }
}

/// G-11: IP protection.
fn g11(cx: &Subject<'_>, _warnings: &mut Vec<String>) -> RuleResult {
    let form = cx.form;
    match &form.ip_protection {
        None => result(
            "G-11",
            Outcome::MissingEvidence,
            "IP protection not described",
        )
        .zh("未填写知识产权保护措施"),
        Some(p) => {
            let mut lacking = Vec::new();
            let mut lacking_zh = Vec::new();
            if !p.ip_department {
                lacking.push("IP department".to_string());
                lacking_zh.push("知识产权管理部门".to_string());
            }
            if !p.headed_by_principal {
                lacking.push("headed by the principal".to_string());
                lacking_zh.push("主要负责人分管".to_string());
            }
            if !p.strain_bank_dual_lock {
                lacking.push("strain bank with dual-person dual-lock".to_string());
                lacking_zh.push("菌种库双人双锁".to_string());
            }
            if !p.access_control_graded {
                lacking.push("graded access control".to_string());
                lacking_zh.push("分级门禁".to_string());
            }
            if p.cctv_retention_days < MIN_CCTV_DAYS {
                lacking.push(format!("CCTV kept {} days < 90", p.cctv_retention_days));
                lacking_zh.push(format!("监控录像保存 {} 天 < 90 天", p.cctv_retention_days));
            }
            if lacking.is_empty() {
                result(
                    "G-11",
                    Outcome::Pass,
                    format!(
                        "all measures in place, CCTV kept {} days",
                        p.cctv_retention_days
                    ),
                )
                .zh(format!(
                    "措施齐全，监控录像保存 {} 天",
                    p.cctv_retention_days
                ))
            } else {
                result(
                    "G-11",
                    Outcome::Fail,
                    format!("lacking: {}", lacking.join(", ")),
                )
                .zh(format!("缺少：{}", lacking_zh.join("、")))
            }
        }
    }
}

/// G-12: at least one domain.
fn g12(cx: &Subject<'_>, _warnings: &mut Vec<String>) -> RuleResult {
    let form = cx.form;
    if form.domains.is_empty() {
        result("G-12", Outcome::Fail, "no domain declared").zh("未选择申报类别")
    } else {
        let names: Vec<&str> = form.domains.iter().map(|d| d.code()).collect();
        result("G-12", Outcome::Pass, names.join(", ")).zh(form
            .domains
            .iter()
            .map(|d| d.name_zh())
            .collect::<Vec<_>>()
            .join("、"))
    }
}

/// Domain-specific equipment of the Guideline's lists (专用仪器设备), a few telling items each.
fn domain_equipment(d: Domain) -> &'static [&'static str] {
    match d {
        Domain::FoodAdditives => &[
            "凯氏定氮仪",
            "高压均质",
            "喷雾干燥",
            "流化床",
            "质构仪",
            "超微粉碎",
        ],
        Domain::Biopharma => &[
            "生物安全柜",
            "切向流",
            "流式细胞仪",
            "内毒素检测仪",
            "电泳仪",
            "拉曼光谱",
        ],
        Domain::Cosmetics => &[
            "流变仪",
            "紫外凝胶成像仪",
            "物性测试仪",
            "酶标仪",
            "细胞破碎仪",
        ],
        Domain::Chemicals => &[
            "催化反应",
            "糖化罐",
            "结晶罐",
            "元素分析仪",
            "X射线衍射仪",
            "管式炉",
        ],
        Domain::Energy => &[
            "精馏塔",
            "生物质气化炉",
            "生物甲烷",
            "液化装备",
            "生物质碳化炉",
        ],
        Domain::Enzymes => &["脱色装置", "催化反应流化床", "超微量分光光度计", "酶标仪"],
        Domain::Lignocellulose => &["蒸汽爆破", "酶解罐", "纤维素测定仪", "造粒机", "挤出机"],
        Domain::C1Feedstock => &[
            "脱氧塔",
            "脱硫塔",
            "变温吸附塔",
            "陶瓷膜",
            "一氧化碳快速分析仪",
        ],
        Domain::PlantChassis => &[
            "植物细胞采集罐",
            "树脂吸附罐",
            "解析柱",
            "树脂再生罐",
            "卡尔费休",
        ],
    }
}

fn soft_findings(form: &ApplicationForm) -> Vec<SoftFinding> {
    let eq = &form.equipment;
    let parallel = eq
        .vessels
        .iter()
        .any(|v| v.kind == VesselKind::ParallelBioreactor && v.count > 0);
    let pat = eq.software.iter().any(|s| {
        matches!(
            s.kind,
            SoftwareKind::ProcessAnalytics | SoftwareKind::DigitalTwin
        )
    });
    let names: Vec<&str> = eq
        .purification
        .iter()
        .chain(&eq.testing)
        .chain(&eq.other)
        .map(|i| i.name.as_str())
        .chain(eq.vessels.iter().map(|v| v.name.as_str()))
        .collect();
    let mut findings = vec![
        SoftFinding {
            code: "parallel_bioreactors".into(),
            present: parallel,
            detail: "鼓励配备一定容积和数量的平行生物反应器".into(),
        },
        SoftFinding {
            code: "process_analytics_or_digital_twin".into(),
            present: pat,
            detail: "过程分析技术（PAT）软件和过程数字化仿真软件系统".into(),
        },
    ];
    for d in &form.domains {
        let listed = domain_equipment(*d);
        let found: Vec<&str> = listed
            .iter()
            .copied()
            .filter(|k| names.iter().any(|n| n.contains(k)))
            .collect();
        findings.push(SoftFinding {
            code: format!("domain_equipment:{}", d.code()),
            present: !found.is_empty(),
            detail: if found.is_empty() {
                format!(
                    "未见指南所列{}专用设备（{}）",
                    d.name_zh(),
                    listed.join("、")
                )
            } else {
                format!("{}: {}", d.name_zh(), found.join("、"))
            },
        });
    }
    findings
}

#[cfg(test)]
mod table_tests {
    #[test]
    fn each_rule_reports_under_its_own_id_in_the_guideline_order() {
        let assessment = super::assess(
            &crate::samples::gd_form(),
            crate::samples::date("2025-07-01"),
            &[],
        );
        let ids: Vec<&str> = assessment.rules.iter().map(|r| r.rule.as_str()).collect();
        assert_eq!(ids, super::RULES.map(|(id, _)| id));
    }
}
