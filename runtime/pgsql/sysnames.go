package pgsql

import (
	"slices"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// ALTER FUNCTION pg_read_file(text) RENAME TO x, ALTER OPERATOR =
// (int4, int4) SET (...), ALTER COLLATION "C" RENAME and COMMENT ON
// FUNCTION now() change PostgreSQL's own objects when written without a
// schema: a name is looked up in pg_catalog before the search path. The
// analyzer knows the built-in types and the safe functions by name
// (dbddl.go), not every object of every server, so it records such names
// and the proxy asks the catalog.

// ObjectName is a database-level object written without a schema. Kind
// is one of: function (procedures and aggregates too), operator,
// collation, conversion, text search (configurations, dictionaries,
// parsers and templates), operator class (and families).
type ObjectName struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// objectKinds maps the object types of DDL to ObjectName kinds.
var objectKinds = map[pg_query.ObjectType]string{
	pg_query.ObjectType_OBJECT_FUNCTION:        "function",
	pg_query.ObjectType_OBJECT_PROCEDURE:       "function",
	pg_query.ObjectType_OBJECT_ROUTINE:         "function",
	pg_query.ObjectType_OBJECT_AGGREGATE:       "function",
	pg_query.ObjectType_OBJECT_OPERATOR:        "operator",
	pg_query.ObjectType_OBJECT_COLLATION:       "collation",
	pg_query.ObjectType_OBJECT_CONVERSION:      "conversion",
	pg_query.ObjectType_OBJECT_TSCONFIGURATION: "text search",
	pg_query.ObjectType_OBJECT_TSDICTIONARY:    "text search",
	pg_query.ObjectType_OBJECT_TSPARSER:        "text search",
	pg_query.ObjectType_OBJECT_TSTEMPLATE:      "text search",
	pg_query.ObjectType_OBJECT_OPCLASS:         "operator class",
	pg_query.ObjectType_OBJECT_OPFAMILY:        "operator class",
}

// unqualified records the object o of type kind (as DROP, COMMENT, ALTER
// ... RENAME, SET SCHEMA and OWNER name it) when it has no schema.
func (a *analyzer) unqualified(kind pg_query.ObjectType, o *pg_query.Node) {
	k, ok := objectKinds[kind]
	if !ok || o == nil {
		return
	}
	var names []*pg_query.Node
	switch x := o.GetNode().(type) {
	case *pg_query.Node_List:
		names = x.List.GetItems()
		if k == "operator class" && len(names) > 0 {
			names = names[1:] // the access method's name comes first
		}
	case *pg_query.Node_ObjectWithArgs:
		names = x.ObjectWithArgs.GetObjname()
	case *pg_query.Node_String_:
		names = []*pg_query.Node{o}
	}
	a.unqualifiedName(k, names)
}

// unqualifiedName records names of kind when it is one name alone.
func (a *analyzer) unqualifiedName(kind string, names []*pg_query.Node) {
	if len(names) != 1 {
		return
	}
	n := ObjectName{Kind: kind, Name: names[0].GetString_().GetSval()}
	if n.Name != "" && !slices.Contains(a.unqualifiedObjects, n) {
		a.unqualifiedObjects = append(a.unqualifiedObjects, n)
	}
}
