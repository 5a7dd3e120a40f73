//! The application (申请表 of the 2025 Guideline) as an applicant fills it in: a web form in
//! sections, saved as a draft (暂存, the applicant's private working copy, not an event) and
//! opened again later, with evidence files attached (佐证材料, stored by their SHA-256), an
//! eligibility preview that runs the rules G-1..G-12 exactly as the assessment will record them,
//! and the submission, which records `ApplicationSubmitted` through the same command service as
//! the API. A submitted application prints as the 申报书 to be stamped, and is amended from a
//! draft made from it.
//!
//! The form's fields are declared once (`SECTIONS`), with the same field kinds as the commands'
//! forms (`forms.rs`): they render the page, read a posted form back into the API's JSON, and
//! write a stored form out again (for printing and for amending).

use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveDate;
use maud::{html, Markup};
use roster_domain::error::{code, Refusal};
use roster_domain::form::ApplicationForm;
use roster_domain::registry::CommandKind;
use roster_domain::request::{CommandRequest, Target};
use roster_domain::store::Draft;
use roster_domain::values::{Province, Uscc};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::actions::{refusal_flash, same_origin};
use super::forms::{self, Field, Input, Opt, Words};
use super::session::Flash;
use super::{check_csrf, page, Viewer};
use crate::commands;
use crate::AppState;

const fn w(zh: &'static str, en: &'static str) -> Words {
    Words { zh, en }
}

const fn f(name: &'static str, label: Words, input: Input) -> Field {
    Field {
        name,
        label,
        input,
        required: false,
        required_when: None,
        initial: None,
        shown: forms::Shown::Always,
    }
}

const fn req(mut field: Field) -> Field {
    field.required = true;
    field
}

const APPLICANT_KINDS: &[Opt] = &[
    ("university", w("高校", "university")),
    ("research_institute", w("科研机构", "research institute")),
    ("state_owned", w("国有企业", "state-owned enterprise")),
    ("private", w("民营企业", "private enterprise")),
];

const VESSEL_KINDS: &[Opt] = &[
    ("fermentation", w("发酵罐", "fermentation vessel")),
    (
        "enzyme_catalysis",
        w("酶催化反应器", "enzyme-catalysis vessel"),
    ),
    (
        "parallel_bioreactor",
        w("平行生物反应器", "parallel bioreactor"),
    ),
];

const SOFTWARE_KINDS: &[Opt] = &[
    ("process_analytics", w("过程分析", "process analytics")),
    ("digital_twin", w("数字孪生", "digital twin")),
    ("process_control", w("过程控制", "process control")),
    ("data_management", w("数据管理", "data management")),
    ("other", w("其他", "other")),
];

const UTILITIES: &[Opt] = &[
    ("clean_in_place", w("在线清洗（CIP）", "clean in place")),
    ("ventilation", w("通风", "ventilation")),
    ("air_purification", w("空气净化", "air purification")),
    ("purified_water", w("纯化水", "purified water")),
    ("steam", w("蒸汽", "steam")),
    ("chilled_water", w("冷冻水", "chilled water")),
    ("off_gas_treatment", w("尾气处理", "off-gas treatment")),
    (
        "wastewater_treatment",
        w("污水处理", "wastewater treatment"),
    ),
    ("power_supply", w("供电", "power supply")),
];

const RULE_IDS: &[Opt] = &[
    ("G-1", w("G-1 法人资格", "G-1 legal entity")),
    ("G-2", w("G-2 已建成", "G-2 built")),
    ("G-3", w("G-3 无处罚", "G-3 no penalty")),
    ("G-4", w("G-4 场所", "G-4 site")),
    ("G-5", w("G-5 安全环保评价", "G-5 assessments")),
    ("G-6", w("G-6 公用工程", "G-6 utilities")),
    ("G-7", w("G-7 人才团队", "G-7 team")),
    ("G-8", w("G-8 中试装备", "G-8 vessels")),
    ("G-9", w("G-9 服务业绩", "G-9 record")),
    ("G-10", w("G-10 药品GMP", "G-10 GMP")),
    ("G-11", w("G-11 知识产权保护", "G-11 IP protection")),
    ("G-12", w("G-12 申报类别", "G-12 domains")),
];

const NUM: Input = Input::Number {
    min: 0,
    max: 10_000_000,
};

const INSTRUMENT: &[Field] = &[
    f("name", w("名称", "Name"), Input::Text),
    f("brand", w("品牌", "Brand"), Input::Text),
    f("model", w("型号", "Model"), Input::Text),
    f("count", w("数量", "Count"), NUM),
];

/// A section of the form: its anchor, its title and its fields.
pub(super) struct Section {
    pub id: &'static str,
    pub title: Words,
    pub fields: &'static [Field],
}

