//! The contract on the SQLite adapter, plus what only a file can show.

use roster_domain::store::{EventStore, ExpectedVersion, StoreError};
use roster_sqlite::SqliteStore;
use roster_tests::contract::{self, single};

use crate::support::SqliteFile;

contract_cases!(crate::support::fresh_sqlite());

#[tokio::test]
async fn in_memory_store_keeps_the_contract() {
    contract::append_then_load_stream(&SqliteStore::open_in_memory().unwrap()).await;
    contract::racing_appenders_never_gap(&SqliteStore::open_in_memory().unwrap()).await;
}

#[tokio::test]
async fn reopening_a_file_keeps_its_events_and_skips_applied_migrations() {
    let file = SqliteFile::new();
    let c = single("platform-a", ExpectedVersion::NoStream, 2);
    {
        let store = file.open();
        store.append(c.clone()).await.unwrap();
    }
    let store = file.open();
    let loaded = store.load_stream("platform-a", 0).await.unwrap();
    assert_eq!(loaded.len(), 2);
    assert_eq!(
        store.find_command(c.command.command_id).await.unwrap(),
        Some(c.command)
    );
}

#[tokio::test]
async fn two_handles_on_one_file_still_conflict() {
    // Stands in for two processes sharing the file: each handle has its own connection.
    let file = SqliteFile::new();
    let (first, second) = (file.open(), file.open());
    first
        .append(single("platform-a", ExpectedVersion::NoStream, 1))
        .await
        .unwrap();
    assert_eq!(
        second
            .append(single("platform-a", ExpectedVersion::NoStream, 1))
            .await,
        Err(StoreError::VersionConflict {
            stream_id: "platform-a".to_string(),
            expected: 0,
            actual: 1,
        })
    );
    assert_eq!(second.load_stream("platform-a", 0).await.unwrap().len(), 1);
}
