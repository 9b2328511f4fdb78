package bundle

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// opaBinary finds the stock opa CLI: on PATH or at $REPO/bin/opa (make opa).
func opaBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("opa"); err == nil {
		return p
	}
	if p, err := filepath.Abs("../../bin/opa"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("the opa CLI is missing (run make opa)")
	}
	t.Skip("the opa CLI is missing: run make opa")
	return ""
}

// TestStockOPAVerifiesBundles checks that `opa build --verification-key`
// accepts mandate's signed bundles (ES256 and RS256) and rejects tampered,
// unsigned and wrongly signed ones, and that stock OPA evaluates the
// entrypoints of an accepted bundle.
func TestStockOPAVerifiesBundles(t *testing.T) {
	opa := opaBinary(t)
	dir := t.TempDir()
	ks := keys(t)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(args ...string) (string, error) {
		out, err := exec.Command(opa, args...).CombinedOutput()
		return string(out), err
	}
	verify := func(bundlePath string, key keyPair, alg string) (string, error) {
		return run("build", "-b", bundlePath,
			"--verification-key", write("key-"+kid(t, key.pub)+".pub", key.pub),
			"--verification-key-id", kid(t, key.pub),
			"--signing-alg", alg,
			"-o", filepath.Join(dir, "out-"+filepath.Base(bundlePath)))
	}

	es, rs := ks["es"], ks["rs"]
	good := signedBytes(t, es)
	unsigned, err := Build(fixturePolicy(t), Options{Revision: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		bundle []byte
		key    keyPair
		alg    string
		accept bool
	}{
		{"ES256", good, es, ES256, true},
		{"RS256", signedBytes(t, rs), rs, RS256, true},
		{"tampered data", edit(t, good, replaceIn(DataPath, `"select"`, `"delete"`)), es, ES256, false},
		{"tampered policy", edit(t, good, replaceIn("mandate/postgres.rego", `"deny"`, `"allow"`)), es, ES256, false},
		{"extra file", edit(t, good, add("mandate/extra.rego", "package mandate.extra\n")), es, ES256, false},
		{"missing file", edit(t, good, drop("mandate/ssh.rego")), es, ES256, false},
		{"unsigned", pack(t, unsigned.Files), es, ES256, false},
		{"wrong key", good, ks["other"], ES256, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(strings.ReplaceAll(tt.name, " ", "-")+".tar.gz", tt.bundle)
			out, err := verify(p, tt.key, tt.alg)
			if tt.accept && err != nil {
				t.Fatalf("opa rejected the bundle: %v\n%s", err, out)
			}
			if !tt.accept && err == nil {
				t.Fatalf("opa accepted the bundle:\n%s", out)
			}
		})
	}

	t.Run("evaluates entrypoints", func(t *testing.T) {
		p := write("eval.tar.gz", good)
		in := write("input.json", []byte(`{"kind":"postgres","agent":"fulfilment-planner","connection":"orders_db","now_unix":1800000000,
			"statement":{"accesses":[{"class":"select","table":"public.orders"}]}}`))
		out, err := run("eval", "-b", p, "-i", in, "--format", "raw", "data.mandate.postgres.decision.result")
		if err != nil || strings.TrimSpace(out) != "allow" {
			t.Fatalf("opa eval: %v\n%s", err, out)
		}
	})
}
