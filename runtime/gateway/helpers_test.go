package gateway_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mandatehq/mandate/runtime/api"
	"github.com/mandatehq/mandate/runtime/bundlesrc"
	"github.com/mandatehq/mandate/runtime/config"
	"github.com/mandatehq/mandate/runtime/gateway"
	"github.com/mandatehq/mandate/runtime/identity"
)

func init() {
	bundlesrc.Debounce = 10 * time.Millisecond
	bundlesrc.MinBackoff = 10 * time.Millisecond
}

// writeConfig writes gateway.hcl into dir and loads it.
func writeConfig(t testing.TB, dir, src string) *config.Config {
	t.Helper()
	p := filepath.Join(dir, "gateway.hcl")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(p)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

// startB runs a gateway for a benchmark; the caller shuts it down.
func startB(b *testing.B, cfg *config.Config) *gateway.Gateway {
	b.Helper()
	g, err := gateway.New(cfg, gateway.Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	return g
}

// start runs a gateway until the test ends.
func start(t *testing.T, cfg *config.Config, client *http.Client) *gateway.Gateway {
	t.Helper()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		log = gateway.NewLogger(os.Stderr, "debug")
	}
	g, err := gateway.New(cfg, gateway.Options{Logger: log, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), gateway.ShutdownTimeout)
		defer cancel()
		g.Shutdown(ctx)
	})
	return g
}

func baseURL(g *gateway.Gateway) string { return "http://" + g.APIAddr().String() }

// eventually polls cond until it holds or a generous deadline passes (a
// liveness bound, not a timing assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func revision(t *testing.T, g *gateway.Gateway) string {
	t.Helper()
	st, err := (&api.Client{BaseURL: baseURL(g)}).Bundle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.Revision
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metric returns the value of the first /metrics line starting with series.
func metric(t *testing.T, g *gateway.Gateway, series string) string {
	t.Helper()
	_, body := get(t, baseURL(g)+"/metrics")
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, series+" ") {
			return strings.TrimPrefix(l, series+" ")
		}
	}
	return ""
}

func writeAtomic(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// oidcIssuer is an OIDC provider served by httptest: real discovery, a real
// JWKS and real ES256-signed tokens.
type oidcIssuer struct {
	srv *httptest.Server
	key *ecdsa.PrivateKey
	kid string
}

func newIssuer(t *testing.T) *oidcIssuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := identity.KeyID(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := identity.JWKS(&key.PublicKey, kid)
	if err != nil {
		t.Fatal(err)
	}
	is := &oidcIssuer{key: key, kid: kid}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/jwks",
			"authorization_endpoint": is.srv.URL + "/auth", "token_endpoint": is.srv.URL + "/token",
			"response_types_supported": []string{"id_token"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"ES256"},
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) { w.Write(jwks) })
	is.srv = httptest.NewTLSServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *oidcIssuer) token(t *testing.T, subject, audience string, ttl time.Duration) string {
	t.Helper()
	tok, err := identity.IssueToken(is.key, is.kid, is.srv.URL, subject, audience, ttl, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func hcl(format string, args ...any) string { return fmt.Sprintf(format, args...) }
