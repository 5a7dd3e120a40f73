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

use chrono::{Datelike, NaiveDate};
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

impl ServiceKind {
    fn code(self) -> char {
        match self {
            ServiceKind::EnterpriseServed => 'e',
            ServiceKind::ProductIncubated => 'p',
            ServiceKind::ProjectIndustrialized => 'i',
            ServiceKind::EnterpriseSpunOff => 's',
        }
    }

    fn from_code(c: &str) -> Option<ServiceKind> {
        match c {
            "e" => Some(ServiceKind::EnterpriseServed),
            "p" => Some(ServiceKind::ProductIncubated),
            "i" => Some(ServiceKind::ProjectIndustrialized),
            "s" => Some(ServiceKind::EnterpriseSpunOff),
            _ => None,
        }
    }
}

/// One service record as a report reads it (borrowed from the packed document).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service<'a> {
    pub kind: ServiceKind,
    /// The date the service was delivered, as days from the common era (`NaiveDate`'s).
    pub dated: i32,
    /// Recorded time (µs).
    pub at: i64,
    /// Recorded time of its retraction (µs): from then on it never counts, at any as-of date.
    pub retracted_at: Option<i64>,
    /// What makes it distinct: the enterprise's USCC (K-2, spun-off), owner USCC + normalised
    /// product name (K-3); empty for industrialized projects (counted per record).
    pub key: &'a str,
}

impl Service<'_> {
    pub fn dated(&self) -> NaiveDate {
        NaiveDate::from_num_days_from_ce_opt(self.dated).unwrap_or_default()
    }
}

/// A platform's KPI document. Service records are packed one per line (`kind TAB days TAB
/// recorded TAB retracted TAB key`): a large history is then a few long strings to load rather
/// than millions of small JSON objects, which is what keeps a report over a million events well
/// under a second. Keys never hold a tab or a newline (USCCs; names are whitespace-normalised).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KpiDoc {
    pub platform_id: String,
    pub cycles: Vec<Cycle>,
    #[serde(default)]
    pub services: String,
    #[serde(default)]
    pub service_count: u32,
}

impl KpiDoc {
    /// The service records, in the order recorded.
    pub fn services(&self) -> impl Iterator<Item = Service<'_>> {
        self.services.lines().filter_map(|line| {
            let mut f = line.splitn(5, '\t');
            let kind = ServiceKind::from_code(f.next()?)?;
            let dated = f.next()?.parse().ok()?;
            let at = f.next()?.parse().ok()?;
            let retracted_at = match f.next()? {
                "" => None,
                x => Some(x.parse().ok()?),
            };
            Some(Service {
                kind,
                dated,
                at,
                retracted_at,
                key: f.next().unwrap_or(""),
            })
        })
    }

    fn push_service(&mut self, kind: ServiceKind, dated: NaiveDate, at: i64, key: &str) -> u32 {
        use std::fmt::Write;
        let _ = writeln!(
            self.services,
            "{}\t{}\t{at}\t\t{key}",
            kind.code(),
            dated.num_days_from_ce()
        );
        self.service_count += 1;
        self.service_count - 1
    }

    /// Marks line `n` retracted at `at` (the first retraction wins).
    fn retract(&mut self, n: u32, at: i64) {
        let mut out = String::with_capacity(self.services.len() + 20);
        for (i, line) in self.services.lines().enumerate() {
            let mut f: Vec<&str> = line.splitn(5, '\t').collect();
            let stamp = at.to_string();
            if i == n as usize && f.len() == 5 && f[3].is_empty() {
                f[3] = &stamp;
            }
            out.push_str(&f.join("\t"));
            out.push('\n');
        }
        self.services = out;
    }
}

/// Which line of a platform's packed services each service id is (`i/<platform id>`), for
/// retractions; reports never read it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceIndex {
    pub lines: BTreeMap<Uuid, u32>,
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

