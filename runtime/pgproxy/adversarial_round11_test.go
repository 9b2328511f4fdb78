package pgproxy_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mandatehq/mandate/runtime/pgproxy"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/recorder/pgrecord"
	"github.com/mandatehq/mandate/runtime/store"
)

// Round 11 looks at what reaches the record and the log: statement
// literals, Bind parameters, COPY rows, passwords and masked values must
// not, whether they come back in the server's errors, in the reason of a
// denial or in the text of a statement.

const round11AdminDSN = "host=127.0.0.1 port=5432 user=postgres dbname=test sslmode=disable"

// captureRecorder hands everything to the real recorder and keeps what the
// proxy gave it: the redacted texts, decision reasons, recorded errors and
// end reasons, which any Recorder may store.
type captureRecorder struct {
	pgproxy.Recorder
	mu   sync.Mutex
	seen strings.Builder
}

func (c *captureRecorder) note(kind, s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(&c.seen, "%s: %s\n", kind, s)
}

func (c *captureRecorder) Decided(ctx context.Context, s *pgproxy.SessionRecord, st *pgproxy.StatementRecord) error {
	c.note("text", st.Redacted())
	c.note("reason", st.Decision.Reason)
	return c.Recorder.Decided(ctx, s, st)
}

func (c *captureRecorder) Completed(ctx context.Context, s *pgproxy.SessionRecord, st *pgproxy.StatementRecord) {
	c.note("error", st.RecordedError())
	c.Recorder.Completed(ctx, s, st)
}

func (c *captureRecorder) SessionEnd(ctx context.Context, s *pgproxy.SessionRecord, reason string) {
	c.note("end", reason)
	c.Recorder.SessionEnd(ctx, s, reason)
}

// round11 is a gateway recording to the real recorder (SQLite store, sync
// durability) with a debug log in a buffer.
type round11 struct {
	e     *pgproxy.TestEnv
	st    store.Store
	rec   *recorder.Recorder
	cap   *captureRecorder
	logs  *syncBuffer
	conns []*pgconn.PgConn
}

func newRound11(t *testing.T) *round11 {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "record.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rec, err := recorder.New(ctx, st, recorder.Config{Durability: recorder.Sync, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := &captureRecorder{Recorder: pgrecord.New(rec, func() string { return "rev-1" }, log)}
	e := pgproxy.NewTestEnvConfig(t, c, func(cfg *pgproxy.Config) { cfg.Logger = log })
	return &round11{e: e, st: st, rec: rec, cap: c, logs: logs}
}

