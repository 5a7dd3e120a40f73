//! A platform's timeline: every event with its actor, business date, recorded time, causation
//! and a one-line summary a clerk can read.

use chrono::{DateTime, NaiveDate, Utc};
use roster_domain::actor::Actor;
use roster_domain::events::PlatformEvent;
use roster_domain::store::StoredEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{platform_id, DocModel};

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
    /// Recorded more than 30 days after its business date (SPEC §12).
    #[serde(default)]
    pub late_entry: bool,
    /// The operator who migrated it from history, if it was backfilled (SPEC §12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfilled_by: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelineDoc {
    pub platform_id: String,
    pub entries: Vec<TimelineEntry>,
}

pub fn summary(event: &PlatformEvent) -> String {
    use PlatformEvent as E;
    match event {
        E::ApplicationSubmitted {
            round_id,
            cycle,
            form,
            ..
        } => {
            format!(
                "application submitted to round {round_id} (cycle {cycle}) by {} ({})",
                form.applicant.name, form.applicant.uscc
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
        E::NoticeObjectionRecorded { upheld, summary } => format!(
            "objection {}: {summary}",
            if *upheld { "upheld" } else { "not upheld" }
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

/// The timeline read model.
pub fn model() -> DocModel<TimelineDoc> {
    DocModel {
        name: "timeline",
        fold,
    }
}

fn fold(doc: &mut TimelineDoc, event: &PlatformEvent, e: &StoredEvent) {
    doc.platform_id = platform_id(e).unwrap_or_default().to_string();
    let mut summary = summary(event);
    if e.metadata.actor.role == roster_domain::actor::Role::System {
        // "policy D-4" from the system actor "system:policy D-4".
        let id = &e.metadata.actor.id;
        let who = id.strip_prefix("system:").unwrap_or(id);
        // What caused it, in the words of the causing event's own entry.
        let after = e.metadata.causation_id.map(|c| {
            match doc.entries.iter().find(|entry| entry.event_id == c) {
                Some(cause) => format!(" after {} (event {c})", cause.summary),
                None => format!(" after event {c}"),
            }
        });
        summary = match event {
            PlatformEvent::ReviewOpened {
                review_id,
                trigger,
                due_on,
            } => format!(
                "review {review_id} ({trigger}) opened automatically by {who}{}, due {due_on}",
                after.unwrap_or_default()
            ),
            _ => format!(
                "{summary}: automatically by {who}{}",
                after.unwrap_or_default()
            ),
        };
    }
    doc.entries.push(TimelineEntry {
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
        late_entry: e.metadata.late_entry(),
        backfilled_by: e.metadata.backfilled_by.clone(),
    });
}
