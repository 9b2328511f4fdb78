package identity

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// staticVerifier trusts "https://mandate.local" with ecKeys[0] under kid "k".
func staticVerifier(t testing.TB, opts Options) *Verifier {
	t.Helper()
	testKeys(t)
	jwks, err := JWKS(&ecKeys[0].PublicKey, "k")
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier([]IssuerConfig{{Name: "local", URL: "https://mandate.local", Audience: "mandate", JWKS: jwks}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVerifyCache verifies a token, moves the clock, and verifies it again:
// the second answer comes from the cache only while the token is still
// valid at the new time.
func TestVerifyCache(t *testing.T) {
	const iss = "https://mandate.local"
	tests := []struct {
		name    string
		claims  func(now time.Time) map[string]any
		move    time.Duration
		wantErr string // "" = accepted
		cached  bool   // the second answer came from the cache
	}{
		{"hit", func(time.Time) map[string]any { return std(iss, "bot") }, time.Minute, "", true},
		{"expired while cached", func(now time.Time) map[string]any {
			return with(std(iss, "bot"), "exp", now.Add(time.Minute).Unix())
		}, time.Minute + time.Second, "expired", false},
		{"past the cache's max age", func(time.Time) map[string]any { return std(iss, "bot") }, CacheMaxAge, "", false},
		{"clock moved before nbf", func(time.Time) map[string]any { return std(iss, "bot") }, -2 * NotBeforeLeeway, "not valid before", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newTestClock()
			v := staticVerifier(t, Options{Now: clk.now})
			tok := sign(t, ecKeys[0], "k", tc.claims(clk.now()))
			first, err := v.Verify(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			first.Subject = "changed by a caller"
			clk.advance(tc.move)
			key, _ := cacheKey(tok)
			_, hit := v.cache.get(key, clk.now())
			if hit != tc.cached {
				t.Errorf("cache hit = %v, want %v", hit, tc.cached)
			}
			c, err := v.Verify(context.Background(), tok)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if v.cache.len() != 0 {
					t.Error("a refused token stayed in the cache")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject != "bot" {
				t.Errorf("subject = %q: the cache shares its claims with callers", c.Subject)
			}
		})
	}
}

func TestVerifyCacheKeepsNoFailure(t *testing.T) {
	const iss = "https://mandate.local"
	v := staticVerifier(t, Options{})
	bad := []string{
		sign(t, ecKeys[0], "k", with(std(iss, "bot"), "aud", "other")),
		sign(t, ecKeys[1], "k", std(iss, "bot")),
		sign(t, ecKeys[0], "k", with(std(iss, "bot"), "sub", nil)),
	}
	for _, tok := range bad {
		for range 2 {
			if _, err := v.Verify(context.Background(), tok); err == nil {
				t.Fatal("a bad token verified")
			}
		}
	}
	if n := v.cache.len(); n != 0 {
		t.Fatalf("%d failures cached", n)
	}
}

func TestVerifyCacheBounded(t *testing.T) {
	const iss = "https://mandate.local"
	clk := newTestClock()
	v := staticVerifier(t, Options{Now: clk.now, CacheSize: 4})
	toks := make([]string, 20)
	for i := range toks {
		claims := std(iss, fmt.Sprint("bot-", i))
		if i%2 == 0 { // half expire soon, so eviction finds expired entries
			claims["exp"] = clk.now().Add(time.Minute).Unix()
		}
		toks[i] = sign(t, ecKeys[0], "k", claims)
	}
	for round := range 2 {
		for i, tok := range toks {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				t.Fatalf("round %d, token %d: %v", round, i, err)
			}
			if n := v.cache.len(); n > 4 {
				t.Fatalf("cache holds %d tokens, more than its size 4", n)
			}
		}
	}
	clk.advance(2 * time.Minute)
	for i := 1; i < len(toks); i += 2 {
		if _, err := v.Verify(context.Background(), toks[i]); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	for _, e := range v.cache.entries {
		if !clk.now().Before(e.until) {
			t.Error("an expired entry survived eviction by live ones")
		}
	}
}

func TestVerifyCacheOff(t *testing.T) {
	v := staticVerifier(t, Options{CacheSize: -1})
	if v.cache != nil {
		t.Fatal("cache on with CacheSize -1")
	}
	tok := sign(t, ecKeys[0], "k", std("https://mandate.local", "bot"))
	for range 2 {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
}

// TestVerifyCacheAfterRefetch: a refetch of the issuer's keys sends every
// cached token of that issuer through verification again, so a withdrawn
// key's token stops verifying at once.
func TestVerifyCacheAfterRefetch(t *testing.T) {
	ti := newTestIssuer(t)
	ti.publish("k1", ecKeys[0])
	clk := newTestClock()
	v := ti.verifier(t, Options{Now: clk.now})
	ctx := context.Background()
	old := sign(t, ecKeys[0], "k1", std(ti.URL(), "agent"))
	for range 2 {
		if _, err := v.Verify(ctx, old); err != nil {
			t.Fatal(err)
		}
	}
	ti.withdraw("k1")
	ti.publish("k2", ecKeys[1])
	clk.advance(KeyRefetchInterval)
	if _, err := v.Verify(ctx, sign(t, ecKeys[1], "k2", std(ti.URL(), "agent"))); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, old); err == nil {
		t.Fatal("a cached token of a withdrawn key still verifies after the refetch")
	}
}

func TestAuthenticateUsesCache(t *testing.T) {
	testKeys(t)
	sessions := newSessions(t, ecKeys[2], nil)
	v := staticVerifier(t, Options{Sessions: sessions})
	tok := sign(t, ecKeys[0], "k", std("https://mandate.local", "bot"))
	if _, err := v.Authenticate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if n := v.cache.len(); n != 1 {
		t.Fatalf("cache holds %d tokens after Authenticate, want 1", n)
	}
	if _, err := v.Authenticate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
}
