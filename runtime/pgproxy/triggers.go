package pgproxy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	pg_query "github.com/pganalyze/pg_query_go/v6"

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

// triggerCode is what a trigger's WHEN clause or function reads and
// writes, whatever the masking rules.
type triggerCode struct {
	// opaque says why the code counts as reading every column ("" when
	// it does not).
	opaque string
	// row are the columns of NEW and OLD it reads; wholeRow is set when
	// it uses NEW or OLD other than as NEW.column.
	row      []string
	wholeRow bool
	// reads are the columns of relations its statements read (lineage);
	// rels are the relations they read rows of.
	reads, rels []string
	// builtins and operators are named without a schema: a namesake in
	// the pinned search path's schema would run instead.
	builtins, operators []string
	writes              []writeTarget
}

func (tc *triggerCode) fail(why string) {
	if tc.opaque == "" {
		tc.opaque = why
	}
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

// triggerWhen analyzes the WHEN clause of a trigger definition
// (pg_get_triggerdef); nil when it has none.
func triggerWhen(def string) *triggerCode {
	sc, err := pg_query.Scan(def)
	if err != nil {
		return &triggerCode{opaque: "could not be read"}
	}
	toks := sc.Tokens
	for i, t := range toks {
		if t.Token != pg_query.Token_WHEN {
			continue
		}
		tc := &triggerCode{}
		if i+1 >= len(toks) || toks[i+1].Token != pg_query.Token_ASCII_40 {
			tc.fail("could not be read")
			return tc
		}
		depth := 0
		for j := i + 1; j < len(toks); j++ {
			switch toks[j].Token {
			case pg_query.Token_ASCII_40:
				depth++
			case pg_query.Token_ASCII_41:
				depth--
			}
			if depth == 0 {
				tc.addSQL("SELECT " + def[toks[i+1].End:toks[j].Start])
				return tc
			}
		}
		tc.fail("could not be read")
		return tc
	}
	return nil
}

// triggerFunction analyzes a trigger function: lang is its language, src
// its source (prosrc), def its definition (pg_get_functiondef, for
// PL/pgSQL) and config its settings, one a line.
func triggerFunction(lang, src, def, config string) *triggerCode {
	tc := &triggerCode{}
	if lang != "plpgsql" {
		// SQL functions cannot return trigger; C, internal and other
		// languages are code the gateway cannot read.
		tc.fail("is written in " + lang)
		return tc
	}
	for _, c := range strings.Split(config, "\n") {
		if strings.HasPrefix(strings.ToLower(c), "search_path=") {
			tc.fail("sets its own search_path")
		}
	}
	// An alias (r ALIAS FOR NEW) names the whole row under another name.
	sc, err := pg_query.Scan(src)
	if err != nil {
		tc.fail("could not be read")
		return tc
	}
	for _, t := range sc.Tokens {
		if t.Token == pg_query.Token_IDENT && strings.EqualFold(src[t.Start:t.End], "alias") {
			tc.fail("declares an alias")
		}
	}
	js, err := pg_query.ParsePlPgSqlToJSON(def)
	if err != nil {
		tc.fail("could not be parsed")
		return tc
	}
	var tree any
	if err := json.Unmarshal([]byte(js), &tree); err != nil {
		tc.fail("could not be parsed")
		return tc
	}
	tc.walkPlpgsql(tree)
	return tc
}

// walkPlpgsql analyzes every expression and statement of a PL/pgSQL
// function tree (ParsePlPgSqlToJSON), in a stable order.
func (tc *triggerCode) walkPlpgsql(v any) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			tc.walkPlpgsql(e)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			e := x[k]
			switch k {
			case "PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors", "dynquery":
				tc.fail("runs dynamic SQL (EXECUTE)")
				continue
			case "PLpgSQL_stmt_return":
				// RETURN NEW hands the row back; it reads nothing.
				if m, ok := e.(map[string]any); ok {
					if q := exprQuery(m["expr"]); q == "new" || q == "old" || q == "null" {
						continue
					}
				}
			case "PLpgSQL_recfield":
				// A field of NEW, OLD or a record variable the code
				// names: counted as read, whatever it does with it.
				m, _ := e.(map[string]any)
				if f, _ := m["fieldname"].(string); f != "" && !slices.Contains(tc.row, f) {
					tc.row = append(tc.row, f)
				}
				continue
			case "PLpgSQL_expr":
				m, _ := e.(map[string]any)
				q, _ := m["query"].(string)
				mode, _ := m["parseMode"].(float64)
				tc.addExpr(q, int(mode))
				continue
			}
			tc.walkPlpgsql(e)
		}
	}
}

