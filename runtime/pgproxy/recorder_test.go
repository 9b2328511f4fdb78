package pgproxy_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mandatehq/mandate/runtime/pgproxy"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/recorder/pgrecord"
	"github.com/mandatehq/mandate/runtime/store"
)

// The real recorder (SQLite store, async durability) behind the proxy:
// statements land with their decision and result, literals redacted.
func TestRealRecorder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "record.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec, err := recorder.New(ctx, st, recorder.Config{Durability: recorder.Async, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	e := pgproxy.NewTestEnv(t, pgrecord.New(rec, func() string { return "rev-1" }, nil))
	tbl := e.Table(t, "t", "id int, note text", "VALUES (1, 'top secret')")
	secret := e.Table(t, "secret", "id int", "")
	e.Deny(secret)
	if bad, err := pgx.Connect(ctx, e.BadTokenDSN()); err == nil {
		bad.Close(ctx)
		t.Fatal("a bad token connected")
	}
	c := e.Connect(t)
	if _, err := c.Exec(ctx, "SELECT * FROM "+tbl+" WHERE note = 'top secret'", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	_, _ = c.Exec(ctx, "SELECT * FROM "+secret)
	c.Close(ctx)
	pgproxy.WaitFor(t, "session end", func() bool { return e.Server().Sessions() == 0 })
	e.Server().Close()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	var payloads strings.Builder
	err = st.Events(ctx, store.EventFilter{}, func(ev *store.Event) error {
		kinds = append(kinds, ev.Kind)
		payloads.Write(ev.Payload)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(kinds, " ")
	for _, k := range []string{"auth", "session_start", "statement", "session_end"} {
		if !strings.Contains(all, k) {
			t.Errorf("no %s event in %s", k, all)
		}
	}
	// Async durability: a statement's result is in its statement event.
	if !strings.Contains(payloads.String(), `"result":{`) {
		t.Error("no statement result recorded")
	}
	if strings.Contains(payloads.String(), "top secret") {
		t.Error("a statement literal reached the record")
	}
	if !strings.Contains(payloads.String(), "deny") {
		t.Error("the denial is not recorded")
	}
	for _, want := range []string{`"auth":{"ok":false`, `"auth":{"ok":true`} {
		if !strings.Contains(payloads.String(), want) {
			t.Errorf("no %s event recorded (failed and successful authentications)", want)
		}
	}
	if strings.Contains(payloads.String(), "nope") {
		t.Error("the failed token reached the record")
	}
}
