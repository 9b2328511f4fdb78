package audit_test

import (
	"bytes"
	"context"
	"strings"
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

func TestUsage(t *testing.T) {
	f := newFixture(t, 30) // 24 allowed selects, 6 denied deletes, one session of agent etl
	ctx := context.Background()
	st, _ := store.OpenTarget(ctx, f.path)
	defer st.Close()
	// A second session with SSH commands, one approved.
	rec, err := recorder.New(ctx, st, recorder.Config{StateDir: f.dir, Instance: "gw1"})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := rec.StartSession(ctx, recorder.SessionInfo{ID: "s_ssh", Agent: "deployer", Role: "ops", Grant: "web", Connection: "web", Protocol: "ssh"})
	for i, cmd := range []string{"systemctl restart app", "systemctl restart app", "rm -rf /"} {
		ev := recorder.Event{Kind: recorder.KindCommand, Command: &recorder.Command{Text: cmd},
			Decision: &recorder.Decision{Result: model.Allow, Role: "ops", Grant: "web"}}
		if i == 1 {
			ev.Approvals = []string{"apr-1"}
		}
		if cmd == "rm -rf /" {
			ev.Decision = &recorder.Decision{Result: model.Deny}
		}
		s.Record(ctx, ev)
	}
	s.Record(ctx, recorder.Event{Kind: recorder.KindCommand, Command: &recorder.Command{Shell: true}, Decision: &recorder.Decision{Result: model.Allow, Role: "ops", Grant: "web"}})
	s.End(ctx, "exit")
	rec.Close()

	ssID := func(agent string) string {
		ss, _ := st.Sessions(ctx, store.SessionFilter{Agent: agent})
		return ss[0].ID
	}
	etl := ssID("etl")
	u, err := audit.Usage(ctx, st, audit.UsageFilter{Since: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	want := &model.Usage{
		Gateways: []string{"gw1"},
		Agents:   []model.AgentUsage{{Agent: "deployer", Sessions: 1}, {Agent: "etl", Sessions: 1}},
		Grants: []model.GrantUsage{
			{Agent: "deployer", Role: "ops", Connection: "web", Kind: "ssh", Count: 3, SampleSessions: []string{"s_ssh"},
				Commands: []model.CommandUsage{
					{Command: audit.ShellCommand, Count: 1, SampleSessions: []string{"s_ssh"}},
					{Command: "systemctl restart app", Count: 2, SampleSessions: []string{"s_ssh"}},
				}},
			{Agent: "etl", Role: "reader", Connection: "sales", Kind: "postgres", Count: 24, SampleSessions: []string{etl},
				Statements: []model.StatementUsage{{Class: "select", Table: "sales.orders", Columns: []string{"id"}, Count: 24, SampleSessions: []string{etl}}}},
		},
		Approvals: []model.ApprovalUsage{{Agent: "deployer", Role: "ops", Connection: "web", Command: "systemctl restart app", Approved: 1}},
	}
	ignoreTimes := cmpopts.IgnoreTypes(time.Time{})
	if diff := cmp.Diff(want, u, ignoreTimes); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
	role, _ := audit.Usage(ctx, st, audit.UsageFilter{Since: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Role: "ops"})
	if len(role.Grants) != 1 || len(role.Agents) != 1 || role.Agents[0].Agent != "deployer" {
		t.Errorf("usage --role ops: %+v", role)
	}

	k, _ := chain.LoadOrCreateKey(f.dir)
	su, err := audit.SignUsage(u, k)
	if err != nil {
		t.Fatal(err)
	}
	back, err := audit.VerifyUsage(su, audit.NewKeySet(k.Public))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(u, back); diff != "" {
		t.Errorf("verified usage differs:\n%s", diff)
	}
	su.Payload = bytes.Replace(su.Payload, []byte(`"count":24`), []byte(`"count":2`), 1)
	if _, err := audit.VerifyUsage(su, audit.NewKeySet(k.Public)); err == nil {
		t.Error("altered usage verified")
	}
	var md strings.Builder
	audit.WriteUsageMarkdown(&md, u)
	if !strings.Contains(md.String(), "| select | sales.orders | id | 24 |") {
		t.Errorf("markdown:\n%s", md.String())
	}
}

func TestTimelineAndAsciicast(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, _ := store.Open(ctx, store.Config{Path: dir + "/record.db"})
	defer st.Close()
	rec, _ := recorder.New(ctx, st, recorder.Config{StateDir: dir, Now: fakeClock(time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC), time.Millisecond)})
	s, _ := rec.StartSession(ctx, recorder.SessionInfo{Agent: "ops-bot", Connection: "web"})
	t0 := time.Date(2026, 2, 1, 10, 0, 1, 0, time.UTC)
	for i, term := range []recorder.Terminal{{Stream: "r", Cols: 120, Rows: 40}, {Stream: "o", Data: []byte("$ ")}, {Stream: "i", Data: []byte("ls\r")}, {Stream: "o", Data: []byte("a b\r\n")}} {
		s.RecordAsync(ctx, recorder.Event{Kind: recorder.KindTerminal, Time: t0.Add(time.Duration(i) * 500 * time.Millisecond), Terminal: &term})
	}
	s.End(ctx, "exit")
	rec.Close()
	tl, err := audit.SessionTimeline(ctx, st, s.ID())
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Entries) != 6 {
		t.Fatalf("entries = %d", len(tl.Entries))
	}
	var cast bytes.Buffer
	if err := audit.Asciicast(&cast, tl); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(cast.String()), "\n")
	want := []string{
		`{"height":40,"timestamp":1769940001,"title":"ops-bot on web (` + s.ID() + `)","version":2,"width":120}`,
		`[0,"r","120x40"]`, `[0.5,"o","$ "]`, `[1,"i","ls\r"]`, `[1.5,"o","a b\r\n"]`,
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("asciicast (-want +got):\n%s", diff)
	}
	var out bytes.Buffer
	if err := audit.Replay(ctx, &out, tl, 0); err != nil || out.String() != "$ a b\r\n" {
		t.Errorf("replay = %q, %v", out.String(), err)
	}
	if _, err := audit.SessionTimeline(ctx, st, "nope"); err == nil {
		t.Error("unknown session: no error")
	}
}

func FuzzVerifyUsage(f *testing.F) {
	k, _ := chain.NewKey()
	u := &model.Usage{Agents: []model.AgentUsage{{Agent: "a", Sessions: 1}}, Grants: []model.GrantUsage{}}
	su, _ := audit.SignUsage(u, k)
	f.Add(su.Payload, su.Signature, su.KeyID, su.Algorithm)
	f.Add([]byte(`{"since":"x"}`), []byte{1, 2}, k.ID, "ed25519")
	keys := audit.NewKeySet(k.Public)
	f.Fuzz(func(t *testing.T, payload, sig []byte, keyID, alg string) {
		got, err := audit.VerifyUsage(&model.SignedUsage{Payload: payload, Signature: sig, KeyID: keyID, Algorithm: alg}, keys)
		if err == nil && (got == nil || !bytes.Equal(payload, su.Payload)) {
			t.Fatalf("verified a payload that was never signed: %q", payload)
		}
	})
}
