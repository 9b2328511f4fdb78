package audit_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/audit"
	"github.com/mandatehq/mandate/runtime/chain"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
)

// fixture is a closed SQLite record with 1 recorder event, a session of
// statements and commands, and checkpoints every 10 events.
type fixture struct {
	dir, path string
	key       *chain.Key
	gateway   string
}

func newFixture(t *testing.T, statements int) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{dir: dir, path: filepath.Join(dir, "record.db")}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Path: f.path})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec, err := recorder.New(ctx, st, recorder.Config{StateDir: dir, Instance: "gw1", CheckpointEvery: 10,
		Now: fakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	f.gateway = rec.Gateway()
	s, err := rec.StartSession(ctx, recorder.SessionInfo{Agent: "etl", Role: "reader", Grant: "sales", Connection: "sales", Subject: "repo:acme/etl", Issuer: "https://issuer"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < statements; i++ {
		ev := recorder.Event{Kind: recorder.KindStatement,
			Statement: &recorder.Statement{Text: fmt.Sprintf("SELECT id, email FROM sales.orders WHERE id = %d", i), Tag: "SELECT",
				Accesses: []model.Access{{Class: "select", Table: "sales.orders"}}, Columns: []string{"sales.orders.id"}},
			Decision: &recorder.Decision{ID: fmt.Sprintf("d%d", i), Result: model.Allow, Role: "reader", Grant: "sales", Source: "roles.hcl:12"},
			Result:   &recorder.Result{Rows: 1, Bytes: 20, Masked: 1}}
		if i%5 == 4 {
			ev.Decision = &recorder.Decision{ID: fmt.Sprintf("d%d", i), Result: model.Deny, Reason: "no grant covers delete on sales.orders"}
			ev.Statement.Accesses = []model.Access{{Class: "delete", Table: "sales.orders"}}
			ev.Result = nil
		}
		if _, err := s.Record(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.End(ctx, "client closed"); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	f.key, err = chain.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// tamper runs SQL directly on the SQLite file, as an attacker with file
// access would.
func (f *fixture) tamper(t *testing.T, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("tampering %q: %v", s, err)
		}
	}
}

// queryUint runs a one-value query on the record's SQLite file.
func (f *fixture) queryUint(t *testing.T, q string) uint64 {
	t.Helper()
	db, err := sql.Open("sqlite", f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v uint64
	if err := db.QueryRow(q).Scan(&v); err != nil {
		t.Fatalf("querying %q: %v", q, err)
	}
	return v
}

func (f *fixture) verify(t *testing.T) *audit.Report {
	t.Helper()
	st, err := store.OpenTarget(context.Background(), f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep, err := audit.Verify(context.Background(), st, audit.VerifyOptions{Keys: audit.NewKeySet(f.key.Public)})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestVerifyTamper(t *testing.T) {
	// 1 recorder event + session start (2) + 30 statements (3..32) + end (33).
	tests := []struct {
		name   string
		tamper []string
		want   *audit.Problem // nil: verifies
	}{
		{"untouched", nil, nil},
		{"delete middle", []string{`DELETE FROM events WHERE seq = 7`}, &audit.Problem{Seq: 7, Kind: audit.ProblemDeleted}},
		{"delete range", []string{`DELETE FROM events WHERE seq BETWEEN 12 AND 15`}, &audit.Problem{Seq: 12, Kind: audit.ProblemDeleted}},
		{"delete first", []string{`DELETE FROM events WHERE seq = 1`}, &audit.Problem{Seq: 1, Kind: audit.ProblemDeleted}},
		{"delete tail covered by checkpoint", []string{`DELETE FROM events WHERE seq >= 31`}, &audit.Problem{Seq: 31, Kind: audit.ProblemDeleted}},
		{"update payload", []string{`UPDATE events SET payload = replace(payload, 'allow', 'deny') WHERE seq = 9`}, &audit.Problem{Seq: 9, Kind: audit.ProblemAltered}},
		{"update time", []string{`UPDATE events SET time_ns = time_ns + 1 WHERE seq = 20`}, &audit.Problem{Seq: 20, Kind: audit.ProblemAltered}},
		{"update session", []string{`UPDATE events SET session_id = 'other' WHERE seq = 5`}, &audit.Problem{Seq: 5, Kind: audit.ProblemAltered}},
		{"swap", []string{
			`UPDATE events SET seq = -1 WHERE seq = 10`,
			`UPDATE events SET seq = 10 WHERE seq = 11`,
			`UPDATE events SET seq = 11 WHERE seq = -1`,
		}, &audit.Problem{Seq: 10, Kind: audit.ProblemReordered}},
		{"delete and renumber", []string{
			`DELETE FROM events WHERE seq = 25`,
			`UPDATE events SET seq = -(seq - 1) WHERE seq > 25`,
			`UPDATE events SET seq = -seq WHERE seq < 0`,
		}, &audit.Problem{Seq: 25, Kind: audit.ProblemDeleted}},
		{"deleted checkpoint and tail", []string{`DELETE FROM checkpoints WHERE seq = 33`, `DELETE FROM events WHERE seq = 33`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 30)
			f.tamper(t, tt.tamper...)
			rep := f.verify(t)
			var got *audit.Problem
			if len(rep.Chains) == 1 {
				got = rep.Chains[0].Problem
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(audit.Problem{}, "Gateway", "Detail")); diff != "" {
				t.Errorf("problem (-want +got):\n%s", diff)
			}
			if rep.OK != (tt.want == nil) {
				t.Errorf("OK = %v", rep.OK)
			}
		})
	}
}

// TestVerifyForgedCheckpoint forges the first checkpoint. Where checkpoints
// fall depends on how the writer batched the events, so the test asks the
// file rather than assuming a seq.
func TestVerifyForgedCheckpoint(t *testing.T) {
	f := newFixture(t, 30)
	seq := f.queryUint(t, `SELECT MIN(seq) FROM checkpoints`)
	f.tamper(t, fmt.Sprintf(`UPDATE checkpoints SET hash = zeroblob(32) WHERE seq = %d`, seq))
	rep := f.verify(t)
	if rep.OK || len(rep.Chains) != 1 {
		t.Fatalf("report = %+v, want one failing chain", rep)
	}
	want := &audit.Problem{Seq: seq, Kind: audit.ProblemCheckpoint}
	if diff := cmp.Diff(want, rep.Chains[0].Problem, cmpopts.IgnoreFields(audit.Problem{}, "Gateway", "Detail")); diff != "" {
		t.Errorf("problem (-want +got):\n%s", diff)
	}
}

func TestVerifyWrongKey(t *testing.T) {
	f := newFixture(t, 3)
	other, _ := chain.NewKey()
	st, _ := store.OpenTarget(context.Background(), f.path)
	defer st.Close()
	rep, err := audit.Verify(context.Background(), st, audit.VerifyOptions{Keys: audit.NewKeySet(other.Public)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.Chains[0].Problem.Kind != audit.ProblemCheckpoint {
		t.Errorf("verify with another key: %+v", rep.Chains[0].Problem)
	}
}

func TestExportVerify(t *testing.T) {
	f := newFixture(t, 30)
	ctx := context.Background()
	st, _ := store.OpenTarget(ctx, f.path)
	defer st.Close()
	times := map[uint64]int64{}
	st.Events(ctx, store.EventFilter{}, func(e *store.Event) error { times[e.Seq] = e.Time; return nil })
	var buf bytes.Buffer
	// events 12..18 by time; the export extends to the next checkpoint,
	// which falls where the writer's batching put it (20 when every batch
	// is one event).
	end := f.queryUint(t, `SELECT MIN(seq) FROM checkpoints WHERE seq >= 18`)
	n, err := audit.Export(ctx, st, time.Unix(0, times[12]), time.Unix(0, times[18]), &buf)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(end - 12 + 1); n != want {
		t.Errorf("exported %d events, want %d (12..%d)", n, want, end)
	}
	ev, err := audit.ReadEvidence(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(ctx, ev, audit.VerifyOptions{Keys: audit.NewKeySet(f.key.Public), Excerpt: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Chains[0].FirstSeq != 12 || rep.Chains[0].LastSeq != end || rep.Chains[0].Unsigned != 0 {
		t.Errorf("verify export: %+v", rep.Chains)
	}
	// Altering a byte of the evidence is caught.
	bad := bytes.Replace(buf.Bytes(), []byte(`"rows":1`), []byte(`"rows":2`), 1)
	ev, err = audit.ReadEvidence(bytes.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	rep, _ = audit.Verify(ctx, ev, audit.VerifyOptions{Keys: audit.NewKeySet(f.key.Public), Excerpt: true})
	if rep.OK || rep.Chains[0].Problem.Kind != audit.ProblemAltered {
		t.Errorf("verify altered export: %+v", rep.Chains)
	}
}

func TestRetentionKeepsVerification(t *testing.T) {
	f := newFixture(t, 30)
	ctx := context.Background()
	st, err := store.OpenTarget(ctx, f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	times := map[uint64]int64{}
	st.Events(ctx, store.EventFilter{}, func(e *store.Event) error { times[e.Seq] = e.Time; return nil })
	rec, err := recorder.New(ctx, st, recorder.Config{StateDir: f.dir, Instance: "gw1"})
	if err != nil {
		t.Fatal(err)
	}
	n, err := rec.Prune(ctx, time.Unix(0, times[15]))
	if err != nil {
		t.Fatal(err)
	}
	if n != 14 {
		t.Errorf("pruned %d events, want 14", n)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(ctx, st, audit.VerifyOptions{Keys: audit.NewKeySet(f.key.Public)})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Chains[0].FirstSeq != 15 || !rep.Chains[0].Anchored {
		t.Errorf("verify after retention: %+v", rep.Chains)
	}
	// Deleting the first remaining event is still caught.
	f.tamper(t, `DELETE FROM events WHERE seq = 15`)
	rep, _ = audit.Verify(ctx, st, audit.VerifyOptions{Keys: audit.NewKeySet(f.key.Public)})
	if rep.OK || rep.Chains[0].Problem.Seq != 15 || rep.Chains[0].Problem.Kind != audit.ProblemDeleted {
		t.Errorf("verify after deleting the new first event: %+v", rep.Chains)
	}
}

// fakeClock returns a clock that advances by step on every reading; safe for
// the recorder's writer goroutine and its callers.
func fakeClock(start time.Time, step time.Duration) func() time.Time {
	var mu sync.Mutex
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		start = start.Add(step)
		return start
	}
}
