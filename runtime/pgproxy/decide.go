package pgproxy

import (
	"slices"
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
	src      []*pgsql.Analyzed // the analyzer's statements
	stmts    []*pgsql.Analyzed // as decided: EXECUTE resolved, FETCH with its cursor's lineage
	decs     []model.Decision
	masks    []*maskSet // per decided statement; nil entries: no masking
	masking  bool       // some statement has masking
	deny     *pgproto3.ErrorResponse
	revision string
	// names is set when a statement runs a prepared statement or cursor by
	// name (EXECUTE, FETCH, MOVE): what the name holds may change between
	// Executes, so each Execute decides again.
	names bool
	// late is set when deny is the server's own error for a dropped name
	// (26000, 34000), which PostgreSQL reports at Execute, not at Parse.
	late bool
	// culprit is 1 + the index in decs of the statement deny is for; 0
	// when none is (deny is not a statement's decision).
	culprit int
}

// decide analyzes sql and decides each statement against the current
// policy. A string that does not parse is denied.
func (ss *session) decide(sql string) *verdict {
	stmts, err := ss.srv.cfg.Analyzer.Analyze(sql)
	if err != nil {
		d, deny := unparsed(err)
		return &verdict{decs: []model.Decision{d}, deny: deny}
	}
	v := &verdict{src: stmts}
	ss.decideAll(v)
	return v
}

// redecide returns p's verdict, decided again when the policy may have
// changed since or the verdict depends on what a name holds.
func (ss *session) redecide(p *prepared) *verdict {
	if r, ok := ss.srv.cfg.Policy.(revisioner); ok && r.Revision() == p.v.revision && !p.v.names {
		// A SAVEPOINT parsed outside the transaction it runs in marks
		// that one (cascadeAfter).
		for _, an := range p.v.src {
			if an.Statement.Tag == "SAVEPOINT" {
				ss.markSavepoint()
				break
			}
		}
		return p.v
	}
	v := &verdict{src: p.v.src}
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
	// local holds the effects of the statements decided so far: a later
	// statement of the same string sees them.
	var local []*sqlEffect
	// approval is the first statement that needs an approval: the rest
	// are decided too, so that a string an approval would not let run
	// (another statement is denied outright) is not reported as
	// requestable. The first denial wins, else the first approval.
	var approval *model.Decision
	approvalAt := 0
	defer func() {
		if approval != nil && v.deny == nil {
			v.deny, v.culprit = denial(*approval), approvalAt
		}
	}()
	for i, src := range v.src {
		switch src.Statement.Tag {
		case "EXECUTE", "FETCH", "MOVE":
			v.names = true
		}
		src = typedAfter(v, i, src)
		alts, carried, refuse := ss.resolveSQLObject(src, local)
		var (
			an  = src
			dec model.Decision
			ms  *maskSet
		)
		if src.Statement.Tag == "SAVEPOINT" {
			ss.markSavepoint()
		}
		cascade := ss.cascadeAfter(v, i)
		switch {
		case refuse != nil:
			dec = denyDecision(refuse.reason)
		case cascade != "":
			dec = denyDecision(cascade)
		default:
			an, dec, ms = ss.decideAlternatives(alts, carried, now)
		}
		v.stmts = append(v.stmts, an)
		v.masks = append(v.masks, ms)
		v.masking = v.masking || ms != nil
		v.decs = append(v.decs, dec)
		if dec.Result == model.NeedsApproval && refuse == nil {
			if approval == nil {
				approval, approvalAt = &dec, len(v.decs)
			}
			local = append(local, effectOf(an, ms))
			continue
		}
		if dec.Result != model.Allow {
			v.deny, v.culprit = denial(dec), len(v.decs)
			if refuse != nil && refuse.err != nil {
				v.deny, v.late = refuse.err, true
			}
			// None of the string runs; what follows is recorded too,
			// undecided: every statement the agent sent is in the record.
			for _, rest := range v.src[i+1:] {
				v.stmts = append(v.stmts, rest)
				v.masks = append(v.masks, nil)
				v.decs = append(v.decs, denyDecision(notDecided))
			}
			return
		}
		local = append(local, effectOf(an, ms))
	}
}

