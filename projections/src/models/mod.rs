//! The read models of the roster. The lifecycle models (roster, funnel, reviews, incidents) keep
//! one JSON document per platform, whose size follows the platform's lifecycle (cycles, reviews,
//! ratings, incidents), not its service records; the timeline keeps one row per event and the
//! KPI model its service records in bounded chunks. So an event's keys follow from the event
//! alone, and applying one costs the same whatever the length of the history before it.
//! Queries over the documents (as of a date, filters) live in `crate::queries`.

pub mod funnel;
pub mod incidents;
pub mod kpi;
pub mod reviews;
pub mod roster;
pub mod timeline;

use std::collections::BTreeMap;
use std::sync::Arc;

use roster_domain::events::{self, PlatformEvent};
use roster_domain::store::StoredEvent;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::runner::Projection;

/// The platform id of a platform stream's event.
pub fn platform_id(e: &StoredEvent) -> Option<&str> {
    e.stream_id.strip_prefix("platform-")
}

/// The keys of a per-platform model: the platform id for platform events, nothing else.
pub fn platform_keys(e: &StoredEvent) -> Vec<String> {
    platform_id(e)
        .map(|p| vec![p.to_string()])
        .unwrap_or_default()
}

pub fn decode(e: &StoredEvent) -> Result<PlatformEvent, String> {
    events::decode_platform(&e.event_type, e.schema_version, &e.payload)
        .map_err(|err| err.to_string())
}

/// Folds into one typed per-platform document.
pub fn fold_doc<D: Serialize + DeserializeOwned + Default>(
    e: &StoredEvent,
    docs: &mut BTreeMap<String, Option<Value>>,
    f: impl FnOnce(&mut D, &PlatformEvent, &StoredEvent),
) -> Result<(), String> {
    let Some(pid) = platform_id(e) else {
        return Ok(());
    };
    let event = decode(e)?;
    let slot = docs.entry(pid.to_string()).or_insert(None);
    let mut doc: D = match slot.take() {
        Some(v) => {
            serde_json::from_value(v).map_err(|err| format!("stored document unreadable: {err}"))?
        }
        None => D::default(),
    };
    f(&mut doc, &event, e);
    *slot = Some(serde_json::to_value(&doc).map_err(|err| err.to_string())?);
    Ok(())
}

/// Folds a batch into typed per-platform documents: each document is read from JSON once and
/// written back once, whatever the number of its events in the batch. An event that does not
/// decode (or whose stored document does not) is reported and changes nothing.
pub fn fold_batch<D: Serialize + DeserializeOwned + Default>(
    events: &[StoredEvent],
    docs: &mut BTreeMap<String, Option<Value>>,
    f: impl Fn(&mut D, &PlatformEvent, &StoredEvent),
) -> Vec<(usize, String)> {
    let mut typed: BTreeMap<String, D> = BTreeMap::new();
    let mut dead = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let Some(pid) = platform_id(e) else { continue };
        let event = match decode(e) {
            Ok(ev) => ev,
            Err(reason) => {
                dead.push((i, reason));
                continue;
            }
        };
        if !typed.contains_key(pid) {
            let doc = match docs.get(pid).cloned().flatten() {
                Some(v) => match serde_json::from_value(v) {
                    Ok(d) => d,
                    Err(err) => {
                        dead.push((i, format!("stored document unreadable: {err}")));
                        continue;
                    }
                },
                None => D::default(),
            };
            typed.insert(pid.to_string(), doc);
        }
        f(typed.get_mut(pid).expect("inserted above"), &event, e);
    }
    for (k, d) in typed {
        match serde_json::to_value(&d) {
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

/// A read model kept as one typed document per platform, defined by its fold.
pub struct DocModel<D> {
    pub name: &'static str,
    pub fold: fn(&mut D, &PlatformEvent, &StoredEvent),
    /// Event types the fold never changes the document for: such an event is not loaded,
    /// folded or written at all (services, the bulk of a listed platform's history, leave the
    /// lifecycle models alone). `ignored_events_change_nothing` checks every entry.
    pub ignores: &'static [&'static str],
}

impl<D: Serialize + DeserializeOwned + Default + Send + Sync> Projection for DocModel<D> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn keys(&self, event: &StoredEvent) -> Vec<String> {
        if self.ignores.contains(&event.event_type.as_str()) {
            return Vec::new();
        }
        platform_keys(event)
    }

    fn apply(
        &self,
        e: &StoredEvent,
        docs: &mut BTreeMap<String, Option<Value>>,
    ) -> Result<(), String> {
        if self.keys(e).is_empty() {
            return Ok(());
        }
        fold_doc::<D>(e, docs, self.fold)
    }

    fn apply_all(
        &self,
        events: &[StoredEvent],
        docs: &mut BTreeMap<String, Option<Value>>,
    ) -> Vec<(usize, String)> {
        if events.iter().any(|e| self.keys(e).is_empty()) {
            // Fold only the events this model reads, keeping their indexes for dead letters.
            let (index, wanted): (Vec<usize>, Vec<StoredEvent>) = events
                .iter()
                .enumerate()
                .filter(|(_, e)| !self.keys(e).is_empty())
                .map(|(i, e)| (i, e.clone()))
                .unzip();
            return fold_batch::<D>(&wanted, docs, self.fold)
                .into_iter()
                .map(|(i, reason)| (index[i], reason))
                .collect();
        }
        fold_batch::<D>(events, docs, self.fold)
    }
}

