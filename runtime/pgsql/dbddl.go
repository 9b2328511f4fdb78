package pgsql

import (
	"slices"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Database-level DDL (red team round 25). A grant's ddl class covers
// relations by table pattern, and DDL that names no relation is an access
// to table "", which every grant holding ddl covers. The gateway's
// upstream role is often a superuser, so without these refusals a grant of
// ddl on public.app_* could run host code (C and internal functions),
// install extensions that read the server's files or reach other servers,
// act on every other session (event triggers, casts, default
// conversions), create, drop or alter databases and tablespaces, publish
// every table, hand privileges or ownership to other roles, or change
// PostgreSQL's own objects. Each of these is forbidden here, for every
// grant, with a reason (docs/sql.md, "Database-level DDL").

// Reasons shared by several statements.
const (
	reasonLanguage     = "procedural languages run code on the database server; they are installed by an administrator, not through the gateway"
	reasonEventTrigger = "an event trigger runs, as the upstream role, on the DDL of every other session"
	reasonExtension    = "extensions install code and objects into the server (file_fdw reads the server's files, dblink and postgres_fdw reach other servers); they are installed by an administrator, not through the gateway"
	reasonForeign      = "foreign-data wrappers, foreign servers and foreign tables read the server's files or other servers, which no table grant covers"
	reasonTablespace   = "tablespaces are directories of the database server's filesystem"
	reasonDatabase     = "databases are managed outside the gateway: the session's grant covers tables of its own database"
	reasonCast         = "a cast applies to every session's statements (int4::text would run the cast's function)"
	reasonSuperuser    = "PostgreSQL lets only superusers define it (it calls C functions, and a wrong definition can corrupt data or crash the server)"
	reasonOwner        = "changing the owner of a database-level object hands it, and what its owner may do, to another role"
	reasonPrivileges   = "privileges on database-level objects (schemas, databases, functions, types, languages, large objects, servers, tablespaces, parameters) are managed outside the gateway"
	reasonCascade      = "CASCADE also drops or changes what depends on the object (functions, views over it in other schemas, foreign keys, columns, defaults and triggers of other tables), which the gateway follows only from tables, views, sequences, indexes, types and domains, and from DROP COLUMN, DROP CONSTRAINT and ALTER TYPE's attributes: drop or change each dependent with its own statement first, then this one without CASCADE (RESTRICT, the default)"
	reasonSchemaName   = "renaming a schema renames every relation in it, past the grants and masking rules that name them"
	reasonSystem       = "is one of PostgreSQL's own objects (pg_catalog, information_schema): the gateway trusts them as built-ins, and no grant creates, changes or drops them"
)

// databaseDDL forbids the database-level DDL no grant allows: n is a
// utility statement classify has no case of its own for.
func (a *analyzer) databaseDDL(n *pg_query.Node) {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_CreateFunctionStmt:
		f := x.CreateFunctionStmt
		a.systemName(f.Funcname, "function")
		a.functionOptions(f.Options)
		a.functionLanguage(f.Options, f.SqlBody != nil)
		// A function's body is code the gateway does not analyze, run
		// as the upstream role wherever the function is called: by a
		// trigger, a default, a view, an index. Storing it needs what
		// running code at once (DO) needs: a grant naming pg_catalog.do.
		a.function("pg_catalog.do")
	case *pg_query.Node_CreateTrigStmt:
		// A trigger calls its function on every write of the table, the
		// other sessions' included: creating one calls the function.
		a.function(qualifiedName(x.CreateTrigStmt.Funcname))
	case *pg_query.Node_AlterFunctionStmt:
		f := x.AlterFunctionStmt
		a.systemFunction(f.Func)
		a.unqualifiedName("function", f.Func.GetObjname()) // sysnames.go
		a.functionOptions(f.Actions)
	case *pg_query.Node_CreatePlangStmt:
		a.forbid("CREATE LANGUAGE: " + reasonLanguage)
	case *pg_query.Node_CreateEventTrigStmt, *pg_query.Node_AlterEventTrigStmt:
		a.forbid(dbDDLName(n) + ": " + reasonEventTrigger)
	case *pg_query.Node_CreateExtensionStmt, *pg_query.Node_AlterExtensionStmt,
		*pg_query.Node_AlterExtensionContentsStmt, *pg_query.Node_AlterObjectDependsStmt:
		a.forbid(dbDDLName(n) + ": " + reasonExtension)
	case *pg_query.Node_CreateFdwStmt, *pg_query.Node_AlterFdwStmt, *pg_query.Node_CreateForeignServerStmt,
		*pg_query.Node_AlterForeignServerStmt, *pg_query.Node_ImportForeignSchemaStmt, *pg_query.Node_CreateForeignTableStmt:
		a.forbid(dbDDLName(n) + ": " + reasonForeign)
	case *pg_query.Node_CreateTableSpaceStmt, *pg_query.Node_DropTableSpaceStmt,
		*pg_query.Node_AlterTableSpaceOptionsStmt, *pg_query.Node_AlterTableMoveAllStmt:
		a.forbid(dbDDLName(n) + ": " + reasonTablespace)
	case *pg_query.Node_CreatedbStmt, *pg_query.Node_DropdbStmt, *pg_query.Node_AlterDatabaseStmt,
		*pg_query.Node_AlterDatabaseRefreshCollStmt:
		a.forbid(dbDDLName(n) + ": " + reasonDatabase)
	case *pg_query.Node_CreateCastStmt:
		a.forbid("CREATE CAST: " + reasonCast)
	case *pg_query.Node_CreateConversionStmt:
		if x.CreateConversionStmt.Def {
			a.forbid("CREATE DEFAULT CONVERSION changes how every session's client encoding is converted")
		}
		a.systemName(x.CreateConversionStmt.ConversionName, "conversion")
	case *pg_query.Node_CreateAmStmt:
		a.forbid("CREATE ACCESS METHOD: " + reasonSuperuser)
	case *pg_query.Node_CreateTransformStmt:
		a.forbid("CREATE TRANSFORM applies to every function of its language and calls C functions")
	case *pg_query.Node_CreateOpClassStmt, *pg_query.Node_CreateOpFamilyStmt, *pg_query.Node_AlterOpFamilyStmt:
		a.forbid(dbDDLName(n) + ": " + reasonSuperuser)
	case *pg_query.Node_DefineStmt:
		d := x.DefineStmt
		switch {
		case d.Kind == pg_query.ObjectType_OBJECT_TSPARSER:
			a.forbid("CREATE TEXT SEARCH PARSER: " + reasonSuperuser)
		case d.Kind == pg_query.ObjectType_OBJECT_TSTEMPLATE:
			a.forbid("CREATE TEXT SEARCH TEMPLATE: " + reasonSuperuser)
		case d.Kind == pg_query.ObjectType_OBJECT_TYPE && len(d.Definition) > 0:
			a.forbid("CREATE TYPE with input and output functions (a base type): " + reasonSuperuser)
		}
		a.systemName(d.Defnames, "object")
		// An operator or aggregate calls its functions wherever it is
		// used, without naming them: creating one calls them.
		a.definedFunctions(d.Definition)
	case *pg_query.Node_CreatePublicationStmt:
		a.publication(x.CreatePublicationStmt.ForAllTables, x.CreatePublicationStmt.Pubobjects)
	case *pg_query.Node_AlterPublicationStmt:
		a.publication(x.AlterPublicationStmt.ForAllTables, x.AlterPublicationStmt.Pubobjects)
	case *pg_query.Node_AlterDefaultPrivilegesStmt:
		a.forbid("ALTER DEFAULT PRIVILEGES grants privileges on objects created later, by anyone, which no grant covers")
	case *pg_query.Node_GrantStmt:
		g := x.GrantStmt
		switch {
		case g.Targtype != pg_query.GrantTargetType_ACL_TARGET_OBJECT:
			a.forbid(dbDDLName(n) + " ... ON ALL ... IN SCHEMA reaches every relation of the schema, which no table grant covers")
		case g.Objtype != pg_query.ObjectType_OBJECT_TABLE && g.Objtype != pg_query.ObjectType_OBJECT_SEQUENCE:
			a.forbid(dbDDLName(n) + ": " + reasonPrivileges)
		}
	case *pg_query.Node_AlterOwnerStmt:
		a.forbid("ALTER ... OWNER TO: " + reasonOwner)
	case *pg_query.Node_AlterTableStmt:
		for _, c := range x.AlterTableStmt.Cmds {
			switch c.GetAlterTableCmd().GetSubtype() {
			case pg_query.AlterTableType_AT_GenericOptions, pg_query.AlterTableType_AT_AlterColumnGenericOptions:
				a.forbid("ALTER ... OPTIONS changes what a foreign table reads: " + reasonForeign)
			}
		}
	case *pg_query.Node_CheckPointStmt:
		a.forbid("CHECKPOINT writes every changed page of the whole server to disk, an I/O burst on every database (PostgreSQL reserves it to superusers and pg_checkpoint)")
	case *pg_query.Node_RenameStmt:
		r := x.RenameStmt
		a.objectKind(r.RenameType, "RENAME")
		if r.RenameType == pg_query.ObjectType_OBJECT_SCHEMA {
			a.forbid("ALTER SCHEMA ... RENAME: " + reasonSchemaName)
		}
		if r.Relation == nil {
			a.systemObject(r.RenameType, r.Object, true)
		}
	case *pg_query.Node_AlterObjectSchemaStmt:
		s := x.AlterObjectSchemaStmt
		a.objectKind(s.ObjectType, "SET SCHEMA")
		if systemSchema(s.Newschema) {
			a.forbid("ALTER ... SET SCHEMA " + ident(s.Newschema) + ": a schema of PostgreSQL's own objects, which the gateway trusts as built-ins")
		}
		if s.Relation == nil {
			a.systemObject(s.ObjectType, s.Object, true)
		}
	case *pg_query.Node_VacuumStmt:
		v := x.VacuumStmt
		if len(v.Rels) == 0 && v.IsVacuumcmd && defOn(v.Options, "full") {
			a.forbid("VACUUM FULL without a table rewrites every table of the database, locking each against every other session")
		}
	case *pg_query.Node_ClusterStmt:
		if x.ClusterStmt.Relation == nil {
			a.forbid("CLUSTER without a table rewrites every clustered table of the database, locking each against every other session")
		}
	case *pg_query.Node_ReindexStmt:
		switch x.ReindexStmt.Kind {
		case pg_query.ReindexObjectType_REINDEX_OBJECT_SCHEMA, pg_query.ReindexObjectType_REINDEX_OBJECT_SYSTEM,
			pg_query.ReindexObjectType_REINDEX_OBJECT_DATABASE:
			a.forbid("REINDEX of a schema, the system catalogs or the database reaches tables no table grant covers, locking them against every other session")
		}
	case *pg_query.Node_CreateDomainStmt:
		a.systemName(x.CreateDomainStmt.Domainname, "domain")
	case *pg_query.Node_CreateEnumStmt:
		a.systemName(x.CreateEnumStmt.TypeName, "type")
	case *pg_query.Node_CreateRangeStmt:
		a.systemName(x.CreateRangeStmt.TypeName, "type")
		a.definedFunctions(x.CreateRangeStmt.Params)
	case *pg_query.Node_AlterEnumStmt:
		a.systemType(x.AlterEnumStmt.TypeName)
	case *pg_query.Node_AlterDomainStmt:
		a.systemType(x.AlterDomainStmt.TypeName)
	case *pg_query.Node_AlterTypeStmt:
		a.systemType(x.AlterTypeStmt.TypeName)
	case *pg_query.Node_AlterOperatorStmt:
		a.systemName(x.AlterOperatorStmt.GetOpername().GetObjname(), "operator")
		a.unqualifiedName("operator", x.AlterOperatorStmt.GetOpername().GetObjname())
	case *pg_query.Node_CreateStatsStmt:
		a.systemName(x.CreateStatsStmt.Defnames, "statistics object")
	case *pg_query.Node_AlterStatsStmt:
		a.systemName(x.AlterStatsStmt.Defnames, "statistics object")
	case *pg_query.Node_AlterCollationStmt:
		a.systemName(x.AlterCollationStmt.Collname, "collation")
		a.unqualifiedName("collation", x.AlterCollationStmt.Collname)
	case *pg_query.Node_AlterTsdictionaryStmt:
		a.systemName(x.AlterTsdictionaryStmt.Dictname, "text search dictionary")
		a.unqualifiedName("text search", x.AlterTsdictionaryStmt.Dictname)
	case *pg_query.Node_AlterTsconfigurationStmt:
		a.systemName(x.AlterTsconfigurationStmt.Cfgname, "text search configuration")
		a.unqualifiedName("text search", x.AlterTsconfigurationStmt.Cfgname)
	}
}

