package pgproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// maxUnflushedClientBytes makes the relay write to the client before the
// upstream's read buffer is drained, so large results stream.
const maxUnflushedClientBytes = 32 << 10

// relay reads upstream messages until the upstream connection ends,
// matches them to the ops the client loop queued, masks and records, and
// writes them to the client. When the upstream goes away first it tells the
// client (FATAL 08006) and closes both connections.
func (ss *session) relay() {
	ss.relayEnded(ss.relayLoop())
}

// relayEnded ends the relay once its loop returned err.
func (ss *session) relayEnded(err error) {
	if err != nil && !isConnError(err) {
		ss.srv.cfg.Logger.Info("postgres relay", "session", ss.rec.ID, "err", err)
	}
	if errors.Is(err, errClientWrite) {
		// The client went away while its result was being written: the
		// client loop may not have noticed yet.
		ss.setReason("client disconnected")
	}
	ss.setReason("upstream connection ended")
	if !ss.fatalSent && !ss.closing.Load() {
		_ = ss.client.SetWriteDeadline(time.Now().Add(time.Second))
		_ = ss.sendClient(fatal(CodeConnectionFailure, "the upstream server closed the connection"))
	}
	// Complete what was in flight so every statement has a result record.
	ss.endRuns()
	ss.closeConns()
}

// endRuns completes the runs still queued as cut short by the session's
// end, and records every result held back. The relay calls it when it
// stops; finish calls it again once both goroutines have ended, for what
// the client loop queued after that (a statement decided while the
// upstream connection was ending) and what a panicking relay left.
func (ss *session) endRuns() {
	for o := ss.pop(); o != nil; o = ss.pop() {
		for _, r := range o.runs {
			ss.complete(o, r, "", notCompletedSession)
		}
	}
	ss.recordCompleted()
}

// errClientWrite marks a relayLoop error writing to the client.
var errClientWrite = errors.New("writing to the client")

// relayLoop relays until the upstream connection ends (or, on an event
// loop, until the upstream socket has nothing more to read:
// errWouldBlock, with every message read so far written to the client).
func (ss *session) relayLoop() error {
	for {
		msg, err := ss.fe.Receive()
		if err != nil {
			return err
		}
		out, send := ss.handleUpstream(msg)
		if !send && (!ss.relayBuffered || ss.fe.ReadBufferLen() > 0) {
			continue
		}
		ss.cwMu.Lock()
		if send {
			ss.be.Send(out)
			ss.relayBuffered = true
			if dr, ok := out.(*pgproto3.DataRow); ok {
				for _, v := range dr.Values {
					ss.relayUnflushed += len(v) + 4
				}
			}
		}
		var werr error
		flushed := false
		if ss.fe.ReadBufferLen() == 0 || ss.relayUnflushed >= maxUnflushedClientBytes || ss.fatalSent {
			werr = ss.be.Flush()
			ss.relayUnflushed, ss.relayBuffered, flushed = 0, false, true
		}
		ss.cwMu.Unlock()
		if werr != nil {
			return fmt.Errorf("%w: %w", errClientWrite, werr)
		}
		if flushed {
			ss.backpressure()
		}
		if flushed || len(ss.completed) >= maxPendingCompleted {
			// Results are recorded once the client has them: recording is
			// off the client's round trip.
			ss.recordCompleted()
		}
		if ss.fatalSent {
			return io.EOF
		}
	}
}

