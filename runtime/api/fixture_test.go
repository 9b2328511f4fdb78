package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/activation"
	"github.com/mandatehq/mandate/runtime/api"
	"github.com/mandatehq/mandate/runtime/chain"
	"github.com/mandatehq/mandate/runtime/decision"
	gt "github.com/mandatehq/mandate/runtime/gateway/gatewaytest"
	"github.com/mandatehq/mandate/runtime/identity"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
)

// humanFixture is an API with a real OIDC issuer, a real signed bundle
// whose policy has groups with API roles, and a real SQLite record.
type humanFixture struct {
	srv      *httptest.Server
	is       *gt.Issuer
	key      *chain.Key
	st       store.Store
	tokens   map[string]string // principal -> Authorization header value
	pgID     string            // a postgres session
	sshID    string            // an ssh session with a terminal
	mgr      *activation.Manager
	sessions *identity.SessionIssuer
}

func newHumanFixture(t testing.TB, openDryRun bool) *humanFixture {
	t.Helper()
	ctx := context.Background()
	f := &humanFixture{is: gt.NewIssuer(t)}
	s := gt.NewSigner(t)
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	var err error
	f.mgr, err = activation.New(activation.Options{
		Load:   activation.BundleLoader(map[string][]byte{s.KeyID: s.Public}, 64<<20, decision.Options{}),
		Source: "file://test/bundle.tar.gz", MaxAge: 24 * time.Hour, Logger: log, Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.mgr.Offer(ctx, s.Bundle(t, gt.Humans(gt.PolicyFor(f.is.URL(), "a")), gt.Rev(3), gt.Time(3))); err != nil {
		t.Fatal(err)
	}
	skey, err := identity.GenerateSessionKey()
	if err != nil {
		t.Fatal(err)
	}
	f.sessions, err = identity.NewSessionIssuer("https://gateway.mandate.test/session", skey, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := identity.NewVerifier([]identity.IssuerConfig{{Name: "test", URL: f.is.URL(), Audience: "mandate"}},
		identity.Options{HTTPClient: f.is.Client(), Sessions: f.sessions})
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	f.st, err = store.Open(ctx, store.Config{Path: filepath.Join(dir, "mandate.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.st.Close() })
	f.key, err = chain.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	f.record(t, dir)

	srv := httptest.NewServer(api.New(api.Deps{
		Bundles: f.mgr, Gatherer: reg, Logger: log, OpenDryRun: openDryRun,
		Humans: &api.OIDCHumans{Verifier: v, Policy: f.mgr.Policy},
		Record: f.st, UsageKey: f.key,
	}))
	t.Cleanup(srv.Close)
	f.srv = srv

	human := func(email string) string {
		return "Bearer " + f.is.Token(t, "user:"+email, "mandate", 10*time.Minute, map[string]any{"email": email})
	}
	agentTok := f.is.Token(t, "agent:a", "mandate", 10*time.Minute, nil)
	claims, err := v.Verify(ctx, agentTok)
	if err != nil {
		t.Fatal(err)
	}
	sess, _, err := f.sessions.Issue(identity.SessionRequest{Agent: "a", Roles: []string{"reader"}, From: claims, MaxSession: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	other := gt.NewIssuer(t)
	f.tokens = map[string]string{
		"no token":       "",
		"basic auth":     "Basic eDp5",
		"malformed":      "Bearer not-a-jwt",
		"foreign issuer": "Bearer " + other.Token(t, "user:auditor@example.com", "mandate", time.Minute, map[string]any{"email": "auditor@example.com"}),
		"wrong audience": "Bearer " + f.is.Token(t, "user:auditor@example.com", "other", time.Minute, map[string]any{"email": "auditor@example.com"}),
		"agent session":  "Bearer " + sess,
		"agent oidc":     "Bearer " + agentTok,
		"no group":       human("nobody@example.com"),
		"no role":        human("staff@example.com"),
		"approver":       human("approver@example.com"),
		"auditor":        human("auditor@example.com"),
		"admin":          human("admin@example.com"),
	}
	return f
}

// record writes two real sessions through the recorder: a postgres one
// with allowed and denied statements, and an ssh one with a terminal.
func (f *humanFixture) record(t testing.TB, dir string) {
	t.Helper()
	ctx := context.Background()
	rec, err := recorder.New(ctx, f.st, recorder.Config{StateDir: dir, Key: f.key})
	if err != nil {
		t.Fatal(err)
	}
	pg, err := rec.StartSession(ctx, recorder.SessionInfo{Agent: "a", Role: "reader", Grant: "app", Connection: "app", Protocol: "postgres"})
	if err != nil {
		t.Fatal(err)
	}
	allow := &recorder.Decision{Result: model.Allow, Role: "reader", Grant: "app"}
	for i := 0; i < 3; i++ {
		if _, err := pg.RecordSync(ctx, recorder.Event{Kind: recorder.KindStatement, Decision: allow,
			Statement: &recorder.Statement{Text: "select id from orders", Tag: "SELECT",
				Accesses: []model.Access{{Table: "public.orders", Class: "select"}}, Columns: []string{"public.orders.id"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pg.RecordSync(ctx, recorder.Event{Kind: recorder.KindStatement, Decision: &recorder.Decision{Result: model.Deny},
		Statement: &recorder.Statement{Text: "delete from orders", Accesses: []model.Access{{Table: "public.orders", Class: "delete"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := pg.End(ctx, "client closed"); err != nil {
		t.Fatal(err)
	}
	sh, err := rec.StartSession(ctx, recorder.SessionInfo{Agent: "a", Connection: "web", Protocol: "ssh"})
	if err != nil {
		t.Fatal(err)
	}
	for _, term := range []recorder.Terminal{{Stream: "r", Cols: 80, Rows: 24}, {Stream: "o", Data: []byte("$ ")}} {
		if _, err := sh.RecordSync(ctx, recorder.Event{Kind: recorder.KindTerminal, Terminal: &term}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sh.End(ctx, "exit"); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	f.pgID, f.sshID = pg.ID(), sh.ID()
}

// do sends a request with an Authorization header value (none when "").
func (f *humanFixture) do(t *testing.T, method, path, auth, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}
