package pgproxy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// The cursor suite attacks how the gateway follows SQL-level cursors (and
// the SQL-level prepared statements EXECUTE runs) through the server's
// transactions: FETCH and EXECUTE are decided and masked as the query the
// gateway believes the name holds, so any sequence after which the server
// runs another query under that name than the one the gateway decided on
// leaks. It drives the adversarial fixture (adversarial_test.go) in the
// simple protocol, the extended protocol (with and without a portal
// Describe, as drivers and libpq's prepared flow do), waiting for each
// answer or pipelining every round trip at once; raw message flows bind
// portals before the names they run change; flows pipelined behind a
// statement that waits on a lock let the gateway decide while the server
// has answered nothing yet. It also attacks the catalog helpers recently
// added to the analyzer's safe set.
//
// Oracle: no raw secret appears in any byte the client receives; named
// steps must be denied (42501 from the gateway); flows marked rows must
// return rows (they are not vacuous).

// Queries of the same shape (text, text, int): computed columns, whose
// masking follows the lineage of the query the gateway decided on, and
// plain columns, whose masking follows the RowDescription's origin.
const (
	curSecret       = "SELECT upper(ssn) AS s, card || '' AS c, coalesce(salary, 0) AS n FROM P_cust"
	curPlain        = "SELECT upper(name) AS s, name || '' AS c, id + 0 AS n FROM P_cust"
	curSecretDirect = "SELECT ssn, card, salary FROM P_cust"
	curPlainDirect  = "SELECT name, name AS n2, id FROM P_cust"
)

// curOpenPending was the hole of sqlTracker.lookup with statements
// pending, fixed (a pending ROLLBACK TO makes every object the name held a
// candidate): while ROLLBACK TO SAVEPOINT (or a COMMIT/ROLLBACK skipped after an error) is pending, lookup drops the transaction's non-hold cursors, but a cursor declared before the savepoint survives it: FETCH is decided as a hold cursor of the same name whose DECLARE fails.
const curOpenPending = ""

// curStep is what one round trip (one ReadyForQuery) brought back.
type curStep struct {
	rows   int
	errs   []string
	denied bool
}

func (s curStep) String() string {
	switch {
	case s.denied:
		return "denied"
	case len(s.errs) > 0:
		return "error " + strings.Join(s.errs, "; ")
	}
	return fmt.Sprintf("ok(%d rows)", s.rows)
}

// curSession is a tapped session driven message by message.
type curSession struct {
	t  *testing.T
	tp *tapped
	fe *pgproto3.Frontend
	// ended is set when the gateway ended the session (FATAL or EOF).
	ended bool
}

func (a *advEnv) curSession(t *testing.T, agent string) *curSession {
	t.Helper()
	if agent == "" {
		agent = "reader"
	}
	tp, err := a.connectTapped(t, agent, nil)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	tp.tap.take()
	return &curSession{t: t, tp: tp, fe: tp.pc.Frontend()}
}

// send writes msgs at once and returns how many ReadyForQuery they owe.
func (cs *curSession) send(msgs ...pgproto3.FrontendMessage) int {
	cs.t.Helper()
	want := 0
	for _, m := range msgs {
		switch m.(type) {
		case *pgproto3.Sync, *pgproto3.Query:
			want++
		}
		cs.fe.Send(m)
	}
	if err := cs.fe.Flush(); err != nil {
		cs.t.Fatalf("sending: %v", err)
	}
	return want
}

// read collects the answers of n round trips, one curStep each.
func (cs *curSession) read(n int) []curStep {
	cs.t.Helper()
	_ = cs.tp.pc.Conn().SetReadDeadline(time.Now().Add(40 * time.Second))
	defer func() { _ = cs.tp.pc.Conn().SetReadDeadline(time.Time{}) }()
	var out []curStep
	var cur curStep
	for len(out) < n && !cs.ended {
		msg, err := cs.fe.Receive()
		if err != nil {
			cs.ended = true
			break
		}
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			cur.rows++
		case *pgproto3.ErrorResponse:
			cur.errs = append(cur.errs, m.Code+" "+m.Message)
			if m.Code == CodeInsufficientPrivilege && strings.HasPrefix(m.Message, "mandate:") {
				cur.denied = true
			}
			if m.Severity == "FATAL" {
				cs.ended = true
			}
		case *pgproto3.ReadyForQuery:
			out = append(out, cur)
			cur = curStep{}
		}
	}
	return out
}

// roundTrip sends msgs and reads their answers.
func (cs *curSession) roundTrip(msgs ...pgproto3.FrontendMessage) []curStep {
	cs.t.Helper()
	return cs.read(cs.send(msgs...))
}

// leakCheck fails when a secret reached the client since the last check.
func (cs *curSession) leakCheck(what string) {
	cs.t.Helper()
	if s := leaked(cs.tp.tap.take()); s != "" {
		cs.t.Errorf("%s: secret %q reached the client", what, s)
	}
}

// curModes are the ways one SQL step goes to the gateway.
var curModes = []string{"simple", "extended", "prepared"}

// stepMsgs is sql as one round trip in mode: a Query; Parse/Bind/Describe
// portal/Execute/Sync of the unnamed statement (text results); or a named
// statement described at Parse, bound and executed without a portal
// Describe (the gateway describes the portal itself) and closed.
func stepMsgs(mode, sql string) []pgproto3.FrontendMessage {
	switch mode {
	case "extended":
		return msgs(parse("", sql), bind("", ""), &pgproto3.Describe{ObjectType: 'P'}, execute("", 0), syncMsg)
	case "prepared":
		return msgs(parse("cs", sql), &pgproto3.Describe{ObjectType: 'S', Name: "cs"}, bind("", "cs"), execute("", 0),
			&pgproto3.Close{ObjectType: 'S', Name: "cs"}, syncMsg)
	}
	return msgs(query(sql))
}

// curFlow is a sequence of statements, one round trip each.
type curFlow struct {
	name   string
	agent  string   // default reader
	steps  []string // P_ is the fixture prefix
	simple bool     // simple protocol only (several statements in a step)
	deny   []int    // steps the gateway must deny
	// denyWaited are steps the gateway must deny when every step is
	// answered before the next (pipelined, it may rightly allow them).
	denyWaited []int
	rows       bool // some step returns rows
	open       string
	// openPipelined is a known hole of the pipelined runs only.
	openPipelined string
}

