//! `ReadModelStore` on PostgreSQL: documents, checkpoints and dead letters in the same database
//! as the events (`migrations/0002_read_models.sql`).
//!
//! A commit locks its projection's checkpoint row first, so two consumers of one projection
//! serialise there and the second one sees that the checkpoint moved. Every multi-row write is
//! one statement over arrays (`UNNEST`, `= ANY`), so a batch of a thousand documents costs the
//! same few round trips as a batch of one.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Object, Transaction};
use roster_domain::store::{Checkpoint, StoreError};
use roster_projections::{CommitOutcome, DeadLetter, DocChange, ProjectionState, ReadModelStore};
use serde_json::Value;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::error::from_pg;
use crate::{release, PgStore};

fn checkpoint_param(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value)
        .map_err(|_| StoreError::Other(format!("{what} {value} does not fit the bigint column")))
}

fn state_from_row(row: &Row) -> Result<ProjectionState, StoreError> {
    let transaction_id: i64 = row.try_get("transaction_id").map_err(from_pg)?;
    let applied: i64 = row.try_get("applied").map_err(from_pg)?;
    Ok(ProjectionState {
        projection: row.try_get("projection").map_err(from_pg)?,
        checkpoint: Checkpoint {
            transaction_id: transaction_id as u64,
            global_position: row.try_get("global_position").map_err(from_pg)?,
        },
        applied: applied as u64,
        updated_at: row.try_get("updated_at").map_err(from_pg)?,
    })
}

fn dead_letter_from_row(row: &Row) -> Result<DeadLetter, StoreError> {
    let transaction_id: i64 = row.try_get("transaction_id").map_err(from_pg)?;
    Ok(DeadLetter {
        projection: row.try_get("projection").map_err(from_pg)?,
        global_position: row.try_get("global_position").map_err(from_pg)?,
        transaction_id: transaction_id as u64,
        event_id: row.try_get("event_id").map_err(from_pg)?,
        event_type: row.try_get("event_type").map_err(from_pg)?,
        reason: row.try_get("reason").map_err(from_pg)?,
        recorded_at: row.try_get("recorded_at").map_err(from_pg)?,
        replayed_at: row.try_get("replayed_at").map_err(from_pg)?,
    })
}

const STATE_COLUMNS: &str = "projection, transaction_id, global_position, applied, updated_at";

const DEAD_LETTER_COLUMNS: &str = "projection, global_position, transaction_id, event_id, \
     event_type, reason, recorded_at, replayed_at";

/// The last change per key wins, as if the changes were applied one after the other; one
/// `INSERT … ON CONFLICT DO UPDATE` may not touch the same row twice.
/// What one document upsert statement carries at most (one document may exceed it alone).
const STATEMENT_BYTES: usize = 1 << 20;

fn last_change_per_key(changes: Vec<DocChange>) -> (Vec<String>, Vec<Value>, Vec<String>) {
    let mut last: HashMap<String, Option<Value>> = HashMap::with_capacity(changes.len());
    for c in changes {
        last.insert(c.key, c.doc);
    }
    let (mut keys, mut docs, mut deleted) = (Vec::new(), Vec::new(), Vec::new());
    for (key, doc) in last {
        match doc {
            Some(doc) => {
                keys.push(key);
                docs.push(doc);
            }
            None => deleted.push(key),
        }
    }
    (keys, docs, deleted)
}