/// The application form (申请表), section by section, in the Guideline's order.
pub(super) const SECTIONS: &[Section] = &[
    Section {
        id: "unit",
        title: w("一、申报单位", "1. Applying unit"),
        fields: &[
            req(f(
                "form.applicant.name",
                w("申报单位名称", "Name of the unit"),
                Input::Text,
            )),
            req(f(
                "form.applicant.uscc",
                w("统一社会信用代码", "Unified social credit code"),
                Input::Text,
            )),
            req(f(
                "form.applicant.kind",
                w("申报单位属性", "Kind of unit"),
                Input::Choice(APPLICANT_KINDS),
            )),
            req(f(
                "form.applicant.legal_representative",
                w("法定代表人", "Legal representative"),
                Input::Text,
            )),
            req(f(
                "form.applicant.province",
                w("所在省份（推荐单位）", "Province (recommends)"),
                Input::Province,
            )),
            req(f(
                "form.applicant.city",
                w("所在城市（6位行政区划代码）", "City (6-digit code)"),
                Input::Text,
            )),
            f(
                "form.applicant.address",
                w("通讯地址", "Postal address"),
                Input::Text,
            ),
            f(
                "form.applicant.contact.name",
                w("联系人", "Contact person"),
                Input::Text,
            ),
            f(
                "form.applicant.contact.phone",
                w("联系电话", "Phone"),
                Input::Text,
            ),
            f(
                "form.applicant.contact.email",
                w("电子邮箱", "E-mail"),
                Input::Text,
            ),
        ],
    },
    Section {
        id: "platform",
        title: w("二、平台基本情况", "2. The platform"),
        fields: &[
            req(f(
                "form.platform.name",
                w("中试能力建设平台名称", "Name of the platform"),
                Input::Text,
            )),
            req(f(
                "form.platform.leader",
                w("平台负责人", "Platform leader"),
                Input::Text,
            )),
            f(
                "form.platform.main_business",
                w("平台主营业务范围", "Main business"),
                Input::LongText,
            ),
            f(
                "form.platform.built",
                w("中试平台是否已建成（G-2）", "Built (G-2)"),
                Input::YesNo,
            ),
            f(
                "form.platform.years_in_operation",
                w("平台运行时间（年）", "Years in operation"),
                NUM,
            ),
            f(
                "form.domains",
                w("申报类别（可多选，G-12）", "Domains (G-12)"),
                Input::Domains,
            ),
            f(
                "form.gmp_compliant",
                w(
                    "符合药品GMP要求（生物医药类，G-10）",
                    "Complies with drug GMP (G-10)",
                ),
                Input::YesNo,
            ),
            f(
                "form.compliance.penalised",
                w(
                    "近年是否因违反安全、环保等法律法规受到处罚（G-3）",
                    "Penalised for safety or environmental violations (G-3)",
                ),
                Input::YesNo,
            ),
            f(
                "form.compliance.penalty_details",
                w("受到何种处罚", "Which penalty"),
                Input::Text,
            ),
            f(
                "form.equipment_value_cny",
                w("仪器设备原值（元）", "Equipment value (yuan)"),
                Input::Yuan,
            ),
        ],
    },
    Section {
        id: "staffing",
        title: w("三、人员配置", "3. Staffing"),
        fields: &[
            f(
                "form.staffing.management",
                w("管理人员（人）", "Management"),
                NUM,
            ),
            f(
                "form.staffing.professor_engineers",
                w("正高级工程师（人）", "Professor-level engineers"),
                NUM,
            ),
            f(
                "form.staffing.senior_engineers",
                w("高级工程师（人）", "Senior engineers"),
                NUM,
            ),
            f(
                "form.staffing.engineers",
                w("工程师（人）", "Engineers"),
                NUM,
            ),
            f(
                "form.staffing.testing_staff",
                w("检测人员（人）", "Testing staff"),
                NUM,
            ),
        ],
    },
    Section {
        id: "equipment",
        title: w("四、中试装备仪器", "4. Equipment"),
        fields: &[
            f(
                "form.equipment.vessels",
                w(
                    "发酵或酶催化相关设备（G-8）",
                    "Fermentation and enzyme-catalysis vessels (G-8)",
                ),
                Input::Table(&[
                    f("kind", w("类型", "Kind"), Input::Choice(VESSEL_KINDS)),
                    f("name", w("名称", "Name"), Input::Text),
                    f("brand", w("品牌", "Brand"), Input::Text),
                    f("volume_l", w("容积（升）", "Volume (L)"), Input::Decimal),
                    f("count", w("数量", "Count"), NUM),
                ]),
            ),
            f(
                "form.equipment.purification",
                w("纯化浓缩设备", "Purification and concentration"),
                Input::Table(INSTRUMENT),
            ),
            f(
                "form.equipment.testing",
                w("检验设备", "Testing equipment"),
                Input::Table(INSTRUMENT),
            ),
            f(
                "form.equipment.other",
                w("其他设备", "Other equipment"),
                Input::Table(INSTRUMENT),
            ),
            f(
                "form.equipment.software",
                w("数字化软件系统", "Digital software systems"),
                Input::Table(&[
                    f("name", w("名称", "Name"), Input::Text),
                    f("kind", w("类型", "Kind"), Input::Choice(SOFTWARE_KINDS)),
                    f("version", w("版本", "Version"), Input::Text),
                ]),
            ),
        ],
    },
    Section {
        id: "site",
        title: w(
            "五、场所配备及资质（G-4、G-5）",
            "5. Site and qualifications (G-4, G-5)",
        ),
        fields: &[
            f(
                "form.site.area_m2",
                w("中试场地面积（平方米）", "Pilot area (m²)"),
                Input::Decimal,
            ),
            f(
                "form.site.strain_room",
                w("菌种室", "Strain room"),
                Input::YesNo,
            ),
            f(
                "form.site.clean_area",
                w("洁净区", "Clean area"),
                Input::YesNo,
            ),
            f(
                "form.site.explosion_proof_area",
                w("防爆区", "Explosion-proof area"),
                Input::YesNo,
            ),
            f(
                "form.site.storage_area",
                w("仓储区", "Storage area"),
                Input::YesNo,
            ),
            f(
                "form.site.safety_assessment_passed",
                w("通过安全评价", "Safety assessment passed"),
                Input::YesNo,
            ),
            f(
                "form.site.environmental_assessment_passed",
                w("通过环境影响评价", "Environmental assessment passed"),
                Input::YesNo,
            ),
            f(
                "form.site.health_assessment_passed",
                w("通过职业卫生评价", "Occupational health assessment passed"),
                Input::YesNo,
            ),
            f(
                "form.site.safety_equipment",
                w("配备安全防护设施", "Safety equipment"),
                Input::YesNo,
            ),
        ],
    },
    Section {
        id: "utilities",
        title: w("六、公用工程（G-6）", "6. Utilities (G-6)"),
        fields: &[f(
            "form.utilities",
            w("具备的公用工程", "Utilities in place"),
            Input::Many(UTILITIES),
        )],
    },
    Section {
        id: "team",
        title: w("七、人才团队（G-7）", "7. Team (G-7)"),
        fields: &[
            f(
                "form.team.fixed_technical_staff",
                w("固定中试技术人员（人）", "Fixed technical staff"),
                NUM,
            ),
            f(
                "form.team.qualified_staff",
                w("具备相应资质的人员（人）", "Qualified staff"),
                NUM,
            ),
            f(
                "form.team.certificates",
                w("持有相关资格证书", "Certificates held"),
                Input::YesNo,
            ),
        ],
    },
    Section {
        id: "ip",
        title: w("八、知识产权保护（G-11）", "8. IP protection (G-11)"),
        fields: &[
            f(
                "form.ip_protection.ip_department",
                w("设有知识产权管理部门", "IP department"),
                Input::YesNo,
            ),
            f(
                "form.ip_protection.headed_by_principal",
                w("由单位主要负责人分管", "Headed by the principal"),
                Input::YesNo,
            ),
            f(
                "form.ip_protection.strain_bank_dual_lock",
                w("菌种库双人双锁", "Strain bank under dual lock"),
                Input::YesNo,
            ),
            f(
                "form.ip_protection.access_control_graded",
                w("分级门禁管理", "Graded access control"),
                Input::YesNo,
            ),
            f(
                "form.ip_protection.cctv_retention_days",
                w("监控录像保存天数", "CCTV retention (days)"),
                NUM,
            ),
        ],
    },
    Section {
        id: "record",
        title: w(
            "九、近三年服务情况（G-9）",
            "9. Record of the last three years (G-9)",
        ),
        fields: &[
            f(
                "form.track_record.pilot_projects",
                w("已开展中试项目（项）", "Pilot projects"),
                NUM,
            ),
            f(
                "form.track_record.industrialized_projects",
                w("成功实现产业化（项）", "Projects industrialised"),
                NUM,
            ),
            f(
                "form.track_record.industrialized_revenue_cny",
                w("产业化营业收入（元）", "Their revenue (yuan)"),
                Input::Yuan,
            ),
            f(
                "form.track_record.spun_off_enterprises",
                w("创办或孵化企业（家）", "Enterprises spun off"),
                NUM,
            ),
            f(
                "form.track_record.spun_off_valuation_cny",
                w("企业估值总计（元）", "Their valuation (yuan)"),
                Input::Yuan,
            ),
        ],
    },
    Section {
        id: "market",
        title: w("十、市场服务", "10. Market services"),
        fields: &[
            f(
                "form.market_services.enterprises_served",
                w("服务企业（家）", "Enterprises served"),
                NUM,
            ),
            f(
                "form.market_services.contract_total_cny",
                w("合同金额合计（元）", "Contract total (yuan)"),
                Input::Yuan,
            ),
        ],
    },
    Section {
        id: "goals",
        title: w("十一、发展目标（2-3年）", "11. Goals (2-3 years)"),
        fields: &[f("form.goals", w("发展目标", "Goals"), Input::LongText)],
    },
    Section {
        id: "evidence",
        title: w("十二、佐证材料", "12. Supporting documents"),
        fields: &[f(
            "form.evidence",
            w("佐证材料清单", "List of documents"),
            Input::Table(&[
                f("rule", w("对应条件", "Rule"), Input::Choice(RULE_IDS)),
                f("title", w("材料名称", "Title"), Input::Text),
                f(
                    "reference",
                    w("文件名或出处", "File or reference"),
                    Input::Text,
                ),
                f(
                    "sha256",
                    w("SHA-256", "SHA-256"),
                    Input::Hidden { number: false },
                ),
                f(
                    "media_type",
                    w("类型", "Media type"),
                    Input::Hidden { number: false },
                ),
                f("size", w("大小", "Size"), Input::Hidden { number: true }),
            ]),
        )],
    },
];