var curFlows = []curFlow{
	// WITH HOLD cursors across commits, explicit and implicit.
	{name: "hold cursor after implicit commit", rows: true,
		steps: []string{"DECLARE h CURSOR WITH HOLD FOR " + curSecret, "FETCH ALL h", "FETCH ABSOLUTE 1 FROM h", "CLOSE h"}},
	{name: "hold cursor after explicit commit", rows: true,
		steps: []string{"BEGIN", "DECLARE h CURSOR WITH HOLD FOR " + curSecret, "COMMIT", "FETCH ALL h", "CLOSE h"}},
	{name: "hold cursor direct columns", rows: true,
		steps: []string{"DECLARE h CURSOR WITH HOLD FOR " + curSecretDirect, "FETCH ALL h", "CLOSE h"}},
	{name: "hold cursor whole row and field notation", rows: true,
		steps: []string{"DECLARE h CURSOR WITH HOLD FOR SELECT c, c.concat FROM P_cust c", "FETCH ALL h", "CLOSE h"}},
	{name: "hold cursor over view and partition", rows: true,
		steps: []string{"DECLARE h1 CURSOR WITH HOLD FOR SELECT * FROM P_cust_v", "DECLARE h2 CURSOR WITH HOLD FOR SELECT * FROM P_part",
			"FETCH ALL h1", "FETCH ALL h2", "CLOSE ALL"}},
	{name: "binary hold cursor", rows: true,
		steps: []string{"DECLARE h BINARY CURSOR WITH HOLD FOR " + curSecret, "FETCH ALL h", "CLOSE h"}},

	// The same name in successive transactions: the second query runs.
	{name: "redeclared in the next transaction", rows: true,
		steps: []string{"BEGIN", "DECLARE c CURSOR FOR " + curPlain, "COMMIT", "BEGIN", "DECLARE c CURSOR FOR " + curSecret, "FETCH ALL c", "ROLLBACK"}},
	{name: "hold cursor rolled back, then declared again", rows: true,
		steps: []string{"BEGIN", "DECLARE h CURSOR WITH HOLD FOR " + curPlain, "ROLLBACK", "DECLARE h CURSOR WITH HOLD FOR " + curSecret, "FETCH ALL h", "CLOSE h"}},
	{name: "hold cursor of a failed transaction (COMMIT answers ROLLBACK)", rows: true,
		steps: []string{"BEGIN", "DECLARE h CURSOR WITH HOLD FOR " + curPlain, "SELECT 1/0", "COMMIT", "DECLARE h CURSOR WITH HOLD FOR " + curSecret, "FETCH ALL h", "CLOSE h"}},
	{name: "commit and chain", rows: true,
		steps: []string{"BEGIN", "DECLARE c CURSOR FOR " + curPlain, "COMMIT AND CHAIN", "DECLARE c CURSOR FOR " + curSecret, "FETCH ALL c", "ROLLBACK"}},
	{name: "commit and chain of a failed transaction", rows: true,
		steps: []string{"BEGIN", "DECLARE h CURSOR WITH HOLD FOR " + curPlain, "SELECT 1/0", "COMMIT AND CHAIN",
			"DECLARE h CURSOR WITH HOLD FOR " + curSecret, "FETCH ALL h", "COMMIT", "FETCH ABSOLUTE 2 FROM h", "CLOSE h"}},
	{name: "end and abort", rows: true,
		steps: []string{"BEGIN", "DECLARE h CURSOR WITH HOLD FOR " + curPlain, "ABORT", "START TRANSACTION", "DECLARE h CURSOR WITH HOLD FOR " + curSecret,
			"END", "FETCH ALL h", "CLOSE h"}},
	{name: "close all", rows: true,
		steps: []string{"DECLARE h1 CURSOR WITH HOLD FOR " + curPlain, "CLOSE ALL", "DECLARE h1 CURSOR WITH HOLD FOR " + curSecret, "FETCH ALL h1", "CLOSE ALL"}},
	{name: "close one of two", rows: true,
		steps: []string{"DECLARE h1 CURSOR WITH HOLD FOR " + curSecret, "DECLARE h2 CURSOR WITH HOLD FOR " + curPlain, "CLOSE h2",
			"DECLARE h2 CURSOR WITH HOLD FOR " + curSecretDirect, "FETCH ALL h1", "FETCH ALL h2", "CLOSE ALL"}},
	{name: "discard keeps cursors", rows: true, deny: []int{5},
		steps: []string{"BEGIN", "DECLARE c CURSOR FOR " + curSecret, "DISCARD PLANS", "DISCARD SEQUENCES", "FETCH ALL c", "DISCARD ALL", "ROLLBACK"}},

	// Savepoints.
	{name: "rollback to savepoint, then declared again", rows: true,
		steps: []string{"BEGIN", "SAVEPOINT s", "DECLARE c CURSOR FOR " + curPlain, "ROLLBACK TO s", "DECLARE c CURSOR FOR " + curSecret, "FETCH ALL c", "ROLLBACK"}},
	{name: "rollback to savepoint keeps an older cursor", denyWaited: []int{4},
		steps: []string{"BEGIN", "DECLARE c CURSOR FOR " + curSecret, "SAVEPOINT s", "ROLLBACK TO s", "FETCH ALL c",
			"DECLARE c CURSOR FOR " + curPlain, "FETCH ALL c", "ROLLBACK"}},
	// Pipelined, FETCH is decided while ROLLBACK TO and the DECLARE ...
	// WITH HOLD (which fails: the transaction is aborted by the denied
	// FETCH) are pending: as the hold cursor, while the older one runs.
	{name: "rollback to savepoint, hold cursor of the name declared after", denyWaited: []int{4}, openPipelined: curOpenPending,
		steps: []string{"BEGIN", "DECLARE c CURSOR FOR " + curSecret, "SAVEPOINT s", "ROLLBACK TO s", "FETCH ALL c",
			"DECLARE c CURSOR WITH HOLD FOR " + curPlain, "ROLLBACK TO s", "FETCH ALL c", "COMMIT", "FETCH ALL c"}},
	{name: "release savepoint", rows: true,
		steps: []string{"BEGIN", "SAVEPOINT s", "DECLARE c CURSOR FOR " + curSecret, "RELEASE s", "FETCH ALL c", "ROLLBACK"}},
	{name: "hold cursor declared in a savepoint, committed", rows: true,
		steps: []string{"BEGIN", "SAVEPOINT s", "DECLARE h CURSOR WITH HOLD FOR " + curPlain, "ROLLBACK TO s",
			"DECLARE h CURSOR WITH HOLD FOR " + curSecret, "COMMIT", "FETCH ALL h", "CLOSE h"}},

	// Scrolling and moving.
	{name: "scroll, move and fetch backward", rows: true,
		steps: []string{"BEGIN", "DECLARE c SCROLL CURSOR FOR " + curSecret, "MOVE LAST IN c", "FETCH BACKWARD ALL FROM c",
			"FETCH ABSOLUTE 1 FROM c", "FETCH RELATIVE 0 FROM c", "MOVE ABSOLUTE 0 IN c", "FETCH FORWARD 2 FROM c", "ROLLBACK"}},

	// Names: quoting and case folding, truncation to 63 bytes, the
	// gateway's own upstream names.
	{name: "quoted and folded names", rows: true,
		steps: []string{"BEGIN", `DECLARE "C" CURSOR FOR ` + curSecret, "DECLARE c CURSOR FOR " + curPlain, `FETCH ALL "C"`, "FETCH ALL C", "ROLLBACK"}},
	{name: "names truncated to 63 bytes", rows: true,
		steps: []string{"BEGIN", "DECLARE " + strings.Repeat("k", 63) + "x CURSOR FOR " + curSecret,
			"FETCH ALL " + strings.Repeat("k", 63) + "y", `FETCH ALL "` + strings.Repeat("k", 63) + `"`, "ROLLBACK"}},
	{name: "gateway portal and statement names", deny: []int{1, 2, 3, 4, 5, 6},
		steps: []string{"BEGIN", "DECLARE mandate_p1 CURSOR FOR " + curSecret, "FETCH ALL mandate_p1", `FETCH ALL "MANDATE_P1"`,
			"CLOSE mandate_denied", "MOVE mandate_p2", "PREPARE mandate_s1 AS " + curSecret, "ROLLBACK"}},

	// PREPARE/EXECUTE and DECLARE-like statements.
	{name: "prepare of a declare", deny: []int{0},
		steps: []string{"PREPARE q AS DECLARE c CURSOR FOR " + curSecret, "EXECUTE q"}},
	{name: "declare of an execute", deny: []int{1},
		steps: []string{"PREPARE q AS " + curSecret, "DECLARE c CURSOR WITH HOLD FOR EXECUTE q", "FETCH ALL c", "DEALLOCATE q"}},
	{name: "explain of a declare creates no cursor", deny: []int{2},
		steps: []string{"BEGIN", "EXPLAIN ANALYZE DECLARE c CURSOR FOR " + curSecret, "FETCH ALL c", "ROLLBACK"}},
	{name: "prepared again under the same name", rows: true,
		steps: []string{"PREPARE q AS " + curPlain, "DEALLOCATE q", "PREPARE q AS " + curSecret, "EXECUTE q", "DEALLOCATE q"}},

	// Errors raised while fetching: the cursor's masking covers them.
	{name: "cast error at fetch",
		steps: []string{"BEGIN", "DECLARE c CURSOR FOR SELECT ssn::regclass, chr(salary) FROM P_cust", "FETCH 1 FROM c", "ROLLBACK"}},
	{name: "cast error at fetch after commit",
		steps: []string{"BEGIN", "DECLARE c CURSOR FOR SELECT make_date(salary, 1, 1) FROM P_cust", "FETCH ALL c", "ROLLBACK"}},

	// Several statements in one string.
	{name: "string: declare and fetch in the implicit block", simple: true, rows: true,
		steps: []string{"DECLARE c CURSOR FOR " + curSecret + "; FETCH ALL c"}},
	{name: "string: commit between two declarations", simple: true, rows: true,
		steps: []string{"BEGIN; DECLARE c CURSOR FOR " + curPlain + "; COMMIT; BEGIN; DECLARE c CURSOR FOR " + curSecret + "; FETCH ALL c; ROLLBACK"}},
	{name: "string: error in the middle", simple: true, rows: true,
		steps: []string{"BEGIN; DECLARE c CURSOR FOR " + curPlain + "; SELECT 1/0; DECLARE d CURSOR FOR " + curPlain,
			"ROLLBACK; BEGIN; DECLARE c CURSOR FOR " + curSecret + "; FETCH ALL c", "FETCH ALL d", "ROLLBACK"}},
	{name: "string: hold cursor of an implicit transaction that fails", simple: true, rows: true,
		steps: []string{"DECLARE h CURSOR WITH HOLD FOR " + curPlain + "; SELECT 1/0", "DECLARE h CURSOR WITH HOLD FOR " + curSecret, "FETCH ALL h", "CLOSE h"}},
	{name: "string: hold cursor committed before an error", simple: true, rows: true,
		steps: []string{"DECLARE h CURSOR WITH HOLD FOR " + curSecret + "; COMMIT; SELECT 1/0", "FETCH ALL h", "CLOSE h"}},
	// The DECLARE fails (c exists), so the FETCH decided as it never runs.
	{name: "string: rollback to savepoint and fetch", simple: true,
		steps: []string{"BEGIN; DECLARE c CURSOR FOR " + curSecret + "; SAVEPOINT s; ROLLBACK TO s; DECLARE c CURSOR WITH HOLD FOR " + curPlain + "; FETCH ALL c", "ROLLBACK"}},

	// Tables the agent is denied (the loader reads P_other and P_cust only).
	{name: "denied table through a cursor", agent: "loader", deny: []int{1, 2, 4},
		steps: []string{"BEGIN", "DECLARE c CURSOR FOR SELECT * FROM P_part", "FETCH ALL c", "DECLARE c CURSOR FOR SELECT id FROM P_other", "DECLARE d CURSOR FOR SELECT * FROM P_part_eu", "ROLLBACK"}},
	{name: "denied table after close", agent: "loader",
		steps: []string{"BEGIN", "DECLARE c CURSOR FOR SELECT id FROM P_other", "CLOSE c", "DECLARE c CURSOR FOR SELECT * FROM P_cust_v", "FETCH ALL c", "ROLLBACK"}, deny: []int{3}},
}

