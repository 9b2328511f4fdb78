package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
)

// TestReviewCommandFromStore reads usage straight from a SQLite record
// written by the real recorder.
func TestReviewCommandFromStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "record.db")
	st, err := store.Open(ctx, store.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	// The recorder reads its clock from the caller and from its writer.
	var tick atomic.Int64
	now := func() time.Time { return day("2026-11-20").Add(time.Duration(tick.Add(1)) * time.Second) }
	rec, err := recorder.New(ctx, st, recorder.Config{StateDir: dir, Instance: "gw1", Durability: recorder.Sync, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	s, err := rec.StartSession(ctx, recorder.SessionInfo{Agent: "fulfilment-planner", Role: "order_reader", Grant: "orders_db", Connection: "orders_db", Protocol: "postgres"})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.RecordSync(ctx, recorder.Event{Kind: recorder.KindStatement,
			Statement: &recorder.Statement{Text: "select * from orders", Accesses: []model.Access{{Class: "select", Table: "public.orders"}}},
			Decision:  &recorder.Decision{Result: model.Allow, Role: "order_reader", Grant: "orders_db"}}); err != nil {
			t.Fatal(err)
		}
	}
	s.End(ctx, "done")
	rec.Close()
	st.Close()

	policy := filepath.Join("..", "..", "review", "testdata", "repo")
	out, code := execReview(t, "review", "--policy", policy, "--usage", path, "--date", "2026-11-26", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var doc struct {
		Roles []struct {
			Review struct {
				Grants []struct {
					Connection string `json:"connection"`
					Used       bool   `json:"used"`
					Count      int64  `json:"count"`
				} `json:"grants"`
			} `json:"review"`
			Files []string `json:"files"`
		} `json:"roles"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Roles) != 1 {
		t.Fatalf("output: %v\n%s", err, out)
	}
	for _, g := range doc.Roles[0].Review.Grants {
		if want := g.Connection == "orders_db"; g.Used != want || (want && g.Count != 3) {
			t.Errorf("grant %s: used=%v count=%d", g.Connection, g.Used, g.Count)
		}
	}
	if !slices.Contains(doc.Roles[0].Files, "reviews/order_reader-2026-11-26-usage.json") {
		t.Errorf("files: %v", doc.Roles[0].Files)
	}
}