// cascadeAfter returns why the i-th statement of v may not run when it
// CASCADEs after a statement of its string that may change the catalog:
// what CASCADE reaches is looked up as the catalog stands when it is
// decided (cascade.go), and every statement of a string is decided before
// any runs, so ALTER TABLE a RENAME TO b; ALTER TABLE x RENAME TO a; DROP
// TABLE a CASCADE would be decided on the old a. A prepared CASCADE is
// decided again at each Execute (v.names), after what ran since. The
// lookup finds the open transaction's own changes by its transaction IDs,
// which a released savepoint's are not among: a CASCADE in a transaction
// that set one is refused.
func (ss *session) cascadeAfter(v *verdict, i int) string {
	if len(v.src[i].Cascade) == 0 {
		return ""
	}
	v.names = true
	if ss.savepoint.Load() != nil {
		return "CASCADE in a transaction that set a savepoint: what a released savepoint changed does not show in the catalog lookup of what CASCADE reaches; " +
			"commit first, or run the CASCADE in a transaction without savepoints"
	}
	for _, p := range v.src[:i] {
		if !p.Statement.Always {
			return "CASCADE after another statement of the same query string: what it reaches is looked up in the catalog before the string runs, " +
				"which the statements before it may change; send it on its own"
		}
	}
	return ""
}

// typedAfter returns the i-th statement of v as it may be decided when it
// has typed reads (pgsql.TypedRead): their columns' types are looked up
// as the catalog stands when it is decided, so after a statement of its
// string that may change the catalog (ALTER TABLE s ALTER COLUMN a TYPE
// float4[]; SELECT s.a || t.masked), which runs only after both are
// decided, they stay filters; and a prepared statement with typed reads is
// decided again at each Execute (v.names), which PostgreSQL analyzes again
// after a schema change.
func typedAfter(v *verdict, i int, src *pgsql.Analyzed) *pgsql.Analyzed {
	if len(src.TypedFilters) == 0 {
		return src
	}
	v.names = true
	for _, p := range v.src[:i] {
		if !p.Statement.Always {
			r := *src
			r.TypedFilters = nil
			return &r
		}
	}
	return src
}

// notDecided is the decision recorded for the statements of a string after
// one denied outright: they are not decided, and none of the string runs.
const notDecided = "not decided: an earlier statement of the string was denied"

// decideAlternatives decides what a statement may run: all of alts must be
// allowed, and the result is masked under all their maskings.
func (ss *session) decideAlternatives(alts []*pgsql.Analyzed, carried *maskSet, now int64) (*pgsql.Analyzed, model.Decision, *maskSet) {
	var (
		first *pgsql.Analyzed
		dec   model.Decision
		ms    *maskSet
	)
	for i, alt := range alts {
		an, d, m := ss.decideOne(alt, carried, now)
		if d.Result != model.Allow {
			return an, d, nil
		}
		if i == 0 {
			first, dec = an, d
		}
		ms = mergeMasks(ms, m)
		alts[i] = an
	}
	if len(alts) > 1 {
		r := *first
		r.Outputs = unionOutputs(alts)
		r.Reads = unionReads(alts)
		first = &r
	}
	return first, dec, ms
}

