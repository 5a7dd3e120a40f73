//! SQLite adapter (embedded default): the same contracts as PostgreSQL.
//!
//! `SqliteStore` keeps events, command ids, the audit log and tokens in one SQLite file (WAL
//! mode) so the roster runs without a server. SQLite admits one writer at a time and every write
//! here takes the write lock up front (`BEGIN IMMEDIATE`), so transactions commit in position
//! order: `transaction_id` is always 0 and the position alone is a gap-free cursor. The same file
//! holds the read models (`ReadModelStore`, `read_models.rs`).
//!
//! rusqlite is blocking; every call runs on tokio's blocking pool behind one connection mutex.
//! Migrations use the same tiny embedded runner as the PostgreSQL adapter (see its crate docs).

mod deadlines;
mod error;
mod files;
mod migrate;
mod read_models;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use roster_domain::actor::{Actor, Role};
use roster_domain::store::{
    AppendOutcome, AuditEntry, Checkpoint, CommandRecord, Commit, EventMetadata, EventStore,
    StoreError, StoredEvent, StreamAppend, TokenRecord, TokenStore,
};
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::{from_join, from_sqlite};

/// How long a write waits for another process holding the file's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The event store, command-id register, audit log and token table in one SQLite database.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path).map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot open the SQLite database {}: {e}",
                path.display()
            ))
        })?;
        SqliteStore::prepare(conn)
    }

    /// A private in-memory database, gone when the store is dropped: for tests and demos.
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let conn = Connection::open_in_memory().map_err(from_sqlite)?;
        SqliteStore::prepare(conn)
    }

    fn prepare(mut conn: Connection) -> Result<SqliteStore, StoreError> {
        // WAL lets readers (a report, a second process) proceed while the server writes.
        // In-memory databases answer "memory"; that is fine.
        let _mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(from_sqlite)?;
        // An acknowledged command must survive a power cut: keep a full fsync per commit.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(from_sqlite)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(from_sqlite)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(from_sqlite)?;
        migrate::run(&mut conn)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic mid-call dropped its rusqlite Transaction, which rolled back: the
            // connection is consistent, so a poisoned lock is safe to take over.
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn)
        })
        .await
        .map_err(from_join)?
    }
}

/// Timestamps are stored with PostgreSQL's precision (microseconds) so both stores hand back
/// the same values; fixed-width UTC text also sorts chronologically.
fn time_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn date_text(d: &NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn to_i64(v: u64) -> i64 {
    // Versions, limits and positions come from our own counters; past i64::MAX is a bug
    // upstream, and saturating keeps the SQL well-formed while the version check refuses it.
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn conversion<E>(idx: usize, e: E) -> rusqlite::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e))
}

fn uuid_at(row: &Row, idx: usize) -> rusqlite::Result<Uuid> {
    let s: String = row.get(idx)?;
    Uuid::parse_str(&s).map_err(|e| conversion(idx, e))
}

fn opt_uuid_at(row: &Row, idx: usize) -> rusqlite::Result<Option<Uuid>> {
    let s: Option<String> = row.get(idx)?;
    s.map(|s| Uuid::parse_str(&s).map_err(|e| conversion(idx, e)))
        .transpose()
}

fn time_at(row: &Row, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    let s: String = row.get(idx)?;
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| conversion(idx, e))
}

fn opt_time_at(row: &Row, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let s: Option<String> = row.get(idx)?;
    s.map(|s| {
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| conversion(idx, e))
    })
    .transpose()
}

fn json_at<T: DeserializeOwned>(row: &Row, idx: usize) -> rusqlite::Result<T> {
    let s: String = row.get(idx)?;
    serde_json::from_str(&s).map_err(|e| conversion(idx, e))
}

const EVENT_COLUMNS: &str = "global_position, transaction_id, stream_id, version, event_id, \
     event_type, schema_version, payload, metadata";

