package compiler

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput checks that hostile or broken input yields a diagnostic, not
// a panic, and that the expected summary is among the diagnostics.
func TestBadInput(t *testing.T) {
	doubling := func(n int) string {
		var b strings.Builder
		b.WriteString("locals {\n  l0 = [\"" + strings.Repeat("x", 1000) + "\"]\n")
		for i := 1; i <= n; i++ {
			b.WriteString("  l" + itoa(i) + " = concat(local.l" + itoa(i-1) + ", local.l" + itoa(i-1) + ")\n")
		}
		b.WriteString("}\n")
		return b.String()
	}
	for _, tc := range []struct {
		name    string
		src     string
		size    int64 // when set, a sparse file of this size
		summary string
	}{
		{"garbage", "\x00\x01\x02{{{}}}]]", 0, "Invalid character"},
		{"binary-utf8", "ELF\x01 }}} = = {", 0, "Invalid character"},
		{"non-utf8", "group \"a\" {\n  members = [\"\xff\xfe\"]\n}\n", 0, "Invalid UTF-8"},
		{"huge-file", "", 50 << 20, "File too large"},
		{"deep-nesting", "locals {\n a = " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n}\n", 0, "Nesting too deep"},
		{"deep-parens", "locals {\n a = " + strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000) + "\n}\n", 0, "Nesting too deep"},
		{"deep-template", "locals {\n a = \"" + strings.Repeat("${\"", 200) + strings.Repeat("\"}", 200) + "\"\n}\n", 0, "Nesting too deep"},
		{"heredoc-quote", "locals {\n a = <<EOT\n\"\nEOT\n b = " + strings.Repeat("[", 100000) + "\n}\n", 0, "Nesting too deep"},
		{"cyclic-locals", "locals {\n a = local.b\n b = local.c\n c = local.a\n}\n", 0, "Cyclic local value"},
		{"self-local", "locals {\n a = local.a\n}\n", 0, "Cyclic local value"},
		{"unknown-function", "locals {\n a = file_contents(\"/etc/passwd\")\n}\n", 0, "Call to unknown function"},
		{"doubling-locals", doubling(60), 0, "Value too large"},
		{"for-blowup", doubling(6) + "locals {\n z = [for a in local.l6 : [for b in local.l6 : [for c in local.l6 : local.l6]]]\n}\n", 0, "Expression too large"},
		{"template-blowup", doubling(0) + "locals {\n s = join(\"\", local.l0)\n t = \"" + strings.Repeat("${local.s}", 20000) + "\"\n}\n", 0, "Expression too large"},
		{"unclosed", "role \"x\" {\n  postgres \"db\" {\n", 0, "Unclosed configuration block"},
		{"bad-label-count", "role {\n}\n", 0, "Missing name for role"},
		{"attribute-at-top", "foo = 1\n", 0, "Unsupported argument"},
		{"number-as-list", "group \"g\" {\n  members = 5\n}\n", 0, "Invalid value"},
		{"null-issuer", "agent \"a\" {\n  identity {\n    issuer = null\n    subject = \"x\"\n  }\n}\n", 0, "Invalid value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "main.hcl")
			if tc.size > 0 {
				f, err := os.Create(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.Truncate(tc.size); err != nil {
					t.Fatal(err)
				}
				f.Close()
			} else if err := os.WriteFile(path, []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			repo, diags := Load(dir, Options{Now: testNow})
			if repo == nil || repo.Policy == nil {
				t.Fatal("Load returned no partial repository")
			}
			if !diags.HasErrors() {
				t.Fatalf("no error diagnostics; got %v", diags)
			}
			for _, d := range diags {
				if d.Summary == tc.summary {
					return
				}
			}
			t.Errorf("no %q diagnostic; got %v", tc.summary, diags)
		})
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestLoadMissingDirectory(t *testing.T) {
	repo, diags := Load(filepath.Join(t.TempDir(), "nope"), Options{})
	if !diags.HasErrors() || repo == nil {
		t.Fatalf("want an error and a repo, got %v %v", repo, diags)
	}
}

func TestHiddenDirectoriesSkipped(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ".git"), 0o755)
	os.WriteFile(filepath.Join(dir, ".git", "bad.hcl"), []byte("garbage {"), 0o644)
	os.MkdirAll(filepath.Join(dir, "teams", "a"), 0o755)
	os.WriteFile(filepath.Join(dir, "teams", "a", "g.hcl"), []byte("group \"g\" {\n  members = [\"a@example.com\"]\n}\n"), 0o644)
	repo, diags := Load(dir, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if g := repo.Policy.Groups["g"]; g == nil || g.Source.File != "teams/a/g.hcl" {
		t.Fatalf("group source = %+v, want file teams/a/g.hcl", g)
	}
	if _, ok := repo.Files["teams/a/g.hcl"]; !ok {
		t.Fatalf("Files keys = %v", repo.Files)
	}
}
