package pgsql

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Whether a statement fails is observable even when every value it
// returns is masked, and so is the SQLSTATE: SELECT 1/(ascii(ssn) - 57)
// FROM t WHERE id = 1 fails with 22012 exactly when the first digit is 9,
// ssn::int with 22P02 unless the value is a number, (salary - 50000)::int2
// with 22003 past a bound, and SELECT CASE WHEN ssn LIKE '9%' THEN
// 1/(id - id) END turns any condition into an error. A binary search reads a value in a
// few dozen statements. So, under column masking, a value may reach the
// output only through expressions that cannot fail and cannot decide
// whether something that can fail runs:
//
//   - a column read (transitively) under an expression that is not total
//     (nodeTotal) is read in a filter position: a masked column there is
//     denied unless its rule sets allow_filter;
//   - what decides whether an expression that may fail runs (the
//     conditions and operand of a CASE, the arguments of COALESCE before
//     it, the arguments of AND and OR beside it) is a filter, as it is for
//     a subquery (conditional.go).
//
// The total expressions are a short allow-list, each cheap and unable to
// fail whatever the values of its arguments (the analyzer does not know
// their types, so whatever type a column may have):
//
//   - column references, whole-row references and field selection
//     ((c).ssn, (c).*), constants and parameters;
//   - explicit casts to text, varchar(n), char(n) and name (an explicit
//     cast to a length truncates without error; every type's output
//     function is total), and COLLATE naming a collation of pg_catalog
//     (builtinCollation: another may be nondeterministic, under which
//     replace and split_part fail on a non-empty value only);
//   - IS [NOT] NULL, IS [NOT] TRUE/FALSE/UNKNOWN, NOT, AND, OR, ROW(...);
//   - upper, lower, length, char_length, character_length, octet_length
//     and md5 of one argument, concat and concat_ws, pg_typeof (which
//     reads only the argument's type), and the aggregates count, min and
//     max (built-in comparisons do not fail) and bool_and, bool_or and
//     every (nothing converts to boolean implicitly: an argument of
//     another type fails before any row is read); trunc of one argument
//     or with an integer literal scale (of float8 or numeric, which PostgreSQL
//     clamps the scale for; of a MAC address), and round of one argument or
//     with a literal scale of at least zero: round(avg(salary), 2). A
//     round that carries a numeric past its 131072 digits fails (round of
//     131072 nines and .5): open, one bit on whether a masked value is
//     that large; sum and avg of a call of intFunctions (an integer);
//   - the string functions that fail on no value: left, right, reverse,
//     initcap, btrim, ltrim, rtrim, replace, translate, quote_literal,
//     quote_nullable, pg_column_size, starts_with, to_hex, and string_agg;
//     array_to_string, cardinality and array_length; the JSON functions
//     that only print their arguments (to_json, row_to_json,
//     array_to_json, json_agg, json_build_array; not the jsonb ones,
//     which parse a json value and fail on a \u0000 escape in it, nor
//     json_build_object but with constant keys, below), and jsonb_typeof
//     (of jsonb only: nothing converts to it implicitly). Not bit_length,
//     octet_length times 8, which overflows past 256 MB, nor jsonb_pretty,
//     whose indentation grows with the depth: a 30 kB jsonb of depth 5000
//     prints past 1 GB and fails. The window functions
//     first_value, last_value, lag and lead (their frame and ordering are
//     filters, windowDef);
//   - the string functions whose failures depend on their other
//     arguments, when those are literals that do not fail: substr and
//     substring with integer literals for the start and a length of at
//     least zero (substring(x, 'pattern') is a regular expression),
//     lpad and rpad with an integer literal length of at most maxPad,
//     split_part with a field number literal other than zero, encode
//     with the literal format hex, base64 or escape, and format with a
//     literal format string of %s, %L and %% only (%I fails on a null, a
//     width on a bad one) and an argument for each %s and %L, strpos and
//     position with a one-byte literal needle (oneByteNeedle),
//     json_build_object with keys that are constants other than NULL, in
//     pairs, and the regular expressions of regexlit.go. A call that
//     fails on every row is no safer than one that fails on some: a CASE
//     or COALESCE around it decides whether it runs, on a masked value;
//   - x || y when one side is a string literal that is not an array
//     literal (an array on the other side would make it an array literal
//     and fail on every row, not on some), or when both sides are known
//     not to be arrays (text || text); concatenating arrays fails on
//     mismatched dimensions, and appending to a multidimensional array
//     fails too;
//   - CASE, COALESCE, and lag and lead with a default, whose values need
//     no conversion that can fail: at most one of them is not a literal
//     or a text-typed expression (coalesce(d, now()) converts a date to a
//     timestamp, which fails past the timestamp range; lag(n, 1, f) a
//     numeric to float8); ARRAY[...] whose elements are all known not to
//     be arrays (ARRAY[a, b] of two arrays fails on mismatched
//     dimensions, ARRAY[a] of a six-dimensional one on the limit).
//
// Each of these is total only while its output stays within a bounded
// multiple of what it reads (growth.go): composed, total functions that
// lengthen their input pass the 1 GB limit of a value by an amount that
// depends on the masked content.
//
// Some expressions cannot fail on some types and may on others: sum, avg
// and bit_and/or/xor of an integer column, array_agg, concatenation, the
// jsonb builders and operators, extract and date_trunc. The analyzer
// records them as typed reads and the proxy asks the catalog for the
// column's type (typed.go, typedbuiltin.go).
//
// Everything else may fail: operators (arithmetic overflows and divides by
// zero, LIKE fails on a pattern ending in its escape character only when
// the text matches up to it, a regular expression may run for long),
// casts to other types, subscripts, every other function (substr with a
// negative length, to_date, repeat's size, format's width, the JSON
// builders' null keys), GREATEST, LEAST, NULLIF, comparisons. Unmasked
// columns are not concerned (a filter on them is allowed), and a rule with
// allow_filter permits every computation over its column.
//
// DDL is walked without the rule: its expressions (a CHECK, a DEFAULT, an
// index expression) read only the relation being changed, which the
// gateway does not let a grant under masking change when it holds masked
// columns, and they cannot hold subqueries.

