package pgproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/mandatehq/mandate/model"
)

// session is one client connection and its upstream connection.
//
// Ownership: the serveConn goroutine owns client and up and closes both
// (through closeConns) before it returns. It runs the client loop itself
// and starts exactly one relay goroutine, which it waits for. Fields under
// "client loop" are touched only by the serveConn goroutine; fields under
// "relay" only by the relay goroutine; the rest are guarded as noted.
type session struct {
	srv       *Server
	client    net.Conn // raw or TLS client connection
	be        *pgproto3.Backend
	principal *Principal
	conn      *model.Connection // the policy connection, as of connect time
	params    map[string]string // startup parameters relayed upstream
	rec       SessionRecord
	key       cancelKey
	slot      bool // holds one of srv.slots
	started   bool // SessionStart recorded

	up       net.Conn
	fe       *pgproto3.Frontend
	upCancel upstreamCancel
	// pinned are the reported settings the session must keep, with their
	// values at startup (set by dial, read by the relay).
	pinned map[string]string

	// client loop
	stmts      map[string]*prepared
	stmtBytes  int // the texts of stmts, for maxSessionStatementBytes
	portals    map[string]*portal
	seq        int64
	names      uint64
	batch      uint64 // Syncs sent upstream
	unflushed  int    // messages sent upstream since the last flush
	unflushedB int    // CopyData bytes sent upstream since the last flush
	// copyPending is the op of a COPY FROM STDIN that may (still) put the
	// server in copy-in mode (copyin.go), copyLeft how many of its
	// statements may; copyActive is set while the server is in that mode
	// as of the messages sent so far; copySeen counts the relay's
	// CopyInResponses accounted for.
	copyPending *op
	copyLeft    int
	copyActive  bool
	copySeen    uint64

	// track follows SQL-level PREPARE and DECLARE: the client loop queues,
	// the relay settles (it has its own lock).
	track sqlTracker
	// answered wakes a client loop waiting for a Parse or Bind answer
	// (names.go); relayDone is closed when the relay ends (nil: no relay).
	answered  chan struct{}
	relayDone chan struct{}

	// copyIns counts the CopyInResponses the relay has seen.
	copyIns atomic.Uint64
	// idleBatch is how many Syncs the server had answered when it last
	// reported the session idle: portals bound before the last of them
	// ended with their transaction (set by the relay, read by the client
	// loop's prunePortals).
	idleBatch atomic.Uint64

	// relay
	syncsAnswered uint64 // ReadyForQuery answers to the client's Syncs
	fatalSent     bool
	upFailed      bool     // an ErrorResponse since the last ReadyForQuery
	lastMasks     *maskSet // masking of the latest masked result, for notices

	// completed are runs whose result the relay records after its next
	// write to the client.
	completed []*stmtRun

	cwMu sync.Mutex // serialises writes to the client (be.Send/Flush)

	opsMu sync.Mutex
	ops   []*op // responses the upstream owes, oldest first
	// skipping is set (under opsMu) while the server skips every message
	// up to a Sync the client has not sent yet, after an
	// extended-protocol error (skipToSync); push clears it when it queues
	// that Sync.
	skipping bool

	// Event loops (loop.go): cflip and uflip are the sockets under client
	// and up; loop is set while the session is or was on a loop, and
	// handedOff once it left it. Before it left, only the loop's
	// goroutine touches the session's sides; loopSide is the side it is
	// running. loopDone is closed when both sides have ended.
	cflip, uflip *flipConn
	loop         *eventLoop
	loopEnds     [2]*loopEnd
	loopSide     byte
	adopted      atomic.Bool // put on a loop (for tests and metrics)
	handedOff    atomic.Bool
	// savepoint is set when a SAVEPOINT is decided and cleared when the
	// transaction it runs in ends: a schema change under a released
	// savepoint hides from cascade.go's lookup (markSavepoint).
	savepoint atomic.Pointer[savepointMark]
	loopDone  chan struct{}
	relayOnce sync.Once
	loopOnce  sync.Once
	// relay loop state kept between turns
	relayUnflushed int
	relayBuffered  bool

	closing   atomic.Bool // the client side ended first: the relay stays quiet
	closeOnce sync.Once
	reasonMu  sync.Mutex
	reason    string // why the session ended, first writer wins
}