/// A draft's fields that belong to the form (the rest of a posted form is the page's).
fn form_pairs(posted: &[(String, String)]) -> Vec<(String, String)> {
    posted
        .iter()
        .filter(|(k, _)| k.starts_with("form.") || k == "round_id" || k == "amends")
        .cloned()
        .collect()
}

/// The form's fields with the blank rows of its tables left out and the rest numbered from 0,
/// so a saved draft (and a file appended to it) has no gaps.
fn compact(fields: Vec<(String, String)>) -> Vec<(String, String)> {
    let tables: Vec<&str> = SECTIONS
        .iter()
        .flat_map(|s| s.fields.iter())
        .filter(|f| matches!(f.input, Input::Table(_)))
        .map(|f| f.name)
        .collect();
    let row_of = |k: &str| -> Option<(&str, usize, String)> {
        let table = tables.iter().find(|t| {
            k.strip_prefix(**t)
                .is_some_and(|rest| rest.starts_with('.'))
        })?;
        let (row, column) = k[table.len() + 1..].split_once('.')?;
        Some((table, row.parse().ok()?, column.to_string()))
    };
    let blank: std::collections::HashSet<(&str, usize)> = {
        let mut filled = std::collections::HashSet::new();
        let mut all = std::collections::HashSet::new();
        for (k, v) in &fields {
            if let Some((t, r, _)) = row_of(k) {
                all.insert((t, r));
                if !v.trim().is_empty() {
                    filled.insert((t, r));
                }
            }
        }
        all.difference(&filled).copied().collect()
    };
    let mut renumber: std::collections::HashMap<(&str, usize), usize> = Default::default();
    for t in &tables {
        let mut rows: Vec<usize> = fields
            .iter()
            .filter_map(|(k, _)| row_of(k))
            .filter(|(tt, r, _)| tt == t && !blank.contains(&(*tt, *r)))
            .map(|(_, r, _)| r)
            .collect();
        rows.sort_unstable();
        rows.dedup();
        for (i, r) in rows.into_iter().enumerate() {
            renumber.insert((t, r), i);
        }
    }
    fields
        .iter()
        .filter_map(|(k, v)| match row_of(k) {
            None => Some((k.clone(), v.clone())),
            Some((t, r, c)) => renumber
                .get(&(t, r))
                .map(|i| (format!("{t}.{i}.{c}"), v.clone())),
        })
        .collect()
}

/// The application form a draft stands for, or the first field that cannot be read.
fn read_form(pairs: &[(String, String)]) -> Result<ApplicationForm, Refusal> {
    let mut object = Map::new();
    for s in SECTIONS {
        for (k, v) in forms::values(s.fields, pairs)? {
            merge(&mut object, k, v);
        }
    }
    let form = object.remove("form").unwrap_or_else(|| json!({}));
    let mut track = serde_path_to_error::Track::new();
    let de = serde_path_to_error::Deserializer::new(&form, &mut track);
    serde::Deserialize::deserialize(de).map_err(|e: serde_json::Error| {
        let path = track.path().to_string();
        Refusal::invalid(&format!("form.{path}"), format!("form.{path}: {e}"))
            .zh("填写的格式不正确（数字不带单位，日期如 2025-07-01）")
    })
}

/// Merges `value` into `object[key]`, object into object (sections share `form`).
fn merge(object: &mut Map<String, Value>, key: String, value: Value) {
    match (object.get_mut(&key), value) {
        (Some(Value::Object(mine)), Value::Object(theirs)) => {
            for (k, v) in theirs {
                merge(mine, k, v);
            }
        }
        (_, value) => {
            object.insert(key, value);
        }
    }
}

/// The value at a dotted path of a JSON document.
fn at<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(doc, |v, k| v.get(k))
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(if *b { "yes" } else { "no" }.to_string()),
        Value::String(s) => Some(s.clone()),
        // A whole quantity stored as 5000.0 reads 5000, as it was typed.
        Value::Number(n) => Some(match n.as_f64() {
            Some(x) if n.is_f64() && x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
            _ => n.to_string(),
        }),
        _ => None,
    }
}

