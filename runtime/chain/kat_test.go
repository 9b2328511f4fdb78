package chain

import (
	"encoding/hex"
	"testing"
)

// TestHashKnownAnswer pins the canonical encoding: changing it breaks every
// existing record, and docs/audit.md shows this example.
func TestHashKnownAnswer(t *testing.T) {
	l := Link{Gateway: "gw1", Seq: 1, SessionID: "s1", TimeUnixNano: 1700000000000000000, Kind: "statement", Payload: []byte(`{"a":1}`), Prev: ZeroHash()}
	const want = "1d02f023de440058bb506449c0054ab3e05ff4834a9b7c10c098ed9dcc3ec20e"
	if got := hex.EncodeToString(l.Hash()); got != want {
		t.Errorf("hash = %s, want %s", got, want)
	}
}
