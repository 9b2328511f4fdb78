package decision

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mandatehq/mandate/model"
)

const now = 1800000000

func pg(agent string, accesses ...model.Access) *model.Input {
	return &model.Input{Kind: "postgres", Agent: agent, Connection: "orders_db", NowUnix: now,
		Statement: &model.Statement{Fingerprint: "fp", Tag: "SELECT", Accesses: accesses}}
}

func sel(table string) model.Access { return model.Access{Class: "select", Table: table} }

func TestDecide(t *testing.T) {
	e := newEngine(t, fixturePolicy(t), Options{})
	tests := []struct {
		name string
		in   *model.Input
		want model.Decision
	}{
		{
			name: "select allowed with masking",
			in:   pg("fulfilment-planner", sel("public.orders")),
			want: model.Decision{Result: model.Allow, Role: "order_reader", Grant: "orders_db", Masking: []string{"pii"}, ReadOnly: true,
				Source: &model.Source{File: "roles.hcl", Line: 4, Column: 3}},
		},
		{
			name: "update needs approval",
			in:   pg("fulfilment-planner", model.Access{Class: "update", Table: "public.orders"}),
			want: model.Decision{Result: model.NeedsApproval, Role: "order_reader", Grant: "orders_db", Requestable: "order_reader",
				Masking: []string{"pii"}, Source: &model.Source{File: "roles.hcl", Line: 10, Column: 3}},
		},
		{
			name: "delete denied",
			in:   pg("fulfilment-planner", model.Access{Class: "delete", Table: "public.orders"}),
			want: model.Decision{Result: model.Deny, Source: &model.Source{File: "agents.hcl", Line: 1, Column: 1}},
		},
		{
			name: "ssh glob",
			in:   &model.Input{Kind: "ssh", Agent: "deploy-bot", Connection: "build_host", NowUnix: now, Command: "journalctl -u app -n 20"},
			want: model.Decision{Result: model.Allow, Role: "deployer", Grant: "build_host", ReadOnly: false,
				Source: &model.Source{File: "roles.hcl", Line: 41, Column: 3}},
		},
		{
			name: "session overdue warn",
			in:   &model.Input{Kind: "session", Agent: "stale-bot", Connection: "orders_db", NowUnix: now},
			want: model.Decision{Result: model.Allow, Role: "stale_warn", Grant: "orders_db", ReadOnly: true, Overdue: []string{"stale_warn"},
				Source: &model.Source{File: "stale.hcl", Line: 21, Column: 3}},
		},
		{
			name: "unknown kind fails closed",
			in:   &model.Input{Kind: "k8s", Agent: "deploy-bot"},
			want: model.Decision{Result: model.Deny},
		},
	}
	ignore := cmpopts.IgnoreFields(model.Decision{}, "Reason", "Hint", "ID", "Revision")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := e.Decide(context.Background(), tt.in)
			if diff := cmp.Diff(tt.want, d, ignore); diff != "" {
				t.Errorf("decision (-want +got):\n%s\nreason: %s", diff, d.Reason)
			}
			if d.Reason == "" || d.ID == "" || d.Revision != "rev-1" {
				t.Errorf("decision lacks reason, id or revision: %+v", d)
			}
		})
	}
}

