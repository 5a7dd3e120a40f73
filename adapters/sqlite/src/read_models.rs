//! `ReadModelStore` on SQLite, twin of the PostgreSQL one (`migrations/0002_read_models.sql`).
//!
//! Every write transaction starts with `BEGIN IMMEDIATE`, which takes the file's write lock:
//! that plays the part of PostgreSQL's `SELECT … FOR UPDATE` on the checkpoint row, for other
//! handles and other processes alike. Statements run in-process, so a batch is a loop over one
//! cached prepared statement inside the transaction: there are no round trips to save.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use roster_domain::store::{Checkpoint, StoreError};
use roster_projections::{CommitOutcome, DeadLetter, DocChange, ProjectionState, ReadModelStore};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde_json::Value;
use uuid::Uuid;

use crate::error::from_sqlite;
use crate::{opt_time_at, time_at, time_text, to_i64, uuid_at, SqliteStore};

const STATE_COLUMNS: &str = "projection, transaction_id, global_position, applied, updated_at";

const DEAD_LETTER_COLUMNS: &str = "projection, global_position, transaction_id, event_id, \
     event_type, reason, recorded_at, replayed_at";

fn state_from_row(row: &Row) -> rusqlite::Result<ProjectionState> {
    let transaction_id: i64 = row.get(1)?;
    let applied: i64 = row.get(3)?;
    Ok(ProjectionState {
        projection: row.get(0)?,
        checkpoint: Checkpoint {
            transaction_id: transaction_id as u64,
            global_position: row.get(2)?,
        },
        applied: applied as u64,
        updated_at: opt_time_at(row, 4)?,
    })
}

fn dead_letter_from_row(row: &Row) -> rusqlite::Result<DeadLetter> {
    let transaction_id: i64 = row.get(2)?;
    Ok(DeadLetter {
        projection: row.get(0)?,
        global_position: row.get(1)?,
        transaction_id: transaction_id as u64,
        event_id: uuid_at(row, 3)?,
        event_type: row.get(4)?,
        reason: row.get(5)?,
        recorded_at: time_at(row, 6)?,
        replayed_at: opt_time_at(row, 7)?,
    })
}

fn encode(doc: &Value) -> Result<String, StoreError> {
    serde_json::to_string(doc)
        .map_err(|e| StoreError::Other(format!("cannot encode a read-model document: {e}")))
}

#[allow(clippy::too_many_arguments)]
fn commit_blocking(
    conn: &mut Connection,
    projection: &str,
    from: Checkpoint,
    to: Checkpoint,
    applied: u64,
    changes: &[DocChange],
    dead_letters: &[DeadLetter],
) -> Result<CommitOutcome, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(from_sqlite)?;
    let stored: Option<(i64, i64)> = tx
        .prepare_cached(
            "SELECT transaction_id, global_position FROM projection_checkpoints
             WHERE projection = ?1",
        )
        .and_then(|mut stmt| {
            stmt.query_row([projection], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(from_sqlite)?;
    let stored = stored.map_or(Checkpoint::START, |(t, p)| Checkpoint {
        transaction_id: t as u64,
        global_position: p,
    });
    if stored != from {
        // Dropping the transaction rolls it back; nothing was written anyway.
        return Ok(CommitOutcome::Moved);
    }
    {
        let mut upsert = tx
            .prepare_cached(
                "INSERT INTO read_model_docs (projection, key, doc) VALUES (?1, ?2, ?3)
                 ON CONFLICT (projection, key) DO UPDATE SET doc = excluded.doc",
            )
            .map_err(from_sqlite)?;
        let mut delete = tx
            .prepare_cached("DELETE FROM read_model_docs WHERE projection = ?1 AND key = ?2")
            .map_err(from_sqlite)?;
        for c in changes {
            match &c.doc {
                Some(doc) => upsert.execute(params![projection, c.key, encode(doc)?]),
                None => delete.execute(params![projection, c.key]),
            }
            .map_err(from_sqlite)?;
        }
        let mut dead = tx
            .prepare_cached(
                "INSERT INTO projection_dead_letters (projection, global_position, transaction_id,
                     event_id, event_type, reason, recorded_at, replayed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (projection, event_id) DO NOTHING",
            )
            .map_err(from_sqlite)?;
        for d in dead_letters {
            dead.execute(params![
                projection,
                d.global_position,
                to_i64(d.transaction_id),
                d.event_id.to_string(),
                d.event_type,
                d.reason,
                time_text(&d.recorded_at),
                d.replayed_at.as_ref().map(time_text),
            ])
            .map_err(from_sqlite)?;
        }
    }
    tx.prepare_cached(
        "INSERT INTO projection_checkpoints (projection, transaction_id, global_position, applied,
                                            updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (projection) DO UPDATE SET
             transaction_id = excluded.transaction_id,
             global_position = excluded.global_position,
             applied = applied + excluded.applied,
             updated_at = excluded.updated_at",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            projection,
            to_i64(to.transaction_id),
            to.global_position,
            to_i64(applied),
            time_text(&Utc::now()),
        ])
    })
    .map_err(from_sqlite)?;
    tx.commit().map_err(from_sqlite)?;
    Ok(CommitOutcome::Committed)
}

