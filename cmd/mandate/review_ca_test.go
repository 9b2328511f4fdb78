package main

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReviewUsageFromGatewayWithCA reads usage from an HTTPS gateway whose
// certificate is self-signed: trusted with --ca, refused without it.
func TestReviewUsageFromGatewayWithCA(t *testing.T) {
	dir := t.TempDir()
	usage, key := reviewUsage(t, dir)
	body, err := os.ReadFile(usage)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/audit/usage" || r.Header.Get("Authorization") != "Bearer auditor-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	ca := filepath.Join(dir, "gateway.crt")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join("..", "..", "review", "testdata", "repo")
	base := []string{"review", "--policy", policy, "--usage", srv.URL, "--usage-key", key, "--token", "auditor-token", "--date", "2026-11-26", "--dry-run"}

	out, code := execReview(t, append(base, "--ca", ca)...)
	if code != 0 || !strings.Contains(out, "order_reader") {
		t.Fatalf("with --ca: exit %d: %s", code, out)
	}
	out, code = execReview(t, base...)
	if code == 0 || !strings.Contains(out, "certificate") {
		t.Fatalf("without --ca: exit %d, want a certificate error: %s", code, out)
	}
}
