-- Statements are separated by "-- statement-break" lines (trigger bodies
-- hold semicolons).
-- usage_rows is what `mandate audit usage` aggregates (see the SQLite
-- migration of the same number for the meaning of the rows).
CREATE TABLE usage_rows (
	agent      TEXT     NOT NULL,
	allowed    SMALLINT NOT NULL,
	role       TEXT     NOT NULL,
	grant_conn TEXT     NOT NULL,
	proto      TEXT     NOT NULL,
	part       SMALLINT NOT NULL,
	class      TEXT     NOT NULL,
	tbl        TEXT     NOT NULL,
	command    TEXT     NOT NULL,
	time_ns    BIGINT   NOT NULL,
	session_id TEXT     NOT NULL,
	gateway    TEXT     NOT NULL,
	seq        BIGINT   NOT NULL,
	n          INTEGER  NOT NULL,
	columns    TEXT     NOT NULL,
	approvals  TEXT     NOT NULL,
	PRIMARY KEY (gateway, seq, n)
);
-- statement-break
CREATE INDEX usage_rows_group ON usage_rows (agent, allowed, role, grant_conn, proto, part, class, tbl, command, time_ns, session_id);
-- statement-break
CREATE INDEX usage_rows_approvals ON usage_rows (time_ns) WHERE approvals <> '';
-- statement-break
-- Deleting events (retention, or by hand) deletes their usage rows.
CREATE FUNCTION events_usage_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM usage_rows u USING old_events o WHERE u.gateway = o.gateway AND u.seq = o.seq;
	RETURN NULL;
END
$$;
-- statement-break
CREATE TRIGGER events_usage_delete AFTER DELETE ON events REFERENCING OLD TABLE AS old_events
	FOR EACH STATEMENT EXECUTE FUNCTION events_usage_delete();
-- statement-break
CREATE INDEX usage_rows_opaque ON usage_rows (time_ns) WHERE part < 0;
