package pgproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/mandatehq/mandate/compiler"
	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/pgproxy/internal/pgcluster"
)

// upstreamCase is one policy connection to a throwaway SCRAM + TLS cluster.
type upstreamCase struct {
	name     string // connection name and subtest name
	address  string
	mode     string // tls.mode; "" writes no tls block
	ca       string // tls.ca expression, "" for none
	password string // credential.password expression
	wantOK   bool
	wantSSL  bool   // the upstream session uses TLS (when wantOK)
	wantLog  string // in the gateway log (when refused)
	skip     string // a known gap, see the report; the case is skipped
}

// upstreamWorld is a gateway in front of two throwaway clusters: tls (ssl=on,
// hostssl scram-sha-256 only) and plain (ssl=off, host scram-sha-256).
type upstreamWorld struct {
	e          *env
	tls, plain *pgcluster.Cluster
	logs       *lockedBuffer
	secrets    []string // values that must never reach a client, a log or a record
}

func newUpstreamWorld(t *testing.T, cases func(w *upstreamWorld) []upstreamCase) (*upstreamWorld, []upstreamCase) {
	t.Helper()
	w := &upstreamWorld{tls: pgcluster.Start(t, pgcluster.Options{}), plain: pgcluster.Start(t, pgcluster.Options{NoTLS: true}),
		logs: &lockedBuffer{}}
	wrongCA, err := pgcluster.NewCA("wrong CA")
	if err != nil {
		t.Fatal(err)
	}
	wrongCAFile := filepath.Join(t.TempDir(), "wrong-ca.crt")
	if err := os.WriteFile(wrongCAFile, wrongCA.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"UP_PW": w.tls.Password, "UP_PW_PLAIN": w.plain.Password, "UP_PW_WRONG": "wrong-" + randHex(8),
		"UP_CA": string(w.tls.CA.PEM), "UP_CA_WRONG": string(wrongCA.PEM), "UP_CA_FILE": w.tls.CAFile, "UP_CA_WRONG_FILE": wrongCAFile,
	}
	w.secrets = []string{w.tls.Password, w.plain.Password, vars["UP_PW_WRONG"]}
	for _, pw := range []string{w.tls.Password, w.plain.Password} {
		// The random part alone, in case a log escapes the quote characters.
		core, _, _ := strings.Cut(pw, "'")
		w.secrets = append(w.secrets, core)
	}
	w.e = newEnv(t, func(c *Config) {
		c.LookupEnv = func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
		c.Logger = slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	cs := cases(w)
	conns := compileConnections(t, cs, vars)
	w.e.policy.set(func(p *testPolicy) {
		for name, c := range conns {
			p.conns[name] = c
		}
	})
	return w, cs
}

// compileConnections writes one connection block per case and compiles them
// with the real compiler, so the tls block's mapping is part of the test.
// UP_CA_FILE and UP_CA_WRONG_FILE in a ca expression become the file paths.
func compileConnections(t *testing.T, cs []upstreamCase, vars map[string]string) map[string]*model.Connection {
	t.Helper()
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "connection %q {\n  type = \"postgres\"\n  address = %q\n  database = \"postgres\"\n", c.name, c.address)
		fmt.Fprintf(&b, "  credential {\n    username = \"postgres\"\n    password = %s\n  }\n", c.password)
		ca := strings.NewReplacer(`"UP_CA_WRONG_FILE"`, strconv.Quote(vars["UP_CA_WRONG_FILE"]), `"UP_CA_FILE"`, strconv.Quote(vars["UP_CA_FILE"])).Replace(c.ca)
		if ca != "" {
			ca = "\n    ca = " + ca
		}
		if c.mode == "" {
			b.WriteString("}\n\n")
			continue
		}
		fmt.Fprintf(&b, "  tls {\n    mode = %q%s\n  }\n}\n\n", c.mode, ca)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "connections.hcl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	repo, diags := compiler.Load(dir, compiler.Options{})
	if diags.HasErrors() {
		t.Fatalf("compiling connections: %s\n%s", diags.Error(), b.String())
	}
	for _, c := range cs {
		got := repo.Policy.Connections[c.name]
		mode := c.mode
		if mode == "" {
			mode = compiler.DefaultTLSMode
		}
		if got == nil || got.TLSMode != mode || (c.ca == "") != (got.TLSCA == nil) || got.Credential.Password == nil {
			t.Fatalf("compiled connection %s = %+v", c.name, got)
		}
	}
	return repo.Policy.Connections
}

func TestUpstreamAuthTLS(t *testing.T) {
	w, cases := newUpstreamWorld(t, func(w *upstreamWorld) []upstreamCase {
		tlsAddr, plainAddr := w.tls.Addr(), w.plain.Addr()
		localhost := net.JoinHostPort("localhost", strconv.Itoa(w.tls.Port))
		pw, env, file := `env("UP_PW")`, `env("UP_CA")`, `file("UP_CA_FILE")`
		return []upstreamCase{
			{name: "require", address: tlsAddr, mode: "require", password: pw, wantOK: true, wantSSL: true},
			{name: "verify_ca_env", address: tlsAddr, mode: "verify-ca", ca: env, password: pw, wantOK: true, wantSSL: true},
			{name: "verify_ca_file", address: tlsAddr, mode: "verify-ca", ca: file, password: pw, wantOK: true, wantSSL: true},
			{name: "verify_full_env", address: tlsAddr, mode: "verify-full", ca: env, password: pw, wantOK: true, wantSSL: true},
			{name: "verify_full_file", address: tlsAddr, mode: "verify-full", ca: file, password: pw, wantOK: true, wantSSL: true},
			{name: "verify_full_localhost", address: localhost, mode: "verify-full", ca: env, password: pw, wantOK: true, wantSSL: true},
			{name: "verify_full_wrong_env_ca", address: tlsAddr, mode: "verify-full", ca: `env("UP_CA_WRONG")`, password: pw,
				wantLog: "certificate signed by unknown authority"},
			{name: "verify_full_wrong_file_ca", address: tlsAddr, mode: "verify-full", ca: `file("UP_CA_WRONG_FILE")`, password: pw,
				wantLog: "certificate signed by unknown authority"},
			{name: "verify_full_system_roots", address: tlsAddr, mode: "verify-full", password: pw,
				wantLog: "certificate signed by unknown authority"},
			{name: "no_tls_block_is_verify_full", address: tlsAddr, password: pw,
				wantLog: "certificate signed by unknown authority"},
			{name: "verify_ca_wrong_env_ca", address: tlsAddr, mode: "verify-ca", ca: `env("UP_CA_WRONG")`, password: pw,
				wantLog: "certificate signed by unknown authority"},
			{name: "require_wrong_file_ca", address: tlsAddr, mode: "require", ca: `file("UP_CA_WRONG_FILE")`, password: pw,
				wantLog: "certificate signed by unknown authority"},
			{name: "require_wrong_env_ca", address: tlsAddr, mode: "require", ca: `env("UP_CA_WRONG")`, password: pw,
				wantLog: "certificate signed by unknown authority"},
			{name: "wrong_password", address: tlsAddr, mode: "verify-full", ca: env, password: `env("UP_PW_WRONG")`,
				wantLog: "28P01"},
			{name: "password_unset", address: tlsAddr, mode: "verify-full", ca: env, password: `env("UP_PW_UNSET")`,
				wantLog: "variable not set"},
			{name: "disable_hostssl_only", address: tlsAddr, mode: "disable", password: pw, wantLog: "pg_hba.conf rejects connection"},
			{name: "require_plaintext_server", address: plainAddr, mode: "require", password: `env("UP_PW_PLAIN")`,
				wantLog: "server refused TLS connection"},
			{name: "disable_plaintext_server", address: plainAddr, mode: "disable", password: `env("UP_PW_PLAIN")`, wantOK: true},
		}
	})
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			w.logs.Reset()
			c, err := pgx.Connect(ctx, w.dsn(tc.name))
			if !tc.wantOK {
				if err == nil {
					c.Close(ctx)
					t.Fatal("connected; want the gateway to refuse the upstream")
				}
				var pe *pgconn.PgError
				if !errors.As(err, &pe) || pe.Code != CodeCannotConnectNow || !strings.Contains(pe.Message, tc.name) {
					t.Fatalf("err = %v, want SQLSTATE %s naming the connection", err, CodeCannotConnectNow)
				}
				w.noSecrets(t, "client error", pe.Message+" "+pe.Detail+" "+pe.Hint)
				if !strings.Contains(w.logs.String(), tc.wantLog) {
					t.Errorf("gateway log lacks %q:\n%s", tc.wantLog, w.logs.String())
				}
				w.noSecrets(t, "gateway log", w.logs.String())
				return
			}
			if err != nil {
				t.Fatalf("connecting through the gateway: %v\ngateway log:\n%s", err, w.logs.String())
			}
			defer c.Close(ctx)
			var user string
			var ssl bool
			err = c.QueryRow(ctx, "SELECT current_user::text, s.ssl FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()").Scan(&user, &ssl)
			if err != nil || user != "postgres" || ssl != tc.wantSSL {
				t.Fatalf("upstream session: user %q ssl %v err %v; want postgres, ssl %v", user, ssl, err, tc.wantSSL)
			}
		})
	}
	t.Run("password never relayed", func(t *testing.T) { w.checkNeverRelayed(t, "verify_full_env") })
	t.Run("cancel", func(t *testing.T) { w.checkCancel(t, "verify_full_env") })
	// Every successful upstream login was SCRAM (the clusters accept nothing
	// else over TCP, and log the method).
	for _, cl := range []*pgcluster.Cluster{w.tls, w.plain} {
		if log := cl.Log(); !strings.Contains(log, "method=scram-sha-256") || strings.Contains(log, "method=md5") ||
			strings.Contains(log, "method=password") {
			t.Errorf("cluster %s log: want scram-sha-256 logins only:\n%s", cl.Addr(), log)
		}
	}
	w.e.rec.mu.Lock()
	recs := fmt.Sprintf("%+v %+v %+v", w.e.rec.sessions, w.e.rec.decided, w.e.rec.completed)
	w.e.rec.mu.Unlock()
	w.noSecrets(t, "records", recs)
}

