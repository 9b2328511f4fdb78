package pgproxy

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/mandatehq/mandate/runtime/pgsql"
)

// Protocol-level names. The gateway gives every named statement and portal
// an upstream name of its own (mandate_s<n>, mandate_p<n>), so that a name
// never points at other text than the one decided. When the client uses a
// name again that the gateway still knows (Parse of a statement name, Bind
// to a portal name), the new object gets the same upstream name: the server
// then answers exactly as it would have answered the client, 42P05 or 42P03
// while the first object exists (which stays as it was), success when it is
// gone (DEALLOCATE ALL, CLOSE ALL, the end of its transaction, a failed
// Parse). Until the relay sees that answer, the name has two candidates; a
// message of the same batch (no Sync in between) can only run after a
// successful answer, as the server skips to Sync after an error, so it
// belongs to the newer one. A message of a later batch (pipelined) waits
// for the answer, as the server itself would have. Error messages naming
// an upstream name are rewritten to the client's name.

// answerWait bounds how long a pipelined message waits for the answer that
// tells which object its name refers to (the server answers once it has
// run the batches before); past it the message is refused.
var answerWait = time.Minute

// link chains the candidates of one client name, newest first.
type link[T any] struct {
	answer
	prev *T // client loop: the older candidate, nil once the answer is known
}

// candidate is *prepared or *portal.
type candidate[T any] interface {
	*T
	chain() *link[T]
}

// newest returns the newest candidate of a chain that the server may hold
// (nil: none), dropping the ones the server refused and those older than
// one it accepted.
func newest[T any, P candidate[T]](head P) P {
	for p := head; p != nil; p = P(p.chain().prev) {
		switch p.chain().state.Load() {
		case answerOK:
			p.chain().prev = nil
			return p
		case answerPending:
			p.chain().prev = (*T)(newest(P(p.chain().prev)))
			return p
		}
	}
	return nil
}

// pick returns the candidate a message sent now in batch refers to (nil:
// the server holds none). known is false when that depends on an answer
// the server has not given yet.
func pick[T any, P candidate[T]](head P, batch uint64) (p P, known bool) {
	p = newest(head)
	if p == nil || p.chain().state.Load() != answerPending || p.chain().batch == batch {
		return p, true
	}
	return p, p.chain().prev == nil
}

// settled picks like pick, waiting for the server's answers it needs.
func settled[T any, P candidate[T]](ss *session, head P) (P, bool) {
	for {
		p, known := pick(head, ss.batch)
		if known || !ss.awaitAnswer(&p.chain().answer) {
			return p, known
		}
	}
}

// awaitAnswer flushes what the client loop sent upstream and waits until
// the relay has a's answer, the relay ends, or answerWait passes.
func (ss *session) awaitAnswer(a *answer) bool {
	ss.mayBlock()
	if ss.relayDone == nil {
		return false
	}
	ss.unflushed, ss.unflushedB = 0, 0
	if err := ss.fe.Flush(); err != nil {
		return false
	}
	t := time.NewTimer(answerWait)
	defer t.Stop()
	for a.state.Load() == answerPending {
		select {
		case <-ss.answered:
		case <-ss.relayDone:
			return false
		case <-t.C:
			return false
		}
	}
	return true
}

// setAnswer stores an answer and wakes a client loop waiting for one.
func (ss *session) setAnswer(a *answer, state int32) {
	a.state.Store(state)
	select {
	case ss.answered <- struct{}{}:
	default:
	}
}

// maxNameBytes is how much of a protocol-level statement or portal name
// PostgreSQL reads (NAMEDATALEN - 1): it keys both by their first 63
// bytes, so names that share them are one name.
const maxNameBytes = 63

// nameKey is the name the gateway keeps a client's statement or portal
// under: PostgreSQL's key for it, its first maxNameBytes bytes, copied
// out of the message (a name of a megabyte held by 10,000 statements or
// portals would grow the gateway's memory past its bounds). Messages
// quote the name as the client sent it, as PostgreSQL's do.
func nameKey(name string) string {
	if len(name) <= maxNameBytes {
		return name
	}
	return strings.Clone(name[:maxNameBytes])
}

// upstreamName returns the upstream name for a client name: the one it
// already has when the client used it before (reuse), else a fresh one.
func (ss *session) upstreamName(prefix string, reuse bool, old string) string {
	if reuse {
		return old
	}
	ss.names++
	return prefix + strconv.FormatUint(ss.names, 10)
}

// renames are the replacer pairs that turn quoted upstream names in the
// server's messages into the client's (pairs: upstream, client, ...).
func renames(pairs ...string) []string {
	var r []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] != "" && pairs[i] != pairs[i+1] {
			r = append(r, `"`+pairs[i]+`"`, `"`+pairs[i+1]+`"`)
		}
	}
	return r
}

