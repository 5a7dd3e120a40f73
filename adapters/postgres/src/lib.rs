//! PostgreSQL adapter: event store, command ids, tokens, audit.
