//! PostgreSQL adapter: event store, command ids, tokens, audit.
//!
//! `PgStore` implements the domain's `EventStore` and `TokenStore` ports over a deadpool pool of
//! tokio-postgres connections. The events table doubles as the outbox: readers tail it with the
//! `(transaction_id, global_position)` keyset so that a transaction committing late is never
//! skipped (ARCHITECTURE.md, "Storage"). It also implements the projections'
//! `ReadModelStore` (`read_models.rs`), so read models live next to the events they fold.
//!
//! Migrations use a small embedded runner (`migrate.rs`, SQL files in `migrations/`), not
//! refinery. refinery 0.10 accepts our tokio-postgres 0.7 and rusqlite 0.32, but it needs Rust
//! 1.92 (the workspace promises 1.85) and applies each migration in its own transaction on a bare
//! `Client`, so it cannot run under the one `pg_advisory_xact_lock` that lets two processes
//! migrate at once.

mod deadlines;
mod error;
mod files;
mod migrate;
mod read_models;

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use roster_domain::actor::{Actor, Role};
use roster_domain::store::{
    AppendOutcome, AuditEntry, Checkpoint, CommandRecord, Commit, EventMetadata, EventStore,
    NewEvent, StoreError, StoredEvent, StreamAppend, TokenRecord, TokenStore,
};
use serde_json::Value;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::{GenericClient, NoTls, Row, ToStatement};
use uuid::Uuid;

use crate::error::{from_json, from_pg, from_pool, is_version_race};

/// Enough for a request burst on a small server; PostgreSQL's default limit is 100 connections.
const POOL_SIZE: usize = 16;

/// The event store, command-id register, audit log and token table in one PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The pool's config holds the password; show only its occupancy.
        f.debug_struct("PgStore")
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl PgStore {
    /// Opens a pool on `database_url` (`postgres://user@host:port/db` or `key=value` form) and
    /// checks that one connection can be made, so that a wrong URL fails at start-up rather than
    /// on the first command. Does not migrate.
    pub async fn connect(database_url: &str) -> Result<PgStore, StoreError> {
        let config = tokio_postgres::Config::from_str(database_url).map_err(|e| {
            StoreError::Other(format!(
                "the database URL is not a valid PostgreSQL connection string: {e}"
            ))
        })?;
        PgStore::with_config(config).await
    }

    /// Like [`PgStore::connect`], for callers that assemble the configuration themselves.
    pub async fn with_config(config: tokio_postgres::Config) -> Result<PgStore, StoreError> {
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(10)))
            .wait_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|e| StoreError::Other(format!("cannot build the PostgreSQL pool: {e}")))?;
        let store = PgStore { pool };
        drop(store.client().await?);
        Ok(store)
    }

    /// Brings the schema up to date. Safe to call from several processes at once and on every
    /// start: applied migrations are skipped.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        migrate::run(&mut client).await
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(from_pool)
    }
}

/// Hands a connection back to the pool, unless it failed as `Unavailable`: such a connection
/// is dead or dying, and the pool's cheap health check might not notice before handing it out
/// once more, failing a second command for nothing.
fn release<T>(client: Object, result: Result<T, StoreError>) -> Result<T, StoreError> {
    if matches!(result, Err(StoreError::Unavailable(_))) {
        drop(Object::take(client));
    }
    result
}

/// One row of the multi-row event insert.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct EventRow<'a> {
    pub stream_id: &'a str,
    pub version: u64,
    pub event: &'a NewEvent,
}

const INSERT_EVENTS: &str = "
    INSERT INTO events (stream_id, version, event_id, event_type, schema_version, payload,
                        metadata, recorded_at, business_date)
    SELECT stream_id, version, event_id, event_type, schema_version, payload,
           metadata, recorded_at, business_date
    FROM UNNEST($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::int[], $6::jsonb[],
                $7::jsonb[], $8::timestamptz[], $9::date[])
         WITH ORDINALITY AS r(stream_id, version, event_id, event_type, schema_version, payload,
                              metadata, recorded_at, business_date, ord)
    -- Positions are handed out in the order rows reach the insert: keep the caller's order.
    ORDER BY ord
    RETURNING global_position";