fn event_from_row(row: &Row) -> rusqlite::Result<StoredEvent> {
    let transaction_id: i64 = row.get(1)?;
    let version: i64 = row.get(3)?;
    let schema_version: i64 = row.get(6)?;
    Ok(StoredEvent {
        global_position: row.get(0)?,
        transaction_id: transaction_id as u64,
        stream_id: row.get(2)?,
        version: version as u64,
        event_id: uuid_at(row, 4)?,
        event_type: row.get(5)?,
        schema_version: schema_version as u32,
        payload: json_at(row, 7)?,
        metadata: json_at::<EventMetadata>(row, 8)?,
    })
}

fn command_from_row(command_id: Uuid, row: &Row) -> rusqlite::Result<CommandRecord> {
    Ok(CommandRecord {
        command_id,
        fingerprint: row.get(0)?,
        result: json_at(row, 1)?,
        recorded_at: time_at(row, 2)?,
    })
}

fn audit_from_row(row: &Row) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        recorded_at: time_at(row, 0)?,
        actor: json_at::<Actor>(row, 1)?,
        command_id: opt_uuid_at(row, 2)?,
        command_type: row.get(3)?,
        target: row.get(4)?,
        outcome: row.get(5)?,
        error_code: row.get(6)?,
        detail: row.get(7)?,
    })
}

#[derive(Debug)]
struct UnknownRole(String);

impl std::fmt::Display for UnknownRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown role {:?}", self.0)
    }
}

impl std::error::Error for UnknownRole {}

fn token_from_row(row: &Row) -> rusqlite::Result<TokenRecord> {
    let role: String = row.get(2)?;
    Ok(TokenRecord {
        token_hash: row.get(0)?,
        actor_id: row.get(1)?,
        role: Role::parse(&role).ok_or_else(|| conversion(2, UnknownRole(role.clone())))?,
        jurisdiction: row.get(3)?,
        label: row.get(4)?,
        created_at: time_at(row, 5)?,
        revoked_at: opt_time_at(row, 6)?,
    })
}

const SELECT_COMMAND: &str =
    "SELECT fingerprint, result, recorded_at FROM commands WHERE command_id = ?1";

fn insert_audit(conn: &Connection, entry: &AuditEntry) -> Result<(), StoreError> {
    let actor = serde_json::to_string(&entry.actor)
        .map_err(|e| StoreError::Other(format!("cannot encode the audit actor: {e}")))?;
    conn.prepare_cached(
        "INSERT INTO audit_log (recorded_at, actor, command_id, command_type, target, outcome,
                                error_code, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            time_text(&entry.recorded_at),
            actor,
            entry.command_id.map(|id| id.to_string()),
            entry.command_type,
            entry.target,
            entry.outcome,
            entry.error_code,
            entry.detail,
        ])
    })
    .map_err(from_sqlite)?;
    Ok(())
}

/// One event to insert: (index in `Commit::streams`, index in its events, version).
type Slot = (usize, usize, u64);

/// Checks every expectation and lays out the versions to write, exactly as the PostgreSQL
/// adapter does. Streams named twice in one commit are taken in order.
fn plan(conn: &Connection, streams: &[StreamAppend]) -> Result<(Vec<u64>, Vec<Slot>), StoreError> {
    let mut current: HashMap<&str, u64> = HashMap::new();
    let mut versions = Vec::with_capacity(streams.len());
    let mut rows = Vec::new();
    let mut max_version = conn
        .prepare_cached("SELECT coalesce(max(version), 0) FROM events WHERE stream_id = ?1")
        .map_err(from_sqlite)?;
    for (i, append) in streams.iter().enumerate() {
        let actual = match current.get(append.stream_id.as_str()) {
            Some(v) => *v,
            None => {
                let v: i64 = max_version
                    .query_row([&append.stream_id], |r| r.get(0))
                    .map_err(from_sqlite)?;
                v as u64
            }
        };
        let expected = append.expected_version.as_u64();
        if actual != expected {
            return Err(StoreError::VersionConflict {
                stream_id: append.stream_id.clone(),
                expected,
                actual,
            });
        }
        for k in 0..append.events.len() {
            rows.push((i, k, actual + 1 + k as u64));
        }
        let new_version = actual + append.events.len() as u64;
        current.insert(&append.stream_id, new_version);
        versions.push(new_version);
    }
    Ok((versions, rows))
}

