package gateway_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/api"
	gt "github.com/mandatehq/mandate/runtime/gateway/gatewaytest"
)

// claimsJSON writes an object with the members in the order given, which
// may repeat a name or vary its case (a map could not).
func claimsJSON(t *testing.T, kv ...any) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteByte('{')
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv[i])
		v, err := json.Marshal(kv[i+1])
		if err != nil {
			t.Fatal(err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// TestAdversarialRound18Tokens runs a gateway trusting two OIDC issuers (A
// for agent a, B for agent b; agents c and d share an identity of A, which
// the compiler forbids but a hand-built bundle carries) and presents forged,
// misdirected and out-of-date tokens as the postgres password and to
// /v1/token. Each must be refused (28P01), none may open a session.
//
// Round 18's hole: go-oidc reads iss and aud into a struct, where
// encoding/json matches member names case-insensitively (and folds 'ſ' to
// 's'), while mandate's claims come from an exact-name map. A token signed
// by issuer B carrying "iss": A and then "iſs": B was verified by B's keys
// (the struct saw B) and then matched to A's agents (the map saw A): issuer
// B could sign in as any agent of issuer A. The same split let a token for
// another audience ("aud": "other", "AUD": "mandate") through.
func TestAdversarialRound18Tokens(t *testing.T) {
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no PostgreSQL on 127.0.0.1:5432: %v", err)
		}
		t.Skipf("no PostgreSQL on 127.0.0.1:5432: %v", err)
	}
	admin.Close(ctx)

	dir := t.TempDir()
	isA, isB := newIssuer(t), newIssuer(t)
	A, B := isA.srv.URL, isB.srv.URL
	s := gt.NewSigner(t)
	s.WritePublic(t, dir, "keys/bundle.pub")
	pol := gt.PolicyFor(A, "a", "c", "d")
	pol.Agents["b"] = &model.Agent{Name: "b", Identities: []*model.Identity{{Issuer: B, Subject: "agent:b"}},
		Roles: []string{"reader"}, Source: model.Source{File: "agents.hcl", Line: 30, Column: 1}}
	pol.Agents["c"].Identities[0].Subject = "agent:cd"
	pol.Agents["d"].Identities[0].Subject = "agent:cd"
	writeAtomic(t, filepath.Join(dir, "bundle.tar.gz"), s.Bundle(t, pol, gt.Rev(1), gt.Time(1)))
	cfg := writeConfig(t, dir, hcl(`
listen {
  api           = "127.0.0.1:0"
  api_plaintext = true
  postgres      = "127.0.0.1:0"
}
bundle {
  source           = "file://bundle.tar.gz"
  verification_key = "keys/bundle.pub"
  poll             = "1h"
}
issuer "a" {
  url      = "%s"
  audience = "mandate"
}
issuer "b" {
  url      = "%s"
  audience = "mandate"
}
`, A, B))
	// httptest TLS servers share one certificate: this client trusts both.
	g := start(t, cfg, isA.srv.Client())
	base := baseURL(g)
	eventually(t, "ready", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 })

	now := time.Now().Unix()
	std := func(iss, sub, aud string) []any {
		return []any{"iss", iss, "sub", sub, "aud", aud, "iat", now, "nbf", now, "exp", now + 600}
	}
	hs256 := func() string {
		h := b64([]byte(fmt.Sprintf(`{"alg":"HS256","typ":"JWT","kid":%q}`, isA.KeyID())))
		p := b64(claimsJSON(t, std(A, "agent:a", "mandate")...))
		mac := hmac.New(sha256.New, isA.PublicJWK(t))
		mac.Write([]byte(h + "." + p))
		return h + "." + p + "." + b64(mac.Sum(nil))
	}
	huge := isA.Sign(t, claimsJSON(t, append(std(A, "agent:a", "mandate"), "pad", strings.Repeat("x", 20<<10))...))

	connect := func(user, tok string) error {
		c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s:%s@%s/app?sslmode=require", user, tok, g.PostgresAddr()))
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		var one int
		return c.QueryRow(ctx, "SELECT 1").Scan(&one)
	}
	exchange := func(tok string) int {
		b, _ := json.Marshal(api.TokenRequest{Token: tok})
		resp, err := http.Post(base+"/v1/token", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	for _, tc := range []struct {
		name, user, token string
		ok                bool
	}{
		{"A's token for a", "a", isA.Sign(t, claimsJSON(t, std(A, "agent:a", "mandate")...)), true},
		{"B's token for b", "b", isB.Sign(t, claimsJSON(t, std(B, "agent:b", "mandate")...)), true},
		{"B signs iss A then iſs B", "a", isB.Sign(t, claimsJSON(t, append(std(A, "agent:a", "mandate"), "iſs", B)...)), false},
		{"B signs iss A then ISS B", "a", isB.Sign(t, claimsJSON(t, append(std(A, "agent:a", "mandate"), "ISS", B)...)), false},
		{"B signs iss A", "a", isB.Sign(t, claimsJSON(t, std(A, "agent:a", "mandate")...)), false},
		{"aud other then AUD mandate", "a", isA.Sign(t, claimsJSON(t, append(std(A, "agent:a", "other"), "AUD", "mandate")...)), false},
		{"A's token for a as user b", "b", isA.Sign(t, claimsJSON(t, std(A, "agent:a", "mandate")...)), false},
		{"A's token for a as user A", "A", isA.Sign(t, claimsJSON(t, std(A, "agent:a", "mandate")...)), false},
		{"alg none", "a", b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64(claimsJSON(t, std(A, "agent:a", "mandate")...)) + ".e30", false},
		{"HS256 keyed with A's public key", "a", hs256(), false},
		{"wrong audience", "a", isA.Sign(t, claimsJSON(t, std(A, "agent:a", "other")...)), false},
		{"unknown issuer", "a", isA.Sign(t, claimsJSON(t, std("https://evil.example", "agent:a", "mandate")...)), false},
		{"nbf in 5 minutes", "a", isA.Sign(t, claimsJSON(t, "iss", A, "sub", "agent:a", "aud", "mandate", "nbf", now+300, "exp", now+600)), false},
		{"expired a second ago", "a", isA.Sign(t, claimsJSON(t, "iss", A, "sub", "agent:a", "aud", "mandate", "iat", now-60, "exp", now-1)), false},
		{"no exp", "a", isA.Sign(t, claimsJSON(t, "iss", A, "sub", "agent:a", "aud", "mandate")), false},
		{"larger than MaxTokenBytes", "a", huge, false},
		{"subject of two agents", "c", isA.Sign(t, claimsJSON(t, std(A, "agent:cd", "mandate")...)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok && (tc.user == "a" || tc.user == "c") {
				if code := exchange(tc.token); code == http.StatusOK {
					t.Errorf("/v1/token issued a session token for it")
				}
			}
			err := connect(tc.user, tc.token)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "28P01" {
				t.Fatalf("postgres: %v, want refusal 28P01", err)
			}
			sig := tc.token[strings.LastIndex(tc.token, ".")+1:]
			if strings.Contains(pe.Message+pe.Detail+pe.Hint, sig) {
				t.Errorf("the refusal echoes the token: %v", pe)
			}
		})
	}
}
