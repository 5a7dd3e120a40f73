//! The roster (名单) as of any date: identity, domains, the status history by business date, the
//! listed periods (D-7: a delisting takes effect on its business date), reviews with their due
//! dates (D-1/D-2) and the star-rating history (D-8).

use chrono::NaiveDate;
use roster_domain::commands::{DelistReason, ReviewOutcome};
use roster_domain::events::PlatformEvent;
use roster_domain::platform::Status;
use roster_domain::store::StoredEvent;
use roster_domain::values::{ApplicantKind, Domain};
use serde::{Deserialize, Serialize};

use super::{platform_id, DocModel};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusChange {
    pub on: NaiveDate,
    pub status: Status,
    /// Global position of the event: orders changes recorded for the same business date.
    pub position: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListedPeriod {
    pub from: NaiveDate,
    /// Day the delisting took effect (no longer listed from this day).
    pub to: Option<NaiveDate>,
    pub delist_reason: Option<DelistReason>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewEntry {
    pub review_id: String,
    pub trigger: String,
    pub opened_on: NaiveDate,
    pub due_on: NaiveDate,
    pub concluded_on: Option<NaiveDate>,
    pub outcome: Option<ReviewOutcome>,
    /// Lapsed because the platform was delisted while it was open.
    pub lapsed_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StarRating {
    pub year: i32,
    pub stars: u8,
    pub on: NaiveDate,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RosterDoc {
    pub platform_id: String,
    pub platform_name: String,
    pub applicant_name: String,
    pub uscc: String,
    pub applicant_kind: Option<ApplicantKind>,
    pub province: String,
    pub city: String,
    pub domains: Vec<Domain>,
    pub round_id: Option<String>,
    pub statuses: Vec<StatusChange>,
    pub listed_periods: Vec<ListedPeriod>,
    pub reviews: Vec<ReviewEntry>,
    pub star_ratings: Vec<StarRating>,
}

impl RosterDoc {
    /// The status in force at the end of day `d` (`New` before the first event).
    pub fn status_at(&self, d: NaiveDate) -> Status {
        self.statuses
            .iter()
            .filter(|s| s.on <= d)
            .max_by_key(|s| (s.on, s.position))
            .map_or(Status::New, |s| s.status)
    }

    /// On the roster at `d` (K-1): inside a listed period, the delisting day excluded.
    pub fn listed_at(&self, d: NaiveDate) -> bool {
        self.listed_periods
            .iter()
            .any(|p| p.from <= d && p.to.is_none_or(|to| d < to))
    }

    /// The listed period containing `d`, if any.
    pub fn period_at(&self, d: NaiveDate) -> Option<&ListedPeriod> {
        self.listed_periods
            .iter()
            .find(|p| p.from <= d && p.to.is_none_or(|to| d < to))
    }

    /// The latest star rating known at `d` (D-8).
    pub fn stars_at(&self, d: NaiveDate) -> Option<&StarRating> {
        self.star_ratings
            .iter()
            .filter(|r| r.on <= d)
            .max_by_key(|r| (r.year, r.on))
    }

    /// Next review due as of `d` (D-1): an open review's due date if one is open at `d`, else the
    /// next triennial anniversary of the listing on or after `d`.
    pub fn next_review_due(&self, d: NaiveDate) -> Option<NaiveDate> {
        let period = self.period_at(d)?;
        let open = self
            .reviews
            .iter()
            .filter(|r| {
                r.opened_on <= d
                    && r.concluded_on.is_none_or(|c| c > d)
                    && r.lapsed_on.is_none_or(|l| l > d)
            })
            .map(|r| r.due_on)
            .min();
        open.or_else(|| triennial_due_dates(period.from).find(|due| *due >= d))
    }
}

/// D-1: the 3rd, 6th, 9th … anniversaries of the listing (no drift: each from the listing date).
pub use roster_domain::policies::triennial_due_dates;

/// The roster read model.
pub fn model() -> DocModel<RosterDoc> {
    DocModel {
        name: super::ROSTER.name,
        fold,
        ignores: &[
            "EligibilityAssessed",
            "ServiceRecorded",
            "ServiceRetracted",
            "IncidentReported",
            "IncidentAssessed",
            "ObjectionFiled",
            "ServiceOfferUpdated",
            "NeedReceived",
            "NeedAnswered",
        ],
    }
}

fn fold(doc: &mut RosterDoc, event: &PlatformEvent, e: &StoredEvent) {
    let on = e.metadata.business_date;
    let before = doc.statuses.last().map_or(Status::New, |c| c.status);
    use PlatformEvent as E;
    match event {
        E::ApplicationSubmitted { round_id, form, .. } => {
            doc.platform_id = platform_id(e).unwrap_or_default().to_string();
            doc.round_id = Some(round_id.clone());
            set_identity(doc, form);
        }
        E::ApplicationAmended { form, .. } => set_identity(doc, form),
        E::PlatformListed { listed_on } => {
            doc.listed_periods.push(ListedPeriod {
                from: *listed_on,
                to: None,
                delist_reason: None,
            });
        }
        E::ReviewOpened {
            review_id,
            trigger,
            due_on,
        } => {
            doc.reviews.push(ReviewEntry {
                review_id: review_id.clone(),
                trigger: trigger.to_string(),
                opened_on: on,
                due_on: *due_on,
                concluded_on: None,
                outcome: None,
                lapsed_on: None,
            });
        }
        E::ReviewConcluded {
            review_id, outcome, ..
        } => {
            if let Some(r) = doc.reviews.iter_mut().find(|r| &r.review_id == review_id) {
                r.concluded_on = Some(on);
                r.outcome = Some(*outcome);
            }
        }
        E::AnnualEvaluationRecorded { year, stars, .. } => doc.star_ratings.push(StarRating {
            year: *year,
            stars: *stars,
            on,
        }),
        E::PlatformDelisted {
            delisted_on,
            reason,
            ..
        } => {
            if let Some(p) = doc.listed_periods.iter_mut().rev().find(|p| p.to.is_none()) {
                p.to = Some(*delisted_on);
                p.delist_reason = Some(*reason);
            }
            for r in doc
                .reviews
                .iter_mut()
                .filter(|r| r.concluded_on.is_none() && r.lapsed_on.is_none())
            {
                r.lapsed_on = Some(*delisted_on);
            }
        }
        E::ApplicationWithdrawn { .. }
        | E::CityEndorsed { .. }
        | E::ProvinceRecommended { .. }
        | E::ProvinceRejected { .. }
        | E::ExpertEvaluationRecorded { .. }
        | E::PublicNoticeStarted { .. }
        | E::NoticeObjectionRecorded { .. }
        | E::ObjectionFiled { .. }
        | E::ServiceOfferUpdated { .. }
        | E::NeedReceived { .. }
        | E::NeedAnswered { .. }
        | E::EligibilityAssessed { .. }
        | E::ServiceRecorded { .. }
        | E::ServiceRetracted { .. }
        | E::IncidentReported { .. }
        | E::IncidentAssessed { .. } => {}
    }
    // The status by the lifecycle's one transition function, dated by the act (a listing and a
    // delisting by the day they name).
    let still_open = doc
        .reviews
        .iter()
        .any(|r| r.concluded_on.is_none() && r.lapsed_on.is_none());
    let after = before.after(event, still_open);
    if after != before {
        doc.statuses.push(StatusChange {
            on: match event {
                E::PlatformListed { listed_on } => *listed_on,
                E::PlatformDelisted { delisted_on, .. } => *delisted_on,
                _ => on,
            },
            status: after,
            position: e.global_position,
        });
    }
}

fn set_identity(doc: &mut RosterDoc, form: &roster_domain::form::ApplicationForm) {
    doc.platform_name = form.platform.name.clone();
    doc.applicant_name = form.applicant.name.clone();
    doc.uscc = form.applicant.uscc.to_string();
    doc.applicant_kind = Some(form.applicant.kind);
    doc.province = form.applicant.province.to_string();
    doc.city = form.applicant.city.to_string();
    doc.domains = form.domains.iter().copied().collect();
}