/// Every read model, in the order `roster status` shows them.
pub fn all() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(roster::model()),
        Arc::new(timeline::model()),
        Arc::new(funnel::model()),
        Arc::new(reviews::model()),
        Arc::new(incidents::model()),
        Arc::new(kpi::model()),
    ]
}

pub fn by_name(name: &str) -> Option<Arc<dyn Projection>> {
    all().into_iter().find(|p| p.name() == name)
}

/// Every read model's name, in the order of [`all`].
pub const NAMES: [&str; 6] = [
    ROSTER.name,
    timeline::NAME,
    FUNNEL.name,
    REVIEWS.name,
    INCIDENTS.name,
    kpi::NAME,
];

/// The per-platform document models, typed: the one place their names are spelled, and how a
/// report loads them.
pub const ROSTER: Documents<roster::RosterDoc> = Documents::named("roster");
pub const FUNNEL: Documents<funnel::FunnelDoc> = Documents::named("funnel");
pub const REVIEWS: Documents<reviews::ReviewsDoc> = Documents::named("reviews");
pub const INCIDENTS: Documents<incidents::IncidentsDoc> = Documents::named("incidents");

/// A read model of typed documents, reached by a typed handle instead of a name and raw JSON.
pub struct Documents<D> {
    pub name: &'static str,
    doc: std::marker::PhantomData<fn() -> D>,
}

impl<D> Documents<D> {
    pub const fn named(name: &'static str) -> Documents<D> {
        Documents {
            name,
            doc: std::marker::PhantomData,
        }
    }
}

impl<D: DeserializeOwned> Documents<D> {
    /// Every document of the model. A document that does not decode is an error naming it,
    /// never silently left out of a report.
    pub async fn load(
        &self,
        store: &dyn crate::store::ReadModelStore,
    ) -> Result<Vec<D>, roster_domain::store::StoreError> {
        store
            .scan(self.name, "")
            .await?
            .into_iter()
            .map(|(key, v)| {
                serde_json::from_value(v).map_err(|e| {
                    roster_domain::store::StoreError::Other(format!(
                        "{} document {key} unreadable: {e}",
                        self.name
                    ))
                })
            })
            .collect()
    }

    /// One platform's document; the empty document when the model has none for it yet.
    pub async fn get(
        &self,
        store: &dyn crate::store::ReadModelStore,
        key: &str,
    ) -> Result<D, roster_domain::store::StoreError>
    where
        D: Default,
    {
        let mut docs = store.load(self.name, &[key.to_string()]).await?;
        match docs.remove(key) {
            Some(v) => serde_json::from_value(v).map_err(|e| {
                roster_domain::store::StoreError::Other(format!(
                    "{} document {key} unreadable: {e}",
                    self.name
                ))
            }),
            None => Ok(D::default()),
        }
    }
}