// totalFunctions are the built-in functions that cannot fail, with the
// numbers of arguments for which they cannot (-1: any).
// More arguments than a function takes is an error on every row, not on
// some, so -1 also stands for "one or two".
var totalFunctions = map[string]int{
	"upper": 1, "lower": 1, "length": 1, "char_length": 1, "character_length": 1,
	"octet_length": 1, "md5": 1, "concat": -1, "concat_ws": -1,
	"count": 1, "min": 1, "max": 1, "pg_typeof": 1,
	"left": 2, "right": 2, "reverse": 1, "initcap": 1, "btrim": -1, "ltrim": -1, "rtrim": -1,
	"replace": 3, "translate": 3, "quote_literal": 1, "quote_nullable": 1, "pg_column_size": 1,
	"string_agg": 2, "to_json": 1, "row_to_json": -1, "array_to_json": -1, "json_agg": 1,
	"json_build_array": -1, "first_value": 1, "last_value": 1, "lag": -1, "lead": -1,
	"bool_and": 1, "bool_or": 1, "every": 1,
	"to_hex": 1, "array_to_string": -1, "cardinality": 1, "array_length": 2,
	"jsonb_typeof": 1, "starts_with": 2,
}

// literalTotal are the functions that cannot fail when their arguments
// after the first are literals the check accepts (see the list above).
var literalTotal = map[string]func(args []*pg_query.Node) bool{
	"substr": substrTotal,
	"substring": func(args []*pg_query.Node) bool {
		if p, ok := stringLiteral(args, 1); ok {
			return len(args) == 2 && regexPattern(p)
		}
		return substrTotal(args)
	},
	"lpad": padTotal,
	"rpad": padTotal,
	"split_part": func(args []*pg_query.Node) bool {
		n, ok := intLiteral(args, 2)
		return len(args) == 3 && ok && n != 0
	},
	"encode": func(args []*pg_query.Node) bool {
		f, ok := stringLiteral(args, 1)
		return len(args) == 2 && ok && (f == "hex" || f == "base64" || f == "escape")
	},
	"round": func(args []*pg_query.Node) bool {
		n, ok := intLiteral(args, 1)
		return len(args) == 1 || len(args) == 2 && ok && n >= 0
	},
	"trunc": func(args []*pg_query.Node) bool {
		_, ok := intLiteral(args, 1)
		return len(args) == 1 || len(args) == 2 && ok
	},
	"format": func(args []*pg_query.Node) bool {
		f, ok := stringLiteral(args, 0)
		n, plain := plainFormat(f)
		return ok && plain && n < len(args)
	},
	"strpos":   oneByteNeedle,
	"position": oneByteNeedle,
	"json_build_object": func(args []*pg_query.Node) bool {
		if len(args)%2 != 0 {
			return false
		}
		for i := 0; i < len(args); i += 2 {
			if c := args[i].GetAConst(); c == nil || c.Isnull {
				return false
			}
		}
		return true
	},
	"regexp_replace": func(args []*pg_query.Node) bool { return regexCall("regexp_replace", args) },
	"regexp_match":   func(args []*pg_query.Node) bool { return regexCall("regexp_match", args) },
	"regexp_like":    func(args []*pg_query.Node) bool { return regexCall("regexp_like", args) },
	"regexp_count":   func(args []*pg_query.Node) bool { return regexCall("regexp_count", args) },
	"regexp_substr":  func(args []*pg_query.Node) bool { return regexCall("regexp_substr", args) },
	"regexp_instr":   func(args []*pg_query.Node) bool { return regexCall("regexp_instr", args) },
}

