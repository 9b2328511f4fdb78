package pgsql

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// expr walks an expression: it resolves column references into acc (and
// into the filter columns when filter is set), records called functions,
// and analyzes subqueries. Node types without a case here are walked
// generically through protobuf reflection, so nothing the grammar adds is
// skipped.
func (a *analyzer) expr(n *pg_query.Node, sc *scope, filter bool, acc *linAcc) {
	if n == nil || n.Node == nil {
		return
	}
	if !a.enter() {
		return
	}
	defer a.leave()
	if !filter && a.checksFailures() && !a.nodeTotal(n) && !a.typedTotal(n, sc) {
		// An expression that may fail: whether the statement fails (and
		// its SQLSTATE) depends on what it reads (fallible.go).
		filter = true
	}
	switch x := n.Node.(type) {
	case *pg_query.Node_AConst, *pg_query.Node_ParamRef, *pg_query.Node_SqlvalueFunction,
		*pg_query.Node_String_, *pg_query.Node_Integer, *pg_query.Node_Float,
		*pg_query.Node_Boolean, *pg_query.Node_BitString, *pg_query.Node_SetToDefault:
	case *pg_query.Node_ColumnRef:
		a.columnRef(x.ColumnRef, sc, filter, acc)
	case *pg_query.Node_AExpr:
		switch x.AExpr.Kind {
		case pg_query.A_Expr_Kind_AEXPR_BETWEEN, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN,
			pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
			// Named BETWEEN in the tree; PostgreSQL compares with these.
			for _, op := range []string{"<=", ">=", "<", ">"} {
				a.operators[op] = true
			}
		default:
			a.operator(x.AExpr.Name)
		}
		// A lazily evaluated comparison decides whether its subqueries
		// run (see conditional.go).
		lazy := filter || lazyAExpr(x.AExpr)
		a.expr(x.AExpr.Lexpr, sc, lazy, acc)
		a.expr(x.AExpr.Rexpr, sc, lazy, acc)
	case *pg_query.Node_CaseExpr:
		a.caseExpr(x.CaseExpr, sc, filter, acc)
	case *pg_query.Node_CoalesceExpr:
		a.coalesceExpr(x.CoalesceExpr, sc, filter, acc)
	case *pg_query.Node_BoolExpr:
		// AND and OR stop at the first deciding argument: with a
		// subquery or an expression that may fail among them, each
		// decides whether the others run.
		lazy := filter || len(x.BoolExpr.Args) > 1 && a.anyEffectful(x.BoolExpr.Args...)
		for _, arg := range x.BoolExpr.Args {
			a.expr(arg, sc, lazy, acc)
		}
	case *pg_query.Node_TypeCast:
		a.expr(x.TypeCast.Arg, sc, filter, acc)
	case *pg_query.Node_List:
		for _, it := range x.List.Items {
			a.expr(it, sc, filter, acc)
		}
	case *pg_query.Node_FuncCall:
		a.funcCall(x.FuncCall, sc, filter, acc)
	case *pg_query.Node_SubLink:
		a.operator(x.SubLink.OperName)
		if x.SubLink.SubLinkType == pg_query.SubLinkType_ANY_SUBLINK && len(x.SubLink.OperName) == 0 {
			a.operators["="] = true // IN (subquery)
		}
		// An ANY or ALL subquery compared row by row stops at the first
		// row that decides: the compared value decides how far it runs.
		rowwise := x.SubLink.SubLinkType == pg_query.SubLinkType_ANY_SUBLINK ||
			x.SubLink.SubLinkType == pg_query.SubLinkType_ALL_SUBLINK ||
			x.SubLink.SubLinkType == pg_query.SubLinkType_ROWCOMPARE_SUBLINK
		a.expr(x.SubLink.Testexpr, sc, filter || rowwise, acc)
		outs := a.query(x.SubLink.Subselect, sc, filter)
		if x.SubLink.SubLinkType != pg_query.SubLinkType_EXISTS_SUBLINK {
			for _, o := range outs {
				acc.addLineage(o)
			}
		}
	case *pg_query.Node_SortBy:
		a.operator(x.SortBy.UseOp)
		a.expr(x.SortBy.Node, sc, filter, acc)
	case *pg_query.Node_ResTarget:
		a.expr(x.ResTarget.Val, sc, filter, acc)
	case *pg_query.Node_WindowDef:
		a.windowDef(x.WindowDef, sc, acc)
	case *pg_query.Node_AIndirection:
		// (q).f is field notation too.
		for _, ind := range x.AIndirection.Indirection {
			if f := ind.GetString_(); f != nil {
				a.builtins[f.Sval] = true
			}
		}
		a.generic(n.ProtoReflect(), sc, filter, acc)
	case *pg_query.Node_RangeVar:
		// Not expected inside an expression; count it as read (fail closed).
		a.looseAccess(x.RangeVar)
	case *pg_query.Node_SelectStmt, *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt,
		*pg_query.Node_DeleteStmt, *pg_query.Node_MergeStmt:
		for _, o := range a.query(n, sc, filter) {
			acc.addLineage(o)
		}
	default:
		a.generic(n.ProtoReflect(), sc, filter, acc)
	}
}

