package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/mandatehq/mandate/runtime/chain"
	"github.com/mandatehq/mandate/runtime/store"
)

// Problem kinds.
const (
	ProblemDeleted    = "deleted"
	ProblemAltered    = "altered"
	ProblemReordered  = "reordered"
	ProblemCheckpoint = "checkpoint"
)

// Problem is the first thing found wrong in a gateway's chain.
type Problem struct {
	Gateway string `json:"gateway"`
	// Seq is the first event deleted, altered or reordered (or the
	// checkpoint's seq for a bad checkpoint).
	Seq    uint64 `json:"seq"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

func (p *Problem) String() string {
	return fmt.Sprintf("%s: event %d %s: %s", p.Gateway, p.Seq, p.Kind, p.Detail)
}

// ChainReport is the result for one gateway's chain.
type ChainReport struct {
	Gateway     string `json:"gateway"`
	FirstSeq    uint64 `json:"first_seq"`
	LastSeq     uint64 `json:"last_seq"`
	Events      int64  `json:"events"`
	Checkpoints int    `json:"checkpoints"`
	// Anchored is set when the first event follows a signed checkpoint
	// (retention) or is seq 1.
	Anchored bool `json:"anchored"`
	// Unsigned counts events after the last checkpoint: they chain
	// correctly but no signature covers them yet.
	Unsigned uint64   `json:"unsigned"`
	Problem  *Problem `json:"problem,omitempty"`
}

// Report is the result of Verify.
type Report struct {
	OK     bool          `json:"ok"`
	Chains []ChainReport `json:"chains"`
	// KeySource says where the public keys came from: "flag" or "record".
	KeySource string `json:"key_source"`
}

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Keys are the trusted public keys. When empty, the keys recorded in
	// the source are used (which proves integrity, not origin).
	Keys KeySet
	// Excerpt accepts a chain that starts without an anchor (an export of a
	// time window).
	Excerpt bool
}

// reorderWindow is how far from its position a moved event is looked for.
const reorderWindow = 64

// Verify checks every gateway chain in src end to end.
func Verify(ctx context.Context, src Source, opts VerifyOptions) (*Report, error) {
	rep := &Report{OK: true, KeySource: "flag"}
	keys := opts.Keys
	if len(keys) == 0 {
		rep.KeySource = "record"
		recorded, err := src.Keys(ctx)
		if err != nil {
			return nil, err
		}
		keys = KeySet{}
		for id, p := range recorded {
			keys[id] = ed25519.PublicKey(p)
		}
	}
	gws, err := src.Gateways(ctx)
	if err != nil {
		return nil, err
	}
	for _, gw := range gws {
		cr, err := verifyChain(ctx, src, gw, keys, opts.Excerpt)
		if err != nil {
			return nil, err
		}
		if cr.Problem != nil {
			rep.OK = false
		}
		rep.Chains = append(rep.Chains, *cr)
	}
	return rep, nil
}

// errStop ends the event scan after the first problem.
var errStop = errors.New("stop")

func verifyChain(ctx context.Context, src Source, gw string, keys KeySet, excerpt bool) (*ChainReport, error) {
	cr := &ChainReport{Gateway: gw}
	cps, err := src.Checkpoints(ctx, gw)
	if err != nil {
		return nil, err
	}
	cr.Checkpoints = len(cps)
	bySeq := map[uint64]*chain.Checkpoint{}
	for i := range cps {
		c := &cps[i]
		pub, ok := keys[c.KeyID]
		if !ok {
			cr.Problem = &Problem{gw, c.Seq, ProblemCheckpoint, fmt.Sprintf("checkpoint signed by unknown key %s", c.KeyID)}
			return cr, nil
		}
		if err := c.Verify(pub); err != nil {
			cr.Problem = &Problem{gw, c.Seq, ProblemCheckpoint, "checkpoint signature is invalid"}
			return cr, nil
		}
		bySeq[c.Seq] = c
	}
	v := &chainVerifier{cr: cr, bySeq: bySeq, cps: cps, excerpt: excerpt}
	err = src.Events(ctx, store.EventFilter{Gateway: gw}, v.event)
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if v.moved != nil && cr.Problem == nil {
		// The scan ended while looking for where the moved event went.
		v.settleMoved(nil)
	}
	if cr.Problem != nil {
		return cr, nil
	}
	v.finish()
	return cr, nil
}

type chainVerifier struct {
	cr      *ChainReport
	bySeq   map[uint64]*chain.Checkpoint
	cps     []chain.Checkpoint
	excerpt bool

	started  bool
	expected uint64
	prev     []byte
	// moved is set while deciding whether an event found at the wrong
	// position was reordered (its original shows up later) or renumbered
	// after a deletion.
	moved      *Problem
	movedSeq   uint64 // the seq whose original content we look for
	movedLeft  int
	lastSigned uint64
}

func (v *chainVerifier) fail(seq uint64, kind, format string, args ...any) error {
	v.cr.Problem = &Problem{v.cr.Gateway, seq, kind, fmt.Sprintf(format, args...)}
	return errStop
}

func (v *chainVerifier) event(e *store.Event) error {
	if v.moved != nil {
		return v.settleMoved(e)
	}
	if !v.started {
		v.started = true
		v.cr.FirstSeq = e.Seq
		switch {
		case e.Seq == 1:
			if !bytes.Equal(e.Prev, chain.ZeroHash()) {
				return v.fail(1, ProblemAltered, "the first event does not start a chain")
			}
			v.cr.Anchored = true
		case v.excerpt:
		default:
			// Only a signed anchor (written by retention) may stand for the
			// events before the first one, and only the latest anchor.
			var anchor *chain.Checkpoint
			for i := range v.cps {
				if c := &v.cps[i]; c.Reason == chain.ReasonAnchor && c.Seq < e.Seq {
					anchor = c
				}
			}
			if anchor != nil && anchor.Seq+1 == e.Seq && bytes.Equal(anchor.Hash, e.Prev) {
				v.cr.Anchored = true
				break
			}
			first := uint64(1)
			if anchor != nil {
				first = anchor.Seq + 1
			}
			return v.fail(first, ProblemDeleted, "events %d to %d are missing: the record does not start at event 1 or right after a signed retention anchor", first, e.Seq-1)
		}
		v.expected, v.prev = e.Seq, append([]byte(nil), e.Prev...)
	}
	if e.Seq != v.expected {
		return v.fail(v.expected, ProblemDeleted, "event %d is missing: the chain jumps from %d to %d", v.expected, v.expected-1, e.Seq)
	}
	l := e.Link()
	h := l.Hash()
	if !bytes.Equal(h, e.Hash) {
		for d := uint64(1); d <= reorderWindow; d++ {
			for _, s := range []uint64{e.Seq + d, e.Seq - d} {
				if s == 0 || s > e.Seq+reorderWindow {
					continue
				}
				if bytes.Equal(l.HashWithSeq(s), e.Hash) {
					v.moved = &Problem{v.cr.Gateway, e.Seq, ProblemReordered, fmt.Sprintf("the event at position %d was written as event %d", e.Seq, s)}
					v.movedSeq, v.movedLeft = e.Seq, reorderWindow
					return nil
				}
			}
		}
		return v.fail(e.Seq, ProblemAltered, "event %d does not match its hash: its content was changed", e.Seq)
	}
	if !bytes.Equal(e.Prev, v.prev) {
		return v.fail(e.Seq, ProblemAltered, "event %d does not chain to event %d: the chain was rewritten or an event inserted", e.Seq, e.Seq-1)
	}
	if c := v.bySeq[e.Seq]; c != nil {
		if !bytes.Equal(c.Hash, h) {
			return v.fail(e.Seq, ProblemAltered, "signed checkpoint %d does not match the chain: events up to %d were rewritten", e.Seq, e.Seq)
		}
		v.lastSigned = e.Seq
	}
	v.prev = h
	v.expected++
	v.cr.LastSeq = e.Seq
	v.cr.Events++
	return nil
}

// settleMoved looks at the events after a moved one (e nil at the end) for
// the original content of the position it took.
func (v *chainVerifier) settleMoved(e *store.Event) error {
	if e != nil && v.movedLeft > 0 {
		v.movedLeft--
		if bytes.Equal(e.Link().HashWithSeq(v.movedSeq), e.Hash) {
			v.moved.Detail += fmt.Sprintf("; event %d now sits at position %d", v.movedSeq, e.Seq)
			v.cr.Problem = v.moved
			return errStop
		}
		if v.movedLeft > 0 {
			return nil
		}
	}
	p := v.moved
	v.cr.Problem = &Problem{p.Gateway, p.Seq, ProblemDeleted,
		fmt.Sprintf("event %d is missing and later events were renumbered (%s)", p.Seq, p.Detail)}
	return errStop
}

// finish checks the checkpoints past the end of the events.
func (v *chainVerifier) finish() {
	cr := v.cr
	if !v.started {
		// No events: only an anchor may remain.
		if len(v.cps) > 1 {
			last := v.cps[len(v.cps)-1]
			cr.Problem = &Problem{cr.Gateway, v.cps[0].Seq + 1, ProblemDeleted, fmt.Sprintf("events %d to %d were deleted (checkpoint %d signed them)", v.cps[0].Seq+1, last.Seq, last.Seq)}
		}
		if len(v.cps) == 1 {
			cr.FirstSeq, cr.LastSeq, cr.Anchored = v.cps[0].Seq+1, v.cps[0].Seq, true
		}
		return
	}
	for _, c := range v.cps {
		if c.Seq > cr.LastSeq {
			cr.Problem = &Problem{cr.Gateway, cr.LastSeq + 1, ProblemDeleted, fmt.Sprintf("events %d to %d were deleted (checkpoint %d signed them)", cr.LastSeq+1, c.Seq, c.Seq)}
			return
		}
	}
	cr.Unsigned = cr.LastSeq - max(v.lastSigned, cr.FirstSeq-1)
}
