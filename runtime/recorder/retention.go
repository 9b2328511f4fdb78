package recorder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mandatehq/mandate/runtime/chain"
	"github.com/mandatehq/mandate/runtime/store"
)

var errFound = errors.New("found")

// Prune deletes this gateway's events older than before. The newest pruned
// event's hash is kept in a signed anchor checkpoint, so that the remaining
// chain still verifies from its new start. It returns the number of events
// deleted. Events are time-ordered along the chain (the recorder keeps
// event times monotonic), so the cut is found by binary search on seq.
func (r *Recorder) Prune(ctx context.Context, before time.Time) (int64, error) {
	cut := before.UnixNano()
	first, ok, err := r.eventAt(ctx, 0)
	if err != nil || !ok || first.Time >= cut {
		return 0, err
	}
	head, err := r.st.Head(ctx, r.gateway)
	if err != nil {
		return 0, err
	}
	lo, hi := first.Seq, head.Seq // invariant: event lo is older than cut
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		e, ok, err := r.eventAt(ctx, mid)
		if err != nil {
			return 0, err
		}
		if ok && e.Time < cut {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	last, ok, err := r.eventAt(ctx, lo)
	if err != nil || !ok {
		return 0, fmt.Errorf("pruning record: event %d vanished: %v", lo, err)
	}
	anchor := chain.Checkpoint{Gateway: r.gateway, Seq: last.Seq, Hash: last.Hash, TimeUnixNano: r.cfg.Now().UnixNano(), Reason: chain.ReasonAnchor}
	anchor.Sign(r.key)
	return r.st.Prune(ctx, r.gateway, last.Seq, &anchor)
}

// eventAt reads event seq (the first event when seq is 0).
func (r *Recorder) eventAt(ctx context.Context, seq uint64) (store.Event, bool, error) {
	var out store.Event
	found := false
	err := r.st.Events(ctx, store.EventFilter{Gateway: r.gateway, FromSeq: seq, ToSeq: seq}, func(e *store.Event) error {
		out = *e
		out.Hash = append([]byte(nil), e.Hash...)
		found = true
		return errFound
	})
	if err != nil && !errors.Is(err, errFound) {
		return out, false, err
	}
	return out, found, nil
}

// retention runs Prune every RetentionCheck until stop.
func (r *Recorder) retention() {
	defer close(r.retentionDone)
	t := time.NewTicker(r.cfg.RetentionCheck)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.RetentionCheck)
		n, err := r.Prune(ctx, r.cfg.Now().Add(-r.cfg.Retention))
		cancel()
		if err != nil {
			slog.Error("record retention failed", "gateway", r.gateway, "err", err)
		} else if n > 0 {
			slog.Info("record retention", "gateway", r.gateway, "deleted_events", n)
		}
		select {
		case <-t.C:
		case <-r.stop:
			return
		}
	}
}