// oneByteNeedle: strpos(x, needle) and position(needle IN x) with a
// literal needle of one byte. Under a nondeterministic collation they
// fail ("not supported for substring searches") when x is at least as
// long as the needle, as replace and split_part fail on a non-empty
// value: a longer needle would tell whether a value is that long.
func oneByteNeedle(args []*pg_query.Node) bool {
	s, ok := stringLiteral(args, 1)
	return len(args) == 2 && ok && len(s) == 1
}

// substrTotal: substr(x, start) and substr(x, start, length) with integer
// literals, the length at least zero. (substring(x FROM 'pattern') is a
// regular expression: regexlit.go.)
func substrTotal(args []*pg_query.Node) bool {
	if _, ok := intLiteral(args, 1); !ok {
		return false
	}
	switch len(args) {
	case 2:
		return true
	case 3:
		n, ok := intLiteral(args, 2)
		return ok && n >= 0
	}
	return false
}

// maxPad is the longest literal length of a total lpad or rpad. Past
// (1 GB - 4) / 4 characters lpad fails on every value it is given
// ("requested length too large": four bytes a character), but not on a
// NULL, and not when it is not evaluated (a CASE branch, a COALESCE
// fallback); a length short of that bound allocates up to a gigabyte,
// which may fail too. A pad is short.
const maxPad = 1 << 20

// padTotal: lpad(x, length) and lpad(x, length, fill) with an integer
// literal length of at most maxPad.
func padTotal(args []*pg_query.Node) bool {
	n, ok := intLiteral(args, 1)
	return ok && n <= maxPad && (len(args) == 2 || len(args) == 3)
}

// plainFormat reports a format string of %s, %L and %% conversions only,
// and how many arguments its %s and %L take: with fewer arguments format
// fails on every row it is evaluated for ("too few arguments"), so a CASE
// around it would turn its condition into an error.
func plainFormat(f string) (int, bool) {
	n := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		if i++; i == len(f) || f[i] != 's' && f[i] != 'L' && f[i] != '%' {
			return 0, false
		}
		if f[i] != '%' {
			n++
		}
	}
	return n, true
}

// intLiteral returns args[i] when it is an integer constant.
func intLiteral(args []*pg_query.Node, i int) (int32, bool) {
	if i >= len(args) {
		return 0, false
	}
	c := args[i].GetAConst()
	if c == nil || c.Isnull {
		return 0, false
	}
	v, ok := c.Val.(*pg_query.A_Const_Ival)
	if !ok {
		return 0, false
	}
	return v.Ival.GetIval(), true
}

// stringLiteral returns args[i] when it is a string constant.
func stringLiteral(args []*pg_query.Node, i int) (string, bool) {
	if i >= len(args) {
		return "", false
	}
	c := args[i].GetAConst()
	if c == nil || c.Isnull {
		return "", false
	}
	v, ok := c.Val.(*pg_query.A_Const_Sval)
	if !ok {
		return "", false
	}
	return v.Sval.GetSval(), true
}

