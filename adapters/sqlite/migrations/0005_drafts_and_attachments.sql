-- Applicants' drafts (their private working copies, not events) and content-addressed
-- attachments (佐证材料), kept in the same database file as the log they are referenced from.
CREATE TABLE drafts (
    owner      TEXT NOT NULL,
    draft_id   TEXT NOT NULL,
    fields     TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (owner, draft_id)
);

CREATE TABLE attachments (
    sha256     TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    media_type TEXT NOT NULL,
    size       INTEGER NOT NULL,
    bytes      BLOB NOT NULL,
    stored_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Up to when each user has read their notifications (a user's state, not an event).
CREATE TABLE read_marks (
    owner     TEXT PRIMARY KEY,
    read_upto TEXT NOT NULL
);
