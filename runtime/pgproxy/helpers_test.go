package pgproxy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"runtime"
	"strconv"
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

// adminDSN reaches the machine's PostgreSQL directly (trust auth).
const adminDSN = "host=127.0.0.1 port=5432 user=postgres dbname=test sslmode=disable"

// testPolicy is a small in-test policy: it allows every statement except
// those touching a denied table or marked Forbidden, and names masking
// "pii" for statements touching a masked table.
type testPolicy struct {
	mu        sync.Mutex
	conns     map[string]*model.Connection
	maskings  map[string]*model.Masking
	denied    map[string]bool // schema.table
	approval  map[string]bool // schema.table needing approval
	masked    map[string]bool // schema.table whose statements get masking "pii"
	readOnly  bool
	revision  string
	decisions int
}

func (p *testPolicy) Decide(_ context.Context, in *model.Input) (model.Decision, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.decisions++
	d := model.Decision{Result: model.Allow, Reason: "allowed by test policy", ReadOnly: p.readOnly}
	if in.Kind == "session" {
		return d, nil
	}
	st := in.Statement
	if st.Forbidden != "" {
		return model.Decision{Result: model.Deny, Reason: st.Forbidden}, nil
	}
	for _, a := range st.Accesses {
		if p.denied[a.Table] {
			return model.Decision{Result: model.Deny, Reason: "no grant covers " + a.Class + " on " + a.Table,
				Source: &model.Source{File: "roles.hcl", Line: 7}}, nil
		}
		if p.approval[a.Table] {
			return model.Decision{Result: model.NeedsApproval, Reason: "requestable", Requestable: "writer"}, nil
		}
		if p.readOnly && a.Class != "select" {
			return model.Decision{Result: model.Deny, Reason: "read-only grant"}, nil
		}
		if p.masked[a.Table] {
			d.Masking = []string{"pii"}
		}
	}
	return d, nil
}

func (p *testPolicy) Connection(name string) (*model.Connection, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.conns[name]
	return c, ok
}

func (p *testPolicy) Masking(name string) (*model.Masking, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, ok := p.maskings[name]
	return m, ok
}

func (p *testPolicy) Revision() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.revision
}

func (p *testPolicy) set(f func(p *testPolicy)) {
	p.mu.Lock()
	f(p)
	p.revision += "+"
	p.mu.Unlock()
}

// testAuth accepts the token "tok-" + agent.
type testAuth struct{}

// Authenticate accepts "tok-AGENT", and "tok-AGENT@DURATION" for a session
// that expires after DURATION.
func (testAuth) Authenticate(_ context.Context, r AuthRequest) (*Principal, error) {
	tok, ttl, hasTTL := strings.Cut(r.Token, "@")
	if tok != "tok-"+r.Agent {
		return nil, errors.New("bad token")
	}
	p := &Principal{Agent: r.Agent, Subject: "sub-" + r.Agent}
	if hasTTL {
		d, err := time.ParseDuration(ttl)
		if err != nil {
			return nil, err
		}
		p.Expires = time.Now().Add(d)
	}
	return p, nil
}

// memRecorder keeps every event.
type memRecorder struct {
	mu        sync.Mutex
	sessions  []SessionRecord
	ended     []string
	decided   []StatementRecord
	completed []StatementRecord
	fail      bool
}

// Queues: memRecorder never waits, so test sessions run on event loops.
func (r *memRecorder) Queues() bool { return true }

func (r *memRecorder) SessionStart(_ context.Context, s *SessionRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sessions = append(r.sessions, *s)
	return nil
}

func (r *memRecorder) Decided(_ context.Context, _ *SessionRecord, st *StatementRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("recorder full")
	}
	r.decided = append(r.decided, *st)
	return nil
}

func (r *memRecorder) Completed(_ context.Context, _ *SessionRecord, st *StatementRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.completed = append(r.completed, *st)
}

func (r *memRecorder) SessionEnd(_ context.Context, _ *SessionRecord, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = append(r.ended, reason)
}

