package pgsql

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Running a subquery is observable even when its value is masked: the
// server's statistics count its scans (pg_stat_xact_user_tables within the
// transaction), EXPLAIN ANALYZE shows its loops or "never executed", and
// it may fail. PostgreSQL evaluates some expressions lazily: a CASE runs
// the branch its conditions choose, COALESCE stops at the first non-null
// argument, AND and OR stop at the first deciding argument (as do BETWEEN,
// an IN list with columns, and row comparisons, which become them), and an
// ANY or ALL subquery compared row by row stops at the first deciding row.
// What decides whether (or how far) a subquery runs is then a filter.

// maxSubLinkDepth bounds hasSubLink's walk; a deeper tree counts as holding
// a subquery (fail closed).
const maxSubLinkDepth = 200

// hasSubLink reports whether the tree under n holds a subquery.
func hasSubLink(n *pg_query.Node) bool {
	if n == nil || n.Node == nil {
		return false
	}
	return subLinkIn(n.ProtoReflect(), 0)
}

func subLinkIn(m protoreflect.Message, depth int) bool {
	if depth > maxSubLinkDepth {
		return true
	}
	if _, ok := m.Interface().(*pg_query.SubLink); ok {
		return true
	}
	found := false
	children(m, func(c protoreflect.Message) bool {
		found = subLinkIn(c, depth+1)
		return !found
	})
	return found
}

// children calls f with every message-valued field of m, list elements
// one by one, in order, until f returns false.
func children(m protoreflect.Message, f func(protoreflect.Message) bool) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil || fd.IsMap() {
			return true
		}
		if !fd.IsList() {
			return f(v.Message())
		}
		l := v.List()
		for i := 0; i < l.Len(); i++ {
			if !f(l.Get(i).Message()) {
				return false
			}
		}
		return true
	})
}

// anySubLink reports whether one of ns holds a subquery.
func anySubLink(ns ...*pg_query.Node) bool {
	for _, n := range ns {
		if hasSubLink(n) {
			return true
		}
	}
	return false
}

// caseExpr walks a CASE: when a branch holds a subquery, the conditions
// (and the CASE operand) that choose it are filters. So they are when a
// branch or a condition may fail (fallible.go), and the operand always
// (it is compared with =, which is not among the total expressions).
func (a *analyzer) caseExpr(c *pg_query.CaseExpr, sc *scope, filter bool, acc *linAcc) {
	if c.Arg != nil {
		a.operators["="] = true // CASE x WHEN y compares with =
	}
	results := []*pg_query.Node{c.Defresult}
	var conds []*pg_query.Node
	for _, w := range c.Args {
		if cw := w.GetCaseWhen(); cw != nil {
			results = append(results, cw.Result)
			conds = append(conds, cw.Expr)
		}
	}
	cond := filter || a.anyEffectful(results...)
	if a.checksFailures() {
		// A later condition runs only when the earlier ones are false.
		cond = cond || c.Arg != nil || a.anyEffectful(conds...)
	}
	a.expr(c.Arg, sc, cond, acc)
	for _, w := range c.Args {
		if cw := w.GetCaseWhen(); cw != nil {
			a.expr(cw.Expr, sc, cond, acc)
			a.expr(cw.Result, sc, filter, acc)
			continue
		}
		a.expr(w, sc, cond, acc)
	}
	a.expr(c.Defresult, sc, filter, acc)
}

// coalesceExpr walks a COALESCE: the arguments before the last one that
// holds a subquery or may fail decide whether it runs.
func (a *analyzer) coalesceExpr(c *pg_query.CoalesceExpr, sc *scope, filter bool, acc *linAcc) {
	last := 0
	for i, arg := range c.Args {
		if i > 0 && a.effectful(arg) {
			last = i
		}
	}
	for i, arg := range c.Args {
		a.expr(arg, sc, filter || i < last, acc)
	}
}

// lazyAExpr reports whether an operator expression is evaluated lazily
// and holds a subquery: BETWEEN (an AND or OR of comparisons), IN with a
// list (an OR of comparisons when the list holds columns) and a
// comparison of rows (column by column, stopping at the first deciding
// one).
func lazyAExpr(e *pg_query.A_Expr) bool {
	switch e.Kind {
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN,
		pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM,
		pg_query.A_Expr_Kind_AEXPR_IN:
	default:
		if e.Lexpr.GetRowExpr() == nil && e.Rexpr.GetRowExpr() == nil {
			return false
		}
	}
	return anySubLink(e.Lexpr, e.Rexpr)
}

// explainAnalyzes reports whether EXPLAIN options run the statement
// (ANALYZE): its plan then shows, node by node, row counts, loops, memory
// and buffers that depend on the values the statement reads. An ANALYZE
// option whose value is not a recognised false counts (fail closed).
func explainAnalyzes(options []*pg_query.Node) (analyze, literal bool) {
	for _, o := range options {
		d := o.GetDefElem()
		if d == nil || !strings.EqualFold(d.Defname, "analyze") {
			continue
		}
		if d.Arg == nil {
			analyze = true
			continue
		}
		literal = true
		if !falseOption(d.Arg) {
			analyze = true
		}
	}
	return analyze, literal
}

// falseOption reports a boolean option value PostgreSQL reads as false.
func falseOption(n *pg_query.Node) bool {
	switch x := n.Node.(type) {
	case *pg_query.Node_Boolean:
		return !x.Boolean.Boolval
	case *pg_query.Node_Integer:
		return x.Integer.Ival == 0
	case *pg_query.Node_String_:
		switch strings.ToLower(x.String_.Sval) {
		case "false", "off":
			return true
		}
	}
	return false
}
