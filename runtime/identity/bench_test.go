package identity

import (
	"context"
	"fmt"
	"testing"

	"github.com/mandatehq/mandate/model"
)

func BenchmarkVerifyStatic(b *testing.B) {
	testKeys(b)
	const iss = "https://mandate.local"
	for _, name := range []string{"ES256", "RS256"} {
		var tok string
		var jwks []byte
		if name == "ES256" {
			jwks, _ = JWKS(&ecKeys[0].PublicKey, "k")
			tok = sign(b, ecKeys[0], "k", std(iss, "bot"))
		} else {
			jwks, _ = JWKS(&rsaKeys[0].PublicKey, "k")
			tok = sign(b, rsaKeys[0], "k", std(iss, "bot"))
		}
		v, err := NewVerifier([]IssuerConfig{{Name: "local", URL: iss, Audience: "mandate", JWKS: jwks}}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
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
