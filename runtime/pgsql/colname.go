package pgsql

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// The names PostgreSQL gives result columns written without AS.
//
// A derived item's columns are found by these names: in SELECT upper(x)
// FROM (SELECT COALESCE(ssn, '') FROM t) s, other o, the server reads x
// as s's column "coalesce" when it is so named, else as o's. A name the
// analyzer got wrong would resolve to o's (unmasked) column where the
// server reads s's (masked) one. So the names follow PostgreSQL 15's
// FigureColnameInternal (src/backend/parser/parse_target.c) node by node,
// with its strengths: a cast of a weakly named expression (CASE, a
// constant) takes the type's name, and CASE takes its ELSE's name when
// that one is strong.

// unknownName is the name of a result column whose name the analyzer
// cannot know (the scalar subquery's first column is a star): relationOf
// leaves it out of the known names, so any name may reach it.
const unknownName = ""

// figureName is the name PostgreSQL gives an unnamed result column.
func figureName(n *pg_query.Node) string {
	name, strength := figureColname(n)
	if strength == 0 {
		return "?column?"
	}
	return name
}

// figureColname is FigureColnameInternal: a name and its strength (0 none,
// 1 a weak name a cast overrides, 2 a strong one).
func figureColname(n *pg_query.Node) (string, int) {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_ColumnRef:
		// The last field name, ignoring *.
		name := ""
		for _, f := range x.ColumnRef.Fields {
			if s := f.GetString_(); s != nil {
				name = s.Sval
			}
		}
		if name != "" {
			return name, 2
		}
	case *pg_query.Node_AIndirection:
		// The last field name, ignoring * and subscripts.
		name := ""
		for _, f := range x.AIndirection.Indirection {
			if s := f.GetString_(); s != nil {
				name = s.Sval
			}
		}
		if name != "" {
			return name, 2
		}
		return figureColname(x.AIndirection.Arg)
	case *pg_query.Node_FuncCall:
		if fn := x.FuncCall.Funcname; len(fn) > 0 {
			return fn[len(fn)-1].GetString_().GetSval(), 2
		}
	case *pg_query.Node_AExpr:
		if x.AExpr.Kind == pg_query.A_Expr_Kind_AEXPR_NULLIF {
			return "nullif", 2
		}
	case *pg_query.Node_TypeCast:
		name, strength := figureColname(x.TypeCast.Arg)
		if strength <= 1 {
			if tn := x.TypeCast.TypeName; tn != nil && len(tn.Names) > 0 {
				return tn.Names[len(tn.Names)-1].GetString_().GetSval(), 1
			}
		}
		return name, strength
	case *pg_query.Node_CollateClause:
		return figureColname(x.CollateClause.Arg)
	case *pg_query.Node_GroupingFunc:
		return "grouping", 2
	case *pg_query.Node_SubLink:
		switch x.SubLink.SubLinkType {
		case pg_query.SubLinkType_EXISTS_SUBLINK:
			return "exists", 2
		case pg_query.SubLinkType_ARRAY_SUBLINK:
			return "array", 2
		case pg_query.SubLinkType_EXPR_SUBLINK:
			return firstOutputName(x.SubLink.Subselect), 2
		}
	case *pg_query.Node_CaseExpr:
		name, strength := figureColname(x.CaseExpr.Defresult)
		if strength <= 1 {
			return "case", 1
		}
		return name, strength
	case *pg_query.Node_AArrayExpr:
		return "array", 2
	case *pg_query.Node_RowExpr:
		return "row", 2
	case *pg_query.Node_CoalesceExpr:
		return "coalesce", 2
	case *pg_query.Node_MinMaxExpr:
		switch x.MinMaxExpr.Op {
		case pg_query.MinMaxOp_IS_GREATEST:
			return "greatest", 2
		case pg_query.MinMaxOp_IS_LEAST:
			return "least", 2
		}
	case *pg_query.Node_SqlvalueFunction:
		if name, ok := sqlValueNames[x.SqlvalueFunction.Op]; ok {
			return name, 2
		}
	case *pg_query.Node_XmlExpr:
		if name, ok := xmlExprNames[x.XmlExpr.Op]; ok {
			return name, 2
		}
	case *pg_query.Node_XmlSerialize:
		return "xmlserialize", 2
	}
	return "", 0
}

var sqlValueNames = map[pg_query.SQLValueFunctionOp]string{
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_DATE:        "current_date",
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIME:        "current_time",
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIME_N:      "current_time",
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP:   "current_timestamp",
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N: "current_timestamp",
	pg_query.SQLValueFunctionOp_SVFOP_LOCALTIME:           "localtime",
	pg_query.SQLValueFunctionOp_SVFOP_LOCALTIME_N:         "localtime",
	pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP:      "localtimestamp",
	pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:    "localtimestamp",
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_ROLE:        "current_role",
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_USER:        "current_user",
	pg_query.SQLValueFunctionOp_SVFOP_USER:                "user",
	pg_query.SQLValueFunctionOp_SVFOP_SESSION_USER:        "session_user",
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG:     "current_catalog",
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA:      "current_schema",
}

var xmlExprNames = map[pg_query.XmlExprOp]string{
	pg_query.XmlExprOp_IS_XMLCONCAT:    "xmlconcat",
	pg_query.XmlExprOp_IS_XMLELEMENT:   "xmlelement",
	pg_query.XmlExprOp_IS_XMLFOREST:    "xmlforest",
	pg_query.XmlExprOp_IS_XMLPARSE:     "xmlparse",
	pg_query.XmlExprOp_IS_XMLPI:        "xmlpi",
	pg_query.XmlExprOp_IS_XMLROOT:      "xmlroot",
	pg_query.XmlExprOp_IS_XMLSERIALIZE: "xmlserialize",
}

// firstOutputName is the name of the first result column of a scalar
// subquery (the leftmost SELECT of a set operation names its columns), or
// unknownName when a star stands there.
func firstOutputName(n *pg_query.Node) string {
	s := n.GetSelectStmt()
	for s != nil && s.Larg != nil && s.Op != pg_query.SetOperation_SETOP_NONE &&
		s.Op != pg_query.SetOperation_SET_OPERATION_UNDEFINED {
		s = s.Larg
	}
	if s == nil {
		return unknownName
	}
	if len(s.ValuesLists) > 0 {
		return "column1"
	}
	if len(s.TargetList) == 0 {
		return unknownName
	}
	rt := s.TargetList[0].GetResTarget()
	if rt == nil || rt.Name == "" && starItem(rt.Val) {
		return unknownName
	}
	return outputName(rt)
}
