package decision

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"

	"github.com/mandatehq/mandate/compiler/bundle"
	"github.com/mandatehq/mandate/model"
)

var (
	keyOnce         sync.Once
	keyPriv, keyPub []byte
)

// loadPolicy signs p into a bundle and loads it back, as the gateway does.
func loadPolicy(t testing.TB, p *model.Policy, revision string) *bundle.Loaded {
	t.Helper()
	keyOnce.Do(func() {
		var err error
		keyPriv, keyPub, err = bundle.GenerateKey(bundle.ES256)
		if err != nil {
			panic(err)
		}
	})
	b, err := bundle.Build(p, bundle.Options{Revision: revision, SigningKey: keyPriv})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	l, err := bundle.Load(&buf, map[string][]byte{b.KeyID: keyPub}, bundle.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func fixturePolicy(t testing.TB) *model.Policy {
	t.Helper()
	raw, err := os.ReadFile("../../policies/testdata/policy.json")
	if err != nil {
		t.Fatal(err)
	}
	var p model.Policy
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

func newEngine(t testing.TB, p *model.Policy, opts Options) *Engine {
	t.Helper()
	e, err := New(context.Background(), loadPolicy(t, p, "rev-1"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
