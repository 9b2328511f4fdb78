package pgsql

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// fromItem adds one FROM item (and, for joins, its members) to sc.
// Functions and LATERAL subqueries see the items already added, as
// PostgreSQL lets them; other subqueries, and a join's ON, see only what
// PostgreSQL shows them.
func (a *analyzer) fromItem(n *pg_query.Node, sc *scope) {
	if n == nil || !a.enter() {
		return
	}
	defer a.leave()
	switch x := n.Node.(type) {
	case *pg_query.Node_RangeVar:
		sc.items = append(sc.items, a.rangeVar(x.RangeVar, sc, "select"))
	case *pg_query.Node_RangeSubselect:
		in := sc
		if !x.RangeSubselect.Lateral {
			// Without LATERAL a subquery in FROM sees none of the items
			// beside it (nor an UPDATE's or MERGE's target): a name it
			// does not define resolves in the enclosing query levels, as
			// PostgreSQL resolves it. Seeing them, a sibling (SELECT 'n'
			// AS email) d would stop the search where the server goes on
			// to the outer query's masked email.
			in = &scope{parent: sc.parent, ctes: sc.ctes}
		}
		names, outs := a.queryOut(x.RangeSubselect.Subquery, in, false)
		rel := relationOf(names, outs)
		name := ""
		if al := x.RangeSubselect.Alias; al != nil {
			name = al.Aliasname
			rel = rel.rename(stringList(al.Colnames))
		}
		sc.items = append(sc.items, &item{name: name, rel: rel, aliased: true})
	case *pg_query.Node_RangeFunction:
		var acc linAcc
		name := ""
		for _, fn := range x.RangeFunction.Functions {
			parts := fn.GetList().GetItems()
			if len(parts) == 0 {
				continue
			}
			// How many rows a function in FROM returns depends on its
			// arguments: they are filter columns.
			a.expr(parts[0], sc, true, &acc)
			if name == "" {
				name = figureName(parts[0])
			}
		}
		if al := x.RangeFunction.Alias; al != nil {
			name = al.Aliasname
		}
		sc.items = append(sc.items, &item{name: name, rel: openRelation(acc.lineage()), aliased: true})
	case *pg_query.Node_JoinExpr:
		j := x.JoinExpr
		before := len(sc.items)
		a.fromItem(j.Larg, sc)
		mid := len(sc.items)
		a.fromItem(j.Rarg, sc)
		members := append([]*item(nil), sc.items[before:]...)
		var discard linAcc
		// ON sees the join's own members and the enclosing query levels,
		// not the FROM items beside the join: in FROM (SELECT 'n' AS
		// email) d, b JOIN l ON email LIKE 'k%' PostgreSQL reads an outer
		// query's email.
		a.expr(j.Quals, &scope{parent: sc.parent, ctes: sc.ctes, items: members}, true, &discard)
		if len(j.UsingClause) > 0 || j.IsNatural {
			a.operators["="] = true // the join compares with =
			left := &scope{items: sc.items[before:mid]}
			right := &scope{items: sc.items[mid:]}
			for _, name := range stringList(j.UsingClause) {
				a.filter(left.resolveBare(name).Sources)
				a.filter(right.resolveBare(name).Sources)
			}
			if j.IsNatural {
				// NATURAL joins on every common column: without the catalog,
				// every column of both sides may be compared.
				for _, it := range members {
					a.filter(it.star().Sources)
				}
			}
		}
		if j.Alias != nil {
			ls := make([]Lineage, 0, len(members))
			for _, it := range members {
				ls = append(ls, it.star())
			}
			sc.items = append(sc.items, &item{name: j.Alias.Aliasname, rel: openRelation(union(ls)), aliased: true})
		}
	case *pg_query.Node_RangeTableSample:
		a.fromItem(x.RangeTableSample.Relation, sc)
		// The sampling arguments and the REPEATABLE seed decide which rows
		// come back: filters (a subquery may compute them). So does where
		// each row is stored (SYSTEM samples pages, BERNOULLI row
		// positions), which depends on the size of every stored value: a
		// filter on the whole relation.
		if rv := x.RangeTableSample.Relation.GetRangeVar(); rv != nil {
			a.filterLineage(Lineage{Sources: []string{a.relName(rv) + ".*"}})
		}
		var discard linAcc
		for _, arg := range x.RangeTableSample.Args {
			a.expr(arg, sc, true, &discard)
		}
		a.expr(x.RangeTableSample.Repeatable, sc, true, &discard)
	default:
		// XMLTABLE, JSON_TABLE and anything newer: a derived item whose
		// columns carry whatever its expressions read, and whose rows
		// depend on them (filter columns).
		var acc linAcc
		a.generic(n.ProtoReflect(), sc, true, &acc)
		name := ""
		if al := aliasOf(n); al != nil {
			name = al.Aliasname
		}
		sc.items = append(sc.items, &item{name: name, rel: openRelation(acc.lineage()), aliased: true})
	}
}

func aliasOf(n *pg_query.Node) *pg_query.Alias {
	switch x := n.Node.(type) {
	case *pg_query.Node_RangeTableFunc:
		return x.RangeTableFunc.Alias
	case *pg_query.Node_JsonTable:
		return x.JsonTable.Alias
	}
	return nil
}

// rangeVar makes the item of a named relation: a CTE when an unqualified
// name matches one in scope, else a table that needs class access.
func (a *analyzer) rangeVar(rv *pg_query.RangeVar, sc *scope, class string) *item {
	name := rv.Relname
	aliased := false
	if rv.Alias != nil {
		name, aliased = rv.Alias.Aliasname, true
	}
	if rv.Schemaname == "" && rv.Catalogname == "" && class == "select" {
		if c := sc.lookupCTE(rv.Relname); c != nil {
			rel := c.rel
			if rv.Alias != nil {
				rel = rel.rename(stringList(rv.Alias.Colnames))
			}
			return &item{name: name, rel: rel, aliased: true}
		}
	}
	t := a.relName(rv)
	if class != "" {
		a.access(class, t)
	}
	it := &item{name: name, table: t, aliased: aliased}
	if rv.Alias != nil && len(rv.Alias.Colnames) > 0 {
		it.colAliased = true
	}
	return it
}
