package pgsql

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Calls that only the PostgreSQL 16 and 17 grammars read as syntax.
//
// The parser speaks the PostgreSQL 17 grammar, where JSON_ARRAY(...),
// JSON_OBJECT(...), JSON(...), JSON_SCALAR(...), JSON_SERIALIZE(...),
// JSON_QUERY/JSON_VALUE/JSON_EXISTS(...), JSON_ARRAYAGG(...),
// JSON_OBJECTAGG(...) and MERGE_ACTION() are constructs of their own (and
// the legacy json_object(text[]) a call of pg_catalog.json_object). An
// older server reads the same text as an ordinary call of a function of
// that name, resolved through the search path: a function of the pinned
// schema (public.json_array(text), created by an administrator) runs
// there, code the analysis never saw, with no grant naming it and its
// result taken for the built-in's (SELECT json_array(name) FROM t
// returning another column). These names are reported as Builtins, so
// the proxy's search-path check (a namesake in the pinned schema) decides
// the statement as calling that function. Over-approximate on purpose: a
// namesake is looked for whatever server runs the statement, and a
// json_object(...) call qualified with pg_catalog counts too.

// syntaxCallName maps the grammar's nodes for such constructs to the
// function name an older server calls.
func syntaxCallName(m protoreflect.Message) string {
	switch x := m.Interface().(type) {
	case *pg_query.JsonArrayConstructor, *pg_query.JsonArrayQueryConstructor:
		return "json_array"
	case *pg_query.JsonObjectConstructor:
		return "json_object"
	case *pg_query.JsonParseExpr:
		return "json"
	case *pg_query.JsonScalarExpr:
		return "json_scalar"
	case *pg_query.JsonSerializeExpr:
		return "json_serialize"
	case *pg_query.JsonArrayAgg:
		return "json_arrayagg"
	case *pg_query.JsonObjectAgg:
		return "json_objectagg"
	case *pg_query.MergeSupportFunc:
		return "merge_action"
	case *pg_query.JsonFuncExpr:
		switch x.Op {
		case pg_query.JsonExprOp_JSON_EXISTS_OP:
			return "json_exists"
		case pg_query.JsonExprOp_JSON_QUERY_OP:
			return "json_query"
		case pg_query.JsonExprOp_JSON_VALUE_OP:
			return "json_value"
		}
	case *pg_query.FuncCall:
		// JSON_OBJECT(a, b) is pg_catalog.json_object(a, b) to the
		// PostgreSQL 16+ grammar, json_object(a, b) to an older one.
		if qualifiedName(x.Funcname) == "pg_catalog.json_object" {
			return "json_object"
		}
	}
	return ""
}

// syntaxCalls records, as Builtins, the names of the constructs under n
// that an older server calls as functions (see above).
func (a *analyzer) syntaxCalls(n *pg_query.Node) {
	if n == nil || n.Node == nil {
		return
	}
	a.syntaxCallsIn(n.ProtoReflect(), 0)
}

// maxSyntaxDepth bounds syntaxCallsIn's walk of protobuf messages (a tree
// level is two or three of them); protobuf's own recursion limit keeps
// parse trees below it, and a deeper one is forbidden (fail closed).
const maxSyntaxDepth = 3 * maxNesting

func (a *analyzer) syntaxCallsIn(m protoreflect.Message, depth int) {
	if depth > maxSyntaxDepth {
		a.forbid("statement nests too deeply to analyze")
		return
	}
	if name := syntaxCallName(m); name != "" {
		a.builtins[name] = true
	}
	children(m, func(c protoreflect.Message) bool {
		a.syntaxCallsIn(c, depth+1)
		return true
	})
}
