-- Deadlines (D-1, D-2): written by the policy consumer, fired by the scheduler.
CREATE TABLE deadlines (
    deadline_id   TEXT PRIMARY KEY,
    platform_id   TEXT NOT NULL,
    kind          TEXT NOT NULL,
    listed_on     TEXT NOT NULL,
    due_on        TEXT NOT NULL,
    fire_on       TEXT NOT NULL,
    scheduled_by  TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'fired', 'refused', 'cancelled')),
    scheduled_at  TEXT NOT NULL,
    settled_at    TEXT,
    command_id    TEXT,
    note          TEXT
);
CREATE INDEX deadlines_pending ON deadlines (fire_on) WHERE state = 'pending';
CREATE INDEX deadlines_platform ON deadlines (platform_id, listed_on);