func (r *round11) conn(t *testing.T) *pgconn.PgConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pgconn.Connect(ctx, r.e.DSN("agent1", "testdb", "tok-agent1"))
	if err != nil {
		t.Fatalf("connecting through the gateway: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	r.conns = append(r.conns, c)
	return c
}

// stored ends the sessions, closes the recorder and returns every event
// the store holds.
func (r *round11) stored(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	for _, c := range r.conns {
		c.Close(ctx)
	}
	pgproxy.WaitFor(t, "sessions to end", func() bool { return r.e.Server().Sessions() == 0 })
	r.e.Server().Close()
	if err := r.rec.Close(); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := r.st.Events(ctx, store.EventFilter{}, func(ev *store.Event) error {
		b.WriteString(ev.Kind + " ")
		b.Write(ev.Payload)
		b.WriteByte('\n')
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// leaks fails the test for each secret found in what was stored, what the
// proxy handed the recorder, or the log.
func (r *round11) leaks(t *testing.T, stored string, secrets ...string) {
	t.Helper()
	for where, text := range map[string]string{
		"the store": stored, "what the proxy handed the recorder": r.cap.seen.String(), "the log": r.logs.String(),
	} {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s holds %q:\n%s", where, s, text)
			}
		}
	}
}

func round11Admin(t *testing.T, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, round11AdminDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql); err != nil {
		t.Fatalf("admin %q: %v", sql, err)
	}
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return fmt.Sprintf("not a server error: %v", err)
}

// TestAdversarialRound11ServerErrors runs statements whose server error
// quotes a value the statement or its Bind parameters or COPY rows
// carried: `invalid input syntax for type integer: "..."`, a literal
// given to regclass, a SET value, a trigger validating a column that
// raises it under check_violation. The result's error was recorded as
// the client got it, so the literals the statement text had been
// redacted of reached the record anyway. The record now keeps the
// SQLSTATE of a server error, not its message.
func TestAdversarialRound11ServerErrors(t *testing.T) {
	r := newRound11(t)
	ctx := context.Background()
	tbl := r.e.Table(t, "r11e", "id int primary key, ssn text, n int check (n < 100)", "VALUES (1, 'x', 1)")
	trg := tbl + "_trg"
	round11Admin(t, "CREATE FUNCTION "+trg+"() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "+
		"IF NEW.ssn LIKE 'zq11%' THEN RAISE EXCEPTION 'invalid ssn %', NEW.ssn USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END$$")
	t.Cleanup(func() { round11Admin(t, "DROP FUNCTION IF EXISTS "+trg+"() CASCADE") })
	round11Admin(t, "CREATE TRIGGER r11 BEFORE INSERT ON "+tbl+" FOR EACH ROW EXECUTE FUNCTION "+trg+"()")
	c := r.conn(t)

	tests := []struct {
		name, sql, code, secret string
	}{
		{"integer cast", "SELECT 'zq11-cast'::int", "22P02", "zq11-cast"},
		{"date literal", "SELECT date 'zq11-date'", "22007", "zq11-date"},
		{"array literal", "SELECT '{1,zq11-array'::int[]", "22P02", "zq11-array"},
		{"regclass", "SELECT 'zq11-relation'::regclass", "42P01", "zq11-relation"},
		{"set value", "SET statement_timeout = 'zq11-timeout'", "22023", "zq11-timeout"},
		{"filter literal", "SELECT id FROM " + tbl + " WHERE id = 'zq11-filter'", "22P02", "zq11-filter"},
		{"chr number", "SELECT chr(1234567)", "54000", "1234567"},
		{"raise", "DO $$BEGIN RAISE EXCEPTION 'zq11-raise'; END$$", "P0001", "zq11-raise"},
		{"raise with a code", "DO $$BEGIN RAISE EXCEPTION USING ERRCODE = '42P01', MESSAGE = 'zq11-raise-code'; END$$", "42P01", "zq11-raise-code"},
		{"trigger", "INSERT INTO " + tbl + " (id, ssn) VALUES (2, 'zq11-trigger')", "23514", "zq11-trigger"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Exec(ctx, tc.sql).ReadAll()
			if got := sqlState(err); got != tc.code {
				t.Errorf("simple: SQLSTATE %s, want %s", got, tc.code)
			}
			err = c.ExecParams(ctx, tc.sql, nil, nil, nil, nil).Read().Err
			if got := sqlState(err); got != tc.code {
				t.Errorf("extended: SQLSTATE %s, want %s", got, tc.code)
			}
		})
	}
	// Bind parameters, text and binary (invalid UTF-8, which the server
	// prints as bytes), and a COPY row.
	err := c.ExecParams(ctx, "SELECT $1::int", [][]byte{[]byte("zq11-bind")}, nil, nil, nil).Read().Err
	if got := sqlState(err); got != "22P02" {
		t.Errorf("text Bind parameter: SQLSTATE %s, want 22P02", got)
	}
	err = c.ExecParams(ctx, "SELECT $1::text", [][]byte{[]byte("\xe9zq")}, []uint32{25}, []int16{1}, nil).Read().Err
	if got := sqlState(err); got != "22021" {
		t.Errorf("binary Bind parameter: SQLSTATE %s, want 22021", got)
	}
	_, err = c.CopyFrom(ctx, strings.NewReader("zq11-copy\n"), "COPY "+tbl+" (id) FROM STDIN")
	if got := sqlState(err); got != "22P02" {
		t.Errorf("COPY row: SQLSTATE %s, want 22P02", got)
	}
	stored := r.stored(t)
	secrets := []string{"1234567", "0xe9", "zq11-bind", "zq11-copy"}
	for _, tc := range tests {
		secrets = append(secrets, tc.secret)
	}
	r.leaks(t, stored, secrets...)
	for _, code := range []string{"22P02", "22007", "42P01", "22023", "54000", "P0001", "23514", "22021"} {
		if !strings.Contains(stored, `"sqlstate":"`+code+`"`) {
			t.Errorf("no result with SQLSTATE %s recorded:\n%s", code, stored)
		}
	}
}

