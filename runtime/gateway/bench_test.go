package gateway_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mandatehq/mandate/compiler"
	"github.com/mandatehq/mandate/compiler/bundle"
	"github.com/mandatehq/mandate/compiler/gen"
	"github.com/mandatehq/mandate/runtime/activation"
	"github.com/mandatehq/mandate/runtime/decision"
	gt "github.com/mandatehq/mandate/runtime/gateway/gatewaytest"
)

// Shape of the large benchmark policy: 10,000 agents.
const (
	benchAgents      = 10000
	benchRoles       = 1000
	benchConnections = 50
	benchMaskings    = 20
)

// largeBundles compiles a generated 10,000-agent repository and signs it
// twice, as two revisions (so that every Offer is a real activation).
func largeBundles(b *testing.B, s *gt.Signer) [2][]byte {
	b.Helper()
	dir := b.TempDir()
	if err := gen.Generate(dir, benchAgents, benchRoles, benchConnections, benchMaskings); err != nil {
		b.Fatal(err)
	}
	repo, diags := compiler.Load(dir, compiler.Options{})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	var out [2][]byte
	for i := range out {
		bb, err := bundle.Build(repo.Policy, bundle.Options{Revision: gt.Rev(i + 1), CommitTime: gt.Time(i + 1), SigningKey: s.Private})
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		if err := bb.Write(&buf); err != nil {
			b.Fatal(err)
		}
		out[i] = buf.Bytes()
	}
	return out
}

// BenchmarkActivate10kAgents measures one activation (verify the
// signature, decode, compile Rego, prepare queries, swap) of a bundle of
// 10,000 agents. Target: at most 500 ms.
func BenchmarkActivate10kAgents(b *testing.B) {
	s := gt.NewSigner(b)
	bundles := largeBundles(b, s)
	m, err := activation.New(activation.Options{
		Load:          activation.BundleLoader(map[string][]byte{s.KeyID: s.Public}, 64<<20, decision.Options{}),
		AllowRollback: true,
		Logger:        slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	cpu0 := cpuTime()
	n := 0
	for ; b.Loop(); n++ {
		if err := m.Offer(context.Background(), bundles[n%2]); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time (all threads, GC included) per activation: on a shared
	// machine it is steadier than wall time.
	b.ReportMetric(float64((cpuTime()-cpu0)/time.Millisecond)/float64(n), "cpu-ms/op")
	b.ReportMetric(float64(len(bundles[0]))/1024, "bundle-KiB")
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkActivateBaseline activates a one-agent bundle: the fixed cost
// (Rego library compile, query preparation) the 10,000-agent figure is
// compared with.
func BenchmarkActivateBaseline(b *testing.B) {
	s := gt.NewSigner(b)
	bundles := [2][]byte{
		s.Bundle(b, gt.Policy("a"), gt.Rev(1), gt.Time(1)),
		s.Bundle(b, gt.Policy("a"), gt.Rev(2), gt.Time(2)),
	}
	m, err := activation.New(activation.Options{
		Load:          activation.BundleLoader(map[string][]byte{s.KeyID: s.Public}, 64<<20, decision.Options{}),
		AllowRollback: true,
		Logger:        slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	cpu0 := cpuTime()
	n := 0
	for ; b.Loop(); n++ {
		if err := m.Offer(context.Background(), bundles[n%2]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0)/time.Millisecond)/float64(n), "cpu-ms/op")
}

// BenchmarkIdleRSS10kAgents starts a whole gateway on the 10,000-agent
// bundle, waits until it is ready, and reports the process's resident set
// (VmRSS, which includes the test binary) once the heap has settled.
// Target: below 300 MB.
func BenchmarkIdleRSS10kAgents(b *testing.B) {
	s := gt.NewSigner(b)
	bundles := largeBundles(b, s)
	for b.Loop() {
		dir := b.TempDir()
		s.WritePublic(b, dir, "keys/bundle.pub")
		if err := os.WriteFile(filepath.Join(dir, "bundle.tar.gz"), bundles[0], 0o644); err != nil {
			b.Fatal(err)
		}
		cfg := writeConfig(b, dir, `
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
		g := startB(b, cfg)
		for !g.Manager().Status().Ready {
			time.Sleep(10 * time.Millisecond)
		}
		bundles = [2][]byte{} // the gateway holds its own copy
		runtime.GC()
		debug.FreeOSMemory()
		b.ReportMetric(vmRSS(b)/(1<<20), "rss-MiB")
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-inuse-MiB")
		g.Shutdown(context.Background())
	}
}

func vmRSS(b *testing.B) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024
		}
	}
	b.Skip("no VmRSS")
	return 0
}
