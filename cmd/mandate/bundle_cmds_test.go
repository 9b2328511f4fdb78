package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mandatehq/mandate/compiler/bundle"
	"github.com/mandatehq/mandate/runtime/identity"
)

// runBundleCmd runs the root command and returns its output and the exit
// code run() would return.
func runBundleCmd(t *testing.T, args ...string) (string, int) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	var ee *exitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		if ee.err != nil {
			out.WriteString(ee.err.Error())
		}
		return out.String(), ee.code
	case isUsageError(err):
		return out.String() + err.Error(), 2
	}
	return out.String() + err.Error(), 1
}

func TestKeysCompileVerifyExplainDiff(t *testing.T) {
	dir := t.TempDir()
	es, rs, other := filepath.Join(dir, "es"), filepath.Join(dir, "rs"), filepath.Join(dir, "other")
	quickstart := filepath.Join("..", "..", "examples", "quickstart")
	acme := filepath.Join("..", "..", "examples", "acme")
	b := filepath.Join(dir, "bundle.tar.gz")
	rb := filepath.Join(dir, "rs.tar.gz")

	steps := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"generate ES256", []string{"keys", "generate", "--alg", "ES256", "--out", es}, 0, "key id"},
		{"generate RS256", []string{"keys", "generate", "--alg", "RS256", "--out", rs, "--format", "json"}, 0, `"alg":"RS256"`},
		{"generate other", []string{"keys", "generate", "--out", other}, 0, "ES256"},
		{"generate refuses to overwrite", []string{"keys", "generate", "--out", es}, 1, "file exists"},
		{"generate bad alg", []string{"keys", "generate", "--alg", "HS256", "--out", filepath.Join(dir, "x")}, 2, "unknown --alg"},
		{"jwks", []string{"keys", "jwks", es + ".pub"}, 0, `"alg": "ES256"`},
		{"compile", []string{"compile", quickstart, "-o", b, "--signing-key", es + ".key", "--revision", "rev-test"}, 0, "revision rev-test"},
		{"compile RS256 json", []string{"compile", acme, "-o", rb, "--signing-key", rs + ".key", "--revision", "rev-acme", "--format", "json"}, 0, `"revision":"rev-acme"`},
		{"compile needs a key", []string{"compile", quickstart, "-o", b}, 2, "required"},
		{"compile invalid policy", []string{"compile", filepath.Join("..", "..", "compiler", "testdata", "errors", "duplicate_role"), "-o", filepath.Join(dir, "bad.tar.gz"), "--signing-key", es + ".key", "--revision", "x"}, 1, "Duplicate role"},
		{"verify", []string{"verify", b, "--key", es + ".pub"}, 0, "revision:    rev-test"},
		{"verify lists files", []string{"verify", b, "--key", es + ".pub"}, 0, "mandate/data.json"},
		{"verify RS256 among keys", []string{"verify", rb, "--key", es + ".pub", "--key", rs + ".pub", "--format", "json"}, 0, `"verified":true`},
		{"verify wrong key", []string{"verify", b, "--key", other + ".pub"}, 1, "not a configured verification key"},
		{"verify wrong key json", []string{"verify", b, "--key", other + ".pub", "--format", "json"}, 1, `"verified":false`},
		{"verify needs a key", []string{"verify", b}, 2, "--key"},
		{"explain dir allow", []string{"explain", quickstart, "--agent", "fulfilment-planner", "--connection", "orders_db", "--sql", "SELECT id FROM orders"}, 0, "ALLOW"},
		{"explain bundle deny", []string{"explain", b, "--key", es + ".pub", "--agent", "fulfilment-planner", "--connection", "orders_db", "--sql", "DELETE FROM orders"}, 1, "DENY"},
		{"explain source location", []string{"explain", b, "--key", es + ".pub", "--agent", "fulfilment-planner", "--connection", "orders_db", "--sql", "SELECT id FROM orders"}, 0, "decided by: roles.hcl:"},
		{"explain needs approval json", []string{"explain", quickstart, "--agent", "fulfilment-planner", "--connection", "orders_db", "--sql", "UPDATE orders SET status = 'x'", "--format", "json"}, 1, `"result": "needs_approval"`},
		{"explain ssh", []string{"explain", quickstart, "--agent", "release-bot", "--connection", "build_host", "--command", "systemctl status app"}, 0, "ALLOW"},
		{"explain session", []string{"explain", quickstart, "--agent", "release-bot", "--connection", "orders_db", "--session"}, 1, "DENY"},
		{"explain bundle without key", []string{"explain", b, "--agent", "a", "--connection", "c", "--command", "id"}, 1, "verification key is required"},
		{"explain two questions", []string{"explain", quickstart, "--agent", "a", "--connection", "c", "--command", "id", "--shell"}, 2, "exactly one"},
		{"explain bad sql", []string{"explain", quickstart, "--agent", "fulfilment-planner", "--connection", "orders_db", "--sql", "SELEC nonsense"}, 1, "analyzing SQL"},
		{"diff same", []string{"diff", quickstart, b, "--key", es + ".pub", "--exit-code"}, 0, "no change"},
		{"diff changed", []string{"diff", quickstart, acme, "--format", "markdown", "--exit-code"}, 1, "effective access changes"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			out, code := runBundleCmd(t, s.args...)
			if code != s.code || !strings.Contains(out, s.contains) {
				t.Fatalf("mandate %s: exit %d, want %d; output lacks %q:\n%s", strings.Join(s.args, " "), code, s.code, s.contains, out)
			}
		})
	}
}

// TestKeyIDsAgree checks that bundle signatures, JWKS documents and minted
// tokens name a key by the same id.
func TestKeyIDsAgree(t *testing.T) {
	for _, alg := range []string{bundle.ES256, bundle.RS256} {
		_, pub, err := bundle.GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		bid, err := bundle.KeyIDFromPEM(pub)
		if err != nil {
			t.Fatal(err)
		}
		key, err := identity.ParsePublicKeyPEM(pub)
		if err != nil {
			t.Fatal(err)
		}
		iid, err := identity.KeyID(key)
		if err != nil {
			t.Fatal(err)
		}
		if bid != iid {
			t.Errorf("%s: bundle key id %q, identity key id %q", alg, bid, iid)
		}
		p := filepath.Join(t.TempDir(), "k.pub")
		if err := os.WriteFile(p, pub, 0o644); err != nil {
			t.Fatal(err)
		}
		out, code := runBundleCmd(t, "keys", "jwks", p)
		var set struct {
			Keys []struct {
				Kid string `json:"kid"`
			} `json:"keys"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &set) != nil || len(set.Keys) != 1 || set.Keys[0].Kid != bid {
			t.Errorf("%s: jwks output (exit %d):\n%s", alg, code, out)
		}
	}
}
