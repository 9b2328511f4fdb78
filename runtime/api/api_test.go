package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/activation"
	"github.com/mandatehq/mandate/runtime/api"
	"github.com/mandatehq/mandate/runtime/decision"
	gt "github.com/mandatehq/mandate/runtime/gateway/gatewaytest"
)

type exchangeFunc func(ctx context.Context, tok string) (*api.TokenResponse, error)

func (f exchangeFunc) Exchange(ctx context.Context, tok string) (*api.TokenResponse, error) {
	return f(ctx, tok)
}

func newServer(t *testing.T, activate bool) (*httptest.Server, *activation.Manager) {
	t.Helper()
	s := gt.NewSigner(t)
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	m, err := activation.New(activation.Options{
		Load:   activation.BundleLoader(map[string][]byte{s.KeyID: s.Public}, 64<<20, decision.Options{}),
		Source: "file://test/bundle.tar.gz", MaxAge: 24 * time.Hour, Logger: log, Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	if activate {
		if err := m.Offer(context.Background(), s.Bundle(t, gt.Policy("a"), gt.Rev(7), gt.Time(7))); err != nil {
			t.Fatal(err)
		}
	}
	tokens := exchangeFunc(func(_ context.Context, tok string) (*api.TokenResponse, error) {
		if tok != "good" {
			return nil, &api.ExchangeError{Status: http.StatusUnauthorized, Detail: "The token's signature does not verify.", Err: errors.New("bad sig")}
		}
		return &api.TokenResponse{Token: "session", Agent: "a", ExpiresAt: time.Now().Add(time.Minute)}, nil
	})
	srv := httptest.NewServer(api.New(api.Deps{Bundles: m, Gatherer: reg, Tokens: tokens, Logger: log, OpenDryRun: true}))
	t.Cleanup(srv.Close)
	return srv, m
}

type call struct {
	name, method, path, body string
	header                   map[string]string
	status                   int
	// want are substrings of the response body.
	want []string
}

func (c call) run(t *testing.T, base string) string {
	t.Helper()
	req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != c.status {
		t.Errorf("status = %d, want %d; body %s", resp.StatusCode, c.status, b)
	}
	if resp.StatusCode >= 400 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("error Content-Type = %q, want application/problem+json", ct)
		}
		var p api.Problem
		if err := json.Unmarshal(b, &p); err != nil || p.Status != resp.StatusCode || p.Title == "" || !strings.HasPrefix(p.Type, api.ProblemBase) {
			t.Errorf("not a problem document: %s", b)
		}
	}
	for _, w := range c.want {
		if !strings.Contains(string(b), w) {
			t.Errorf("body lacks %q: %s", w, b)
		}
	}
	return string(b)
}

func TestNotReady(t *testing.T) {
	srv, _ := newServer(t, false)
	for _, c := range []call{
		{name: "healthz", method: "GET", path: "/healthz", status: 200, want: []string{`"ok"`}},
		{name: "readyz", method: "GET", path: "/readyz", status: 503, want: []string{"no verified policy bundle"}},
		{name: "decide fails closed", method: "POST", path: "/v1/decide", body: `{"agent":"a","connection":"app","sql":"select 1"}`,
			status: 200, want: []string{`"result":"deny"`, "no verified policy bundle"}},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, srv.URL) })
	}
}

