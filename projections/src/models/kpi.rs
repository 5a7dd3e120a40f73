//! The KPI read model (RULES.md §8, K-1..K-4) on both time axes. One document per platform
//! (`p/<platform id>`): each application cycle with the identity its form gave (province,
//! domains, applicant kind), the funnel stages it reached and its listed period. Service records
//! and retractions are appended to chunks of at most 64 stream versions
//! (`s/<platform id>/<chunk>`), so recording one rewrites a bounded chunk, never the platform's
//! whole record; `assemble` joins the chunks when a report loads them. Each fact carries its
//! business date and the recorded time at which the system learned it, so a report can be
//! computed as of any business date D and as known at any recorded time T (`crate::kpi`).
//! Target sets (`t/<id>`) live here too, with their revisions.
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

/// The funnel stages of RULES.md §8's application funnel.
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

/// The kind of a service record (RULES.md §8).
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

/// A platform's KPI document. Its service records are stored apart, in chunks; a loaded
/// document holds them packed one per line (`kind TAB days TAB recorded TAB retracted TAB key`):
/// a large history is then a few long strings rather than millions of small objects, which is
/// what keeps a report over a million events well under a second. Keys never hold a tab or a
/// newline (USCCs; names are whitespace-normalised).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KpiDoc {
    pub platform_id: String,
    pub cycles: Vec<Cycle>,
    /// Filled by `assemble` from the platform's service chunks; not part of the stored document.
    #[serde(skip)]
    pub services: String,
    #[serde(skip)]
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
}

/// Service records and retractions of up to `CHUNK_VERSIONS` consecutive stream versions of a
/// platform, one per line in stream order: `kind TAB days TAB recorded TAB service id TAB key`
/// for a record, `x TAB recorded TAB service id` for a retraction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceChunk {
    pub lines: String,
}

/// Stream versions per service chunk: what bounds the cost of recording one service.
pub const CHUNK_VERSIONS: u64 = 64;

/// The chunk key of a platform's event at stream version `version`.
pub fn chunk_key(platform_id: &str, version: u64) -> String {
    format!("{SERVICES}{platform_id}/{:08}", version / CHUNK_VERSIONS)
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
    /// Retired (recorded time, business date, reason), if its last event is a retirement.
    #[serde(default)]
    pub retired: Option<(Stamp, String)>,
    /// Every retirement: when it was recorded and the last revision it retired. A set defined
    /// again after a retirement was still retired as known in between.
    #[serde(default)]
    pub retirements: Vec<(Stamp, u32)>,
}

fn stamp(e: &StoredEvent) -> Stamp {
    Stamp {
        on: e.metadata.business_date,
        at: e.metadata.recorded_at.timestamp_micros(),
    }
}

/// Appends a service record or retraction to its chunk (other events: nothing).
pub fn fold_services(chunk: &mut ServiceChunk, event: &PlatformEvent, e: &StoredEvent) {
    use std::fmt::Write;
    let at = stamp(e).at;
    match event {
        PlatformEvent::ServiceRecorded {
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
            let _ = writeln!(
                chunk.lines,
                "{}\t{}\t{at}\t{service_id}\t{key}",
                kind.code(),
                dated.num_days_from_ce()
            );
        }
        PlatformEvent::ServiceRetracted { service_id, .. } => {
            let _ = writeln!(chunk.lines, "x\t{at}\t{service_id}");
        }
        _ => {}
    }
}

/// Folds a lifecycle event of a platform (service records go to `fold_services`).
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
            let last = doc.revisions.iter().map(|r| r.revision).max().unwrap_or(0);
            doc.retirements.push((stamp(e), last));
        }
    }
}

/// The KPI read model: platform streams and target-set streams.
pub struct KpiModel;

pub fn model() -> KpiModel {
    KpiModel
}

/// Key prefix of the service chunks.
pub const SERVICES: &str = "s/";

fn is_service_event(event_type: &str) -> bool {
    matches!(event_type, "ServiceRecorded" | "ServiceRetracted")
}

fn keys_of(e: &StoredEvent) -> Vec<String> {
    if let Some(p) = e.stream_id.strip_prefix("platform-") {
        if is_service_event(&e.event_type) {
            vec![chunk_key(p, e.version)]
        } else {
            vec![format!("{PLATFORMS}{p}")]
        }
    } else {
        e.stream_id
            .strip_prefix("targetset-")
            .map(|t| vec![format!("{TARGET_SETS}{t}")])
            .unwrap_or_default()
    }
}

