//! The KPI read model (SPEC §8, K-1..K-4) on both time axes. One document per platform
//! (`p/<platform id>`): each application cycle with the identity its form gave (province,
//! domains, applicant kind), the funnel stages it reached and its listed period, and every
//! service record; each fact carries its business date and the recorded time at which the
//! system learned it, so a report can be computed as of any business date D and as known at any
//! recorded time T (`crate::kpi`). Target sets (`t/<id>`) live here too, with their revisions.
//!
//! Whether a service counts is decided at query time, not here: it depends on the listed
//! periods as known at T, which a later delisting may change.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use roster_domain::commands::ServiceRecord;
use roster_domain::events::{self, PlatformEvent};
use roster_domain::store::StoredEvent;
use roster_domain::targets::{product_key, Target, TargetSetEvent};
use roster_domain::values::{ApplicantKind, Domain};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::runner::Projection;

pub const NAME: &str = "kpi";
/// Key prefix of platform documents.
pub const PLATFORMS: &str = "p/";
/// Key prefix of target-set documents.
pub const TARGET_SETS: &str = "t/";

/// When a fact took effect (business date) and when the system learned it (recorded time, in
/// microseconds since the epoch: the "as known at" axis).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub on: NaiveDate,
    pub at: i64,
}

/// The funnel stages of SPEC §8's application funnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Submitted,
    Endorsed,
    Recommended,
    EvaluatedPass,
    OnNotice,
    Listed,
    Rejected,
    NotSelected,
    Withdrawn,
}

impl Stage {
    pub const ALL: [Stage; 9] = [
        Stage::Submitted,
        Stage::Endorsed,
        Stage::Recommended,
        Stage::EvaluatedPass,
        Stage::OnNotice,
        Stage::Listed,
        Stage::Rejected,
        Stage::NotSelected,
        Stage::Withdrawn,
    ];
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    /// Listed on (business date) and when that was recorded.
    pub from: Stamp,
    /// Delisting: effective from this business date (D-7), and when that was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Stamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cycle {
    pub round_id: String,
    pub province: String,
    pub domains: Vec<Domain>,
    pub applicant_kind: Option<ApplicantKind>,
    pub stages: BTreeMap<Stage, Stamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing: Option<Listing>,
}

/// The kind of a service record (SPEC §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ServiceKind {
    #[serde(rename = "e")]
    EnterpriseServed,
    #[serde(rename = "p")]
    ProductIncubated,
    #[serde(rename = "i")]
    ProjectIndustrialized,
    #[serde(rename = "s")]
    EnterpriseSpunOff,
}

