package identity

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// MaxTokenBytes caps the size of a token accepted for verification.
const MaxTokenBytes = 16 << 10

// Algorithms are the JWS algorithms an issuer's token may be signed with.
// Symmetric (HS*) and "none" are never accepted.
var Algorithms = []string{
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
}

func allowedAlg(a string) bool {
	for _, x := range Algorithms {
		if a == x {
			return true
		}
	}
	return false
}

// ErrMalformed is wrapped by every error about a token that is not a
// well-formed signed JWT.
var ErrMalformed = errors.New("malformed token")

// header is the part of a JOSE header checked before any signature check.
type header struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
	JWK  json.RawMessage `json:"jwk"`
	JKU  json.RawMessage `json:"jku"`
	X5U  json.RawMessage `json:"x5u"`
	Enc  json.RawMessage `json:"enc"`
}

// unverified is what a token says about itself before verification: used
// only to pick the issuer that verifies it.
type unverified struct {
	header header
	iss    string
}

// inspect checks a token's shape (size, compact serialization, base64url
// segments, a JSON header with an accepted algorithm and no embedded-key or
// critical-extension tricks) and reads its unverified issuer.
func inspect(raw string) (*unverified, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: empty token", ErrMalformed)
	}
	if len(raw) > MaxTokenBytes {
		return nil, fmt.Errorf("%w: token is %d bytes, more than the %d allowed", ErrMalformed, len(raw), MaxTokenBytes)
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return nil, fmt.Errorf("%w: not a compact JWS (byte %d is %q)", ErrMalformed, i, c)
		}
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: a signed JWT has 3 parts, this one has %d", ErrMalformed, len(parts))
	}
	if parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return nil, fmt.Errorf("%w: empty header, payload or signature", ErrMalformed)
	}
	hb, err := base64.RawURLEncoding.Strict().DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("%w: decoding header: %v", ErrMalformed, err)
	}
	var u unverified
	if err := json.Unmarshal(hb, &u.header); err != nil {
		return nil, fmt.Errorf("%w: decoding header: %v", ErrMalformed, err)
	}
	h := &u.header
	switch {
	case h.Alg == "" || strings.EqualFold(h.Alg, "none"):
		return nil, fmt.Errorf("%w: unsigned token (alg %q)", ErrMalformed, h.Alg)
	case !allowedAlg(h.Alg):
		return nil, fmt.Errorf("%w: algorithm %q is not accepted", ErrMalformed, h.Alg)
	case h.Crit != nil:
		return nil, fmt.Errorf("%w: critical header extensions are not supported", ErrMalformed)
	case h.JWK != nil || h.JKU != nil || h.X5U != nil:
		return nil, fmt.Errorf("%w: tokens naming their own key (jwk, jku, x5u) are not accepted", ErrMalformed)
	case h.Enc != nil:
		return nil, fmt.Errorf("%w: encrypted tokens are not accepted", ErrMalformed)
	}
	pb, err := base64.RawURLEncoding.Strict().DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("%w: decoding payload: %v", ErrMalformed, err)
	}
	var p struct {
		Iss any `json:"iss"`
	}
	if err := json.Unmarshal(pb, &p); err != nil {
		return nil, fmt.Errorf("%w: decoding payload: %v", ErrMalformed, err)
	}
	iss, ok := p.Iss.(string)
	if !ok || iss == "" {
		return nil, fmt.Errorf("%w: no issuer (iss) claim", ErrMalformed)
	}
	u.iss = iss
	return &u, nil
}
