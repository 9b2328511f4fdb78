package pgproxy

import (
	"fmt"
	"slices"
	"time"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/pgsql"
)

// Writes as oracles. A value a write stores is compared with the stored
// values wherever a constraint covers its column: a unique, primary key or
// exclusion constraint (or unique index) rejects it with 23505 or 23P01
// when another row holds it, ON CONFLICT skips or updates that row
// instead (the row count says which), and a foreign key rejects it with
// 23503 when the referenced table does not hold it. Deleting a referenced
// row (or changing its key) fails or cascades when a referencing row holds
// its value. Each answers whether a guessed value is stored: a filter on
// the masked column. A CHECK constraint or stored generated column that
// reads a masked column beside a column an update sets is evaluated on
// the stored masked value (CHECK (name <> ssn) fails UPDATE SET name =
// 'guess' exactly when ssn is the guess). checkWriteOracles denies them
// unless the masking rule allows filtering.

// keysQuery lists, for a relation named by schema and name: the columns
// of each unique or exclusion index ('u': key columns, and every column
// its expressions and predicate read; '*' for a whole-row reference), the
// columns of each of its foreign keys with the columns they reference
// ('f'), and its own columns other relations' foreign keys reference
// ('r').
const keysQuery = `WITH rel AS (SELECT c.oid FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2),
idx AS (SELECT i.indexrelid, i.indrelid, i.indkey, i.indnkeyatts, i.indexprs, i.indpred
  FROM pg_catalog.pg_index i JOIN rel ON i.indrelid = rel.oid WHERE i.indisunique OR i.indisexclusion),
cols AS (SELECT idx.indexrelid AS id, idx.indrelid AS rel, k.attnum
  FROM idx, unnest((idx.indkey::pg_catalog.int2[])[0:idx.indnkeyatts - 1]) AS k(attnum) WHERE k.attnum > 0
  UNION SELECT d.objid, d.refobjid, d.refobjsubid FROM pg_catalog.pg_depend d JOIN idx ON d.objid = idx.indexrelid
  WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
    AND d.refobjid = idx.indrelid AND d.refobjsubid > 0)
SELECT 'u', cols.id::text, a.attname::text, NULL, NULL, NULL FROM cols
JOIN pg_catalog.pg_attribute a ON a.attrelid = cols.rel AND a.attnum = cols.attnum
UNION ALL
SELECT 'u', idx.indexrelid::text, '*', NULL, NULL, NULL FROM idx
WHERE idx.indexprs::text LIKE '%:varattno 0 %' OR idx.indpred::text LIKE '%:varattno 0 %'
UNION ALL
SELECT 'f', con.oid::text, la.attname::text, rn.nspname::text, rc.relname::text, ra.attname::text
FROM pg_catalog.pg_constraint con JOIN rel ON con.conrelid = rel.oid
CROSS JOIN LATERAL unnest(con.conkey, con.confkey) AS k(l, r)
JOIN pg_catalog.pg_attribute la ON la.attrelid = con.conrelid AND la.attnum = k.l
JOIN pg_catalog.pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.r
JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype = 'f'
UNION ALL
SELECT 'r', con.oid::text, ra.attname::text, NULL, NULL, NULL
FROM pg_catalog.pg_constraint con JOIN rel ON con.confrelid = rel.oid
CROSS JOIN LATERAL unnest(con.confkey) AS k(r)
JOIN pg_catalog.pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.r
WHERE con.contype = 'f'
UNION ALL
SELECT 'c', con.oid::text, a.attname::text, CASE WHEN con.convalidated THEN NULL ELSE 'n' END, NULL, NULL
FROM pg_catalog.pg_constraint con JOIN rel ON con.conrelid = rel.oid
CROSS JOIN LATERAL unnest(con.conkey) AS k(attnum)
JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
WHERE con.contype = 'c'
UNION ALL
SELECT 'c', con.oid::text, '*', CASE WHEN con.convalidated THEN NULL ELSE 'n' END, NULL, NULL
FROM pg_catalog.pg_constraint con JOIN rel ON con.conrelid = rel.oid
WHERE con.contype = 'c' AND con.conbin::text LIKE '%:varattno 0 %'`