enum Typed {
    Platform(KpiDoc),
    Services(ServiceChunk),
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
    /// decode, or whose document does not, is reported and changes nothing.
    fn apply_all(
        &self,
        batch: &[StoredEvent],
        docs: &mut BTreeMap<String, Option<Value>>,
    ) -> Vec<(usize, String)> {
        let mut typed: BTreeMap<String, Typed> = BTreeMap::new();
        let mut dead = Vec::new();
        for (i, e) in batch.iter().enumerate() {
            let Some(key) = keys_of(e).into_iter().next() else {
                continue;
            };
            if !typed.contains_key(&key) {
                let stored = docs.get(&key).cloned().flatten();
                let doc = if key.starts_with(PLATFORMS) {
                    read(stored).map(Typed::Platform)
                } else if key.starts_with(SERVICES) {
                    read(stored).map(Typed::Services)
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
            let doc = typed.get_mut(&key).expect("inserted above");
            let outcome = if e.stream_id.starts_with("platform-") {
                events::decode_platform(&e.event_type, e.schema_version, &e.payload).map(|ev| {
                    match doc {
                        Typed::Platform(d) => fold_platform(d, &ev, e),
                        Typed::Services(c) => fold_services(c, &ev, e),
                        Typed::TargetSet(_) => {}
                    }
                })
            } else {
                events::decode_target_set(&e.event_type, e.schema_version, &e.payload).map(|ev| {
                    if let Typed::TargetSet(d) = doc {
                        fold_target_set(d, &ev, e);
                    }
                })
            };
            if let Err(err) = outcome {
                dead.push((i, err.to_string()));
            }
        }
        for (k, d) in typed {
            let v = match d {
                Typed::Platform(doc) => serde_json::to_value(&doc),
                Typed::Services(doc) => serde_json::to_value(&doc),
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

/// The platform documents and target sets of the model from its stored documents (any order):
/// each platform's service chunks joined in stream order into its packed records, a retraction
/// marking its record (the first retraction wins).
pub fn assemble(
    stored: impl IntoIterator<Item = (String, Value)>,
) -> Result<(Vec<KpiDoc>, Vec<TargetSetDoc>), String> {
    let mut stored: Vec<(String, Value)> = stored.into_iter().collect();
    stored.sort_by(|a, b| a.0.cmp(&b.0));
    let mut assembler = Assembler::default();
    for (key, doc) in stored {
        assembler.push(key, doc)?;
    }
    assembler.finish()
}

/// `assemble` for documents arriving in key order (a store's scan), one at a time: chunk keys
/// sort by platform, then chunk number, so each platform's chunks form one run, packed as soon
/// as the next platform's run begins. Only the packed records stay, never the stored chunks of
/// the whole model beside them.
#[derive(Default)]
pub struct Assembler {
    platforms: BTreeMap<String, KpiDoc>,
    run_platform: String,
    run: Vec<ServiceChunk>,
    sets: Vec<TargetSetDoc>,
}

impl Assembler {
    pub fn push(&mut self, key: String, v: Value) -> Result<(), String> {
        let unreadable = |e: serde_json::Error| format!("kpi document {key} unreadable: {e}");
        if let Some(pid) = key.strip_prefix(PLATFORMS) {
            let mut doc: KpiDoc = serde_json::from_value(v).map_err(unreadable)?;
            if let Some(earlier) = self.platforms.remove(pid) {
                doc.services = earlier.services;
                doc.service_count = earlier.service_count;
            }
            self.platforms.insert(pid.to_string(), doc);
        } else if key.starts_with(SERVICES) {
            let chunk: ServiceChunk = serde_json::from_value(v).map_err(unreadable)?;
            let pid = chunk_platform(&key);
            if pid != self.run_platform {
                self.pack_run()?;
                self.run_platform = pid.to_string();
            }
            self.run.push(chunk);
        } else if key.starts_with(TARGET_SETS) {
            self.sets
                .push(serde_json::from_value(v).map_err(unreadable)?);
        }
        Ok(())
    }

    fn pack_run(&mut self) -> Result<(), String> {
        if self.run.is_empty() {
            return Ok(());
        }
        let pid = std::mem::take(&mut self.run_platform);
        let doc = self.platforms.entry(pid.clone()).or_insert_with(|| KpiDoc {
            platform_id: pid.clone(),
            ..KpiDoc::default()
        });
        if doc.service_count > 0 {
            return Err(format!(
                "kpi service chunks of {pid} did not arrive in key order"
            ));
        }
        let lines: Vec<&str> = self.run.iter().map(|c| c.lines.as_str()).collect();
        pack_services(doc, &lines);
        self.run.clear();
        Ok(())
    }

    pub fn finish(mut self) -> Result<(Vec<KpiDoc>, Vec<TargetSetDoc>), String> {
        self.pack_run()?;
        Ok((self.platforms.into_values().collect(), self.sets))
    }
}

/// The platform id of a chunk key `s/<platform id>/<chunk>`.
fn chunk_platform(key: &str) -> &str {
    key[SERVICES.len()..]
        .rsplit_once('/')
        .map_or("", |(p, _)| p)
}

/// Packs a platform's chunk lines into `doc.services` (`kind TAB days TAB recorded TAB
/// retracted TAB key`).
fn pack_services(doc: &mut KpiDoc, chunks: &[&str]) {
    let mut retracted: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for chunk in chunks {
        for line in chunk.lines() {
            if let Some(rest) = line.strip_prefix("x\t") {
                if let Some((at, id)) = rest.split_once('\t') {
                    retracted.entry(id).or_insert(at);
                }
            }
        }
    }
    let mut out = String::with_capacity(chunks.iter().map(|c| c.len()).sum());
    let mut count = 0u32;
    for chunk in chunks {
        for line in chunk.lines() {
            if line.starts_with("x\t") {
                continue;
            }
            let mut f = line.splitn(5, '\t');
            let (Some(kind), Some(days), Some(at), Some(id), Some(key)) =
                (f.next(), f.next(), f.next(), f.next(), f.next())
            else {
                continue;
            };
            let retracted_at = retracted.get(id).copied().unwrap_or("");
            for part in [
                kind,
                "\t",
                days,
                "\t",
                at,
                "\t",
                retracted_at,
                "\t",
                key,
                "\n",
            ] {
                out.push_str(part);
            }
            count += 1;
        }
    }
    doc.services = out;
    doc.service_count = count;
}
