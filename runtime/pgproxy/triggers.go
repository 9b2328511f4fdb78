package pgproxy

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mandatehq/mandate/runtime/pgsql"
)

// Triggers as oracles. A trigger runs code the statement does not show on
// the rows it changes, whose masked values stay: a BEFORE UPDATE trigger
// raising when NEW.name = OLD.ssn fails UPDATE t SET name = 'guess'
// exactly when ssn is the guess, and a BEFORE DELETE trigger returning
// NULL when OLD.ssn LIKE '9%' answers through the row count. The gateway
// reads each enabled user trigger that a write fires (its WHEN clause and
// its PL/pgSQL function) and denies the write when that code reads a
// masked column without allow_filter: a column of NEW or OLD in an update
// or delete (an insert's NEW holds only what the statement wrote), the
// whole row, a transition table, or a relation holding masked columns.
// Code it cannot follow counts as reading every masked column: a function
// in another language, dynamic SQL (EXECUTE), a call outside the built-in
// safe set, a view or an inheritance tree read. What a trigger writes is
// checked as the statement's own writes are (its constraints and
// triggers), and so are the rows foreign key actions change.

// Bits of pg_trigger.tgtype: the events a trigger fires on.
const (
	trigInsert   uint16 = 1 << 2
	trigDelete   uint16 = 1 << 3
	trigUpdate   uint16 = 1 << 4
	trigTruncate uint16 = 1 << 5
	trigEvents          = trigInsert | trigDelete | trigUpdate | trigTruncate
)

// maxTriggerDepth bounds how far writes of triggers (and of foreign key
// actions) are followed.
const maxTriggerDepth = 8

// triggersQuery lists the enabled user triggers of a relation named by
// schema and name, with their functions: language, source, definition
// (PL/pgSQL only) and settings (proconfig).
const triggersQuery = `SELECT t.tgname::text, t.tgtype::int4::text,
  pg_catalog.concat_ws(E'\n', t.tgoldtable, t.tgnewtable),
  t.tgfoid::pg_catalog.regprocedure::text, l.lanname::text, p.prosrc,
  CASE WHEN l.lanname = 'plpgsql' THEN pg_catalog.pg_get_functiondef(p.oid) END,
  pg_catalog.pg_get_triggerdef(t.oid), pg_catalog.array_to_string(p.proconfig, E'\n')
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE n.nspname = $1 AND c.relname = $2 AND t.tgenabled <> 'D' AND NOT t.tgisinternal
ORDER BY t.tgname`

// cascadesQuery lists the foreign keys referencing a relation named by
// schema and name: the referencing relation, its actions on delete and on
// update, and its columns.
const cascadesQuery = `SELECT con.oid::text, rn.nspname::text, rc.relname::text, con.confdeltype::text, con.confupdtype::text, a.attname::text
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.confrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_class rc ON rc.oid = con.conrelid
JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, i)
JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
WHERE n.nspname = $1 AND c.relname = $2 AND con.contype = 'f'
ORDER BY con.oid, k.i`

// trigger is one enabled user trigger of a relation.
type trigger struct {
	name   string
	events uint16 // trigInsert, ...
	// transition are the relations its transition tables (REFERENCING
	// OLD TABLE / NEW TABLE, every changed row, whole) are read as: an
	// unqualified name, which the analyzer places in the pinned schema.
	transition []string
	function   string       // its function, as regprocedure prints it
	when       *triggerCode // nil: no WHEN clause
	body       *triggerCode
}

// cascade is a foreign key of another relation (or the same) referencing
// a relation, whose actions change the referencing rows.
type cascade struct {
	table              string   // the referencing relation, in lineage form
	cols               []string // its columns
	onDelete, onUpdate byte     // confdeltype, confupdtype: 'c', 'n', 'd' change rows
}