// TestAdversarialCursorFlows runs every flow in every mode, each round trip
// answered before the next is sent, and pipelined (every round trip
// written at once, so that the gateway decides later statements before
// the server has answered earlier ones).
func TestAdversarialCursorFlows(t *testing.T) {
	a := newAdvEnv(t)
	for _, f := range curFlows {
		t.Run(f.name, func(t *testing.T) {
			skipOpen(t, f.open)
			modes := curModes
			if f.simple {
				modes = modes[:1]
			}
			for _, mode := range modes {
				for _, pipelined := range []bool{false, true} {
					t.Run(fmt.Sprintf("%s/pipelined=%v", mode, pipelined), func(t *testing.T) {
						if pipelined {
							skipOpen(t, f.openPipelined)
						}
						cs := a.curSession(t, f.agent)
						var got []curStep
						if pipelined {
							var all []pgproto3.FrontendMessage
							for _, s := range f.steps {
								all = append(all, stepMsgs(mode, a.sql(s))...)
							}
							got = cs.roundTrip(all...)
						} else {
							for _, s := range f.steps {
								got = append(got, cs.roundTrip(stepMsgs(mode, a.sql(s))...)...)
							}
						}
						cs.leakCheck(mode)
						t.Logf("%v", got)
						if len(got) != len(f.steps) {
							t.Fatalf("%d answers for %d steps (session ended: %v)", len(got), len(f.steps), cs.ended)
						}
						deny := f.deny
						if !pipelined {
							deny = append(deny[:len(deny):len(deny)], f.denyWaited...)
						}
						for _, i := range deny {
							if !got[i].denied {
								t.Errorf("step %d (%.60s): %s, want a denial", i, f.steps[i], got[i])
							}
						}
						if f.rows {
							n := 0
							for _, s := range got {
								n += s.rows
							}
							if n == 0 {
								t.Errorf("no rows came back")
							}
						}
					})
				}
			}
		})
	}
}

