//! The dashboard's form of each command: its title, its fields and how each is entered. The
//! registry (`roster_domain::registry`) says who may issue a command and in which states; this
//! file says how a page asks for it, in one exhaustive match, so a command added to the registry
//! does not compile until it is given a form here or is declared API-only. The pages offer the
//! forms the registry allows to the viewer in the platform's state (`offered`), and `/ui/act`
//! reads a posted form back into the command's JSON fields (`fields`), which then parse into the
//! typed command exactly as an API request does.

use chrono::Datelike;
use maud::{html, Markup};
use roster_domain::error::Refusal;
use roster_domain::platform::Status;
use roster_domain::registry::CommandKind;
use roster_domain::values::Domain;
use serde_json::{json, Map, Value};

use super::Viewer;

/// A text in both languages of the dashboard.
#[derive(Clone, Copy)]
pub(super) struct Words {
    pub zh: &'static str,
    pub en: &'static str,
}

const fn w(zh: &'static str, en: &'static str) -> Words {
    Words { zh, en }
}

/// A value of a choice and its words.
pub(super) type Opt = (&'static str, Words);

/// How a field is entered, and so what JSON its text becomes.
pub(super) enum Input {
    /// One line of text: a string, left out when empty.
    Text,
    /// Several lines: an array of strings, one per non-empty line.
    Lines,
    /// A whole number in a range: an integer.
    Number { min: i64, max: i64 },
    /// An amount in yuan: a whole number from 0.
    Yuan,
    /// A year of the programme, from 2025 to this year; it starts at this year.
    Year,
    /// A calendar date (YYYY-MM-DD); `today` starts it at today's date.
    Date { today: bool },
    /// A choice among values: the chosen value's string.
    Choice(&'static [Opt]),
    /// One of the nine domains (申报类别, RULES.md §3): its code.
    Domain,
    /// Yes or no: a boolean.
    YesNo,
    /// A value the page sets (the review a conclusion is for): a string.
    Preset,
    /// An id the page makes up for a new record (`prefix-` and 8 hex digits): a string.
    NewId(&'static str),
    /// Several lines of free text: one string (a goal, a description).
    LongText,
    /// A quantity with decimals (an area in m², a volume in litres): a number from 0.
    Decimal,
    /// Any of several values, ticked: an array of the ticked values' strings.
    Many(&'static [Opt]),
    /// Any of the nine domains (申报类别), ticked: an array of their codes.
    Domains,
    /// A province (GB/T 2260 prefix, or `XPCC`): its code.
    Province,
    /// Kept in the page as it was (a file's hash): a string, or a number when `number`.
    Hidden { number: bool },
    /// A table of rows with these columns (a list of equipment, of evidence): an array of
    /// objects, one per row that is not blank; a page shows the rows given and blank ones.
    Table(&'static [Field]),
}

/// When a field is shown.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Shown {
    Always,
    /// Only for an application that fails a hard rule (the override of RULES.md §5).
    WhenRulesFail,
}

pub(super) struct Field {
    /// Its name in the command's JSON; a dot nests (`record.kind`).
    pub name: &'static str,
    pub label: Words,
    pub input: Input,
    /// Refused before the command is sent when left empty.
    pub required: bool,
    /// Required only when another field has this value (a failed review needs reasons).
    pub required_when: Option<(&'static str, &'static str)>,
    /// The text the field starts with.
    pub initial: Option<Words>,
    pub shown: Shown,
}

const fn field(name: &'static str, label: Words, input: Input) -> Field {
    Field {
        name,
        label,
        input,
        required: false,
        required_when: None,
        initial: None,
        shown: Shown::Always,
    }
}

const fn required(mut f: Field) -> Field {
    f.required = true;
    f
}

const fn required_when(mut f: Field, other: &'static str, value: &'static str) -> Field {
    f.required_when = Some((other, value));
    f
}

const fn initially(mut f: Field, words: Words) -> Field {
    f.initial = Some(words);
    f
}

/// What a form acts on besides its platform.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Subject {
    /// The platform itself.
    Platform,
    /// One open review of the platform (one form per open review).
    OpenReview,
    /// One incident of the platform not yet assessed (one form per incident).
    Incident,
}

/// A destructive act asks to be confirmed with a ticked box (no script needed): always, or
/// when a field has a value (a failed review).
pub(super) struct Confirm {
    pub label: Words,
    pub when: Option<(&'static str, &'static str)>,
}

/// A command's form on the pages.
pub(super) struct CommandForm {
    pub kind: CommandKind,
    /// Its name in a posted form (`action`) and its CSS class.
    pub action: &'static str,
    /// The summary a user opens the form with.
    pub title: Words,
    pub submit: Words,
    /// A destructive or negative act: shown in the warning colour.
    pub danger: bool,
    pub subject: Subject,
    pub fields: &'static [Field],
    pub confirm: Option<Confirm>,
    /// Offered in the rows of the application list too (a step of the funnel), not only on
    /// the platform's page.
    pub in_lists: bool,
    /// Done for several platforms at once from one table (`/ui/batch/<action>`): the fields
    /// given per row; the others are given once for the whole batch.
    pub batch: Option<&'static [&'static str]>,
}

const fn act(
    kind: CommandKind,
    action: &'static str,
    title: Words,
    submit: Words,
    fields: &'static [Field],
) -> CommandForm {
    CommandForm {
        kind,
        action,
        title,
        submit,
        danger: false,
        subject: Subject::Platform,
        fields,
        confirm: None,
        in_lists: false,
        batch: None,
    }
}

/// An act also done for a batch of platforms, with the fields given per row.
const fn batch(mut f: CommandForm, per_row: &'static [&'static str]) -> CommandForm {
    f.batch = Some(per_row);
    f
}

/// A step of the funnel: offered in the application list's rows as well.
const fn step(mut f: CommandForm) -> CommandForm {
    f.in_lists = true;
    f
}

const REASONS: Words = w("理由（每行一条）", "Reasons (one per line)");

const WITHDRAW: CommandForm = CommandForm {
    danger: true,
    confirm: Some(Confirm {
        label: w("确认撤回本次申报", "I withdraw this application"),
        when: None,
    }),
    ..act(
        CommandKind::WithdrawApplication,
        "withdraw",
        w("撤回申报", "Withdraw the application"),
        w("撤回", "Withdraw"),
        &[required(field(
            "reason",
            w("撤回原因", "Reason"),
            Input::Text,
        ))],
    )
};

const ENDORSE: CommandForm = step(act(
    CommandKind::EndorseByCity,
    "endorse",
    w("审核通过，报送省级", "Endorse and forward to the province"),
    w("提交审核意见", "Submit endorsement"),
    &[initially(
        required(field("opinion", w("审核意见", "Opinion"), Input::Text)),
        w("经审核，情况属实，同意推荐", "Verified; endorsed"),
    )],
));

const RECOMMEND: CommandForm = step(act(
    CommandKind::RecommendByProvince,
    "recommend",
    w("推荐", "Recommend"),
    w("提交推荐", "Submit recommendation"),
    &[
        initially(
            required(field("opinion", w("推荐意见", "Opinion"), Input::Text)),
            w("同意推荐", "Recommended"),
        ),
        field("rank", w("排序", "Rank"), Input::Number { min: 1, max: 5 }),
        Field {
            shown: Shown::WhenRulesFail,
            ..field(
                "override_reason",
                w(
                    "不符合硬性条件仍推荐的理由",
                    "Reason to recommend despite a failed rule",
                ),
                Input::Text,
            )
        },
    ],
));

const REJECT: CommandForm = CommandForm {
    danger: true,
    in_lists: true,
    ..act(
        CommandKind::RejectByProvince,
        "reject",
        w("不予推荐", "Reject"),
        w("不予推荐", "Reject"),
        &[required(field("reasons", REASONS, Input::Lines))],
    )
};

const EVALUATE: CommandForm = batch(
    step(act(
        CommandKind::RecordExpertEvaluation,
        "evaluate",
        w("录入专家评审结果", "Record the expert evaluation"),
        w("提交评审结果", "Record evaluation"),
        &[
            required(field(
                "score",
                w("评分（0–100）", "Score (0-100)"),
                Input::Number { min: 0, max: 100 },
            )),
            required(field("passed", w("是否通过", "Passed"), Input::YesNo)),
            field(
                "panel",
                w("评审专家（每行一位）", "Panel (one per line)"),
                Input::Lines,
            ),
            field("comments", w("评审意见", "Comments"), Input::Text),
        ],
    )),
    &["score", "passed", "comments"],
);

const NOTICE: CommandForm = batch(
    step(act(
        CommandKind::StartPublicNotice,
        "notice",
        w("开始公示", "Start the public notice"),
        w("开始公示", "Start notice"),
        &[
            required(field(
                "from",
                w("公示开始", "Notice from"),
                Input::Date { today: true },
            )),
            required(field(
                "until",
                w("公示截止", "Notice until"),
                Input::Date { today: false },
            )),
        ],
    )),
    &[],
);

const OBJECTION: CommandForm = step(act(
    CommandKind::RecordNoticeObjection,
    "objection",
    w("登记公示异议", "Record an objection"),
    w("登记异议", "Record objection"),
    &[
        required(field(
            "summary",
            w("异议内容摘要", "Summary of the objection"),
            Input::Text,
        )),
        required(field("upheld", w("异议是否成立", "Upheld"), Input::YesNo)),
        field(
            "objection_id",
            w("公众异议编号（如有）", "Objection id (if filed online)"),
            Input::Text,
        ),
    ],
));

const LIST: CommandForm = batch(
    step(act(
        CommandKind::ListPlatform,
        "list",
        w("公示期满，入列", "List (after the notice)"),
        w("确认入列", "List the platform"),
        &[],
    )),
    &[],
);

const SERVICE_KINDS: &[Opt] = &[
    ("enterprise_served", w("服务企业", "enterprise served")),
    ("product_incubated", w("孵化产品", "product incubated")),
    (
        "project_industrialized",
        w("项目产业化", "project industrialised"),
    ),
    ("enterprise_spun_off", w("孵化企业", "enterprise spun off")),
];

/// The pilot services a platform offers (`PilotService`, same codes and order).
const PILOT_SERVICES: &[Opt] = &[
    (
        "strain_development",
        w("菌种构建与改造", "strain development"),
    ),
    ("process_development", w("工艺开发", "process development")),
    ("scale_up", w("中试放大", "scale-up")),
    (
        "contract_manufacturing",
        w("委托生产（CDMO）", "contract manufacturing"),
    ),
    ("analysis_testing", w("分析检测", "analysis and testing")),
    (
        "engineering_design",
        w("工程设计与装备", "engineering design"),
    ),
    ("regulatory", w("注册申报与合规", "regulatory")),
    ("equipment_sharing", w("设备共享", "equipment sharing")),
    ("training", w("人才培训", "training")),
];

const SERVICE_OFFER: CommandForm = act(
    CommandKind::UpdateServiceOffer,
    "service-offer",
    w(
        "更新中试服务（公开）",
        "Update the services offered (public)",
    ),
    w("更新", "Update"),
    &[
        required(field(
            "services",
            w("提供的中试服务", "Services offered"),
            Input::Many(PILOT_SERVICES),
        )),
        field(
            "description",
            w(
                "服务说明（产能、周期、合作方式）",
                "In your words (capacity, lead times, terms)",
            ),
            Input::LongText,
        ),
        required(field(
            "accepting_orders",
            w("目前是否接单", "Taking orders now"),
            Input::YesNo,
        )),
    ],
);

const NEED_ANSWERS: &[Opt] = &[
    ("interested", w("有意对接", "interested")),
    ("declined", w("婉拒", "declined")),
    (
        "contracted",
        w("已签约（计入服务企业）", "contracted (a served enterprise)"),
    ),
];

const NEED_RESPONSE: CommandForm = act(
    CommandKind::RespondToNeed,
    "need-response",
    w("答复中试需求", "Answer a need"),
    w("答复", "Answer"),
    &[
        required(field("need_id", w("需求编号", "Need id"), Input::Text)),
        required(field(
            "answer.kind",
            w("答复", "Answer"),
            Input::Choice(NEED_ANSWERS),
        )),
        field(
            "answer.signed_on",
            w("签约日期（已签约）", "Signed on (contracted)"),
            Input::Date { today: true },
        ),
        field(
            "answer.contract_cny",
            w("合同金额（元，已签约）", "Contract (yuan, contracted)"),
            Input::Yuan,
        ),
        field("note", w("说明", "Note"), Input::LongText),
    ],
);

const SERVICE: CommandForm = act(
    CommandKind::RecordService,
    "service",
    w("登记服务成果", "Record a service"),
    w("登记", "Record"),
    &[
        required(field(
            "dated",
            w("日期", "Date"),
            Input::Date { today: true },
        )),
        required(field(
            "record.kind",
            w("类别", "Kind"),
            Input::Choice(SERVICE_KINDS),
        )),
        field(
            "record.enterprise_name",
            w(
                "企业名称（服务企业、孵化企业）",
                "Enterprise (served or spun off)",
            ),
            Input::Text,
        ),
        field(
            "record.enterprise_uscc",
            w("企业统一社会信用代码", "Enterprise's USCC"),
            Input::Text,
        ),
        field(
            "record.contract_cny",
            w(
                "合同金额（元，服务企业）",
                "Contract (yuan, enterprise served)",
            ),
            Input::Yuan,
        ),
        field(
            "record.valuation_cny",
            w("估值（元，孵化企业）", "Valuation (yuan, spun off)"),
            Input::Yuan,
        ),
        field(
            "record.product_name",
            w("产品名称（孵化产品）", "Product (incubated)"),
            Input::Text,
        ),
        field(
            "record.owner_uscc",
            w("产品所属企业信用代码", "Product owner's USCC"),
            Input::Text,
        ),
        field(
            "record.domain",
            w("产品领域", "Product domain"),
            Input::Domain,
        ),
        field(
            "record.project",
            w("项目名称（项目产业化）", "Project (industrialised)"),
            Input::Text,
        ),
        field(
            "record.revenue_cny",
            w("产值（元，项目产业化）", "Revenue (yuan, industrialised)"),
            Input::Yuan,
        ),
    ],
);

const INCIDENT_KINDS: &[Opt] = &[
    ("strain_leak", w("菌种泄露", "strain leak")),
    ("safety", w("安全事故", "safety")),
    ("environmental", w("环境污染事故", "environmental")),
    ("other", w("其他", "other")),
];

const INCIDENT_CLASSES: &[Opt] = &[
    ("general", w("一般", "general")),
    ("larger", w("较大", "larger")),
    ("major", w("重大", "major")),
    ("especially_major", w("特别重大", "especially major")),
];

const INCIDENT: CommandForm = CommandForm {
    danger: true,
    ..act(
        CommandKind::ReportIncident,
        "incident",
        w("报告事故", "Report an incident"),
        w("报告", "Report"),
        &[
            field(
                "incident_id",
                w("事故编号", "Incident id"),
                Input::NewId("inc"),
            ),
            required(field(
                "kind",
                w("类别", "Kind"),
                Input::Choice(INCIDENT_KINDS),
            )),
            required(field(
                "occurred_on",
                w("发生日期", "Occurred on"),
                Input::Date { today: true },
            )),
            required(field(
                "description",
                w("经过", "What happened"),
                Input::Text,
            )),
            field(
                "direct_loss_cny",
                w("直接经济损失（元）", "Direct loss (yuan)"),
                Input::Yuan,
            ),
            field(
                "severity",
                w("初报等级", "Stated class"),
                Input::Choice(INCIDENT_CLASSES),
            ),
        ],
    )
};

const ASSESS: CommandForm = CommandForm {
    subject: Subject::Incident,
    ..act(
        CommandKind::AssessIncident,
        "assess",
        w("事故定级", "Assess the incident"),
        w("提交定级", "Record assessment"),
        &[
            field("incident_id", w("事故", "Incident"), Input::Preset),
            required(field(
                "direct_loss_cny",
                w("核定直接经济损失（元）", "Assessed direct loss (yuan)"),
                Input::Yuan,
            )),
            field(
                "deaths",
                w("死亡人数", "Deaths"),
                Input::Number {
                    min: 0,
                    max: 10_000,
                },
            ),
            field(
                "serious_injuries",
                w("重伤人数", "Serious injuries"),
                Input::Number {
                    min: 0,
                    max: 10_000,
                },
            ),
            required(field(
                "conclusion",
                w("调查结论", "Conclusion"),
                Input::Text,
            )),
        ],
    )
};

const OPEN_REVIEW: CommandForm = act(
    CommandKind::OpenReview,
    "open-review",
    w("启动复核", "Open a review"),
    w("启动复核", "Open review"),
    &[
        field(
            "review_id",
            w("复核编号", "Review id"),
            Input::NewId("review"),
        ),
        required(field(
            "trigger",
            w("起因", "Trigger"),
            Input::Choice(&[
                ("ad_hoc", w("专项复核", "ad hoc")),
                ("triennial", w("三年复核", "triennial")),
            ]),
        )),
        required(field(
            "due_on",
            w("截止日期", "Due on"),
            Input::Date { today: false },
        )),
    ],
);

const CONCLUDE: CommandForm = CommandForm {
    subject: Subject::OpenReview,
    confirm: Some(Confirm {
        label: w(
            "确认：复核不通过将撤销该平台",
            "I understand a failed review delists the platform",
        ),
        when: Some(("outcome", "failed")),
    }),
    ..act(
        CommandKind::ConcludeReview,
        "conclude",
        w("作出复核结论", "Conclude"),
        w("提交结论", "Submit conclusion"),
        &[
            field("review_id", w("复核", "Review"), Input::Preset),
            required(field(
                "outcome",
                w("结论", "Outcome"),
                Input::Choice(&[
                    ("passed", w("通过", "passed")),
                    ("failed", w("不通过（撤销）", "failed (delists)")),
                ]),
            )),
            required_when(field("reasons", REASONS, Input::Lines), "outcome", "failed"),
        ],
    )
};

const ANNUAL: CommandForm = batch(
    act(
        CommandKind::RecordAnnualEvaluation,
        "annual",
        w("年度评价（星级）", "Annual evaluation (stars)"),
        w("提交评价", "Record evaluation"),
        &[
            required(field("year", w("年度", "Year"), Input::Year)),
            required(field(
                "stars",
                w("服务能力星级", "Stars"),
                Input::Number { min: 1, max: 5 },
            )),
            field("findings", w("评价意见", "Findings"), Input::Text),
        ],
    ),
    &["stars", "findings"],
);

const DELIST_REASONS: &[Opt] = &[
    ("review_failed", w("复核不通过", "review failed")),
    (
        "strain_leak_major_loss",
        w("菌种泄露造成重大损失", "strain leak with major loss"),
    ),
    (
        "insufficient_service",
        w("服务能力不足", "insufficient service"),
    ),
    ("serious_violation", w("严重违法违规", "serious violation")),
    ("voluntary", w("主动申请退出", "voluntary")),
    ("other", w("其他", "other")),
];

const DELIST: CommandForm = CommandForm {
    danger: true,
    confirm: Some(Confirm {
        label: w(
            "确认撤销该平台（不可撤回）",
            "I delist this platform (cannot be undone)",
        ),
        when: None,
    }),
    ..act(
        CommandKind::DelistPlatform,
        "delist",
        w("撤销", "Delist"),
        w("撤销平台", "Delist the platform"),
        &[
            required(field(
                "reason",
                w("撤销原因", "Reason"),
                Input::Choice(DELIST_REASONS),
            )),
            field(
                "area",
                w("违规领域", "Area of the violation"),
                Input::Choice(&[
                    ("ip", w("知识产权", "intellectual property")),
                    ("safety", w("安全", "safety")),
                    ("environment", w("环保", "environment")),
                    ("quality", w("质量", "quality")),
                ]),
            ),
            required(field("details", w("情况说明", "Details"), Input::Text)),
        ],
    )
};

/// The form of a command, or `None` for a command issued through the API only (and by the
/// system's policies). Exhaustive: a new command must be given its answer here.
pub(super) const fn form(kind: CommandKind) -> Option<&'static CommandForm> {
    match kind {
        CommandKind::WithdrawApplication => Some(&WITHDRAW),
        CommandKind::EndorseByCity => Some(&ENDORSE),
        CommandKind::RecommendByProvince => Some(&RECOMMEND),
        CommandKind::RejectByProvince => Some(&REJECT),
        CommandKind::RecordExpertEvaluation => Some(&EVALUATE),
        CommandKind::StartPublicNotice => Some(&NOTICE),
        CommandKind::RecordNoticeObjection => Some(&OBJECTION),
        // Filed on the public face (`/public/notice`), never by a signed-in user.
        CommandKind::FileObjection => None,
        CommandKind::UpdateServiceOffer => Some(&SERVICE_OFFER),
        CommandKind::RespondToNeed => Some(&NEED_RESPONSE),
        // Posted on the public face (`/public/needs`), never by a signed-in user.
        CommandKind::PostNeed => None,
        CommandKind::ListPlatform => Some(&LIST),
        CommandKind::RecordService => Some(&SERVICE),
        CommandKind::ReportIncident => Some(&INCIDENT),
        CommandKind::AssessIncident => Some(&ASSESS),
        CommandKind::OpenReview => Some(&OPEN_REVIEW),
        CommandKind::ConcludeReview => Some(&CONCLUDE),
        CommandKind::RecordAnnualEvaluation => Some(&ANNUAL),
        CommandKind::DelistPlatform => Some(&DELIST),
        // The application form has a page of its own; a retraction names a recorded service;
        // rounds and target sets are not acts on a platform.
        // The application has its own pages (`apply.rs`), the services batch its upload.
        CommandKind::SubmitApplication
        | CommandKind::RecordServices
        | CommandKind::AmendApplication
        | CommandKind::RetractService
        | CommandKind::OpenRound
        | CommandKind::DefineTargetSet
        | CommandKind::RetireTargetSet => None,
        // The bioreactor competition's commands act on a call, not a platform.
        CommandKind::OpenCall
        | CommandKind::SubmitBid
        | CommandKind::WithdrawBid
        | CommandKind::RecommendBid
        | CommandKind::DeclineBid
        | CommandKind::EvaluateBid
        | CommandKind::ShortlistBid
        | CommandKind::PublishList
        | CommandKind::SignAgreement
        | CommandKind::ReportMilestone
        | CommandKind::FlagMilestoneOverdue
        | CommandKind::RecordThirdPartyEvaluation
        | CommandKind::DeclareSuccess => None,
    }
}

