package pgsql

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/mandatehq/mandate/model"
)

// MaxQueryBytes is the longest query string Analyze accepts; longer strings
// are refused before they reach the C parser.
const MaxQueryBytes = 1 << 20

// ErrTooLarge is returned for query strings longer than MaxQueryBytes.
var ErrTooLarge = errors.New("query string exceeds 1 MiB")

// ErrNUL is returned for query strings holding a NUL byte: the C parser
// would stop reading there and see less than the server might.
var ErrNUL = errors.New("query string contains a NUL byte")

func checkInput(sql string) error {
	if len(sql) > MaxQueryBytes {
		return ErrTooLarge
	}
	if strings.IndexByte(sql, 0) >= 0 {
		return ErrNUL
	}
	return checkNesting(sql)
}

// Options pins how names are resolved.
type Options struct {
	// SearchPath is the schema list the gateway pins for the session; only
	// its first entry matters: unqualified relations (other than pg_*) resolve
	// to it. Default ["public"].
	SearchPath []string
}

func (o Options) defaultSchema() string {
	if len(o.SearchPath) > 0 && o.SearchPath[0] != "" {
		return o.SearchPath[0]
	}
	return "public"
}

// Analyzed is one statement of a query string.
type Analyzed struct {
	// Text is this statement's own text, trimmed.
	Text string
	// Redacted is Text with every literal replaced by a $n parameter
	// (pg_query normalization): the only form of the text a record may
	// store. Empty when normalization failed.
	Redacted string
	// Statement is what the policy decides.
	Statement model.Statement
	// Outputs is the lineage of each result column of a SELECT, VALUES,
	// RETURNING, COPY TO or the query of PREPARE/DECLARE, in order. A Star
	// entry stands for a run of columns the caller expands.
	Outputs []Lineage
	// Writes is what flows into stored data: the rows an INSERT stores, the
	// values of UPDATE/MERGE/ON CONFLICT assignments, the rows of CREATE
	// TABLE AS, SELECT INTO and of a view's query, at any depth. Copying a
	// masked column into another column or table would unmask it, so the
	// proxy denies a statement whose Writes hold a masked column (or are
	// Unknown) when masking applies.
	Writes Lineage
	// Assigns are the columns whose stored values the statement's writes
	// set, at any depth, as schema.table.column of the relation written
	// (a view when the statement names one): the columns of an INSERT,
	// MERGE INSERT or COPY FROM column list (schema.table.* without one),
	// the targets of UPDATE, MERGE UPDATE and ON CONFLICT DO UPDATE SET. A
	// value written into a column a unique, primary key or exclusion
	// constraint covers, or a foreign key checks, makes the server compare
	// it with stored values: the proxy checks them against the masking
	// rules (the statement's error or row count would say whether a
	// masked value exists).
	Assigns []string
	// Updates are the Assigns that an UPDATE, MERGE UPDATE or ON CONFLICT
	// DO UPDATE sets in a row it keeps, whose other columns (masked ones)
	// stay: a CHECK constraint or generated column reading both is
	// evaluated on them (the proxy checks them against the masking rules).
	Updates []string
	// TypedFilters are filter columns (Statement.FilterColumns) read only
	// as the argument of a call that cannot fail on a column of the right
	// type (typed.go): sum(salary) cannot overflow when salary is an
	// integer column. The proxy counts each one's Reads as filters unless
	// the catalog says its Column has the type its Call needs. A merge of
	// analyses that leaves them out keeps the columns as filters.
	TypedFilters []TypedRead
	// FilterUnknown is set when a filter (see FilterColumns) reads
	// something whose origin is unknown: an unresolvable reference, or a
	// view column whose lineage is unknown (after ExpandViews). What it
	// reads may be masked, so the proxy denies the statement when masking
	// applies, as it does for Unknown outputs.
	FilterUnknown bool
	// Reads is every column the statement reads, at any depth, whether or
	// not its value reaches a result column, a filter or stored data: the
	// select list of an EXISTS, a column of a CTE the query does not use,
	// the statement under EXPLAIN ANALYZE. The server still computes what
	// they read, and an error raised on the way may print the value (chr,
	// make_date, regclass), so the proxy hides the error messages of a
	// statement whose Reads hold a masked column (or are Unknown).
	Reads Lineage
	// ViewCode is, after ExpandViews, the functions outside the built-in
	// safe set that the views this statement reads call (through views of
	// views): code the statement runs without naming it, which may read
	// masked columns and leave them where a later statement finds them (a
	// setting set_config wrote). "views nested too deeply" stands for
	// views past maxViewDepth.
	ViewCode []string
	// Builtins are the functions of the built-in safe set this statement
	// calls without a schema, and the names a qualified column reference
	// ends with (q.f, (q).f: PostgreSQL calls f(q) when q has no column
	// f, field notation), and Operators the
	// operators it names without one (and those PostgreSQL looks up for
	// IN, CASE x WHEN, BETWEEN, JOIN USING). The server resolves them
	// through the search path, pg_catalog first, but a better-matching
	// function or operator of the path's schema wins over the built-in:
	// where masking applies the proxy checks the catalog for one.
	Builtins  []string
	Operators []string
	// Unqualified are the database-level objects a statement alters,
	// drops or comments on, written without a schema (sysnames.go):
	// PostgreSQL looks such a name up in pg_catalog first, so the proxy
	// refuses one pg_catalog holds.
	Unqualified []ObjectName
	// Cascade are the objects a DROP, ALTER TABLE, ALTER TYPE, ALTER
	// DOMAIN or TRUNCATE drops, changes or empties with CASCADE, as the
	// statement names them (dbddl.go): CASCADE also reaches what depends
	// on them, which only the catalog knows, so the proxy looks it up and
	// adds an access for each relation reached (pgproxy cascade.go).
	Cascade []CascadeTarget
	// ReadWrite is set for BEGIN/START TRANSACTION READ WRITE, SET
	// TRANSACTION READ WRITE and SET SESSION CHARACTERISTICS AS TRANSACTION
	// READ WRITE: the proxy denies it when the decision is read-only.
	ReadWrite bool
	// Name is the prepared statement name of PREPARE, EXECUTE and
	// DEALLOCATE, or the cursor name of DECLARE, FETCH, MOVE and CLOSE.
	Name string
	// Hold is set for DECLARE ... WITH HOLD: the cursor outlives the
	// transaction that declares it, if that transaction commits.
	Hold bool
	// ToSavepoint is set for ROLLBACK TO SAVEPOINT (tagged ROLLBACK).
	ToSavepoint bool
	// DecisionKey identifies everything the policy decides on (the
	// Statement without its Fingerprint) plus ReadWrite: key a policy
	// decision cache by it. The Fingerprint alone is not enough, as
	// pg_query leaves out literals and options that matter here
	// (BEGIN READ ONLY and BEGIN READ WRITE share a fingerprint).
	DecisionKey string
	// Prepared is the analysis of the statement inside PREPARE (its Text is
	// the inner statement's text); nil otherwise.
	Prepared *Analyzed
}

