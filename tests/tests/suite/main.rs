//! The one integration-test binary: the store contract run on every adapter, plus tests that
//! only make sense for one of them (late commits in PostgreSQL, reopening a SQLite file), the
//! read-model contract, and the RabbitMQ transport against the real broker (`broker`).

// Tests report what they measured.
#![allow(clippy::print_stdout, clippy::print_stderr)]

/// Instantiates every contract case as its own `#[tokio::test]`, each on a fresh store from
/// `$open`: an async expression yielding `(store, guard)`, the guard cleaning up on drop.
/// Listing the cases once here keeps the stores from drifting apart.
macro_rules! contract_cases {
    (@each $open:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, guard) = $open.await;
                roster_tests::contract::$case(&store).await;
                // The store first: its connections should be gone before the guard cleans up.
                drop(store);
                drop(guard);
            }
        )*
    };
    ($open:expr) => {
        contract_cases!(@each $open;
            append_then_load_stream,
            stale_expected_version_conflicts,
            expected_version_ahead_conflicts,
            multi_stream_commit_is_atomic,
            repeated_command_id_is_idempotent,
            read_all_pages_every_event_once_in_order,
            stream_ids_by_prefix,
            refusals_and_audit_log_newest_first,
            old_schema_version_reads_back_untouched,
            old_schema_version_is_upcast_on_load,
            large_payload_round_trips,
            racing_appenders_never_gap,
            tokens_insert_find_revoke,
            deadlines_schedule_fire_and_cancel,
            racing_settlements_settle_once,
            drafts_save_list_delete,
            attachments_are_stored_once_by_hash,
            read_marks_only_move_forward,
        );
    };
}

#[macro_use]
mod api;
mod app;
mod applying;
mod broker;
mod browser;
mod challenge;
mod cli;
mod contention;
mod contract_postgres;
mod contract_sqlite;
mod dashboard;
mod dynamic;
mod hardening;
mod kpi;
mod public;
mod read_models;
mod reports;
mod support;
mod webhooks;
