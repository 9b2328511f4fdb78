package identity

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mandatehq/mandate/model"
)

// benchVerifier returns a verifier of a static issuer and a token of it
// signed with alg ("ES256" or "RS256").
func benchVerifier(b *testing.B, alg string, opts Options) (*Verifier, string) {
	testKeys(b)
	const iss = "https://mandate.local"
	var tok string
	var jwks []byte
	if alg == "ES256" {
		jwks, _ = JWKS(&ecKeys[0].PublicKey, "k")
		tok = sign(b, ecKeys[0], "k", std(iss, "bot"))
	} else {
		jwks, _ = JWKS(&rsaKeys[0].PublicKey, "k")
		tok = sign(b, rsaKeys[0], "k", std(iss, "bot"))
	}
	v, err := NewVerifier([]IssuerConfig{{Name: "local", URL: iss, Audience: "mandate", JWKS: jwks}}, opts)
	if err != nil {
		b.Fatal(err)
	}
	return v, tok
}

// benchVerify verifies tok in a loop and returns the time per verification.
func benchVerify(b *testing.B, v *Verifier, tok string) time.Duration {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
	}
	return b.Elapsed() / time.Duration(b.N)
}

// BenchmarkVerifyStatic measures full verification (the cache off).
func BenchmarkVerifyStatic(b *testing.B) {
	for _, alg := range []string{"ES256", "RS256"} {
		v, tok := benchVerifier(b, alg, Options{CacheSize: -1})
		b.Run(alg, func(b *testing.B) { benchVerify(b, v, tok) })
	}
}

// BenchmarkVerifyCache verifies the same token without and with the
// verified-token cache, in the same run; "cached" reports how many times
// faster it is than "uncached" as x-uncached.
func BenchmarkVerifyCache(b *testing.B) {
	for _, alg := range []string{"ES256", "RS256"} {
		var uncached time.Duration
		b.Run(alg+"/uncached", func(b *testing.B) {
			v, tok := benchVerifier(b, alg, Options{CacheSize: -1})
			uncached = benchVerify(b, v, tok)
		})
		b.Run(alg+"/cached", func(b *testing.B) {
			v, tok := benchVerifier(b, alg, Options{})
			if _, err := v.Verify(context.Background(), tok); err != nil {
				b.Fatal(err)
			}
			if per := benchVerify(b, v, tok); per > 0 && uncached > 0 {
				b.ReportMetric(float64(uncached)/float64(per), "x-uncached")
			}
		})
	}
}

// BenchmarkMatch matches a token against a policy of 10,000 agents, 100 of
// which share the token's issuer.
func BenchmarkMatch(b *testing.B) {
	p := &model.Policy{Agents: map[string]*model.Agent{}}
	for i := range 10000 {
		iss := fmt.Sprintf("https://issuer-%d.example.com", i%100)
		name := fmt.Sprintf("agent-%d", i)
		p.Agents[name] = &model.Agent{Name: name, Identities: []*model.Identity{
			{Issuer: iss, Subject: "sub-" + name, Claims: map[string]string{"repository": "acme/" + name}},
		}}
	}
	m := NewMatcher(p)
	c := &Claims{Issuer: "https://issuer-7.example.com", Subject: "sub-agent-507", Raw: map[string]any{"repository": "acme/agent-507"}}
	b.ReportAllocs()
	for b.Loop() {
		if a, err := m.Match(c); err != nil || a.Name != "agent-507" {
			b.Fatal(a, err)
		}
	}
}
