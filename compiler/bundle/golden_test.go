package bundle_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mandatehq/mandate/compiler"
	"github.com/mandatehq/mandate/compiler/bundle"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden compiles examples/quickstart into an unsigned bundle and compares the
// manifest and data with testdata/golden/NAME/ (go test -update rewrites
// them): a change to the bundle layout shows up in review as a diff.
func TestGolden(t *testing.T) {
	for _, name := range []string{"quickstart"} {
		t.Run(name, func(t *testing.T) {
			repo, diags := compiler.Load(filepath.Join("..", "..", "examples", name), compiler.Options{
				Now: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC),
			})
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			b, err := bundle.Build(repo.Policy, bundle.Options{
				Revision: "0000000000000000000000000000000000000000", CommitTime: time.Date(2026, 11, 2, 10, 30, 0, 0, time.UTC),
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, file := range []string{bundle.ManifestPath, bundle.DataPath} {
				got := b.File(file)
				if file == bundle.DataPath {
					var buf bytes.Buffer
					if err := jsonIndent(&buf, got); err != nil {
						t.Fatal(err)
					}
					got = buf.Bytes()
				}
				golden := filepath.Join("testdata", "golden", name, strings.TrimPrefix(filepath.Base(file), ".")+".golden")
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("reading golden file (run go test -update): %v", err)
				}
				if diff := cmp.Diff(string(want), string(got)); diff != "" {
					t.Errorf("%s differs from %s (-want +got; go test -update rewrites it):\n%s", file, golden, diff)
				}
			}
		})
	}
}
