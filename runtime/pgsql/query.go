package pgsql

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// query analyzes a query node (SELECT, VALUES, set operations, or a
// data-modifying statement) and returns the lineage of its outputs.
func (a *analyzer) query(n *pg_query.Node, sc *scope, filter bool) []Lineage {
	_, outs := a.queryOut(n, sc, filter)
	return outs
}

// queryOut is query with the output column names.
func (a *analyzer) queryOut(n *pg_query.Node, sc *scope, filter bool) ([]string, []Lineage) {
	if n == nil {
		return nil, nil
	}
	if !a.enter() {
		return nil, nil
	}
	defer a.leave()
	switch x := n.Node.(type) {
	case *pg_query.Node_SelectStmt:
		return a.selectStmt(x.SelectStmt, sc, filter)
	case *pg_query.Node_InsertStmt:
		return a.insertStmt(x.InsertStmt, sc, filter)
	case *pg_query.Node_UpdateStmt:
		return a.updateStmt(x.UpdateStmt, sc, filter)
	case *pg_query.Node_DeleteStmt:
		return a.deleteStmt(x.DeleteStmt, sc, filter)
	case *pg_query.Node_MergeStmt:
		return a.mergeStmt(x.MergeStmt, sc, filter)
	}
	var acc linAcc
	a.generic(n.ProtoReflect(), sc, filter, &acc)
	return nil, []Lineage{acc.lineage()}
}

// withClause analyzes the CTEs of a WITH into sc. A recursive WITH is
// analyzed twice: the second pass sees, in every column of the
// self-reference, whatever the first pass found in any column.
func (a *analyzer) withClause(w *pg_query.WithClause, sc *scope) {
	if w == nil {
		return
	}
	sc.ctes = map[string]*cte{}
	passes := 1
	if w.Recursive {
		for _, n := range w.Ctes {
			if c := n.GetCommonTableExpr(); c != nil {
				sc.ctes[c.Ctename] = &cte{rel: openRelation(Lineage{})}
			}
		}
		passes = 2
	}
	for p := 0; p < passes; p++ {
		for _, n := range w.Ctes {
			c := n.GetCommonTableExpr()
			if c == nil {
				continue
			}
			names, outs := a.queryOut(c.Ctequery, sc, false)
			rel := relationOf(names, outs).rename(stringList(c.Aliascolnames))
			rel = a.searchCycle(c, rel)
			if p == 0 && passes == 2 {
				rel = openRelation(rel.all())
			}
			sc.ctes[c.Ctename] = &cte{rel: rel}
		}
	}
}

// searchCycle applies a recursive CTE's SEARCH and CYCLE clauses: the
// columns they name decide the order of rows and which rows stop the
// recursion, so they are filter columns; the columns they add (sequence,
// cycle mark, path) carry those columns' values.
func (a *analyzer) searchCycle(c *pg_query.CommonTableExpr, rel *relation) *relation {
	var by linAcc
	var added []string
	if s := c.SearchClause; s != nil {
		for _, name := range stringList(s.SearchColList) {
			l, _ := rel.column(name)
			by.addLineage(l)
		}
		added = append(added, s.SearchSeqColumn)
	}
	if cy := c.CycleClause; cy != nil {
		for _, name := range stringList(cy.CycleColList) {
			l, _ := rel.column(name)
			by.addLineage(l)
		}
		added = append(added, cy.CycleMarkColumn, cy.CyclePathColumn)
	}
	if len(added) == 0 {
		return rel
	}
	l := by.lineage()
	a.filter(l.Sources)
	if rel.open {
		return rel
	}
	n := &relation{cols: append([]string(nil), rel.cols...), lins: append([]Lineage(nil), rel.lins...)}
	for _, name := range added {
		n.cols = append(n.cols, name)
		n.lins = append(n.lins, l)
	}
	return n
}

