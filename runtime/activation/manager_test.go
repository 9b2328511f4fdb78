package activation_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/activation"
	gt "github.com/mandatehq/mandate/runtime/gateway/gatewaytest"
)

type fixture struct {
	m     *activation.Manager
	reg   *prometheus.Registry
	clock *clock
	s     *gt.Signer
}

func newFixture(t *testing.T, s *gt.Signer, dir string, mod func(*activation.Options)) *fixture {
	t.Helper()
	f := &fixture{reg: prometheus.NewRegistry(), clock: newClock(gt.Time(100)), s: s}
	opts := activation.Options{
		Load: load(s, 64<<20), StateDir: dir, Source: "file://test", MaxAge: 24 * time.Hour,
		Logger: discard(), Registerer: f.reg, Now: f.clock.Now,
	}
	if mod != nil {
		mod(&opts)
	}
	m, err := activation.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.m = m
	return f
}

func decide(t *testing.T, m *activation.Manager, agent string) (model.Decision, string) {
	t.Helper()
	e := m.Current()
	d, err := e.Decide(context.Background(), selectInput(agent))
	if err != nil {
		t.Fatal(err)
	}
	return d, e.Revision()
}

func (f *fixture) rejected(reason string) float64 {
	return metricValue(f.reg, "mandate_bundle_rejected_total", reason)
}

// metricValue returns the counter or gauge value of the series of name
// with a label equal to label.
func metricValue(reg *prometheus.Registry, name, label string) float64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, lp := range mt.GetLabel() {
				if lp.GetValue() == label {
					if c := mt.GetCounter(); c != nil {
						return c.GetValue()
					}
					return mt.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

func TestNoBundleDeniesEverything(t *testing.T) {
	f := newFixture(t, gt.NewSigner(t), "", nil)
	d, rev := decide(t, f.m, "a")
	if d.Result != model.Deny || !strings.Contains(d.Reason, "no verified policy bundle") || rev != "" {
		t.Errorf("decision = %+v rev %q", d, rev)
	}
	if st := f.m.Status(); st.Ready || st.Reason == "" {
		t.Errorf("status = %+v, want not ready with a reason", st)
	}
}

func TestActivateAndSwap(t *testing.T) {
	s := gt.NewSigner(t)
	f := newFixture(t, s, "", nil)
	ctx := context.Background()
	if err := f.m.Offer(ctx, s.Bundle(t, gt.Policy("a", "b"), gt.Rev(1), gt.Time(1))); err != nil {
		t.Fatal(err)
	}
	if d, rev := decide(t, f.m, "b"); d.Result != model.Allow || rev != gt.Rev(1) {
		t.Errorf("b on v1: %+v %s", d, rev)
	}
	// v2 revokes b: the very next decision for b is a denial.
	if err := f.m.Offer(ctx, s.Bundle(t, gt.Policy("a"), gt.Rev(2), gt.Time(2))); err != nil {
		t.Fatal(err)
	}
	if d, rev := decide(t, f.m, "b"); d.Result != model.Deny || rev != gt.Rev(2) {
		t.Errorf("b on v2: %+v %s", d, rev)
	}
	st := f.m.Status()
	want := activation.Status{Ready: true, Revision: gt.Rev(2), Source: "file://test", CommitTime: gt.Time(2),
		ActivatedAt: gt.Time(100), ConfirmedAt: gt.Time(100)}
	if d := cmp.Diff(want, st); d != "" {
		t.Errorf("status (-want +got):\n%s", d)
	}
	if got := metricValue(f.reg, "mandate_bundle_info", gt.Rev(2)); got != 1 {
		t.Errorf("mandate_bundle_info{revision=v2} = %v", got)
	}
	if got := metricValue(f.reg, "mandate_decisions_total", model.Deny); got != 1 {
		t.Errorf("deny decisions = %v, want 1", got)
	}
}

func TestRejectionsKeepActiveBundle(t *testing.T) {
	s, other := gt.NewSigner(t), gt.NewSigner(t)
	good := s.Bundle(t, gt.Policy("a"), gt.Rev(1), gt.Time(5))
	for _, tc := range []struct {
		name   string
		data   []byte
		reason string
	}{
		{"unsigned", gt.Unsigned(t, gt.Policy("a", "evil"), gt.Rev(2), gt.Time(6)), activation.ReasonUnsigned},
		{"tampered", s.Tampered(t, gt.Policy("a"), gt.Policy("a", "evil"), gt.Rev(2), gt.Time(6)), activation.ReasonTampered},
		{"wrong key", other.Bundle(t, gt.Policy("a", "evil"), gt.Rev(2), gt.Time(6)), activation.ReasonWrongKey},
		{"wrong scope", s.WrongScope(t, gt.Policy("a", "evil"), gt.Rev(2), gt.Time(6)), activation.ReasonWrongScope},
		{"truncated", gt.Truncated(s.Bundle(t, gt.Policy("a", "evil"), gt.Rev(2), gt.Time(6))), activation.ReasonTruncated},
		{"garbage", []byte("not a bundle"), activation.ReasonTruncated},
		{"oversized", s.Bundle(t, gt.Policy(manyAgents(2000)...), gt.Rev(2), gt.Time(6)), activation.ReasonOversized},
		{"rollback", s.Bundle(t, gt.Policy("a", "evil"), gt.Rev(0), gt.Time(4)), activation.ReasonRollback},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, s, t.TempDir(), func(o *activation.Options) { o.Load = load(s, int64(len(good))+4096) })
			if err := f.m.Offer(context.Background(), good); err != nil {
				t.Fatal(err)
			}
			err := f.m.Offer(context.Background(), tc.data)
			var re *activation.RejectError
			if !errors.As(err, &re) || re.Reason != tc.reason {
				t.Fatalf("Offer = %v, want rejection %s", err, tc.reason)
			}
			if d, rev := decide(t, f.m, "evil"); d.Result != model.Deny || rev != gt.Rev(1) {
				t.Errorf("after rejection: %+v on %s, want deny on v1", d, rev)
			}
			if got := f.rejected(tc.reason); got != 1 {
				t.Errorf("rejected{%s} = %v", tc.reason, got)
			}
		})
	}
}

