package pgproxy

import (
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/pgsql"
)

// revisioner is implemented by a Policy that can name its active bundle
// revision. With it, a prepared statement is re-decided at Execute only
// when the revision changed since its last decision; without it, at every
// Execute.
type revisioner interface {
	Revision() string
}

// reservedPrefix starts the upstream names the proxy gives protocol-level
// statements and portals; SQL-level names may not use it.
const reservedPrefix = "mandate_"

// verdict is the decision for one query text: every statement decided in
// order, stopping at the first that is not allowed.
type verdict struct {
	stmts    []*pgsql.Analyzed
	decs     []model.Decision
	masks    []*maskSet // per decided statement; nil entries: no masking
	masking  bool       // some statement has masking
	deny     *pgproto3.ErrorResponse
	revision string
}

// sqlObject is a PREPAREd statement or a DECLAREd cursor, tracked so that
// EXECUTE and FETCH are decided and masked like what they run.
type sqlObject struct {
	an    *pgsql.Analyzed
	masks *maskSet
}

// decide analyzes sql and decides each statement against the current
// policy. A string that does not parse is denied.
func (ss *session) decide(sql string) *verdict {
	stmts, err := ss.srv.cfg.Analyzer.Analyze(sql)
	if err != nil {
		d := denyDecision("the statement does not parse: " + err.Error())
		return &verdict{decs: []model.Decision{d}, deny: denial(d)}
	}
	v := &verdict{stmts: stmts}
	ss.decideAll(v)
	return v
}

// redecide returns p's verdict, decided again when the policy may have
// changed since.
func (ss *session) redecide(p *prepared) *verdict {
	if r, ok := ss.srv.cfg.Policy.(revisioner); ok && r.Revision() == p.v.revision {
		return p.v
	}
	v := &verdict{stmts: p.v.stmts}
	ss.decideAll(v)
	p.v = v
	return v
}

func (ss *session) decideAll(v *verdict) {
	srv := ss.srv
	if r, ok := srv.cfg.Policy.(revisioner); ok {
		v.revision = r.Revision()
	}
	now := srv.cfg.Now().Unix()
	for i, an := range v.stmts {
		an, carried, refuse := ss.resolveSQLObject(an)
		v.stmts[i] = an
		var dec model.Decision
		if refuse != "" {
			dec = denyDecision(refuse)
		} else {
			var err error
			dec, err = srv.cfg.Policy.Decide(srv.ctx, &model.Input{
				Kind: "postgres", Agent: ss.rec.Agent, Connection: ss.rec.Connection,
				NowUnix: now, Statement: &an.Statement, Approvals: ss.principal.Approvals,
			})
			if err != nil {
				srv.cfg.Logger.Warn("postgres statement decision failed", "session", ss.rec.ID, "err", err)
				dec = denyDecision("the policy could not be evaluated (fail closed)")
			}
		}
		var ms *maskSet
		if dec.Result == model.Allow {
			ms, dec = ss.checkAllowed(an, dec, carried)
		}
		if dec.Result == model.Allow && ms != nil && ms.hasColumns {
			// Under column masking, view columns must name what they
			// read: decide again on the expanded statement.
			an, dec, ms = ss.throughViews(an, dec, ms, carried, now)
			v.stmts[i] = an
		}
		v.masks = append(v.masks, ms)
		v.masking = v.masking || ms != nil
		v.decs = append(v.decs, dec)
		if dec.Result != model.Allow {
			v.deny = denial(dec)
			return
		}
	}
	ss.trackSQLObjects(v)
}

// throughViews expands the view columns of an allowed, masked statement
// into the base columns they read and decides it again when any relation
// it touches is a view. A catalog failure denies (fail closed).
func (ss *session) throughViews(an *pgsql.Analyzed, dec model.Decision, ms, carried *maskSet, now int64) (*pgsql.Analyzed, model.Decision, *maskSet) {
	var lookupErr error
	views := 0
	exp := an.ExpandViews(func(table string) *pgsql.View {
		v, err := ss.srv.catalog.view(ss.conn, table)
		if err != nil && lookupErr == nil {
			lookupErr = err
		}
		if v != nil {
			views++
		}
		return v
	})
	if lookupErr != nil {
		ss.srv.cfg.Logger.Warn("postgres view lookup", "session", ss.rec.ID, "err", lookupErr)
		return an, denyDecision("masking applies and a view this statement reads could not be resolved (fail closed)"), nil
	}
	if views == 0 {
		return an, dec, ms
	}
	d, err := ss.srv.cfg.Policy.Decide(ss.srv.ctx, &model.Input{
		Kind: "postgres", Agent: ss.rec.Agent, Connection: ss.rec.Connection,
		NowUnix: now, Statement: &exp.Statement, Approvals: ss.principal.Approvals,
	})
	if err != nil {
		return an, denyDecision("the policy could not be evaluated (fail closed)"), nil
	}
	if d.Result != model.Allow {
		return exp, d, nil
	}
	ms2, d := ss.checkAllowed(exp, d, carried)
	return exp, d, ms2
}

