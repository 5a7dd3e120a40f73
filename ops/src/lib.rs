//! The operations side of the roster: opening the configured store, the CLI commands (import,
//! demo, tokens) as library functions so tests can drive them, and the thin `roster` binary.

// The binary's output code: what the `roster` commands print is their product.
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod admin;
pub mod bench;
pub mod bench_history;
pub mod bench_kpi;
pub mod bench_memory;
pub mod bench_pipeline;
pub mod bench_soak;
pub mod broker;
pub mod demo;
pub mod import;
pub mod kpi;
pub mod stores;
