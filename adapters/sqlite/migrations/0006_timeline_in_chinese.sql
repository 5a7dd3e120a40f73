-- Timeline lines gained their Chinese wording (`summary_zh`), and a refusal its Chinese
-- particulars. Lines written before carry no Chinese: the timeline's rows and checkpoint are
-- dropped so that it rebuilds from the event log when the system next starts, and every line
-- then reads in Chinese on the Chinese pages.
DELETE FROM read_model_docs
 WHERE projection IN ('timeline', 'timeline__rebuild');
DELETE FROM projection_dead_letters
 WHERE projection IN ('timeline', 'timeline__rebuild');
DELETE FROM projection_checkpoints
 WHERE projection IN ('timeline', 'timeline__rebuild');
