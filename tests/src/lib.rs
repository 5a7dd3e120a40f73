//! End-to-end and contract tests against real stores.
//!
//! `contract` holds the store contract as plain async functions over the ports, so every adapter
//! (SQLite, PostgreSQL, and any later one) runs the very same assertions; the test binary in
//! `tests/suite` instantiates them once per store. `read_models` does the same for the read-model
//! store port (PostgreSQL, SQLite, in memory) and the projection runner over a real event store.

// Tests report what they measured.
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod contract;
pub mod read_models;
