package pgproxy

import (
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/mandatehq/mandate/model"
)

// Flush thresholds for messages buffered toward the upstream without a
// Sync, Flush or Query.
const (
	maxUnflushedMsgs  = 64
	maxUnflushedBytes = 64 << 10
)

// clientLoop reads client messages until Terminate (nil), a read error or a
// protocol violation (after a FATAL 08P01 to the client). It is the only
// writer toward the upstream.
func (ss *session) clientLoop() error {
	for {
		msg, err := ss.be.Receive()
		if errors.Is(err, errWouldBlock) {
			return err // on an event loop: nothing more to read yet
		}
		if err != nil {
			return ss.clientReadError(err)
		}
		if handled, err := ss.copyGate(msg); err != nil || handled {
			if err != nil {
				return err
			}
			continue
		}
		flush := false
		switch m := msg.(type) {
		case *pgproto3.Query:
			ss.onQuery(m)
			flush = true
		case *pgproto3.Parse:
			ss.onParse(m)
		case *pgproto3.Bind:
			ss.onBind(m)
		case *pgproto3.Describe:
			ss.onDescribe(m)
		case *pgproto3.Execute:
			ss.onExecute(m)
		case *pgproto3.Close:
			ss.onClose(m)
		case *pgproto3.Sync:
			ss.push(&op{kind: 'S'})
			ss.fe.Send(m)
			ss.batch++
			flush = true
		case *pgproto3.Flush:
			ss.fe.Send(m)
			flush = true
		case *pgproto3.CopyData:
			ss.fe.Send(m)
			ss.unflushedB += len(m.Data)
		case *pgproto3.CopyDone, *pgproto3.CopyFail:
			ss.fe.Send(m)
			flush = true
		case *pgproto3.FunctionCall:
			// The fast-path interface calls any function by OID, around
			// every statement check: always denied.
			ss.seq++
			d := denyDecision("the function-call protocol (fast path) is not allowed through the gateway")
			run := &stmtRun{rec: StatementRecord{Seq: ss.seq, Protocol: "fastpath", Decision: d, Decided: ss.srv.cfg.Now()}}
			_ = ss.srv.cfg.Recorder.Decided(ss.srv.ctx, &ss.rec, &run.rec)
			ss.push(&op{kind: 'Q', deny: denial(d), runs: []*stmtRun{run}, start: time.Now()})
			ss.fe.Send(&pgproto3.Query{String: deniedSQL})
			flush = true
		case *pgproto3.Terminate:
			return nil
		default:
			e := fatal(CodeProtocolViolation, fmt.Sprintf("unexpected message %T", msg))
			_ = ss.sendClient(e)
			return fmt.Errorf("client protocol violation: unexpected %T", msg)
		}
		ss.unflushed++
		if flush || ss.unflushed >= maxUnflushedMsgs || ss.unflushedB >= maxUnflushedBytes {
			ss.unflushed, ss.unflushedB = 0, 0
			if err := ss.fe.Flush(); err != nil {
				return fmt.Errorf("writing upstream: %w", err)
			}
			ss.backpressure()
		}
	}
}

// clientReadError classifies a failed client read; malformed and oversized
// messages get a FATAL 08P01 before the session ends.
func (ss *session) clientReadError(err error) error {
	var big *pgproto3.ExceededMaxBodyLenErr
	switch {
	case errors.As(err, &big):
		_ = ss.sendClient(fatal(CodeProtocolViolation,
			fmt.Sprintf("message of %d bytes exceeds the gateway's limit of %d bytes", big.ActualBodyLen, big.MaxExpectedBodyLen)))
		return fmt.Errorf("client message too large: %w", err)
	case isConnError(err):
		return err
	default:
		_ = ss.sendClient(fatal(CodeProtocolViolation, "invalid protocol message"))
		return fmt.Errorf("reading client message: %w", err)
	}
}

// onQuery decides every statement of a simple query, all or nothing.
func (ss *session) onQuery(m *pgproto3.Query) {
	v := ss.decide(m.String)
	o := &op{kind: 'Q', start: time.Now()}
	var deny *pgproto3.ErrorResponse
	o.runs, deny = ss.record(v, "simple")
	up := m
	if deny == nil {
		sql, ren, d := ss.protocolDeallocates(v, m.String)
		if len(ren) > 0 {
			up, o.rename = &pgproto3.Query{String: sql}, ren
		}
		deny = d
	}
	if deny != nil {
		o.deny = deny
		ss.push(o)
		ss.fe.Send(&pgproto3.Query{String: deniedSQL})
		return
	}
	ss.trackRuns(v, o.runs)
	ss.copyOp(o, v.stmts)
	ss.pushCopy(o)
	ss.fe.Send(up)
}

