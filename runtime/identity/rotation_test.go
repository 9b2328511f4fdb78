package identity

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestKeyRotation rotates the issuer's signing key: a token signed with the
// new key verifies once the verifier refreshes the JWKS (it refetches on an
// unknown kid), and a token of the withdrawn key is rejected afterwards even
// though it has not expired.
func TestKeyRotation(t *testing.T) {
	ti := newTestIssuer(t)
	ti.publish("2026-01", rsaKeys[0])
	v := ti.verifier(t, Options{})
	ctx := context.Background()

	old := sign(t, rsaKeys[0], "2026-01", std(ti.URL(), "agent"))
	if _, err := v.Verify(ctx, old); err != nil {
		t.Fatalf("token of the first key: %v", err)
	}
	hits := ti.hits.Load()
	if _, err := v.Verify(ctx, old); err != nil {
		t.Fatal(err)
	}
	if got := ti.hits.Load(); got != hits {
		t.Errorf("JWKS fetched again for a cached key (%d -> %d)", hits, got)
	}

	// Rotate: publish the new key, withdraw the old one.
	ti.publish("2026-02", ecKeys[1])
	ti.withdraw("2026-01")
	fresh := sign(t, ecKeys[1], "2026-02", std(ti.URL(), "agent"))
	if _, err := v.Verify(ctx, fresh); err != nil {
		t.Fatalf("token of the rotated-in key: %v", err)
	}
	if ti.hits.Load() == hits {
		t.Error("the verifier did not refresh the JWKS on an unknown kid")
	}
	if _, err := v.Verify(ctx, old); err == nil {
		t.Fatal("token of the withdrawn key still verifies")
	}
	// A token claiming the new kid but signed with the old key.
	forged := sign(t, rsaKeys[0], "2026-02", std(ti.URL(), "agent"))
	if _, err := v.Verify(ctx, forged); err == nil {
		t.Fatal("old key accepted under the new kid")
	}
}

func TestDiscoveryUnavailable(t *testing.T) {
	ti := newTestIssuer(t)
	ti.publish("k", ecKeys[0])
	tok := sign(t, ecKeys[0], "k", std(ti.URL(), "agent"))
	v := ti.verifier(t, Options{})
	ti.srv.Close()
	_, err := v.Verify(context.Background(), tok)
	if !errors.Is(err, ErrIssuerUnavailable) || !errors.Is(err, ErrRejected) {
		t.Fatalf("err = %v, want ErrIssuerUnavailable and ErrRejected", err)
	}
}

func TestDiscoveryIssuerMismatch(t *testing.T) {
	ti := newTestIssuer(t)
	ti.publish("k", ecKeys[0])
	// The discovery document says its issuer is ti.URL(); configuring the
	// issuer with a trailing slash must not be accepted as the same issuer.
	v, err := NewVerifier([]IssuerConfig{{Name: "x", URL: ti.URL() + "/", Audience: "mandate"}}, Options{HTTPClient: ti.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, ecKeys[0], "k", std(ti.URL()+"/", "agent"))
	if _, err := v.Verify(context.Background(), tok); err == nil {
		t.Fatal("accepted a token from an issuer whose discovery names another issuer")
	}
}

func TestParseJWKS(t *testing.T) {
	testKeys(t)
	pub, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &ecKeys[0].PublicKey, KeyID: "a"}}})
	priv, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: ecKeys[0], KeyID: "a"}}})
	oct, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "h", Algorithm: "HS256"}}})
	enc, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &ecKeys[0].PublicKey, KeyID: "e", Use: "enc"}}})
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"public", string(pub), ""},
		{"private reduced to public", string(priv), ""},
		{"symmetric", string(oct), "symmetric"},
		{"only encryption keys", string(enc), "no signing key"},
		{"empty", `{"keys":[]}`, "no signing key"},
		{"not json", `keys`, "decoding JWKS"},
		{"bad key", `{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`, "decoding JWKS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ks, err := parseJWKS([]byte(tc.in))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range ks.keys {
					if !k.IsPublic() {
						t.Error("private key kept")
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestKeySetRejectsHMAC checks the key set itself, below the header checks.
func TestKeySetRejectsHMAC(t *testing.T) {
	testKeys(t)
	b, _ := JWKS(&rsaKeys[0].PublicKey, "rsa-1")
	ks, err := parseJWKS(b)
	if err != nil {
		t.Fatal(err)
	}
	tok := hs256WithPublicKey(t, "rsa-1", std("https://mandate.local", "agent"))
	if _, err := ks.VerifySignature(context.Background(), tok); err == nil {
		t.Fatal("HS256 token verified by an RSA key set")
	}
}

func TestIssuerResponseLimit(t *testing.T) {
	tests := []struct {
		size    int
		wantErr bool
	}{{MaxIssuerResponse, false}, {MaxIssuerResponse + 1, true}, {10, false}}
	for _, tc := range tests {
		lb := &limitBody{rc: io.NopCloser(strings.NewReader(strings.Repeat(" ", tc.size))), left: MaxIssuerResponse}
		_, err := io.ReadAll(lb)
		if (err != nil) != tc.wantErr {
			t.Errorf("size %d: err = %v, wantErr %v", tc.size, err, tc.wantErr)
		}
	}
}

// TestCrossIssuer configures two discovery issuers: a token signed by B's
// key (with B's kid) that claims to come from A is rejected, and each
// issuer's own tokens verify.
func TestCrossIssuer(t *testing.T) {
	a, b := newTestIssuer(t), newTestIssuer(t)
	a.publish("a-1", ecKeys[0])
	b.publish("b-1", ecKeys[1])
	// Both servers use the same httptest CA setup; trust both certificates.
	client := a.srv.Client()
	client.Transport.(*http.Transport).TLSClientConfig.RootCAs.AddCert(b.srv.Certificate())
	v, err := NewVerifier([]IssuerConfig{
		{Name: "a", URL: a.URL(), Audience: "mandate"},
		{Name: "b", URL: b.URL(), Audience: "mandate"},
	}, Options{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := v.Verify(ctx, sign(t, ecKeys[0], "a-1", std(a.URL(), "x"))); err != nil {
		t.Fatalf("A's token: %v", err)
	}
	if _, err := v.Verify(ctx, sign(t, ecKeys[1], "b-1", std(b.URL(), "x"))); err != nil {
		t.Fatalf("B's token: %v", err)
	}
	if _, err := v.Verify(ctx, sign(t, ecKeys[1], "b-1", std(a.URL(), "x"))); err == nil {
		t.Fatal("B's key accepted for issuer A")
	}
	if _, err := v.Verify(ctx, sign(t, ecKeys[1], "a-1", std(a.URL(), "x"))); err == nil {
		t.Fatal("B's key accepted under A's kid")
	}
}