/// One service record, compact (there may be many per platform).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    #[serde(rename = "i")]
    pub service_id: Uuid,
    #[serde(rename = "k")]
    pub kind: ServiceKind,
    /// The date the service was delivered.
    #[serde(rename = "d")]
    pub dated: NaiveDate,
    /// Recorded time (µs).
    #[serde(rename = "a")]
    pub at: i64,
    /// Recorded time of its retraction (µs): from then on it never counts, at any as-of date.
    #[serde(rename = "x", default, skip_serializing_if = "Option::is_none")]
    pub retracted_at: Option<i64>,
    /// What makes it distinct: the enterprise's USCC (K-2, spun-off), owner USCC + normalised
    /// product name (K-3); empty for industrialized projects (counted per record).
    #[serde(rename = "u", default, skip_serializing_if = "String::is_empty")]
    pub key: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KpiDoc {
    pub platform_id: String,
    pub cycles: Vec<Cycle>,
    pub services: Vec<Service>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetSetRevision {
    pub revision: u32,
    pub recorded: Stamp,
    pub name: String,
    pub description: Option<String>,
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetSetDoc {
    pub target_set_id: String,
    pub revisions: Vec<TargetSetRevision>,
    /// Retired (recorded time, business date, reason), if it was.
    #[serde(default)]
    pub retired: Option<(Stamp, String)>,
}

fn stamp(e: &StoredEvent) -> Stamp {
    Stamp {
        on: e.metadata.business_date,
        at: e.metadata.recorded_at.timestamp_micros(),
    }
}

pub fn fold_platform(doc: &mut KpiDoc, event: &PlatformEvent, e: &StoredEvent) {
    use PlatformEvent as E;
    let s = stamp(e);
    if let E::ApplicationSubmitted { round_id, form, .. } = event {
        doc.platform_id = super::platform_id(e).unwrap_or_default().to_string();
        doc.cycles.push(Cycle {
            round_id: round_id.clone(),
            province: form.applicant.province.to_string(),
            domains: form.domains.iter().copied().collect(),
            applicant_kind: Some(form.applicant.kind),
            stages: BTreeMap::from([(Stage::Submitted, s)]),
            listing: None,
        });
        return;
    }
    match event {
        E::ServiceRecorded {
            service_id,
            dated,
            record,
        } => {
            let (kind, key) = match record {
                ServiceRecord::EnterpriseServed {
                    enterprise_uscc, ..
                } => (ServiceKind::EnterpriseServed, enterprise_uscc.to_string()),
                ServiceRecord::ProductIncubated {
                    product_name,
                    owner_uscc,
                    ..
                } => (
                    ServiceKind::ProductIncubated,
                    product_key(owner_uscc.as_str(), product_name),
                ),
                ServiceRecord::ProjectIndustrialized { .. } => {
                    (ServiceKind::ProjectIndustrialized, String::new())
                }
                ServiceRecord::EnterpriseSpunOff {
                    enterprise_uscc, ..
                } => (ServiceKind::EnterpriseSpunOff, enterprise_uscc.to_string()),
            };
            doc.services.push(Service {
                service_id: *service_id,
                kind,
                dated: *dated,
                at: s.at,
                retracted_at: None,
                key,
            });
            return;
        }
        E::ServiceRetracted { service_id, .. } => {
            if let Some(svc) = doc
                .services
                .iter_mut()
                .find(|x| &x.service_id == service_id)
            {
                svc.retracted_at.get_or_insert(s.at);
            }
            return;
        }
        _ => {}
    }
    let Some(cycle) = doc.cycles.last_mut() else {
        return;
    };
    let mut reach = |stage: Stage, st: Stamp| {
        cycle.stages.entry(stage).or_insert(st);
    };
    match event {
        E::ApplicationAmended { form, .. } => {
            cycle.province = form.applicant.province.to_string();
            cycle.domains = form.domains.iter().copied().collect();
            cycle.applicant_kind = Some(form.applicant.kind);
        }
        E::CityEndorsed { .. } => reach(Stage::Endorsed, s),
        E::ProvinceRecommended { .. } => reach(Stage::Recommended, s),
        E::ProvinceRejected { .. } => reach(Stage::Rejected, s),
        E::ExpertEvaluationRecorded { passed: true, .. } => reach(Stage::EvaluatedPass, s),
        E::ExpertEvaluationRecorded { passed: false, .. }
        | E::NoticeObjectionRecorded { upheld: true, .. } => reach(Stage::NotSelected, s),
        E::PublicNoticeStarted { .. } => reach(Stage::OnNotice, s),
        E::ApplicationWithdrawn { .. } => reach(Stage::Withdrawn, s),
        E::PlatformListed { listed_on } => {
            let from = Stamp {
                on: *listed_on,
                at: s.at,
            };
            reach(Stage::Listed, from);
            cycle.listing.get_or_insert(Listing { from, to: None });
        }
        E::PlatformDelisted { delisted_on, .. } => {
            if let Some(l) = cycle.listing.as_mut().filter(|l| l.to.is_none()) {
                l.to = Some(Stamp {
                    on: *delisted_on,
                    at: s.at,
                });
            }
        }
        _ => {}
    }
}

pub fn fold_target_set(doc: &mut TargetSetDoc, event: &TargetSetEvent, e: &StoredEvent) {
    if let Some(id) = e.stream_id.strip_prefix("targetset-") {
        doc.target_set_id = id.to_string();
    }
    match event {
        TargetSetEvent::TargetSetDefined {
            name,
            description,
            targets,
            revision,
        } => {
            doc.revisions.push(TargetSetRevision {
                revision: *revision,
                recorded: stamp(e),
                name: name.clone(),
                description: description.clone(),
                targets: targets.clone(),
            });
            doc.retired = None;
        }
        TargetSetEvent::TargetSetRetired { reason } => {
            doc.retired = Some((stamp(e), reason.clone()));
        }
    }
}

/// The KPI read model: platform streams and target-set streams.
pub struct KpiModel;

pub fn model() -> KpiModel {
    KpiModel
}

fn key_of(e: &StoredEvent) -> Option<String> {
    if let Some(p) = e.stream_id.strip_prefix("platform-") {
        Some(format!("{PLATFORMS}{p}"))
    } else {
        e.stream_id
            .strip_prefix("targetset-")
            .map(|t| format!("{TARGET_SETS}{t}"))
    }
}

enum Typed {
    Platform(KpiDoc),
    TargetSet(TargetSetDoc),
}

fn read<D: DeserializeOwned + Default>(v: Option<Value>) -> Result<D, String> {
    match v {
        Some(v) => {
            serde_json::from_value(v).map_err(|err| format!("stored document unreadable: {err}"))
        }
        None => Ok(D::default()),
    }
}

impl Projection for KpiModel {
    fn name(&self) -> &'static str {
        NAME
    }

    fn keys(&self, event: &StoredEvent) -> Vec<String> {
        key_of(event).into_iter().collect()
    }

    fn apply(
        &self,
        e: &StoredEvent,
        docs: &mut BTreeMap<String, Option<Value>>,
    ) -> Result<(), String> {
        let dead = self.apply_all(std::slice::from_ref(e), docs);
        match dead.into_iter().next() {
            Some((_, reason)) => Err(reason),
            None => Ok(()),
        }
    }

    /// Each document is read from JSON once and written once per batch.
    fn apply_all(
        &self,
        batch: &[StoredEvent],
        docs: &mut BTreeMap<String, Option<Value>>,
    ) -> Vec<(usize, String)> {
        let mut typed: BTreeMap<String, Typed> = BTreeMap::new();
        let mut dead = Vec::new();
        for (i, e) in batch.iter().enumerate() {
            let Some(key) = key_of(e) else { continue };
            let is_platform = key.starts_with(PLATFORMS);
            if !typed.contains_key(&key) {
                let stored = docs.get(&key).cloned().flatten();
                let doc = if is_platform {
                    read(stored).map(Typed::Platform)
                } else {
                    read(stored).map(Typed::TargetSet)
                };
                match doc {
                    Ok(d) => {
                        typed.insert(key.clone(), d);
                    }
                    Err(reason) => {
                        dead.push((i, reason));
                        continue;
                    }
                }
            }
            let slot = typed.get_mut(&key).expect("inserted above");
            let outcome = match slot {
                Typed::Platform(doc) => {
                    events::decode_platform(&e.event_type, e.schema_version, &e.payload)
                        .map(|ev| fold_platform(doc, &ev, e))
                }
                Typed::TargetSet(doc) => {
                    events::decode_target_set(&e.event_type, e.schema_version, &e.payload)
                        .map(|ev| fold_target_set(doc, &ev, e))
                }
            };
            if let Err(err) = outcome {
                dead.push((i, err.to_string()));
            }
        }
        for (k, d) in typed {
            let v = match d {
                Typed::Platform(doc) => serde_json::to_value(&doc),
                Typed::TargetSet(doc) => serde_json::to_value(&doc),
            };
            match v {
                Ok(v) => {
                    docs.insert(k, Some(v));
                }
                Err(err) => {
                    tracing::error!(key = %k, error = %err, "document could not be serialized; left unchanged")
                }
            }
        }
        dead
    }
}
