-- Same shape as the PostgreSQL schema. SQLite has one writer at a time, so transactions commit in
-- position order and transaction_id stays 0: the cursor is the position.
-- Timestamps are RFC 3339 text in UTC with microseconds (PostgreSQL's precision), uuids are
-- hyphenated text, JSON is text.
CREATE TABLE events (
    -- AUTOINCREMENT so that a position is never handed out twice, even after a rollback of the
    -- newest rows.
    global_position INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id  INTEGER NOT NULL DEFAULT 0,
    stream_id       TEXT NOT NULL,
    version         INTEGER NOT NULL CHECK (version > 0),
    event_id        TEXT NOT NULL UNIQUE,
    event_type      TEXT NOT NULL,
    schema_version  INTEGER NOT NULL,
    payload         TEXT NOT NULL,
    metadata        TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    business_date   TEXT NOT NULL,
    UNIQUE (stream_id, version)
);

CREATE INDEX events_transaction_position_idx ON events (transaction_id, global_position);

CREATE TABLE commands (
    command_id  TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    result      TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);

CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at  TEXT NOT NULL,
    actor        TEXT NOT NULL,
    command_id   TEXT NULL,
    command_type TEXT NOT NULL,
    target       TEXT NULL,
    outcome      TEXT NOT NULL,
    error_code   TEXT NULL,
    detail       TEXT NULL
);

CREATE TABLE tokens (
    token_hash   TEXT PRIMARY KEY,
    actor_id     TEXT NOT NULL,
    role         TEXT NOT NULL,
    jurisdiction TEXT NULL,
    label        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT NULL
);
