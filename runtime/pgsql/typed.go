package pgsql

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Some aggregates fail on some values of one type and on none of another:
// sum(salary) of a numeric column overflows when an agent stores a value
// near numeric's limit beside the masked one (an oracle on whether their
// sum passes it), but of an integer column it accumulates in int8 or
// wider, which no table's row count can overflow. The analyzer does not
// know types, so it records such a call's column as a typed read: the
// proxy looks the column's type up in the catalog and counts the column
// as a filter only when the type is not one the call cannot fail on.
//
//   - sum and avg of int2, int4 or int8 (int8 and int128 or numeric
//     accumulators), or of a numeric with a declared precision (its
//     values stay far from numeric's limit; of an unconstrained numeric,
//     float, interval or money they overflow);
//   - bit_and, bit_or and bit_xor of the same (of bit strings they fail
//     on mismatched lengths);
//   - array_agg of a type that is not an array (arrays of arrays fail on
//     mismatched dimensions), nor a domain (a domain over an array is
//     aggregated as one);
//   - to_jsonb and jsonb_agg of a column, jsonb_build_object with
//     constant keys and jsonb_build_array whose values are columns or
//     text, when the columns are of a built-in base type other than json
//     (they parse json, which fails on a \u0000 escape in it, and call the
//     cast to json a type not built in may have);
//   - x || y where each side is a column of such a type other than
//     tsvector, upper or lower of a column of such a type that is no
//     range (of a range they return a bound, which may be an array), an
//     operand known not to be an array (fallible.go), or such a
//     concatenation: name || ' ' || ssn, upper(ssn) || lower(email)
//     (concatenating arrays fails on mismatched dimensions, tsvectors
//     when the lexemes merged pass 1 MB; every other built-in || fails
//     only near the size limits);
//   - col -> key, col ->> key, col #> path, col #>> path and chains of
//     them (col -> 'a' ->> 'b') of a jsonb column, with keys that are
//     literals or columns of text, varchar, char, name, smallint or
//     integer (a path: text[] or varchar[]). Of json they fail: its
//     operators parse the document again, and fail on a \u0000 escape or
//     a lone surrogate anywhere in it, which json accepts on input;
//   - extract(field FROM col), date_part('field', col) and
//     date_trunc('unit', col) with a literal field that fails on no value
//     of col's type (datetimeFields): extract(year FROM created) of a
//     date, timestamp or interval, date_trunc('hour', created) of a
//     timestamp, not of a timestamptz;
//   - to_char(col, 'format') with a literal format, of a timestamp, a
//     timestamptz or a number column as the format allows, and col::date
//     of a date, timestamp or timestamptz (typedbuiltin.go);
//   - CASE and COALESCE whose values are constants, text-typed expressions
//     and columns of types whose implicit conversions cannot fail
//     (choiceType), each deciding every column the expression reads;
//   - sum(length(col)) and avg(length(col)) of a type length() of which
//     is an integer (lengthType).
//
// Only a column reference the analyzer resolves to exactly one column
// qualifies as the argument: an expression has a type the analyzer
// cannot tell from the column's.
type TypedRead struct {
	// Call is the function (sum, avg, bit_and, bit_or, bit_xor,
	// array_agg, upper, lower, to_jsonb, jsonb_agg, jsonb_build_object,
	// jsonb_build_array), the operator (||, ->, ->>, #>, #>>), "json key"
	// or "json path" for a json operator's key column, a date and time
	// function with its field (extract(year), date_part(hour),
	// date_trunc(day)), "to_char", "to_char timestamp" or "to_char
	// number" (as the format allows), "cast to date", "case" or
	// "coalesce" (a value of one), or "sum length" or "avg length"
	// (sum(length(col))).
	Call string `json:"call"`
	// Column is the schema.table.column whose type decides, as resolved
	// (a view's own column when the call reads one), or schema.table.*
	// when every column's type does (to_jsonb of a whole row).
	Column string `json:"column"`
	// Reads are the filter columns the call accounts for: Column (and the
	// other columns of a concatenation, whose values it converts), and
	// after ExpandViews the columns a view's column reads.
	Reads []string `json:"reads"`
}