// exprQuery returns the text of a PLpgSQL_expr node, trimmed and lower
// case.
func exprQuery(v any) string {
	m, _ := v.(map[string]any)
	e, _ := m["PLpgSQL_expr"].(map[string]any)
	q, _ := e["query"].(string)
	return strings.ToLower(strings.TrimSpace(q))
}

// addExpr analyzes one PL/pgSQL expression, by its parse mode
// (RawParseMode): a statement, an expression, or an assignment.
func (tc *triggerCode) addExpr(q string, mode int) {
	switch mode {
	case 0: // RAW_PARSE_DEFAULT: an SQL statement
		tc.addSQL(q)
	case 2: // RAW_PARSE_PLPGSQL_EXPR
		tc.addSQL("SELECT " + q)
	case 3, 4, 5: // RAW_PARSE_PLPGSQL_ASSIGN1..3: target := expression
		// The target (NEW.col[i]) is read as well as the expression.
		sc, err := pg_query.Scan(q)
		if err != nil {
			tc.fail("could not be read")
			return
		}
		depth := 0
		for _, t := range sc.Tokens {
			switch t.Token {
			case pg_query.Token_ASCII_40, pg_query.Token_ASCII_91:
				depth++
			case pg_query.Token_ASCII_41, pg_query.Token_ASCII_93:
				depth--
			case pg_query.Token_COLON_EQUALS, pg_query.Token_ASCII_61:
				if depth == 0 {
					tc.addSQL("SELECT " + q[:t.Start] + ", " + q[t.End:])
					return
				}
			}
		}
		tc.fail("could not be read")
	default:
		tc.fail("could not be read")
	}
}

// addSQL analyzes one SQL statement of trigger code.
func (tc *triggerCode) addSQL(sql string) {
	as, err := pgsql.Analyze(sql, pgsql.Options{SearchPath: []string{PinnedSearchPath}})
	if err != nil || len(as) == 0 {
		tc.fail("could not be parsed")
		return
	}
	for _, a := range as {
		if a.Statement.Forbidden != "" {
			tc.fail("runs a statement no grant allows")
		}
		if len(a.Statement.Functions) > 0 {
			tc.fail("calls " + strings.Join(a.Statement.Functions, ", ") + ", outside the built-in safe set")
		}
		tc.builtins = append(tc.builtins, a.Builtins...)
		tc.operators = append(tc.operators, a.Operators...)
		tc.reads = append(tc.reads, a.Reads.Sources...)
		for _, x := range a.Statement.Accesses {
			var ev uint16
			switch x.Class {
			case "select":
				if !slices.Contains(tc.rels, x.Table) {
					tc.rels = append(tc.rels, x.Table)
				}
				continue
			case "insert":
				ev = trigInsert
			case "delete":
				ev = trigDelete
				if a.Statement.Tag == "TRUNCATE TABLE" {
					ev = trigTruncate
				}
			case "update":
				ev = trigUpdate
			default:
				tc.fail("needs " + x.Class + " access")
				continue
			}
			w := writeTarget{table: x.Table, events: ev, delete: ev == trigDelete}
			for _, s := range a.Assigns {
				if rel, col, all, ok := pgsql.SplitSource(s); ok && rel == x.Table {
					if all {
						col = "*"
					}
					w.cols = append(w.cols, col)
					if slices.Contains(a.Updates, s) {
						w.updCols = append(w.updCols, col)
					}
				}
			}
			tc.writes = append(tc.writes, w)
		}
	}
	js, err := pg_query.ParseToJSON(sql)
	if err != nil {
		tc.fail("could not be parsed")
		return
	}
	var tree any
	if err := json.Unmarshal([]byte(js), &tree); err != nil {
		tc.fail("could not be parsed")
		return
	}
	tc.rowRefs(tree)
}

