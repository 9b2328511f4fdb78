package compiler

import (
	"testing"

	"github.com/mandatehq/mandate/compiler/gen"
)

func BenchmarkLoadAcme(b *testing.B) {
	for b.Loop() {
		if _, diags := Load("../examples/acme", Options{Now: testNow}); diags.HasErrors() {
			b.Fatal(diags)
		}
	}
}

// BenchmarkLoadGenerated loads the benchmark repository: 10,000
// agents, 2,000 roles, 500 connections, 200 masking blocks. bench/compile.sh
// measures the same through the CLI, with peak RSS.
func BenchmarkLoadGenerated(b *testing.B) {
	dir := b.TempDir()
	if err := gen.Generate(dir, 10000, 2000, 500, 200); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, diags := Load(dir, Options{Now: testNow}); diags.HasErrors() {
			b.Fatal(diags)
		}
	}
}