// serveConn runs one client connection to its end.
func (s *Server) serveConn(raw net.Conn) {
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(HandshakeTimeout))
	flip := newFlipConn(raw)
	a, err := s.admit(flip)
	if err != nil || a == nil {
		if err != nil {
			s.cfg.Logger.Debug("postgres client not admitted", "remote", raw.RemoteAddr().String(), "err", err)
		}
		return
	}
	ss := s.newSession(a.conn)
	ss.cflip = flip
	ctx, cancel := context.WithTimeout(s.ctx, HandshakeTimeout)
	err = ss.authenticate(ctx, a)
	if err == nil {
		err = ss.dial(ctx)
	}
	cancel()
	defer ss.finish()
	defer func() {
		if p := recover(); p != nil {
			s.panicked(raw, ss, p)
			if ss.relayDone != nil {
				<-ss.relayDone // closed connections end the relay
			}
		}
	}()
	if err != nil {
		ss.setReason("startup failed: " + err.Error())
		var re *refusedError
		if !errors.As(err, &re) {
			s.cfg.Logger.Info("postgres session startup", "remote", raw.RemoteAddr().String(), "err", err)
		}
		return
	}
	_ = raw.SetDeadline(time.Time{})
	if exp := ss.principal.Expires; !exp.IsZero() {
		t := time.AfterFunc(time.Until(exp), func() {
			ss.terminate("session expired", fatal(CodeSessionExpired,
				"terminating connection: the session expired at "+exp.UTC().Format(time.RFC3339)+" (token expiry or the role's max_session); reconnect with a new token"))
		})
		defer t.Stop()
	}
	ss.forward()
}

