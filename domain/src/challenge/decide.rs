//! The decision of each command of a call (C-1..C-8).

use std::collections::BTreeSet;

use chrono::{Months, NaiveDate};

use super::*;
use crate::commands::CommandMeta;
use ChallengeCommand as C;
use ChallengeEvent as E;

impl Call {
    /// The events `cmd` records, or why it is refused (nothing is recorded then).
    pub fn decide(
        &self,
        cmd: &Envelope<ChallengeCommand>,
        ctx: &ChallengeContext,
    ) -> Result<Vec<ChallengeEvent>, Refusal> {
        let meta = &cmd.meta;
        let actor = &meta.actor;
        if !cmd.command.roles().contains(&actor.role) {
            return Err(Refusal::forbidden(format!(
                "a {} may not {}",
                actor.role,
                cmd.command.name()
            ))
            .zh(format!("{}无权办理此事项", actor.role.name_zh())));
        }
        if let C::OpenCall(open) = &cmd.command {
            return self.open_call(open);
        }
        let config = self
            .config
            .as_ref()
            .ok_or_else(|| Refusal::not_found("the call is not open").zh("本次揭榜尚未发布"))?;
        // A bid outside the actor's reach answers as one that does not exist (RULES.md §10).
        if let (Some(id), false) = (
            cmd.command.bid_id(),
            matches!(cmd.command, C::SubmitBid(SubmitBid { .. })),
        ) {
            let bid = self.bid(id)?;
            if !bid.readable_by(actor) {
                return Err(no_bid(id));
            }
            if actor.role == Role::Applicant && !is_lead(actor, bid) {
                return Err(Refusal::forbidden(format!(
                    "only the lead unit {} acts for bid {id}; members read it",
                    bid.lead.uscc
                ))
                .zh("只有牵头单位可以办理本申请的事项，联合体成员只能查阅"));
            }
        }
        let on = meta.business_date;
        match &cmd.command {
            C::OpenCall(_) => unreachable!("decided above"),
            C::SubmitBid(SubmitBid {
                bid_id,
                task_id,
                lead,
                members,
                declarations,
            }) => self.submit(
                meta,
                config,
                ctx,
                Submission {
                    bid_id,
                    task_id,
                    lead,
                    members,
                    declarations,
                },
            ),
            C::WithdrawBid(WithdrawBid { bid_id, reason }) => {
                let bid = self.bid(bid_id)?;
                required("reason", reason)?;
                if !matches!(
                    bid.status,
                    BidStatus::Submitted
                        | BidStatus::Recommended
                        | BidStatus::Declined
                        | BidStatus::Evaluated
                ) {
                    return Err(wrong_state(bid, "withdraw", "撤回"));
                }
                Ok(vec![E::BidWithdrawn {
                    bid_id: bid_id.clone(),
                    reason: reason.clone(),
                }])
            }
            C::RecommendBid(RecommendBid {
                bid_id,
                opinion,
                expert_argumentation,
                override_reason,
            }) => {
                let bid = self.bid(bid_id)?;
                let province = self.province_act(bid, on, config, "recommend", "推荐")?;
                let failed = bid.failed_checks();
                let reason = override_reason.as_ref().filter(|r| !r.trim().is_empty());
                if !failed.is_empty() && reason.is_none() {
                    return Err(refuse(
                        "C-4",
                        format!(
                            "the bid fails {}; a recommendation needs an override_reason",
                            failed.join(", ")
                        ),
                        format!("申请未通过 {}；如仍推荐，须填写推荐理由", failed.join("、")),
                    )
                    .at("override_reason"));
                }
                Ok(vec![E::BidRecommended {
                    bid_id: bid_id.clone(),
                    province,
                    opinion: opinion.clone(),
                    expert_argumentation: expert_argumentation
                        .clone()
                        .filter(|e| !e.trim().is_empty()),
                    overridden: if reason.is_some() { failed } else { vec![] },
                    override_reason: reason.cloned(),
                }])
            }
            C::DeclineBid(DeclineBid { bid_id, reasons }) => {
                let bid = self.bid(bid_id)?;
                let province = self.province_act(bid, on, config, "decline", "不予推荐")?;
                if reasons.iter().all(|r| r.trim().is_empty()) {
                    return Err(Refusal::invalid("reasons", "give at least one reason")
                        .zh("不予推荐须至少写明一条理由"));
                }
                Ok(vec![E::BidDeclined {
                    bid_id: bid_id.clone(),
                    province,
                    reasons: reasons.clone(),
                }])
            }
            C::EvaluateBid(EvaluateBid {
                bid_id,
                score,
                passed,
                panel,
            }) => {
                let bid = self.bid(bid_id)?;
                if bid.status != BidStatus::Recommended {
                    return Err(wrong_state(bid, "evaluate", "评审"));
                }
                if *score > 100 {
                    return Err(Refusal::invalid(
                        "score",
                        format!("score {score} is outside 0-100"),
                    )
                    .zh(format!("评分 {score} 超出 0-100")));
                }
                Ok(vec![E::BidEvaluated {
                    bid_id: bid_id.clone(),
                    score: *score,
                    passed: *passed,
                    panel: panel.clone(),
                }])
            }
            C::ShortlistBid(ShortlistBid { bid_id }) => {
                let bid = self.bid(bid_id)?;
                if bid.status != BidStatus::Evaluated || bid.evaluation_passed != Some(true) {
                    return Err(wrong_state(
                        bid,
                        "shortlist (it must pass its evaluation)",
                        "入围（须评审通过）",
                    ));
                }
                let taken = self.shortlists.get(&bid.task_id).map_or(0, Vec::len);
                if taken >= PER_TASK {
                    return Err(refuse(
                        "C-6",
                        format!("task {} already has {taken} shortlisted bids; at most {PER_TASK} per task", bid.task_id),
                        format!("任务 {} 已有 {taken} 家入围，每个揭榜方向不超过 {PER_TASK} 家", bid.task_id),
                    ));
                }
                Ok(vec![E::BidShortlisted {
                    bid_id: bid_id.clone(),
                    task_id: bid.task_id.clone(),
                }])
            }
            C::PublishList(PublishList { task_id, list }) => {
                if self.task(task_id).is_none() {
                    return Err(no_task(task_id));
                }
                let entries = match list {
                    ListKind::Shortlist => self.shortlists.get(task_id),
                    ListKind::Success => self.successes.get(task_id),
                }
                .cloned()
                .unwrap_or_default();
                if entries.is_empty() {
                    return Err(refuse(
                        code::STATE_CONFLICT,
                        format!("task {task_id} has nobody on its {list:?} list yet"),
                        format!("任务 {task_id} 的{}尚无单位", list.name_zh()),
                    ));
                }
                let last = self.published.get(task_id).and_then(|p| p.get(list));
                if last == Some(&entries) {
                    return Err(refuse(
                        code::DUPLICATE,
                        format!("the {list:?} list of task {task_id} is published as it stands"),
                        format!("任务 {task_id} 的{}已按现状发布", list.name_zh()),
                    ));
                }
                Ok(vec![E::ListPublished {
                    task_id: task_id.clone(),
                    list: *list,
                    bid_ids: entries,
                    published_on: on,
                }])
            }
            C::SignAgreement(SignAgreement {
                bid_id,
                targets,
                milestones,
            }) => {
                let bid = self.bid(bid_id)?;
                if bid.status != BidStatus::Shortlisted {
                    return Err(wrong_state(bid, "sign an agreement", "签订任务书"));
                }
                if targets.iter().all(|t| t.trim().is_empty()) {
                    return Err(
                        Refusal::invalid("targets", "an agreement states its targets")
                            .zh("任务书须写明任务目标"),
                    );
                }
                if milestones.is_empty() {
                    return Err(Refusal::invalid(
                        "milestones",
                        "an agreement has at least one dated milestone",
                    )
                    .zh("任务书至少有一个时间节点"));
                }
                let mut seen = BTreeSet::new();
                for (i, m) in milestones.iter().enumerate() {
                    if !valid_id(&m.milestone_id) || !seen.insert(m.milestone_id.as_str()) {
                        return Err(Refusal::invalid(
                            &format!("milestones[{i}].milestone_id"),
                            format!(
                                "milestone id '{}' is not a new id of 1-32 letters, digits, - or _",
                                m.milestone_id
                            ),
                        )
                        .zh(format!("时间节点编号“{}”无效或重复", m.milestone_id)));
                    }
                    required(&format!("milestones[{i}].title"), &m.title)?;
                    if m.due_on < on {
                        return Err(refuse(
                            code::IMPOSSIBLE_DATE,
                            format!(
                                "milestone {} is due {} , before the agreement is signed ({on})",
                                m.milestone_id, m.due_on
                            ),
                            format!(
                                "时间节点 {} 的日期 {} 早于签订日 {on}",
                                m.milestone_id, m.due_on
                            ),
                        )
                        .at(&format!("milestones[{i}].due_on")));
                    }
                }
                Ok(vec![E::AgreementSigned {
                    bid_id: bid_id.clone(),
                    signed_on: on,
                    targets: targets.clone(),
                    milestones: milestones.clone(),
                }])
            }
            C::ReportMilestone(ReportMilestone {
                bid_id,
                milestone_id,
                summary,
                evidence,
            }) => {
                let bid = self.bid(bid_id)?;
                let m = milestone(bid, milestone_id)?;
                if bid.status != BidStatus::UnderAgreement {
                    return Err(wrong_state(bid, "report a milestone", "报告时间节点"));
                }
                if m.reported_on.is_some() {
                    return Err(refuse(
                        code::DUPLICATE,
                        format!("milestone {milestone_id} is already reported"),
                        format!("时间节点 {milestone_id} 已报告"),
                    ));
                }
                required("summary", summary)?;
                Ok(vec![E::MilestoneReported {
                    bid_id: bid_id.clone(),
                    milestone_id: milestone_id.clone(),
                    reported_on: on,
                    late: on > m.milestone.due_on,
                    summary: summary.clone(),
                    evidence: evidence.clone(),
                }])
            }
            C::FlagMilestoneOverdue(FlagMilestoneOverdue {
                bid_id,
                milestone_id,
            }) => {
                let bid = self.bid(bid_id)?;
                let m = milestone(bid, milestone_id)?;
                if m.overdue {
                    return Err(refuse(
                        code::DUPLICATE,
                        format!("milestone {milestone_id} is already flagged overdue (C-8: once)"),
                        format!("时间节点 {milestone_id} 已标记逾期（C-8：只标记一次）"),
                    ));
                }
                if m.reported_on.is_some() || on <= m.milestone.due_on {
                    return Err(refuse(
                        code::STATE_CONFLICT,
                        format!(
                            "milestone {milestone_id} (due {}) is reported or not yet due",
                            m.milestone.due_on
                        ),
                        format!(
                            "时间节点 {milestone_id}（{} 到期）已报告或未到期",
                            m.milestone.due_on
                        ),
                    ));
                }
                Ok(vec![E::MilestoneOverdue {
                    bid_id: bid_id.clone(),
                    milestone_id: milestone_id.clone(),
                    due_on: m.milestone.due_on,
                }])
            }
            C::RecordThirdPartyEvaluation(RecordThirdPartyEvaluation {
                bid_id,
                evaluator,
                passed,
                summary,
            }) => {
                let bid = self.bid(bid_id)?;
                if bid.status != BidStatus::UnderAgreement {
                    return Err(wrong_state(
                        bid,
                        "record the third-party evaluation",
                        "登记第三方评价",
                    ));
                }
                if let Some(open) = bid.milestones.iter().find(|m| m.reported_on.is_none()) {
                    return Err(refuse(
                        code::STATE_CONFLICT,
                        format!(
                            "milestone {} is not reported yet: the task is not completed",
                            open.milestone.milestone_id
                        ),
                        format!(
                            "时间节点 {} 尚未报告，任务尚未完成",
                            open.milestone.milestone_id
                        ),
                    ));
                }
                required("evaluator", evaluator)?;
                required("summary", summary)?;
                Ok(vec![E::ThirdPartyEvaluated {
                    bid_id: bid_id.clone(),
                    evaluator: evaluator.clone(),
                    passed: *passed,
                    summary: summary.clone(),
                }])
            }
            C::DeclareSuccess(DeclareSuccess { bid_id }) => {
                let bid = self.bid(bid_id)?;
                if bid.status != BidStatus::Assessed || bid.third_party_passed != Some(true) {
                    return Err(wrong_state(
                        bid,
                        "declare success (it must pass the third-party evaluation)",
                        "确定为揭榜成功（须通过第三方评价）",
                    ));
                }
                let taken = self.successes.get(&bid.task_id).map_or(0, Vec::len);
                if taken >= PER_TASK {
                    return Err(refuse(
                        "C-6",
                        format!("task {} already has {taken} successful bids; at most {PER_TASK} per task", bid.task_id),
                        format!("任务 {} 已有 {taken} 家揭榜成功，每个揭榜方向不超过 {PER_TASK} 家", bid.task_id),
                    ));
                }
                Ok(vec![E::BidSucceeded {
                    bid_id: bid_id.clone(),
                    task_id: bid.task_id.clone(),
                }])
            }
        }
    }