// readTriggers reads the triggers and the referencing foreign keys of
// schema.name into rk.
func readTriggers(ctx context.Context, pc *pgconn.PgConn, schema, name string, rk *relKeys) error {
	params := [][]byte{[]byte(schema), []byte(name)}
	res := pc.ExecParams(ctx, triggersQuery, params, []uint32{25, 25}, nil, nil).Read()
	if res.Err != nil {
		return fmt.Errorf("looking up the triggers: %w", res.Err)
	}
	for _, row := range res.Rows {
		typ, err := strconv.Atoi(string(row[1]))
		if err != nil {
			return fmt.Errorf("reading the type of trigger %s: %w", row[0], err)
		}
		tr := trigger{name: string(row[0]), events: uint16(typ) & trigEvents, function: string(row[3])}
		for _, n := range strings.Split(string(row[2]), "\n") {
			if n != "" {
				tr.transition = append(tr.transition, pgsql.RelationSource(PinnedSearchPath, n))
			}
		}
		tr.when = triggerWhen(string(row[7]))
		tr.body = triggerFunction(string(row[4]), string(row[5]), string(row[6]), string(row[8]))
		rk.triggers = append(rk.triggers, tr)
	}
	res = pc.ExecParams(ctx, cascadesQuery, params, []uint32{25, 25}, nil, nil).Read()
	if res.Err != nil {
		return fmt.Errorf("looking up the foreign keys referencing it: %w", res.Err)
	}
	last := ""
	for _, row := range res.Rows {
		if id := string(row[0]); id != last {
			last = id
			rk.cascades = append(rk.cascades, cascade{table: pgsql.RelationSource(string(row[1]), string(row[2])),
				onDelete: firstByte(row[3]), onUpdate: firstByte(row[4])})
		}
		c := &rk.cascades[len(rk.cascades)-1]
		c.cols = append(c.cols, string(row[5]))
	}
	return nil
}

