package pgproxy

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/mandatehq/mandate/model"
)

// Round 35 of the red team: the protocol level, raw pgproto3 messages
// where clients would not send them, on round 30's fixture and agents.
//
// Holes found (closed):
//   - the messages a client sends after an extended-protocol error and
//     before its next Sync, once it has read the error (it ended the batch
//     with Flush, not Sync): the server skips them all, but the gateway
//     dropped only the ops queued when the error came back. Those queued
//     after stayed, unanswered, ahead of the next batch's: Parse("", "SELECT
//     1/0"), Bind, Execute, Flush, read the 22012; then Parse/Bind/Execute
//     of SELECT note FROM P_y30 and Sync (skipped); then SELECT upper(ssn),
//     upper(notes) FROM P_x30 came back raw, masked by the skipped
//     statement's plan, and every later result, decision of a name (the
//     answer of a Parse or Bind) and cursor the tracker settled went to
//     the op one batch before it. A Query or a FunctionCall among the
//     skipped messages, or a Describe, shifted the queue too (the session
//     then ended out of step); a COPY FROM STDIN among them left the
//     client loop waiting a minute for a copy-in mode that never came
//     (FATAL 55000). The server skips up to that Sync: ops queued while it
//     does are now marked skipped and dropped, recorded as not executed,
//     before the relay handles the next message (ops.go push, skipToSync,
//     headSkipping; relay.go skippedOp; copyin.go pushCopy).
//   - names: PostgreSQL keys protocol-level statements and portals by their
//     first 63 bytes (NAMEDATALEN - 1), so Parse of "n...nX" (63 n's) and
//     Bind of "n...nY" name one statement. The gateway kept the names
//     whole: a client got 26000 where PostgreSQL binds, and 10,000 named
//     statements or portals with names of a megabyte each (the message
//     limit) held 10 GB of the gateway's memory, past the bounds it keeps
//     on their number and text. Names are now kept by PostgreSQL's key,
//     copied out of the message (names.go nameKey).
//
// Held, kept here: result format codes out of range (2, -1: the server
// fails at the first row), a format count that fits neither 1 nor the
// columns, one binary code for all columns, Describe of the statement then
// Bind in binary without Describe of the portal, a simple Query amid a
// batch (it drops the unnamed portal), a Bind that fails before replacing
// the unnamed portal inside a savepoint rolled back to (the gateway says
// the portal does not exist where the server still holds the old one),
// SQL names of the gateway's upstream portals (CLOSE mandate_p2, DECLARE
// mandate_p3: reserved), client_encoding (SET ... TO DEFAULT and RESET
// give UTF8 back, SET NAMES 'SJIS' is denied), a regclass parameter, a
// binary parameter of the wrong length, a FunctionCall amid a batch, a
// BINARY cursor fetched through a portal, comments ending at a carriage
// return and nested, a WITH HOLD cursor fetched through portals across
// COMMIT and ROLLBACK, client_min_messages debug5 around masked reads,
// COPY FROM STDIN in text and csv into a masked table (a key violation
// and a bad quote) and in binary, CopyFail in both protocols, and suspended
// portals (a plain one, EXECUTE, FETCH) executed again after a reload that
// masks one of their columns and one that revokes the grant.
//
// Left open: the gateway takes statement and portal names of invalid
// UTF-8, which PostgreSQL refuses (22021), and Execute, Describe and
// Close messages up to its 1 MiB limit, which PostgreSQL refuses past
// 10,000 bytes (FATAL): neither reaches the server, which sees only the
// gateway's names.

// round35Policy: a copier into round 30's tables, masked by m30.
const round35Policy = `
role "r35_copyin" {
  postgres "adv" {
    statements = ["select", "insert", "copy_in"]
    tables     = ["public.PREFIX_x30*", "public.PREFIX_y30*", "public.PREFIX_log30"]
    masking    = [masking.m30]
  }
}

agent "copyin35" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "copyin35"
  }
  roles = [role.r35_copyin]
}
`

// newAdvEnv35 is newAdvEnv30 with round 35's agent.
func newAdvEnv35(t *testing.T) *advEnv {
	t.Helper()
	a := newAdvEnv30(t)
	a.r35Policy(t, round30Policy)
	return a
}

