-- runs is how many runs of its statement a usage row counts (see the
-- SQLite migration of the same number).
ALTER TABLE usage_rows ADD COLUMN runs INTEGER NOT NULL DEFAULT 1;
