//! The embedded migration runner: numbered SQL files compiled into the binary, applied in one
//! transaction under an advisory lock so that concurrent starts (two servers, a server and
//! `roster migrate`) neither race nor half-apply.

use deadpool_postgres::Object;
use roster_domain::store::StoreError;

use crate::error::from_pg;

struct Migration {
    version: i32,
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
        name: "append_function",
        sql: include_str!("../migrations/0003_append_function.sql"),
    },
    Migration {
        version: 4,
        name: "deadlines",
        sql: include_str!("../migrations/0004_deadlines.sql"),
    },
    Migration {
        version: 5,
        name: "read_model_layout",
        sql: include_str!("../migrations/0005_read_model_layout.sql"),
    },
    Migration {
        version: 6,
        name: "drafts_and_attachments",
        sql: include_str!("../migrations/0006_drafts_and_attachments.sql"),
    },
    Migration {
        version: 7,
        name: "timeline_in_chinese",
        sql: include_str!("../migrations/0007_timeline_in_chinese.sql"),
    },
];

/// Arbitrary, fixed key for `pg_advisory_xact_lock`; only needs to differ from the other
/// advisory locks of the system (the relay's leader lock).
const MIGRATION_LOCK: i64 = 0x726f_7374_6572_6d67; // "rostermg"

pub(crate) async fn run(client: &mut Object) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(from_pg)?;
    // Taken before anything is read: the second process waits here, then finds nothing to do.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(from_pg)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    int PRIMARY KEY,
             name       text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(from_pg)?;
    let applied: Vec<i32> = tx
        .query("SELECT version FROM schema_migrations", &[])
        .await
        .map_err(from_pg)?
        .iter()
        .map(|r| r.get(0))
        .collect();

    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if let Some(newer) = applied.iter().copied().filter(|v| *v > known).max() {
        return Err(StoreError::Other(format!(
            "the database schema is at version {newer}, newer than this build knows ({known}); \
             run a newer roster against it"
        )));
    }

    for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        tx.batch_execute(m.sql).await.map_err(|e| {
            StoreError::Other(format!(
                "migration {} ({}) failed: {}",
                m.version,
                m.name,
                from_pg(e)
            ))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[&m.version, &m.name],
        )
        .await
        .map_err(from_pg)?;
    }
    tx.commit().await.map_err(from_pg)
}
