package pgproxy

import (
	"strings"
	"testing"
)

func TestWithoutToken(t *testing.T) {
	const sig = "c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
	tok := "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZ2VudDphIn0." + sig
	for _, tc := range []struct{ name, token, reason, want string }{
		{"whole token", tok, "bad token " + tok, "bad token [token]"},
		{"signature alone", tok, `signature "` + sig + `" does not verify`, `signature "[token part]" does not verify`},
		{"short parts are kept", "a.b.c", "a bad token", "a bad token"},
		{"empty token", "", "no token", "no token"},
		{"unrelated reason", tok, "token expired at 2026-11-26T16:00:00Z", "token expired at 2026-11-26T16:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := withoutToken(tc.reason, tc.token); got != tc.want {
				t.Errorf("withoutToken(%q) = %q, want %q", tc.reason, got, tc.want)
			}
		})
	}
}

func TestClaimedName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"fulfilment-planner", "fulfilment-planner"},
		{"_etl2", "_etl2"},
		{"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl", "[not an agent name: 61 bytes]"},
		{"2fast", "[not an agent name: 5 bytes]"},
		{"", "[not an agent name: 0 bytes]"},
		{"agent with spaces", "[not an agent name: 17 bytes]"},
		{strings.Repeat("a", 129), "[not an agent name: 129 bytes]"},
	} {
		if got := claimedName(tc.in); got != tc.want {
			t.Errorf("claimedName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
