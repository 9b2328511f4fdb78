package pgproxy

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// SQL-level prepared statements and cursors behave through the gateway as
// on PostgreSQL, in the simple and the extended protocol: a name prepared
// or declared twice fails (42P05, 42P03) and the first stays, DEALLOCATE
// and CLOSE (also ALL) drop them and later use fails with 26000 or 34000,
// and the session goes on.
func TestSQLObjectsLikePostgres(t *testing.T) {
	e := newEnv(t)
	type step struct {
		sql  string
		want []string // the replies before ReadyForQuery
		tx   string   // the transaction status after it
	}
	ok := func(tag string) []string { return []string{"complete " + tag} }
	row := func(v, tag string) []string { return []string{"row " + v, "complete " + tag} }
	fails := func(code, msg string) []string { return []string{"error " + code + " " + msg} }
	// divZero fails when it runs, not when it is planned (at Bind).
	const divZero = "SELECT (random() * 0)::int / 0"
	cases := []struct {
		name       string
		steps      []step
		simpleOnly bool // several statements in one string
	}{{
		name:       "PREPARE and EXECUTE in one string",
		simpleOnly: true,
		steps: []step{
			{"PREPARE q AS SELECT 7; EXECUTE q", []string{"complete PREPARE", "columns 1", "row 7", "complete SELECT 1"}, "I"},
			{"DEALLOCATE q; EXECUTE q", []string{"complete DEALLOCATE", `error 26000 prepared statement "q" does not exist`}, "I"},
			{"EXECUTE q", fails("26000", `prepared statement "q" does not exist`), "I"},
		},
	}, {
		name: "PREPARE twice",
		steps: []step{
			{"PREPARE q AS SELECT 1", ok("PREPARE"), "I"},
			{"PREPARE q AS SELECT 2", fails("42P05", `prepared statement "q" already exists`), "I"},
			{"EXECUTE q", row("1", "SELECT 1"), "I"},
		},
	}, {
		name: "DEALLOCATE ALL",
		steps: []step{
			{"PREPARE q AS SELECT 1", ok("PREPARE"), "I"},
			{"PREPARE r AS SELECT 2", ok("PREPARE"), "I"},
			{"DEALLOCATE ALL", ok("DEALLOCATE ALL"), "I"},
			{"EXECUTE q", fails("26000", `prepared statement "q" does not exist`), "I"},
			{"EXECUTE r", fails("26000", `prepared statement "r" does not exist`), "I"},
			{"PREPARE q AS SELECT 3", ok("PREPARE"), "I"},
			{"EXECUTE q", row("3", "SELECT 1"), "I"},
		},
	}, {
		name: "DEALLOCATE one",
		steps: []step{
			{"PREPARE q AS SELECT 1", ok("PREPARE"), "I"},
			{"PREPARE r AS SELECT 2", ok("PREPARE"), "I"},
			{"DEALLOCATE q", ok("DEALLOCATE"), "I"},
			{"EXECUTE q", fails("26000", `prepared statement "q" does not exist`), "I"},
			{"EXECUTE r", row("2", "SELECT 1"), "I"},
		},
	}, {
		name: "DISCARD PLANS",
		steps: []step{
			{"PREPARE q AS SELECT 1", ok("PREPARE"), "I"},
			{"DISCARD PLANS", ok("DISCARD PLANS"), "I"},
			{"EXECUTE q", row("1", "SELECT 1"), "I"},
		},
	}, {
		name: "DECLARE twice",
		steps: []step{
			{"BEGIN", ok("BEGIN"), "T"},
			{"DECLARE c CURSOR FOR SELECT 1", ok("DECLARE CURSOR"), "T"},
			{"DECLARE c CURSOR FOR SELECT 2", fails("42P03", `cursor "c" already exists`), "E"},
			{"ROLLBACK", ok("ROLLBACK"), "I"},
		},
	}, {
		name: "CLOSE ALL",
		steps: []step{
			{"BEGIN", ok("BEGIN"), "T"},
			{"DECLARE c CURSOR FOR SELECT 1", ok("DECLARE CURSOR"), "T"},
			{"DECLARE d CURSOR FOR SELECT 2", ok("DECLARE CURSOR"), "T"},
			{"CLOSE ALL", ok("CLOSE CURSOR ALL"), "T"},
			{"SAVEPOINT sp", ok("SAVEPOINT"), "T"},
			{"FETCH c", fails("34000", `cursor "c" does not exist`), "E"},
			{"ROLLBACK TO sp", ok("ROLLBACK"), "T"},
			{"DECLARE d CURSOR FOR SELECT 5", ok("DECLARE CURSOR"), "T"},
			{"FETCH d", row("5", "FETCH 1"), "T"},
			{"COMMIT", ok("COMMIT"), "I"},
		},
	}, {
		name: "CLOSE one",
		steps: []step{
			{"BEGIN", ok("BEGIN"), "T"},
			{"DECLARE c CURSOR FOR SELECT 1", ok("DECLARE CURSOR"), "T"},
			{"DECLARE d CURSOR FOR SELECT 2", ok("DECLARE CURSOR"), "T"},
			{"CLOSE c", ok("CLOSE CURSOR"), "T"},
			{"FETCH d", row("2", "FETCH 1"), "T"},
			{"MOVE c", fails("34000", `cursor "c" does not exist`), "E"},
			{"ROLLBACK", ok("ROLLBACK"), "I"},
		},
	}, {
		name: "WITH HOLD survives COMMIT",
		steps: []step{
			{"BEGIN", ok("BEGIN"), "T"},
			{"DECLARE h CURSOR WITH HOLD FOR SELECT 1", ok("DECLARE CURSOR"), "T"},
			{"DECLARE c CURSOR FOR SELECT 2", ok("DECLARE CURSOR"), "T"},
			{"COMMIT", ok("COMMIT"), "I"},
			{"FETCH h", row("1", "FETCH 1"), "I"},
			{"FETCH c", fails("34000", `cursor "c" does not exist`), "I"},
			{"CLOSE h", ok("CLOSE CURSOR"), "I"},
			{"FETCH h", fails("34000", `cursor "h" does not exist`), "I"},
		},
	}, {
		name: "WITH HOLD outside a transaction",
		steps: []step{
			{"DECLARE h CURSOR WITH HOLD FOR SELECT generate_series(4, 5)", ok("DECLARE CURSOR"), "I"},
			{"FETCH h", row("4", "FETCH 1"), "I"},
			{"BEGIN", ok("BEGIN"), "T"},
			{divZero, fails("22012", "division by zero"), "E"},
			{"ROLLBACK", ok("ROLLBACK"), "I"},
			{"FETCH h", row("5", "FETCH 1"), "I"},
		},
	}, {
		name: "WITH HOLD rolled back",
		steps: []step{
			{"DECLARE h CURSOR WITH HOLD FOR SELECT 1", ok("DECLARE CURSOR"), "I"},
			{"BEGIN", ok("BEGIN"), "T"},
			{"DECLARE k CURSOR WITH HOLD FOR SELECT 2", ok("DECLARE CURSOR"), "T"},
			{"ROLLBACK", ok("ROLLBACK"), "I"},
			{"FETCH k", fails("34000", `cursor "k" does not exist`), "I"},
			{"FETCH h", row("1", "FETCH 1"), "I"},
		},
	}, {
		name: "WITH HOLD in a failed transaction",
		steps: []step{
			{"BEGIN", ok("BEGIN"), "T"},
			{"DECLARE k CURSOR WITH HOLD FOR SELECT 2", ok("DECLARE CURSOR"), "T"},
			{divZero, fails("22012", "division by zero"), "E"},
			{"COMMIT", ok("ROLLBACK"), "I"},
			{"FETCH k", fails("34000", `cursor "k" does not exist`), "I"},
		},
	}, {
		name:       "WITH HOLD in an implicit transaction that fails",
		simpleOnly: true,
		steps: []step{
			{"DECLARE k CURSOR WITH HOLD FOR SELECT 2; SELECT 1/0", []string{"complete DECLARE CURSOR", "error 22012 division by zero"}, "I"},
			{"FETCH k", fails("34000", `cursor "k" does not exist`), "I"},
			{"DECLARE k CURSOR WITH HOLD FOR SELECT 3; SELECT 5", []string{"complete DECLARE CURSOR", "columns 1", "row 5", "complete SELECT 1"}, "I"},
			{"FETCH k", []string{"columns 1", "row 3", "complete FETCH 1"}, "I"},
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name+"/simple", func(t *testing.T) {
			var want []string
			var batches [][]pgproto3.FrontendMessage
			for _, s := range tc.steps {
				batches = append(batches, msgs(query(s.sql)))
				if strings.HasPrefix(s.want[0], "row ") && !tc.simpleOnly || s.sql == divZero {
					want = append(want, "columns 1") // the simple protocol describes rows
				}
				want = append(want, s.want...)
				want = append(want, "ready "+s.tx)
			}
			likePostgres(t, e, want, batches...)
		})
		t.Run(tc.name+"/extended", func(t *testing.T) {
			if tc.simpleOnly {
				t.Skip("one statement per Parse")
			}
			var want []string
			var batches [][]pgproto3.FrontendMessage
			for _, s := range tc.steps {
				batches = append(batches, extended(s.sql))
				// PostgreSQL reports a missing name at Execute.
				want = append(want, "parsed", "bound")
				want = append(want, s.want...)
				want = append(want, "ready "+s.tx)
			}
			likePostgres(t, e, want, batches...)
		})
	}
}

// A name prepared again keeps the first statement, and the gateway keeps
// deciding EXECUTE as that statement: revoking what the first one reads
// denies it, whatever the second would have read.
func TestPreparedTwiceKeepsItsDecision(t *testing.T) {
	e := newEnv(t)
	a := e.table(t, "a", "id int", "VALUES (1)")
	b := e.table(t, "b", "id int", "VALUES (2)")
	cases := []struct {
		name    string
		prepare []string // simple queries; the last fails with 42P05
		run     string   // simple query running the name
		proto   bool     // prepare with Parse, run with Bind/Execute
	}{
		{name: "PREPARE", prepare: []string{"PREPARE q AS SELECT id FROM " + a, "PREPARE q AS SELECT id FROM " + b}, run: "EXECUTE q"},
		{name: "PREPARE twice in one string", prepare: []string{"PREPARE q AS SELECT id FROM " + a + "; PREPARE q AS SELECT id FROM " + b}, run: "EXECUTE q"},
		{name: "Parse", proto: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.policy.set(func(p *testPolicy) { delete(p.denied, a) })
			c := pgconnTo(t, e.dsn("agent1", "require"))
			ctx := context.Background()
			run := func() ([][][]byte, error) {
				if tc.proto {
					r := c.ExecPrepared(ctx, "s1", nil, nil, nil).Read()
					return r.Rows, r.Err
				}
				res, err := c.Exec(ctx, tc.run).ReadAll()
				if err != nil {
					return nil, err
				}
				return res[0].Rows, nil
			}
			var err error
			if tc.proto {
				if _, err = c.Prepare(ctx, "s1", "SELECT id FROM "+a, nil); err != nil {
					t.Fatal(err)
				}
				_, err = c.Prepare(ctx, "s1", "SELECT id FROM "+b, nil)
			} else {
				for _, q := range tc.prepare {
					_, err = c.Exec(ctx, q).ReadAll()
				}
			}
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "42P05" {
				t.Fatalf("second prepare: %v, want 42P05", err)
			}
			rows, err := run()
			if err != nil || len(rows) != 1 || string(rows[0][0]) != "1" {
				t.Fatalf("first statement: rows %q err %v, want 1", rows, err)
			}
			e.policy.set(func(p *testPolicy) { p.denied[a] = true })
			rows, err = run()
			if !errors.As(err, &pe) || pe.Code != CodeInsufficientPrivilege || !containsAll(pe.Message, a) {
				t.Fatalf("after revoking %s: rows %q err %v, want a denial naming it", a, rows, err)
			}
			e.policy.set(func(p *testPolicy) { delete(p.denied, a) })
			if rows, err = run(); err != nil || len(rows) != 1 || string(rows[0][0]) != "1" {
				t.Fatalf("granted again: rows %q err %v, want 1", rows, err)
			}
			e.policy.set(func(p *testPolicy) { p.denied[a] = true })
			if tc.proto {
				return
			}
			// Prepared again and run in one string: the gateway cannot know
			// yet which statement EXECUTE runs, and decides both.
			res, err := c.Exec(ctx, "PREPARE q AS SELECT id FROM "+b+"; EXECUTE q").ReadAll()
			if !errors.As(err, &pe) || pe.Code != CodeInsufficientPrivilege {
				t.Fatalf("PREPARE and EXECUTE in one string: %v %v, want a denial", res, err)
			}
		})
	}
}

