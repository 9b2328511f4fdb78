package recorder_test

import (
	"context"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
	"github.com/mandatehq/mandate/runtime/store/storetest"
	"github.com/prometheus/client_golang/prometheus"
)

// benchRecord records b.N statement events from writers goroutines and
// reports events/s, including the final flush. With rate > 0 the writers
// together record about rate events/s, in bursts of 10.
func benchRecord(b *testing.B, st store.Store, mode string, writers, rate int) {
	ctx := context.Background()
	dir := b.TempDir()
	rec, err := recorder.New(ctx, st, recorder.Config{StateDir: dir, Durability: mode})
	if err != nil {
		b.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	rec.Register(reg)
	sessions := make([]*recorder.Session, writers)
	for i := range sessions {
		if sessions[i], err = rec.StartSession(ctx, recorder.SessionInfo{Agent: "bench", Connection: "db", Role: "reader"}); err != nil {
			b.Fatal(err)
		}
	}
	ev := stmt(1)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		n := b.N / writers
		if w < b.N%writers {
			n++
		}
		wg.Add(1)
		go func(s *recorder.Session, n int) {
			defer wg.Done()
			const burst = 10
			var every time.Duration
			if rate > 0 {
				every = burst * time.Second * time.Duration(writers) / time.Duration(rate)
			}
			next := time.Now()
			for i := 0; i < n; i++ {
				if every > 0 && i%burst == 0 {
					next = next.Add(every)
					time.Sleep(time.Until(next))
				}
				e := ev
				st := *e.Statement
				e.Statement = &st
				if _, err := s.Record(ctx, e); err != nil {
					b.Error(err)
					return
				}
			}
		}(sessions[w], n)
	}
	wg.Wait()
	if err := rec.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	// The machine is shared: events per second of this process's CPU time
	// (user+system) is the figure contention distorts least.
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/event")
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "mandate_recorder_batch_events" {
			h := mf.GetMetric()[0].GetHistogram()
			b.ReportMetric(h.GetSampleSum()/float64(h.GetSampleCount()), "events/commit")
		}
	}
}

func benchSQLite(b *testing.B, sync bool) store.Store {
	st, err := store.Open(context.Background(), store.Config{Path: filepath.Join(b.TempDir(), "record.db"), Sync: sync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkSQLiteAsync: one writer, durability = "async" (target >= 50,000 events/s).
func BenchmarkSQLiteAsync(b *testing.B) {
	benchRecord(b, benchSQLite(b, false), recorder.Async, 1, 0)
}

// BenchmarkSQLiteSync16: 16 concurrent writers, durability = "sync",
// synchronous=FULL (target >= 5,000 events/s).
func BenchmarkSQLiteSync16(b *testing.B) {
	benchRecord(b, benchSQLite(b, true), recorder.Sync, 16, 0)
}

// BenchmarkPostgresBatched: async (batched commits) into PostgreSQL on
// 127.0.0.1:5432 (target >= 20,000 events/s).
func BenchmarkPostgresBatched(b *testing.B) {
	dsn := storetest.Postgres(b)
	if dsn == "" {
		b.Skip("no postgres")
	}
	st, err := store.Open(context.Background(), store.Config{Postgres: dsn})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	benchRecord(b, st, recorder.Async, 4, 0)
}

// BenchmarkPostgresSync16: 16 concurrent writers, durability = "sync".
func BenchmarkPostgresSync16(b *testing.B) {
	dsn := storetest.Postgres(b)
	if dsn == "" {
		b.Skip("no postgres")
	}
	st, err := store.Open(context.Background(), store.Config{Postgres: dsn})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	benchRecord(b, st, recorder.Sync, 16, 0)
}

// BenchmarkSQLiteAsyncPaced: 8 sessions record statement events at a
// steady 8,000 events/s in all, as a busy gateway does, so that commits
// carry the batches a linger gathers rather than full MaxBatch ones. The
// figure that matters is CPU µs per event (cpu-us/event).
func BenchmarkSQLiteAsyncPaced(b *testing.B) {
	benchRecord(b, benchSQLite(b, false), recorder.Async, 8, 8000)
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