// A ColumnType is what the catalog says of a column's type.
type ColumnType struct {
	// OID is pg_attribute.atttypid.
	OID uint32
	// Plain is set for a type that is neither an array nor a domain nor a
	// pseudo-type.
	Plain bool
	// Range is set for a range or multirange type.
	Range bool
	// Kind is pg_type.typtype: 'b' base, 'c' composite, 'd' domain, 'e'
	// enum, 'p' pseudo-type, 'r' range, 'm' multirange.
	Kind byte
	// Typmod is pg_attribute.atttypmod: for numeric, its precision and
	// scale (((p << 16) | s) + 4, always positive); -1 when the column
	// declares none, and 0 (unset) counts as none.
	Typmod int32
}

// Type OIDs of PostgreSQL's integer types.
const (
	oidInt8 = 20
	oidInt2 = 21
	oidInt4 = 23
)

// typedCalls are the calls of the list above, with what their column's
// type must be.
var typedCalls = map[string]func(ColumnType) bool{
	"sum": summableType, "avg": summableType,
	"bit_and": integerType, "bit_or": integerType, "bit_xor": integerType,
	"array_agg": plainType, "||": concatType,
	"upper": scalarType, "lower": scalarType,
	"to_jsonb": jsonbType, "jsonb_agg": jsonbType, "jsonb_build_object": jsonbType, "jsonb_build_array": jsonbType,
	"->": jsonbDocument, "->>": jsonbDocument, "#>": jsonbDocument, "#>>": jsonbDocument,
	"json key": jsonKeyType, "json path": jsonPathType,
	"case": choiceType, "coalesce": choiceType,
	"sum length": lengthType, "avg length": lengthType,
}

// Type OIDs of choiceType and lengthType.
const (
	oidBool    = 16
	oidBytea   = 17
	oidFloat4  = 700
	oidFloat8  = 701
	oidUUID    = 2950
	oidBit     = 1560
	oidVarbit  = 1562
	oidNumeric = 1700
)

// choiceType is a built-in type none of whose implicit conversions fails
// (pg_cast, castcontext 'i'; TestChoiceTypesAgainstPostgres): the string
// types (converted among themselves; text to regclass is of another
// category, which CASE does not unify with a string), smallint and
// integer (to bigint, numeric, the floats, oid and the reg types), real
// (to double precision), double precision, timestamptz, interval, jsonb,
// uuid, bytea and boolean. Not bigint (to oid past 2^32), numeric (to the
// floats past their range), date and timestamp (to timestamp and
// timestamptz past theirs).
func choiceType(t ColumnType) bool {
	if !t.Plain {
		return false
	}
	switch t.OID {
	case oidText, oidVarchar, oidBPChar, oidName, oidInt2, oidInt4, oidFloat4, oidFloat8,
		oidTimestampTZ, oidInterval, oidJSONB, oidUUID, oidBytea, oidBool:
		return true
	}
	return false
}

// lengthType is a type length() of which is an integer.
func lengthType(t ColumnType) bool {
	switch t.OID {
	case oidText, oidVarchar, oidBPChar, oidName, oidBytea, oidBit, oidVarbit, oidTSVector:
		return true
	}
	return false
}

// oidJSON is the type json, and firstNormalOID the first OID of objects
// not built in.
const (
	oidJSON        = 114
	firstNormalOID = 16384
)

// jsonbType is a built-in base type other than json and the arrays: the
// jsonb builders parse a json value (and fail on a \u0000 escape in it),
// call a cast to json a type not built in may have, and walk arrays and
// composites into their elements; every other built-in value they print
// (a numeric or float they cannot write as a number, NaN, as a string).
func jsonbType(t ColumnType) bool {
	return t.Plain && t.Kind == 'b' && t.OID < firstNormalOID && t.OID != oidJSON
}

// scalarType is a plain type that is not a range: upper and lower of a
// range return its bound, which may be an array.
func scalarType(t ColumnType) bool { return t.Plain && !t.Range }

func plainType(t ColumnType) bool { return t.Plain }

// oidTSVector is the type tsvector.
const oidTSVector = 3614

// concatType is a plain type other than tsvector: tsvector || tsvector
// merges the lexemes both sides hold and fails when the merged ones pass
// 1 MB, so whether it fails (and the size its message gives) tells what
// a masked tsvector holds.
func concatType(t ColumnType) bool { return t.Plain && t.OID != oidTSVector }

func integerType(t ColumnType) bool {
	return t.OID == oidInt2 || t.OID == oidInt4 || t.OID == oidInt8
}

