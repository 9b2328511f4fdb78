package pgproxy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// advState is a digest of everything a read-only session must not change,
// read over a direct connection. Shared state (locks, prepared
// transactions, role settings) is narrowed to what the cases touch, as
// other tests use the same server at the same time.
const advState = `
SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
  SELECT 'cust:' || c::text AS x FROM P_cust c
  UNION ALL SELECT 'other:' || o::text FROM P_other o
  UNION ALL SELECT 'part:' || p::text FROM P_part p
  UNION ALL SELECT 'inh:' || i::text FROM P_inh i
  UNION ALL SELECT 'mv:' || m::text FROM P_cust_mv m
  UNION ALL SELECT 'seq:' || last_value || is_called FROM P_seq
  UNION ALL SELECT 'lo:' || count(*) FROM pg_largeobject_metadata
  UNION ALL SELECT 'rel:' || string_agg(relname || relkind::text || relnatts, ',' ORDER BY relname) FROM pg_class WHERE relname LIKE 'P_%'
  UNION ALL SELECT 'ddl:' || coalesce(string_agg(obj_description(oid, 'pg_class'), ','), '') FROM pg_class WHERE relname LIKE 'P_%'
  UNION ALL SELECT 'acl:' || coalesce(string_agg(relacl::text, ','), '') FROM pg_class WHERE relname LIKE 'P_%'
  UNION ALL SELECT 'fn:' || count(*) FROM pg_proc WHERE proname LIKE 'P_%'
  UNION ALL SELECT 'adv:' || count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242
  UNION ALL SELECT 'twophase:' || count(*) FROM pg_prepared_xacts WHERE gid = 'mandate_adv'
  UNION ALL SELECT 'rolecfg:' || coalesce(rolconfig::text, '') FROM pg_roles WHERE rolname = 'postgres'
) s`

// roCase is an attempt to change the database through a read-only grant.
type roCase struct {
	name  string
	sql   string
	agent string // default "reader"
	// effect is set for side effects the read-only transaction does not
	// stop once a grant names the function (informational, not asserted).
	effect bool
	open   string
}

