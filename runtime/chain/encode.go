package chain

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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
	// One buffer (on the stack for small payloads) hashed at once: writing
	// piecewise through hash.Hash allocates for every string converted.
	var stack [2048]byte
	sum := sha256.Sum256(l.appendTo(stack[:0]))
	return sum[:]
}

// HashWithSeq is Hash with Seq replaced; the verifier uses it to tell a
// moved event from an altered one.
func (l *Link) HashWithSeq(seq uint64) []byte {
	c := *l
	c.Seq = seq
	return c.Hash()
}

// appendTo appends the canonical encoding of l (see Hash) to b.
func (l *Link) appendTo(b []byte) []byte {
	b = appendStr(b, eventTag)
	b = binary.BigEndian.AppendUint64(b, l.Seq)
	b = appendStr(b, l.Gateway)
	b = appendStr(b, l.SessionID)
	b = binary.BigEndian.AppendUint64(b, uint64(l.TimeUnixNano))
	b = appendStr(b, l.Kind)
	b = appendStr(b, l.Payload)
	return appendStr(b, l.Prev)
}

func appendStr[S string | []byte](b []byte, s S) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
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
