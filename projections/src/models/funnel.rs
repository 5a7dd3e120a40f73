//! The application funnel: for every application cycle, the business date each stage was
//! reached. Counting per round and province happens at query time (`queries::funnel`).

use chrono::NaiveDate;
use roster_domain::events::PlatformEvent;
use roster_domain::store::StoredEvent;
use serde::{Deserialize, Serialize};

use super::{platform_id, DocModel};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stages {
    pub submitted: Option<NaiveDate>,
    pub endorsed: Option<NaiveDate>,
    pub recommended: Option<NaiveDate>,
    pub evaluated_pass: Option<NaiveDate>,
    pub on_notice: Option<NaiveDate>,
    pub listed: Option<NaiveDate>,
    pub rejected: Option<NaiveDate>,
    pub not_selected: Option<NaiveDate>,
    pub withdrawn: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cycle {
    pub round_id: String,
    pub province: String,
    pub stages: Stages,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunnelDoc {
    pub platform_id: String,
    pub cycles: Vec<Cycle>,
}

/// The funnel read model.
pub fn model() -> DocModel<FunnelDoc> {
    DocModel {
        name: super::FUNNEL.name,
        fold,
        ignores: &[
            "EligibilityAssessed",
            "ApplicationAmended",
            "ServiceRecorded",
            "ServiceRetracted",
            "IncidentReported",
            "IncidentAssessed",
            "ReviewOpened",
            "ReviewConcluded",
            "AnnualEvaluationRecorded",
            "PlatformDelisted",
            "ObjectionFiled",
            "ServiceOfferUpdated",
            "NeedReceived",
            "NeedAnswered",
        ],
    }
}

fn fold(doc: &mut FunnelDoc, event: &PlatformEvent, e: &StoredEvent) {
    let on = Some(e.metadata.business_date);
    use PlatformEvent as E;
    if let E::ApplicationSubmitted { round_id, form, .. } = event {
        doc.platform_id = platform_id(e).unwrap_or_default().to_string();
        doc.cycles.push(Cycle {
            round_id: round_id.clone(),
            province: form.applicant.province.to_string(),
            stages: Stages {
                submitted: on,
                ..Stages::default()
            },
        });
        return;
    }
    let Some(stages) = doc.cycles.last_mut().map(|c| &mut c.stages) else {
        return;
    };
    match event {
        E::CityEndorsed { .. } => stages.endorsed = on,
        E::ProvinceRecommended { .. } => stages.recommended = on,
        E::ProvinceRejected { .. } => stages.rejected = on,
        E::ExpertEvaluationRecorded { passed: true, .. } => stages.evaluated_pass = on,
        E::ExpertEvaluationRecorded { passed: false, .. }
        | E::NoticeObjectionRecorded { upheld: true, .. } => stages.not_selected = on,
        E::PublicNoticeStarted { .. } => stages.on_notice = on,
        E::PlatformListed { listed_on } if stages.listed.is_none() => {
            stages.listed = Some(*listed_on)
        }
        E::ApplicationWithdrawn { .. } => stages.withdrawn = on,
        _ => {}
    }
}
