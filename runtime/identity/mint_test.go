package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIssueTokenRoundTrip mints tokens with each key type, publishes the
// JWKS in a file and verifies them through a static-JWKS issuer.
func TestIssueTokenRoundTrip(t *testing.T) {
	testKeys(t)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	const iss = "https://mandate.local"
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		alg  string
	}{{"RS256", rsaKeys[1], "RS256"}, {"ES256", ecKeys[2], "ES256"}, {"ES384", p384, "ES384"}, {"EdDSA", edKey, "EdDSA"}} {
		t.Run(tc.name, func(t *testing.T) {
			jwks, err := JWKS(tc.key.Public(), "")
			if err != nil {
				t.Fatal(err)
			}
			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(jwks, &set); err != nil {
				t.Fatal(err)
			}
			kid, _ := KeyID(tc.key.Public())
			if len(set.Keys) != 1 || set.Keys[0]["kid"] != kid || set.Keys[0]["alg"] != tc.alg || set.Keys[0]["use"] != "sig" {
				t.Fatalf("JWKS = %s", jwks)
			}
			if _, ok := set.Keys[0]["d"]; ok {
				t.Fatal("JWKS holds private material")
			}
			path := filepath.Join(t.TempDir(), "issuer.jwks")
			if err := os.WriteFile(path, jwks, 0o600); err != nil {
				t.Fatal(err)
			}
			v, err := NewVerifier([]IssuerConfig{{Name: "local", URL: iss, Audience: "mandate", JWKSFile: path}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := IssueToken(tc.key, "", iss, "bot", "mandate", 10*time.Minute, map[string]any{"groups": []string{"bots"}})
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.Verify(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject != "bot" || c.Raw["groups"].([]any)[0] != "bots" || c.Raw["jti"] == "" {
				t.Errorf("claims = %+v", c)
			}
			if d := time.Until(c.Expiry); d < 9*time.Minute || d > 10*time.Minute {
				t.Errorf("expiry in %v, want about 10m", d)
			}
		})
	}
}

func TestIssueTokenErrors(t *testing.T) {
	testKeys(t)
	if _, err := IssueToken(ecKeys[0], "", "", "s", "a", time.Minute, nil); err == nil {
		t.Error("missing issuer accepted")
	}
	if _, err := IssueToken(ecKeys[0], "", "i", "s", "a", 0, nil); err == nil {
		t.Error("zero ttl accepted")
	}
	if _, err := IssueToken(ecKeys[0], "", "i", "s", "a", time.Minute, map[string]any{"exp": 1}); err == nil || !strings.Contains(err.Error(), `"exp"`) {
		t.Errorf("overriding exp: err = %v", err)
	}
}

func TestKeyIDAndPEM(t *testing.T) {
	testKeys(t)
	kid, err := KeyID(&ecKeys[0].PublicKey)
	if err != nil || len(kid) != 16 {
		t.Fatalf("KeyID = %q, %v", kid, err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(ecKeys[0])
	sec1, _ := x509.MarshalECPrivateKey(ecKeys[0])
	pkcs1 := x509.MarshalPKCS1PrivateKey(rsaKeys[0])
	pubDER, _ := x509.MarshalPKIXPublicKey(&ecKeys[0].PublicKey)
	for _, tc := range []struct {
		typ string
		der []byte
		ok  bool
	}{{"PRIVATE KEY", der, true}, {"EC PRIVATE KEY", sec1, true}, {"RSA PRIVATE KEY", pkcs1, true}, {"PUBLIC KEY", pubDER, false}, {"PRIVATE KEY", []byte("junk"), false}} {
		k, err := ParsePrivateKeyPEM(pem.EncodeToMemory(&pem.Block{Type: tc.typ, Bytes: tc.der}))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v", tc.typ, err)
		}
		if err == nil && k.Public() == nil {
			t.Errorf("%s: no public key", tc.typ)
		}
	}
	pub, err := ParsePublicKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	if err != nil {
		t.Fatal(err)
	}
	if k2, _ := KeyID(pub); k2 != kid {
		t.Errorf("KeyID of the parsed key %q != %q", k2, kid)
	}
	if _, err := ParsePrivateKeyPEM([]byte("no pem")); err == nil {
		t.Error("non-PEM accepted")
	}
}
