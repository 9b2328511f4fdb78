package bundle_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/mandatehq/mandate/compiler"
	"github.com/mandatehq/mandate/compiler/bundle"
	"github.com/mandatehq/mandate/compiler/gen"
	"github.com/mandatehq/mandate/model"
)

var (
	bigOnce   sync.Once
	bigPolicy *model.Policy
	bigErr    string
)

// big is the generated 10,000-agent repository, compiled once.
func big(b *testing.B) *model.Policy {
	bigOnce.Do(func() {
		dir := b.TempDir()
		if err := gen.Generate(dir, 10000, 2000, 500, 200); err != nil {
			bigErr = err.Error()
			return
		}
		repo, diags := compiler.Load(dir, compiler.Options{})
		if diags.HasErrors() {
			bigErr = diags.Error()
			return
		}
		bigPolicy = repo.Policy
	})
	if bigErr != "" {
		b.Fatal(bigErr)
	}
	return bigPolicy
}

// BenchmarkBuildSign10k measures building, signing (ES256) and writing the
// bundle of the generated 10,000-agent repository (loading it is the
// compiler's benchmark, not this one).
func BenchmarkBuildSign10k(b *testing.B) {
	p := big(b)
	key, _, err := bundle.GenerateKey(bundle.ES256)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bu, err := bundle.Build(p, bundle.Options{Revision: "bench", SigningKey: key})
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		if err := bu.Write(&buf); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(buf.Len()))
	}
}

// BenchmarkLoad10k measures reading and verifying that bundle.
func BenchmarkLoad10k(b *testing.B) {
	p := big(b)
	priv, pub, err := bundle.GenerateKey(bundle.ES256)
	if err != nil {
		b.Fatal(err)
	}
	bu, err := bundle.Build(p, bundle.Options{Revision: "bench", SigningKey: priv})
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := bu.Write(&buf); err != nil {
		b.Fatal(err)
	}
	keys := map[string][]byte{bu.KeyID: pub}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := bundle.Load(bytes.NewReader(buf.Bytes()), keys, bundle.LoadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