/// A stored document written out as the fields of a posted form (a draft made from it).
fn pairs_of(fields: &[Field], doc: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    for field in fields {
        let name = format!("{prefix}{}", field.name);
        let Some(value) = at(doc, field.name) else {
            continue;
        };
        match (&field.input, value) {
            (Input::Table(columns), Value::Array(rows)) => {
                for (i, row) in rows.iter().enumerate() {
                    pairs_of(columns, row, &format!("{name}.{i}."), out);
                }
            }
            (Input::Lines, Value::Array(items)) => {
                let lines: Vec<String> = items.iter().filter_map(text_of).collect();
                out.push((name, lines.join("\n")));
            }
            (_, Value::Array(items)) => {
                for item in items.iter().filter_map(text_of) {
                    out.push((name.clone(), item));
                }
            }
            (_, v) => {
                if let Some(t) = text_of(v) {
                    out.push((name, t));
                }
            }
        }
    }
}

/// An application form as the fields of its page.
fn form_to_pairs(form: &ApplicationForm) -> Vec<(String, String)> {
    let doc = json!({ "form": form });
    let mut out = Vec::new();
    for s in SECTIONS {
        pairs_of(s.fields, &doc, "", &mut out);
    }
    out
}

/// A field's value as a reader sees it: a choice by its words, yes/no as 是/否.
fn shown(v: &Viewer, field: &Field, text: &str) -> String {
    let word = |opts: &[Opt]| {
        opts.iter()
            .find(|(c, _)| *c == text)
            .map_or_else(|| text.to_string(), |(_, w)| v.t(w.zh, w.en).to_string())
    };
    match &field.input {
        Input::Choice(opts) | Input::Many(opts) => word(opts),
        Input::YesNo => match text {
            "yes" => v.t("是", "yes").to_string(),
            "no" => v.t("否", "no").to_string(),
            t => t.to_string(),
        },
        Input::Domain | Input::Domains => roster_domain::values::Domain::parse(text).map_or_else(
            || text.to_string(),
            |d| v.t(d.name_zh(), d.code()).to_string(),
        ),
        Input::Province => Province::parse(text).map_or_else(
            || text.to_string(),
            |p| v.t(p.name_zh(), p.name_en()).to_string(),
        ),
        _ => text.to_string(),
    }
}

/// The eligibility of a draft as the assessment will record it on submission (the rules
/// G-1..G-12 on the form, today), or why it cannot be judged yet.
fn preview(v: &Viewer, pairs: &[(String, String)], today: NaiveDate) -> Markup {
    html! {
        section #preview {
            h2 { (v.t("资格预审（按提交时的审查规则）", "Eligibility preview (as assessed on submission)")) }
            @match read_form(pairs) {
                Ok(form) => {
                    @let a = roster_domain::eligibility::assess(&form, today, &[]);
                    @let fails = a.hard_failures();
                    @let missing: Vec<&str> = a.rules.iter()
                        .filter(|r| r.outcome == roster_domain::eligibility::Outcome::MissingEvidence)
                        .map(|r| r.rule.as_str())
                        .collect();
                    @if fails.is_empty() {
                        p.flash.ok #preview-verdict { (v.t("未发现不符合硬性条件的情况。", "No hard rule fails.")) }
                    } @else {
                        p.warning #preview-verdict { "⚠ " (v.t("不符合的硬性条件：", "Hard rules failing: ")) (fails.join("、")) }
                    }
                    @if !missing.is_empty() {
                        p.warning #preview-missing { (v.t("尚缺材料、暂无法判断：", "Not yet judged for lack of answers: ")) (missing.join("、")) }
                    }
                    (super::pages::eligibility_table(v, &a))
                }
                Err(r) => {
                    p.warning { (v.t("表单尚不完整，暂不能预审：", "The form cannot be assessed yet: ")) (super::actions::refusal_line(v, &r)) }
                }
            }
        }
    }
}

fn draft_title(v: &Viewer, d: &Draft) -> String {
    let name = d
        .fields
        .iter()
        .find(|(k, _)| k == "form.platform.name")
        .map(|(_, v)| v.trim())
        .filter(|n| !n.is_empty());
    name.map_or_else(
        || {
            v.t("（未命名的申报）", "(untitled application)")
                .to_string()
        },
        str::to_string,
    )
}

use super::refusal_page as refused;

/// 我的申报: the applicant's drafts and its applications with their progress (进度查询).
pub(super) async fn mine(State(state): State<AppState>, v: Viewer) -> Response {
    let drafts = match state.app().drafts(&v.actor).await {
        Ok(d) => d,
        Err(r) => return refused(&v, r),
    };
    let catalog = state.app().catalog().await;
    let own: Vec<_> = catalog
        .platforms
        .values()
        .filter(|p| Some(p.uscc.as_str()) == v.actor.jurisdiction.as_deref())
        .cloned()
        .collect();
    drop(catalog);
    let body = html! {
        form method="post" action="/ui/drafts" {
            input type="hidden" name="csrf" value=(v.csrf);
            button.primary type="submit" id="new-draft" { (v.t("新建申报（填写申请表）", "New application (fill in the form)")) }
        }
        h2 { (v.t("暂存的申报", "Drafts")) }
        @if drafts.is_empty() { p.muted { (v.t("没有暂存的申报。", "No drafts.")) } }
        @else {
            div.scroll { table id="drafts" {
                thead { tr { th { (v.t("平台名称", "Platform")) } th { (v.t("最后保存（北京时间）", "Last saved (Beijing)")) } } }
                tbody { @for d in &drafts {
                    tr { td { a href={"/ui/drafts/" (d.draft_id)} { (draft_title(&v, d)) } }
                         td { (d.updated_at.with_timezone(&roster_domain::clock::beijing()).format("%Y-%m-%d %H:%M")) } }
                } }
            } }
        }
        h2 { (v.t("已提交的申报（进度）", "Applications (progress)")) }
        @if own.is_empty() { p.muted { (v.t("尚未提交申报。", "Nothing submitted yet.")) } }
        @else {
            div.scroll { table id="applications" {
                thead { tr { th { (v.t("平台名称", "Platform")) } th { (v.t("批次", "Round")) } th { (v.t("提交日期", "Submitted")) } th { (v.t("当前状态", "Status")) } th { (v.t("申报书", "Print")) } } }
                tbody { @for p in &own {
                    tr { td { a href={"/ui/platforms/" (p.platform_id)} { (p.platform_name) } }
                         td { (p.round_id.as_deref().unwrap_or("—")) }
                         td { @if let Some(d) = p.submitted_on { (d) } }
                         td { (super::pages::status_name(v.lang, p.status)) }
                         td { a href={"/ui/platforms/" (p.platform_id) "/print"} { (v.t("打印申报书", "Print")) } } }
                } }
            } }
        }
    };
    page(&v, v.t("我的申报", "My applications"), body)
}

