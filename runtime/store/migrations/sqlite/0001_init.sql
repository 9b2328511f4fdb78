CREATE TABLE events (
	gateway    TEXT    NOT NULL,
	seq        INTEGER NOT NULL,
	session_id TEXT    NOT NULL,
	time_ns    INTEGER NOT NULL,
	kind       TEXT    NOT NULL,
	payload    BLOB    NOT NULL,
	prev_hash  BLOB    NOT NULL,
	hash       BLOB    NOT NULL,
	PRIMARY KEY (gateway, seq)
) WITHOUT ROWID;
CREATE INDEX events_session ON events (session_id);
CREATE INDEX events_time ON events (time_ns);

CREATE TABLE checkpoints (
	gateway   TEXT    NOT NULL,
	seq       INTEGER NOT NULL,
	hash      BLOB    NOT NULL,
	time_ns   INTEGER NOT NULL,
	key_id    TEXT    NOT NULL,
	reason    TEXT    NOT NULL,
	signature BLOB    NOT NULL,
	PRIMARY KEY (gateway, seq)
);

CREATE TABLE sessions (
	id              TEXT PRIMARY KEY,
	gateway         TEXT    NOT NULL,
	agent           TEXT    NOT NULL,
	subject         TEXT    NOT NULL,
	issuer          TEXT    NOT NULL,
	role            TEXT    NOT NULL,
	grant_conn      TEXT    NOT NULL,
	connection      TEXT    NOT NULL,
	client_addr     TEXT    NOT NULL,
	bundle_revision TEXT    NOT NULL,
	start_ns        INTEGER NOT NULL,
	end_ns          INTEGER NOT NULL,
	end_reason      TEXT    NOT NULL
);
CREATE INDEX sessions_start ON sessions (start_ns);

CREATE TABLE record_keys (
	key_id     TEXT PRIMARY KEY,
	gateway    TEXT NOT NULL,
	public_key BLOB NOT NULL
);
