package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/api"
	gt "github.com/mandatehq/mandate/runtime/gateway/gatewaytest"
)

func decide(t *testing.T, base, agent string) model.Decision {
	t.Helper()
	d, err := api.Decide(context.Background(), base, api.DecideRequest{Agent: agent, Connection: "app", SQL: "select id from orders"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestFileSourceLifecycle runs a gateway on a watched bundle file: it
// becomes ready, swaps to a bundle that revokes an agent, rejects a
// tampered one keeping the active bundle, and restarts from the persisted
// bundle with the file gone.
func TestFileSourceLifecycle(t *testing.T) {
	dir := t.TempDir()
	s := gt.NewSigner(t)
	s.WritePublic(t, dir, "keys/bundle.pub")
	bundlePath := filepath.Join(dir, "build", "bundle.tar.gz")
	os.MkdirAll(filepath.Dir(bundlePath), 0o755)
	cfg := writeConfig(t, dir, `
listen {
  api           = "127.0.0.1:0"
  api_plaintext = true
}
api { open_dry_run = true }
bundle {
  source           = "file://build/bundle.tar.gz"
  verification_key = "keys/bundle.pub"
  poll             = "1h"
}
`)
	g := start(t, cfg, nil)
	base := baseURL(g)
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz without a bundle = %d %s", code, body)
	}
	if d := decide(t, base, "a"); d.Result != model.Deny {
		t.Fatalf("decision without a bundle = %+v", d)
	}

	writeAtomic(t, bundlePath, s.Bundle(t, gt.Policy("a", "b"), gt.Rev(1), gt.Time(1)))
	eventually(t, "readyz", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 })
	if d := decide(t, base, "b"); d.Result != model.Allow || d.Revision != gt.Rev(1) {
		t.Fatalf("b on v1 = %+v", d)
	}

	writeAtomic(t, bundlePath, s.Bundle(t, gt.Policy("a"), gt.Rev(2), gt.Time(2)))
	eventually(t, "revision 2", func() bool { return revision(t, g) == gt.Rev(2) })
	if d := decide(t, base, "b"); d.Result != model.Deny {
		t.Fatalf("revoked b on v2 = %+v", d)
	}

	writeAtomic(t, bundlePath, s.Tampered(t, gt.Policy("a"), gt.Policy("a", "b"), gt.Rev(3), gt.Time(3)))
	eventually(t, "tampered rejection", func() bool {
		return metric(t, g, `mandate_bundle_rejected_total{reason="tampered"}`) == "1"
	})
	if rev := revision(t, g); rev != gt.Rev(2) {
		t.Fatalf("revision after a tampered bundle = %s", rev)
	}
	if m := metric(t, g, `mandate_bundle_info{revision="`+gt.Rev(2)+`"}`); m != "1" {
		t.Errorf("bundle info gauge = %q", m)
	}
	if m := metric(t, g, `mandate_sessions_active{protocol="postgres"}`); m != "0" {
		t.Errorf("sessions gauge = %q", m)
	}

	// Restart with the source gone: the persisted bundle serves.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	os.Remove(bundlePath)
	g2 := start(t, cfg, nil)
	if rev := revision(t, g2); rev != gt.Rev(2) {
		t.Fatalf("revision after restart = %q", rev)
	}
	if code, _ := get(t, baseURL(g2)+"/readyz"); code != 200 {
		t.Fatalf("readyz after restart = %d", code)
	}
	if d := decide(t, baseURL(g2), "a"); d.Result != model.Allow {
		t.Fatalf("a after restart = %+v", d)
	}
}

// TestHTTPSSource polls an https server with ETags.
func TestHTTPSSource(t *testing.T) {
	dir := t.TempDir()
	s := gt.NewSigner(t)
	s.WritePublic(t, dir, "keys/bundle.pub")
	var mu sync.Mutex
	body, etag := s.Bundle(t, gt.Policy("a"), gt.Rev(1), gt.Time(1)), `"v1"`
	var conditional int
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("If-None-Match") == etag {
			conditional++
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Write(body)
	}))
	defer srv.Close()
	cfg := writeConfig(t, dir, hcl(`
listen {
  api           = "127.0.0.1:0"
  api_plaintext = true
}
api { open_dry_run = true }
bundle {
  source           = "%s/bundle.tar.gz"
  verification_key = "keys/bundle.pub"
  poll             = "1s"
}
`, srv.URL))
	g := start(t, cfg, srv.Client())
	eventually(t, "revision 1", func() bool { return revision(t, g) == gt.Rev(1) })
	eventually(t, "a conditional request", func() bool { mu.Lock(); defer mu.Unlock(); return conditional > 0 })
	mu.Lock()
	body, etag = s.Bundle(t, gt.Policy("a", "b"), gt.Rev(2), gt.Time(2)), `"v2"`
	mu.Unlock()
	eventually(t, "revision 2", func() bool { return revision(t, g) == gt.Rev(2) })
	if d := decide(t, baseURL(g), "b"); d.Result != model.Allow {
		t.Fatalf("b on v2 = %+v", d)
	}
}

