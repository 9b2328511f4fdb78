package pgproxy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mandatehq/mandate/model"
)

// Round 17 works on recording completeness under faults: every statement
// decided is recorded once before it runs (Decided) and once after
// (Completed), in order, and every session once at its start and once at
// its end with the reason, whatever path the session takes.

// r17Event is one recorder call.
type r17Event struct {
	kind    string // start, decided, completed, end
	session string
	st      StatementRecord
	reason  string
}

// r17Recorder keeps every call in order, and can fail or hold Decided.
type r17Recorder struct {
	mu     sync.Mutex
	events []r17Event
	// failed are the Seqs whose Decided returned an error.
	failed map[string]map[int64]bool
	// decided, when set, runs before Decided records; an error fails it.
	decided func(st *StatementRecord) error
}

func (r *r17Recorder) SessionStart(_ context.Context, s *SessionRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, r17Event{kind: "start", session: s.ID})
	return nil
}

func (r *r17Recorder) Decided(_ context.Context, s *SessionRecord, st *StatementRecord) error {
	if r.decided != nil {
		if err := r.decided(st); err != nil {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.failed == nil {
				r.failed = map[string]map[int64]bool{}
			}
			if r.failed[s.ID] == nil {
				r.failed[s.ID] = map[int64]bool{}
			}
			r.failed[s.ID][st.Seq] = true
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, r17Event{kind: "decided", session: s.ID, st: *st})
	return nil
}

func (r *r17Recorder) Completed(_ context.Context, s *SessionRecord, st *StatementRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, r17Event{kind: "completed", session: s.ID, st: *st})
}

func (r *r17Recorder) SessionEnd(_ context.Context, s *SessionRecord, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, r17Event{kind: "end", session: s.ID, reason: reason})
}

// ended returns the end reasons recorded.
func (r *r17Recorder) ended() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.events {
		if ev.kind == "end" {
			out = append(out, ev.reason)
		}
	}
	return out
}

// completedOf returns the completions recorded, in order.
func (r *r17Recorder) completedOf() []StatementRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []StatementRecord
	for _, ev := range r.events {
		if ev.kind == "completed" {
			out = append(out, ev.st)
		}
	}
	return out
}

// check returns what breaks the record's invariants, per session: one
// start first and one end last with a reason; Seqs decided in increasing
// order; each decided Seq completed exactly once, after its decision and
// in Seq order; no completion of a Seq that was not decided, except one
// whose Decided failed (then denied).
func (r *r17Recorder) check() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	type state struct {
		started, ended  int
		lastDecided     int64
		lastCompleted   int64
		decided, closed map[int64]int
	}
	ss := map[string]*state{}
	var order []string
	var bad []string
	for _, ev := range r.events {
		s := ss[ev.session]
		if s == nil {
			s = &state{decided: map[int64]int{}, closed: map[int64]int{}}
			ss[ev.session] = s
			order = append(order, ev.session)
		}
		if s.ended > 0 {
			bad = append(bad, fmt.Sprintf("session %s: %s after the end", ev.session, ev.kind))
		}
		switch ev.kind {
		case "start":
			s.started++
		case "end":
			s.ended++
			if ev.reason == "" {
				bad = append(bad, fmt.Sprintf("session %s: ended without a reason", ev.session))
			}
		case "decided":
			if ev.st.Seq <= s.lastDecided {
				bad = append(bad, fmt.Sprintf("session %s: decided seq %d after %d", ev.session, ev.st.Seq, s.lastDecided))
			}
			s.lastDecided = ev.st.Seq
			s.decided[ev.st.Seq]++
		case "completed":
			seq := ev.st.Seq
			switch {
			case s.decided[seq] == 0 && !r.failed[ev.session][seq]:
				bad = append(bad, fmt.Sprintf("session %s: seq %d completed but never decided (%q %q)", ev.session, seq, ev.st.Raw(), ev.st.Result.Error))
			case s.decided[seq] == 0 && ev.st.Decision.Result == model.Allow:
				bad = append(bad, fmt.Sprintf("session %s: seq %d ran although recording its decision failed", ev.session, seq))
			}
			if seq <= s.lastCompleted {
				bad = append(bad, fmt.Sprintf("session %s: completed seq %d after %d", ev.session, seq, s.lastCompleted))
			}
			s.lastCompleted = seq
			s.closed[seq]++
			if ev.st.Result.Tag == "" && ev.st.Result.Error == "" {
				bad = append(bad, fmt.Sprintf("session %s: seq %d (%q) completed with neither a tag nor an error", ev.session, seq, ev.st.Raw()))
			}
		}
	}
	for _, id := range order {
		s := ss[id]
		if s.started != 1 || s.ended != 1 {
			bad = append(bad, fmt.Sprintf("session %s: %d starts, %d ends", id, s.started, s.ended))
		}
		for seq := range s.decided {
			if s.closed[seq] != 1 {
				bad = append(bad, fmt.Sprintf("session %s: seq %d decided, completed %d times", id, seq, s.closed[seq]))
			}
		}
		for seq, n := range s.closed {
			if n > 1 {
				bad = append(bad, fmt.Sprintf("session %s: seq %d completed %d times", id, seq, n))
			}
		}
	}
	return bad
}