// textFunctions are the total functions whose result is never an array,
// whatever their arguments (upper and lower of a range return its bound,
// the window functions their argument).
var textFunctions = setOf(`md5 concat concat_ws left right reverse initcap btrim ltrim rtrim
	replace translate quote_literal quote_nullable pg_column_size string_agg to_json row_to_json
	array_to_json json_agg json_build_array substr substring lpad rpad split_part encode format
	to_hex array_to_string cardinality array_length jsonb_typeof starts_with
	strpos position json_build_object regexp_replace regexp_like regexp_count regexp_substr regexp_instr`)

// textTypes are the types an explicit cast to which cannot fail.
var textTypes = setOf(`text varchar bpchar name`)

// checksFailures reports whether the walk applies the rule: not while
// walking DDL (see above).
func (a *analyzer) checksFailures() bool { return a.looseClass != "ddl" }

// nodeTotal reports whether evaluating n itself cannot fail, whatever the
// values of its arguments (which the walk checks on their own), and
// chooses nothing whose evaluation may fail beyond what caseExpr,
// coalesceExpr and the AND/OR walk make filters: a node of a total kind
// whose output stays within the size bound of growth.go (past it, the 1 GB
// limit of a value fails by an amount that depends on what it reads).
func (a *analyzer) nodeTotal(n *pg_query.Node) bool {
	return a.nodeKindTotal(n) && a.sizeBounded(n)
}

// nodeKindTotal reports a node of a kind that cannot fail (above), its
// output size aside. Nodes that only structure a statement (a subquery,
// a target, a list) are total; every node kind not named here may fail
// (fail closed).
func (a *analyzer) nodeKindTotal(n *pg_query.Node) bool {
	switch x := n.Node.(type) {
	case *pg_query.Node_ColumnRef, *pg_query.Node_AConst, *pg_query.Node_ParamRef,
		*pg_query.Node_SqlvalueFunction, *pg_query.Node_String_, *pg_query.Node_Integer,
		*pg_query.Node_Float, *pg_query.Node_Boolean, *pg_query.Node_BitString,
		*pg_query.Node_SetToDefault, *pg_query.Node_AStar:
		return true
	case *pg_query.Node_NullTest, *pg_query.Node_BooleanTest, *pg_query.Node_BoolExpr,
		*pg_query.Node_RowExpr:
		return true
	case *pg_query.Node_CollateClause:
		return builtinCollation(x.CollateClause.Collname)
	case *pg_query.Node_List, *pg_query.Node_ResTarget, *pg_query.Node_CaseWhen,
		*pg_query.Node_NamedArgExpr, *pg_query.Node_MultiAssignRef, *pg_query.Node_SortBy,
		*pg_query.Node_WindowDef, *pg_query.Node_SubLink, *pg_query.Node_RangeVar,
		*pg_query.Node_SelectStmt, *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt,
		*pg_query.Node_DeleteStmt, *pg_query.Node_MergeStmt:
		// Structure: what they hold is checked on its own, and a
		// subquery's running is decided as conditional.go says.
		return true
	case *pg_query.Node_TypeCast:
		return textType(x.TypeCast.TypeName)
	case *pg_query.Node_FuncCall:
		return a.totalCall(x.FuncCall)
	case *pg_query.Node_AExpr:
		return a.totalConcat(x.AExpr)
	case *pg_query.Node_AIndirection:
		// Field selection cannot fail; a subscript may, and so may a
		// function of the row in field notation ((q).f is f(q)).
		for _, ind := range x.AIndirection.Indirection {
			s := ind.GetString_()
			if s == nil && ind.GetAStar() == nil || s != nil && rowFunctions[s.Sval] && !totalOfRow(s.Sval) {
				return false
			}
		}
		return true
	case *pg_query.Node_CaseExpr:
		results := []*pg_query.Node{x.CaseExpr.Defresult}
		for _, w := range x.CaseExpr.Args {
			if cw := w.GetCaseWhen(); cw != nil {
				results = append(results, cw.Result)
			}
		}
		return a.sameType(results, false)
	case *pg_query.Node_CoalesceExpr:
		return a.sameType(x.CoalesceExpr.Args, false)
	case *pg_query.Node_AArrayExpr:
		return a.sameType(x.AArrayExpr.Elements, true)
	}
	return false
}

