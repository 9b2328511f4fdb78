-- Statements are separated by "-- statement-break" lines (trigger bodies
-- hold semicolons).
-- usage_rows is what `mandate audit usage` aggregates, written beside each
-- session_start, statement and command event in the same transaction: one
-- row per distinct (class, table) access of an allowed statement (part 1),
-- per allowed command (part 2), per allowed statement without accesses
-- (part 0), and one row (allowed 0) for any other such event, which counts
-- only towards its agent's sessions. n numbers the rows of one event.
-- The primary key orders rows as usage groups them, by time within a
-- group, so aggregation and sample sessions read it in order, and new rows
-- go at the end of their group. Prune deletes the rows of pruned events.
CREATE TABLE usage_rows (
	agent      TEXT    NOT NULL,
	allowed    INTEGER NOT NULL,
	role       TEXT    NOT NULL,
	grant_conn TEXT    NOT NULL,
	proto      TEXT    NOT NULL,
	part       INTEGER NOT NULL,
	class      TEXT    NOT NULL,
	tbl        TEXT    NOT NULL,
	command    TEXT    NOT NULL,
	time_ns    INTEGER NOT NULL,
	session_id TEXT    NOT NULL,
	gateway    TEXT    NOT NULL,
	seq        INTEGER NOT NULL,
	n          INTEGER NOT NULL,
	columns    TEXT    NOT NULL,
	approvals  TEXT    NOT NULL,
	PRIMARY KEY (agent, allowed, role, grant_conn, proto, part, class, tbl, command, time_ns, session_id, gateway, seq, n)
) WITHOUT ROWID;
-- statement-break
CREATE INDEX usage_rows_approvals ON usage_rows (time_ns) WHERE approvals <> '';