// dbDDLNames name, in reasons, the statements whose tagOf is not what
// one writes.
var dbDDLNames = map[string]string{
	"AlterExtensionContentsStmt": "ALTER EXTENSION ADD/DROP", "AlterObjectDependsStmt": "ALTER ... DEPENDS ON EXTENSION",
	"CreateFdwStmt": "CREATE FOREIGN DATA WRAPPER", "AlterFdwStmt": "ALTER FOREIGN DATA WRAPPER",
	"CreateForeignServerStmt": "CREATE SERVER", "AlterForeignServerStmt": "ALTER SERVER",
	"CreateTableSpaceStmt": "CREATE TABLESPACE", "DropTableSpaceStmt": "DROP TABLESPACE",
	"AlterTableSpaceOptionsStmt": "ALTER TABLESPACE", "AlterTableMoveAllStmt": "ALTER ... ALL IN TABLESPACE",
	"AlterDatabaseRefreshCollStmt": "ALTER DATABASE", "CreateOpClassStmt": "CREATE OPERATOR CLASS",
	"CreateOpFamilyStmt": "CREATE OPERATOR FAMILY", "AlterOpFamilyStmt": "ALTER OPERATOR FAMILY",
}

// dbDDLName is how a reason names statement n.
func dbDDLName(n *pg_query.Node) string {
	m := n.ProtoReflect()
	name := string(m.WhichOneof(m.Descriptor().Oneofs().Get(0)).Message().Name())
	if s, ok := dbDDLNames[name]; ok {
		return s
	}
	return tagOf(n)
}