// pgx's own DeallocateAll and prepared statements behave through the
// gateway as they do on PostgreSQL.
func TestPgxDeallocateAll(t *testing.T) {
	e := newEnv(t)
	tbl := e.table(t, "t", "id int", "VALUES (1), (2)")
	ctx := context.Background()
	script := func(t *testing.T, c *pgx.Conn) []string {
		var got []string
		note := func(what string, err error) {
			var pe *pgconn.PgError
			switch {
			case errors.As(err, &pe):
				got = append(got, what+": "+pe.Code+" "+pe.Message)
			case err != nil:
				t.Fatalf("%s: %v", what, err)
			default:
				got = append(got, what+": ok")
			}
		}
		count := func(what string) {
			var n int
			err := c.QueryRow(ctx, "SELECT count(*) FROM "+tbl+" WHERE id > $1", 0).Scan(&n)
			if err == nil && n != 2 {
				t.Fatalf("%s: count %d", what, n)
			}
			note(what, err)
		}
		count("cached query")
		_, err := c.Prepare(ctx, "s1", "SELECT 41")
		note("prepare s1", err)
		_, err = c.Exec(ctx, "PREPARE q AS SELECT 1", pgx.QueryExecModeSimpleProtocol)
		note("PREPARE q", err)
		note("DeallocateAll", c.DeallocateAll(ctx))
		count("cached query after DeallocateAll")
		_, err = c.Exec(ctx, "EXECUTE q", pgx.QueryExecModeSimpleProtocol)
		note("EXECUTE q", err)
		_, err = c.Exec(ctx, "EXECUTE q", pgx.QueryExecModeExec)
		note("EXECUTE q (extended)", err)
		_, err = c.Prepare(ctx, "s1", "SELECT 42")
		note("prepare s1 again", err)
		_, err = c.Prepare(ctx, "s1", "SELECT 43")
		note("prepare s1 a third time", err)
		var n int
		note("run s1", c.QueryRow(ctx, "s1").Scan(&n))
		got = append(got, "s1 returns "+strconv.Itoa(n))
		count("cached query at the end")
		return got
	}
	direct, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close(ctx)
	want := script(t, direct)
	got := script(t, e.connect(t, "require"))
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("through the gateway (-PostgreSQL +gateway):\n%s", d)
	}
	t.Logf("%q", got)
}

