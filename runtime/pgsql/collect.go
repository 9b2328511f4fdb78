package pgsql

import (
	"maps"
	"sort"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/mandatehq/mandate/model"
)

// analyzer collects what one statement needs while the walkers visit it.
type analyzer struct {
	opts      Options
	accesses  map[model.Access]bool
	functions map[string]bool
	filters   map[string]bool
	// builtins and operators are the safe-set functions and the operators
	// the statement names without a schema: the search path picks them.
	builtins  map[string]bool
	operators map[string]bool
	forbidden string
	always    bool
	// looseClass is the class of relations met outside a FROM clause
	// ("select" when empty; "ddl" while walking a DDL statement).
	looseClass string
	// writes accumulates what flows into stored data.
	writes linAcc
	// assigns are the target columns the statement's writes set
	// (Analyzed.Assigns).
	assigns map[string]bool
	// updates are those of them updates set (Analyzed.Updates).
	updates map[string]bool
	// typed are the columns read as the argument of a call that cannot
	// fail on the right type (typed.go).
	typed map[typedKey]map[string]bool
	// unqualifiedObjects are Analyzed.Unqualified (sysnames.go).
	unqualifiedObjects []ObjectName
	// literal is set when the analysis read a literal's value.
	literal bool
	// filterUnknown is set when a filter reads something whose origin is
	// unknown (a reference the analyzer cannot resolve).
	filterUnknown bool
	// reads are the sources of every column reference and star, at any
	// depth; readsUnknown is set when one of them could not be resolved.
	reads        map[string]bool
	readsUnknown bool
	// settingsGated is set when reading configuration made the statement
	// need select on pg_settings, settingsNamed when it names pg_settings
	// itself (settingsread.go).
	settingsGated, settingsNamed bool
	// credential is the refusal of a credential read (credentials.go),
	// kept apart from forbidden: statement forbids with it.
	credential string
	// version is the parse tree version, for Deparse.
	version int32
	// depth guards the Go recursion on pathological trees.
	depth int
}

func newAnalyzer(opts Options) *analyzer {
	return &analyzer{
		opts:      opts,
		accesses:  map[model.Access]bool{},
		functions: map[string]bool{},
		filters:   map[string]bool{},
		reads:     map[string]bool{},
		assigns:   map[string]bool{},
		updates:   map[string]bool{},
		builtins:  map[string]bool{},
		operators: map[string]bool{},
	}
}

// maxDepth bounds the nesting the walkers follow; deeper trees are forbidden.
const maxDepth = 2000

func (a *analyzer) enter() bool {
	a.depth++
	if a.depth > maxDepth {
		a.forbid("statement nests too deeply to analyze")
		return false
	}
	return true
}

func (a *analyzer) leave() { a.depth-- }

func (a *analyzer) access(class, table string) {
	if reason, ok := valueCatalogs[table]; ok {
		a.forbid(table + " " + reason)
	}
	if table == "pg_catalog.pg_settings" && class != "select" && class != "copy_out" {
		// Its rules turn UPDATE into set_config(name, setting): any
		// setting, past what SET and set_config may change.
		a.forbid("writing pg_catalog.pg_settings changes run-time settings (its rules call set_config), past the rules of SET")
	}
	if credentialCatalogs[table] && class != "select" && class != "copy_out" {
		a.forbid("writing " + table + " changes roles, their settings or credentials, which are managed outside the gateway (as CREATE/ALTER ROLE and USER MAPPING are)")
	}
	a.systemAccess(class, table)
	if table == settingsCatalog {
		a.settingsNamed = true
	}
	if (class == "select" || class == "copy_out") && settingsRelations[table] {
		a.readSettings() // configuration files, stored settings (settingsread.go)
	}
	a.accesses[model.Access{Class: class, Table: table}] = true
}

// systemAccess forbids what no grant may do to PostgreSQL's own
// relations, whatever its table patterns (pg_catalog.*, *.*) cover:
//
//   - write, lock or change the system catalogs and information_schema
//     (the upstream role is often a superuser, to which PostgreSQL allows
//     UPDATE pg_attribute SET attname = ..., renaming a masked column out
//     of its rule, or UPDATE pg_class SET relrowsecurity = false); their
//     objects change through DDL, which the gateway decides;
//   - read or write the TOAST tables (schemas pg_toast and pg_toast_temp_N),
//     which hold the stored bytes of other tables' long values, out of
//     reach of those tables' grants and masking rules.
func (a *analyzer) systemAccess(class, table string) {
	schema, _, ok := strings.Cut(table, ".")
	if !ok {
		return
	}
	switch {
	case schema == "pg_toast" || strings.HasPrefix(schema, "pg_toast_temp_"):
		a.forbid(table + " is a TOAST table: it holds the stored values of another table's columns, out of reach of that table's grants and masking rules")
	case (schema == "pg_catalog" || schema == "information_schema") && class != "select" && class != "copy_out":
		a.forbid("writing, locking or altering " + table + " changes PostgreSQL's own catalog, which no grant allows: change objects through DDL")
	}
}