func TestAllowRollback(t *testing.T) {
	s := gt.NewSigner(t)
	f := newFixture(t, s, "", func(o *activation.Options) { o.AllowRollback = true })
	ctx := context.Background()
	for i, n := range []int{5, 4} {
		if err := f.m.Offer(ctx, s.Bundle(t, gt.Policy("a"), gt.Rev(n), gt.Time(n))); err != nil {
			t.Fatalf("offer %d: %v", i, err)
		}
	}
	if st := f.m.Status(); st.Revision != gt.Rev(4) {
		t.Errorf("revision = %s, want the rolled-back %s", st.Revision, gt.Rev(4))
	}
}

func TestMaxAge(t *testing.T) {
	s := gt.NewSigner(t)
	f := newFixture(t, s, "", nil)
	ctx := context.Background()
	data := s.Bundle(t, gt.Policy("a"), gt.Rev(1), gt.Time(1))
	if err := f.m.Offer(ctx, data); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(23 * time.Hour)
	f.m.Confirm() // e.g. 304 Not Modified
	f.clock.Add(23 * time.Hour)
	if d, _ := decide(t, f.m, "a"); d.Result != model.Allow {
		t.Fatalf("within max_age: %+v", d)
	}
	if err := f.m.Offer(ctx, data); err != nil { // same bytes: a confirmation
		t.Fatal(err)
	}
	f.clock.Add(24*time.Hour + time.Second)
	d, rev := decide(t, f.m, "a")
	if d.Result != model.Deny || !strings.Contains(d.Reason, "max_age") || rev != "" {
		t.Errorf("past max_age: %+v rev %q", d, rev)
	}
	if f.m.Policy() != nil {
		t.Error("Policy() should be nil while stale")
	}
	if st := f.m.Status(); st.Ready || !strings.Contains(st.Reason, "max_age") {
		t.Errorf("status = %+v", st)
	}
	f.m.Confirm()
	if d, _ := decide(t, f.m, "a"); d.Result != model.Allow {
		t.Errorf("after confirmation: %+v", d)
	}
}