/// The fields a new draft starts with: the applicant's USCC and the province it registers in.
fn first_fields(v: &Viewer) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(uscc) = v.actor.jurisdiction.as_deref() {
        out.push(("form.applicant.uscc".to_string(), uscc.to_string()));
        if let Some(p) = Uscc::parse(uscc)
            .ok()
            .and_then(|u| Province::from_division(&u.as_str()[2..8]))
        {
            out.push(("form.applicant.province".to_string(), p.code().to_string()));
        }
    }
    out
}

/// A new draft with `fields`, then its page.
async fn start_draft(state: &AppState, v: &Viewer, fields: Vec<(String, String)>) -> Response {
    let id = new_draft_id();
    match state.app().save_draft(&v.actor, &id, fields).await {
        Ok(_) => Redirect::to(&format!("/ui/drafts/{id}")).into_response(),
        Err(r) => refused(v, r),
    }
}

fn new_draft_id() -> String {
    format!("d-{}", &Uuid::new_v4().simple().to_string()[..12])
}

async fn checked(
    state: &AppState,
    v: &Viewer,
    headers: &HeaderMap,
    posted: &[(String, String)],
    what: &str,
) -> Result<(), Response> {
    let csrf = posted
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    let result = check_csrf(v, csrf).and_then(|()| {
        if same_origin(headers) {
            Ok(())
        } else {
            Err(Refusal::forbidden("the form was posted from another site")
                .zh("表单来自其他网站，未予受理"))
        }
    });
    match result {
        Ok(()) => Ok(()),
        Err(r) => {
            state
                .audit_refusal(v.actor.clone(), what, &r.code, &r.message)
                .await;
            Err(refused(v, r))
        }
    }
}

/// POST /ui/drafts: a new draft, then its page.
pub(super) async fn create(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let posted = form.map(|Form(f)| f).unwrap_or_default();
    if let Err(page) = checked(&state, &v, &headers, &posted, "POST /ui/drafts").await {
        return page;
    }
    start_draft(&state, &v, first_fields(&v)).await
}

/// A platform's application opened as a draft to amend it (the draft names what it amends).
pub(super) async fn amend(
    State(state): State<AppState>,
    Path(platform_id): Path<String>,
    v: Viewer,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let what = format!("POST /ui/platforms/{platform_id}/amendment");
    let posted = form.map(|Form(f)| f).unwrap_or_default();
    if let Err(page) = checked(&state, &v, &headers, &posted, &what).await {
        return page;
    }
    let loaded = match super::readable_or_page(&state, &v, &platform_id, &what).await {
        Ok(l) => l,
        Err(page) => return page,
    };
    let Some(form) = loaded.state.form.as_ref() else {
        return refused(
            &v,
            Refusal::not_found(format!("no application {platform_id}")),
        );
    };
    let mut fields = vec![("amends".to_string(), platform_id.clone())];
    fields.extend(form_to_pairs(form));
    start_draft(&state, &v, fields).await
}

/// The draft's page: the whole form in sections, its files, the preview and the buttons.
pub(super) async fn show(
    State(state): State<AppState>,
    Path(draft_id): Path<String>,
    v: Viewer,
) -> Response {
    let draft = match state.app().draft(&v.actor, &draft_id).await {
        Ok(d) => d,
        Err(r) => return refused(&v, r),
    };
    let today = state.app().today();
    let pairs = &draft.fields;
    let amends = pairs
        .iter()
        .find(|(k, _)| k == "amends")
        .map(|(_, v)| v.clone());
    let province = pairs
        .iter()
        .find(|(k, _)| k == "form.applicant.province")
        .and_then(|(_, p)| Province::parse(p));
    // The rounds still open to the applicant's province (R-4: submission by its deadline).
    let rounds: Vec<(String, Option<NaiveDate>)> = {
        let catalog = state.app().catalog().await;
        catalog
            .rounds
            .keys()
            .filter_map(|id| roster_app::round_of(&catalog, id).map(|r| (id.clone(), r)))
            .map(|(id, r)| {
                let due = province.and_then(|p| r.deadline_of(CommandKind::SubmitApplication, p));
                (id, due)
            })
            .filter(|(_, due)| due.is_none_or(|d| d >= today))
            .collect()
    };
    let chosen = pairs
        .iter()
        .find(|(k, _)| k == "round_id")
        .map(|(_, v)| v.as_str());
    let files: Vec<(usize, String, String)> = (0..forms::table_len(pairs, "form.evidence"))
        .filter_map(|i| {
            let get = |c: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == format!("form.evidence.{i}.{c}"))
                    .map(|(_, v)| v.clone())
            };
            Some((
                i,
                get("sha256").filter(|s| !s.is_empty())?,
                get("title").unwrap_or_default(),
            ))
        })
        .collect();
    let title = draft_title(&v, &draft);
    let body = html! {
        p.muted {
            (v.t("暂存于 ", "Saved "))
            (draft.updated_at.with_timezone(&roster_domain::clock::beijing()).format("%Y-%m-%d %H:%M"))
            (v.t("（北京时间）。暂存内容仅本单位可见，提交后才记录为申报。", " (Beijing). A draft is yours alone; it is recorded as an application only when submitted."))
        }
        nav.sections {
            @for s in SECTIONS { a href={"#" (s.id)} { (v.t(s.title.zh, s.title.en)) } }
            a href="#preview" { (v.t("资格预审", "Preview")) }
        }
        form.application method="post" action={"/ui/drafts/" (draft.draft_id)} enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(v.csrf);
            @if let Some(p) = &amends {
                input type="hidden" name="amends" value=(p);
                p.effective { (v.t("修改已提交的申报：", "Amending the application ")) a href={"/ui/platforms/" (p)} { (p) } }
            } @else {
                label {
                    (v.t("申报批次", "Round"))
                    select name="round_id" required {
                        @for (id, due) in &rounds {
                            option value=(id) selected[chosen == Some(id.as_str())] {
                                (id) @if let Some(d) = due { " · " (v.t("截止 ", "until ")) (d) }
                            }
                        }
                    }
                }
                @if rounds.is_empty() { p.warning { (v.t("目前没有可申报的批次（或本省申报已截止）。", "No round is open to your province now.")) } }
            }
            @for s in SECTIONS {
                fieldset id=(s.id) {
                    legend { (v.t(s.title.zh, s.title.en)) }
                    @for field in s.fields {
                        @if matches!(field.input, Input::Table(_) | Input::Many(_) | Input::Domains) {
                            div.field { span.label { (v.t(field.label.zh, field.label.en)) } (field.control(&v, today, field.name, false, pairs)) }
                        } @else {
                            label { (v.t(field.label.zh, field.label.en)) @if field.required { " *" } (field.control(&v, today, field.name, false, pairs)) }
                        }
                    }
                    @if s.id == "evidence" {
                        @if !files.is_empty() {
                            ul.files { @for (i, sha, t) in &files {
                                li { (i + 1) ". " a href={"/ui/drafts/" (draft.draft_id) "/files/" (sha)} { (t) } " " span.muted { "SHA-256 " (&sha[..12]) "…" } }
                            } }
                        }
                        div.upload {
                            label { (v.t("上传佐证材料（PDF、PNG、JPEG，不超过10MB）", "Upload a document (PDF, PNG, JPEG, at most 10 MB)")) input type="file" name="file" accept="application/pdf,image/png,image/jpeg"; }
                            label { (v.t("材料名称", "Title")) input type="text" name="upload_title"; }
                            label { (v.t("对应条件", "Rule")) select name="upload_rule" { option value="" { "—" } @for (c, w) in RULE_IDS { option value=(c) { (v.t(w.zh, w.en)) } } } }
                        }
                    }
                }
            }
            div.buttons {
                button type="submit" name="op" value="save" id="save" { (v.t("暂存", "Save draft")) }
                button type="submit" name="op" value="preview" id="check" { (v.t("暂存并预审", "Save and preview")) }
                button.primary type="submit" name="op" value="submit" id="submit" {
                    @if amends.is_some() { (v.t("提交修改", "Submit the amendment")) } @else { (v.t("提交申报", "Submit the application")) }
                }
            }
        }
        (preview(&v, pairs, today))
        form method="post" action={"/ui/drafts/" (draft.draft_id) "/deletion"} {
            input type="hidden" name="csrf" value=(v.csrf);
            label.confirm { input type="checkbox" name="confirm" value="yes" required; " " (v.t("确认删除此暂存", "I delete this draft")) }
            button.danger type="submit" { (v.t("删除暂存", "Delete the draft")) }
        }
    };
    page(&v, &title, body)
}