// checkNeverRelayed reads every byte the gateway sends a raw protocol client
// of connection conn and checks the upstream password is not among them.
func (w *upstreamWorld) checkNeverRelayed(t *testing.T, conn string) {
	nc, err := net.DialTimeout("tcp", w.e.addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	tee := &teeConn{Conn: nc}
	fe := pgproto3.NewFrontend(tee, tee)
	send := func(msgs ...pgproto3.FrontendMessage) {
		t.Helper()
		for _, m := range msgs {
			fe.Send(m)
		}
		if err := fe.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	var types []string
	untilReady := func() {
		t.Helper()
		for {
			m, err := fe.Receive()
			if err != nil {
				t.Fatalf("receiving: %v (so far %v)", err, types)
			}
			types = append(types, fmt.Sprintf("%T", m)[len("*pgproto3."):])
			if ps, ok := m.(*pgproto3.ParameterStatus); ok {
				w.noSecrets(t, "ParameterStatus "+ps.Name, ps.Value)
			}
			if _, ok := m.(*pgproto3.ReadyForQuery); ok {
				return
			}
		}
	}
	send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber,
		Parameters: map[string]string{"user": "agent1", "database": conn}})
	m, err := fe.Receive()
	if _, ok := m.(*pgproto3.AuthenticationCleartextPassword); !ok || err != nil {
		t.Fatalf("first message %T %v, want AuthenticationCleartextPassword", m, err)
	}
	send(&pgproto3.PasswordMessage{Password: "tok-agent1"})
	untilReady()
	for _, typ := range types {
		if strings.Contains(typ, "SASL") || strings.Contains(typ, "MD5") {
			t.Fatalf("the client saw the upstream's authentication: %v", types)
		}
	}
	if types[0] != "AuthenticationOk" || types[len(types)-2] != "BackendKeyData" {
		t.Fatalf("startup messages %v, want AuthenticationOk ... BackendKeyData ReadyForQuery", types)
	}
	for _, q := range []string{
		"SELECT name, setting FROM pg_settings",
		"SELECT current_setting('application_name'), session_user",
		"SELECT 1/0",
	} {
		send(&pgproto3.Query{String: q})
		untilReady()
	}
	send(&pgproto3.Terminate{})
	w.noSecrets(t, "bytes relayed to the client", tee.String())
	if !strings.Contains(tee.String(), "password_encryption") {
		t.Fatalf("pg_settings did not reach the client; types %v", types)
	}
	w.noSecrets(t, "gateway log", w.logs.String())
}

