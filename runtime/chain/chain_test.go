package chain

import (
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHashCanonical(t *testing.T) {
	base := Link{Gateway: "gw1", Seq: 1, SessionID: "s1", TimeUnixNano: 1700000000000000000, Kind: "statement", Payload: []byte(`{"a":1}`), Prev: ZeroHash()}
	got := hex.EncodeToString(base.Hash())
	if len(got) != 64 {
		t.Fatalf("hash length %d", len(got))
	}
	tests := []struct {
		name   string
		change func(*Link)
	}{
		{"gateway", func(l *Link) { l.Gateway = "gw2" }},
		{"seq", func(l *Link) { l.Seq = 2 }},
		{"session", func(l *Link) { l.SessionID = "s2" }},
		{"time", func(l *Link) { l.TimeUnixNano++ }},
		{"kind", func(l *Link) { l.Kind = "command" }},
		{"payload", func(l *Link) { l.Payload = []byte(`{"a":2}`) }},
		{"prev", func(l *Link) { l.Prev = make([]byte, 32); l.Prev[0] = 1 }},
		// Length prefixes keep field boundaries: moving a byte between
		// adjacent fields changes the hash.
		{"boundary", func(l *Link) { l.Gateway, l.SessionID = "gw1s", "1" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := base
			tt.change(&l)
			if hex.EncodeToString(l.Hash()) == got {
				t.Errorf("changing %s kept the hash", tt.name)
			}
		})
	}
	if hex.EncodeToString(base.HashWithSeq(1)) != got {
		t.Error("HashWithSeq(own seq) differs from Hash")
	}
}

func TestCheckpointSignVerify(t *testing.T) {
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewKey()
	c := Checkpoint{Gateway: "gw1", Seq: 10, Hash: ZeroHash(), TimeUnixNano: 5, Reason: ReasonInterval}
	c.Sign(k)
	if err := c.Verify(k.Public); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(*Checkpoint)
	}{
		{"seq", func(c *Checkpoint) { c.Seq = 11 }},
		{"hash", func(c *Checkpoint) { c.Hash = make([]byte, 32); c.Hash[3] = 9 }},
		{"reason", func(c *Checkpoint) { c.Reason = ReasonAnchor }},
		{"gateway", func(c *Checkpoint) { c.Gateway = "gw2" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := c
			tt.change(&x)
			if x.Verify(k.Public) == nil {
				t.Errorf("altered %s verified", tt.name)
			}
		})
	}
	if c.Verify(other.Public) == nil {
		t.Error("verified with another key")
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(k1, k2); diff != "" {
		t.Errorf("reloaded key differs:\n%s", diff)
	}
	fi, _ := os.Stat(filepath.Join(dir, PrivateKeyFile))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v", fi.Mode().Perm())
	}
	pubPEM, _ := os.ReadFile(filepath.Join(dir, PublicKeyFile))
	for _, in := range [][]byte{pubPEM, []byte(base64.StdEncoding.EncodeToString(k1.Public))} {
		pub, err := ParsePublicKey(in)
		if err != nil || !pub.Equal(k1.Public) {
			t.Errorf("ParsePublicKey(%q) = %v, %v", in, pub, err)
		}
	}
}

func FuzzParsePublicKey(f *testing.F) {
	k, _ := NewKey()
	f.Add(MarshalPublicKey(k.Public))
	f.Add([]byte(base64.StdEncoding.EncodeToString(k.Public)))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if pub, err := ParsePublicKey(b); err == nil && len(pub) != 32 {
			t.Fatalf("accepted a key of %d bytes", len(pub))
		}
		ParsePrivateKey(b)
	})
}
