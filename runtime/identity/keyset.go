package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// staticKeySet verifies tokens against the keys of a JWKS file. A token
// naming a kid is verified only by the key with that kid; a key that states
// its alg verifies only tokens of that alg.
type staticKeySet struct {
	keys []jose.JSONWebKey
}

var _ oidc.KeySet = (*staticKeySet)(nil)

func joseAlgs() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(Algorithms))
	for i, a := range Algorithms {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}

// parseJWKS reads a JSON Web Key Set of public signing keys. Symmetric keys
// are refused (a shared secret is not an issuer key); private keys are
// reduced to their public half; keys whose use is not "sig" are skipped.
func parseJWKS(b []byte) (*staticKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("decoding JWKS: %w", err)
	}
	ks := &staticKeySet{}
	for i, k := range set.Keys {
		if _, ok := k.Key.([]byte); ok {
			return nil, fmt.Errorf("key %d (kid %q) is symmetric; an issuer JWKS holds public keys only", i, k.KeyID)
		}
		if !k.Valid() {
			return nil, fmt.Errorf("key %d (kid %q) is not a valid key", i, k.KeyID)
		}
		if k.Use != "" && k.Use != "sig" {
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

// VerifySignature implements oidc.KeySet.
func (s *staticKeySet) VerifySignature(_ context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, joseAlgs())
	if err != nil {
		return nil, fmt.Errorf("parsing token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("token must carry exactly one signature")
	}
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
		return nil, fmt.Errorf("no key with kid %q verifies the signature", h.KeyID)
	}
	return nil, errors.New("no key of the issuer verifies the signature")
}