/// The posted multipart form: its text fields, and the uploaded file if one was chosen.
pub(super) async fn read_multipart(
    mut multipart: Multipart,
) -> Result<(Vec<(String, String)>, Option<(String, Vec<u8>)>), Refusal> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        let status = e.status();
        let r = Refusal::invalid(
            "form",
            format!("the form could not be read: {}", e.body_text()),
        )
        .zh("表单无法读取，请刷新页面后重新填写");
        if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            Refusal::new(
                code::BODY_TOO_LARGE,
                format!(
                    "the form with its file is larger than {} MiB",
                    UPLOAD_BODY_LIMIT / (1024 * 1024)
                ),
            )
            .zh(format!(
                "表单连同附件超过 {} MiB",
                UPLOAD_BODY_LIMIT / (1024 * 1024)
            ))
        } else {
            r
        }
    };
    let mut pairs = Vec::new();
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let file_name = field.file_name().unwrap_or_default().to_string();
            let bytes = field.bytes().await.map_err(bad)?;
            if !bytes.is_empty() || !file_name.is_empty() {
                file = Some((file_name, bytes.to_vec()));
            }
        } else {
            let text = field.text().await.map_err(bad)?;
            pairs.push((name, text));
        }
    }
    Ok((pairs, file))
}

/// The largest body of the draft form: one attachment and the form around it.
pub(super) const UPLOAD_BODY_LIMIT: usize =
    roster_app::files::ATTACHMENT_MAX_BYTES + 2 * 1024 * 1024;

fn flash(state: &AppState, v: &Viewer, flash: Flash) {
    state.sessions().flash(&v.session_id, flash);
}

/// POST /ui/drafts/{id}: saves the draft (with the uploaded file as evidence), and previews or
/// submits it.
pub(super) async fn post(
    State(state): State<AppState>,
    Path(draft_id): Path<String>,
    v: Viewer,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let what = format!("POST /ui/drafts/{draft_id}");
    let read = match multipart {
        Ok(m) => read_multipart(m).await,
        Err(e) => Err(
            Refusal::invalid("form", format!("the form could not be read: {e}"))
                .zh("表单无法读取，请刷新页面后重新填写"),
        ),
    };
    let (posted, file) = match read {
        Ok(r) => r,
        Err(r) => return refused(&v, r),
    };
    if let Err(page) = checked(&state, &v, &headers, &posted, &what).await {
        return page;
    }
    // The draft must exist and be the user's own before anything is stored.
    if let Err(r) = state.app().draft(&v.actor, &draft_id).await {
        return refused(&v, r);
    }
    let mut fields = compact(form_pairs(&posted));
    let here = format!("/ui/drafts/{draft_id}");
    let mut notes = Vec::new();
    if let Some((file_name, bytes)) = file {
        let title = super::actions::posted(&posted, "upload_title").unwrap_or_default();
        match state
            .app()
            .store_attachment(&v.actor, title, &file_name, bytes)
            .await
        {
            Ok(e) => {
                let i = forms::table_len(&fields, "form.evidence");
                let rule = super::actions::posted(&posted, "upload_rule")
                    .filter(|r| RULE_IDS.iter().any(|(c, _)| c == r))
                    .unwrap_or_default();
                for (c, value) in [
                    ("rule", rule.to_string()),
                    ("title", e.title.clone()),
                    ("reference", e.reference.clone()),
                    ("sha256", e.sha256.clone().unwrap_or_default()),
                    ("media_type", e.media_type.clone().unwrap_or_default()),
                    ("size", e.size.map(|s| s.to_string()).unwrap_or_default()),
                ] {
                    fields.push((format!("form.evidence.{i}.{c}"), value));
                }
                notes.push(format!("{}{}", v.t("已上传：", "Uploaded: "), e.title));
            }
            Err(r) => {
                // The typed fields are kept even when the file is refused.
                let _ = state.app().save_draft(&v.actor, &draft_id, fields).await;
                flash(&state, &v, refusal_flash(&v, &r));
                return Redirect::to(&here).into_response();
            }
        }
    }
    if let Err(r) = state
        .app()
        .save_draft(&v.actor, &draft_id, fields.clone())
        .await
    {
        return refused(&v, r);
    }
    let op = super::actions::posted(&posted, "op").unwrap_or("save");
    if op != "submit" {
        notes.insert(0, v.t("已暂存。", "Saved.").to_string());
        flash(
            &state,
            &v,
            Flash {
                ok: true,
                text: notes.join(" "),
                code: None,
            },
        );
        let anchor = if op == "preview" { "#preview" } else { "" };
        return Redirect::to(&format!("{here}{anchor}")).into_response();
    }
    match submit(&state, &v, &draft_id, &fields).await {
        Ok((platform_id, warnings)) => {
            let _ = state.app().delete_draft(&v.actor, &draft_id).await;
            let mut text = format!("{}{platform_id}", v.t("申报已提交：", "Submitted: "));
            for w in warnings {
                text.push_str(&format!(" ⚠ {w}"));
            }
            flash(
                &state,
                &v,
                Flash {
                    ok: true,
                    text,
                    code: None,
                },
            );
            Redirect::to(&format!("/ui/platforms/{platform_id}")).into_response()
        }
        Err(r) => {
            flash(&state, &v, refusal_flash(&v, &r));
            Redirect::to(&format!("{here}#preview")).into_response()
        }
    }
}

