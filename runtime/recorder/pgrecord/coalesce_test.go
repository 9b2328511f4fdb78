package pgrecord

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/audit"
	"github.com/mandatehq/mandate/runtime/pgproxy"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
)

// TestStatementAndResult: under async durability a statement's decision and
// result become one statement event when the result arrives within the
// hold, two events when it does not, and a held statement is written before
// its session's end; under sync durability the statement event is durable
// before Decided returns and the result is an event of its own.
func TestStatementAndResult(t *testing.T) {
	const flush = 150 * time.Millisecond
	S, R := recorder.KindStatement, recorder.KindResult
	for _, tc := range []struct {
		name       string
		durability string
		// run drives one statement.
		run  func(t *testing.T, a *Recorder, db store.Store, s *pgproxy.SessionRecord, st *pgproxy.StatementRecord)
		want []recorder.Kind // between auth and session_end
		// combined: the statement event carries the result.
		combined bool
	}{
		{name: "async, result within the hold", durability: recorder.Async, want: []recorder.Kind{S}, combined: true,
			run: func(t *testing.T, a *Recorder, db store.Store, s *pgproxy.SessionRecord, st *pgproxy.StatementRecord) {
				decide(t, a, s, st)
				a.Completed(context.Background(), s, st)
			}},
		{name: "async, result after the hold", durability: recorder.Async, want: []recorder.Kind{S, R},
			run: func(t *testing.T, a *Recorder, db store.Store, s *pgproxy.SessionRecord, st *pgproxy.StatementRecord) {
				decide(t, a, s, st)
				time.Sleep(3 * flush)
				a.Completed(context.Background(), s, st)
			}},
		{name: "async, session ends before the result", durability: recorder.Async, want: []recorder.Kind{S},
			run: func(t *testing.T, a *Recorder, db store.Store, s *pgproxy.SessionRecord, st *pgproxy.StatementRecord) {
				decide(t, a, s, st)
			}},
		{name: "sync", durability: recorder.Sync, want: []recorder.Kind{S, R},
			run: func(t *testing.T, a *Recorder, db store.Store, s *pgproxy.SessionRecord, st *pgproxy.StatementRecord) {
				decide(t, a, s, st)
				if n := countKind(t, db, S); n != 1 {
					t.Errorf("after Decided under sync durability the store holds %d statement events, want 1", n)
				}
				a.Completed(context.Background(), s, st)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, st := newAdapter(t, recorder.Config{Durability: tc.durability, FlushInterval: flush})
			s := &pgproxy.SessionRecord{ID: "1", Agent: "etl", Subject: "repo:acme/etl", Connection: "sales", Started: time.Now()}
			if err := a.SessionStart(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			stmt := &pgproxy.StatementRecord{Seq: 1, Statement: &model.Statement{Tag: "SELECT", Accesses: []model.Access{{Class: "select", Table: "sales.orders"}}},
				Decision: model.Decision{Result: model.Allow, Role: "reader", Grant: "sales"}, Decided: time.Now(),
				Result: pgproxy.Result{Tag: "SELECT 2", Rows: 2, Bytes: 40}}
			tc.run(t, a, st, s, stmt)
			a.SessionEnd(context.Background(), s, "client closed")
			if err := a.rec.Close(); err != nil {
				t.Fatal(err)
			}

			ss, err := st.Sessions(context.Background(), store.SessionFilter{})
			if err != nil || len(ss) != 1 {
				t.Fatalf("sessions = %+v, %v", ss, err)
			}
			tl, err := audit.SessionTimeline(context.Background(), st, ss[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []recorder.Kind
			for _, e := range tl.Entries {
				kinds = append(kinds, e.Kind)
			}
			want := append(append([]recorder.Kind{recorder.KindSessionStart, recorder.KindAuth}, tc.want...), recorder.KindSessionEnd)
			if diff := cmp.Diff(want, kinds); diff != "" {
				t.Fatalf("kinds (-want +got):\n%s", diff)
			}
			ev := tl.Entries[2].Event
			if ev.Decision == nil || ev.Decision.ID != "1" || ev.Decision.Role != "reader" {
				t.Errorf("statement decision = %+v", ev.Decision)
			}
			if got := ev.Result != nil; got != tc.combined {
				t.Errorf("statement event carries a result: %v, want %v", got, tc.combined)
			}
			if tc.combined && ev.Result.Rows != 2 {
				t.Errorf("combined result = %+v", ev.Result)
			}
			if len(tc.want) == 2 {
				if r := tl.Entries[3].Event; r.Result == nil || r.Result.Rows != 2 || r.Decision == nil || r.Decision.ID != "1" {
					t.Errorf("result event = %+v", r)
				}
			}
			rep, err := audit.Verify(context.Background(), st, audit.VerifyOptions{})
			if err != nil || !rep.OK {
				t.Fatalf("verify: %+v, %v", rep, err)
			}
		})
	}
}

// TestDecidedRefusedWhenRecorderClosed: holding an event back does not hide
// a recorder that cannot record (fail closed).
func TestDecidedRefusedWhenRecorderClosed(t *testing.T) {
	for _, d := range []string{recorder.Async, recorder.Sync} {
		a, _ := newAdapter(t, recorder.Config{Durability: d})
		s := &pgproxy.SessionRecord{ID: "1", Agent: "etl", Connection: "sales", Started: time.Now()}
		if err := a.SessionStart(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		a.rec.Close()
		st := &pgproxy.StatementRecord{Seq: 1, Decision: model.Decision{Result: model.Allow}, Decided: time.Now()}
		if err := a.Decided(context.Background(), s, st); err == nil {
			t.Errorf("%s: Decided succeeded on a closed recorder", d)
		}
	}
}

func newAdapter(t *testing.T, cfg recorder.Config) (*Recorder, store.Store) {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "mandate.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.StateDir = dir
	rec, err := recorder.New(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	return New(rec, nil, nil), st
}

func decide(t *testing.T, a *Recorder, s *pgproxy.SessionRecord, st *pgproxy.StatementRecord) {
	t.Helper()
	if err := a.Decided(context.Background(), s, st); err != nil {
		t.Fatal(err)
	}
}

func countKind(t *testing.T, db store.Store, kind recorder.Kind) int {
	t.Helper()
	n := 0
	err := db.Events(context.Background(), store.EventFilter{Kinds: []string{string(kind)}}, func(*store.Event) error {
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
