-- Deadlines (D-1, D-2): written by the policy consumer, fired by the scheduler.
CREATE TABLE deadlines (
    deadline_id   TEXT PRIMARY KEY,
    platform_id   TEXT NOT NULL,
    kind          TEXT NOT NULL,
    listed_on     DATE NOT NULL,
    due_on        DATE NOT NULL,
    fire_on       DATE NOT NULL,
    scheduled_by  UUID NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'fired', 'refused', 'cancelled')),
    scheduled_at  TIMESTAMPTZ NOT NULL,
    settled_at    TIMESTAMPTZ,
    command_id    UUID,
    note          TEXT
);
CREATE INDEX deadlines_pending ON deadlines (fire_on) WHERE state = 'pending';
CREATE INDEX deadlines_platform ON deadlines (platform_id, listed_on);
