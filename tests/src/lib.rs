//! End-to-end and contract tests against real stores.
