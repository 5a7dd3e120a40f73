//! Read models as pure folds over the stored event log. Each model applies `StoredEvent`s in
//! global order and remembers the checkpoint of the last one it applied, so an event delivered
//! twice (replay, redelivery, a catch-up racing another) is ignored: never applied twice.
//!
//! Storage and transport live in adapters; a model here is plain data, testable without I/O.

pub mod catalog;
pub mod export;
pub mod follower;
pub mod kpi;
#[cfg(test)]
mod kpi_props;
#[cfg(test)]
mod kpi_tests;
pub mod local;
pub mod memory;
#[cfg(test)]
mod model_tests;
pub mod models;
pub mod public;
pub mod queries;
pub mod runner;
pub mod shared_log;
pub mod store;
pub mod subscriptions;

pub use catalog::{Catalog, PlatformSummary, RoundSummary};
pub use follower::{Follower, ProjectionFollower, POLICIES};
pub use runner::{apply_batch, catch_up, Progress, Projection, RunError};
pub use shared_log::SharedLog;
pub use store::{CommitOutcome, DeadLetter, DocChange, ProjectionState, ReadModelStore};
pub use subscriptions::{Link, Subscription, SubscriptionState, Subscriptions};
