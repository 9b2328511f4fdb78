package pgsql

import (
	"strings"
	"unicode"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// analyzeStmt analyzes one top-level statement. literal reports an
// analysis that read a literal's value, gateOnly a select on pg_settings
// that is only the grant reading configuration needs (settingsread.go),
// credOnly a statement forbidden only for reading credentials
// (credentials.go).
func analyzeStmt(n *pg_query.Node, text string, opts Options, version int32) (an *Analyzed, literal, gateOnly, credOnly bool) {
	a := newAnalyzer(opts)
	a.version = version
	an = &Analyzed{Text: text}
	// Before classify, so that the analysis of a PREPAREd statement,
	// taken inside, has them too.
	a.syntaxCalls(n)
	a.settingsCalls(n)
	tag := a.classify(n, an)
	credOnly = a.forbidden == "" && a.credential != ""
	an.Statement = a.statement(tag)
	an.Writes = a.writes.lineage()
	an.Assigns = setList(a.assigns)
	an.Updates = setList(a.updates)
	an.FilterUnknown = a.filterUnknown
	an.TypedFilters = a.typedFilters()
	an.Unqualified = a.unqualifiedObjects
	an.Reads = a.readsLineage()
	an.Builtins, an.Operators = setList(a.builtins), setList(a.operators)
	return an, a.literal, a.settingsGated && !a.settingsNamed, credOnly
}

// classify analyzes a statement node into a and an, and returns its tag.
func (a *analyzer) classify(n *pg_query.Node, an *Analyzed) string {
	root := &scope{}
	switch x := n.GetNode().(type) {
	case nil:
		a.forbid("empty statement node")
		return ""
	case *pg_query.Node_SelectStmt:
		an.Outputs = a.query(n, root, false)
		return "SELECT"
	case *pg_query.Node_InsertStmt:
		an.Outputs = a.query(n, root, false)
		return "INSERT"
	case *pg_query.Node_UpdateStmt:
		an.Outputs = a.query(n, root, false)
		return "UPDATE"
	case *pg_query.Node_DeleteStmt:
		an.Outputs = a.query(n, root, false)
		return "DELETE"
	case *pg_query.Node_MergeStmt:
		an.Outputs = a.query(n, root, false)
		return "MERGE"
	case *pg_query.Node_ExplainStmt:
		// EXPLAIN needs what its statement needs, whether or not ANALYZE
		// executes it: the plan alone describes the statement.
		a.classify(x.ExplainStmt.Query, &Analyzed{})
		// ANALYZE runs it and reports, node by node, row counts, loops,
		// memory and buffers that depend on the values it reads: every
		// column it reads is a filter column (SELECT repeat('x',
		// ascii(ssn) * 1024) ... ORDER BY id shows the sort's memory).
		analyze, literal := explainAnalyzes(x.ExplainStmt.Options)
		a.literal = a.literal || literal
		if analyze {
			a.filterLineage(a.readsLineage())
		}
		// With or without ANALYZE, the plan is the planner's estimates:
		// each node's rows, width and cost come from the size of every
		// relation it reads (its pages, which depend on the size of every
		// value stored) and the statistics of its columns (a masked
		// column's average width is the width of the scan that outputs
		// it; with one row, its length), and so does the plan's shape
		// (COSTS OFF). A filter on the whole row of each relation. Not
		// through filter: a whole row of a catalog of credentials is no
		// read of them here.
		for x := range a.accesses {
			if x.Table != "" {
				a.filters[x.Table+".*"] = true
			}
		}
		return "EXPLAIN"
	case *pg_query.Node_CopyStmt:
		a.copyStmt(x.CopyStmt, an)
		return "COPY"
	case *pg_query.Node_VariableSetStmt:
		return a.setStmt(x.VariableSetStmt, an)
	case *pg_query.Node_VariableShowStmt:
		return a.showStmt(x.VariableShowStmt)
	case *pg_query.Node_TransactionStmt:
		return a.transactionStmt(x.TransactionStmt, an)
	case *pg_query.Node_DiscardStmt:
		if x.DiscardStmt.Target == pg_query.DiscardMode_DISCARD_ALL {
			a.forbid("DISCARD ALL resets the session settings the gateway pins; reconnect instead")
		}
		a.always = true
		return "DISCARD"
	case *pg_query.Node_ConstraintsSetStmt:
		a.always = true
		return "SET CONSTRAINTS"
	case *pg_query.Node_PrepareStmt:
		return a.prepareStmt(x.PrepareStmt, an)
	case *pg_query.Node_ExecuteStmt:
		an.Name = x.ExecuteStmt.Name
		// Parameters may be stored by the prepared statement.
		for _, p := range x.ExecuteStmt.Params {
			a.expr(p, root, false, &a.writes)
		}
		a.forbid("EXECUTE of prepared statement " + ident(an.Name) + " that the gateway has not analyzed")
		return "EXECUTE"
	case *pg_query.Node_DeallocateStmt:
		an.Name = x.DeallocateStmt.Name
		a.always = true
		return "DEALLOCATE"
	case *pg_query.Node_DeclareCursorStmt:
		an.Name = x.DeclareCursorStmt.Portalname
		an.Hold = x.DeclareCursorStmt.Options&cursorOptHold != 0
		a.classify(x.DeclareCursorStmt.Query, an)
		return "DECLARE CURSOR"
	case *pg_query.Node_FetchStmt:
		an.Name = x.FetchStmt.Portalname
		a.always = true
		if x.FetchStmt.Ismove {
			return "MOVE"
		}
		return "FETCH"
	case *pg_query.Node_ClosePortalStmt:
		an.Name = x.ClosePortalStmt.Portalname
		a.always = true
		return "CLOSE CURSOR"
	case *pg_query.Node_CallStmt:
		a.access("call", "")
		// A procedure with OUT parameters returns a row computed by code
		// the analyzer cannot see.
		an.Outputs = []Lineage{{Unknown: true}}
		if fc := x.CallStmt.Funccall; fc != nil {
			a.function(qualifiedName(fc.Funcname))
			var discard linAcc
			for _, arg := range fc.Args {
				a.expr(arg, root, false, &discard)
			}
		}
		return "CALL"
	case *pg_query.Node_DoStmt:
		// An anonymous code block can do anything its language can: it
		// needs the call class and the function grant "pg_catalog.do".
		a.access("call", "")
		a.function("pg_catalog.do")
		a.doLanguage(x.DoStmt.Args) // dbddl.go
		return "DO"
	case *pg_query.Node_LockStmt:
		for _, r := range x.LockStmt.Relations {
			if rv := r.GetRangeVar(); rv != nil {
				a.access("update", a.relName(rv))
			}
		}
		return "LOCK TABLE"
	case *pg_query.Node_TruncateStmt:
		// TRUNCATE removes every row: it needs delete on each table.
		for _, r := range x.TruncateStmt.Relations {
			if rv := r.GetRangeVar(); rv != nil {
				a.access("delete", a.relName(rv))
			}
		}
		// CASCADE also empties the tables with foreign keys referencing
		// these: the gateway looks them up (dbddl.go).
		a.cascade(n, an)
		return "TRUNCATE TABLE"
	case *pg_query.Node_ListenStmt:
		a.forbid("LISTEN opens a side channel between sessions the gateway cannot inspect")
		return "LISTEN"
	case *pg_query.Node_UnlistenStmt:
		a.forbid("UNLISTEN belongs to LISTEN, which the gateway does not allow")
		return "UNLISTEN"
	case *pg_query.Node_NotifyStmt:
		a.forbid("NOTIFY opens a side channel between sessions the gateway cannot inspect")
		return "NOTIFY"
	case *pg_query.Node_CreateTableAsStmt:
		ct := x.CreateTableAsStmt
		if ct.Into != nil && ct.Into.Rel != nil {
			a.access("ddl", a.relName(ct.Into.Rel))
		}
		inner := &Analyzed{}
		a.classify(ct.Query, inner)
		a.stored(inner.Outputs)
		if ct.Objtype == pg_query.ObjectType_OBJECT_MATVIEW {
			return "CREATE MATERIALIZED VIEW"
		}
		return "CREATE TABLE AS"
	case *pg_query.Node_ViewStmt:
		a.access("ddl", a.relName(x.ViewStmt.View))
		inner := &Analyzed{}
		a.classify(x.ViewStmt.Query, inner)
		a.stored(inner.Outputs)
		return "CREATE VIEW"
	case *pg_query.Node_LoadStmt:
		a.forbid("LOAD loads a shared library into the server")
		return "LOAD"
	case *pg_query.Node_AlterSystemStmt:
		a.forbid("ALTER SYSTEM changes the server's configuration")
		return "ALTER SYSTEM"
	case *pg_query.Node_AlterRoleSetStmt, *pg_query.Node_AlterDatabaseSetStmt:
		a.forbid("changing a role's or database's default settings would undo what the gateway pins")
		return tagOf(n)
	case *pg_query.Node_CreateRoleStmt, *pg_query.Node_AlterRoleStmt, *pg_query.Node_DropRoleStmt,
		*pg_query.Node_GrantRoleStmt, *pg_query.Node_ReassignOwnedStmt, *pg_query.Node_DropOwnedStmt:
		a.forbid("roles and role memberships are managed outside the gateway")
		return tagOf(n)
	case *pg_query.Node_CreateSubscriptionStmt, *pg_query.Node_AlterSubscriptionStmt,
		*pg_query.Node_DropSubscriptionStmt:
		a.forbid("subscriptions make the server connect to other servers")
		return tagOf(n)
	case *pg_query.Node_CreateUserMappingStmt, *pg_query.Node_AlterUserMappingStmt, *pg_query.Node_DropUserMappingStmt:
		a.forbid("user mappings store credentials for other servers")
		return tagOf(n)
	case *pg_query.Node_DropStmt:
		a.dropDDL(x.DropStmt) // dbddl.go
		a.cascade(n, an)
		a.objectDDL(x.DropStmt.RemoveType, x.DropStmt.Objects)
		return "DROP"
	case *pg_query.Node_CommentStmt:
		a.systemObject(x.CommentStmt.Objtype, x.CommentStmt.Object, true) // dbddl.go
		a.objectDDL(x.CommentStmt.Objtype, []*pg_query.Node{x.CommentStmt.Object})
		return "COMMENT"
	case *pg_query.Node_SecLabelStmt:
		if !relationKinds[x.SecLabelStmt.Objtype] {
			// A label is access control (sepgsql), as GRANT is.
			a.forbid("SECURITY LABEL: " + reasonPrivileges)
		}
		a.objectDDL(x.SecLabelStmt.Objtype, []*pg_query.Node{x.SecLabelStmt.Object})
		return "SECURITY LABEL"
	case *pg_query.Node_CreateSchemaStmt:
		a.createSchema(x.CreateSchemaStmt) // dbddl.go
		return "CREATE SCHEMA"
	}
	a.databaseDDL(n) // dbddl.go
	a.cascade(n, an) // dbddl.go: ALTER TABLE, ALTER TYPE, ALTER DOMAIN
	a.ddl(n)
	return tagOf(n)
}

// ddl classifies any other utility statement as ddl: on every relation it
// names, or on "" (the database) when it names none.
func (a *analyzer) ddl(n *pg_query.Node) {
	a.looseClass = "ddl"
	var discard linAcc
	a.generic(n.ProtoReflect(), &scope{}, false, &discard)
	a.looseClass = ""
	hasDDL := false
	for x := range a.accesses {
		if x.Class == "ddl" {
			hasDDL = true
		}
	}
	if !hasDDL {
		a.access("ddl", "")
	}
}

// objectDDL: DROP, COMMENT and SECURITY LABEL of relations (and of their
// columns, triggers, rules, policies and constraints, which name their
// relation first) need ddl on them; other objects are database-level
// (table "").
func (a *analyzer) objectDDL(kind pg_query.ObjectType, objects []*pg_query.Node) {
	owned := ownedByRelation[kind]
	if relationKinds[kind] {
		for _, o := range objects {
			parts := stringList(o.GetList().GetItems())
			if owned && len(parts) > 0 {
				parts = parts[:len(parts)-1]
			}
			rv := &pg_query.RangeVar{}
			switch len(parts) {
			case 0:
				a.forbid("DDL on a relation the analyzer cannot name")
				continue
			case 1:
				rv.Relname = parts[0]
			default:
				rv.Schemaname, rv.Relname = parts[len(parts)-2], parts[len(parts)-1]
			}
			a.access("ddl", a.relName(rv))
		}
		return
	}
	a.access("ddl", "")
}

// prepareStmt: PREPARE needs what its statement needs.
func (a *analyzer) prepareStmt(p *pg_query.PrepareStmt, an *Analyzed) string {
	an.Name = p.Name
	inner := &Analyzed{}
	tag := a.classify(p.Query, inner)
	text, err := pg_query.Deparse(&pg_query.ParseResult{Version: a.version, Stmts: []*pg_query.RawStmt{{Stmt: p.Query}}})
	if err != nil {
		a.forbid("the statement inside PREPARE cannot be rendered")
	}
	an.Outputs = inner.Outputs
	an.ReadWrite = inner.ReadWrite
	inner.Text = text
	inner.Statement = a.statement(tag)
	inner.Writes = a.writes.lineage()
	inner.Assigns = setList(a.assigns)
	inner.Updates = setList(a.updates)
	inner.FilterUnknown = a.filterUnknown
	inner.TypedFilters = a.typedFilters()
	inner.Reads = a.readsLineage()
	inner.Builtins, inner.Operators = setList(a.builtins), setList(a.operators)
	inner.DecisionKey = decisionKey(inner)
	an.Prepared = inner
	return "PREPARE"
}

// tagOf derives a command tag family from the node type: CreateStmt ->
// "CREATE", AlterTableStmt -> "ALTER TABLE".
func tagOf(n *pg_query.Node) string {
	name := string(n.ProtoReflect().WhichOneof(n.ProtoReflect().Descriptor().Oneofs().Get(0)).Message().Name())
	if t, ok := ddlTags[name]; ok {
		return t
	}
	if g := n.GetGrantStmt(); g != nil && !g.IsGrant {
		return "REVOKE"
	}
	name = strings.TrimSuffix(name, "Stmt")
	var b strings.Builder
	for i, r := range name {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// ddlTags are the tags of utility statements whose node names differ.
var ddlTags = map[string]string{
	"CreateStmt":            "CREATE TABLE",
	"IndexStmt":             "CREATE INDEX",
	"RuleStmt":              "CREATE RULE",
	"CreateTrigStmt":        "CREATE TRIGGER",
	"CreateFunctionStmt":    "CREATE FUNCTION",
	"CreateSeqStmt":         "CREATE SEQUENCE",
	"CreatedbStmt":          "CREATE DATABASE",
	"DropdbStmt":            "DROP DATABASE",
	"DefineStmt":            "CREATE",
	"RefreshMatViewStmt":    "REFRESH MATERIALIZED VIEW",
	"RenameStmt":            "ALTER",
	"AlterObjectSchemaStmt": "ALTER",
	"AlterOwnerStmt":        "ALTER",
	"CheckPointStmt":        "CHECKPOINT",
	"VacuumStmt":            "VACUUM",
	"CreatePLangStmt":       "CREATE LANGUAGE",
	"CreateEventTrigStmt":   "CREATE EVENT TRIGGER",
	"AlterEventTrigStmt":    "ALTER EVENT TRIGGER",
}

// cursorOptHold is PostgreSQL's CURSOR_OPT_HOLD (DECLARE ... WITH HOLD).
const cursorOptHold = 0x0020
