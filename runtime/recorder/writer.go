package recorder

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/mandatehq/mandate/runtime/chain"
	"github.com/mandatehq/mandate/runtime/store"
)

// writerState is owned by the writer goroutine (and by resume before it
// starts).
type writerState struct {
	prev       []byte // hash of the last committed event
	lastSeq    uint64 // seq of the last committed event
	lastCP     uint64 // seq of the last checkpoint
	lastCPTime time.Time
	retry      []*item // a batch whose commit failed, retried first
	// lastCommit and lastReleased (sync callers answered) tune gather.
	lastCommit   time.Duration
	lastReleased int
}

// resume positions the chain at the store's head and checks every event
// after the last checkpoint, so that a torn or altered tail is found before
// new events are chained to it. It returns a note for the recorder event.
func (r *Recorder) resume(ctx context.Context) (string, error) {
	head, err := r.st.Head(ctx, r.gateway)
	if err != nil {
		return "", err
	}
	cps, err := r.st.Checkpoints(ctx, r.gateway)
	if err != nil {
		return "", err
	}
	w := &r.w
	w.prev, w.lastSeq, w.lastCPTime = chain.ZeroHash(), 0, time.Now()
	var from uint64 = 1
	var last *chain.Checkpoint
	if len(cps) > 0 {
		last = &cps[len(cps)-1]
		keys, err := r.st.Keys(ctx)
		if err != nil {
			return "", err
		}
		// The key may have been rotated since: check with the one that signed.
		if err := last.Verify(ed25519.PublicKey(keys[last.KeyID])); err != nil {
			return "", fmt.Errorf("resuming record of %s: last checkpoint: %w", r.gateway, err)
		}
		w.prev, w.lastSeq, w.lastCP, from = last.Hash, last.Seq, last.Seq, last.Seq+1
	}
	n := 0
	err = r.st.Events(ctx, store.EventFilter{Gateway: r.gateway, FromSeq: from}, func(e *store.Event) error {
		if e.Seq != w.lastSeq+1 {
			return fmt.Errorf("event %d missing", w.lastSeq+1)
		}
		if !bytes.Equal(e.Prev, w.prev) {
			return fmt.Errorf("event %d does not chain to event %d", e.Seq, w.lastSeq)
		}
		if h := e.Link().Hash(); !bytes.Equal(h, e.Hash) {
			return fmt.Errorf("event %d hash mismatch (torn or altered)", e.Seq)
		}
		w.prev, w.lastSeq = append([]byte(nil), e.Hash...), e.Seq
		n++
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("resuming record of %s: the tail after the last checkpoint does not verify: %w (run mandate audit verify)", r.gateway, err)
	}
	if head.Seq != w.lastSeq {
		return "", fmt.Errorf("resuming record of %s: head is %d but the chain ends at %d", r.gateway, head.Seq, w.lastSeq)
	}
	r.nextSeq = w.lastSeq + 1
	r.lastT = head.Time
	switch {
	case head.Seq == 0:
		return "recorder started: new chain", nil
	case last != nil && last.Reason == chain.ReasonShutdown && last.Seq == head.Seq:
		return fmt.Sprintf("recorder started: resuming at seq %d after a clean shutdown", head.Seq), nil
	default:
		return fmt.Sprintf("recorder started: unclean stop detected; %d events after the last checkpoint verified; resuming at seq %d", n, head.Seq), nil
	}
}

// writer commits queued events in batches (group commit) until Close.
func (r *Recorder) writer() {
	defer close(r.done)
	tick := time.NewTicker(min(r.cfg.FlushInterval, r.cfg.CheckpointInterval/2))
	defer tick.Stop()
	stopping := false
	for !stopping {
		select {
		case <-r.wake:
		case <-tick.C:
		case <-r.stop:
			stopping = true
		}
		for {
			if !stopping && r.unhealthy.Load() == nil {
				if r.cfg.Durability == Async {
					stopping = r.linger()
				} else {
					stopping = r.gather()
				}
			}
			if !r.flush(false) {
				break
			}
			if r.unhealthy.Load() != nil {
				if stopping {
					break // give up: Close reports the loss
				}
				select {
				case <-time.After(r.cfg.RetryInterval):
				case <-r.stop:
					stopping = true
				}
			}
		}
	}
	r.flush(true)
}

// linger lets async events gather for up to lingerFraction of
// FlushInterval so that a commit carries many of them; it returns early
// when a batch is full or a caller waits for durability, and reports
// whether Close was called. Events queued meanwhile do not wake it
// (enqueue checks lingering), which spares a wakeup per event.
func (r *Recorder) linger() bool {
	t := time.NewTimer(r.cfg.FlushInterval / lingerDivisor)
	defer t.Stop()
	defer func() {
		r.mu.Lock()
		r.lingering = false
		r.mu.Unlock()
	}()
	for {
		r.mu.Lock()
		done := len(r.pending) == 0 || len(r.pending) >= r.cfg.MaxBatch || r.pendingSync > 0
		r.lingering = !done
		r.mu.Unlock()
		if done {
			return false
		}
		select {
		case <-r.wake:
		case <-t.C:
			return false
		case <-r.stop:
			return true
		}
	}
}

// lingerDivisor: async events gather for FlushInterval/lingerDivisor.
const lingerDivisor = 4

// maxGather caps how long gather waits for more sync events.
const maxGather = time.Millisecond

// gather implements group commit for sync callers: the callers released by
// the last commit usually come back with their next event within
// microseconds, so waiting up to a quarter of the last commit's duration
// (at most maxGather) for as many events as were released lets one commit
// (and one fsync) carry them all. It reports whether Close was called.
func (r *Recorder) gather() bool {
	w := &r.w
	want := w.lastReleased
	wait := min(w.lastCommit/4, maxGather)
	if want <= 1 || wait <= 0 {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		r.mu.Lock()
		n := len(r.pending)
		r.mu.Unlock()
		if n >= want || n == 0 {
			return false
		}
		select {
		case <-r.wake:
		case <-t.C:
			return false
		case <-r.stop:
			return true
		}
	}
}

// flush commits the retry batch or up to MaxBatch pending events, adding a
// checkpoint when one is due (always with final). It reports whether more
// work remains.
func (r *Recorder) flush(final bool) bool {
	w := &r.w
	batch := w.retry
	var fresh bool
	if batch == nil {
		r.mu.Lock()
		n := min(len(r.pending), r.cfg.MaxBatch)
		batch = r.pending[:n:n]
		r.pending = r.pending[n:]
		for _, it := range batch {
			if it.done != nil {
				r.pendingSync--
			}
		}
		if len(r.pending) == 0 {
			r.pending = nil
		}
		r.mu.Unlock()
		fresh = true
	}
	b := &store.Batch{Events: make([]store.Event, 0, len(batch))}
	prev, lastSeq := w.prev, w.lastSeq
	for _, it := range batch {
		if fresh {
			it.ev.Prev = prev
			it.ev.Hash = it.ev.Link().Hash()
		}
		prev, lastSeq = it.ev.Hash, it.ev.Seq
		b.Events = append(b.Events, it.ev)
		if it.session != nil {
			b.Sessions = append(b.Sessions, *it.session)
		}
	}
	now := r.cfg.Now()
	due := lastSeq > w.lastCP && (final || lastSeq-w.lastCP >= uint64(r.cfg.CheckpointEvery) || now.Sub(w.lastCPTime) >= r.cfg.CheckpointInterval)
	if final && lastSeq == w.lastCP && lastSeq > 0 && len(batch) == 0 {
		due = true // re-sign the head as a clean shutdown
	}
	if len(batch) == 0 && !due {
		return false
	}
	if due {
		cp := chain.Checkpoint{Gateway: r.gateway, Seq: lastSeq, Hash: prev, TimeUnixNano: now.UnixNano(), Reason: chain.ReasonInterval}
		if final {
			cp.Reason = chain.ReasonShutdown
		}
		cp.Sign(r.key)
		b.Checkpoints = append(b.Checkpoints, cp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.CommitTimeout)
	start := time.Now()
	err := r.st.Append(ctx, b)
	cancel()
	r.m.commitSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		r.m.failures.Inc()
		r.unhealthy.Store(&err)
		w.retry = batch
		for _, it := range batch {
			if it.done != nil {
				it.done <- err
				it.done = nil // the caller has its answer; a later retry stays silent
			}
		}
		return true
	}
	r.unhealthy.Store(nil)
	w.retry = nil
	w.lastCommit = time.Since(start)
	w.lastReleased = 0
	w.prev, w.lastSeq = prev, lastSeq
	if due {
		w.lastCP, w.lastCPTime = lastSeq, now
		r.m.checkpoints.Inc()
	}
	r.m.written.Add(float64(len(batch)))
	r.m.batchSize.Observe(float64(len(batch)))
	for _, it := range batch {
		if it.done != nil {
			it.done <- nil
			w.lastReleased++
		}
		<-r.slots
	}
	r.mu.Lock()
	more := len(r.pending) > 0
	r.mu.Unlock()
	return more
}

// Close stops accepting events, commits what is queued, writes a shutdown
// checkpoint and stops the writer. It returns an error if queued events
// could not be committed. Safe to call twice.
func (r *Recorder) Close() error {
	r.mu.Lock()
	already := r.closed
	r.closed = true
	r.mu.Unlock()
	if !already {
		close(r.stop)
	}
	<-r.done
	<-r.retentionDone
	r.mu.Lock()
	lost := len(r.pending) + len(r.w.retry)
	r.mu.Unlock()
	if lost > 0 {
		return fmt.Errorf("closing recorder: %d events could not be committed: %v", lost, r.Healthy())
	}
	return nil
}