// r17Env is a gateway recording into an r17Recorder.
func r17Env(t *testing.T, opts ...envOpt) (*env, *r17Recorder) {
	rec := &r17Recorder{}
	e := newEnv(t, append([]envOpt{func(c *Config) { c.Recorder = rec }}, opts...)...)
	return e, rec
}

// r17Done waits until the gateway holds no session and every session
// started has its end recorded, then checks the record.
func r17Done(t *testing.T, e *env, rec *r17Recorder) {
	t.Helper()
	waitFor(t, "sessions ended", func() bool {
		if e.srv.Sessions() != 0 {
			return false
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		n := 0
		for _, ev := range rec.events {
			switch ev.kind {
			case "start":
				n++
			case "end":
				n--
			}
		}
		return n == 0
	})
	for _, b := range rec.check() {
		t.Error(b)
	}
}

// r17Completed returns the completion of the statement whose raw text
// holds marker.
func r17Completed(t *testing.T, rec *r17Recorder, marker string) StatementRecord {
	t.Helper()
	for _, st := range rec.completedOf() {
		if strings.Contains(st.Raw(), marker) {
			return st
		}
	}
	t.Fatalf("no completion recorded for %q", marker)
	return StatementRecord{}
}

// TestAdversarialRound17DecidedWhileUpstreamEnds: the upstream backend is
// terminated while the client loop is deciding the next pipelined
// statement (its Decided is slow). The relay completed what was queued
// when it stopped; the statement queued after that was decided and
// recorded, and never got a completion: a decision without a result.
func TestAdversarialRound17DecidedWhileUpstreamEnds(t *testing.T) {
	rec := &r17Recorder{}
	rec.decided = func(st *StatementRecord) error {
		if strings.Contains(st.Raw(), "r17_held_decision") {
			// Held until the relay has recorded the killed query's
			// result, which it does after completing what is queued.
			waitFor(t, "the killed query's result", func() bool {
				for _, c := range rec.completedOf() {
					if strings.Contains(c.Raw(), "pg_sleep") {
						return true
					}
				}
				return false
			})
		}
		return nil
	}
	e := newEnv(t, func(c *Config) { c.Recorder = rec })
	c := pgconnTo(t, e.dsn("agent1", "require"))
	app := "r17-" + randHex(4)
	exchange(t, c, msgs(query("SET application_name = '"+app+"'")))
	fe := c.Frontend()
	fe.Send(query("SELECT pg_sleep(30)"))
	fe.Send(query("SELECT 'r17_held_decision'"))
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the query running", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		n := 0
		for _, ev := range rec.events {
			if ev.kind == "decided" {
				n++
			}
		}
		return n >= 2
	})
	time.Sleep(200 * time.Millisecond) // the query reaches the server
	admin(t, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", app)
	r17Done(t, e, rec)
	if got := r17Completed(t, rec, "r17_held_decision"); got.Result.Error != notCompletedSession {
		t.Errorf("held statement completed with %q, want %q", got.Result.Error, notCompletedSession)
	}
	if got := rec.ended(); len(got) != 1 || got[0] != "upstream connection ended" {
		t.Errorf("ended = %q", got)
	}
}