func (a *analyzer) selectStmt(s *pg_query.SelectStmt, outer *scope, filter bool) ([]string, []Lineage) {
	if s == nil {
		return nil, nil
	}
	sc := outer.child()
	a.withClause(s.WithClause, sc)
	var discard linAcc
	if s.Op != pg_query.SetOperation_SETOP_NONE && s.Op != pg_query.SetOperation_SET_OPERATION_UNDEFINED {
		ln, lo := a.selectStmt(s.Larg, sc, filter)
		_, ro := a.selectStmt(s.Rarg, sc, filter)
		outs := mergeSetOp(lo, ro)
		if s.Op != pg_query.SetOperation_SETOP_UNION || !s.All {
			// INTERSECT and EXCEPT keep rows by comparing them with the
			// other side, and UNION without ALL drops duplicates: which
			// rows come back depends on every column of both sides.
			a.filterAll(lo)
			a.filterAll(ro)
		}
		a.orderBy(s.SortClause, sc, ln, outs)
		a.expr(s.LimitCount, sc, true, &discard)
		a.expr(s.LimitOffset, sc, true, &discard)
		return ln, outs
	}
	if len(s.ValuesLists) > 0 {
		var cols []linAcc
		star := false
		for _, row := range s.ValuesLists {
			for i, e := range row.GetList().GetItems() {
				for len(cols) <= i {
					cols = append(cols, linAcc{})
				}
				a.expr(e, sc, filter, &cols[i])
				star = star || starItem(e)
			}
		}
		names := make([]string, len(cols))
		outs := make([]Lineage, len(cols))
		for i := range cols {
			names[i] = "column" + itoa(i+1)
			outs[i] = cols[i].lineage()
		}
		if star {
			// VALUES (t.*) and VALUES ((x).*) expand into a column per
			// field, as a target list does: the columns are a run of
			// unknown width, each of which may carry anything.
			u := union(outs)
			u.Star = true
			u.Direct = false
			names, outs = []string{""}, []Lineage{u}
		}
		a.orderBy(s.SortClause, sc, names, outs)
		return names, outs
	}
	for _, f := range s.FromClause {
		a.fromItem(f, sc)
	}
	a.expr(s.WhereClause, sc, true, &discard)
	names, outs := a.targetList(s.TargetList, sc, filter)
	for _, g := range s.GroupClause {
		a.sortKey(g, sc, names, outs)
	}
	a.expr(s.HavingClause, sc, true, &discard)
	for _, w := range s.WindowClause {
		a.expr(w, sc, true, &discard)
	}
	if plainDistinct(s.DistinctClause) {
		// DISTINCT compares whole output rows: how many come back
		// depends on the values of every output column.
		a.filterAll(outs)
	} else {
		for _, d := range s.DistinctClause {
			a.sortKey(d, sc, names, outs)
		}
	}
	a.orderBy(s.SortClause, sc, names, outs)
	a.expr(s.LimitCount, sc, true, &discard)
	a.expr(s.LimitOffset, sc, true, &discard)
	a.locking(s.LockingClause, sc)
	if s.IntoClause != nil && s.IntoClause.Rel != nil {
		a.access("ddl", a.relName(s.IntoClause.Rel))
		a.stored(outs)
	}
	return names, outs
}

// mergeSetOp unions the two sides of UNION/INTERSECT/EXCEPT per position.
func mergeSetOp(l, r []Lineage) []Lineage {
	star := len(l) != len(r)
	for _, x := range append(append([]Lineage{}, l...), r...) {
		if x.Star {
			star = true
		}
	}
	if star {
		u := union(append(append([]Lineage{}, l...), r...))
		u.Star = true
		return []Lineage{u}
	}
	outs := make([]Lineage, len(l))
	for i := range l {
		u := union([]Lineage{l[i], r[i]})
		u.Direct = l[i].Direct && r[i].Direct
		outs[i] = u
	}
	return outs
}

// orderBy walks ORDER BY items as filters.
func (a *analyzer) orderBy(items []*pg_query.Node, sc *scope, names []string, outs []Lineage) {
	for _, it := range items {
		if sb := it.GetSortBy(); sb != nil {
			a.operator(sb.UseOp)
			a.sortKey(sb.Node, sc, names, outs)
			continue
		}
		a.sortKey(it, sc, names, outs)
	}
}

// sortKey walks a GROUP BY, ORDER BY or DISTINCT ON key as a filter. A
// position number or an output column name refers to that output.
func (a *analyzer) sortKey(n *pg_query.Node, sc *scope, names []string, outs []Lineage) {
	if n == nil {
		return
	}
	// Inside ROLLUP, CUBE and GROUPING SETS, positions and output names
	// still refer to outputs: walk each element as a key of its own.
	if gs := n.GetGroupingSet(); gs != nil {
		for _, c := range gs.Content {
			a.sortKey(c, sc, names, outs)
		}
		return
	}
	if r := n.GetRowExpr(); r != nil {
		for _, c := range r.Args {
			a.sortKey(c, sc, names, outs)
		}
		return
	}
	if l := n.GetList(); l != nil {
		for _, c := range l.Items {
			a.sortKey(c, sc, names, outs)
		}
		return
	}
	if c := n.GetAConst(); c != nil {
		a.literal = true
		if iv, ok := c.Val.(*pg_query.A_Const_Ival); ok {
			a.filterLineage(ordinalLineage(outs, int(iv.Ival.GetIval())))
		}
		return
	}
	output := false
	if cr := n.GetColumnRef(); cr != nil {
		if parts := refParts(cr); len(parts) == 1 {
			for i, name := range names {
				if name == parts[0] && i < len(outs) {
					a.filterLineage(outs[i])
					output = true
				}
			}
		}
	}
	unknown := a.filterUnknown
	var discard linAcc
	a.expr(n, sc, true, &discard)
	if output {
		// The name is an output column's: that it resolves to no input
		// column does not make what it reads unknown.
		a.filterUnknown = unknown
	}
}

