//! The pure domain of the national roster of biomanufacturing pilot-scale platforms.
//!
//! Value types, the `Platform` and `Round` aggregates (cqrs-es), commands and events, the
//! eligibility rules G-1..G-12, the recommendation rules R-1..R-5, and the ports through which
//! adapters store events. No I/O, no SQL, no runtime: time enters through commands.

#![warn(missing_docs)]

pub mod access;
pub mod actor;
pub mod challenge;
pub mod clock;
pub mod commands;
pub mod eligibility;
pub mod error;
pub mod events;
pub mod form;
pub mod incident;
pub mod input;
pub mod notify;
pub mod platform;
pub mod policies;
#[cfg(test)]
mod policy_tests;
pub mod registry;
pub mod request;
pub mod round;
#[cfg(test)]
mod rule_tests;
pub mod samples;
pub mod store;
pub mod targets;
#[cfg(test)]
mod test_support;
pub mod values;

pub use actor::{Actor, Role};
pub use error::Refusal;