/// Every command that has a form, in the registry's order.
pub(super) fn all() -> impl Iterator<Item = &'static CommandForm> {
    CommandKind::ALL.iter().filter_map(|k| form(*k))
}

/// The form posted under `action`.
pub(super) fn by_action(action: &str) -> Option<&'static CommandForm> {
    all().find(|f| f.action == action)
}

/// The forms about `subject` that the registry lets this viewer issue on a platform in
/// `status`: the roles and states are the registry's, so the pages offer exactly what the
/// command service would accept from them (jurisdiction and deadlines are still checked there).
pub(super) fn offered(
    v: &Viewer,
    subject: Subject,
    status: Status,
) -> impl Iterator<Item = &'static CommandForm> + '_ {
    all().filter(move |f| {
        f.subject == subject
            && f.kind.roles().contains(&v.actor.role)
            && f.kind.allowed_in().contains(&status)
    })
}

/// The posted text of `name`, trimmed ("" when absent).
fn text<'a>(posted: &'a [(String, String)], name: &str) -> &'a str {
    posted
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or_default()
}

/// Sets `value` at a dotted path of `out`.
/// Every posted value of `name` (ticked boxes), trimmed, blanks left out.
fn all_texts<'a>(posted: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    posted
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
        .collect()
}

/// The rows of a table field as posted (`{name}.{row}.{column}`), by row number, each with its
/// cells named by column alone.
#[allow(clippy::type_complexity)]
fn table_rows(
    posted: &[(String, String)],
    name: &str,
) -> Result<std::collections::BTreeMap<usize, Vec<(String, String)>>, Refusal> {
    let mut rows: std::collections::BTreeMap<usize, Vec<(String, String)>> = Default::default();
    let prefix = format!("{name}.");
    for (k, v) in posted {
        let Some((row, column)) = k.strip_prefix(&prefix).and_then(|r| r.split_once('.')) else {
            continue;
        };
        let row: usize = row
            .parse()
            .ok()
            .filter(|r| *r < roster_domain::input::LIST_MAX_ENTRIES)
            .ok_or_else(|| {
                Refusal::invalid(
                    name,
                    format!(
                        "{name} has at most {} rows",
                        roster_domain::input::LIST_MAX_ENTRIES
                    ),
                )
                .zh(format!(
                    "至多 {} 行",
                    roster_domain::input::LIST_MAX_ENTRIES
                ))
            })?;
        rows.entry(row)
            .or_default()
            .push((column.to_string(), v.clone()));
    }
    Ok(rows)
}

