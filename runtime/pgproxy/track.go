package pgproxy

import (
	"slices"
	"sync"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/mandatehq/mandate/runtime/pgsql"
)

// maxGoneNames bounds the names a session remembers as dropped; a name
// past it is refused as unknown (42501) rather than as missing.
const maxGoneNames = 1024

// sqlTracker follows a session's SQL-level prepared statements (PREPARE)
// and cursors (DECLARE) as the server holds them, so that EXECUTE and FETCH
// are decided and masked as what they run. The client loop queues the
// effect of each statement it sends; the relay settles it when the server
// answers, and only a statement the server completed changes what is
// tracked (a second PREPARE of a name fails with 42P05 and leaves the
// first in place, DEALLOCATE ALL and CLOSE ALL drop what they drop). A
// lookup before the answer sees every outcome at once: all the objects the
// name may hold, which the caller decides against together (fail closed).
//
// Cursors follow the server's transactions. A COMMIT that commits ends
// every cursor but those declared WITH HOLD; a transaction that rolls back
// (ROLLBACK, ROLLBACK TO SAVEPOINT, a COMMIT of a failed transaction, an
// implicit transaction with an error) also ends the WITH HOLD cursors it
// declared, while those of earlier committed transactions live on; and no
// cursor but a committed WITH HOLD one exists once the server reports the
// session idle (ReadyForQuery 'I'). The gateway does not follow
// savepoints: after ROLLBACK TO SAVEPOINT it forgets the cursors of the
// transaction in progress, and FETCH from a forgotten cursor is refused
// (42501) rather than answered as missing, since it may still exist; a
// FETCH that a DECLARE of the name still pending may answer is decided
// with the forgotten cursor as a candidate too.
//
// Ownership: mu guards every field; the client loop calls add and lookup,
// the relay settle.
type sqlTracker struct {
	mu       sync.Mutex
	prepared objectSet
	cursors  objectSet
	pending  []*sqlEffect // sent, not yet answered, oldest first
}

// objectSet is one namespace: prepared statements or cursors.
type objectSet struct {
	live map[string]*sqlObject
	gone map[string]bool // dropped, as the server confirmed
	// forgotten are cursors dropped from live at a ROLLBACK TO SAVEPOINT:
	// the server may still hold them (those declared before the
	// savepoint). A FETCH of the name alone is refused; one that another
	// object of the name may answer (a DECLARE still pending) counts the
	// forgotten one as a candidate too. A name stays here until a DECLARE
	// of it succeeds (so none existed), a CLOSE of it succeeds, or its
	// transaction rolls back.
	forgotten map[string]*sqlObject
}

// sqlObject is a PREPAREd statement or a DECLAREd cursor.
type sqlObject struct {
	an    *pgsql.Analyzed
	masks *maskSet
	// fresh marks a cursor declared in the transaction in progress: a
	// rollback ends it even WITH HOLD.
	fresh bool
}

// outlives reports whether a cursor may survive its transaction's end.
func (o *sqlObject) outlives() bool { return o.an.Hold }

type effectKind uint8

const (
	effPrepare    effectKind = iota + 1 // PREPARE name
	effDeallocate                       // DEALLOCATE name or ALL
	effDeclare                          // DECLARE name CURSOR
	effClose                            // CLOSE name or ALL
	effTxEnd                            // COMMIT, ROLLBACK: cursors end (see sqlTracker)
)

// sqlEffect is what one statement does to the tracked objects once the
// server completes it.
type sqlEffect struct {
	kind effectKind
	name string     // "" with effDeallocate, effClose: ALL
	obj  *sqlObject // effPrepare, effDeclare
	// commit is set for an effTxEnd whose statement completed as COMMIT
	// (a COMMIT of a failed transaction completes as ROLLBACK).
	commit bool
	// savepoint marks the effTxEnd of ROLLBACK TO SAVEPOINT.
	savepoint bool
}

func (e *sqlEffect) cursor() bool { return e.kind >= effDeclare }

// effectOf returns the effect of an allowed statement, or nil.
func effectOf(an *pgsql.Analyzed, ms *maskSet) *sqlEffect {
	switch an.Statement.Tag {
	case "PREPARE":
		return &sqlEffect{kind: effPrepare, name: an.Name, obj: &sqlObject{an: an, masks: ms}}
	case "DEALLOCATE":
		return &sqlEffect{kind: effDeallocate, name: an.Name}
	case "DECLARE CURSOR":
		return &sqlEffect{kind: effDeclare, name: an.Name, obj: &sqlObject{an: an, masks: ms}}
	case "CLOSE CURSOR":
		return &sqlEffect{kind: effClose, name: an.Name}
	case "COMMIT", "ROLLBACK":
		return &sqlEffect{kind: effTxEnd, savepoint: an.ToSavepoint}
	}
	return nil
}

