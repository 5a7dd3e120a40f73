//! HTTP API (axum): commands, queries, auth, OpenAPI.
