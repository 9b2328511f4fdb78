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

	jose "github.com/go-jose/go-jose/v4"

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

// Sign signs payload, the token's claims as raw JSON bytes, with the
// issuer's key (ES256, its kid) and returns the compact token. Tests use it
// for payloads IssueToken cannot express: duplicated or case-varied claim
// names, another issuer's iss.
func (is *Issuer) Sign(t testing.TB, payload []byte) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: is.key, KeyID: is.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := sig.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// PublicJWK is the issuer's public key as a JWK (JSON), the bytes an
// attacker might use as an HMAC secret.
func (is *Issuer) PublicJWK(t testing.TB) []byte {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: &is.key.PublicKey, KeyID: is.kid, Algorithm: "ES256", Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// KeyID is the kid of the issuer's signing key.
func (is *Issuer) KeyID() string { return is.kid }