// handleUpstream updates the op queue for one upstream message and returns
// what to send the client, if anything.
func (ss *session) handleUpstream(msg pgproto3.BackendMessage) (pgproto3.BackendMessage, bool) {
	o, skipped := ss.headSkipping()
	for _, d := range skipped {
		ss.skippedOp(d)
	}
	switch m := msg.(type) {
	case *pgproto3.ParseComplete, *pgproto3.BindComplete, *pgproto3.CloseComplete:
		if o != nil && o.creates != nil {
			ss.setAnswer(o.creates, answerOK)
		}
		ss.pop()
	case *pgproto3.ParameterDescription:
		return m, o == nil || !o.hidden
	case *pgproto3.RowDescription:
		if o == nil || o.kind != 'Q' && o.kind != 'D' {
			return ss.desync(msg), true
		}
		if o.names != nil {
			maskFieldNames(o.names, m)
		} else {
			maskFieldNames(ss.masksFor(o), m)
		}
		switch o.kind {
		case 'Q':
			if r := o.current(); r != nil {
				r.plan = ss.buildPlan(columnsOf(m), r)
			}
		case 'D':
			ss.pop()
			if o.portal != nil {
				o.portal.cols, o.portal.hasDesc, o.portal.planned = columnsOf(m), true, false
			}
			return m, !o.hidden
		}
	case *pgproto3.NoData:
		if o != nil && o.kind == 'D' {
			ss.pop()
			if o.portal != nil {
				o.portal.cols, o.portal.hasDesc, o.portal.planned = nil, true, false
			}
			return m, !o.hidden
		}
	case *pgproto3.DataRow:
		var r *stmtRun
		if o != nil {
			r = o.current()
		}
		if r == nil {
			return ss.desync(msg), true
		}
		if o.kind == 'E' && r.plan == nil && r.masks != nil {
			r.plan = ss.portalPlan(o.portal, r)
		}
		if r.masks != nil {
			ss.lastMasks = r.masks
		}
		if r.plan != nil {
			r.rec.Result.Masked += int64(r.plan.apply(m.Values))
		}
		r.rec.Result.Rows++
		for _, v := range m.Values {
			r.rec.Result.Bytes += int64(len(v))
		}
	case *pgproto3.CommandComplete:
		ss.finishRun(o, string(m.CommandTag))
	case *pgproto3.EmptyQueryResponse:
		ss.finishRun(o, "")
	case *pgproto3.PortalSuspended:
		ss.finishRun(o, "suspended")
	case *pgproto3.ErrorResponse:
		return ss.onUpstreamError(o, m), true
	case *pgproto3.ReadyForQuery:
		if o != nil && (o.kind == 'Q' || o.kind == 'S') {
			if o.kind == 'S' {
				ss.syncsAnswered++
			}
			ss.pop()
			for _, r := range o.runs {
				ss.complete(o, r, "", "")
			}
		}
		if m.TxStatus == 'I' {
			ss.idleAfter(o)
			ss.track.idle(ss.upFailed)
			ss.idleBatch.Store(ss.syncsAnswered)
		}
		ss.upFailed = false
	case *pgproto3.NoticeResponse:
		return ss.maskNotice(o, m), true
	case *pgproto3.NotificationResponse:
		// The gateway forbids LISTEN, so a notification means code it
		// could not see (a granted function) subscribed the session: a
		// channel between sessions that no masking covers. Dropped; the
		// payload is not logged, as it may be what it should not carry.
		ss.srv.cfg.Logger.Warn("postgres notification dropped: LISTEN ran in code the gateway could not see",
			"session", ss.rec.ID, "channel", m.Channel)
		return nil, false
	case *pgproto3.CopyInResponse:
		ss.copyIns.Add(1)
		ss.wake()
	case *pgproto3.ParameterStatus:
		if want, ok := ss.pinned[m.Name]; ok && m.Value != want && !(m.Name == "client_encoding" && isUTF8(m.Value)) {
			// The session has lost a wall: nothing more of it runs.
			ss.srv.cfg.Logger.Warn("postgres session setting changed on the server; ending the session",
				"session", ss.rec.ID, "setting", m.Name, "value", m.Value)
			ss.setReason("setting " + m.Name + " changed on the server")
			ss.fatalSent = true
			return fatal(CodeInsufficientPrivilege, "mandate: the server reports that setting "+m.Name+
				" changed, which the gateway pins: code the gateway could not analyze (a function, a cast, a trigger) changed it; ending the session"), true
		}
		// A setting set from data (set_config('application_name', col,
		// false), in a view or a function) reaches the client as free
		// text: hidden as an error's message would be, then scanned.
		if ms := ss.masksFor(o); ms != nil {
			v := m.Value
			if calls, reads := ss.opFacts(o, ms); ms.hasColumns && (calls || reads) {
				v = hiddenValue
			}
			if !ms.scanner.Empty() {
				v, _ = ms.scanner.MaskString(v)
			}
			if v != m.Value {
				return &pgproto3.ParameterStatus{Name: m.Name, Value: v}, true
			}
		}
	case *pgproto3.BackendKeyData, *pgproto3.AuthenticationOk:
		return nil, false
	}
	return msg, true
}

// desync ends the session when the server sends a result the op queue
// cannot attribute to a statement the gateway decided: the gateway's model
// of the server's message handling is wrong, and masking would follow the
// wrong statement's plan. Nothing of the result reaches the client.
func (ss *session) desync(msg pgproto3.BackendMessage) pgproto3.BackendMessage {
	ss.srv.cfg.Logger.Warn("postgres result out of step with the gateway's op queue; ending the session",
		"session", ss.rec.ID, "message", fmt.Sprintf("%T", msg))
	ss.setReason("result out of step with the decided statements")
	ss.fatalSent = true
	return fatal(CodeProtocolViolation, "mandate: the server sent a result the gateway cannot attribute to a statement it decided; ending the session")
}

// current is the run the next result message belongs to.
func (o *op) current() *stmtRun {
	switch o.kind {
	case 'Q':
		if o.cur < len(o.runs) {
			return o.runs[o.cur]
		}
	case 'E':
		if len(o.runs) > 0 {
			return o.runs[0]
		}
	}
	return nil
}

