package activation

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/mandatehq/mandate/compiler/bundle"
	"github.com/mandatehq/mandate/runtime/decision"
)

// unpackedRatio bounds a bundle's unpacked files at this multiple of
// max_size (which bounds the compressed bytes): JSON compresses about
// tenfold, and a gzip bomb still stops at the bound.
const unpackedRatio = 16

// BundleLoader returns the LoadFunc of a real gateway: compiler/bundle
// verifies the signature against keys (key id -> PEM public key) within
// maxSize bytes, and runtime/decision prepares the engine. Errors are
// classified into rejection reasons.
func BundleLoader(keys map[string][]byte, maxSize int64, opts decision.Options) LoadFunc {
	return func(ctx context.Context, data []byte) (*Prepared, error) {
		if int64(len(data)) > maxSize {
			return nil, Reject(ReasonOversized, fmt.Errorf("bundle of %d bytes exceeds max_size %d", len(data), maxSize))
		}
		l, err := bundle.Load(bytes.NewReader(data), keys, bundle.LoadOptions{MaxBytes: maxSize * unpackedRatio})
		if err != nil {
			return nil, Reject(classify(err), err)
		}
		e, err := decision.New(ctx, l, opts)
		if err != nil {
			return nil, Reject(ReasonInvalid, fmt.Errorf("preparing decision engine: %w", err))
		}
		return &Prepared{Engine: e, Policy: l.Policy, Revision: l.Revision, CommitTime: l.CommitTime}, nil
	}
}

// KeysByID reads verification keys given as key id -> PEM; an empty key id
// is replaced by the id derived from the key (bundle.KeyIDFromPEM), which is
// the id `mandate compile` signs with.
func KeysByID(pems map[string][]byte) (map[string][]byte, error) {
	out := make(map[string][]byte, len(pems))
	for kid, p := range pems {
		if _, _, err := bundle.ParsePublicKey(p); err != nil {
			return nil, fmt.Errorf("reading verification key %q: %w", kid, err)
		}
		if kid == "" {
			var err error
			if kid, err = bundle.KeyIDFromPEM(p); err != nil {
				return nil, fmt.Errorf("deriving key id: %w", err)
			}
		}
		out[kid] = p
	}
	if len(out) == 0 {
		return nil, errors.New("no verification keys")
	}
	return out, nil
}

// classify maps compiler/bundle's rejection classes to reasons; an error of
// no class is "invalid". A bundle error has one class at most.
func classify(err error) string {
	for _, c := range []struct {
		class  error
		reason string
	}{
		{bundle.ErrUnsigned, ReasonUnsigned},
		{bundle.ErrWrongKey, ReasonWrongKey},
		{bundle.ErrOversized, ReasonOversized},
		{bundle.ErrTruncated, ReasonTruncated},
		{bundle.ErrWrongScope, ReasonWrongScope},
		{bundle.ErrTampered, ReasonTampered},
	} {
		if errors.Is(err, c.class) {
			return c.reason
		}
	}
	return ReasonInvalid
}
