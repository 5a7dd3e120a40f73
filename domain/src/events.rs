//! Events: past tense, their type strings never change. A changed payload bumps the schema
//! version and gets an upcaster below, with a test.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::commands::{
    DelistReason, OpenRound, ReviewOutcome, ReviewTrigger, ServiceRecord, ViolationArea,
};
use crate::eligibility::EligibilityAssessment;
use crate::form::ApplicationForm;
use crate::incident::{IncidentClass, IncidentKind};
use crate::values::{CityCode, Cny, Domain, Province};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type")]
pub enum RoundEvent {
    RoundOpened(OpenRound),
    RecommendationRegistered {
        platform_id: String,
        #[schema(value_type = String)]
        province: Province,
        domains: BTreeSet<Domain>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type")]
pub enum PlatformEvent {
    ApplicationSubmitted {
        round_id: String,
        /// Application cycle on this stream, from 1 (re-application after delisting etc.).
        cycle: u32,
        submitted_on: NaiveDate,
        form: ApplicationForm,
    },
    EligibilityAssessed {
        assessment: EligibilityAssessment,
    },
    ApplicationAmended {
        #[schema(value_type = Object)]
        changes: Value,
        form: ApplicationForm,
    },
    ApplicationWithdrawn {
        reason: String,
    },
    CityEndorsed {
        city: CityCode,
        opinion: String,
    },
    ProvinceRecommended {
        #[schema(value_type = String)]
        province: Province,
        opinion: String,
        #[serde(default)]
        rank: Option<u32>,
        /// Hard rules failed at the time, overridden with `override_reason`.
        #[serde(default)]
        overridden_rules: Vec<String>,
        #[serde(default)]
        override_reason: Option<String>,
        /// Accepted with warnings.
        #[serde(default)]
        warnings: Vec<String>,
    },
    ProvinceRejected {
        #[schema(value_type = String)]
        province: Province,
        reasons: Vec<String>,
    },
    ExpertEvaluationRecorded {
        score: u32,
        passed: bool,
        panel: Vec<String>,
        #[serde(default)]
        comments: Option<String>,
    },
    PublicNoticeStarted {
        from: NaiveDate,
        until: NaiveDate,
    },
    NoticeObjectionRecorded {
        upheld: bool,
        summary: String,
    },
    PlatformListed {
        listed_on: NaiveDate,
    },
    ServiceRecorded {
        service_id: Uuid,
        dated: NaiveDate,
        record: ServiceRecord,
    },
    ServiceRetracted {
        service_id: Uuid,
        reason: String,
    },
    IncidentReported {
        incident_id: String,
        kind: IncidentKind,
        occurred_on: NaiveDate,
        description: String,
        #[serde(default)]
        direct_loss_cny: Option<Cny>,
        #[serde(default)]
        severity: Option<IncidentClass>,
    },
    IncidentAssessed {
        incident_id: String,
        direct_loss_cny: Cny,
        deaths: u32,
        serious_injuries: u32,
        /// Class under Decree 493 from the assessed consequences.
        class: IncidentClass,
        conclusion: String,
    },
    ReviewOpened {
        review_id: String,
        #[schema(value_type = String)]
        trigger: ReviewTrigger,
        due_on: NaiveDate,
    },
    ReviewConcluded {
        review_id: String,
        outcome: ReviewOutcome,
        reasons: Vec<String>,
    },
    AnnualEvaluationRecorded {
        year: i32,
        stars: u8,
        #[serde(default)]
        findings: Option<String>,
    },
    PlatformDelisted {
        delisted_on: NaiveDate,
        reason: DelistReason,
        #[serde(default)]
        area: Option<ViolationArea>,
        #[serde(default)]
        cause: Option<Uuid>,
        #[serde(default)]
        details: Option<String>,
    },
}

/// Current schema version of an event type. Bumped when its payload changes; the upcaster below
/// turns every older version into the current one.
pub fn schema_version(event_type: &str) -> u32 {
    match event_type {
        // v1 (early imports) carried the trigger as {"kind": "incident", "incident_id": "…"}.
        "ReviewOpened" => 2,
        _ => 1,
    }
}

impl PlatformEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            PlatformEvent::ApplicationSubmitted { .. } => "ApplicationSubmitted",
            PlatformEvent::EligibilityAssessed { .. } => "EligibilityAssessed",
            PlatformEvent::ApplicationAmended { .. } => "ApplicationAmended",
            PlatformEvent::ApplicationWithdrawn { .. } => "ApplicationWithdrawn",
            PlatformEvent::CityEndorsed { .. } => "CityEndorsed",
            PlatformEvent::ProvinceRecommended { .. } => "ProvinceRecommended",
            PlatformEvent::ProvinceRejected { .. } => "ProvinceRejected",
            PlatformEvent::ExpertEvaluationRecorded { .. } => "ExpertEvaluationRecorded",
            PlatformEvent::PublicNoticeStarted { .. } => "PublicNoticeStarted",
            PlatformEvent::NoticeObjectionRecorded { .. } => "NoticeObjectionRecorded",
            PlatformEvent::PlatformListed { .. } => "PlatformListed",
            PlatformEvent::ServiceRecorded { .. } => "ServiceRecorded",
            PlatformEvent::ServiceRetracted { .. } => "ServiceRetracted",
            PlatformEvent::IncidentReported { .. } => "IncidentReported",
            PlatformEvent::IncidentAssessed { .. } => "IncidentAssessed",
            PlatformEvent::ReviewOpened { .. } => "ReviewOpened",
            PlatformEvent::ReviewConcluded { .. } => "ReviewConcluded",
            PlatformEvent::AnnualEvaluationRecorded { .. } => "AnnualEvaluationRecorded",
            PlatformEvent::PlatformDelisted { .. } => "PlatformDelisted",
        }
    }
}

