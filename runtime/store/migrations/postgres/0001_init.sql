CREATE TABLE events (
	id         BIGSERIAL PRIMARY KEY,
	gateway    TEXT    NOT NULL,
	seq        BIGINT NOT NULL,
	session_id TEXT    NOT NULL,
	time_ns    BIGINT NOT NULL,
	kind       TEXT    NOT NULL,
	payload    BYTEA    NOT NULL,
	prev_hash  BYTEA    NOT NULL,
	hash       BYTEA    NOT NULL,
	UNIQUE (gateway, seq)
);
CREATE INDEX events_session ON events (session_id);
CREATE INDEX events_time ON events (time_ns);

CREATE TABLE checkpoints (
	gateway   TEXT    NOT NULL,
	seq       BIGINT NOT NULL,
	hash      BYTEA    NOT NULL,
	time_ns   BIGINT NOT NULL,
	key_id    TEXT    NOT NULL,
	reason    TEXT    NOT NULL,
	signature BYTEA    NOT NULL,
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
	start_ns        BIGINT NOT NULL,
	end_ns          BIGINT NOT NULL,
	end_reason      TEXT    NOT NULL
);
CREATE INDEX sessions_start ON sessions (start_ns);

CREATE TABLE record_keys (
	key_id     TEXT PRIMARY KEY,
	gateway    TEXT NOT NULL,
	public_key BYTEA NOT NULL
);
