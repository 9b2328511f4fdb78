package chain

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Checkpoint is a signed statement by a gateway that its chain had the given
// head: event Seq with hash Hash. Anchor checkpoints are written by
// retention at the new start of a pruned chain.
type Checkpoint struct {
	Gateway string `json:"gateway"`
	Seq     uint64 `json:"seq"`
	Hash    []byte `json:"hash"`
	// TimeUnixNano is when the checkpoint was made.
	TimeUnixNano int64 `json:"time_unix_nano"`
	// KeyID names the signing key (see KeyID).
	KeyID string `json:"key_id"`
	// Reason is "interval", "shutdown" or "anchor".
	Reason    string `json:"reason"`
	Signature []byte `json:"signature"`
}

// Checkpoint reasons.
const (
	ReasonInterval = "interval"
	ReasonShutdown = "shutdown"
	ReasonAnchor   = "anchor"
)

// SignedBytes is the canonical encoding the signature covers:
//
//	"mandate/checkpoint/v1" | str gateway | u64 seq | str hash |
//	i64 time_unix_nano | str key_id | str reason
func (c *Checkpoint) SignedBytes() []byte {
	var b bytes.Buffer
	put := func(s []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		b.Write(n[:])
		b.Write(s)
	}
	var u [8]byte
	put([]byte(checkpointTag))
	put([]byte(c.Gateway))
	binary.BigEndian.PutUint64(u[:], c.Seq)
	b.Write(u[:])
	put(c.Hash)
	binary.BigEndian.PutUint64(u[:], uint64(c.TimeUnixNano))
	b.Write(u[:])
	put([]byte(c.KeyID))
	put([]byte(c.Reason))
	return b.Bytes()
}

// Sign fills KeyID and Signature with k.
func (c *Checkpoint) Sign(k *Key) {
	c.KeyID = k.ID
	c.Signature = ed25519.Sign(k.Private, c.SignedBytes())
}

// Verify checks the signature with pub.
func (c *Checkpoint) Verify(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return errors.New("verifying checkpoint: public key has the wrong size")
	}
	if id := KeyID(pub); id != c.KeyID {
		return fmt.Errorf("verifying checkpoint: signed by key %s, not %s", c.KeyID, id)
	}
	if !ed25519.Verify(pub, c.SignedBytes(), c.Signature) {
		return fmt.Errorf("verifying checkpoint %s/%d: bad signature", c.Gateway, c.Seq)
	}
	return nil
}

// KeyID is the first 16 hex digits of SHA-256 over the raw public key.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return fmt.Sprintf("%x", s[:8])
}