impl RoundEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            RoundEvent::RoundOpened(_) => "RoundOpened",
            RoundEvent::RecommendationRegistered { .. } => "RecommendationRegistered",
        }
    }
}

impl DomainEvent for PlatformEvent {
    fn event_type(&self) -> String {
        PlatformEvent::event_type(self).to_string()
    }

    fn event_version(&self) -> String {
        schema_version(PlatformEvent::event_type(self)).to_string()
    }
}

impl DomainEvent for RoundEvent {
    fn event_type(&self) -> String {
        RoundEvent::event_type(self).to_string()
    }

    fn event_version(&self) -> String {
        schema_version(RoundEvent::event_type(self)).to_string()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot decode {event_type} v{schema_version}: {reason}")]
pub struct DecodeError {
    pub event_type: String,
    pub schema_version: u32,
    pub reason: String,
}

/// Upcasts a stored payload to the current schema version of its type.
pub fn upcast(event_type: &str, schema_version: u32, payload: Value) -> Result<Value, DecodeError> {
    let current = schema_version_of(event_type);
    if schema_version > current {
        return Err(DecodeError {
            event_type: event_type.into(),
            schema_version,
            reason: format!("newer than this build knows (v{current})"),
        });
    }
    let mut payload = payload;
    if event_type == "ReviewOpened" && schema_version < 2 {
        if let Some(obj) = payload.as_object_mut() {
            if let Some(Value::Object(t)) = obj.get("trigger").cloned() {
                let kind = t.get("kind").and_then(Value::as_str).unwrap_or("");
                let s = match kind {
                    "incident" => format!(
                        "incident:{}",
                        t.get("incident_id").and_then(Value::as_str).unwrap_or("")
                    ),
                    other => other.to_string(),
                };
                obj.insert("trigger".into(), Value::String(s));
            }
        }
    }
    Ok(payload)
}

fn schema_version_of(event_type: &str) -> u32 {
    schema_version(event_type)
}

/// Decodes a stored platform event (type + schema version + payload) into the current shape.
pub fn decode_platform(
    event_type: &str,
    schema_version: u32,
    payload: &Value,
) -> Result<PlatformEvent, DecodeError> {
    decode(event_type, schema_version, payload)
}

pub fn decode_target_set(
    event_type: &str,
    schema_version: u32,
    payload: &Value,
) -> Result<crate::targets::TargetSetEvent, DecodeError> {
    decode(event_type, schema_version, payload)
}

pub fn decode_round(
    event_type: &str,
    schema_version: u32,
    payload: &Value,
) -> Result<RoundEvent, DecodeError> {
    decode(event_type, schema_version, payload)
}

fn decode<E: serde::de::DeserializeOwned>(
    event_type: &str,
    schema_version: u32,
    payload: &Value,
) -> Result<E, DecodeError> {
    let mut v = upcast(event_type, schema_version, payload.clone())?;
    if let Some(obj) = v.as_object_mut() {
        obj.insert("type".into(), Value::String(event_type.to_string()));
    }
    serde_json::from_value(v).map_err(|e| DecodeError {
        event_type: event_type.into(),
        schema_version,
        reason: e.to_string(),
    })
}

/// Encodes an event into (type, schema version, payload without the type tag).
pub fn encode<E: Serialize + DomainEvent>(event: &E) -> (String, u32, Value) {
    let mut v = serde_json::to_value(event).expect("events serialize");
    if let Some(obj) = v.as_object_mut() {
        obj.remove("type");
    }
    let t = event.event_type();
    let sv = schema_version(&t);
    (t, sv, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn review_opened_v1_is_upcast_to_v2() {
        let v1 = json!({"review_id": "r1", "trigger": {"kind": "incident", "incident_id": "inc-7"}, "due_on": "2026-03-01"});
        let e = decode_platform("ReviewOpened", 1, &v1).unwrap();
        assert_eq!(
            e,
            PlatformEvent::ReviewOpened {
                review_id: "r1".into(),
                trigger: ReviewTrigger::Incident("inc-7".into()),
                due_on: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            }
        );
        let (t, sv, payload) = encode(&e);
        assert_eq!((t.as_str(), sv), ("ReviewOpened", 2));
        assert_eq!(payload["trigger"], "incident:inc-7");
        assert_eq!(decode_platform(&t, sv, &payload).unwrap(), e);
    }

    #[test]
    fn a_newer_schema_than_known_is_refused() {
        let err = decode_platform("ReviewOpened", 3, &json!({})).unwrap_err();
        assert!(err.reason.contains("newer"), "{err}");
    }
}