// missingStatement is PostgreSQL's error for an unknown statement name.
func missingStatement(name string) string {
	if name == "" {
		return "unnamed prepared statement does not exist"
	}
	return `prepared statement "` + name + `" does not exist`
}

// unsettled refuses a message whose name refers to one of two objects,
// depending on an answer the server has not given yet (a name parsed or
// bound again in an earlier, still pipelined batch): fail closed.
func unsettled(kind, name string) *pgproto3.ErrorResponse {
	return errorMsg("ERROR", "55000", "mandate: "+kind+` "`+name+`" was created again in a batch the server has not answered yet`,
		"Read the results of the earlier batch before using the name.")
}

// protocolDeallocates is protocolDeallocate for a simple query, of one
// statement or several: each DEALLOCATE name that names a protocol-level
// statement, and no SQL-level one (counting what the statements before it
// in the string prepare and deallocate), is rewritten in place to name
// that statement's upstream name. It returns the query to send and the
// renames for the server's errors.
func (ss *session) protocolDeallocates(v *verdict, sql string) (string, []string, *pgproto3.ErrorResponse) {
	if v.deny != nil || !slices.ContainsFunc(v.src, func(an *pgsql.Analyzed) bool {
		return an.Statement.Tag == "DEALLOCATE" && an.Name != ""
	}) {
		return sql, nil, nil // the common case: nothing to look up
	}
	type edit struct {
		i            int
		name, upName string
	}
	var (
		edits []edit
		local []*sqlEffect
	)
	for i, an := range v.src {
		if an.Statement.Tag == "DEALLOCATE" && an.Name != "" {
			if cands, _ := ss.track.lookup(false, an.Name, local); len(cands) == 0 {
				st, known := settled(ss, ss.stmts[an.Name])
				switch {
				case st == nil || st.upName == "":
				case !known:
					return sql, nil, unsettled("prepared statement", an.Name)
				default:
					edits = append(edits, edit{i, an.Name, st.upName})
				}
			}
		}
		if i < len(v.stmts) {
			var ms *maskSet
			if i < len(v.masks) {
				ms = v.masks[i]
			}
			local = append(local, effectOf(v.stmts[i], ms))
		}
	}
	if len(edits) == 0 {
		return sql, nil, nil
	}
	spans, err := pgsql.StatementSpans(sql)
	if err != nil || len(spans) != len(v.src) {
		return sql, nil, nil // as sent: the server then answers 26000
	}
	var (
		b   strings.Builder
		ren []string
	)
	last := 0
	for _, e := range edits {
		sp := spans[e.i]
		b.WriteString(sql[last:sp.Start])
		b.WriteString(`DEALLOCATE "` + e.upName + `"`)
		last = sp.End
		ren = append(ren, renames(e.upName, e.name)...)
	}
	b.WriteString(sql[last:])
	return b.String(), ren, nil
}

// protocolDeallocate rewrites SQL DEALLOCATE of a protocol-level statement
// name in a Parse (simple queries: protocolDeallocates). PostgreSQL keeps one namespace for both kinds of prepared
// statement, but the gateway gave the client's protocol-level ones upstream
// names of their own, so the server would not find the client's name. A
// query text that is one DEALLOCATE name, where name is no SQL-level
// statement the gateway tracks (PREPARE, settled or pending) but is a
// protocol-level one, goes upstream naming that statement's upstream name;
// the caller renames upName back to name in the server's errors. Anything
// else goes upstream as sent (up is sql, upName ""). ss.stmts keeps the name: the server answers its
// later uses as after DEALLOCATE ALL (Bind fails with 26000, a Parse again
// reuses the upstream name), and the SQL-level tracker records the name as
// dropped once the server completes the statement.
func (ss *session) protocolDeallocate(v *verdict, sql string) (up, name, upName string, deny *pgproto3.ErrorResponse) {
	if len(v.src) != 1 || v.deny != nil {
		return sql, "", "", nil
	}
	an := v.src[0]
	if an.Statement.Tag != "DEALLOCATE" || an.Name == "" {
		return sql, "", "", nil
	}
	if cands, _ := ss.track.lookup(false, an.Name, nil); len(cands) > 0 {
		return sql, "", "", nil
	}
	st, known := settled(ss, ss.stmts[an.Name])
	switch {
	case st == nil || st.upName == "":
		return sql, "", "", nil
	case !known:
		return sql, "", "", unsettled("prepared statement", an.Name)
	}
	return `DEALLOCATE "` + st.upName + `"`, an.Name, st.upName, nil
}
