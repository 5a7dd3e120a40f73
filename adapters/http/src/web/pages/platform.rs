//! A platform's page: status, listed periods, eligibility, reviews, incidents, timeline, and the
//! acts the viewer may take.

use super::*;

/// An event's name in the page's language; a type this build does not know, as stored.
fn event_name(lang: Lang, event_type: &str) -> String {
    roster_domain::events::PlatformEvent::names(event_type).map_or_else(
        || event_type.to_string(),
        |(zh, en)| lang.t(zh, en).to_string(),
    )
}

pub(crate) async fn platform(
    State(state): State<AppState>,
    Path(platform_id): Path<String>,
    v: Viewer,
) -> Result<Response, PageError> {
    let what = format!("GET /ui/platforms/{platform_id}");
    let loaded = state
        .app()
        .readable_platform(&v.actor, &platform_id, &what)
        .await
        .map_err(|r| refused(&v, r))?;
    let timeline: TimelineDoc = state
        .app()
        .platform_timeline_for(&v.actor, &platform_id)
        .await
        .map_err(|r| refused(&v, r))?;
    let (reviews, incidents): (ReviewsDoc, IncidentsDoc) = state
        .app()
        .platform_record(&platform_id)
        .await
        .map_err(|r| refused(&v, r))?;
    let p = &loaded.state;
    let lang = v.lang;
    let form = p.form.as_ref();
    let name = form.map_or(platform_id.as_str(), |f| f.platform.name.as_str());
    let by_event: HashMap<uuid::Uuid, &str> = timeline
        .entries
        .iter()
        .map(|e| (e.event_id, e.event_type.as_str()))
        .collect();
    // In business-date order (the order things took effect); the recorded order breaks ties.
    let mut entries: Vec<_> = timeline.entries.iter().collect();
    entries.sort_by_key(|e| (e.business_date, e.recorded_at));
    let today = state.app().today();
    let round = match &p.round_id {
        Some(r) => roster_app::round_of(&*state.app().catalog().await, r),
        None => None,
    };
    let body = html! {
        div.cards {
            div.card {
                div.muted { (v.t("状态", "Status")) }
                div { (status_badge(lang, p.status)) }
                @for (from, to) in &p.listed_periods {
                    div.muted { (v.t("在名单内", "Listed")) " " (from) " – " @if let Some(t) = to { (t) } @else { (v.t("至今", "now")) } }
                }
            }
            @if let Some(f) = form {
                div.card {
                    div.muted { (v.t("申报单位", "Applicant")) }
                    div { (f.applicant.name) }
                    div.muted { (f.applicant.uscc.as_str()) " · " (province_name(lang, f.applicant.province.code())) " · " (f.applicant.city.name()) " (" (f.applicant.city.as_str()) ")" }
                }
                div.card {
                    div.muted { (v.t("领域", "Domains")) }
                    div { (f.domains.iter().map(|d| domain_name(lang, *d)).collect::<Vec<_>>().join("、")) }
                }
            }
            div.card {
                div.muted { (v.t("服务能力星级", "Star ratings")) }
                @if p.star_ratings.is_empty() { div { "—" } }
                @for (year, stars) in &p.star_ratings { div { (year) ": " (stars) " ★" } }
            }
        }
        @if form.is_some() {
            p.links {
                a href={"/ui/platforms/" (platform_id) "/print"} id="print" { (v.t("打印申报书", "Print the application")) }
                @if roster_domain::registry::CommandKind::RecordServices.roles().contains(&v.actor.role)
                    && roster_domain::registry::CommandKind::RecordServices.allowed_in().contains(&p.status) {
                    a href={"/ui/platforms/" (platform_id) "/services"} id="services-bulk" { (v.t("批量登记服务成果（上传表格）", "Record services in bulk (spreadsheet)")) }
                }
                @if v.actor.role == roster_domain::actor::Role::Applicant
                    && roster_domain::registry::CommandKind::AmendApplication.allowed_in().contains(&p.status) {
                    form.inline method="post" action={"/ui/platforms/" (platform_id) "/amendment"} {
                        input type="hidden" name="csrf" value=(v.csrf);
                        button type="submit" id="amend" { (v.t("修改申报", "Amend the application")) }
                    }
                }
            }
        }
        (crate::web::actions::platform_forms(&v, &platform_id, p, round, today))
        @if let Some(f) = form {
            h2 { (v.t("佐证材料", "Supporting documents")) }
            @if f.evidence.is_empty() { p.muted { (v.t("未附佐证材料。", "None attached.")) } }
            @else {
                div.scroll { table id="evidence" {
                    thead { tr { th { (v.t("对应条件", "Rule")) } th { (v.t("材料名称", "Title")) } th { (v.t("文件", "File")) } th { "SHA-256" } } }
                    tbody { @for e in &f.evidence {
                        tr {
                            td { (e.rule.as_deref().unwrap_or("—")) }
                            td { (e.title) }
                            td { @if let Some(sha) = &e.sha256 {
                                a href={"/ui/platforms/" (platform_id) "/files/" (sha)} { (e.reference) }
                                @if let Some(n) = e.size { " " span.muted { "(" (n / 1024 + 1) " KB)" } }
                            } @else { (e.reference) } }
                            td.muted { @if let Some(sha) = &e.sha256 { (&sha[..16]) "…" } }
                        }
                    } }
                } }
            }
        }
        @if !p.objections.is_empty() {
            @let ministry = roster_app::reads::sees_objectors(&v.actor);
            h2 { (v.t("公示异议（社会公众提出）", "Objections from the public")) }
            div.scroll { table id="objections" {
                thead { tr {
                    th { (v.t("编号", "Id")) } th { (v.t("提交日期", "Filed on")) }
                    @if ministry { th { (v.t("提出人", "By")) } th { (v.t("联系方式", "Contact")) } th { (v.t("事实与依据", "Grounds")) } th { (v.t("附件", "Attachment")) } }
                    th { (v.t("处理结论", "Decision")) }
                } }
                tbody { @for (id, o) in &p.objections {
                    tr data-objection=(id) {
                        td { (id) } td { (o.filed_on) }
                        @if ministry {
                            td { (o.name) } td { (o.contact) } td { (o.grounds) }
                            td { @if let Some(e) = &o.attachment { @if let Some(sha) = &e.sha256 { a href={"/ui/platforms/" (platform_id) "/files/" (sha)} { (e.reference) } } } }
                        }
                        td.decision { @match o.decided {
                            Some(true) => { (v.t("成立", "upheld")) }
                            Some(false) => { (v.t("不成立", "not upheld")) }
                            None => { strong { (v.t("待处理", "to decide")) } }
                        } }
                    }
                } }
            } }
        }
        @if !p.needs.is_empty() {
            h2 { (v.t("中试需求（企业发布）", "Needs of enterprises")) }
            div.scroll { table id="needs" {
                thead { tr {
                    th { (v.t("编号", "Id")) } th { (v.t("收到日期", "Received")) } th { (v.t("企业", "Enterprise")) }
                    th { (v.t("联系方式", "Contact")) } th { (v.t("需求", "Need")) } th { (v.t("答复", "Answer")) }
                } }
                tbody { @for (id, n) in p.needs.iter().rev() {
                    tr data-need=(id) {
                        td { (id) } td { (n.received_on) }
                        td { (n.need.enterprise_name) br; small.muted { (n.need.enterprise_uscc) } }
                        td { (n.need.contact) }
                        td {
                            (n.need.description)
                            @if !n.need.services.is_empty() { br; small.muted { (n.need.services.iter().map(|s| v.t(s.name_zh(), s.code())).collect::<Vec<_>>().join("、")) } }
                            @if let Some(l) = n.need.min_vessel_l { br; small.muted { "≥ " (l) " L" } }
                        }
                        td.answer { @for (on, a) in &n.answers {
                            div { (on) " " @match a {
                                roster_domain::commands::NeedResponse::Interested => { (v.t("有意对接", "interested")) }
                                roster_domain::commands::NeedResponse::Declined => { (v.t("婉拒", "declined")) }
                                roster_domain::commands::NeedResponse::Contracted { signed_on, contract_cny } => {
                                    (v.t("已签约", "contracted")) " " (signed_on) " · " (contract_cny.yuan()) (v.t(" 元", " yuan"))
                                }
                            } }
                        } @if n.answers.is_empty() { strong { (v.t("待答复", "to answer")) } } }
                    }
                } }
            } }
        }
        h2 { (v.t("资格审查（各条规则）", "Eligibility (each rule)")) }
        @if let Some(a) = &p.assessment {
            p.muted { (v.t("审查日期", "Assessed on")) " " (a.assessed_on) }
            (super::eligibility_table(&v, a))
            @for w in &a.warnings { p.muted { "⚠ " (w) } }
        } @else {
            p.muted { (v.t("尚无资格审查。", "No eligibility assessment yet.")) }
        }
        h2 { (v.t("复核", "Reviews")) }
        div.scroll { table id="reviews" {
            thead { tr { th { (v.t("复核", "Review")) } th { (v.t("起因", "Trigger")) } th { (v.t("开启", "Opened")) } th { (v.t("截止", "Due")) } th { (v.t("结论", "Outcome")) } } }
            tbody { @for r in &reviews.reviews {
                tr { td { (r.review_id) } td { (super::trigger_name(lang, &r.trigger)) } td { (r.opened_on) } td { (r.due_on) }
                     td { @if let Some(o) = r.outcome { (review_outcome(lang, o)) " " @if let Some(c) = r.concluded_on { (c) } } @else if r.lapsed_on.is_some() { (v.t("失效", "lapsed")) } @else { (v.t("进行中", "open")) } } }
            } }
        } }
        h2 { (v.t("事故", "Incidents")) }
        div.scroll { table id="incidents" {
            thead { tr { th { (v.t("事故", "Incident")) } th { (v.t("类别", "Kind")) } th { (v.t("发生", "Occurred")) } th { (v.t("报告", "Reported")) } th { (v.t("评定等级", "Assessed class")) } th { (v.t("复核", "Review")) } } }
            tbody { @for i in &incidents.incidents {
                tr { td { (i.incident_id) } td { (incident_kind(lang, i.kind)) } td { (i.occurred_on) } td { (i.reported_on) }
                     td { @if let Some(c) = i.assessed_class { (incident_class(lang, c)) } }
                     td { @if let Some(r) = &i.review_id { (r) @if let Some(o) = i.review_outcome { " · " (review_outcome(lang, o)) } } } }
            } }
        } }
        h2 { (v.t("时间线", "Timeline")) }
        div.scroll { table id="timeline" {
            thead { tr { th { (v.t("业务日期", "Business date")) } th { (v.t("事件", "Event")) } th { (v.t("内容", "Summary")) } th { (v.t("操作者", "Actor")) } th { (v.t("起因", "Cause")) } th { (v.t("记录时间", "Recorded")) } } }
            tbody { @for e in &entries {
                tr data-event=(e.event_type) {
                    td { (e.business_date) } td { (event_name(lang, &e.event_type)) } td { (if v.lang == Lang::Zh && !e.summary_zh.is_empty() { &e.summary_zh } else { &e.summary }) }
                    td { (crate::web::role_name(lang, &e.actor)) " (" (e.actor.id) ")" }
                    td { @if let Some(c) = e.causation_id { (by_event.get(&c).map_or_else(|| v.t("指令", "command").to_string(), |t| event_name(lang, t))) " " span.muted { (c.simple().to_string()[..8]) } } }
                    td.muted {
                        (e.recorded_at.with_timezone(&roster_domain::clock::beijing()).format("%Y-%m-%d %H:%M:%S")) (v.t("（北京时间）", " (Beijing)"))
                        @if e.late_entry { " " span.badge.late title=(v.t("记录时间晚于业务日期30天以上", "recorded more than 30 days after its business date")) { (v.t("补录", "late entry")) } }
                        @if let Some(op) = &e.backfilled_by { " " span.badge.backfill title=(op) { (v.t("历史迁移", "backfilled")) } }
                    }
                }
            } }
        } }
    };
    Ok(page(&v, name, body))
}
