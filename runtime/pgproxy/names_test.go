package pgproxy

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/jackc/pgx/v5/pgproto3"
)

// Protocol-level statement and portal names behave through the gateway as
// they do on PostgreSQL: a name used twice fails (42P05, 42P03) and leaves
// the first object as it was, DEALLOCATE ALL and CLOSE ALL drop the
// client's objects, and errors name the client's names, never the
// gateway's upstream ones.
func TestNamesLikePostgres(t *testing.T) {
	e := newEnv(t)
	missing := e.prefix + "_missing"
	cases := []struct {
		name    string
		batches [][]pgproto3.FrontendMessage
		want    []string
	}{{
		name: "statement parsed twice",
		batches: [][]pgproto3.FrontendMessage{
			msgs(parse("s1", "SELECT 1"), syncMsg),
			msgs(parse("s1", "SELECT 2"), syncMsg),
			msgs(bind("", "s1"), execute("", 0), syncMsg),
		},
		want: []string{
			"parsed", "ready I",
			`error 42P05 prepared statement "s1" already exists`, "ready I",
			"bound", "row 1", "complete SELECT 1", "ready I",
		},
	}, {
		name: "statement parsed twice in one batch",
		batches: [][]pgproto3.FrontendMessage{
			msgs(parse("s1", "SELECT 1"), parse("s1", "SELECT 2"), bind("", "s1"), execute("", 0), syncMsg),
			msgs(bind("", "s1"), execute("", 0), syncMsg),
		},
		want: []string{
			"parsed", `error 42P05 prepared statement "s1" already exists`, "ready I",
			"bound", "row 1", "complete SELECT 1", "ready I",
		},
	}, {
		// Written at once: the Bind waits for the answer to the second Parse.
		name: "statement parsed twice, pipelined across Syncs",
		batches: [][]pgproto3.FrontendMessage{
			msgs(parse("s1", "SELECT 1"), syncMsg, parse("s1", "SELECT 2"), syncMsg, bind("", "s1"), execute("", 0), syncMsg),
		},
		want: []string{
			"parsed", "ready I",
			`error 42P05 prepared statement "s1" already exists`, "ready I",
			"bound", "row 1", "complete SELECT 1", "ready I",
		},
	}, {
		name: "statement parsed again after a failed Parse",
		batches: [][]pgproto3.FrontendMessage{
			msgs(parse("s1", "SELECT 1 FROM "+missing), syncMsg),
			msgs(bind("", "s1"), execute("", 0), syncMsg),
			msgs(parse("s1", "SELECT 3"), bind("", "s1"), execute("", 0), syncMsg),
		},
		want: []string{
			`error 42P01 relation "` + missing + `" does not exist`, "ready I",
			`error 26000 prepared statement "s1" does not exist`, "ready I",
			"parsed", "bound", "row 3", "complete SELECT 1", "ready I",
		},
	}, {
		name: "statement parsed again after Close",
		batches: [][]pgproto3.FrontendMessage{
			msgs(parse("s1", "SELECT 1"), &pgproto3.Close{ObjectType: 'S', Name: "s1"}, parse("s1", "SELECT 2"),
				bind("", "s1"), execute("", 0), syncMsg),
		},
		want: []string{"parsed", "closed", "parsed", "bound", "row 2", "complete SELECT 1", "ready I"},
	}, {
		name: "DEALLOCATE ALL drops protocol-level statements",
		batches: [][]pgproto3.FrontendMessage{
			msgs(parse("s1", "SELECT 1"), syncMsg),
			msgs(query("DEALLOCATE ALL")),
			msgs(bind("", "s1"), execute("", 0), syncMsg),
			msgs(parse("s1", "SELECT 2"), syncMsg),
			msgs(bind("", "s1"), execute("", 0), syncMsg),
		},
		want: []string{
			"parsed", "ready I",
			"complete DEALLOCATE ALL", "ready I",
			`error 26000 prepared statement "s1" does not exist`, "ready I",
			"parsed", "ready I",
			"bound", "row 2", "complete SELECT 1", "ready I",
		},
	}, {
		name: "DEALLOCATE ALL in the extended protocol",
		batches: [][]pgproto3.FrontendMessage{
			msgs(parse("s1", "SELECT 1"), syncMsg),
			extended("DEALLOCATE ALL"),
			msgs(bind("", "s1"), execute("", 0), syncMsg),
			msgs(parse("s1", "SELECT 2"), bind("", "s1"), execute("", 0), syncMsg),
		},
		want: []string{
			"parsed", "ready I",
			"parsed", "bound", "complete DEALLOCATE ALL", "ready I",
			`error 26000 prepared statement "s1" does not exist`, "ready I",
			"parsed", "bound", "row 2", "complete SELECT 1", "ready I",
		},
	}, {
		name: "SQL DEALLOCATE of a protocol-level statement",
		batches: [][]pgproto3.FrontendMessage{
			msgs(parse("s1", "SELECT 1"), syncMsg),
			msgs(query("DEALLOCATE s1")),
			msgs(bind("", "s1"), execute("", 0), syncMsg),
			msgs(query("DEALLOCATE s1")),
			msgs(query("EXECUTE s1")),
			msgs(parse("s1", "SELECT 2"), syncMsg),
			msgs(bind("", "s1"), execute("", 0), syncMsg),
		},
		want: []string{
			"parsed", "ready I",
			"complete DEALLOCATE", "ready I",
			`error 26000 prepared statement "s1" does not exist`, "ready I",
			`error 26000 prepared statement "s1" does not exist`, "ready I",
			`error 26000 prepared statement "s1" does not exist`, "ready I",
			"parsed", "ready I",
			"bound", "row 2", "complete SELECT 1", "ready I",
		},
	}, {
		name: "SQL DEALLOCATE of protocol-level statements among other statements",
		batches: [][]pgproto3.FrontendMessage{
			msgs(parse("s1", "SELECT 1"), parse("s2", "SELECT 2"), syncMsg),
			msgs(query("SELECT 7; /* s1 */ DEALLOCATE s1 ;\nDEALLOCATE PREPARE s2; SELECT 8")),
			msgs(bind("", "s1"), execute("", 0), syncMsg),
			msgs(bind("", "s2"), execute("", 0), syncMsg),
			msgs(query("SELECT 9; DEALLOCATE s4")),
		},
		want: []string{
			"parsed", "parsed", "ready I",
			"columns 1", "row 7", "complete SELECT 1", "complete DEALLOCATE", "complete DEALLOCATE",
			"columns 1", "row 8", "complete SELECT 1", "ready I",
			`error 26000 prepared statement "s1" does not exist`, "ready I",
			`error 26000 prepared statement "s2" does not exist`, "ready I",
			"columns 1", "row 9", "complete SELECT 1", `error 26000 prepared statement "s4" does not exist`, "ready I",
		},
	}, {
		name: "SQL DEALLOCATE of a protocol-level statement in the extended protocol",
		batches: [][]pgproto3.FrontendMessage{
			msgs(parse("s1", "SELECT 1"), syncMsg),
			extended("DEALLOCATE PREPARE s1"),
			msgs(bind("", "s1"), execute("", 0), syncMsg),
			extended("DEALLOCATE s1"),
			msgs(parse("s1", "SELECT 2"), bind("", "s1"), execute("", 0), syncMsg),
		},
		want: []string{
			"parsed", "ready I",
			"parsed", "bound", "complete DEALLOCATE", "ready I",
			`error 26000 prepared statement "s1" does not exist`, "ready I",
			"parsed", "bound", `error 26000 prepared statement "s1" does not exist`, "ready I",
			"parsed", "bound", "row 2", "complete SELECT 1", "ready I",
		},
	}, {
		name: "SQL DEALLOCATE of a protocol-level statement: names fold as SQL",
		batches: [][]pgproto3.FrontendMessage{
			msgs(parse("S1", "SELECT 1"), syncMsg),
			msgs(query("DEALLOCATE S1")),
			msgs(query(`DEALLOCATE "S1"`)),
			msgs(bind("", "S1"), execute("", 0), syncMsg),
		},
		want: []string{
			"parsed", "ready I",
			`error 26000 prepared statement "s1" does not exist`, "ready I",
			"complete DEALLOCATE", "ready I",
			`error 26000 prepared statement "S1" does not exist`, "ready I",
		},
	}, {
		// A DEALLOCATE that fails drops nothing.
		name: "SQL DEALLOCATE of a protocol-level statement in an aborted transaction",
		batches: [][]pgproto3.FrontendMessage{
			msgs(parse("s1", "SELECT 1"), syncMsg),
			msgs(query("BEGIN")),
			msgs(query("SELECT 1/0")),
			msgs(query("DEALLOCATE s1")),
			msgs(query("ROLLBACK")),
			msgs(bind("", "s1"), execute("", 0), syncMsg),
		},
		want: []string{
			"parsed", "ready I",
			"complete BEGIN", "ready T",
			"error 22012 division by zero", "ready E",
			"error 25P02 current transaction is aborted, commands ignored until end of transaction block", "ready E",
			"complete ROLLBACK", "ready I",
			"bound", "row 1", "complete SELECT 1", "ready I",
		},
	}, {
		name: "SQL-level and protocol-level DEALLOCATE side by side",
		batches: [][]pgproto3.FrontendMessage{
			msgs(query("PREPARE q AS SELECT 3"), parse("s1", "SELECT 1"), syncMsg),
			msgs(query("DEALLOCATE q")),
			msgs(query("DEALLOCATE s1")),
			msgs(query("EXECUTE q")),
			msgs(bind("", "s1"), execute("", 0), syncMsg),
		},
		want: []string{
			"complete PREPARE", "ready I", "parsed", "ready I",
			"complete DEALLOCATE", "ready I",
			"complete DEALLOCATE", "ready I",
			`error 26000 prepared statement "q" does not exist`, "ready I",
			`error 26000 prepared statement "s1" does not exist`, "ready I",
		},
	}, {
		name: "DISCARD PLANS keeps statements",
		batches: [][]pgproto3.FrontendMessage{
			msgs(parse("s1", "SELECT 1"), syncMsg),
			msgs(query("DISCARD PLANS")),
			msgs(bind("", "s1"), execute("", 0), syncMsg),
		},
		want: []string{
			"parsed", "ready I",
			"complete DISCARD PLANS", "ready I",
			"bound", "row 1", "complete SELECT 1", "ready I",
		},
	}, {
		name: "CLOSE ALL drops protocol-level portals",
		batches: [][]pgproto3.FrontendMessage{
			msgs(query("BEGIN")),
			msgs(parse("s1", "SELECT generate_series(1, 3)"), bind("p1", "s1"), execute("p1", 1), syncMsg),
			msgs(query("CLOSE ALL")),
			msgs(execute("p1", 1), syncMsg),
			msgs(query("ROLLBACK")),
			msgs(bind("p1", "s1"), execute("p1", 0), syncMsg),
		},
		want: []string{
			"complete BEGIN", "ready T",
			"parsed", "bound", "row 1", "suspended", "ready T",
			"complete CLOSE CURSOR ALL", "ready T",
			`error 34000 portal "p1" does not exist`, "ready E",
			"complete ROLLBACK", "ready I",
			"bound", "row 1", "row 2", "row 3", "complete SELECT 3", "ready I",
		},
	}, {
		// The first portal outlives the failed Bind (a savepoint gets
		// past the aborted transaction).
		name: "portal bound twice",
		batches: [][]pgproto3.FrontendMessage{
			msgs(query("BEGIN")),
			msgs(parse("s1", "SELECT 1"), parse("s2", "SELECT 2"), bind("p1", "s1"), syncMsg),
			msgs(query("SAVEPOINT sp")),
			msgs(bind("p1", "s2"), execute("p1", 0), syncMsg),
			msgs(query("ROLLBACK TO sp")),
			msgs(execute("p1", 0), syncMsg),
			msgs(query("COMMIT")),
		},
		want: []string{
			"complete BEGIN", "ready T",
			"parsed", "parsed", "bound", "ready T",
			"complete SAVEPOINT", "ready T",
			`error 42P03 cursor "p1" already exists`, "ready E",
			"complete ROLLBACK", "ready T",
			"row 1", "complete SELECT 1", "ready T",
			"complete COMMIT", "ready I",
		},
	}, {
		// A portal ends with its transaction: the name is free again.
		name: "portal bound again after its transaction",
		batches: [][]pgproto3.FrontendMessage{
			msgs(parse("s1", "SELECT 1"), parse("s2", "SELECT 2"), bind("p1", "s1"), execute("p1", 0), syncMsg),
			msgs(bind("p1", "s2"), execute("p1", 0), syncMsg),
		},
		want: []string{
			"parsed", "parsed", "bound", "row 1", "complete SELECT 1", "ready I",
			"bound", "row 2", "complete SELECT 1", "ready I",
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			likePostgres(t, e, tc.want, tc.batches...)
		})
	}
}