// relKeys are the constraints of a relation that compare a written value
// with stored ones.
type relKeys struct {
	// unique are the column sets of its unique, primary key and exclusion
	// indexes ("*": a whole-row reference, every column).
	unique [][]string
	// foreign are its foreign keys.
	foreign []foreignKey
	// referenced are its columns that foreign keys of other relations (or
	// its own) reference.
	referenced []string
	// checks are its CHECK constraints.
	checks []checkConstraint
	// triggers are its enabled user triggers, cascades the foreign
	// keys whose actions change rows of other relations (triggers.go).
	triggers []trigger
	cascades []cascade
	// rules are its enabled INSERT, UPDATE and DELETE rules (rules.go).
	rules []rewriteRule
	at    time.Time
}

// checkConstraint is one CHECK constraint: the columns its expression
// reads ("*": a whole-row reference) and whether it is NOT VALID (stored
// rows may violate it).
type checkConstraint struct {
	cols     []string
	notValid bool
}

// foreignKey is one foreign key: its columns and the columns they
// reference, as lineage sources.
type foreignKey struct {
	cols, refs []string
}

// keys returns the constraints of the relation named table ("schema.table",
// as lineage writes it), cached for CatalogTTL. A relation that does not
// exist has none.
func (c *catalog) keys(conn *model.Connection, table string) (*relKeys, error) {
	k := namedKey{conn.Name, table}
	c.cacheMu.RLock()
	rk := c.keyed[k]
	c.cacheMu.RUnlock()
	if rk != nil && time.Since(rk.at) <= CatalogTTL {
		return rk, nil
	}
	schema, name, ok := pgsql.SplitRelation(table)
	if !ok {
		return nil, fmt.Errorf("looking up the keys of %s: not a schema-qualified name", table)
	}
	ctx, pc, end, err := c.begin(conn)
	if err != nil {
		return nil, err
	}
	defer end()
	res := pc.ExecParams(ctx, keysQuery, [][]byte{[]byte(schema), []byte(name)}, []uint32{25, 25}, nil, nil).Read()
	if res.Err != nil {
		c.drop(ctx, conn.Name)
		return nil, fmt.Errorf("looking up the keys of %s on %s: %w", table, conn.Name, res.Err)
	}
	rk = &relKeys{at: time.Now()}
	unique := map[string]int{}
	foreign := map[string]int{}
	checks := map[string]int{}
	for _, row := range res.Rows {
		id, col := string(row[1]), string(row[2])
		switch string(row[0]) {
		case "u":
			i, ok := unique[id]
			if !ok {
				i = len(rk.unique)
				unique[id] = i
				rk.unique = append(rk.unique, nil)
			}
			rk.unique[i] = append(rk.unique[i], col)
		case "f":
			i, ok := foreign[id]
			if !ok {
				i = len(rk.foreign)
				foreign[id] = i
				rk.foreign = append(rk.foreign, foreignKey{})
			}
			fk := &rk.foreign[i]
			fk.cols = append(fk.cols, col)
			fk.refs = append(fk.refs, pgsql.ColumnSource(pgsql.RelationSource(string(row[3]), string(row[4])), string(row[5])))
		case "c":
			i, ok := checks[id]
			if !ok {
				i = len(rk.checks)
				checks[id] = i
				rk.checks = append(rk.checks, checkConstraint{notValid: string(row[3]) == "n"})
			}
			rk.checks[i].cols = append(rk.checks[i].cols, col)
		default:
			if !slices.Contains(rk.referenced, col) {
				rk.referenced = append(rk.referenced, col)
			}
		}
	}
	if err := readTriggers(ctx, pc, schema, name, rk); err != nil {
		c.drop(ctx, conn.Name)
		return nil, fmt.Errorf("looking up the triggers of %s on %s: %w", table, conn.Name, err)
	}
	if err := readRules(ctx, pc, schema, name, rk); err != nil {
		c.drop(ctx, conn.Name)
		return nil, fmt.Errorf("looking up the rules of %s on %s: %w", table, conn.Name, err)
	}
	c.cacheMu.Lock()
	if len(c.keyed) > 4096 {
		c.keyed = map[namedKey]*relKeys{}
	}
	c.keyed[k] = rk
	c.cacheMu.Unlock()
	return rk, nil
}