// ordinalLineage is what output position i (1-based, as in ORDER BY 2)
// may read. A star covers an unknown number of columns: a position at or
// past the first star may be any column from there on.
func ordinalLineage(outs []Lineage, i int) Lineage {
	if i < 1 {
		return Lineage{}
	}
	for k, o := range outs {
		if o.Star {
			return union(outs[k:])
		}
		if k == i-1 {
			return o
		}
	}
	return Lineage{}
}

// plainDistinct reports SELECT DISTINCT without ON: the parser gives it a
// distinct clause holding one empty node.
func plainDistinct(list []*pg_query.Node) bool {
	return len(list) == 1 && (list[0] == nil || list[0].Node == nil)
}

// filterAll marks everything the outputs read as filter columns.
func (a *analyzer) filterAll(outs []Lineage) {
	for _, o := range outs {
		a.filterLineage(o)
	}
}

// locking records FOR UPDATE/SHARE row locks as update access. A lock on
// a subquery or CTE item locks the rows of the tables it reads, which the
// item does not record: every table read so far then needs update.
func (a *analyzer) locking(clauses []*pg_query.Node, sc *scope) {
	derived := false
	defer func() {
		if !derived {
			return
		}
		for x := range a.accesses {
			if x.Class == "select" {
				a.access("update", x.Table)
			}
		}
	}()
	for _, n := range clauses {
		lc := n.GetLockingClause()
		if lc == nil {
			continue
		}
		if len(lc.LockedRels) == 0 {
			for _, it := range sc.items {
				derived = a.lockItem(it) || derived
			}
			continue
		}
		for _, r := range lc.LockedRels {
			rv := r.GetRangeVar()
			if rv == nil {
				continue
			}
			if it := sc.findItem([]string{rv.Relname}); it != nil {
				derived = a.lockItem(it) || derived
			} else {
				a.access("update", a.relName(rv))
			}
		}
	}
}

// lockItem records the lock of a base table; it reports a derived item.
func (a *analyzer) lockItem(it *item) bool {
	if it.table != "" {
		a.access("update", it.table)
		return false
	}
	return true
}

// targetList returns the names and lineage of a target or RETURNING list.
func (a *analyzer) targetList(list []*pg_query.Node, sc *scope, filter bool) ([]string, []Lineage) {
	names := make([]string, 0, len(list))
	outs := make([]Lineage, 0, len(list))
	for _, n := range list {
		rt := n.GetResTarget()
		if rt == nil {
			continue
		}
		if cr := rt.Val.GetColumnRef(); cr != nil {
			parts := refParts(cr)
			if len(parts) > 0 && parts[len(parts)-1] == "*" {
				ns, ls := a.expandStar(parts, sc)
				for _, l := range ls {
					a.read(l)
					if filter {
						a.filterLineage(l)
					}
				}
				names = append(names, ns...)
				outs = append(outs, ls...)
				continue
			}
		}
		l := a.exprLineage(rt.Val, sc, filter)
		if fieldStar(rt.Val) {
			// (x).* expands into every field of x, as many result columns
			// as x's type has: a run of unknown width, like t.*. Counted
			// as one column it would shift the columns after it onto the
			// lineage of others (SELECT y.*, upper(ssn), (c).* masked
			// upper(ssn) by y's columns).
			l.Star = true
			l.Direct = false
			names = append(names, "")
			outs = append(outs, l)
			continue
		}
		names = append(names, outputName(rt))
		outs = append(outs, l)
	}
	return names, outs
}

// starItem reports an item of an expression list that PostgreSQL expands
// into several (t.* or (x).*), as in a target list or VALUES.
func starItem(n *pg_query.Node) bool {
	if cr := n.GetColumnRef(); cr != nil {
		parts := refParts(cr)
		return len(parts) > 0 && parts[len(parts)-1] == "*"
	}
	return fieldStar(n)
}

// fieldStar reports a (x).* target: field selection of every field.
func fieldStar(n *pg_query.Node) bool {
	ind := n.GetAIndirection().GetIndirection()
	return len(ind) > 0 && ind[len(ind)-1].GetAStar() != nil
}

// expandStar expands * or q.* into columns when they are known (a single
// derived item with named columns), or into one Star entry.
func (a *analyzer) expandStar(parts []string, sc *scope) ([]string, []Lineage) {
	var it *item
	if len(parts) == 1 {
		if len(sc.items) != 1 {
			return []string{""}, []Lineage{sc.starAll()}
		}
		it = sc.items[0]
	} else if it = sc.findItem(parts[:len(parts)-1]); it == nil {
		return []string{""}, []Lineage{{Star: true, Unknown: true}}
	}
	if it.table != "" || it.rel.open {
		return []string{""}, []Lineage{it.star()}
	}
	it.used = true
	return append([]string(nil), it.rel.cols...), append([]Lineage(nil), it.rel.lins...)
}

// outputName is the column name PostgreSQL gives a target.
func outputName(rt *pg_query.ResTarget) string {
	if rt.Name != "" {
		return rt.Name
	}
	return figureName(rt.Val)
}

func stringList(ns []*pg_query.Node) []string {
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		out = append(out, n.GetString_().GetSval())
	}
	return out
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
