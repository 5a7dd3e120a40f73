//! The decision of each platform command (RULES.md §4-§7): one function per command, called by
//! `Platform::decide` once the registry allows the command in the platform's state.

use super::*;
use crate::registry::CommandKind;
use PlatformEvent as E;

impl Platform {
    pub(super) fn submit_application(
        &self,
        c: &SubmitApplication,
        meta: &CommandMeta,
        ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        let on = meta.business_date;
        Ok({
            let round = self.round(ctx)?;
            let config = round.config.as_ref().expect("checked");
            if config.round_id != c.round_id {
                return Err(
                    Refusal::not_found(format!("round {} is not open", c.round_id))
                        .zh(format!("批次 {} 未开放申报", c.round_id)),
                );
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
                )
                .zh(format!(
                    "所在城市 {} 不属于{}",
                    form.applicant.city,
                    form.applicant.province.name_zh()
                )));
            }
            if let Some(existing) = self.applicant_uscc() {
                if existing != &form.applicant.uscc {
                    return Err(Refusal::forbidden(format!(
                        "platform {} belongs to applicant {existing}; another applicant cannot apply on its stream",
                        ctx.platform_id
                    )).zh(format!("平台 {} 属于申报单位 {existing}，其他单位不能以此平台申报", ctx.platform_id)));
                }
            }
            if self.rounds_applied.contains(&c.round_id) {
                return Err(Refusal::new(
                    code::STATE_CONFLICT,
                    format!("this platform already applied in round {}; it may apply again in a later round", c.round_id),
                ).zh(format!("本平台已在批次 {} 申报过，可在以后批次再申报", c.round_id)));
            }
            if on < config.opens_on {
                return Err(Refusal::new(
                    "R-4",
                    format!(
                        "round {} opens on {}; submission on {on} is too early",
                        c.round_id, config.opens_on
                    ),
                )
                .zh(format!(
                    "批次 {} 于 {} 开始受理，{on} 尚未开始",
                    c.round_id, config.opens_on
                )));
            }
            let last = round
                .deadline_of(CommandKind::SubmitApplication, form.applicant.province)
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
        })
    }

    pub(super) fn amend_application(
        &self,
        c: &AmendApplication,
        meta: &CommandMeta,
        _ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        let on = meta.business_date;
        Ok({
            if !c.changes.is_object() {
                return Err(Refusal::invalid(
                    "changes",
                    "changes must be an object of form fields",
                )
                .zh("修改内容须为申请表各项"));
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
                )
                .zh("统一社会信用代码不能修改"));
            }
            if form.applicant.province != current.applicant.province {
                return Err(Refusal::invalid(
                    "changes.applicant.province",
                    "the province cannot be amended; withdraw and apply in the right province",
                )
                .zh("所在省份不能修改；请撤回后向正确的省份申报"));
            }
            if form.applicant.city.province() != form.applicant.province {
                return Err(Refusal::invalid(
                    "changes.applicant.city",
                    format!(
                        "city {} is not in province {}",
                        form.applicant.city, form.applicant.province
                    ),
                )
                .zh(format!(
                    "所在城市 {} 不属于{}",
                    form.applicant.city,
                    form.applicant.province.name_zh()
                )));
            }
            // the endorsement is the city's; an application it endorsed cannot move to
            // another city (security review M4). Before the endorsement it may.
            if self.status == Status::CityEndorsed && form.applicant.city != current.applicant.city
            {
                return Err(Refusal::new(
                    "R-3",
                    format!(
                        "city {} has endorsed this application; the city cannot be amended now (withdraw and apply again through the right city)",
                        current.applicant.city
                    ),
                )
                .at("changes.applicant.city").zh(format!("{} 已出具审核意见，所在城市不能再修改（请撤回后经正确的城市重新申报）", crate::values::city_name_zh(&current.applicant.city))));
            }
            let assessment = eligibility::assess(&form, on, &self.past_incidents());
            vec![
                E::ApplicationAmended {
                    changes: c.changes.clone(),
                    form,
                },
                E::EligibilityAssessed { assessment },
            ]
        })
    }

    pub(super) fn withdraw_application(
        &self,
        c: &WithdrawApplication,
        _meta: &CommandMeta,
        _ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        Ok({
            required("reason", &c.reason)?;
            vec![E::ApplicationWithdrawn {
                reason: c.reason.clone(),
            }]
        })
    }

    pub(super) fn endorse_by_city(
        &self,
        c: &EndorseByCity,
        meta: &CommandMeta,
        ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        let on = meta.business_date;
        let actor = &meta.actor;
        Ok({
            let city = actor
                .jurisdiction
                .as_deref()
                .and_then(CityCode::parse)
                .ok_or_else(|| {
                    Refusal::forbidden(
                        "a city endorsement needs a city actor with a 6-digit city code",
                    )
                    .zh("市级审核须由市级用户（6 位行政区划代码）办理")
                })?;
            let own = self.city().expect("submitted");
            if &city != own {
                return Err(Refusal::new("R-3", format!("city {city} may endorse only applicants of its own city; this applicant is in {own}")).zh(format!("{} 只能审核本市的申报单位；该单位在 {}", crate::values::city_name_zh(&city), crate::values::city_name_zh(own))));
            }
            let round = self.round(ctx)?;
            if let Some(last) = round.deadline_of(CommandKind::EndorseByCity, city.province()) {
                deadline("R-4", "city endorsement", on, last)?;
            }
            vec![E::CityEndorsed {
                city,
                opinion: c.opinion.clone(),
            }]
        })
    }

    pub(super) fn recommend_by_province(
        &self,
        c: &RecommendByProvince,
        meta: &CommandMeta,
        ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        let on = meta.business_date;
        Ok({
            let round = self.round(ctx)?;
            let province = self.province().expect("submitted");
            let round_id = &round.config.as_ref().expect("open").round_id;
            if self.status == Status::Submitted && round.requires_city_endorsement(province) {
                return Err(Refusal::new(
                    code::STATE_CONFLICT,
                    format!("in round {round_id} applications of province {province} ({}) are recommended only after city endorsement", province.name_zh()),
                ).zh(format!("批次 {round_id} 中{}的申报须经市级审核后才能推荐", province.name_zh())));
            }
            deadline(
                "R-4",
                "province recommendation",
                on,
                round
                    .deadline_of(CommandKind::RecommendByProvince, province)
                    .expect("open"),
            )?;
            let uscc = self.applicant_uscc().expect("submitted");
            if !uscc.is_central() && uscc.registering_province() != Some(province) {
                return Err(Refusal::new(
                    "R-3",
                    format!(
                        "province {province} may recommend only applicants registered in it (or centrally, 100000); {uscc} is registered under division {}",
                        uscc.division()
                    ),
                ).zh(format!("{}只能推荐在本省登记的单位（或中央登记 100000）；{uscc} 的登记机关区划为 {}", province.name_zh(), uscc.division())));
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
                .at("override_reason").zh(format!("申报未满足申报条件 {}；如仍推荐，须填写推荐理由（说明例外情况）", failed.join("、"))));
            }
            round.check_quota(province)?;
            // A rank orders the province's recommendations: 1 up to the round's quota.
            if let Some(rank) = c.rank.filter(|r| *r == 0 || *r > round.quota()) {
                return Err(Refusal::invalid(
                    "rank",
                    format!(
                        "rank {rank} is outside 1-{q}: a province ranks at most its quota of {q} recommendations in round {round_id}",
                        q = round.quota()
                    ),
                ).zh(format!("排序 {rank} 超出 1-{q}：批次 {round_id} 每省至多推荐 {q} 家", q = round.quota())));
            }
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
        })
    }

    pub(super) fn reject_by_province(
        &self,
        c: &RejectByProvince,
        _meta: &CommandMeta,
        _ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        Ok({
            if c.reasons.iter().all(|r| r.trim().is_empty()) {
                return Err(Refusal::invalid(
                    "reasons",
                    "a rejection gives at least one reason (rule id or text)",
                )
                .zh("不予推荐须至少写明一条理由（规则编号或文字）"));
            }
            vec![E::ProvinceRejected {
                province: self.province().expect("submitted"),
                reasons: c.reasons.clone(),
            }]
        })
    }

    pub(super) fn record_expert_evaluation(
        &self,
        c: &RecordExpertEvaluation,
        _meta: &CommandMeta,
        _ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        Ok({
            if c.score > 100 {
                return Err(Refusal::invalid(
                    "score",
                    format!("score {} is outside 0-100", c.score),
                )
                .zh(format!("评分 {} 超出 0-100", c.score)));
            }
            vec![E::ExpertEvaluationRecorded {
                score: c.score,
                passed: c.passed,
                panel: c.panel.clone(),
                comments: c.comments.clone(),
            }]
        })
    }

    pub(super) fn start_public_notice(
        &self,
        c: &StartPublicNotice,
        _meta: &CommandMeta,
        ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        Ok({
            if c.until < c.from {
                return Err(Refusal::new(
                    code::IMPOSSIBLE_DATE,
                    format!(
                        "the notice ends ({}) before it starts ({})",
                        c.until, c.from
                    ),
                )
                .at("until")
                .zh(format!("公示结束日 {} 早于开始日 {}", c.until, c.from)));
            }
            let min_days = self
                .round(ctx)
                .ok()
                .and_then(|r| r.config.as_ref())
                .map_or(1, |c| c.notice_days.max(1));
            let days = (c.until - c.from).num_days() + 1;
            if days < i64::from(min_days) {
                return Err(Refusal::new("R-5", format!("the public notice lasts {days} day(s); this round requires at least {min_days}")).at("until").zh(format!("公示期为 {days} 天；本批次要求至少 {min_days} 天")));
            }
            vec![E::PublicNoticeStarted {
                from: c.from,
                until: c.until,
            }]
        })
    }

    pub(super) fn record_notice_objection(
        &self,
        c: &RecordNoticeObjection,
        meta: &CommandMeta,
        _ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        let on = meta.business_date;
        Ok({
            required("summary", &c.summary)?;
            let (from, until) = self.notice.expect("on notice");
            match &c.objection_id {
                // A filed objection is decided whenever the ministry gets to it (it was filed
                // in time), but only once.
                Some(id) => match self.objections.get(id) {
                    None => {
                        return Err(Refusal::not_found(format!(
                            "no objection {id} was filed on this notice"
                        ))
                        .at("objection_id")
                        .zh(format!("本次公示没有编号为 {id} 的异议")))
                    }
                    Some(o) if o.decided.is_some() => {
                        return Err(Refusal::new(
                            crate::error::code::DUPLICATE,
                            format!("objection {id} is decided already"),
                        )
                        .at("objection_id")
                        .zh(format!("异议 {id} 已有处理结论")))
                    }
                    Some(_) => {}
                },
                None if on < from || on > until => {
                    return Err(Refusal::new("R-5", format!("objections are recorded during the public notice {from}..{until}; {on} is outside it")).zh(format!("异议须在公示期 {from} 至 {until} 内登记；{on} 不在公示期内")));
                }
                None => {}
            }
            vec![E::NoticeObjectionRecorded {
                upheld: c.upheld,
                summary: c.summary.clone(),
                objection_id: c.objection_id.clone(),
            }]
        })
    }

    /// RULES.md §13: a listed platform states its pilot services (at least one, each once).
    pub(super) fn update_service_offer(
        &self,
        c: &UpdateServiceOffer,
        meta: &CommandMeta,
        _ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        if c.services.is_empty() {
            return Err(
                Refusal::invalid("services", "name at least one pilot service offered")
                    .zh("请至少选择一项中试服务"),
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(twice) = c.services.iter().find(|s| !seen.insert(**s)) {
            return Err(
                Refusal::invalid("services", format!("{} is named twice", twice.code()))
                    .zh(format!("“{}”重复", twice.name_zh())),
            );
        }
        let description = c
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(String::from);
        let unchanged = self.service_offer.as_ref().is_some_and(|o| {
            o.services == c.services
                && o.description == description
                && o.accepting_orders == c.accepting_orders
        });
        if unchanged {
            return Err(
                Refusal::new(crate::error::code::DUPLICATE, "the offer is unchanged")
                    .zh("服务内容未变化"),
            );
        }
        Ok(vec![E::ServiceOfferUpdated {
            services: c.services.clone(),
            description,
            accepting_orders: c.accepting_orders,
            updated_on: meta.business_date,
        }])
    }

    /// RULES.md §13: a need reaches a listed platform that takes orders and offers every
    /// service it names (the public face matches domain, province and vessels from the
    /// directory); each need once.
    pub(super) fn post_need(
        &self,
        c: &PostNeed,
        meta: &CommandMeta,
        _ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        let valid = c.need_id.len() == 17
            && c.need_id.starts_with("need-")
            && c.need_id[5..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !valid {
            return Err(
                Refusal::invalid("need_id", "a need id is need- and 12 hex digits")
                    .zh("需求编号格式为 need- 加 12 位十六进制数字"),
            );
        }
        let n = &c.need;
        n.check()?;
        if self.needs.contains_key(&c.need_id) {
            return Err(Refusal::new(
                code::DUPLICATE,
                format!("need {} has reached this platform already", c.need_id),
            )
            .zh(format!("需求 {} 已送达该平台", c.need_id)));
        }
        if self
            .service_offer
            .as_ref()
            .is_some_and(|o| !o.accepting_orders)
        {
            return Err(
                Refusal::new(code::STATE_CONFLICT, "the platform takes no new orders now")
                    .zh("该平台目前不接受新的委托"),
            );
        }
        let offered = self
            .service_offer
            .as_ref()
            .map(|o| o.services.as_slice())
            .unwrap_or_default();
        if let Some(missing) = n.services.iter().find(|s| !offered.contains(s)) {
            return Err(Refusal::invalid(
                "need.services",
                format!("the platform does not offer {}", missing.code()),
            )
            .zh(format!("该平台未提供“{}”服务", missing.name_zh())));
        }
        let trim = |s: &str| s.trim().to_string();
        Ok(vec![E::NeedReceived {
            need_id: c.need_id.clone(),
            received_on: meta.business_date,
            need: Need {
                enterprise_name: trim(&n.enterprise_name),
                contact: trim(&n.contact),
                description: trim(&n.description),
                ..n.clone()
            },
        }])
    }

    /// RULES.md §13: the platform answers a need that reached it. Interested or declined
    /// first; after interest, declined or a contract; a declined or contracted need is
    /// answered for good. A contract is a service to the enterprise, dated the day it was
    /// signed (K-2 counts it as any other, RULES.md §8).
    pub(super) fn respond_to_need(
        &self,
        c: &RespondToNeed,
        meta: &CommandMeta,
        ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        let on = meta.business_date;
        let Some(received) = self.needs.get(&c.need_id) else {
            return Err(Refusal::not_found(format!(
                "need {} has not reached this platform",
                c.need_id
            ))
            .at("need_id")
            .zh(format!("该平台没有收到需求 {}", c.need_id)));
        };
        let refuse = |now: &str, zh: &str| {
            Err(Refusal::new(
                code::STATE_CONFLICT,
                format!("need {} was {now}; it cannot be answered again", c.need_id),
            )
            .zh(format!("需求 {} 已{zh}，不能再次答复", c.need_id)))
        };
        match (received.answer(), &c.answer) {
            (Some(NeedResponse::Declined), _) => return refuse("declined", "婉拒"),
            (Some(NeedResponse::Contracted { .. }), _) => return refuse("contracted", "签约"),
            (Some(NeedResponse::Interested), NeedResponse::Interested) => {
                return Err(Refusal::new(
                    code::DUPLICATE,
                    format!("interest in need {} is recorded already", c.need_id),
                )
                .zh(format!("已登记对需求 {} 的对接意向", c.need_id)))
            }
            _ => {}
        }
        let note = c
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(String::from);
        if note
            .as_ref()
            .is_some_and(|n| n.chars().count() > NEED_TEXT_MAX)
        {
            return Err(Refusal::invalid(
                "note",
                format!("note has at most {NEED_TEXT_MAX} characters"),
            )
            .zh(format!("此项最多 {NEED_TEXT_MAX} 个字")));
        }
        let mut events = vec![E::NeedAnswered {
            need_id: c.need_id.clone(),
            answer: c.answer.clone(),
            note,
            answered_on: on,
        }];
        if let NeedResponse::Contracted {
            signed_on,
            contract_cny,
        } = &c.answer
        {
            if *signed_on > on {
                return Err(Refusal::new(
                    code::IMPOSSIBLE_DATE,
                    format!("a contract signed on {signed_on} cannot be recorded on {on}, before it was signed"),
                )
                .at("answer.signed_on")
                .zh(format!("签约日期 {signed_on} 晚于登记日 {on}，不能登记尚未签订的合同")));
            }
            if *signed_on < received.received_on {
                return Err(Refusal::new(
                    code::IMPOSSIBLE_DATE,
                    format!(
                        "a contract of need {} cannot be signed on {signed_on}, before the need was posted on {}",
                        c.need_id, received.received_on
                    ),
                )
                .at("answer.signed_on")
                .zh(format!(
                    "签约日期 {signed_on} 早于需求发布日 {}",
                    received.received_on
                )));
            }
            let service = RecordService {
                service_id: None,
                dated: *signed_on,
                record: ServiceRecord::EnterpriseServed {
                    enterprise_uscc: received.need.enterprise_uscc.clone(),
                    enterprise_name: received.need.enterprise_name.clone(),
                    contract_cny: *contract_cny,
                },
            };
            let recorded =
                self.record_service(&service, meta, ctx)
                    .map_err(|r| match r.field.as_deref() {
                        Some("dated") => r.at("answer.signed_on"),
                        _ => r,
                    })?;
            events.extend(recorded);
        }
        Ok(events)
    }

    /// RULES.md §13, R-5: anyone objects on a day within the notice period (the day it is
    /// recorded); before it or after it, refused naming the period.
    pub(super) fn file_objection(
        &self,
        c: &FileObjection,
        meta: &CommandMeta,
        _ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        let on = meta.business_date;
        for (field, text) in [
            ("name", &c.name),
            ("contact", &c.contact),
            ("grounds", &c.grounds),
        ] {
            required(field, text)?;
        }
        let Some((from, until)) = self.notice else {
            return Err(
                Refusal::new("R-5", "the platform is not on public notice").zh("该平台不在公示期")
            );
        };
        if on > until {
            return Err(Refusal::new("R-5", format!("the public notice ended on {until}; objections were taken from {from} to {until}"))
                .zh(format!("公示期已于 {until} 结束（公示期 {from} 至 {until}），不再受理异议")));
        }
        if on < from {
            return Err(
                Refusal::new("R-5", format!("the public notice starts on {from}"))
                    .zh(format!("公示期自 {from} 开始")),
            );
        }
        Ok(vec![E::ObjectionFiled {
            objection_id: crate::commands::objection_id(meta.command_id),
            filed_on: on,
            name: c.name.trim().to_string(),
            contact: c.contact.trim().to_string(),
            grounds: c.grounds.trim().to_string(),
            attachment: c.attachment.clone(),
        }])
    }

    pub(super) fn list_platform(
        &self,
        _command: &ListPlatform,
        meta: &CommandMeta,
        _ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        let on = meta.business_date;
        Ok({
            let (_, until) = self.notice.expect("on notice");
            if on <= until {
                return Err(Refusal::new("R-5", format!("the public notice runs until {until}; listing is possible from the day after")).zh(format!("公示期至 {until} 结束，次日起方可列入名单")));
            }
            if let Some((id, o)) = self.objections.iter().find(|(_, o)| o.decided.is_none()) {
                return Err(Refusal::new(
                    "R-5",
                    format!(
                        "objection {id} filed on {} is not decided yet; record the decision first",
                        o.filed_on
                    ),
                )
                .zh(format!(
                    "{} 提出的异议（{id}）尚未处理，请先登记处理结论",
                    o.filed_on
                )));
            }
            vec![E::PlatformListed { listed_on: on }]
        })
    }

    pub(super) fn record_service(
        &self,
        c: &RecordService,
        meta: &CommandMeta,
        _ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        let on = meta.business_date;
        Ok({
            if c.dated > on {
                return Err(Refusal::new(
                    code::IMPOSSIBLE_DATE,
                    format!(
                        "a service dated {} cannot be recorded on {on}, before it happened",
                        c.dated
                    ),
                )
                .at("dated")
                .zh(format!(
                    "服务日期 {} 晚于登记日 {on}，不能登记尚未发生的服务",
                    c.dated
                )));
            }
            let service_id = c
                .service_id
                .unwrap_or_else(|| Uuid::new_v5(&meta.command_id, b"service"));
            if self.services.contains_key(&service_id) {
                return Err(Refusal::new(
                    code::DUPLICATE,
                    format!("service record {service_id} already exists"),
                )
                .at("service_id")
                .zh(format!("服务记录 {service_id} 已存在")));
            }
            if let ServiceRecord::ProductIncubated { product_name, .. } = &c.record {
                required("record.product_name", product_name)?;
            }
            vec![E::ServiceRecorded {
                service_id,
                dated: c.dated,
                record: c.record.clone(),
            }]
        })
    }

    /// Every row decided as `record_service` would, with its own service id (given, or derived
    /// from the command id and the row); a service id twice in the batch is refused. Any row
    /// refused refuses the batch, and the refusal names every refused row.
    pub(super) fn record_services(
        &self,
        c: &RecordServices,
        meta: &CommandMeta,
        ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        if c.services.is_empty() {
            return Err(Refusal::invalid(
                "services",
                "the batch has no service; give at least one",
            )
            .zh("本批没有服务记录，请至少填写一条"));
        }
        let mut events = Vec::with_capacity(c.services.len());
        let mut refused: Vec<Refusal> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, row) in c.services.iter().enumerate() {
            let row = RecordService {
                service_id: Some(row.service_id.unwrap_or_else(|| {
                    Uuid::new_v5(&meta.command_id, format!("service-{i}").as_bytes())
                })),
                ..row.clone()
            };
            let decided = if seen.insert(row.service_id) {
                self.record_service(&row, meta, ctx)
            } else {
                Err(Refusal::new(
                    code::DUPLICATE,
                    format!(
                        "service record {} is twice in the batch",
                        row.service_id.unwrap_or_default()
                    ),
                )
                .at("service_id")
                .zh(format!(
                    "服务记录 {} 在本批中出现两次",
                    row.service_id.unwrap_or_default()
                )))
            };
            match decided {
                Ok(e) => events.extend(e),
                Err(mut r) => {
                    let field = r.field.take();
                    r.field = Some(match field {
                        Some(f) => format!("services[{i}].{f}"),
                        None => format!("services[{i}]"),
                    });
                    r.message_zh = Some(format!(
                        "第 {} 条：{}",
                        i + 1,
                        r.message_zh.as_deref().unwrap_or(&r.message)
                    ));
                    r.message = format!("services[{i}]: {}", r.message);
                    refused.push(r);
                }
            }
        }
        match refused.len() {
            0 => Ok(events),
            n => {
                let mut first = refused[0].clone();
                first.message = format!(
                    "{n} of {} services refused, nothing recorded: {}",
                    c.services.len(),
                    refused
                        .iter()
                        .map(|r| r.message.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                );
                first.message_zh = Some(format!(
                    "{} 条服务中有 {n} 条未通过，全部未记录：{}",
                    c.services.len(),
                    refused
                        .iter()
                        .filter_map(|r| r.message_zh.as_deref())
                        .collect::<Vec<_>>()
                        .join("；")
                ));
                Err(first)
            }
        }
    }

    pub(super) fn retract_service(
        &self,
        c: &RetractService,
        _meta: &CommandMeta,
        _ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        Ok({
            required("reason", &c.reason)?;
            match self.services.get(&c.service_id) {
                None => {
                    return Err(Refusal::not_found(format!(
                        "no service record {} on this platform",
                        c.service_id
                    ))
                    .at("service_id")
                    .zh(format!("本平台没有服务记录 {}", c.service_id)))
                }
                Some(s) if s.retracted => {
                    return Err(Refusal::new(
                        code::DUPLICATE,
                        format!("service record {} is already retracted", c.service_id),
                    )
                    .zh(format!("服务记录 {} 已撤销", c.service_id)))
                }
                Some(_) => vec![E::ServiceRetracted {
                    service_id: c.service_id,
                    reason: c.reason.clone(),
                }],
            }
        })
    }

    pub(super) fn report_incident(
        &self,
        c: &ReportIncident,
        meta: &CommandMeta,
        _ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        let on = meta.business_date;
        Ok({
            valid_id("incident_id", &c.incident_id)?;
            required("description", &c.description)?;
            if self.incidents.contains_key(&c.incident_id) {
                return Err(Refusal::new(
                    code::DUPLICATE,
                    format!("incident {} is already reported", c.incident_id),
                )
                .at("incident_id")
                .zh(format!("事故 {} 已报告过", c.incident_id)));
            }
            if c.occurred_on > on {
                return Err(Refusal::new(
                    code::IMPOSSIBLE_DATE,
                    format!(
                        "an incident occurring on {} cannot be reported on {on}",
                        c.occurred_on
                    ),
                )
                .at("occurred_on")
                .zh(format!(
                    "发生于 {} 的事故不能在 {on} 报告（发生日期晚于报告日）",
                    c.occurred_on
                )));
            }
            vec![E::IncidentReported {
                incident_id: c.incident_id.clone(),
                kind: c.kind,
                occurred_on: c.occurred_on,
                description: c.description.clone(),
                direct_loss_cny: c.direct_loss_cny,
                severity: c.severity,
            }]
        })
    }

    pub(super) fn assess_incident(
        &self,
        c: &AssessIncident,
        _meta: &CommandMeta,
        _ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        Ok({
            if !self.incidents.contains_key(&c.incident_id) {
                return Err(Refusal::not_found(format!(
                    "no incident {} on this platform",
                    c.incident_id
                ))
                .at("incident_id")
                .zh(format!("本平台没有事故 {}", c.incident_id)));
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
        })
    }

    pub(super) fn open_review(
        &self,
        c: &OpenReview,
        _meta: &CommandMeta,
        _ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        Ok({
            valid_id("review_id", &c.review_id)?;
            if self.reviews.contains_key(&c.review_id) {
                return Err(Refusal::new(
                    code::DUPLICATE,
                    format!("review {} already exists", c.review_id),
                )
                .at("review_id")
                .zh(format!("复核 {} 已存在", c.review_id)));
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
                    .at("due_on").zh(format!("{} 到期的三年复核已作为 {} 开启（D-2：每个到期日一次）", c.due_on, r.review_id)));
                }
            }
            if let ReviewTrigger::Incident(id) = &c.trigger {
                if !self.incidents.contains_key(id) {
                    return Err(
                        Refusal::not_found(format!("no incident {id} on this platform"))
                            .at("trigger")
                            .zh(format!("本平台没有事故 {id}")),
                    );
                }
                if let Some(r) = self.reviews.values().find(|r| r.trigger == c.trigger) {
                    return Err(Refusal::new(
                        code::DUPLICATE,
                        format!(
                            "incident {id} already has its re-review {} (D-4: once per incident)",
                            r.review_id
                        ),
                    )
                    .at("trigger")
                    .zh(format!(
                        "事故 {id} 已有复核 {}（D-4：每次事故一次）",
                        r.review_id
                    )));
                }
            }
            vec![E::ReviewOpened {
                review_id: c.review_id.clone(),
                trigger: c.trigger.clone(),
                due_on: c.due_on,
            }]
        })
    }

    pub(super) fn conclude_review(
        &self,
        c: &ConcludeReview,
        meta: &CommandMeta,
        _ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        let on = meta.business_date;
        Ok({
            match self.reviews.get(&c.review_id) {
                None => {
                    return Err(Refusal::not_found(format!(
                        "no review {} on this platform",
                        c.review_id
                    ))
                    .at("review_id")
                    .zh(format!("本平台没有复核 {}", c.review_id)))
                }
                Some(r) if r.outcome.is_some() => {
                    return Err(Refusal::new(
                        code::STATE_CONFLICT,
                        format!("review {} is already concluded", c.review_id),
                    )
                    .zh(format!("复核 {} 已有结论", c.review_id)));
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
                    cause: Some(event_id(meta.command_id, 0)),
                    details: Some(format!("review {} failed", c.review_id)),
                });
            }
            events
        })
    }

    pub(super) fn record_annual_evaluation(
        &self,
        c: &RecordAnnualEvaluation,
        meta: &CommandMeta,
        _ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        let on = meta.business_date;
        Ok({
            if !(1..=5).contains(&c.stars) {
                return Err(Refusal::invalid(
                    "stars",
                    format!("a star rating is 1-5, not {}", c.stars),
                )
                .zh(format!("星级为 1-5 星，不能是 {}", c.stars)));
            }
            if c.year < 2025 || c.year > on.year() {
                return Err(Refusal::invalid(
                    "year",
                    format!(
                        "year {} is not an evaluation year up to {}",
                        c.year,
                        on.year()
                    ),
                )
                .zh(format!(
                    "{} 年不是 2025 至 {} 年之间的评价年度",
                    c.year,
                    on.year()
                )));
            }
            vec![E::AnnualEvaluationRecorded {
                year: c.year,
                stars: c.stars,
                findings: c.findings.clone(),
            }]
        })
    }

    pub(super) fn delist_platform(
        &self,
        c: &DelistPlatform,
        meta: &CommandMeta,
        _ctx: &PlatformContext,
    ) -> Result<Vec<PlatformEvent>, Refusal> {
        let on = meta.business_date;
        Ok({
            match (c.reason, c.area) {
                (DelistReason::SeriousViolation, None) => {
                    return Err(Refusal::invalid("area", "a serious_violation delisting names its area: ip, safety, environment or quality").zh("因严重违法违规撤销须写明领域：知识产权、安全、环保或质量"));
                }
                (r, Some(_)) if r != DelistReason::SeriousViolation => {
                    return Err(Refusal::invalid(
                        "area",
                        "an area is given only with reason serious_violation",
                    )
                    .zh("仅在因严重违法违规撤销时填写违规领域"));
                }
                _ => {}
            }
            let mut events = Vec::new();
            if let Some(incident_id) = &c.incident_id {
                if c.reason != DelistReason::StrainLeakMajorLoss {
                    return Err(Refusal::invalid(
                        "incident_id",
                        "an incident is named only with reason strain_leak_major_loss",
                    )
                    .zh("仅在因菌种泄露造成较大经济损失撤销时填写事故"));
                }
                if !self.incidents.contains_key(incident_id) {
                    return Err(Refusal::not_found(format!(
                        "no incident {incident_id} on this platform"
                    ))
                    .at("incident_id")
                    .zh(format!("本平台没有事故 {incident_id}")));
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
        })
    }
}