// writeTarget is a relation a statement writes: the columns it sets ("*":
// every column) and whether it deletes rows.
type writeTarget struct {
	table  string
	cols   []string
	delete bool
	// updCols are the columns of cols an update sets in rows it keeps
	// (Analyzed.Updates).
	updCols []string
	// events are the trigger events the write fires (trigInsert, ...;
	// 0: unknown, every event).
	events    uint16
	depth     int // views followed to reach it
	trigDepth int // triggers and foreign key actions followed to reach it
}

// merge adds what d writes to w and reports whether that changed w.
func (w *writeTarget) merge(d writeTarget) bool {
	changed := false
	for _, c := range d.cols {
		if !slices.Contains(w.cols, c) {
			w.cols = append(w.cols, c)
			changed = true
		}
	}
	for _, c := range d.updCols {
		if !slices.Contains(w.updCols, c) {
			w.updCols = append(w.updCols, c)
			changed = true
		}
	}
	if d.delete && !w.delete {
		w.delete, changed = true, true
	}
	if d.events|w.events != w.events {
		w.events |= d.events
		changed = true
	}
	w.depth, w.trigDepth = max(w.depth, d.depth), max(w.trigDepth, d.trigDepth)
	return changed
}

// checkWriteOracles returns why an may not run under column masking when a
// value it writes is compared with stored values of a masked column whose
// rule does not allow filtering (see the comment at the top of this file):
// it sets a column of a unique, primary key or exclusion constraint that
// covers such a column, or a column of a foreign key referencing one, or it
// deletes rows of (or sets a key column of) a relation whose such column a
// foreign key references, or it updates a column of a CHECK constraint or
// stored generated column that reads such a column (any column when the
// check is NOT VALID), or inserts into that masked column; or when a
// trigger or rule it fires reads such a column (triggers.go, rules.go). A
// write through a view counts for the columns the view's columns read; a
// write to a member of an inheritance tree for every member's constraints,
// triggers and rules; what triggers, rules and foreign key actions write
// counts as written. A catalog failure denies.
func (ss *session) checkWriteOracles(an *pgsql.Analyzed, ms *maskSet) string {
	var queue []writeTarget
	byTable := map[string]int{}
	n := 0
	// add queues what d writes; a relation already checked is checked
	// again when d adds to what it writes.
	add := func(d writeTarget) {
		i, ok := byTable[d.table]
		switch {
		case !ok:
			byTable[d.table] = len(queue)
			queue = append(queue, writeTarget{table: d.table})
			queue[len(queue)-1].merge(d)
		case i > n:
			queue[i].merge(d)
		default:
			w := queue[i]
			w.cols, w.updCols = slices.Clone(w.cols), slices.Clone(w.updCols)
			if w.merge(d) {
				byTable[d.table] = len(queue)
				queue = append(queue, w)
			}
		}
	}
	// Whether rows of its writes reach the client or another write: a
	// rule's RETURNING then computes them (rules.go).
	returning := len(an.Outputs) > 0 || returnsRows(an.Text)
	// The trigger events of each relation the statement names.
	events := map[string]uint16{}
	for _, x := range an.Statement.Accesses {
		switch {
		case x.Class == "insert" || x.Class == "copy_in":
			events[x.Table] |= trigInsert
		case x.Class == "delete" && an.Statement.Tag == "TRUNCATE TABLE":
			events[x.Table] |= trigTruncate
		case x.Class == "delete":
			events[x.Table] |= trigDelete
		}
	}
	for _, s := range an.Updates {
		if rel, _, _, ok := pgsql.SplitSource(s); ok {
			events[rel] |= trigUpdate
		}
	}
	for _, s := range an.Assigns {
		rel, col, all, ok := pgsql.SplitSource(s)
		if !ok {
			return "masking applies and the columns this statement writes could not be resolved (fail closed)"
		}
		if all {
			col = "*"
		}
		d := writeTarget{table: rel, cols: []string{col}, events: events[rel]}
		if slices.Contains(an.Updates, s) {
			d.updCols = d.cols
		}
		add(d)
	}
	for _, x := range an.Statement.Accesses {
		if x.Class == "delete" && x.Table != "" {
			add(writeTarget{table: x.Table, delete: true, events: events[x.Table]})
		}
	}
	for ; n < len(queue); n++ {
		w := queue[n]
		r, err := ss.srv.catalog.relation(ss.conn, w.table)
		if err != nil {
			ss.srv.cfg.Logger.Warn("postgres relation lookup", "session", ss.rec.ID, "err", err)
			return "masking applies and " + w.table + ", which this statement writes, could not be looked up (fail closed)"
		}
		if r.isView() {
			if r.view == nil || w.depth >= maxViewDepth {
				return "masking applies and the relations behind view " + w.table + ", which this statement writes, could not be resolved (fail closed)"
			}
			// INSTEAD OF triggers, and statement triggers of the view;
			// its rules.
			if reason := ss.checkTriggers(w, w.table, ms, add); reason != "" {
				return reason
			}
			if reason := ss.checkRules(w, w.table, ms, add, returning); reason != "" {
				return reason
			}
			for _, col := range w.cols {
				for i, vc := range r.view.Columns {
					if (col != "*" && vc != col) || i >= len(r.view.Outputs) {
						continue
					}
					o := r.view.Outputs[i]
					if o.Unknown {
						return "masking applies and the origin of column " + vc + " of view " + w.table + ", which this statement writes, is unknown (fail closed)"
					}
					for _, src := range o.Sources {
						rel, bc, all, ok := pgsql.SplitSource(src)
						if !ok {
							return "masking applies and the origin of column " + vc + " of view " + w.table + " could not be resolved (fail closed)"
						}
						if all {
							bc = "*"
						}
						d := writeTarget{table: rel, cols: []string{bc}, events: w.events, depth: w.depth + 1, trigDepth: w.trigDepth}
						if slices.Contains(w.updCols, col) {
							d.updCols = d.cols
						}
						add(d)
					}
				}
			}
			if w.delete || w.events != 0 {
				for _, rel := range r.view.Relations {
					add(writeTarget{table: rel, delete: w.delete, events: w.events, depth: w.depth + 1, trigDepth: w.trigDepth})
				}
			}
			continue
		}
		if r.kind == "" {
			continue // no such relation: the server will say so
		}
		for _, m := range append([]string{w.table}, r.family...) {
			if reason := ss.checkKeys(w, m, ms); reason != "" {
				return reason
			}
			if reason := ss.checkTriggers(w, m, ms, add); reason != "" {
				return reason
			}
			if reason := ss.checkRules(w, m, ms, add, returning); reason != "" {
				return reason
			}
		}
	}
	return ""
}

