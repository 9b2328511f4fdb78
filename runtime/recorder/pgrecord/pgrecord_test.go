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

func TestAdapter(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "mandate.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec, err := recorder.New(ctx, st, recorder.Config{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	a := New(rec, func() string { return "abc123" }, nil)
	s := &pgproxy.SessionRecord{ID: "1", Agent: "etl", Subject: "repo:acme/etl", Connection: "sales", RemoteAddr: "127.0.0.1:5000", Started: time.Now()}
	if err := a.SessionStart(ctx, s); err != nil {
		t.Fatal(err)
	}
	stmt := &pgproxy.StatementRecord{Seq: 1, Statement: &model.Statement{Tag: "SELECT", Accesses: []model.Access{{Class: "select", Table: "sales.orders"}}},
		Decision: model.Decision{Result: model.Allow, Role: "reader", Grant: "sales", Source: &model.Source{File: "roles.hcl", Line: 7}}, Decided: time.Now()}
	if err := a.Decided(ctx, s, stmt); err != nil {
		t.Fatal(err)
	}
	stmt.Result = pgproxy.Result{Tag: "SELECT 2", Rows: 2, Bytes: 40, Masked: 1}
	a.Completed(ctx, s, stmt)
	a.SessionEnd(ctx, s, "client closed")
	if err := a.Decided(ctx, s, stmt); err == nil {
		t.Error("Decided after SessionEnd succeeded")
	}
	rec.Close()

	ss, _ := st.Sessions(ctx, store.SessionFilter{})
	if len(ss) != 1 || ss[0].BundleRevision != "abc123" || ss[0].EndReason != "client closed" {
		t.Fatalf("sessions = %+v", ss)
	}
	tl, err := audit.SessionTimeline(ctx, st, ss[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []recorder.Kind
	for _, e := range tl.Entries {
		kinds = append(kinds, e.Kind)
	}
	if diff := cmp.Diff([]recorder.Kind{recorder.KindSessionStart, recorder.KindAuth, recorder.KindStatement, recorder.KindResult, recorder.KindSessionEnd}, kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	if a := tl.Entries[1].Event.Auth; a == nil || !a.OK || a.Subject != "repo:acme/etl" {
		t.Errorf("auth = %+v, want a successful token authentication of repo:acme/etl", a)
	}
	if d := tl.Entries[2].Event.Decision; d.Source != "roles.hcl:7" || d.Role != "reader" {
		t.Errorf("decision = %+v", d)
	}
	if r := tl.Entries[3].Event.Result; r.Rows != 2 || r.Masked != 1 {
		t.Errorf("result = %+v", r)
	}
}