/// The store's own event insert, for tests that must interleave raw transactions (the
/// late-commit test). Runs on whatever client or open transaction it is given; the transaction
/// id column takes its default, `pg_current_xact_id()`. Returns the global positions.
#[doc(hidden)]
pub async fn insert_events<C: GenericClient + Sync>(
    client: &C,
    rows: &[EventRow<'_>],
) -> Result<Vec<i64>, tokio_postgres::Error> {
    insert_events_with(client, INSERT_EVENTS, rows).await
}

async fn insert_events_with<C, S>(
    client: &C,
    statement: &S,
    rows: &[EventRow<'_>],
) -> Result<Vec<i64>, tokio_postgres::Error>
where
    C: GenericClient + Sync,
    S: ToStatement + ?Sized + Sync + Send,
{
    let c = EventColumns::of(rows);
    let params: [&(dyn ToSql + Sync); 9] = [
        &c.stream_ids,
        &c.versions,
        &c.event_ids,
        &c.event_types,
        &c.schema_versions,
        &c.payloads,
        &c.metadata,
        &c.recorded_at,
        &c.business_dates,
    ];
    let positions = client.query(statement, &params).await?;
    positions.iter().map(|r| r.try_get(0)).collect()
}

/// Rows of events as one array per column, the shape `UNNEST` (and `roster_append`) takes.
struct EventColumns<'a> {
    stream_ids: Vec<&'a str>,
    versions: Vec<i64>,
    event_ids: Vec<Uuid>,
    event_types: Vec<&'a str>,
    schema_versions: Vec<i32>,
    payloads: Vec<&'a Value>,
    metadata: Vec<Json<&'a EventMetadata>>,
    recorded_at: Vec<chrono::DateTime<chrono::Utc>>,
    business_dates: Vec<chrono::NaiveDate>,
}

impl<'a> EventColumns<'a> {
    fn of(rows: &[EventRow<'a>]) -> Self {
        let n = rows.len();
        let mut c = EventColumns {
            stream_ids: Vec::with_capacity(n),
            versions: Vec::with_capacity(n),
            event_ids: Vec::with_capacity(n),
            event_types: Vec::with_capacity(n),
            schema_versions: Vec::with_capacity(n),
            payloads: Vec::with_capacity(n),
            metadata: Vec::with_capacity(n),
            recorded_at: Vec::with_capacity(n),
            business_dates: Vec::with_capacity(n),
        };
        for row in rows {
            let e = row.event;
            c.stream_ids.push(row.stream_id);
            c.versions.push(to_i64(row.version));
            c.event_ids.push(e.event_id);
            c.event_types.push(e.event_type.as_str());
            c.schema_versions.push(e.schema_version as i32);
            c.payloads.push(&e.payload);
            c.metadata.push(Json(&e.metadata));
            c.recorded_at.push(e.metadata.recorded_at);
            c.business_dates.push(e.metadata.business_date);
        }
        c
    }
}

fn to_i64(v: u64) -> i64 {
    // Versions and limits come from our own counters; anything past i64::MAX is a bug upstream,
    // and saturating keeps the SQL well-formed while the version check refuses it.
    i64::try_from(v).unwrap_or(i64::MAX)
}

// The text form of the xid gets its own name: left as `transaction_id`, an `ORDER BY
// transaction_id` would bind to it and sort transaction ids as text ("1000" < "999"), which
// makes keyset pages skip events and defeats the index.
const EVENT_COLUMNS: &str =
    "global_position, transaction_id::text AS transaction_id_text, stream_id, version, event_id, \
     event_type, schema_version, payload, metadata";

fn event_from_row(row: &Row) -> Result<StoredEvent, StoreError> {
    let transaction_id: String = row.try_get(1).map_err(from_pg)?;
    let version: i64 = row.try_get(3).map_err(from_pg)?;
    let schema_version: i32 = row.try_get(6).map_err(from_pg)?;
    let metadata: Value = row.try_get(8).map_err(from_pg)?;
    Ok(StoredEvent {
        global_position: row.try_get(0).map_err(from_pg)?,
        transaction_id: transaction_id.parse().map_err(|_| {
            StoreError::Other(format!("unreadable transaction id {transaction_id:?}"))
        })?,
        stream_id: row.try_get(2).map_err(from_pg)?,
        version: version as u64,
        event_id: row.try_get(4).map_err(from_pg)?,
        event_type: row.try_get(5).map_err(from_pg)?,
        schema_version: schema_version as u32,
        payload: row.try_get(7).map_err(from_pg)?,
        metadata: serde_json::from_value::<EventMetadata>(metadata)
            .map_err(|e| from_json("event metadata", e))?,
    })
}

fn command_from_row(command_id: Uuid, row: &Row) -> Result<CommandRecord, StoreError> {
    Ok(CommandRecord {
        command_id,
        fingerprint: row.try_get("fingerprint").map_err(from_pg)?,
        result: row.try_get("result").map_err(from_pg)?,
        recorded_at: row.try_get("recorded_at").map_err(from_pg)?,
    })
}

fn audit_from_row(row: &Row) -> Result<AuditEntry, StoreError> {
    let actor: Value = row.try_get("actor").map_err(from_pg)?;
    Ok(AuditEntry {
        recorded_at: row.try_get("recorded_at").map_err(from_pg)?,
        actor: serde_json::from_value::<Actor>(actor).map_err(|e| from_json("audit actor", e))?,
        command_id: row.try_get("command_id").map_err(from_pg)?,
        command_type: row.try_get("command_type").map_err(from_pg)?,
        target: row.try_get("target").map_err(from_pg)?,
        outcome: row.try_get("outcome").map_err(from_pg)?,
        error_code: row.try_get("error_code").map_err(from_pg)?,
        detail: row.try_get("detail").map_err(from_pg)?,
    })
}

fn token_from_row(row: &Row) -> Result<TokenRecord, StoreError> {
    let role: String = row.try_get("role").map_err(from_pg)?;
    Ok(TokenRecord {
        token_hash: row.try_get("token_hash").map_err(from_pg)?,
        actor_id: row.try_get("actor_id").map_err(from_pg)?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Other(format!("stored token has unknown role {role:?}")))?,
        jurisdiction: row.try_get("jurisdiction").map_err(from_pg)?,
        label: row.try_get("label").map_err(from_pg)?,
        created_at: row.try_get("created_at").map_err(from_pg)?,
        revoked_at: row.try_get("revoked_at").map_err(from_pg)?,
    })
}

const INSERT_AUDIT: &str = "
    INSERT INTO audit_log (recorded_at, actor, command_id, command_type, target, outcome,
                           error_code, detail)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

async fn insert_audit<C: GenericClient + Sync>(
    client: &C,
    entry: &AuditEntry,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            INSERT_AUDIT,
            &[
                &entry.recorded_at,
                &Json(&entry.actor),
                &entry.command_id,
                &entry.command_type,
                &entry.target,
                &entry.outcome,
                &entry.error_code,
                &entry.detail,
            ],
        )
        .await?;
    Ok(())
}

