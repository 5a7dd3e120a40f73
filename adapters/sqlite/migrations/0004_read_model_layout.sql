-- The timeline now keeps one row per event and the KPI model its service records in chunks of
-- stream versions, so that applying an event costs the same whatever the history before it.
-- Documents of the earlier layout (one growing document per platform) are dropped with their
-- checkpoints: both read models rebuild from the event log when the system next starts.
DELETE FROM read_model_docs
 WHERE projection IN ('timeline', 'kpi', 'timeline__rebuild', 'kpi__rebuild');
DELETE FROM projection_dead_letters
 WHERE projection IN ('timeline', 'kpi', 'timeline__rebuild', 'kpi__rebuild');
DELETE FROM projection_checkpoints
 WHERE projection IN ('timeline', 'kpi', 'timeline__rebuild', 'kpi__rebuild');