/// The number of rows a table field has in a posted form (one past the highest row number).
pub(super) fn table_len(posted: &[(String, String)], name: &str) -> usize {
    table_rows(posted, name)
        .ok()
        .and_then(|rows| rows.keys().next_back().map(|r| r + 1))
        .unwrap_or(0)
}

fn insert(out: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            out.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let inner = out
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = inner {
                insert(inner, rest, value);
            }
        }
    }
}

/// The JSON object that `fields` stand for in a posted form: each field's text read as its
/// input says (a blank optional field is left out), nested by the dots of its name; the first
/// field that cannot be read, or a required one left blank, is refused by name.
pub(super) fn values(
    fields: &[Field],
    posted: &[(String, String)],
) -> Result<Map<String, Value>, Refusal> {
    let mut out = Map::new();
    for f in fields {
        let text = text(posted, f.name);
        let value = match &f.input {
            Input::Lines => {
                let lines: Vec<&str> = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect();
                if lines.is_empty() {
                    None
                } else {
                    Some(json!(lines))
                }
            }
            Input::Many(choices) => {
                let ticked = all_texts(posted, f.name);
                if let Some(bad) = ticked
                    .iter()
                    .find(|t| !choices.iter().any(|(c, _)| c == *t))
                {
                    let names: Vec<&str> = choices.iter().map(|(c, _)| *c).collect();
                    return Err(Refusal::invalid(
                        f.name,
                        format!("no {} '{bad}'; any of {}", f.name, names.join(", ")),
                    )
                    .zh(format!("“{bad}”不是“{}”的可选值", f.label.zh)));
                }
                (!ticked.is_empty()).then(|| json!(ticked))
            }
            Input::Domains => {
                let ticked = all_texts(posted, f.name);
                if let Some(bad) = ticked.iter().find(|t| Domain::parse(t).is_none()) {
                    let codes: Vec<&str> = Domain::ALL.iter().map(|d| d.code()).collect();
                    return Err(Refusal::invalid(
                        f.name,
                        format!("no domain '{bad}'; any of {}", codes.join(", ")),
                    )
                    .zh(format!("“{bad}”不是可选的领域")));
                }
                (!ticked.is_empty()).then(|| json!(ticked))
            }
            Input::Table(columns) => {
                let rows = table_rows(posted, f.name)?;
                let mut list = Vec::new();
                for (i, row) in rows {
                    if row.iter().all(|(_, v)| v.trim().is_empty()) {
                        continue;
                    }
                    let object = values(columns, &row).map_err(|mut r| {
                        r.field = Some(format!(
                            "{}[{i}].{}",
                            f.name,
                            r.field.as_deref().unwrap_or_default()
                        ));
                        r
                    })?;
                    list.push(Value::Object(object));
                }
                (!list.is_empty()).then_some(Value::Array(list))
            }
            _ if text.is_empty() => None,
            Input::Decimal => {
                let n = text
                    .replace([',', '，'], "")
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite() && *n >= 0.0)
                    .ok_or_else(|| {
                        Refusal::invalid(
                            f.name,
                            format!("{} '{text}' is not a number from 0", f.name),
                        )
                        .zh(format!(
                            "“{}”应填写不小于 0 的数字，而不是“{text}”",
                            f.label.zh
                        ))
                    })?;
                Some(json!(n))
            }
            Input::Province => {
                let p = roster_domain::values::Province::parse(text).ok_or_else(|| {
                    Refusal::invalid(f.name, format!("no province '{text}'"))
                        .zh(format!("没有省份“{text}”"))
                })?;
                Some(json!(p.code()))
            }
            Input::Hidden { number: true } => Some(json!(text.parse::<u64>().map_err(|_| {
                Refusal::invalid(f.name, format!("{} '{text}' is not a whole number", f.name))
                    .zh(format!("“{text}”不是整数"))
            })?)),
            Input::LongText | Input::Hidden { number: false } => Some(json!(text)),
            Input::Number { .. } | Input::Yuan | Input::Year => Some(json!(text
                .replace([',', '，'], "")
                .parse::<i64>()
                .map_err(|_| {
                    Refusal::invalid(f.name, format!("{} '{text}' is not a whole number", f.name))
                        .zh(format!("“{}”应填写整数，而不是“{text}”", f.label.zh))
                })?)),
            Input::Date { .. } => {
                chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                    Refusal::new(
                        roster_domain::error::code::IMPOSSIBLE_DATE,
                        format!("{} '{text}' is not a date (YYYY-MM-DD)", f.name),
                    )
                    .at(f.name)
                    .zh(format!(
                        "“{}”应填写日期（如 2025-07-01），而不是“{text}”",
                        f.label.zh
                    ))
                })?;
                Some(json!(text))
            }
            Input::Choice(choices) => {
                if !choices.iter().any(|(c, _)| *c == text) {
                    let names: Vec<&str> = choices.iter().map(|(c, _)| *c).collect();
                    return Err(Refusal::invalid(
                        f.name,
                        format!("no {} '{text}'; one of {}", f.name, names.join(", ")),
                    )
                    .zh(format!("“{text}”不是“{}”的可选值", f.label.zh)));
                }
                Some(json!(text))
            }
            Input::Domain => {
                if !Domain::ALL.iter().any(|d| d.code() == text) {
                    let codes: Vec<&str> = Domain::ALL.iter().map(|d| d.code()).collect();
                    return Err(Refusal::invalid(
                        f.name,
                        format!("no domain '{text}'; one of {}", codes.join(", ")),
                    )
                    .zh(format!("“{text}”不是可选的领域")));
                }
                Some(json!(text))
            }
            Input::YesNo => match text {
                "yes" => Some(json!(true)),
                "no" => Some(json!(false)),
                _ => {
                    return Err(Refusal::invalid(
                        f.name,
                        format!("{} '{text}' is neither yes nor no", f.name),
                    )
                    .zh(format!("“{}”只能选“是”或“否”", f.label.zh)))
                }
            },
            Input::Text | Input::Preset | Input::NewId(_) => Some(json!(text)),
        };
        let needed = f.required
            || f.required_when
                .is_some_and(|(other, value)| self::text(posted, other) == value);
        match value {
            Some(value) => insert(&mut out, f.name, value),
            None if needed => {
                return Err(Refusal::invalid(
                    f.name,
                    format!(
                        "{} ({}) is required{}",
                        f.name,
                        if matches!(f.input, Input::Lines) {
                            "at least one line"
                        } else {
                            "not empty"
                        },
                        f.required_when
                            .map(|(o, v)| format!(" when {o} is {v}"))
                            .unwrap_or_default()
                    ),
                )
                .zh(format!("“{}”为必填项", f.label.zh)))
            }
            None => {}
        }
    }
    Ok(out)
}

