package identity

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mandatehq/mandate/model"
)

const gatewayURL = "https://gateway.mandate.test"

func newSessions(t testing.TB, key *ecdsa.PrivateKey, now func() time.Time) *SessionIssuer {
	t.Helper()
	s, err := NewSessionIssuer(gatewayURL, key, now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSessionExpiry(t *testing.T) {
	testKeys(t)
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	s := newSessions(t, ecKeys[0], clock)
	from := &Claims{Issuer: "https://idp.example.com", Subject: "repo:acme/app", Expiry: now.Add(30 * time.Minute)}
	tests := []struct {
		name     string
		max, ttl time.Duration
		from     time.Time
		want     time.Duration
	}{
		{"capped by the original token", 2 * time.Hour, 0, now.Add(30 * time.Minute), 30 * time.Minute},
		{"capped by the role", 10 * time.Minute, 0, now.Add(30 * time.Minute), 10 * time.Minute},
		{"capped by the request", 2 * time.Hour, 5 * time.Minute, now.Add(30 * time.Minute), 5 * time.Minute},
		{"default role limit", 0, 0, now.Add(3 * time.Hour), DefaultMaxSession},
		{"request longer than allowed", 10 * time.Minute, time.Hour, now.Add(30 * time.Minute), 10 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := *from
			f.Expiry = tc.from
			tok, exp, err := s.Issue(SessionRequest{Agent: "planner", Roles: []string{"order_reader"}, From: &f, MaxSession: tc.max, TTL: tc.ttl})
			if err != nil {
				t.Fatal(err)
			}
			if got := exp.Sub(now); got != tc.want {
				t.Errorf("lifetime = %v, want %v", got, tc.want)
			}
			c, err := s.Verify(tok)
			if err != nil {
				t.Fatal(err)
			}
			if !c.Expiry.Equal(exp) {
				t.Errorf("token exp %v, returned %v", c.Expiry, exp)
			}
			want := &Session{ID: c.Session.ID, Agent: "planner", Roles: []string{"order_reader"},
				OriginalIssuer: "https://idp.example.com", OriginalSubject: "repo:acme/app"}
			if diff := cmp.Diff(want, c.Session); diff != "" {
				t.Error(diff)
			}
			if c.Issuer != gatewayURL || c.Subject != "planner" || !contains(c.Audience, SessionAudience) || c.Session.ID == "" {
				t.Errorf("claims = %+v", c)
			}
		})
	}
}

func TestSessionRejections(t *testing.T) {
	testKeys(t)
	now := time.Now()
	s := newSessions(t, ecKeys[0], nil)
	other := newSessions(t, ecKeys[1], nil)
	otherURL, _ := NewSessionIssuer("https://other-gateway.test", ecKeys[0], nil)
	later := newSessions(t, ecKeys[0], func() time.Time { return now.Add(2 * time.Hour) })
	from := &Claims{Issuer: "https://idp", Subject: "x", Expiry: now.Add(time.Hour)}
	good, _, err := s.Issue(SessionRequest{Agent: "planner", From: from})
	if err != nil {
		t.Fatal(err)
	}
	byOther, _, _ := other.Issue(SessionRequest{Agent: "planner", From: from})
	wrongIss, _, _ := otherURL.Issue(SessionRequest{Agent: "planner", From: from})
	tests := []struct {
		name, tok string
		v         *SessionIssuer
		wantErr   string
	}{
		{"good", good, s, ""},
		{"another gateway's key", byOther, s, "not signed by this gateway"},
		{"another gateway's issuer", wrongIss, s, "issued by"},
		{"expired", good, later, "expired"},
		{"tampered", good[:len(good)-3] + "AAA", s, "does not verify"},
		{"OIDC-looking token", sign(t, ecKeys[1], "", std(gatewayURL, "planner")), s, "not signed by this gateway"},
		{"garbage", "a.b.c", s, "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.v.Verify(tc.tok)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
	if _, _, err := s.Issue(SessionRequest{Agent: "planner", From: &Claims{Expiry: now.Add(-time.Second)}}); err == nil {
		t.Error("issued a session from an expired token")
	}
}

func TestSessionKidSameKeyOtherAudience(t *testing.T) {
	testKeys(t)
	// A token signed by the gateway's key and kid but lacking the session
	// audience (say, minted by IssueToken with the same key) is refused.
	s := newSessions(t, ecKeys[0], nil)
	kid, _ := KeyID(&ecKeys[0].PublicKey)
	tok, err := IssueToken(ecKeys[0], kid, gatewayURL, "planner", "mandate", time.Minute, map[string]any{"agent": "planner"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(tok); err == nil || !strings.Contains(err.Error(), "audience") {
		t.Fatalf("err = %v, want an audience error", err)
	}
}

func TestAuthenticate(t *testing.T) {
	testKeys(t)
	const iss = "https://mandate.local"
	jwks, _ := JWKS(&ecKeys[1].PublicKey, "")
	s := newSessions(t, ecKeys[0], nil)
	v, err := NewVerifier([]IssuerConfig{{Name: "local", URL: iss, Audience: "mandate", JWKS: jwks}}, Options{Sessions: s})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	oidcTok, err := IssueToken(ecKeys[1], "", iss, "bot", "mandate", 10*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Authenticate(ctx, oidcTok)
	if err != nil || c.Session != nil || c.Subject != "bot" {
		t.Fatalf("OIDC token: %+v, %v", c, err)
	}
	sessTok, _, err := s.Issue(SessionRequest{Agent: "local-bot", From: c})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := v.Authenticate(ctx, sessTok)
	if err != nil || c2.Session == nil || c2.Session.Agent != "local-bot" || c2.Session.OriginalSubject != "bot" {
		t.Fatalf("session token: %+v, %v", c2, err)
	}
	// Verify alone (OIDC issuers only) refuses the session token.
	if _, err := v.Verify(ctx, sessTok); !errors.Is(err, ErrUnknownIssuer) {
		t.Errorf("Verify(session token) err = %v, want ErrUnknownIssuer", err)
	}
	if _, err := NewVerifier([]IssuerConfig{{Name: "x", URL: gatewayURL, Audience: "a", JWKS: jwks}}, Options{Sessions: s}); err == nil {
		t.Error("an OIDC issuer with the session issuer's URL was accepted")
	}
}

func TestMaxSession(t *testing.T) {
	p := &model.Policy{Roles: map[string]*model.Role{
		"a": {Name: "a", MaxSessionSeconds: 1800},
		"b": {Name: "b", MaxSessionSeconds: 600},
		"c": {Name: "c"},
	}}
	tests := []struct {
		roles []string
		want  time.Duration
	}{
		{[]string{"a", "b", "c"}, 10 * time.Minute},
		{[]string{"a"}, 30 * time.Minute},
		{[]string{"c", "missing"}, DefaultMaxSession},
	}
	for _, tc := range tests {
		if got := MaxSession(p, &model.Agent{Roles: tc.roles}); got != tc.want {
			t.Errorf("MaxSession(%v) = %v, want %v", tc.roles, got, tc.want)
		}
	}
}