// checkKeys checks the constraints of member, the relation w names or a
// member of its inheritance tree, against what w writes.
func (ss *session) checkKeys(w writeTarget, member string, ms *maskSet) string {
	fail := func(err error) string {
		ss.srv.cfg.Logger.Warn("postgres key lookup", "session", ss.rec.ID, "err", err)
		return "masking applies and the constraints of " + member + ", which this statement writes, could not be looked up (fail closed)"
	}
	r, err := ss.srv.catalog.relation(ss.conn, member)
	if err != nil {
		return fail(err)
	}
	k, err := ss.srv.catalog.keys(ss.conn, member)
	if err != nil {
		return fail(err)
	}
	// expand adds the columns the stored generated columns among cols
	// are computed from ("*" when unknown): writing those changes them.
	expand := func(cols []string) []string {
		out := slices.Clone(cols)
		if r.generated == nil {
			return out
		}
		for _, c := range cols {
			i := slices.Index(r.generated.Columns, c)
			if i < 0 || i >= len(r.generated.Outputs) {
				continue
			}
			o := r.generated.Outputs[i]
			if o.Unknown {
				out = append(out, "*")
			}
			for _, src := range o.Sources {
				if _, col, all, ok := pgsql.SplitSource(src); !ok || all {
					out = append(out, "*")
				} else {
					out = append(out, col)
				}
			}
		}
		return out
	}
	// masked returns the rule masking a column of member (by member's
	// name or the written relation's) without allowing filters.
	masked := func(cols []string) (col, rule string) {
		for _, c := range cols {
			for _, rel := range []string{member, w.table} {
				src := rel + ".*"
				if c != "*" {
					src = pgsql.ColumnSource(rel, c)
				}
				if rule := ms.unfilterable(src); rule != "" {
					return c, rule
				}
			}
		}
		return "", ""
	}
	deny := func(col, rule, what string) string {
		if col == "*" {
			col = "a masked column"
		}
		return "masking applies: this statement writes " + member + " where " + what + " " + col +
			", so its error or row count would say whether a value is stored there, which the rule " + rule +
			" masks; set allow_filter = true on the rule to permit it"
	}
	for _, u := range k.unique {
		cols := expand(u)
		if col, rule := masked(cols); rule != "" && overlaps(w.cols, cols) {
			return deny(col, rule, "a unique, primary key or exclusion constraint compares")
		}
	}
	// Expressions the server evaluates on the new row: CHECK constraints
	// and stored generated columns. An update keeps the masked values of
	// the row it changes, so setting a column such an expression reads
	// beside a masked one makes its outcome (a violated check, an
	// overflow) depend on the masked value: CHECK (name <> ssn) answers
	// UPDATE SET name = 'guess'. An INSERT stores the defaults of the
	// columns it leaves out; one that sets the masked column may copy a
	// stored value (INSERT ... SELECT ssn). A NOT VALID check may be
	// violated by a stored row: any update of it answers.
	newRow := func(cols []string, notValid bool) string {
		col, rule := masked(cols)
		if rule == "" {
			return ""
		}
		if notValid && len(w.updCols) > 0 || overlaps(w.updCols, cols) {
			return deny(col, rule, "an expression it evaluates on the updated row (a CHECK constraint or a generated column) reads")
		}
		for _, c := range cols {
			if c, rule := masked([]string{c}); rule != "" && overlaps(w.cols, []string{c}) {
				return deny(c, rule, "an expression it evaluates on the new row (a CHECK constraint or a generated column) reads")
			}
		}
		return ""
	}
	for _, ck := range k.checks {
		if reason := newRow(expand(ck.cols), ck.notValid); reason != "" {
			return reason
		}
	}
	if r.generated != nil {
		for _, gc := range r.generated.Columns {
			if reason := newRow(expand([]string{gc}), false); reason != "" {
				return reason
			}
		}
	}
	for _, fk := range k.foreign {
		if !overlaps(w.cols, expand(fk.cols)) {
			continue
		}
		for _, ref := range fk.refs {
			if rule := ms.unfilterable(ref); rule != "" {
				return deny(ref, rule, "a foreign key checks the referenced column")
			}
		}
	}
	refd := expand(k.referenced)
	if w.delete || overlaps(w.cols, refd) {
		if col, rule := masked(refd); rule != "" {
			return deny(col, rule, "a foreign key of another relation references")
		}
	}
	return ""
}

// overlaps reports whether the written columns meet a constraint's ("*"
// on either side: every column).
func overlaps(written, cols []string) bool {
	if len(written) == 0 || len(cols) == 0 {
		return false
	}
	if slices.Contains(written, "*") || slices.Contains(cols, "*") {
		return true
	}
	for _, c := range written {
		if slices.Contains(cols, c) {
			return true
		}
	}
	return false
}