// dropDDL forbids the DROP statements no grant allows (objectDDL then
// needs ddl on the relations it names; cascade, what CASCADE reaches).
func (a *analyzer) dropDDL(d *pg_query.DropStmt) {
	a.objectKind(d.RemoveType, "DROP")
	for _, o := range d.Objects {
		// PostgreSQL refuses to drop its pinned built-ins, so a function
		// written without a schema is not taken for one here.
		a.systemObject(d.RemoveType, o, false)
	}
}

// Kinds of CascadeTarget.
const (
	CascadeRelation         = "relation"          // DROP TABLE, VIEW, MATERIALIZED VIEW, SEQUENCE, INDEX, FOREIGN TABLE
	CascadeType             = "type"              // DROP TYPE, DROP DOMAIN, ALTER TYPE ... ATTRIBUTE (RENAME ATTRIBUTE too)
	CascadeColumn           = "column"            // ALTER TABLE ... DROP COLUMN
	CascadeConstraint       = "constraint"        // ALTER TABLE ... DROP CONSTRAINT
	CascadeDomainConstraint = "domain constraint" // ALTER DOMAIN ... DROP CONSTRAINT
	CascadeTruncate         = "truncate"          // TRUNCATE
	CascadeTruncateOnly     = "truncate only"     // TRUNCATE ONLY
)

