package pgproxy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mandatehq/mandate/model"
)

func TestQueryBothProtocols(t *testing.T) {
	e := newEnv(t)
	tbl := e.table(t, "items", "id int primary key, name text", "VALUES (1,'one'),(2,'two')")
	modes := []struct {
		name    string
		sslmode string
		exec    pgx.QueryExecMode
	}{
		{"tls/extended", "require", pgx.QueryExecModeCacheStatement},
		{"tls/describe", "require", pgx.QueryExecModeDescribeExec},
		{"tls/simple", "require", pgx.QueryExecModeSimpleProtocol},
		{"plaintext/extended", "disable", pgx.QueryExecModeCacheStatement},
		{"plaintext/simple", "disable", pgx.QueryExecModeSimpleProtocol},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			c := e.connect(t, m.sslmode)
			ctx := context.Background()
			for i := 0; i < 3; i++ { // repeated: statement cache hits
				rows, err := c.Query(ctx, "SELECT id, name FROM "+tbl+" WHERE id >= $1 ORDER BY id", m.exec, 1)
				if err != nil {
					t.Fatal(err)
				}
				type row struct {
					ID   int
					Name string
				}
				got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff([]row{{1, "one"}, {2, "two"}}, got); d != "" {
					t.Fatalf("rows (-want +got):\n%s", d)
				}
			}
			if got := c.PgConn().ParameterStatus("server_version"); got == "" {
				t.Error("no server_version ParameterStatus relayed")
			}
			var sp string
			if err := c.QueryRow(ctx, "SHOW search_path", m.exec).Scan(&sp); err != nil {
				t.Fatal(err)
			}
			if sp != PinnedSearchPath {
				t.Errorf("search_path = %q, want pinned %q", sp, PinnedSearchPath)
			}
		})
	}
}

func TestDenied(t *testing.T) {
	e := newEnv(t)
	ok := e.table(t, "ok", "id int", "VALUES (1)")
	secret := e.table(t, "secret", "id int", "VALUES (1)")
	appr := e.table(t, "appr", "id int", "VALUES (1)")
	e.policy.set(func(p *testPolicy) {
		p.denied[secret] = true
		p.approval[appr] = true
	})
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec} {
		t.Run(mode.String(), func(t *testing.T) {
			c := e.connect(t, "require")
			ctx := context.Background()
			cases := []struct {
				sql      string
				wantMsg  string
				wantHint string
			}{
				{"SELECT * FROM " + secret, "permission denied by policy: no grant covers select on " + secret + " (rule roles.hcl:7)", "mandate explain"},
				{"SELECT * FROM " + appr, "statement needs approval", "requestable with approval"},
				{"SELECT * FROM " + ok + " ; SELECT * FROM " + secret, "permission denied", ""},
				{"SELEC garbage", "does not parse", ""},
				{"SET ROLE postgres", "permission denied", ""},
			}
			for _, tc := range cases {
				if mode != pgx.QueryExecModeSimpleProtocol && strings.Contains(tc.sql, ";") {
					continue // one statement per Parse
				}
				_, err := c.Exec(ctx, tc.sql, mode)
				var pe *pgconn.PgError
				if !errors.As(err, &pe) {
					t.Fatalf("%s: err = %v, want a PgError", tc.sql, err)
				}
				if pe.Code != CodeInsufficientPrivilege || !strings.Contains(pe.Message, tc.wantMsg) || !strings.Contains(pe.Hint, tc.wantHint) {
					t.Errorf("%s: got %s %q hint %q", tc.sql, pe.Code, pe.Message, pe.Hint)
				}
				// The session stays usable.
				var n int
				if err := c.QueryRow(ctx, "SELECT count(*) FROM "+ok, mode).Scan(&n); err != nil || n != 1 {
					t.Fatalf("after denial: n=%d err=%v", n, err)
				}
			}
		})
	}
}

// A multi-statement string with one denied statement runs none of them.
func TestMultiStatementAllOrNothing(t *testing.T) {
	e := newEnv(t)
	ok := e.table(t, "ok", "id int", "")
	secret := e.table(t, "secret", "id int", "")
	e.policy.set(func(p *testPolicy) { p.denied[secret] = true })
	c := e.connect(t, "require")
	ctx := context.Background()
	_, err := c.Exec(ctx, "INSERT INTO "+ok+" VALUES (1); INSERT INTO "+secret+" VALUES (1)", pgx.QueryExecModeSimpleProtocol)
	if err == nil {
		t.Fatal("want denial")
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM "+ok).Scan(&n); err != nil || n != 0 {
		t.Fatalf("first statement ran: n=%d err=%v", n, err)
	}
}

