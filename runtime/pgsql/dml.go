package pgsql

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// The data-modifying statements need their write class on the target, and
// select on the target when their WHERE, SET, ON CONFLICT or RETURNING
// reads it. Their outputs are the RETURNING list.

func (a *analyzer) insertStmt(s *pg_query.InsertStmt, outer *scope, filter bool) ([]string, []Lineage) {
	sc := outer.child()
	a.withClause(s.WithClause, sc)
	if s.Relation == nil {
		return nil, nil
	}
	target := a.rangeVar(s.Relation, sc, "")
	a.access("insert", target.table)
	if s.SelectStmt != nil {
		a.stored(a.query(s.SelectStmt, sc, false))
		a.assignTo(target.table, s.Cols, len(s.Cols) == 0)
	}
	a.assignments(s.Cols, sc)
	ts := sc.child()
	ts.items = []*item{target}
	if oc := s.OnConflictClause; oc != nil {
		var discard linAcc
		if oc.Action == pg_query.OnConflictAction_ONCONFLICT_UPDATE {
			a.access("update", target.table)
			cs := sc.child()
			excluded := &item{name: "excluded", rel: openRelation(Lineage{}), aliased: true}
			cs.items = []*item{target, excluded}
			a.assignments(oc.TargetList, cs)
			a.updateTo(target.table, oc.TargetList)
			a.updatedInPlace(target, oc.TargetList)
			a.expr(oc.WhereClause, cs, true, &discard)
		}
		if oc.Infer != nil {
			// A column of the conflict target (ON CONFLICT (ssn)) is an
			// IndexElem's name, not a column reference the walk below
			// sees: which rows conflict says whether a value is stored
			// there, as a WHERE on it would. It is a filter column (the
			// select it needs is left as it was).
			used := target.used
			for _, e := range oc.Infer.IndexElems {
				if ie := e.GetIndexElem(); ie != nil && ie.Name != "" {
					l, _ := target.col(ie.Name)
					a.read(l)
					a.filterLineage(l)
				}
			}
			target.used = used
			a.generic(oc.Infer.ProtoReflect(), ts, true, &discard)
		}
	}
	names, outs := a.targetList(s.ReturningList, ts, filter)
	if target.used {
		a.access("select", target.table)
	}
	return names, outs
}

func (a *analyzer) updateStmt(s *pg_query.UpdateStmt, outer *scope, filter bool) ([]string, []Lineage) {
	return a.modify("update", modifyParts{with: s.WithClause, rel: s.Relation, from: s.FromClause,
		set: s.TargetList, where: s.WhereClause, returning: s.ReturningList}, outer, filter)
}

func (a *analyzer) deleteStmt(s *pg_query.DeleteStmt, outer *scope, filter bool) ([]string, []Lineage) {
	return a.modify("delete", modifyParts{with: s.WithClause, rel: s.Relation, from: s.UsingClause,
		where: s.WhereClause, returning: s.ReturningList}, outer, filter)
}

// modifyParts are the clauses UPDATE and DELETE share; set is UPDATE's SET
// list (nil for DELETE) and from is UPDATE's FROM or DELETE's USING.
type modifyParts struct {
	with                 *pg_query.WithClause
	rel                  *pg_query.RangeVar
	from, set, returning []*pg_query.Node
	where                *pg_query.Node
}

// modify analyses an UPDATE or DELETE: the target needs class, the FROM or
// USING items are read, and a SET, WHERE or RETURNING that reads the target
// makes it need select too.
func (a *analyzer) modify(class string, m modifyParts, outer *scope, filter bool) ([]string, []Lineage) {
	sc := outer.child()
	a.withClause(m.with, sc)
	if m.rel == nil {
		return nil, nil
	}
	target := a.rangeVar(m.rel, sc, "")
	a.access(class, target.table)
	sc.items = append(sc.items, target)
	for _, f := range m.from {
		a.fromItem(f, sc)
	}
	if m.set != nil {
		a.assignments(m.set, sc)
		a.updateTo(target.table, m.set)
		a.updatedInPlace(target, m.set)
	}
	var discard linAcc
	a.expr(m.where, sc, true, &discard)
	names, outs := a.targetList(m.returning, sc, filter)
	if target.used {
		a.access("select", target.table)
	}
	return names, outs
}