// A statement that runs a name (EXECUTE, FETCH), parsed once, is masked
// as what the name holds when it runs, not when it was parsed.
func TestNamesMaskedAsTheyRun(t *testing.T) {
	e, tbl := maskEnv(t)
	c := pgconnTo(t, e.dsn("agent1", "require"))
	describe := &pgproto3.Describe{ObjectType: 'S', Name: "x"}
	run := msgs(bind("", "x"), execute("", 0), syncMsg)
	got := exchange(t, c,
		msgs(query("PREPARE q AS SELECT name FROM "+tbl)),
		msgs(parse("x", "EXECUTE q"), describe, syncMsg),
		run,
		msgs(query("DEALLOCATE q; PREPARE q AS SELECT ssn FROM "+tbl)),
		run,
		msgs(query("BEGIN; DECLARE c CURSOR FOR SELECT name FROM "+tbl)),
		msgs(&pgproto3.Close{ObjectType: 'S', Name: "x"}, parse("x", "FETCH 1 FROM c"), describe, syncMsg),
		run,
		msgs(query("CLOSE c; DECLARE c CURSOR FOR SELECT ssn FROM "+tbl)),
		run,
		msgs(query("ROLLBACK")),
	)
	want := []string{
		"complete PREPARE", "ready I",
		"parsed", "columns 1", "ready I",
		"bound", "row Ann", "complete SELECT 1", "ready I",
		"complete DEALLOCATE", "complete PREPARE", "ready I",
		"bound", "row [REDACTED]", "complete SELECT 1", "ready I",
		"complete BEGIN", "complete DECLARE CURSOR", "ready T",
		"closed", "parsed", "columns 1", "ready T",
		"bound", "row Ann", "complete FETCH 1", "ready T",
		"complete CLOSE CURSOR", "complete DECLARE CURSOR", "ready T",
		"bound", "row [REDACTED]", "complete FETCH 1", "ready T",
		"complete ROLLBACK", "ready I",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

// After DEALLOCATE ALL the gateway's own work on the session goes on:
// statements prepared again are described and masked as before.
func TestDeallocateAllKeepsMasking(t *testing.T) {
	e, tbl := maskEnv(t)
	c := e.connect(t, "require")
	ctx := context.Background()
	modes := []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeCacheDescribe, pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol}
	for round := range 2 {
		for _, mode := range modes {
			var ssn string
			if err := c.QueryRow(ctx, "SELECT ssn FROM "+tbl+" WHERE id = $1", mode, 1).Scan(&ssn); err != nil {
				t.Fatalf("round %d, %s: %v", round, mode, err)
			}
			if ssn != "[REDACTED]" {
				t.Fatalf("round %d, %s: ssn %q, want it masked", round, mode, ssn)
			}
		}
		if err := c.DeallocateAll(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// The gateway does not follow savepoints: after ROLLBACK TO SAVEPOINT it
// forgets the transaction's cursors, and FETCH from one is refused as not
// declared through the gateway (42501), not answered as missing (34000),
// since the server may still hold it. A WITH HOLD cursor of an earlier,
// committed transaction is not affected.
func TestCursorsAfterRollbackToSavepoint(t *testing.T) {
	e := newEnv(t)
	c := pgconnTo(t, e.dsn("agent1", "require"))
	ctx := context.Background()
	for _, q := range []string{"DECLARE h CURSOR WITH HOLD FOR SELECT 7", "BEGIN",
		"DECLARE c CURSOR FOR SELECT 1", "SAVEPOINT sp", "ROLLBACK TO sp"} {
		if _, err := c.Exec(ctx, q).ReadAll(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_, err := c.Exec(ctx, "FETCH c").ReadAll()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != CodeInsufficientPrivilege || !strings.Contains(pe.Message, "not declared through the gateway") {
		t.Fatalf("FETCH c after ROLLBACK TO: %v, want 42501 not declared through the gateway", err)
	}
	if _, err := c.Exec(ctx, "ROLLBACK").ReadAll(); err != nil {
		t.Fatal(err)
	}
	res, err := c.Exec(ctx, "FETCH h").ReadAll()
	if err != nil || len(res) != 1 || len(res[0].Rows) != 1 || string(res[0].Rows[0][0]) != "7" {
		t.Fatalf("FETCH h: %v %v, want 7", res, err)
	}
}