fn append_blocking(conn: &mut Connection, commit: &Commit) -> Result<AppendOutcome, StoreError> {
    // IMMEDIATE takes the write lock now: the version check and the insert cannot be split by
    // another writer, in this process or another one.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(from_sqlite)?;
    let command = &commit.command;
    let command_id = command.command_id.to_string();
    let result = serde_json::to_string(&command.result)
        .map_err(|e| StoreError::Other(format!("cannot encode the command result: {e}")))?;
    let claimed = tx
        .prepare_cached(
            "INSERT INTO commands (command_id, fingerprint, result, recorded_at)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (command_id) DO NOTHING",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                command_id,
                command.fingerprint,
                result,
                time_text(&command.recorded_at)
            ])
        })
        .map_err(from_sqlite)?;
    if claimed == 0 {
        let first = tx
            .query_row(SELECT_COMMAND, [&command_id], |r| {
                command_from_row(command.command_id, r)
            })
            .map_err(from_sqlite)?;
        tx.rollback().map_err(from_sqlite)?;
        return if first.fingerprint == command.fingerprint {
            Ok(AppendOutcome::Duplicate(first))
        } else {
            Err(StoreError::CommandIdReused(command.command_id))
        };
    }

    // On a conflict the transaction is dropped, which rolls back the command claim.
    let (versions, rows) = plan(&tx, &commit.streams)?;

    let mut last_position = 0;
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO events (stream_id, version, event_id, event_type, schema_version,
                                     payload, metadata, recorded_at, business_date)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .map_err(from_sqlite)?;
        // Same order as the PostgreSQL adapter, so positions mean the same on both stores.
        let mut ordered: Vec<_> = rows
            .iter()
            .map(|&(i, k, version)| {
                let append = &commit.streams[i];
                (append.stream_id.as_str(), version, &append.events[k])
            })
            .collect();
        ordered.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (stream_id, version, event) in ordered {
            let metadata = serde_json::to_string(&event.metadata)
                .map_err(|e| StoreError::Other(format!("cannot encode event metadata: {e}")))?;
            let payload = serde_json::to_string(&event.payload)
                .map_err(|e| StoreError::Other(format!("cannot encode an event payload: {e}")))?;
            insert
                .execute(params![
                    stream_id,
                    to_i64(version),
                    event.event_id.to_string(),
                    event.event_type,
                    event.schema_version,
                    payload,
                    metadata,
                    time_text(&event.metadata.recorded_at),
                    date_text(&event.metadata.business_date),
                ])
                .map_err(from_sqlite)?;
            last_position = last_position.max(tx.last_insert_rowid());
        }
    }

    insert_audit(&tx, &commit.audit)?;
    tx.commit().map_err(from_sqlite)?;
    Ok(AppendOutcome::Appended {
        versions,
        last_position,
    })
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn append(&self, commit: Commit) -> Result<AppendOutcome, StoreError> {
        self.run(move |conn| append_blocking(conn, &commit)).await
    }

    async fn find_command(&self, command_id: Uuid) -> Result<Option<CommandRecord>, StoreError> {
        self.run(move |conn| {
            conn.prepare_cached(SELECT_COMMAND)
                .and_then(|mut stmt| {
                    stmt.query_row([command_id.to_string()], |r| {
                        command_from_row(command_id, r)
                    })
                    .optional()
                })
                .map_err(from_sqlite)
        })
        .await
    }

    async fn load_stream(
        &self,
        stream_id: &str,
        after_version: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let stream_id = stream_id.to_owned();
        self.run(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {EVENT_COLUMNS} FROM events
                     WHERE stream_id = ?1 AND version > ?2 ORDER BY version"
                ))
                .map_err(from_sqlite)?;
            let rows = stmt
                .query_map(params![stream_id, to_i64(after_version)], event_from_row)
                .map_err(from_sqlite)?;
            rows.collect::<Result<_, _>>().map_err(from_sqlite)
        })
        .await
    }

    async fn read_all_after(
        &self,
        after: Checkpoint,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.run(move |conn| {
            // The same keyset as PostgreSQL; with one writer no transaction is ever in flight
            // behind a committed one, so no snapshot filter is needed.
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {EVENT_COLUMNS} FROM events
                     WHERE (transaction_id, global_position) > (?1, ?2)
                     ORDER BY transaction_id, global_position
                     LIMIT ?3"
                ))
                .map_err(from_sqlite)?;
            let rows = stmt
                .query_map(
                    params![
                        to_i64(after.transaction_id),
                        after.global_position,
                        to_i64(limit as u64)
                    ],
                    event_from_row,
                )
                .map_err(from_sqlite)?;
            rows.collect::<Result<_, _>>().map_err(from_sqlite)
        })
        .await
    }

    async fn count_after(&self, after: Checkpoint) -> Result<u64, StoreError> {
        self.run(move |conn| {
            let n: i64 = conn
                .prepare_cached("SELECT count(*) FROM events WHERE (transaction_id, global_position) > (?1, ?2)")
                .map_err(from_sqlite)?
                .query_row(params![to_i64(after.transaction_id), after.global_position], |r| r.get(0))
                .map_err(from_sqlite)?;
            Ok(n.max(0) as u64)
        })
        .await
    }

    async fn stream_ids(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let prefix = prefix.to_owned();
        self.run(move |conn| {
            // Not LIKE: SQLite's LIKE ignores ASCII case and treats % and _ as wildcards.
            let mut stmt = conn
                .prepare_cached(
                    "SELECT DISTINCT stream_id FROM events
                     WHERE substr(stream_id, 1, length(?1)) = ?1 ORDER BY stream_id",
                )
                .map_err(from_sqlite)?;
            let rows = stmt
                .query_map([prefix], |r| r.get(0))
                .map_err(from_sqlite)?;
            rows.collect::<Result<_, _>>().map_err(from_sqlite)
        })
        .await
    }

    async fn record_refusal(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.run(move |conn| insert_audit(conn, &entry)).await
    }

    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.run(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT recorded_at, actor, command_id, command_type, target, outcome,
                            error_code, detail
                     FROM audit_log ORDER BY id DESC LIMIT ?1",
                )
                .map_err(from_sqlite)?;
            let rows = stmt
                .query_map([to_i64(limit as u64)], audit_from_row)
                .map_err(from_sqlite)?;
            rows.collect::<Result<_, _>>().map_err(from_sqlite)
        })
        .await
    }
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn insert_token(&self, token: TokenRecord) -> Result<(), StoreError> {
        self.run(move |conn| {
            let inserted = conn
                .execute(
                    "INSERT INTO tokens (token_hash, actor_id, role, jurisdiction, label,
                                         created_at, revoked_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (token_hash) DO NOTHING",
                    params![
                        token.token_hash,
                        token.actor_id,
                        token.role.as_str(),
                        token.jurisdiction,
                        token.label,
                        time_text(&token.created_at),
                        token.revoked_at.as_ref().map(time_text),
                    ],
                )
                .map_err(from_sqlite)?;
            if inserted == 0 {
                return Err(StoreError::Other(
                    "a token with the same secret already exists; issue a new one".to_string(),
                ));
            }
            Ok(())
        })
        .await
    }

    async fn find_token(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let token_hash = token_hash.to_owned();
        self.run(move |conn| {
            conn.prepare_cached(
                "SELECT token_hash, actor_id, role, jurisdiction, label, created_at, revoked_at
                 FROM tokens WHERE token_hash = ?1",
            )
            .and_then(|mut stmt| stmt.query_row([token_hash], token_from_row).optional())
            .map_err(from_sqlite)
        })
        .await
    }

    async fn revoke_token(&self, token_hash: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let token_hash = token_hash.to_owned();
        self.run(move |conn| {
            // A second revocation keeps the first date: that is when the token stopped working.
            let updated = conn
                .execute(
                    "UPDATE tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE token_hash = ?1",
                    params![token_hash, time_text(&at)],
                )
                .map_err(from_sqlite)?;
            Ok(updated > 0)
        })
        .await
    }
}