// CascadeTarget is an object a statement drops, changes or empties with
// CASCADE, as the statement names it (Analyzed.Cascade).
type CascadeTarget struct {
	// Kind is what the target names (the Cascade constants).
	Kind string
	// Schema and Name are the relation's or the type's, unquoted; a
	// name written without a schema is in the pinned search path's
	// first schema, as for the relations a statement names.
	Schema, Name string
	// Member is the column or constraint of CascadeColumn,
	// CascadeConstraint and CascadeDomainConstraint.
	Member string
}

// cascadeRelationKinds are the DROP kinds whose CASCADE the gateway
// follows from the relation named.
var cascadeRelationKinds = map[pg_query.ObjectType]bool{
	pg_query.ObjectType_OBJECT_TABLE: true, pg_query.ObjectType_OBJECT_VIEW: true,
	pg_query.ObjectType_OBJECT_MATVIEW: true, pg_query.ObjectType_OBJECT_SEQUENCE: true,
	pg_query.ObjectType_OBJECT_INDEX: true, pg_query.ObjectType_OBJECT_FOREIGN_TABLE: true,
}

// cascade records in an.Cascade where statement n's CASCADE starts:
// DROP TABLE app_t CASCADE also drops the views other schemas built on
// app_t, and their dependents in turn, none of which the statement names,
// so the gateway looks them up in the catalog and decides them as named.
// It forbids the CASCADE it cannot follow there: from functions,
// operators, schemas, triggers and the other kinds that are no relation
// or type, and ALTER ... CASCADE other than DROP COLUMN, DROP CONSTRAINT,
// ALTER TYPE's attributes (RENAME ATTRIBUTE included) and ALTER DOMAIN
// ... DROP CONSTRAINT. The
// statements a statement holds (CREATE SCHEMA's elements, PREPARE's
// query) cannot be any of these, so an is always the statement's own.
func (a *analyzer) cascade(n *pg_query.Node, an *Analyzed) {
	const cascade = pg_query.DropBehavior_DROP_CASCADE
	switch x := n.GetNode().(type) {
	case *pg_query.Node_DropStmt:
		d := x.DropStmt
		if d.Behavior != cascade {
			return
		}
		for _, o := range d.Objects {
			switch {
			case cascadeRelationKinds[d.RemoveType]:
				a.cascadeRelation(an, CascadeRelation, relationVar(stringList(o.GetList().GetItems())), "")
			case d.RemoveType == pg_query.ObjectType_OBJECT_TYPE || d.RemoveType == pg_query.ObjectType_OBJECT_DOMAIN:
				tn := o.GetTypeName()
				if tn == nil || len(tn.ArrayBounds) > 0 || tn.PctType {
					a.forbid("DROP TYPE ... CASCADE of a type the gateway cannot name: " + reasonCascade)
					continue
				}
				a.cascadeType(an, CascadeType, tn.Names, "")
			default:
				a.forbid("DROP ... CASCADE: " + reasonCascade)
			}
		}
	case *pg_query.Node_TruncateStmt:
		if x.TruncateStmt.Behavior != cascade {
			return
		}
		for _, r := range x.TruncateStmt.Relations {
			if rv := r.GetRangeVar(); rv != nil {
				kind := CascadeTruncate
				if !rv.Inh {
					kind = CascadeTruncateOnly
				}
				a.cascadeRelation(an, kind, rv, "")
			}
		}
	case *pg_query.Node_AlterTableStmt:
		s := x.AlterTableStmt
		for _, c := range s.Cmds {
			cmd := c.GetAlterTableCmd()
			if cmd.GetBehavior() != cascade {
				continue
			}
			table := s.Objtype == pg_query.ObjectType_OBJECT_TABLE || s.Objtype == pg_query.ObjectType_OBJECT_FOREIGN_TABLE
			switch st := cmd.Subtype; {
			case table && st == pg_query.AlterTableType_AT_DropColumn:
				a.cascadeRelation(an, CascadeColumn, s.Relation, cmd.Name)
			case table && st == pg_query.AlterTableType_AT_DropConstraint:
				a.cascadeRelation(an, CascadeConstraint, s.Relation, cmd.Name)
			case s.Objtype == pg_query.ObjectType_OBJECT_TYPE && (st == pg_query.AlterTableType_AT_DropColumn ||
				st == pg_query.AlterTableType_AT_AlterColumnType || st == pg_query.AlterTableType_AT_AddColumn):
				// ALTER TYPE ... ATTRIBUTE ... CASCADE changes the
				// tables typed with it, which depend on the type.
				a.cascadeRelation(an, CascadeType, s.Relation, "")
			default:
				a.forbid("ALTER ... CASCADE: " + reasonCascade)
			}
		}
	case *pg_query.Node_RenameStmt:
		r := x.RenameStmt
		switch {
		case r.Behavior != cascade:
		case r.RenameType == pg_query.ObjectType_OBJECT_ATTRIBUTE:
			// ALTER TYPE ... RENAME ATTRIBUTE ... CASCADE renames the
			// column of the typed tables too.
			a.cascadeRelation(an, CascadeType, r.Relation, "")
		default:
			a.forbid("ALTER ... RENAME ... CASCADE: " + reasonCascade)
		}
	case *pg_query.Node_AlterDomainStmt:
		d := x.AlterDomainStmt
		switch {
		case d.Behavior != cascade:
		case d.Subtype == "X": // DROP CONSTRAINT
			a.cascadeType(an, CascadeDomainConstraint, d.TypeName, d.Name)
		default:
			a.forbid("ALTER DOMAIN ... CASCADE: " + reasonCascade)
		}
	}
}

