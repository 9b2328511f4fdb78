package pgsql

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// ChangedStatistics returns, as lineage relation names ("schema.name"),
// the extended statistics objects the statements of text drop, alter,
// rename, move or comment on (DROP STATISTICS, ALTER STATISTICS, COMMENT
// ON STATISTICS). The analyzer decides them as database-level (table
// ""), which every grant holding ddl covers, but a statistics object
// belongs to the table it describes: the gateway looks that table up and
// decides the statement on it, as it decides an index's. A name written
// without a schema is searchSchema's (PostgreSQL finds statistics objects
// through the search path, which the gateway pins).
func ChangedStatistics(text, searchSchema string) ([]string, error) {
	tree, err := pg_query.Parse(text)
	if err != nil {
		return nil, err
	}
	var names []string
	add := func(items []*pg_query.Node) {
		parts := stringList(items)
		switch len(parts) {
		case 0:
		case 1:
			names = append(names, RelationSource(searchSchema, parts[0]))
		default:
			names = append(names, RelationSource(parts[len(parts)-2], parts[len(parts)-1]))
		}
	}
	const stats = pg_query.ObjectType_OBJECT_STATISTIC_EXT
	for _, raw := range tree.Stmts {
		switch x := raw.Stmt.GetNode().(type) {
		case *pg_query.Node_DropStmt:
			if x.DropStmt.RemoveType == stats {
				for _, o := range x.DropStmt.Objects {
					add(o.GetList().GetItems())
				}
			}
		case *pg_query.Node_RenameStmt:
			if x.RenameStmt.RenameType == stats {
				add(x.RenameStmt.Object.GetList().GetItems())
			}
		case *pg_query.Node_AlterObjectSchemaStmt:
			if x.AlterObjectSchemaStmt.ObjectType == stats {
				add(x.AlterObjectSchemaStmt.Object.GetList().GetItems())
			}
		case *pg_query.Node_AlterOwnerStmt:
			if x.AlterOwnerStmt.ObjectType == stats {
				add(x.AlterOwnerStmt.Object.GetList().GetItems())
			}
		case *pg_query.Node_CommentStmt:
			if x.CommentStmt.Objtype == stats {
				add(x.CommentStmt.Object.GetList().GetItems())
			}
		case *pg_query.Node_SecLabelStmt:
			if x.SecLabelStmt.Objtype == stats {
				add(x.SecLabelStmt.Object.GetList().GetItems())
			}
		case *pg_query.Node_AlterStatsStmt:
			add(x.AlterStatsStmt.Defnames)
		}
	}
	return names, nil
}