// TestAdversarialCursorHoldCommitError: a WITH HOLD cursor's query runs to
// its end when its transaction commits, so the errors its rows raise come
// back as the COMMIT's (or the Sync's, for an implicit transaction of the
// extended protocol), a statement that itself reads nothing.
func TestAdversarialCursorHoldCommitError(t *testing.T) {
	a := newAdvEnv(t)
	const (
		// Fixed: errors of a committing transaction are masked with its
		// WITH HOLD cursors' masking (tracker.holdMasks). Were open: errors raised when a WITH HOLD cursor is materialized at COMMIT are masked as the COMMIT's, which reads nothing: ssn::regclass (42P01) and chr(salary) (54000) quote the value, make_date(salary, 1, 1) (22008) prints it unquoted;
		// an error raised at Sync, when the implicit transaction of a DECLARE ... WITH HOLD commits, belongs to no statement: masked by the session's latest masking (none in a new session), not as reading masked columns.
		openCommit = ""
		openSync   = ""
	)
	exprs := []string{"ssn::regclass", "chr(salary)", "make_date(salary, 1, 1)", "ssn::int"}
	for _, expr := range exprs {
		decl := "DECLARE h CURSOR WITH HOLD FOR SELECT id, " + expr + " FROM P_cust"
		commitOpen := openCommit
		if expr == "ssn::int" {
			commitOpen = "" // 22P02 quotes the value, and quoted values of class 22 are hidden
		}
		flows := []struct {
			name  string
			steps []string
			modes []string
			open  string
		}{
			{name: "one string", steps: []string{"BEGIN; " + decl + "; COMMIT"}, modes: curModes[:1]},
			{name: "implicit, one string", steps: []string{decl}, modes: curModes[:1]},
			{name: "explicit commit", steps: []string{"BEGIN", decl, "COMMIT"}, modes: curModes, open: commitOpen},
			{name: "commit and chain", steps: []string{"BEGIN", decl, "COMMIT AND CHAIN", "ROLLBACK"}, modes: curModes, open: commitOpen},
			{name: "end", steps: []string{"START TRANSACTION", decl, "END"}, modes: curModes[:1], open: commitOpen},
			{name: "implicit, extended protocol", steps: []string{decl}, modes: curModes[1:], open: openSync},
		}
		for _, f := range flows {
			t.Run(expr+"/"+f.name, func(t *testing.T) {
				skipOpen(t, f.open)
				for _, mode := range f.modes {
					cs := a.curSession(t, "")
					var got []curStep
					for _, s := range f.steps {
						got = append(got, cs.roundTrip(stepMsgs(mode, a.sql(s))...)...)
					}
					cs.leakCheck(mode)
					t.Logf("%s: %v", mode, got)
				}
			})
		}
	}
}

// rawFlow is a sequence of message batches, each answered before the next.
type rawFlow struct {
	name    string
	batches [][]pgproto3.FrontendMessage
	open    string
}

