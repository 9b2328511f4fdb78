package gateway_test

import (
	"context"
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
	gt "github.com/mandatehq/mandate/runtime/gateway/gatewaytest"
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

// oidcIssuer is gatewaytest.Issuer with the short names these tests use.
type oidcIssuer struct {
	*gt.Issuer
	srv *httptest.Server
}

func newIssuer(t *testing.T) *oidcIssuer {
	t.Helper()
	is := gt.NewIssuer(t)
	return &oidcIssuer{Issuer: is, srv: is.Server}
}

func (is *oidcIssuer) token(t *testing.T, subject, audience string, ttl time.Duration) string {
	t.Helper()
	return is.Token(t, subject, audience, ttl, nil)
}

func hcl(format string, args ...any) string { return fmt.Sprintf(format, args...) }