// summableType is a type sum and avg cannot overflow on: an integer, or a
// numeric with a declared precision (numeric(p, s), p at most 1000),
// whose values stay under 10^(p-s) (or are NaN, which sums to NaN), so
// that no count of rows brings their sum near numeric's limit of 131072
// digits. An unconstrained numeric holds values near that limit, which
// an agent that can write may store beside a masked one.
func summableType(t ColumnType) bool {
	return integerType(t) || t.OID == oidNumeric && t.Plain && t.Typmod > 0
}

// Total reports whether r's call cannot fail on a column of type t.
func (r TypedRead) Total(t ColumnType) bool {
	ok := typedCalls[r.Call]
	return ok != nil && ok(t)
}

type typedKey struct{ call, column string }

// typedTotal reports a call of the list above whose argument resolves to
// one column, and records it as a typed read.
func (a *analyzer) typedTotal(n *pg_query.Node, sc *scope) bool {
	if a.typedBuiltin(n, sc) {
		return true
	}
	if e := n.GetAExpr(); e != nil && isConcat(e) {
		// Whether a concatenation fails depends on every value in it
		// (text appended to an int[] is converted to int), so each
		// column it reads is counted with the typed reads that decide.
		var keys []typedKey
		if !a.concatOperand(n, sc, &keys) {
			return false
		}
		all, ok := columnsIn(n, sc)
		if !ok {
			return false
		}
		for _, k := range keys {
			a.addTyped(k, all)
		}
		return true
	}
	if call, values := choiceValues(n); call != "" {
		return a.typedChoice(call, n, values, sc)
	}
	f := n.GetFuncCall()
	if f == nil || f.AggWithinGroup || f.FuncVariadic || f.AggStar {
		return false
	}
	name, safe := classifyFunction(f.Funcname)
	bare := bareName(name)
	if safe && (bare == "jsonb_build_object" || bare == "jsonb_build_array") && f.Over == nil {
		return a.jsonbBuilder(bare, f.Args, sc)
	}
	if safe && (bare == "sum" || bare == "avg") && len(f.Args) == 1 {
		if col, ok := lengthOfColumn(f.Args[0], sc); ok {
			a.addTyped(typedKey{bare + " length", col}, []string{col})
			return true
		}
	}
	if len(f.Args) != 1 {
		return false
	}
	ref := f.Args[0].GetColumnRef()
	if !safe || typedCalls[bare] == nil || ref == nil {
		return false
	}
	if col, ok := oneColumn(ref, sc); ok {
		a.addTyped(typedKey{bare, col}, []string{col})
		return true
	}
	if bare == "to_jsonb" || bare == "jsonb_agg" {
		// to_jsonb(c) of a table's whole row: each of its columns must
		// have such a type.
		if row, reads, ok := wholeRow(ref, sc); ok {
			a.addTyped(typedKey{bare, row}, reads)
			return true
		}
	}
	return false
}

// lengthOfColumn returns the column of length(col) (pg_catalog's, of one
// argument, a plain call): an integer for text, bytea, bit strings and
// tsvector, a float8 for lseg and path, whose sum may overflow.
func lengthOfColumn(n *pg_query.Node, sc *scope) (string, bool) {
	f := n.GetFuncCall()
	if f == nil || len(f.Args) != 1 || f.Over != nil || f.AggStar || f.FuncVariadic || f.AggDistinct ||
		len(f.AggOrder) > 0 || f.AggFilter != nil || f.AggWithinGroup {
		return "", false
	}
	name, safe := classifyFunction(f.Funcname)
	ref := f.Args[0].GetColumnRef()
	if !safe || bareName(name) != "length" || ref == nil {
		return "", false
	}
	return oneColumn(ref, sc)
}

// choiceValues returns the values of an expression that returns one of
// them as it is, converted to one type: those of CASE (call "case") and
// COALESCE ("coalesce"). (GREATEST and LEAST also compare them, and an
// array constructor nests them: they stay as fallible.go has them.)
func choiceValues(n *pg_query.Node) (call string, values []*pg_query.Node) {
	switch x := n.Node.(type) {
	case *pg_query.Node_CaseExpr:
		values = append(values, x.CaseExpr.Defresult)
		for _, w := range x.CaseExpr.Args {
			if cw := w.GetCaseWhen(); cw != nil {
				values = append(values, cw.Result)
			}
		}
		return "case", values
	case *pg_query.Node_CoalesceExpr:
		return "coalesce", x.CoalesceExpr.Args
	}
	return "", nil
}

