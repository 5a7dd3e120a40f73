//! An in-memory `ReadModelStore` with the same semantics as the database adapters, for the
//! projections' own tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use roster_domain::store::{Checkpoint, StoreError};
use serde_json::Value;
use uuid::Uuid;

use crate::store::{CommitOutcome, DeadLetter, DocChange, ProjectionState, ReadModelStore};

#[derive(Default)]
struct Model {
    docs: BTreeMap<String, Value>,
    state: Option<ProjectionState>,
    dead: Vec<DeadLetter>,
}

#[derive(Default)]
pub struct MemoryReadModels {
    models: Mutex<BTreeMap<String, Model>>,
}

fn fresh(projection: &str) -> ProjectionState {
    ProjectionState {
        projection: projection.to_string(),
        checkpoint: Checkpoint::START,
        applied: 0,
        updated_at: None,
    }
}

#[async_trait]
impl ReadModelStore for MemoryReadModels {
    async fn state(&self, projection: &str) -> Result<ProjectionState, StoreError> {
        let m = self.models.lock().unwrap();
        Ok(m.get(projection)
            .and_then(|m| m.state.clone())
            .unwrap_or_else(|| fresh(projection)))
    }

    async fn states(&self) -> Result<Vec<ProjectionState>, StoreError> {
        Ok(self
            .models
            .lock()
            .unwrap()
            .values()
            .filter_map(|m| m.state.clone())
            .collect())
    }

    async fn load(
        &self,
        projection: &str,
        keys: &[String],
    ) -> Result<BTreeMap<String, Value>, StoreError> {
        let m = self.models.lock().unwrap();
        let Some(model) = m.get(projection) else {
            return Ok(BTreeMap::new());
        };
        Ok(keys
            .iter()
            .filter_map(|k| model.docs.get(k).map(|d| (k.clone(), d.clone())))
            .collect())
    }

    async fn scan(
        &self,
        projection: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Value)>, StoreError> {
        let m = self.models.lock().unwrap();
        Ok(m.get(projection)
            .map(|model| {
                model
                    .docs
                    .iter()
                    .filter(|(k, _)| k.starts_with(prefix))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn commit(
        &self,
        projection: &str,
        from: Checkpoint,
        to: Checkpoint,
        applied: u64,
        changes: Vec<DocChange>,
        dead_letters: Vec<DeadLetter>,
    ) -> Result<CommitOutcome, StoreError> {
        let mut m = self.models.lock().unwrap();
        let model = m.entry(projection.to_string()).or_default();
        let state = model.state.clone().unwrap_or_else(|| fresh(projection));
        if state.checkpoint != from {
            return Ok(CommitOutcome::Moved);
        }
        for c in changes {
            match c.doc {
                Some(d) => model.docs.insert(c.key, d),
                None => model.docs.remove(&c.key),
            };
        }
        // Like the databases: the first dead letter per event is kept.
        for d in dead_letters {
            if !model.dead.iter().any(|x| x.event_id == d.event_id) {
                model.dead.push(d);
            }
        }
        model.state = Some(ProjectionState {
            projection: projection.to_string(),
            checkpoint: to,
            applied: state.applied + applied,
            updated_at: Some(Utc::now()),
        });
        Ok(CommitOutcome::Committed)
    }

    async fn reset(&self, projection: &str) -> Result<(), StoreError> {
        self.models.lock().unwrap().remove(projection);
        Ok(())
    }

    async fn swap(&self, shadow: &str, target: &str) -> Result<(), StoreError> {
        let mut m = self.models.lock().unwrap();
        let mut model = m.remove(shadow).unwrap_or_default();
        if let Some(s) = model.state.as_mut() {
            s.projection = target.to_string();
        }
        for d in &mut model.dead {
            d.projection = target.to_string();
        }
        m.insert(target.to_string(), model);
        Ok(())
    }

    async fn dead_letters(&self, projection: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        let m = self.models.lock().unwrap();
        let mut out: Vec<DeadLetter> = m
            .iter()
            .filter(|(k, _)| projection.is_none_or(|p| p == k.as_str()))
            .flat_map(|(_, v)| v.dead.clone())
            .collect();
        out.sort_by_key(|d| d.global_position);
        Ok(out)
    }

    async fn mark_replayed(
        &self,
        projection: &str,
        event_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut m = self.models.lock().unwrap();
        if let Some(model) = m.get_mut(projection) {
            for d in model.dead.iter_mut().filter(|d| d.event_id == event_id) {
                d.replayed_at = Some(at);
            }
        }
        Ok(())
    }
}
