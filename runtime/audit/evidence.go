package audit

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/mandatehq/mandate/runtime/chain"
	"github.com/mandatehq/mandate/runtime/store"
)

// maxEvidenceLine caps one line of an evidence file (a terminal chunk or a
// long statement), in bytes.
const maxEvidenceLine = 16 << 20

// Evidence is an export read back into memory. It implements Source.
type Evidence struct {
	events      map[string][]store.Event
	checkpoints map[string][]chain.Checkpoint
	keys        map[string][]byte
	Sessions    []store.Session
}

// ReadEvidence parses an export. It rejects malformed lines with their
// line number; it does not judge integrity (Verify does).
func ReadEvidence(r io.Reader) (*Evidence, error) {
	ev := &Evidence{events: map[string][]store.Event{}, checkpoints: map[string][]chain.Checkpoint{}, keys: map[string][]byte{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxEvidenceLine)
	n := 0
	sawHeader := false
	for sc.Scan() {
		n++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("reading evidence line %d: %w", n, err)
		}
		switch l.Type {
		case "header":
			if l.Format != EvidenceFormat {
				return nil, fmt.Errorf("reading evidence line %d: format %q, want %q", n, l.Format, EvidenceFormat)
			}
			sawHeader = true
		case "key":
			ev.keys[l.KeyID] = l.PublicKey
		case "session":
			if l.Session != nil {
				ev.Sessions = append(ev.Sessions, *l.Session)
			}
		case "checkpoint":
			if l.Checkpoint == nil {
				return nil, fmt.Errorf("reading evidence line %d: empty checkpoint", n)
			}
			c := *l.Checkpoint
			ev.checkpoints[c.Gateway] = append(ev.checkpoints[c.Gateway], c)
		case "event":
			e, err := l.event()
			if err != nil {
				return nil, fmt.Errorf("reading evidence line %d: %w", n, err)
			}
			ev.events[e.Gateway] = append(ev.events[e.Gateway], e)
		default:
			return nil, fmt.Errorf("reading evidence line %d: unknown type %q", n, l.Type)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading evidence: %w", err)
	}
	if !sawHeader {
		return nil, fmt.Errorf("reading evidence: no %s header line", EvidenceFormat)
	}
	for gw := range ev.events {
		es := ev.events[gw]
		sort.SliceStable(es, func(i, j int) bool { return es[i].Seq < es[j].Seq })
	}
	for gw := range ev.checkpoints {
		cs := ev.checkpoints[gw]
		sort.SliceStable(cs, func(i, j int) bool { return cs[i].Seq < cs[j].Seq })
	}
	return ev, nil
}

func (l *line) event() (store.Event, error) {
	prev, err1 := hex.DecodeString(l.Prev)
	hash, err2 := hex.DecodeString(l.Hash)
	if err1 != nil || err2 != nil {
		return store.Event{}, fmt.Errorf("event %s/%d: bad hash encoding", l.Gateway, l.Seq)
	}
	payload := []byte(l.Payload)
	if l.PayloadBytes != nil {
		payload = l.PayloadBytes
	}
	return store.Event{Gateway: l.Gateway, Seq: l.Seq, SessionID: l.SessionID, Time: l.TimeNS, Kind: l.Kind,
		Payload: payload, Prev: prev, Hash: hash}, nil
}

// Gateways implements Source.
func (ev *Evidence) Gateways(context.Context) ([]string, error) {
	seen := map[string]bool{}
	for g := range ev.events {
		seen[g] = true
	}
	for g := range ev.checkpoints {
		seen[g] = true
	}
	out := make([]string, 0, len(seen))
	for g := range seen {
		out = append(out, g)
	}
	sort.Strings(out)
	return out, nil
}

// Events implements Source (Gateway, SessionID, seq and time filters).
func (ev *Evidence) Events(_ context.Context, f store.EventFilter, fn func(*store.Event) error) error {
	gws, _ := ev.Gateways(context.Background())
	for _, g := range gws {
		if f.Gateway != "" && g != f.Gateway {
			continue
		}
		for i := range ev.events[g] {
			e := &ev.events[g][i]
			if (f.SessionID != "" && e.SessionID != f.SessionID) || (f.FromSeq != 0 && e.Seq < f.FromSeq) ||
				(f.ToSeq != 0 && e.Seq > f.ToSeq) || (f.Since != 0 && e.Time < f.Since) || (f.Until != 0 && e.Time > f.Until) {
				continue
			}
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// Checkpoints implements Source.
func (ev *Evidence) Checkpoints(_ context.Context, gw string) ([]chain.Checkpoint, error) {
	return ev.checkpoints[gw], nil
}

// Keys implements Source: the keys the export carries.
func (ev *Evidence) Keys(context.Context) (map[string][]byte, error) { return ev.keys, nil }
