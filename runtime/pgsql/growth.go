package pgsql

import (
	"strings"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Output-size amplification. A value of PostgreSQL is at most 1 GB (a
// jsonb 256 MB), and a statement that builds a larger one fails (54000).
// Total functions whose output is longer than their input compose: a
// quote_literal nested 28 times over the first character of ssn, made a
// quote by translate when it is 3, is 805 MB when the first character is
// 3 and 537 MB when not, and
// concatenated with 300 MB of itself, or with repeat('x', 300000000), it
// fails in the first case only; replace(ssn, '3', <a long literal>) ||
// repeat('y', N) fails as the value holds more or fewer 3s, and
// concat(ssn, repeat('y', N)) as it is longer or shorter. An error is one
// bit on the masked value (fallible.go).
//
// So an expression is total only when its output is at most maxGrowth
// times U, U being the larger of growthUnit and the longest value it reads
// (column values, whole rows): growth computes a bound on that factor over
// the expression's tree (saturating), and an expression past it is no
// total expression, a filter on what it reads. Reaching 1 GB then takes a
// stored value of at least 1 GB / maxGrowth (256 kB; 64 kB for jsonb's
// 256 MB): the large values, open.
//
// The factors: a string literal of n bytes is ceil(n / growthUnit) units,
// a parameter maxParamUnits (a client message is at most 1 MB under the
// proxy's default MaxMessageSize); repeat, lpad and rpad their literal
// count (unbounded when it is no literal; lpad and rpad are absolute, 4
// bytes a character of their length), generate_series and
// generate_subscripts the span of their integer literals, array_fill
// unbounded; replace the ratio of its literal replacement to its literal
// pattern (unbounded when either is no literal), regexp_replace twice its
// literal replacement plus two (each empty match inserts it, each
// backreference copies the match), translate the longest character of its
// literal replacement in bytes (4 when no literal); upper, lower and
// initcap 3 (full case mapping: 'ΐ' is 2 bytes, 'Ϊ́' 6); quote_literal,
// quote_nullable and quote_ident 5 (E'\\' is 5 bytes); format 40 an
// argument (8, times 5 for %L), unbounded with a width or when the format
// is no literal; encode 4; regexp_match 8 a parenthesis of its literal
// pattern, plus 8 (each group captures up to the whole value: '((.*))');
// everything else that prints a value (casts,
// the JSON and XML builders, concat, ||, functions not named here) 8 an
// argument (to_json(E'\x01') is 8 bytes); ROW and ARRAY one an element.
// Functions of a bounded result (length, md5, count, strpos, ...) are 1
// whatever they read (their arguments are checked as expressions of
// their own). A node takes its factor times the largest of its
// children's.
//
// Not modelled (docs/sql.md, open): the number of rows an aggregate
// (string_agg, array_agg, json_agg) or ARRAY(subquery) joins, which generate_series or a
// cross join in FROM multiplies; values composed through derived tables
// and CTEs (each column of one counts as 1); several output columns,
// whose row together passes 1 GB; a value the typed reads (typed.go) pass
// on, whose parts are checked one by one.
const (
	maxGrowth      = 1 << 12
	growthUnit     = 1 << 10
	maxParamUnits  = MaxQueryBytes / growthUnit
	growthOver     = maxGrowth + 1
	maxGrowthNodes = 1 << 14 // nodes one growth walk visits; more is over the bound
)

// boundedOutput are the functions whose result has a bounded size,
// whatever their arguments.
var boundedOutput = setOf(`length char_length character_length octet_length bit_length md5 count
	sum avg strpos position starts_with to_hex cardinality array_length jsonb_typeof pg_typeof
	pg_column_size bool_and bool_or every ascii regexp_count regexp_like regexp_instr
	num_nonnulls num_nulls`)

// keepsSize are the functions whose result is no longer than their first
// argument (or one of their arguments).
var keepsSize = setOf(`left right reverse btrim ltrim rtrim substr substring split_part
	min max first_value last_value lag lead regexp_substr`)

// printers are the node kinds that print their arguments (escapes).
func printerNode(n *pg_query.Node) (int, bool) {
	switch x := n.Node.(type) {
	case *pg_query.Node_XmlExpr:
		return len(x.XmlExpr.Args) + len(x.XmlExpr.NamedArgs), true
	case *pg_query.Node_JsonObjectConstructor:
		return len(x.JsonObjectConstructor.Exprs), true
	case *pg_query.Node_JsonArrayConstructor:
		return len(x.JsonArrayConstructor.Exprs), true
	case *pg_query.Node_JsonArrayQueryConstructor, *pg_query.Node_JsonObjectAgg,
		*pg_query.Node_JsonArrayAgg, *pg_query.Node_JsonScalarExpr, *pg_query.Node_JsonSerializeExpr:
		return 1, true
	}
	return 0, false
}

// sizeBounded reports whether n's output is within maxGrowth (see above).
// Only value expressions are checked: structure (a target, a list, a
// subquery) is checked through the expressions it holds.
func (a *analyzer) sizeBounded(n *pg_query.Node) bool {
	switch n.Node.(type) {
	case *pg_query.Node_FuncCall, *pg_query.Node_AExpr, *pg_query.Node_TypeCast,
		*pg_query.Node_CaseExpr, *pg_query.Node_CoalesceExpr, *pg_query.Node_AArrayExpr,
		*pg_query.Node_RowExpr, *pg_query.Node_AIndirection, *pg_query.Node_CollateClause:
	default:
		return true
	}
	w := growthWalk{a: a}
	return w.msg(n.ProtoReflect()) <= maxGrowth
}

type growthWalk struct {
	a     *analyzer
	nodes int
}

// mulGrowth multiplies saturating at growthOver.
func mulGrowth(x, y uint64) uint64 {
	if x == 0 || y == 0 {
		return 0
	}
	if x >= growthOver || y >= growthOver || x*y >= growthOver {
		return growthOver
	}
	return x * y
}

// children returns the largest growth of m's children (at least 1).
func (w *growthWalk) children(m protoreflect.Message) uint64 {
	g := uint64(1)
	children(m, func(c protoreflect.Message) bool {
		if cg := w.msg(c); cg > g {
			g = cg
		}
		return g < growthOver
	})
	return g
}

func (w *growthWalk) msg(m protoreflect.Message) uint64 {
	if w.nodes++; w.nodes > maxGrowthNodes {
		return growthOver // fail closed
	}
	n, ok := m.Interface().(*pg_query.Node)
	if !ok || n.Node == nil {
		return w.children(m)
	}
	switch x := n.Node.(type) {
	case *pg_query.Node_AConst:
		return w.constUnits(x.AConst)
	case *pg_query.Node_ParamRef:
		return maxParamUnits
	case *pg_query.Node_FuncCall:
		return w.call(x.FuncCall, m)
	case *pg_query.Node_AExpr:
		if isConcat(x.AExpr) {
			return mulGrowth(16, w.children(m))
		}
	case *pg_query.Node_TypeCast:
		return mulGrowth(8, w.children(m))
	case *pg_query.Node_AArrayExpr:
		return mulGrowth(uint64(max(1, len(x.AArrayExpr.Elements))), w.children(m))
	case *pg_query.Node_RowExpr:
		return mulGrowth(uint64(max(1, len(x.RowExpr.Args))), w.children(m))
	}
	if k, ok := printerNode(n); ok {
		return mulGrowth(8*uint64(max(1, k)), w.children(m))
	}
	return w.children(m)
}

// constUnits: a string, number or bit string literal of n bytes is
// ceil(n / growthUnit) units. Only a literal of a unit or more makes the
// answer differ from a shorter one's.
func (w *growthWalk) constUnits(c *pg_query.A_Const) uint64 {
	n := 0
	switch v := c.Val.(type) {
	case *pg_query.A_Const_Sval:
		n = len(v.Sval.GetSval())
	case *pg_query.A_Const_Fval:
		n = len(v.Fval.GetFval())
	case *pg_query.A_Const_Bsval:
		n = len(v.Bsval.GetBsval())
	}
	if n >= growthUnit {
		// Texts this long are not cached by shape (Analyzer.Analyze), and
		// shorter literals are all one unit.
		w.a.literal = true
	}
	return uint64(max(1, (n+growthUnit-1)/growthUnit))
}

// call is the growth of a function call (see above).
func (w *growthWalk) call(f *pg_query.FuncCall, m protoreflect.Message) uint64 {
	name, _ := classifyFunction(f.Funcname)
	bare := bareName(name)
	args := f.Args
	if boundedOutput[bare] {
		return 1
	}
	if keepsSize[bare] {
		return w.children(m)
	}
	if bare == "lpad" || bare == "rpad" {
		// n characters of at most 4 bytes, whatever the arguments.
		w.a.literal = true
		if n, ok := intLiteral(args, 1); ok {
			return uint64(max(1, (4*int64(n)+growthUnit-1)/growthUnit))
		}
		return growthOver
	}
	factor, known := w.callFactor(bare, args)
	if !known {
		factor = 8 * uint64(max(1, len(args)))
	}
	if factor >= growthOver {
		return growthOver
	}
	return mulGrowth(factor, w.children(m))
}

// callFactor is the factor of the functions the list above names.
func (w *growthWalk) callFactor(bare string, args []*pg_query.Node) (uint64, bool) {
	switch bare {
	case "repeat", "generate_series", "generate_subscripts", "replace", "regexp_replace", "translate", "regexp_match", "format":
		w.a.literal = true // their factors read literals: not cached by shape
	}
	switch bare {
	case "repeat":
		if n, ok := intLiteral(args, 1); ok {
			return uint64(max(1, n)), true
		}
		return growthOver, true
	case "generate_series", "generate_subscripts":
		lo, ok1 := intLiteral(args, 0)
		hi, ok2 := intLiteral(args, 1)
		if bare == "generate_series" && ok1 && ok2 && len(args) == 2 {
			return uint64(max(1, int64(hi)-int64(lo)+1)), true
		}
		return growthOver, true
	case "array_fill":
		return growthOver, true
	case "replace":
		p, ok1 := stringLiteral(args, 1)
		r, ok2 := stringLiteral(args, 2)
		if !ok1 || !ok2 {
			return growthOver, true
		}
		return uint64(max(1, (len(r)+max(1, len(p))-1)/max(1, len(p)))), true
	case "regexp_replace":
		if r, ok := stringLiteral(args, 2); ok {
			return 2*uint64(len(r)) + 2, true
		}
		return growthOver, true
	case "translate":
		to, ok := stringLiteral(args, 2)
		if !ok {
			return 4, true
		}
		longest := 1
		for _, r := range to {
			longest = max(longest, utf8.RuneLen(r))
		}
		return uint64(longest), true
	case "upper", "lower", "initcap":
		return 3, true
	case "quote_literal", "quote_nullable", "quote_ident":
		return 5, true
	case "encode":
		return 4, true
	case "regexp_match":
		if p, ok := stringLiteral(args, 1); ok {
			return 8 * uint64(strings.Count(p, "(")+1), true
		}
		return growthOver, true
	case "format":
		s, ok := stringLiteral(args, 0)
		if !ok {
			return growthOver, true
		}
		if _, plain := plainFormat(s); plain {
			return 8 * 5 * uint64(max(1, len(args))), true
		}
		return growthOver, true
	}
	return 0, false
}
