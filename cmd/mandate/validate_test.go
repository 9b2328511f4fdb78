package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// execCompilerCmd runs the root command with args and returns its output
// and the exit code run() would return.
func execCompilerCmd(t *testing.T, args ...string) (string, int) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return out.String(), 0
	}
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return out.String(), ee.code
	case isUsageError(err):
		return out.String() + err.Error(), 2
	}
	return out.String() + err.Error(), 1
}

func TestValidateCommand(t *testing.T) {
	fixtures := filepath.Join("..", "..", "compiler", "testdata", "errors")
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"quickstart", []string{"validate", "../../examples/quickstart"}, 0, "is valid: 2 agents"},
		{"acme", []string{"validate", "../../examples/acme", "--format", "json"}, 0, "["}, // overdue warnings may appear as time passes
		{"invalid-text", []string{"validate", filepath.Join(fixtures, "literal_secret")}, 1, "Error: Literal secret in credential"},
		{"invalid-json", []string{"validate", "--format", "json", filepath.Join(fixtures, "duplicate_role")}, 1, `"summary": "Duplicate role"`},
		{"invalid-github", []string{"validate", "--format=github", filepath.Join(fixtures, "literal_secret")}, 1, "::error file=" + filepath.ToSlash(filepath.Join(fixtures, "literal_secret", "main.hcl")) + ",line=7,col=16"},
		{"overdue-warns", []string{"validate", filepath.Join(fixtures, "overdue_review")}, 0, "Warning: Overdue review"},
		{"overdue-fails", []string{"validate", "--fail-on-overdue", filepath.Join(fixtures, "overdue_review")}, 1, "Error: Overdue review"},
		{"bad-format", []string{"validate", "--format", "yaml", "../../examples/quickstart"}, 2, "unknown --format"},
		{"no-args", []string{"validate"}, 2, "accepts 1 arg"},
		{"missing-dir", []string{"validate", "/nonexistent/policy"}, 1, "Failed to read policy directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := execCompilerCmd(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; output:\n%s", code, tc.code, out)
			}
			if !strings.Contains(out, tc.contains) {
				t.Errorf("output does not contain %q:\n%s", tc.contains, out)
			}
		})
	}
}

func TestFmtCommand(t *testing.T) {
	dir := t.TempDir()
	ugly := "group \"g\" {\nmembers=[\"a@example.com\"]\n    github = [\"octocat\"]\n}\n"
	path := filepath.Join(dir, "groups.hcl")
	if err := os.WriteFile(path, []byte(ugly), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := execCompilerCmd(t, "fmt", "-check", dir)
	if code != 1 || !strings.Contains(out, "groups.hcl") {
		t.Fatalf("fmt -check on an unformatted file: code %d, output %q", code, out)
	}
	if b, _ := os.ReadFile(path); string(b) != ugly {
		t.Fatal("fmt -check changed the file")
	}
	if out, code = execCompilerCmd(t, "fmt", dir); code != 0 || !strings.Contains(out, "groups.hcl") {
		t.Fatalf("fmt: code %d, output %q", code, out)
	}
	want := "group \"g\" {\n  members = [\"a@example.com\"]\n  github  = [\"octocat\"]\n}\n"
	if b, _ := os.ReadFile(path); string(b) != want {
		t.Fatalf("formatted file:\n%s\nwant:\n%s", b, want)
	}
	if out, code = execCompilerCmd(t, "fmt", "--check", dir); code != 0 || out != "" {
		t.Fatalf("fmt --check after fmt: code %d, output %q", code, out)
	}
	if _, code = execCompilerCmd(t, "fmt", "-check", "../../examples"); code != 0 {
		t.Fatal("examples are not formatted")
	}
	if _, code = execCompilerCmd(t, "fmt", "-bogus", dir); code != 2 {
		t.Fatalf("fmt -bogus: code %d, want 2", code)
	}
	os.WriteFile(filepath.Join(dir, "broken.hcl"), []byte("group {"), 0o644)
	if out, code = execCompilerCmd(t, "fmt", "-check", dir); code != 1 || !strings.Contains(out, "broken.hcl") {
		t.Fatalf("fmt on a broken file: code %d, output %q", code, out)
	}
}
