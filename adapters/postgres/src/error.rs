//! Sorts driver and pool errors into the port's failure kinds.
//!
//! Callers only need to know whether to retry later (`Unavailable`: the server or the network is
//! the problem) or to stop and look (`Other`: a bug, a broken invariant, bad data). Optimistic
//! concurrency losses are not sorted here: `append` knows the stream and turns them into
//! `VersionConflict` itself, using [`is_version_race`].

use deadpool_postgres::{PoolError, TimeoutType};
use roster_domain::store::StoreError;
use tokio_postgres::error::SqlState;

/// Name of the `UNIQUE (stream_id, version)` constraint in `migrations/0001_event_store.sql`.
pub(crate) const STREAM_VERSION_CONSTRAINT: &str = "events_stream_version_key";

/// A second writer inserted the same (stream, version) first: the loser of an optimistic race.
pub(crate) fn is_version_race(err: &tokio_postgres::Error) -> bool {
    err.as_db_error().is_some_and(|db| {
        *db.code() == SqlState::UNIQUE_VIOLATION
            && db.constraint() == Some(STREAM_VERSION_CONSTRAINT)
    })
}

pub(crate) fn from_pg(err: tokio_postgres::Error) -> StoreError {
    if let Some(db) = err.as_db_error() {
        let code = db.code();
        if unavailable_state(code) {
            return StoreError::Unavailable(format!(
                "PostgreSQL refused the connection: {} (SQLSTATE {})",
                db.message(),
                code.code()
            ));
        }
        return StoreError::Other(format!(
            "PostgreSQL refused the operation: {} (SQLSTATE {})",
            db.message(),
            code.code()
        ));
    }
    if err.is_closed() || has_io_source(&err) {
        // Whether an in-flight commit went through is unknown; the command id makes a retry safe.
        return StoreError::Unavailable(format!(
            "lost the connection to PostgreSQL ({err}); retry with the same command id"
        ));
    }
    // tokio-postgres does not expose its error kind; connect failures and timeouts without an
    // io::Error underneath (DNS, TLS, auth handshake) are only recognisable by their text.
    let text = err.to_string();
    if text.starts_with("error connecting to server")
        || text.starts_with("timeout waiting for server")
        || text.starts_with("error performing TLS handshake")
        || text.starts_with("authentication error")
    {
        return StoreError::Unavailable(format!("cannot reach PostgreSQL: {text}"));
    }
    StoreError::Other(format!("PostgreSQL driver error: {text}"))
}

pub(crate) fn from_pool(err: PoolError) -> StoreError {
    match err {
        PoolError::Backend(e) => from_pg(e),
        PoolError::Timeout(TimeoutType::Wait) => StoreError::Unavailable(
            "all PostgreSQL connections stayed busy; try again shortly".to_string(),
        ),
        PoolError::Timeout(_) => StoreError::Unavailable(
            "PostgreSQL did not answer in time while opening a connection".to_string(),
        ),
        PoolError::Closed => {
            StoreError::Unavailable("the PostgreSQL connection pool has been shut down".to_string())
        }
        PoolError::NoRuntimeSpecified => {
            StoreError::Other("PostgreSQL pool built without an async runtime".to_string())
        }
        PoolError::PostCreateHook(e) => {
            StoreError::Other(format!("PostgreSQL connection setup failed: {e}"))
        }
    }
}

pub(crate) fn from_json(what: &str, err: serde_json::Error) -> StoreError {
    StoreError::Other(format!(
        "stored {what} is not valid JSON for this version: {err}"
    ))
}

/// Server-side states that mean "the server is not there for us right now" rather than
/// "this statement is wrong".
fn unavailable_state(code: &SqlState) -> bool {
    let c = code.code();
    c.starts_with("08") // connection exception
        || c.starts_with("28") // invalid authorization (wrong user/password in DATABASE_URL)
        || c == SqlState::ADMIN_SHUTDOWN.code() // terminated by an administrator or a restart
        || c == SqlState::CRASH_SHUTDOWN.code()
        || c == SqlState::CANNOT_CONNECT_NOW.code() // starting up or in recovery
        || c == SqlState::TOO_MANY_CONNECTIONS.code()
        || c == SqlState::INVALID_CATALOG_NAME.code() // the database does not exist (yet)
        || c == SqlState::READ_ONLY_SQL_TRANSACTION.code() // a standby after failover
}

fn has_io_source(err: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}