// finishRun handles the end of one statement's result.
func (ss *session) finishRun(o *op, tag string) {
	if o == nil {
		return
	}
	switch o.kind {
	case 'Q':
		if r := o.current(); r != nil {
			ss.complete(o, r, tag, "")
		}
		o.cur++
	case 'E':
		ss.pop()
		if o.creates != nil {
			ss.setAnswer(o.creates, answerOK)
		}
		for _, r := range o.runs {
			ss.complete(o, r, tag, "")
		}
	}
}

// onUpstreamError substitutes the denial for the error a denied
// statement's stand-in produced, masks other errors, and updates the op
// queue as the server does: a Query still owes ReadyForQuery; in the
// extended protocol everything up to the next Sync is skipped.
func (ss *session) onUpstreamError(o *op, m *pgproto3.ErrorResponse) pgproto3.BackendMessage {
	sev := m.SeverityUnlocalized
	if sev == "" {
		sev = m.Severity
	}
	if sev == "FATAL" || sev == "PANIC" {
		ss.fatalSent = true
	}
	ss.upFailed = true
	var out *pgproto3.ErrorResponse
	switch {
	case o != nil && o.deny != nil && !ss.fatalSent:
		out = o.deny
	case o != nil && len(o.rename) > 0:
		// The server names the gateway's upstream name: say the client's.
		r := *m
		r.Message = strings.NewReplacer(o.rename...).Replace(m.Message)
		out = ss.maskError(o, &r)
	default:
		out = ss.maskError(o, m)
	}
	if o == nil {
		return out
	}
	// failed is the run the error is about: the one denied when the
	// stand-in for a denied string failed, otherwise the one the server
	// was running (in the extended protocol, with none: each of o's).
	// The others did not run.
	failed := o.current()
	skipped := notExecutedStatement
	if o.deny != nil && out == o.deny {
		skipped = notExecutedDenied
		for _, r := range o.runs {
			if r.culprit {
				failed = r
				break
			}
		}
	}
	fail := func(oo *op, skippedMsg string) {
		if oo.creates != nil {
			ss.setAnswer(oo.creates, answerFailed)
		}
		for _, r := range oo.runs {
			switch {
			case r.done:
			case r == failed || failed == nil && oo == o && o.kind != 'Q':
				r.rec.Result.SQLState = out.Code
				ss.complete(oo, r, "", out.Message)
			default:
				ss.complete(oo, r, "", skippedMsg)
			}
		}
	}
	switch o.kind {
	case 'Q':
		fail(o, skipped)
		o.cur = len(o.runs)
	case 'S':
		// An error at Sync (a failed implicit commit): ReadyForQuery follows.
	default:
		ss.pop()
		dropped := ss.skipToSync()
		if o.kind == 'B' {
			// A Bind fails when the server plans the statement (SELECT
			// 1/0): the error is that of the portal's Execute behind it.
			// (A Describe of the portal may come between, as pgx and
			// libpq send one.)
			for _, d := range dropped {
				if d.hidden || d.kind == 'D' {
					continue
				}
				if d.kind == 'E' && d.portal != nil && o.creates == &d.portal.link.answer && len(d.runs) > 0 {
					failed = d.runs[0]
				}
				break
			}
		}
		fail(o, skipped)
		for _, d := range dropped {
			fail(d, notExecutedBatch)
		}
	}
	return out
}

// skippedOp ends an op the server skipped after an extended-protocol
// error of an earlier message (push marked it): what it would create was
// not created, and its statements did not run.
func (ss *session) skippedOp(o *op) {
	if o.creates != nil {
		ss.setAnswer(o.creates, answerFailed)
	}
	for _, r := range o.runs {
		ss.complete(o, r, "", notExecutedBatch)
	}
}

// maxPendingCompleted bounds the results the relay holds back until its
// next write to the client.
const maxPendingCompleted = 64

// complete ends a run once; recordCompleted records its result after the
// relay's next write to the client.
func (ss *session) complete(o *op, r *stmtRun, tag, errMsg string) {
	if r.done {
		return
	}
	r.done = true
	r.rec.Result.Tag = tag
	r.rec.Result.Error = errMsg
	if r.effect != nil {
		r.effect.commit = tag == "COMMIT"
		ss.track.settle(r.effect, tag != "" && errMsg == "")
	}
	if !o.start.IsZero() {
		r.rec.Result.Duration = time.Since(o.start)
	}
	ss.completed = append(ss.completed, r)
}

// recordCompleted records the results of the runs complete ended, in
// order. Only the relay goroutine calls it, and finish once the relay has
// ended. Each run leaves the list before its call: after a Recorder that
// panicked (the session ends, see panicked), finish records the rest and
// never hands it the same run twice.
func (ss *session) recordCompleted() {
	for i, r := range ss.completed {
		if r == nil {
			continue
		}
		ss.completed[i] = nil
		ss.srv.cfg.Recorder.Completed(context.Background(), &ss.rec, &r.rec)
	}
	ss.completed = ss.completed[:0]
}

func isConnError(err error) bool {
	var oe *net.OpError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.As(err, &oe)
}