// A message pipelined behind a Parse of a name used again waits for the
// server's answer only so long; then it is refused (fail closed), and the
// session goes on.
func TestNamesPipelinedWaitIsBounded(t *testing.T) {
	e := newEnv(t)
	answerWait = 50 * time.Millisecond
	defer func() { answerWait = time.Minute }()
	c := pgconnTo(t, e.dsn("agent1", "require"))
	got := exchange(t, c,
		msgs(parse("s1", "SELECT 1"), syncMsg),
		msgs(query("SELECT pg_sleep(0.5)"), parse("s1", "SELECT 2"), syncMsg, bind("", "s1"), execute("", 0), syncMsg),
		msgs(bind("", "s1"), execute("", 0), syncMsg),
	)
	want := []string{
		"parsed", "ready I",
		"columns 1", "row ", "complete SELECT 1", "ready I",
		`error 42P05 prepared statement "s1" already exists`, "ready I",
		`error 55000 mandate: prepared statement "s1" was created again in a batch the server has not answered yet`, "ready I",
		"bound", "row 1", "complete SELECT 1", "ready I",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

// A DEALLOCATE parsed for a protocol-level statement that is closed and
// parsed again before it runs would drop the old upstream statement, not
// the new one: it is refused (the gateway's own behaviour; PostgreSQL
// drops the new one).
func TestDeallocateParsedBeforeCloseIsRefused(t *testing.T) {
	e := newEnv(t)
	got := exchange(t, pgconnTo(t, e.dsn("agent1", "require")),
		msgs(parse("s1", "SELECT 1"), parse("d", "DEALLOCATE s1"), syncMsg),
		msgs(&pgproto3.Close{ObjectType: 'S', Name: "s1"}, parse("s1", "SELECT 2"), syncMsg),
		msgs(bind("", "d"), execute("", 0), syncMsg),
		msgs(bind("", "s1"), execute("", 0), syncMsg),
	)
	want := []string{
		"parsed", "parsed", "ready I",
		"closed", "parsed", "ready I",
		"bound", `error 55000 mandate: prepared statement "s1" was closed and parsed again after this DEALLOCATE was parsed`, "ready I",
		"bound", "row 2", "complete SELECT 1", "ready I",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

// In a query string of several statements, a DEALLOCATE of a name that an
// earlier statement of the string PREPAREd drops that SQL-level statement,
// not the client's protocol-level statement of the same name.
func TestDeallocateInStringPrefersSQLLevel(t *testing.T) {
	e := newEnv(t)
	c := pgconnTo(t, e.dsn("agent1", "require"))
	got := exchange(t, c,
		msgs(parse("s3", "SELECT 3"), syncMsg),
		msgs(query("PREPARE s3 AS SELECT 33; DEALLOCATE s3; EXECUTE s3")),
		msgs(bind("", "s3"), execute("", 0), syncMsg),
	)
	want := []string{
		"parsed", "ready I",
		"complete PREPARE", "complete DEALLOCATE", `error 26000 prepared statement "s3" does not exist`, "ready I",
		"bound", "row 3", "complete SELECT 1", "ready I",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}