// relationVar is the relation a DROP names by the list of its name's
// parts (catalog.schema.name, schema.name or name).
func relationVar(parts []string) *pg_query.RangeVar {
	rv := &pg_query.RangeVar{Inh: true}
	switch len(parts) {
	case 0:
	case 1:
		rv.Relname = parts[0]
	default:
		rv.Schemaname, rv.Relname = parts[len(parts)-2], parts[len(parts)-1]
	}
	return rv
}

// cascadeRelation records a CascadeTarget of kind on relation rv, named
// as the analysis names the relations of the statement's accesses.
func (a *analyzer) cascadeRelation(an *Analyzed, kind string, rv *pg_query.RangeVar, member string) {
	if rv == nil || rv.Relname == "" || (kind == CascadeColumn || kind == CascadeConstraint) && member == "" {
		a.forbid("CASCADE of an object the gateway cannot name: " + reasonCascade)
		return
	}
	schema, name, ok := SplitRelation(a.relName(rv))
	if !ok {
		a.forbid("CASCADE of an object the gateway cannot name: " + reasonCascade)
		return
	}
	an.Cascade = append(an.Cascade, CascadeTarget{Kind: kind, Schema: schema, Name: name, Member: member})
}

// cascadeType records a CascadeTarget of kind on the type written as
// names (a name without a schema is the pinned search path's first
// schema's: systemType refuses one of pg_catalog's).
func (a *analyzer) cascadeType(an *Analyzed, kind string, names []*pg_query.Node, member string) {
	parts := stringList(names)
	if len(parts) == 1 {
		parts = []string{a.opts.defaultSchema(), parts[0]}
	}
	if len(parts) < 2 || slices.Contains(parts, "") || kind == CascadeDomainConstraint && member == "" {
		a.forbid("CASCADE of a type the gateway cannot name: " + reasonCascade)
		return
	}
	an.Cascade = append(an.Cascade, CascadeTarget{Kind: kind, Schema: parts[len(parts)-2], Name: parts[len(parts)-1], Member: member})
}

// forbiddenKinds are the object kinds no grant drops, renames or moves:
// how a reason names the kind, and why.
var forbiddenKinds = map[pg_query.ObjectType]struct{ name, reason string }{
	pg_query.ObjectType_OBJECT_EXTENSION:      {"EXTENSION", reasonExtension},
	pg_query.ObjectType_OBJECT_EVENT_TRIGGER:  {"EVENT TRIGGER", reasonEventTrigger},
	pg_query.ObjectType_OBJECT_LANGUAGE:       {"LANGUAGE", reasonLanguage},
	pg_query.ObjectType_OBJECT_FDW:            {"FOREIGN DATA WRAPPER", reasonForeign},
	pg_query.ObjectType_OBJECT_FOREIGN_SERVER: {"SERVER", reasonForeign},
	pg_query.ObjectType_OBJECT_TABLESPACE:     {"TABLESPACE", reasonTablespace},
	pg_query.ObjectType_OBJECT_DATABASE:       {"DATABASE", reasonDatabase},
	pg_query.ObjectType_OBJECT_CAST:           {"CAST", reasonCast},
	pg_query.ObjectType_OBJECT_ACCESS_METHOD:  {"ACCESS METHOD", reasonSuperuser},
	pg_query.ObjectType_OBJECT_TRANSFORM:      {"TRANSFORM", "a transform applies to every function of its language"},
}

// objectKind forbids what a DROP (verb "DROP"), ALTER ... RENAME
// ("RENAME") or ALTER ... SET SCHEMA ("SET SCHEMA") does to an object of
// a kind no grant covers.
func (a *analyzer) objectKind(kind pg_query.ObjectType, verb string) {
	switch kind {
	case pg_query.ObjectType_OBJECT_ROLE:
		a.forbid("roles and role memberships are managed outside the gateway")
		return
	case pg_query.ObjectType_OBJECT_SUBSCRIPTION:
		a.forbid("subscriptions make the server connect to other servers")
		return
	}
	k, ok := forbiddenKinds[kind]
	switch {
	case !ok:
	case verb == "DROP":
		a.forbid("DROP " + k.name + ": " + k.reason)
	default:
		a.forbid("ALTER " + k.name + " ... " + verb + ": " + k.reason)
	}
}

// relationKinds are the object kinds objectDDL maps to the relations they
// name (a trigger, rule, policy or table constraint by its table).
var relationKinds = map[pg_query.ObjectType]bool{
	pg_query.ObjectType_OBJECT_TABLE: true, pg_query.ObjectType_OBJECT_VIEW: true,
	pg_query.ObjectType_OBJECT_MATVIEW: true, pg_query.ObjectType_OBJECT_SEQUENCE: true,
	pg_query.ObjectType_OBJECT_INDEX: true, pg_query.ObjectType_OBJECT_FOREIGN_TABLE: true,
	pg_query.ObjectType_OBJECT_COLUMN: true, pg_query.ObjectType_OBJECT_TRIGGER: true,
	pg_query.ObjectType_OBJECT_RULE: true, pg_query.ObjectType_OBJECT_POLICY: true,
	pg_query.ObjectType_OBJECT_TABCONSTRAINT: true,
}

