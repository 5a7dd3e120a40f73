//! Reviews per platform with the listed periods they are scheduled from (D-1, D-2): due,
//! opening soon, open, overdue, concluded.

use roster_domain::events::PlatformEvent;
use roster_domain::store::StoredEvent;
use serde::{Deserialize, Serialize};

use super::roster::{ListedPeriod, ReviewEntry};
use super::{platform_id, DocModel};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewsDoc {
    pub platform_id: String,
    pub platform_name: String,
    pub province: String,
    pub listed_periods: Vec<ListedPeriod>,
    pub reviews: Vec<ReviewEntry>,
}

/// The reviews read model.
pub fn model() -> DocModel<ReviewsDoc> {
    DocModel {
        name: super::REVIEWS.name,
        fold,
        ignores: &[
            "EligibilityAssessed",
            "ApplicationWithdrawn",
            "CityEndorsed",
            "ProvinceRecommended",
            "ProvinceRejected",
            "ExpertEvaluationRecorded",
            "PublicNoticeStarted",
            "NoticeObjectionRecorded",
            "ObjectionFiled",
            "ServiceOfferUpdated",
            "NeedReceived",
            "NeedAnswered",
            "ServiceRecorded",
            "ServiceRetracted",
            "IncidentReported",
            "IncidentAssessed",
            "AnnualEvaluationRecorded",
        ],
    }
}

fn fold(doc: &mut ReviewsDoc, event: &PlatformEvent, e: &StoredEvent) {
    let on = e.metadata.business_date;
    use PlatformEvent as E;
    match event {
        E::ApplicationSubmitted { form, .. } | E::ApplicationAmended { form, .. } => {
            doc.platform_id = platform_id(e).unwrap_or_default().to_string();
            doc.platform_name = form.platform.name.clone();
            doc.province = form.applicant.province.to_string();
        }
        E::PlatformListed { listed_on } => doc.listed_periods.push(ListedPeriod {
            from: *listed_on,
            to: None,
            delist_reason: None,
        }),
        E::ReviewOpened {
            review_id,
            trigger,
            due_on,
        } => doc.reviews.push(ReviewEntry {
            review_id: review_id.clone(),
            trigger: trigger.to_string(),
            opened_on: on,
            due_on: *due_on,
            concluded_on: None,
            outcome: None,
            lapsed_on: None,
        }),
        E::ReviewConcluded {
            review_id, outcome, ..
        } => {
            if let Some(r) = doc.reviews.iter_mut().find(|r| &r.review_id == review_id) {
                r.concluded_on = Some(on);
                r.outcome = Some(*outcome);
            }
        }
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
        _ => {}
    }
}