// r35Policy makes r30 (round 30's policy, perhaps changed) and round 35's
// the gateway's policy.
func (a *advEnv) r35Policy(t *testing.T, r30 string) {
	t.Helper()
	a.srv.cfg.Policy.(*enginePolicy).cur.Store(realPolicyWith(t, "testdata/adversarial", a.p,
		map[string]string{"round30.hcl": r30, "round35.hcl": round35Policy}))
}

// r35Masked is a masked read of computed columns: masked by lineage only
// (the server gives them no origin).
const r35Masked = "SELECT upper(ssn), upper(notes) FROM P_x30 ORDER BY id"

// r35CheckMasked fails t unless got holds n rows and every value in them
// is masked.
func r35CheckMasked(t *testing.T, got []string, n int) {
	t.Helper()
	rows := 0
	for _, g := range got {
		v, ok := strings.CutPrefix(g, "row ")
		if !ok {
			continue
		}
		rows++
		for _, part := range strings.Split(v, ",") {
			if !maskedValue([]byte(part)) {
				t.Errorf("value %q is not masked", part)
			}
		}
	}
	if rows != n {
		t.Errorf("%d rows, want %d:\n%s", rows, n, strings.Join(got, "\n"))
	}
}

// r35Failed sends ms, which end in Flush, and reads until the error they
// cause (no ReadyForQuery comes: the server now skips to the next Sync).
// It returns the error's SQLSTATE.
func r35Failed(t *testing.T, tp *tapped, ms []pgproto3.FrontendMessage) string {
	t.Helper()
	fe := tp.pc.Frontend()
	for _, m := range ms {
		fe.Send(m)
	}
	if err := fe.Flush(); err != nil {
		t.Fatalf("sending: %v", err)
	}
	_ = tp.pc.Conn().SetReadDeadline(time.Now().Add(30 * time.Second))
	defer func() { _ = tp.pc.Conn().SetReadDeadline(time.Time{}) }()
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatalf("receiving: %v", err)
		}
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			return m.Code
		case *pgproto3.ReadyForQuery:
			t.Fatalf("ReadyForQuery before the error")
		}
	}
}

// TestAdversarialRound35SkippedAfterError: after an extended-protocol error
// the client reads (Flush, no Sync), everything it sends up to its next
// Sync is skipped by the server and must be by the gateway: the batches
// after it are masked by their own plans and the session goes on.
func TestAdversarialRound35SkippedAfterError(t *testing.T) {
	a := newAdvEnv35(t)
	flush := &pgproto3.Flush{}
	y30 := a.sql("SELECT note FROM P_y30 ORDER BY id")
	cases := []struct {
		name    string
		agent   string
		fail    []pgproto3.FrontendMessage
		code    string
		skipped []pgproto3.FrontendMessage
	}{
		{name: "server error at bind, read skipped",
			fail: msgs(parse("", "SELECT 1/0"), bind("", ""), execute("", 0), flush), code: "22012",
			skipped: msgs(parse("", y30), bind("", ""), execute("", 0), syncMsg)},
		{name: "gateway's missing portal, named statement skipped",
			fail: msgs(execute("nope", 0), flush), code: "34000",
			skipped: msgs(parse("s", y30), describeMsg('S', "s"), bind("p", "s"), describeMsg('P', "p"), execute("p", 0), syncMsg)},
		{name: "policy denial at parse, query skipped",
			fail: msgs(parse("", a.sql("SELECT id FROM P_z30")), bind("", ""), execute("", 0), flush), code: CodeInsufficientPrivilege,
			skipped: msgs(query(y30), syncMsg)},
		{name: "server error at execute, function call skipped",
			fail: msgs(parse("", a.sql("SELECT 1/(id - 1) FROM P_y30 ORDER BY id")), bind("", ""), execute("", 0), flush), code: "22012",
			skipped: msgs(&pgproto3.FunctionCall{Function: 1317, Arguments: [][]byte{[]byte("x")}}, parse("", y30), bind("", ""), execute("", 0), syncMsg)},
		{name: "copy from stdin skipped", agent: "copyin35",
			fail: msgs(execute("nope", 0), flush), code: "34000",
			skipped: msgs(parse("", a.sql("COPY P_log30 (id, note) FROM STDIN")), bind("", ""), execute("", 0), syncMsg)},
	}
	// Without the fix the COPY case waits answerWait for a copy-in mode
	// that never comes.
	answerWait = 5 * time.Second
	defer func() { answerWait = time.Minute }()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tp, agent := r35Connect(t, a, c.agent)
			if code := r35Failed(t, tp, c.fail); code != c.code {
				t.Fatalf("error %s, want %s", code, c.code)
			}
			masked := a.sql(r35Masked)
			got := exchangeOwed(t, tp.pc, []int{1}, c.skipped)
			if !slices.Equal(got, []string{"ready I"}) {
				t.Errorf("the skipped batch answered %q, want only its ReadyForQuery", got)
			}
			for i := range 2 {
				got = exchange(t, tp.pc, msgs(parse("", masked), bind("", ""), execute("", 0), syncMsg))
				if os.Getenv("R35_DEBUG") != "" {
					t.Logf("batch %d:\n%s", i, strings.Join(got, "\n"))
				}
				r35CheckMasked(t, got, 3)
			}
			got = exchange(t, tp.pc, msgs(query(masked)))
			r35CheckMasked(t, got, 3)
			if agent == "copyin35" {
				got = exchange(t, tp.pc, msgs(query(a.sql("COPY P_log30 (id, note) FROM STDIN")),
					&pgproto3.CopyData{Data: []byte("35\tcopied\n")}, &pgproto3.CopyDone{}))
				if !slices.Contains(got, "complete COPY 1") {
					t.Errorf("COPY after the skipped one: %q", got)
				}
			}
			if s := r30Leak(tp.tap.take()); s != "" {
				t.Errorf("secret %q reached the client", s)
			}
			checkR30Usable(t, tp, r35UsableAs(agent), false)
		})
	}
}

