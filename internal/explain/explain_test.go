package explain

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mandatehq/mandate/compiler/bundle"
	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/decision"
)

var quickstart = filepath.Join("..", "..", "examples", "quickstart")

func engineFor(t *testing.T, path string, keys map[string][]byte) *decision.Engine {
	t.Helper()
	o, err := Open(path, keys, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if o.Diags.HasErrors() {
		t.Fatal(o.Diags.Error())
	}
	e, err := decision.New(context.Background(), o.Loaded, decision.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestExplain(t *testing.T) {
	e := engineFor(t, quickstart, nil)
	tests := []struct {
		name string
		req  Request
		want []string
	}{
		{"select", Request{SQL: "SELECT id FROM orders"}, []string{model.Allow}},
		{"two statements", Request{SQL: "SELECT 1 FROM orders; DELETE FROM orders"}, []string{model.Allow, model.Deny}},
		{"update", Request{SQL: "UPDATE orders SET status = 'x'"}, []string{model.NeedsApproval}},
		{"approved update", Request{SQL: "UPDATE orders SET status = 'x'", Approvals: []model.ActiveApproval{{ID: "a1", Role: "order_reader"}}}, []string{model.Allow}},
		{"session", Request{Session: true}, []string{model.Allow}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Agent, tt.req.Connection = "fulfilment-planner", "orders_db"
			r, err := Explain(context.Background(), e, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range r.Items {
				got = append(got, it.Decision.Result)
				if it.Decision.Reason == "" {
					t.Errorf("%q: no reason", it.Text)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			allAllowed := true
			for _, w := range tt.want {
				allAllowed = allAllowed && w == model.Allow
			}
			if (r.Result == model.Allow) != allAllowed {
				t.Errorf("overall result %s", r.Result)
			}
		})
	}
	if _, err := Explain(context.Background(), e, Request{Agent: "a", Connection: "c"}); err == nil {
		t.Error("a request without a question was explained")
	}
}

func TestOpenBundleFile(t *testing.T) {
	o, err := Open(quickstart, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	priv, pub, err := bundle.GenerateKey(bundle.ES256)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Build(o.Repo.Policy, bundle.Options{Revision: "r1", SigningKey: priv})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "b.tar.gz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Write(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if e := engineFor(t, p, map[string][]byte{b.KeyID: pub}); e.Revision() != "r1" {
		t.Errorf("revision %q", e.Revision())
	}
	if _, err := Open(p, nil, time.Now()); err == nil {
		t.Error("a bundle opened without a key")
	}
	_, otherPub, _ := bundle.GenerateKey(bundle.ES256)
	if _, err := Open(p, map[string][]byte{b.KeyID: otherPub}, time.Now()); err == nil {
		t.Error("a bundle opened with the wrong key")
	}
}