/// The merge patch (RFC 7396) that turns `old` into `new`.
fn merge_patch(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = Map::new();
            for (k, nv) in n {
                match o.get(k) {
                    Some(ov) if ov == nv => {}
                    Some(ov) => {
                        patch.insert(k.clone(), merge_patch(ov, nv));
                    }
                    None => {
                        patch.insert(k.clone(), nv.clone());
                    }
                }
            }
            for k in o.keys().filter(|k| !n.contains_key(*k)) {
                patch.insert(k.clone(), Value::Null);
            }
            Value::Object(patch)
        }
        (_, n) => n.clone(),
    }
}

/// Submits the draft (or the amendment it holds) as the API would: the command id follows from
/// the draft and the moment it was saved, so a form sent twice is one application.
async fn submit(
    state: &AppState,
    v: &Viewer,
    draft_id: &str,
    fields: &[(String, String)],
) -> Result<(String, Vec<String>), Refusal> {
    let form = read_form(fields)?;
    let amends = super::actions::posted(fields, "amends").map(str::to_string);
    let command_id = Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        format!(
            "{}/{draft_id}/{}",
            v.actor.id,
            serde_json::to_string(fields).unwrap_or_default()
        )
        .as_bytes(),
    );
    let (platform_id, kind, body) = match &amends {
        Some(platform_id) => {
            let loaded = state
                .app()
                .readable_platform(&v.actor, platform_id, "amend")
                .await?;
            let old = serde_json::to_value(loaded.state.form.as_ref()).unwrap_or_default();
            let new = serde_json::to_value(&form).unwrap_or_default();
            (
                platform_id.clone(),
                CommandKind::AmendApplication,
                json!({ "changes": merge_patch(&old, &new) }),
            )
        }
        None => {
            let round_id = super::actions::posted(fields, "round_id").ok_or_else(|| {
                Refusal::invalid("round_id", "choose the round applied in").zh("请选择申报批次")
            })?;
            state
                .app()
                .check_attachments(&form.evidence, "form.evidence")
                .await?;
            (
                format!("p-{}", draft_id.trim_start_matches("d-")),
                CommandKind::SubmitApplication,
                json!({ "round_id": round_id, "form": form }),
            )
        }
    };
    let command = commands::platform_command(kind, "", body)?;
    let req = CommandRequest {
        command_id,
        business_date: None,
        expected_version: None,
        correlation_id: None,
        causation_id: None,
        target: Target::Platform {
            platform_id: platform_id.clone(),
            command,
        },
    };
    let outcome = commands::run(state, &v.actor, req).await?;
    Ok((platform_id, outcome.warnings))
}

/// POST /ui/drafts/{id}/deletion
pub(super) async fn delete(
    State(state): State<AppState>,
    Path(draft_id): Path<String>,
    v: Viewer,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let posted = form.map(|Form(f)| f).unwrap_or_default();
    let what = format!("POST /ui/drafts/{draft_id}/deletion");
    if let Err(page) = checked(&state, &v, &headers, &posted, &what).await {
        return page;
    }
    if super::actions::posted(&posted, "confirm") != Some("yes") {
        return refused(
            &v,
            Refusal::invalid("confirm", "tick the box to delete the draft")
                .zh("请勾选确认后再删除草稿"),
        );
    }
    match state.app().delete_draft(&v.actor, &draft_id).await {
        Ok(()) => {
            flash(
                &state,
                &v,
                Flash {
                    ok: true,
                    text: v.t("暂存已删除。", "Draft deleted.").to_string(),
                    code: None,
                },
            );
            Redirect::to("/ui/apply").into_response()
        }
        Err(r) => refused(&v, r),
    }
}

