-- Read models: JSON documents per projection, the checkpoint they stand at, and the events a
-- projection could not apply. Documents and checkpoint move together in one transaction.

-- Keys compare bytewise (COLLATE "C") so that prefix scans come back in the order Rust, SQLite
-- and the in-memory store use, whatever the database's locale.
CREATE TABLE read_model_docs (
    projection text NOT NULL,
    key        text COLLATE "C" NOT NULL,
    doc        jsonb NOT NULL,
    PRIMARY KEY (projection, key)
);

-- The transaction id is the events table's xid8, kept as bigint: xid8 values are an epoch and a
-- 32-bit xid, far below 2^63.
CREATE TABLE projection_checkpoints (
    projection      text PRIMARY KEY,
    transaction_id  bigint NOT NULL DEFAULT 0,
    global_position bigint NOT NULL DEFAULT 0,
    applied         bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NULL
);

CREATE TABLE projection_dead_letters (
    projection      text NOT NULL,
    global_position bigint NOT NULL,
    transaction_id  bigint NOT NULL,
    event_id        uuid NOT NULL,
    event_type      text NOT NULL,
    reason          text NOT NULL,
    recorded_at     timestamptz NOT NULL,
    replayed_at     timestamptz NULL,
    -- An event redelivered after a fault fails the same way; keep its first record only.
    PRIMARY KEY (projection, event_id)
);
