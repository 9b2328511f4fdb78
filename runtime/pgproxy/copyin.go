package pgproxy

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/mandatehq/mandate/runtime/pgsql"
)

// COPY FROM STDIN. While the server is in copy-in mode it reads the
// client's messages differently: it ignores Sync and Flush (libpq sends a
// Sync right behind the Execute of a COPY, and another after CopyDone), and
// any other message fails the COPY and is consumed. The op queue must
// follow that, or a later result would be matched to the wrong statement
// and masked by its plan. Whether the server enters copy-in mode is only
// known once it answers (CopyInResponse, or an error, both of which it
// sends at once), so after forwarding a COPY FROM STDIN the client loop
// settles that before it forwards a message whose meaning depends on it.
// Clients wait for CopyInResponse before they send data anyway; a Sync
// pipelined behind the COPY waits for the server's answer to it.

// copyOp marks o, which runs the statements stmts, when one of them is a
// COPY FROM STDIN (the only statement that puts the server in copy-in
// mode).
func (ss *session) copyOp(o *op, stmts []*pgsql.Analyzed) {
	n := 0
	for _, an := range stmts {
		if an.Statement.Tag != "COPY" {
			continue
		}
		for _, a := range an.Statement.Accesses {
			if a.Class == "copy_in" {
				n++
				break
			}
		}
	}
	if n > 0 {
		o.copy = true
		ss.copyPending, ss.copyLeft = o, n
	}
}

// pushCopy queues o, which copyOp may have marked. A COPY that push marks
// skipped (the server skips to the next Sync after an error) puts the
// server in no copy-in mode: nothing is pending.
func (ss *session) pushCopy(o *op) {
	ss.push(o)
	if o.copy && o.skipped && ss.copyPending == o {
		ss.copyPending, ss.copyLeft = nil, 0
	}
}

// copyGate decides what to do with msg while a COPY may hold the server in
// copy-in mode: forward it as usual (handled false), or it has been
// forwarded here as the server will read it (handled true). An error ends
// the session.
func (ss *session) copyGate(msg pgproto3.FrontendMessage) (handled bool, err error) {
	if ss.copyPending == nil {
		return false, nil
	}
	if _, ok := msg.(*pgproto3.CopyData); ok {
		return false, nil // consumed in copy-in mode, ignored outside it
	}
	if err := ss.settleCopy(); err != nil {
		return true, err
	}
	if !ss.copyActive {
		return false, nil
	}
	switch m := msg.(type) {
	case *pgproto3.CopyDone, *pgproto3.CopyFail:
		// The server leaves copy-in mode here. A query string may hold
		// another COPY FROM STDIN still to start.
		ss.copyActive = false
		if ss.copyLeft == 0 {
			ss.copyPending = nil
		}
		ss.fe.Send(m)
		return true, ss.flushUp()
	case *pgproto3.Sync, *pgproto3.Flush:
		ss.fe.Send(m) // ignored by the server in copy-in mode: no response owed
		return true, ss.flushUp()
	}
	e := fatal(CodeProtocolViolation, fmt.Sprintf("unexpected message %T during COPY FROM STDIN", msg))
	_ = ss.sendClient(e)
	return true, fmt.Errorf("client protocol violation: %T during COPY FROM STDIN", msg)
}

// settleCopy waits until the relay tells whether the pending COPY op put
// the server in copy-in mode (a CopyInResponse beyond those accounted) or
// ended without doing so.
func (ss *session) settleCopy() error {
	if ss.copyActive {
		return nil
	}
	ss.mayBlock()
	if err := ss.flushUp(); err != nil {
		return err
	}
	t := time.NewTimer(answerWait)
	defer t.Stop()
	for {
		if ss.copyIns.Load() > ss.copySeen {
			ss.copySeen++
			ss.copyLeft--
			ss.copyActive = true
			return nil
		}
		if !ss.queued(ss.copyPending) {
			ss.copyPending = nil
			return nil
		}
		select {
		case <-ss.answered:
		case <-ss.relayDone:
			return errUpstreamGone
		case <-t.C:
			e := fatal("55000", "mandate: the server did not answer a COPY in time")
			_ = ss.sendClient(e)
			return fmt.Errorf("waiting for the server's answer to a COPY")
		}
	}
}

// flushUp flushes what the client loop sent upstream.
func (ss *session) flushUp() error {
	ss.unflushed, ss.unflushedB = 0, 0
	if err := ss.fe.Flush(); err != nil {
		return fmt.Errorf("writing upstream: %w", err)
	}
	return nil
}

// wake wakes a client loop waiting for the relay.
func (ss *session) wake() {
	select {
	case ss.answered <- struct{}{}:
	default:
	}
}
