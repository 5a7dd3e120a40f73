//! The read-model store contract on every adapter (PostgreSQL, SQLite, in memory), and the
//! projection runner over each real event store.

use roster_projections::memory::MemoryReadModels;
use roster_sqlite::SqliteStore;

/// Instantiates each store case as its own test on a fresh store from `$open`, an async
/// expression yielding `(store, guard)`; the guard cleans up on drop.
macro_rules! read_model_cases {
    ($open:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                // The guard drops last, after the store has let go of its connections.
                let (store, _guard) = $open.await;
                roster_tests::read_models::$case(&store).await;
                drop(store);
            }
        )*
    };
}

/// The same for the runner cases: `$open` yields `(events, models, guard)`.
macro_rules! runner_cases {
    ($open:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (events, models, _guard) = $open.await;
                roster_tests::read_models::$case(&events, &models).await;
                drop((events, models));
            }
        )*
    };
}

/// Every case the three stores share.
macro_rules! shared_cases {
    ($open:expr) => {
        read_model_cases!($open;
            commit_then_load_and_scan,
            scan_prefix_is_literal_and_bytewise,
            scan_each_streams_what_scan_returns,
            stale_from_is_moved_and_writes_nothing,
            racing_committers_exactly_one_wins,
            none_deletes_a_document,
            later_change_to_a_key_wins,
            large_commit_round_trips,
            dead_letters_are_kept_and_marked_replayed,
            reset_forgets_everything,
            swap_replaces_the_target_and_readers_never_see_a_mix,
            states_lists_every_projection_with_a_checkpoint,
        );
    };
}

/// The guard of a store that needs no cleanup.
pub(crate) struct NoCleanup;

async fn memory() -> (MemoryReadModels, NoCleanup) {
    (MemoryReadModels::default(), NoCleanup)
}

mod postgres {
    use crate::support::fresh_pg;

    shared_cases!(fresh_pg());
    read_model_cases!(fresh_pg(); duplicate_dead_letters_are_ignored);
    runner_cases!(
        async {
            let (store, db) = fresh_pg().await;
            (store.clone(), store, db)
        };
        catch_up_applies_every_event_exactly_once,
        failing_event_is_dead_lettered_and_later_events_apply,
    );
}

mod sqlite {
    use crate::support::fresh_sqlite;

    shared_cases!(fresh_sqlite());
    read_model_cases!(fresh_sqlite(); duplicate_dead_letters_are_ignored);
    runner_cases!(
        async {
            let (store, file) = fresh_sqlite().await;
            (store.clone(), store, file)
        };
        catch_up_applies_every_event_exactly_once,
        failing_event_is_dead_lettered_and_later_events_apply,
    );
}

mod memory {
    use super::{memory, MemoryReadModels, NoCleanup, SqliteStore};

    shared_cases!(memory());
    read_model_cases!(memory(); duplicate_dead_letters_are_ignored);
    // The event store is SQLite in memory: the runner needs a real log to read.
    runner_cases!(
        async {
            let events = SqliteStore::open_in_memory().expect("in-memory SQLite");
            (events, MemoryReadModels::default(), NoCleanup)
        };
        catch_up_applies_every_event_exactly_once,
        failing_event_is_dead_lettered_and_later_events_apply,
    );
}