    fn open_call(&self, c: &OpenCall) -> Result<Vec<ChallengeEvent>, Refusal> {
        if let Some(existing) = &self.config {
            return Err(refuse(
                code::DUPLICATE,
                format!("call {} is already open", existing.call_id),
                format!("揭榜 {} 已发布", existing.call_id),
            ));
        }
        if !valid_id(&c.call_id) {
            return Err(Refusal::invalid(
                "call_id",
                "a call id has 1-32 letters, digits, '-' or '_'",
            )
            .zh("揭榜编号为 1-32 位字母、数字、- 或 _"));
        }
        required("name", &c.name)?;
        if c.applicant_deadline < c.opens_on || c.province_deadline < c.applicant_deadline {
            return Err(refuse(
                code::IMPOSSIBLE_DATE,
                format!(
                    "the dates must follow each other: opens {} ≤ applicants {} ≤ provinces {}",
                    c.opens_on, c.applicant_deadline, c.province_deadline
                ),
                format!(
                    "日期须依次不早于前者：开始 {} ≤ 申请截止 {} ≤ 省级推荐截止 {}",
                    c.opens_on, c.applicant_deadline, c.province_deadline
                ),
            )
            .at("province_deadline"));
        }
        if c.tasks.is_empty() {
            return Err(
                Refusal::invalid("tasks", "a call has at least one task (C-1)")
                    .zh("揭榜至少包含一项任务（C-1）"),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, t) in c.tasks.iter().enumerate() {
            if !valid_id(&t.task_id) || !seen.insert(t.task_id.as_str()) {
                return Err(Refusal::invalid(
                    &format!("tasks[{i}].task_id"),
                    format!(
                        "task id '{}' is not a new id of 1-32 letters, digits, - or _",
                        t.task_id
                    ),
                )
                .zh(format!("任务编号“{}”无效或重复", t.task_id)));
            }
            required(&format!("tasks[{i}].name"), &t.name)?;
            if t.complete_by < c.province_deadline {
                return Err(refuse(
                    code::IMPOSSIBLE_DATE,
                    format!(
                        "task {} is to be completed by {}, before the province deadline",
                        t.task_id, t.complete_by
                    ),
                    format!(
                        "任务 {} 的完成期限 {} 早于省级推荐截止日",
                        t.task_id, t.complete_by
                    ),
                )
                .at(&format!("tasks[{i}].complete_by")));
            }
        }
        Ok(vec![E::CallOpened(c.clone())])
    }

    fn submit(
        &self,
        meta: &CommandMeta,
        config: &OpenCall,
        ctx: &ChallengeContext,
        s: Submission,
    ) -> Result<Vec<ChallengeEvent>, Refusal> {
        let on = meta.business_date;
        if !valid_id(s.bid_id) {
            return Err(Refusal::invalid(
                "bid_id",
                "a bid id has 1-32 letters, digits, '-' or '_'",
            )
            .zh("申请编号为 1-32 位字母、数字、- 或 _"));
        }
        if self.bids.contains_key(s.bid_id) {
            return Err(refuse(
                code::DUPLICATE,
                format!("bid {} already exists", s.bid_id),
                format!("申请 {} 已存在", s.bid_id),
            )
            .at("bid_id"));
        }
        let task = self.task(s.task_id).ok_or_else(|| no_task(s.task_id))?;
        // The lead submits for all (C-7): an applicant token of the lead's own USCC.
        if !meta
            .actor
            .jurisdiction
            .as_deref()
            .is_some_and(|j| j.eq_ignore_ascii_case(&s.lead.uscc))
        {
            return Err(Refusal::forbidden(format!(
                "applicant {} may submit only as the lead unit it is, not for {}",
                meta.actor.jurisdiction.as_deref().unwrap_or("?"),
                s.lead.uscc
            ))
            .zh("申请须由牵头单位以本单位的统一社会信用代码提交"));
        }
        // C-5: from the day the call opens to the applicants' deadline, the day recorded.
        if on < config.opens_on || on > config.applicant_deadline {
            return Err(refuse(
                "C-5",
                format!(
                    "bids are submitted from {} to {} (the deadline day itself is allowed); {on} is outside",
                    config.opens_on, config.applicant_deadline
                ),
                format!(
                    "申请受理期为 {} 至 {}（截止日当天仍可提交），{on} 不在受理期内",
                    config.opens_on, config.applicant_deadline
                ),
            ));
        }
        // C-2: the lead and at most 4 members, each a legal person with a valid USCC, each once.
        if s.members.len() > MAX_MEMBERS {
            return Err(refuse(
                "C-2",
                format!(
                    "a consortium is one lead and at most {MAX_MEMBERS} members; this one has {}",
                    s.members.len()
                ),
                format!(
                    "联合体除牵头单位外不超过 {MAX_MEMBERS} 家，本申请有 {} 家",
                    s.members.len()
                ),
            )
            .at("members"));
        }
        let units: Vec<(String, &Unit)> = std::iter::once(("lead".to_string(), s.lead))
            .chain(
                s.members
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (format!("members[{i}]"), m)),
            )
            .collect();
        let mut usccs = BTreeSet::new();
        for (at, u) in &units {
            required(&format!("{at}.name"), &u.name)?;
            let uscc = Uscc::parse(&u.uscc).map_err(|e| {
                refuse(
                    "C-2",
                    format!(
                        "{at}: {} is not a valid unified social credit code: {e}",
                        u.uscc
                    ),
                    format!("“{}”的统一社会信用代码 {} 无效", u.name, u.uscc),
                )
                .at(&format!("{at}.uscc"))
            })?;
            if uscc.is_individual_business() {
                return Err(refuse(
                    "C-2",
                    format!(
                        "{at}: {} is an individual business, not a legal person",
                        u.uscc
                    ),
                    format!("“{}”为个体工商户，不具有独立法人资格", u.name),
                )
                .at(&format!("{at}.uscc")));
            }
            if !usccs.insert(uscc.as_str().to_string()) {
                return Err(Refusal::invalid(
                    &format!("{at}.uscc"),
                    format!("{} is named twice in the consortium", u.uscc),
                )
                .zh(format!("统一社会信用代码 {} 在联合体中出现两次", u.uscc)));
            }
        }
        // A lead bids once per task (the texts are silent; a second bid would compete with itself).
        if let Some(b) = self.bids.values().find(|b| {
            b.task_id == task.task_id
                && b.lead.uscc.eq_ignore_ascii_case(&s.lead.uscc)
                && b.status != BidStatus::Withdrawn
        }) {
            return Err(refuse(
                code::DUPLICATE,
                format!(
                    "the lead already bids for task {} as {}",
                    task.task_id, b.bid_id
                ),
                format!("牵头单位已以申请 {} 参与任务 {}", b.bid_id, task.task_id),
            )
            .at("task_id"));
        }
        // C-3: a consortium includes a user enterprise of what its category makes.
        if !s.members.is_empty() {
            let user = units.iter().any(|(_, u)| {
                u.kind == UnitKind::Enterprise
                    && match task.category {
                        Category::ReactorSystem => u.reactor_user,
                        Category::ComponentsConsumables | Category::IndustrialOs => {
                            u.component_or_system_user
                        }
                    }
            });
            if !user {
                return Err(refuse(
                    "C-3",
                    format!(
                        "a consortium for a {} task includes at least one {} user enterprise",
                        task.category.code(),
                        match task.category {
                            Category::ReactorSystem => "reactor",
                            _ => "component or system",
                        }
                    ),
                    format!(
                        "{}类任务的联合体至少有 1 家{}",
                        task.category.name_zh(),
                        task.category.user_zh()
                    ),
                )
                .at("members"));
            }
        }
        let checks = checks(on, s.declarations, &units, ctx);
        Ok(vec![E::BidSubmitted {
            bid_id: s.bid_id.to_string(),
            task_id: s.task_id.to_string(),
            submitted_on: on,
            lead: s.lead.clone(),
            members: s.members.to_vec(),
            declarations: s.declarations.clone(),
            checks,
        }])
    }

