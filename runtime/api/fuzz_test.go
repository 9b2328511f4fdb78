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

	"github.com/mandatehq/mandate/runtime/activation"
	"github.com/mandatehq/mandate/runtime/api"
)

// FuzzRequests feeds arbitrary bodies to every POST route: the answer is
// always JSON (a result or a problem), never a panic or a 5xx.
func FuzzRequests(f *testing.F) {
	for _, s := range []string{
		`{"agent":"a","connection":"app","sql":"select id from orders"}`,
		`{"agent":"a","connection":"app","sql":"select * from orders; delete from orders"}`,
		`{"agent":"a","connection":"app","command":"ls -l"}`,
		`{"agent":"a","connection":"app","kind":"k8s"}`,
		`{"token":"abc.def.ghi"}`, `{"agent":`, `[]`, `null`, "",
	} {
		f.Add("/v1/decide", s)
		f.Add("/v1/token", s)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	m, err := activation.New(activation.Options{Load: noLoad, Logger: log})
	if err != nil {
		f.Fatal(err)
	}
	h := api.New(api.Deps{Bundles: m, Logger: log, OpenDryRun: true})
	f.Fuzz(func(t *testing.T, path, body string) {
		if path != "/v1/decide" && path != "/v1/token" {
			return
		}
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusNotImplemented {
			t.Fatalf("%s %q: status %d", path, body, rec.Code)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %q: answer is not JSON: %s", path, body, rec.Body)
		}
	})
}

// noLoad refuses every bundle; the fuzzed gateway has none and fails closed.
func noLoad(context.Context, []byte) (*activation.Prepared, error) {
	return nil, activation.Reject(activation.ReasonInvalid, errors.New("no bundles in this test"))
}

// FuzzHumanRequests feeds arbitrary paths, query strings and Authorization
// headers to the authenticated GET routes of a real fixture (real issuer,
// policy and record): never a panic or a 5xx, and every refusal a JSON
// problem.
func FuzzHumanRequests(f *testing.F) {
	fx := newHumanFixture(f, false)
	for _, p := range []string{"sessions", "sessions/" + fx.pgID, "sessions/" + fx.sshID + "/asciicast", "audit/usage", "audit/verify", "audit/export", "bundle", "whoami"} {
		for _, q := range []string{"", "since=90d", "since=2026-01-01&until=2025-01-01", "limit=-1", "since=%zz", "agent=a&connection=app&limit=5", "since=9999999999d"} {
			for _, who := range []string{"auditor", "no role", "malformed", "agent session"} {
				f.Add(p, q, fx.tokens[who])
			}
		}
	}
	h := fx.srv.Config.Handler
	f.Fuzz(func(t *testing.T, path, query, auth string) {
		req, err := http.NewRequest(http.MethodGet, "http://gw/v1/"+path+"?"+query, nil)
		if err != nil {
			return
		}
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s?%s: status %d: %s", path, query, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s?%s: refusal is not JSON: %s", path, query, rec.Body)
		}
	})
}
