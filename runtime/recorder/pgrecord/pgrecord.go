package pgrecord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
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

// session is one recorded session and the statement events it holds back.
type session struct {
	rec  *recorder.Session
	mu   sync.Mutex
	held map[int64]*heldStatement // by statement seq
}

type heldStatement struct {
	ev    recorder.Event
	timer *time.Timer
}

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
	r.sessions.Store(s.ID, &session{rec: sess, held: map[int64]*heldStatement{}})
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
// for up to the recorder's flush interval for the statement's result, and
// the two are written as one statement event carrying the result: half the
// events, the same evidence. A statement still running when the hold ends
// is written on its own, and its result follows as a result event. Decided
// still refuses the statement when the recorder is unhealthy.
func (r *Recorder) Decided(ctx context.Context, s *pgproxy.SessionRecord, st *pgproxy.StatementRecord) error {
	sess, err := r.session(s)
	if err != nil {
		return err
	}
	// The recorder keeps Raw only where keep_raw_statements is set.
	stmt := &recorder.Statement{Text: st.Redacted(), Raw: st.Raw()}
	if a := st.Statement; a != nil {
		stmt.Fingerprint, stmt.Tag, stmt.Accesses, stmt.Columns = a.Fingerprint, a.Tag, a.Accesses, a.FilterColumns
	}
	ev := recorder.Event{Kind: recorder.KindStatement, Time: st.Decided, Statement: stmt,
		Decision: recorder.DecisionFrom(strconv.FormatInt(st.Seq, 10), &st.Decision)}
	if r.hold <= 0 {
		_, err = sess.rec.Record(ctx, ev)
		return err
	}
	if err := r.rec.Healthy(); err != nil {
		return err
	}
	seq := st.Seq
	h := &heldStatement{ev: ev}
	old := sess.take(seq) // a seq is decided once; should it not be, lose neither
	sess.mu.Lock()
	sess.held[seq] = h
	h.timer = time.AfterFunc(r.hold, func() {
		if h := sess.take(seq); h != nil {
			r.write(sess, h.ev)
		}
	})
	sess.mu.Unlock()
	if old != nil {
		r.write(sess, old.ev)
	}
	return nil
}

// take removes and returns the held event of seq, nil when there is none
// (never held, or already written).
func (s *session) take(seq int64) *heldStatement {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.held[seq]
	if h != nil {
		delete(s.held, seq)
		h.timer.Stop()
	}
	return h
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
	result := &recorder.Result{Rows: res.Rows, Bytes: res.Bytes, Duration: res.Duration, SQLState: res.SQLState, Error: res.Error, Masked: res.Masked}
	if h := sess.take(st.Seq); h != nil {
		h.ev.Result = result
		r.write(sess, h.ev)
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
		seqs := make([]int64, 0, len(sess.held))
		for seq := range sess.held {
			seqs = append(seqs, seq)
		}
		sess.mu.Unlock()
		slices.Sort(seqs)
		for _, seq := range seqs {
			if h := sess.take(seq); h != nil {
				r.write(sess, h.ev)
			}
		}
		err = sess.rec.End(ctx, reason)
	}
	if err != nil && !errors.Is(err, recorder.ErrClosed) {
		r.log.Error("recording session end", "session", s.ID, "error", err.Error())
	}
}