func TestRestoreWithSourceDown(t *testing.T) {
	s := gt.NewSigner(t)
	dir := t.TempDir()
	f := newFixture(t, s, dir, nil)
	if err := f.m.Offer(context.Background(), s.Bundle(t, gt.Policy("a"), gt.Rev(3), gt.Time(3))); err != nil {
		t.Fatal(err)
	}

	// A new process: nothing from the source, only the state directory.
	g := newFixture(t, s, dir, nil)
	g.clock.Add(time.Hour)
	if err := g.m.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d, rev := decide(t, g.m, "a"); d.Result != model.Allow || rev != gt.Rev(3) {
		t.Errorf("restored: %+v %s", d, rev)
	}
	// max_age counts from the last confirmation before the restart.
	g.clock.Add(23*time.Hour + time.Second)
	if d, _ := decide(t, g.m, "a"); d.Result != model.Deny {
		t.Errorf("restored bundle past max_age since its last confirmation: %+v", d)
	}
	// Rollback protection survives the restart too.
	err := g.m.Offer(context.Background(), s.Bundle(t, gt.Policy("a"), gt.Rev(2), gt.Time(2)))
	if activation.ReasonOf(err) != activation.ReasonRollback {
		t.Errorf("older bundle after restart: %v", err)
	}

	// A restart with a different key re-verifies and refuses the bundle.
	h := newFixture(t, gt.NewSigner(t), dir, nil)
	if err := h.m.Restore(context.Background()); err == nil {
		t.Error("restore with another key succeeded")
	}
	if st := h.m.Status(); st.Ready {
		t.Errorf("status = %+v, want not ready", st)
	}
}

// TestHotSwapUnderLoad swaps between a bundle that has agent b and one that
// revoked it while deciders run: every decision must agree with the
// revision of the engine that made it, and once Offer returns, the next
// decision uses the new bundle.
func TestHotSwapUnderLoad(t *testing.T) {
	s := gt.NewSigner(t)
	f := newFixture(t, s, "", nil)
	ctx := context.Background()
	with := func(n int) []byte {
		if n%2 == 1 {
			return s.Bundle(t, gt.Policy("a", "b"), gt.Rev(n), gt.Time(n))
		}
		return s.Bundle(t, gt.Policy("a"), gt.Rev(n), gt.Time(n))
	}
	bundles := make([][]byte, 11)
	for n := 1; n < len(bundles); n++ {
		bundles[n] = with(n)
	}
	if err := f.m.Offer(ctx, bundles[1]); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				e := f.m.Current()
				d, err := e.Decide(ctx, selectInput("b"))
				if err != nil {
					errs <- err
					return
				}
				n, _ := strconv.ParseInt(e.Revision()[30:], 16, 64)
				odd := n%2 == 1
				if (d.Result == model.Allow) != odd {
					errs <- errors.New("decision " + d.Result + " disagrees with revision " + e.Revision())
					return
				}
			}
		}()
	}
	for n := 2; n < len(bundles); n++ {
		if err := f.m.Offer(ctx, bundles[n]); err != nil {
			t.Fatal(err)
		}
		want := model.Deny
		if n%2 == 1 {
			want = model.Allow
		}
		if d, rev := decide(t, f.m, "b"); d.Result != want || rev != gt.Rev(n) {
			t.Fatalf("right after offering %d: %s on %s", n, d.Result, rev)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func manyAgents(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("agent-%05d", i)
	}
	return out
}

// TestOverdueWarnIsCounted: a role past its review with on_overdue = "warn"
// is allowed, and the decision is counted by role.
func TestOverdueWarnIsCounted(t *testing.T) {
	s := gt.NewSigner(t)
	f := newFixture(t, s, "", nil)
	p := gt.Policy("a")
	p.Roles["reader"].Review = &model.Review{EverySeconds: 86400, Reviewers: []string{}, LastReviewed: "2020-01-01",
		OnOverdue: "warn", DueUnix: 1577923200}
	if err := f.m.Offer(context.Background(), s.Bundle(t, p, gt.Rev(1), gt.Time(1))); err != nil {
		t.Fatal(err)
	}
	d, _ := decide(t, f.m, "a")
	if d.Result != model.Allow || len(d.Overdue) != 1 || d.Overdue[0] != "reader" {
		t.Fatalf("decision = %+v, want allow flagged overdue for reader", d)
	}
	if got := metricValue(f.reg, "mandate_review_overdue_decisions_total", "reader"); got != 1 {
		t.Errorf("overdue decisions for reader = %v, want 1", got)
	}
}
