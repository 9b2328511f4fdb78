package decision

import (
	"context"
	"sync"
	"testing"

	"github.com/mandatehq/mandate/compiler/bundle"
	"github.com/mandatehq/mandate/model"
)

// TestCompiledLibraryIsShared: bundles with the same Rego files share one
// compiled library, a changed file compiles again, and engines built at
// the same time from it decide independently.
func TestCompiledLibraryIsShared(t *testing.T) {
	b1 := loadPolicy(t, fixturePolicy(t), "rev-1")
	b2 := loadPolicy(t, fixturePolicy(t), "rev-2")
	c1, err := compileModules(b1)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := compileModules(b2)
	if err != nil {
		t.Fatal(err)
	}
	if c1 != c2 {
		t.Error("identical libraries compiled twice")
	}

	changed := *b2
	changed.Files = append([]bundle.FileSummary(nil), b2.Files...)
	for i, f := range changed.Files {
		if f.Path == "mandate/ssh.rego" {
			changed.Files[i].SHA256 = "0000"
		}
	}
	if c3, err := compileModules(&changed); err != nil || c3 == c1 {
		t.Errorf("a changed library reused the cached compiler (err %v)", err)
	}
	noFiles := *b2
	noFiles.Files = nil
	if _, ok := modulesKey(&noFiles); ok {
		t.Error("a bundle without file digests is cacheable")
	}

	var wg sync.WaitGroup
	for _, b := range []*bundle.Loaded{b1, b2, b1, b2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := New(context.Background(), b, Options{CacheSize: -1})
			if err != nil {
				t.Error(err)
				return
			}
			for range 20 {
				d, _ := e.Decide(context.Background(), pg("fulfilment-planner", sel("public.orders")))
				if d.Result != model.Allow || d.Revision != b.Revision {
					t.Errorf("got %s from %s, want allow from %s: %s", d.Result, d.Revision, b.Revision, d.Reason)
				}
			}
		}()
	}
	wg.Wait()
}

// TestDecideCancelled: a cancelled context is a fail-closed deny.
func TestDecideCancelled(t *testing.T) {
	e := newEngine(t, fixturePolicy(t), Options{CacheSize: -1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, err := e.Decide(ctx, pg("fulfilment-planner", sel("public.orders")))
	if err == nil || d.Result != model.Deny {
		t.Errorf("got %s, %v; want a deny and an error", d.Result, err)
	}
}