// TestAdversarialRound17DeniedStringAttribution: a simple query string
// with a denied statement runs none of it. The record gave the denial
// (message and 42501) to the string's first statement, which the policy
// allowed, and recorded the denied one as "not executed: an earlier
// statement failed". The same when recording a statement's decision
// fails, or a statement needs approval: the statement that could not be
// recorded, or that needs the approval, carries the refusal.
// In a record that keeps no raw text the allowed statement's error was
// dropped, so it looked like a statement that failed with 42501 on its own.
func TestAdversarialRound17DeniedStringAttribution(t *testing.T) {
	rec := &r17Recorder{}
	rec.decided = func(st *StatementRecord) error {
		if strings.Contains(st.Raw(), "r17_unrecordable") {
			return errors.New("disk full")
		}
		return nil
	}
	e := newEnv(t, func(c *Config) { c.Recorder = rec })
	tbl := e.table(t, "t", "id int", "")
	secret := e.table(t, "secret", "id int", "")
	gated := e.table(t, "gated", "id int", "")
	e.policy.set(func(p *testPolicy) { p.denied[secret], p.approval[gated] = true, true })
	c := pgconnTo(t, e.dsn("agent1", "require"))
	for _, tc := range []struct{ name, sql, culprit string }{
		{"denied", "INSERT INTO " + tbl + " VALUES (1); SELECT 'r17_a' FROM " + secret, "r17_a"},
		{"needs approval", "INSERT INTO " + tbl + " VALUES (4); SELECT 'r17_b' FROM " + gated + "; INSERT INTO " + tbl + " VALUES (5)", "r17_b"},
		{"recorder", "INSERT INTO " + tbl + " VALUES (2); SELECT 'r17_unrecordable'; INSERT INTO " + tbl + " VALUES (3)", "r17_unrecordable"},
	} {
		got := exchange(t, c, msgs(query(tc.sql)))
		if len(got) != 2 || !strings.HasPrefix(got[0], "error 42501 mandate: ") {
			t.Fatalf("%s: %q, want the denial", tc.name, got)
		}
	}
	if got := exchange(t, c, msgs(query("SELECT count(*) FROM "+tbl))); got[1] != "row 0" {
		t.Fatalf("a statement of a denied string ran: %q", got)
	}
	c.Close(context.Background())
	r17Done(t, e, rec)
	for _, st := range rec.completedOf() {
		if strings.Contains(st.Raw(), "count(*)") {
			continue
		}
		culprit := strings.Contains(st.Raw(), "r17_a") || strings.Contains(st.Raw(), "r17_b") || strings.Contains(st.Raw(), "r17_unrecordable")
		switch {
		case culprit && (st.Result.SQLState != CodeInsufficientPrivilege || !strings.HasPrefix(st.Result.Error, "mandate: ")):
			t.Errorf("%q (denied) recorded %s %q, want its denial", st.Raw(), st.Result.SQLState, st.Result.Error)
		case !culprit && (st.Result.SQLState != "" || st.Result.Error != notExecutedDenied):
			t.Errorf("%q (allowed, not run) recorded %s %q, want %q", st.Raw(), st.Result.SQLState, st.Result.Error, notExecutedDenied)
		}
		if st.RecordedError() == "" {
			t.Errorf("%q: the record keeps no error for a statement that did not run", st.Raw())
		}
	}
}

// TestAdversarialRound17BindFailureRecorded: in an extended batch the
// server plans the unnamed statement at Bind, where SELECT 1/0 fails. The
// record said the statement was "not executed: an earlier message of the
// batch failed" (its own Bind), and gave every skipped statement behind it
// the failure's SQLSTATE, which in the simple protocol a skipped statement
// does not carry.
func TestAdversarialRound17BindFailureRecorded(t *testing.T) {
	e, rec := r17Env(t)
	c := pgconnTo(t, e.dsn("agent1", "require"))
	got := exchange(t, c, msgs(
		parse("", "SELECT 1/0 AS r17_fails"), bind("", ""), execute("", 0),
		parse("", "SELECT 'r17_skipped'"), bind("", ""), execute("", 0), syncMsg))
	if len(got) != 3 || got[1] != "error 22012 division by zero" {
		t.Fatalf("got %q", got)
	}
	c.Close(context.Background())
	r17Done(t, e, rec)
	if st := r17Completed(t, rec, "r17_fails"); st.Result.SQLState != "22012" || st.Result.Error != "division by zero" {
		t.Errorf("failing statement recorded %s %q, want 22012 division by zero", st.Result.SQLState, st.Result.Error)
	}
	if st := r17Completed(t, rec, "r17_skipped"); st.Result.SQLState != "" || st.Result.Error != notExecutedBatch {
		t.Errorf("skipped statement recorded %s %q, want no SQLSTATE and %q", st.Result.SQLState, st.Result.Error, notExecutedBatch)
	}
}