async fn commit_in(
    tx: &Transaction<'_>,
    projection: &str,
    from: Checkpoint,
    to: Checkpoint,
    applied: u64,
    changes: Vec<DocChange>,
    dead_letters: Vec<DeadLetter>,
) -> Result<CommitOutcome, StoreError> {
    // A racing first commit blocks on this insert until the other one ends, then finds the row.
    tx.execute(
        "INSERT INTO projection_checkpoints (projection) VALUES ($1)
         ON CONFLICT (projection) DO NOTHING",
        &[&projection],
    )
    .await
    .map_err(from_pg)?;
    let stored = tx
        .query_opt(
            "SELECT transaction_id, global_position FROM projection_checkpoints
             WHERE projection = $1 FOR UPDATE",
            &[&projection],
        )
        .await
        .map_err(from_pg)?;
    // No row: a swap or reset removed it while we waited for its lock. Either way the checkpoint
    // is no longer the one the caller read.
    let Some(stored) = stored else {
        return Ok(CommitOutcome::Moved);
    };
    let stored = Checkpoint {
        transaction_id: stored.try_get::<_, i64>(0).map_err(from_pg)? as u64,
        global_position: stored.try_get(1).map_err(from_pg)?,
    };
    if stored != from {
        return Ok(CommitOutcome::Moved);
    }

    let (keys, docs, deleted) = last_change_per_key(changes);
    if !keys.is_empty() {
        let upsert = tx
            .prepare_cached(
                "INSERT INTO read_model_docs (projection, key, doc)
                 SELECT $1, k, d::jsonb FROM UNNEST($2::text[], $3::text[]) AS u(k, d)
                 ON CONFLICT (projection, key) DO UPDATE SET doc = EXCLUDED.doc",
            )
            .await
            .map_err(from_pg)?;
        // Statements of at most about STATEMENT_BYTES each: a connection keeps the capacity of
        // the largest message it ever sent, and a batch of 2,000 service chunks in one message
        // left ~10 MB behind in every pooled connection.
        let mut next = 0;
        while next < keys.len() {
            let start = next;
            let (mut texts, mut size) = (Vec::new(), 0);
            while next < keys.len() && (texts.is_empty() || size < STATEMENT_BYTES) {
                let text = serde_json::to_string(&docs[next]).map_err(|e| {
                    StoreError::Other(format!("document {} not serializable: {e}", keys[next]))
                })?;
                size += text.len() + keys[next].len();
                texts.push(text);
                next += 1;
            }
            tx.execute(&upsert, &[&projection, &&keys[start..next], &texts])
                .await
                .map_err(from_pg)?;
        }
    }
    if !deleted.is_empty() {
        let delete = tx
            .prepare_cached(
                "DELETE FROM read_model_docs WHERE projection = $1 AND key = ANY($2::text[])",
            )
            .await
            .map_err(from_pg)?;
        tx.execute(&delete, &[&projection, &deleted])
            .await
            .map_err(from_pg)?;
    }
    if !dead_letters.is_empty() {
        let n = dead_letters.len();
        let mut positions = Vec::with_capacity(n);
        let mut transactions = Vec::with_capacity(n);
        let mut event_ids = Vec::with_capacity(n);
        let mut event_types = Vec::with_capacity(n);
        let mut reasons = Vec::with_capacity(n);
        let mut recorded = Vec::with_capacity(n);
        let mut replayed = Vec::with_capacity(n);
        for d in &dead_letters {
            positions.push(d.global_position);
            transactions.push(checkpoint_param(d.transaction_id, "transaction id")?);
            event_ids.push(d.event_id);
            event_types.push(d.event_type.as_str());
            reasons.push(d.reason.as_str());
            recorded.push(d.recorded_at);
            replayed.push(d.replayed_at);
        }
        // Stored under the committing projection (a shadow during a rebuild), whatever the
        // letters say: `swap` moves them with the documents.
        let insert = tx
            .prepare_cached(
                "INSERT INTO projection_dead_letters (projection, global_position, transaction_id,
                     event_id, event_type, reason, recorded_at, replayed_at)
                 SELECT $1, p, t, e, ty, r, ra, rp
                 FROM UNNEST($2::bigint[], $3::bigint[], $4::uuid[], $5::text[], $6::text[],
                             $7::timestamptz[], $8::timestamptz[]) AS u(p, t, e, ty, r, ra, rp)
                 ON CONFLICT (projection, event_id) DO NOTHING",
            )
            .await
            .map_err(from_pg)?;
        tx.execute(
            &insert,
            &[
                &projection,
                &positions,
                &transactions,
                &event_ids,
                &event_types,
                &reasons,
                &recorded,
                &replayed,
            ],
        )
        .await
        .map_err(from_pg)?;
    }
    let update = tx
        .prepare_cached(
            "UPDATE projection_checkpoints
             SET transaction_id = $2, global_position = $3, applied = applied + $4,
                 updated_at = now()
             WHERE projection = $1",
        )
        .await
        .map_err(from_pg)?;
    tx.execute(
        &update,
        &[
            &projection,
            &checkpoint_param(to.transaction_id, "transaction id")?,
            &to.global_position,
            &checkpoint_param(applied, "applied count")?,
        ],
    )
    .await
    .map_err(from_pg)?;
    Ok(CommitOutcome::Committed)
}

