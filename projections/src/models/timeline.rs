//! A platform's timeline: every event with its actor, business date, recorded time, causation
//! and a one-line summary a clerk can read.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use roster_domain::actor::Actor;
use roster_domain::events::PlatformEvent;
use roster_domain::store::{StoreError, StoredEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::platform_id;
use crate::runner::Projection;
use crate::store::ReadModelStore;

/// The timeline model's name (its rows are keyed by platform and position).
pub const NAME: &str = "timeline";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub position: i64,
    pub version: u64,
    pub event_id: Uuid,
    pub event_type: String,
    pub business_date: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    pub actor: Actor,
    pub command_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub summary: String,
    /// The same line in Chinese; empty in rows written before it existed (the page then shows
    /// `summary`; `roster rebuild timeline` fills it).
    #[serde(default)]
    pub summary_zh: String,
    /// Recorded more than 30 days after its business date (RULES.md §12).
    #[serde(default)]
    pub late_entry: bool,
    /// The operator who migrated it from history, if it was backfilled (RULES.md §12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfilled_by: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelineDoc {
    pub platform_id: String,
    pub entries: Vec<TimelineEntry>,
}

pub fn summary(event: &PlatformEvent) -> String {
    use roster_domain::commands::NeedResponse;
    use PlatformEvent as E;
    match event {
        E::ApplicationSubmitted {
            round_id,
            cycle,
            form,
            ..
        } => {
            let files = form.evidence.iter().filter(|e| e.sha256.is_some()).count();
            format!(
                "application submitted to round {round_id} (cycle {cycle}) by {} ({}){}",
                form.applicant.name,
                form.applicant.uscc,
                if files > 0 {
                    format!(", {files} file(s) attached")
                } else {
                    String::new()
                }
            )
        }
        E::EligibilityAssessed { assessment } => {
            let failed = assessment.hard_failures();
            if failed.is_empty() {
                "eligibility assessed: every hard rule passes or awaits evidence".into()
            } else {
                format!("eligibility assessed: fails {}", failed.join(", "))
            }
        }
        E::ApplicationAmended { changes, .. } => {
            let fields: Vec<&str> = changes
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            format!("application amended: {}", fields.join(", "))
        }
        E::ApplicationWithdrawn { reason } => format!("application withdrawn: {reason}"),
        E::CityEndorsed { city, opinion } => format!("endorsed by city {city}: {opinion}"),
        E::ProvinceRecommended {
            province,
            rank,
            warnings,
            overridden_rules,
            ..
        } => {
            let mut s = format!("recommended by province {province}");
            if let Some(r) = rank {
                s.push_str(&format!(" (rank {r})"));
            }
            if !overridden_rules.is_empty() {
                s.push_str(&format!("; overriding {}", overridden_rules.join(", ")));
            }
            for w in warnings {
                s.push_str(&format!("; warning {w}"));
            }
            s
        }
        E::ProvinceRejected { province, reasons } => {
            format!("rejected by province {province}: {}", reasons.join("; "))
        }
        E::ExpertEvaluationRecorded { score, passed, .. } => format!(
            "expert evaluation {score}/100: {}",
            if *passed { "passed" } else { "not passed" }
        ),
        E::PublicNoticeStarted { from, until } => format!("public notice {from} to {until}"),
        E::NoticeObjectionRecorded {
            upheld,
            summary,
            objection_id,
        } => format!(
            "objection{} {}: {summary}",
            objection_id
                .as_deref()
                .map_or(String::new(), |id| format!(" {id}")),
            if *upheld { "upheld" } else { "not upheld" }
        ),
        // Who objected, how to reach them and the grounds are for the ministry alone.
        E::ObjectionFiled {
            objection_id,
            filed_on,
            ..
        } => format!("objection {objection_id} filed by the public on {filed_on}"),
        E::NeedReceived {
            need_id,
            need,
            received_on,
        } => format!(
            "need {need_id} of {} ({}) received on {received_on}: {}",
            need.enterprise_name, need.contact, need.description
        ),
        E::NeedAnswered {
            need_id,
            answer,
            note,
            ..
        } => format!(
            "need {need_id}: {}{}",
            match answer {
                NeedResponse::Interested => "interested".to_string(),
                NeedResponse::Declined => "declined".to_string(),
                NeedResponse::Contracted {
                    signed_on,
                    contract_cny,
                } => format!("contract signed on {signed_on}, {}", yuan(*contract_cny)),
            },
            note.as_deref().map_or(String::new(), |n| format!(" ({n})"))
        ),
        E::ServiceOfferUpdated {
            services,
            accepting_orders,
            ..
        } => format!(
            "service offer: {}{}",
            services
                .iter()
                .map(|s| s.code())
                .collect::<Vec<_>>()
                .join(", "),
            if *accepting_orders {
                ""
            } else {
                " (not taking orders)"
            }
        ),
        E::PlatformListed { listed_on } => format!("listed on {listed_on}"),
        E::ServiceRecorded { dated, record, .. } => format!(
            "service of {dated}: {}",
            serde_json::to_value(record)
                .ok()
                .and_then(|v| v["kind"].as_str().map(String::from))
                .unwrap_or_default()
        ),
        E::ServiceRetracted { service_id, reason } => {
            format!("service {service_id} retracted: {reason}")
        }
        E::IncidentReported {
            incident_id,
            kind,
            occurred_on,
            direct_loss_cny,
            ..
        } => format!(
            "incident {incident_id} ({}) of {occurred_on} reported{}",
            serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            direct_loss_cny
                .map(|l| format!(", direct loss {l}"))
                .unwrap_or_default()
        ),
        E::IncidentAssessed {
            incident_id,
            direct_loss_cny,
            class,
            ..
        } => format!(
            "incident {incident_id} assessed: direct loss {direct_loss_cny}, class {class:?}"
        ),
        E::ReviewOpened {
            review_id,
            trigger,
            due_on,
        } => format!("review {review_id} opened ({trigger}), due {due_on}"),
        E::ReviewConcluded {
            review_id, outcome, ..
        } => format!("review {review_id} concluded: {outcome:?}"),
        E::AnnualEvaluationRecorded { year, stars, .. } => {
            format!("annual evaluation {year}: {stars} star(s)")
        }
        E::PlatformDelisted {
            reason,
            area,
            cause,
            ..
        } => format!(
            "delisted: {}{}{}",
            serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            area.map(|a| format!(" ({a:?})")).unwrap_or_default(),
            cause
                .map(|c| format!(", caused by event {c}"))
                .unwrap_or_default()
        ),
    }
}

