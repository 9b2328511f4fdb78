package pgproxy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Round 13 of the red team: decisions bound to state. A statement is
// decided at Parse and its decision stays bound to that text; a string of
// statements is decided all or nothing; a denial leaves the session and its
// transaction state as PostgreSQL would; a read-only grant runs in
// read-only transactions upstream; a requestable statement says how to
// request it. Raw message flows (pipelines with errors before Sync,
// denied Describe, Close and Bind, Flush, runs of Syncs, a Query inside an
// extended batch, denials inside transaction blocks, savepoints, COMMIT
// AND CHAIN) answered as PostgreSQL answers the same flows with the
// gateway's stand-in for the denied statement, and all passed.
//
// Holes found and closed:
//   - A portal that runs a name (EXECUTE, FETCH) keeps the lineage and
//     masking of its first Execute, whose rows PostgreSQL stores, and is
//     described again only before that first Execute. The client loop
//     counted an Execute the server skipped (an earlier error of its
//     batch) as that first one; inside a savepoint the portal survives
//     the error, so after ROLLBACK TO and the name prepared (or declared)
//     again over a masked column, the next Execute ran the new query under
//     the old lineage and the old row description: a raw SSN came back.
//     Fixed: the first Execute's answer is kept (portal.first, set by the
//     relay), and an Execute after one the server skipped or failed is the
//     first again (TestAdversarialRound13SkippedFirstExecute).
//   - The read-only transaction upstream is chosen when the session opens.
//     A session opened while the agent held a write grant went on without
//     it once the grant became read-only (a write class revoked, a
//     writing role's review overdue): a granted function the analysis
//     cannot see (nextval) still wrote. Fixed in checkAllowed: a read-only
//     decision in a session opened read-write is denied, reconnecting opens
//     a read-only one (TestAdversarialRound13ReadOnlyAfterRevoke).
//   - A string whose first refused statement needs an approval was
//     reported as requestable even when a later statement was denied
//     outright, which no approval would let run. Every statement is now
//     decided past one that needs an approval: the first denial wins, else
//     the first approval (TestAdversarialRound13ApprovalInString).

// round13Roles: agent r13 holds role r13 on connection shop. It reads the
// orders table and, with write, updates it; deleting from it is
// requestable. Both versions grant nextval: code the analysis cannot see,
// which only a read-only transaction upstream stops under a read-only
// grant.
func round13Roles(write bool) string {
	stmts := `["select"]`
	if write {
		stmts = `["select", "update"]`
	}
	return `
role "r13" {
  postgres "shop" {
    statements = ` + stmts + `
    tables     = ["public.PREFIX_orders", "public.PREFIX_r13seq"]
    functions  = ["nextval"]
  }

  approval {
    requestable {
      postgres "shop" {
        statements = ["delete"]
        tables     = ["public.PREFIX_orders"]
      }
    }
    approvers     = [group.oncall]
    min_approvals = 1
    max_ttl       = "1h"
  }
}

agent "r13" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "r13"
  }
  roles = [role.r13]
}
`
}

// round13Env is a gateway deciding with testdata/policy and round13Roles
// (write as given), an orders table, a table no grant covers and a
// sequence; it returns the DSN of agent r13.
func round13Env(t *testing.T, write bool) (e *env, pol *enginePolicy, orders, secret, seq, dsn string) {
	t.Helper()
	requirePostgres(t)
	prefix := "pgp_" + randHex(4)
	pol = &enginePolicy{}
	pol.cur.Store(realPolicyWith(t, "testdata/policy", prefix, map[string]string{"r13.hcl": round13Roles(write)}))
	e = newEnv(t, func(c *Config) { c.Policy = pol })
	e.prefix = prefix
	orders = e.table(t, "orders", "id int primary key, status text, customer int", "VALUES (1, 'open', 1)")
	secret = e.table(t, "secret", "id int", "VALUES (1)")
	seq = "public." + prefix + "_r13seq"
	admin(t, "CREATE SEQUENCE "+seq)
	t.Cleanup(func() { admin(t, "DROP SEQUENCE IF EXISTS "+seq) })
	dsn = strings.NewReplacer("dbname=testdb", "dbname=shop", "agent1", "r13").Replace(e.dsn("agent1", "require"))
	return e, pol, orders, secret, seq, dsn
}