// onParse decides the statement and binds the decision to this text under
// the name's upstream name (see names.go).
func (ss *session) onParse(m *pgproto3.Parse) {
	name := nameKey(m.Name)
	if name != "" {
		old, used := ss.stmts[name]
		grow := len(m.Query)
		if used {
			grow -= len(old.query)
		}
		switch {
		case !used && len(ss.stmts) >= maxSessionStatements:
			ss.refuseParse(fmt.Sprintf("mandate: the session holds %d named prepared statements, the gateway's limit", maxSessionStatements))
			return
		case grow > 0 && ss.stmtBytes+grow > maxSessionStatementBytes:
			ss.refuseParse(fmt.Sprintf("mandate: the session's named prepared statements hold %d MiB of text, the gateway's limit", maxSessionStatementBytes>>20))
			return
		}
	}
	v := ss.decide(m.Query)
	p := &prepared{query: m.Query, v: v}
	p.link.batch = ss.batch
	if name != "" {
		old, used := ss.stmts[name]
		if used {
			p.link.prev = newest(old)
			p.upName = old.upName
		}
		p.upName = ss.upstreamName("mandate_s", used, p.upName)
	}
	upQuery := m.Query
	if v.deny == nil {
		var deny *pgproto3.ErrorResponse
		upQuery, p.deallocName, p.deallocUp, deny = ss.protocolDeallocate(v, m.Query)
		if deny != nil {
			v.deny = deny
		}
	}
	if old, ok := ss.stmts[name]; ok {
		ss.stmtBytes -= len(old.query)
	}
	ss.stmts[name] = p
	ss.stmtBytes += len(m.Query)
	o := &op{kind: 'P', creates: &p.link.answer, rename: renames(p.upName, m.Name)}
	if v.deny != nil && !v.late {
		// Record the denial now: the statement never reaches Execute.
		p.denied = true
		o.deny = v.deny
		o.runs, _ = ss.record(v, "extended")
		ss.push(o)
		ss.fe.Send(&pgproto3.Parse{Name: p.upName, Query: deniedSQL})
		return
	}
	ss.push(o)
	ss.fe.Send(&pgproto3.Parse{Name: p.upName, Query: upQuery, ParameterOIDs: m.ParameterOIDs})
}

// maxSessionStatements and maxSessionStatementBytes bound the named
// prepared statements the gateway keeps per session, in number and in
// text: it holds each one's text and verdict until the client closes it,
// including those the policy denied, which the server never holds, so
// without a bound one client could grow the gateway's memory without end.
const (
	maxSessionStatements     = 10000
	maxSessionStatementBytes = 64 << 20
)

// refuseParse answers a Parse past a session limit with msg and 54000
// (program_limit_exceeded). The upstream Parse fails in the raw parser
// under a name the gateway never creates, so nothing changes there.
func (ss *session) refuseParse(msg string) {
	d := denyDecision(msg)
	v := &verdict{decs: []model.Decision{d}, deny: errorMsg("ERROR", CodeProgramLimitExceeded, msg,
		"Close (deallocate) prepared statements the session no longer needs.")}
	o := &op{kind: 'P', deny: v.deny}
	o.runs, _ = ss.record(v, "extended")
	ss.push(o)
	ss.fe.Send(&pgproto3.Parse{Name: deniedStatementName, Query: deniedSQL})
}