// ownedByRelation are the relationKinds whose name is the relation's name
// followed by the object's own (DROP TRIGGER t ON s.tbl is s.tbl.t).
var ownedByRelation = map[pg_query.ObjectType]bool{
	pg_query.ObjectType_OBJECT_COLUMN: true, pg_query.ObjectType_OBJECT_TRIGGER: true,
	pg_query.ObjectType_OBJECT_RULE: true, pg_query.ObjectType_OBJECT_POLICY: true,
	pg_query.ObjectType_OBJECT_TABCONSTRAINT: true,
}

// systemObject forbids naming one of PostgreSQL's own objects (written in
// a system schema, or, when builtins is set, a function of the safe set
// written without one, which resolves to pg_catalog's) as the target of
// kind.
func (a *analyzer) systemObject(kind pg_query.ObjectType, o *pg_query.Node, builtins bool) {
	if o == nil || relationKinds[kind] {
		return // relations: systemAccess (collect.go)
	}
	a.unqualified(kind, o) // sysnames.go
	switch x := o.GetNode().(type) {
	case *pg_query.Node_String_:
		if kind == pg_query.ObjectType_OBJECT_SCHEMA && systemSchema(x.String_.GetSval()) {
			a.forbid("schema " + ident(x.String_.GetSval()) + " " + reasonSystem)
		}
	case *pg_query.Node_List:
		items := x.List.GetItems()
		if kind == pg_query.ObjectType_OBJECT_OPCLASS || kind == pg_query.ObjectType_OBJECT_OPFAMILY {
			if len(items) > 0 {
				items = items[1:] // the access method's name comes first
			}
		}
		if kind == pg_query.ObjectType_OBJECT_TYPE || kind == pg_query.ObjectType_OBJECT_DOMAIN {
			a.systemType(items)
			return
		}
		a.systemName(items, "object")
	case *pg_query.Node_ObjectWithArgs:
		switch kind {
		case pg_query.ObjectType_OBJECT_FUNCTION, pg_query.ObjectType_OBJECT_PROCEDURE,
			pg_query.ObjectType_OBJECT_ROUTINE, pg_query.ObjectType_OBJECT_AGGREGATE:
			if builtins {
				a.systemFunction(x.ObjectWithArgs)
			} else {
				a.systemName(x.ObjectWithArgs.GetObjname(), "function")
			}
		default:
			a.systemName(x.ObjectWithArgs.GetObjname(), "object")
		}
	case *pg_query.Node_TypeName:
		a.systemType(x.TypeName.GetNames())
	}
}

// systemType is systemName for a type or domain: one written without a
// schema whose name is a type of pg_catalog is pg_catalog's (PostgreSQL
// searches pg_catalog first), and ALTER TYPE int4 RENAME TO x or SET
// SCHEMA would change the built-in for every session.
func (a *analyzer) systemType(names []*pg_query.Node) {
	if len(names) == 1 {
		if n := names[0].GetString_().GetSval(); builtinType(n) {
			a.forbid("type " + ident(n) + " written without a schema is the built-in pg_catalog." + ident(n) +
				", which no grant changes: write the schema of your own type (public." + ident(n) + ")")
			return
		}
	}
	a.systemName(names, "type")
}

// builtinType reports a type name of pg_catalog: a built-in or pseudo
// type, the row type of a catalog relation, or an array of either.
func builtinType(n string) bool {
	if builtinTypes[n] || catalogRelations[n] {
		return true
	}
	elem, array := strings.CutPrefix(n, "_")
	return array && (builtinTypes[elem] || catalogRelations[elem])
}

// builtinTypes are the types of pg_catalog that are no relation's row
// type and no array (PostgreSQL 13 to 18).
var builtinTypes = setOf(`aclitem any anyarray anycompatible anycompatiblearray
	anycompatiblemultirange anycompatiblenonarray anycompatiblerange anyelement anyenum
	anymultirange anynonarray anyrange bit bool box bpchar bytea char cid cidr circle cstring
	date datemultirange daterange event_trigger fdw_handler float4 float8 gtsvector
	index_am_handler inet int2 int2vector int4 int4multirange int4range int8 int8multirange
	int8range internal interval json jsonb jsonpath language_handler line lseg macaddr
	macaddr8 money name numeric nummultirange numrange oid oidvector path
	pg_brin_bloom_summary pg_brin_minmax_multi_summary pg_ddl_command pg_dependencies pg_lsn
	pg_mcv_list pg_ndistinct pg_node_tree pg_snapshot point polygon record refcursor regclass
	regcollation regconfig regdictionary regnamespace regoper regoperator regproc
	regprocedure regrole regtype table_am_handler text tid time timestamp timestamptz timetz
	trigger tsm_handler tsmultirange tsquery tsrange tstzmultirange tstzrange tsvector
	txid_snapshot unknown uuid varbit varchar void xid xid8 xml`)

// systemFunction is systemObject for a function: one written without a
// schema whose name is a built-in of the safe set is pg_catalog's (the
// search path finds it first), unless a public namesake matches better,
// which the analysis cannot tell.
func (a *analyzer) systemFunction(f *pg_query.ObjectWithArgs) {
	if f == nil {
		return
	}
	if names := f.Objname; len(names) == 1 && safeFunctions[names[0].GetString_().GetSval()] {
		a.forbid("function " + qualifiedName(names) + " written without a schema is the built-in pg_catalog." + qualifiedName(names) +
			", which no grant changes: write the schema of your own function (public." + qualifiedName(names) + ")")
		return
	}
	a.systemName(f.Objname, "function")
}

