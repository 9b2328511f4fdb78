package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Keys are expensive to generate (RSA); tests share a few.
var (
	keyOnce sync.Once
	rsaKeys [3]*rsa.PrivateKey
	ecKeys  [3]*ecdsa.PrivateKey
)

func testKeys(t testing.TB) {
	t.Helper()
	keyOnce.Do(func() {
		for i := range rsaKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys[i] = k
			e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				panic(err)
			}
			ecKeys[i] = e
		}
	})
}

// testIssuer is an OIDC issuer served by httptest over TLS: a real discovery
// document and a JWKS whose keys the test can rotate.
type testIssuer struct {
	t     testing.TB
	srv   *httptest.Server
	mu    sync.Mutex
	keys  map[string]crypto.Signer // kid -> key, as published
	order []string
	hits  atomic.Int32 // JWKS fetches
	// down makes the JWKS endpoint answer 503.
	down atomic.Bool
}

func newTestIssuer(t testing.TB) *testIssuer {
	t.Helper()
	testKeys(t)
	ti := &testIssuer{t: t, keys: map[string]crypto.Signer{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                ti.URL(),
			"authorization_endpoint":                ti.URL() + "/authorize",
			"token_endpoint":                        ti.URL() + "/token",
			"jwks_uri":                              ti.URL() + "/jwks",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		ti.hits.Add(1)
		if ti.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		ti.mu.Lock()
		var set jose.JSONWebKeySet
		for _, kid := range ti.order {
			k := ti.keys[kid]
			alg, _ := AlgorithmFor(k.Public())
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Public(), KeyID: kid, Algorithm: alg, Use: "sig"})
		}
		ti.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	})
	ti.srv = httptest.NewTLSServer(mux)
	t.Cleanup(ti.srv.Close)
	return ti
}

func (ti *testIssuer) URL() string { return ti.srv.URL }

// publish adds key to the JWKS under kid.
func (ti *testIssuer) publish(kid string, key crypto.Signer) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	if _, ok := ti.keys[kid]; !ok {
		ti.order = append(ti.order, kid)
	}
	ti.keys[kid] = key
}

// withdraw removes kid from the JWKS.
func (ti *testIssuer) withdraw(kid string) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	delete(ti.keys, kid)
	for i, k := range ti.order {
		if k == kid {
			ti.order = append(ti.order[:i], ti.order[i+1:]...)
			break
		}
	}
}

// verifier returns a Verifier trusting this issuer with audience "mandate".
func (ti *testIssuer) verifier(t testing.TB, opts Options) *Verifier {
	t.Helper()
	opts.HTTPClient = ti.srv.Client()
	v, err := NewVerifier([]IssuerConfig{{Name: "test", URL: ti.URL(), Audience: "mandate"}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// std returns standard claims valid for ten minutes.
func std(iss, sub string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": iss, "sub": sub, "aud": "mandate",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}
}

// sign signs claims with key under kid (alg from the key).
func sign(t testing.TB, key crypto.Signer, kid string, claims map[string]any) string {
	t.Helper()
	sig, err := signerFor(key, kid)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// testClock is a clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Now()} }

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
