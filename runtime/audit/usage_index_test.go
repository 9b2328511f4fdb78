package audit_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/audit"
	"github.com/mandatehq/mandate/runtime/chain"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
	"github.com/mandatehq/mandate/runtime/store/storetest"
)

// usageStores opens a fresh SQLite store and, when PostgreSQL answers, a
// PostgreSQL one.
func usageStores(t *testing.T) map[string]store.Store {
	t.Helper()
	ctx := context.Background()
	out := map[string]store.Store{}
	s, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "record.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	out["sqlite"] = s
	if dsn := storetest.Postgres(t); dsn != "" {
		p, err := store.Open(ctx, store.Config{Postgres: dsn})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		out["postgres"] = p
	}
	return out
}

// history draws random events: agents, roles, grants, decisions, repeated
// and table-less accesses, columns, approvals, commands and shells, and
// statement events carrying repeats.
type history struct {
	rng *rand.Rand
	t0  time.Time
	// odd adds strings that are not valid UTF-8.
	odd bool
	// old draws events as recorded before repeats existed (a record
	// that predates the usage index).
	old bool
}

func (h *history) pick(xs ...string) string { return xs[h.rng.IntN(len(xs))] }

func (h *history) event() recorder.Event {
	r := h.rng
	ev := recorder.Event{Time: h.t0.Add(time.Duration(r.IntN(1000)) * time.Second)}
	if r.IntN(3) == 0 {
		ev.Time = ev.Time.Add(time.Duration(r.IntN(1000))) // ties and near-ties
	}
	switch r.IntN(10) {
	case 0:
	case 1:
		ev.Decision = &recorder.Decision{Result: h.pick(model.Deny, model.NeedsApproval), Role: h.pick("reader", "ops")}
	default:
		ev.Decision = &recorder.Decision{Result: model.Allow, Role: h.pick("reader", "writer", "ops"), Grant: h.pick("sales", "hr", "web")}
	}
	if r.IntN(4) == 0 {
		ev.Kind = recorder.KindCommand
		ev.Command = &recorder.Command{Text: h.pick("uptime", "df -h", "systemctl restart app", "")}
		if r.IntN(5) == 0 {
			ev.Command = &recorder.Command{Shell: true}
		}
		if h.odd && r.IntN(5) == 0 {
			ev.Command.Text = "ls \xff"
		}
		if r.IntN(8) == 0 {
			ev.Statement = &recorder.Statement{Accesses: []model.Access{{Class: "select", Table: "x.y"}}} // ignored on a command
		}
	} else {
		ev.Kind = recorder.KindStatement
		st := &recorder.Statement{Text: "select 1"}
		for range r.IntN(4) {
			st.Accesses = append(st.Accesses, model.Access{Class: h.pick("select", "insert", "delete"), Table: h.pick("sales.orders", "sales.items", "hr.people", "")})
		}
		for range r.IntN(4) {
			st.Columns = append(st.Columns, h.pick("sales.orders.id", "sales.orders.email", "sales.items.sku", "hr.people.name", "id", "sales.orders"))
		}
		if h.odd && r.IntN(5) == 0 {
			st.Columns = append(st.Columns, "sales.orders.\xfe")
		}
		ev.Statement = st
		if !h.old && r.IntN(4) == 0 { // coalesced repeats count as runs
			for i := range 1 + r.IntN(5) {
				ev.Repeats = append(ev.Repeats, recorder.Repeat{ID: fmt.Sprint(i), Offset: time.Duration(i) * time.Millisecond})
			}
		}
	}
	if r.IntN(6) == 0 {
		for range 1 + r.IntN(2) {
			ev.Approvals = append(ev.Approvals, fmt.Sprintf("apr-%d", r.IntN(5)))
		}
	}
	return ev
}

