//! The operations side of the roster: opening the configured store, the CLI commands (import,
//! demo, tokens) as library functions so tests can drive them, and the thin `roster` binary.

// The binary's output code: what the `roster` commands print is their product.
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod admin;
/// `roster bench`: built with the `bench` feature only, so production builds do not carry it.
#[cfg(feature = "bench")]
pub mod bench;
pub mod broker;
pub mod demo;
pub mod import;
pub mod kpi;
pub mod stores;
