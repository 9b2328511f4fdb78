package chain

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
)

// HashSize is the length of every hash in the chain (SHA-256).
const HashSize = sha256.Size

// Domain tags separate event hashes from checkpoint signatures, so that no
// byte string can be read as both.
const (
	eventTag      = "mandate/event/v1"
	checkpointTag = "mandate/checkpoint/v1"
)

// Link is the part of a stored event the hash covers. Payload is the event
// body exactly as stored (JSON bytes); it is hashed as bytes, so the hash does
// not depend on how JSON is re-encoded.
type Link struct {
	Gateway   string
	Seq       uint64
	SessionID string
	// TimeUnixNano is the event time in nanoseconds since the Unix epoch (UTC).
	TimeUnixNano int64
	Kind         string
	Payload      []byte
	// Prev is the hash of the event Seq-1 of the same gateway, or 32 zero
	// bytes for Seq 1.
	Prev []byte
}

// Hash returns SHA-256 over the canonical encoding of l:
//
//	"mandate/event/v1" | u64 seq | str gateway | str session_id |
//	i64 time_unix_nano | str kind | str payload | str prev
//
// where u64/i64 are 8 bytes big-endian and str is a 4-byte big-endian length
// followed by the bytes. Length prefixes make the encoding unambiguous.
func (l *Link) Hash() []byte {
	h := sha256.New()
	l.write(h)
	return h.Sum(nil)
}

// HashWithSeq is Hash with Seq replaced; the verifier uses it to tell a
// moved event from an altered one.
func (l *Link) HashWithSeq(seq uint64) []byte {
	c := *l
	c.Seq = seq
	return c.Hash()
}

func (l *Link) write(h hash.Hash) {
	var buf [8]byte
	writeStr(h, eventTag)
	binary.BigEndian.PutUint64(buf[:], l.Seq)
	h.Write(buf[:])
	writeStr(h, l.Gateway)
	writeStr(h, l.SessionID)
	binary.BigEndian.PutUint64(buf[:], uint64(l.TimeUnixNano))
	h.Write(buf[:])
	writeStr(h, l.Kind)
	writeBytes(h, l.Payload)
	writeBytes(h, l.Prev)
}

func writeStr(h hash.Hash, s string) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}

func writeBytes(h hash.Hash, b []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	h.Write(n[:])
	h.Write(b)
}

// ZeroHash is the Prev of a gateway's first event.
func ZeroHash() []byte { return make([]byte, HashSize) }

// Short returns the first 12 hex digits of a hash, for messages.
func Short(h []byte) string {
	s := hex.EncodeToString(h)
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
