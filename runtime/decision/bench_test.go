package decision

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/mandatehq/mandate/compiler"
	"github.com/mandatehq/mandate/compiler/bundle"
	"github.com/mandatehq/mandate/compiler/gen"
	"github.com/mandatehq/mandate/model"
)

// acmeEngine compiles examples/acme, signs and loads it, and builds an Engine.
func acmeEngine(b *testing.B, opts Options) *Engine {
	b.Helper()
	repo, diags := compiler.Load(filepath.Join("..", "..", "examples", "acme"), compiler.Options{})
	if diags.HasErrors() {
		b.Fatalf("loading examples/acme: %s", diags.Error())
	}
	return newEngine(b, repo.Policy, opts)
}

// acmeInputs are a realistic mix on examples/acme: allowed, denied and
// requestable statements, a masked filter, an SSH command and a session.
func acmeInputs() []*model.Input {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC).Unix()
	st := func(agent, conn string, fp string, filters []string, acc ...model.Access) *model.Input {
		return &model.Input{Kind: "postgres", Agent: agent, Connection: conn, NowUnix: now,
			Statement: &model.Statement{Fingerprint: fp, Tag: "SELECT", Accesses: acc, FilterColumns: filters}}
	}
	return []*model.Input{
		st("fulfilment-planner", "orders_db", "q1", []string{"public.orders.status"},
			model.Access{Class: "select", Table: "public.orders"}, model.Access{Class: "select", Table: "public.order_items"}),
		st("fulfilment-planner", "orders_db", "q2", nil, model.Access{Class: "update", Table: "public.orders"}),
		st("fulfilment-planner", "orders_db", "q3", nil, model.Access{Class: "delete", Table: "public.orders"}),
		st("support-assistant", "orders_db", "q4", []string{"public.customers.email"}, model.Access{Class: "select", Table: "public.customers"}),
		st("checkout-backoffice", "orders_db", "q5", nil, model.Access{Class: "insert", Table: "public.orders"}),
		st("pricing-agent", "catalog_db", "q6", nil, model.Access{Class: "select", Table: "public.products"}),
		{Kind: "ssh", Agent: "order-archiver", Connection: "batch_host", NowUnix: now, Command: "systemctl status archiver"},
		{Kind: "session", Agent: "fulfilment-planner", Connection: "orders_db", NowUnix: now},
	}
}

// run times every call and reports the p50 and p99 of wall time and of the
// thread's CPU time, in µs, next to ns/op.
func run(b *testing.B, e *Engine, inputs []*model.Input) {
	ctx := context.Background()
	for _, in := range inputs { // warm up: fill the cache
		e.Decide(ctx, in)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	runtime.GC()
	wall := make([]time.Duration, 0, b.N)
	cpu := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in := inputs[i%len(inputs)]
		c0, t0 := threadCPU(), time.Now()
		if _, err := e.Decide(ctx, in); err != nil {
			b.Fatal(err)
		}
		wall = append(wall, time.Since(t0))
		cpu = append(cpu, threadCPU()-c0)
	}
	b.StopTimer()
	report := func(lat []time.Duration, unit string) {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) / 1e3 }
		b.ReportMetric(pct(0.50), "p50-"+unit)
		b.ReportMetric(pct(0.99), "p99-"+unit)
	}
	report(wall, "wall-µs")
	report(cpu, "cpu-µs")
}

func BenchmarkDecideCached(b *testing.B) {
	run(b, acmeEngine(b, Options{}), acmeInputs())
}

// BenchmarkDecideUncached decides every input afresh: the fast path
// answers what it models (reported as fast-%), OPA the rest.
func BenchmarkDecideUncached(b *testing.B) {
	e := acmeEngine(b, Options{CacheSize: -1})
	inputs := acmeInputs()
	fast := 0
	for _, in := range inputs {
		if _, ok := e.fast.decide(in); ok {
			fast++
		}
	}
	run(b, e, inputs)
	b.ReportMetric(100*float64(fast)/float64(len(inputs)), "fast-%")
}

// BenchmarkDecideUncachedRego is the baseline: OPA evaluates every input.
func BenchmarkDecideUncachedRego(b *testing.B) {
	run(b, acmeEngine(b, Options{CacheSize: -1, RegoOnly: true}), acmeInputs())
}

// BenchmarkDecideUncachedEach reports each input of the mix on its own.
func BenchmarkDecideUncachedEach(b *testing.B) {
	for _, eng := range []struct {
		name string
		opts Options
	}{{"fast", Options{CacheSize: -1}}, {"rego", Options{CacheSize: -1, RegoOnly: true}}} {
		e := acmeEngine(b, eng.opts)
		for i, in := range acmeInputs() {
			b.Run(fmt.Sprintf("%s/%d-%s-%s", eng.name, i, in.Kind, in.Agent), func(b *testing.B) {
				run(b, e, []*model.Input{in})
			})
		}
	}
}

// BenchmarkActivate10k measures what activating the generated 10,000-agent
// bundle costs: verifying and reading it (bundle.Load), then preparing the
// engine (New).
func BenchmarkActivate10k(b *testing.B) {
	dir := b.TempDir()
	if err := gen.Generate(dir, 10000, 2000, 500, 200); err != nil {
		b.Fatal(err)
	}
	repo, diags := compiler.Load(dir, compiler.Options{})
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	priv, pub, err := bundle.GenerateKey(bundle.ES256)
	if err != nil {
		b.Fatal(err)
	}
	bu, err := bundle.Build(repo.Policy, bundle.Options{Revision: "bench", SigningKey: priv})
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := bu.Write(&buf); err != nil {
		b.Fatal(err)
	}
	keys := map[string][]byte{bu.KeyID: pub}
	ctx := context.Background()
	// "rego" skips building the fast path: the difference is its cost.
	for _, eng := range []struct {
		name string
		opts Options
	}{{"fast", Options{}}, {"rego", Options{RegoOnly: true}}} {
		b.Run(eng.name, func(b *testing.B) {
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			c0 := processCPU()
			for i := 0; i < b.N; i++ {
				l, err := bundle.Load(bytes.NewReader(buf.Bytes()), keys, bundle.LoadOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := New(ctx, l, eng.opts); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			// Process CPU (both cores, GC included) per activation: what
			// the work costs whatever else loads the machine.
			b.ReportMetric(float64((processCPU()-c0).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}
