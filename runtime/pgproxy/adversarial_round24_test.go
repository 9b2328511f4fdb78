package pgproxy

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Round 24 of the red team: what other sessions, and the gateway itself,
// leave in the shared server. Every agent's session reaches PostgreSQL as
// the same upstream role (here the superuser postgres), to which the
// server shows what every other session does: their statements' text,
// their locks, their connection facts. A grant covering pg_catalog.*
// (what GUI tools and drivers need) is common.
//
// Hole found and closed:
//   - A grant covering pg_catalog.* without masking (cat24) read
//     pg_stat_activity.query: the text of the statement every other
//     session of the server runs, or ran last, literals included. Another
//     agent's statement through the gateway (SELECT ... WHERE note =
//     '<secret>', left idle in transaction), an application's INSERT ...
//     VALUES ('<secret>') and SELECT ... WHERE ssn = '<masked value>', and
//     an administrator's ALTER ROLE ... PASSWORD '<password>' all came back
//     in clear, by name, star, whole row, to_json, field notation, a
//     subquery, a CTE, COPY, a cursor or a prepared statement, and a
//     filter on it was an oracle for any of them. A grant naming the
//     view, or the functions behind it (pg_stat_get_activity,
//     pg_stat_get_backend_activity; named24), read the same; so would
//     one covering the view of the pg_stat_statements extension, which
//     on PostgreSQL 15 keeps utility statements (ALTER ROLE ... PASSWORD)
//     verbatim. Where masking applied (reader), the column was already of
//     unknown origin, hence denied. Fixed in runtime/pgsql
//     (othersessions.go, through credentials.go's checks): reading
//     pg_stat_activity.query, or a star or whole row of pg_stat_activity,
//     the query column of a relation named pg_stat_statements in any
//     schema, and any call of pg_stat_get_activity,
//     pg_stat_get_backend_activity or pg_stat_statements(), is forbidden
//     for every grant, with a reason naming it
//     (TestAdversarialRound24StatementText). The other columns of
//     pg_stat_activity (pid, state, application_name, client_addr, ...),
//     pg_stat_ssl, pg_locks, pg_prepared_xacts, the progress views and
//     the session's own pg_prepared_statements and pg_cursors keep their
//     grant's decision (TestAdversarialRound24Ordinary), as does psql's
//     \conninfo.
//
// Held (TestAdversarialRound24Signals): signalling other backends
// (pg_terminate_backend, pg_cancel_backend, pg_log_backend_memory_contexts,
// pg_reload_conf) needs a grant naming the function, whatever tables the
// grant covers; LISTEN, UNLISTEN and NOTIFY are forbidden, pg_notify,
// pg_listening_channels and the advisory locks need a function grant; the
// victims' sessions survive every attempt.
//
// Left as they are: pg_locks shows the advisory lock keys other sessions
// hold (taking one needs a function grant, so a channel needs a grant on
// the sending side); application_name of other sessions is what their
// clients chose; the gids of pg_prepared_xacts are chosen by transaction
// managers (no agent can PREPARE TRANSACTION through the gateway).

// round24Policy: cat24 reads every catalog without masking; named24 names
// pg_stat_activity, the extension's pg_stat_statements and the functions
// that return statement text; plain24 covers no catalog.
const round24Policy = `
role "cat24" {
  postgres "adv" {
    statements = ["select", "copy_out"]
    tables     = ["public.PREFIX_*", "pg_catalog.*", "information_schema.*"]
  }
}

role "named24" {
  postgres "adv" {
    statements = ["select", "copy_out"]
    tables     = ["pg_catalog.pg_stat_activity", "public.pg_stat_statements"]
    functions  = ["pg_stat_get_activity", "pg_catalog.pg_stat_get_activity", "pg_stat_get_backend_activity",
                  "pg_stat_get_backend_idset", "pg_stat_statements", "public.pg_stat_statements"]
  }
}

role "plain24" {
  postgres "adv" {
    statements = ["select"]
    tables     = ["public.PREFIX_other"]
  }
}

agent "cat24" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "cat24"
  }
  roles = [role.cat24]
}

agent "named24" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "named24"
  }
  roles = [role.named24]
}

agent "plain24" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "plain24"
  }
  roles = [role.plain24]
}
`

