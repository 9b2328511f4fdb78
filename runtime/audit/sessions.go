package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
)

// SessionStore is what the session readers use.
type SessionStore interface {
	Events(ctx context.Context, f store.EventFilter, fn func(*store.Event) error) error
	Sessions(ctx context.Context, f store.SessionFilter) ([]store.Session, error)
}

// ListSessions lists sessions, newest first (`mandate sessions list`, and
// GET /v1/sessions for auditors).
func ListSessions(ctx context.Context, st SessionStore, f store.SessionFilter) ([]store.Session, error) {
	ss, err := st.Sessions(ctx, f)
	if err != nil {
		return nil, err
	}
	if ss == nil {
		ss = []store.Session{}
	}
	return ss, nil
}

// Entry is one event of a session timeline.
type Entry struct {
	Gateway string          `json:"gateway"`
	Seq     uint64          `json:"seq"`
	Time    time.Time       `json:"time"`
	Kind    recorder.Kind   `json:"kind"`
	Event   *recorder.Event `json:"event"`
}

// Timeline is a session and its events in order.
type Timeline struct {
	Session store.Session `json:"session"`
	Entries []Entry       `json:"entries"`
}

// SessionTimeline reads one session (`mandate sessions show`, and
// GET /v1/sessions/{id}). It returns store.ErrNotFound for an unknown id.
func SessionTimeline(ctx context.Context, st SessionStore, id string) (*Timeline, error) {
	ss, err := st.Sessions(ctx, store.SessionFilter{ID: id})
	if err != nil {
		return nil, err
	}
	if len(ss) == 0 {
		return nil, fmt.Errorf("reading session %s: %w", id, store.ErrNotFound)
	}
	tl := &Timeline{Session: ss[0], Entries: []Entry{}}
	err = st.Events(ctx, store.EventFilter{SessionID: id}, func(e *store.Event) error {
		ev := new(recorder.Event)
		if err := json.Unmarshal(e.Payload, ev); err != nil {
			return fmt.Errorf("reading event %s/%d: %w", e.Gateway, e.Seq, err)
		}
		ev.Kind, ev.Time = recorder.Kind(e.Kind), time.Unix(0, e.Time).UTC()
		tl.Entries = append(tl.Entries, Entry{Gateway: e.Gateway, Seq: e.Seq, Time: ev.Time, Kind: ev.Kind, Event: ev})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return tl, nil
}

// unixNano is t in nanoseconds, 0 (no bound) for the zero time, and
// clamped to the range int64 nanoseconds can hold.
func unixNano(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Year() < 1678:
		return 1
	case t.Year() > 2261:
		return math.MaxInt64
	}
	return t.UnixNano()
}
