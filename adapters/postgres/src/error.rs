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
        let what = format!("{} (SQLSTATE {})", db.message(), code.code());
        return match unavailable_reason(code) {
            Some(reason) => StoreError::Unavailable(format!("{reason}: {what}")),
            None => StoreError::Other(format!("PostgreSQL refused the operation: {what}")),
        };
    }
    // tokio-postgres does not expose its error kind; failures to connect (refused, DNS, TLS,
    // handshake timeout) are only recognisable by their text.
    let text = err.to_string();
    if text.starts_with("error connecting to server")
        || text.starts_with("timeout waiting for server")
        || text.starts_with("error performing TLS handshake")
        || text.starts_with("authentication error")
    {
        return StoreError::Unavailable(format!(
            "cannot reach PostgreSQL ({text}); check that it runs and that the database URL \
             points at it"
        ));
    }
    if err.is_closed() || has_io_source(&err) {
        // Whether an in-flight commit went through is unknown; the command id makes a retry safe.
        return StoreError::Unavailable(format!(
            "lost the connection to PostgreSQL ({text}); retry with the same command id"
        ));
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
/// "this statement is wrong", with what an operator should read first.
fn unavailable_reason(code: &SqlState) -> Option<&'static str> {
    let c = code.code();
    Some(if c.starts_with("08") {
        "lost the connection to PostgreSQL; retry with the same command id"
    } else if c.starts_with("28") {
        "PostgreSQL refused the login; check the user and password in the database URL"
    } else if *code == SqlState::ADMIN_SHUTDOWN || *code == SqlState::CRASH_SHUTDOWN {
        "PostgreSQL ended the connection (restart or shutdown); retry with the same command id"
    } else if *code == SqlState::CANNOT_CONNECT_NOW {
        "PostgreSQL is starting up or recovering; try again shortly"
    } else if *code == SqlState::TOO_MANY_CONNECTIONS {
        "PostgreSQL has no connection slots left; try again shortly"
    } else if *code == SqlState::INVALID_CATALOG_NAME {
        "the database named in the database URL does not exist; create it, then migrate"
    } else if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
        "PostgreSQL is read-only (a standby after failover?); point the URL at the primary"
    } else {
        return None;
    })
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