// rowRefs collects the references to NEW and OLD of a parse tree
// (pg_query.ParseToJSON).
func (tc *triggerCode) rowRefs(v any) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			tc.rowRefs(e)
		}
	case map[string]any:
		if ref, ok := x["ColumnRef"].(map[string]any); ok {
			fields, _ := ref["fields"].([]any)
			names := make([]string, len(fields)) // "" for *
			for i, f := range fields {
				m, _ := f.(map[string]any)
				s, _ := m["String"].(map[string]any)
				names[i], _ = s["sval"].(string)
			}
			if len(names) > 0 && (strings.EqualFold(names[0], "new") || strings.EqualFold(names[0], "old")) {
				if len(names) == 1 || names[1] == "" {
					tc.wholeRow = true
				} else if !slices.Contains(tc.row, names[1]) {
					tc.row = append(tc.row, names[1])
				}
			}
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			tc.rowRefs(x[k])
		}
	}
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
			if rule := ss.rowRule(r, member, w.table, "*", ms); rule != "" {
				return triggerDenial(tr.name, member, "transition table", "every column of the rows it changes", rule)
			}
		}
		for _, part := range []struct {
			what string
			code *triggerCode
		}{{"WHEN clause", tr.when}, {"function " + tr.function, tr.body}} {
			if part.code == nil {
				continue
			}
			if reason := ss.checkTriggerCode(tr, part.what, part.code, r, member, w.table, stored, ms); reason != "" {
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

// checkTriggerCode returns why code (the WHEN clause or function what of
// trigger tr on member) reads a masked column without allow_filter:
// stored is set when the rows it sees keep stored values.
func (ss *session) checkTriggerCode(tr trigger, what string, code *triggerCode, r *namedRel, member, written string, stored bool, ms *maskSet) string {
	name := tr.name
	opaque := func(why string) string {
		rule := anyUnfilterable(ms)
		if rule == "" {
			return ""
		}
		return "masking applies: this statement fires trigger " + name + " on " + member + ", whose " + what + " " + why +
			", so it may read any column (fail closed), and its error or row count would say what it read, which the rule " + rule +
			" masks; set allow_filter = true on the rule to permit it"
	}
	if code.opaque != "" {
		return opaque(code.opaque)
	}
	if stored {
		for _, c := range code.row {
			if rule := ss.rowRule(r, member, written, c, ms); rule != "" {
				return triggerDenial(name, member, what, "NEW."+c+" or OLD."+c, rule)
			}
		}
		if code.wholeRow {
			if rule := ss.rowRule(r, member, written, "*", ms); rule != "" {
				return triggerDenial(name, member, what, "the whole row NEW or OLD", rule)
			}
		}
	}
	for _, src := range code.reads {
		if rule := ms.unfilterable(src); rule != "" {
			return triggerDenial(name, member, what, src, rule)
		}
	}
	for _, rel := range code.rels {
		rr, err := ss.srv.catalog.relation(ss.conn, rel)
		if err != nil {
			ss.srv.cfg.Logger.Warn("postgres relation lookup", "session", ss.rec.ID, "err", err)
			return opaque("reads " + rel + ", which could not be looked up")
		}
		switch {
		case rr.kind == "" && slices.Contains(tr.transition, rel):
			continue // its rows are checked with the trigger's (checkTriggers)
		case rr.kind == "":
			return opaque("reads " + rel + ", which is no relation of the catalog")
		case rr.isView() || len(rr.family) > 0:
			return opaque("reads " + rel + ", a view or a member of an inheritance tree")
		}
		for _, c := range rr.cols {
			if rule := ms.unfilterable(pgsql.ColumnSource(rel, c)); rule != "" {
				return triggerDenial(name, member, what, "rows of "+rel, rule)
			}
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

func triggerDenial(name, member, what, col, rule string) string {
	return "masking applies: this statement fires trigger " + name + " on " + member + ", whose " + what + " reads " + col +
		", so its error or row count would say what the rule " + rule + " masks; set allow_filter = true on the rule to permit it"
}

// rowRule returns the rule masking column col ("*": every column) of the
// rows of r, named member (or written, the relation the statement named),
// without allowing filters: a view's column counts for the columns it
// reads, a stored generated column for those it is computed from.
func (ss *session) rowRule(r *namedRel, member, written, col string, ms *maskSet) string {
	lineage := r.generated
	if r.isView() {
		lineage = r.view
		if lineage == nil || col != "*" && !slices.Contains(lineage.Columns, col) {
			return anyUnfilterable(ms)
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
				return anyUnfilterable(ms)
			}
			srcs = append(srcs, lineage.Outputs[i].Sources...)
		}
	}
	for _, s := range srcs {
		if rule := ms.unfilterable(s); rule != "" {
			return rule
		}
	}
	return ""
}

// anyUnfilterable returns the column of the first rule of ms that does
// not allow filters, or "": code that may read any column reads it.
func anyUnfilterable(ms *maskSet) string {
	for _, r := range ms.rules {
		if !r.allowFilter {
			return r.column
		}
	}
	return ""
}
