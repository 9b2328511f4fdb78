package pgproxy

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/mandatehq/mandate/model"
)

func TestBadClientMessages(t *testing.T) {
	done := checkGoroutines(t)
	e := newEnv(t, func(c *Config) { c.MaxMessageSize = 4096 })
	cases := []struct {
		name string
		raw  []byte
		want []string
	}{
		{"oversized", append([]byte{'Q', 0, 0, 0x40, 0}, make([]byte, 100)...), []string{"E FATAL 08P01"}},
		{"unknown type", []byte{'z', 0, 0, 0, 4}, []string{"E FATAL 08P01"}},
		{"bad length", []byte{'Q', 0, 0, 0, 1}, []string{"E FATAL 08P01"}},
		{"password after startup", []byte{'p', 0, 0, 0, 5, 0}, []string{"E FATAL 08P01"}},
		{"truncated bind", []byte{'B', 0, 0, 0, 6, 0, 0}, []string{"E FATAL 08P01"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, fe := e.startSession(t)
			if _, err := c.Write(tc.raw); err != nil {
				t.Fatal(err)
			}
			got := until[*pgproto3.ErrorResponse](t, fe)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
			if _, err := fe.Receive(); err == nil {
				t.Fatal("session still open after a protocol violation")
			}
		})
	}
	// Everyone else is unaffected.
	c := e.connect(t, "require")
	if _, err := c.Exec(context.Background(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	c.Close(context.Background())
	e.srv.Close()
	done()
}

// A client that vanishes mid-query gets its upstream query cancelled and
// its upstream connection closed.
func TestClientVanishes(t *testing.T) {
	done := checkGoroutines(t)
	e := newEnv(t)
	c, fe := e.startSession(t)
	_ = fe
	app := "pgproxy-vanish-" + randHex(4)
	send(t, c, &pgproto3.Query{String: "SET application_name = '" + app + "'"})
	until[*pgproto3.ReadyForQuery](t, fe)
	send(t, c, &pgproto3.Query{String: "SELECT pg_sleep(60)"})
	waitFor(t, "query running upstream", func() bool { return activeCount(t, app, "active") == 1 })
	c.Close()
	waitFor(t, "upstream backend gone", func() bool { return activeCount(t, app, "") == 0 })
	waitFor(t, "session gone", func() bool { return e.srv.Sessions() == 0 })
	e.srv.Close()
	done()
}

// activeCount counts upstream backends with application_name app (and
// state, when given).
func activeCount(t testing.TB, app, state string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int
	q := "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND ($2 = '' OR state = $2)"
	if err := c.QueryRow(ctx, q, app, state).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCancelRequest(t *testing.T) {
	e := newEnv(t)
	c := e.connect(t, "require")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := c.Exec(ctx, "SELECT pg_sleep(30)")
		errc <- err
	}()
	// The running query shows up upstream; then cancel with the gateway's key.
	waitFor(t, "query running", func() bool {
		return e.srv.Sessions() == 1 && pendingOps(e) > 0
	})
	time.Sleep(100 * time.Millisecond)
	if err := c.PgConn().CancelRequest(ctx); err != nil {
		t.Fatal(err)
	}
	err := <-errc
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" {
		t.Fatalf("err = %v, want 57014 query_canceled", err)
	}
	if _, err := c.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatalf("session unusable after cancel: %v", err)
	}
}

func pendingOps(e *env) int {
	e.srv.mu.Lock()
	defer e.srv.mu.Unlock()
	n := 0
	for ss := range e.srv.sessions {
		n += ss.pending()
	}
	return n
}

// When the upstream backend dies, only its client gets an error.
func TestUpstreamTerminated(t *testing.T) {
	done := checkGoroutines(t)
	e := newEnv(t)
	ctx := context.Background()
	victim := e.connect(t, "require")
	other := e.connect(t, "require")
	app := "pgproxy-victim-" + randHex(4)
	if _, err := victim.Exec(ctx, "SET application_name = '"+app+"'"); err != nil {
		t.Fatal(err)
	}
	admin(t, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", app)
	_, err := victim.Exec(ctx, "SELECT 1")
	if err == nil {
		t.Fatal("query on a terminated upstream succeeded")
	}
	if _, err := other.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatalf("other session affected: %v", err)
	}
	victim.Close(ctx)
	other.Close(ctx)
	waitFor(t, "sessions gone", func() bool { return e.srv.Sessions() == 0 })
	e.srv.Close()
	done()
}