// decideOne decides one statement against the policy and what the proxy
// itself enforces.
func (ss *session) decideOne(an *pgsql.Analyzed, carried *maskSet, now int64) (*pgsql.Analyzed, model.Decision, *maskSet) {
	srv := ss.srv
	an, shadows, reason := ss.shadowed(an)
	if reason == "" {
		reason = ss.missingCatalog(an)
	}
	if reason == "" {
		reason = ss.systemObjects(an)
	}
	an, reason = ss.ownerTables(an, reason) // indexes.go
	if reason != "" {
		return an, denyDecision(reason), nil
	}
	an, dec, err := ss.decidePolicy(an, now)
	if err != nil {
		srv.cfg.Logger.Warn("postgres statement decision failed", "session", ss.rec.ID, "err", err)
		return an, denyDecision("the policy could not be evaluated (fail closed)"), nil
	}
	if dec.Result != model.Allow {
		return an, dec, nil
	}
	if len(shadows) > 0 && (len(dec.Masking) > 0 || carried != nil) {
		return an, ss.maskDenial(carried, dec, "masking applies and schema "+PinnedSearchPath+" defines "+strings.Join(shadows, ", ")+
			", which PostgreSQL may run instead of the built-in of that name; qualify it with pg_catalog (pg_catalog.f(...), OPERATOR(pg_catalog.op))"), nil
	}
	ms, dec := ss.checkAllowed(an, dec, carried)
	if dec.Result == model.Allow && (dec.ReadOnly || ss.rec.ReadOnly) {
		if reason := ss.checkReadOnlyViews(an); reason != "" { // readonlyviews.go
			return an, grantDenial(dec, reason), nil
		}
	}
	src := an
	if dec.Result == model.Allow && ms != nil && ms.hasColumns {
		// Under column masking, view columns must name what they
		// read: decide again on the expanded statement.
		an, dec, ms = ss.throughViews(an, dec, ms, carried, now)
	}
	if dec.Result == model.Allow && ms != nil && ms.hasColumns {
		if reason := ss.checkInheritance(an, ms); reason != "" {
			return an, ms.denial(reason), nil
		}
	}
	if dec.Result == model.Allow && ms != nil && ms.hasColumns && !copiesOut(an) {
		if reason := ss.checkFieldNotation(an, ms); reason != "" {
			return an, ms.denial(reason), nil
		}
	}
	if dec.Result == model.Allow && ms != nil && copiesOut(an) {
		// CopyData rows cannot be masked: COPY TO runs only when
		// there is nothing to mask.
		if reason := ss.checkCopyOut(src, an, ms); reason != "" {
			return an, ms.denial(reason), nil
		}
	}
	return an, dec, ms
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
		return an, ms.denial("masking applies and a view this statement reads could not be resolved (fail closed)"), nil
	}
	if views == 0 {
		return an, dec, ms
	}
	if reason := ss.missingCatalog(exp); reason != "" {
		// A view's definition names them as the catalog printed it.
		return exp, denyDecision(reason), nil
	}
	exp, d, err := ss.decidePolicy(exp, now)
	if err != nil {
		return an, denyDecision("the policy could not be evaluated (fail closed)"), nil
	}
	if d.Result != model.Allow {
		return exp, d, nil
	}
	ms2, d := ss.checkAllowed(exp, d, carried)
	if d.Result == model.Allow && ms2 != nil {
		exp.Outputs = keepMaskedSources(an.Outputs, exp.Outputs, ms2)
	}
	return exp, d, ms2
}

// keepMaskedSources returns the expanded outputs with the masked sources
// of the original ones added where the expansion replaced them: a rule
// may name a view's own column, whose base column no rule masks, and a
// value computed from it (upper(s), a concatenation) must stay masked.
// Such an output is no longer one column's own value (Direct): it is
// redacted. expanded is ExpandViews' fresh slice, aligned with orig.
func keepMaskedSources(orig, expanded []pgsql.Lineage, ms *maskSet) []pgsql.Lineage {
	if len(orig) != len(expanded) {
		return expanded
	}
	out := expanded
	for i, o := range orig {
		var add []string
		for _, s := range o.Sources {
			if ms.source(s) != nil && !slices.Contains(expanded[i].Sources, s) {
				add = append(add, s)
			}
		}
		if len(add) == 0 {
			continue
		}
		if &out[0] == &expanded[0] {
			out = slices.Clone(expanded)
		}
		l := out[i]
		l.Sources = append(slices.Clone(l.Sources), add...)
		l.Direct = false
		out[i] = l
	}
	return out
}