// newAdvEnv24 is newAdvEnv with round24Policy added.
func newAdvEnv24(t *testing.T) *advEnv {
	t.Helper()
	a := newAdvEnv(t)
	a.srv.cfg.Policy.(*enginePolicy).cur.Store(realPolicyWith(t, "testdata/adversarial", a.p, map[string]string{"round24.hcl": round24Policy}))
	return a
}

// round24Victims opens the sessions whose statement text the attacks
// look for, each left idle (in transaction) after a statement holding a
// secret literal: an application's INSERT and its SELECT by a masked
// value (straight to PostgreSQL, application_name r24victim), an
// administrator's ALTER ROLE ... PASSWORD, and another agent's SELECT
// through the gateway (fnreader, application_name r24gwvictim). It
// returns the secrets and the victims' connections, which must stay up.
func round24Victims(t *testing.T, a *advEnv) ([]string, []*pgconn.PgConn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hex := randHex(8)
	ins, pw, gw := "r24ins-"+hex, "r24pw-"+hex, "r24gw-"+hex
	role := a.p + "_r24role"
	t.Cleanup(func() { admin(t, "DROP ROLE IF EXISTS "+role) })
	admin(t, "CREATE ROLE "+role+" LOGIN")
	admin(t, a.sql("CREATE TABLE P_r24v (s text)"))
	t.Cleanup(func() { admin(t, a.sql("DROP TABLE IF EXISTS P_r24v")) })

	app := pgconnTo(t, adminDSN+" application_name=r24victim")
	if _, err := app.Exec(ctx, a.sql("BEGIN; INSERT INTO P_r24v VALUES ('"+ins+"')")).ReadAll(); err != nil {
		t.Fatal(err)
	}
	app2 := pgconnTo(t, adminDSN+" application_name=r24victim")
	if _, err := app2.Exec(ctx, a.sql("BEGIN; SELECT count(*) FROM P_cust WHERE ssn = '918-27-3645'")).ReadAll(); err != nil {
		t.Fatal(err)
	}
	dba := pgconnTo(t, adminDSN+" application_name=r24admin")
	if _, err := dba.Exec(ctx, "ALTER ROLE "+role+" PASSWORD '"+pw+"'").ReadAll(); err != nil {
		t.Fatal(err)
	}
	tp, err := a.connectTapped(t, "fnreader", map[string]string{"application_name": "r24gwvictim"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.pc.Exec(ctx, a.sql("BEGIN; SELECT id FROM P_other WHERE note = '"+gw+"'")).ReadAll(); err != nil {
		t.Fatal(err)
	}
	// Precondition: the server shows the secrets to a superuser.
	c := pgconnTo(t, adminDSN)
	res, err := c.Exec(ctx, "SELECT string_agg(query, ' ') FROM pg_stat_activity WHERE application_name LIKE 'r24%'").ReadAll()
	if err != nil || len(res) != 1 || len(res[0].Rows) != 1 {
		t.Fatalf("reading pg_stat_activity: %v", err)
	}
	for _, s := range []string{ins, pw, gw, "918-27-3645"} {
		if !strings.Contains(string(res[0].Rows[0][0]), s) {
			t.Fatalf("precondition: pg_stat_activity shows %q: %q", s, res[0].Rows[0][0])
		}
	}
	return []string{ins, pw, gw}, []*pgconn.PgConn{app, app2, dba, tp.pc}
}

// victimsAlive checks that no attack ended or cancelled a victim.
func victimsAlive(t *testing.T, victims []*pgconn.PgConn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i, v := range victims {
		if _, err := v.Exec(ctx, "SELECT 1").ReadAll(); err != nil {
			t.Errorf("victim %d: %v", i, err)
		}
	}
}

// advRound24TextCases read the statement text of other sessions: denied
// for every grant, and no secret reaches the client.
var advRound24TextCases = []advCase{
	{name: "query", sql: "SELECT query FROM pg_stat_activity", deny: true},
	{name: "query of idle transactions", sql: "SELECT pid, state, query FROM pg_stat_activity WHERE state = 'idle in transaction'", deny: true},
	{name: "qualified quoted", sql: `SELECT a."query" FROM "pg_catalog"."pg_stat_activity" a`, deny: true},
	{name: "star", sql: "SELECT * FROM pg_stat_activity", deny: true},
	{name: "table", sql: "TABLE pg_stat_activity", deny: true},
	{name: "whole row", sql: "SELECT a::text FROM pg_stat_activity a", deny: true},
	{name: "to_json", sql: "SELECT to_json(a)::text FROM pg_stat_activity a", deny: true},
	{name: "field notation", sql: "SELECT (a).query FROM pg_stat_activity a", deny: true},
	{name: "function notation", sql: "SELECT a.to_json::text FROM pg_stat_activity a", deny: true},
	{name: "alias list", sql: "SELECT q FROM pg_stat_activity AS a(d, n, p, l, u, un, an, ca, ch, cp, bs, xs, qs, sc, wt, we, st, bx, bm, qi, q)", deny: true},
	{name: "subquery", sql: "SELECT q FROM (SELECT application_name, query AS q FROM pg_stat_activity) s WHERE application_name LIKE 'r24%'", deny: true},
	{name: "cte star", sql: "WITH c AS (SELECT * FROM pg_stat_activity) SELECT c.query FROM c", deny: true},
	{name: "scalar subquery", sql: "SELECT (SELECT string_agg(query, ' | ') FROM pg_stat_activity)", deny: true},
	{name: "computed", sql: "SELECT replace(query, 'r24', 'x'), md5(query) FROM pg_stat_activity", deny: true},
	{name: "filter oracle", sql: "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%PASSWORD ''r24pw-%'", deny: true},
	{name: "order by oracle", sql: "SELECT pid FROM pg_stat_activity ORDER BY query", deny: true},
	{name: "join using oracle", sql: "SELECT count(*) FROM pg_stat_activity JOIN (SELECT 'x'::text AS query) g USING (query)", deny: true},
	{name: "copy query", sql: "COPY (SELECT query FROM pg_stat_activity) TO STDOUT", deny: true},
	{name: "copy star", sql: "COPY (SELECT * FROM pg_catalog.pg_stat_activity) TO STDOUT", deny: true},
	{name: "cursor", sql: "BEGIN; DECLARE r24c CURSOR FOR SELECT query FROM pg_stat_activity; FETCH ALL r24c; COMMIT", simple: true, deny: true},
	{name: "prepared", sql: "PREPARE r24p AS SELECT query FROM pg_stat_activity; EXECUTE r24p", simple: true, deny: true},
	{name: "explain analyze", sql: "EXPLAIN ANALYZE SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%r24pw-%'", deny: true},
	{name: "pg_stat_get_activity", sql: "SELECT query FROM pg_stat_get_activity(NULL)", deny: true},
	{name: "pg_stat_get_activity qualified", sql: "SELECT s.query FROM pg_catalog.pg_stat_get_activity(NULL::integer) s", deny: true},
	{name: "pg_stat_get_activity in the select list", sql: "SELECT (pg_stat_get_activity(NULL)).query", deny: true},
	{name: "pg_stat_get_activity without its query", sql: "SELECT pid FROM pg_stat_get_activity(NULL) WHERE query LIKE '%r24%'", deny: true},
	{name: "pg_stat_get_backend_activity", sql: "SELECT pg_stat_get_backend_activity(b) FROM pg_stat_get_backend_idset() b", deny: true},
}

// advRound24StatementsCases: the pg_stat_statements extension, which the
// server here does not preload (so the statements would fail there):
// the gateway must refuse them before they run.
var advRound24StatementsCases = []advCase{
	{name: "pg_stat_statements view", sql: "SELECT query FROM pg_stat_statements", deny: true},
	{name: "pg_stat_statements qualified star", sql: "SELECT * FROM public.pg_stat_statements", deny: true},
	{name: "pg_stat_statements function", sql: "SELECT query FROM pg_stat_statements(true)", deny: true},
}

// TestAdversarialRound24StatementText: see advRound24TextCases, for a
// grant covering every catalog (cat24), one naming pg_stat_activity and
// the functions (named24), one under masking (reader) and ones covering
// no catalog (plain24, loader under masking).
func TestAdversarialRound24StatementText(t *testing.T) {
	a := newAdvEnv24(t)
	secrets, victims := round24Victims(t, a)
	advSecretsExtra(t, secrets)
	for _, agent := range []string{"cat24", "named24", "reader", "plain24", "loader"} {
		t.Run(agent, func(t *testing.T) { runAdvCases(t, a, agent, advRound24TextCases) })
	}
	t.Run("named24 pg_stat_statements", func(t *testing.T) { runAdvCases(t, a, "named24", advRound24StatementsCases) })
	victimsAlive(t, victims)
	// The denial says why, and that no grant reads it.
	tp, err := a.connectTapped(t, "cat24", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"SELECT query FROM pg_stat_activity", "SELECT pid FROM pg_stat_get_activity(NULL)"} {
		o := tp.run(context.Background(), "simple", q)
		if !o.denied || !strings.Contains(o.err.Error(), "statement") || !strings.Contains(o.err.Error(), "no grant reads the statements of other sessions") {
			t.Errorf("%s: want a denial saying it shows other sessions' statements, got %v", q, o.err)
		}
	}
}

// advRound24OrdinaryCases read what monitoring tools and drivers read
// about sessions without their statements' text: they keep working.
var advRound24OrdinaryCases = []advCase{
	{name: "activity without query", sql: `SELECT pid, datname, usename, application_name, client_addr::text, client_port, state,
  backend_type, wait_event_type, wait_event, backend_xid::text, backend_xmin::text, query_id,
  backend_start, xact_start, query_start, state_change, leader_pid FROM pg_stat_activity`, allow: true},
	{name: "activity filtered", sql: "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' AND application_name LIKE 'r24%'", allow: true},
	{name: "activity count", sql: "SELECT count(*) FROM pg_catalog.pg_stat_activity", allow: true},
	{name: "own session", sql: "SELECT pid, application_name, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()", allow: true},
	{name: "conninfo facts", sql: "SELECT current_database(), current_user, inet_server_addr()::text, inet_server_port(), pg_backend_pid(), version()", allow: true},
	{name: "pg_stat_ssl", sql: "SELECT pid, ssl, version, cipher, bits, client_dn FROM pg_stat_ssl", allow: true},
	{name: "pg_stat_gssapi", sql: "SELECT pid, gss_authenticated, principal FROM pg_stat_gssapi", allow: true},
	{name: "pg_locks", sql: "SELECT locktype, relation::regclass::text, mode, granted, pid, virtualxid, transactionid::text FROM pg_locks", allow: true},
	{name: "advisory lock keys", sql: "SELECT classid, objid, pid FROM pg_locks WHERE locktype = 'advisory'", allow: true},
	{name: "pg_prepared_xacts", sql: "SELECT gid, prepared, owner, database FROM pg_prepared_xacts", allow: true},
	{name: "progress views", sql: "SELECT pid, phase FROM pg_stat_progress_vacuum UNION ALL SELECT pid, command FROM pg_stat_progress_copy", allow: true},
	{name: "replication", sql: "SELECT pid, application_name, state FROM pg_stat_replication", allow: true},
	{name: "own prepared statements", sql: "PREPARE r24own AS SELECT 1; SELECT name, statement FROM pg_prepared_statements", simple: true, allow: true},
	{name: "own cursors", sql: "BEGIN; DECLARE r24k CURSOR FOR SELECT 1; SELECT name, statement FROM pg_cursors; COMMIT", simple: true, allow: true},
}

// TestAdversarialRound24Ordinary: see advRound24OrdinaryCases, with the
// victims in place (none of these may show a secret), and psql's
// \conninfo through the gateway.
func TestAdversarialRound24Ordinary(t *testing.T) {
	a := newAdvEnv24(t)
	secrets, victims := round24Victims(t, a)
	advSecretsExtra(t, secrets)
	t.Run("cat24", func(t *testing.T) { runAdvCases(t, a, "cat24", advRound24OrdinaryCases) })
	t.Run("named24", func(t *testing.T) { runAdvCases(t, a, "named24", advRound24OrdinaryCases[:4]) })
	victimsAlive(t, victims)
	// The rows really come back: the four victims are listed.
	tp, err := a.connectTapped(t, "cat24", nil)
	if err != nil {
		t.Fatal(err)
	}
	o := tp.run(context.Background(), "simple", "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'r24%'")
	if o.err != nil || len(o.rows) != 1 || string(o.rows[0][0]) != "4" {
		t.Errorf("victims listed: %v %q", o.err, o.rows)
	}
	t.Run("psql conninfo", func(t *testing.T) {
		host, port := strings.Split(a.addr, ":")[0], strings.Split(a.addr, ":")[1]
		cmd := exec.Command(needTool(t, "psql"), "-X", "-v", "ON_ERROR_STOP=1", "-c", `\conninfo`,
			"-c", "SELECT application_name, state FROM pg_stat_activity WHERE pid = pg_backend_pid()")
		cmd.Env = append(cmd.Environ(), "PGHOST="+host, "PGPORT="+port, "PGUSER=cat24", "PGPASSWORD=tok-cat24",
			"PGSSLMODE=require", "PGDATABASE=adv", "PGCONNECT_TIMEOUT=10", "PGAPPNAME=r24psql")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), `You are connected to database "adv" as user "cat24"`) || !strings.Contains(string(out), "r24psql") {
			t.Errorf("psql: %v\n%s", err, out)
		}
	})
}