// 1,000 concurrent client connections. The machine's PostgreSQL allows
// about 100 connections, so the gateway caps upstream connections at 40:
// all 1,000 clients connect (TLS + authentication) concurrently, and wait
// for an upstream slot to run their query.
func TestThousandClients(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	done := checkGoroutines(t)
	HandshakeTimeout = 2 * time.Minute
	defer func() { HandshakeTimeout = 30 * time.Second }()
	e := newEnv(t, func(c *Config) { c.MaxUpstreamConns = 40 })
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			sslmode := "require"
			if i%2 == 1 {
				sslmode = "disable"
			}
			c, err := pgconn.Connect(ctx, e.dsn("agent1", sslmode))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close(ctx)
			res := c.ExecParams(ctx, "SELECT $1::int", [][]byte{[]byte("7")}, nil, nil, nil).Read()
			if res.Err != nil || string(res.Rows[0][0]) != "7" {
				errs <- errors.Join(errors.New("bad result"), res.Err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	var msgs []string
	for err := range errs {
		msgs = append(msgs, err.Error())
	}
	if len(msgs) > 0 {
		t.Fatalf("%d of %d clients failed; first: %s", len(msgs), n, strings.Join(msgs[:1], ""))
	}
	waitFor(t, "sessions gone", func() bool { return e.srv.Sessions() == 0 })
	e.srv.Close()
	done()
}

func TestCloseTwice(t *testing.T) {
	done := checkGoroutines(t)
	e := newEnv(t)
	c := e.connect(t, "require")
	if _, err := c.Exec(context.Background(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := c.Exec(context.Background(), "SELECT 1")
	var pe *pgconn.PgError
	if err == nil || (errors.As(err, &pe) && pe.Code != CodeAdminShutdown) {
		t.Fatalf("after Close: %v", err)
	}
	done()
}

func TestUpstreamUnreachable(t *testing.T) {
	e := newEnv(t)
	e.policy.set(func(p *testPolicy) {
		p.conns["down"] = &model.Connection{Name: "down", Type: "postgres", Address: "127.0.0.1:1", Database: "x",
			Credential: model.Credential{Username: "postgres"}, TLSMode: "disable"}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := pgconn.Connect(ctx, strings.Replace(e.dsn("agent1", "require"), "dbname=testdb", "dbname=down", 1))
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != CodeCannotConnectNow {
		t.Fatalf("err = %v, want 57P03", err)
	}
	if strings.Contains(pe.Message, "127.0.0.1:1") {
		t.Errorf("upstream address leaked to the client: %q", pe.Message)
	}
}

// A recorder that cannot accept the event denies the statement.
func TestRecorderFailClosed(t *testing.T) {
	e := newEnv(t)
	c := e.connect(t, "require")
	e.rec.mu.Lock()
	e.rec.fail = true
	e.rec.mu.Unlock()
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
		_, err := c.Exec(context.Background(), "SELECT 1", mode)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != CodeInsufficientPrivilege || !strings.Contains(pe.Message, "cannot record") {
			t.Fatalf("%v: err = %v, want a denial", mode, err)
		}
	}
}

// A database whose server encoding is not UTF8 folds identifiers the
// analyzer does not (single-byte encodings lower-case non-ASCII letters
// too): the gateway refuses its sessions with 0A000 and says why.
func TestNonUTF8DatabaseRefused(t *testing.T) {
	e := newEnv(t)
	db := "pgproxy_latin1_" + randHex(4)
	admin(t, "CREATE DATABASE "+db+" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
	t.Cleanup(func() { admin(t, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)") })
	e.policy.set(func(p *testPolicy) {
		p.conns["latin"] = &model.Connection{Name: "latin", Type: "postgres", Address: "127.0.0.1:5432",
			Database: db, Credential: model.Credential{Username: "postgres"}, TLSMode: "prefer"}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pgconn.Connect(ctx, strings.Replace(e.dsn("agent1", "require"), "dbname=testdb", "dbname=latin", 1))
	if err == nil {
		c.Close(ctx)
		t.Fatal("a LATIN1 database was served")
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != CodeFeatureNotSupported || !containsAll(pe.Message, "LATIN1", "only UTF8") {
		t.Fatalf("connecting to a LATIN1 database: %v, want 0A000 naming the encoding", err)
	}
	// The gateway goes on serving UTF8 databases.
	if _, err := e.connect(t, "require").Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
}