// systemName forbids a name qualified with a system schema.
func (a *analyzer) systemName(names []*pg_query.Node, what string) {
	if len(names) < 2 {
		return
	}
	if schema := names[len(names)-2].GetString_().GetSval(); systemSchema(schema) {
		a.forbid(what + " " + qualifiedName(names) + " " + reasonSystem)
	}
}

// systemSchema reports the schemas of PostgreSQL's own objects.
func systemSchema(s string) bool {
	return s == "pg_catalog" || s == "information_schema" || s == "pg_toast" || strings.HasPrefix(s, "pg_toast_temp_")
}

// trustedLanguages are the languages a function may be written in
// through the gateway: their code runs inside the server's SQL engine.
// Others (c, internal, the untrusted plperlu, plpython3u, ...) run
// arbitrary code in the server process, and trusted ones of other
// installations (plperl, pltcl, plv8) are refused too, fail closed.
var trustedLanguages = map[string]bool{"sql": true, "plpgsql": true}

// functionLanguage forbids a function in a language other than sql and
// plpgsql (a SQL-standard body, BEGIN ATOMIC or RETURN, is sql).
func (a *analyzer) functionLanguage(opts []*pg_query.Node, sqlBody bool) {
	lang, named := "", false
	for _, o := range opts {
		if d := o.GetDefElem(); d != nil && d.Defname == "language" {
			lang, named = d.Arg.GetString_().GetSval(), true
		}
	}
	switch {
	case !named && sqlBody:
	case !named:
		a.forbid("a function without LANGUAGE: the gateway allows functions in sql and plpgsql only")
	case !trustedLanguages[lang]:
		a.forbid("LANGUAGE " + ident(lang) + ": functions in languages other than sql and plpgsql (c, internal, untrusted languages) run code in the database server's process; the gateway allows sql and plpgsql only")
	}
}

// functionOptions forbids the options of CREATE/ALTER FUNCTION that act
// beyond the function: SECURITY DEFINER (every role that may call it runs
// it as its owner, the upstream role), LEAKPROOF (the planner then runs it
// on rows row-level security hides) and SET ROLE / SESSION AUTHORIZATION.
func (a *analyzer) functionOptions(opts []*pg_query.Node) {
	for _, o := range opts {
		d := o.GetDefElem()
		if d == nil {
			continue
		}
		switch d.Defname {
		case "security":
			if defTrue(d) {
				a.forbid("SECURITY DEFINER lets every role that may call the function run it as its owner, the gateway's upstream role")
			}
		case "leakproof":
			if defTrue(d) {
				a.forbid("LEAKPROOF lets the planner run the function on rows that row-level security and security barrier views hide; PostgreSQL reserves it to superusers")
			}
		case "set":
			if s := d.Arg.GetVariableSetStmt(); s != nil {
				switch strings.ToLower(s.Name) {
				case "role", "session_authorization":
					a.forbid("a function that sets " + strings.ToLower(s.Name) + " changes the identity the gateway connected as")
				}
			}
		}
	}
}

// doLanguage forbids DO in a language other than plpgsql (the default):
// DO LANGUAGE plpython3u runs Python in the server process, which the
// grant naming pg_catalog.do (code the gateway does not analyze, in the
// database's own languages) does not cover.
func (a *analyzer) doLanguage(args []*pg_query.Node) {
	for _, o := range args {
		if d := o.GetDefElem(); d != nil && d.Defname == "language" {
			if lang := d.Arg.GetString_().GetSval(); !trustedLanguages[lang] {
				a.forbid("DO LANGUAGE " + ident(lang) + ": code in languages other than plpgsql (c, internal, untrusted languages) runs in the database server's process; the gateway allows plpgsql only")
			}
		}
	}
}

// defTrue reports a DefElem whose argument is not false (no argument is
// true, as PostgreSQL reads it).
func defTrue(d *pg_query.DefElem) bool {
	if d.Arg == nil {
		return true
	}
	if b := d.Arg.GetBoolean(); b != nil {
		return b.Boolval
	}
	if c := d.Arg.GetAConst(); c != nil {
		if b, ok := c.Val.(*pg_query.A_Const_Boolval); ok {
			return b.Boolval.GetBoolval()
		}
		if i, ok := c.Val.(*pg_query.A_Const_Ival); ok {
			return i.Ival.GetIval() != 0
		}
	}
	if s := d.Arg.GetString_(); s != nil {
		switch strings.ToLower(s.Sval) {
		case "false", "off", "no", "0":
			return false
		}
	}
	return true
}

// defOn reports an option named name that is not false.
func defOn(opts []*pg_query.Node, name string) bool {
	for _, o := range opts {
		if d := o.GetDefElem(); d != nil && strings.EqualFold(d.Defname, name) && defTrue(d) {
			return true
		}
	}
	return false
}

// publication forbids publishing every table, or every table of a schema:
// a subscriber would receive tables no grant covers, masked columns
// included. FOR TABLE needs ddl on each table (the generic walk).
func (a *analyzer) publication(all bool, objects []*pg_query.Node) {
	if all {
		a.forbid("a publication FOR ALL TABLES sends every table of the database, masked columns included, to its subscribers")
		return
	}
	for _, o := range objects {
		if o.GetPublicationObjSpec().GetPubobjtype() != pg_query.PublicationObjSpecType_PUBLICATIONOBJ_TABLE {
			a.forbid("a publication FOR TABLES IN SCHEMA sends every table of the schema, masked columns included, to its subscribers")
			return
		}
	}
}

