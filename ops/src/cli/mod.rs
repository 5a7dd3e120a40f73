//! The `roster` command line, one module per subcommand: its arguments and what it does.

#[cfg(feature = "bench")]
pub(crate) mod bench;
pub(crate) mod dlq;
pub(crate) mod import;
pub(crate) mod report;
pub(crate) mod serve;
pub(crate) mod status;
pub(crate) mod targets;
pub(crate) mod token;