// checkAllowed applies what the proxy itself enforces on an allowed
// statement: masking rules load, lineage is known where masking applies,
// read-only sessions stay read-only. COPY TO is checked after views are
// expanded (checkCopyOut).
func (ss *session) checkAllowed(an *pgsql.Analyzed, dec model.Decision, carried *maskSet) (*maskSet, model.Decision) {
	if dec.ReadOnly && !ss.rec.ReadOnly {
		// The second wall is set when the session opens: a grant that
		// became read-only since (a write grant revoked, a writing role's
		// review overdue) would run code the analysis cannot see (a
		// granted function) in read-write transactions.
		return nil, grantDenial(dec, "the agent's grant on this connection is read-only now, but this session was opened with write access and "+
			"does not run in read-only transactions upstream; reconnect to open a read-only session")
	}
	if an.ReadWrite && (dec.ReadOnly || ss.rec.ReadOnly) {
		return nil, grantDenial(dec, "a read-write transaction is not allowed: the session is read-only (its grant holds no write class)")
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
	if ms != nil && ms.hasColumns {
		for _, o := range an.Outputs {
			if o.Unknown {
				return nil, ms.denial("masking applies and the origin of a result column is unknown")
			}
		}
		// A filter over something of unknown origin is an oracle on what
		// may be a masked value.
		if an.FilterUnknown {
			return nil, ms.denial("masking applies and a filter of this statement reads something whose origin is unknown")
		}
		col, rule := ms.maskedFilter(an.Statement.FilterColumns)
		if col != "" && len(an.TypedFilters) > 0 {
			typed, _ := ss.withTypes(an)
			col, rule = ms.maskedFilter(typed.Statement.FilterColumns)
		}
		if col != "" {
			return nil, ms.denial("masking applies: filtering on " + col + " would reveal its values, which the rule " + rule +
				" masks (masking matches columns without regard to case); set allow_filter = true on the rule to permit it")
		}
		// Code the analysis cannot see reads what it likes, unmasked: where
		// its result is not a column or a filter, how many rows it returns
		// (count(*) FROM f('9%')), and what it leaves in the session (a
		// setting SHOW reads back later) still carry it.
		if fns := append(slices.Clip(an.Statement.Functions), an.ViewCode...); len(fns) > 0 {
			return nil, ms.denial("masking applies and this statement runs code the gateway cannot analyze (" + strings.Join(fns, ", ") +
				"): the rows it returns and what it leaves in the session may carry masked values")
		}
		// Storing a masked value elsewhere would unmask it on the way back.
		if an.Writes.Unknown {
			return nil, ms.denial("masking applies and the origin of the values this statement stores is unknown")
		}
		if ms.firstOf(an.Writes.Sources) != nil {
			return nil, ms.denial("masking applies: this statement would copy a masked column into stored data")
		}
		if reason := ss.checkDDL(an, ms); reason != "" {
			return nil, ms.denial(reason)
		}
		// A stored value compared with the masked column's values says
		// whether a guess is stored (oracle.go).
		if reason := ss.checkWriteOracles(an, ms); reason != "" {
			return nil, ms.denial(reason)
		}
	}
	return ms, dec
}

// ddlUnderMasking are the DDL statements that may run where column masking
// applies (on relations no rule masks, see checkDDL): they create, change
// or drop relations and their indexes without creating code the server
// would run as the gateway's upstream role. Functions, procedures,
// triggers, rules, event triggers, casts, operators, aggregates, types and
// domains are code the analysis does not see.
var ddlUnderMasking = map[string]bool{
	"CREATE TABLE": true, "CREATE TABLE AS": true, "CREATE VIEW": true, "CREATE MATERIALIZED VIEW": true,
	"CREATE INDEX": true, "CREATE SEQUENCE": true, "CREATE SCHEMA": true, "ALTER TABLE": true, "ALTER": true,
	"DROP": true, "COMMENT": true, "REFRESH MATERIALIZED VIEW": true, "VACUUM": true, "ANALYZE": true,
}

// databaseLevelUnderMasking are the statements of ddlUnderMasking that may
// also name database-level objects (table "").
var databaseLevelUnderMasking = map[string]bool{"CREATE SCHEMA": true, "DROP": true, "COMMENT": true, "VACUUM": true, "ANALYZE": true}

// checkDDL returns why a DDL statement may not run under column masking:
// the rules name columns (schema.table.column), so a schema change to a
// relation holding masked columns (or sharing rows or values with one)
// can rename them out of their rules, copy them (ALTER COLUMN TYPE USING,
// GENERATED), or test them one bit at a time (CHECK, UNIQUE, EXCLUDE);
// and code the statement creates runs unseen. A catalog failure denies.
func (ss *session) checkDDL(an *pgsql.Analyzed, ms *maskSet) string {
	ddl := false
	for _, a := range an.Statement.Accesses {
		if a.Class != "ddl" {
			continue
		}
		ddl = true
		if a.Table == "" {
			// ALTER FUNCTION ... RENAME/SET SCHEMA could move code
			// under a built-in's name.
			if !databaseLevelUnderMasking[an.Statement.Tag] {
				return "masking applies and " + an.Statement.Tag + " changes a database-level object (fail closed)"
			}
			continue
		}
		if ms.table(a.Table) != nil {
			return "masking applies to columns of " + a.Table + ": a schema change to it could rename, copy or test them"
		}
		r, err := ss.srv.catalog.relation(ss.conn, a.Table)
		if err != nil {
			ss.srv.cfg.Logger.Warn("postgres relation lookup", "session", ss.rec.ID, "err", err)
			return "masking applies and " + a.Table + " could not be looked up (fail closed)"
		}
		for _, m := range r.family {
			if ms.table(m) != nil {
				return "masking applies to columns of " + m + ", which shares its rows with " + a.Table
			}
		}
		if r.view != nil {
			for _, o := range r.view.Outputs {
				if o.Unknown || ms.firstOf(o.Sources) != nil {
					return "masking applies to columns " + a.Table + " reads: a schema change to it could test them"
				}
			}
		}
		if reason := ss.checkCodeSwap(an, a.Table); reason != "" {
			return reason
		}
	}
	if ddl && !ddlUnderMasking[an.Statement.Tag] {
		return "masking applies and " + an.Statement.Tag + " creates code the server would run unseen by the gateway"
	}
	return ""
}

func hasReservedPrefix(name string) bool {
	return strings.HasPrefix(strings.ToLower(name), reservedPrefix)
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
			r.outputs, r.reads = an.Outputs, an.Reads
		}
		if i < len(v.masks) {
			r.masks = v.masks[i]
		}
		r.culprit = v.culprit == i+1
		if err := ss.srv.cfg.Recorder.Decided(ss.srv.ctx, &ss.rec, &r.rec); err != nil {
			ss.srv.cfg.Logger.Warn("recording statement", "session", ss.rec.ID, "err", err)
			if deny == nil {
				deny = denial(denyDecision("the gateway cannot record this statement (fail closed)"))
				r.culprit = true
			}
			r.rec.Decision = denyDecision("recorder unavailable")
		}
		runs = append(runs, r)
	}
	return runs, deny
}

