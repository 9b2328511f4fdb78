package pgproxy

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestNotificationsNeverRelayed: LISTEN is forbidden, but a granted
// function can run it where the analyzer cannot see. The notifications
// such a session then receives are a channel between sessions no masking
// covers: the gateway drops them, and the session goes on.
func TestNotificationsNeverRelayed(t *testing.T) {
	a := newAdvEnv(t)
	cfg, err := pgconn.ParseConfig(strings.Replace(a.dsn("fnreader", "disable"), "dbname=testdb", "dbname=adv", 1))
	if err != nil {
		t.Fatal(err)
	}
	tp, err := dialTapped(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	channel := a.p + "_ch"
	if _, err := tp.pc.Exec(ctx, a.sql("SELECT P_listen('"+channel+"')")).ReadAll(); err != nil {
		t.Fatalf("granted function: %v", err)
	}
	payload := "notify-secret-" + randHex(6)
	admin(t, "SELECT pg_notify($1, $2)", channel, payload)
	// PostgreSQL delivers a notification to an idle session at once, and
	// to a busy one before its next ReadyForQuery: by the end of this
	// statement it has come, relayed or not.
	res, err := tp.pc.Exec(ctx, "SELECT 1").ReadAll()
	if err != nil || len(res) != 1 || len(res[0].Rows) != 1 {
		t.Fatalf("the session after a notification: %v, %v", res, err)
	}
	if got := tp.tap.take(); bytes.Contains(got, []byte(payload)) || bytes.Contains(got, []byte(channel)) {
		t.Fatalf("the client received the notification: %q", got)
	}
}
