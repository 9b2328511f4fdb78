package audit

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/chain"
)

// UsageAlgorithm is the SignedUsage algorithm.
const UsageAlgorithm = "ed25519"

// SignUsage encodes u canonically (encoding/json of model.Usage: struct
// field order, sorted lists, UTC times, no indentation) and signs the bytes.
func SignUsage(u *model.Usage, k *chain.Key) (*model.SignedUsage, error) {
	payload, err := json.Marshal(u)
	if err != nil {
		return nil, fmt.Errorf("encoding usage: %w", err)
	}
	return &model.SignedUsage{Payload: payload, KeyID: k.ID, Algorithm: UsageAlgorithm,
		Signature: ed25519.Sign(k.Private, payload)}, nil
}

// VerifyUsage checks the signature with a key of keys and returns the
// decoded usage.
func VerifyUsage(su *model.SignedUsage, keys KeySet) (*model.Usage, error) {
	if su.Algorithm != UsageAlgorithm {
		return nil, fmt.Errorf("verifying usage: algorithm %q, want %s", su.Algorithm, UsageAlgorithm)
	}
	pub, ok := keys[su.KeyID]
	if !ok {
		return nil, fmt.Errorf("verifying usage: signed by unknown key %s", su.KeyID)
	}
	if !ed25519.Verify(pub, su.Payload, su.Signature) {
		return nil, errors.New("verifying usage: bad signature")
	}
	var u model.Usage
	if err := json.Unmarshal(su.Payload, &u); err != nil {
		return nil, fmt.Errorf("verifying usage: decoding payload: %w", err)
	}
	return &u, nil
}
