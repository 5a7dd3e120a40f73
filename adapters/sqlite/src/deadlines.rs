//! `DeadlineStore` on SQLite, twin of the PostgreSQL one (`adapters/postgres/migrations/0004_deadlines.sql`).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use roster_domain::policies::{Deadline, DeadlineKind};
use roster_domain::store::{DeadlineRecord, DeadlineState, DeadlineStore, StoreError};
use rusqlite::{params, Row};
use uuid::Uuid;

use crate::error::from_sqlite;
use crate::SqliteStore;
use crate::{conversion, date_text, opt_time_at, opt_uuid_at, time_at, time_text, to_i64, uuid_at};

const COLUMNS: &str = "deadline_id, platform_id, kind, listed_on, due_on, fire_on, scheduled_by, \
     state, scheduled_at, settled_at, command_id, note";

fn unknown(what: String) -> std::io::Error {
    std::io::Error::other(what)
}

fn date_at(row: &Row, idx: usize) -> rusqlite::Result<NaiveDate> {
    let s: String = row.get(idx)?;
    NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|e| conversion(idx, e))
}

fn deadline_from_row(row: &Row) -> rusqlite::Result<Deadline> {
    let kind: String = row.get(2)?;
    Ok(Deadline {
        deadline_id: row.get(0)?,
        platform_id: row.get(1)?,
        kind: DeadlineKind::parse(&kind)
            .ok_or_else(|| conversion(2, unknown(format!("unknown deadline kind {kind}"))))?,
        listed_on: date_at(row, 3)?,
        due_on: date_at(row, 4)?,
        fire_on: date_at(row, 5)?,
        scheduled_by: uuid_at(row, 6)?,
    })
}

fn record_from_row(row: &Row) -> rusqlite::Result<DeadlineRecord> {
    let state: String = row.get(7)?;
    Ok(DeadlineRecord {
        deadline: deadline_from_row(row)?,
        state: DeadlineState::parse(&state)
            .ok_or_else(|| conversion(7, unknown(format!("unknown deadline state {state}"))))?,
        scheduled_at: time_at(row, 8)?,
        settled_at: opt_time_at(row, 9)?,
        command_id: opt_uuid_at(row, 10)?,
        note: row.get(11)?,
    })
}

#[async_trait]
impl DeadlineStore for SqliteStore {
    async fn schedule(&self, deadlines: &[Deadline], at: DateTime<Utc>) -> Result<u64, StoreError> {
        let deadlines = deadlines.to_vec();
        self.run(move |conn| {
            let tx = conn.transaction().map_err(from_sqlite)?;
            let mut added = 0u64;
            {
                let mut stmt = tx
                    .prepare_cached(
                        "INSERT INTO deadlines (deadline_id, platform_id, kind, listed_on, due_on,
                             fire_on, scheduled_by, scheduled_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                         ON CONFLICT (deadline_id) DO NOTHING",
                    )
                    .map_err(from_sqlite)?;
                for d in &deadlines {
                    added += stmt
                        .execute(params![
                            d.deadline_id,
                            d.platform_id,
                            d.kind.as_str(),
                            date_text(&d.listed_on),
                            date_text(&d.due_on),
                            date_text(&d.fire_on),
                            d.scheduled_by.to_string(),
                            time_text(&at),
                        ])
                        .map_err(from_sqlite)? as u64;
                }
            }
            tx.commit().map_err(from_sqlite)?;
            Ok(added)
        })
        .await
    }

    async fn cancel_pending(
        &self,
        platform_id: &str,
        listed_on: NaiveDate,
        note: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let (platform_id, note) = (platform_id.to_owned(), note.to_owned());
        self.run(move |conn| {
            conn.execute(
                "UPDATE deadlines SET state = 'cancelled', settled_at = ?3, note = ?4
                 WHERE platform_id = ?1 AND listed_on = ?2 AND state = 'pending'",
                params![platform_id, date_text(&listed_on), time_text(&at), note],
            )
            .map(|n| n as u64)
            .map_err(from_sqlite)
        })
        .await
    }

    async fn due(&self, today: NaiveDate, limit: usize) -> Result<Vec<Deadline>, StoreError> {
        self.run(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM deadlines WHERE state = 'pending' AND fire_on <= ?1
                     ORDER BY fire_on, deadline_id LIMIT ?2"
                ))
                .map_err(from_sqlite)?;
            let rows = stmt
                .query_map(
                    params![date_text(&today), to_i64(limit as u64)],
                    deadline_from_row,
                )
                .map_err(from_sqlite)?;
            rows.collect::<Result<_, _>>().map_err(from_sqlite)
        })
        .await
    }

    async fn settle(
        &self,
        deadline_id: &str,
        state: DeadlineState,
        command_id: Uuid,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (deadline_id, note) = (deadline_id.to_owned(), note.map(str::to_owned));
        self.run(move |conn| {
            conn.execute(
                "UPDATE deadlines SET state = ?2, command_id = ?3, note = ?4, settled_at = ?5
                 WHERE deadline_id = ?1 AND state = 'pending'",
                params![
                    deadline_id,
                    state.as_str(),
                    command_id.to_string(),
                    note,
                    time_text(&at)
                ],
            )
            .map(|n| n > 0)
            .map_err(from_sqlite)
        })
        .await
    }

    async fn deadlines(
        &self,
        pending_only: bool,
        limit: usize,
    ) -> Result<Vec<DeadlineRecord>, StoreError> {
        self.run(move |conn| {
            let filter = if pending_only {
                "WHERE state = 'pending'"
            } else {
                ""
            };
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM deadlines {filter}
                     ORDER BY fire_on, deadline_id LIMIT ?1"
                ))
                .map_err(from_sqlite)?;
            let rows = stmt
                .query_map(params![to_i64(limit as u64)], record_from_row)
                .map_err(from_sqlite)?;
            rows.collect::<Result<_, _>>().map_err(from_sqlite)
        })
        .await
    }
}