// Every statement of a denied string is recorded: those before the denied
// one as decided and not executed, the denied one with its denial, and
// those after it as not decided. Each gets one result.
func TestDeniedStringRecordsEveryStatement(t *testing.T) {
	e := newEnv(t)
	ok := e.table(t, "ok", "id int", "")
	secret := e.table(t, "secret", "id int", "")
	e.policy.set(func(p *testPolicy) { p.denied[secret] = true })
	c := e.connect(t, "require")
	ctx := context.Background()
	sql := "INSERT INTO " + ok + " VALUES (1); SELECT id FROM " + secret + "; SELECT 2; SELECT id FROM " + ok
	if _, err := c.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol); err == nil {
		t.Fatal("want denial")
	}
	if _, err := c.Exec(ctx, "SELECT 3"); err != nil { // the string's results are recorded by now
		t.Fatal(err)
	}
	e.rec.mu.Lock()
	decided := append([]StatementRecord(nil), e.rec.decided...)
	e.rec.mu.Unlock()
	completed := e.rec.completedList()
	if len(decided) != 5 || len(completed) != 5 {
		t.Fatalf("%d decided, %d completed; want 5 of each (4 of the string, then SELECT 3)", len(decided), len(completed))
	}
	want := []struct {
		result string
		reason string // prefix of the decision's reason
		err    string // prefix of the result's error
	}{
		{model.Allow, "allowed", notExecutedDenied},
		{model.Deny, "no grant covers", "mandate: permission denied"},
		{model.Deny, notDecided, notExecutedDenied},
		{model.Deny, notDecided, notExecutedDenied},
	}
	for i, w := range want {
		d, r := decided[i], completed[i]
		if d.Seq != r.Seq {
			t.Errorf("statement %d: completed seq %d, decided seq %d", i+1, r.Seq, d.Seq)
		}
		if d.Decision.Result != w.result || !strings.HasPrefix(d.Decision.Reason, w.reason) {
			t.Errorf("statement %d: decision %s %q, want %s %q...", i+1, d.Decision.Result, d.Decision.Reason, w.result, w.reason)
		}
		if !strings.HasPrefix(r.Result.Error, w.err) {
			t.Errorf("statement %d: result error %q, want %q...", i+1, r.Result.Error, w.err)
		}
	}
}

// A denial inside a transaction block aborts it, exactly as a server-side
// error would, and ROLLBACK recovers.
func TestDeniedInTransaction(t *testing.T) {
	e := newEnv(t)
	ok := e.table(t, "ok", "id int", "")
	secret := e.table(t, "secret", "id int", "")
	e.policy.set(func(p *testPolicy) { p.denied[secret] = true })
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		t.Run(mode.String(), func(t *testing.T) {
			c := e.connect(t, "require")
			ctx := context.Background()
			if _, err := c.Exec(ctx, "BEGIN", mode); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Exec(ctx, "INSERT INTO "+ok+" VALUES (1)", mode); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Exec(ctx, "SELECT * FROM "+secret, mode); err == nil {
				t.Fatal("want denial")
			}
			if got := c.PgConn().TxStatus(); got != 'E' {
				t.Fatalf("tx status after denial = %c, want E", got)
			}
			_, err := c.Exec(ctx, "SELECT 1", mode)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "25P02" {
				t.Fatalf("in failed tx: %v, want 25P02", err)
			}
			if _, err := c.Exec(ctx, "ROLLBACK", mode); err != nil {
				t.Fatal(err)
			}
			if got := c.PgConn().TxStatus(); got != 'I' {
				t.Fatalf("tx status after rollback = %c", got)
			}
			var n int
			if err := c.QueryRow(ctx, "SELECT count(*) FROM "+ok, mode).Scan(&n); err != nil || n != 0 {
				t.Fatalf("rolled back insert visible: n=%d err=%v", n, err)
			}
		})
	}
}