// generic visits every message-valued field of m.
func (a *analyzer) generic(m protoreflect.Message, sc *scope, filter bool, acc *linAcc) {
	children(m, func(c protoreflect.Message) bool {
		a.genericMsg(c, sc, filter, acc)
		return true
	})
}

func (a *analyzer) genericMsg(m protoreflect.Message, sc *scope, filter bool, acc *linAcc) {
	switch x := m.Interface().(type) {
	case *pg_query.Node:
		a.expr(x, sc, filter, acc)
	case *pg_query.FuncCall:
		a.funcCall(x, sc, filter, acc)
	case *pg_query.WindowDef:
		a.windowDef(x, sc, acc)
	case *pg_query.RangeVar:
		a.looseAccess(x)
	case *pg_query.SelectStmt:
		_, outs := a.selectStmt(x, sc, filter)
		for _, o := range outs {
			acc.addLineage(o)
		}
	case *pg_query.TypeName, *pg_query.Alias:
	default:
		if !a.enter() {
			return
		}
		a.generic(m, sc, filter, acc)
		a.leave()
	}
}

// columnRef resolves one column reference.
func (a *analyzer) columnRef(c *pg_query.ColumnRef, sc *scope, filter bool, acc *linAcc) {
	parts := refParts(c)
	l := sc.resolve(parts)
	if n := len(parts); n >= 2 && parts[n-1] != "*" {
		// q.f is f(q) when q has no column f, whatever function f the
		// search path finds: the proxy checks the name as it checks a
		// built-in called without a schema.
		a.builtins[parts[n-1]] = true
	}
	if n := len(parts); n >= 2 && rowFunctions[parts[n-1]] {
		// q.f names no column when f is a function: PostgreSQL then calls
		// f(q) with the whole row (c.to_json is to_json(c)).
		if it := sc.findItem(parts[:n-1]); it != nil {
			star := it.star()
			l = union([]Lineage{l, star})
			if !safeFunctions[parts[n-1]] {
				a.function(parts[n-1])
				l.Unknown = true
			} else {
				a.builtins[parts[n-1]] = true
			}
			if a.checksFailures() && !totalOfRow(parts[n-1]) {
				// f(q) may fail on some values of the row, as
				// the same call written f(q) (fallible.go).
				a.filterLineage(star)
			}
		}
	}
	a.read(l)
	acc.addLineage(l)
	acc.direct = l.Direct
	if filter {
		a.filterLineage(l)
	}
}

// funcCall records a function outside the safe set and walks the call. The
// ordering and filtering parts of aggregates and windows are filters.
func (a *analyzer) funcCall(f *pg_query.FuncCall, sc *scope, filter bool, acc *linAcc) {
	name, safe := classifyFunction(f.Funcname)
	if name == "pg_catalog.system_user" && f.Funcformat == pg_query.CoercionForm_COERCE_SQL_SYNTAX && len(f.Args) == 0 {
		// SYSTEM_USER is a keyword from PostgreSQL 16; before, the same
		// text is a column named system_user, which a table in scope may
		// have.
		if l := sc.resolveBare("system_user"); !l.Unknown {
			acc.addLineage(l)
			if filter {
				a.filterLineage(l)
			}
		}
	}
	if !safe {
		a.function(name)
		acc.unknown = true
	} else if len(f.Funcname) == 1 {
		a.builtins[name] = true
	}
	a.sideEffects(name, f.Args)
	// A set-returning function decides how many rows come back from its
	// arguments, and a function outside the safe set may return a set:
	// their arguments are filter columns.
	args := filter || !safe || setReturning[bareName(name)]
	for _, arg := range f.Args {
		a.expr(arg, sc, args, acc)
	}
	for _, o := range f.AggOrder {
		a.expr(o, sc, true, acc)
	}
	a.expr(f.AggFilter, sc, true, acc)
	if f.Over != nil {
		a.windowDef(f.Over, sc, acc)
	}
}

// windowDef walks a window: its partitioning and ordering are filters.
func (a *analyzer) windowDef(w *pg_query.WindowDef, sc *scope, acc *linAcc) {
	for _, p := range w.PartitionClause {
		a.expr(p, sc, true, acc)
	}
	for _, o := range w.OrderClause {
		a.expr(o, sc, true, acc)
	}
	a.expr(w.StartOffset, sc, true, acc)
	a.expr(w.EndOffset, sc, true, acc)
}

// exprLineage is the lineage of one output expression.
func (a *analyzer) exprLineage(n *pg_query.Node, sc *scope, filter bool) Lineage {
	var acc linAcc
	a.expr(n, sc, filter, &acc)
	l := acc.lineage()
	if n.GetColumnRef() != nil {
		// A plain reference keeps the resolved lineage's directness.
		l.Direct = acc.direct
	}
	return l
}

func refParts(c *pg_query.ColumnRef) []string {
	parts := make([]string, 0, len(c.Fields))
	for _, f := range c.Fields {
		switch {
		case f.GetString_() != nil:
			parts = append(parts, f.GetString_().Sval)
		case f.GetAStar() != nil:
			parts = append(parts, "*")
		}
	}
	return parts
}
