package pgrecord

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mandatehq/mandate/runtime/pgproxy"
	"github.com/mandatehq/mandate/runtime/recorder"
)

// Recorder implements pgproxy.Recorder on a *recorder.Recorder.
type Recorder struct {
	rec      *recorder.Recorder
	revision func() string
	log      *slog.Logger
	sessions sync.Map // pgproxy session id -> *session
	// hold is how long a statement event waits for its result under
	// async durability; 0 under sync, where it is written before the
	// statement runs.
	hold time.Duration
}

// session is one recorded session and the statement events it holds back
// (async durability). Everything below rec is guarded by mu, and events
// are queued with mu held, so that a run's result event never precedes
// its statement event.
type session struct {
	rec *recorder.Session
	mu  sync.Mutex
	// runs are the runs waiting for their result, by statement seq.
	runs map[int64]heldRun
	// open are the held events that take repeats, by what a repeat must
	// match.
	open map[runKey]*heldEvent
	// events are every held event not yet written.
	events map[*heldEvent]struct{}
}

// heldEvent is a statement event held until its hold ends: its runs'
// results and, while it is open, repeats gather in it.
type heldEvent struct {
	ev    recorder.Event
	key   runKey
	first int64   // the statement seq of run 0
	seqs  []int64 // the statement seqs of its runs, in order
	timer *time.Timer
}

// heldRun is one run of a held event: run 0 is the event's own
// statement, run i its Repeats[i-1].
type heldRun struct {
	ev  *heldEvent
	run int
}

// runKey is what a statement shares with the event it repeats: the
// redacted text and the recorded decision (the id aside).
type runKey struct {
	text, fingerprint, tag      string
	result, reason, role, grant string
	file                        string
	line                        int
	overdue                     string
}

// maxRepeats caps the repeats one event carries (about 80 bytes each).
const maxRepeats = 1000

var _ pgproxy.Recorder = (*Recorder)(nil)