// checkFieldNotation returns why an may not run under column masking when
// it names, as a column of a relation holding masked columns, something
// that relation does not have: PostgreSQL reads p.to_json as to_json(p),
// the whole row, and the analyzer (which has no catalog) as a column that
// no rule masks. Unqualified names in a join are listed under every joined
// relation, so they count too: qualifying them lets the statement run. A
// catalog failure denies.
func (ss *session) checkFieldNotation(an *pgsql.Analyzed, ms *maskSet) string {
	// check looks at src among its siblings (the sources of one output, or
	// the filter columns): a bare alias (SELECT c FROM t c) is reported as
	// both t.c and t.*, and t.* is masked as the whole row already.
	check := func(src string, siblings []string) string {
		rel, col, any, ok := pgsql.SplitSource(src)
		if !ok || any || ms.table(rel) == nil || slices.Contains(siblings, rel+".*") {
			return ""
		}
		r, err := ss.srv.catalog.relation(ss.conn, rel)
		if err != nil {
			ss.srv.cfg.Logger.Warn("postgres relation lookup", "session", ss.rec.ID, "err", err)
			return "masking applies and the columns of " + rel + " could not be looked up (fail closed)"
		}
		if r.kind == "" || slices.Contains(r.cols, col) || r.systemColumn(col) {
			return ""
		}
		return "masking applies to " + rel + ", which has no column " + col +
			": PostgreSQL would read it as a function of the whole row (field notation), or it is an unqualified column of another relation; qualify it with its table"
	}
	for _, o := range an.Outputs {
		for _, src := range o.Sources {
			if reason := check(src, o.Sources); reason != "" {
				return reason
			}
		}
	}
	for _, c := range an.Statement.FilterColumns {
		if reason := check(c, an.Statement.FilterColumns); reason != "" {
			return reason
		}
	}
	return ""
}

// systemColumn reports a system column PostgreSQL gives every row of a
// table, partitioned table, materialized view or foreign table (not a
// view): transaction ids and the row's place, not its data. tableoid of a
// member of an inheritance tree says which member holds the row, that is
// its partition key (which may be masked): it counts only for a relation
// without one.
func (r *namedRel) systemColumn(col string) bool {
	switch r.kind {
	case "r", "p", "m", "f":
	default:
		return false
	}
	switch col {
	case "ctid", "xmin", "xmax", "cmin", "cmax":
		return true
	case "tableoid":
		return len(r.family) == 0
	}
	return false
}