// TestTokenExchange exchanges real OIDC tokens of an httptest issuer.
func TestTokenExchange(t *testing.T) {
	dir := t.TempDir()
	is := newIssuer(t)
	s := gt.NewSigner(t)
	s.WritePublic(t, dir, "keys/bundle.pub")
	writeAtomic(t, filepath.Join(dir, "bundle.tar.gz"), s.Bundle(t, gt.PolicyFor(is.srv.URL, "a"), gt.Rev(1), gt.Time(1)))
	cfg := writeConfig(t, dir, hcl(`
listen {
  api           = "127.0.0.1:0"
  api_plaintext = true
}
api { open_dry_run = true }
bundle {
  source           = "file://bundle.tar.gz"
  verification_key = "keys/bundle.pub"
}
issuer "test" {
  url      = "%s"
  audience = "mandate"
}
`, is.srv.URL))
	g := start(t, cfg, is.srv.Client())
	base := baseURL(g)
	eventually(t, "ready", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 })

	for _, tc := range []struct {
		name   string
		token  string
		status int
		maxTTL time.Duration
	}{
		{"short token bounds the session", is.token(t, "agent:a", "mandate", 10*time.Minute), 200, 10 * time.Minute},
		{"role max session bounds the session", is.token(t, "agent:a", "mandate", 5*time.Hour), 200, time.Hour},
		{"unknown subject", is.token(t, "agent:zed", "mandate", time.Minute), 403, 0},
		{"wrong audience", is.token(t, "agent:a", "other", time.Minute), 401, 0},
		{"expired", is.token(t, "agent:a", "mandate", time.Nanosecond), 401, 0},
		{"not a token", "abc.def.ghi", 401, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "expired" {
				time.Sleep(1100 * time.Millisecond)
			}
			b, _ := json.Marshal(api.TokenRequest{Token: tc.token})
			resp, err := http.Post(base+"/v1/token", "application/json", bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != 200 {
				if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("Content-Type = %q", ct)
				}
				return
			}
			var tr api.TokenResponse
			if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
				t.Fatal(err)
			}
			if tr.Agent != "a" || tr.Token == "" {
				t.Fatalf("response = %+v", tr)
			}
			exp := jwtExpiry(t, tr.Token)
			if d := time.Until(exp); d > tc.maxTTL || d <= 0 {
				t.Errorf("session lasts %s, want at most %s", d, tc.maxTTL)
			}
		})
	}
}

func jwtExpiry(t *testing.T, tok string) time.Time {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Exp int64 `json:"exp"`
	}
	json.Unmarshal(b, &c)
	return time.Unix(c.Exp, 0)
}