// ChangedPublications returns the publications the statement text alters,
// renames or drops, unquoted. A publication names no relation, so the
// analysis decides it as database-level (table ""); what it changes is
// what the publication's subscribers receive, so the gateway decides it
// on the tables the publication publishes, which only the catalog knows.
func ChangedPublications(text string) ([]string, error) {
	tree, err := pg_query.Parse(text)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, raw := range tree.Stmts {
		switch x := raw.Stmt.GetNode().(type) {
		case *pg_query.Node_AlterPublicationStmt:
			names = append(names, x.AlterPublicationStmt.Pubname)
		case *pg_query.Node_RenameStmt:
			if x.RenameStmt.RenameType == pg_query.ObjectType_OBJECT_PUBLICATION {
				names = append(names, x.RenameStmt.Object.GetString_().GetSval())
			}
		case *pg_query.Node_DropStmt:
			if x.DropStmt.RemoveType == pg_query.ObjectType_OBJECT_PUBLICATION {
				for _, o := range x.DropStmt.Objects {
					names = append(names, o.GetString_().GetSval())
				}
			}
		}
	}
	return names, nil
}

// createSchema: CREATE SCHEMA is database-level (table ""); its elements
// (tables, views, sequences, indexes, grants) are analyzed as the
// statements they are, with the relations they create named in the new
// schema (PostgreSQL creates them there, and finds them there first).
func (a *analyzer) createSchema(s *pg_query.CreateSchemaStmt) {
	a.access("ddl", "")
	if r := s.Authrole; r != nil && r.Roletype != pg_query.RoleSpecType_ROLESPEC_CURRENT_ROLE &&
		r.Roletype != pg_query.RoleSpecType_ROLESPEC_CURRENT_USER && r.Roletype != pg_query.RoleSpecType_ROLESPEC_SESSION_USER {
		a.forbid("CREATE SCHEMA AUTHORIZATION another role: " + reasonOwner)
	}
	if systemSchema(s.Schemaname) {
		a.forbid("schema " + ident(s.Schemaname) + " " + reasonSystem)
	}
	if len(s.SchemaElts) == 0 {
		return
	}
	if s.Schemaname == "" {
		a.forbid("CREATE SCHEMA AUTHORIZATION without a schema name creates its elements in a schema the gateway cannot name: create the schema, then its objects")
		return
	}
	created := map[string]bool{}
	for _, e := range s.SchemaElts {
		var rv *pg_query.RangeVar
		switch x := e.GetNode().(type) {
		case *pg_query.Node_CreateStmt:
			rv = x.CreateStmt.Relation
		case *pg_query.Node_ViewStmt:
			rv = x.ViewStmt.View
		case *pg_query.Node_CreateSeqStmt:
			rv = x.CreateSeqStmt.Sequence
		}
		if rv != nil && (rv.Schemaname == "" || rv.Schemaname == s.Schemaname) {
			created[rv.Relname] = true
		}
	}
	for _, e := range s.SchemaElts {
		if e.GetCreateTrigStmt() != nil {
			a.forbid("CREATE TRIGGER inside CREATE SCHEMA: create the trigger with its own statement")
			continue
		}
		e = proto.Clone(e).(*pg_query.Node)
		inSchema(e.ProtoReflect(), s.Schemaname, created)
		a.classify(e, &Analyzed{})
	}
}

// inSchema qualifies, at any depth, the unqualified relation names of m
// that name a relation the CREATE SCHEMA creates.
func inSchema(m protoreflect.Message, schema string, created map[string]bool) {
	if rv, ok := m.Interface().(*pg_query.RangeVar); ok {
		if rv.Schemaname == "" && rv.Catalogname == "" && created[rv.Relname] {
			rv.Schemaname = schema
		}
		return
	}
	children(m, func(c protoreflect.Message) bool {
		inSchema(c, schema, created)
		return true
	})
}

// functionOptionNames are the options of CREATE OPERATOR, CREATE
// AGGREGATE and CREATE TYPE ... AS RANGE whose value is a function the
// object calls.
var functionOptionNames = setOf(`function procedure restrict join sfunc finalfunc combinefunc
	serialfunc deserialfunc msfunc minvfunc mfinalfunc subtype_diff canonical`)

// definedFunctions reports the functions a definition's options name.
func (a *analyzer) definedFunctions(defs []*pg_query.Node) {
	for _, o := range defs {
		d := o.GetDefElem()
		if d == nil || !functionOptionNames[strings.ToLower(d.Defname)] || d.Arg == nil {
			continue
		}
		var name string
		switch v := d.Arg.GetNode().(type) {
		case *pg_query.Node_TypeName:
			name = qualifiedName(v.TypeName.Names)
		case *pg_query.Node_List:
			name = qualifiedName(v.List.Items)
		case *pg_query.Node_String_:
			name = ident(v.String_.Sval)
		}
		if name == "" {
			a.forbid("CREATE ... " + d.Defname + ": the function it names could not be read")
			continue
		}
		a.function(name)
	}
}