func (ss *session) onBind(m *pgproto3.Bind) {
	name := nameKey(m.DestinationPortal)
	st, known := settled(ss, ss.stmts[nameKey(m.PreparedStatement)])
	full := name != "" && ss.portalsFull(name)
	pt := &portal{stmt: st}
	pt.link.batch = ss.batch
	if full {
		// Not kept: the Bind fails, and the server holds no such portal.
		o := &op{kind: 'B', deny: errorMsg("ERROR", CodeProgramLimitExceeded,
			fmt.Sprintf("mandate: the transaction holds %d named portals, the gateway's limit", maxSessionPortals),
			"Close portals the transaction no longer needs, or end the transaction.")}
		ss.push(o)
		ss.fe.Send(&pgproto3.Bind{DestinationPortal: deniedStatementName, PreparedStatement: deniedStatementName})
		return
	}
	if name != "" {
		old, used := ss.portals[name]
		if used {
			pt.link.prev = newest(old)
			pt.upName = old.upName
		}
		pt.upName = ss.upstreamName("mandate_p", used, pt.upName)
	}
	ss.portals[name] = pt
	o := &op{kind: 'B', creates: &pt.link.answer}
	up := *m
	up.DestinationPortal = pt.upName
	switch {
	case st == nil:
		pt.stmt = nil
		up.PreparedStatement = deniedStatementName
		o.deny = errorMsg("ERROR", "26000", missingStatement(m.PreparedStatement), "")
	case !known:
		pt.stmt = nil
		up.PreparedStatement = deniedStatementName
		o.deny = unsettled("prepared statement", m.PreparedStatement)
	default:
		up.PreparedStatement = st.upName
		o.rename = renames(st.upName, m.PreparedStatement, pt.upName, m.DestinationPortal)
	}
	ss.push(o)
	ss.fe.Send(&up)
}

// maxSessionPortals bounds the named portals the gateway keeps per session.
// The server drops a transaction's portals when it ends, but the client
// need not close them, so the gateway forgets those of ended transactions
// (prunePortals) when the bound is reached, and refuses a Bind past it
// (54000) only when that many are live in one transaction.
const maxSessionPortals = 10000

// portalsFull reports whether a Bind may not create the named portal name:
// a new name when maxSessionPortals are held even after forgetting those
// of ended transactions.
func (ss *session) portalsFull(name string) bool {
	if _, used := ss.portals[name]; used || len(ss.portals) < maxSessionPortals {
		return false
	}
	ss.prunePortals()
	return len(ss.portals) >= maxSessionPortals
}

// prunePortals forgets the named portals bound before the last Sync the
// server answered with the session idle: their transaction has ended, and
// the server has dropped them.
func (ss *session) prunePortals() {
	idle := ss.idleBatch.Load()
	for name, pt := range ss.portals {
		if name != "" && pt.link.batch < idle {
			delete(ss.portals, name)
		}
	}
}

func (ss *session) onDescribe(m *pgproto3.Describe) {
	o := &op{kind: 'D'}
	up := *m
	up.Name = deniedStatementName
	if m.ObjectType == 'S' {
		st, known := settled(ss, ss.stmts[nameKey(m.Name)])
		switch {
		case st == nil:
			o.deny = errorMsg("ERROR", "26000", missingStatement(m.Name), "")
		case !known:
			o.deny = unsettled("prepared statement", m.Name)
		default:
			up.Name = st.upName
			o.rename = renames(st.upName, m.Name)
			o.names = st.v.firstMasks()
		}
	} else {
		pt, known := settled(ss, ss.portals[nameKey(m.Name)])
		switch {
		case pt == nil || pt.stmt == nil:
			o.deny = missingPortal(m.Name)
		case !known:
			o.deny = unsettled("portal", m.Name)
		default:
			up.Name = pt.upName
			pt.described = true
			o.portal = pt
			o.names = pt.stmt.v.firstMasks()
			o.rename = renames(pt.upName, m.Name)
		}
	}
	ss.push(o)
	ss.fe.Send(&up)
}