fn yuan(c: roster_domain::values::Cny) -> String {
    format!("{} 元", c.yuan())
}

/// The one-line summary in Chinese, as a clerk reads it.
pub fn summary_zh(event: &PlatformEvent) -> String {
    use roster_domain::commands::NeedResponse;
    use PlatformEvent as E;
    match event {
        E::ApplicationSubmitted {
            round_id,
            cycle,
            form,
            ..
        } => {
            let files = form.evidence.iter().filter(|e| e.sha256.is_some()).count();
            format!(
                "{}（{}）提交 {round_id} 批次申报（第 {cycle} 次）{}",
                form.applicant.name,
                form.applicant.uscc,
                if files > 0 {
                    format!("，附佐证材料 {files} 份")
                } else {
                    String::new()
                }
            )
        }
        E::EligibilityAssessed { assessment } => {
            let failed = assessment.hard_failures();
            if failed.is_empty() {
                "资格审查：硬性条件均符合或待补材料".into()
            } else {
                format!("资格审查：不符合 {}", failed.join("、"))
            }
        }
        E::ApplicationAmended { changes, .. } => {
            let fields: Vec<&str> = changes
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            format!("修改申报：{}", fields.join("、"))
        }
        E::ApplicationWithdrawn { reason } => format!("撤回申报：{reason}"),
        E::CityEndorsed { city, opinion } => format!("市级（{city}）审核推荐：{opinion}"),
        E::ProvinceRecommended {
            province,
            rank,
            warnings,
            overridden_rules,
            ..
        } => {
            let mut s = format!("{}推荐", province.name_zh());
            if let Some(r) = rank {
                s.push_str(&format!("（排序第 {r}）"));
            }
            if !overridden_rules.is_empty() {
                s.push_str(&format!("；不符合 {} 仍推荐", overridden_rules.join("、")));
            }
            for w in warnings {
                s.push_str(&format!("；提示 {w}"));
            }
            s
        }
        E::ProvinceRejected { province, reasons } => {
            format!("{}不予推荐：{}", province.name_zh(), reasons.join("；"))
        }
        E::ExpertEvaluationRecorded { score, passed, .. } => format!(
            "专家评审 {score} 分：{}",
            if *passed { "通过" } else { "未通过" }
        ),
        E::PublicNoticeStarted { from, until } => format!("公示 {from} 至 {until}"),
        E::NoticeObjectionRecorded {
            upheld,
            summary,
            objection_id,
        } => format!(
            "公示异议{}（{}）：{summary}",
            objection_id
                .as_deref()
                .map_or(String::new(), |id| format!(" {id}")),
            if *upheld { "成立" } else { "不成立" }
        ),
        E::ObjectionFiled {
            objection_id,
            filed_on,
            ..
        } => format!("{filed_on} 社会公众提出异议（{objection_id}），待工业和信息化部处理"),
        E::NeedReceived {
            need_id,
            need,
            received_on,
        } => format!(
            "{received_on} 收到 {}（{}）的中试需求 {need_id}：{}",
            need.enterprise_name, need.contact, need.description
        ),
        E::NeedAnswered {
            need_id,
            answer,
            note,
            ..
        } => format!(
            "答复中试需求 {need_id}：{}{}",
            match answer {
                NeedResponse::Interested => "有意对接".to_string(),
                NeedResponse::Declined => "婉拒".to_string(),
                NeedResponse::Contracted {
                    signed_on,
                    contract_cny,
                } => format!("{signed_on} 签约，合同金额 {}", yuan(*contract_cny)),
            },
            note.as_deref()
                .map_or(String::new(), |n| format!("（{n}）"))
        ),
        E::ServiceOfferUpdated {
            services,
            accepting_orders,
            ..
        } => format!(
            "中试服务：{}{}",
            services
                .iter()
                .map(|s| s.name_zh())
                .collect::<Vec<_>>()
                .join("、"),
            if *accepting_orders {
                ""
            } else {
                "（暂不接单）"
            }
        ),
        E::PlatformListed { listed_on } => format!("{listed_on} 列入名单"),
        E::ServiceRecorded { dated, record, .. } => {
            format!("登记 {dated} 的服务成果：{}", record.kind_zh())
        }
        E::ServiceRetracted { service_id, reason } => {
            format!("撤回服务成果 {service_id}：{reason}")
        }
        E::IncidentReported {
            incident_id,
            kind,
            occurred_on,
            direct_loss_cny,
            ..
        } => format!(
            "报告事故 {incident_id}（{}），发生于 {occurred_on}{}",
            kind.name_zh(),
            direct_loss_cny
                .map(|l| format!("，直接经济损失 {}", yuan(l)))
                .unwrap_or_default()
        ),
        E::IncidentAssessed {
            incident_id,
            direct_loss_cny,
            class,
            ..
        } => format!(
            "事故 {incident_id} 定级：直接经济损失 {}，{}事故",
            yuan(*direct_loss_cny),
            class.name_zh()
        ),
        E::ReviewOpened {
            review_id,
            trigger,
            due_on,
        } => format!(
            "启动复核 {review_id}（{}），截止 {due_on}",
            trigger.name_zh()
        ),
        E::ReviewConcluded {
            review_id, outcome, ..
        } => format!("复核 {review_id} 结论：{}", outcome.name_zh()),
        E::AnnualEvaluationRecorded { year, stars, .. } => {
            format!("{year} 年度评价：{stars} 星")
        }
        E::PlatformDelisted {
            reason,
            area,
            cause,
            ..
        } => format!(
            "撤销：{}{}{}",
            reason.name_zh(),
            area.map(|a| format!("（{}）", a.name_zh()))
                .unwrap_or_default(),
            cause.map(|c| format!("，起因事件 {c}")).unwrap_or_default()
        ),
    }
}

