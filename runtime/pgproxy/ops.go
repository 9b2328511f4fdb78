package pgproxy

import (
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/mandatehq/mandate/runtime/pgsql"
)

// op is one client message whose response the upstream owes. The client
// loop appends an op before it sends the message upstream; the relay pops
// it when the message's last response arrives.
type op struct {
	kind byte // 'Q' query (and substituted FunctionCall), 'P','B','D','E','C','S'
	// hidden ops were injected by the proxy; their responses (except
	// errors) are not relayed.
	hidden bool
	// copy is set for an op that runs a COPY FROM STDIN: the relay wakes
	// the client loop when it leaves the queue (copyin.go).
	copy bool
	// skipped is set (under opsMu, by push) on an op queued while the
	// server skips to the next Sync after an extended-protocol error
	// (session.skipping): the server answers nothing for it, and the
	// relay drops it before it handles the next message.
	skipped bool
	// deny replaces the ErrorResponse the op gets (the op was substituted
	// by one that fails).
	deny *pgproto3.ErrorResponse
	// runs are the statements the op executes: one per statement of a
	// Query, one for an Execute.
	runs []*stmtRun
	cur  int
	// portal is set for Describe('P') (the relay stores the row plan there)
	// and Execute (the relay reads it).
	portal *portal
	// creates is the answer of the named statement (Parse) or portal
	// (Bind) this op creates, or of a portal's first Execute: the relay
	// sets it from the server's reply.
	creates *answer
	// rename maps quoted upstream names to the client's in the server's
	// error messages (strings.NewReplacer pairs).
	rename []string
	start  time.Time
	// names is the masking of the statement a Describe describes: the
	// detectors mask its column names (maskFieldNames).
	names *maskSet

	// What the relay looked up in runs, once (masksFor, opFacts): the
	// first masked run's masking, and whether the runs call code the
	// analysis cannot see or read what factsMasks masks. walks counts the
	// lookups.
	looked, factsDone bool
	masks, factsMasks *maskSet
	calls, reads      bool
	walks             int
}

// stmtRun is one statement execution being recorded.
type stmtRun struct {
	rec     StatementRecord
	outputs []pgsql.Lineage // lineage of result columns (analyzer)
	reads   pgsql.Lineage   // every column the statement reads (analyzer)
	masks   *maskSet        // nil: no masking for this statement
	plan    *rowPlan        // current result's masking plan (relay)
	done    bool
	// culprit marks the statement a denied string's denial is for (its
	// own denial, or its Decided failed); the others of the string are
	// recorded as not executed.
	culprit bool
	// effect is what the statement does to SQL-level prepared statements
	// and cursors; the relay settles it when the statement completes.
	effect *sqlEffect
}

// prepared is a statement the client parsed, under the client's name.
type prepared struct {
	upName string // the proxy's upstream name ("" for unnamed)
	query  string
	v      *verdict
	denied bool // client loop: denied at Parse, never created upstream
	link   link[prepared]
	// deallocName is the protocol-level statement a SQL DEALLOCATE
	// parsed here drops, deallocUp its upstream name, which the upstream
	// Parse names instead (protocolDeallocate). Client loop.
	deallocName, deallocUp string
}

// portal is a portal the client bound, under the client's name.
type portal struct {
	upName    string
	stmt      *prepared
	described bool // client loop: a Describe('P') of it went upstream
	// executed is set once an Execute of it went upstream; firstOutputs
	// and firstMasks are that Execute's lineage and masking (client
	// loop). A portal that runs FETCH or EXECUTE returns, past its first
	// Execute, rows that Execute stored. first is that Execute's answer
	// (the relay sets it): one the server skipped (an earlier error of
	// its batch) ran nothing, stored nothing and described nothing, and
	// the portal survives it inside a savepoint's transaction.
	executed     bool
	firstOutputs []pgsql.Lineage
	firstMasks   *maskSet
	first        *answer
	link         link[portal]

	cols    []colInfo // relay: the portal's RowDescription
	hasDesc bool      // relay: cols is known
	// plan is the masking plan built from cols for planMasks (nil:
	// nothing to mask); planned says it was built. Relay.
	plan      *rowPlan
	planMasks *maskSet
	planned   bool
}

func (p *prepared) chain() *link[prepared] { return &p.link }
func (p *portal) chain() *link[portal]     { return &p.link }

// answer is the server's reply to the Parse or Bind that created a named
// statement or portal.
type answer struct {
	batch uint64       // client loop: the Syncs sent before the message
	state atomic.Int32 // answerPending until the relay sets it
}

const (
	answerPending int32 = iota
	answerOK
	answerFailed
)

// push queues o. While the server skips to the next Sync (skipping),
// every op but that Sync's is marked skipped.
func (ss *session) push(o *op) {
	ss.opsMu.Lock()
	if ss.skipping {
		if o.kind == 'S' {
			ss.skipping = false
		} else {
			o.skipped = true
		}
	}
	ss.ops = append(ss.ops, o)
	ss.opsMu.Unlock()
}

func (ss *session) pop() *op {
	ss.opsMu.Lock()
	defer ss.opsMu.Unlock()
	if len(ss.ops) == 0 {
		return nil
	}
	o := ss.ops[0]
	ss.ops[0] = nil
	ss.ops = ss.ops[1:]
	if len(ss.ops) == 0 {
		ss.ops = ss.ops[:0:0]
	}
	if o.copy {
		ss.wake()
	}
	return o
}

// queued reports whether o still waits for its responses.
func (ss *session) queued(o *op) bool {
	ss.opsMu.Lock()
	defer ss.opsMu.Unlock()
	for _, x := range ss.ops {
		if x == o {
			return true
		}
	}
	return false
}

// skipToSync drops the ops the server skips after an extended-protocol
// error: everything up to (not including) the next Sync. It returns them.
// When no Sync is queued (the client sent Flush, not Sync, and reads the
// error before it goes on), the server goes on skipping what the client
// sends next, up to its next Sync: push marks those ops skipped.
func (ss *session) skipToSync() []*op {
	ss.opsMu.Lock()
	defer ss.opsMu.Unlock()
	dropped := ss.dropLocked(func(o *op) bool { return o.kind != 'S' })
	ss.skipping = len(ss.ops) == 0
	return dropped
}

// headSkipping is head for the relay: it first drops the ops at the head
// of the queue that push marked skipped, which the server answers nothing
// for (the message in hand answers what follows them), and returns them.
func (ss *session) headSkipping() (*op, []*op) {
	ss.opsMu.Lock()
	defer ss.opsMu.Unlock()
	var dropped []*op
	if len(ss.ops) > 0 && ss.ops[0].skipped {
		dropped = ss.dropLocked(func(o *op) bool { return o.skipped })
	}
	if len(ss.ops) == 0 {
		return nil, dropped
	}
	return ss.ops[0], dropped
}

// dropLocked drops ops from the head of the queue while drop says so.
// Called with opsMu held.
func (ss *session) dropLocked(drop func(*op) bool) []*op {
	var dropped []*op
	for len(ss.ops) > 0 && drop(ss.ops[0]) {
		if ss.ops[0].copy {
			ss.wake()
		}
		dropped = append(dropped, ss.ops[0])
		ss.ops[0] = nil
		ss.ops = ss.ops[1:]
	}
	return dropped
}

func (ss *session) pending() int {
	ss.opsMu.Lock()
	defer ss.opsMu.Unlock()
	return len(ss.ops)
}
