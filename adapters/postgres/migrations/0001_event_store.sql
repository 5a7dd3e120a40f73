-- The events table is also the outbox: readers tail it with the (transaction_id, global_position)
-- keyset, which is why every row remembers the transaction that wrote it.
CREATE TABLE events (
    global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
    stream_id       text NOT NULL,
    version         bigint NOT NULL CHECK (version > 0),
    event_id        uuid NOT NULL,
    event_type      text NOT NULL,
    schema_version  int NOT NULL,
    payload         jsonb NOT NULL,
    metadata        jsonb NOT NULL,
    -- Copied out of metadata so that "as known at" / "as of" queries can use plain columns.
    recorded_at     timestamptz NOT NULL,
    business_date   date NOT NULL,
    -- Named so that the adapter can tell an optimistic-concurrency loss (two writers racing for
    -- the same version) from any other unique violation.
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, version),
    CONSTRAINT events_event_id_key UNIQUE (event_id)
);

CREATE INDEX events_transaction_position_idx ON events (transaction_id, global_position);

CREATE TABLE commands (
    command_id  uuid PRIMARY KEY,
    fingerprint text NOT NULL,
    result      jsonb NOT NULL,
    recorded_at timestamptz NOT NULL
);

CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recorded_at  timestamptz NOT NULL,
    actor        jsonb NOT NULL,
    command_id   uuid NULL,
    command_type text NOT NULL,
    target       text NULL,
    outcome      text NOT NULL,
    error_code   text NULL,
    detail       text NULL
);

CREATE TABLE tokens (
    token_hash   text PRIMARY KEY,
    actor_id     text NOT NULL,
    role         text NOT NULL,
    jurisdiction text NULL,
    label        text NOT NULL,
    created_at   timestamptz NOT NULL,
    revoked_at   timestamptz NULL
);