// adminValue reads one value over a direct connection.
func adminValue(t testing.TB, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var v string
	if err := c.QueryRow(ctx, sql).Scan(&v); err != nil {
		t.Fatalf("admin %q: %v", sql, err)
	}
	return v
}

// TestAdversarialRound13ReadOnlyAfterRevoke opens a session while the
// agent may update, then revokes the write class: the granted nextval
// must not run outside a read-only transaction, in either protocol, and a
// new session runs read-only.
func TestAdversarialRound13ReadOnlyAfterRevoke(t *testing.T) {
	e, pol, orders, _, seq, dsn := round13Env(t, true)
	ctx := context.Background()
	c := pgconnTo(t, dsn)
	if _, err := c.Exec(ctx, "UPDATE "+orders+" SET status = 'x'").ReadAll(); err != nil {
		t.Fatalf("update under the write grant: %v", err)
	}
	pol.cur.Store(realPolicyWith(t, "testdata/policy", e.prefix, map[string]string{"r13.hcl": round13Roles(false)}))
	next := "SELECT nextval('" + seq + "')"
	for mode, run := range map[string]func() error{
		"simple":   func() error { _, err := c.Exec(ctx, next).ReadAll(); return err },
		"extended": func() error { return c.ExecParams(ctx, next+" + $1", [][]byte{[]byte("0")}, nil, nil, nil).Read().Err },
	} {
		err := run()
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != CodeInsufficientPrivilege || !strings.Contains(pe.Message, "reconnect") {
			t.Errorf("%s: nextval after the write grant was revoked: %v, want a denial (42501) asking to reconnect", mode, err)
		}
	}
	if v := adminValue(t, "SELECT is_called::text FROM "+seq); v != "false" {
		t.Errorf("the sequence advanced in a session whose grant is read-only")
	}
	// The session stays usable, and a new one runs read-only upstream.
	fresh := pgconnTo(t, dsn)
	res, err := fresh.Exec(ctx, "SHOW default_transaction_read_only").ReadAll()
	if err != nil || len(res) != 1 || string(res[0].Rows[0][0]) != "on" {
		t.Fatalf("a new session under the read-only grant: %v %v", res, err)
	}
}

// TestAdversarialRound13ApprovalInString: a requestable statement says how
// to request it, in both protocols and in a pipeline; in a string it
// denies the whole string (nothing of it runs); and a string that also
// holds a statement denied outright is reported as denied, not as
// requestable.
func TestAdversarialRound13ApprovalInString(t *testing.T) {
	_, _, orders, secret, _, dsn := round13Env(t, true)
	ctx := context.Background()
	c := pgconnTo(t, dsn)
	del := "DELETE FROM " + orders + " WHERE id = 1"
	requestable := func(what string, err error) {
		t.Helper()
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != CodeInsufficientPrivilege || !strings.Contains(pe.Message, "needs approval") ||
			!strings.Contains(pe.Hint, "requestable with approval from group oncall (role r13") {
			t.Errorf("%s: %v (hint %q), want 42501 needs approval with how to request it", what, err, hintOf(err))
		}
	}
	denied := func(what string, err error) {
		t.Helper()
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != CodeInsufficientPrivilege || !strings.Contains(pe.Message, "permission denied") ||
			strings.Contains(pe.Message+pe.Hint, "requestable") {
			t.Errorf("%s: %v (hint %q), want 42501 permission denied, not requestable", what, err, hintOf(err))
		}
	}
	_, err := c.Exec(ctx, del).ReadAll()
	requestable("simple", err)
	requestable("extended", c.ExecParams(ctx, del, nil, nil, nil, nil).Read().Err)

	pl := c.StartPipeline(ctx)
	pl.SendQueryParams("SELECT 1", nil, nil, nil, nil)
	pl.SendPipelineSync()
	pl.SendQueryParams(del, nil, nil, nil, nil)
	pl.SendPipelineSync()
	if err := pl.Flush(); err != nil {
		t.Fatal(err)
	}
	var pipeErr error
	for i := 0; i < 4; i++ {
		r, err := pl.GetResults()
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			pipeErr = err
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if rr, ok := r.(*pgconn.ResultReader); ok {
			if err := rr.Read().Err; err != nil {
				pipeErr = err
			}
		}
	}
	if err := pl.Close(); err != nil {
		t.Fatal(err)
	}
	requestable("pipeline", pipeErr)

	// All or nothing: the updates around the requestable delete do not run.
	_, err = c.Exec(ctx, "UPDATE "+orders+" SET status = 'ran'; "+del+"; UPDATE "+orders+" SET status = 'ran2'").ReadAll()
	requestable("string", err)
	if v := adminValue(t, "SELECT status FROM "+orders+" WHERE id = 1"); v != "open" {
		t.Errorf("a statement of a string holding a requestable one ran: status %q", v)
	}
	// A statement denied outright after the requestable one: no approval
	// would let the string run.
	_, err = c.Exec(ctx, del+"; SELECT * FROM "+secret).ReadAll()
	denied("requestable then denied", err)
	denied("requestable then denied, extended", c.ExecParams(ctx, del+"; SELECT * FROM "+secret, nil, nil, nil, nil).Read().Err)
	_, err = c.Exec(ctx, "SELECT * FROM "+secret+"; "+del).ReadAll()
	denied("denied then requestable", err)
	// The session stays usable.
	if _, err := c.Exec(ctx, "SELECT status FROM "+orders).ReadAll(); err != nil {
		t.Fatalf("after the denials: %v", err)
	}
}

