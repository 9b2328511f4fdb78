package review

import (
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/mandatehq/mandate/compiler"
	"github.com/mandatehq/mandate/model"
)

// signedUsage signs u like the recorder's export does.
func signedUsage(t testing.TB, u *model.Usage, priv ed25519.PrivateKey) []byte {
	t.Helper()
	payload, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(model.SignedUsage{Payload: payload, KeyID: "gw-1", Algorithm: "ed25519", Signature: ed25519.Sign(priv, payload)}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

func testKey() (ed25519.PublicKey, ed25519.PrivateKey) {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), priv
}

// TestBuildGolden runs the whole review of testdata/repo, compiled by the
// real compiler, and compares every file it would commit with golden files.
func TestBuildGolden(t *testing.T) {
	repo, diags := compiler.Load("testdata/repo", compiler.Options{Now: date("2026-11-26")})
	if diags.HasErrors() {
		t.Fatalf("compiling testdata/repo: %v", diags)
	}
	pub, priv := testKey()
	loaded, err := ParseUsage(signedUsage(t, testUsage(), priv), pub)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Propose(repo.Policy, loaded.Usage, Options{Now: date("2026-11-26")})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := Build("testdata/repo", plan, loaded)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 {
		t.Fatalf("%d role outputs, want 1", len(outs))
	}
	ro := outs[0]
	if ro.Branch != "recert/order_reader-2026-11-26" {
		t.Errorf("branch = %s", ro.Branch)
	}
	if diff := cmp.Diff([]string{"agents.hcl", "roles.hcl"}, ro.Edited); diff != "" {
		t.Errorf("edited files: %s", diff)
	}
	var names []string
	for name, data := range ro.Files {
		names = append(names, name)
		if strings.HasSuffix(name, "-usage.json") {
			continue
		}
		golden(t, "golden/"+name, data)
		if strings.HasSuffix(name, ".hcl") {
			// The edited repository still compiles.
			if err := os.WriteFile(filepath.Join(t.TempDir(), "x"), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	slices.Sort(names)
	want := []string{"agents.hcl",
		"reviews/order_reader-2026-11-26-postgres-audit_db.svg",
		"reviews/order_reader-2026-11-26-postgres-orders_db.svg",
		"reviews/order_reader-2026-11-26-postgres-sales_db.svg",
		"reviews/order_reader-2026-11-26-ssh-build_host.svg",
		"reviews/order_reader-2026-11-26-usage.json",
		"reviews/order_reader-2026-11-26.md",
		"roles.hcl"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	golden(t, "golden/commit-message.txt", []byte(ro.Message))

	// The edited repository compiles, with last_reviewed moved and the
	// review no longer overdue.
	dir := t.TempDir()
	for _, f := range []string{"connections.hcl", "roles.hcl", "agents.hcl"} {
		data, err := os.ReadFile(filepath.Join("testdata/repo", f))
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := ro.Files[f]; ok {
			data = d
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	after, diags := compiler.Load(dir, compiler.Options{Now: date("2026-11-26")})
	if diags.HasErrors() {
		t.Fatalf("edited repository does not compile: %v", diags)
	}
	for _, d := range diags {
		if d.Severity == hcl.DiagWarning && strings.Contains(d.Summary, "Overdue") {
			t.Errorf("still overdue after the edit: %v", d)
		}
	}
	r := after.Policy.Roles["order_reader"]
	if r.Review.LastReviewed != "2026-11-26" || r.Postgres["audit_db"] != nil || after.Policy.Agents["legacy-batch"] != nil {
		t.Errorf("edited policy: last_reviewed=%s audit_db=%v legacy-batch=%v", r.Review.LastReviewed, r.Postgres["audit_db"], after.Policy.Agents["legacy-batch"])
	}
	if diff := cmp.Diff([]string{"sales.invoices", "sales.orders"}, r.Postgres["sales_db"].Tables); diff != "" {
		t.Errorf("sales_db tables: %s", diff)
	}
	// A second review of the edited repository with the same usage
	// proposes nothing but the date: the proposal is a fixed point.
	plan2, err := Propose(after.Policy, loaded.Usage, Options{Now: date("2026-11-26"), Roles: []string{"order_reader"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"set_last_reviewed  2026-11-26"}, kinds(plan2.Roles[0].Proposals)); diff != "" {
		t.Errorf("second review proposals: %s", diff)
	}
}
