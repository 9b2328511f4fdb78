package pgrecord

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mandatehq/mandate/runtime/audit"
	"github.com/mandatehq/mandate/runtime/pgproxy"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
)

// TestAuthFailureRecorded: a failed authentication is recorded without a
// session, with client-chosen names made valid and bounded, and the chain
// still verifies.
func TestAuthFailureRecorded(t *testing.T) {
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
	a := New(rec, nil, nil)
	claimed := "etl\xff" + strings.Repeat("x", 500)
	a.AuthFailed(ctx, pgproxy.AuthFailure{Agent: claimed, Connection: "sales", RemoteAddr: "127.0.0.1:5000", Reason: "token expired"})
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}

	var got []*recorder.Auth
	err = st.Events(ctx, store.EventFilter{Kinds: []string{string(recorder.KindAuth)}}, func(e *store.Event) error {
		var ev recorder.Event
		if err := json.Unmarshal(e.Payload, &ev); err != nil {
			return err
		}
		if e.SessionID != "" {
			t.Errorf("auth failure has session %q", e.SessionID)
		}
		got = append(got, ev.Auth)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] == nil {
		t.Fatalf("auth events = %+v, want one", got)
	}
	f := got[0]
	if f.OK || f.Reason != "token expired" || f.Connection != "sales" || f.ClientAddr != "127.0.0.1:5000" {
		t.Errorf("auth = %+v", f)
	}
	if !utf8.ValidString(f.Agent) || len(f.Agent) > 128 || !strings.HasPrefix(f.Agent, "etl") {
		t.Errorf("claimed agent stored as %q (%d bytes), want valid UTF-8 of at most 128 bytes", f.Agent, len(f.Agent))
	}
	if ss, _ := st.Sessions(ctx, store.SessionFilter{}); len(ss) != 0 {
		t.Errorf("a failed authentication opened sessions: %+v", ss)
	}
	rep, err := audit.Verify(ctx, st, audit.VerifyOptions{})
	if err != nil || !rep.OK {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
}
