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

/// Events of a round's stream (`round-<id>`): the call for applications and the
/// recommendation slots its provinces have taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type")]
pub enum RoundEvent {
    /// The ministry opened the round with its deadlines, quota per province and
    /// minimum notice length.
    RoundOpened(OpenRound),
    /// A province's recommendation took a slot of its quota. Recorded with the platform's
    /// `ProvinceRecommended`, in the same transaction.
    RecommendationRegistered {
        /// The recommended platform.
        platform_id: String,
        /// The recommending province (GB/T 2260 two-digit prefix, or `XPCC`).
        #[schema(value_type = String)]
        province: Province,
        /// The platform's declared domains (申报类别) when recommended, for R-2.
        domains: BTreeSet<Domain>,
    },
}

/// Events of a platform's stream (`platform-<id>`): its lifecycle from application to listing,
/// dynamic management and delisting (RULES.md §4, §7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type")]
pub enum PlatformEvent {
    /// The applicant submitted its application form in a round, starting a new application
    /// cycle; always followed by `EligibilityAssessed`.
    ApplicationSubmitted {
        /// The round applied in, e.g. `2025`.
        round_id: String,
        /// Application cycle on this stream, from 1 (re-application after delisting etc.).
        cycle: u32,
        /// Business date of the submission, within the round's applicant deadline.
        submitted_on: NaiveDate,
        /// The application form (申请表) as submitted.
        form: ApplicationForm,
    },
    /// The form was assessed against G-1..G-12 (RULES.md §5); recorded with every submission
    /// and amendment, in the same commit.
    EligibilityAssessed {
        /// Every hard rule's outcome, the soft findings and warnings.
        assessment: EligibilityAssessment,
    },
    /// The applicant amended its application before the province decided; followed by a new
    /// `EligibilityAssessed`.
    ApplicationAmended {
        /// The changes as sent: a JSON merge patch (RFC 7396) of the form.
        #[schema(value_type = Object)]
        changes: Value,
        /// The whole form after the amendment.
        form: ApplicationForm,
    },
    /// The applicant withdrew its application before listing; it may apply again in a later
    /// round.
    ApplicationWithdrawn {
        /// The applicant's reason.
        reason: String,
    },
    /// The applicant's city department (地级市工信局) verified the application and forwarded
    /// it to the province.
    CityEndorsed {
        /// The endorsing city (6-digit GB/T 2260 code), the applicant's own.
        city: CityCode,
        /// The city's opinion (推荐意见).
        opinion: String,
    },
    /// The province recommended the application to the ministry (R-1..R-4). An application
    /// that fails a hard rule is recommended only with an override reason (RULES.md §5).
    ProvinceRecommended {
        /// The recommending province (GB/T 2260 two-digit prefix, or `XPCC`).
        #[schema(value_type = String)]
        province: Province,
        /// The province's opinion (推荐意见).
        opinion: String,
        /// The province's ranking of this recommendation (排序), if it gave one.
        #[serde(default)]
        rank: Option<u32>,
        /// Hard rules failed at the time, overridden with `override_reason`.
        #[serde(default)]
        overridden_rules: Vec<String>,
        /// The province's reason for recommending despite failed hard rules; required when
        /// `overridden_rules` is not empty.
        #[serde(default)]
        override_reason: Option<String>,
        /// Accepted with warnings.
        #[serde(default)]
        warnings: Vec<String>,
    },
    /// The province rejected the application (未获推荐); the unit may apply again in a later
    /// round.
    ProvinceRejected {
        /// The rejecting province (GB/T 2260 two-digit prefix, or `XPCC`).
        #[schema(value_type = String)]
        province: Province,
        /// Rule ids or text; at least one.
        reasons: Vec<String>,
    },
    /// The ministry recorded the expert evaluation (专家评价): a pass makes the platform
    /// `evaluated`, a fail `not_selected`.
    ExpertEvaluationRecorded {
        /// Score, 0-100.
        score: u32,
        /// Whether the platform passed the evaluation.
        passed: bool,
        /// The experts of the panel.
        panel: Vec<String>,
        /// The panel's comments, if any.
        #[serde(default)]
        comments: Option<String>,
    },
    /// The ministry put the platform on public notice (公示) for objections.
    PublicNoticeStarted {
        /// First day of the notice.
        from: NaiveDate,
        /// Last day of the notice, included; listing is possible from the day after.
        until: NaiveDate,
    },
    /// The ministry recorded its decision on an objection filed during the public notice; an
    /// upheld objection ends the application as `not_selected`.
    NoticeObjectionRecorded {
        /// Whether the objection was upheld.
        upheld: bool,
        /// What the objection was about.
        summary: String,
        /// The objection filed on the public face this decides, if it was.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        objection_id: Option<String>,
    },
    /// A listed platform stated the pilot services it offers (RULES.md §13).
    ServiceOfferUpdated {
        /// The services offered.
        services: Vec<crate::commands::PilotService>,
        /// In its own words.
        #[serde(default)]
        description: Option<String>,
        /// Whether it takes new orders.
        accepting_orders: bool,
        /// The day it was stated.
        updated_on: NaiveDate,
    },
    /// Someone filed an objection during the public notice (RULES.md §13); the ministry decides
    /// it (`NoticeObjectionRecorded`). The name and contact are for the ministry alone.
    ObjectionFiled {
        /// Its id (回执编号), from the command id.
        objection_id: String,
        /// The day it was filed (within the notice).
        filed_on: NaiveDate,
        /// Who objects.
        name: String,
        /// How to reach them.
        contact: String,
        /// The grounds.
        grounds: String,
        /// An uploaded attachment, by its hash.
        #[serde(default)]
        attachment: Option<crate::form::Evidence>,
    },
    /// An enterprise's need, posted on the public face, reached this listed platform because
    /// it matches it (RULES.md §13). The contact is for the platform and its supervisors.
    NeedReceived {
        /// The need's id, the same on every platform it reached.
        need_id: String,
        /// The day it was posted.
        received_on: NaiveDate,
        /// The need as the enterprise posted it.
        need: crate::commands::Need,
    },
    /// The platform answered a need (RULES.md §13); a contract is recorded with it as a
    /// service to the enterprise (`ServiceRecorded`, K-2) in the same commit.
    NeedAnswered {
        /// The need answered.
        need_id: String,
        /// The answer: interested, declined or contracted (with the contract).
        answer: crate::commands::NeedResponse,
        /// A note to the record.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        /// The day it was answered.
        answered_on: NaiveDate,
    },
    /// The ministry listed the platform on the roster (列入名单) after a passed evaluation and a
    /// completed public notice.
    PlatformListed {
        /// Date the listing takes effect; triennial reviews fall due on its anniversaries (D-1).
        listed_on: NaiveDate,
    },
    /// A service the listed platform delivered, recorded by the applicant or the ministry; it
    /// counts towards K-2..K-4 when dated within a listed period (RULES.md §8).
    ServiceRecorded {
        /// Id of the record: chosen by the client, or derived from the command id.
        service_id: Uuid,
        /// The date the service was delivered, not after the business date of the record.
        dated: NaiveDate,
        /// What was delivered, by kind.
        record: ServiceRecord,
    },
    /// The ministry retracted a service record; it then counts at no as-of date (RULES.md §8).
    ServiceRetracted {
        /// The retracted record.
        service_id: Uuid,
        /// Why the record was retracted.
        reason: String,
    },
    /// An incident of the platform, reported by the applicant, its province or the ministry. On
    /// a listed platform a strain leak opens a re-review (D-4) and, with major loss, delists
    /// (D-5); a major safety or environmental accident opens a review (D-6).
    IncidentReported {
        /// Id of the incident, unique on the platform.
        incident_id: String,
        /// Strain leak (菌种泄露), safety, environmental or other.
        kind: IncidentKind,
        /// The date it occurred, not after the report's business date.
        occurred_on: NaiveDate,
        /// What happened.
        description: String,
        /// Direct economic loss in yuan, if known at report time (D-5).
        #[serde(default)]
        direct_loss_cny: Option<Cny>,
        /// Class under Decree 493 stated by the reporter, if already known (D-6).
        #[serde(default)]
        severity: Option<IncidentClass>,
    },
    /// The ministry or the province assessed the consequences of a reported incident. For a
    /// strain leak of a listed platform, an assessed loss at or above the major-loss threshold
    /// delists it (D-5).
    IncidentAssessed {
        /// The assessed incident.
        incident_id: String,
        /// Assessed direct economic loss, in yuan.
        direct_loss_cny: Cny,
        /// Number of deaths.
        deaths: u32,
        /// Number of serious injuries.
        serious_injuries: u32,
        /// Class under Decree 493 from the assessed consequences.
        class: IncidentClass,
        /// The assessment's conclusion.
        conclusion: String,
    },
    /// A review (复核) of the listed platform was opened, by the ministry or the system (D-2,
    /// D-4, D-6); the platform is under review until every open review is concluded.
    ReviewOpened {
        /// Id of the review, unique on the platform.
        review_id: String,
        /// Why: `triennial`, `incident:<incident id>` or `ad_hoc`.
        #[schema(value_type = String)]
        trigger: ReviewTrigger,
        /// The date the review is due; not concluded by then, it is overdue (D-2).
        due_on: NaiveDate,
    },
    /// A review was concluded, by the ministry or the system; a failed review delists the
    /// platform in the same commit (D-3), and a D-5 delisting closes the incident's re-review
    /// as failed.
    ReviewConcluded {
        /// The concluded review.
        review_id: String,
        /// `passed` or `failed`.
        outcome: ReviewOutcome,
        /// The reasons given, possibly none.
        reasons: Vec<String>,
    },
    /// The ministry recorded the annual evaluation of a listed platform with its
    /// service-capability star rating (服务能力星级, D-8).
    AnnualEvaluationRecorded {
        /// The evaluated year, from 2025 up to the year of the business date.
        year: i32,
        /// Star rating, 1-5; a later evaluation of the same year replaces it.
        stars: u8,
        /// The experts' findings, if any.
        #[serde(default)]
        findings: Option<String>,
    },
    /// The platform was removed from the roster (撤除), by the ministry or the system (D-3,
    /// D-5, D-9); reviews still open lapse with it.
    PlatformDelisted {
        /// Date the delisting takes effect: the platform leaves the roster from it (D-7).
        delisted_on: NaiveDate,
        /// Reason code (D-9).
        reason: DelistReason,
        /// The area of the violation, given only with reason `serious_violation`.
        #[serde(default)]
        area: Option<ViolationArea>,
        /// Id of the event that caused the delisting, if any (e.g. the failed review's
        /// conclusion, or the incident event for D-5).
        #[serde(default)]
        cause: Option<Uuid>,
        /// Details in free text, if any.
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
    /// The event's type string as stored, e.g. `PlatformListed`; it never changes.
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
            PlatformEvent::ObjectionFiled { .. } => "ObjectionFiled",
            PlatformEvent::ServiceOfferUpdated { .. } => "ServiceOfferUpdated",
            PlatformEvent::NeedReceived { .. } => "NeedReceived",
            PlatformEvent::NeedAnswered { .. } => "NeedAnswered",
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

/// The Chinese and English names of the platform events, by type string: what pages, CLI tables
/// and exports show instead of the type (the Chinese interface shows no raw codes).
pub const PLATFORM_EVENT_NAMES: [(&str, &str, &str); 23] = [
    ("ApplicationSubmitted", "提交申报", "application submitted"),
    ("EligibilityAssessed", "资格审查", "eligibility assessed"),
    ("ApplicationAmended", "修改申报", "application amended"),
    ("ApplicationWithdrawn", "撤回申报", "application withdrawn"),
    ("CityEndorsed", "市级审核推荐", "endorsed by the city"),
    (
        "ProvinceRecommended",
        "省级推荐",
        "recommended by the province",
    ),
    (
        "ProvinceRejected",
        "省级不予推荐",
        "rejected by the province",
    ),
    ("ExpertEvaluationRecorded", "专家评审", "expert evaluation"),
    ("PublicNoticeStarted", "开始公示", "public notice started"),
    ("NoticeObjectionRecorded", "公示异议", "objection recorded"),
    ("ObjectionFiled", "公众提出异议", "objection filed"),
    (
        "ServiceOfferUpdated",
        "更新中试服务",
        "service offer updated",
    ),
    ("NeedReceived", "收到中试需求", "need received"),
    ("NeedAnswered", "答复中试需求", "need answered"),
    ("PlatformListed", "列入名单", "listed"),
    ("ServiceRecorded", "登记服务成果", "service recorded"),
    ("ServiceRetracted", "撤回服务成果", "service retracted"),
    ("IncidentReported", "报告事故", "incident reported"),
    ("IncidentAssessed", "事故定级", "incident assessed"),
    ("ReviewOpened", "启动复核", "review opened"),
    ("ReviewConcluded", "复核结论", "review concluded"),
    ("AnnualEvaluationRecorded", "年度评价", "annual evaluation"),
    ("PlatformDelisted", "撤销", "delisted"),
];

impl PlatformEvent {
    /// The (Chinese, English) name of a platform event's type string; `None` for a type this
    /// build does not know.
    pub fn names(event_type: &str) -> Option<(&'static str, &'static str)> {
        PLATFORM_EVENT_NAMES
            .iter()
            .find(|(t, _, _)| *t == event_type)
            .map(|(_, zh, en)| (*zh, *en))
    }
}

impl RoundEvent {
    /// The event's type string as stored, e.g. `RoundOpened`; it never changes.
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

/// A stored event that cannot be decoded into its current shape.
#[derive(Debug, thiserror::Error)]
#[error("cannot decode {event_type} v{schema_version}: {reason}")]
pub struct DecodeError {
    /// The stored event's type string.
    pub event_type: String,
    /// The schema version it was stored with.
    pub schema_version: u32,
    /// Why it cannot be decoded: a schema newer than this build knows, or the payload does
    /// not match the type.
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

/// Decodes a stored target-set event (type + schema version + payload) into the current
/// shape.
pub fn decode_target_set(
    event_type: &str,
    schema_version: u32,
    payload: &Value,
) -> Result<crate::targets::TargetSetEvent, DecodeError> {
    decode(event_type, schema_version, payload)
}

/// Decodes a stored round event (type + schema version + payload) into the current shape.
pub fn decode_round(
    event_type: &str,
    schema_version: u32,
    payload: &Value,
) -> Result<RoundEvent, DecodeError> {
    decode(event_type, schema_version, payload)
}

/// Decodes a stored event of a call of the bioreactor competition (`call-<id>`).
pub fn decode_challenge(
    event_type: &str,
    schema_version: u32,
    payload: &Value,
) -> Result<crate::challenge::ChallengeEvent, DecodeError> {
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
    fn every_platform_event_type_has_its_names() {
        // The event types as the API document declares them (the `type` tag of each variant).
        let schema =
            serde_json::to_string(&<PlatformEvent as utoipa::PartialSchema>::schema()).unwrap();
        let types: Vec<&str> = schema
            .match_indices("\"enum\":[\"")
            .map(|(at, m)| {
                let rest = &schema[at + m.len()..];
                &rest[..rest.find('"').unwrap()]
            })
            .filter(|t| t.chars().next().is_some_and(char::is_uppercase))
            .collect();
        assert_eq!(types.len(), PLATFORM_EVENT_NAMES.len(), "{types:?}");
        for t in types {
            let (zh, en) = PlatformEvent::names(t).unwrap_or_else(|| panic!("no name for {t}"));
            assert!(!zh.is_empty() && !en.is_empty());
        }
    }

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