async fn swap_on(client: &mut Object, shadow: &str, target: &str) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(from_pg)?;
    // Checkpoint rows first, in name order, as `commit` locks them first: a commit racing the
    // swap waits for it instead of deadlocking with it.
    let mut names = [shadow, target];
    names.sort_unstable();
    tx.query(
        "SELECT 1 FROM projection_checkpoints WHERE projection = ANY($1::text[])
         ORDER BY projection FOR UPDATE",
        &[&names.as_slice()],
    )
    .await
    .map_err(from_pg)?;
    for table in [
        "read_model_docs",
        "projection_checkpoints",
        "projection_dead_letters",
    ] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE projection = $1"),
            &[&target],
        )
        .await
        .map_err(from_pg)?;
        tx.execute(
            &format!("UPDATE {table} SET projection = $2 WHERE projection = $1"),
            &[&shadow, &target],
        )
        .await
        .map_err(from_pg)?;
    }
    tx.commit().await.map_err(from_pg)
}

#[async_trait]
impl ReadModelStore for PgStore {
    async fn state(&self, projection: &str) -> Result<ProjectionState, StoreError> {
        let client = self.client().await?;
        let result: Result<_, StoreError> = async {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {STATE_COLUMNS} FROM projection_checkpoints WHERE projection = $1"
                ))
                .await
                .map_err(from_pg)?;
            match client
                .query_opt(&stmt, &[&projection])
                .await
                .map_err(from_pg)?
            {
                Some(row) => state_from_row(&row),
                None => Ok(ProjectionState {
                    projection: projection.to_string(),
                    checkpoint: Checkpoint::START,
                    applied: 0,
                    updated_at: None,
                }),
            }
        }
        .await;
        release(client, result)
    }

    async fn states(&self) -> Result<Vec<ProjectionState>, StoreError> {
        let client = self.client().await?;
        let result: Result<_, StoreError> = async {
            let rows = client
                .query(
                    &format!(
                        "SELECT {STATE_COLUMNS} FROM projection_checkpoints
                         ORDER BY projection COLLATE \"C\""
                    ),
                    &[],
                )
                .await
                .map_err(from_pg)?;
            rows.iter().map(state_from_row).collect()
        }
        .await;
        release(client, result)
    }

    async fn load(
        &self,
        projection: &str,
        keys: &[String],
    ) -> Result<BTreeMap<String, Value>, StoreError> {
        if keys.is_empty() {
            return Ok(BTreeMap::new());
        }
        let client = self.client().await?;
        let result: Result<_, StoreError> = async {
            let stmt = client
                .prepare_cached(
                    // A join with the keys, not `key = ANY($2)`: on a table whose statistics
                    // lag behind its growth (a model catching up) the planner scanned every
                    // row against every key, seconds per batch of 2,000 keys.
                    "SELECT d.key, d.doc FROM UNNEST($2::text[]) AS k(key)
                     JOIN read_model_docs d
                       ON d.projection = $1 AND d.key = k.key COLLATE \"C\"",
                )
                .await
                .map_err(from_pg)?;
            let rows = client
                .query(&stmt, &[&projection, &keys])
                .await
                .map_err(from_pg)?;
            rows.iter()
                .map(|r| {
                    Ok((
                        r.try_get(0).map_err(from_pg)?,
                        r.try_get(1).map_err(from_pg)?,
                    ))
                })
                .collect()
        }
        .await;
        release(client, result)
    }

    async fn scan(
        &self,
        projection: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Value)>, StoreError> {
        let mut out = Vec::new();
        self.scan_each(projection, prefix, &mut |key, doc| {
            out.push((key, doc));
            Ok(())
        })
        .await?;
        Ok(out)
    }

    async fn scan_each(
        &self,
        projection: &str,
        prefix: &str,
        each: &mut (dyn FnMut(String, Value) -> Result<(), String> + Send),
    ) -> Result<(), StoreError> {
        use futures_util::TryStreamExt;
        let client = self.client().await?;
        let result: Result<_, StoreError> = async {
            // starts_with, not LIKE: a prefix holding % or _ means those characters.
            let stmt = client
                .prepare_cached(
                    "SELECT key, doc FROM read_model_docs
                     WHERE projection = $1 AND starts_with(key, $2) ORDER BY key",
                )
                .await
                .map_err(from_pg)?;
            // Rows are decoded and handed on as they arrive: the KPI model over a million
            // service records is ~90 MB of rows, which were held alongside their documents.
            let rows = client
                .query_raw(
                    &stmt,
                    [
                        &projection as &(dyn tokio_postgres::types::ToSql + Sync),
                        &prefix,
                    ],
                )
                .await
                .map_err(from_pg)?;
            let mut rows = std::pin::pin!(rows);
            while let Some(row) = rows.try_next().await.map_err(from_pg)? {
                let key: String = row.try_get(0).map_err(from_pg)?;
                let doc: Value = row.try_get(1).map_err(from_pg)?;
                drop(row);
                each(key, doc).map_err(StoreError::Other)?;
            }
            Ok(())
        }
        .await;
        if result.is_err() {
            // A scan ended early leaves its rows in flight: the connection goes, not back to
            // the pool.
            drop(Object::take(client));
            return result;
        }
        result
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
        let mut client = self.client().await?;
        let result: Result<_, StoreError> = async {
            let tx = client.transaction().await.map_err(from_pg)?;
            let outcome =
                commit_in(&tx, projection, from, to, applied, changes, dead_letters).await?;
            match outcome {
                CommitOutcome::Committed => tx.commit().await.map_err(from_pg)?,
                // Also undoes the checkpoint row inserted for a projection that never ran, so
                // a refused commit leaves no trace in `states`.
                CommitOutcome::Moved => tx.rollback().await.map_err(from_pg)?,
            }
            Ok(outcome)
        }
        .await;
        release(client, result)
    }

    async fn reset(&self, projection: &str) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let result: Result<_, StoreError> = async {
            let tx = client.transaction().await.map_err(from_pg)?;
            for table in [
                "projection_checkpoints",
                "read_model_docs",
                "projection_dead_letters",
            ] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE projection = $1"),
                    &[&projection],
                )
                .await
                .map_err(from_pg)?;
            }
            tx.commit().await.map_err(from_pg)
        }
        .await;
        release(client, result)
    }

    async fn swap(&self, shadow: &str, target: &str) -> Result<(), StoreError> {
        if shadow == target {
            return Ok(());
        }
        let mut client = self.client().await?;
        let result = swap_on(&mut client, shadow, target).await;
        release(client, result)
    }

    async fn dead_letters(&self, projection: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        let client = self.client().await?;
        let result: Result<_, StoreError> = async {
            let rows = client
                .query(
                    &format!(
                        "SELECT {DEAD_LETTER_COLUMNS} FROM projection_dead_letters
                         WHERE $1::text IS NULL OR projection = $1
                         ORDER BY global_position, projection COLLATE \"C\", recorded_at"
                    ),
                    &[&projection],
                )
                .await
                .map_err(from_pg)?;
            rows.iter().map(dead_letter_from_row).collect()
        }
        .await;
        release(client, result)
    }

    async fn mark_replayed(
        &self,
        projection: &str,
        event_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let result: Result<_, StoreError> = async {
            client
                .execute(
                    "UPDATE projection_dead_letters SET replayed_at = $3
                     WHERE projection = $1 AND event_id = $2",
                    &[&projection, &event_id, &at],
                )
                .await
                .map_err(from_pg)?;
            Ok(())
        }
        .await;
        release(client, result)
    }
}