// advRound24SignalCases signal other backends or use the server as a
// channel between sessions, through grants that name none of the
// functions: all held.
var advRound24SignalCases = []advCase{
	{name: "terminate", sql: "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'r24%'", deny: true},
	{name: "terminate qualified with timeout", sql: "SELECT pg_catalog.pg_terminate_backend(pid, 100) FROM pg_stat_activity WHERE application_name = 'r24victim'", deny: true},
	{name: "terminate in from", sql: "SELECT * FROM pg_terminate_backend((SELECT min(pid) FROM pg_stat_activity WHERE application_name = 'r24gwvictim'))", deny: true},
	{name: "cancel", sql: "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'r24%'", deny: true},
	{name: "signal backend", sql: "SELECT pg_signal_backend(pid, 15) FROM pg_stat_activity WHERE application_name LIKE 'r24%'", deny: true},
	{name: "log memory contexts", sql: "SELECT pg_log_backend_memory_contexts(pid) FROM pg_stat_activity WHERE application_name LIKE 'r24%'", deny: true},
	{name: "reload conf", sql: "SELECT pg_reload_conf()", deny: true},
	{name: "listen", sql: "LISTEN r24", deny: true},
	{name: "unlisten", sql: "UNLISTEN *", deny: true},
	{name: "notify", sql: "NOTIFY r24, 'payload'", deny: true},
	{name: "pg_notify", sql: "SELECT pg_notify('r24', 'payload')", deny: true},
	{name: "listening channels", sql: "SELECT pg_listening_channels()", deny: true},
	{name: "notification queue", sql: "SELECT pg_notification_queue_usage()", deny: true},
	{name: "advisory lock", sql: "SELECT pg_advisory_lock(2424)", deny: true},
	{name: "advisory lock shared", sql: "SELECT pg_catalog.pg_try_advisory_lock_shared(2424)", deny: true},
	{name: "advisory xact lock", sql: "BEGIN; SELECT pg_advisory_xact_lock(2424); COMMIT", simple: true, deny: true},
}

// TestAdversarialRound24Signals: see advRound24SignalCases, for a grant
// covering every catalog (cat24), one naming pg_stat_activity and the
// activity functions (named24), one under masking (reader) and one
// covering no catalog (plain24); every victim survives.
func TestAdversarialRound24Signals(t *testing.T) {
	a := newAdvEnv24(t)
	secrets, victims := round24Victims(t, a)
	advSecretsExtra(t, secrets)
	for _, agent := range []string{"cat24", "named24", "reader", "plain24"} {
		t.Run(agent, func(t *testing.T) { runAdvCases(t, a, agent, advRound24SignalCases) })
	}
	victimsAlive(t, victims)
}
