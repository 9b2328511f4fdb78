package recorder

import (
	"context"
	"sync"

	"github.com/mandatehq/mandate/runtime/store"
)

// Session is one recorded session. Methods are safe for concurrent use.
type Session struct {
	r    *Recorder
	info SessionInfo

	endOnce sync.Once
	endErr  error
}

// ID returns the session id.
func (s *Session) ID() string { return s.info.ID }

// Info returns what the session was started with.
func (s *Session) Info() SessionInfo { return s.info }

// Record records ev. In sync mode it returns once ev is durable; in async
// mode once it is queued. An error means the event was not accepted (or,
// in sync mode, not committed): the gateway must deny with err's message.
func (s *Session) Record(ctx context.Context, ev Event) (Ack, error) {
	return s.r.enqueue(ctx, s.info.ID, s.info.Agent, &ev, nil, s.r.cfg.Durability == Sync)
}

// RecordSync records ev and waits until it is durable, whatever the mode.
func (s *Session) RecordSync(ctx context.Context, ev Event) (Ack, error) {
	return s.r.enqueue(ctx, s.info.ID, s.info.Agent, &ev, nil, true)
}

// RecordAsync queues ev without waiting for its commit, whatever the mode.
// It suits terminal chunks, whose writer must not stall on every commit:
// commits are in order, so a later synchronous Record or End makes every
// earlier event durable too.
func (s *Session) RecordAsync(ctx context.Context, ev Event) (Ack, error) {
	return s.r.enqueue(ctx, s.info.ID, s.info.Agent, &ev, nil, false)
}

// End records the end of the session with a reason ("client closed",
// "policy revoked", ...) and waits until it is durable. Calling End twice
// records once.
func (s *Session) End(ctx context.Context, reason string) error {
	s.endOnce.Do(func() {
		now := s.r.cfg.Now()
		row := s.row()
		row.End, row.EndReason = now.UnixNano(), reason
		if row.End == 0 {
			row.End = 1
		}
		_, s.endErr = s.r.enqueue(ctx, s.info.ID, s.info.Agent, &Event{Kind: KindSessionEnd, Time: now, EndReason: reason}, &row, true)
	})
	return s.endErr
}

func (s *Session) row() store.Session {
	i := &s.info
	return store.Session{ID: i.ID, Gateway: s.r.gateway, Agent: i.Agent, Subject: i.Subject, Issuer: i.Issuer,
		Role: i.Role, Grant: i.Grant, Connection: i.Connection, ClientAddr: i.ClientAddr,
		BundleRevision: i.BundleRevision, Start: i.Start.UnixNano()}
}
