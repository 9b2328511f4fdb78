package pgproxy

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestSessionExpires: a session ends when its principal expires, idle or
// not, with a FATAL the client can read, and the record says why.
func TestSessionExpires(t *testing.T) {
	e := newEnv(t)
	host, port, _ := net.SplitHostPort(e.addr)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, "host="+host+" port="+port+" dbname=testdb user=agent1 password=tok-agent1@700ms sslmode=require")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var one int
	if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("before expiry: %d, %v", one, err)
	}
	time.Sleep(1200 * time.Millisecond)
	err = c.QueryRow(ctx, "SELECT 1").Scan(&one)
	var pe *pgconn.PgError
	if err == nil {
		t.Fatal("a query ran after the session expired")
	}
	if !errors.As(err, &pe) || pe.Code != CodeSessionExpired || pe.Severity != "FATAL" {
		t.Errorf("error %v, want FATAL %s", err, CodeSessionExpired)
	}
	WaitFor(t, "session end", func() bool { return e.srv.Sessions() == 0 })
	e.rec.mu.Lock()
	ended := append([]string(nil), e.rec.ended...)
	e.rec.mu.Unlock()
	if len(ended) != 1 || ended[0] != "session expired" {
		t.Errorf("ended = %q, want [session expired]", ended)
	}

	// Without an expiry the session stays.
	c2 := e.connect(t, "require")
	time.Sleep(300 * time.Millisecond)
	if err := c2.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Errorf("a session without expiry: %v", err)
	}
}