fn swap_blocking(conn: &mut Connection, shadow: &str, target: &str) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(from_sqlite)?;
    for table in [
        "read_model_docs",
        "projection_checkpoints",
        "projection_dead_letters",
    ] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE projection = ?1"),
            [target],
        )
        .map_err(from_sqlite)?;
        tx.execute(
            &format!("UPDATE {table} SET projection = ?2 WHERE projection = ?1"),
            [shadow, target],
        )
        .map_err(from_sqlite)?;
    }
    tx.commit().map_err(from_sqlite)
}

fn docs(rows: rusqlite::Result<Vec<(String, String)>>) -> Result<Vec<(String, Value)>, StoreError> {
    rows.map_err(from_sqlite)?
        .into_iter()
        .map(|(key, doc)| {
            let doc = serde_json::from_str(&doc).map_err(|e| {
                StoreError::Other(format!("stored document {key:?} is not valid JSON: {e}"))
            })?;
            Ok((key, doc))
        })
        .collect()
}

#[async_trait]
impl ReadModelStore for SqliteStore {
    async fn state(&self, projection: &str) -> Result<ProjectionState, StoreError> {
        let projection = projection.to_owned();
        self.run(move |conn| {
            let found = conn
                .prepare_cached(&format!(
                    "SELECT {STATE_COLUMNS} FROM projection_checkpoints WHERE projection = ?1"
                ))
                .and_then(|mut stmt| stmt.query_row([&projection], state_from_row).optional())
                .map_err(from_sqlite)?;
            Ok(found.unwrap_or(ProjectionState {
                projection,
                checkpoint: Checkpoint::START,
                applied: 0,
                updated_at: None,
            }))
        })
        .await
    }

    async fn states(&self) -> Result<Vec<ProjectionState>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {STATE_COLUMNS} FROM projection_checkpoints ORDER BY projection"
                ))
                .map_err(from_sqlite)?;
            let rows = stmt.query_map([], state_from_row).map_err(from_sqlite)?;
            rows.collect::<Result<_, _>>().map_err(from_sqlite)
        })
        .await
    }

    async fn load(
        &self,
        projection: &str,
        keys: &[String],
    ) -> Result<BTreeMap<String, Value>, StoreError> {
        if keys.is_empty() {
            return Ok(BTreeMap::new());
        }
        let projection = projection.to_owned();
        let keys = keys.to_vec();
        self.run(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT key, doc FROM read_model_docs WHERE projection = ?1 AND key = ?2",
                )
                .map_err(from_sqlite)?;
            let mut found = Vec::new();
            for key in &keys {
                if let Some(doc) = stmt
                    .query_row(params![projection, key], |r| r.get::<_, String>(1))
                    .optional()
                    .map_err(from_sqlite)?
                {
                    found.push((key.clone(), doc));
                }
            }
            Ok(docs(Ok(found))?.into_iter().collect())
        })
        .await
    }

    async fn scan(
        &self,
        projection: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Value)>, StoreError> {
        let projection = projection.to_owned();
        let prefix = prefix.to_owned();
        self.run(move |conn| {
            // Not LIKE: SQLite's LIKE ignores ASCII case and treats % and _ as wildcards.
            let mut stmt = conn
                .prepare_cached(
                    "SELECT key, doc FROM read_model_docs
                     WHERE projection = ?1 AND substr(key, 1, length(?2)) = ?2
                     ORDER BY key",
                )
                .map_err(from_sqlite)?;
            let rows = stmt
                .query_map([projection, prefix], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>());
            docs(rows)
        })
        .await
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
        let projection = projection.to_owned();
        self.run(move |conn| {
            commit_blocking(
                conn,
                &projection,
                from,
                to,
                applied,
                &changes,
                &dead_letters,
            )
        })
        .await
    }

    async fn reset(&self, projection: &str) -> Result<(), StoreError> {
        let projection = projection.to_owned();
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(from_sqlite)?;
            for table in [
                "projection_checkpoints",
                "read_model_docs",
                "projection_dead_letters",
            ] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE projection = ?1"),
                    [&projection],
                )
                .map_err(from_sqlite)?;
            }
            tx.commit().map_err(from_sqlite)
        })
        .await
    }

    async fn swap(&self, shadow: &str, target: &str) -> Result<(), StoreError> {
        if shadow == target {
            return Ok(());
        }
        let (shadow, target) = (shadow.to_owned(), target.to_owned());
        self.run(move |conn| swap_blocking(conn, &shadow, &target))
            .await
    }

    async fn dead_letters(&self, projection: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        let projection = projection.map(str::to_owned);
        self.run(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {DEAD_LETTER_COLUMNS} FROM projection_dead_letters
                     WHERE ?1 IS NULL OR projection = ?1
                     ORDER BY global_position, projection, recorded_at"
                ))
                .map_err(from_sqlite)?;
            let rows = stmt
                .query_map([projection], dead_letter_from_row)
                .map_err(from_sqlite)?;
            rows.collect::<Result<_, _>>().map_err(from_sqlite)
        })
        .await
    }

    async fn mark_replayed(
        &self,
        projection: &str,
        event_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let projection = projection.to_owned();
        self.run(move |conn| {
            conn.execute(
                "UPDATE projection_dead_letters SET replayed_at = ?3
                 WHERE projection = ?1 AND event_id = ?2",
                params![projection, event_id.to_string(), time_text(&at)],
            )
            .map_err(from_sqlite)?;
            Ok(())
        })
        .await
    }
}
