package pgproxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Round 15 works on one agent exhausting the gateway: memory, CPU and
// goroutines that one session can make the gateway spend, so that other
// agents' sessions suffer.

// upstreamWait reports the state and wait event of the upstream backend
// whose application_name is app ("" when there is none).
func upstreamWait(t testing.TB, app string) (state, wait string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	q := "SELECT coalesce(state, ''), coalesce(wait_event, '') FROM pg_stat_activity WHERE application_name = $1"
	if err := c.QueryRow(ctx, q, app).Scan(&state, &wait); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatal(err)
	}
	return state, wait
}

// stalledSession opens a session with password tok, names its upstream
// backend app, and runs a query whose result (200 MB) the client never
// reads, until the gateway's relay is blocked writing to the client with
// the socket buffers full.
func stalledSession(t *testing.T, e *env, tok, app string) net.Conn {
	t.Helper()
	c := e.raw(t)
	t.Cleanup(func() { c.Close() }) // before the gateway's Close (cleanups run last first)
	send(t, c, &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": "agent1", "database": "testdb"}})
	fe := pgproto3.NewFrontend(c, c)
	for ready := false; !ready; {
		m, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *pgproto3.AuthenticationCleartextPassword:
			send(t, c, &pgproto3.PasswordMessage{Password: tok})
		case *pgproto3.ErrorResponse:
			t.Fatalf("startup: %s", m.Message)
		case *pgproto3.ReadyForQuery:
			ready = true
		}
	}
	send(t, c, &pgproto3.Query{String: "SET application_name = '" + app + "'"})
	until[*pgproto3.ReadyForQuery](t, fe)
	send(t, c, &pgproto3.Query{String: "SELECT repeat('x', 1000) FROM generate_series(1, 200000)"})
	waitFor(t, "the relay blocked writing to the client", relayBlocked)
	return c
}

// relayBlocked reports whether a relay goroutine is blocked writing to its
// client: in a flush, or, for a session that was on an event loop, writing
// what the loop had queued as it leaves the loop (loop.go).
func relayBlocked() bool {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		writing := strings.Contains(g, "(*Backend).Flush") || strings.Contains(g, "(*flipConn).toGoroutines")
		if strings.Contains(g, "[IO wait") && writing && strings.Contains(g, "relayLoop") {
			return true
		}
	}
	return false
}

// TestAdversarialRound15StalledClient stalls a session: the client sends a
// query with a large result and stops reading. The relay blocks writing to
// it while holding the lock on the client connection, and ending the
// session from outside (the gateway's Close, the session's expiry) took
// that lock before it set a write deadline: it waited forever. Close hung,
// so the gateway never finished shutting down (and never ended the
// sessions after the stalled one), and a session outlived its token or
// max_session, holding its upstream backend mid-query, as long as its
// client did not read.
func TestAdversarialRound15StalledClient(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	t.Run("gateway shutdown", func(t *testing.T) {
		e := newEnv(t)
		app := "pgproxy-r15-stall-" + randHex(4)
		stalledSession(t, e, "tok-agent1", app)
		other, fe := e.startSession(t)
		t.Cleanup(func() { other.Close() })
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			e.srv.Close()
		}()
		// Every session ends, the stalled one included, and its upstream
		// backend with it; the idle one hears why.
		_ = other.SetReadDeadline(time.Now().Add(20 * time.Second))
		got := until[*pgproto3.ErrorResponse](t, fe)
		if last := got[len(got)-1]; last != "E FATAL "+CodeAdminShutdown {
			t.Errorf("the other session got %q, want FATAL %s", last, CodeAdminShutdown)
		}
		waitFor(t, "every session ended", func() bool { return e.srv.Sessions() == 0 })
		waitFor(t, "the stalled session's upstream backend gone", func() bool { st, _ := upstreamWait(t, app); return st == "" })
		waitFor(t, "Close returned", func() bool {
			select {
			case <-closed:
				return true
			default:
				return false
			}
		})
	})
	t.Run("session expiry", func(t *testing.T) {
		e := newEnv(t)
		app := "pgproxy-r15-exp-" + randHex(4)
		const ttl = 8 * time.Second
		expires := time.Now().Add(ttl)
		stalledSession(t, e, "tok-agent1@"+ttl.String(), app)
		if time.Now().After(expires) {
			t.Skip("the session expired before it stalled (a slow machine): nothing to check")
		}
		waitFor(t, "the expired session ended", func() bool { return e.srv.Sessions() == 0 })
		waitFor(t, "its upstream backend gone", func() bool { st, _ := upstreamWait(t, app); return st == "" })
		if r := endReasons(e.rec); len(r) != 1 || r[0] != "session expired" {
			t.Errorf("session end reasons %q, want [session expired]", r)
		}
	})
}

func endReasons(r *memRecorder) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ended...)
}

// relayQueryString feeds the relay the results of a query string of n
// statements, each with a row description, a row, a notice and a command
// tag, as the server sends them, under masking when ms is set, and
// returns how many times the relay looked through the op's runs.
func relayQueryString(t *testing.T, n int, ms *maskSet) int {
	ss := &session{srv: &Server{cfg: Config{Recorder: nopRecorder{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}}
	o := &op{kind: 'Q'}
	for range n {
		o.runs = append(o.runs, &stmtRun{})
	}
	o.runs[n-1].masks = ms // the last statement is masked: every lookup walks them all
	ss.push(o)
	rd := &pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{{Name: []byte("?column?"), DataTypeOID: 23, DataTypeSize: 4, TypeModifier: -1}}}
	for range n {
		for _, m := range []pgproto3.BackendMessage{rd, &pgproto3.DataRow{Values: [][]byte{[]byte("1")}},
			&pgproto3.NoticeResponse{Severity: "NOTICE", Code: "00000", Message: "hi"},
			&pgproto3.ParameterStatus{Name: "application_name", Value: "app"},
			&pgproto3.CommandComplete{CommandTag: []byte("SELECT 1")}} {
			if _, send := ss.handleUpstream(m); !send {
				t.Fatalf("%T not relayed", m)
			}
		}
		if len(ss.completed) >= maxPendingCompleted {
			ss.recordCompleted()
		}
	}
	ss.handleUpstream(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	if ss.pending() != 0 {
		t.Fatalf("%d ops left", ss.pending())
	}
	return o.walks
}

// TestAdversarialRound15ManyStatements sends one query string of many
// statements (`SELECT 1;` 100,000 times fits the 1 MiB message limit).
// For each statement's row description, notice and ParameterStatus the
// relay walked all the runs of the query string to find its masking and
// what the statements read: the work grew with the square of the
// statements, and one 1 MiB query kept a core busy for minutes. The relay
// must look through an op's runs a bounded number of times, however many
// results the op has.
func TestAdversarialRound15ManyStatements(t *testing.T) {
	ms := &maskSet{hasColumns: true}
	for _, n := range []int{10, 5000} {
		for _, masked := range []*maskSet{nil, ms} {
			if walks := relayQueryString(t, n, masked); walks > 2 {
				t.Errorf("%d statements (masked %v): the relay looked through the runs %d times, want at most 2", n, masked != nil, walks)
			}
		}
	}
	// Through the gateway the results are all there.
	e := newEnv(t)
	c := pgconnTo(t, e.dsn("agent1", "disable"))
	res, err := c.Exec(context.Background(), strings.Repeat("SELECT 1;", 2000)).ReadAll()
	if err != nil || len(res) != 2000 {
		t.Fatalf("%d results, err %v", len(res), err)
	}
}
