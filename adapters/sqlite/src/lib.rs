//! SQLite adapter (embedded default): the same contracts as PostgreSQL.