// shadowed returns an as PostgreSQL will run it when a built-in function
// it calls, or an operator it uses, without a schema has a namesake that
// no extension installed in the pinned search path's schema: with a
// better-matching signature the server runs that one, user code the
// analysis (built on the built-in) does not describe. The statement is
// then decided as calling it: the name is reported as a function (a grant
// must name it) and what every output and filter reads is unknown (denied
// where masking applies). Qualified with pg_catalog, a name always reaches
// the built-in. It returns the names found; a catalog failure denies
// (reason).
func (ss *session) shadowed(an *pgsql.Analyzed) (*pgsql.Analyzed, []string, string) {
	if len(an.Builtins) == 0 && len(an.Operators) == 0 {
		return an, nil, ""
	}
	sh, err := ss.srv.catalog.shadowing(ss.conn)
	if err != nil {
		ss.srv.cfg.Logger.Warn("postgres function lookup", "session", ss.rec.ID, "err", err)
		return an, nil, "the functions and operators of schema " + PinnedSearchPath + " could not be looked up (fail closed)"
	}
	var names []string
	for _, f := range an.Builtins {
		if sh.funcs[f] {
			names = append(names, f)
		}
	}
	for _, o := range an.Operators {
		if sh.ops[o] {
			names = append(names, o)
		}
	}
	if len(names) == 0 {
		return an, nil, ""
	}
	r := *an
	r.Statement.Functions = append(append([]string(nil), an.Statement.Functions...), names...)
	slices.Sort(r.Statement.Functions)
	r.Statement.Functions = slices.Compact(r.Statement.Functions)
	r.Outputs = make([]pgsql.Lineage, len(an.Outputs))
	for i, o := range an.Outputs {
		o.Unknown = true
		r.Outputs[i] = o
	}
	r.FilterUnknown = true
	r.Writes.Unknown = true
	return &r, names, ""
}

// checkInheritance returns why an may not run under column masking when it
// reads a relation whose inheritance tree holds a column another member
// masks and it does not: a partition or child read directly holds the rows
// of a parent whose rule names the column, and a parent read holds the rows
// of a partition whose rule does. Rules are matched by relation name, so
// the member read must be covered itself. A catalog failure denies.
func (ss *session) checkInheritance(an *pgsql.Analyzed, ms *maskSet) string {
	for _, a := range an.Statement.Accesses {
		if a.Table == "" {
			continue
		}
		r, err := ss.srv.catalog.relation(ss.conn, a.Table)
		if err != nil {
			ss.srv.cfg.Logger.Warn("postgres relation lookup", "session", ss.rec.ID, "err", err)
			return "masking applies and the inheritance tree of " + a.Table + " could not be looked up (fail closed)"
		}
		for _, member := range r.family {
			for _, c := range r.cols {
				if ms.column(pgsql.ColumnSource(member, c)) != nil && ms.column(pgsql.ColumnSource(a.Table, c)) == nil {
					return "masking applies to column " + c + " of " + member + ", which shares its rows with " + a.Table +
						" (partition or inheritance), and no rule masks it on " + a.Table + "; read " + member + " or extend the rule to " + a.Table
				}
			}
		}
	}
	return ""
}