var advReadOnlyCases = []roCase{
	// Plain writes and writes hidden in reads.
	{name: "delete", sql: "DELETE FROM P_other"},
	{name: "update", sql: "UPDATE P_cust SET name = 'x'"},
	{name: "insert", sql: "INSERT INTO P_other VALUES (9, 'x')"},
	{name: "merge", sql: "MERGE INTO P_other o USING P_other s ON false WHEN NOT MATCHED THEN INSERT VALUES (5, 'm')"},
	{name: "truncate", sql: "TRUNCATE P_other"},
	{name: "writable cte", sql: "WITH d AS (DELETE FROM P_other RETURNING *) SELECT * FROM d"},
	{name: "writable cte in subquery", sql: "SELECT * FROM (WITH i AS (INSERT INTO P_other VALUES (7, 'x') RETURNING id) SELECT id FROM i) s"},
	{name: "second statement", sql: "SELECT 1; DELETE FROM P_other"},
	{name: "comment disguise", sql: "/* SELECT */ DELETE FROM P_other -- SELECT"},
	{name: "explain analyze", sql: "EXPLAIN ANALYZE DELETE FROM P_other"},
	{name: "explain analyze cte", sql: "EXPLAIN (ANALYZE, FORMAT JSON) WITH d AS (UPDATE P_other SET note = 'x' RETURNING 1) SELECT * FROM d"},
	{name: "select for update", sql: "SELECT * FROM P_other FOR UPDATE"},
	{name: "select for share", sql: "SELECT * FROM P_other FOR KEY SHARE"},
	{name: "lock in subquery", sql: "SELECT * FROM (SELECT * FROM P_other FOR UPDATE) s"},
	{name: "lock in cte", sql: "WITH l AS (SELECT id FROM P_other FOR NO KEY UPDATE) SELECT count(*) FROM l"},
	{name: "lock table", sql: "LOCK TABLE P_other IN ACCESS EXCLUSIVE MODE"},
	{name: "prepare delete", sql: "PREPARE d1 AS DELETE FROM P_other; EXECUTE d1"},
	{name: "cursor for update", sql: "BEGIN; DECLARE cu CURSOR FOR SELECT * FROM P_other FOR UPDATE; FETCH 1 FROM cu; COMMIT"},
	{name: "copy in", sql: "COPY P_other FROM STDIN"},
	{name: "copy from file", sql: "COPY P_other FROM '/etc/hostname'"},
	{name: "copy to file", sql: "COPY P_other TO '/tmp/mandate_adv_copy'"},
	{name: "copy to program", sql: "COPY (SELECT 1) TO PROGRAM 'true'"},
	{name: "copy delete returning", sql: "COPY (DELETE FROM P_other RETURNING *) TO STDOUT"},
	{name: "copy insert returning", sql: "COPY (INSERT INTO P_other VALUES (8, 'c') RETURNING id) TO STDOUT"},
	{name: "copy from program", sql: "COPY P_other FROM PROGRAM 'echo 1'"},
	{name: "copy in csv", sql: "COPY P_other FROM STDIN WITH (FORMAT csv)"},

	// Code blocks, procedures, DDL.
	{name: "do", sql: "DO $$ BEGIN DELETE FROM P_other; END $$"},
	{name: "call procedure", sql: "CALL P_proc()"},
	{name: "writing function", sql: "SELECT P_writer()"},
	{name: "writing function in from", sql: "SELECT * FROM P_writer()"},
	{name: "terminate backend", sql: "SELECT pg_terminate_backend(pg_backend_pid())"},
	{name: "cancel backend", sql: "SELECT pg_cancel_backend(0)"},
	{name: "reload conf", sql: "SELECT pg_reload_conf()"},
	{name: "explain analyze writing function", sql: "EXPLAIN ANALYZE SELECT P_writer()"},
	{name: "for update of subquery", sql: "SELECT * FROM (SELECT * FROM P_other) s FOR UPDATE"},
	{name: "begin read only then write", sql: "START TRANSACTION READ ONLY, READ WRITE; DELETE FROM P_other; COMMIT"},
	{name: "create temp table", sql: "CREATE TEMP TABLE adv_tmp AS SELECT 1"},
	{name: "select into temp", sql: "SELECT 1 AS x INTO TEMP adv_tmp2"},
	{name: "create table as", sql: "CREATE TABLE P_new AS SELECT * FROM P_other"},
	{name: "alter table", sql: "ALTER TABLE P_other ADD COLUMN z int"},
	{name: "drop table", sql: "DROP TABLE P_other"},
	{name: "create index", sql: "CREATE INDEX ON P_other (id)"},
	{name: "comment", sql: "COMMENT ON TABLE P_other IS 'owned'"},
	{name: "grant", sql: "GRANT ALL ON P_other TO PUBLIC"},
	{name: "refresh matview", sql: "REFRESH MATERIALIZED VIEW P_cust_mv"},
	{name: "create function", sql: "CREATE FUNCTION P_evil() RETURNS int LANGUAGE sql AS 'SELECT 1'"},
	{name: "alter role set", sql: "ALTER ROLE postgres SET application_name = 'owned'"},
	{name: "alter system", sql: "ALTER SYSTEM SET work_mem = '1MB'"},
	{name: "prepare transaction", sql: "BEGIN; PREPARE TRANSACTION 'mandate_adv'"},

	// Identity, name resolution and the read-only settings.
	{name: "set role", sql: "SET ROLE postgres; DELETE FROM P_other"},
	{name: "set session authorization", sql: "SET SESSION AUTHORIZATION postgres"},
	{name: "reset role", sql: "RESET ROLE"},
	{name: "set search_path", sql: "SET search_path = pg_temp, public"},
	{name: "read only off", sql: "SET default_transaction_read_only = off; DELETE FROM P_other"},
	{name: "transaction read only off", sql: "BEGIN; SET transaction_read_only = off; DELETE FROM P_other; COMMIT"},
	{name: "set transaction read write", sql: "BEGIN; SET TRANSACTION READ WRITE; DELETE FROM P_other; COMMIT"},
	{name: "begin read write", sql: "BEGIN READ WRITE; DELETE FROM P_other; COMMIT"},
	{name: "start transaction read write", sql: "START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE"},
	{name: "session characteristics", sql: "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE"},
	{name: "reset all", sql: "RESET ALL"},
	{name: "discard all", sql: "DISCARD ALL"},
	{name: "reset read only", sql: "RESET default_transaction_read_only"},
	{name: "set read only default", sql: "SET LOCAL transaction_read_only TO DEFAULT"},
	{name: "set_config read only", sql: "SELECT set_config('default_transaction_read_only', 'off', false)"},
	{name: "set_config search_path", sql: "SELECT set_config('search_path', 'pg_temp', false)"},
	{name: "set_config role", sql: "SELECT pg_catalog.set_config('role', 'postgres', false)"},
	// Past the analysis cache's text limit: still analyzed whole.
	{name: "long statement", sql: "SELECT '" + strings.Repeat("x", 17<<10) + "'; DELETE FROM P_other"},
	{name: "long comment", sql: "SELECT 1 /* " + strings.Repeat("*", 17<<10) + " */; DELETE FROM P_other"},
	// pg_settings' rules call set_config for whatever row is updated.
	{name: "update pg_settings", sql: "UPDATE pg_settings SET setting = 'off' WHERE name = 'default_transaction_read_only'"},
	{name: "update pg_settings search_path", sql: "UPDATE pg_catalog.pg_settings SET setting = 'pg_temp, public' WHERE name = 'search_path'"},
	// Transaction control around the read-only default.
	{name: "commit and chain after set transaction", sql: "BEGIN; SET TRANSACTION READ WRITE; COMMIT AND CHAIN; DELETE FROM P_other; COMMIT"},
	{name: "rollback and chain", sql: "BEGIN READ ONLY; ROLLBACK AND CHAIN; UPDATE P_other SET note = 'x'; COMMIT"},
	{name: "savepoint read write", sql: "BEGIN; SAVEPOINT s; SET TRANSACTION READ WRITE; DELETE FROM P_other; RELEASE s; COMMIT"},
	{name: "session characteristics isolation", sql: "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE; DELETE FROM P_other"},
	{name: "read only off quoted", sql: `SET "default_transaction_read_only" = 0`},
	{name: "read only local false", sql: "BEGIN; SET LOCAL transaction_read_only = false; DELETE FROM P_other; COMMIT"},

	// Functions with side effects, without a grant naming them.
	{name: "nextval", sql: "SELECT nextval('P_seq')"},
	{name: "setval", sql: "SELECT setval('P_seq', 42)"},
	{name: "lo_create", sql: "SELECT lo_create(0)"},
	{name: "lo_from_bytea", sql: "SELECT lo_from_bytea(0, 'x')"},
	{name: "lo_import", sql: "SELECT lo_import('/etc/hostname')"},
	{name: "pg_notify", sql: "SELECT pg_notify('mandate_adv', 'x')"},
	{name: "notify", sql: "NOTIFY mandate_adv, 'x'"},
	{name: "listen", sql: "LISTEN mandate_adv"},
	{name: "advisory lock", sql: "SELECT pg_advisory_lock(4242)"},
	{name: "query_to_xml runs a write", sql: "SELECT query_to_xml('DELETE FROM P_other RETURNING 1', true, false, '')"},
	{name: "nextval in default position", sql: "SELECT * FROM P_other ORDER BY nextval('P_seq')"},
	{name: "nextval in values", sql: "VALUES (nextval('P_seq'))"},
	{name: "sql function", sql: "SELECT * FROM P_cust_fn()"},
	{name: "dblink", sql: "SELECT dblink_exec('dbname=test', 'DELETE FROM P_other')"},

	// The second wall: the grant names the function, the read-only
	// transaction upstream must still stop writes.
	{name: "granted nextval", sql: "SELECT nextval('P_seq')", agent: "fnreader"},
	{name: "granted setval", sql: "SELECT setval('P_seq', 42)", agent: "fnreader"},
	{name: "granted lo_create", sql: "SELECT lo_create(0)", agent: "fnreader"},
	{name: "granted lo_from_bytea", sql: "SELECT lo_from_bytea(0, 'x')", agent: "fnreader"},
	{name: "granted lo_import", sql: "SELECT lo_import('/etc/hostname')", agent: "fnreader"},
	{name: "granted query_to_xml", sql: "SELECT query_to_xml('DELETE FROM P_other RETURNING 1', true, false, '')", agent: "fnreader"},
	// A harmless set_config first: the cache must not serve its decision
	// to the forbidden ones below, which share its shape.
	{name: "granted set_config harmless", sql: "SELECT set_config('application_name', 'x', false)", agent: "fnreader", effect: true},
	{name: "granted set_config then write", sql: "BEGIN; SELECT set_config('transaction_read_only', 'off', true); SELECT nextval('P_seq'); COMMIT", agent: "fnreader"},
	{name: "granted set_config session", sql: "SELECT set_config('default_transaction_read_only', 'off', false)", agent: "fnreader"},
	{name: "granted set_config encoding", sql: "SELECT set_config('client_encoding', 'SJIS', false)", agent: "fnreader"},
	{name: "granted set_config role", sql: "SELECT set_config('role', 'pg_read_all_data', false)", agent: "fnreader"},
	{name: "granted set_config search_path", sql: "SELECT set_config('search_path', 'pg_temp', false)", agent: "fnreader"},
	// A granted function that calls set_config with names the analyzer
	// cannot read: the server reports the change (ParameterStatus) and the
	// gateway ends the session before anything else runs.
	{name: "granted function flips read only", sql: "SELECT P_flip('default_transaction_read_only', 'off')", agent: "fnreader"},
	{name: "granted function flips encoding", sql: "SELECT P_flip('client_encoding', 'SJIS')", agent: "fnreader"},
	{name: "granted function flips string syntax", sql: "SELECT P_flip('standard_conforming_strings', 'off')", agent: "fnreader"},
	{name: "granted function sets role", sql: "SELECT P_flip('role', 'pg_read_all_data')", agent: "fnreader"},
	{name: "granted function in a transaction", sql: "BEGIN; SELECT P_flip('default_transaction_read_only', 'off'); COMMIT", agent: "fnreader"},
	{name: "granted advisory lock", sql: "SELECT pg_advisory_lock(4242)", agent: "fnreader", effect: true},
	{name: "granted pg_notify", sql: "SELECT pg_notify('mandate_adv', 'x')", agent: "fnreader", effect: true},
}