// checkCancel cancels a running query through the gateway, which forwards
// the request to the SCRAM + TLS upstream with the upstream's key.
func (w *upstreamWorld) checkCancel(t *testing.T, conn string) {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, w.dsn(conn))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := c.Exec(ctx, "SELECT pg_sleep(60)")
		done <- err
	}()
	for {
		select {
		case err := <-done:
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "57014" {
				t.Fatalf("err = %v, want SQLSTATE 57014 (query_canceled)", err)
			}
			return
		case <-time.After(200 * time.Millisecond):
			// A cancel that arrives before the query starts is a no-op; repeat.
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := c.PgConn().CancelRequest(cctx)
			cancel()
			if err != nil {
				t.Fatalf("sending cancel request: %v", err)
			}
		}
	}
}

func (w *upstreamWorld) dsn(conn string) string {
	host, port, _ := net.SplitHostPort(w.e.addr)
	return "host=" + host + " port=" + port + " dbname=" + conn + " user=agent1 password=tok-agent1 sslmode=require connect_timeout=20"
}

func (w *upstreamWorld) noSecrets(t *testing.T, where, s string) {
	t.Helper()
	for _, sec := range w.secrets {
		if strings.Contains(s, sec) {
			t.Fatalf("%s contains an upstream password", where)
		}
	}
}

// lockedBuffer is a log sink safe for concurrent writes and reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

// teeConn keeps a copy of everything read from the gateway.
type teeConn struct {
	net.Conn
	lockedBuffer
}

func (c *teeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	_, _ = c.lockedBuffer.Write(p[:n])
	return n, err
}

func (c *teeConn) Write(p []byte) (int, error) { return c.Conn.Write(p) }

var _ io.ReadWriter = (*teeConn)(nil)