// Lineage says where the values of one result column come from.
type Lineage struct {
	// Sources are schema.table.column names, or schema.table.* when any
	// column of the table may flow in (whole-row references, star).
	Sources []string `json:"sources,omitempty"`
	// Direct is set when the column is a plain column reference.
	Direct bool `json:"direct,omitempty"`
	// Star is set for a * or t.* target, which covers a run of columns.
	Star bool `json:"star,omitempty"`
	// Unknown is set when the analyzer cannot tell what flows in (calls of
	// functions outside the safe set, unresolvable references); the caller
	// denies the statement when masking applies.
	Unknown bool `json:"unknown,omitempty"`
}

// Analyze parses a query string and analyzes each of its statements. A
// string that does not parse returns an error, and the caller denies it. An
// empty string returns no statements.
func Analyze(sql string, opts Options) ([]*Analyzed, error) {
	res, err := analyze(sql, opts)
	if err != nil {
		return nil, err
	}
	return res.out, nil
}

// analysis is Analyze's result with what the cache needs to know.
type analysis struct {
	out []*Analyzed
	// literalDependent is set per statement whose analysis read a literal's
	// value (ORDER BY 1): it must not be cached by shape.
	literalDependent []bool
	// settingsGateOnly is set per statement whose select on pg_settings
	// is only the grant its reads of configuration need (settingsread.go),
	// not a relation it names.
	settingsGateOnly []bool
	// credentialOnly is set per statement forbidden only because it
	// reads credentials (credentials.go).
	credentialOnly []bool
}