// r17PanicRecorder panics in Completed, after recording, for a marked
// statement: a bug in the relay's recording path.
type r17PanicRecorder struct{ r17Recorder }

func (r *r17PanicRecorder) Completed(ctx context.Context, s *SessionRecord, st *StatementRecord) {
	r.r17Recorder.Completed(ctx, s, st)
	if strings.Contains(st.Raw(), "r17_panic_in_relay") {
		panic("test: a bug in the relay")
	}
}

// TestAdversarialRound17RelayPanicCompletes: the relay panics while a
// pipelined statement is still running. The session ended (FATAL XX000,
// reason recorded) but nothing completed the statements still queued:
// decided, never completed.
func TestAdversarialRound17RelayPanicCompletes(t *testing.T) {
	rec := &r17PanicRecorder{}
	e := newEnv(t, func(c *Config) { c.Recorder = rec })
	c := pgconnTo(t, e.dsn("agent1", "require"))
	fe := c.Frontend()
	fe.Send(query("SELECT 'r17_panic_in_relay'"))
	fe.Send(query("SELECT pg_sleep(1), 'r17_behind'"))
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "session end", func() bool { return len(rec.ended()) == 1 })
	if got := rec.ended(); !strings.HasPrefix(got[0], "internal error: ") {
		t.Errorf("ended = %q", got)
	}
	for _, b := range rec.check() {
		t.Error(b)
	}
	if st := r17Completed(t, &rec.r17Recorder, "r17_behind"); st.Result.Error != notCompletedSession {
		t.Errorf("queued statement completed with %q, want %q", st.Result.Error, notCompletedSession)
	}
}

// TestAdversarialRound17SessionEndedKept: the client vanishes mid-result,
// while the client loop is deciding the next pipelined statement (its
// Decided is slow). Two holes: the cut statement is completed with
// "session ended before the statement completed", but RecordedError
// dropped that message, so the stored result had no tag, no SQLSTATE and
// no error, like a run that ended normally; and the relay, whose write to
// the client failed first, recorded the session's end as "upstream
// connection ended".
func TestAdversarialRound17SessionEndedKept(t *testing.T) {
	rec := &r17Recorder{}
	rec.decided = func(st *StatementRecord) error {
		if strings.Contains(st.Raw(), "r17_held_decision") {
			waitFor(t, "the cut query's result", func() bool {
				for _, c := range rec.completedOf() {
					if strings.Contains(c.Raw(), "r17_cut") {
						return true
					}
				}
				return false
			})
		}
		return nil
	}
	e := newEnv(t, func(c *Config) { c.Recorder = rec })
	c := pgconnTo(t, e.dsn("agent1", "require"))
	fe := c.Frontend()
	fe.Send(query("SELECT repeat('x', 1000), 'r17_cut' FROM generate_series(1, 200000)"))
	fe.Send(query("SELECT 'r17_held_decision'"))
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := fe.Receive(); err != nil { // the result has started
		t.Fatal(err)
	}
	c.Conn().Close()
	r17Done(t, e, rec)
	for _, marker := range []string{"r17_cut", "r17_held_decision"} {
		st := r17Completed(t, rec, marker)
		if st.Result.Tag != "" || st.RecordedError() != notCompletedSession {
			t.Errorf("%s recorded tag %q error %q, want %q", marker, st.Result.Tag, st.RecordedError(), notCompletedSession)
		}
	}
	if got := rec.ended(); len(got) != 1 || got[0] != "client disconnected" {
		t.Errorf("ended = %q, want [client disconnected]", got)
	}
}
