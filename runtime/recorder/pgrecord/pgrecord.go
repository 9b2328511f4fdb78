package pgrecord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"

	"github.com/mandatehq/mandate/runtime/pgproxy"
	"github.com/mandatehq/mandate/runtime/recorder"
)

// Recorder implements pgproxy.Recorder on a *recorder.Recorder.
type Recorder struct {
	rec      *recorder.Recorder
	revision func() string
	log      *slog.Logger
	sessions sync.Map // pgproxy session id -> *recorder.Session
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
	return &Recorder{rec: rec, revision: revision, log: log}
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
	r.sessions.Store(s.ID, sess)
	return nil
}

// AuthFailed records a failed authentication (best effort: it opens no
// session and grants nothing, so a recorder error is only logged).
func (r *Recorder) AuthFailed(ctx context.Context, f pgproxy.AuthFailure) {
	err := r.rec.RecordAuthFailure(ctx, recorder.Auth{Method: "token", Reason: f.Reason,
		Agent: f.Agent, Connection: f.Connection, ClientAddr: f.RemoteAddr})
	if err != nil {
		r.log.Warn("recording a failed authentication", "agent", f.Agent, "err", err)
	}
}

func (r *Recorder) session(s *pgproxy.SessionRecord) (*recorder.Session, error) {
	v, ok := r.sessions.Load(s.ID)
	if !ok {
		return nil, fmt.Errorf("%w: session %s was not recorded", recorder.ErrUnavailable, s.ID)
	}
	return v.(*recorder.Session), nil
}

// Decided records a statement and its decision before it runs; an error
// denies the statement (fail closed). In sync mode it returns once the
// event is durable.
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
	d := recorder.DecisionFrom(strconv.FormatInt(st.Seq, 10), &st.Decision)
	_, err = sess.Record(ctx, recorder.Event{Kind: recorder.KindStatement, Time: st.Decided, Statement: stmt, Decision: d})
	return err
}

// Completed records a statement's result (best effort: failures are logged
// and the recorder's health denies the next statement).
func (r *Recorder) Completed(ctx context.Context, s *pgproxy.SessionRecord, st *pgproxy.StatementRecord) {
	sess, err := r.session(s)
	if err == nil {
		res := st.Result
		_, err = sess.Record(ctx, recorder.Event{Kind: recorder.KindResult, Decision: &recorder.Decision{ID: strconv.FormatInt(st.Seq, 10), Result: st.Decision.Result},
			Result: &recorder.Result{Rows: res.Rows, Bytes: res.Bytes, Duration: res.Duration, SQLState: res.SQLState, Error: res.Error, Masked: res.Masked}})
	}
	if err != nil {
		r.log.Error("recording statement result", "session", s.ID, "seq", st.Seq, "error", err.Error())
	}
}

// SessionEnd records the end of the session.
func (r *Recorder) SessionEnd(ctx context.Context, s *pgproxy.SessionRecord, reason string) {
	sess, err := r.session(s)
	if err == nil {
		r.sessions.Delete(s.ID)
		err = sess.End(ctx, reason)
	}
	if err != nil && !errors.Is(err, recorder.ErrClosed) {
		r.log.Error("recording session end", "session", s.ID, "error", err.Error())
	}
}
