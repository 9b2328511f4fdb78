package pgproxy

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// withLoops runs the test server's sessions on n event loops.
func withLoops(n int) envOpt { return func(c *Config) { c.EventLoops = n } }

// loopState reports, for the server's only session, whether it runs on an
// event loop and whether it left it.
func loopState(t testing.TB, e *env) (onLoop, left bool) {
	t.Helper()
	e.srv.mu.Lock()
	defer e.srv.mu.Unlock()
	if len(e.srv.sessions) != 1 {
		t.Fatalf("%d sessions, want 1", len(e.srv.sessions))
	}
	for ss := range e.srv.sessions {
		return ss.adopted.Load(), ss.handedOff.Load()
	}
	return false, false
}

func TestEventLoopQueries(t *testing.T) {
	for _, sslmode := range []string{"disable", "require"} {
		t.Run(sslmode, func(t *testing.T) {
			e := newEnv(t, withLoops(2))
			c := e.connect(t, sslmode)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			for i := range 50 {
				var n int
				if err := c.QueryRow(ctx, "SELECT $1::int + 1", i).Scan(&n); err != nil || n != i+1 {
					t.Fatalf("query %d: %d, %v", i, n, err)
				}
			}
			if on, left := loopState(t, e); !on || left {
				t.Fatalf("on a loop %v, left it %v: want a session that stays on its loop", on, left)
			}
		})
	}
}

// TestEventLoopSlots: sessions on loops end and give their upstream slot
// to the clients waiting for one.
func TestEventLoopSlots(t *testing.T) {
	e := newEnv(t, withLoops(2), func(c *Config) { c.MaxUpstreamConns = 3 })
	for i := range 12 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		c, err := pgconn.Connect(ctx, e.dsn("agent1", []string{"require", "disable"}[i%2]))
		if err != nil {
			cancel()
			t.Fatalf("client %d: %v", i, err)
		}
		res := c.ExecParams(ctx, "SELECT $1::int", [][]byte{[]byte("7")}, nil, nil, nil).Read()
		if res.Err != nil || string(res.Rows[0][0]) != "7" {
			t.Fatalf("client %d: %v", i, res.Err)
		}
		c.Close(ctx)
		cancel()
	}
}

// sessionsOnLoop counts the server's sessions on an event loop that have
// not left it, and all its sessions.
func sessionsOnLoop(e *env) (on, total int) {
	return e.srv.LoopSessions(), e.srv.Sessions()
}

// TestEventLoopSlowReader: a client that does not read a large result
// fills what the loop may queue for it; its session leaves the loop (and
// then waits for it, like any session on goroutines) while another client
// on the same loop goes on, and the slow client gets every row once it
// reads.
func TestEventLoopSlowReader(t *testing.T) {
	e := newEnv(t, withLoops(1))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	slow := pgconnTo(t, e.dsn("agent1", "disable"))
	fast := e.connect(t, "disable")
	if _, err := fast.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if on, total := sessionsOnLoop(e); on != 2 || total != 2 {
		t.Fatalf("%d of %d sessions on the loop, want 2 of 2", on, total)
	}
	// About 20 MB of result, far more than the socket buffers and the
	// loop's queue hold; nothing reads it yet.
	slow.Frontend().Send(&pgproto3.Query{String: "SELECT repeat('x', 1000) FROM generate_series(1, 20000)"})
	if err := slow.Frontend().Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the slow client's session to leave the loop", func() bool {
		on, _ := sessionsOnLoop(e)
		return on == 1
	})
	for i := range 20 {
		var n int
		if err := fast.QueryRow(ctx, "SELECT $1::int", i).Scan(&n); err != nil || n != i {
			t.Fatalf("the other client's query %d: %d, %v", i, n, err)
		}
	}
	rows := 0
	for {
		msg, err := slow.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			if len(m.Values[0]) != 1000 {
				t.Fatalf("row %d: %d bytes, want 1000", rows, len(m.Values[0]))
			}
			rows++
		case *pgproto3.ErrorResponse:
			t.Fatalf("error: %s", m.Message)
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	if rows != 20000 {
		t.Fatalf("%d rows, want 20000", rows)
	}
}

// TestEventLoopsOff: without EventLoops (the default) every session runs
// on goroutines of its own.
func TestEventLoopsOff(t *testing.T) {
	e := newEnv(t, withLoops(0))
	c := e.connect(t, "disable")
	if _, err := c.Exec(context.Background(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if on, left := loopState(t, e); on || left {
		t.Fatalf("on a loop %v, left it %v: want neither", on, left)
	}
}

// TestEventLoopClose: closing the server ends the sessions on its loops,
// the loops and every goroutine they started.
func TestEventLoopClose(t *testing.T) {
	done := checkGoroutines(t)
	e := newEnv(t, withLoops(2))
	var conns []*pgconn.PgConn
	for i := range 6 {
		c := pgconnTo(t, e.dsn("agent1", []string{"require", "disable"}[i%2]))
		if err := c.Exec(context.Background(), "SELECT 1").Close(); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	if on, total := sessionsOnLoop(e); on != 6 || total != 6 {
		t.Fatalf("%d of %d sessions on a loop, want 6 of 6", on, total)
	}
	e.srv.Close()
	for _, c := range conns {
		if err := c.Exec(context.Background(), "SELECT 1").Close(); err == nil {
			t.Fatal("a session outlived the server")
		}
		c.Close(context.Background())
	}
	done()
}