func (r *memRecorder) completedList() []StatementRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]StatementRecord(nil), r.completed...)
}

// env is one running gateway in front of the real PostgreSQL.
type env struct {
	t      testing.TB
	srv    *Server
	addr   string
	policy *testPolicy
	rec    *memRecorder
	prefix string // unique table-name prefix: public.<prefix>_...
}

type envOpt func(*Config)

// newEnv starts a gateway on a loopback port with a TLS certificate, the
// test policy (connection "testdb" -> database test as postgres) and a
// memory recorder. It skips when PostgreSQL is not reachable, unless CI.
func newEnv(t testing.TB, opts ...envOpt) *env {
	t.Helper()
	requirePostgres(t)
	prefix := "pgp_" + randHex(4)
	pol := &testPolicy{
		conns: map[string]*model.Connection{
			"testdb": {Name: "testdb", Type: "postgres", Address: "127.0.0.1:5432", Database: "test",
				Credential: model.Credential{Username: "postgres"}, TLSMode: "prefer"},
		},
		maskings: map[string]*model.Masking{},
		denied:   map[string]bool{}, approval: map[string]bool{}, masked: map[string]bool{},
		revision: "r1",
	}
	rec := &memRecorder{}
	cfg := Config{
		TLS: testTLS(t), Plaintext: PlaintextLoopback,
		Authenticator: testAuth{}, Policy: pol, Recorder: rec,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	// PGPROXY_TEST_LOOPS=N runs every test session on N event loops.
	if n, err := strconv.Atoi(os.Getenv("PGPROXY_TEST_LOOPS")); err == nil {
		cfg.EventLoops = n
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return &env{t: t, srv: srv, addr: ln.Addr().String(), policy: pol, rec: rec, prefix: prefix}
}

// dsn is a libpq connection string to the gateway for agent.
func (e *env) dsn(agent, sslmode string) string {
	host, port, _ := net.SplitHostPort(e.addr)
	return "host=" + host + " port=" + port + " dbname=testdb user=" + agent +
		" password=tok-" + agent + " sslmode=" + sslmode
}

func (e *env) connect(t testing.TB, sslmode string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, e.dsn("agent1", sslmode))
	if err != nil {
		t.Fatalf("connecting through the gateway: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// admin runs SQL directly against PostgreSQL.
func admin(t testing.TB, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("admin %q: %v", sql, err)
	}
}

// table creates public.<prefix>_<name> with ddl columns and drops it at
// cleanup; it returns the schema-qualified name.
func (e *env) table(t testing.TB, name, columns, insert string) string {
	t.Helper()
	tn := e.prefix + "_" + name
	admin(t, "CREATE TABLE public."+tn+" ("+columns+")")
	t.Cleanup(func() { admin(t, "DROP TABLE IF EXISTS public."+tn) })
	if insert != "" {
		admin(t, "INSERT INTO public."+tn+" "+insert)
	}
	return "public." + tn
}

func requirePostgres(t testing.TB) {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:5432", 2*time.Second)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL on 127.0.0.1:5432 is required in CI: %v", err)
		}
		t.Skipf("PostgreSQL on 127.0.0.1:5432 not reachable: %v", err)
	}
	c.Close()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var (
	tlsOnce sync.Once
	tlsCfg  *tls.Config
)

// testTLS is a self-signed certificate for 127.0.0.1 and localhost.
func testTLS(t testing.TB) *tls.Config {
	tlsOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mandate-test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	})
	return tlsCfg
}

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkGoroutines fails when goroutines started during the test outlive it.
func checkGoroutines(t testing.TB) func() {
	before := runtime.NumGoroutine()
	return func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Fatalf("goroutines: %d before, %d after\n%s", before, n, buf)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// exchange writes each batch of frontend messages at once and reads what
// comes back until one ReadyForQuery per Sync or Query in the batch. It
// returns one line per backend message that a client sees.
func exchange(t testing.TB, c *pgconn.PgConn, batches ...[]pgproto3.FrontendMessage) []string {
	t.Helper()
	owed := make([]int, len(batches))
	for i, b := range batches {
		for _, m := range b {
			switch m.(type) {
			case *pgproto3.Sync, *pgproto3.Query:
				owed[i]++
			}
		}
	}
	return exchangeOwed(t, c, owed, batches...)
}

// exchangeOwed is exchange with the number of ReadyForQuery each batch
// owes given: a Query the server skips after an extended-protocol error
// owes none.
func exchangeOwed(t testing.TB, c *pgconn.PgConn, owed []int, batches ...[]pgproto3.FrontendMessage) []string {
	t.Helper()
	fe := c.Frontend()
	var got []string
	for i, b := range batches {
		for _, m := range b {
			fe.Send(m)
		}
		if err := fe.Flush(); err != nil {
			t.Fatalf("sending: %v", err)
		}
		_ = c.Conn().SetReadDeadline(time.Now().Add(30 * time.Second))
		for want := owed[i]; want > 0; {
			msg, err := fe.Receive()
			if err != nil {
				t.Fatalf("receiving after %q: %v", got, err)
			}
			switch m := msg.(type) {
			case *pgproto3.ParseComplete:
				got = append(got, "parsed")
			case *pgproto3.BindComplete:
				got = append(got, "bound")
			case *pgproto3.CloseComplete:
				got = append(got, "closed")
			case *pgproto3.PortalSuspended:
				got = append(got, "suspended")
			case *pgproto3.NoData:
				got = append(got, "no data")
			case *pgproto3.RowDescription:
				got = append(got, fmt.Sprintf("columns %d", len(m.Fields)))
			case *pgproto3.DataRow:
				var vals []string
				for _, v := range m.Values {
					vals = append(vals, string(v))
				}
				got = append(got, "row "+strings.Join(vals, ","))
			case *pgproto3.CommandComplete:
				got = append(got, "complete "+string(m.CommandTag))
			case *pgproto3.ErrorResponse:
				got = append(got, "error "+m.Code+" "+m.Message)
			case *pgproto3.ReadyForQuery:
				got = append(got, "ready "+string(m.TxStatus))
				want--
			}
		}
	}
	_ = c.Conn().SetReadDeadline(time.Time{})
	return got
}

// pgconnTo connects to dsn without pgx's statement cache in the way.
func pgconnTo(t testing.TB, dsn string) *pgconn.PgConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pgconn.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// likePostgres runs batches on a fresh connection straight to PostgreSQL and
// on a fresh one through the gateway; both must see want.
func likePostgres(t *testing.T, e *env, want []string, batches ...[]pgproto3.FrontendMessage) {
	t.Helper()
	pg := exchange(t, pgconnTo(t, adminDSN), batches...)
	if d := cmp.Diff(want, pg); d != "" {
		t.Fatalf("PostgreSQL itself (-want +got):\n%s", d)
	}
	gw := exchange(t, pgconnTo(t, e.dsn("agent1", "require")), batches...)
	if d := cmp.Diff(want, gw); d != "" {
		t.Errorf("through the gateway (-want +got):\n%s", d)
	}
}

// Message builders for exchange.

func msgs(ms ...pgproto3.FrontendMessage) []pgproto3.FrontendMessage { return ms }

func query(sql string) *pgproto3.Query { return &pgproto3.Query{String: sql} }

func parse(name, sql string) *pgproto3.Parse { return &pgproto3.Parse{Name: name, Query: sql} }

func bind(portal, stmt string) *pgproto3.Bind {
	return &pgproto3.Bind{DestinationPortal: portal, PreparedStatement: stmt}
}

func execute(portal string, maxRows uint32) *pgproto3.Execute {
	return &pgproto3.Execute{Portal: portal, MaxRows: maxRows}
}

var syncMsg = &pgproto3.Sync{}

// extended runs sql as the unnamed statement in one batch, as drivers do.
func extended(sql string) []pgproto3.FrontendMessage {
	return msgs(parse("", sql), bind("", ""), execute("", 0), syncMsg)
}