// checkAllowed applies what the proxy itself enforces on an allowed
// statement: masking rules load, lineage is known where masking applies,
// read-only sessions stay read-only.
func (ss *session) checkAllowed(an *pgsql.Analyzed, dec model.Decision, carried *maskSet) (*maskSet, model.Decision) {
	if an.ReadWrite && (dec.ReadOnly || ss.rec.ReadOnly) {
		return nil, denyDecision("a read-write transaction is not allowed: the session is read-only")
	}
	ms := carried
	if len(dec.Masking) > 0 {
		var err error
		ms, err = ss.srv.masks.get(dec.Masking)
		if err != nil {
			ss.srv.cfg.Logger.Warn("postgres masking rules", "session", ss.rec.ID, "err", err)
			return nil, denyDecision("the masking rules for this statement could not be loaded (fail closed)")
		}
		if carried != nil {
			ms = mergeMasks(carried, ms)
		}
	}
	if ms != nil && an.Statement.Tag == "COPY" {
		for _, a := range an.Statement.Accesses {
			if a.Class == "copy_out" {
				// CopyData rows are not masked: COPY TO is refused instead.
				return nil, denyDecision("COPY TO is not allowed where masking applies; use SELECT")
			}
		}
	}
	if ms != nil && ms.hasColumns {
		for _, o := range an.Outputs {
			if o.Unknown {
				return nil, denyDecision("masking applies and the origin of a result column is unknown")
			}
		}
		// Storing a masked value elsewhere would unmask it on the way back.
		if an.Writes.Unknown {
			return nil, denyDecision("masking applies and the origin of the values this statement stores is unknown")
		}
		if ms.firstOf(an.Writes.Sources) != nil {
			return nil, denyDecision("masking applies: this statement would copy a masked column into stored data")
		}
	}
	return ms, dec
}

// resolveSQLObject replaces EXECUTE by what it executes and carries a
// cursor's masking to FETCH; it refuses names the proxy reserves.
func (ss *session) resolveSQLObject(an *pgsql.Analyzed) (*pgsql.Analyzed, *maskSet, string) {
	if strings.HasPrefix(strings.ToLower(an.Name), reservedPrefix) {
		return an, nil, "names starting with " + reservedPrefix + " are reserved by the gateway"
	}
	switch an.Statement.Tag {
	case "EXECUTE":
		if p, ok := ss.sqlPrepared[an.Name]; ok {
			return an.ResolveExecute(p.an), nil, ""
		}
	case "FETCH", "MOVE":
		c, ok := ss.cursors[an.Name]
		if !ok {
			return an, nil, "cursor " + an.Name + " was not declared through the gateway"
		}
		r := *an
		r.Outputs = c.an.Outputs
		return &r, c.masks, ""
	}
	return an, nil, ""
}

// trackSQLObjects updates PREPARE and DECLARE bookkeeping once a whole
// string is allowed.
func (ss *session) trackSQLObjects(v *verdict) {
	for i, an := range v.stmts {
		switch an.Statement.Tag {
		case "PREPARE":
			ss.sqlPrepared[an.Name] = redeclare(ss.sqlPrepared[an.Name], &sqlObject{an: an, masks: v.masks[i]})
		case "DEALLOCATE":
			if an.Name == "" {
				clear(ss.sqlPrepared)
			} else {
				delete(ss.sqlPrepared, an.Name)
			}
		case "DECLARE CURSOR":
			ss.cursors[an.Name] = redeclare(ss.cursors[an.Name], &sqlObject{an: an, masks: v.masks[i]})
		case "COMMIT", "ROLLBACK":
			// Cursors end with their transaction (WITH HOLD ones lose
			// tracking here: FETCH from them is then denied, fail closed).
			clear(ss.cursors)
		case "CLOSE CURSOR":
			if an.Name == "" {
				clear(ss.cursors)
			} else {
				delete(ss.cursors, an.Name)
			}
		}
	}
}

// redeclare handles a name declared again while the proxy still tracks it:
// the server may keep the old object (a duplicate-name error) or hold the
// new one, so the result is conservative: every column may come from any
// source of either, under both maskings.
func redeclare(old, nu *sqlObject) *sqlObject {
	if old == nil {
		return nu
	}
	var srcs []string
	unknown := false
	for _, o := range []*sqlObject{old, nu} {
		for _, l := range o.an.Outputs {
			srcs = append(srcs, l.Sources...)
			unknown = unknown || l.Unknown
		}
	}
	an := *nu.an
	an.Outputs = []pgsql.Lineage{{Star: true, Sources: srcs, Unknown: unknown}}
	if an.Prepared != nil {
		p := *an.Prepared
		p.Outputs = an.Outputs
		an.Prepared = &p
	}
	return &sqlObject{an: &an, masks: mergeMasks(old.masks, nu.masks)}
}

// record numbers and records the decided statements of v before they run.
// A recorder error denies them (fail closed); the returned deny is then
// non-nil even when v allowed.
func (ss *session) record(v *verdict, protocol string) ([]*stmtRun, *pgproto3.ErrorResponse) {
	deny := v.deny
	runs := make([]*stmtRun, 0, len(v.decs))
	now := ss.srv.cfg.Now()
	for i, dec := range v.decs {
		ss.seq++
		r := &stmtRun{rec: StatementRecord{Seq: ss.seq, Protocol: protocol, Decision: dec, Decided: now}}
		if i < len(v.stmts) {
			an := v.stmts[i]
			r.rec.Statement = &an.Statement
			r.rec.raw, r.rec.redacted = an.Text, an.Redacted
			r.outputs = an.Outputs
		}
		if i < len(v.masks) {
			r.masks = v.masks[i]
		}
		if err := ss.srv.cfg.Recorder.Decided(ss.srv.ctx, &ss.rec, &r.rec); err != nil {
			ss.srv.cfg.Logger.Warn("recording statement", "session", ss.rec.ID, "err", err)
			if deny == nil {
				deny = denial(denyDecision("the gateway cannot record this statement (fail closed)"))
			}
			r.rec.Decision = denyDecision("recorder unavailable")
		}
		runs = append(runs, r)
	}
	return runs, deny
}