impl CommandForm {
    /// The form's own fields, for a platform that fails a hard rule or not.
    pub(super) fn render(
        &self,
        v: &Viewer,
        envelope: Markup,
        rules_fail: bool,
        today: chrono::NaiveDate,
    ) -> Markup {
        let class = if self.danger { "danger" } else { "primary" };
        html! {
            details class={"act " (self.action)} {
                summary { (v.t(self.title.zh, self.title.en)) }
                form method="post" action="/ui/act" class=(self.action) {
                    (envelope)
                    @for f in self.fields.iter().filter(|f| f.shown == Shown::Always || rules_fail) {
                        (f.render(v, today))
                    }
                    @if let Some(c) = &self.confirm {
                        label.confirm {
                            input type="checkbox" name="confirm" value="yes" required[c.when.is_none()];
                            " " (v.t(c.label.zh, c.label.en))
                        }
                    }
                    button class=(class) type="submit" { (v.t(self.submit.zh, self.submit.en)) }
                }
            }
        }
    }

    /// The posted fields as the command's JSON fields. A required field left empty, a number, a
    /// date or a choice that is not one, and an unconfirmed destructive act are refused here,
    /// naming the field, before anything is sent; everything else is the command's own parsing
    /// and the domain's rules.
    pub(super) fn fields(&self, posted: &[(String, String)]) -> Result<Value, Refusal> {
        let out = values(self.fields, posted)?;
        if let Some(c) = &self.confirm {
            let applies = c
                .when
                .is_none_or(|(other, value)| text(posted, other) == value);
            if applies && text(posted, "confirm") != "yes" {
                return Err(Refusal::invalid(
                    "confirm",
                    format!(
                        "{} must be confirmed: tick the box \"{}\"",
                        self.kind.name(),
                        c.label.zh
                    ),
                ));
            }
        }
        Ok(Value::Object(out))
    }
}