// missingCatalog returns why an may not run when it names a relation of
// pg_catalog this server does not have. The analyzer resolves the
// unqualified names of the catalogs of every PostgreSQL version it knows
// (pg_stat_io, pg_wait_events, ...) to pg_catalog, but where the server's
// pg_catalog lacks one, PostgreSQL resolves the name through the search
// path: to a relation of the pinned schema, which neither a grant of
// pg_catalog.* nor a masking rule of that schema would then describe. A
// schema-qualified name of a missing catalog fails on the server anyway. A
// catalog failure denies.
func (ss *session) missingCatalog(an *pgsql.Analyzed) string {
	var names []string
	add := func(rel string) {
		if name, ok := strings.CutPrefix(rel, "pg_catalog."); ok && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	sources := func(srcs []string) {
		for _, src := range srcs {
			if rel, _, _, ok := pgsql.SplitSource(src); ok {
				add(rel)
			}
		}
	}
	for _, a := range an.Statement.Accesses {
		add(a.Table)
	}
	for _, o := range an.Outputs {
		sources(o.Sources)
	}
	sources(an.Statement.FilterColumns)
	sources(an.Reads.Sources)
	sources(an.Writes.Sources)
	if len(names) == 0 {
		return ""
	}
	sh, err := ss.srv.catalog.shadowing(ss.conn)
	if err != nil {
		ss.srv.cfg.Logger.Warn("postgres catalog lookup", "session", ss.rec.ID, "err", err)
		return "the relations of pg_catalog could not be looked up (fail closed)"
	}
	for _, n := range names {
		if !sh.catalogs[n] {
			return "pg_catalog has no relation " + n + " on this server, so PostgreSQL would resolve the name through the search path (" +
				PinnedSearchPath + "." + n + "); write the schema of the relation meant"
		}
	}
	return ""
}

// decidePolicy decides an against the policy. A denial of a statement with
// typed filters (pgsql.TypedRead) is decided again once the catalog has
// said which of them cannot fail on their column's type: the policy
// denies a filter on a masked column, and sum(salary) of an integer
// column is none. The types are looked up only then, so statements that
// are allowed, or read no such column, cost no lookup.
func (ss *session) decidePolicy(an *pgsql.Analyzed, now int64) (*pgsql.Analyzed, model.Decision, error) {
	srv := ss.srv
	decide := func(an *pgsql.Analyzed) (model.Decision, error) {
		return srv.cfg.Policy.Decide(srv.ctx, &model.Input{
			Kind: "postgres", Agent: ss.rec.Agent, Connection: ss.rec.Connection,
			NowUnix: now, Statement: &an.Statement, Approvals: ss.principal.Approvals,
		})
	}
	dec, err := decide(an)
	if err != nil || dec.Result == model.Allow || len(an.TypedFilters) == 0 {
		return an, dec, err
	}
	typed, failed := ss.withTypes(an)
	if typed != an {
		d, err := decide(typed)
		if err != nil {
			return an, dec, nil // the first decision stands
		}
		an, dec = typed, d
	}
	if dec.Result != model.Allow && dec.Hint == "" {
		dec.Hint = typedHint(dec.Reason, failed)
	}
	return an, dec, nil
}

// typedHint says why a typed read the policy denies as a filter (its
// reason names the column) is one: its column's type, or a schema change
// under way.
func typedHint(reason string, failed []typedFailure) string {
	for _, t := range failed {
		if !slices.ContainsFunc(t.Reads, func(c string) bool { return strings.Contains(reason, c) }) {
			continue
		}
		if t.changing {
			return "a call over a masked column is masked when the column's type is one the call cannot fail on, and " + t.Column +
				" is being changed (a schema change of its relation holds or awaits its lock in an open transaction, this session's or another's, " +
				"or was sent before this statement and has not finished), so its type is not known yet and it counts as a filter: " +
				"run the statement once the change is committed"
		}
		switch t.Call {
		case "sum", "avg", "bit_and", "bit_or", "bit_xor":
			return t.Call + " over a masked column is masked when the column is an integer column (smallint, integer, bigint); " +
				"over " + t.Column + " it may fail on some values, which would tell what they are, so it counts as a filter"
		case "array_agg":
			return "array_agg over a masked column is masked when the column is no array or domain; over " + t.Column +
				" it may fail on some values, which would tell what they are, so it counts as a filter"
		case "->", "->>", "#>", "#>>", "json key", "json path":
			return "the json operators over a masked column are masked when the column is jsonb and a key column is text, varchar, char, name, " +
				"smallint or integer (a path: text[] or varchar[]); over " + t.Column + " they may fail on some values (json is parsed again), " +
				"which would tell what they are, so it counts as a filter"
		case "to_jsonb", "jsonb_agg", "jsonb_build_object", "jsonb_build_array":
			return t.Call + " over a masked column is masked when the column is of a built-in base type other than json; over " + t.Column +
				" it may fail on some values, which would tell what they are, so it counts as a filter"
		case "to_char", "to_char number", "to_char timestamp":
			return "to_char over a masked column is masked for a timestamp or timestamptz (day names and the zone: a timestamp only) or, with a plain " +
				"number format, a number column; over " + t.Column + " it may fail on some values (a date is converted to timestamptz), " +
				"which would tell what they are, so it counts as a filter"
		case "case", "coalesce":
			return "CASE and COALESCE over masked columns are masked when no column's type converts " +
				"implicitly to another's in a way that may fail; " + t.Column + " may (a date to a timestamp, a numeric to a float, " +
				"a bigint to oid), which would tell what the values are, so what the expression reads counts as a filter: cast to text first"
		case "sum length", "avg length":
			return strings.TrimSuffix(t.Call, " length") + "(length(x)) over a masked column is masked when length() of its type is an integer; of " +
				t.Column + " it is a float whose sum may overflow, so it counts as a filter"
		}
		if strings.HasPrefix(t.Call, "cast to ") {
			return "a cast of a masked column to date is masked when the column is a date, timestamp or timestamptz; " +
				t.Call + " of " + t.Column + " may fail on some values, which would tell what they are, so it counts as a filter"
		}
		if strings.Contains(t.Call, "(") {
			return "extract, date_part and date_trunc over a masked column are masked for the fields that fail on no value of the column's type; " +
				t.Call + " of " + t.Column + " may fail on some values, which would tell what they are, so it counts as a filter"
		}
		switch t.Call {
		case "upper", "lower", "||":
			return "a concatenation over a masked column is masked when none of its columns is an array, a domain or a tsvector (nor a range under upper or lower); " +
				t.Column + " is one, and converting the other values to its type may fail, so they count as filters"
		}
	}
	return ""
}

// typedFailure is a typed read whose column does not have the type its
// call cannot fail on, or whose type is changing.
type typedFailure struct {
	pgsql.TypedRead
	changing bool
}

// withTypes returns an without the filter columns that only calls which
// cannot fail on their column's type read, where the catalog says the
// column has it (pgsql.TypedRead), or an itself when there are none. A
// column a lookup fails for stays a filter (fail closed), and so does
// every column while a schema change sent before the statement has not
// finished: the catalog does not show it yet. failed are the typed reads
// whose columns do not have the type.
func (ss *session) withTypes(an *pgsql.Analyzed) (_ *pgsql.Analyzed, failed []typedFailure) {
	pending := ss.schemaChangeInFlight()
	exempt, failing := map[string]bool{}, map[string]bool{}
	for _, t := range an.TypedFilters {
		var (
			types        []pgsql.ColumnType
			ok, changing bool
			err          error
		)
		if changing = pending; !changing {
			types, ok, changing, err = ss.srv.catalog.columnTypes(ss.conn, t.Column)
		}
		if err != nil {
			ss.srv.cfg.Logger.Warn("postgres column type lookup", "session", ss.rec.ID, "err", err)
		}
		total := err == nil && ok && !changing && !slices.ContainsFunc(types, func(ct pgsql.ColumnType) bool { return !t.Total(ct) })
		if !total {
			failed = append(failed, typedFailure{TypedRead: t, changing: changing})
		}
		for _, c := range t.Reads {
			if total {
				exempt[c] = true
			} else {
				failing[c] = true
			}
		}
	}
	filters := make([]string, 0, len(an.Statement.FilterColumns))
	for _, c := range an.Statement.FilterColumns {
		if !exempt[c] || failing[c] {
			filters = append(filters, c)
		}
	}
	if len(filters) == len(an.Statement.FilterColumns) {
		return an, failed
	}
	r := *an
	r.Statement.FilterColumns = filters
	r.TypedFilters = nil
	return &r, failed
}

// schemaChangeInFlight reports whether a statement of a ddl class sent
// upstream before the one being decided (pipelined) has not finished.
func (ss *session) schemaChangeInFlight() bool {
	ss.opsMu.Lock()
	defer ss.opsMu.Unlock()
	for _, o := range ss.ops {
		for _, r := range o.runs {
			if r.done || r.rec.Statement == nil {
				continue
			}
			if slices.ContainsFunc(r.rec.Statement.Accesses, func(a model.Access) bool { return a.Class == "ddl" }) {
				return true
			}
		}
	}
	return false
}

// systemObjects returns why an may not run when it alters, drops or
// comments on an object written without a schema that pg_catalog holds
// (pgsql.ObjectName): PostgreSQL finds pg_catalog's first. A catalog
// failure denies.
func (ss *session) systemObjects(an *pgsql.Analyzed) string {
	if len(an.Unqualified) == 0 {
		return ""
	}
	sh, err := ss.srv.catalog.shadowing(ss.conn)
	if err != nil {
		ss.srv.cfg.Logger.Warn("postgres catalog lookup", "session", ss.rec.ID, "err", err)
		return "the objects of pg_catalog could not be looked up (fail closed)"
	}
	for _, o := range an.Unqualified {
		if sh.system[o] {
			return o.Kind + " " + o.Name + " written without a schema is the built-in pg_catalog." + o.Name +
				" (pg_catalog is searched first), which no grant changes: write the schema of your own (" + PinnedSearchPath + "." + o.Name + ")"
		}
	}
	return ""
}