// textType reports a type an explicit cast to which cannot fail: text,
// varchar(n), char(n) or name, not an array of them. Unqualified names
// resolve to pg_catalog's types, which the server searches first.
func textType(tn *pg_query.TypeName) bool {
	if tn == nil || len(tn.ArrayBounds) > 0 || tn.Setof || tn.PctType {
		return false
	}
	names := stringList(tn.Names)
	if len(names) == 2 && names[0] == "pg_catalog" {
		names = names[1:]
	}
	return len(names) == 1 && textTypes[names[0]]
}

// totalCall reports a call of a total function of the safe set with
// arguments it cannot fail on.
func (a *analyzer) totalCall(f *pg_query.FuncCall) bool {
	name, safe := classifyFunction(f.Funcname)
	if !safe || f.AggWithinGroup || f.FuncVariadic {
		return false
	}
	bare := bareName(name)
	for _, arg := range f.Args {
		if arg.GetNamedArgExpr() != nil {
			return false
		}
	}
	if (bare == "sum" || bare == "avg") && len(f.Args) == 1 && !f.AggStar && intCall(f.Args[0]) {
		// Of an integer, in a bigint or numeric accumulator.
		return true
	}
	if check, ok := literalTotal[bare]; ok {
		a.literal = true // the answer reads the literals: not cached by shape
		return f.Over == nil && !f.AggStar && check(f.Args)
	}
	arity, ok := totalFunctions[bare]
	switch {
	case !ok:
		return false
	case f.AggStar:
		return bare == "count"
	case arity >= 0 && len(f.Args) != arity:
		return false
	case (bare == "lag" || bare == "lead") && len(f.Args) == 3 && !a.sameType([]*pg_query.Node{f.Args[0], f.Args[2]}, false):
		// The value and the default take one type: lag(n, 1, f)
		// converts a numeric to float8, which fails past 1e308.
		return false
	}
	return true
}

// intFunctions are total functions that return integer whatever their
// arguments: their sum and average cannot fail.
var intFunctions = setOf(`char_length character_length octet_length strpos position cardinality
	array_length`)

// intCall reports a plain call of one of intFunctions (whose own
// arguments the walk checks).
func intCall(n *pg_query.Node) bool {
	f := n.GetFuncCall()
	if f == nil || f.Over != nil || f.AggStar || f.FuncVariadic || f.AggDistinct || len(f.AggOrder) > 0 ||
		f.AggFilter != nil || f.AggWithinGroup {
		return false
	}
	name, safe := classifyFunction(f.Funcname)
	return safe && intFunctions[bareName(name)]
}

// builtinCollations are the collations a COLLATE clause may name without
// a schema and stay total: pg_catalog's, which pg_catalog, searched first,
// holds under every server. A collation of another schema may be
// nondeterministic, under which replace, split_part, strpos, position,
// starts_with and the regular expressions fail (replace and split_part
// on a non-empty value only: an oracle on it). pg_catalog's are
// deterministic.
var builtinCollations = setOf(`C POSIX default ucs_basic`)

// builtinCollation reports a collation name of builtinCollations, or any
// of pg_catalog written with its schema.
func builtinCollation(names []*pg_query.Node) bool {
	n := stringList(names)
	return len(n) == 1 && builtinCollations[n[0]] || len(n) == 2 && n[0] == "pg_catalog"
}

// totalOfRow reports a function of the safe set that cannot fail when
// called with one argument, a whole row (field notation: q.f is f(q)).
func totalOfRow(name string) bool {
	arity, ok := totalFunctions[name]
	return ok && (arity == 1 || arity < 0) && safeFunctions[name]
}

// totalConcat reports x || y that cannot fail (see the list above).
func (a *analyzer) totalConcat(e *pg_query.A_Expr) bool {
	if !isConcat(e) {
		return false
	}
	if a.scalarString(e.Lexpr) || a.scalarString(e.Rexpr) {
		return true
	}
	return a.notArray(e.Lexpr) && a.notArray(e.Rexpr)
}

