package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mandatehq/mandate/runtime/config"
	"github.com/mandatehq/mandate/runtime/gateway"
	gt "github.com/mandatehq/mandate/runtime/gateway/gatewaytest"
)

// explainGateway starts a real gateway (HTTPS with its self-signed
// certificate) whose policy has agent "a" and the gatewaytest.Humans
// groups, and an httptest OIDC issuer those humans' tokens come from.
func explainGateway(t *testing.T) (url, ca string, is *gt.Issuer) {
	t.Helper()
	dir := t.TempDir()
	is = gt.NewIssuer(t)
	s := gt.NewSigner(t)
	s.WritePublic(t, dir, "keys/bundle.pub")
	if err := os.WriteFile(filepath.Join(dir, "bundle.tar.gz"), s.Bundle(t, gt.Humans(gt.PolicyFor(is.URL(), "a")), gt.Rev(5), gt.Time(5)), 0o644); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`
listen { api = "127.0.0.1:0" }
bundle {
  source           = "file://bundle.tar.gz"
  verification_key = "keys/bundle.pub"
}
issuer "test" {
  url      = %q
  audience = "mandate"
}
`, is.URL())
	p := filepath.Join(dir, "gateway.hcl")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(p)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	g, err := gateway.New(cfg, gateway.Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), HTTPClient: is.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Shutdown(context.Background()) })
	for deadline := time.Now().Add(20 * time.Second); !g.Manager().Status().Ready; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("gateway never became ready")
		}
	}
	return "https://" + g.APIAddr().String(), g.CertPath(), is
}

func TestExplainGateway(t *testing.T) {
	url, ca, is := explainGateway(t)
	human := func(email string) string {
		return is.Token(t, "user:"+email, "mandate", 10*time.Minute, map[string]any{"email": email})
	}
	auditor := human("auditor@example.com")
	q := []string{"--agent", "a", "--connection", "app"}
	for _, tc := range []struct {
		name     string
		args     []string
		env      string
		code     int
		contains []string
	}{
		{"allow", append([]string{"explain", "--gateway", url, "--ca", ca, "--token", auditor, "--sql", "select id from orders"}, q...), "",
			0, []string{"ALLOW", "decided by: roles.hcl:3:3", "policy revision " + gt.Rev(5)}},
		{"deny json", append([]string{"explain", "--gateway", url, "--ca", ca, "--token", auditor, "--sql", "delete from orders", "--format", "json"}, q...), "",
			1, []string{`"result": "deny"`, `"kind": "postgres"`}},
		{"several statements", append([]string{"explain", "--gateway", url, "--ca", ca, "--token", auditor, "--sql", "select 1 from orders; delete from orders"}, q...), "",
			1, []string{"ALLOW", "DENY"}},
		{"session", append([]string{"explain", "--gateway", url, "--ca", ca, "--token", auditor, "--session"}, q...), "",
			0, []string{"ALLOW"}},
		{"token from env", append([]string{"explain", "--gateway", url, "--ca", ca, "--sql", "select id from orders"}, q...), auditor,
			0, []string{"ALLOW"}},
		{"no token", append([]string{"explain", "--gateway", url, "--ca", ca, "--sql", "select 1"}, q...), "",
			1, []string{"401", "Authorization: Bearer"}},
		{"human without role", append([]string{"explain", "--gateway", url, "--ca", ca, "--token", human("staff@example.com"), "--sql", "select 1"}, q...), "",
			1, []string{"403", "needs any API role"}},
		{"untrusted certificate", append([]string{"explain", "--gateway", url, "--token", auditor, "--sql", "select 1"}, q...), "",
			1, []string{"certificate"}},
		{"missing ca file", append([]string{"explain", "--gateway", url, "--ca", filepath.Join(t.TempDir(), "none.crt"), "--sql", "select 1"}, q...), "",
			2, []string{"--ca"}},
		{"gateway and dir", append([]string{"explain", "somedir", "--gateway", url, "--sql", "select 1"}, q...), "",
			2, []string{"not both"}},
		{"neither", append([]string{"explain", "--sql", "select 1"}, q...), "",
			2, []string{"--gateway URL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(TokenEnv, tc.env)
			out, code := runBundleCmd(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code = %d, want %d; output:\n%s", code, tc.code, out)
			}
			for _, w := range tc.contains {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
