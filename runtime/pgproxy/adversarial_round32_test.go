package pgproxy

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// Round 32 of the red team: what round 31 added to decide.go. A prepared
// statement with typed reads or a CASCADE is decided again at each Execute
// (typedAfter, cascadeAfter set v.names); a CASCADE is refused in a
// transaction that set a savepoint (session.savepoint); typed reads are
// exempt from the filter rule after their column types are read fresh
// from the catalog (withTypes, catalog.columnTypes).
//
// Holes found (closed):
//   - the relay cleared the savepoint mark on any ReadyForQuery 'I', also
//     one answering a query sent before the SAVEPOINT: with SELECT count(*)
//     FROM P_app_b waiting on a lock and BEGIN; SAVEPOINT s; ALTER TABLE
//     P_app_a RENAME TO P_app_t1; ALTER TABLE P_app_y RENAME TO P_app_a;
//     RELEASE SAVEPOINT s sent behind it without waiting, the SELECT's
//     'I' arrived after the SAVEPOINT was decided and cleared the mark of
//     the transaction it opened; DROP TABLE P_app_a CASCADE then ran,
//     decided on the catalog without the released renames, and dropped
//     another schema's view. The mark now keeps the last op queued when
//     the SAVEPOINT was decided, and only an 'I' answering an op queued
//     after it clears it (session.go markSavepoint, idleAfter; relay.go).
//   - a SAVEPOINT parsed as a named statement (Parse "SAVEPOINT s" outside
//     any transaction) and executed later inside one was not decided
//     again at Execute (the policy revision had not changed), so it set
//     no mark: the same renames and DROP ... CASCADE ran. The mark is now
//     set at each Execute of a statement holding a SAVEPOINT (redecide).
//
// Held (over-denial where the mark outlives the savepoint's need: after
// ROLLBACK TO, COMMIT AND CHAIN, a failed block, a denied string): a
// pipelined CASCADE behind a SAVEPOINT, a CASCADE after ROLLBACK TO
// SAVEPOINT or in a failed block, COMMIT AND CHAIN keeping the mark, a
// typed read decided again to a denial at a later Execute (42501, no rows,
// the transaction idle or failed as PostgreSQL's own error leaves it, the
// session usable, allowed again once the type is back), a suspended
// portal resumed while another session's ALTER waits for its lock
// (denied: the type is being changed), cursors over typed reads (an ALTER
// under an open cursor fails, 55006; a holdable one is materialized on the
// old type), a read-only agent's typed reads, and 1000 Executes of a
// prepared typed read sharing the one catalog connection.

// round32Policy: a read-only agent reading P_r31 under round 31's masking.
const round32Policy = `
role "r32ro" {
  postgres "adv" {
    statements = ["select"]
    tables     = ["public.PREFIX_r31*"]
    masking    = [masking.r31]
  }
}

agent "r32ro" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "r32ro"
  }
  roles = [role.r32ro]
}
`

// newAdvEnv32 is newAdvEnv with round 31's, the cascade tests' and round
// 32's policies.
func newAdvEnv32(t *testing.T) *advEnv {
	t.Helper()
	a := newAdvEnv(t)
	a.srv.cfg.Policy.(*enginePolicy).cur.Store(realPolicyWith(t, "testdata/adversarial", a.p, map[string]string{
		"round31.hcl": round31Policy, "cascade.hcl": cascadePolicy, "round32.hcl": round32Policy}))
	return a
}

// r32Renames give P_app_a's name to P_app_y, which another schema's view
// (P_vcs.vy) reads: DROP TABLE P_app_a CASCADE then drops that view.
const r32Renames = "ALTER TABLE P_app_a RENAME TO P_app_t1; ALTER TABLE P_app_y RENAME TO P_app_a"

// r32CascadeSetup is cascadeFixture with P_app_y and the view over it.
const r32CascadeSetup = cascadeFixture + "; CREATE TABLE P_app_y (id int); CREATE VIEW P_vcs.vy AS SELECT id FROM P_app_y"

// r32Drop is the CASCADE the savepoint cases try last.
const r32Drop = "DROP TABLE P_app_a CASCADE"

