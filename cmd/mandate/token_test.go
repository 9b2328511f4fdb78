package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mandatehq/mandate/runtime/identity"
)

func runTokenCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestTokenIssue(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "issuer.key")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	const iss = "https://mandate.local"
	out, err := runTokenCmd(t, "token", "issue", "--key", keyPath, "--issuer", iss, "--subject", "bot",
		"--audience", "mandate", "--ttl", "5m", "--claim", "groups=a", "--claim", "groups=b", "--claim", "env=prod")
	if err != nil {
		t.Fatalf("token issue: %v\n%s", err, out)
	}
	jwks, _ := identity.JWKS(&key.PublicKey, "")
	v, err := identity.NewVerifier([]identity.IssuerConfig{{Name: "local", URL: iss, Audience: "mandate", JWKS: jwks}}, identity.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(context.Background(), strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("verifying the issued token: %v", err)
	}
	if diff := cmp.Diff([]any{"a", "b"}, c.Raw["groups"]); diff != "" || c.Raw["env"] != "prod" || c.Subject != "bot" {
		t.Errorf("claims = %v %s", c.Raw, diff)
	}

	out, err = runTokenCmd(t, "token", "issue", "--key", keyPath, "--issuer", iss, "--subject", "bot", "--audience", "mandate", "--kid", "k1", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var j map[string]string
	if err := json.Unmarshal([]byte(out), &j); err != nil || j["kid"] != "k1" || j["token"] == "" || j["expires_at"] == "" {
		t.Errorf("json output %q: %v", out, err)
	}

	for _, args := range [][]string{
		{"token", "issue", "--key", keyPath},
		{"token", "issue", "--key", keyPath, "--issuer", iss, "--subject", "s", "--audience", "a", "--claim", "novalue"},
		{"token", "issue", "--key", keyPath, "--issuer", iss, "--subject", "s", "--audience", "a", "--format", "xml"},
	} {
		if _, err := runTokenCmd(t, args...); err == nil || !isUsageError(err) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
	if _, err := runTokenCmd(t, "token", "issue", "--key", filepath.Join(dir, "missing"), "--issuer", iss, "--subject", "s", "--audience", "a"); err == nil || isUsageError(err) {
		t.Errorf("missing key: err = %v, want a plain error", err)
	}
}
