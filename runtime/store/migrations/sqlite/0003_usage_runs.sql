-- runs is how many runs of its statement a usage row counts: a statement
-- event can carry repeats of the same statement (recorder.Event.Repeats),
-- and usage sums runs where it counted rows.
ALTER TABLE usage_rows ADD COLUMN runs INTEGER NOT NULL DEFAULT 1;
