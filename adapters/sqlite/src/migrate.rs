//! The embedded migration runner, twin of the PostgreSQL one: numbered SQL files compiled into
//! the binary, applied in one write transaction (`BEGIN IMMEDIATE` plays the advisory lock's
//! part) so two processes opening the same file neither race nor half-apply.

use roster_domain::store::StoreError;
use rusqlite::{Connection, TransactionBehavior};

use crate::error::from_sqlite;

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "event_store",
        sql: include_str!("../migrations/0001_event_store.sql"),
    },
    Migration {
        version: 2,
        name: "read_models",
        sql: include_str!("../migrations/0002_read_models.sql"),
    },
    Migration {
        version: 3,
        name: "deadlines",
        sql: include_str!("../migrations/0003_deadlines.sql"),
    },
    Migration {
        version: 4,
        name: "read_model_layout",
        sql: include_str!("../migrations/0004_read_model_layout.sql"),
    },
    Migration {
        version: 5,
        name: "drafts_and_attachments",
        sql: include_str!("../migrations/0005_drafts_and_attachments.sql"),
    },
    Migration {
        version: 6,
        name: "timeline_in_chinese",
        sql: include_str!("../migrations/0006_timeline_in_chinese.sql"),
    },
];

pub(crate) fn run(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(from_sqlite)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             name       TEXT NOT NULL,
             applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
         )",
    )
    .map_err(from_sqlite)?;
    let applied: Vec<i64> = {
        let mut stmt = tx
            .prepare("SELECT version FROM schema_migrations")
            .map_err(from_sqlite)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(from_sqlite)?;
        rows.collect::<Result<_, _>>().map_err(from_sqlite)?
    };

    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if let Some(newer) = applied.iter().copied().filter(|v| *v > known).max() {
        return Err(StoreError::Other(format!(
            "the database schema is at version {newer}, newer than this build knows ({known}); \
             run a newer roster against it"
        )));
    }

    for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        tx.execute_batch(m.sql).map_err(|e| {
            StoreError::Other(format!(
                "migration {} ({}) failed: {}",
                m.version,
                m.name,
                from_sqlite(e)
            ))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)",
            rusqlite::params![m.version, m.name],
        )
        .map_err(from_sqlite)?;
    }
    tx.commit().map_err(from_sqlite)
}
