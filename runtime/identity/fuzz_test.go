package identity

import (
	"context"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary strings to Authenticate (session tokens, then a
// static-JWKS issuer): it must never panic, and whatever it accepts must be
// an unexpired token of a configured issuer.
func FuzzVerify(f *testing.F) {
	testKeys(f)
	const iss = "https://mandate.local"
	jwks, err := JWKS(&ecKeys[0].PublicKey, "ec-1")
	if err != nil {
		f.Fatal(err)
	}
	s, err := NewSessionIssuer(gatewayURL, ecKeys[2], nil)
	if err != nil {
		f.Fatal(err)
	}
	v, err := NewVerifier([]IssuerConfig{{Name: "local", URL: iss, Audience: "mandate", JWKS: jwks}}, Options{Sessions: s})
	if err != nil {
		f.Fatal(err)
	}
	for _, tc := range verifyCases(f) {
		f.Add(tc.token(iss))
	}
	good := sign(f, ecKeys[0], "ec-1", std(iss, "bot"))
	f.Add(good)
	sess, _, err := s.Issue(SessionRequest{Agent: "bot", From: &Claims{Issuer: iss, Subject: "bot", Expiry: time.Now().Add(time.Hour)}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sess)
	f.Add("eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL21hbmRhdGUubG9jYWwifQ.AAAA")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := v.Authenticate(context.Background(), raw)
		if err != nil {
			return
		}
		if c == nil {
			t.Fatal("nil claims without error")
		}
		if c.Issuer != iss && c.Issuer != gatewayURL {
			t.Fatalf("accepted issuer %q", c.Issuer)
		}
		if !time.Now().Before(c.Expiry.Add(time.Minute)) {
			t.Fatalf("accepted an expired token (exp %v)", c.Expiry)
		}
	})
}
