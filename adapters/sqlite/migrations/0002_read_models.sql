-- Read models, same shape as the PostgreSQL schema: JSON documents per projection, the checkpoint
-- they stand at, and the events a projection could not apply. Text keys compare bytewise
-- (BINARY collation), as in Rust and in PostgreSQL's COLLATE "C".
CREATE TABLE read_model_docs (
    projection TEXT NOT NULL,
    key        TEXT NOT NULL,
    doc        TEXT NOT NULL,
    PRIMARY KEY (projection, key)
) WITHOUT ROWID;

CREATE TABLE projection_checkpoints (
    projection      TEXT PRIMARY KEY,
    transaction_id  INTEGER NOT NULL DEFAULT 0,
    global_position INTEGER NOT NULL DEFAULT 0,
    applied         INTEGER NOT NULL DEFAULT 0,
    updated_at      TEXT NULL
);

CREATE TABLE projection_dead_letters (
    projection      TEXT NOT NULL,
    global_position INTEGER NOT NULL,
    transaction_id  INTEGER NOT NULL,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    reason          TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    replayed_at     TEXT NULL,
    -- An event redelivered after a fault fails the same way; keep its first record only.
    PRIMARY KEY (projection, event_id)
);
