-- Applicants' drafts (their private working copies, not events) and content-addressed
-- attachments (佐证材料), referenced from the events by their SHA-256.
CREATE TABLE drafts (
    owner      TEXT NOT NULL,
    draft_id   TEXT NOT NULL,
    fields     JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (owner, draft_id)
);

CREATE TABLE attachments (
    sha256     TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    media_type TEXT NOT NULL,
    size       BIGINT NOT NULL,
    bytes      BYTEA NOT NULL,
    stored_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Up to when each user has read their notifications (a user's state, not an event).
CREATE TABLE read_marks (
    owner     TEXT PRIMARY KEY,
    read_upto TIMESTAMPTZ NOT NULL
);