const CURRENT_VERSIONS: &str = "
    SELECT stream_id, max(version) FROM events WHERE stream_id = ANY($1) GROUP BY stream_id";

async fn current_versions<C: GenericClient + Sync>(
    client: &C,
    streams: &[StreamAppend],
) -> Result<HashMap<String, u64>, StoreError> {
    let ids: Vec<&str> = streams.iter().map(|s| s.stream_id.as_str()).collect();
    let rows = client
        .query(CURRENT_VERSIONS, &[&ids])
        .await
        .map_err(from_pg)?;
    rows.iter()
        .map(|r| {
            let version: i64 = r.try_get(1).map_err(from_pg)?;
            Ok((r.try_get(0).map_err(from_pg)?, version as u64))
        })
        .collect()
}

/// Checks every expectation against `current` and lays out the versions to write. Streams named
/// twice in one commit are taken in order, the second expecting what the first leaves.
fn plan<'a>(
    streams: &'a [StreamAppend],
    mut current: HashMap<String, u64>,
) -> Result<(Vec<u64>, Vec<EventRow<'a>>), StoreError> {
    let mut versions = Vec::with_capacity(streams.len());
    let mut rows = Vec::new();
    for append in streams {
        let actual = current.get(&append.stream_id).copied().unwrap_or(0);
        let expected = append.expected_version.as_u64();
        if actual != expected {
            return Err(StoreError::VersionConflict {
                stream_id: append.stream_id.clone(),
                expected,
                actual,
            });
        }
        for (i, event) in append.events.iter().enumerate() {
            rows.push(EventRow {
                stream_id: &append.stream_id,
                version: actual + 1 + i as u64,
                event,
            });
        }
        let new_version = actual + append.events.len() as u64;
        current.insert(append.stream_id.clone(), new_version);
        versions.push(new_version);
    }
    Ok((versions, rows))
}