// TestAdversarialCursorPortalBoundEarly binds a portal that runs a name
// (FETCH, EXECUTE) and changes what the name holds before executing it.
// PostgreSQL fixes the portal's row description at Bind (the cursor or
// statement the name held then, or none) but runs the name as it is at
// Execute: the gateway decides on the latter and must not mask by the
// former.
func TestAdversarialCursorPortalBoundEarly(t *testing.T) {
	a := newAdvEnv(t)
	// Fixed (the gateway describes such a portal again before its first
	// Execute). Was open: a portal running FETCH/EXECUTE keeps the row
	// description of Bind time; rows of the query the name holds at
	// Execute were masked by it (or, with NoData, not at all).
	const open = ""
	q := func(s string) *pgproto3.Query { return query(a.sql(s)) }
	pq := func(name, s string) *pgproto3.Parse { return parse(name, a.sql(s)) }
	run := func(s string) []pgproto3.FrontendMessage {
		return msgs(pq("", s), bind("", ""), execute("", 0))
	}
	describeP := &pgproto3.Describe{ObjectType: 'P', Name: "p"}
	describeE := &pgproto3.Describe{ObjectType: 'P', Name: "p"}
	flows := []rawFlow{
		// Described by the client right after Bind: the gateway masks by
		// that description (origins of the old cursor's columns).
		{name: "fetch: cursor declared again, portal described at bind", open: open, batches: [][]pgproto3.FrontendMessage{
			msgs(q("BEGIN; DECLARE c CURSOR FOR " + curPlainDirect)),
			msgs(pq("f", "FETCH ALL FROM c"), bind("p", "f"), describeP, syncMsg),
			msgs(q("CLOSE c; DECLARE c CURSOR FOR " + curSecretDirect)),
			msgs(execute("p", 0), syncMsg),
			msgs(q("ROLLBACK")),
		}},
		{name: "fetch: one batch, portal described at bind", open: open, batches: [][]pgproto3.FrontendMessage{
			msgs(q("BEGIN")),
			append(append(append(run("DECLARE c CURSOR FOR "+curPlainDirect), pq("f", "FETCH ALL FROM c"), bind("p", "f"), describeP),
				append(run("CLOSE c"), run("DECLARE c CURSOR FOR "+curSecretDirect)...)...), execute("p", 0), syncMsg),
			msgs(q("ROLLBACK")),
		}},
		{name: "execute: statement prepared again, portal described at bind", open: open, batches: [][]pgproto3.FrontendMessage{
			msgs(q("PREPARE q AS " + curPlainDirect)),
			msgs(q("BEGIN")),
			msgs(pq("e", "EXECUTE q"), bind("p", "e"), describeE, syncMsg),
			msgs(q("DEALLOCATE q")),
			msgs(q("PREPARE q AS " + curSecretDirect)),
			msgs(execute("p", 0), syncMsg),
			msgs(q("ROLLBACK; DEALLOCATE ALL")),
		}},
		// Not described by the client: the gateway's own Describe goes
		// just before Execute, and PostgreSQL takes the columns' origins
		// from what the name holds then (must stay masked).
		{name: "fetch: cursor declared again, same shape", batches: [][]pgproto3.FrontendMessage{
			msgs(q("BEGIN; DECLARE c CURSOR FOR " + curPlainDirect)),
			msgs(pq("f", "FETCH ALL FROM c"), bind("p", "f"), syncMsg),
			msgs(q("CLOSE c; DECLARE c CURSOR FOR " + curSecretDirect)),
			msgs(execute("p", 0), syncMsg),
			msgs(q("ROLLBACK")),
		}},
		{name: "fetch: one batch", batches: [][]pgproto3.FrontendMessage{
			msgs(q("BEGIN")),
			append(append(append(run("DECLARE c CURSOR FOR "+curPlainDirect), pq("f", "FETCH ALL FROM c"), bind("p", "f")),
				append(run("CLOSE c"), run("DECLARE c CURSOR FOR "+curSecretDirect)...)...), execute("p", 0), syncMsg),
			msgs(q("ROLLBACK")),
		}},
		{name: "execute: statement prepared again, same shape", batches: [][]pgproto3.FrontendMessage{
			msgs(q("PREPARE q AS " + curPlainDirect)),
			msgs(q("BEGIN")),
			msgs(pq("e", "EXECUTE q"), bind("p", "e"), syncMsg),
			msgs(q("DEALLOCATE q")),
			msgs(q("PREPARE q AS " + curSecretDirect)),
			msgs(execute("p", 0), syncMsg),
			msgs(q("ROLLBACK; DEALLOCATE ALL")),
		}},
		// No cursor or statement at Bind: PostgreSQL runs the portal as a
		// multi-query one and discards the rows of an Execute.
		{name: "fetch: no cursor at bind", batches: [][]pgproto3.FrontendMessage{
			msgs(q("BEGIN; DECLARE c CURSOR FOR SELECT 1")),
			msgs(pq("f", "FETCH ALL FROM c"), syncMsg),
			msgs(q("CLOSE c")),
			msgs(bind("p", "f"), describeP, syncMsg),
			msgs(q("DECLARE c CURSOR FOR " + curSecret)),
			msgs(execute("p", 0), syncMsg),
			msgs(q("ROLLBACK")),
		}},
		{name: "execute: no statement at bind", batches: [][]pgproto3.FrontendMessage{
			msgs(q("PREPARE q AS SELECT 1")),
			msgs(q("BEGIN")),
			msgs(pq("e", "EXECUTE q"), syncMsg),
			msgs(q("DEALLOCATE q")),
			msgs(bind("p", "e"), describeE, syncMsg),
			msgs(q("PREPARE q AS " + curSecret)),
			msgs(execute("p", 0), syncMsg),
			msgs(q("ROLLBACK; DEALLOCATE ALL")),
		}},
		{name: "fetch: bound after the cursor was declared again", batches: [][]pgproto3.FrontendMessage{
			msgs(q("BEGIN; DECLARE c CURSOR FOR " + curPlainDirect)),
			msgs(pq("f", "FETCH ALL FROM c"), syncMsg),
			msgs(q("CLOSE c; DECLARE c CURSOR FOR " + curSecretDirect)),
			msgs(bind("p", "f"), describeP, execute("p", 0), syncMsg),
			msgs(q("ROLLBACK")),
		}},
		// A portal suspended after its first rows: PostgreSQL ran the
		// whole FETCH into the portal at the first Execute; the rest comes
		// from there, whatever the cursor holds by then. Under the
		// adversarial policy every statement has the same masking, so the
		// first Execute's plan is reused (see TestAdversarialCursorSuspendedPortal).
		{name: "fetch: suspended, cursor declared again between executes", batches: [][]pgproto3.FrontendMessage{
			msgs(q("BEGIN; DECLARE c CURSOR FOR " + curSecretDirect)),
			msgs(pq("f", "FETCH ALL FROM c"), bind("p", "f"), execute("p", 1), syncMsg),
			msgs(q("CLOSE c; DECLARE c CURSOR FOR " + curPlainDirect)),
			msgs(execute("p", 0), syncMsg),
			msgs(q("ROLLBACK")),
		}},
		// SQL cannot reach the client's protocol-level portals, nor the
		// gateway's upstream names for them; CLOSE ALL closes them too.
		{name: "protocol portal by its client and upstream names", batches: [][]pgproto3.FrontendMessage{
			msgs(q("BEGIN")),
			msgs(pq("s", curSecretDirect), bind("c", "s"), syncMsg),
			msgs(q("CLOSE ALL")),
			msgs(execute("c", 0), syncMsg),
			msgs(q("ROLLBACK")),
			msgs(q("BEGIN")),
			msgs(bind("c", "s"), syncMsg),
			msgs(q("FETCH ALL c")),
			msgs(q("ROLLBACK")),
			msgs(q("BEGIN")),
			msgs(bind("c", "s"), syncMsg),
			msgs(q("FETCH ALL mandate_p1")),
			msgs(q("ROLLBACK")),
		}},
	}
	for _, f := range flows {
		t.Run(f.name, func(t *testing.T) {
			skipOpen(t, f.open)
			cs := a.curSession(t, "")
			var got []curStep
			for _, b := range f.batches {
				got = append(got, cs.roundTrip(b...)...)
			}
			cs.leakCheck(f.name)
			t.Logf("%v", got)
		})
	}
}