func analyze(sql string, opts Options) (*analysis, error) {
	if err := checkInput(sql); err != nil {
		return nil, err
	}
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, fmt.Errorf("parsing statement: %w", err)
	}
	res := &analysis{out: make([]*Analyzed, 0, len(tree.Stmts))}
	for _, raw := range tree.Stmts {
		text := stmtText(sql, raw)
		an, literal, gateOnly, credOnly := analyzeStmt(raw.Stmt, text, opts, tree.Version)
		fp, err := pg_query.Fingerprint(text)
		if err != nil {
			return nil, fmt.Errorf("fingerprinting statement: %w", err)
		}
		an.Statement.Fingerprint = fp
		// Normalized here, once per cached analysis, so that recording a
		// statement never parses it again.
		an.Redacted, _ = Normalize(text)
		if an.Prepared != nil {
			an.Prepared.Statement.Fingerprint, _ = pg_query.Fingerprint(an.Prepared.Text)
		}
		an.DecisionKey = decisionKey(an)
		res.out = append(res.out, an)
		res.literalDependent = append(res.literalDependent, literal)
		res.settingsGateOnly = append(res.settingsGateOnly, gateOnly)
		res.credentialOnly = append(res.credentialOnly, credOnly)
	}
	return res, nil
}

// Normalize replaces the literals of a query string by $n parameters, for the
// recorder (statement literals never reach the record): PostgreSQL's
// normalization, then every literal token it left in place (scrubLiterals).
func Normalize(sql string) (string, error) {
	if err := checkInput(sql); err != nil {
		return "", err
	}
	s, err := pg_query.Normalize(sql)
	if err != nil {
		return "", fmt.Errorf("normalizing statement: %w", err)
	}
	return scrubLiterals(s)
}

// Fingerprint returns pg_query's fingerprint of a query string: statements
// that differ only in literals share it.
func Fingerprint(sql string) (string, error) {
	if err := checkInput(sql); err != nil {
		return "", err
	}
	s, err := pg_query.Fingerprint(sql)
	if err != nil {
		return "", fmt.Errorf("fingerprinting statement: %w", err)
	}
	return s, nil
}

// ResolveFetch combines a FETCH or MOVE with the analysis of the DECLARE
// of its cursor: it needs what the cursor's query reads and returns that
// query's columns, under its own tag.
func (a *Analyzed) ResolveFetch(cursor *Analyzed) *Analyzed {
	r := a.ResolveExecute(cursor)
	if r == a {
		return a
	}
	r.Statement.Tag = a.Statement.Tag
	r.Outputs = cursor.Outputs
	r.DecisionKey = decisionKey(r)
	return r
}