func (a *analyzer) mergeStmt(s *pg_query.MergeStmt, outer *scope, filter bool) ([]string, []Lineage) {
	sc := outer.child()
	a.withClause(s.WithClause, sc)
	if s.Relation == nil {
		return nil, nil
	}
	target := a.rangeVar(s.Relation, sc, "")
	sc.items = append(sc.items, target)
	a.fromItem(s.SourceRelation, sc)
	var discard linAcc
	a.expr(s.JoinCondition, sc, true, &discard)
	writes := false
	for _, n := range s.MergeWhenClauses {
		wc := n.GetMergeWhenClause()
		if wc == nil {
			continue
		}
		switch wc.CommandType {
		case pg_query.CmdType_CMD_INSERT:
			a.access("insert", target.table)
			a.assignTo(target.table, wc.TargetList, len(wc.TargetList) == 0 && len(wc.Values) > 0)
			writes = true
		case pg_query.CmdType_CMD_UPDATE:
			a.access("update", target.table)
			a.updateTo(target.table, wc.TargetList)
			a.updatedInPlace(target, wc.TargetList)
			writes = true
		case pg_query.CmdType_CMD_DELETE:
			a.access("delete", target.table)
			writes = true
		case pg_query.CmdType_CMD_NOTHING:
		default:
			a.forbid("MERGE action the analyzer does not know")
		}
		a.expr(wc.Condition, sc, true, &discard)
		a.assignments(wc.TargetList, sc)
		for _, v := range wc.Values {
			a.expr(v, sc, false, &a.writes)
		}
	}
	if !writes {
		// Only DO NOTHING: still a MERGE, which takes the target's write
		// lock (ROW EXCLUSIVE) and which PostgreSQL then runs even in a
		// read-only transaction. It needs update, as LOCK does.
		a.access("update", target.table)
	}
	names, outs := a.targetList(s.ReturningList, sc, filter)
	if target.used {
		a.access("select", target.table)
	}
	return names, outs
}

// assignTo records the columns a write sets in table (Analyzed.Assigns):
// the names of targets (SET or INSERT column list entries), or every
// column (table.*) when all is set or a target has no name.
func (a *analyzer) assignTo(table string, targets []*pg_query.Node, all bool) {
	assignInto(a.assigns, table, targets, all)
}

// updateTo records the columns an update (UPDATE, MERGE UPDATE, ON
// CONFLICT DO UPDATE) sets in rows it keeps (Analyzed.Assigns and
// Analyzed.Updates).
func (a *analyzer) updateTo(table string, targets []*pg_query.Node) {
	assignInto(a.assigns, table, targets, false)
	assignInto(a.updates, table, targets, false)
}

func assignInto(set map[string]bool, table string, targets []*pg_query.Node, all bool) {
	if table == "" {
		return
	}
	for _, n := range targets {
		rt := n.GetResTarget()
		if rt == nil || rt.Name == "" {
			all = true
			break
		}
		set[ColumnSource(table, rt.Name)] = true
	}
	if all {
		set[table+".*"] = true
	}
}

// updatedInPlace records the columns an update's SET list changes in
// place (col['k'] = x, col[i] = x, col.f = x): PostgreSQL starts from the
// stored value, and the assignment fails on some of them (jsonb's "cannot
// replace existing key" when col['k'] holds a scalar, an index past the
// start of an array, an array of other dimensions), so whether the update
// fails tells what the stored value holds, as a WHERE on it would. They
// are filter columns (the select the statement needs is left as it was).
func (a *analyzer) updatedInPlace(target *item, list []*pg_query.Node) {
	used := target.used
	for _, n := range list {
		if rt := n.GetResTarget(); rt != nil && rt.Name != "" && len(rt.Indirection) > 0 {
			l, _ := target.col(rt.Name)
			a.read(l)
			a.filterLineage(l)
		}
	}
	target.used = used
}

// assignments walks SET lists and INSERT column lists: the assigned values
// and any subscripts in the targets (col[expr]).
func (a *analyzer) assignments(list []*pg_query.Node, sc *scope) {
	for _, n := range list {
		rt := n.GetResTarget()
		if rt == nil {
			a.expr(n, sc, false, &a.writes)
			continue
		}
		for _, ind := range rt.Indirection {
			a.expr(ind, sc, false, &a.writes)
		}
		a.expr(rt.Val, sc, false, &a.writes)
	}
}