/// A file as a download: never rendered in the dashboard's origin (attachment, no sniffing,
/// a sandbox if a browser opens it anyway).
fn download(file: roster_domain::store::StoredFile, name: &str) -> Response {
    let ext = match file.media_type.as_str() {
        "application/pdf" => "pdf",
        "image/png" => "png",
        _ => "jpg",
    };
    let ascii: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    let fallback = if ascii.is_empty() {
        format!("{}.{ext}", &file.sha256[..12])
    } else {
        ascii
    };
    (
        [
            (header::CONTENT_TYPE, file.media_type.clone()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"),
            ),
            (header::CONTENT_SECURITY_POLICY, "sandbox".to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        file.bytes,
    )
        .into_response()
}

/// GET /ui/drafts/{id}/files/{sha256}
pub(super) async fn draft_file(
    State(state): State<AppState>,
    Path((draft_id, sha256)): Path<(String, String)>,
    v: Viewer,
) -> Response {
    match state
        .app()
        .draft_attachment(&v.actor, &draft_id, &sha256)
        .await
    {
        Ok(file) => {
            let name = file.sha256[..12].to_string();
            download(file, &name)
        }
        Err(r) => refused(&v, r),
    }
}

/// GET /ui/platforms/{id}/files/{sha256}: for whoever may read the platform.
pub(super) async fn platform_file(
    State(state): State<AppState>,
    Path((platform_id, sha256)): Path<(String, String)>,
    v: Viewer,
) -> Response {
    let what = format!("GET /ui/platforms/{platform_id}/files/{sha256}");
    match state
        .app()
        .platform_attachment(&v.actor, &platform_id, &sha256, &what)
        .await
    {
        Ok((evidence, file)) => download(file, &evidence.reference),
        Err(r) => refused(&v, r),
    }
}

/// The application (申报书) as printed for stamping: every section, the evidence list, and the
/// boxes for the seal and the signatures; the page has no navigation when printed.
pub(super) async fn print(
    State(state): State<AppState>,
    Path(platform_id): Path<String>,
    v: Viewer,
) -> Response {
    let what = format!("GET /ui/platforms/{platform_id}/print");
    let loaded = match super::readable_or_page(&state, &v, &platform_id, &what).await {
        Ok(l) => l,
        Err(page) => return page,
    };
    let p = &loaded.state;
    let Some(form) = p.form.as_ref() else {
        return refused(
            &v,
            Refusal::not_found(format!("no application {platform_id}")),
        );
    };
    let pairs = form_to_pairs(form);
    let get = |name: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let body = html! {
        div.print-doc {
            p.doc-title { (v.t("生物制造中试能力建设平台申请表", "Application: biomanufacturing pilot platform")) }
            p.muted {
                (v.t("平台编号 ", "Platform ")) (platform_id)
                @if let Some(r) = &p.round_id { " · " (v.t("批次 ", "round ")) (r) }
                @if let Some(d) = p.submitted_on { " · " (v.t("提交日期 ", "submitted ")) (d) }
                " · " (v.t("打印日期 ", "printed ")) (state.app().today())
            }
            @for s in SECTIONS {
                section.print-section {
                    h2 { (v.t(s.title.zh, s.title.en)) }
                    @for field in s.fields {
                        @match &field.input {
                            Input::Table(columns) => {
                                @let n = forms::table_len(&pairs, field.name);
                                p.label { (v.t(field.label.zh, field.label.en)) }
                                @if n == 0 { p.muted { "—" } } @else {
                                    table.print-table {
                                        thead { tr { th { "#" } @for c in columns.iter().filter(|c| !matches!(c.input, Input::Hidden { .. })) { th { (v.t(c.label.zh, c.label.en)) } } } }
                                        tbody { @for i in 0..n { tr {
                                            td { (i + 1) }
                                            @for c in columns.iter().filter(|c| !matches!(c.input, Input::Hidden { .. })) {
                                                td { @for t in get(&format!("{}.{i}.{}", field.name, c.name)) { (shown(&v, c, t)) } }
                                            }
                                        } } }
                                    }
                                }
                            }
                            _ => {
                                @let texts = get(field.name);
                                div.print-row {
                                    span.label { (v.t(field.label.zh, field.label.en)) }
                                    span.value { @if texts.is_empty() { "—" } @else { (texts.iter().map(|t| shown(&v, field, t)).collect::<Vec<_>>().join("、")) } }
                                }
                            }
                        }
                    }
                }
            }
            section.print-section.stamp {
                p { (v.t("本单位承诺所填内容及佐证材料真实、准确、完整。", "We declare the above and the supporting documents true, accurate and complete.")) }
                div.sign { span { (v.t("法定代表人（签字）：", "Legal representative (signature):")) } span { (v.t("申报单位（盖章）：", "Applying unit (seal):")) } span { (v.t("日期：", "Date:")) } }
            }
        }
        p.no-print { a href={"/ui/platforms/" (platform_id)} { (v.t("返回平台页面", "Back to the platform")) } " · " (v.t("用浏览器的“打印”生成申报书（可另存为PDF）。", "Use the browser's Print to produce the document (or save it as PDF).")) }
    };
    page(&v, v.t("申报书", "Application"), body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::test_pairs as posted;

    fn sample_pairs() -> Vec<(String, String)> {
        let form = roster_domain::samples::gd_form();
        form_to_pairs(&form)
    }

    #[test]
    fn every_field_names_a_field_of_the_form() {
        // A stored form written out as fields and read back is the same form: no field of the
        // page is named differently from the form's, and none of the form is left out.
        let mut form = roster_domain::samples::gd_form();
        form.goals = Some("三年内服务企业100家\n孵化产品20个".into());
        form.applicant.address = Some("深圳市南山区".into());
        form.applicant.contact = Some(roster_domain::form::Contact {
            name: "王五".into(),
            phone: Some("0755-12345678".into()),
            email: None,
        });
        form.equipment_value_cny = Some(roster_domain::values::Cny(56_000_000));
        form.evidence = vec![roster_domain::form::Evidence {
            rule: Some("G-5".into()),
            title: "安全评价报告".into(),
            reference: "安评.pdf".into(),
            sha256: Some("a".repeat(64)),
            media_type: Some("application/pdf".into()),
            size: Some(1234),
        }];
        let pairs = form_to_pairs(&form);
        assert_eq!(read_form(&pairs).unwrap(), form);
    }

    #[test]
    fn a_blank_table_row_is_left_out_and_a_bad_cell_is_named() {
        let mut pairs = sample_pairs();
        pairs.push(("form.equipment.vessels.7.name".into(), "  ".into()));
        let form = read_form(&pairs).unwrap();
        assert_eq!(form, roster_domain::samples::gd_form());
        pairs.push(("form.equipment.vessels.8.volume_l".into(), "-3".into()));
        pairs.push((
            "form.equipment.vessels.8.kind".into(),
            "fermentation".into(),
        ));
        let r = read_form(&pairs).unwrap_err();
        assert_eq!(
            r.field.as_deref(),
            Some("form.equipment.vessels[8].volume_l")
        );
    }

    #[test]
    fn an_unfinished_form_names_what_is_missing() {
        let r = read_form(&posted(&[("form.applicant.name", "某单位")])).unwrap_err();
        assert!(
            r.field.as_deref().unwrap().starts_with("form.applicant"),
            "{r:?}"
        );
        let r = read_form(&posted(&[("form.staffing.management", "3")])).unwrap_err();
        assert!(
            r.message.contains("professor_engineers") || r.message.contains("applicant"),
            "{r:?}"
        );
    }

    #[test]
    fn blank_rows_are_dropped_and_the_rest_numbered_from_zero() {
        let c = compact(posted(&[
            ("form.evidence.0.title", ""),
            ("form.evidence.0.rule", ""),
            ("form.evidence.1.title", "  "),
            ("form.evidence.2.title", "营业执照"),
            ("form.evidence.2.rule", "G-1"),
            ("form.equipment.vessels.5.name", "罐"),
            ("form.platform.name", "平台"),
        ]));
        assert_eq!(
            c,
            posted(&[
                ("form.evidence.0.title", "营业执照"),
                ("form.evidence.0.rule", "G-1"),
                ("form.equipment.vessels.0.name", "罐"),
                ("form.platform.name", "平台"),
            ])
        );
    }

    #[test]
    fn an_amendment_patches_what_changed_and_removes_what_was_cleared() {
        let old = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        let new = json!({"a": 1, "b": {"c": 5}, "e": [1, 2], "f": "x"});
        assert_eq!(
            merge_patch(&old, &new),
            json!({"b": {"c": 5, "d": null}, "e": [1, 2], "f": "x"})
        );
    }
}