// New returns the adapter. revision returns the active bundle revision
// (recorded with each session); log receives best-effort failures
// (Completed, SessionEnd). Nil arguments take no revision and slog.Default.
func New(rec *recorder.Recorder, revision func() string, log *slog.Logger) *Recorder {
	if revision == nil {
		revision = func() string { return "" }
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Recorder{rec: rec, revision: revision, log: log}
	if rec.Durability() == recorder.Async {
		r.hold = rec.FlushInterval()
	}
	return r
}

// Queues reports whether the calls only queue events (async durability),
// so that the proxy's sessions may run on event loops; under sync
// durability a call waits for the event's commit.
func (r *Recorder) Queues() bool { return r.rec.Durability() == recorder.Async }

// SessionStart records the session; an error refuses it (fail closed).
func (r *Recorder) SessionStart(ctx context.Context, s *pgproxy.SessionRecord) error {
	sess, err := r.rec.StartSession(ctx, recorder.SessionInfo{Agent: s.Agent, Issuer: s.Issuer, Subject: s.Subject,
		Role: s.Role, Grant: s.Grant, Connection: s.Connection,
		Protocol: "postgres", ClientAddr: s.RemoteAddr, BundleRevision: r.revision(), Start: s.Started})
	if err != nil {
		return err
	}
	if _, err := sess.Record(ctx, recorder.Event{Kind: recorder.KindAuth, Time: s.Started,
		Auth: &recorder.Auth{OK: true, Method: "token", Issuer: s.Issuer, Subject: s.Subject}}); err != nil {
		_ = sess.End(ctx, "recorder unavailable")
		return err
	}
	r.sessions.Store(s.ID, &session{rec: sess, runs: map[int64]heldRun{}, open: map[runKey]*heldEvent{}, events: map[*heldEvent]struct{}{}})
	return nil
}

// AuthFailed records a failed authentication as a session-less event
// (best effort: a failure is logged).
func (r *Recorder) AuthFailed(ctx context.Context, f pgproxy.AuthFailure) {
	err := r.rec.RecordAuthFailure(ctx, recorder.Auth{Method: "token", Reason: f.Reason,
		Agent: f.Agent, Connection: f.Connection, ClientAddr: f.RemoteAddr})
	if err != nil {
		r.log.Warn("recording a failed authentication", "agent", f.Agent, "err", err)
	}
}

func (r *Recorder) session(s *pgproxy.SessionRecord) (*session, error) {
	v, ok := r.sessions.Load(s.ID)
	if !ok {
		return nil, fmt.Errorf("%w: session %s was not recorded", recorder.ErrUnavailable, s.ID)
	}
	return v.(*session), nil
}

// Decided records a statement and its decision before the statement runs;
// an error denies it (fail closed).
//
// Under sync durability the event is committed before Decided returns.
// Under async durability, where an event is only queued anyway, it is held
// for the recorder's flush interval, and what arrives meanwhile goes into
// it: the statement's result, and repeats (the same redacted text decided
// the same way again in the session, each with its own id, time and
// result). One event then carries what was many: the same evidence for a
// fraction of the writes. A run still running when the hold ends has its
// result follow as a result event. Decided still refuses the statement
// when the recorder is unhealthy.
func (r *Recorder) Decided(ctx context.Context, s *pgproxy.SessionRecord, st *pgproxy.StatementRecord) error {
	sess, err := r.session(s)
	if err != nil {
		return err
	}
	id := strconv.FormatInt(st.Seq, 10)
	if r.hold <= 0 {
		_, err = sess.rec.Record(ctx, statementEvent(id, st))
		return err
	}
	if err := r.rec.Healthy(); err != nil {
		return err
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if old, ok := sess.runs[st.Seq]; ok {
		r.writeLocked(sess, old.ev) // a seq is decided once; should it not be, lose neither
	}
	key, coalesce := r.keyOf(st)
	if h := sess.open[key]; coalesce && h != nil {
		if len(h.ev.Repeats) < maxRepeats {
			h.ev.Repeats = append(h.ev.Repeats, recorder.Repeat{ID: id, Offset: st.Decided.Sub(h.ev.Decision.Time)})
			h.seqs = append(h.seqs, st.Seq)
			sess.runs[st.Seq] = heldRun{ev: h, run: len(h.ev.Repeats)}
			return nil
		}
		delete(sess.open, key) // full: written when its hold ends
	}
	h := &heldEvent{ev: statementEvent(id, st), key: key, first: st.Seq, seqs: []int64{st.Seq}}
	h.ev.Decision.Time = st.Decided
	sess.runs[st.Seq] = heldRun{ev: h}
	sess.events[h] = struct{}{}
	if coalesce {
		sess.open[key] = h
	}
	h.timer = time.AfterFunc(r.hold, func() {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		r.writeLocked(sess, h)
	})
	return nil
}

// statementEvent is the statement event of st with decision id.
func statementEvent(id string, st *pgproxy.StatementRecord) recorder.Event {
	// The recorder keeps Raw only where keep_raw_statements is set.
	stmt := &recorder.Statement{Text: st.Redacted(), Raw: st.Raw()}
	if a := st.Statement; a != nil {
		stmt.Fingerprint, stmt.Tag, stmt.Accesses, stmt.Columns = a.Fingerprint, a.Tag, a.Accesses, a.FilterColumns
	}
	return recorder.Event{Kind: recorder.KindStatement, Time: st.Decided, Statement: stmt,
		Decision: recorder.DecisionFrom(id, &st.Decision)}
}

// keyOf returns what a repeat of st must match, and whether st may be
// coalesced at all: not when its text did not parse (no redacted text to
// compare) nor when raw statements are kept (each run's literals differ).
func (r *Recorder) keyOf(st *pgproxy.StatementRecord) (runKey, bool) {
	d := &st.Decision
	k := runKey{text: st.Redacted(), result: d.Result, reason: d.Reason, role: d.Role, grant: d.Grant}
	if a := st.Statement; a != nil {
		k.fingerprint, k.tag = a.Fingerprint, a.Tag
	}
	if d.Source != nil {
		k.file, k.line = d.Source.File, d.Source.Line
	}
	if len(d.Overdue) > 0 {
		k.overdue = strings.Join(d.Overdue, "\x00")
	}
	return k, k.text != "" && !r.rec.KeepsRawStatements()
}

// writeLocked queues h unless it was written already, and forgets it: the
// results of runs still running follow as result events.
func (r *Recorder) writeLocked(s *session, h *heldEvent) {
	if _, ok := s.events[h]; !ok {
		return
	}
	delete(s.events, h)
	h.timer.Stop()
	if s.open[h.key] == h {
		delete(s.open, h.key)
	}
	for _, seq := range h.seqs {
		if x, ok := s.runs[seq]; ok && x.ev == h {
			delete(s.runs, seq)
		}
	}
	r.write(s, h.ev)
}

// write queues ev without waiting for its commit (best effort: a failure
// is logged, and the recorder's health denies the next statement).
func (r *Recorder) write(s *session, ev recorder.Event) {
	if _, err := s.rec.RecordAsync(context.Background(), ev); err != nil {
		r.log.Error("recording statement", "session", s.rec.ID(), "kind", string(ev.Kind), "error", err.Error())
	}
}

// Completed records a statement's result: inside its held statement event
// when there is one, else as a result event. It does not wait for the
// commit (the statement has run; a later synchronous event, at the latest
// the session's end, makes it durable).
func (r *Recorder) Completed(ctx context.Context, s *pgproxy.SessionRecord, st *pgproxy.StatementRecord) {
	sess, err := r.session(s)
	if err != nil {
		r.log.Error("recording statement result", "session", s.ID, "seq", st.Seq, "error", err.Error())
		return
	}
	res := st.Result
	// The client's message may quote the statement's literals: the record
	// keeps it only where it keeps raw statements.
	msg := st.RecordedError()
	if r.rec.KeepsRawStatements() {
		msg = res.Error
	}
	result := &recorder.Result{Rows: res.Rows, Bytes: res.Bytes, Duration: res.Duration, SQLState: res.SQLState, Error: msg, Masked: res.Masked}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if x, ok := sess.runs[st.Seq]; ok {
		delete(sess.runs, st.Seq)
		if x.run == 0 {
			x.ev.ev.Result = result
		} else {
			x.ev.ev.Repeats[x.run-1].Result = result
		}
		return
	}
	r.write(sess, recorder.Event{Kind: recorder.KindResult,
		Decision: &recorder.Decision{ID: strconv.FormatInt(st.Seq, 10), Result: st.Decision.Result}, Result: result})
}

// SessionEnd writes the statements still held, then records the end of
// the session and waits until everything is durable.
func (r *Recorder) SessionEnd(ctx context.Context, s *pgproxy.SessionRecord, reason string) {
	sess, err := r.session(s)
	if err == nil {
		r.sessions.Delete(s.ID)
		sess.mu.Lock()
		held := make([]*heldEvent, 0, len(sess.events))
		for h := range sess.events {
			held = append(held, h)
		}
		slices.SortFunc(held, func(a, b *heldEvent) int { return cmp.Compare(a.first, b.first) })
		for _, h := range held {
			r.writeLocked(sess, h)
		}
		sess.mu.Unlock()
		err = sess.rec.End(ctx, reason)
	}
	if err != nil && !errors.Is(err, recorder.ErrClosed) {
		r.log.Error("recording session end", "session", s.ID, "error", err.Error())
	}
}