func firstByte(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// checkTriggers checks the triggers of member (the relation w names, a
// member of its inheritance tree, or a view) that w fires, and queues
// with add what they write and the rows foreign key actions change.
func (ss *session) checkTriggers(w writeTarget, member string, ms *maskSet, add func(writeTarget)) string {
	fail := func(err error) string {
		ss.srv.cfg.Logger.Warn("postgres trigger lookup", "session", ss.rec.ID, "err", err)
		return "masking applies and the triggers of " + member + ", which this statement writes, could not be looked up (fail closed)"
	}
	r, err := ss.srv.catalog.relation(ss.conn, member)
	if err != nil {
		return fail(err)
	}
	k, err := ss.srv.catalog.keys(ss.conn, member)
	if err != nil {
		return fail(err)
	}
	ev := w.events
	if ev == 0 {
		ev = trigEvents
	}
	if member != w.table && ev&trigUpdate != 0 {
		// An update of a partitioned table moves rows between
		// partitions: a delete and an insert there.
		ev |= trigInsert | trigDelete
	}
	for _, tr := range k.triggers {
		fired := tr.events & ev
		if fired == 0 {
			continue
		}
		if w.trigDepth >= maxTriggerDepth {
			return "masking applies and the triggers this statement fires write through too many relations to follow (fail closed)"
		}
		// An insert's NEW holds what the statement wrote; an update or
		// delete keeps the stored values, masked ones too.
		stored := fired&(trigUpdate|trigDelete) != 0
		if len(tr.transition) > 0 && stored {
			if rule := ss.rowRule(r, member, w.table, "*", ms, false); rule != "" {
				return triggerDenial("trigger "+tr.name, member, "transition table", "every column of the rows it changes", rule)
			}
		}
		for _, part := range []struct {
			what string
			code *triggerCode
		}{{"WHEN clause", tr.when}, {"function " + tr.function, tr.body}} {
			if part.code == nil {
				continue
			}
			if reason := ss.checkTriggerCode("trigger "+tr.name, tr.transition, part.what, part.code, r, member, w.table, stored, ms); reason != "" {
				return reason
			}
			for _, tw := range part.code.writes {
				tw.trigDepth = w.trigDepth + 1
				add(tw)
			}
		}
	}
	for _, c := range k.cascades {
		d := writeTarget{table: c.table, trigDepth: w.trigDepth + 1}
		if ev&trigDelete != 0 {
			switch c.onDelete {
			case 'c':
				d.delete = true
				d.events |= trigDelete
			case 'n', 'd':
				d.cols, d.updCols = c.cols, c.cols
				d.events |= trigUpdate
			}
		}
		if ev&trigUpdate != 0 && (c.onUpdate == 'c' || c.onUpdate == 'n' || c.onUpdate == 'd') {
			d.cols, d.updCols = c.cols, c.cols
			d.events |= trigUpdate
		}
		if ev&trigTruncate != 0 {
			d.events |= trigTruncate // TRUNCATE ... CASCADE
		}
		if d.events != 0 {
			if w.trigDepth >= maxTriggerDepth {
				return "masking applies and the foreign key actions this statement sets off reach too many relations to follow (fail closed)"
			}
			add(d)
		}
	}
	return ""
}

// checkTriggerCode returns why code (the part what, such as a WHEN clause
// or function, of who, "trigger t" or "rule r", on member) reads a masked
// column without allow_filter, or reads a masked column and stores values
// (checkCopies): stored is set when the rows it sees keep stored values;
// transition are the trigger's transition tables.
func (ss *session) checkTriggerCode(who string, transition []string, what string, code *triggerCode, r *namedRel, member, written string, stored bool, ms *maskSet) string {
	copies := code.copies()
	opaque := func(why string) string {
		if rule := anyUnfilterable(ms); rule != "" {
			return "masking applies: this statement fires " + who + " on " + member + ", whose " + what + " " + why +
				", so it may read any column (fail closed), and its error or row count would say what it read, which the rule " + rule +
				" masks; set allow_filter = true on the rule to permit it"
		}
		if rule := anyRule(ms, true); copies && rule != "" {
			return copyDenial(who, member, what, why+", so it may read any column (fail closed),", rule)
		}
		return ""
	}
	if code.opaque != "" {
		return opaque(code.opaque)
	}
	if stored {
		for _, c := range code.row {
			if rule := ss.rowRule(r, member, written, c, ms, false); rule != "" {
				return triggerDenial(who, member, what, "NEW."+c+" or OLD."+c, rule)
			}
		}
		if code.wholeRow {
			if rule := ss.rowRule(r, member, written, "*", ms, false); rule != "" {
				return triggerDenial(who, member, what, "the whole row NEW or OLD", rule)
			}
		}
	}
	for _, src := range code.reads {
		if rule := ms.unfilterable(src); rule != "" {
			return triggerDenial(who, member, what, src, rule)
		}
	}
	for _, rel := range code.rels {
		rr, err := ss.srv.catalog.relation(ss.conn, rel)
		if err != nil {
			ss.srv.cfg.Logger.Warn("postgres relation lookup", "session", ss.rec.ID, "err", err)
			return opaque("reads " + rel + ", which could not be looked up")
		}
		switch {
		case rr.kind == "" && slices.Contains(transition, rel):
			continue // its rows are checked with the trigger's (checkTriggers)
		case rr.kind == "":
			return opaque("reads " + rel + ", which is no relation of the catalog")
		case rr.isView() || len(rr.family) > 0:
			return opaque("reads " + rel + ", a view or a member of an inheritance tree")
		}
		for _, c := range rr.cols {
			if rule := ms.unfilterable(pgsql.ColumnSource(rel, c)); rule != "" {
				return triggerDenial(who, member, what, "rows of "+rel, rule)
			}
		}
	}
	if copies {
		if reason := ss.checkCopies(who, transition, what, code, r, member, written, stored, ms); reason != "" {
			return reason
		}
	}
	if len(code.builtins) > 0 || len(code.operators) > 0 {
		sh, err := ss.srv.catalog.shadowing(ss.conn)
		if err != nil {
			ss.srv.cfg.Logger.Warn("postgres function lookup", "session", ss.rec.ID, "err", err)
			return opaque("calls functions that could not be looked up")
		}
		for _, f := range code.builtins {
			if sh.funcs[f] {
				return opaque("calls " + f + ", which a function of schema " + PinnedSearchPath + " shadows")
			}
		}
		for _, o := range code.operators {
			if sh.ops[o] {
				return opaque("uses operator " + o + ", which an operator of schema " + PinnedSearchPath + " shadows")
			}
		}
	}
	return ""
}

// checkCopies returns why code, which stores values (it writes, or
// assigns to NEW), may copy a masked column into stored data: it reads a
// column a rule masks, whether the rule allows filters or not. Reading
// under allow_filter is allowed, as filtering is, but a statement of the
// agent's own may not copy the column (Analyzed.Writes), and the gateway
// does not follow which value such code stores where.
func (ss *session) checkCopies(who string, transition []string, what string, code *triggerCode, r *namedRel, member, written string, stored bool, ms *maskSet) string {
	if code.kept != nil {
		code = code.kept
	}
	if stored {
		for _, c := range code.row {
			if rule := ss.rowRule(r, member, written, c, ms, true); rule != "" {
				return copyDenial(who, member, what, "reads NEW."+c+" or OLD."+c, rule)
			}
		}
		if code.wholeRow {
			if rule := ss.rowRule(r, member, written, "*", ms, true); rule != "" {
				return copyDenial(who, member, what, "reads the whole row NEW or OLD", rule)
			}
		}
		if len(transition) > 0 {
			if rule := ss.rowRule(r, member, written, "*", ms, true); rule != "" {
				return copyDenial(who, member, what, "reads its transition table, every column of the rows it changes", rule)
			}
		}
	}
	for _, src := range code.reads {
		if rule := ms.ruleFor(src, true); rule != "" {
			return copyDenial(who, member, what, "reads "+src, rule)
		}
	}
	for _, rel := range code.rels {
		rr, err := ss.srv.catalog.relation(ss.conn, rel)
		if err != nil {
			ss.srv.cfg.Logger.Warn("postgres relation lookup", "session", ss.rec.ID, "err", err)
			return "masking applies and " + rel + ", which " + who + " on " + member + " reads, could not be looked up (fail closed)"
		}
		for _, c := range rr.cols {
			if rule := ms.ruleFor(pgsql.ColumnSource(rel, c), true); rule != "" {
				return copyDenial(who, member, what, "reads "+pgsql.ColumnSource(rel, c), rule)
			}
		}
	}
	return ""
}

func copyDenial(who, member, what, reads, rule string) string {
	return "masking applies: this statement fires " + who + " on " + member + ", whose " + what + " " + reads +
		" and stores values (a write, or an assignment to NEW), so it may copy what the rule " + rule +
		" masks into stored data that no rule masks; allow_filter permits filtering on the column, not copying it, and the gateway does not follow which value the code stores where"
}

func triggerDenial(who, member, what, col, rule string) string {
	return "masking applies: this statement fires " + who + " on " + member + ", whose " + what + " reads " + col +
		", so its error or row count would say what the rule " + rule + " masks; set allow_filter = true on the rule to permit it"
}

// rowRule returns the rule masking column col ("*": every column) of the
// rows of r, named member (or written, the relation the statement named),
// without allowing filters (with filters set: any rule): a view's column
// counts for the columns it reads, a stored generated column for those it
// is computed from.
func (ss *session) rowRule(r *namedRel, member, written, col string, ms *maskSet, filters bool) string {
	lineage := r.generated
	if r.isView() {
		lineage = r.view
		if lineage == nil || col != "*" && !slices.Contains(lineage.Columns, col) {
			return anyRule(ms, filters)
		}
	}
	cols := []string{col}
	if col == "*" {
		cols = r.cols
	}
	var srcs []string
	for _, c := range cols {
		for _, rel := range []string{member, written} {
			srcs = append(srcs, pgsql.ColumnSource(rel, c))
		}
		if lineage == nil {
			continue
		}
		if i := slices.Index(lineage.Columns, c); i >= 0 && i < len(lineage.Outputs) {
			if lineage.Outputs[i].Unknown {
				return anyRule(ms, filters)
			}
			srcs = append(srcs, lineage.Outputs[i].Sources...)
		}
	}
	for _, s := range srcs {
		if rule := ms.ruleFor(s, filters); rule != "" {
			return rule
		}
	}
	return ""
}

// anyUnfilterable returns the column of the first rule of ms that does
// not allow filters, or "": code that may read any column reads it.
func anyUnfilterable(ms *maskSet) string {
	return anyRule(ms, false)
}

// anyRule is anyUnfilterable, or with filters set the column of the first
// rule of ms, whether it allows filters or not.
func anyRule(ms *maskSet, filters bool) string {
	for _, r := range ms.rules {
		if !r.allowFilter || filters {
			return r.column
		}
	}
	return ""
}

// codeQuery says whether a relation named by schema and name, or a
// partition or inheritance child of it, has a user trigger (enabled or
// not) or a rule other than a view's own.
const codeQuery = `WITH RECURSIVE rel AS (
  SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relname = $2
  UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN rel ON i.inhparent = rel.oid
)
SELECT (EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t JOIN rel ON t.tgrelid = rel.oid WHERE NOT t.tgisinternal)
  OR EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite r JOIN rel ON r.ev_class = rel.oid WHERE r.rulename <> '_RETURN'))::text`

// checkCodeSwap returns why an ALTER of table may not run under column
// masking when table, or a partition or child of it, has triggers or
// rules. A write is checked against the triggers and rules it fires as
// the catalog stood when they were looked up (cached for CatalogTTL, and
// committed: the agent's open transaction and the rest of its query
// string do not show), so enabling a disabled trigger or rule that copies
// or tests a masked value, renaming such a table into the name of one a
// write was checked on, or attaching it as a partition or child of one
// would let that code run unchecked. The lookup is fresh; a failure
// denies.
func (ss *session) checkCodeSwap(an *pgsql.Analyzed, table string) string {
	if !strings.HasPrefix(an.Statement.Tag, "ALTER") {
		return ""
	}
	schema, name, ok := pgsql.SplitRelation(table)
	if !ok {
		return "masking applies and " + table + " could not be looked up (fail closed)"
	}
	c := ss.srv.catalog
	ctx, pc, end, err := c.begin(ss.conn)
	if err != nil {
		ss.srv.cfg.Logger.Warn("postgres trigger lookup", "session", ss.rec.ID, "err", err)
		return "masking applies and the triggers of " + table + " could not be looked up (fail closed)"
	}
	defer end()
	res := pc.ExecParams(ctx, codeQuery, [][]byte{[]byte(schema), []byte(name)}, []uint32{25, 25}, nil, nil).Read()
	if res.Err != nil || len(res.Rows) != 1 {
		c.drop(ctx, ss.conn.Name)
		ss.srv.cfg.Logger.Warn("postgres trigger lookup", "session", ss.rec.ID, "err", res.Err)
		return "masking applies and the triggers of " + table + " could not be looked up (fail closed)"
	}
	if string(res.Rows[0][0]) != "true" {
		return ""
	}
	return "masking applies and " + table + " (or a partition or child of it) has triggers or rules, which every write is checked against " +
		"as the catalog stood before this change: enabling, renaming or attaching code with " + an.Statement.Tag +
		" could let it copy or test masked values unchecked; make the change without masking"
}