// onExecute re-decides the portal's statement against the current policy
// (when it may have changed), records it, and injects a hidden
// Describe('P') when masking needs the portal's RowDescription.
func (ss *session) onExecute(m *pgproto3.Execute) {
	pt, known := settled(ss, ss.portals[nameKey(m.Portal)])
	o := &op{kind: 'E', start: time.Now(), portal: pt}
	switch {
	case pt == nil || pt.stmt == nil:
		o.deny = missingPortal(m.Portal)
	case !known:
		o.deny = unsettled("portal", m.Portal)
	case pt.stmt.denied:
		// Denied at Parse (and recorded there); the statement never
		// existed upstream.
		o.deny = pt.stmt.v.deny
	case pt.stmt.deallocUp != "" && ss.stmts[pt.stmt.deallocName] != nil && ss.stmts[pt.stmt.deallocName].upName != pt.stmt.deallocUp:
		// A DEALLOCATE rewritten at Parse names a statement the client
		// closed and parsed again since: the name now holds another
		// upstream statement, which this DEALLOCATE would not drop.
		o.deny = errorMsg("ERROR", "55000", `mandate: prepared statement "`+pt.stmt.deallocName+`" was closed and parsed again after this DEALLOCATE was parsed`,
			"Parse the DEALLOCATE again.")
	case pt.executed && pt.first != nil && !ss.firstRan(pt):
		// A portal running a name keeps its first Execute's masking
		// (below), which holds only if the server ran that Execute.
		if pt.first.state.Load() == answerPending {
			o.deny = errorMsg("ERROR", "55000", `mandate: portal "`+m.Portal+`" first ran in a batch the server has not answered yet`,
				"Read the results of the earlier batch before executing the portal again.")
			break
		}
		// The server skipped or failed it: this one is the first.
		pt.executed = false
	}
	if o.deny != nil {
		o.portal = nil
		ss.push(o)
		ss.fe.Send(&pgproto3.Execute{Portal: deniedStatementName})
		return
	}
	o.rename = append(renames(pt.upName, m.Portal), renames(pt.stmt.deallocUp, pt.stmt.deallocName)...)
	v := ss.redecide(pt.stmt)
	var deny *pgproto3.ErrorResponse
	o.runs, deny = ss.record(v, "extended")
	if deny != nil {
		o.deny = deny
		ss.push(o)
		ss.fe.Send(&pgproto3.Execute{Portal: deniedStatementName})
		return
	}
	ss.trackRuns(v, o.runs)
	if v.names && len(o.runs) > 0 {
		r := o.runs[0]
		if pt.executed {
			r.outputs, r.masks = pt.firstOutputs, mergeMasks(pt.firstMasks, r.masks)
		} else {
			pt.firstOutputs, pt.firstMasks = r.outputs, r.masks
		}
	}
	// Masking reads the columns of this portal, not those the statement
	// had at Parse: the server analyzes the statement again at Bind when
	// the relations it names changed since (a table replaced by a view
	// over masked columns, a column renamed). A portal that runs a name
	// (EXECUTE, FETCH) had its row description fixed at Bind, but the
	// server reports its columns' origins from what the name holds when
	// asked: it is described again before it first runs.
	if v.masking && (!pt.described || v.names && !pt.executed) {
		ss.push(&op{kind: 'D', hidden: true, portal: pt, rename: o.rename})
		ss.fe.Send(&pgproto3.Describe{ObjectType: 'P', Name: pt.upName})
		pt.described = true
	}
	if !pt.executed && v.names {
		pt.first = &answer{batch: ss.batch}
		o.creates = pt.first
	}
	pt.executed = true
	ss.copyOp(o, v.stmts)
	ss.pushCopy(o)
	ss.fe.Send(&pgproto3.Execute{Portal: pt.upName, MaxRows: m.MaxRows})
}

// firstRan reports whether the server ran pt's first Execute, waiting for
// its answer when the Execute was sent in an earlier batch (one of the
// same batch runs before this one or makes the server skip both). An
// answer that does not come in time reports false, with pt.first still
// pending.
func (ss *session) firstRan(pt *portal) bool {
	a := pt.first
	if a.state.Load() == answerPending && a.batch != ss.batch {
		ss.awaitAnswer(a)
	}
	switch a.state.Load() {
	case answerFailed:
		return false
	case answerPending:
		return a.batch == ss.batch
	}
	return true
}

func (ss *session) onClose(m *pgproto3.Close) {
	up := *m
	// Closing what does not exist is not an error; close nothing.
	up.Name = deniedStatementName
	name := nameKey(m.Name)
	if m.ObjectType == 'S' {
		if st, ok := ss.stmts[name]; ok {
			up.Name = st.upName
			delete(ss.stmts, name)
			ss.stmtBytes -= len(st.query)
		}
	} else {
		if pt, ok := ss.portals[name]; ok {
			up.Name = pt.upName
			delete(ss.portals, name)
		}
	}
	ss.push(&op{kind: 'C'})
	ss.fe.Send(&up)
}

// missingPortal is PostgreSQL's error for an unknown portal name.
func missingPortal(name string) *pgproto3.ErrorResponse {
	return errorMsg("ERROR", "34000", `portal "`+name+`" does not exist`, "")
}