/// The timeline read model.
pub fn model() -> TimelineModel {
    TimelineModel
}

/// The timeline keeps one row per event, under `<platform id>/<version>` (zero-padded, so a
/// scan returns a platform's rows in stream order): applying an event writes one small row
/// whatever the length of the platform's history, and a platform's timeline is one prefix scan.
pub struct TimelineModel;

/// Stored row: the entry, whose `summary` is the head of the line for an automatic act, and
/// what completes it once the causing entry is known (at read time, from the same timeline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Row {
    #[serde(flatten)]
    entry: TimelineEntry,
    /// Set for acts of the system: the text after the cause (e.g. ", due 2027-01-31").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    automatic_tail: Option<String>,
    /// The same in Chinese.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    automatic_tail_zh: Option<String>,
}

/// The key of a platform's row for stream version `version`.
pub fn row_key(platform_id: &str, version: u64) -> String {
    format!("{platform_id}/{version:010}")
}

/// The prefix under which a platform's rows are stored.
pub fn prefix(platform_id: &str) -> String {
    format!("{platform_id}/")
}

impl Projection for TimelineModel {
    fn name(&self) -> &'static str {
        NAME
    }

    fn keys(&self, e: &StoredEvent) -> Vec<String> {
        platform_id(e)
            .map(|p| vec![row_key(p, e.version)])
            .unwrap_or_default()
    }

    fn apply(
        &self,
        e: &StoredEvent,
        docs: &mut BTreeMap<String, Option<Value>>,
    ) -> Result<(), String> {
        let Some(pid) = platform_id(e) else {
            return Ok(());
        };
        let event = super::decode(e)?;
        let row = serde_json::to_value(row(&event, e)).map_err(|err| err.to_string())?;
        docs.insert(row_key(pid, e.version), Some(row));
        Ok(())
    }
}