impl Field {
    /// The field with its label, as a form shows it.
    fn render(&self, v: &Viewer, today: chrono::NaiveDate) -> Markup {
        let control = self.control(v, today, self.name, self.required, &[]);
        html! {
            @match &self.input {
                Input::Preset | Input::NewId(_) => (control),
                _ => label { (v.t(self.label.zh, self.label.en)) (control) },
            }
        }
    }

    /// Its input element alone, posted under `name` (a batch table names one per row, and
    /// marks none required: a row left out of the batch need not be filled in).
    pub(super) fn control(
        &self,
        v: &Viewer,
        today: chrono::NaiveDate,
        name: &str,
        required: bool,
        posted: &[(String, String)],
    ) -> Markup {
        // What the field shows: the value posted (or saved) under its name, else its initial
        // text.
        let given = posted
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        let value = given.or_else(|| self.initial.map(|i| v.t(i.zh, i.en)));
        let ticked = all_texts(posted, name);
        html! {
            @match &self.input {
                Input::Preset => {}
                Input::NewId(prefix) => {
                    input type="hidden" name=(name) value={(prefix) "-" (&uuid::Uuid::new_v4().simple().to_string()[..8])};
                }
                Input::Hidden { .. } => input type="hidden" name=(name) value=[value];
                Input::Text => input type="text" name=(name) required[required] value=[value];
                Input::Lines => textarea name=(name) rows="2" required[required] { (value.unwrap_or_default()) }
                Input::LongText => textarea name=(name) rows="4" required[required] { (value.unwrap_or_default()) }
                Input::Number { min, max } => input type="number" name=(name) min=(min) max=(max) size="3" required[required] value=[value];
                Input::Yuan => input type="number" name=(name) min="0" step="1" inputmode="numeric" required[required] value=[value];
                Input::Decimal => input type="number" name=(name) min="0" step="any" inputmode="decimal" required[required] value=[value];
                Input::Year => input type="number" name=(name) min="2025" max=(today.year()) value=(value.map_or_else(|| today.year().to_string(), str::to_string)) required[required];
                Input::Date { today: start } => input type="date" name=(name) required[required] value=[value.map(str::to_string).or_else(|| start.then(|| today.to_string()))];
                Input::Choice(choices) => select name=(name) required[required] {
                    @if !self.required { option value="" { "—" } }
                    @for (c, words) in choices.iter() { option value=(c) selected[value == Some(*c)] { (v.t(words.zh, words.en)) } }
                }
                Input::Domain => select name=(name) required[required] {
                    @if !self.required { option value="" { "—" } }
                    @for d in Domain::ALL { option value=(d.code()) selected[value == Some(d.code())] { (v.t(d.name_zh(), d.code())) } }
                }
                Input::Province => select name=(name) required[required] {
                    @if !self.required { option value="" { "—" } }
                    @for p in roster_domain::values::Province::all() { option value=(p.code()) selected[value == Some(p.code())] { (v.t(p.name_zh(), p.name_en())) } }
                }
                Input::YesNo => select name=(name) required[required] {
                    @if !self.required { option value="" { "—" } }
                    option value="yes" selected[value == Some("yes")] { (v.t("是", "yes")) }
                    option value="no" selected[value == Some("no")] { (v.t("否", "no")) }
                }
                Input::Many(choices) => span.many {
                    @for (c, words) in choices.iter() {
                        label.tick { input type="checkbox" name=(name) value=(c) checked[ticked.contains(c)]; " " (v.t(words.zh, words.en)) }
                    }
                }
                Input::Domains => span.many {
                    @for d in Domain::ALL {
                        label.tick { input type="checkbox" name=(name) value=(d.code()) checked[ticked.contains(&d.code())]; " " (v.t(d.name_zh(), d.code())) }
                    }
                }
                Input::Table(columns) => {
                    @let rows = table_len(posted, name) + 2;
                    div.scroll { table.entry {
                        thead { tr { th { "#" } @for c in columns.iter().filter(|c| !matches!(c.input, Input::Hidden { .. })) { th { (v.t(c.label.zh, c.label.en)) } } } }
                        tbody { @for i in 0..rows {
                            tr {
                                td.muted {
                                    (i + 1)
                                    @for c in columns.iter().filter(|c| matches!(c.input, Input::Hidden { .. })) {
                                        (c.control(v, today, &format!("{name}.{i}.{}", c.name), false, posted))
                                    }
                                }
                                @for c in columns.iter().filter(|c| !matches!(c.input, Input::Hidden { .. })) {
                                    td { (c.control(v, today, &format!("{name}.{i}.{}", c.name), false, posted)) }
                                }
                            }
                        } }
                    } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pilot_services_offered_are_the_domains_services_in_order() {
        let codes: Vec<&str> = PILOT_SERVICES.iter().map(|(c, _)| *c).collect();
        let domain: Vec<&str> = roster_domain::commands::PilotService::ALL
            .iter()
            .map(|s| s.code())
            .collect();
        assert_eq!(codes, domain);
        for (code, words) in PILOT_SERVICES {
            let s = roster_domain::commands::PilotService::parse(code).unwrap();
            assert_eq!(words.zh, s.name_zh());
        }
    }

    #[test]
    fn actions_are_unique_and_name_a_command_with_a_form() {
        let mut seen = std::collections::HashSet::new();
        for f in all() {
            assert!(seen.insert(f.action), "{} twice", f.action);
            assert_eq!(by_action(f.action).map(|g| g.kind), Some(f.kind));
            assert!(
                f.kind.route().is_some(),
                "{} is not a platform command",
                f.kind.name()
            );
        }
        assert!(by_action("nothing").is_none());
    }

    use crate::web::test_pairs as posted;

    #[test]
    fn a_posted_form_becomes_the_commands_fields() {
        let v = RECOMMEND
            .fields(&posted(&[
                ("opinion", " 同意 "),
                ("rank", "2"),
                ("override_reason", ""),
                ("csrf", "ignored"),
            ]))
            .unwrap();
        assert_eq!(v, json!({"opinion": "同意", "rank": 2}));
        let v = CONCLUDE
            .fields(&posted(&[
                ("review_id", "r-1"),
                ("outcome", "failed"),
                ("reasons", "a\n\n b \n"),
                ("confirm", "yes"),
            ]))
            .unwrap();
        assert_eq!(
            v,
            json!({"review_id": "r-1", "outcome": "failed", "reasons": ["a", "b"]})
        );
        assert_eq!(LIST.fields(&[]).unwrap(), json!({}));
    }

    #[test]
    fn an_empty_required_field_a_bad_number_and_a_bad_choice_name_their_field() {
        let r = REJECT.fields(&posted(&[("reasons", " \n ")])).unwrap_err();
        assert_eq!(r.field.as_deref(), Some("reasons"));
        let r = RECOMMEND
            .fields(&posted(&[("opinion", "x"), ("rank", "two")]))
            .unwrap_err();
        assert_eq!(r.field.as_deref(), Some("rank"));
        assert!(r.message.contains("'two'"), "{}", r.message);
        let r = RECOMMEND.fields(&posted(&[("rank", "1")])).unwrap_err();
        assert_eq!(r.field.as_deref(), Some("opinion"));
        let r = CONCLUDE
            .fields(&posted(&[("review_id", "r"), ("outcome", "maybe")]))
            .unwrap_err();
        assert_eq!(r.field.as_deref(), Some("outcome"));
    }

    /// A filled-in posting of every form: each becomes a command the API would accept, so a
    /// field named differently from the command's own field is caught here.
    #[test]
    fn every_form_filled_in_parses_into_its_command() {
        let uscc = roster_domain::samples::GD_USCC;
        let samples: &[(&str, &[(&str, &str)])] = &[
            ("withdraw", &[("reason", "改期申报"), ("confirm", "yes")]),
            ("endorse", &[("opinion", "同意")]),
            (
                "recommend",
                &[("opinion", "同意"), ("rank", "1"), ("override_reason", "r")],
            ),
            ("reject", &[("reasons", "G-4")]),
            (
                "evaluate",
                &[
                    ("score", "80"),
                    ("passed", "yes"),
                    ("panel", "张三\n李四"),
                    ("comments", "良好"),
                ],
            ),
            ("notice", &[("from", "2025-09-01"), ("until", "2025-09-07")]),
            ("objection", &[("summary", "场地不符"), ("upheld", "no")]),
            ("list", &[]),
            (
                "service",
                &[
                    ("dated", "2026-01-10"),
                    ("record.kind", "enterprise_served"),
                    ("record.enterprise_name", "某生物公司"),
                    ("record.enterprise_uscc", uscc),
                    ("record.contract_cny", "1,000,000"),
                ],
            ),
            (
                "incident",
                &[
                    ("incident_id", "inc-1"),
                    ("kind", "strain_leak"),
                    ("occurred_on", "2026-03-01"),
                    ("description", "发酵罐泄漏"),
                    ("direct_loss_cny", "50000"),
                    ("severity", "general"),
                ],
            ),
            (
                "assess",
                &[
                    ("incident_id", "inc-1"),
                    ("direct_loss_cny", "50000"),
                    ("deaths", "0"),
                    ("serious_injuries", "0"),
                    ("conclusion", "一般事故"),
                ],
            ),
            (
                "open-review",
                &[
                    ("review_id", "review-1"),
                    ("trigger", "ad_hoc"),
                    ("due_on", "2026-06-30"),
                ],
            ),
            (
                "conclude",
                &[
                    ("review_id", "review-1"),
                    ("outcome", "failed"),
                    ("reasons", "整改不到位"),
                    ("confirm", "yes"),
                ],
            ),
            (
                "annual",
                &[("year", "2026"), ("stars", "4"), ("findings", "良好")],
            ),
            (
                "service-offer",
                &[
                    ("services", "scale_up"),
                    ("services", "analysis_testing"),
                    ("description", "万升级发酵放大"),
                    ("accepting_orders", "yes"),
                ],
            ),
            (
                "need-response",
                &[
                    ("need_id", "need-0123456789ab"),
                    ("answer.kind", "contracted"),
                    ("answer.signed_on", "2026-01-10"),
                    ("answer.contract_cny", "500,000"),
                    ("note", "已签订中试合同"),
                ],
            ),
            (
                "delist",
                &[
                    ("reason", "serious_violation"),
                    ("area", "safety"),
                    ("details", "重大安全事故"),
                    ("confirm", "yes"),
                ],
            ),
        ];
        for f in all() {
            let (_, pairs) = samples
                .iter()
                .find(|(a, _)| *a == f.action)
                .unwrap_or_else(|| panic!("no sample posting of {}", f.action));
            let fields = f
                .fields(&posted(pairs))
                .unwrap_or_else(|r| panic!("{}: {r:?}", f.action));
            let command = crate::commands::platform_command(f.kind, "", fields)
                .unwrap_or_else(|r| panic!("{}: {r:?}", f.action));
            assert_eq!(command.kind(), f.kind);
        }
    }

    #[test]
    fn a_failed_review_needs_reasons_and_a_confirmation_a_passed_one_neither() {
        let passed = posted(&[("review_id", "r"), ("outcome", "passed")]);
        assert!(CONCLUDE.fields(&passed).is_ok());
        let failed = posted(&[("review_id", "r"), ("outcome", "failed")]);
        let r = CONCLUDE.fields(&failed).unwrap_err();
        assert_eq!(r.field.as_deref(), Some("reasons"));
        let mut with_reason = failed.clone();
        with_reason.push(("reasons".into(), "整改不到位".into()));
        let r = CONCLUDE.fields(&with_reason).unwrap_err();
        assert_eq!(r.field.as_deref(), Some("confirm"));
        with_reason.push(("confirm".into(), "yes".into()));
        assert!(CONCLUDE.fields(&with_reason).is_ok());
        let delist = posted(&[("reason", "voluntary"), ("details", "主动退出")]);
        assert_eq!(
            DELIST.fields(&delist).unwrap_err().field.as_deref(),
            Some("confirm")
        );
    }
}
