package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkHumanRequest measures an authenticated request end to end in
// the handler: bearer parsing, OIDC verification of a real ES256 token
// (keys cached), group and role lookup, and GET /v1/whoami.
func BenchmarkHumanRequest(b *testing.B) {
	fx := newHumanFixture(b, false)
	h := fx.srv.Config.Handler
	auth := fx.tokens["auditor"]
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodGet, "/v1/whoami", nil)
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkUsageRoute measures GET /v1/audit/usage over the fixture's
// small record, signed with ed25519.
func BenchmarkUsageRoute(b *testing.B) {
	fx := newHumanFixture(b, false)
	h := fx.srv.Config.Handler
	auth := fx.tokens["auditor"]
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodGet, "/v1/audit/usage?since=1d", nil)
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
