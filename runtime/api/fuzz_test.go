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
	h := api.New(api.Deps{Bundles: m, Logger: log})
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
