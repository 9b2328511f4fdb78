package identity

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// verifyAll verifies toks from 8 goroutines and returns their errors in order.
func verifyAll(v *Verifier, toks []string) []error {
	errs := make([]error, len(toks))
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				_, errs[i] = v.Verify(context.Background(), toks[i])
			}
		})
	}
	for i := range toks {
		next <- i
	}
	close(next)
	wg.Wait()
	return errs
}

// TestKeyRefetchBounded sends tokens with made-up key ids: they are refused,
// and the issuer's JWKS is fetched at most once more for all of them. A
// legitimate rotation is picked up by the first token of the new key after
// the interval.
func TestKeyRefetchBounded(t *testing.T) {
	ti := newTestIssuer(t)
	ti.publish("k1", ecKeys[0])
	clk := newTestClock()
	v := ti.verifier(t, Options{Now: clk.now})
	ctx := context.Background()
	if _, err := v.Verify(ctx, sign(t, ecKeys[0], "k1", std(ti.URL(), "agent"))); err != nil {
		t.Fatal(err)
	}
	if got := ti.hits.Load(); got != 1 {
		t.Fatalf("%d JWKS fetches for the first token, want 1", got)
	}

	random := make([]string, 200)
	for i := range random {
		random[i] = sign(t, ecKeys[1], rand.Text(), std(ti.URL(), fmt.Sprint("agent-", i)))
	}
	for i, err := range verifyAll(v, random) {
		if err == nil || !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "is not in issuer test's key set; keys were refreshed") {
			t.Fatalf("token %d: err = %v, want a refusal naming the key set", i, err)
		}
	}
	if got := ti.hits.Load(); got > 2 {
		t.Fatalf("%d JWKS fetches after 200 tokens with random key ids, want at most 2", got)
	}
	t.Logf("%d JWKS fetches in all; the refusal reads: %v", ti.hits.Load(), verifyAll(v, random[:1])[0])

	// Neither a bad signature under a known kid nor a kid-less token of an
	// unknown key asks the issuer within the interval.
	hits := ti.hits.Load()
	forged := sign(t, ecKeys[1], "k1", std(ti.URL(), "agent"))
	noKid := sign(t, ecKeys[1], "", std(ti.URL(), "agent"))
	for _, err := range verifyAll(v, []string{forged, forged, noKid, noKid}) {
		if err == nil {
			t.Fatal("a token of an unpublished key verified")
		}
	}
	if got := ti.hits.Load(); got != hits {
		t.Fatalf("JWKS fetched %d more times for forged tokens", got-hits)
	}

	// Rotation inside the interval is refused without a fetch ...
	ti.publish("k2", ecKeys[1])
	fresh := make([]string, 20)
	for i := range fresh {
		fresh[i] = sign(t, ecKeys[1], "k2", std(ti.URL(), fmt.Sprint("rotated-", i)))
	}
	if _, err := v.Verify(ctx, fresh[0]); err == nil || !strings.Contains(err.Error(), `token key id "k2" is not in issuer test's key set`) {
		t.Fatalf("new key inside the interval: err = %v", err)
	}
	if got := ti.hits.Load(); got != hits {
		t.Fatalf("JWKS fetched inside the interval")
	}
	// ... and picked up after it, by one fetch however many tokens race.
	clk.advance(KeyRefetchInterval)
	for i, err := range verifyAll(v, fresh) {
		if err != nil {
			t.Fatalf("token %d of the rotated-in key: %v", i, err)
		}
	}
	if got := ti.hits.Load(); got != hits+1 {
		t.Fatalf("%d JWKS fetches for the rotation, want 1", got-hits)
	}
}

