package gen_test

import (
	"testing"
	"time"

	"github.com/mandatehq/mandate/compiler"
	"github.com/mandatehq/mandate/compiler/gen"
)

func TestGenerateValidates(t *testing.T) {
	for _, s := range []gen.Size{
		{Agents: 1, Roles: 1, Connections: 2, Maskings: 0},
		{Agents: 120, Roles: 30, Connections: 11, Maskings: 4},
		{Agents: 1200, Roles: 600, Connections: 50, Maskings: 20},
	} {
		dir := t.TempDir()
		if err := gen.GenerateSize(dir, s); err != nil {
			t.Fatal(err)
		}
		repo, diags := compiler.Load(dir, compiler.Options{Now: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)})
		if len(diags) > 0 {
			t.Fatalf("%+v: %v", s, diags)
		}
		if len(repo.Policy.Agents) != s.Agents || len(repo.Policy.Roles) != s.Roles ||
			len(repo.Policy.Connections) != s.Connections || len(repo.Policy.Maskings) != s.Maskings {
			t.Fatalf("%+v: policy has %d agents, %d roles, %d connections, %d maskings", s,
				len(repo.Policy.Agents), len(repo.Policy.Roles), len(repo.Policy.Connections), len(repo.Policy.Maskings))
		}
	}
	if err := gen.Generate(t.TempDir(), 0, 1, 2, 0); err == nil {
		t.Fatal("Generate accepted zero agents")
	}
}