// ResolveExecute combines an EXECUTE with the analysis of the PREPARE it
// names (the proxy tracks prepared statements per session): the result needs
// the prepared statement's accesses plus those of the EXECUTE parameters.
func (a *Analyzed) ResolveExecute(prepared *Analyzed) *Analyzed {
	if prepared == nil {
		return a
	}
	r := &Analyzed{Text: a.Text, Redacted: a.Redacted, Name: a.Name, ReadWrite: prepared.ReadWrite,
		FilterUnknown: prepared.FilterUnknown || a.FilterUnknown}
	in := prepared.Statement
	r.Writes = union([]Lineage{prepared.Writes, a.Writes})
	r.Reads = union([]Lineage{prepared.Reads, a.Reads})
	r.Assigns = mergeStrings(prepared.Assigns, a.Assigns)
	r.Updates = mergeStrings(prepared.Updates, a.Updates)
	inner := prepared
	if prepared.Prepared != nil {
		inner = prepared.Prepared
		in = prepared.Prepared.Statement
		r.Outputs = prepared.Prepared.Outputs
		r.Writes = union([]Lineage{prepared.Prepared.Writes, a.Writes})
		r.Reads = union([]Lineage{prepared.Prepared.Reads, a.Reads})
		r.Assigns = mergeStrings(prepared.Prepared.Assigns, a.Assigns)
		r.Updates = mergeStrings(prepared.Prepared.Updates, a.Updates)
		r.FilterUnknown = prepared.Prepared.FilterUnknown || a.FilterUnknown
	}
	r.Builtins = mergeStrings(inner.Builtins, a.Builtins)
	r.Operators = mergeStrings(inner.Operators, a.Operators)
	r.TypedFilters = typedBeside(inner.TypedFilters, a.Statement.FilterColumns)
	defer func() { r.DecisionKey = decisionKey(r) }()
	r.Statement = model.Statement{
		Fingerprint:   in.Fingerprint,
		Tag:           in.Tag,
		Accesses:      mergeAccesses(in.Accesses, a.Statement.Accesses),
		Functions:     mergeStrings(in.Functions, a.Statement.Functions),
		FilterColumns: mergeStrings(in.FilterColumns, a.Statement.FilterColumns),
		Always:        in.Always,
		Forbidden:     in.Forbidden,
	}
	return r
}

func stmtText(sql string, raw *pg_query.RawStmt) string {
	sp := stmtSpan(sql, raw)
	return strings.TrimSpace(sql[sp.Start:sp.End])
}

// Span is where one statement of a query string lies: sql[Start:End] is
// its text (with any comments before it, without the semicolon after it).
type Span struct{ Start, End int }

func stmtSpan(sql string, raw *pg_query.RawStmt) Span {
	start := int(raw.StmtLocation)
	if start < 0 || start > len(sql) {
		start = 0
	}
	end := len(sql)
	if raw.StmtLen > 0 && start+int(raw.StmtLen) <= len(sql) {
		end = start + int(raw.StmtLen)
	}
	return Span{start, end}
}

// StatementSpans returns where each statement of sql lies, as the parser
// splits it (Analyze returns the statements in the same order).
func StatementSpans(sql string) ([]Span, error) {
	if err := checkInput(sql); err != nil {
		return nil, err
	}
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, err
	}
	spans := make([]Span, len(tree.Stmts))
	for i, raw := range tree.Stmts {
		spans[i] = stmtSpan(sql, raw)
	}
	return spans, nil
}

func mergeAccesses(a, b []model.Access) []model.Access {
	seen := map[model.Access]bool{}
	var out []model.Access
	for _, x := range append(append([]model.Access{}, a...), b...) {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sortAccesses(out)
	return out
}

func mergeStrings(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range append(append([]string{}, a...), b...) {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

func sortAccesses(a []model.Access) {
	sort.Slice(a, func(i, j int) bool {
		if a[i].Table != a[j].Table {
			return a[i].Table < a[j].Table
		}
		return a[i].Class < a[j].Class
	})
}

// decisionKey hashes what decides a statement.
func decisionKey(a *Analyzed) string {
	st := a.Statement
	st.Fingerprint = ""
	b, _ := json.Marshal(struct {
		S  model.Statement
		RW bool
	}{st, a.ReadWrite})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
