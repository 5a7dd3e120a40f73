//! The incident register: every incident with what was reported, what was assessed (class under
//! Decree 493) and the re-review it triggered, per platform.

use chrono::NaiveDate;
use roster_domain::commands::{ReviewOutcome, ReviewTrigger};
use roster_domain::events::PlatformEvent;
use roster_domain::incident::{IncidentClass, IncidentKind};
use roster_domain::store::StoredEvent;
use roster_domain::values::Cny;
use serde::{Deserialize, Serialize};

use super::{platform_id, DocModel};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IncidentEntry {
    pub incident_id: String,
    pub kind: IncidentKind,
    pub occurred_on: NaiveDate,
    pub reported_on: NaiveDate,
    pub description: String,
    pub reported_loss_cny: Option<Cny>,
    pub stated_severity: Option<IncidentClass>,
    pub assessed_on: Option<NaiveDate>,
    pub assessed_loss_cny: Option<Cny>,
    pub deaths: Option<u32>,
    pub serious_injuries: Option<u32>,
    pub assessed_class: Option<IncidentClass>,
    pub conclusion: Option<String>,
    pub review_id: Option<String>,
    pub review_outcome: Option<ReviewOutcome>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentsDoc {
    pub platform_id: String,
    pub platform_name: String,
    pub province: String,
    pub incidents: Vec<IncidentEntry>,
}

/// The incidents read model.
pub fn model() -> DocModel<IncidentsDoc> {
    DocModel {
        name: super::INCIDENTS.name,
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
            "PlatformListed",
            "ServiceRecorded",
            "ServiceRetracted",
            "AnnualEvaluationRecorded",
            "PlatformDelisted",
        ],
    }
}

fn fold(doc: &mut IncidentsDoc, event: &PlatformEvent, e: &StoredEvent) {
    let on = e.metadata.business_date;
    use PlatformEvent as E;
    match event {
        E::ApplicationSubmitted { form, .. } | E::ApplicationAmended { form, .. } => {
            doc.platform_id = platform_id(e).unwrap_or_default().to_string();
            doc.platform_name = form.platform.name.clone();
            doc.province = form.applicant.province.to_string();
        }
        E::IncidentReported {
            incident_id,
            kind,
            occurred_on,
            description,
            direct_loss_cny,
            severity,
        } => doc.incidents.push(IncidentEntry {
            incident_id: incident_id.clone(),
            kind: *kind,
            occurred_on: *occurred_on,
            reported_on: on,
            description: description.clone(),
            reported_loss_cny: *direct_loss_cny,
            stated_severity: *severity,
            assessed_on: None,
            assessed_loss_cny: None,
            deaths: None,
            serious_injuries: None,
            assessed_class: None,
            conclusion: None,
            review_id: None,
            review_outcome: None,
        }),
        E::IncidentAssessed {
            incident_id,
            direct_loss_cny,
            deaths,
            serious_injuries,
            class,
            conclusion,
        } => {
            if let Some(i) = doc
                .incidents
                .iter_mut()
                .find(|i| &i.incident_id == incident_id)
            {
                i.assessed_on = Some(on);
                i.assessed_loss_cny = Some(*direct_loss_cny);
                i.deaths = Some(*deaths);
                i.serious_injuries = Some(*serious_injuries);
                i.assessed_class = Some(*class);
                i.conclusion = Some(conclusion.clone());
            }
        }
        E::ReviewOpened {
            review_id,
            trigger: ReviewTrigger::Incident(incident_id),
            ..
        } => {
            if let Some(i) = doc
                .incidents
                .iter_mut()
                .find(|i| &i.incident_id == incident_id)
            {
                i.review_id = Some(review_id.clone());
            }
        }
        E::ReviewConcluded {
            review_id, outcome, ..
        } => {
            if let Some(i) = doc
                .incidents
                .iter_mut()
                .find(|i| i.review_id.as_ref() == Some(review_id))
            {
                i.review_outcome = Some(*outcome);
            }
        }
        _ => {}
    }
}