// record writes n events through the recorder in sessions of random
// agents.
func (h *history) record(t *testing.T, st store.Store, gateway string, sessions, n int) {
	t.Helper()
	ctx := context.Background()
	rec, err := recorder.New(ctx, st, recorder.Config{StateDir: t.TempDir(), Instance: gateway, Now: func() time.Time { return h.t0 }})
	if err != nil {
		t.Fatal(err)
	}
	var ss []*recorder.Session
	for range sessions {
		agent := h.pick("etl", "bi", "deployer", "")
		s, err := rec.StartSession(ctx, recorder.SessionInfo{Agent: agent, Connection: "c", Start: h.t0.Add(time.Duration(h.rng.IntN(1000)) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	for range n {
		ev := h.event()
		if _, err := ss[h.rng.IntN(len(ss))].RecordAsync(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range ss[:len(ss)/2] {
		s.End(ctx, "done")
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
}

// appendRaw writes n events straight to the store, with sessions that are
// in the index, missing from it, or only named by their session_start
// event, so that the store derives the usage rows from the payloads.
func (h *history) appendRaw(t *testing.T, st store.Store, gateway string, n int) {
	t.Helper()
	b := &store.Batch{Sessions: []store.Session{{ID: gateway + "-indexed", Gateway: gateway, Agent: "bi", Connection: "c"}}}
	ids := []string{gateway + "-indexed", gateway + "-started", gateway + "-orphan"}
	for i := range n {
		ev := h.event()
		sid := ids[h.rng.IntN(len(ids))]
		if i == 0 {
			ev = recorder.Event{Kind: recorder.KindSessionStart, Time: h.t0, Session: &recorder.SessionInfo{ID: ids[1], Agent: "started-agent"}}
			sid = ids[1]
		}
		payload, err := json.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		b.Events = append(b.Events, store.Event{Gateway: gateway, Seq: uint64(i + 1), SessionID: sid, Time: ev.Time.UnixNano(),
			Kind: string(ev.Kind), Payload: payload, Prev: make([]byte, 32), Hash: make([]byte, 32)})
	}
	if err := st.Append(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

// usageFilters are windows (whole, partial, empty) with and without a
// role or agent.
func usageFilters(t0 time.Time) []audit.UsageFilter {
	var out []audit.UsageFilter
	for _, w := range [][2]time.Duration{{-time.Hour, 2000 * time.Second}, {300 * time.Second, 700 * time.Second}, {900 * time.Second, 950 * time.Second}, {5000 * time.Second, 6000 * time.Second}} {
		base := audit.UsageFilter{Since: t0.Add(w[0]), Until: t0.Add(w[1])}
		for _, f := range []audit.UsageFilter{{}, {Role: "reader"}, {Role: "ops"}, {Agent: "etl"}, {Agent: "(unknown)"}, {Agent: "started-agent", Role: "writer"}} {
			f.Since, f.Until = base.Since, base.Until
			out = append(out, f)
		}
	}
	return append(out, audit.UsageFilter{Until: t0.Add(2000 * time.Second)})
}

func compareUsage(t *testing.T, st store.Store, t0 time.Time) {
	t.Helper()
	ctx := context.Background()
	for _, f := range usageFilters(t0) {
		want, err := audit.UsageFromEvents(ctx, st, f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := audit.Usage(ctx, st, f)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("usage %+v: index differs from the events (-events +index):\n%s", f, diff)
		}
	}
}

// TestUsageIndexMatchesEvents checks that the usage index (SQL
// aggregation) gives exactly what counting the events one by one gives,
// over randomized histories written through the recorder and straight to
// the store, on SQLite and PostgreSQL.
func TestUsageIndexMatchesEvents(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for name, st := range usageStores(t) {
		t.Run(name, func(t *testing.T) {
			for seed := range uint64(3) {
				h := &history{rng: rand.New(rand.NewPCG(seed, 42)), t0: t0, odd: seed == 2}
				h.record(t, st, fmt.Sprintf("gw-%d", seed), 2+int(seed)*3, 300)
				h.appendRaw(t, st, fmt.Sprintf("raw-%d", seed), 200)
				compareUsage(t, st, t0)
			}
			// Retention drops the usage rows of the events it prunes.
			anchor := &chain.Checkpoint{Gateway: "gw-1", Seq: 150, Hash: make([]byte, 32), KeyID: "k", Reason: chain.ReasonInterval, Signature: []byte{1}}
			if n, err := st.Prune(context.Background(), "gw-1", 150, anchor); err != nil || n != 150 {
				t.Fatalf("prune: %d, %v", n, err)
			}
			compareUsage(t, st, t0)
			u, _ := audit.Usage(context.Background(), st, audit.UsageFilter{Since: t0.Add(-time.Hour)})
			if len(u.Grants) < 10 || len(u.Approvals) == 0 || len(u.Agents) < 4 {
				t.Errorf("history too thin to test: %d grants, %d approvals, %d agents", len(u.Grants), len(u.Approvals), len(u.Agents))
			}
		})
	}
}

// TestUsageIndexNUL: PostgreSQL text cannot hold NUL, so an event whose
// command holds one makes usage over its window read the events; SQLite
// keeps it in the index. Both stay exact and appending never fails.
func TestUsageIndexNUL(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for name, st := range usageStores(t) {
		t.Run(name, func(t *testing.T) {
			h := &history{rng: rand.New(rand.NewPCG(7, 7)), t0: t0}
			h.record(t, st, "gw", 3, 100)
			ctx := context.Background()
			rec, err := recorder.New(ctx, st, recorder.Config{StateDir: t.TempDir(), Instance: "nul"})
			if err != nil {
				t.Fatal(err)
			}
			s, _ := rec.StartSession(ctx, recorder.SessionInfo{Agent: "deployer", Connection: "web", Start: t0})
			if _, err := s.Record(ctx, recorder.Event{Kind: recorder.KindCommand, Time: t0.Add(time.Second), Command: &recorder.Command{Text: "echo \x00"},
				Decision: &recorder.Decision{Result: model.Allow, Role: "ops", Grant: "web"}}); err != nil {
				t.Fatal(err)
			}
			rec.Close()
			compareUsage(t, st, t0)
		})
	}
}

// TestUsageIndexBackfill opens a record written before the usage index
// existed (schema version 1): the migration that creates the index fills
// it from the recorded events.
func TestUsageIndexBackfill(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	schema, err := os.ReadFile("../store/migrations/sqlite/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(string(schema) + `;CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_ns BIGINT NOT NULL);INSERT INTO schema_migrations VALUES (1, 0)`); err != nil {
		t.Fatal(err)
	}
	h := &history{rng: rand.New(rand.NewPCG(9, 9)), t0: t0, old: true}
	if _, err := db.Exec(`INSERT INTO sessions VALUES ('old-s', 'old', 'etl', '', '', '', '', 'c', '', '', 0, 0, '')`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6_000 { // more than one backfill chunk
		ev := h.event()
		payload, _ := json.Marshal(&ev)
		if _, err := tx.Exec(`INSERT INTO events VALUES ('old', ?, 'old-s', ?, ?, ?, x'00', x'00')`, i+1, ev.Time.UnixNano(), string(ev.Kind), payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	st, err := store.OpenTarget(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	compareUsage(t, st, t0)
	u, _ := audit.Usage(ctx, st, audit.UsageFilter{Since: t0.Add(-time.Hour)})
	if len(u.Grants) == 0 || u.Agents[0].Agent != "etl" {
		t.Errorf("backfilled usage: %+v", u)
	}
}
