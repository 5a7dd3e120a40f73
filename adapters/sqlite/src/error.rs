//! Sorts rusqlite errors into the port's failure kinds: `Unavailable` when the file cannot be
//! used right now (locked by another process, disk full, unreadable), `Other` for everything a
//! retry would not fix.

use roster_domain::store::StoreError;
use rusqlite::ErrorCode;

pub(crate) fn from_sqlite(err: rusqlite::Error) -> StoreError {
    let unavailable = match err.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
            return StoreError::Unavailable(format!(
                "the SQLite database is locked by another process and stayed locked: {err}"
            ));
        }
        Some(ErrorCode::CannotOpen)
        | Some(ErrorCode::PermissionDenied)
        | Some(ErrorCode::ReadOnly)
        | Some(ErrorCode::SystemIoFailure)
        | Some(ErrorCode::DiskFull)
        | Some(ErrorCode::FileLockingProtocolFailed) => true,
        _ => false,
    };
    if unavailable {
        StoreError::Unavailable(format!("the SQLite database file cannot be used: {err}"))
    } else {
        StoreError::Other(format!("SQLite error: {err}"))
    }
}

pub(crate) fn from_join(err: tokio::task::JoinError) -> StoreError {
    if err.is_cancelled() {
        StoreError::Unavailable("the store is shutting down".to_string())
    } else {
        StoreError::Other(format!("the SQLite worker panicked: {err}"))
    }
}