// TestAdversarialCursorSuspendedPortal: with a policy that masks only the
// statements that read a masked table (the in-test policy), the second
// Execute of a suspended FETCH portal is decided as the cursor's new,
// unmasked query, while PostgreSQL returns the rest of the rows it fetched
// from the old one at the first Execute.
func TestAdversarialCursorSuspendedPortal(t *testing.T) {
	// Fixed (later Executes of such a portal keep its first Execute's
	// lineage and masking). Was open: a suspended FETCH/EXECUTE portal was
	// decided again at each Execute as what the name holds now, but
	// returns the rows stored at its first Execute.
	e, tbl := maskEnv(t)
	admin(t, "INSERT INTO "+tbl+" VALUES (2, 'Bob', '987-65-4321', 'bob@example.com', 52, 'n')")
	c := pgconnTo(t, e.dsn("agent1", "require"))
	for _, exec := range []string{"fetch", "execute"} {
		t.Run(exec, func(t *testing.T) {
			var batches [][]pgproto3.FrontendMessage
			if exec == "fetch" {
				batches = [][]pgproto3.FrontendMessage{
					msgs(query("BEGIN; DECLARE c CURSOR FOR SELECT ssn FROM " + tbl + " ORDER BY id")),
					msgs(parse("f", "FETCH ALL FROM c"), bind("p", "f"), execute("p", 1), syncMsg),
					msgs(query("CLOSE c; DECLARE c CURSOR FOR SELECT 'x'")),
					msgs(execute("p", 0), syncMsg),
					msgs(query("ROLLBACK"), &pgproto3.Close{ObjectType: 'S', Name: "f"}, syncMsg),
				}
			} else {
				batches = [][]pgproto3.FrontendMessage{
					msgs(query("PREPARE q AS SELECT ssn FROM " + tbl + " ORDER BY id")),
					msgs(query("BEGIN"), parse("e", "EXECUTE q"), bind("p", "e"), execute("p", 1), syncMsg),
					msgs(query("DEALLOCATE q; PREPARE q AS SELECT 'x'")),
					msgs(execute("p", 0), syncMsg),
					msgs(query("ROLLBACK; DEALLOCATE ALL")),
				}
			}
			got := strings.Join(exchange(t, c, batches...), "\n")
			if strings.Contains(got, "987-65-4321") || strings.Contains(got, "123-45-6789") {
				t.Errorf("ssn reached the client:\n%s", got)
			}
			t.Logf("%s", got)
		})
	}
}

// lockFlow is pipelined behind a statement that waits on a lock held on
// P_other: the gateway decides every later statement while the server has
// answered nothing, so its view of the cursors is what it expects the
// pending statements to do. The lock is released once the statement
// whose text is until has been decided.
type lockFlow struct {
	name  string
	setup []string // answered one by one first
	pipe  [][]pgproto3.FrontendMessage
	until string
	open  string
}