// r32ViewKept fails t unless P_vcs.vy is still there.
func (a *advEnv) r32ViewKept(t *testing.T) {
	t.Helper()
	if got := adminValue(t, a.sql("SELECT count(*) FROM pg_class WHERE relname = 'vy'")); got != "1" {
		t.Errorf("another schema's view over the renamed table was dropped (%s views)", got)
	}
}

// r32Denied reports whether got (exchange's transcript) holds the
// gateway's denial.
func r32Denied(got []string) bool {
	for _, g := range got {
		if strings.HasPrefix(g, "error "+CodeInsufficientPrivilege+" mandate:") {
			return true
		}
	}
	return false
}

// r32Decided counts the statements with tag the recorder saw decided.
func (a *advEnv) r32Decided(tag string) int {
	a.rec.mu.Lock()
	defer a.rec.mu.Unlock()
	n := 0
	for _, r := range a.rec.decided {
		if r.Statement != nil && r.Statement.Tag == tag {
			n++
		}
	}
	return n
}

// TestAdversarialRound32SavepointIdleBefore: the ReadyForQuery 'I' of a
// query sent before a SAVEPOINT must not clear the SAVEPOINT's mark.
func TestAdversarialRound32SavepointIdleBefore(t *testing.T) {
	a := newAdvEnv32(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adminTry(t, a.sql(cascadeDrop))
	t.Cleanup(func() { adminTry(t, a.sql(cascadeDrop)) })
	admin(t, a.sql(r32CascadeSetup))
	// The first query waits for a lock until the SAVEPOINT behind it is
	// decided: its 'I' comes after.
	locker := pgconnTo(t, adminDSN)
	if _, err := locker.Exec(ctx, a.sql("BEGIN; LOCK TABLE P_app_b IN ACCESS EXCLUSIVE MODE")).ReadAll(); err != nil {
		t.Fatal(err)
	}
	tp, err := a.connectTapped(t, "casc", nil)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	released := a.r32Decided("RELEASE")
	fe := tp.pc.Frontend()
	for _, s := range []string{"SELECT count(*) FROM P_app_b", "BEGIN", "SAVEPOINT s", r32Renames, "RELEASE SAVEPOINT s"} {
		fe.Send(query(a.sql(s)))
	}
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	for a.r32Decided("RELEASE") == released {
		if ctx.Err() != nil {
			t.Fatal("the gateway did not decide the pipelined queries")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := locker.Exec(ctx, "COMMIT").ReadAll(); err != nil {
		t.Fatal(err)
	}
	got := exchangeOwed(t, tp.pc, []int{5}, nil)
	t.Logf("pipelined: %q", got)
	if got[len(got)-1] != "ready T" {
		t.Fatalf("want the transaction open after the pipelined queries: %q", got)
	}
	got = exchange(t, tp.pc, msgs(query(a.sql(r32Drop))))
	t.Logf("cascade: %q", got)
	if !r32Denied(got) {
		t.Errorf("want the CASCADE denied (42501) in a transaction that set a savepoint: %q", got)
	}
	exchange(t, tp.pc, msgs(query("ROLLBACK")))
	a.r32ViewKept(t)
}

// r32Step is one exchange of a savepoint case: a simple query, or
// extended-protocol messages (with their Sync) when msgs is set.
type r32Step struct {
	sql  string
	msgs []pgproto3.FrontendMessage
}

// r32SavepointCase runs steps as agent casc, then r32Drop in the simple
// protocol unless last is set (then the last step is the CASCADE). deny:
// the CASCADE must be denied; allow: it must run. Either way another
// schema's view over what the steps renamed must stay (the steps roll
// back).
type r32SavepointCase struct {
	name  string
	steps []r32Step
	last  bool
	deny  bool
	allow bool
	open  string
}

func round32SavepointCases(a *advEnv) []r32SavepointCase {
	q := func(s string) r32Step { return r32Step{sql: s} }
	ext := func(ms ...pgproto3.FrontendMessage) r32Step { return r32Step{msgs: ms} }
	run := func(s string) []pgproto3.FrontendMessage {
		return msgs(parse("", a.sql(s)), bind("", ""), execute("", 0))
	}
	cat := func(parts ...[]pgproto3.FrontendMessage) []pgproto3.FrontendMessage {
		var all []pgproto3.FrontendMessage
		for _, p := range parts {
			all = append(all, p...)
		}
		return all
	}
	renameA, renameY := "ALTER TABLE P_app_a RENAME TO P_app_t1", "ALTER TABLE P_app_y RENAME TO P_app_a"
	return []r32SavepointCase{
		{name: "named SAVEPOINT parsed outside the transaction", deny: true, steps: []r32Step{
			ext(parse("sp", "SAVEPOINT s"), syncMsg),
			q("BEGIN"),
			ext(bind("", "sp"), execute("", 0), syncMsg),
			q(r32Renames), q("RELEASE SAVEPOINT s")}},
		{name: "savepoint, renames and CASCADE in one pipeline", deny: true, last: true, steps: []r32Step{
			ext(cat(run("BEGIN"), run("SAVEPOINT s"), run(renameA), run(renameY), run("RELEASE SAVEPOINT s"), run(r32Drop), msgs(syncMsg))...)}},
		{name: "savepoint pipelined in its own batch before the CASCADE's", deny: true, last: true, steps: []r32Step{
			ext(cat(run("BEGIN"), run("SAVEPOINT s"), run(renameA), run(renameY), run("RELEASE SAVEPOINT s"), msgs(syncMsg),
				run(r32Drop), msgs(syncMsg))...)}},
		{name: "savepoint in the extended protocol without BEGIN (25P01)", steps: []r32Step{
			ext(cat(run("SAVEPOINT s"), run(renameA), run(renameY), run("RELEASE SAVEPOINT s"), msgs(syncMsg))...)}},
		{name: "rolled back to the savepoint", deny: true, steps: []r32Step{
			q("BEGIN"), q("SAVEPOINT s"), q(r32Renames), q("ROLLBACK TO SAVEPOINT s"), q("RELEASE SAVEPOINT s"), q(r32Renames)}},
		{name: "transaction failed after a savepoint", steps: []r32Step{
			q("BEGIN"), q("SAVEPOINT s"), q(r32Renames), q("RELEASE SAVEPOINT s"), q("SELECT 1/0")}},
		{name: "rolled back to the savepoint after an error", deny: true, steps: []r32Step{
			q("BEGIN"), q("SAVEPOINT s"), q(r32Renames), q("RELEASE SAVEPOINT s"), q("SAVEPOINT t"), q("SELECT 1/0"), q("ROLLBACK TO SAVEPOINT t")}},
		{name: "commit and chain after a savepoint", deny: true, steps: []r32Step{
			q("BEGIN"), q("SAVEPOINT s"), q("ALTER TABLE P_app_b RENAME TO P_app_b2"), q("RELEASE SAVEPOINT s"), q("COMMIT AND CHAIN"),
			q("ALTER TABLE P_app_b2 RENAME TO P_app_b"), q(r32Renames)}},
		{name: "savepoint in a string another statement of which is denied", deny: true, steps: []r32Step{
			q("BEGIN"), q("SAVEPOINT s; SELECT * FROM P_cust"), q("ROLLBACK"), q("BEGIN"), q(r32Renames)}},
		{name: "savepoint failing outside a transaction block", steps: []r32Step{q("SAVEPOINT s"), q("BEGIN"), q(r32Renames)}},
		{name: "next transaction without a savepoint", allow: true, steps: []r32Step{
			q("BEGIN"), q("SAVEPOINT s"), q("RELEASE SAVEPOINT s"), q("COMMIT")}},
	}
}

// TestAdversarialRound32Savepoint: see round32SavepointCases.
func TestAdversarialRound32Savepoint(t *testing.T) {
	a := newAdvEnv32(t)
	for _, tc := range round32SavepointCases(a) {
		t.Run(tc.name, func(t *testing.T) {
			skipOpen(t, tc.open)
			adminTry(t, a.sql(cascadeDrop))
			t.Cleanup(func() { adminTry(t, a.sql(cascadeDrop)) })
			admin(t, a.sql(r32CascadeSetup))
			tp, err := a.connectTapped(t, "casc", nil)
			if err != nil {
				t.Fatalf("connecting: %v", err)
			}
			var got []string
			for _, s := range tc.steps {
				m := s.msgs
				if m == nil {
					m = msgs(query(a.sql(s.sql)))
				}
				got = exchange(t, tp.pc, m)
				t.Logf("%q", got)
			}
			if !tc.last {
				got = exchange(t, tp.pc, msgs(query(a.sql(r32Drop))))
				t.Logf("cascade: %q", got)
			}
			denied := r32Denied(got)
			failed := slicesContainsPrefix(got, "error ")
			switch {
			case tc.deny && !denied:
				t.Errorf("want the CASCADE denied (42501): %q", got)
			case tc.allow && failed:
				t.Errorf("want the CASCADE to run: %q", got)
			}
			// The session stays usable.
			if got := exchange(t, tp.pc, msgs(query("ROLLBACK")), msgs(query("SELECT 1"))); got[len(got)-1] != "ready I" || slicesContainsPrefix(got, "error ") {
				t.Errorf("after the case: %q", got)
			}
			if !tc.allow {
				a.r32ViewKept(t)
			}
		})
	}
}

func slicesContainsPrefix(ss []string, prefix string) bool {
	for _, s := range ss {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// round32TypedCases reuse round 31's runner (agent r31, rows 1 and 2
// must look alike, no raw masked value may reach the client).
func round32TypedCases() []r31Case {
	const typed = "SELECT (s.a || t.v_num)::text FROM P_s31 s, P_r31 t WHERE t.id = {ID}"
	const alter = "ALTER TABLE P_s31 ALTER COLUMN a TYPE float4[] USING NULL"
	return []r31Case{
		{name: "named statement run, column altered, run again", deny: true,
			steps: []string{"PARSE " + typed, "EXECUTE-PARSED", alter, "EXECUTE-PARSED"}},
		{name: "named statement run, column altered in the transaction, run again", deny: true,
			steps: []string{"PARSE " + typed, "BEGIN", "EXECUTE-PARSED", alter, "EXECUTE-PARSED"}},
		// The cursor holds the table: the ALTER fails (55006), and FETCH in
		// the failed transaction too.
		{name: "cursor declared, column altered, fetched",
			steps: []string{"BEGIN", "DECLARE c CURSOR FOR " + typed, alter, "FETCH ALL FROM c"}},
		// A holdable cursor is materialized at COMMIT, on the old type.
		{name: "holdable cursor declared, column altered, fetched",
			steps: []string{"DECLARE c CURSOR WITH HOLD FOR " + typed, alter, "FETCH ALL FROM c"}},
		{name: "cursor declared after the column was altered in the transaction", deny: true,
			steps: []string{"BEGIN", alter, "DECLARE c CURSOR FOR " + typed}},
		{name: "sql prepared, column altered in a savepoint, executed", deny: true, steps: []string{
			"PREPARE r32q AS " + typed, "BEGIN", "SAVEPOINT s", alter, "RELEASE s", "EXECUTE r32q"}},
	}
}

func TestAdversarialRound32TypedReads(t *testing.T) {
	a := newAdvEnv32(t)
	t.Cleanup(func() { admin(t, a.sql("DROP TABLE IF EXISTS P_s31old; "+round31Drop)) })
	admin(t, a.sql(round31Drop+round31Fixture))
	for _, tc := range round32TypedCases() {
		t.Run(tc.name, func(t *testing.T) {
			skipOpen(t, tc.open)
			o1, leak1 := a.r31Run(t, tc, "1")
			o2, leak2 := a.r31Run(t, tc, "2")
			t.Logf("row 1: %v; row 2: %v", o1, o2)
			if leak1 != "" || leak2 != "" {
				t.Errorf("a raw masked value reached the client: %q %q", leak1, leak2)
			}
			for i := range o1 {
				if o1[i] != o2[i] {
					t.Errorf("step %d differs with the masked value: row 1 %v, row 2 %v", i+1, o1[i], o2[i])
				}
			}
			last1, last2 := o1[len(o1)-1], o2[len(o2)-1]
			if tc.deny && (!last1.denied || !last2.denied) {
				t.Errorf("want a denial (42501), got %v, %v", last1, last2)
			}
		})
	}
}

// TestAdversarialRound32RedecidedExecute: a named typed-read statement
// decided again to a denial at a later Execute, and a suspended portal
// resumed while another session's change of its column waits: the denial
// is a 42501 with nothing of the statement's rows, the transaction state
// is what PostgreSQL's own error gives (idle, or failed in a block), the
// session stays usable, and the statement runs again once the type is
// back.
func TestAdversarialRound32RedecidedExecute(t *testing.T) {
	a := newAdvEnv32(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	t.Cleanup(func() { admin(t, a.sql("DROP TABLE IF EXISTS P_s31old; "+round31Drop)) })
	admin(t, a.sql(round31Drop+round31Fixture))
	typed := a.sql("SELECT (s.a || t.v_num)::text FROM P_s31 s, P_r31 t ORDER BY t.id")
	const alter = "ALTER TABLE P_s31 ALTER COLUMN a TYPE float4[] USING NULL"
	check := func(t *testing.T, got []string, denied bool, ready string) {
		t.Helper()
		t.Logf("%q", got)
		if r32Denied(got) != denied {
			t.Errorf("denied = %v, want %v: %q", !denied, denied, got)
		}
		if denied {
			for _, g := range got[slicesIndexPrefix(got, "error "):] {
				if strings.HasPrefix(g, "row ") {
					t.Errorf("a row after the denial: %q", got)
				}
			}
		}
		if got[len(got)-1] != "ready "+ready {
			t.Errorf("want ReadyForQuery %s: %q", ready, got)
		}
		for _, s := range round31Secrets {
			if strings.Contains(strings.Join(got, "\n"), s) {
				t.Errorf("a raw masked value reached the client: %q", got)
			}
		}
	}
	t.Run("named statement", func(t *testing.T) {
		admin(t, a.sql(round31Reset))
		t.Cleanup(func() { admin(t, a.sql(round31Reset)) })
		tp, err := a.connectTapped(t, "r31", nil)
		if err != nil {
			t.Fatalf("connecting: %v", err)
		}
		run := msgs(bind("", "q"), execute("", 0), syncMsg)
		check(t, exchange(t, tp.pc, msgs(parse("q", typed), syncMsg), run), false, "I")
		admin(t, a.sql(alter))
		check(t, exchange(t, tp.pc, run), true, "I")
		check(t, exchange(t, tp.pc, msgs(query("BEGIN")), run), true, "E")
		check(t, exchange(t, tp.pc, msgs(query("ROLLBACK")), msgs(query("SELECT 1"))), false, "I")
		admin(t, a.sql(round31Reset))
		check(t, exchange(t, tp.pc, run), false, "I")
	})
	t.Run("suspended portal", func(t *testing.T) {
		admin(t, a.sql(round31Reset))
		t.Cleanup(func() { admin(t, a.sql(round31Reset)) })
		tp, err := a.connectTapped(t, "r31", nil)
		if err != nil {
			t.Fatalf("connecting: %v", err)
		}
		// The same session cannot change the table under its open portal.
		check(t, exchange(t, tp.pc, msgs(query("BEGIN")), msgs(parse("q", typed), bind("p", "q"), execute("p", 1), syncMsg)), false, "T")
		got := exchange(t, tp.pc, msgs(query(a.sql(alter))))
		if !slicesContainsPrefix(got, "error 55006") {
			t.Errorf("want the ALTER refused under the open portal (55006): %q", got)
		}
		exchange(t, tp.pc, msgs(query("ROLLBACK")))
		// Another session's change waits for the portal's lock: resumed
		// meanwhile, the portal is decided again on a type being changed.
		check(t, exchange(t, tp.pc, msgs(query("BEGIN")), msgs(bind("p", "q"), execute("p", 1), syncMsg)), false, "T")
		other := pgconnTo(t, adminDSN)
		done := make(chan error, 1)
		go func() {
			_, err := other.Exec(ctx, a.sql(alter)).ReadAll()
			done <- err
		}()
		waiting := a.sql("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE NOT l.granted AND c.relname = 'P_s31'")
		for adminValue(t, waiting) == "0" {
			if ctx.Err() != nil {
				t.Fatal("the other session's ALTER did not wait")
			}
			time.Sleep(10 * time.Millisecond)
		}
		check(t, exchange(t, tp.pc, msgs(execute("p", 1), syncMsg)), true, "E")
		check(t, exchange(t, tp.pc, msgs(query("ROLLBACK")), msgs(query("SELECT 1"))), false, "I")
		if err := <-done; err != nil {
			t.Fatalf("the other session's ALTER: %v", err)
		}
	})
}

func slicesIndexPrefix(ss []string, prefix string) int {
	for i, s := range ss {
		if strings.HasPrefix(s, prefix) {
			return i
		}
	}
	return len(ss)
}

// TestAdversarialRound32ReadOnlyTypedReads: a read-only agent's typed
// reads are decided as a writer's: exempt where the column's type allows,
// filters where it does not.
func TestAdversarialRound32ReadOnlyTypedReads(t *testing.T) {
	a := newAdvEnv32(t)
	ctx := context.Background()
	t.Cleanup(func() { admin(t, a.sql(round31Drop)) })
	admin(t, a.sql(round31Drop+round31Fixture))
	cases := []struct {
		sql   string
		allow bool
	}{
		{"SELECT sum(v_n) FROM P_r31 WHERE id = 1", true},
		{"SELECT v_txt || v_txt FROM P_r31 WHERE id = 1", true},
		{"SELECT sum(v_num) FROM P_r31 WHERE id = 1", false},
		{"SELECT v_tsv || v_tsv FROM P_r31 WHERE id = 1", false},
	}
	tp, err := a.connectTapped(t, "r32ro", nil)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	for _, tc := range cases {
		for _, mode := range []string{"simple", "text", "prepared", "prepared"} {
			o := tp.run(ctx, mode, a.sql(tc.sql))
			switch {
			case tc.allow && o.err != nil:
				t.Errorf("%s (%s): want it to run: %v", tc.sql, mode, o.err)
			case !tc.allow && !o.denied:
				t.Errorf("%s (%s): want a denial (42501): %s %v", tc.sql, mode, o, o.err)
			}
		}
	}
	if s := leaked(tp.tap.take()); s != "" {
		t.Errorf("secret %q reached the client", s)
	}
}

// TestAdversarialRound32TypedReadCost: a prepared typed read is decided
// again, with a catalog lookup, at each Execute; the lookups share the
// gateway's one catalog connection instead of opening one each.
func TestAdversarialRound32TypedReadCost(t *testing.T) {
	a := newAdvEnv32(t)
	ctx := context.Background()
	t.Cleanup(func() { admin(t, a.sql(round31Drop)) })
	admin(t, a.sql(round31Drop+round31Fixture))
	tp, err := a.connectTapped(t, "r31", nil)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	if _, err := tp.pc.Prepare(ctx, "q", a.sql("SELECT sum(v_n) FROM P_r31 WHERE id = 1"), nil); err != nil {
		t.Fatal(err)
	}
	catalogConn := func() (int, uint32) {
		a.srv.catalog.mu.Lock()
		defer a.srv.catalog.mu.Unlock()
		var pid uint32
		for _, pc := range a.srv.catalog.conns {
			pid = pc.PID()
		}
		return len(a.srv.catalog.conns), pid
	}
	if r := tp.pc.ExecPrepared(ctx, "q", nil, nil, nil).Read(); r.Err != nil {
		t.Fatal(r.Err)
	}
	n0, pid0 := catalogConn()
	var b []pgproto3.FrontendMessage
	for range 1000 {
		b = append(b, bind("", "q"), execute("", 0))
	}
	got := exchange(t, tp.pc, append(b, syncMsg))
	if slicesContainsPrefix(got, "error ") || strings.Count(strings.Join(got, "\n"), "complete SELECT 1") != 1000 {
		t.Fatalf("want 1000 runs: %d lines, first error at %d", len(got), slicesIndexPrefix(got, "error "))
	}
	n1, pid1 := catalogConn()
	if n0 != 1 || n1 != 1 || pid0 != pid1 {
		t.Errorf("catalog connections: %d (pid %d) before, %d (pid %d) after 1000 runs; want the same one", n0, pid0, n1, pid1)
	}
	if got := adminValue(t, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid = "+strconv.Itoa(int(pid1))); got != "1" {
		t.Errorf("the catalog connection's backend: %s", got)
	}
}