/// The version conflict `roster_append` raised (SQLSTATE RS409, detail `expected|actual|stream`).
fn raised_conflict(err: &tokio_postgres::Error) -> Option<StoreError> {
    let db = err.as_db_error()?;
    if db.code().code() != "RS409" {
        return None;
    }
    let mut parts = db.detail()?.splitn(3, '|');
    let expected = parts.next()?.parse().ok()?;
    let actual = parts.next()?.parse().ok()?;
    let stream_id = parts.next()?.to_string();
    Some(StoreError::VersionConflict {
        stream_id,
        expected,
        actual,
    })
}

/// One round trip: `roster_append` (migration 0003) claims the command id, checks every stream's
/// version, inserts the events and the audit line, all in the one statement's transaction.
async fn append_on(client: &mut Object, commit: &Commit) -> Result<AppendOutcome, StoreError> {
    let command = &commit.command;
    // Expectations per distinct stream (a stream named twice continues from the first).
    let mut first_expected: HashMap<String, u64> = HashMap::new();
    let mut streams = Vec::new();
    let mut expected = Vec::new();
    for s in &commit.streams {
        if !first_expected.contains_key(&s.stream_id) {
            first_expected.insert(s.stream_id.clone(), s.expected_version.as_u64());
            streams.push(s.stream_id.as_str());
            expected.push(to_i64(s.expected_version.as_u64()));
        }
    }
    let (versions, mut rows) = plan(&commit.streams, first_expected)?;
    // Two commits touching the same streams insert their keys in the same order, so a race
    // between them ends in a unique violation for one of them, never in a deadlock.
    rows.sort_by(|a, b| (a.stream_id, a.version).cmp(&(b.stream_id, b.version)));
    let c = EventColumns::of(&rows);
    let stmt = client
        .prepare_cached(
            "SELECT outcome, first_fingerprint, first_result, first_recorded_at, last_position
             FROM roster_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                                $16, $17, $18, $19, $20, $21, $22)",
        )
        .await
        .map_err(from_pg)?;
    let audit = &commit.audit;
    let result = client
        .query_one(
            &stmt,
            &[
                &command.command_id,
                &command.fingerprint,
                &command.result,
                &command.recorded_at,
                &streams,
                &expected,
                &c.stream_ids,
                &c.versions,
                &c.event_ids,
                &c.event_types,
                &c.schema_versions,
                &c.payloads,
                &c.metadata,
                &c.recorded_at,
                &c.business_dates,
                &audit.recorded_at,
                &Json(&audit.actor),
                &audit.command_type,
                &audit.target,
                &audit.outcome,
                &audit.error_code,
                &audit.detail,
            ],
        )
        .await;
    let row = match result {
        Ok(row) => row,
        Err(e) => {
            if let Some(conflict) = raised_conflict(&e) {
                return Err(conflict);
            }
            if is_version_race(&e) {
                // Another writer committed the same versions after our check: report what it
                // left (the statement, and so its transaction, is already rolled back).
                let current = current_versions(&***client, &commit.streams).await?;
                return Err(match plan(&commit.streams, current) {
                    Err(conflict) => conflict,
                    Ok(_) => {
                        let first = &commit.streams[0];
                        StoreError::VersionConflict {
                            stream_id: first.stream_id.clone(),
                            expected: first.expected_version.as_u64(),
                            actual: first.expected_version.as_u64() + 1,
                        }
                    }
                });
            }
            return Err(from_pg(e));
        }
    };
    let outcome: String = row.try_get(0).map_err(from_pg)?;
    if outcome == "duplicate" {
        let first = CommandRecord {
            command_id: command.command_id,
            fingerprint: row.try_get(1).map_err(from_pg)?,
            result: row.try_get(2).map_err(from_pg)?,
            recorded_at: row.try_get(3).map_err(from_pg)?,
        };
        return if first.fingerprint == command.fingerprint {
            Ok(AppendOutcome::Duplicate(first))
        } else {
            Err(StoreError::CommandIdReused(command.command_id))
        };
    }
    Ok(AppendOutcome::Appended {
        versions,
        last_position: row.try_get(4).map_err(from_pg)?,
    })
}

