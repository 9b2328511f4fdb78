package audit

import (
	"context"
	"crypto/ed25519"

	"github.com/mandatehq/mandate/runtime/chain"
	"github.com/mandatehq/mandate/runtime/store"
)

// Source is the part of the record Verify and Export read: a store.Store,
// or evidence read back from an export file.
type Source interface {
	Gateways(ctx context.Context) ([]string, error)
	Events(ctx context.Context, f store.EventFilter, fn func(*store.Event) error) error
	Checkpoints(ctx context.Context, gateway string) ([]chain.Checkpoint, error)
	Keys(ctx context.Context) (map[string][]byte, error)
}

var (
	_ Source = (store.Store)(nil)
	_ Source = (*Evidence)(nil)
)

// KeySet maps key ids to trusted public keys.
type KeySet map[string]ed25519.PublicKey

// NewKeySet builds a KeySet from public keys.
func NewKeySet(pubs ...ed25519.PublicKey) KeySet {
	ks := KeySet{}
	for _, p := range pubs {
		ks[chain.KeyID(p)] = p
	}
	return ks
}