// Pipelined extended-protocol batches: a denied Parse fails its batch only.
func TestPipeline(t *testing.T) {
	e := newEnv(t)
	ok := e.table(t, "ok", "id int", "VALUES (7)")
	secret := e.table(t, "secret", "id int", "VALUES (1)")
	e.policy.set(func(p *testPolicy) { p.denied[secret] = true })
	c := e.connect(t, "require")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pl := c.PgConn().StartPipeline(ctx)
	pl.SendPrepare("s1", "SELECT id FROM "+ok, nil)
	pl.SendQueryPrepared("s1", nil, nil, nil)
	pl.SendPipelineSync()
	pl.SendQueryParams("SELECT id FROM "+secret, nil, nil, nil, nil)
	pl.SendQueryParams("SELECT id FROM "+ok, nil, nil, nil, nil) // skipped: same batch
	pl.SendPipelineSync()
	pl.SendQueryPrepared("s1", nil, nil, nil)
	pl.SendPipelineSync()
	if err := pl.Flush(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		r, err := pl.GetResults()
		if err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) {
				got = append(got, "error "+pe.Code)
				continue
			}
			t.Fatal(err)
		}
		if r == nil {
			break
		}
		switch r := r.(type) {
		case *pgconn.StatementDescription:
			got = append(got, "prepared")
		case *pgconn.ResultReader:
			res := r.Read()
			if res.Err != nil {
				var pe *pgconn.PgError
				errors.As(res.Err, &pe)
				got = append(got, "error "+pe.Code)
			} else {
				got = append(got, "rows "+string(res.Rows[0][0]))
			}
		case *pgconn.PipelineSync:
			got = append(got, "sync")
		}
		if len(got) > 20 {
			break
		}
	}
	if err := pl.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{"prepared", "rows 7", "sync", "error 42501", "sync", "rows 7", "sync"}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("pipeline (-want +got):\n%s", d)
	}
}

// Revocation applies to the next statement of an open session, prepared
// statements included.
func TestRevocationAppliesToOpenSessions(t *testing.T) {
	e := newEnv(t)
	tbl := e.table(t, "t", "id int", "VALUES (1)")
	c := e.connect(t, "require")
	ctx := context.Background()
	q := "SELECT id FROM " + tbl
	var n int
	if err := c.QueryRow(ctx, q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	e.policy.set(func(p *testPolicy) { p.denied[tbl] = true })
	err := c.QueryRow(ctx, q).Scan(&n) // cached prepared statement
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != CodeInsufficientPrivilege {
		t.Fatalf("after revocation: %v", err)
	}
	// Granted again: the same cached statement runs again.
	e.policy.set(func(p *testPolicy) { delete(p.denied, tbl) })
	if err := c.QueryRow(ctx, q).Scan(&n); err != nil || n != 1 {
		t.Fatalf("granted again: n=%d err=%v", n, err)
	}
}

func TestRecording(t *testing.T) {
	e := newEnv(t)
	tbl := e.table(t, "t", "id int, note text", "VALUES (1, 'secret literal')")
	secret := e.table(t, "secret", "id int", "")
	e.policy.set(func(p *testPolicy) { p.denied[secret] = true })
	c := e.connect(t, "require")
	ctx := context.Background()
	if _, err := c.Exec(ctx, "SELECT * FROM "+tbl+" WHERE note = 'secret literal'", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	_, _ = c.Exec(ctx, "SELECT * FROM "+secret, pgx.QueryExecModeSimpleProtocol)
	_, _ = c.Exec(ctx, "SELECT 1/0", pgx.QueryExecModeSimpleProtocol)
	c.Close(ctx)
	waitFor(t, "session end", func() bool {
		e.rec.mu.Lock()
		defer e.rec.mu.Unlock()
		return len(e.rec.ended) == 1
	})
	got := e.rec.completedList()
	if len(got) != 3 {
		t.Fatalf("completed %d records, want 3: %+v", len(got), got)
	}
	type sum struct {
		Result, Tag, SQLState, Redacted string
		Rows                            int64
	}
	var sums []sum
	for _, r := range got {
		sums = append(sums, sum{r.Decision.Result, r.Result.Tag, r.Result.SQLState, r.Redacted(), r.Result.Rows})
	}
	want := []sum{
		{model.Allow, "SELECT 1", "", "SELECT * FROM " + tbl + " WHERE note = $1", 1},
		{model.Deny, "", CodeInsufficientPrivilege, "SELECT * FROM " + secret, 0},
		{model.Allow, "", "22012", "SELECT $1/$2", 0},
	}
	if d := cmp.Diff(want, sums); d != "" {
		t.Fatalf("records (-want +got):\n%s", d)
	}
}