#[async_trait]
impl EventStore for PgStore {
    async fn append(&self, commit: Commit) -> Result<AppendOutcome, StoreError> {
        let mut client = self.client().await?;
        let result = append_on(&mut client, &commit).await;
        release(client, result)
    }

    async fn find_command(&self, command_id: Uuid) -> Result<Option<CommandRecord>, StoreError> {
        let client = self.client().await?;
        let result: Result<_, StoreError> = async {
            let stmt = client
                .prepare_cached(
                    "SELECT fingerprint, result, recorded_at FROM commands WHERE command_id = $1",
                )
                .await
                .map_err(from_pg)?;
            let row = client
                .query_opt(&stmt, &[&command_id])
                .await
                .map_err(from_pg)?;
            row.map(|r| command_from_row(command_id, &r)).transpose()
        }
        .await;
        release(client, result)
    }

    async fn load_stream(
        &self,
        stream_id: &str,
        after_version: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let client = self.client().await?;
        let result: Result<_, StoreError> = async {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {EVENT_COLUMNS} FROM events
                     WHERE stream_id = $1 AND version > $2 ORDER BY version"
                ))
                .await
                .map_err(from_pg)?;
            let rows = client
                .query(&stmt, &[&stream_id, &to_i64(after_version)])
                .await
                .map_err(from_pg)?;
            rows.iter().map(event_from_row).collect()
        }
        .await;
        release(client, result)
    }

    async fn read_all_after(
        &self,
        after: Checkpoint,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let client = self.client().await?;
        let result: Result<_, StoreError> = async {
            // Rows of transactions at or above the snapshot's xmin may still be joined by rows of an
            // older, uncommitted transaction that will sort before them: hold them back until every
            // transaction below them has finished. xid8 has no Rust type; it travels as text.
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {EVENT_COLUMNS} FROM events
                     WHERE (transaction_id, global_position) > ($1::text::xid8, $2)
                       AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
                     ORDER BY events.transaction_id, events.global_position
                     LIMIT $3"
                ))
                .await
                .map_err(from_pg)?;
            let rows = client
                .query(
                    &stmt,
                    &[
                        &after.transaction_id.to_string(),
                        &after.global_position,
                        &to_i64(limit as u64),
                    ],
                )
                .await
                .map_err(from_pg)?;
            rows.iter().map(event_from_row).collect()
        }
        .await;
        release(client, result)
    }

    async fn count_after(&self, after: Checkpoint) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let result: Result<_, StoreError> = async {
            // The same visibility as read_all_after: what a reader at `after` has yet to read.
            let stmt = client
                .prepare_cached(
                    "SELECT count(*) FROM events
                     WHERE (transaction_id, global_position) > ($1::text::xid8, $2)
                       AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())",
                )
                .await
                .map_err(from_pg)?;
            let row = client
                .query_one(
                    &stmt,
                    &[&after.transaction_id.to_string(), &after.global_position],
                )
                .await
                .map_err(from_pg)?;
            Ok(row.get::<_, i64>(0).max(0) as u64)
        }
        .await;
        release(client, result)
    }

    async fn stream_ids(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let result: Result<_, StoreError> = async {
            // Byte order (COLLATE "C"), as in SQLite and Rust, whatever the database's locale.
            let stmt = client
                .prepare_cached(
                    "SELECT DISTINCT stream_id COLLATE \"C\" AS stream_id FROM events
                     WHERE starts_with(stream_id, $1) ORDER BY 1",
                )
                .await
                .map_err(from_pg)?;
            let rows = client.query(&stmt, &[&prefix]).await.map_err(from_pg)?;
            rows.iter().map(|r| r.try_get(0).map_err(from_pg)).collect()
        }
        .await;
        release(client, result)
    }

    async fn record_refusal(&self, entry: AuditEntry) -> Result<(), StoreError> {
        let client = self.client().await?;
        let result: Result<_, StoreError> =
            async { insert_audit(&**client, &entry).await.map_err(from_pg) }.await;
        release(client, result)
    }

    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let client = self.client().await?;
        let result: Result<_, StoreError> = async {
            let stmt = client
                .prepare_cached(
                    "SELECT recorded_at, actor, command_id, command_type, target, outcome,
                            error_code, detail
                     FROM audit_log ORDER BY id DESC LIMIT $1",
                )
                .await
                .map_err(from_pg)?;
            let rows = client
                .query(&stmt, &[&to_i64(limit as u64)])
                .await
                .map_err(from_pg)?;
            rows.iter().map(audit_from_row).collect()
        }
        .await;
        release(client, result)
    }
}

