package audit_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/audit"
	"github.com/mandatehq/mandate/runtime/chain"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
)

const verifyEvents = 1_000_000

var (
	bigOnce sync.Once
	bigPath string
	bigKey  *chain.Key
	bigErr  error
)

// bigRecord writes a 1,000,000-event chain (checkpoint every 1000) once per
// process, straight through the store for speed.
func bigRecord(b *testing.B) (string, *chain.Key) {
	bigOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mandate-verify-bench")
		if err != nil {
			bigErr = err
			return
		}
		bigPath = filepath.Join(dir, "record.db")
		ctx := context.Background()
		st, err := store.Open(ctx, store.Config{Path: bigPath})
		if err != nil {
			bigErr = err
			return
		}
		defer st.Close()
		bigKey, _ = chain.NewKey()
		st.PutKey(ctx, "gw1", bigKey.ID, bigKey.Public)
		payload, _ := json.Marshal(recorder.Event{
			Statement: &recorder.Statement{Text: "SELECT id, email FROM sales.orders WHERE id = ?", Accesses: []model.Access{{Class: "select", Table: "sales.orders"}}},
			Decision:  &recorder.Decision{ID: "d", Result: model.Allow, Role: "reader", Grant: "sales", Source: "roles.hcl:12"},
			Result:    &recorder.Result{Rows: 1, Bytes: 20, Duration: time.Millisecond}})
		prev := chain.ZeroHash()
		t0 := time.Now().Add(-time.Hour).UnixNano()
		const batch = 10000
		for base := uint64(1); base <= verifyEvents; base += batch {
			bt := &store.Batch{}
			for s := base; s < base+batch; s++ {
				e := store.Event{Gateway: "gw1", Seq: s, SessionID: "s1", Time: t0 + int64(s), Kind: "statement", Payload: payload, Prev: prev}
				e.Hash = e.Link().Hash()
				prev = e.Hash
				bt.Events = append(bt.Events, e)
				if s%1000 == 0 {
					c := chain.Checkpoint{Gateway: "gw1", Seq: s, Hash: e.Hash, TimeUnixNano: e.Time, Reason: chain.ReasonInterval}
					c.Sign(bigKey)
					bt.Checkpoints = append(bt.Checkpoints, c)
				}
			}
			if bigErr = st.Append(ctx, bt); bigErr != nil {
				return
			}
		}
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigPath, bigKey
}

// BenchmarkVerify1M verifies a 1,000,000-event SQLite chain end to end
// (target <= 10 s per op).
func BenchmarkVerify1M(b *testing.B) {
	path, key := bigRecord(b)
	defer os.RemoveAll(filepath.Dir(path))
	ctx := context.Background()
	st, err := store.OpenTarget(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		rep, err := audit.Verify(ctx, st, audit.VerifyOptions{Keys: audit.NewKeySet(key.Public)})
		if err != nil || !rep.OK || rep.Chains[0].Events != verifyEvents {
			b.Fatalf("verify: %+v %v", rep, err)
		}
	}
	b.ReportMetric(float64(verifyEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
