package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mandatehq/mandate/runtime/chain"
	"github.com/mandatehq/mandate/runtime/store/storetest"
)

// openStores returns a fresh SQLite store and, when PostgreSQL answers on
// 127.0.0.1:5432, a store in a uniquely named database dropped at cleanup.
func openStores(t *testing.T) map[string]Store {
	t.Helper()
	ctx := context.Background()
	out := map[string]Store{}
	s, err := Open(ctx, Config{Path: filepath.Join(t.TempDir(), "record.db"), Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	out["sqlite"] = s
	if dsn := storetest.Postgres(t); dsn != "" {
		p, err := Open(ctx, Config{Postgres: dsn})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		out["postgres"] = p
	}
	return out
}

func TestStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			k, _ := chain.NewKey()
			prev := chain.ZeroHash()
			var evs []Event
			for i := uint64(1); i <= 5; i++ {
				e := Event{Gateway: "gw1", Seq: i, SessionID: "s1", Time: int64(i) * 1000, Kind: "statement", Payload: []byte(fmt.Sprintf(`{"n":%d}`, i)), Prev: prev}
				e.Hash = e.Link().Hash()
				prev = e.Hash
				evs = append(evs, e)
			}
			cp := chain.Checkpoint{Gateway: "gw1", Seq: 5, Hash: prev, TimeUnixNano: 9, Reason: chain.ReasonInterval}
			cp.Sign(k)
			sess := Session{ID: "s1", Gateway: "gw1", Agent: "ci", Connection: "db", Start: 1000}
			if err := s.Append(ctx, &Batch{Events: evs, Checkpoints: []chain.Checkpoint{cp}, Sessions: []Session{sess}}); err != nil {
				t.Fatal(err)
			}
			sess.End, sess.EndReason = 6000, "client closed"
			if err := s.Append(ctx, &Batch{Sessions: []Session{sess}}); err != nil {
				t.Fatal(err)
			}
			var got []Event
			if err := s.Events(ctx, EventFilter{Gateway: "gw1", FromSeq: 2, ToSeq: 4}, func(e *Event) error {
				c := *e
				c.Payload = append([]byte(nil), e.Payload...)
				c.Prev = append([]byte(nil), e.Prev...)
				c.Hash = append([]byte(nil), e.Hash...)
				got = append(got, c)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(evs[1:4], got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			h, err := s.Head(ctx, "gw1")
			if err != nil || h.Seq != 5 || !cmp.Equal(h.Hash, prev) {
				t.Errorf("head = %+v, %v", h, err)
			}
			cps, err := s.Checkpoints(ctx, "gw1")
			if err != nil || len(cps) != 1 || cps[0].Verify(k.Public) != nil {
				t.Errorf("checkpoints = %+v, %v", cps, err)
			}
			ss, err := s.Sessions(ctx, SessionFilter{Agent: "ci"})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]Session{sess}, ss); diff != "" {
				t.Errorf("sessions (-want +got):\n%s", diff)
			}
			if err := s.PutKey(ctx, "gw1", k.ID, k.Public); err != nil {
				t.Fatal(err)
			}
			if err := s.PutKey(ctx, "gw1", k.ID, k.Public); err != nil {
				t.Fatalf("second PutKey: %v", err)
			}
			keys, _ := s.Keys(ctx)
			if !cmp.Equal(keys[k.ID], []byte(k.Public)) {
				t.Errorf("keys = %v", keys)
			}
			// Duplicate seq is refused: one chain per gateway.
			if err := s.Append(ctx, &Batch{Events: evs[:1]}); err == nil {
				t.Error("appending a duplicate seq succeeded")
			}
			anchor := chain.Checkpoint{Gateway: "gw1", Seq: 3, Hash: evs[2].Hash, Reason: chain.ReasonAnchor}
			anchor.Sign(k)
			n, err := s.Prune(ctx, "gw1", 3, &anchor)
			if err != nil || n != 3 {
				t.Fatalf("prune = %d, %v", n, err)
			}
			gws, _ := s.Gateways(ctx)
			if diff := cmp.Diff([]string{"gw1"}, gws); diff != "" {
				t.Errorf("gateways: %s", diff)
			}
		})
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.db")
	for i := 0; i < 2; i++ {
		s, err := Open(context.Background(), Config{Path: p})
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		s.Close()
	}
}

func TestOpenTarget(t *testing.T) {
	if _, err := OpenTarget(context.Background(), filepath.Join(t.TempDir(), "missing.db")); err == nil {
		t.Error("opening a missing file succeeded")
	}
	for in, want := range map[string]bool{"postgres://u@h/db": true, "host=x dbname=y": true, "/var/lib/mandate/record.db": false} {
		if IsPostgres(in) != want {
			t.Errorf("IsPostgres(%q) != %v", in, want)
		}
	}
}