pub fn fold_platform(
    doc: &mut KpiDoc,
    index: &mut ServiceIndex,
    event: &PlatformEvent,
    e: &StoredEvent,
) {
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
            if !index.lines.contains_key(service_id) {
                let line = doc.push_service(kind, *dated, s.at, &key);
                index.lines.insert(*service_id, line);
            }
            return;
        }
        E::ServiceRetracted { service_id, .. } => {
            if let Some(line) = index.lines.get(service_id) {
                doc.retract(*line, s.at);
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

/// Key prefix of the service-id index documents.
pub const SERVICE_INDEX: &str = "i/";

fn keys_of(e: &StoredEvent) -> Vec<String> {
    if let Some(p) = e.stream_id.strip_prefix("platform-") {
        let mut keys = vec![format!("{PLATFORMS}{p}")];
        if matches!(
            e.event_type.as_str(),
            "ServiceRecorded" | "ServiceRetracted"
        ) {
            keys.push(format!("{SERVICE_INDEX}{p}"));
        }
        keys
    } else {
        e.stream_id
            .strip_prefix("targetset-")
            .map(|t| vec![format!("{TARGET_SETS}{t}")])
            .unwrap_or_default()
    }
}

enum Typed {
    Platform(KpiDoc),
    Index(ServiceIndex),
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
        keys_of(event)
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

    /// Each document is read from JSON once and written once per batch. An event that does not
    /// decode, or whose documents do not, is reported and changes nothing.
    fn apply_all(
        &self,
        batch: &[StoredEvent],
        docs: &mut BTreeMap<String, Option<Value>>,
    ) -> Vec<(usize, String)> {
        let mut typed: BTreeMap<String, Typed> = BTreeMap::new();
        let mut dead = Vec::new();
        for (i, e) in batch.iter().enumerate() {
            let keys = keys_of(e);
            if keys.is_empty() {
                continue;
            }
            let mut unreadable = None;
            for key in &keys {
                if typed.contains_key(key) {
                    continue;
                }
                let stored = docs.get(key).cloned().flatten();
                let doc = if key.starts_with(PLATFORMS) {
                    read(stored).map(Typed::Platform)
                } else if key.starts_with(SERVICE_INDEX) {
                    read(stored).map(Typed::Index)
                } else {
                    read(stored).map(Typed::TargetSet)
                };
                match doc {
                    Ok(d) => {
                        typed.insert(key.clone(), d);
                    }
                    Err(reason) => unreadable = Some(reason),
                }
            }
            if let Some(reason) = unreadable {
                dead.push((i, reason));
                continue;
            }
            let outcome = if e.stream_id.starts_with("platform-") {
                match events::decode_platform(&e.event_type, e.schema_version, &e.payload) {
                    Ok(ev) => {
                        let mut index = match keys.get(1).and_then(|k| typed.remove(k)) {
                            Some(Typed::Index(ix)) => Some(ix),
                            _ => None,
                        };
                        let mut scratch = ServiceIndex::default();
                        if let Some(Typed::Platform(doc)) = typed.get_mut(&keys[0]) {
                            fold_platform(doc, index.as_mut().unwrap_or(&mut scratch), &ev, e);
                        }
                        if let (Some(k), Some(ix)) = (keys.get(1), index) {
                            typed.insert(k.clone(), Typed::Index(ix));
                        }
                        Ok(())
                    }
                    Err(err) => Err(err),
                }
            } else {
                match events::decode_target_set(&e.event_type, e.schema_version, &e.payload) {
                    Ok(ev) => {
                        if let Some(Typed::TargetSet(doc)) = typed.get_mut(&keys[0]) {
                            fold_target_set(doc, &ev, e);
                        }
                        Ok(())
                    }
                    Err(err) => Err(err),
                }
            };
            if let Err(err) = outcome {
                dead.push((i, err.to_string()));
            }
        }
        for (k, d) in typed {
            let v = match d {
                Typed::Platform(doc) => serde_json::to_value(&doc),
                Typed::Index(doc) => serde_json::to_value(&doc),
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