fn row(event: &PlatformEvent, e: &StoredEvent) -> Row {
    let mut summary = summary(event);
    let mut summary_zh = summary_zh(event);
    let mut automatic_tail = None;
    let mut automatic_tail_zh = None;
    if e.metadata.actor.role == roster_domain::actor::Role::System {
        // "policy D-4" from the system actor "system:policy D-4".
        let id = &e.metadata.actor.id;
        let who = id.strip_prefix("system:").unwrap_or(id);
        match event {
            PlatformEvent::ReviewOpened {
                review_id,
                trigger,
                due_on,
            } => {
                summary = format!("review {review_id} ({trigger}) opened automatically by {who}");
                automatic_tail = Some(format!(", due {due_on}"));
                summary_zh = format!("{who} 自动启动复核 {review_id}（{}）", trigger.name_zh());
                automatic_tail_zh = Some(format!("，截止 {due_on}"));
            }
            _ => {
                summary = format!("{summary}: automatically by {who}");
                automatic_tail = Some(String::new());
                summary_zh = format!("{summary_zh}（{who} 自动办理）");
                automatic_tail_zh = Some(String::new());
            }
        }
    }
    Row {
        entry: TimelineEntry {
            position: e.global_position,
            version: e.version,
            event_id: e.event_id,
            event_type: e.event_type.clone(),
            business_date: e.metadata.business_date,
            recorded_at: e.metadata.recorded_at,
            actor: e.metadata.actor.clone(),
            command_id: e.metadata.command_id,
            causation_id: e.metadata.causation_id,
            summary,
            summary_zh,
            late_entry: e.metadata.late_entry(),
            backfilled_by: e.metadata.backfilled_by.clone(),
        },
        automatic_tail,
        automatic_tail_zh,
    }
}

/// A platform's timeline from its stored rows (in stream order). An automatic act names what
/// caused it in the words of the causing entry, when that entry is on the same timeline.
pub fn assemble(
    platform_id: &str,
    rows: impl IntoIterator<Item = Value>,
) -> Result<TimelineDoc, String> {
    let mut entries: Vec<TimelineEntry> = Vec::new();
    let mut by_event: HashMap<Uuid, usize> = HashMap::new();
    for v in rows {
        let Row {
            mut entry,
            automatic_tail,
            automatic_tail_zh,
        } = serde_json::from_value(v)
            .map_err(|err| format!("timeline row of {platform_id} unreadable: {err}"))?;
        if let Some(tail) = automatic_tail {
            if let Some(c) = entry.causation_id {
                match by_event.get(&c) {
                    Some(&i) => {
                        let cause = entries[i].summary.clone();
                        entry
                            .summary
                            .push_str(&format!(" after {cause} (event {c})"));
                    }
                    None => entry.summary.push_str(&format!(" after event {c}")),
                }
            }
            entry.summary.push_str(&tail);
        }
        if let (Some(tail), false) = (automatic_tail_zh, entry.summary_zh.is_empty()) {
            if let Some(c) = entry.causation_id {
                match by_event.get(&c) {
                    Some(&i) if !entries[i].summary_zh.is_empty() => {
                        let cause = entries[i].summary_zh.clone();
                        entry.summary_zh.push_str(&format!("，起因：{cause}"));
                    }
                    _ => entry.summary_zh.push_str(&format!("，起因事件 {c}")),
                }
            }
            entry.summary_zh.push_str(&tail);
        }
        by_event.insert(entry.event_id, entries.len());
        entries.push(entry);
    }
    Ok(TimelineDoc {
        platform_id: platform_id.to_string(),
        entries,
    })
}