    /// A province's act on a submitted bid (C-5, C-7): the lead's province, by its deadline.
    fn province_act(
        &self,
        bid: &Bid,
        on: NaiveDate,
        config: &OpenCall,
        act: &str,
        act_zh: &str,
    ) -> Result<Province, Refusal> {
        if bid.status != BidStatus::Submitted {
            return Err(wrong_state(bid, act, act_zh));
        }
        if on > config.province_deadline {
            return Err(refuse(
                "C-5",
                format!(
                    "provinces recommend by {}; {on} is after it (the deadline day itself is allowed)",
                    config.province_deadline
                ),
                format!(
                    "省级推荐截止日为 {}，{on} 已过截止日期（截止日当天仍可办理）",
                    config.province_deadline
                ),
            ));
        }
        Ok(bid.province())
    }
}

/// A submission's parts, borrowed from the command.
struct Submission<'a> {
    bid_id: &'a str,
    task_id: &'a str,
    lead: &'a Unit,
    members: &'a [Unit],
    declarations: &'a Declarations,
}

fn is_lead(actor: &Actor, bid: &Bid) -> bool {
    actor
        .jurisdiction
        .as_deref()
        .is_some_and(|j| j.eq_ignore_ascii_case(&bid.lead.uscc))
}

fn no_task(task_id: &str) -> Refusal {
    Refusal::not_found(format!("no task {task_id} in this call"))
        .at("task_id")
        .zh(format!("本次揭榜没有任务 {task_id}"))
}

