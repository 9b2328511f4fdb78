package compiler

import (
	"github.com/google/go-cmp/cmp"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader as one policy file (in
// memory; TestLoadSourceMatchesLoad checks that this path equals Load's). It must
// never panic, must always return a partial repository, and every
// diagnostic's file must be the fuzzed file.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/errors/*/*.hcl")
	more, _ := filepath.Glob("testdata/valid/*/*.hcl")
	contract, _ := filepath.Glob("testdata/contract/*.hcl")
	for _, p := range append(append(seeds, more...), contract...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("locals {\n a = local.b\n b = local.a\n}\n"))
	f.Add([]byte("\xff\xfe{{{"))
	f.Fuzz(func(t *testing.T, src []byte) {
		repo, diags := loadSource("main.hcl", src, Options{Now: testNow})
		if repo == nil || repo.Policy == nil {
			t.Fatal("no partial repository")
		}
		for _, d := range diags {
			if d.Subject != nil && d.Subject.Filename != "main.hcl" {
				t.Fatalf("diagnostic names file %q: %v", d.Subject.Filename, d)
			}
		}
		if err := WriteDiagnostics(discard{}, repo, diags, "text"); err != nil {
			t.Fatal(err)
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestLoadSourceMatchesLoad(t *testing.T) {
	src, err := os.ReadFile("testdata/contract/main.hcl")
	if err != nil {
		t.Fatal(err)
	}
	a, da := Load("testdata/contract", Options{Now: testNow})
	b, db := loadSource("main.hcl", src, Options{Now: testNow})
	if diff := cmp.Diff(a.Policy, b.Policy); diff != "" {
		t.Errorf("policy differs (-Load +loadSource):\n%s", diff)
	}
	if len(da) != len(db) {
		t.Errorf("diagnostics differ: %v vs %v", da, db)
	}
}