#[async_trait]
impl TokenStore for PgStore {
    async fn insert_token(&self, token: TokenRecord) -> Result<(), StoreError> {
        let client = self.client().await?;
        let result: Result<_, StoreError> = async {
            let inserted = client
                .execute(
                    "INSERT INTO tokens (token_hash, actor_id, role, jurisdiction, label, created_at,
                                         revoked_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (token_hash) DO NOTHING",
                    &[
                        &token.token_hash,
                        &token.actor_id,
                        &token.role.as_str(),
                        &token.jurisdiction,
                        &token.label,
                        &token.created_at,
                        &token.revoked_at,
                    ],
                )
                .await
                .map_err(from_pg)?;
            if inserted == 0 {
                return Err(StoreError::Other(
                    "a token with the same secret already exists; issue a new one".to_string(),
                ));
            }
            Ok(())
        }
        .await;
        release(client, result)
    }

    async fn find_token(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let client = self.client().await?;
        let result: Result<_, StoreError> = async {
            let stmt = client
                .prepare_cached(
                    "SELECT token_hash, actor_id, role, jurisdiction, label, created_at, revoked_at
                     FROM tokens WHERE token_hash = $1",
                )
                .await
                .map_err(from_pg)?;
            let row = client
                .query_opt(&stmt, &[&token_hash])
                .await
                .map_err(from_pg)?;
            row.as_ref().map(token_from_row).transpose()
        }
        .await;
        release(client, result)
    }

    async fn revoke_token(&self, token_hash: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let result: Result<_, StoreError> = async {
            // A second revocation keeps the first date: that is when the token stopped working.
            let updated = client
                .execute(
                    "UPDATE tokens SET revoked_at = coalesce(revoked_at, $2) WHERE token_hash = $1",
                    &[&token_hash, &at],
                )
                .await
                .map_err(from_pg)?;
            Ok(updated > 0)
        }
        .await;
        release(client, result)
    }
}