// typedChoice reports a CASE or COALESCE whose values are constants,
// expressions known not to be arrays (fallible.go's notArray) and
// columns, each column a typed read: PostgreSQL converts them to one
// type, which fails on some values when a column's type converts
// implicitly to another (a date to a timestamp past 294276, a numeric to
// float8 past 1e308, a bigint to oid). Whether a value is converted
// depends on what chooses it (the conditions, the arguments before it),
// so each typed read decides every column the expression reads.
func (a *analyzer) typedChoice(call string, n *pg_query.Node, values []*pg_query.Node, sc *scope) bool {
	var cols []string
	for _, v := range values {
		switch {
		case v == nil || v.Node == nil || v.GetAConst() != nil || a.notArray(v):
			continue
		case v.GetColumnRef() != nil:
			col, ok := oneColumn(v.GetColumnRef(), sc)
			if !ok {
				return false
			}
			cols = append(cols, col)
		default:
			return false
		}
	}
	if len(cols) == 0 {
		return false
	}
	all, ok := columnsIn(n, sc)
	if !ok {
		return false
	}
	for _, c := range cols {
		a.addTyped(typedKey{call, c}, all)
	}
	return true
}

// wholeRow returns the relation.* a reference to a base relation's whole
// row names (c or c.* of FROM t c), with what it reads: a bare name is
// also a column of the relation, if it has one by that name.
func wholeRow(ref *pg_query.ColumnRef, sc *scope) (row string, reads []string, ok bool) {
	parts := refParts(ref)
	l := sc.resolve(parts)
	if l.Unknown {
		return "", nil, false
	}
	switch {
	case len(parts) == 2 && parts[1] == "*" && len(l.Sources) == 1:
		row = l.Sources[0]
	case len(parts) == 1 && len(l.Sources) == 2:
		for _, s := range l.Sources {
			if strings.HasSuffix(s, ".*") {
				row = s
			}
		}
		if row == "" || !slices.Contains(l.Sources, strings.TrimSuffix(row, "*")+ident(parts[0])) {
			return "", nil, false
		}
	default:
		return "", nil, false
	}
	if !strings.HasSuffix(row, ".*") {
		return "", nil, false
	}
	return row, l.Sources, true
}

// columnsIn returns the sources of the column references in n, at any
// depth; ok is false when one does not resolve, is a function of a row in
// field notation, or n holds a subquery.
func columnsIn(n *pg_query.Node, sc *scope) (cols []string, ok bool) {
	ok = true
	var walk func(m protoreflect.Message) bool
	walk = func(m protoreflect.Message) bool {
		switch x := m.Interface().(type) {
		case *pg_query.ColumnRef:
			parts := refParts(x)
			if len(parts) > 1 && rowFunctions[parts[len(parts)-1]] {
				ok = false
				return false
			}
			l := sc.resolve(parts)
			if l.Unknown {
				ok = false
				return false
			}
			cols = append(cols, l.Sources...)
			return true
		case *pg_query.SubLink, *pg_query.SelectStmt:
			ok = false
			return false
		}
		children(m, walk)
		return ok
	}
	walk(n.ProtoReflect())
	return cols, ok
}

// jsonbBuilder reports jsonb_build_object with keys that are non-null
// constants (a null key fails, and so does an array, a composite or json
// one), or jsonb_build_array, whose values are each a column (a typed
// read) or known not to be an array (text, a constant).
func (a *analyzer) jsonbBuilder(call string, args []*pg_query.Node, sc *scope) bool {
	if call == "jsonb_build_object" && len(args)%2 != 0 {
		return false
	}
	var keys []typedKey
	for i, arg := range args {
		if call == "jsonb_build_object" && i%2 == 0 {
			if c := arg.GetAConst(); c == nil || c.Isnull {
				return false
			}
			continue
		}
		if ref := arg.GetColumnRef(); ref != nil {
			col, ok := oneColumn(ref, sc)
			if !ok {
				return false
			}
			keys = append(keys, typedKey{call, col})
			continue
		}
		if !a.notArray(arg) {
			return false
		}
	}
	for _, k := range keys {
		a.addTyped(k, []string{k.column})
	}
	return true
}

// oneColumn returns the one column a reference resolves to, if it does.
func oneColumn(ref *pg_query.ColumnRef, sc *scope) (string, bool) {
	l := sc.resolve(refParts(ref))
	if l.Unknown || !l.Direct || len(l.Sources) != 1 {
		return "", false
	}
	return l.Sources[0], true
}