// TestAdversarialRound35LongNames: statement and portal names PostgreSQL
// reads by their first 63 bytes answer through the gateway as they do on
// PostgreSQL.
func TestAdversarialRound35LongNames(t *testing.T) {
	a := newAdvEnv35(t)
	n63 := strings.Repeat("n", 63)
	big := n63 + strings.Repeat("b", 256<<10)
	flows := []struct {
		name    string
		batches [][]pgproto3.FrontendMessage
	}{
		{"tails differ", [][]pgproto3.FrontendMessage{
			msgs(parse(n63+"X", "SELECT 1"), bind(n63+"Y", n63+"Z"), describeMsg('P', n63+"V"), execute(n63+"W", 0), syncMsg)}},
		{"close by another tail", [][]pgproto3.FrontendMessage{
			msgs(parse(n63+"X", "SELECT 2"), syncMsg),
			msgs(&pgproto3.Close{ObjectType: 'S', Name: n63 + "Q"}, syncMsg),
			msgs(bind("", n63+"X"), execute("", 0), syncMsg)}},
		{"parsed again by another tail", [][]pgproto3.FrontendMessage{
			msgs(parse(n63+"X", "SELECT 3"), syncMsg),
			msgs(parse(n63+"Y", "SELECT 4"), syncMsg),
			msgs(describeMsg('S', n63), bind("", n63), execute("", 0), syncMsg)}},
		{"name of a quarter megabyte", [][]pgproto3.FrontendMessage{
			msgs(query("BEGIN")),
			msgs(parse(big, "SELECT 5"), bind(big, big), syncMsg),
			msgs(execute(n63, 0), &pgproto3.Close{ObjectType: 'P', Name: n63 + "c"}, execute(n63+"e", 0), syncMsg),
			msgs(query("ROLLBACK"))}},
	}
	for _, f := range flows {
		t.Run(f.name, func(t *testing.T) {
			want := exchange(t, pgconnTo(t, adminDSN), f.batches...)
			tp, err := a.connectTapped(t, "reader30", nil)
			if err != nil {
				t.Fatal(err)
			}
			got := exchange(t, tp.pc, f.batches...)
			if !slices.Equal(got, want) {
				t.Errorf("through the gateway:\n%s\nPostgreSQL:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			checkR30Usable(t, tp, "reader30", false)
		})
	}
}

// r35Flow is a protocol flow that holds: the transcript must hold want's
// lines in order (each a prefix of one), nothing secret may reach the
// client, and the session goes on.
type r35Flow struct {
	name    string
	agent   string // default reader30
	batches [][]pgproto3.FrontendMessage
	owed    []int // ReadyForQuery per batch, where exchange's count is not it (a FunctionCall owes one)
	want    []string
}

// r35Connect connects agent (reader30 when "") through a tap, whose
// capture so far it drops, and returns the agent it connected.
func r35Connect(t *testing.T, a *advEnv, agent string) (*tapped, string) {
	t.Helper()
	if agent == "" {
		agent = "reader30"
	}
	tp, err := a.connectTapped(t, agent, nil)
	if err != nil {
		t.Fatal(err)
	}
	tp.tap.take()
	return tp, agent
}

func runR35Flows(t *testing.T, a *advEnv, flows []r35Flow) {
	t.Helper()
	for _, f := range flows {
		t.Run(f.name, func(t *testing.T) {
			tp, agent := r35Connect(t, a, f.agent)
			var got []string
			if f.owed != nil {
				got = exchangeOwed(t, tp.pc, f.owed, f.batches...)
			} else {
				got = exchange(t, tp.pc, f.batches...)
			}
			if os.Getenv("R35_DEBUG") != "" {
				t.Logf("%s", strings.Join(got, "\n"))
			}
			if s := r30Leak(tp.tap.take()); s != "" {
				t.Errorf("secret %q reached the client:\n%s", s, strings.Join(got, "\n"))
			}
			i := 0
			for _, g := range got {
				if i < len(f.want) && strings.HasPrefix(g, f.want[i]) {
					i++
				}
			}
			if i < len(f.want) {
				t.Errorf("missing %q in:\n%s", f.want[i], strings.Join(got, "\n"))
			}
			checkR30Usable(t, tp, r35UsableAs(agent), false)
		})
	}
}

// r35UsableAs is the round 30 agent whose session settings agent's
// session has (checkR30Usable): copyin35 holds a write class.
func r35UsableAs(agent string) string {
	if agent == "copyin35" {
		return "writer30"
	}
	return agent
}

// TestAdversarialRound35Protocol: flows that hold.
func TestAdversarialRound35Protocol(t *testing.T) {
	a := newAdvEnv35(t)
	texty := a.sql("SELECT ssn, email, notes, salary, dob FROM P_x30")
	typed := a.sql("SELECT ssn, email, salary, dob, notes FROM P_x30b")
	formats := func(portal, stmt string, f ...int16) *pgproto3.Bind {
		return &pgproto3.Bind{DestinationPortal: portal, PreparedStatement: stmt, ResultFormatCodes: f}
	}
	masked := a.sql(r35Masked)
	rows3 := []string{"row [REDACTED],[REDACTED]", "row [REDACTED],[REDACTED]", "row [REDACTED],[REDACTED]"}
	binCopy := "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00" +
		"\x00\x02" + "\x00\x00\x00\x04\x00\x00\x00\x63" + "\x00\x00\x00\x03abc" + "\xff\xff"
	flows := []r35Flow{
		{name: "result format code 2", batches: [][]pgproto3.FrontendMessage{
			msgs(parse("", texty), formats("", "", 2), describeMsg('P', ""), execute("", 0), syncMsg)},
			want: []string{"columns 5", "error 22023", "ready I"}},
		{name: "result format code -1", batches: [][]pgproto3.FrontendMessage{
			msgs(parse("", typed), formats("", "", -1), execute("", 0), syncMsg)},
			want: []string{"bound", "error 22023", "ready I"}},
		{name: "result format count of neither 1 nor the columns", batches: [][]pgproto3.FrontendMessage{
			msgs(parse("", typed), formats("", "", 1, 0), execute("", 0), syncMsg)},
			want: []string{"parsed", "error 08P01", "ready I"}},
		{name: "one binary code for all columns", batches: [][]pgproto3.FrontendMessage{
			msgs(parse("", typed), formats("", "", 1), execute("", 0), syncMsg)},
			want: []string{"row ,,,,", "row ,,,,", "complete SELECT 2"}},
		{name: "describe statement then bind binary", batches: [][]pgproto3.FrontendMessage{
			msgs(parse("s", masked), describeMsg('S', "s"), syncMsg),
			msgs(formats("", "s", 1), execute("", 0), syncMsg)},
			want: append([]string{"columns 2", "ready I", "bound"}, rows3...)},
		{name: "query amid batch drops the unnamed portal", batches: [][]pgproto3.FrontendMessage{
			msgs(parse("", masked), bind("", ""), describeMsg('P', ""), query("SELECT 1"), execute("", 0), syncMsg)},
			want: []string{"columns 2", "row 1", "ready I", "error 34000", "ready I"}},
		// The failed Bind leaves the server's unnamed portal (upper(ssn))
		// in place inside the savepoint, which ROLLBACK TO keeps; the
		// gateway answers for the Bind's portal: it does not exist.
		{name: "unnamed portal kept by a failed bind in a savepoint", batches: [][]pgproto3.FrontendMessage{
			msgs(query("BEGIN")),
			msgs(parse("a", masked), bind("", "a"), parse("sp", "SAVEPOINT a"), bind("psp", "sp"), execute("psp", 0),
				parse("rb", "ROLLBACK TO SAVEPOINT a"), parse("b", "SELECT $1::text"), syncMsg),
			msgs(bind("", "b"), syncMsg),
			msgs(bind("prb", "rb"), execute("prb", 0), syncMsg),
			msgs(execute("", 0), syncMsg),
			msgs(query("ROLLBACK"))},
			want: []string{"complete SAVEPOINT", "ready T", "error 08P01", "ready E", "complete ROLLBACK", "ready T", "error 34000", "ready E", "complete ROLLBACK"}},
		{name: "declare a gateway portal name", batches: [][]pgproto3.FrontendMessage{
			msgs(query("BEGIN")),
			msgs(parse("s", masked), bind("p", "s"), describeMsg('P', "p"), syncMsg),
			msgs(query("CLOSE mandate_p2")),
			msgs(query(a.sql("DECLARE mandate_p3 CURSOR FOR SELECT upper(ssn) FROM P_x30"))),
			msgs(query("ROLLBACK"))},
			want: []string{"ready T", "columns 2", "ready T", "error 42501 mandate: permission denied by policy: names starting with mandate_ are reserved", "ready E",
				"error 42501 mandate: permission denied by policy: names starting with mandate_ are reserved", "ready E", "complete ROLLBACK"}},
		{name: "client_encoding", batches: [][]pgproto3.FrontendMessage{
			msgs(query("SET client_encoding TO DEFAULT"), query("RESET client_encoding"), query("SET NAMES 'SJIS'"), query("SHOW client_encoding"))},
			want: []string{"complete SET", "complete RESET", "error 42501", "row UTF8"}},
		{name: "regclass parameter", batches: [][]pgproto3.FrontendMessage{
			msgs(&pgproto3.Parse{Query: "SELECT $1::text", ParameterOIDs: []uint32{2205}},
				&pgproto3.Bind{Parameters: [][]byte{[]byte(a.sql("P_x30"))}}, execute("", 0), syncMsg)},
			want: []string{"row " + a.p + "_x30"}},
		{name: "binary parameter of the wrong length", batches: [][]pgproto3.FrontendMessage{
			msgs(&pgproto3.Parse{Query: a.sql("SELECT ssn FROM P_x30 WHERE id = $1"), ParameterOIDs: []uint32{23}},
				&pgproto3.Bind{ParameterFormatCodes: []int16{1}, Parameters: [][]byte{{0, 1}}}, execute("", 0), syncMsg)},
			want: []string{"parsed", "error 08P01", "ready I"}},
		{name: "function call amid a batch", owed: []int{2}, batches: [][]pgproto3.FrontendMessage{
			msgs(parse("", texty), bind("", ""), &pgproto3.FunctionCall{Function: 1317, Arguments: [][]byte{[]byte("x")}}, execute("", 0), syncMsg)},
			want: []string{"bound", "error 42501", "ready I", "error 34000", "ready I"}},
		{name: "binary cursor fetched through a portal", batches: [][]pgproto3.FrontendMessage{
			msgs(query(a.sql("BEGIN; DECLARE k BINARY CURSOR FOR SELECT upper(ssn::text), salary, notes FROM P_x30b"))),
			msgs(parse("", "FETCH 1 FROM k"), bind("", ""), execute("", 0), syncMsg),
			msgs(query("FETCH ALL FROM k"), query("ROLLBACK"))},
			want: []string{"row [REDACTED],,", "complete FETCH 1", "row [REDACTED],,", "complete FETCH 1", "complete ROLLBACK"}},
		{name: "comment ending at a carriage return", batches: [][]pgproto3.FrontendMessage{
			msgs(parse("", a.sql("SELECT id --\r, upper(ssn)\nFROM P_x30 WHERE id = 1")), bind("", ""), execute("", 0), syncMsg,
				parse("", a.sql("SELECT id /* /* */ , upper(email) */ , upper(notes) FROM P_x30 WHERE id = 1")), bind("", ""), execute("", 0), syncMsg)},
			want: []string{"row 1,[REDACTED]", "row 1,[REDACTED]"}},
		{name: "hold cursor through portals across commit and rollback", batches: [][]pgproto3.FrontendMessage{
			msgs(query(a.sql("BEGIN; DECLARE k CURSOR WITH HOLD FOR SELECT upper(ssn), upper(notes) FROM P_x30 ORDER BY id; COMMIT"))),
			msgs(query("BEGIN")),
			msgs(parse("f", "FETCH 1 FROM k"), bind("", "f"), formats("p", "f", 1), execute("", 0), execute("p", 0), syncMsg),
			msgs(query("ROLLBACK")),
			msgs(bind("", "f"), execute("", 0), syncMsg),
			msgs(query("CLOSE k"))},
			want: []string{rows3[0], rows3[1], "ready T", "complete ROLLBACK", rows3[2], "ready I", "complete CLOSE"}},
		{name: "debug messages around masked reads", batches: [][]pgproto3.FrontendMessage{
			msgs(query("SET client_min_messages = debug5")),
			msgs(query(masked)),
			msgs(parse("", a.sql("SELECT ssn, email FROM P_x30 WHERE id = 1")), bind("", ""), execute("", 0), syncMsg),
			msgs(query("RESET client_min_messages"))},
			want: append(append([]string{"complete SET"}, rows3...), "row [REDACTED],")},
		{name: "copy into a masked table", agent: "copyin35", batches: [][]pgproto3.FrontendMessage{
			msgs(query("BEGIN")),
			msgs(query(a.sql("COPY P_x30 (id, ssn) FROM STDIN")), &pgproto3.CopyData{Data: []byte("1\t000-00-0000\n")}, &pgproto3.CopyDone{}),
			msgs(query("ROLLBACK")),
			msgs(query(a.sql("COPY P_x30 (id, ssn, notes) FROM STDIN (FORMAT csv)")), &pgproto3.CopyData{Data: []byte("98,\"000\",x\n99,1,\"unterminated\n")}, &pgproto3.CopyDone{}),
			msgs(query(a.sql("COPY P_log30 (id, note) FROM STDIN (FORMAT binary)")), &pgproto3.CopyData{Data: []byte(binCopy)}, &pgproto3.CopyDone{}),
			msgs(query(a.sql("COPY P_log30 (id, note) FROM STDIN")), &pgproto3.CopyData{Data: []byte("7\tx\n")}, &pgproto3.CopyFail{Message: "stop"}),
			msgs(parse("", a.sql("COPY P_log30 (id, note) FROM STDIN")), bind("", ""), execute("", 0), &pgproto3.CopyFail{Message: "stop"}, syncMsg)},
			want: []string{"ready T", "error 23505", "ready E", "complete ROLLBACK", "error 22P04", "ready I", "complete COPY 1", "ready I",
				"error 57014", "ready I", "parsed", "bound", "error 57014", "ready I"}},
	}
	runR35Flows(t, a, flows)
}

// TestAdversarialRound35Reload: a suspended portal is executed again
// under the policy in force: after a reload that masks one of its
// columns, that column comes back masked; after one that revokes the
// grant, the Execute is denied. A portal running a name (EXECUTE, FETCH)
// is decided again at each Execute; another when the policy's revision
// changed (the compiled test policies share theirs: the plain portal runs
// under the in-test policy, which counts its changes).
func TestAdversarialRound35Reload(t *testing.T) {
	t.Run("plain select", func(t *testing.T) {
		e := newEnv(t)
		tbl := e.table(t, "r35", "id int, secret text", "VALUES (1, 'r35-secret-1'), (2, 'r35-secret-2'), (3, 'r35-secret-3')")
		pc := pgconnTo(t, e.dsn("agent1", "require"))
		got := exchange(t, pc, msgs(query("BEGIN")),
			msgs(parse("s", "SELECT secret, upper(secret) FROM "+tbl+" ORDER BY id"), bind("p", "s"), execute("p", 1), syncMsg))
		if !slices.Contains(got, "row r35-secret-1,R35-SECRET-1") {
			t.Fatalf("before the reload: %q", got)
		}
		e.policy.set(func(p *testPolicy) {
			p.masked[tbl] = true
			p.maskings["pii"] = &model.Masking{Name: "pii", Columns: []*model.ColumnRule{{Column: tbl + ".secret", Method: "redact"}}}
		})
		got = exchange(t, pc, msgs(execute("p", 1), syncMsg))
		if !slices.Contains(got, "row [REDACTED],[REDACTED]") {
			t.Errorf("after masking secret: %q", got)
		}
		e.policy.set(func(p *testPolicy) { p.denied[tbl] = true })
		got = exchange(t, pc, msgs(execute("p", 1), syncMsg), msgs(query("ROLLBACK")))
		if !slicesContainsPrefix(got, "error 42501 mandate:") || slicesContainsPrefix(got, "row ") {
			t.Errorf("after revoking the grant: %q", got)
		}
	})
	a := newAdvEnv35(t)
	t.Cleanup(func() { a.r35Policy(t, round30Policy) })
	maskName := strings.Replace(round30Policy, `  column "public.PREFIX_x30*.ssn" {`,
		"  column \"public.PREFIX_x30.name\" {\n    method = \"redact\"\n  }\n  column \"public.PREFIX_x30*.ssn\" {", 1)
	revoke := strings.Replace(maskName, `tables     = ["public.PREFIX_x30*", "public.PREFIX_y30*", "public.PREFIX_log30", "pg_catalog.*"]`,
		`tables     = ["public.PREFIX_y30*", "public.PREFIX_log30", "pg_catalog.*"]`, 1)
	if maskName == round30Policy || revoke == maskName {
		t.Fatal("the policy edits did not apply")
	}
	read := a.sql("SELECT name, upper(name), ssn FROM P_x30 ORDER BY id")
	for _, c := range []struct {
		name, setup, run string
		formats          []int16
	}{
		{"execute", "PREPARE q AS " + read, "EXECUTE q", nil},
		{"fetch binary", "DECLARE k CURSOR FOR " + read, "FETCH 3 FROM k", []int16{1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a.r35Policy(t, round30Policy)
			tp, err := a.connectTapped(t, "reader30", nil)
			if err != nil {
				t.Fatal(err)
			}
			got := exchange(t, tp.pc, msgs(query("BEGIN; "+c.setup)),
				msgs(parse("s", c.run), &pgproto3.Bind{DestinationPortal: "p", PreparedStatement: "s", ResultFormatCodes: c.formats},
					execute("p", 1), syncMsg))
			if !slices.Contains(got, "row Ann,ANN,[REDACTED]") {
				t.Fatalf("before the reload: %q", got)
			}
			a.r35Policy(t, maskName)
			got = exchange(t, tp.pc, msgs(execute("p", 1), syncMsg))
			if !slices.Contains(got, "row [REDACTED],[REDACTED],[REDACTED]") {
				t.Errorf("after masking name: %q", got)
			}
			a.r35Policy(t, revoke)
			got = exchange(t, tp.pc, msgs(execute("p", 1), syncMsg), msgs(query("ROLLBACK")))
			if !slicesContainsPrefix(got, "error 42501 mandate:") || slicesContainsPrefix(got, "row ") {
				t.Errorf("after revoking the grant: %q", got)
			}
			if s := r30Leak(tp.tap.take()); s != "" {
				t.Errorf("secret %q reached the client", s)
			}
			a.r35Policy(t, round30Policy)
			checkR30Usable(t, tp, "reader30", false)
		})
	}
}
