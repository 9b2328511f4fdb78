package gatewaytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/identity"
)

// Issuer is an OIDC provider served by httptest over TLS: real discovery,
// a real JWKS and real ES256-signed tokens. Verifiers reach it with
// Client().
type Issuer struct {
	Server *httptest.Server
	key    *ecdsa.PrivateKey
	kid    string
}

// NewIssuer starts an issuer that stops when the test ends.
func NewIssuer(t testing.TB) *Issuer {
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
	is := &Issuer{key: key, kid: kid}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": is.Server.URL, "jwks_uri": is.Server.URL + "/jwks",
			"authorization_endpoint": is.Server.URL + "/auth", "token_endpoint": is.Server.URL + "/token",
			"response_types_supported": []string{"id_token"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"ES256"},
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(jwks) })
	is.Server = httptest.NewTLSServer(mux)
	t.Cleanup(is.Server.Close)
	return is
}

// URL is the issuer identifier.
func (is *Issuer) URL() string { return is.Server.URL }

// Client trusts the issuer's certificate.
func (is *Issuer) Client() *http.Client { return is.Server.Client() }

// Token mints a token for subject with extra claims (such as "email").
func (is *Issuer) Token(t testing.TB, subject, audience string, ttl time.Duration, extra map[string]any) string {
	t.Helper()
	tok, err := identity.IssueToken(is.key, is.kid, is.Server.URL, subject, audience, ttl, extra)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Humans adds groups to p: "auditors" (member auditor@example.com, API
// role auditor), "admins" (admin@example.com, admin), "approvers"
// (approver@example.com, approver) and "staff" (staff@example.com, no
// API role).
func Humans(p *model.Policy) *model.Policy {
	if p.Groups == nil {
		p.Groups = map[string]*model.Group{}
	}
	add := func(name, member string, roles ...string) {
		p.Groups[name] = &model.Group{Name: name, Members: []string{member}, APIRoles: roles}
	}
	add("auditors", "auditor@example.com", "auditor")
	add("admins", "admin@example.com", "admin")
	add("approvers", "approver@example.com", "approver")
	add("staff", "staff@example.com")
	return p
}