// add queues effects of statements about to be sent.
func (t *sqlTracker) add(effs ...*sqlEffect) {
	t.mu.Lock()
	t.pending = append(t.pending, effs...)
	t.mu.Unlock()
}

// lookup returns the objects a prepared statement or cursor name may hold
// once the statements sent so far and then local (earlier statements of
// the same query string) have run, and whether the server confirmed it
// dropped (as far as those statements go).
func (t *sqlTracker) lookup(cursor bool, name string, local []*sqlEffect) (cands []*sqlObject, gone bool) {
	cands, gone, _ = t.lookupCursor(cursor, name, local)
	return cands, gone
}

// lookupCursor is lookup, also returning the forgotten cursor of the name
// the server may still hold (objectSet.forgotten), if any.
func (t *sqlTracker) lookupCursor(cursor bool, name string, local []*sqlEffect) (cands []*sqlObject, gone bool, forgotten *sqlObject) {
	t.mu.Lock()
	defer t.mu.Unlock()
	set := &t.prepared
	if cursor {
		set = &t.cursors
	}
	forgotten = set.forgotten[name]
	// all is every object the name held at some point of the sequence:
	// after ROLLBACK TO SAVEPOINT any of them may exist (those declared
	// before the savepoint survive it, and a COMMIT or ROLLBACK before it
	// may have been skipped after an error).
	var all []*sqlObject
	if o := set.live[name]; o != nil {
		cands = append(cands, o)
		all = append(all, o)
	}
	gone = set.gone[name]
	for _, effs := range [][]*sqlEffect{t.pending, local} {
		for _, e := range effs {
			if e == nil || e.cursor() != cursor {
				continue
			}
			switch e.kind {
			case effPrepare, effDeclare:
				if e.name == name {
					cands = append(cands, e.obj)
					all = append(all, e.obj)
				}
			case effDeallocate, effClose:
				// It may fail: what the name held stays a candidate.
				if e.name == name || e.name == "" {
					gone = true
				}
			case effTxEnd:
				if e.savepoint {
					cands = slices.Clone(all)
					break
				}
				// Only a WITH HOLD cursor may survive it.
				cands = slices.DeleteFunc(cands, func(o *sqlObject) bool { return !o.outlives() })
			}
		}
	}
	return cands, gone, forgotten
}

// settle applies e when the server completed its statement (ok) and takes
// it off the pending list either way.
func (t *sqlTracker) settle(e *sqlEffect, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i := slices.Index(t.pending, e); i >= 0 {
		t.pending = slices.Delete(t.pending, i, i+1)
	}
	if !ok {
		return
	}
	set := &t.prepared
	if e.cursor() {
		set = &t.cursors
	}
	switch e.kind {
	case effPrepare, effDeclare:
		if set.live == nil {
			set.live = map[string]*sqlObject{}
		}
		e.obj.fresh = e.kind == effDeclare
		set.live[e.name] = e.obj
		delete(set.gone, e.name)
		delete(set.forgotten, e.name)
	case effDeallocate, effClose:
		if e.name != "" {
			delete(set.live, e.name)
			delete(set.forgotten, e.name)
			set.drop(e.name)
			return
		}
		for name := range set.live {
			set.drop(name)
		}
		clear(set.live)
		clear(set.forgotten)
	case effTxEnd:
		t.endCursors(e.commit, !e.savepoint)
	}
}

// endCursors ends the cursors a transaction's end ends: all but WITH HOLD
// ones, and with a rollback also the WITH HOLD ones it declared. With
// known they are recorded as dropped, else only forgotten.
func (t *sqlTracker) endCursors(commit, known bool) {
	if known && !commit {
		// The transaction rolled back: the cursors forgotten in it ended.
		clear(t.cursors.forgotten)
	}
	for name, o := range t.cursors.live {
		switch {
		case !o.outlives(), o.fresh && !commit:
			delete(t.cursors.live, name)
			if known {
				t.cursors.drop(name)
			} else {
				// Moved, not added: as many as live held.
				if t.cursors.forgotten == nil {
					t.cursors.forgotten = map[string]*sqlObject{}
				}
				t.cursors.forgotten[name] = o
			}
		case commit:
			o.fresh = false
		}
	}
}

// holdMasks is the masking of the WITH HOLD cursors of the transaction in
// progress, settled or pending: their queries run to the end when it
// commits, so what their rows raise comes back as the COMMIT's error (or
// the Sync's, for an implicit transaction).
func (t *sqlTracker) holdMasks() *maskSet {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ms *maskSet
	for _, o := range t.cursors.live {
		if o.fresh && o.outlives() {
			ms = mergeMasks(ms, o.masks)
		}
	}
	for _, e := range t.pending {
		if e.kind == effDeclare && e.obj.outlives() {
			ms = mergeMasks(ms, e.obj.masks)
		}
	}
	return ms
}

