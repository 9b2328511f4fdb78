package review

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDiffApplies checks Diff's output with the patch tool when present.
func TestDiffApplies(t *testing.T) {
	patch, err := exec.LookPath("patch")
	if err != nil {
		t.Skip("patch not installed")
	}
	before, err := os.ReadFile("testdata/repo/roles.hcl")
	if err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile("testdata/golden/roles.hcl")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "roles.hcl")
	if err := os.WriteFile(f, before, 0o644); err != nil {
		t.Fatal(err)
	}
	d := Diff("roles.hcl", before, after)
	cmd := exec.Command(patch, "-p1", "--no-backup-if-mismatch")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(d)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("patch: %v\n%s\n%s", err, out, d)
	}
	got, _ := os.ReadFile(f)
	if string(got) != string(after) {
		t.Errorf("patched file differs:\n%s", got)
	}
	if Diff("x", before, before) != "" {
		t.Error("diff of equal files is not empty")
	}
}
