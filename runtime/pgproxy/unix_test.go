package pgproxy

import (
	"context"
	"errors"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mandatehq/mandate/model"
)

// serverSocket is the path of the local PostgreSQL's Unix socket file, as
// a connection's address names it; the test skips when the server listens
// on no socket directory.
func serverSocket(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var dirs, port string
	if err := c.QueryRow(ctx, "SELECT current_setting('unix_socket_directories'), current_setting('port')").Scan(&dirs, &port); err != nil {
		t.Fatal(err)
	}
	dir := strings.TrimSpace(strings.Split(dirs, ",")[0])
	if dir == "" || !strings.HasPrefix(dir, "/") {
		t.Skipf("PostgreSQL listens on no Unix socket directory (%q)", dirs)
	}
	return path.Join(dir, ".s.PGSQL."+port)
}

// A connection whose address is PostgreSQL's socket file reaches it over
// the socket: statements run and are decided as over TCP, and the client's
// cancel request is forwarded over the socket too.
func TestUnixSocketUpstream(t *testing.T) {
	sock := serverSocket(t)
	e := newEnv(t)
	e.policy.set(func(p *testPolicy) {
		p.conns["testdb"] = &model.Connection{Name: "testdb", Type: "postgres", Address: sock, Database: "test",
			Credential: model.Credential{Username: "postgres"}, TLSMode: "disable"}
	})
	c := e.connect(t, "require")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// inet_server_addr() is NULL exactly for a Unix socket connection.
	var over string
	if err := c.QueryRow(ctx, "SELECT coalesce(host(inet_server_addr()), 'unix socket')").Scan(&over); err != nil {
		t.Fatal(err)
	}
	if over != "unix socket" {
		t.Fatalf("upstream connection is over %s, want the Unix socket %s", over, sock)
	}

	secret := e.table(t, "secret", "id int", "VALUES (1)")
	e.policy.set(func(p *testPolicy) { p.denied[secret] = true })
	var pe *pgconn.PgError
	if _, err := c.Exec(ctx, "SELECT id FROM "+secret); !errors.As(err, &pe) || pe.Code != CodeInsufficientPrivilege {
		t.Fatalf("denied statement: err = %v, want 42501", err)
	}

	errc := make(chan error, 1)
	go func() {
		_, err := c.Exec(ctx, "SELECT pg_sleep(30)")
		errc <- err
	}()
	waitFor(t, "query running", func() bool { return pendingOps(e) > 0 })
	time.Sleep(100 * time.Millisecond)
	if err := c.PgConn().CancelRequest(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.As(err, &pe) || pe.Code != "57014" {
		t.Fatalf("cancel over the socket: err = %v, want 57014 query_canceled", err)
	}
	if _, err := c.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatalf("session unusable after cancel: %v", err)
	}
}

// A connection that names a Unix socket and asks for TLS is refused, never
// connected without the TLS it asks for (pgconn, like libpq, would drop
// it), and a malformed socket address is refused too.
func TestUnixSocketRefusesTLSAndBadPaths(t *testing.T) {
	sock := serverSocket(t)
	for _, tc := range []struct{ name, addr, mode string }{
		{"tls mode", sock, "verify-full"},
		{"require", sock, "require"},
		{"not a socket file", path.Dir(sock), "disable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.policy.set(func(p *testPolicy) {
				p.conns["testdb"] = &model.Connection{Name: "testdb", Type: "postgres", Address: tc.addr, Database: "test",
					Credential: model.Credential{Username: "postgres"}, TLSMode: tc.mode}
			})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := pgx.Connect(ctx, e.dsn("agent1", "require"))
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != CodeCannotConnectNow || !strings.Contains(pe.Message, "misconfigured") {
				t.Fatalf("err = %v, want 57P03 naming a misconfigured connection", err)
			}
		})
	}
}