func TestAdversarialReadOnly(t *testing.T) {
	runAdvReadOnly(t, newAdvEnv(t), advReadOnlyCases)
}

// runAdvReadOnly runs each case in the simple protocol and as a prepared
// statement: the statement must fail, the database state must not change,
// no notification may be delivered, and the session must keep what the
// gateway pins (or end).
func runAdvReadOnly(t *testing.T, a *advEnv, cases []roCase) {
	ctx := context.Background()
	direct := pgconnTo(t, adminDSN)
	state := func() string {
		t.Helper()
		r := direct.ExecParams(ctx, a.sql(advState), nil, nil, nil, nil).Read()
		if r.Err != nil || len(r.Rows) != 1 {
			t.Fatalf("reading the database state: %v", r.Err)
		}
		return string(r.Rows[0][0])
	}
	// A listener on the direct connection sees NOTIFY from any session.
	var notified sync.Map
	lcfg, err := pgconn.ParseConfig(adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	lcfg.OnNotification = func(_ *pgconn.PgConn, n *pgconn.Notification) { notified.Store(n.Channel, true) }
	listener, err := pgconn.ConnectConfig(ctx, lcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { listener.Close(context.Background()) })
	if err := listener.Exec(ctx, "LISTEN mandate_adv").Close(); err != nil {
		t.Fatal(err)
	}
	before := state()
	// Each attempt runs in the simple protocol and as a prepared statement
	// (Parse, Describe, Bind, Execute): one string of several statements
	// fails at Parse there, as on PostgreSQL.
	type attempt struct {
		roCase
		mode string
	}
	var attempts []attempt
	for _, tc := range cases {
		for _, mode := range []string{"simple", "prepared"} {
			attempts = append(attempts, attempt{tc, mode})
		}
	}
	for _, at := range attempts {
		tc := at.roCase
		t.Run(tc.name+"/"+at.mode, func(t *testing.T) {
			skipOpen(t, tc.open)
			agent := tc.agent
			if agent == "" {
				agent = "reader"
			}
			tp, err := a.connectTapped(t, agent, nil)
			if err != nil {
				t.Fatalf("connecting: %v", err)
			}
			o := tp.run(ctx, at.mode, a.sql(tc.sql))
			t.Logf("%s %v", o, o.err)
			changed := state() != before
			_ = listener.Exec(ctx, "SELECT 1").Close()
			_, heard := notified.LoadAndDelete("mandate_adv")
			if tc.effect {
				t.Logf("granted side effect: state changed %v, notified %v", changed, heard)
			} else {
				if o.err == nil {
					t.Errorf("the statement succeeded: %s", o)
				}
				if changed {
					t.Errorf("the database state changed (%s)", o)
				}
				if heard {
					t.Errorf("a notification was delivered (%s)", o)
				}
			}
			// The session keeps what the gateway pins, or the gateway
			// ended it.
			_ = tp.pc.Exec(ctx, "ROLLBACK").Close()
			if tp.pc.IsClosed() {
				if !tc.effect && o.err != nil {
					return
				}
				t.Fatalf("the session ended: %v", o.err)
			}
			res, err := tp.pc.Exec(ctx, `SHOW default_transaction_read_only; SHOW search_path; SELECT current_user, session_user;
				SHOW client_encoding; SHOW standard_conforming_strings`).ReadAll()
			if err != nil {
				t.Fatalf("checking the session: %v", err)
			}
			got := fmt.Sprintf("%s %s %s %s %s %s", res[0].Rows[0][0], res[1].Rows[0][0], res[2].Rows[0][0], res[2].Rows[0][1],
				res[3].Rows[0][0], res[4].Rows[0][0])
			if got != "on public postgres postgres UTF8 on" {
				t.Errorf("session settings after the attempt: %s", got)
			}
			tp.pc.Close(ctx)
			if tc.effect || changed {
				// Undo what got through (or what a granted function may
				// do) so the next case starts from the same state.
				admin(t, a.sql("SELECT pg_advisory_unlock_all(); SELECT setval('P_seq', 1, false)"))
				waitFor(t, "advisory locks released", func() bool {
					r := direct.ExecParams(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'", nil, nil, nil, nil).Read()
					return r.Err == nil && string(r.Rows[0][0]) == "0"
				})
				before = state()
			}
		})
	}
}

// TestAdversarialEncoding smuggles a statement past the gateway's parse.
// The bytes c2 81 5c are valid UTF-8 (U+0081 and a backslash that escapes
// the next quote), but in SJIS they are two characters, 0xc2 and 0x81 0x5c
// (no backslash): the gateway sees one SELECT of a string, the server a
// second statement reading a table the grant does not cover.
func TestAdversarialEncoding(t *testing.T) {
	a := newAdvEnv(t)
	ctx := context.Background()
	smuggled := a.sql("SELECT E'\xc2\x81\x5c' AS a; SELECT * FROM P_cust; --'")
	for _, enc := range []string{"SJIS", "sjis", "BIG5", "GBK", "GB18030", "JOHAB", "UHC", "LATIN1", "SQL_ASCII"} {
		t.Run(enc, func(t *testing.T) {
			tp, err := a.connectTapped(t, "fnreader", map[string]string{"client_encoding": enc})
			var pe *pgconn.PgError
			if err != nil {
				if !errors.As(err, &pe) || pe.Code != CodeInvalidParameterValue {
					t.Fatalf("connecting with client_encoding %s: %v, want 22023", enc, err)
				}
				return
			}
			o := tp.run(ctx, "simple", smuggled)
			if s := leaked(tp.tap.take()); s != "" {
				t.Errorf("secret %q reached the client through a statement the gateway did not see (%s)", s, o)
			}
			t.Errorf("client_encoding %s accepted at startup (%s %v)", enc, o, o.err)
		})
	}
	for _, sql := range []string{"SET client_encoding = 'SJIS'", "SET NAMES 'BIG5'", "SELECT set_config('client_encoding', 'GBK', false)"} {
		tp, err := a.connectTapped(t, "fnreader", nil)
		if err != nil {
			t.Fatal(err)
		}
		if o := tp.run(ctx, "simple", sql); !o.denied {
			t.Errorf("%s: %s %v, want a denial", sql, o, o.err)
		}
	}
	// UTF8 in its spellings stays accepted.
	for _, enc := range []string{"UTF8", "utf-8", "Unicode"} {
		if _, err := a.connectTapped(t, "fnreader", map[string]string{"client_encoding": enc}); err != nil {
			t.Errorf("client_encoding %s refused: %v", enc, err)
		}
	}
}