func hintOf(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Hint
	}
	return ""
}

func describeMsg(kind byte, name string) *pgproto3.Describe {
	return &pgproto3.Describe{ObjectType: kind, Name: name}
}

// TestAdversarialRound13SkippedFirstExecute binds, in a transaction, a
// portal that runs a name holding an unmasked query and describes it;
// inside a savepoint an error makes the server skip the portal's first
// Execute; after ROLLBACK TO the portal is still there, and the name is
// made to hold a query of the masked column. The next Execute is the
// portal's first: it must be masked as the query the name now holds.
func TestAdversarialRound13SkippedFirstExecute(t *testing.T) {
	e, tbl := maskEnv(t)
	dsn := e.dsn("agent1", "require")
	const raw = "123-45-6789"
	type variant struct {
		setup, swap []pgproto3.FrontendMessage
		run         string
	}
	variants := map[string]variant{
		"execute": {
			setup: msgs(query("PREPARE q13 AS SELECT name FROM " + tbl)),
			swap:  msgs(query("DEALLOCATE q13"), query("PREPARE q13 AS SELECT ssn FROM "+tbl)),
			run:   "EXECUTE q13",
		},
		"execute computed": {
			setup: msgs(query("PREPARE q13 AS SELECT name || '' AS v FROM " + tbl)),
			swap:  msgs(query("DEALLOCATE q13"), query("PREPARE q13 AS SELECT ssn || '' AS v FROM "+tbl)),
			run:   "EXECUTE q13",
		},
		"fetch": {
			setup: msgs(query("DECLARE c13 CURSOR FOR SELECT name FROM " + tbl)),
			swap:  msgs(query("CLOSE c13"), query("DECLARE c13 CURSOR FOR SELECT ssn FROM "+tbl)),
			run:   "FETCH ALL FROM c13",
		},
	}
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			for _, skipped := range []bool{false, true} {
				failing := msgs(parse("", "SELECT 1/0"), bind("", ""), execute("", 0))
				if skipped {
					failing = append(failing, execute("p1", 0))
				}
				got := exchangeOwed(t, pgconnTo(t, dsn), []int{1, 1, 1, 1, 1, 1, 2, 1, 1},
					msgs(query("BEGIN")),
					v.setup,
					msgs(parse("s1", v.run), bind("p1", "s1"), describeMsg('P', "p1"), syncMsg),
					msgs(query("SAVEPOINT sp")),
					append(failing, syncMsg),
					msgs(query("ROLLBACK TO sp")),
					v.swap,
					msgs(execute("p1", 0), syncMsg),
					msgs(query("ROLLBACK")))
				all := strings.Join(got, "\n")
				if strings.Contains(all, raw) {
					t.Errorf("first Execute skipped %v: the raw SSN reached the client:\n%s", skipped, all)
				}
				if !strings.Contains(all, "row [REDACTED]") {
					t.Errorf("first Execute skipped %v: no masked row:\n%s", skipped, all)
				}
			}
		})
	}
}
