package pgsql

// The typed reads of the json operators and the date and time functions
// (typed.go lists them; TestTypedAgainstPostgres checks them against the
// server).

import (
	"slices"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// Type OIDs of the types the json operators and the date and time
// functions below decide on.
const (
	oidName         = 19
	oidText         = 25
	oidTextArray    = 1009
	oidVarcharArray = 1015
	oidBPChar       = 1042
	oidVarchar      = 1043
	oidDate         = 1082
	oidTime         = 1083
	oidTimestamp    = 1114
	oidTimestampTZ  = 1184
	oidInterval     = 1186
	oidTimeTZ       = 1266
	oidJSONB        = 3802
)

// typedBuiltin reports a json operator over a column, an extract,
// date_part, date_trunc or to_char call of a column, or a cast of a
// column (see the list above), and records its typed reads.
func (a *analyzer) typedBuiltin(n *pg_query.Node, sc *scope) bool {
	if e := n.GetAExpr(); e != nil {
		return a.typedJSON(e, sc)
	}
	if f := n.GetFuncCall(); f != nil {
		return a.typedDatetime(f, sc) || a.typedToChar(f, sc)
	}
	if c := n.GetTypeCast(); c != nil {
		return a.typedCast(c, sc)
	}
	return false
}

// jsonKeyCalls are the json operators, with the call that records a key
// taken from a column: ->'s key is text or an integer, #>'s a text array.
var jsonKeyCalls = map[string]string{"->": "json key", "->>": "json key", "#>": "json path", "#>>": "json path"}

// jsonOperator returns the name of the built-in json operator e is
// (unqualified or of pg_catalog), or "".
func jsonOperator(e *pg_query.A_Expr) string {
	if e.Kind != pg_query.A_Expr_Kind_AEXPR_OP || e.Lexpr == nil || e.Rexpr == nil || len(e.Name) == 0 {
		return ""
	}
	name := stringList(e.Name)
	op := name[len(name)-1]
	if jsonKeyCalls[op] == "" || len(name) > 2 || len(name) == 2 && name[0] != "pg_catalog" {
		return ""
	}
	return op
}

// typedJSON reports col -> key, col ->> key, col #> path and col #>> path,
// and chains of them (col -> 'a' ->> 'b'), whose keys are literals or
// columns: each link is a typed read of col, which must be jsonb, and a
// key column must have a type the operator takes without a conversion
// that may fail. PostgreSQL chooses the operator when it parses the
// statement, and converts a path literal to text[] then: a malformed
// one, or a key of another type, fails before any row is read.
func (a *analyzer) typedJSON(e *pg_query.A_Expr, sc *scope) bool {
	op := jsonOperator(e)
	if op == "" {
		return false
	}
	var keys []typedKey
	link := e
	for {
		if !a.jsonKey(jsonOperator(link), link.Rexpr, sc, &keys) {
			return false
		}
		inner := link.Lexpr.GetAExpr()
		if inner == nil {
			break
		}
		// Only -> and #> return the column's own type: ->> and #>>
		// return text.
		if o := jsonOperator(inner); o != "->" && o != "#>" {
			return false
		}
		link = inner
	}
	ref := link.Lexpr.GetColumnRef()
	if ref == nil {
		return false
	}
	col, ok := oneColumn(ref, sc)
	if !ok {
		return false
	}
	// Whether the call fails depends on each column it reads when one
	// has another type (a json document is parsed again, and fails on a
	// \u0000 escape), so each typed read decides them all.
	reads := []string{col}
	for _, k := range keys {
		reads = append(reads, k.column)
	}
	a.addTyped(typedKey{op, col}, reads)
	for _, k := range keys {
		a.addTyped(k, reads)
	}
	return true
}

// jsonKey reports the key of a json operator: a string literal, an
// integer literal for -> and ->>, or one column, added to keys as a typed
// read. The answer reads the literal's kind: not cached by shape.
func (a *analyzer) jsonKey(op string, n *pg_query.Node, sc *scope, keys *[]typedKey) bool {
	if c := n.GetAConst(); c != nil {
		a.literal = true
		switch c.Val.(type) {
		case *pg_query.A_Const_Sval:
			return !c.Isnull
		case *pg_query.A_Const_Ival:
			return !c.Isnull && (op == "->" || op == "->>")
		}
		return false
	}
	ref := n.GetColumnRef()
	if ref == nil {
		return false
	}
	col, ok := oneColumn(ref, sc)
	if ok {
		*keys = append(*keys, typedKey{jsonKeyCalls[op], col})
	}
	return ok
}

// jsonbDocument is jsonb: its operators fail on no value. Those of json
// parse the document again and fail on a \u0000 escape or a lone
// surrogate anywhere in it, which json accepts on input.
func jsonbDocument(t ColumnType) bool { return t.OID == oidJSONB }

// jsonKeyType is a type -> takes as a key without a conversion that may
// fail: text, or one an implicit cast that cannot fail makes text or
// integer.
func jsonKeyType(t ColumnType) bool {
	switch t.OID {
	case oidText, oidVarchar, oidBPChar, oidName, oidInt2, oidInt4:
		return true
	}
	return false
}

// jsonPathType is a type #> takes as a path: text[] or varchar[].
func jsonPathType(t ColumnType) bool { return t.OID == oidTextArray || t.OID == oidVarcharArray }

// Fields of date and time values, for datetimeFields.
const (
	dayFields   = "day week month quarter year decade century millennium dow isodow doy isoyear julian epoch"
	clockFields = "microseconds milliseconds second minute hour epoch"
	zoneFields  = "timezone timezone_hour timezone_minute"
	spanFields  = "microseconds milliseconds second minute hour day month quarter year decade century millennium epoch"
)

// datetimeFields are, for each call and type, the fields (units) the call
// fails on no value of the type with, as checked on PostgreSQL 15 against
// every day of the first and last years of each type's range, the
// infinities and intervals of extreme months, days and microseconds,
// under time zones of every offset (LMT, ±15:59, ±167:59). Left out:
//
//   - a field the type does not have, which fails on every finite value
//     but not always on an infinite one (extract(timezone from a
//     timestamp) is NULL on infinity; date_trunc returns an infinite
//     value whatever the unit);
//   - date_part of a date, which converts it to a timestamp (failing past
//     the year 294276), and date_trunc of one, which converts it to
//     timestamptz;
//   - date_trunc to a week or longer of a timestamptz, and to a month or
//     longer of a timestamp: a value near the start of the range
//     (4714-11-24 BC) truncates to before it and fails; to a minute, an
//     hour or a day of a timestamptz too, in a zone whose offset is not a
//     whole number of minutes (local mean time) or whose day starts
//     before the range does.
var datetimeFields = map[string]map[uint32]string{
	"extract": {
		oidTimestamp: dayFields + " " + clockFields, oidTimestampTZ: dayFields + " " + clockFields + " " + zoneFields,
		oidDate: dayFields, oidTime: clockFields, oidTimeTZ: clockFields + " " + zoneFields, oidInterval: spanFields,
	},
	"date_part": {
		oidTimestamp: dayFields + " " + clockFields, oidTimestampTZ: dayFields + " " + clockFields + " " + zoneFields,
		oidTime: clockFields, oidTimeTZ: clockFields + " " + zoneFields, oidInterval: spanFields,
	},
	"date_trunc": {
		oidTimestamp:   "microseconds milliseconds second minute hour day week",
		oidTimestampTZ: "microseconds milliseconds second",
		oidInterval:    "microseconds milliseconds second minute hour day month quarter year decade century millennium",
	},
}

// datetimeCall is the typed call of a date and time function with a
// field: extract(year).
func datetimeCall(name, field string) string { return name + "(" + field + ")" }

// The typed calls of datetimeFields: the field decides the types.
func init() {
	types := map[string][]uint32{}
	for name, byType := range datetimeFields {
		for oid, fields := range byType {
			for _, f := range strings.Fields(fields) {
				types[datetimeCall(name, f)] = append(types[datetimeCall(name, f)], oid)
			}
		}
	}
	for call, oids := range types {
		typedCalls[call] = func(t ColumnType) bool { return slices.Contains(oids, t.OID) }
	}
}

// typedDatetime reports extract(field FROM col), date_part('field', col)
// and date_trunc('unit', col) with a literal field of datetimeFields, a
// typed read of col. PostgreSQL lowercases the field; one it does not
// know fails on every finite value.
func (a *analyzer) typedDatetime(f *pg_query.FuncCall, sc *scope) bool {
	name, safe := classifyFunction(f.Funcname)
	bare := bareName(name)
	if !safe || datetimeFields[bare] == nil || len(f.Args) != 2 || f.Over != nil || f.AggStar || f.FuncVariadic ||
		f.AggDistinct || len(f.AggOrder) > 0 || f.AggFilter != nil || f.AggWithinGroup {
		return false
	}
	field, ok := stringLiteral(f.Args, 0)
	a.literal = true // the answer reads the field: not cached by shape
	if !ok {
		return false
	}
	call := datetimeCall(bare, asciiLower(field))
	ref := f.Args[1].GetColumnRef()
	if typedCalls[call] == nil || ref == nil {
		return false
	}
	col, ok := oneColumn(ref, sc)
	if ok {
		a.addTyped(typedKey{call, col}, []string{col})
	}
	return ok
}

// asciiLower lowercases ASCII letters only, as PostgreSQL lowercases an
// identifier.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// to_char(col, 'format') with a literal format is a typed read whose call
// says what the format allows (toCharCall): PostgreSQL 15's to_char of a
// timestamp fails on no value with any format (unknown letters are copied,
// an infinity gives NULL), checked with every keyword and modifier against
// the values of TestTypedAgainstPostgres under time zones of every offset.
// Left out:
//
//   - TM (translation mode), whose localized names depend on lc_time;
//   - day names (Day, Dy and their cases) of a timestamptz: in a zone more
//     than a day west of UTC (TimeZone 'XXX167:59') a value of the first
//     week of the range (4714-11-24 BC) gives a negative day of the week,
//     which indexes the names' array out of bounds: a wrong name, or the
//     server process crashes;
//   - the zone's abbreviation (TZ, tz) of a timestamptz: "time zone format
//     value too long" when it passes a few characters, which under a zone
//     of a long daylight-saving abbreviation ('ABC+5DEFGHIJKLMNOPQRSTUVWXYZ
//     ABCDEFGHIJKLMNOPQRSTUV,M3.2.0,M11.1.0') it does in summer only: an
//     oracle on the season (TZH, TZM and OF are numbers);
//   - date, which to_char converts to timestamptz (failing past 294276);
//     interval, which fails on the keywords it has no value for;
//   - number formats other than digits (9, 0), one decimal point (. or D),
//     group separators (, or G), one sign (S), the currency symbol (L),
//     FM first, a few literal characters, and EEEE after digits and a
//     decimal point only (without FM): the others fail on some values (RN
//     past 2^31, V of a bigint times ten past its range, TH of ###) or on
//     every value (two decimal points, S twice). A numeric within half a
//     unit of 10^131072 at the format's scale fails as round does
//     (docs/sql.md).

// toCharCall returns the typed call of to_char with a literal format:
// "to_char number" (a number format of the list above, taken by number
// types and timestamps), "to_char" (timestamps), "to_char timestamp"
// (day names or a zone: timestamp only), or "" (none). The letters are
// looked for in any case and anywhere (TZH holds TZ): a few formats are
// refused that would not fail.
func toCharCall(format string) string {
	lower := strings.ToLower(format)
	switch {
	case strings.Contains(lower, "tm"):
		return ""
	case numberFormat(format):
		return "to_char number"
	case strings.Contains(lower, "dy") || strings.Contains(lower, "day") || strings.Contains(lower, "tz"):
		return "to_char timestamp"
	}
	return "to_char"
}

// numberLiterals are the characters a number format copies as they are.
const numberLiterals = " $%-+/:()*#=_"

// numberFormat reports a number format of the list above.
func numberFormat(f string) bool {
	if body, ok := strings.CutSuffix(f, "EEEE"); ok {
		// Digits and at most one decimal point, at least one digit (not
		// FM: "EEEE" is incompatible with other formats).
		digits, points := 0, 0
		for i := 0; i < len(body); i++ {
			switch body[i] {
			case '9', '0':
				digits++
			case '.', 'D', 'd':
				points++
			default:
				return false
			}
		}
		return digits > 0 && points <= 1
	}
	if strings.HasPrefix(f, "FM") || strings.HasPrefix(f, "fm") {
		f = f[2:]
	}
	digits, points, signs := 0, 0, 0
	for i := 0; i < len(f); i++ {
		switch c := f[i]; {
		case c == '9' || c == '0':
			digits++
		case c == '.' || c == 'D' || c == 'd':
			points++
		case c == 'S' || c == 's':
			signs++
		case c == ',' || c == 'G' || c == 'g' || c == 'L' || c == 'l' || strings.IndexByte(numberLiterals, c) >= 0:
		default:
			return false
		}
	}
	return digits > 0 && points <= 1 && signs <= 1
}

// The typed calls of to_char, with the types each takes.
func init() {
	typedCalls["to_char number"] = func(t ColumnType) bool {
		switch t.OID {
		case oidInt2, oidInt4, oidInt8, oidFloat4, oidFloat8, oidNumeric, oidTimestamp, oidTimestampTZ:
			return true
		}
		return false
	}
	typedCalls["to_char"] = func(t ColumnType) bool { return t.OID == oidTimestamp || t.OID == oidTimestampTZ }
	typedCalls["to_char timestamp"] = func(t ColumnType) bool { return t.OID == oidTimestamp }
}

// typedToChar reports to_char(col, 'format') with a format toCharCall
// takes, a typed read of col.
func (a *analyzer) typedToChar(f *pg_query.FuncCall, sc *scope) bool {
	name, safe := classifyFunction(f.Funcname)
	if !safe || bareName(name) != "to_char" || len(f.Args) != 2 || f.Over != nil || f.AggStar || f.FuncVariadic ||
		f.AggDistinct || len(f.AggOrder) > 0 || f.AggFilter != nil || f.AggWithinGroup {
		return false
	}
	format, ok := stringLiteral(f.Args, 1)
	a.literal = true // the answer reads the format: not cached by shape
	ref := f.Args[0].GetColumnRef()
	if !ok || ref == nil {
		return false
	}
	call := toCharCall(format)
	if call == "" {
		return false
	}
	col, ok := oneColumn(ref, sc)
	if ok {
		a.addTyped(typedKey{call, col}, []string{col})
	}
	return ok
}

// castTargets are the types a cast of a column to which is a typed read
// (call "cast to <type>"), with the column types the cast cannot fail
// on: to date of a date, timestamp or timestamptz (an infinity stays one;
// a day of either range is one of date's, in every time zone). (Widening
// casts of integers, salary::bigint, cannot fail either; they stay
// filters for now: docs/sql.md.)
var castTargets = map[string][]uint32{
	"date": {oidDate, oidTimestamp, oidTimestampTZ},
}

func init() {
	for target, oids := range castTargets {
		typedCalls["cast to "+target] = func(t ColumnType) bool { return slices.Contains(oids, t.OID) }
	}
}

// typedCast reports col::type for a type of castTargets (pg_catalog's,
// without modifiers), a typed read of col.
func (a *analyzer) typedCast(c *pg_query.TypeCast, sc *scope) bool {
	tn := c.TypeName
	ref := c.Arg.GetColumnRef()
	if tn == nil || ref == nil || len(tn.ArrayBounds) > 0 || len(tn.Typmods) > 0 || tn.Setof || tn.PctType {
		return false
	}
	names := stringList(tn.Names)
	if len(names) == 2 && names[0] == "pg_catalog" {
		names = names[1:]
	}
	if len(names) != 1 || castTargets[names[0]] == nil {
		return false
	}
	col, ok := oneColumn(ref, sc)
	if ok {
		a.addTyped(typedKey{"cast to " + names[0], col}, []string{col})
	}
	return ok
}
