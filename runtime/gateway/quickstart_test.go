package gateway_test

import (
	"bytes"
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/mandatehq/mandate/compiler"
	"github.com/mandatehq/mandate/compiler/bundle"
	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/api"
	gt "github.com/mandatehq/mandate/runtime/gateway/gatewaytest"
)

// TestQuickstartDryRuns compiles examples/quickstart, serves it, and asks
// /v1/decide what its agents may do.
func TestQuickstartDryRuns(t *testing.T) {
	_, here, _, _ := runtime.Caller(0)
	repo, diags := compiler.Load(filepath.Join(filepath.Dir(here), "..", "..", "examples", "quickstart"),
		compiler.Options{Now: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	s := gt.NewSigner(t)
	b, err := bundle.Build(repo.Policy, bundle.Options{Revision: gt.Rev(42), CommitTime: gt.Time(42), SigningKey: s.Private})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s.WritePublic(t, dir, "keys/bundle.pub")
	writeAtomic(t, filepath.Join(dir, "bundle.tar.gz"), buf.Bytes())
	cfg := writeConfig(t, dir, `
listen {
  api           = "127.0.0.1:0"
  api_plaintext = true
}
api { open_dry_run = true }
bundle {
  source           = "file://bundle.tar.gz"
  verification_key = "keys/bundle.pub"
}
`)
	g := start(t, cfg, nil)
	base := baseURL(g)
	eventually(t, "ready", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 })

	now := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) // reviews current
	for _, tc := range []struct {
		name string
		req  api.DecideRequest
		want string
	}{
		{"planner reads orders", api.DecideRequest{Agent: "fulfilment-planner", Connection: "orders_db", SQL: "select id, status from orders"}, model.Allow},
		{"planner updates orders with approval", api.DecideRequest{Agent: "fulfilment-planner", Connection: "orders_db", SQL: "update orders set status = 'x' where id = 1"}, model.NeedsApproval},
		{"planner deletes", api.DecideRequest{Agent: "fulfilment-planner", Connection: "orders_db", SQL: "delete from orders"}, model.Deny},
		{"release bot status", api.DecideRequest{Agent: "release-bot", Connection: "build_host", Command: "systemctl status app"}, model.Allow},
		{"release bot reboot", api.DecideRequest{Agent: "release-bot", Connection: "build_host", Command: "reboot"}, model.Deny},
		{"unknown agent", api.DecideRequest{Agent: "intruder", Connection: "orders_db", SQL: "select 1 from orders"}, model.Deny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Now = &now
			d, err := api.Decide(context.Background(), base, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if d.Result != tc.want || d.Revision != gt.Rev(42) || d.ID == "" || d.Reason == "" {
				t.Errorf("decision = %+v, want %s on %s", d, tc.want, gt.Rev(42))
			}
		})
	}
}