func TestKeyRefetchInterval(t *testing.T) {
	tests := []struct {
		interval, wait time.Duration
		wantOK         bool
	}{
		{30 * time.Second, 30 * time.Second, true},
		{30 * time.Second, 29 * time.Second, false},
		{time.Hour, time.Minute, false},
		{time.Second, time.Second, true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.interval, "/", tc.wait), func(t *testing.T) {
			defer func(d time.Duration) { KeyRefetchInterval = d }(KeyRefetchInterval)
			KeyRefetchInterval = tc.interval
			ti := newTestIssuer(t)
			ti.publish("k1", ecKeys[0])
			clk := newTestClock()
			v := ti.verifier(t, Options{Now: clk.now})
			ctx := context.Background()
			// The first unknown kid after the initial fetch refetches.
			if _, err := v.Verify(ctx, sign(t, ecKeys[1], "nobody", std(ti.URL(), "x"))); err == nil {
				t.Fatal("unknown key verified")
			}
			ti.publish("k2", ecKeys[1])
			clk.advance(tc.wait)
			_, err := v.Verify(ctx, sign(t, ecKeys[1], "k2", std(ti.URL(), "x")))
			if (err == nil) != tc.wantOK {
				t.Fatalf("after %s: err = %v, want ok %v", tc.wait, err, tc.wantOK)
			}
			want := int32(2) // the first fetch and the refetch for "nobody"
			if tc.wantOK {
				want = 3
			}
			if got := ti.hits.Load(); got != want {
				t.Errorf("%d JWKS fetches, want %d", got, want)
			}
		})
	}
}

// TestKeyFetchFailure: an issuer whose JWKS is down refuses tokens as
// unavailable and is asked again only after DiscoveryRetry; a failed refetch
// keeps the keys fetched before.
func TestKeyFetchFailure(t *testing.T) {
	ti := newTestIssuer(t)
	ti.publish("k1", ecKeys[0])
	clk := newTestClock()
	v := ti.verifier(t, Options{Now: clk.now})
	ctx := context.Background()
	tok := sign(t, ecKeys[0], "k1", std(ti.URL(), "agent"))

	ti.down.Store(true)
	for range 3 {
		if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrIssuerUnavailable) || !errors.Is(err, ErrRejected) {
			t.Fatalf("err = %v, want ErrIssuerUnavailable", err)
		}
	}
	if got := ti.hits.Load(); got != 1 {
		t.Fatalf("%d JWKS fetches while down, want 1 per DiscoveryRetry", got)
	}
	ti.down.Store(false)
	clk.advance(DiscoveryRetry)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("after the issuer came back: %v", err)
	}

	ti.down.Store(true)
	clk.advance(KeyRefetchInterval)
	_, err := v.Verify(ctx, sign(t, ecKeys[1], "k2", std(ti.URL(), "agent")))
	if err == nil || !strings.Contains(err.Error(), "refreshing the keys failed 0s ago") {
		t.Fatalf("unknown key while the JWKS is down: err = %v", err)
	}
	if _, err := v.Verify(ctx, sign(t, ecKeys[0], "k1", std(ti.URL(), "other"))); err != nil {
		t.Fatalf("a known key after a failed refetch: %v", err)
	}
}

// TestDecodeRemoteJWKS: an issuer's published set skips the keys that
// cannot verify a token, some of which a static file is refused for.
func TestDecodeRemoteJWKS(t *testing.T) {
	testKeys(t)
	key := func(k jose.JSONWebKey) string {
		b, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	good := key(jose.JSONWebKey{Key: &ecKeys[0].PublicKey, KeyID: "good", Use: "sig"})
	tests := []struct {
		name      string
		key       string
		strictErr bool // a static JWKS holding this key is refused
	}{
		{"symmetric", `{"kty":"oct","k":"MDEyMzQ1Njc4OWFiY2RlZg","kid":"h","alg":"HS256"}`, true},
		{"unknown key type", `{"kty":"XYZ","kid":"x"}`, true},
		{"bad point", `{"kty":"EC","crv":"P-256","kid":"p","x":"AA","y":"AA"}`, true},
		{"unsupported alg", key(jose.JSONWebKey{Key: &ecKeys[1].PublicKey, KeyID: "k", Algorithm: "ES256K"}), false},
		{"encryption key", key(jose.JSONWebKey{Key: &ecKeys[1].PublicKey, KeyID: "e", Use: "enc"}), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := []byte(`{"keys":[` + tc.key + `,` + good + `]}`)
			ks, err := decodeJWKS(b, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(ks.keys) != 1 || ks.keys[0].KeyID != "good" {
				t.Errorf("keys = %v, want only %q", ks.keys, "good")
			}
			if _, err := parseJWKS(b); (err != nil) != tc.strictErr {
				t.Errorf("static JWKS: err = %v, want error %v", err, tc.strictErr)
			}
			if _, err := decodeJWKS([]byte(`{"keys":[`+tc.key+`]}`), false); err == nil {
				t.Error("a set with no usable key was accepted")
			}
		})
	}
}