// isConcat reports x || y (the built-in operator, unqualified or of
// pg_catalog).
func isConcat(e *pg_query.A_Expr) bool {
	if e.Kind != pg_query.A_Expr_Kind_AEXPR_OP || e.Lexpr == nil || e.Rexpr == nil || len(e.Name) == 0 {
		return false
	}
	name := stringList(e.Name)
	return name[len(name)-1] == "||" && (len(name) == 1 || len(name) == 2 && name[0] == "pg_catalog")
}

// scalarString reports a string literal that is not an array literal: an
// array literal starts with { or with its dimensions ([1:2]={...}) after
// white space. The answer reads the literal's value: the analysis then
// depends on it, and is not cached by shape.
func (a *analyzer) scalarString(n *pg_query.Node) bool {
	c := n.GetAConst()
	if c == nil || c.Isnull {
		return false
	}
	s, ok := c.Val.(*pg_query.A_Const_Sval)
	if !ok {
		return false
	}
	a.literal = true
	v := strings.TrimLeft(s.Sval.GetSval(), " \t\n\r\v\f")
	return !strings.HasPrefix(v, "{") && !strings.HasPrefix(v, "[")
}

// notArray reports an expression whose value is never an array: a
// non-null constant that is not a string, a string that is not an array
// literal, a cast to a text type, a total concatenation (one whose
// string literal would be an array literal against an array fails on
// every row, before any value is read), or a call that returns text.
func (a *analyzer) notArray(n *pg_query.Node) bool {
	switch x := n.Node.(type) {
	case *pg_query.Node_AConst:
		if x.AConst.Isnull {
			return false
		}
		if _, str := x.AConst.Val.(*pg_query.A_Const_Sval); str {
			return a.scalarString(n)
		}
		return true
	case *pg_query.Node_TypeCast:
		return textType(x.TypeCast.TypeName)
	case *pg_query.Node_AExpr:
		return a.totalConcat(x.AExpr)
	case *pg_query.Node_FuncCall:
		name, _ := classifyFunction(x.FuncCall.Funcname)
		return a.totalCall(x.FuncCall) && textFunctions[bareName(name)]
	case *pg_query.Node_CollateClause:
		return x.CollateClause.Arg != nil && a.notArray(x.CollateClause.Arg)
	}
	return false
}

// sameType reports whether the values of a CASE, a COALESCE, the value
// and default of lag and lead, or an array constructor need no conversion
// that may fail to share one type: at most one of them is an expression
// of unknown type, the others being literals or text-typed. In an array
// constructor every element must be known not to be an array: arrays of
// arrays must have matching dimensions, and ARRAY[x] of one array x fails
// when x has the most dimensions an array may have (six).
func (a *analyzer) sameType(values []*pg_query.Node, array bool) bool {
	typed := 0
	for _, v := range values {
		if v == nil || v.Node == nil {
			continue // CASE without ELSE
		}
		if c := v.GetAConst(); c != nil && !array {
			continue // takes the others' type
		}
		if a.notArray(v) {
			continue
		}
		if array {
			return false
		}
		typed++
	}
	return typed <= 1
}

// effectful reports whether evaluating n may fail or runs a subquery:
// then what decides whether n is evaluated is a filter. Outside the rule
// (DDL), only subqueries count.
func (a *analyzer) effectful(n *pg_query.Node) bool {
	if n == nil || n.Node == nil {
		return false
	}
	if !a.checksFailures() {
		return hasSubLink(n)
	}
	return a.effectIn(n.ProtoReflect(), 0)
}

// anyEffectful reports whether one of ns is effectful.
func (a *analyzer) anyEffectful(ns ...*pg_query.Node) bool {
	for _, n := range ns {
		if a.effectful(n) {
			return true
		}
	}
	return false
}

func (a *analyzer) effectIn(m protoreflect.Message, depth int) bool {
	if depth > maxSubLinkDepth {
		return true // fail closed
	}
	switch x := m.Interface().(type) {
	case *pg_query.SubLink:
		return true
	case *pg_query.Node:
		if x.Node == nil {
			return false
		}
		if !a.nodeTotal(x) {
			return true
		}
	case *pg_query.TypeName:
		return false // its modifiers are constants
	}
	found := false
	children(m, func(c protoreflect.Message) bool {
		found = a.effectIn(c, depth+1)
		return !found
	})
	return found
}