// panicked ends a session whose goroutine panicked with p (a bug, perhaps
// reached through data no test foresaw) instead of the whole gateway: the
// goroutine's deferred function recovers and calls it. It logs the panic
// with its stack, tells the client (FATAL XX000) unless another write to
// it is in progress, and closes the connections. ss is nil before the
// session exists.
func (s *Server) panicked(client net.Conn, ss *session, p any) {
	s.cfg.Logger.Error("postgres session panicked; closing it", "remote", client.RemoteAddr().String(),
		"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	e := fatal(CodeInternalError, "terminating connection: internal error in the mandate gateway (logged); reconnect")
	_ = client.SetWriteDeadline(time.Now().Add(time.Second))
	if ss == nil {
		be := pgproto3.NewBackend(client, client)
		be.Send(e)
		_ = be.Flush()
		client.Close()
		return
	}
	ss.setReason("internal error: " + fmt.Sprint(p))
	ss.closing.Store(true)
	if ss.cwMu.TryLock() { // the panicking goroutine may hold it
		ss.be.Send(e)
		_ = ss.be.Flush()
		ss.cwMu.Unlock()
	}
	ss.closeConns()
}

func (s *Server) newSession(client net.Conn) *session {
	ss := &session{
		srv: s, client: client,
		stmts: map[string]*prepared{}, portals: map[string]*portal{},
		answered: make(chan struct{}, 1),
	}
	ss.be = pgproto3.NewBackend(client, client)
	ss.be.SetMaxBodyLen(s.cfg.MaxMessageSize)
	return ss
}

// forward runs the session until both its sides end: on an event loop
// when it can (loop.go), else the client loop here and the relay in a
// second goroutine.
func (ss *session) forward() {
	if l := ss.srv.loopFor(ss); l != nil {
		ss.loopDone = make(chan struct{})
		if l.adopt(ss) {
			<-ss.loopDone
			return
		}
	}
	ss.relayDone = make(chan struct{})
	go ss.relayGoroutine()
	ss.clientEnded(ss.clientLoop())
	<-ss.relayDone
}

// relayGoroutine runs the relay on a goroutine of its own.
func (ss *session) relayGoroutine() {
	defer ss.closeRelayDone()
	defer func() {
		if p := recover(); p != nil {
			ss.srv.panicked(ss.client, ss, p)
		}
	}()
	ss.relay()
}

// clientEnded ends the session's client side once its loop returned err:
// it cancels what the upstream still runs for a client that left
// mid-query, says goodbye upstream and closes both connections (which
// ends the relay).
func (ss *session) clientEnded(err error) {
	switch {
	case err == nil:
		ss.setReason("client terminated")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		ss.setReason("client disconnected")
	default:
		ss.setReason(err.Error())
	}
	ss.closing.Store(true)
	if ss.pending() > 0 && ss.srv.ctx.Err() == nil {
		// The client left mid-query: cancel it upstream before closing.
		ctx, cancel := context.WithTimeout(ss.srv.ctx, CancelTimeout)
		_ = ss.upCancel.send(ctx)
		cancel()
	}
	if ss.up != nil {
		_ = ss.up.SetWriteDeadline(time.Now().Add(time.Second))
		ss.fe.Send(&pgproto3.Terminate{})
		_ = ss.fe.Flush()
	}
	ss.closeConns()
}

// finish releases what the session holds; called once by serveConn.
func (ss *session) finish() {
	ss.closeConns()
	if ss.slot {
		<-ss.srv.slots
	}
	if ss.key != (cancelKey{}) {
		ss.srv.unregister(ss)
	}
	if ss.started {
		ss.endRunsSafely()
		ss.srv.cfg.Recorder.SessionEnd(context.Background(), &ss.rec, ss.getReason())
	}
}

// endRunsSafely runs endRuns once the relay has ended (serveConn waits for
// it before finish): every decided statement gets its result record before
// the session's end. A Recorder panicking here is logged, not allowed to
// end the gateway (no recover is left above finish).
func (ss *session) endRunsSafely() {
	defer func() {
		if p := recover(); p != nil {
			ss.srv.cfg.Logger.Error("postgres session panicked recording its last results",
				"session", ss.rec.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	ss.endRuns()
}

// closeConns closes both connections; safe to call many times from any
// goroutine.
func (ss *session) closeConns() {
	ss.closeOnce.Do(func() {
		ss.client.Close()
		if ss.up != nil {
			ss.up.Close()
		}
	})
}

// shutdown ends the session from outside (Server.Close).
func (ss *session) shutdown(reason string) {
	ss.terminate(reason, fatal(CodeAdminShutdown, "terminating connection: the mandate gateway is shutting down"))
}

// terminate ends the session from any goroutine: it records reason, tells
// the client e (a FATAL error) and closes both connections.
func (ss *session) terminate(reason string, e *pgproto3.ErrorResponse) {
	ss.setReason(reason)
	ss.closing.Store(true)
	// The deadline comes before the lock: a relay blocked writing a result
	// to a client that does not read holds cwMu, and only the deadline
	// ends that write.
	_ = ss.client.SetWriteDeadline(time.Now().Add(time.Second))
	ss.cwMu.Lock()
	ss.be.Send(e)
	_ = ss.be.Flush()
	ss.cwMu.Unlock()
	ss.closeConns()
}

func (ss *session) setReason(r string) {
	ss.reasonMu.Lock()
	if ss.reason == "" {
		ss.reason = r
	}
	ss.reasonMu.Unlock()
}

func (ss *session) getReason() string {
	ss.reasonMu.Lock()
	defer ss.reasonMu.Unlock()
	return ss.reason
}

// sendClient writes msgs to the client now, from any goroutine.
func (ss *session) sendClient(msgs ...pgproto3.BackendMessage) error {
	ss.cwMu.Lock()
	defer ss.cwMu.Unlock()
	for _, m := range msgs {
		ss.be.Send(m)
	}
	return ss.be.Flush()
}

// savepointMark is a SAVEPOINT the client loop decided. before is the
// last op queued then (nil: none): a ReadyForQuery 'I' answering it, or
// an op queued before it, ends an earlier transaction (a query pipelined
// ahead of BEGIN; SAVEPOINT s), not the one the SAVEPOINT runs in.
type savepointMark struct{ before *op }

// markSavepoint notes a SAVEPOINT decided now, before its op is queued
// (client loop).
func (ss *session) markSavepoint() {
	ss.opsMu.Lock()
	var before *op
	if n := len(ss.ops); n > 0 {
		before = ss.ops[n-1]
	}
	ss.opsMu.Unlock()
	ss.savepoint.Store(&savepointMark{before: before})
}

// idleAfter clears the savepoint mark when o, which ReadyForQuery 'I'
// answered, was queued after the SAVEPOINT was decided (relay).
func (ss *session) idleAfter(o *op) {
	m := ss.savepoint.Load()
	if m == nil {
		return
	}
	if m.before != nil {
		if m.before == o {
			return
		}
		ss.opsMu.Lock()
		queued := slices.Contains(ss.ops, m.before)
		ss.opsMu.Unlock()
		if queued {
			return
		}
	}
	// A SAVEPOINT decided since has a mark of its own.
	ss.savepoint.CompareAndSwap(m, nil)
}
