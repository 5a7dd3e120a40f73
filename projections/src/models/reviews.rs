//! Reviews per platform with the listed periods they are scheduled from (D-1, D-2): due,
//! opening soon, open, overdue, concluded.

use std::collections::BTreeMap;

use roster_domain::events::PlatformEvent;
use roster_domain::store::StoredEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::roster::{ListedPeriod, ReviewEntry};
use super::{fold_doc, platform_id, platform_keys};
use crate::runner::Projection;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewsDoc {
    pub platform_id: String,
    pub platform_name: String,
    pub province: String,
    pub listed_periods: Vec<ListedPeriod>,
    pub reviews: Vec<ReviewEntry>,
}

pub struct ReviewsModel;

impl Projection for ReviewsModel {
    fn name(&self) -> &'static str {
        "reviews"
    }

    fn keys(&self, event: &StoredEvent) -> Vec<String> {
        platform_keys(event)
    }

    fn apply(
        &self,
        e: &StoredEvent,
        docs: &mut BTreeMap<String, Option<Value>>,
    ) -> Result<(), String> {
        fold_doc::<ReviewsDoc>(e, docs, fold)
    }

    fn apply_all(
        &self,
        events: &[StoredEvent],
        docs: &mut BTreeMap<String, Option<Value>>,
    ) -> Vec<(usize, String)> {
        super::fold_batch::<ReviewsDoc>(events, docs, fold)
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