func TestRoutes(t *testing.T) {
	srv, _ := newServer(t, true)
	big := `{"agent":"` + strings.Repeat("x", 2<<20) + `"}`
	for _, c := range []call{
		{name: "readyz", method: "GET", path: "/readyz", status: 200, want: []string{`"ready"`, gt.Rev(7)}},
		{name: "bundle", method: "GET", path: "/v1/bundle", status: 200,
			want: []string{`"revision":"` + gt.Rev(7), `"source":"file://test/bundle.tar.gz"`, `"activated_at"`}},
		{name: "allow", method: "POST", path: "/v1/decide", body: `{"agent":"a","connection":"app","sql":"select id from orders"}`,
			status: 200, want: []string{`"result":"allow"`, `"revision":"` + gt.Rev(7), `"file":"roles.hcl"`}},
		{name: "unknown agent", method: "POST", path: "/v1/decide", body: `{"agent":"zed","connection":"app","sql":"select 1 from orders"}`,
			status: 200, want: []string{`"result":"deny"`}},
		{name: "several statements", method: "POST", path: "/v1/decide",
			body:   `{"agent":"a","connection":"app","sql":"select * from orders; delete from orders"}`,
			status: 200, want: []string{`"decision":{"result":"deny"`, `"sql":"select * from orders"`, `"sql":"delete from orders"`}},
		{name: "session", method: "POST", path: "/v1/decide", body: `{"agent":"a","connection":"app"}`, status: 200, want: []string{`"result"`}},
		{name: "unparseable sql", method: "POST", path: "/v1/decide", body: `{"agent":"a","connection":"app","sql":"selec 1"}`,
			status: 422, want: []string{"SQL could not be parsed"}},
		{name: "no agent", method: "POST", path: "/v1/decide", body: `{"connection":"app","sql":"select 1"}`,
			status: 400, want: []string{`\"agent\" is required`}},
		{name: "sql and command", method: "POST", path: "/v1/decide", body: `{"agent":"a","connection":"app","sql":"select 1","command":"ls"}`,
			status: 400},
		{name: "bad kind", method: "POST", path: "/v1/decide", body: `{"agent":"a","connection":"app","kind":"k8s"}`, status: 400},
		{name: "unknown field", method: "POST", path: "/v1/decide", body: `{"agent":"a","colour":"blue"}`, status: 400, want: []string{"colour"}},
		{name: "bad json", method: "POST", path: "/v1/decide", body: `{"agent":`, status: 400},
		{name: "two values", method: "POST", path: "/v1/decide", body: `{"agent":"a"} {}`, status: 400},
		{name: "too large", method: "POST", path: "/v1/decide", body: big, status: 413},
		{name: "wrong media type", method: "POST", path: "/v1/decide", body: `{}`, header: map[string]string{"Content-Type": "text/plain"}, status: 415},
		{name: "wrong method", method: "GET", path: "/v1/decide", status: 405, want: []string{"POST"}},
		{name: "not found", method: "GET", path: "/v2/nothing", status: 404},
		{name: "token body", method: "POST", path: "/v1/token", body: `{"token":"good"}`, status: 200, want: []string{`"token":"session"`, `"token_type":"Bearer"`}},
		{name: "token header", method: "POST", path: "/v1/token", header: map[string]string{"Authorization": "Bearer good"}, status: 200},
		{name: "token refused", method: "POST", path: "/v1/token", body: `{"token":"bad"}`, status: 401, want: []string{"signature does not verify"}},
		{name: "token missing", method: "POST", path: "/v1/token", status: 401},
		{name: "token basic auth", method: "POST", path: "/v1/token", header: map[string]string{"Authorization": "Basic eDp5"}, status: 401},
		{name: "metrics", method: "GET", path: "/metrics", status: 200,
			want: []string{"mandate_decisions_total{result=\"allow\"}", "mandate_decision_duration_seconds_bucket", "mandate_bundle_info{revision=\"" + gt.Rev(7), "mandate_bundle_rejected_total{reason=\"tampered\"} 0", "mandate_bundle_age_seconds"}},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, srv.URL) })
	}
}

func TestClientDecide(t *testing.T) {
	srv, _ := newServer(t, true)
	ctx := context.Background()
	d, err := api.Decide(ctx, srv.URL, api.DecideRequest{Agent: "a", Connection: "app", SQL: "select id from public.orders"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Result != model.Allow || d.Revision != gt.Rev(7) || d.ID == "" {
		t.Errorf("decision = %+v", d)
	}
	_, err = api.Decide(ctx, srv.URL, api.DecideRequest{Connection: "app", SQL: "select 1"})
	var p *api.Problem
	if !errors.As(err, &p) || p.Status != 400 {
		t.Fatalf("error = %v, want a 400 problem", err)
	}
	st, err := (&api.Client{BaseURL: srv.URL}).Bundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(gt.Rev(7), st.Revision); d != "" {
		t.Error(d)
	}
}