// idle is called when the server reports the session idle (ReadyForQuery
// 'I'): a transaction ended there, explicitly or implicitly, and it
// committed unless failed (an error since the last ReadyForQuery).
func (t *sqlTracker) idle(failed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.endCursors(!failed, true)
}

func (s *objectSet) drop(name string) {
	if s.gone == nil {
		s.gone = map[string]bool{}
	}
	if len(s.gone) < maxGoneNames {
		s.gone[name] = true
	}
}

// trackRuns queues the effects of the statements of an allowed verdict
// about to be sent; each run settles its own when it completes.
func (ss *session) trackRuns(v *verdict, runs []*stmtRun) {
	var effs []*sqlEffect
	for i, r := range runs {
		if i >= len(v.stmts) {
			break
		}
		var ms *maskSet
		if i < len(v.masks) {
			ms = v.masks[i]
		}
		if e := effectOf(v.stmts[i], ms); e != nil {
			r.effect = e
			effs = append(effs, e)
		}
	}
	if len(effs) > 0 {
		ss.track.add(effs...)
	}
}

// refusal is the gateway refusing a statement on its own, with the error
// PostgreSQL would give (nil err: a policy-style denial).
type refusal struct {
	reason string
	err    *pgproto3.ErrorResponse
}

// resolveSQLObject returns what EXECUTE or FETCH/MOVE runs: one analysis
// per object the name may hold (a FETCH carries its cursor's masking); it
// refuses names the proxy reserves and names the server dropped.
func (ss *session) resolveSQLObject(an *pgsql.Analyzed, local []*sqlEffect) ([]*pgsql.Analyzed, *maskSet, *refusal) {
	if hasReservedPrefix(an.Name) {
		return nil, nil, &refusal{reason: "names starting with " + reservedPrefix + " are reserved by the gateway"}
	}
	switch an.Statement.Tag {
	case "EXECUTE":
		cands, gone := ss.track.lookup(false, an.Name, local)
		if len(cands) == 0 && gone {
			msg := `prepared statement "` + an.Name + `" does not exist`
			return nil, nil, &refusal{reason: msg, err: errorMsg("ERROR", "26000", msg, "")}
		}
		if len(cands) == 0 {
			// The analyzer's Forbidden denies it.
			return []*pgsql.Analyzed{an}, nil, nil
		}
		alts := make([]*pgsql.Analyzed, len(cands))
		for i, c := range cands {
			alts[i] = an.ResolveExecute(c.an)
		}
		return alts, nil, nil
	case "FETCH", "MOVE":
		cands, gone, forgotten := ss.track.lookupCursor(true, an.Name, local)
		if len(cands) > 0 && forgotten != nil {
			// A cursor forgotten at a ROLLBACK TO SAVEPOINT, which the
			// gateway does not follow, may still be what the server
			// holds, whatever a pending DECLARE of the name turns out
			// to do: it is a candidate too.
			cands = append(cands, forgotten)
		}
		if len(cands) == 0 {
			if gone {
				msg := `cursor "` + an.Name + `" does not exist`
				return nil, nil, &refusal{reason: msg, err: errorMsg("ERROR", "34000", msg, "")}
			}
			return nil, nil, &refusal{reason: "cursor " + an.Name + " was not declared through the gateway"}
		}
		// Decided as the cursor's query (what it reads must still be
		// allowed: a grant may have ended since the DECLARE), masked with
		// the masking it was declared under.
		var ms *maskSet
		alts := make([]*pgsql.Analyzed, len(cands))
		for i, c := range cands {
			alts[i] = an.ResolveFetch(c.an)
			ms = mergeMasks(ms, c.masks)
		}
		return alts, ms, nil
	}
	return []*pgsql.Analyzed{an}, nil, nil
}

// unionReads is what any of ans reads (Analyzed.Reads).
func unionReads(ans []*pgsql.Analyzed) pgsql.Lineage {
	var u pgsql.Lineage
	for _, a := range ans {
		u.Sources = append(u.Sources, a.Reads.Sources...)
		u.Unknown = u.Unknown || a.Reads.Unknown
	}
	return u
}

// unionOutputs is the result lineage of one of several statements, not
// known which: their own when there is one, else every column may come
// from any source of any of them.
func unionOutputs(ans []*pgsql.Analyzed) []pgsql.Lineage {
	if len(ans) == 1 {
		return ans[0].Outputs
	}
	var u pgsql.Lineage
	u.Star = true
	for _, a := range ans {
		for _, l := range a.Outputs {
			u.Sources = append(u.Sources, l.Sources...)
			u.Unknown = u.Unknown || l.Unknown
		}
	}
	return []pgsql.Lineage{u}
}