// valueCatalogs hold copies of column values of every table (most common
// values, histogram bounds, extended statistics). The gateway's credential
// can read them for tables no grant covers, and masking cannot reach
// them: no grant allows them.
var valueCatalogs = map[string]string{
	"pg_catalog.pg_statistic":          "holds sampled column values of every table",
	"pg_catalog.pg_stats":              "shows sampled column values of every table (most common values, histogram bounds)",
	"pg_catalog.pg_statistic_ext_data": "holds sampled column values of every table",
	"pg_catalog.pg_stats_ext":          "shows sampled column values of every table",
	"pg_catalog.pg_stats_ext_exprs":    "shows sampled expression values of every table",
}

// catalogRelations are the tables and views of pg_catalog (PostgreSQL 13
// to 18). An unqualified name resolves to one of them before the search
// path's schemas; any other name, pg_* or not, to the path's schema.
var catalogRelations = setOf(`pg_aggregate pg_aios pg_am pg_amop pg_amproc pg_attrdef
	pg_attribute pg_auth_members pg_authid pg_available_extension_versions
	pg_available_extensions pg_backend_memory_contexts pg_cast pg_class pg_collation pg_config
	pg_constraint pg_conversion pg_cursors pg_database pg_db_role_setting pg_default_acl
	pg_depend pg_description pg_enum pg_event_trigger pg_extension pg_file_settings
	pg_foreign_data_wrapper pg_foreign_server pg_foreign_table pg_group pg_hba_file_rules
	pg_ident_file_mappings pg_index pg_indexes pg_inherits pg_init_privs pg_language
	pg_largeobject pg_largeobject_metadata pg_locks pg_matviews pg_namespace pg_opclass
	pg_operator pg_opfamily pg_parameter_acl pg_partitioned_table pg_policies pg_policy
	pg_prepared_statements pg_prepared_xacts pg_proc pg_publication pg_publication_namespace
	pg_publication_rel pg_publication_tables pg_range pg_replication_origin
	pg_replication_origin_status pg_replication_slots pg_rewrite pg_roles pg_rules pg_seclabel
	pg_seclabels pg_sequence pg_sequences pg_settings pg_shadow pg_shdepend pg_shdescription
	pg_shmem_allocations pg_shmem_allocations_numa pg_shseclabel pg_stat_activity
	pg_stat_all_indexes pg_stat_all_tables pg_stat_archiver pg_stat_bgwriter
	pg_stat_checkpointer pg_stat_database pg_stat_database_conflicts pg_stat_gssapi pg_stat_io
	pg_stat_progress_analyze pg_stat_progress_basebackup pg_stat_progress_cluster
	pg_stat_progress_copy pg_stat_progress_create_index pg_stat_progress_vacuum
	pg_stat_recovery_prefetch pg_stat_replication pg_stat_replication_slots pg_stat_slru
	pg_stat_ssl pg_stat_subscription pg_stat_subscription_stats pg_stat_sys_indexes
	pg_stat_sys_tables pg_stat_user_functions pg_stat_user_indexes pg_stat_user_tables
	pg_stat_wal pg_stat_wal_receiver pg_stat_xact_all_tables pg_stat_xact_sys_tables
	pg_stat_xact_user_functions pg_stat_xact_user_tables pg_statio_all_indexes
	pg_statio_all_sequences pg_statio_all_tables pg_statio_sys_indexes pg_statio_sys_sequences
	pg_statio_sys_tables pg_statio_user_indexes pg_statio_user_sequences pg_statio_user_tables
	pg_statistic pg_statistic_ext pg_statistic_ext_data pg_stats pg_stats_ext
	pg_stats_ext_exprs pg_subscription pg_subscription_rel pg_tables pg_tablespace
	pg_timezone_abbrevs pg_timezone_names pg_transform pg_trigger pg_ts_config
	pg_ts_config_map pg_ts_dict pg_ts_parser pg_ts_template pg_type pg_user pg_user_mapping
	pg_user_mappings pg_views pg_wait_events`)

func (a *analyzer) looseAccess(rv *pg_query.RangeVar) {
	class := a.looseClass
	if class == "" {
		class = "select"
	}
	a.access(class, a.relName(rv))
}

func (a *analyzer) function(name string) {
	a.functions[name] = true
	a.credentialCall(name) // pg_stat_get_activity: othersessions.go
}

