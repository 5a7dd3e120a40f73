//! The catalog: every platform's current summary and every round, for the listings of the API
//! (applications by round, province, status, domain).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use roster_domain::commands::OpenRound;
use roster_domain::events::{self, DecodeError, PlatformEvent, RoundEvent};
use roster_domain::platform::Status;
use roster_domain::store::{Checkpoint, StoredEvent};
use roster_domain::values::{ApplicantKind, Domain};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PlatformSummary {
    pub platform_id: String,
    pub status: Status,
    pub cycle: u32,
    pub round_id: Option<String>,
    pub platform_name: String,
    pub applicant_name: String,
    pub uscc: String,
    pub applicant_kind: Option<ApplicantKind>,
    pub province: String,
    pub city: String,
    pub domains: BTreeSet<Domain>,
    pub submitted_on: Option<NaiveDate>,
    pub listed_on: Option<NaiveDate>,
    pub delisted_on: Option<NaiveDate>,
    /// Hard rules failed in the latest eligibility assessment.
    pub hard_failures: Vec<String>,
    /// Warnings shown to the ministry and analysts (R-2 …).
    pub warnings: Vec<String>,
    pub open_reviews: BTreeSet<String>,
    /// Objections filed by the public on the current notice and not decided yet (R-5: the
    /// ministry decides each before listing).
    pub pending_objections: BTreeSet<String>,
    /// Needs of enterprises that reached the platform and that it has not answered yet
    /// (RULES.md §13).
    pub unanswered_needs: BTreeSet<String>,
    /// Latest star rating: (year, stars).
    pub star_rating: Option<(i32, u8)>,
    pub version: u64,
    pub last_business_date: NaiveDate,
    pub last_recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RoundSummary {
    pub round: OpenRound,
    /// Recommendations made per province (R-1 quota use).
    pub recommendations: BTreeMap<String, Vec<String>>,
    pub applications: u32,
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub platforms: BTreeMap<String, PlatformSummary>,
    pub rounds: BTreeMap<String, RoundSummary>,
    pub checkpoint: Checkpoint,
    pub applied: u64,
    /// The last version applied of every stream, so a writer can wait until its own events
    /// are visible (read-your-writes).
    pub stream_versions: HashMap<String, u64>,
    /// When the newest event applied was recorded (the public face's `Last-Modified`).
    pub last_recorded: Option<DateTime<Utc>>,
}

impl Catalog {
    /// Applies one event; returns false when it was already applied (at or before the
    /// checkpoint), in which case nothing changes.
    pub fn apply(&mut self, e: &StoredEvent) -> Result<bool, DecodeError> {
        if self.applied > 0 && e.checkpoint() <= self.checkpoint {
            return Ok(false);
        }
        if let Some(platform_id) = e.stream_id.strip_prefix("platform-") {
            let event = events::decode_platform(&e.event_type, e.schema_version, &e.payload)?;
            self.apply_platform(platform_id, e, event);
        } else if let Some(round_id) = e.stream_id.strip_prefix("round-") {
            let event = events::decode_round(&e.event_type, e.schema_version, &e.payload)?;
            self.apply_round(round_id, event);
        }
        self.checkpoint = e.checkpoint();
        self.applied += 1;
        self.last_recorded = self.last_recorded.max(Some(e.metadata.recorded_at));
        self.stream_versions.insert(e.stream_id.clone(), e.version);
        Ok(true)
    }

    /// The last version of `stream_id` this catalog has applied (0: none).
    pub fn seen(&self, stream_id: &str) -> u64 {
        self.stream_versions.get(stream_id).copied().unwrap_or(0)
    }

    fn apply_round(&mut self, round_id: &str, event: RoundEvent) {
        match event {
            RoundEvent::RoundOpened(round) => {
                self.rounds.insert(
                    round_id.to_string(),
                    RoundSummary {
                        round,
                        recommendations: BTreeMap::new(),
                        applications: 0,
                    },
                );
            }
            RoundEvent::RecommendationRegistered {
                platform_id,
                province,
                ..
            } => {
                if let Some(r) = self.rounds.get_mut(round_id) {
                    r.recommendations
                        .entry(province.to_string())
                        .or_default()
                        .push(platform_id);
                }
            }
        }
    }

    fn apply_platform(&mut self, platform_id: &str, e: &StoredEvent, event: PlatformEvent) {
        use PlatformEvent as E;
        if let E::ApplicationSubmitted {
            round_id,
            cycle,
            submitted_on,
            form,
        } = &event
        {
            if let Some(r) = self.rounds.get_mut(round_id) {
                r.applications += 1;
            }
            let s = self
                .platforms
                .entry(platform_id.to_string())
                .or_insert_with(|| PlatformSummary {
                    platform_id: platform_id.to_string(),
                    status: Status::New,
                    cycle: 0,
                    round_id: None,
                    platform_name: String::new(),
                    applicant_name: String::new(),
                    uscc: String::new(),
                    applicant_kind: None,
                    province: String::new(),
                    city: String::new(),
                    domains: BTreeSet::new(),
                    submitted_on: None,
                    listed_on: None,
                    delisted_on: None,
                    hard_failures: vec![],
                    warnings: vec![],
                    open_reviews: BTreeSet::new(),
                    pending_objections: BTreeSet::new(),
                    unanswered_needs: BTreeSet::new(),
                    star_rating: None,
                    version: 0,
                    last_business_date: *submitted_on,
                    last_recorded_at: e.metadata.recorded_at,
                });
            s.cycle = *cycle;
            s.round_id = Some(round_id.clone());
            s.submitted_on = Some(*submitted_on);
            s.listed_on = None;
            s.delisted_on = None;
            s.warnings.clear();
            s.open_reviews.clear();
            s.pending_objections.clear();
            set_form(s, form);
        }
        let Some(s) = self.platforms.get_mut(platform_id) else {
            return;
        };
        s.version = e.version;
        s.last_business_date = e.metadata.business_date;
        s.last_recorded_at = e.metadata.recorded_at;
        // Whether a review is open once the event is folded (see `Status::after`).
        let still_open = match &event {
            E::ReviewConcluded { review_id, .. } => s.open_reviews.iter().any(|r| r != review_id),
            _ => !s.open_reviews.is_empty(),
        };
        let next = s.status.after(&event, still_open);
        s.fold(event);
        s.status = next;
    }
}

impl PlatformSummary {
    /// Folds everything of `event` but the status (`Status::after` decides that).
    fn fold(&mut self, event: PlatformEvent) {
        use PlatformEvent as E;
        let s = self;
        match event {
            E::ApplicationSubmitted { .. } => {}
            E::EligibilityAssessed { assessment } => s.hard_failures = assessment.hard_failures(),
            E::ApplicationAmended { form, .. } => set_form(s, &form),
            E::ProvinceRecommended { warnings, .. } => s.warnings.extend(warnings),
            E::ApplicationWithdrawn { .. }
            | E::CityEndorsed { .. }
            | E::ProvinceRejected { .. }
            | E::ExpertEvaluationRecorded { .. }
            | E::PublicNoticeStarted { .. } => {}
            E::ServiceOfferUpdated { .. } => {}
            E::NeedReceived { need_id, .. } => {
                s.unanswered_needs.insert(need_id);
            }
            E::NeedAnswered { need_id, .. } => {
                s.unanswered_needs.remove(&need_id);
            }
            E::ObjectionFiled { objection_id, .. } => {
                s.pending_objections.insert(objection_id);
            }
            E::NoticeObjectionRecorded { objection_id, .. } => {
                if let Some(id) = objection_id {
                    s.pending_objections.remove(&id);
                }
            }
            E::PlatformListed { listed_on } => s.listed_on = Some(listed_on),
            E::ReviewOpened { review_id, .. } => {
                s.open_reviews.insert(review_id);
            }
            E::ReviewConcluded { review_id, .. } => {
                s.open_reviews.remove(&review_id);
            }
            E::AnnualEvaluationRecorded { year, stars, .. } => {
                if s.star_rating.is_none_or(|(y, _)| year >= y) {
                    s.star_rating = Some((year, stars));
                }
            }
            E::PlatformDelisted { delisted_on, .. } => {
                s.delisted_on = Some(delisted_on);
                s.open_reviews.clear();
            }
            E::ServiceRecorded { .. }
            | E::ServiceRetracted { .. }
            | E::IncidentReported { .. }
            | E::IncidentAssessed { .. } => {}
        }
    }
}

fn set_form(s: &mut PlatformSummary, form: &roster_domain::form::ApplicationForm) {
    s.platform_name = form.platform.name.clone();
    s.applicant_name = form.applicant.name.clone();
    s.uscc = form.applicant.uscc.to_string();
    s.applicant_kind = Some(form.applicant.kind);
    s.province = form.applicant.province.to_string();
    s.city = form.applicant.city.to_string();
    s.domains = form.domains.clone();
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_domain::actor::Actor;
    use roster_domain::samples::{date, gd_form, round_2025};
    use roster_domain::store::EventMetadata;

    fn stored(pos: i64, stream: &str, version: u64, e: &impl cqrs_like::Encode) -> StoredEvent {
        let (event_type, schema_version, payload) = e.encode();
        StoredEvent {
            global_position: pos,
            transaction_id: 0,
            stream_id: stream.into(),
            version,
            event_id: uuid::Uuid::from_u128(pos as u128),
            event_type,
            schema_version,
            payload,
            metadata: EventMetadata {
                actor: Actor::system("test"),
                command_id: uuid::Uuid::nil(),
                correlation_id: uuid::Uuid::nil(),
                causation_id: None,
                recorded_at: DateTime::<Utc>::from_timestamp(1_750_000_000 + pos, 0).unwrap(),
                business_date: date("2025-07-01"),
                backfilled_by: None,
            },
        }
    }

    mod cqrs_like {
        pub(super) trait Encode {
            fn encode(&self) -> (String, u32, serde_json::Value);
        }
        impl Encode for roster_domain::events::PlatformEvent {
            fn encode(&self) -> (String, u32, serde_json::Value) {
                roster_domain::events::encode(self)
            }
        }
        impl Encode for roster_domain::events::RoundEvent {
            fn encode(&self) -> (String, u32, serde_json::Value) {
                roster_domain::events::encode(self)
            }
        }
    }

    #[test]
    fn folds_and_ignores_an_event_delivered_twice() {
        let mut c = Catalog::default();
        let opened = stored(1, "round-2025", 1, &RoundEvent::RoundOpened(round_2025()));
        let submitted = stored(
            2,
            "platform-gd-1",
            1,
            &PlatformEvent::ApplicationSubmitted {
                round_id: "2025".into(),
                cycle: 1,
                submitted_on: date("2025-07-01"),
                form: gd_form(),
            },
        );
        assert!(c.apply(&opened).unwrap());
        assert!(c.apply(&submitted).unwrap());
        assert!(!c.apply(&submitted).unwrap(), "a duplicate is ignored");
        assert!(!c.apply(&opened).unwrap());
        assert_eq!(c.rounds["2025"].applications, 1);
        let s = &c.platforms["gd-1"];
        assert_eq!(s.status, Status::Submitted);
        assert_eq!(s.province, "44");
        assert_eq!(c.applied, 2);
        assert_eq!(c.seen("platform-gd-1"), 1);
        assert_eq!(c.seen("platform-other"), 0);
    }
}