// TestSelfSignedTLS: with no tls block the API serves HTTPS with a
// certificate the gateway made in its state directory.
func TestSelfSignedTLS(t *testing.T) {
	dir := t.TempDir()
	s := gt.NewSigner(t)
	s.WritePublic(t, dir, "keys/bundle.pub")
	cfg := writeConfig(t, dir, `
listen { api = "127.0.0.1:0" }
api { open_dry_run = true }
bundle {
  source           = "file://missing.tar.gz"
  verification_key = "keys/bundle.pub"
}
`)
	g := start(t, cfg, nil)
	if g.CertPath() != filepath.Join(dir, "state", "tls", "gateway.crt") {
		t.Errorf("cert path = %s", g.CertPath())
	}
	c, err := api.NewClient("https://"+g.APIAddr().String(), g.CertPath(), "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Bundle(context.Background())
	if err != nil || st.Ready {
		t.Errorf("bundle status over TLS = %+v, %v; want not ready", st, err)
	}
	if _, err := (&api.Client{BaseURL: "https://" + g.APIAddr().String()}).Bundle(context.Background()); err == nil {
		t.Error("a client that does not trust the self-signed certificate connected")
	}
}

// TestMaxAgeFailsClosed: once the source stops confirming the bundle for
// longer than max_age, the gateway denies everything with that reason and
// is not ready; when the source answers again it decides with policy again.
func TestMaxAgeFailsClosed(t *testing.T) {
	dir := t.TempDir()
	s := gt.NewSigner(t)
	s.WritePublic(t, dir, "keys/bundle.pub")
	bundlePath := filepath.Join(dir, "bundle.tar.gz")
	data := s.Bundle(t, gt.Policy("a"), gt.Rev(1), gt.Time(1))
	writeAtomic(t, bundlePath, data)
	cfg := writeConfig(t, dir, `
listen {
  api           = "127.0.0.1:0"
  api_plaintext = true
}
api { open_dry_run = true }
bundle {
  source           = "file://bundle.tar.gz"
  verification_key = "keys/bundle.pub"
  poll             = "1s"
  max_age          = "2s"
}
`)
	g := start(t, cfg, nil)
	base := baseURL(g)
	eventually(t, "ready", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 })
	os.Remove(bundlePath) // the source is down
	eventually(t, "max_age to pass", func() bool {
		code, body := get(t, base+"/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "max_age")
	})
	if d := decide(t, base, "a"); d.Result != model.Deny || !strings.Contains(d.Reason, "max_age") {
		t.Fatalf("decision past max_age = %+v", d)
	}
	writeAtomic(t, bundlePath, data) // the source is back with the same bundle
	eventually(t, "ready again", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 })
	if d := decide(t, base, "a"); d.Result != model.Allow {
		t.Fatalf("decision after the source answered = %+v", d)
	}
}

// TestOversizedFromSource: a bundle over max_size is refused by the source
// before it is read in full, counted as oversized.
func TestOversizedFromSource(t *testing.T) {
	dir := t.TempDir()
	s := gt.NewSigner(t)
	s.WritePublic(t, dir, "keys/bundle.pub")
	writeAtomic(t, filepath.Join(dir, "bundle.tar.gz"), s.Bundle(t, gt.Policy("a"), gt.Rev(1), gt.Time(1)))
	cfg := writeConfig(t, dir, `
listen {
  api           = "127.0.0.1:0"
  api_plaintext = true
}
api { open_dry_run = true }
bundle {
  source           = "file://bundle.tar.gz"
  verification_key = "keys/bundle.pub"
  max_size         = "1KiB"
}
`)
	g := start(t, cfg, nil)
	// The source retries with backoff (the first retry within a second), so
	// on a loaded machine the first look may already see a later count.
	eventually(t, "oversized rejection", func() bool {
		n, err := strconv.Atoi(metric(t, g, `mandate_bundle_rejected_total{reason="oversized"}`))
		return err == nil && n >= 1
	})
	if code, _ := get(t, baseURL(g)+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("readyz = %d, want 503", code)
	}
}