/// One platform's timeline (empty when it has none).
pub async fn read(
    models: &dyn ReadModelStore,
    platform_id: &str,
) -> Result<TimelineDoc, StoreError> {
    let rows = models.scan(NAME, &prefix(platform_id)).await?;
    assemble(platform_id, rows.into_iter().map(|(_, v)| v)).map_err(StoreError::Other)
}

/// Every platform's timeline, in platform id order.
pub fn assemble_all(
    rows: impl IntoIterator<Item = (String, Value)>,
) -> Result<Vec<TimelineDoc>, String> {
    let mut grouped: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (key, v) in rows {
        let pid = key.rsplit_once('/').map_or(key.as_str(), |(p, _)| p);
        grouped.entry(pid.to_string()).or_default().push(v);
    }
    grouped
        .into_iter()
        .map(|(pid, rows)| assemble(&pid, rows))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_domain::samples::stored_event;
    use serde_json::json;

    fn stored(
        position: i64,
        event: &PlatformEvent,
        actor: serde_json::Value,
        cause: Option<Uuid>,
    ) -> StoredEvent {
        let mut e = stored_event(1, position);
        let v = serde_json::to_value(event).unwrap();
        e.event_type = v["type"].as_str().unwrap().to_string();
        let mut payload = v;
        payload.as_object_mut().unwrap().remove("type");
        e.payload = payload;
        e.metadata.actor = serde_json::from_value(actor).unwrap();
        e.metadata.causation_id = cause;
        e
    }

    #[test]
    fn an_automatic_review_names_its_cause_in_both_languages() {
        let incident = PlatformEvent::IncidentReported {
            incident_id: "leak-1".into(),
            kind: roster_domain::incident::IncidentKind::StrainLeak,
            occurred_on: "2026-04-01".parse().unwrap(),
            description: "x".into(),
            direct_loss_cny: Some(roster_domain::values::Cny(20_000)),
            severity: None,
        };
        let first = stored(
            1,
            &incident,
            json!({"id": "a", "role": "applicant", "jurisdiction": "91440300708461136T"}),
            None,
        );
        let review = PlatformEvent::ReviewOpened {
            review_id: "inc-leak-1".into(),
            trigger: roster_domain::commands::ReviewTrigger::Incident("leak-1".into()),
            due_on: "2026-07-01".parse().unwrap(),
        };
        let second = stored(
            2,
            &review,
            json!({"id": "system:policy D-4", "role": "system"}),
            Some(first.event_id),
        );
        let rows = [&first, &second]
            .map(|e| serde_json::to_value(row(&super::super::decode(e).unwrap(), e)).unwrap());
        let doc = assemble("1", rows).unwrap();
        assert_eq!(
            doc.entries[0].summary_zh,
            "报告事故 leak-1（菌种泄露），发生于 2026-04-01，直接经济损失 20000 元"
        );
        assert_eq!(
            doc.entries[1].summary_zh,
            "policy D-4 自动启动复核 inc-leak-1（事故复核（leak-1）），起因：报告事故 leak-1（菌种泄露），发生于 2026-04-01，直接经济损失 20000 元，截止 2026-07-01"
        );
        assert!(doc.entries[1]
            .summary
            .starts_with("review inc-leak-1 (incident:leak-1) opened automatically by policy D-4 after incident leak-1"));
    }

    #[test]
    fn a_row_written_before_the_chinese_line_reads_back_with_an_empty_one() {
        let old = json!({
            "position": 1, "version": 1, "event_id": Uuid::nil(), "event_type": "PlatformListed",
            "business_date": "2025-12-01", "recorded_at": "2025-12-01T02:00:00Z",
            "actor": {"id": "m", "role": "ministry"}, "command_id": Uuid::nil(),
            "causation_id": null, "summary": "listed on 2025-12-01"
        });
        let doc = assemble("1", [old]).unwrap();
        assert_eq!(doc.entries[0].summary_zh, "");
        assert_eq!(doc.entries[0].summary, "listed on 2025-12-01");
    }
}
