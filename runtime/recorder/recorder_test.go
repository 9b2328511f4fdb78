package recorder_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/audit"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
	"github.com/mandatehq/mandate/runtime/store/storetest"
	"github.com/prometheus/client_golang/prometheus"
)

func openSQLite(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Path: filepath.Join(dir, "record.db"), Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func verifyOK(t *testing.T, st store.Store) *audit.Report {
	t.Helper()
	rep, err := audit.Verify(context.Background(), st, audit.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		t.Fatalf("verify: %+v", rep.Chains)
	}
	return rep
}

func stmt(i int) recorder.Event {
	return recorder.Event{Kind: recorder.KindStatement,
		Statement: &recorder.Statement{Text: fmt.Sprintf("SELECT * FROM t WHERE id = %d", i), Accesses: []model.Access{{Class: "select", Table: "public.t"}}},
		Decision:  &recorder.Decision{ID: fmt.Sprint(i), Result: model.Allow, Role: "reader", Grant: "db", Source: "roles.hcl:3"},
		Result:    &recorder.Result{Rows: 1, Bytes: 10, Duration: time.Millisecond}}
}

func TestRecordConcurrent(t *testing.T) {
	for _, tc := range []struct{ backend, mode string }{
		{"sqlite", recorder.Sync}, {"sqlite", recorder.Async}, {"postgres", recorder.Sync}, {"postgres", recorder.Async},
	} {
		mode := tc.mode
		t.Run(tc.backend+"/"+mode, func(t *testing.T) {
			dir := t.TempDir()
			var st store.Store
			if tc.backend == "sqlite" {
				st = openSQLite(t, dir)
			} else {
				dsn := storetest.Postgres(t)
				if dsn == "" {
					t.Skip("no postgres")
				}
				var err error
				if st, err = store.Open(context.Background(), store.Config{Postgres: dsn}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
			}
			rec, err := recorder.New(context.Background(), st, recorder.Config{StateDir: dir, Durability: mode, CheckpointEvery: 50})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			const writers, each = 16, 40
			var wg sync.WaitGroup
			var durable atomic.Int64
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s, err := rec.StartSession(ctx, recorder.SessionInfo{Agent: fmt.Sprintf("agent%d", w), Connection: "db", Role: "reader"})
					if err != nil {
						t.Error(err)
						return
					}
					for i := 0; i < each; i++ {
						ack, err := s.Record(ctx, stmt(i))
						if err != nil {
							t.Error(err)
							return
						}
						if ack.Durable {
							durable.Add(1)
						}
					}
					if err := s.End(ctx, "client closed"); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if mode == recorder.Sync && durable.Load() != writers*each {
				t.Errorf("durable acks = %d, want %d", durable.Load(), writers*each)
			}
			if err := rec.Close(); err != nil {
				t.Fatal(err)
			}
			if err := rec.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			rep := verifyOK(t, st)
			// recorder start + per session: start, events, end
			want := int64(1 + writers*(each+2))
			if got := rep.Chains[0].Events; got != want {
				t.Errorf("events = %d, want %d", got, want)
			}
			if rep.Chains[0].Unsigned != 0 {
				t.Errorf("unsigned tail after Close = %d", rep.Chains[0].Unsigned)
			}
			ss, _ := st.Sessions(ctx, store.SessionFilter{})
			if len(ss) != writers || ss[0].EndReason != "client closed" {
				t.Errorf("sessions = %d, first %+v", len(ss), ss[0])
			}
		})
	}
}

func TestResume(t *testing.T) {
	dir := t.TempDir()
	st := openSQLite(t, dir)
	ctx := context.Background()
	var notes []string
	for i := 0; i < 2; i++ {
		rec, err := recorder.New(ctx, st, recorder.Config{StateDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := rec.StartSession(ctx, recorder.SessionInfo{Agent: "a", Connection: "db"})
		s.Record(ctx, stmt(i))
		s.End(ctx, "done")
		if err := rec.Close(); err != nil {
			t.Fatal(err)
		}
	}
	st.Events(ctx, store.EventFilter{Kinds: []string{string(recorder.KindRecorder)}}, func(e *store.Event) error {
		var ev recorder.Event
		json.Unmarshal(e.Payload, &ev)
		notes = append(notes, ev.Note)
		return nil
	})
	if len(notes) != 2 || !strings.Contains(notes[1], "clean shutdown") {
		t.Errorf("notes = %q", notes)
	}
	rep := verifyOK(t, st)
	if len(rep.Chains) != 1 || rep.Chains[0].Events != 8 {
		t.Errorf("chains = %+v", rep.Chains)
	}
}

func TestRedaction(t *testing.T) {
	tests := []struct {
		name    string
		keepRaw bool
		want    recorder.Statement
	}{
		{"default", false, recorder.Statement{Text: "SELECT * FROM t WHERE email = ? AND id = ?"}},
		{"keep raw", true, recorder.Statement{Text: "SELECT * FROM t WHERE email = ? AND id = ?", Raw: "SELECT * FROM t WHERE email = 'a@b.c' AND id = 42"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			st := openSQLite(t, dir)
			ctx := context.Background()
			rec, err := recorder.New(ctx, st, recorder.Config{StateDir: dir, KeepRawStatements: tt.keepRaw})
			if err != nil {
				t.Fatal(err)
			}
			s, _ := rec.StartSession(ctx, recorder.SessionInfo{Agent: "a", Connection: "db"})
			s.Record(ctx, recorder.Event{Kind: recorder.KindStatement, Statement: &recorder.Statement{Text: "SELECT * FROM t WHERE email = 'a@b.c' AND id = 42"}})
			rec.Close()
			var got recorder.Statement
			st.Events(ctx, store.EventFilter{Kinds: []string{"statement"}}, func(e *store.Event) error {
				var ev recorder.Event
				if err := json.Unmarshal(e.Payload, &ev); err != nil {
					return err
				}
				got = *ev.Statement
				return nil
			})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("stored statement (-want +got):\n%s", diff)
			}
		})
	}
}

// flakyStore fails Append while down is set, standing in for a full disk or
// a database that went away.
type flakyStore struct {
	store.Store
	down atomic.Bool
}

func (f *flakyStore) Append(ctx context.Context, b *store.Batch) error {
	if f.down.Load() {
		return errors.New("disk full")
	}
	return f.Store.Append(ctx, b)
}

func TestUnavailable(t *testing.T) {
	dir := t.TempDir()
	fs := &flakyStore{Store: openSQLite(t, dir)}
	ctx := context.Background()
	rec, err := recorder.New(ctx, fs, recorder.Config{StateDir: dir, RetryInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if err := rec.Register(reg); err != nil {
		t.Fatal(err)
	}
	s, _ := rec.StartSession(ctx, recorder.SessionInfo{Agent: "a", Connection: "db"})
	fs.down.Store(true)
	if _, err := s.Record(ctx, stmt(1)); !errors.Is(err, recorder.ErrUnavailable) || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Record while down = %v", err)
	}
	if err := rec.Healthy(); err == nil {
		t.Fatal("Healthy while down = nil")
	}
	if _, err := s.Record(ctx, stmt(2)); !errors.Is(err, recorder.ErrUnavailable) {
		t.Fatalf("second Record while down = %v", err)
	}
	fs.down.Store(false)
	for i := 0; rec.Healthy() != nil; i++ {
		if i > 1000 {
			t.Fatal("recorder did not recover")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := s.Record(ctx, stmt(3)); err != nil {
		t.Fatalf("Record after recovery = %v", err)
	}
	s.End(ctx, "done")
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	rep := verifyOK(t, fs)
	// recorder, start, stmt 1 (retried after its caller got the error), stmt 3, end
	if got := rep.Chains[0].Events; got != 5 {
		t.Errorf("events = %d, want 5", got)
	}
	for _, name := range []string{"mandate_recorder_write_failures_total", "mandate_recorder_events_rejected_total"} {
		if n := metricValue(t, reg, name); n < 1 {
			t.Errorf("%s = %v, want >= 1", name, n)
		}
	}
}

func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

func TestResumeRefusesBrokenTail(t *testing.T) {
	dir := t.TempDir()
	st := openSQLite(t, dir)
	ctx := context.Background()
	rec, err := recorder.New(ctx, st, recorder.Config{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := rec.StartSession(ctx, recorder.SessionInfo{Agent: "a", Connection: "db"})
	s.Record(ctx, stmt(1))
	rec.Close()
	raw, err := sql.Open("sqlite", filepath.Join(dir, "record.db"))
	if err != nil {
		t.Fatal(err)
	}
	raw.Exec(`DELETE FROM checkpoints`)
	raw.Exec(`UPDATE events SET payload = CAST('{}' AS BLOB) WHERE seq = 3`)
	raw.Close()
	if _, err := recorder.New(ctx, st, recorder.Config{StateDir: dir}); err == nil || !strings.Contains(err.Error(), "event 3 hash mismatch") {
		t.Errorf("New on a broken tail = %v", err)
	}
}