// concatOperand reports an operand of x || y that is known not to be an
// array, a column (a typed read added to reads: its type must be plain),
// upper or lower of a column (its type must be no range either), or a
// concatenation of such operands.
func (a *analyzer) concatOperand(n *pg_query.Node, sc *scope, reads *[]typedKey) bool {
	if a.notArray(n) {
		return true
	}
	if ref := n.GetColumnRef(); ref != nil {
		col, ok := oneColumn(ref, sc)
		if ok {
			*reads = append(*reads, typedKey{"||", col})
		}
		return ok
	}
	if e := n.GetAExpr(); e != nil && isConcat(e) {
		return a.concatOperand(e.Lexpr, sc, reads) && a.concatOperand(e.Rexpr, sc, reads)
	}
	if f := n.GetFuncCall(); f != nil && len(f.Args) == 1 && f.Over == nil && !f.AggStar && !f.FuncVariadic && len(f.AggOrder) == 0 && f.AggFilter == nil {
		// upper(ssn) || lower(email): of a column that is no range,
		// they return text.
		name, safe := classifyFunction(f.Funcname)
		if bare := bareName(name); safe && (bare == "upper" || bare == "lower") {
			if ref := f.Args[0].GetColumnRef(); ref != nil {
				if col, ok := oneColumn(ref, sc); ok {
					*reads = append(*reads, typedKey{bare, col})
					return true
				}
			}
		}
	}
	return false
}

// addTyped records the typed read k, which decides whether the columns
// reads are filters.
func (a *analyzer) addTyped(k typedKey, reads []string) {
	if a.typed == nil {
		a.typed = map[typedKey]map[string]bool{}
	}
	if a.typed[k] == nil {
		a.typed[k] = map[string]bool{}
	}
	for _, c := range reads {
		a.typed[k][c] = true
	}
}

// typedFilters are the typed reads of columns the statement does not also
// filter on otherwise (Analyzed.TypedFilters), in a stable order, each
// with the columns it decides that are no filters otherwise.
func (a *analyzer) typedFilters() []TypedRead {
	var out []TypedRead
	for _, k := range slices.SortedFunc(maps.Keys(a.typed), func(x, y typedKey) int {
		return cmp.Or(strings.Compare(x.column, y.column), strings.Compare(x.call, y.call))
	}) {
		if a.filters[k.column] {
			continue // a filter anyway: its reads stay filters too
		}
		t := TypedRead{Call: k.call, Column: k.column}
		for _, c := range slices.Sorted(maps.Keys(a.typed[k])) {
			if !a.filters[c] {
				t.Reads = append(t.Reads, c)
			}
		}
		out = append(out, t)
	}
	return out
}

// typedColumns are the columns of every typed read, which stay filter
// columns unless the proxy finds their types.
func (a *analyzer) typedColumns() []string {
	var cols []string
	for k, reads := range a.typed {
		cols = append(cols, k.column)
		for c := range reads {
			cols = append(cols, c)
		}
	}
	return cols
}

func toSet(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// expandTyped returns the typed reads of a whose Reads name, instead of
// view columns, what the views read, leaving out the columns of genuine
// (the statement's other filter columns, expanded): a column read both
// ways is a filter.
func expandTyped(typed []TypedRead, resolve func(string) *View, genuine map[string]bool) []TypedRead {
	out := make([]TypedRead, 0, len(typed))
	for _, t := range typed {
		var acc linAcc
		for _, r := range t.Reads {
			acc.addLineage(expandLineage(Lineage{Sources: []string{r}}, resolve, 0))
		}
		l := acc.lineage()
		if l.Unknown {
			continue // stays a filter, of unknown origin: denied
		}
		x := TypedRead{Call: t.Call, Column: t.Column}
		for _, s := range l.Sources {
			if !genuine[s] {
				x.Reads = append(x.Reads, s)
			}
		}
		out = append(out, x)
	}
	return out
}

// typedBeside returns typed reads less the columns of filters, which
// another part of a combined statement (the parameters of an EXECUTE)
// filters on otherwise.
func typedBeside(typed []TypedRead, filters []string) []TypedRead {
	if len(filters) == 0 {
		return typed
	}
	out := make([]TypedRead, 0, len(typed))
	for _, t := range typed {
		x := TypedRead{Call: t.Call, Column: t.Column}
		for _, c := range t.Reads {
			if !slices.Contains(filters, c) {
				x.Reads = append(x.Reads, c)
			}
		}
		out = append(out, x)
	}
	return out
}