// TestAdversarialRound11Unparsed sends statements that do not parse, with
// a secret where the parser stops. The denial's reason quoted the
// parser's message, `syntax error at or near "'...'"` or `unterminated
// quoted string at or near "'...`, the rest of the text: the reason is
// recorded. It keeps the wording and hides the values; the denial points
// at the character with its position field, as PostgreSQL's own does.
func TestAdversarialRound11Unparsed(t *testing.T) {
	r := newRound11(t)
	ctx := context.Background()
	c := r.conn(t)
	tests := []struct {
		name, sql, secret, wording string
	}{
		{"syntax error at a string", "SELECT 'a' 'zq11-syntax'", "zq11-syntax", "syntax error at or near"},
		{"unterminated string", "SELECT 1; SELECT 'zq11-unterminated password", "zq11-unterminated", "unterminated quoted string"},
		{"unterminated dollar quote", "SELECT $$zq11-dollar", "zq11-dollar", "unterminated dollar-quoted string"},
		{"junk after a number", "SELECT 1234567zq11", "1234567zq11", "trailing junk after numeric literal"},
		{"quote inside the token", "SELECT 'a\"b' 'zq11-\"inner\" secret'", "secret", "syntax error at or near"},
		{"escape string", "SELECT E'zq11-esc\\u00'", "zq11-esc", "does not parse"},
		{"invalid UTF-8 in a string", "SELECT E'\\xe9\\x80zq11'", "0xe9", "invalid byte sequence"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Exec(ctx, tc.sql).ReadAll()
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != pgproxy.CodeInsufficientPrivilege || !strings.Contains(pe.Message, tc.wording) {
				t.Fatalf("simple: err = %v, want a denial (42501) saying %q", err, tc.wording)
			}
			if strings.Contains(pe.Message, "syntax error") && pe.Position == 0 {
				t.Errorf("the denial of a syntax error has no position: %+v", pe)
			}
			if err := c.ExecParams(ctx, tc.sql, nil, nil, nil, nil).Read().Err; sqlState(err) != pgproxy.CodeInsufficientPrivilege {
				t.Errorf("extended: err = %v, want a denial (42501)", err)
			}
		})
	}
	if _, err := c.Exec(ctx, "SELECT 1").ReadAll(); err != nil {
		t.Fatalf("the session is not usable after the denials: %v", err)
	}
	stored := r.stored(t)
	var secrets []string
	for _, tc := range tests {
		secrets = append(secrets, tc.secret)
	}
	r.leaks(t, stored, secrets...)
	if !strings.Contains(stored, "the statement does not parse: parsing statement: syntax error at or near") {
		t.Errorf("the reason lost its wording:\n%s", stored)
	}
}

// TestAdversarialRound11SetConfigName calls set_config with a setting the
// gateway refuses. Its name is a string literal, and the reason named it:
// it names only the settings the gateway knows.
func TestAdversarialRound11SetConfigName(t *testing.T) {
	r := newRound11(t)
	ctx := context.Background()
	c := r.conn(t)
	for _, q := range []string{
		"SELECT set_config('zq11.api_key_sk_live', 'v', false)",
		"SELECT pg_catalog.set_config('zq11-name', 'v', true)",
		"SELECT set_config('search_path', 'zq11-path', false)",
	} {
		if err := c.ExecParams(ctx, q, nil, nil, nil, nil).Read().Err; sqlState(err) != pgproxy.CodeInsufficientPrivilege {
			t.Errorf("%s: err = %v, want a denial (42501)", q, err)
		}
	}
	stored := r.stored(t)
	r.leaks(t, stored, "zq11")
	if !strings.Contains(stored, "setting search_path changes how table names resolve") {
		t.Errorf("a known setting is no longer named in the reason:\n%s", stored)
	}
}