func TestAdversarialCursorPending(t *testing.T) {
	a := newAdvEnv(t)
	const open = curOpenPending
	q := func(s string) *pgproto3.Query { return query(a.sql(s)) }
	run := func(s string) []pgproto3.FrontendMessage {
		return msgs(parse("", a.sql(s)), bind("", ""), &pgproto3.Describe{ObjectType: 'P'}, execute("", 0))
	}
	cat := func(parts ...[]pgproto3.FrontendMessage) []pgproto3.FrontendMessage {
		var out []pgproto3.FrontendMessage
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	const wait = "SELECT count(*) FROM P_other"
	const fail = "SELECT 1 / (count(*) - count(*)) FROM P_other"
	savepoint := []string{"BEGIN", "DECLARE c CURSOR FOR " + curSecret, "SAVEPOINT s"}
	flows := []lockFlow{
		{name: "simple: rollback to, failing hold declare, rollback to", open: open, setup: savepoint, until: "FETCH ALL c",
			pipe: [][]pgproto3.FrontendMessage{msgs(q(wait), q("ROLLBACK TO s"), q("DECLARE c CURSOR WITH HOLD FOR "+curPlain),
				q("ROLLBACK TO s"), q("FETCH ALL c"), q("ROLLBACK"))}},
		{name: "extended: rollback to, failing hold declare, rollback to", open: open, setup: savepoint, until: "FETCH ALL c",
			pipe: [][]pgproto3.FrontendMessage{
				cat(run(wait), run("ROLLBACK TO s"), msgs(syncMsg)),
				cat(run("DECLARE c CURSOR WITH HOLD FOR "+curPlain), msgs(syncMsg)),
				cat(run("ROLLBACK TO s"), run("FETCH ALL c"), msgs(syncMsg)),
				msgs(q("ROLLBACK"))}},
		{name: "simple: rollback skipped after an error, then rollback to", open: open, setup: savepoint, until: "FETCH ALL c",
			pipe: [][]pgproto3.FrontendMessage{msgs(q(fail+"; ROLLBACK; DECLARE c CURSOR WITH HOLD FOR "+curPlain),
				q("ROLLBACK TO s"), q("FETCH ALL c"), q("ROLLBACK"))}},
		{name: "extended: rollback skipped after an error, then rollback to", open: open, setup: savepoint, until: "FETCH ALL c",
			pipe: [][]pgproto3.FrontendMessage{
				cat(run(fail), run("ROLLBACK"), run("DECLARE c CURSOR WITH HOLD FOR "+curPlain), msgs(syncMsg)),
				cat(run("ROLLBACK TO s"), run("FETCH ALL c"), msgs(syncMsg)),
				msgs(q("ROLLBACK"))}},
		{name: "extended: commit skipped after an error, then rollback to", open: open, setup: savepoint, until: "FETCH ALL c",
			pipe: [][]pgproto3.FrontendMessage{
				cat(run(fail), run("COMMIT"), run("DECLARE c CURSOR WITH HOLD FOR "+curPlain), msgs(syncMsg)),
				cat(run("ROLLBACK TO s"), run("FETCH ALL c"), msgs(syncMsg)),
				msgs(q("ROLLBACK"))}},
		// Pending sequences the gateway follows correctly (must stay masked).
		{name: "simple: redeclared across a pending commit", setup: []string{"BEGIN", "DECLARE c CURSOR FOR " + curPlain}, until: "FETCH ALL c",
			pipe: [][]pgproto3.FrontendMessage{msgs(q(wait), q("COMMIT"), q("BEGIN"), q("DECLARE c CURSOR FOR "+curSecret),
				q("FETCH ALL c"), q("ROLLBACK"))}},
		{name: "simple: hold cursor of a pending failed implicit transaction", setup: nil, until: "FETCH ALL h",
			pipe: [][]pgproto3.FrontendMessage{msgs(q("DECLARE h CURSOR WITH HOLD FOR "+curSecret+"; "+fail),
				q("DECLARE h CURSOR WITH HOLD FOR "+curPlain), q("FETCH ALL h"), q("CLOSE ALL"))}},
		{name: "extended: hold cursor of a pending implicit transaction", setup: nil, until: "FETCH ALL h",
			pipe: [][]pgproto3.FrontendMessage{
				cat(run(wait), run("DECLARE h CURSOR WITH HOLD FOR "+curSecret), msgs(syncMsg)),
				cat(run("FETCH ALL h"), msgs(syncMsg)),
				msgs(q("CLOSE ALL"))}},
		{name: "extended: pending close then declare", setup: []string{"DECLARE h CURSOR WITH HOLD FOR " + curPlain}, until: "FETCH ALL h",
			pipe: [][]pgproto3.FrontendMessage{
				cat(run(wait), run("CLOSE h"), run("DECLARE h CURSOR WITH HOLD FOR "+curSecret), msgs(syncMsg)),
				cat(run("FETCH ALL h"), msgs(syncMsg)),
				msgs(q("CLOSE ALL"))}},
	}
	for _, f := range flows {
		t.Run(f.name, func(t *testing.T) {
			skipOpen(t, f.open)
			cs := a.curSession(t, "")
			for _, s := range f.setup {
				if got := cs.roundTrip(query(a.sql(s))); len(got) != 1 || len(got[0].errs) > 0 {
					t.Fatalf("setup %q: %v", s, got)
				}
			}
			until := a.sql(f.until)
			decided := func() int {
				a.rec.mu.Lock()
				defer a.rec.mu.Unlock()
				n := 0
				for _, r := range a.rec.decided {
					if r.Raw() == until {
						n++
					}
				}
				return n
			}
			before := decided()
			release := lockTable(t, a.sql("P_other"))
			want := 0
			for _, b := range f.pipe {
				want += cs.send(b...)
			}
			waitFor(t, "the gateway to decide "+f.until, func() bool { return decided() > before })
			release()
			got := cs.read(want)
			cs.leakCheck(f.name)
			t.Logf("%v", got)
		})
	}
}

// lockTable holds an ACCESS EXCLUSIVE lock on table over a direct
// connection until the returned function (also run at cleanup) is called.
func lockTable(t *testing.T, table string) func() {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE "+table+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	done := false
	release := func() {
		if done {
			return
		}
		done = true
		_ = tx.Rollback(ctx)
		_ = c.Close(ctx)
	}
	t.Cleanup(release)
	return release
}

// Catalog helpers of the safe set: pg_get_statisticsobjdef_columns,
// pg_get_statisticsobjdef_expressions, pg_relation_is_publishable and the
// information_schema._pg_* functions (schema-qualified only).
var advCatalogHelperCases = []advCase{
	{name: "allowed expandarray", sql: "SELECT (information_schema._pg_expandarray(ARRAY[4, 5])).n", allow: true},
	{name: "allowed expandarray of unmasked", sql: "SELECT x.x, x.n FROM P_cust c, information_schema._pg_expandarray(ARRAY[c.name, c.name]) x", allow: true},
	{name: "allowed publishable", sql: "SELECT pg_relation_is_publishable('P_cust'::regclass)", allow: true},
	{name: "allowed statistics objects", sql: "SELECT pg_get_statisticsobjdef_columns(oid), pg_get_statisticsobjdef_expressions(oid), pg_get_statisticsobjdef(oid) FROM pg_statistic_ext", allow: true},
	{name: "allowed type helpers", sql: "SELECT information_schema._pg_char_max_length(1043, 24), information_schema._pg_numeric_precision(1700, 655366), information_schema._pg_interval_type(1186, 2147418112)", allow: true},

	// Values through the helpers' results.
	{name: "expandarray element", sql: "SELECT (information_schema._pg_expandarray(ARRAY[ssn, card, email])).x FROM P_cust", masked: true},
	{name: "expandarray record", sql: "SELECT information_schema._pg_expandarray(ARRAY[ssn, card])::text FROM P_cust"},
	{name: "expandarray in from", sql: "SELECT x.x FROM P_cust c, information_schema._pg_expandarray(ARRAY[c.ssn, c.card]) x"},
	{name: "expandarray in from whole row", sql: "SELECT x::text FROM P_cust c, information_schema._pg_expandarray(ARRAY[c.salary]) x"},
	{name: "expandarray quoted schema", sql: `SELECT ("information_schema"."_pg_expandarray"(ARRAY[ssn])).x FROM P_cust`, masked: true},
	{name: "type helpers over masked values", sql: `SELECT information_schema._pg_char_max_length(1043, salary), information_schema._pg_char_octet_length(1043, salary),
		information_schema._pg_numeric_precision(1700, salary), information_schema._pg_numeric_scale(1700, salary),
		information_schema._pg_datetime_precision(1184, salary), information_schema._pg_interval_type(1186, salary),
		information_schema._pg_numeric_precision_radix(1700, salary), information_schema._pg_keysequal(ARRAY[(salary % 30000)::int2], ARRAY[1::int2]),
		information_schema._pg_index_position(salary::oid, 1::int2) FROM P_cust`, deny: true},
	{name: "statistics helpers over masked values", sql: "SELECT pg_get_statisticsobjdef_columns(salary::oid), pg_get_statisticsobjdef_expressions(salary::oid), pg_relation_is_publishable(salary::oid) FROM P_cust", deny: true},
	{name: "publishable of a masked name", sql: "SELECT pg_relation_is_publishable(ssn::regclass) FROM P_cust"},
	{name: "publishable of a masked text", sql: "SELECT pg_relation_is_publishable(email) FROM P_cust"},
	{name: "extended statistics definitions", sql: "SELECT stxname, pg_get_statisticsobjdef_columns(oid), pg_get_statisticsobjdef_expressions(oid)::text, pg_get_statisticsobjdef(oid) FROM pg_statistic_ext WHERE stxname LIKE 'P_%'"},
	{name: "expression index definitions", sql: "SELECT pg_get_indexdef(indexrelid), pg_get_expr(indexprs, indrelid) FROM pg_index WHERE indrelid = 'P_cust'::regclass"},

	// Filters and inference.
	{name: "helper in filter", sql: "SELECT id FROM P_cust WHERE information_schema._pg_char_max_length(1043, salary) > 5", deny: true},
	{name: "statistics helper in filter", sql: "SELECT id FROM P_cust WHERE pg_relation_is_publishable(salary::oid) IS NULL", deny: true},
	{name: "expandarray element in filter", sql: "SELECT id FROM P_cust c WHERE EXISTS (SELECT 1 FROM information_schema._pg_expandarray(ARRAY[c.ssn]) e WHERE e.x LIKE '9%')", deny: true},
	{name: "expandarray row count in from", sql: "SELECT count(*) FROM P_cust c, information_schema._pg_expandarray(array_fill(0, ARRAY[ascii(c.ssn)])) x", deny: true},
	{name: "expandarray row count in select", sql: "SELECT count(*) FROM (SELECT information_schema._pg_expandarray(array_fill(0, ARRAY[ascii(ssn)])) FROM P_cust WHERE id = 1) s", deny: true},
	{name: "expandarray row count per row", sql: "SELECT id, count(*) FROM (SELECT id, information_schema._pg_expandarray(array_fill(0, ARRAY[ascii(substr(ssn, 2, 1))])) FROM P_cust) s GROUP BY id", deny: true},

	// Names that are not the helpers.
	{name: "helper unqualified", sql: "SELECT (_pg_expandarray(ARRAY[ssn])).x FROM P_cust", deny: true},
	{name: "helper in field notation", sql: "SELECT c._pg_expandarray FROM P_cust c"},
	{name: "helper with a dotted quoted name", sql: `SELECT ("information_schema._pg_expandarray"(ARRAY[ssn])).x FROM P_cust`, deny: true},
	{name: "helper under a catalog name", sql: `SELECT (test.information_schema._pg_expandarray(ARRAY[ssn])).x FROM P_cust`},
	{name: "value catalogs of extended statistics", sql: "SELECT * FROM pg_stats_ext_exprs", deny: true},
}

func TestAdversarialCursorCatalogHelpers(t *testing.T) {
	a := newAdvEnv(t)
	admin(t, a.sql(`CREATE STATISTICS P_st (mcv, ndistinct) ON ssn, card FROM P_cust;
		CREATE STATISTICS P_sx ON (upper(ssn)), (salary + 1) FROM P_cust;
		CREATE INDEX P_ix ON P_cust (upper(ssn)) WHERE salary > 0;
		ANALYZE P_cust`))
	runAdvCases(t, a, "reader", advCatalogHelperCases)
}

// TestAdversarialCursorRevoked: once the policy no longer allows the
// table a cursor reads, FETCH from it must be denied, as EXECUTE of a
// statement prepared over it is (EXECUTE is decided as the prepared
// statement; FETCH only carries its cursor's lineage and masking). A
// WITH HOLD cursor would otherwise keep serving a table for the rest of
// the session after the grant (or the approval) behind it ended.
func TestAdversarialCursorRevoked(t *testing.T) {
	e := newEnv(t)
	tbl := e.table(t, "vault", "id int, v text", "VALUES (1, 'vault-secret-4242'), (2, 'vault-secret-4343')")
	// Fixed (FETCH is decided as its cursor's query, pgsql ResolveFetch).
	// Was open: FETCH was decided as a statement of its own (always
	// allowed), so a cursor declared while the table was allowed was still
	// fetched after the policy denied it.
	const open = ""
	cases := []struct {
		name string
		run  []pgproto3.FrontendMessage
		open string
	}{
		{name: "execute of a prepared statement", run: msgs(query("EXECUTE q"))},
		{name: "fetch of a cursor", run: msgs(query("FETCH ALL c")), open: open},
		{name: "fetch of a hold cursor", run: msgs(query("COMMIT"), query("FETCH ALL h")), open: open},
		{name: "fetch of a hold cursor, extended", run: msgs(query("COMMIT"), parse("", "FETCH ALL h"), bind("", ""), execute("", 0), syncMsg), open: open},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			skipOpen(t, tc.open)
			e.policy.set(func(p *testPolicy) { p.denied[tbl] = false; p.revision = "r1" })
			c := pgconnTo(t, e.dsn("agent1", "require"))
			before := strings.Join(exchange(t, c, msgs(query("PREPARE q AS SELECT v FROM "+tbl+"; BEGIN; DECLARE h CURSOR WITH HOLD FOR SELECT v FROM "+tbl+
				"; DECLARE c CURSOR FOR SELECT v FROM "+tbl))), "\n")
			if strings.Contains(before, "error") {
				t.Fatalf("setup: %s", before)
			}
			e.policy.set(func(p *testPolicy) { p.denied[tbl] = true; p.revision = "r2" })
			got := strings.Join(exchange(t, c, tc.run), "\n")
			t.Logf("%s", got)
			if strings.Contains(got, "vault-secret") {
				t.Errorf("rows of a table the policy now denies reached the client:\n%s", got)
			}
			if !strings.Contains(got, "error 42501 mandate:") {
				t.Errorf("want a denial (42501):\n%s", got)
			}
		})
	}
}