// operator records an operator the statement names. One qualified with a
// schema other than pg_catalog is user code, reported like a function; an
// unqualified one is left to the search path.
func (a *analyzer) operator(nameParts []*pg_query.Node) {
	name := qualifiedName(nameParts)
	switch {
	case name == "":
	case len(nameParts) == 1:
		a.operators[nameParts[0].GetString_().GetSval()] = true
	case !strings.HasPrefix(name, "pg_catalog."):
		a.function(name)
	}
}

func (a *analyzer) filter(sources []string) {
	for _, s := range sources {
		a.filters[s] = true
	}
	a.credentials(Lineage{Sources: sources}) // JOIN USING (rolpassword): credentials.go
}

// filterLineage marks what l reads as filter columns.
func (a *analyzer) filterLineage(l Lineage) {
	a.filter(l.Sources)
	if l.Unknown {
		a.filterUnknown = true
	}
}

// read records what a column reference or star reads, wherever it is.
func (a *analyzer) read(l Lineage) {
	for _, s := range l.Sources {
		a.reads[s] = true
		if settingsColumns[s] {
			a.readSettings() // settings stored for roles (settingsread.go)
		}
	}
	a.credentials(l) // password verifiers, user mapping options (credentials.go)
	if l.Unknown {
		a.readsUnknown = true
	}
}

// readsLineage is everything the statement reads, as one lineage.
func (a *analyzer) readsLineage() Lineage {
	return Lineage{Sources: setList(a.reads), Unknown: a.readsUnknown}
}

// forbid records the first reason a statement is forbidden.
func (a *analyzer) forbid(reason string) {
	if a.forbidden == "" {
		a.forbidden = reason
	}
}

// statement builds the model statement with sorted, deduplicated lists.
func (a *analyzer) statement(tag string) model.Statement {
	forbidden := a.forbidden
	if forbidden == "" {
		forbidden = a.credential
	}
	st := model.Statement{Tag: tag, Forbidden: forbidden, Always: a.always && forbidden == ""}
	st.Accesses = make([]model.Access, 0, len(a.accesses))
	for x := range a.accesses {
		st.Accesses = append(st.Accesses, x)
	}
	sortAccesses(st.Accesses)
	st.Functions = setList(a.functions)
	filters := a.filters
	if len(a.typed) > 0 {
		// Typed reads stay filter columns unless the proxy finds their
		// types (Analyzed.TypedFilters): dropping those fails closed.
		filters = maps.Clone(a.filters)
		for _, c := range a.typedColumns() {
			filters[c] = true
		}
	}
	st.FilterColumns = setList(filters)
	return st
}

func setList(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ident renders one name part; parts that would make a dotted name ambiguous
// are double-quoted.
func ident(s string) string {
	if s != "" && !strings.ContainsAny(s, `."*`) {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// relName resolves a relation to schema.table: qualified names as written,
// unqualified names of system catalogs to pg_catalog (PostgreSQL searches
// it before the path's schemas), temporary relations being created to
// pg_temp, everything else to the first schema of the pinned search path.
// An unqualified pg_* name that names no system catalog is a relation of
// the path's schema to the server, so it is one here too.
func (a *analyzer) relName(rv *pg_query.RangeVar) string {
	schema := rv.Schemaname
	if schema == "" {
		switch {
		case rv.Relpersistence == "t":
			schema = "pg_temp"
		case catalogRelations[rv.Relname]:
			schema = "pg_catalog"
		default:
			schema = a.opts.defaultSchema()
		}
	}
	return ident(schema) + "." + ident(rv.Relname)
}

// qualifiedName renders a list of String nodes (function, type or object
// names) as written, dotted.
func qualifiedName(parts []*pg_query.Node) string {
	names := make([]string, 0, len(parts))
	for _, p := range parts {
		if s := p.GetString_(); s != nil {
			names = append(names, ident(s.Sval))
		}
	}
	return strings.Join(names, ".")
}

// linAcc accumulates the lineage of one expression.
type linAcc struct {
	sources []string
	unknown bool
	// direct is the directness of the last column reference added.
	direct bool
}

func (l *linAcc) add(srcs ...string) {
	for _, s := range srcs {
		dup := false
		for _, x := range l.sources {
			if x == s {
				dup = true
				break
			}
		}
		if !dup {
			l.sources = append(l.sources, s)
		}
	}
}

func (l *linAcc) addLineage(x Lineage) {
	l.add(x.Sources...)
	if x.Unknown {
		l.unknown = true
	}
}

func (l *linAcc) lineage() Lineage {
	srcs := append([]string(nil), l.sources...)
	sort.Strings(srcs)
	return Lineage{Sources: srcs, Unknown: l.unknown}
}

func union(ls []Lineage) Lineage {
	var acc linAcc
	for _, l := range ls {
		acc.addLineage(l)
	}
	return acc.lineage()
}

// stored records lineage that flows into stored data.
func (a *analyzer) stored(ls []Lineage) {
	for _, l := range ls {
		a.writes.addLineage(l)
	}
}