// TestAdversarialRound11RedactedText checks the statement text the proxy
// hands the recorder (Redacted, which any Recorder may store) and the
// record itself for literals of every kind. pg_query's normalization
// leaves the strings of most utility statements in place: COMMENT ON, the
// parameters of EXECUTE, the query of PREPARE and CREATE VIEW were handed
// over with their literals (the recorder's own lexer happened to hide
// them in the store). Literals in queries, function bodies, DO blocks,
// SET, passwords of denied statements, Bind parameters and masked values
// already stayed out.
func TestAdversarialRound11RedactedText(t *testing.T) {
	r := newRound11(t)
	ctx := context.Background()
	tbl := r.e.Table(t, "r11t", "id int, ssn text", "VALUES (1, '873-11-0042')")
	r.e.Mask(tbl, "ssn")
	plain := r.e.Table(t, "r11p", "id int", "")
	c := r.conn(t)
	tests := []struct{ name, sql string }{
		// Holes: pg_query leaves these literals.
		{"comment on", "COMMENT ON TABLE " + plain + " IS 'zq11-comment'"},
		{"prepare", "PREPARE r11q(text) AS SELECT $1 || 'zq11-prepare'"},
		{"execute", "EXECUTE r11q('zq11-execute')"},
		{"create view", "CREATE TEMP VIEW r11v AS SELECT 'zq11-view' AS x"},
		{"type modifier", "SELECT 'a'::varchar(987654)"},
		// What already held.
		{"literals", "SELECT 'zq11-str', 987654321, 3.14159e7, $$zq11-dollar$$, $t$zq11-tag$t$, E'zq11-esc\\n', " +
			"U&'zq11-uni', B'101101', X'ABCDEF', date '2099-12-31', '{zq11-arr}'::text[], '{\"k\":\"zq11-json\"}'::jsonb"},
		{"do block", "DO $$BEGIN PERFORM 'zq11-do'; END$$"},
		{"set", "SET application_name = 'zq11-app'"},
		{"create role password", "CREATE ROLE r11 PASSWORD 'zq11-pw'"},
		{"alter role password", "ALTER ROLE postgres PASSWORD 'zq11-pw'"},
		{"user mapping password", "ALTER USER MAPPING FOR postgres SERVER r11 OPTIONS (SET password 'zq11-pw')"},
		{"dblink", "SELECT dblink_connect('host=x password=zq11-pw')"},
		{"masked cast", "SELECT ssn::int FROM " + tbl},
		{"masked filter", "SELECT id FROM " + tbl + " WHERE ssn = 'zq11-filter'"},
		{"masked notice", "DO $$DECLARE s text; BEGIN SELECT ssn INTO s FROM " + tbl + "; RAISE NOTICE '%', s; END$$"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _ = c.Exec(ctx, tc.sql).ReadAll()
			if tc.name != "execute" && tc.name != "prepare" && tc.name != "create view" {
				_ = c.ExecParams(ctx, tc.sql, nil, nil, nil, nil).Read().Err
			}
		})
	}
	// A Bind parameter is never recorded.
	if err := c.ExecParams(ctx, "SELECT $1::text", [][]byte{[]byte("zq11-bind")}, nil, nil, nil).Read().Err; err != nil {
		t.Fatal(err)
	}
	stored := r.stored(t)
	if n := strings.Count(stored, "statement {"); n < len(tests) {
		t.Errorf("%d statements recorded, want at least %d:\n%s", n, len(tests), stored)
	}
	// "2099-12-31", not "2099": a result's duration_ns may hold those digits.
	r.leaks(t, stored, "zq11", "987654", "3.14159", "101101", "ABCDEF", "2099-12-31", "873-11-0042", "tok-agent1")
}

// TestAdversarialRound11NestedComment: block comments nest in PostgreSQL,
// and the recorder's lexer ended one at its first */, storing the rest of
// the comment. It drops the whole of it.
func TestAdversarialRound11NestedComment(t *testing.T) {
	r := newRound11(t)
	ctx := context.Background()
	c := r.conn(t)
	for _, q := range []string{
		"/* deploy /* ticket */ password zq11-comment */ SELECT 1",
		"SELECT 1 /* a /* b /* c */ */ zq11-deep */",
	} {
		if _, err := c.Exec(ctx, q).ReadAll(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	stored := r.stored(t)
	if !strings.Contains(stored, `"text":"SELECT $1"`) && !strings.Contains(stored, `SELECT $1`) {
		t.Errorf("the statements were not recorded:\n%s", stored)
	}
	if strings.Contains(stored, "zq11") {
		t.Errorf("the store holds a comment's text:\n%s", stored)
	}
}
