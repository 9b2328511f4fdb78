package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mandatehq/mandate/compiler/bundle"
)

func TestServeCheck(t *testing.T) {
	dir := t.TempDir()
	_, pub, err := bundle.GenerateKey(bundle.ES256)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "bundle.pub"), pub, 0o644)
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(src), 0o644)
		return p
	}
	good := write("good.hcl", `bundle {
  source           = "file://bundle.tar.gz"
  verification_key = "bundle.pub"
}
`)
	badKey := write("badkey.hcl", `bundle {
  source           = "file://bundle.tar.gz"
  verification_key = "missing.pub"
}
`)
	bad := write("bad.hcl", `bundle {
  source           = "ftp://x/b.tar.gz"
  verification_key = "bundle.pub"
  poll             = "often"
}
`)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"valid", []string{"serve", "--config", good, "--check"}, 0, []string{"configuration is valid"}},
		{"valid json", []string{"serve", "--config", good, "--check", "--format", "json"}, 0, []string{`{"valid":true}`}},
		{"missing key file", []string{"serve", "--config", badKey, "--check"}, 1, []string{"missing.pub"}},
		{"diagnostics", []string{"serve", "--config", bad, "--check"}, 1,
			[]string{"Invalid bundle source", "bad.hcl line 2", "Invalid duration", "bad.hcl line 4"}},
		{"diagnostics json", []string{"serve", "--config", bad, "--check", "--format", "json"}, 1,
			[]string{`"summary":"Invalid bundle source"`, `"line":2`, `"column":22`}},
		{"no such file", []string{"serve", "--config", filepath.Join(dir, "nope.hcl"), "--check"}, 1, []string{"Cannot read configuration file"}},
		{"bad format", []string{"serve", "--config", good, "--check", "--format", "yaml"}, 2, []string{"--format"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := execCompilerCmd(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code = %d, want %d; output:\n%s", code, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
