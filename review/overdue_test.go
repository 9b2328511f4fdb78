package review

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mandatehq/mandate/compiler"
	"github.com/mandatehq/mandate/compiler/bundle"
	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/decision"
)

// decide compiles the repository in dir into a signed bundle, loads it as
// the gateway does and decides one input.
func decide(t *testing.T, dir string, in *model.Input) model.Decision {
	t.Helper()
	repo, diags := compiler.Load(dir, compiler.Options{Now: date("2026-11-26")})
	if diags.HasErrors() {
		t.Fatalf("compiling %s: %v", dir, diags)
	}
	priv, pub, err := bundle.GenerateKey(bundle.ES256)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Build(repo.Policy, bundle.Options{Revision: "test", SigningKey: priv})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	l, err := bundle.Load(&buf, map[string][]byte{b.KeyID: pub}, bundle.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := decision.New(context.Background(), l, decision.Options{CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Decide(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestOverdueClearedByRecertification: order_reader's review is overdue
// with on_overdue = "require_approval", so the gateway refuses its grants
// saying an approval is required; the recertification edits (merged, then
// compiled into the next bundle) clear it.
func TestOverdueClearedByRecertification(t *testing.T) {
	in := &model.Input{Kind: "postgres", Agent: "fulfilment-planner", Connection: "orders_db", NowUnix: date("2026-11-26").Unix() + 3600,
		Statement: &model.Statement{Fingerprint: "f", Tag: "SELECT", Accesses: []model.Access{{Class: "select", Table: "public.orders"}}}}
	before := decide(t, "testdata/repo", in)
	if before.Result == model.Allow || !strings.Contains(strings.ToLower(before.Reason), "approval") {
		t.Fatalf("overdue role: decision %+v, want a refusal that asks for an approval", before)
	}

	repo, diags := compiler.Load("testdata/repo", compiler.Options{Now: date("2026-11-26")})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	plan, err := Propose(repo.Policy, testUsage(), Options{Now: date("2026-11-26")})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := Build("testdata/repo", plan, &Loaded{Usage: testUsage()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"connections.hcl", "roles.hcl", "agents.hcl"} {
		data, err := os.ReadFile(filepath.Join("testdata/repo", f))
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := outs[0].Files[f]; ok {
			data = d
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	after := decide(t, dir, in)
	if after.Result != model.Allow {
		t.Fatalf("recertified role: decision %+v, want allow", after)
	}
	// What the review removed is now denied.
	in.Statement.Accesses = []model.Access{{Class: "update", Table: "public.orders"}}
	if d := decide(t, dir, in); d.Result == model.Allow {
		t.Errorf("update after its removal: %+v", d)
	}
}
