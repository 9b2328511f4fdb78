package masking

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sync"
	"unicode/utf8"
)

// Method masks one value. Apply never modifies v; isNull reports that the
// value becomes SQL NULL (out is then nil).
type Method interface {
	Apply(v []byte) (out []byte, isNull bool)
}

// Method names.
const (
	MethodRedact  = "redact"
	MethodPartial = "partial"
	MethodHash    = "hash"
	MethodNull    = "null"
	MethodEmail   = "email"
)

// Redacted replaces a value masked by the redact method.
const Redacted = "[REDACTED]"

// HashPrefix starts every value masked by the hash method, followed by
// HashHexLen hex digits of HMAC-SHA256(key, value).
const (
	HashPrefix = "h:"
	HashHexLen = 16
)

// Methods lists the method names, sorted.
func Methods() []string {
	return []string{MethodEmail, MethodHash, MethodNull, MethodPartial, MethodRedact}
}

// ErrHashKey is returned by NewMethod for "hash" without a key.
var ErrHashKey = errors.New("the hash method needs a key (masking hash_key)")

// NewMethod returns the named method. key is the HMAC key of "hash" and is
// ignored by the others.
func NewMethod(name string, key []byte) (Method, error) {
	switch name {
	case MethodRedact:
		return redact{}, nil
	case MethodPartial:
		return partial{}, nil
	case MethodHash:
		if len(key) == 0 {
			return nil, ErrHashKey
		}
		return newHashMethod(key), nil
	case MethodNull:
		return null{}, nil
	case MethodEmail:
		return emailMethod{}, nil
	}
	return nil, fmt.Errorf("unknown masking method %q (want one of redact, partial, hash, null, email)", name)
}

// strength orders methods for overlapping findings: the strongest wins.
func strength(name string) int {
	switch name {
	case MethodNull:
		return 5
	case MethodRedact:
		return 4
	case MethodHash:
		return 3
	case MethodEmail:
		return 2
	case MethodPartial:
		return 1
	}
	return 0
}

type redact struct{}

func (redact) Apply([]byte) ([]byte, bool) { return []byte(Redacted), false }

type null struct{}

func (null) Apply([]byte) ([]byte, bool) { return nil, true }

// hashMethod keeps a pool of keyed HMACs: creating one per value costs more
// than the hashing.
type hashMethod struct{ pool *sync.Pool }

func newHashMethod(key []byte) hashMethod {
	key = bytes.Clone(key)
	return hashMethod{pool: &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
}

func (h hashMethod) Apply(v []byte) ([]byte, bool) {
	m := h.pool.Get().(hash.Hash)
	m.Reset()
	m.Write(v)
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	h.pool.Put(m)
	out := make([]byte, len(HashPrefix)+HashHexLen)
	copy(out, HashPrefix)
	hex.Encode(out[len(HashPrefix):], sum[:HashHexLen/2])
	return out, false
}

// emailMethod keeps the domain of an email address: "****@example.com".
// A value that is not an address becomes "****".
type emailMethod struct{}

func (emailMethod) Apply(v []byte) ([]byte, bool) {
	at, ok := domainAt(v)
	if !ok {
		return []byte("****"), false
	}
	return append([]byte("****"), v[at:]...), false
}

// domainAt returns the index of the '@' before v's domain when v ends in
// one: a non-empty part before the last '@', and after it only ASCII
// letters, digits, '-' and '.', ending in a label of two or more letters
// ("example.com", "localhost"). Anything else after an '@' ("call me @
// 736-45-5928", "a@827-36-4591") is not a domain, and the methods that
// keep a domain must not keep it.
func domainAt(v []byte) (int, bool) {
	at := bytes.LastIndexByte(v, '@')
	if at <= 0 || at == len(v)-1 {
		return 0, false
	}
	domain := v[at+1:]
	for _, c := range domain {
		if !isAlnum(c) && c != '-' && c != '.' {
			return 0, false
		}
	}
	last := domain[bytes.LastIndexByte(domain, '.')+1:]
	if len(last) < 2 {
		return 0, false
	}
	for _, c := range last {
		if c|0x20 < 'a' || c|0x20 > 'z' {
			return 0, false
		}
	}
	return at, true
}

// partial keeps a little of a value:
//   - an email address keeps its first character and domain: "a***@example.com";
//   - a number-like value (only letters, digits, spaces and dashes, with at
//     least 8 digits: cards, SSNs, IBANs, phone numbers) keeps its last four
//     letters or digits and its separators: "************1234", "***-**-6789";
//   - anything else keeps its first and last character with one '*' per
//     character between ("J******n"); values of four characters or fewer
//     become all '*'.
type partial struct{}

func (partial) Apply(v []byte) ([]byte, bool) {
	if at, ok := domainAt(v); ok && bytes.IndexByte(v[:at], ' ') < 0 {
		_, n := utf8.DecodeRune(v)
		out := append([]byte(nil), v[:n]...)
		out = append(out, "***"...)
		return append(out, v[at:]...), false
	}
	if numberLike(v) {
		out := bytes.Clone(v)
		keep := 4
		for i := len(out) - 1; i >= 0; i-- {
			if !isAlnum(out[i]) {
				continue
			}
			if keep > 0 {
				keep--
				continue
			}
			out[i] = '*'
		}
		return out, false
	}
	if !utf8.Valid(v) {
		return bytes.Repeat([]byte{'*'}, min(len(v), 64)), false
	}
	n := utf8.RuneCount(v)
	if n <= 4 {
		return bytes.Repeat([]byte{'*'}, n), false
	}
	first, _ := utf8.DecodeRune(v)
	last, _ := utf8.DecodeLastRune(v)
	out := utf8.AppendRune(nil, first)
	out = append(out, bytes.Repeat([]byte{'*'}, n-2)...)
	return utf8.AppendRune(out, last), false
}

func numberLike(v []byte) bool {
	digits := 0
	for _, c := range v {
		switch {
		case isDigit(c):
			digits++
		case isAlpha(c), c == ' ', c == '-':
		default:
			return false
		}
	}
	return digits >= 8
}

// IsMethod reports whether name is a masking method.
func IsMethod(name string) bool {
	switch name {
	case MethodRedact, MethodPartial, MethodHash, MethodNull, MethodEmail:
		return true
	}
	return false
}