fn milestone<'a>(bid: &'a Bid, milestone_id: &str) -> Result<&'a MilestoneState, Refusal> {
    bid.milestones
        .iter()
        .find(|m| m.milestone.milestone_id == milestone_id)
        .ok_or_else(|| {
            Refusal::not_found(format!(
                "bid {} has no milestone {milestone_id}",
                bid.bid_id
            ))
            .at("milestone_id")
            .zh(format!(
                "申请 {} 的任务书中没有时间节点 {milestone_id}",
                bid.bid_id
            ))
        })
}

fn required(field: &str, s: &str) -> Result<(), Refusal> {
    if s.trim().is_empty() {
        Err(Refusal::invalid(field, format!("{field} must not be empty")).zh("此项为必填项"))
    } else {
        Ok(())
    }
}

/// C-4, as recorded on submission: the three declarations, and the declared absence of major
/// accidents held against the accidents the system knows of the units (3 years back from the
/// day of submission).
fn checks(
    on: NaiveDate,
    d: &Declarations,
    units: &[(String, &Unit)],
    ctx: &ChallengeContext,
) -> Vec<Check> {
    let since = on.checked_sub_months(Months::new(36)).unwrap_or(on);
    let known: Vec<&KnownAccident> = ctx
        .accidents
        .iter()
        .filter(|a| a.class >= IncidentClass::Major && a.occurred_on > since && a.occurred_on <= on)
        .filter(|a| {
            units
                .iter()
                .any(|(_, u)| u.uscc.eq_ignore_ascii_case(&a.uscc))
        })
        .collect();
    let declared = |item: &str, ok: bool, en: &str, zh: &str| Check {
        rule: "C-4".into(),
        item: item.into(),
        passed: ok,
        detail: if ok {
            format!("declared: {en}")
        } else {
            format!("not declared: {en}")
        },
        detail_zh: if ok {
            format!("已声明：{zh}")
        } else {
            format!("未声明：{zh}")
        },
    };
    let mut accident = declared(
        "no_major_accident",
        d.no_major_accident,
        "no major safety or environmental accident in the last 3 years",
        "近 3 年无重大安全和环境污染事故",
    );
    if let Some(a) = known.first() {
        accident.passed = false;
        accident.detail = format!(
            "a {:?} accident of {} on {} is on record ({})",
            a.class, a.uscc, a.occurred_on, a.reference
        );
        accident.detail_zh = format!(
            "系统记录 {} 于 {} 发生{}事故（{}）",
            a.uscc,
            a.occurred_on,
            a.class.name_zh(),
            a.reference
        );
    }
    vec![
        accident,
        declared(
            "validation_completed",
            d.validation_completed,
            "pre-industrial validation completed",
            "已完成产业化前期验证",
        ),
        declared(
            "finalised_product_with_ip",
            d.finalised_product_with_ip,
            "a basically finalised product with owned IP",
            "具有基本定型产品且拥有知识产权",
        ),
    ]
}