func TestDecideFailsClosed(t *testing.T) {
	e := newEngine(t, fixturePolicy(t), Options{})
	for name, in := range map[string]*model.Input{
		"nil":          nil,
		"unknown kind": {Kind: "http", Agent: "fulfilment-planner", Connection: "orders_db"},
	} {
		t.Run(name, func(t *testing.T) {
			d, err := e.Decide(context.Background(), in)
			if err == nil || d.Result != model.Deny || !strings.Contains(d.Reason, "fail closed") {
				t.Fatalf("got %+v, %v; want a deny and an error", d, err)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, err := newEngine(t, fixturePolicy(t), Options{CacheSize: -1}).Decide(ctx, pg("fulfilment-planner", sel("public.orders")))
	if err == nil || d.Result != model.Deny {
		t.Fatalf("cancelled context: got %+v, %v; want a deny and an error", d, err)
	}
}

func TestCache(t *testing.T) {
	e := newEngine(t, fixturePolicy(t), Options{CacheSize: 64})
	ctx := context.Background()
	in := pg("fulfilment-planner", sel("public.orders"))
	a, _ := e.Decide(ctx, in)
	b, _ := e.Decide(ctx, in)
	if a.ID == b.ID {
		t.Error("two decisions share an id")
	}
	if diff := cmp.Diff(a, b, cmpopts.IgnoreFields(model.Decision{}, "ID")); diff != "" {
		t.Errorf("cached decision differs:\n%s", diff)
	}
	// The review of stale_approver is due at 1700000000 + 86400 grace: the
	// same statement before and after that instant decides differently even
	// though the cache saw it first.
	stock := func(t int64) *model.Input {
		in := pg("stale-bot", sel("stock.items"))
		in.NowUnix = t
		return in
	}
	for _, tc := range []struct {
		now  int64
		want string
	}{
		{1700000000 + 86400, model.Allow},
		{1700000000 + 86401, model.NeedsApproval},
		{1700000000 + 86400, model.Allow},
	} {
		if d, _ := e.Decide(ctx, stock(tc.now)); d.Result != tc.want {
			t.Errorf("at %d: %s, want %s (%s)", tc.now, d.Result, tc.want, d.Reason)
		}
	}
	// Bounded: many distinct statements never grow the cache past its size.
	for i := range 1000 {
		in := pg("fulfilment-planner", sel("public.orders"))
		in.Statement.Fingerprint = string(rune('a'+i%26)) + strings.Repeat("x", i)
		e.Decide(ctx, in)
	}
	n := 0
	for i := range e.cache.shards {
		n += len(e.cache.shards[i].m)
	}
	if n > 64 {
		t.Errorf("cache holds %d entries, limit 64", n)
	}
}

func TestCacheKeyDistinguishesInputs(t *testing.T) {
	base := func() *model.Input { return pg("a", sel("public.orders")) }
	mods := map[string]func(*model.Input){
		"agent":      func(in *model.Input) { in.Agent = "b" },
		"connection": func(in *model.Input) { in.Connection = "other" },
		"kind":       func(in *model.Input) { in.Kind = "session" },
		"class":      func(in *model.Input) { in.Statement.Accesses[0].Class = "delete" },
		"table":      func(in *model.Input) { in.Statement.Accesses[0].Table = "public.other" },
		"function":   func(in *model.Input) { in.Statement.Functions = []string{"f"} },
		"filter":     func(in *model.Input) { in.Statement.FilterColumns = []string{"public.orders.id"} },
		"approval":   func(in *model.Input) { in.Approvals = []model.ActiveApproval{{ID: "1", Role: "r"}} },
		"forbidden":  func(in *model.Input) { in.Statement.Forbidden = "no" },
		"always":     func(in *model.Input) { in.Statement.Always = true },
		"command":    func(in *model.Input) { in.Command = "id" },
		"shell":      func(in *model.Input) { in.Shell = true },
		"split":      func(in *model.Input) { in.Agent = "a1"; in.Connection = "orders_db" },
	}
	seen := map[string]string{cacheKey(base(), 0): "base"}
	for name, mod := range mods {
		in := base()
		mod(in)
		k := cacheKey(in, 0)
		if prev, dup := seen[k]; dup {
			t.Errorf("%s and %s share a cache key", name, prev)
		}
		seen[k] = name
	}
	if cacheKey(base(), 0) == cacheKey(base(), 1) {
		t.Error("review buckets share a cache key")
	}
}

func TestConcurrentDecideAndSwap(t *testing.T) {
	p := fixturePolicy(t)
	old := newEngine(t, p, Options{})
	revoked := fixturePolicy(t)
	revoked.Agents["fulfilment-planner"].Roles = nil
	next := newEngine(t, revoked, Options{})
	var current sync.Map
	current.Store("e", old)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				e, _ := current.Load("e")
				in := pg("fulfilment-planner", sel("public.orders"))
				if i%3 == 0 {
					in.Statement.Fingerprint = "other"
				}
				if d, err := e.(*Engine).Decide(context.Background(), in); err != nil || d.Result == "" {
					t.Errorf("decide: %+v %v", d, err)
					return
				}
			}
		}()
	}
	current.Store("e", next)
	wg.Wait()
	d, _ := next.Decide(context.Background(), pg("fulfilment-planner", sel("public.orders")))
	if d.Result != model.Deny {
		t.Errorf("after revocation: %s (%s)", d.Result, d.Reason)
	}
}
