package identity

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
)

func b64(v any) string {
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	default:
		b, _ = json.Marshal(x)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// craft builds a token from a header, claims and signature without signing.
func craft(header, claims map[string]any, sig string) string {
	return b64(header) + "." + b64(claims) + "." + sig
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// hs256WithPublicKey signs claims with HMAC keyed by the issuer's public key
// bytes: the classic algorithm-confusion attack.
func hs256WithPublicKey(t testing.TB, kid string, claims map[string]any) string {
	der, _ := x509.MarshalPKIXPublicKey(&rsaKeys[0].PublicKey)
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: jose.JSONWebKey{Key: secret, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type verifyCase struct {
	name    string
	token   func(iss string) string
	wantErr string // substring; "" = accepted
}

func verifyCases(t testing.TB) []verifyCase {
	rsaKid, ecKid := "rsa-1", "ec-1"
	good := func(iss string) map[string]any {
		return with(std(iss, "repo:acme/app:ref:refs/heads/main"), "email", "ci@example.com")
	}
	now := time.Now()
	return []verifyCase{
		{"RS256 valid", func(iss string) string { return sign(t, rsaKeys[0], rsaKid, good(iss)) }, ""},
		{"ES256 valid", func(iss string) string { return sign(t, ecKeys[0], ecKid, good(iss)) }, ""},
		{"audience list", func(iss string) string {
			return sign(t, ecKeys[0], ecKid, with(good(iss), "aud", []string{"other", "mandate"}))
		}, ""},
		{"nbf within leeway", func(iss string) string {
			return sign(t, ecKeys[0], ecKid, with(good(iss), "nbf", now.Add(10*time.Second).Unix()))
		}, ""},
		{"alg none", func(iss string) string {
			return craft(map[string]any{"alg": "none", "typ": "JWT"}, good(iss), "")
		}, "empty header, payload or signature"},
		{"alg none with signature", func(iss string) string {
			return craft(map[string]any{"alg": "none"}, good(iss), "AAAA")
		}, "unsigned token"},
		{"alg NoNe", func(iss string) string { return craft(map[string]any{"alg": "NoNe"}, good(iss), "AAAA") }, "unsigned token"},
		{"HS256 keyed with the public key", func(iss string) string { return hs256WithPublicKey(t, rsaKid, good(iss)) }, `algorithm "HS256" is not accepted`},
		{"unknown algorithm", func(iss string) string {
			return craft(map[string]any{"alg": "XX256", "kid": rsaKid}, good(iss), "AAAA")
		}, `algorithm "XX256" is not accepted`},
		{"kid of another key", func(iss string) string { return sign(t, ecKeys[1], ecKid, good(iss)) }, "verif"},
		{"kid of an RSA key on an ES256 token", func(iss string) string { return sign(t, ecKeys[0], rsaKid, good(iss)) }, "verif"},
		{"unknown kid", func(iss string) string { return sign(t, ecKeys[0], "nobody", good(iss)) }, "verif"},
		{"signed by an unpublished key, no kid", func(iss string) string { return sign(t, rsaKeys[2], "", good(iss)) }, "verif"},
		{"other issuer", func(iss string) string {
			return sign(t, ecKeys[0], ecKid, with(good(iss), "iss", "https://evil.example.com"))
		}, "issuer not configured"},
		{"expired", func(iss string) string {
			return sign(t, ecKeys[0], ecKid, with(good(iss), "exp", now.Add(-time.Minute).Unix(), "iat", now.Add(-time.Hour).Unix(), "nbf", now.Add(-time.Hour).Unix()))
		}, "expired"},
		{"not yet valid", func(iss string) string {
			return sign(t, ecKeys[0], ecKid, with(good(iss), "nbf", now.Add(2*time.Minute).Unix()))
		}, "not valid before"},
		{"wrong audience", func(iss string) string { return sign(t, ecKeys[0], ecKid, with(good(iss), "aud", "someone-else")) }, "audience"},
		{"no audience", func(iss string) string { return sign(t, ecKeys[0], ecKid, with(good(iss), "aud", nil)) }, "audience"},
		{"no expiry", func(iss string) string { return sign(t, ecKeys[0], ecKid, with(good(iss), "exp", nil)) }, "expir"},
		{"no subject", func(iss string) string { return sign(t, ecKeys[0], ecKid, with(good(iss), "sub", nil)) }, "no subject"},
		{"subject not a string", func(iss string) string { return sign(t, ecKeys[0], ecKid, with(good(iss), "sub", 42)) }, "sub"},
		{"exp not a number", func(iss string) string { return sign(t, ecKeys[0], ecKid, with(good(iss), "exp", "tomorrow")) }, ""},
		{"tampered payload", func(iss string) string {
			tok := sign(t, ecKeys[0], ecKid, good(iss))
			parts := strings.Split(tok, ".")
			return parts[0] + "." + b64(with(good(iss), "sub", "admin")) + "." + parts[2]
		}, "verif"},
		{"tampered signature", func(iss string) string {
			tok := sign(t, rsaKeys[0], rsaKid, good(iss))
			return tok[:len(tok)-4] + "AAAA"
		}, "verif"},
		{"critical header", func(iss string) string {
			return craft(map[string]any{"alg": "ES256", "kid": ecKid, "crit": []string{"exp"}}, good(iss), "AAAA")
		}, "critical"},
		{"embedded jwk", func(iss string) string {
			return craft(map[string]any{"alg": "ES256", "jwk": map[string]any{"kty": "EC"}}, good(iss), "AAAA")
		}, "naming their own key"},
		{"jku header", func(iss string) string {
			return craft(map[string]any{"alg": "RS256", "jku": "https://evil.example.com/jwks"}, good(iss), "AAAA")
		}, "naming their own key"},
		{"empty", func(string) string { return "" }, "empty token"},
		{"two parts", func(iss string) string { return b64(map[string]any{"alg": "ES256"}) + "." + b64(good(iss)) }, "3 parts"},
		{"four parts", func(iss string) string { return sign(t, ecKeys[0], ecKid, good(iss)) + ".AAAA" }, "3 parts"},
		{"JSON serialization", func(iss string) string { return `{"payload":"e30","signatures":[]}` }, "not a compact JWS"},
		{"whitespace", func(iss string) string { return " " + sign(t, ecKeys[0], ecKid, good(iss)) }, "not a compact JWS"},
		{"padding", func(iss string) string { return sign(t, ecKeys[0], ecKid, good(iss)) + "=" }, "not a compact JWS"},
		{"header not JSON", func(iss string) string { return b64("not json") + "." + b64(good(iss)) + ".AAAA" }, "decoding header"},
		{"payload not JSON", func(iss string) string { return b64(map[string]any{"alg": "ES256"}) + "." + b64("[1,2") + ".AAAA" }, "decoding payload"},
		{"header not base64", func(iss string) string { return "e!." + b64(good(iss)) + ".AAAA" }, "not a compact JWS"},
		{"issuer not a string", func(iss string) string { return sign(t, ecKeys[0], ecKid, with(good(iss), "iss", 7)) }, "no issuer"},
		{"oversized", func(iss string) string {
			return sign(t, ecKeys[0], ecKid, with(good(iss), "pad", strings.Repeat("x", MaxTokenBytes)))
		}, "more than"},
	}
}

func checkVerify(t *testing.T, v *Verifier, iss string, cases []verifyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), tc.token(iss))
			if tc.name == "exp not a number" {
				if err == nil {
					t.Fatal("accepted a token whose exp is a string")
				}
				return
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if c.Issuer != iss || c.Subject != "repo:acme/app:ref:refs/heads/main" || c.Email != "ci@example.com" {
					t.Errorf("claims = %+v", c)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want error containing %q", tc.wantErr)
			}
			if !errors.Is(err, ErrRejected) {
				t.Errorf("error %v does not wrap ErrRejected", err)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestVerifyDiscovery(t *testing.T) {
	ti := newTestIssuer(t)
	ti.publish("rsa-1", rsaKeys[0])
	ti.publish("ec-1", ecKeys[0])
	v := ti.verifier(t, Options{})
	checkVerify(t, v, ti.URL(), verifyCases(t))
}

func TestVerifyStaticJWKS(t *testing.T) {
	testKeys(t)
	const iss = "https://mandate.local"
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &rsaKeys[0].PublicKey, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
		{Key: &ecKeys[0].PublicKey, KeyID: "ec-1", Use: "sig"},
	}}
	b, _ := json.Marshal(set)
	v, err := NewVerifier([]IssuerConfig{{Name: "local", URL: iss, Audience: "mandate", JWKS: b}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkVerify(t, v, iss, verifyCases(t))
}

func TestClaimsDecoding(t *testing.T) {
	testKeys(t)
	const iss = "https://mandate.local"
	b, _ := JWKS(&ecKeys[0].PublicKey, "k")
	v, err := NewVerifier([]IssuerConfig{{Name: "local", URL: iss, Audience: "mandate", JWKS: b}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, ecKeys[0], "k", with(std(iss, "alice"), "email", "alice@example.com", "email_verified", false, "groups", []string{"oncall"}))
	c, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Email != "" {
		t.Errorf("unverified email kept: %q", c.Email)
	}
	if diff := cmp.Diff([]any{"oncall"}, c.Raw["groups"]); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff([]string{"mandate"}, c.Audience); diff != "" {
		t.Error(diff)
	}
}
