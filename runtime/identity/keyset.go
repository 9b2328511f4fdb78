package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// keySet is one issuer's signing keys: a JWKS file, or one fetch of a
// discovery issuer's JWKS. A token naming a kid is verified only by the key
// with that kid; a key that states its alg verifies only tokens of that alg.
// A keySet is never modified after it is built.
type keySet struct {
	keys []jose.JSONWebKey
}

var _ oidc.KeySet = (*keySet)(nil)

func joseAlgs() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(Algorithms))
	for i, a := range Algorithms {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}

// parseJWKS reads a JWKS file of public signing keys. Symmetric keys are
// refused (a shared secret is not an issuer key); private keys are reduced to
// their public half; keys whose use is not "sig" are skipped.
func parseJWKS(b []byte) (*keySet, error) { return decodeJWKS(b, true) }

// decodeJWKS reads a JSON Web Key Set. strict (a file an operator wrote)
// refuses the set for one unusable key; otherwise (an issuer's published set)
// keys that cannot verify a token are skipped, as RFC 7517 section 5 asks of
// keys an implementation does not understand.
func decodeJWKS(b []byte, strict bool) (*keySet, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("decoding JWKS: %w", err)
	}
	ks := &keySet{}
	for i, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := json.Unmarshal(raw, &k); err != nil {
			if strict {
				return nil, fmt.Errorf("decoding JWKS: key %d: %w", i, err)
			}
			continue
		}
		if _, ok := k.Key.([]byte); ok {
			if strict {
				return nil, fmt.Errorf("key %d (kid %q) is symmetric; an issuer JWKS holds public keys only", i, k.KeyID)
			}
			continue
		}
		if !k.Valid() {
			if strict {
				return nil, fmt.Errorf("key %d (kid %q) is not a valid key", i, k.KeyID)
			}
			continue
		}
		if k.Use != "" && k.Use != "sig" || !strict && k.Algorithm != "" && !allowedAlg(k.Algorithm) {
			continue
		}
		if !k.IsPublic() {
			k = k.Public()
		}
		ks.keys = append(ks.keys, k)
	}
	if len(ks.keys) == 0 {
		return nil, errors.New("the JWKS holds no signing key")
	}
	return ks, nil
}

// parseSigned parses a compact JWS with exactly one signature.
func parseSigned(raw string) (*jose.JSONWebSignature, jose.Header, error) {
	jws, err := jose.ParseSignedCompact(raw, joseAlgs())
	if err != nil {
		return nil, jose.Header{}, fmt.Errorf("parsing token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, jose.Header{}, errors.New("token must carry exactly one signature")
	}
	return jws, jws.Signatures[0].Header, nil
}

// has reports whether the set holds a key with this kid.
func (s *keySet) has(kid string) bool {
	for _, k := range s.keys {
		if k.KeyID == kid {
			return true
		}
	}
	return false
}

// verify checks jws against the set's keys and returns its payload.
func (s *keySet) verify(jws *jose.JSONWebSignature) ([]byte, error) {
	h := jws.Signatures[0].Header
	for _, k := range s.keys {
		if h.KeyID != "" && k.KeyID != h.KeyID {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != h.Algorithm {
			continue
		}
		if payload, err := jws.Verify(k); err == nil {
			return payload, nil
		}
	}
	if h.KeyID != "" {
		return nil, fmt.Errorf("no key with kid %s verifies the signature", quoteKid(h.KeyID))
	}
	return nil, errors.New("no key of the issuer verifies the signature")
}

// VerifySignature implements oidc.KeySet.
func (s *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, _, err := parseSigned(raw)
	if err != nil {
		return nil, err
	}
	payload, err := s.verify(jws)
	if err != nil {
		return nil, err
	}
	noteKeys(ctx, s)
	return payload, nil
}

// usedKeys receives, through the context of a verification, the key set
// that verified the signature; the verified-token cache ties an entry to it.
type usedKeys struct{ ks *keySet }

type usedKeysKey struct{}

func noteKeys(ctx context.Context, ks *keySet) {
	if u, ok := ctx.Value(usedKeysKey{}).(*usedKeys); ok {
		u.ks = ks
	}
}

// maxKidInError caps how much of a token's kid an error message repeats.
const maxKidInError = 64

// quoteKid quotes a kid from an unverified header for an error message,
// cut to maxKidInError bytes.
func quoteKid(kid string) string {
	if len(kid) > maxKidInError {
		return fmt.Sprintf("%q...", kid[:maxKidInError])
	}
	return fmt.Sprintf("%q", kid)
}
