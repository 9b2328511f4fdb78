package pgsql

import (
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
	forbidden string
	always    bool
	// looseClass is the class of relations met outside a FROM clause
	// ("select" when empty; "ddl" while walking a DDL statement).
	looseClass string
	// writes accumulates what flows into stored data.
	writes linAcc
	// literal is set when the analysis read a literal's value.
	literal bool
	// filterUnknown is set when a filter reads something whose origin is
	// unknown (a reference the analyzer cannot resolve).
	filterUnknown bool
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
	a.accesses[model.Access{Class: class, Table: table}] = true
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

func (a *analyzer) looseAccess(rv *pg_query.RangeVar) {
	class := a.looseClass
	if class == "" {
		class = "select"
	}
	a.access(class, a.relName(rv))
}

func (a *analyzer) function(name string) { a.functions[name] = true }

func (a *analyzer) filter(sources []string) {
	for _, s := range sources {
		a.filters[s] = true
	}
}

// filterLineage marks what l reads as filter columns.
func (a *analyzer) filterLineage(l Lineage) {
	a.filter(l.Sources)
	if l.Unknown {
		a.filterUnknown = true
	}
}

// forbid records the first reason a statement is forbidden.
func (a *analyzer) forbid(reason string) {
	if a.forbidden == "" {
		a.forbidden = reason
	}
}

// statement builds the model statement with sorted, deduplicated lists.
func (a *analyzer) statement(tag string) model.Statement {
	st := model.Statement{Tag: tag, Forbidden: a.forbidden, Always: a.always && a.forbidden == ""}
	st.Accesses = make([]model.Access, 0, len(a.accesses))
	for x := range a.accesses {
		st.Accesses = append(st.Accesses, x)
	}
	sortAccesses(st.Accesses)
	st.Functions = setList(a.functions)
	st.FilterColumns = setList(a.filters)
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
// unqualified pg_* names to pg_catalog, temporary relations being created to
// pg_temp, everything else to the first schema of the pinned search path.
func (a *analyzer) relName(rv *pg_query.RangeVar) string {
	schema := rv.Schemaname
	if schema == "" {
		switch {
		case rv.Relpersistence == "t":
			schema = "pg_temp"
		case strings.HasPrefix(rv.Relname, "pg_"):
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
