package policies

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestRego runs the Rego unit tests (mandate/*_test.rego) against the
// fixture policy in testdata/policy.json, loaded at data.mandate.
func TestRego(t *testing.T) {
	raw, err := os.ReadFile("testdata/policy.json")
	if err != nil {
		t.Fatal(err)
	}
	var policy map[string]any
	if err := json.Unmarshal(raw, &policy); err != nil {
		t.Fatal(err)
	}
	store := inmem.NewFromObject(map[string]any{"mandate": policy})

	modules := map[string]*ast.Module{}
	for _, f := range append(Files(), TestFiles()...) {
		m, err := ast.ParseModuleWithOpts(f.Path, string(f.Data), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			t.Fatalf("parsing %s: %v", f.Path, err)
		}
		modules[f.Path] = m
	}
	if len(TestFiles()) == 0 {
		t.Fatal("no Rego tests embedded")
	}

	ctx := context.Background()
	txn := storage.NewTransactionOrDie(ctx, store)
	defer store.Abort(ctx, txn)
	ch, err := tester.NewRunner().
		SetStore(store).
		SetModules(modules).
		SetDefaultRegoVersion(ast.RegoV1).
		RaiseBuiltinErrors(true).
		RunTests(ctx, txn)
	if err != nil {
		t.Fatalf("running rego tests: %v", err)
	}
	n := 0
	for r := range ch {
		n++
		name := r.Package + "." + r.Name
		t.Run(strings.TrimPrefix(name, "data.mandate."), func(t *testing.T) {
			if r.Error != nil {
				t.Fatalf("error: %v", r.Error)
			}
			if !r.Pass() {
				t.Fatalf("failed (%s:%d)", r.Location.File, r.Location.Row)
			}
		})
	}
	if n < 30 {
		t.Errorf("ran %d Rego tests, want at least 30", n)
	}
}

func TestFilesExcludeTests(t *testing.T) {
	files := Files()
	if len(files) != 4 {
		t.Fatalf("got %d library files, want 4", len(files))
	}
	for _, f := range files {
		if strings.HasSuffix(f.Path, "_test.rego") || !strings.HasPrefix(f.Path, "mandate/") {
			t.Errorf("unexpected library file %s", f.Path)
		}
	}
}
