package pgproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Round 26 of the red team: non-interference of masking, tested
// differentially. The property: for an agent under column masking whose
// rules do not allow filtering, whatever the gateway allows must not
// depend on the masked values. Two tables (P_nia, P_nib) hold the same
// unmasked columns and different masked values (empty strings, non-ASCII,
// the extremes of every numeric type, NaN and infinities, dates past the
// timestamp range, array-looking text, arrays of one to six dimensions,
// json with \u0000, long values), with NULLs in the same places (a masked
// NULL stays NULL: its NULL-ness is visible by design). A seeded generator
// writes statements over a grammar of PostgreSQL expressions (the
// allow-list of runtime/pgsql/fallible.go and what lies outside it, CASE,
// COALESCE, ARRAY[], subqueries, CTEs, aggregates with ORDER BY and
// FILTER, window functions, set operations, VALUES, LATERAL, DISTINCT,
// set-returning functions, EXPLAIN), and statements where a total masked
// condition decides whether an expression over unmasked columns runs
// (chooser: that expression must really be unable to fail). Each runs as
// agent ni26 against both tables, in the simple and the extended protocol
// (binary results). Everything the client observes must be the same:
// allowed or denied, the SQLSTATE and fields of an error, the row
// descriptions, the number of rows, every value, the command tags, the
// notices; and no raw masked value may reach the client's bytes. A
// difference is minimised (subtrees replaced by descendants of the same
// type, list items dropped) and reported.
//
// The committed run is seed 26 with 3000 statements; MANDATE_NI_SEED
// (MANDATE_NI_SEED=1,2,3 runs several seeds) and MANDATE_NI_N set others
// by hand, MANDATE_NI_REPORT how many differences are minimised and
// reported (10).
//
// Holes found, closed in runtime/pgsql/fallible.go (the expressions that
// cannot fail), each an oracle through an error raised or not depending
// on a masked value (TestAdversarialRound26Regressions; unit cases in
// runtime/pgsql/fallible_test.go):
//   - ARRAY[x] of one masked array fails when it has six dimensions
//     (54000, "number of array dimensions (7) exceeds the maximum allowed
//     (6)"): SELECT ARRAY[iarr] FROM t, also through lag(ARRAY[arr]),
//     ARRAY[lead(arr) OVER ()], ARRAY[(SELECT iarr ...)] and min(ARRAY[arr]).
//     An array constructor is total only when every element is known not
//     to be an array (ARRAY[ssn::text] stays allowed, ARRAY[ssn] not).
//   - format with a literal format string of more %s/%L than arguments
//     fails on every row it runs for (22023, "too few arguments"), and
//     lpad/rpad to a literal length past (1 GB - 4) / 4 characters too
//     (54000, "requested length too large"); both counted as total, so a
//     CASE or COALESCE around them decided nothing: SELECT CASE WHEN flag
//     THEN format('%s %s', name) END, COALESCE(CASE WHEN c THEN 'x' END,
//     format('%s')), CASE WHEN NOT flag THEN rpad(name, 2147483647) END
//     fail exactly when the masked flag is true (or, with lag(uflag,
//     salary) OVER (ORDER BY id) as the condition, tell the masked offset).
//     Now format needs an argument for each %s and %L, and a pad length is
//     at most 1048576.
//   - lag(n, 1, f) and lead(d, 1, now()) convert the masked value to the
//     default's type (numeric to float8 fails past 1e308, date to
//     timestamptz past 294276 AD): the value and the default must need no
//     conversion, as the values of a COALESCE.
//
//   - a computed text value masked with redact kept its NULL: SELECT
//     CASE WHEN flag THEN 'x' END returned NULL or [REDACTED] as the
//     masked flag was false or true, and lag(name, salary) OVER (ORDER BY
//     id) was NULL exactly when the masked offset left the window. Closed
//     after the round in mask.go: a value computed from masked columns is
//     masked when NULL too (a column's own NULL stays NULL, and the
//     fixture keeps NULLs in the same places in both tables).
//   - ctid (a system column, unmasked) said where a row is stored, which
//     depends on the size of the masked values stored before it:
//     ctid::text, WHERE ctid >= '(1,0)', and TABLESAMPLE (which samples
//     pages) differed between the tables. Closed after the round in
//     runtime/pgsql: system columns read the whole row (table.*), and
//     TABLESAMPLE filters on it.
//
// Open, reported (TestAdversarialRound26Open, skipped unless
// MANDATE_ADV_OPEN is set):
//   - the 1 GB limit: total expressions over unmasked values can still
//     grow past it and fail under a masked CASE condition: CASE WHEN flag
//     THEN length(replace(lpad(name, 1048576, 'a'), 'a', lpad(name, 1100,
//     'b'))) END fails (54000) exactly when flag is true.

// round26Policy: ni26 reads the P_ni* tables only; ni26m masks every
// column but the unmasked id, grp, name and uflag, with redact (card with
// null), without allow_filter.
func round26Policy() string {
	var b strings.Builder
	b.WriteString("masking \"ni26m\" {\n")
	for _, tab := range []string{"nia", "nib"} {
		for _, c := range niMasked {
			method := "redact"
			if c.name == "card" {
				method = "null"
			}
			fmt.Fprintf(&b, "  column \"public.PREFIX_%s.%s\" {\n    method = %q\n  }\n", tab, c.name, method)
		}
	}
	b.WriteString(`}

role "ni26" {
  postgres "adv" {
    statements = ["select"]
    tables     = ["public.PREFIX_ni*"]
    masking    = [masking.ni26m]
  }
}

agent "ni26" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "ni26"
  }
  roles = [role.ni26]
}
`)
	return b.String()
}

// niTy is the type of a generated expression.
type niTy int

const (
	niText niTy = iota
	niInt
	niBig
	niNum
	niFloat
	niDate
	niTs
	niJsonb
	niJson
	niTextArr
	niIntArr
	niBytea
	niBool
	niInterval
	niTypes // number of value types
	niStmt  // a query
	niNone  // structure
)

var niTypeNames = [...]string{"text", "int", "bigint", "numeric", "float8", "date", "timestamptz",
	"jsonb", "json", "text[]", "int[]", "bytea", "boolean", "interval"}

type niCol struct {
	name string
	ty   niTy
}

// niMasked are the masked columns of P_nia and P_nib, niPlain the others.
var niMasked = []niCol{
	{"ssn", niText}, {"email", niText}, {"card", niText}, {"salary", niInt}, {"big", niBig},
	{"n", niNum}, {"f", niFloat}, {"d", niDate}, {"ts", niTs}, {"j", niJsonb}, {"js", niJson},
	{"arr", niTextArr}, {"iarr", niIntArr}, {"b", niBytea}, {"flag", niBool}, {"iv", niInterval},
}

var niPlain = []niCol{{"id", niInt}, {"grp", niInt}, {"name", niText}, {"uflag", niBool}}

var niColumnTypes = map[string]string{
	"ssn": "text", "email": "varchar(600)", "card": "char(20)", "salary": "int", "big": "bigint",
	"n": "numeric", "f": "float8", "d": "date", "ts": "timestamptz", "j": "jsonb", "js": "json",
	"arr": "text[]", "iarr": "int[]", "b": "bytea", "flag": "boolean", "iv": "interval",
}

// niLong returns n characters no compressor shrinks (hex of a fixed
// pseudo-random stream), marked by tag.
func niLong(tag string, n int) string {
	var seed uint64
	for _, c := range tag {
		seed = seed*131 + uint64(c)
	}
	r := rand.New(rand.NewPCG(seed, 26))
	var b strings.Builder
	b.WriteString(tag)
	for b.Len() < n {
		fmt.Fprintf(&b, "%016x", r.Uint64())
	}
	return b.String()[:n]
}

// niRow is one fixture row: its unmasked columns and, per masked column,
// the SQL literal in P_nia and in P_nib ("NULL" in both or neither).
type niRow struct {
	id, grp int
	name    string
	uflag   bool
	a, b    map[string]string
}

func niRows() []niRow {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	long := func(tag string, n int) string { return q(niLong(tag, n)) }
	rows := []niRow{
		{1, 1, "ann", true,
			map[string]string{"ssn": "'918-27-3645'", "email": "'zara.secret7@hidden.example'", "card": "'4929381726354410'",
				"salary": "7351982", "big": "9223372036854775807", "n": "'NaN'", "f": "'NaN'", "d": "'294277-01-01'",
				"ts": "'infinity'", "j": `'{"a": 1}'`, "js": `'{"k": "\u0000"}'`, "arr": "'{{{{{{q}}}}}}'",
				"iarr": "'{{1,2},{3,4}}'", "b": `'\xdeadbeef'`, "flag": "true", "iv": "'178000000 years'"},
			map[string]string{"ssn": "''", "email": "'x'", "card": "''", "salary": "-7", "big": "-9223372036854775808",
				"n": "1" + strings.Repeat("0", 400), "f": "1e308", "d": "'2000-01-01'", "ts": "'2000-01-01 00:00+00'",
				"j": "'[1, 2]'", "js": `'{"k": 1}'`, "arr": "'{q}'", "iarr": "'{1}'", "b": `'\x'`, "flag": "false",
				"iv": "'1 day'"}},
		{2, 1, "bob", false,
			map[string]string{"ssn": "'{1,2}'", "email": "''", "card": "'5384017263549921'", "salary": "2147483647",
				"big": "0", "n": "-" + "9" + strings.Repeat("9", 300), "f": "'Infinity'", "d": "'infinity'",
				"ts": "'294276-12-31 23:59:59+00'", "j": "'null'", "js": `'"\ud83d\ude00"'`, "arr": "'{}'",
				"iarr": "'{}'", "b": `'\x00'`, "flag": "false", "iv": "'-178000000 years'"},
			map[string]string{"ssn": "'ünïcødé ☃ 8462093'", "email": "'quill.hidden3@hidden.example'", "card": "'6011928374650012'",
				"salary": "-2147483648", "big": "1", "n": "0.000000000000000000000000000001", "f": "'-Infinity'",
				"d": "'4713-01-01 BC'", "ts": "'4713-01-01 00:00+00 BC'", "j": `'{"a": {"b": [1, 2]}}'`, "js": "'[]'",
				"arr": "'{{a,b},{c,d}}'", "iarr": "'{{{{{{7}}}}}}'", "b": `'\x5c78'`, "flag": "true", "iv": "'0'"}},
		{3, 2, "cid", true,
			map[string]string{"ssn": "'NaN'", "email": "'yuri.private5@hidden.example'", "card": "'  '", "salary": "0",
				"big": "-1", "n": "0", "f": "-0", "d": "'5874897-12-31'", "ts": "'-infinity'", "j": `'"s"'`,
				"js": `'{"k": "\\u0000"}'`, "arr": "'[0:1]={a,b}'", "iarr": "'[5:5]={9}'", "b": `'\x'`, "flag": "true",
				"iv": "'1 microsecond'"},
			map[string]string{"ssn": "'-1'", "email": "'%'", "card": "'x'", "salary": "1", "big": "2", "n": "'NaN'",
				"f": "5e-324", "d": "'2000-02-29'", "ts": "'1999-12-31 23:59:59.999999+00'", "j": "'[]'",
				"js": `'"plain"'`, "arr": "'{NULL}'", "iarr": "'{NULL,1}'", "b": `'\xff00'`, "flag": "false",
				"iv": "'-1 microsecond'"}},
		{4, 2, "dee", false, nil, nil}, // every masked column NULL in both
		{5, 3, "eve", true,
			map[string]string{"ssn": "'7351982'", "email": "NULL", "card": "NULL", "salary": "5", "big": "NULL",
				"n": "123.45", "f": "NULL", "d": "NULL", "ts": "NULL", "j": "'0'", "js": "NULL", "arr": "'{\"a,b\"}'",
				"iarr": "NULL", "b": "NULL", "flag": "NULL", "iv": "NULL"},
			map[string]string{"ssn": "'{{a}}'", "email": "NULL", "card": "NULL", "salary": "50", "big": "NULL",
				"n": "-0.5", "f": "NULL", "d": "NULL", "ts": "NULL", "j": "'{}'", "js": "NULL", "arr": "'{a}'",
				"iarr": "NULL", "b": "NULL", "flag": "NULL", "iv": "NULL"}},
		{6, 3, "fay", false,
			map[string]string{"ssn": "E'tab\\there \\\\ back'", "email": "'a@b'", "card": "'4111111111111111'",
				"salary": "-100", "big": "4294967296", "n": "1e-300", "f": "1.5", "d": "'1970-01-01'",
				"ts": "'2038-01-19 03:14:08+00'", "j": `'{"": null}'`, "js": `'{"a": 1, "a": 2}'`, "arr": "'{\"\"}'",
				"iarr": "'{0}'", "b": `'\x00000000'`, "flag": "false", "iv": "'1 mon'"},
			map[string]string{"ssn": "'  [1:1]={x}'", "email": "'é@ü.example'", "card": "'%s %s'", "salary": "100",
				"big": "-4294967296", "n": "1e300", "f": "-1.5", "d": "'1969-12-31'", "ts": "'1901-12-13 20:45:52+00'",
				"j": `'[[[[[[[[1]]]]]]]]'`, "js": `'[1, 2]'`, "arr": "'{{{{{{z}}}}}}'", "iarr": "'{{{{{{0}}}}}}'",
				"b": `'\x27'`, "flag": "true", "iv": "'-1 mon'"}},
		{7, 4, "gus", true,
			map[string]string{"ssn": long("lngA", 1200), "email": long("lngB", 500), "card": "'1'", "salary": "3",
				"big": "3", "n": "3", "f": "3", "d": "'2001-01-01'", "ts": "'2001-01-01 00:00+00'", "j": "'3'",
				"js": "'3'", "arr": "'{3}'", "iarr": "'{3}'", "b": `'\x03'`, "flag": "true", "iv": "'3 days'"},
			map[string]string{"ssn": "'s7'", "email": "'e7'", "card": "'2'", "salary": "4", "big": "4", "n": "4",
				"f": "4", "d": "'2002-02-02'", "ts": "'2002-02-02 00:00+00'", "j": "'4'", "js": "'4'", "arr": "'{4}'",
				"iarr": "'{4}'", "b": `'\x04'`, "flag": "false", "iv": "'4 days'"}},
		{8, 4, "hal", false,
			map[string]string{"ssn": long("lngC", 1200), "email": long("lngD", 500), "card": "'3'", "salary": "8",
				"big": "8", "n": "8", "f": "8", "d": "'2008-08-08'", "ts": "'2008-08-08 00:00+00'", "j": "'8'",
				"js": "'8'", "arr": "'{8}'", "iarr": "'{8}'", "b": `'\x08'`, "flag": "false", "iv": "'8 days'"},
			map[string]string{"ssn": "'s8'", "email": "'e8'", "card": "'4'", "salary": "-8", "big": "-8", "n": "-8",
				"f": "-8", "d": "'2009-09-09'", "ts": "'2009-09-09 00:00+00'", "j": "'-8'", "js": "'-8'",
				"arr": "'{-8}'", "iarr": "'{-8}'", "b": `'\x09'`, "flag": "true", "iv": "'-8 days'"}},
		{9, 5, "ivy", true,
			map[string]string{"ssn": long("lngE", 1200), "email": long("lngF", 500), "card": "'5'", "salary": "9",
				"big": "9", "n": "9", "f": "9", "d": "'0001-01-01'", "ts": "'0001-01-01 00:00+00'", "j": "'true'",
				"js": "'true'", "arr": "'{9}'", "iarr": "'{9}'", "b": `'\x0909'`, "flag": "true", "iv": "'9 years'"},
			map[string]string{"ssn": "'s9'", "email": "'e9'", "card": "'6'", "salary": "90", "big": "90", "n": "90",
				"f": "90", "d": "'9999-12-31'", "ts": "'9999-12-31 00:00+00'", "j": "'false'", "js": "'false'",
				"arr": "'{\"9\", NULL}'", "iarr": "'{9,NULL}'", "b": `'\x90'`, "flag": "false", "iv": "'90 years'"}},
		{10, 5, "jon", false,
			map[string]string{"ssn": long("lngG", 1200), "email": long("lngH", 500), "card": "'7'", "salary": "10",
				"big": "10", "n": "10", "f": "10", "d": "'2010-10-10'", "ts": "'2010-10-10 00:00+00'", "j": "'10'",
				"js": "'10'", "arr": "'{10}'", "iarr": "'{10}'", "b": `'\x10'`, "flag": "false", "iv": "'10 days'"},
			map[string]string{"ssn": "'s10'", "email": "'e10'", "card": "'8'", "salary": "1000", "big": "1000",
				"n": "1000", "f": "1000", "d": "'2011-11-11'", "ts": "'2011-11-11 00:00+00'", "j": "'11'",
				"js": "'11'", "arr": "'{11}'", "iarr": "'{11}'", "b": `'\x11'`, "flag": "true", "iv": "'11 days'"}},
		{11, 6, "kim", true,
			map[string]string{"ssn": long("lngI", 1200), "email": long("lngJ", 500), "card": "'9'", "salary": "11",
				"big": "11", "n": "11", "f": "11", "d": "'2012-12-12'", "ts": "'2012-12-12 00:00+00'", "j": "'12'",
				"js": "'12'", "arr": "'{12}'", "iarr": "'{12}'", "b": `'\x12'`, "flag": "true", "iv": "'12 days'"},
			map[string]string{"ssn": "'s11'", "email": "'e11'", "card": "'0'", "salary": "-11", "big": "-11",
				"n": "-11", "f": "-11", "d": "'2013-01-13'", "ts": "'2013-01-13 00:00+00'", "j": "'13'", "js": "'13'",
				"arr": "'{13}'", "iarr": "'{13}'", "b": `'\x13'`, "flag": "false", "iv": "'13 days'"}},
		{12, 6, "lou", false,
			map[string]string{"ssn": "'last-a'", "email": "'b@c.example'", "card": "'12'", "salary": "12",
				"big": "12", "n": "12", "f": "12", "d": "'2014-01-14'", "ts": "'2014-01-14 00:00+00'", "j": "'14'",
				"js": "'14'", "arr": "'{14}'", "iarr": "'{14}'", "b": `'\x14'`, "flag": "false", "iv": "'14 days'"},
			map[string]string{"ssn": "'last-b'", "email": "'c@d.example'", "card": "'13'", "salary": "13",
				"big": "13", "n": "13", "f": "13", "d": "'2015-01-15'", "ts": "'2015-01-15 00:00+00'", "j": "'15'",
				"js": "'15'", "arr": "'{15}'", "iarr": "'{15}'", "b": `'\x15'`, "flag": "true", "iv": "'15 days'"}},
	}
	return rows
}

// niSecrets are raw masked values of the fixture (distinctive ones) that
// no byte the client receives may hold.
func niSecrets() []string {
	s := []string{"918-27-3645", "zara.secret7", "quill.hidden3", "yuri.private5", "4929381726354410",
		"5384017263549921", "6011928374650012", "7351982", "8462093", "ünïcødé", "178000000"}
	for _, tag := range []string{"lngA", "lngB", "lngC", "lngD", "lngE", "lngF", "lngG", "lngH", "lngI", "lngJ"} {
		n := 500
		if strings.ContainsAny(tag[3:], "ACEGI") {
			n = 1200
		}
		s = append(s, niLong(tag, n)[4:40])
	}
	return s
}

// niFixture creates P_nia, P_nib (same unmasked rows, different masked
// values) and P_nio (unmasked).
func niFixture(a *advEnv) string {
	var b strings.Builder
	cols := []string{"id int PRIMARY KEY", "grp int", "name text", "uflag boolean"}
	for _, c := range niMasked {
		cols = append(cols, c.name+" "+niColumnTypes[c.name])
	}
	for _, tab := range []string{"nia", "nib"} {
		fmt.Fprintf(&b, "CREATE TABLE P_%s (%s);\n", tab, strings.Join(cols, ", "))
		for _, r := range niRows() {
			vals := r.a
			if tab == "nib" {
				vals = r.b
			}
			v := []string{strconv.Itoa(r.id), strconv.Itoa(r.grp), "'" + r.name + "'", strconv.FormatBool(r.uflag)}
			for _, c := range niMasked {
				lit, ok := vals[c.name]
				if !ok {
					lit = "NULL"
				}
				v = append(v, lit)
			}
			fmt.Fprintf(&b, "INSERT INTO P_%s VALUES (%s);\n", tab, strings.Join(v, ", "))
		}
	}
	b.WriteString("CREATE TABLE P_nio (id int, grp int, note text);\n")
	b.WriteString("INSERT INTO P_nio SELECT g, g % 3, 'note' || g FROM generate_series(1, 14) g;\n")
	// The fixture's masked values are in the tables; the rest of the file
	// writes P_ with the advEnv prefix.
	return a.sql(b.String())
}

// niNode is a generated piece of SQL: parts around its kids (a list node
// joins its kids with sep between parts[0] and parts[1]). Its type lets
// the shrinker replace it by a descendant of the same type.
type niNode struct {
	ty    niTy
	parts []string
	kids  []*niNode
	list  bool
	sep   string
}

func (n *niNode) String() string {
	var b strings.Builder
	n.render(&b)
	return b.String()
}

func (n *niNode) render(b *strings.Builder) {
	if n.list {
		b.WriteString(n.parts[0])
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(n.sep)
			}
			k.render(b)
		}
		b.WriteString(n.parts[1])
		return
	}
	for i, p := range n.parts {
		b.WriteString(p)
		if i < len(n.kids) {
			n.kids[i].render(b)
		}
	}
}

// niF builds a node from a format whose ¤ marks stand for kids.
func niF(ty niTy, format string, kids ...*niNode) *niNode {
	parts := strings.Split(format, "¤")
	if len(parts) != len(kids)+1 {
		panic("niF: " + format)
	}
	return &niNode{ty: ty, parts: parts, kids: kids}
}

func niLeaf(ty niTy, text string) *niNode { return &niNode{ty: ty, parts: []string{text}} }

func niList(ty niTy, open, sep, close string, kids ...*niNode) *niNode {
	return &niNode{ty: ty, parts: []string{open, close}, kids: kids, list: true, sep: sep}
}

// niScope is what an expression may name.
type niScope struct {
	cols  []niCol // qualified columns in scope
	group []niCol // in an aggregate's select list: the only columns outside aggregates
	agg   bool    // aggregates allowed (and columns only from group outside them)
	win   bool    // window functions allowed
	order string  // a column to order windows and aggregates by (t.id)
	rows  []string
	outer string // the id column a correlated subquery may match
}

// niTableScope is the scope of P_niX (or P_nio) under alias al.
func niTableScope(al string, masked bool) niScope {
	sc := niScope{order: al + ".id", outer: al + ".id", rows: []string{al}}
	for _, c := range niPlain {
		sc.cols = append(sc.cols, niCol{al + "." + c.name, c.ty})
	}
	if masked {
		for _, c := range niMasked {
			sc.cols = append(sc.cols, niCol{al + "." + c.name, c.ty})
		}
	}
	return sc
}

type niGen struct {
	r     *rand.Rand
	depth int
	max   int
	alias int
	extra func(ty niTy, sc niScope) []niProd // more productions (round 27)
}

func (g *niGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }
func (g *niGen) chance(p float64) bool    { return g.r.Float64() < p }
func (g *niGen) nextAlias(p string) string {
	g.alias++
	return p + strconv.Itoa(g.alias)
}

var niLiterals = [niTypes][]string{
	niText:     {"'abc'", "''", "'{1,2}'", "'  {x}'", "'NaN'", "'ü'", "'x,y'", "'%'", "'[1:1]={z}'", "NULL", "'s'", "'-'"},
	niInt:      {"0", "1", "2", "-1", "5", "2147483647", "-2147483648", "3", "NULL"},
	niBig:      {"3000000000", "9223372036854775807", "-1", "NULL"},
	niNum:      {"1.5", "0.1", "1e400", "'NaN'", "-2.5", "NULL"},
	niFloat:    {"1e300", "'-Infinity'", "'NaN'", "0.5", "NULL"},
	niDate:     {"'2000-01-01'", "'infinity'", "'294277-01-01'", "'4713-01-01 BC'", "NULL"},
	niTs:       {"'2000-01-01 00:00+00'", "'infinity'", "'294276-12-31 23:00+00'", "NULL"},
	niJsonb:    {`'{"a": 1}'`, "'[1]'", `'"s"'`, "'null'", "'1'", "NULL"},
	niJson:     {`'{"a": 1}'`, "'[1]'", `'"s"'`, "'null'", "NULL"},
	niTextArr:  {"'{a,b}'", "'{{a},{b}}'", "'{}'", "'{{{{{{w}}}}}}'", "NULL"},
	niIntArr:   {"'{1,2}'", "'{{1},{2}}'", "'{}'", "NULL"},
	niBytea:    {`'\x00ff'`, "''", `'\x41'`, "NULL"},
	niBool:     {"true", "false", "NULL"},
	niInterval: {"'1 day'", "'-1000 years'", "'1 mon'", "NULL"},
}

// niOrdered are the types with a btree ordering (min, max, GREATEST).
func niOrdered(ty niTy) bool { return ty != niJson }

func (g *niGen) lit(ty niTy) *niNode {
	l := niLiterals[ty]
	s := l[g.r.IntN(len(l))]
	if ty != niText && ty != niInt && !strings.HasPrefix(s, "NULL") && g.chance(0.3) && strings.HasPrefix(s, "'") {
		s += "::" + niTypeNames[ty]
	}
	return niLeaf(ty, s)
}

// col picks a column of type ty in scope (from the group in an aggregate
// select list), or nil.
func (g *niGen) col(ty niTy, sc niScope) *niNode {
	cols := sc.cols
	if sc.agg {
		cols = sc.group
	}
	var c []niCol
	for _, x := range cols {
		if x.ty == ty {
			c = append(c, x)
		}
	}
	if len(c) == 0 {
		return nil
	}
	return niLeaf(ty, c[g.r.IntN(len(c))].name)
}

func (g *niGen) leaf(ty niTy, sc niScope) *niNode {
	if g.chance(0.75) {
		if c := g.col(ty, sc); c != nil {
			return c
		}
	}
	return g.lit(ty)
}

// rowLevel is the scope inside an aggregate or window call.
func (sc niScope) rowLevel() niScope {
	sc.agg, sc.win, sc.group = false, false, nil
	return sc
}

func (g *niGen) anyTy() niTy { return niTy(g.r.IntN(int(niTypes))) }

// expr generates an expression of type ty.
func (g *niGen) expr(ty niTy, sc niScope) *niNode {
	if g.depth >= g.max {
		return g.leaf(ty, sc)
	}
	g.depth++
	defer func() { g.depth-- }()
	type prod = niProd
	ps := []prod{
		{4, func() *niNode { return g.leaf(ty, sc) }},
		{1, func() *niNode {
			if g.chance(0.5) {
				return niF(ty, "CASE WHEN ¤ THEN ¤ ELSE ¤ END", g.expr(niBool, sc), g.expr(ty, sc), g.expr(ty, sc))
			}
			return niF(ty, "CASE WHEN ¤ THEN ¤ END", g.expr(niBool, sc), g.expr(ty, sc))
		}},
		{1, func() *niNode { return niF(ty, "COALESCE(¤, ¤)", g.expr(ty, sc), g.expr(ty, sc)) }},
		{0.4, func() *niNode {
			return niF(ty, "CASE ¤ WHEN ¤ THEN ¤ END", g.expr(ty, sc), g.lit(ty), g.expr(ty, sc))
		}},
		{0.5, func() *niNode { return g.subquery(ty, sc) }},
	}
	if ty != niJson {
		ps = append(ps, prod{0.3, func() *niNode { return niF(ty, "NULLIF(¤, ¤)", g.expr(ty, sc), g.expr(ty, sc)) }})
		ps = append(ps, prod{0.3, func() *niNode {
			return niF(ty, g.pick("GREATEST", "LEAST")+"(¤, ¤)", g.expr(ty, sc), g.expr(ty, sc))
		}})
	}
	if sc.win {
		ps = append(ps, prod{1.5, func() *niNode { return g.window(ty, sc) }})
	}
	if sc.agg && niOrdered(ty) {
		ps = append(ps, prod{2, func() *niNode {
			return niF(ty, g.pick("min", "max")+"(¤)"+g.filter(sc), g.expr(ty, sc.rowLevel()))
		}})
	}
	if sc.agg {
		ps = append(ps, prod{0.3, func() *niNode {
			return niF(ty, "(array_agg(¤"+g.aggOrder(sc)+"))[1]", g.expr(ty, sc.rowLevel()))
		}})
	}
	ps = append(ps, g.typed(ty, sc)...)
	if g.extra != nil {
		ps = append(ps, g.extra(ty, sc)...)
	}
	var total float64
	for _, p := range ps {
		total += p.w
	}
	x := g.r.Float64() * total
	for _, p := range ps {
		if x < p.w {
			return p.f()
		}
		x -= p.w
	}
	return ps[0].f()
}

func (g *niGen) filter(sc niScope) string {
	if g.chance(0.2) {
		return " FILTER (WHERE " + g.pick(sc.order+" > 3", sc.order+" % 2 = 0", sc.order+" IS NOT NULL") + ")"
	}
	return ""
}

func (g *niGen) aggOrder(sc niScope) string {
	if g.chance(0.4) {
		return " ORDER BY " + sc.order + g.pick("", " DESC")
	}
	return ""
}

// window returns a window function of type ty.
func (g *niGen) window(ty niTy, sc niScope) *niNode {
	rl := sc.rowLevel()
	w := g.pick(" OVER ()", " OVER (ORDER BY "+sc.order+")", " OVER (PARTITION BY "+sc.order+" % 3 ORDER BY "+sc.order+")",
		" OVER (ORDER BY "+sc.order+" ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING)", " OVER (ORDER BY "+sc.order+" DESC)")
	switch g.r.IntN(6) {
	case 0:
		return niF(ty, g.pick("first_value", "last_value")+"(¤)"+w, g.expr(ty, rl))
	case 1:
		return niF(ty, g.pick("lag", "lead")+"(¤)"+w, g.expr(ty, rl))
	case 2:
		return niF(ty, g.pick("lag", "lead")+"(¤, ¤)"+w, g.expr(ty, rl), g.expr(niInt, rl))
	case 3:
		return niF(ty, g.pick("lag", "lead")+"(¤, ¤, ¤)"+w, g.expr(ty, rl), g.leaf(niInt, rl), g.expr(ty, rl))
	case 4:
		if niOrdered(ty) {
			return niF(ty, g.pick("min", "max")+"(¤)"+w, g.expr(ty, rl))
		}
		return niF(ty, "nth_value(¤, 2)"+w, g.expr(ty, rl))
	}
	// A window ordered by an expression (a filter unless it reads no
	// masked column).
	return niF(ty, "first_value(¤) OVER (ORDER BY ¤)", g.expr(ty, rl), g.expr(g.anyTy(), rl))
}

// subquery returns a scalar subquery of type ty.
func (g *niGen) subquery(ty niTy, sc niScope) *niNode {
	al := g.nextAlias("q")
	in := niTableScope(al, true)
	in.cols = append(in.cols, sc.rowLevel().cols...)
	switch g.r.IntN(4) {
	case 0:
		return niF(ty, "(SELECT ¤ FROM P_niX "+al+" WHERE "+al+".id = "+sc.outer+")", g.expr(ty, in))
	case 1:
		agg := in
		agg.agg, agg.group = true, nil
		if niOrdered(ty) {
			return niF(ty, "(SELECT "+g.pick("min", "max")+"(¤) FROM P_niX "+al+")", g.expr(ty, in))
		}
		return niF(ty, "(SELECT ¤ FROM P_niX "+al+" ORDER BY "+al+".id LIMIT 1)", g.expr(ty, in))
	case 2:
		o := niTableScope(al, false)
		o.cols = append(o.cols, sc.rowLevel().cols...)
		return niF(ty, "(SELECT ¤ FROM P_nio "+al+" WHERE "+al+".id = "+sc.outer+")", g.expr(ty, o))
	}
	return niF(ty, "(SELECT ¤ FROM P_niX "+al+" WHERE "+al+".id > "+sc.outer+" ORDER BY "+al+".id LIMIT 1)", g.expr(ty, in))
}

// niProd is a production of the generator with its weight.
type niProd struct {
	w float64
	f func() *niNode
}

// anyExpr is an expression of any type.
func (g *niGen) anyExpr(sc niScope) *niNode { return g.expr(g.anyTy(), sc) }

// args returns 1..n expressions of any type in a list.
func (g *niGen) args(sc niScope, lo, hi int) *niNode {
	var ks []*niNode
	for i := lo + g.r.IntN(hi-lo+1); i > 0; i-- {
		ks = append(ks, g.anyExpr(sc))
	}
	return niList(niNone, "", ", ", "", ks...)
}

// typed returns the productions of type ty: the allow-list of
// fallible.go (total) and expressions that may fail.
func (g *niGen) typed(ty niTy, sc niScope) []niProd {
	type prod = niProd
	e := func(t niTy) *niNode { return g.expr(t, sc) }
	f1 := func(name string, t niTy) func() *niNode {
		return func() *niNode { return niF(ty, name+"(¤)", e(t)) }
	}
	rl := sc.rowLevel()
	var ps []prod
	add := func(w float64, f func() *niNode) { ps = append(ps, prod{w, f}) }
	switch ty {
	case niText:
		for _, fn := range []string{"upper", "lower", "initcap", "reverse", "md5", "quote_literal", "quote_nullable", "btrim", "ltrim", "rtrim"} {
			add(0.3, f1(fn, niText))
		}
		add(0.3, func() *niNode { return niF(ty, g.pick("btrim", "ltrim", "rtrim")+"(¤, ¤)", e(niText), g.lit(niText)) })
		add(0.6, func() *niNode { return niF(ty, g.pick("left", "right")+"(¤, ¤)", e(niText), e(niInt)) })
		add(0.6, func() *niNode {
			n := g.pick("0", "1", "2", "-1", "-5", "2147483647", "-2147483648")
			if g.chance(0.5) {
				return niF(ty, "substr(¤, "+n+")", e(niText))
			}
			return niF(ty, "substr(¤, "+n+", "+g.pick("0", "1", "3", "-1", "2147483647")+")", e(niText))
		})
		add(0.3, func() *niNode {
			return niF(ty, "substring(¤ from "+g.pick("1", "2", "-3")+" for "+g.pick("0", "2", "-1")+")", e(niText))
		})
		add(0.3, func() *niNode { return niF(ty, "substr(¤, ¤)", e(niText), e(niInt)) })
		add(0.6, func() *niNode {
			n := g.pick("0", "3", "10", "-1", "268435455", "300000000", "2147483647", "1048576")
			fn := g.pick("lpad", "rpad")
			if g.chance(0.5) {
				return niF(ty, fn+"(¤, "+n+")", e(niText))
			}
			return niF(ty, fn+"(¤, "+n+", ¤)", e(niText), g.lit(niText))
		})
		add(0.2, func() *niNode { return niF(ty, "lpad(¤, ¤)", e(niText), e(niInt)) })
		add(0.4, func() *niNode {
			return niF(ty, "split_part(¤, ¤, "+g.pick("1", "2", "-1", "0", "2147483647")+")", e(niText), g.lit(niText))
		})
		add(0.4, func() *niNode {
			return niF(ty, "encode(¤, '"+g.pick("hex", "base64", "escape", "base32")+"')", e(niBytea))
		})
		add(0.8, func() *niNode {
			fmtLit := g.pick("'%s'", "'%s %s'", "'%L'", "'%%'", "'%I'", "'%s-%L'", "'%1$s'", "'%-3s'", "''", "'%s%s%s'")
			args := g.args(sc, 0, 3)
			if len(args.kids) == 0 {
				return niF(ty, "format("+fmtLit+")")
			}
			return niF(ty, "format("+fmtLit+", ¤)", args)
		})
		add(0.6, func() *niNode { return niF(ty, "concat(¤)", g.args(sc, 1, 3)) })
		add(0.3, func() *niNode { return niF(ty, "concat_ws(¤, ¤)", g.lit(niText), g.args(sc, 1, 3)) })
		add(1.2, func() *niNode {
			return niF(ty, "(¤)::"+g.pick("text", "varchar(3)", "char(2)", "name", "varchar", "pg_catalog.text"), g.anyExpr(sc))
		})
		add(0.8, func() *niNode { return niF(ty, "¤ || ¤", e(niText), e(niText)) })
		add(0.6, func() *niNode {
			if g.chance(0.5) {
				return niF(ty, "¤ || ¤", g.anyExpr(sc), g.lit(niText))
			}
			return niF(ty, "¤ || ¤", g.lit(niText), g.anyExpr(sc))
		})
		add(0.3, func() *niNode {
			return niF(ty, g.pick("replace", "translate")+"(¤, ¤, ¤)", e(niText), g.lit(niText), g.lit(niText))
		})
		add(0.6, func() *niNode { return niF(ty, "to_json(¤)::text", g.anyExpr(sc)) })
		if len(sc.rows) > 0 {
			add(0.3, func() *niNode { return niF(ty, "row_to_json("+g.pick(sc.rows...)+")::text") })
		}
		add(0.3, func() *niNode { return niF(ty, "json_build_array(¤)::text", g.args(sc, 1, 3)) })
		add(0.2, func() *niNode { return niF(ty, "array_to_json(¤)::text", e(niTextArr)) })
		add(0.2, func() *niNode { return niF(ty, "pg_typeof(¤)::text", g.anyExpr(sc)) })
		add(0.2, func() *niNode { return niF(ty, "(¤ COLLATE \"C\")", e(niText)) })
		if sc.agg {
			add(1, func() *niNode {
				return niF(ty, "string_agg(¤, ¤"+g.aggOrder(sc)+")"+g.filter(sc), g.expr(niText, rl), g.lit(niText))
			})
			add(0.5, func() *niNode { return niF(ty, "json_agg(¤"+g.aggOrder(sc)+")::text", g.expr(g.anyTy(), rl)) })
		}
		// May fail.
		add(0.2, func() *niNode { return niF(ty, "regexp_replace(¤, 'a', 'b')", e(niText)) })
		add(0.2, func() *niNode { return niF(ty, "repeat(¤, ¤)", e(niText), e(niInt)) })
		add(0.2, func() *niNode { return niF(ty, "chr(¤)", e(niInt)) })
		add(0.2, func() *niNode { return niF(ty, "quote_ident(¤)", e(niText)) })
		add(0.2, func() *niNode { return niF(ty, "to_char(¤, '999')", e(niNum)) })
		add(0.2, func() *niNode { return niF(ty, "¤ ->> 'a'", e(niJsonb)) })
		add(0.2, func() *niNode { return niF(ty, "(¤)[1]", e(niTextArr)) })
		add(0.2, func() *niNode { return niF(ty, "array_to_string(¤, ',')", e(niTextArr)) })
		add(0.1, func() *niNode { return niF(ty, "¤::date::text", e(niText)) })
	case niInt:
		for _, fn := range []string{"length", "char_length", "octet_length", "pg_column_size"} {
			add(0.4, f1(fn, niText))
		}
		add(0.3, func() *niNode { return niF(ty, "pg_column_size(¤)", g.anyExpr(sc)) })
		add(0.4, func() *niNode { return niF(ty, "¤ "+g.pick("+", "-", "*", "/", "%")+" ¤", e(niInt), e(niInt)) })
		add(0.2, func() *niNode { return niF(ty, "ascii(¤)", e(niText)) })
		add(0.2, func() *niNode { return niF(ty, "array_length(¤, 1)", e(niTextArr)) })
		add(0.2, func() *niNode { return niF(ty, "cardinality(¤)", e(niIntArr)) })
		add(0.2, func() *niNode { return niF(ty, "(¤)::int", e(g.anyTy())) })
		add(0.1, func() *niNode { return niF(ty, "strpos(¤, 'a')", e(niText)) })
		add(0.1, func() *niNode { return niF(ty, "date_part('year', ¤)::int", e(niDate)) })
	case niBig:
		if sc.agg {
			add(1.5, func() *niNode { return niF(ty, "count(¤)"+g.filter(sc), g.expr(g.anyTy(), rl)) })
			add(0.5, func() *niNode { return niF(ty, "count(*)"+g.filter(sc)) })
			add(0.3, func() *niNode { return niF(ty, "count(DISTINCT ¤)", g.expr(g.anyTy(), rl)) })
			add(0.3, func() *niNode { return niF(ty, "sum(¤)", g.expr(niInt, rl)) })
		}
		if sc.win {
			add(0.3, func() *niNode {
				return niF(ty, g.pick("row_number()", "rank()", "count(*)")+" OVER (ORDER BY "+sc.order+")")
			})
			add(0.3, func() *niNode { return niF(ty, "count(¤) OVER ()", g.expr(g.anyTy(), rl)) })
		}
		add(0.3, func() *niNode { return niF(ty, "(¤)::bigint", e(niInt)) })
		add(0.2, func() *niNode { return niF(ty, "¤ + 1", e(niBig)) })
	case niNum:
		add(0.3, func() *niNode { return niF(ty, "¤ "+g.pick("+", "*", "/")+" ¤", e(niNum), e(niNum)) })
		add(0.2, func() *niNode { return niF(ty, "round(¤, 2)", e(niNum)) })
		add(0.2, func() *niNode { return niF(ty, "(¤)::numeric", e(g.pick2(niText, niInt))) })
		if sc.agg {
			add(0.5, func() *niNode { return niF(ty, g.pick("sum", "avg")+"(¤)", g.expr(niNum, rl)) })
		}
	case niFloat:
		add(0.3, func() *niNode { return niF(ty, "¤ "+g.pick("+", "*")+" ¤", e(niFloat), e(niFloat)) })
		add(0.2, func() *niNode { return niF(ty, g.pick("sqrt", "ln", "exp")+"(¤)", e(niFloat)) })
		add(0.2, func() *niNode { return niF(ty, "(¤)::float8", e(niNum)) })
	case niDate:
		add(0.3, func() *niNode { return niF(ty, "¤ + ¤", e(niDate), e(niInt)) })
		add(0.2, func() *niNode { return niF(ty, "(¤)::date", e(niTs)) })
		add(0.2, func() *niNode { return niF(ty, "to_date(¤, 'YYYY')", e(niText)) })
	case niTs:
		add(0.3, func() *niNode { return niF(ty, "(¤)::timestamptz", e(niDate)) })
		add(0.2, func() *niNode { return niF(ty, "¤ + ¤", e(niTs), e(niInterval)) })
	case niJsonb:
		add(0.3, func() *niNode { return niF(ty, "to_jsonb(¤)", g.anyExpr(sc)) })
		add(0.3, func() *niNode { return niF(ty, "jsonb_build_object(¤, ¤)", e(niText), g.anyExpr(sc)) })
		add(0.4, func() *niNode { return niF(ty, "¤ || ¤", e(niJsonb), g.lit(niJsonb)) })
		add(0.2, func() *niNode { return niF(ty, "¤ -> 'a'", e(niJsonb)) })
		add(0.2, func() *niNode { return niF(ty, "(¤)::jsonb", e(niJson)) })
		if sc.agg {
			add(0.3, func() *niNode { return niF(ty, "jsonb_agg(¤)", g.expr(g.anyTy(), rl)) })
		}
	case niJson:
		add(0.5, func() *niNode { return niF(ty, "to_json(¤)", g.anyExpr(sc)) })
		if len(sc.rows) > 0 {
			add(0.4, func() *niNode { return niF(ty, "row_to_json("+g.pick(sc.rows...)+")") })
		}
		add(0.4, func() *niNode { return niF(ty, "json_build_array(¤)", g.args(sc, 1, 3)) })
		add(0.3, func() *niNode { return niF(ty, "array_to_json(¤)", e(g.pick2(niTextArr, niIntArr))) })
		add(0.2, func() *niNode { return niF(ty, "json_build_object(¤, ¤)", e(niText), g.anyExpr(sc)) })
		add(0.2, func() *niNode { return niF(ty, "¤ -> 0", e(niJson)) })
		if sc.agg {
			add(0.5, func() *niNode { return niF(ty, "json_agg(¤"+g.aggOrder(sc)+")", g.expr(g.anyTy(), rl)) })
		}
	case niTextArr:
		add(0.5, func() *niNode { return niF(ty, "ARRAY[¤]", niList(niNone, "", ", ", "", e(niText), e(niText))) })
		add(0.5, func() *niNode { return niF(ty, "ARRAY[¤]", e(niTextArr)) })
		add(0.2, func() *niNode { return niF(ty, "ARRAY[¤, ¤]", e(niTextArr), g.lit(niText)) })
		add(0.3, func() *niNode { return niF(ty, "¤ || ¤", e(niTextArr), e(g.pick2(niTextArr, niText))) })
		add(0.2, func() *niNode { return niF(ty, "¤ || ¤", g.lit(niText), e(niTextArr)) })
		add(0.2, func() *niNode { return niF(ty, "string_to_array(¤, ',')", e(niText)) })
		add(0.2, func() *niNode { return niF(ty, "array_append(¤, ¤)", e(niTextArr), e(niText)) })
		add(0.2, func() *niNode {
			al := g.nextAlias("r")
			return niF(ty, "ARRAY(SELECT ¤ FROM P_niX "+al+" ORDER BY "+al+".id)", g.expr(niText, niTableScope(al, true)))
		})
		if sc.agg {
			add(0.4, func() *niNode { return niF(ty, "array_agg(¤"+g.aggOrder(sc)+")", g.expr(niText, rl)) })
		}
	case niIntArr:
		add(0.4, func() *niNode { return niF(ty, "ARRAY[¤]", niList(niNone, "", ", ", "", e(niInt), e(niInt))) })
		add(0.5, func() *niNode { return niF(ty, "ARRAY[¤]", e(niIntArr)) })
		add(0.3, func() *niNode { return niF(ty, "¤ || ¤", e(niIntArr), e(g.pick2(niIntArr, niInt))) })
		add(0.2, func() *niNode { return niF(ty, "¤ || ¤", e(niInt), e(niIntArr)) })
		if sc.agg {
			add(0.4, func() *niNode { return niF(ty, "array_agg(¤)", g.expr(niInt, rl)) })
		}
	case niBytea:
		add(0.3, func() *niNode { return niF(ty, "(¤)::bytea", e(niText)) })
		add(0.2, func() *niNode { return niF(ty, "decode(¤, 'hex')", e(niText)) })
		add(0.2, func() *niNode { return niF(ty, "sha256(¤)", e(niBytea)) })
		add(0.3, func() *niNode { return niF(ty, "¤ || ¤", e(niBytea), e(niBytea)) })
		add(0.3, func() *niNode { return niF(ty, "substr(¤, 1, 2)", e(niBytea)) })
		add(0.2, func() *niNode { return niF(ty, "btrim(¤, '\\x00'::bytea)", e(niBytea)) })
		if sc.agg {
			add(0.3, func() *niNode { return niF(ty, "string_agg(¤, '\\x2c'::bytea)", g.expr(niBytea, rl)) })
		}
	case niBool:
		add(1, func() *niNode { return niF(ty, "¤ IS "+g.pick("", "NOT ")+"NULL", g.anyExpr(sc)) })
		add(0.5, func() *niNode { return niF(ty, "NOT ¤", e(niBool)) })
		add(0.8, func() *niNode { return niF(ty, "(¤ "+g.pick("AND", "OR")+" ¤)", e(niBool), e(niBool)) })
		add(0.3, func() *niNode { return niF(ty, "¤ IS "+g.pick("TRUE", "NOT FALSE", "UNKNOWN"), e(niBool)) })
		add(0.3, func() *niNode { return niF(ty, "ROW(¤, ¤) IS NULL", g.anyExpr(sc), g.anyExpr(sc)) })
		add(0.5, func() *niNode {
			t := g.anyTy()
			if t == niJson {
				t = niText
			}
			return niF(ty, "¤ "+g.pick("=", "<", "<>", "IS DISTINCT FROM")+" ¤", g.expr(t, sc), g.expr(t, sc))
		})
		add(0.3, func() *niNode { return niF(ty, "¤ LIKE ¤", e(niText), g.lit(niText)) })
		add(0.2, func() *niNode { return niF(ty, "starts_with(¤, 'a')", e(niText)) })
		add(0.3, func() *niNode {
			al := g.nextAlias("e")
			in := niTableScope(al, true)
			in.cols = append(in.cols, rl.cols...)
			return niF(ty, "EXISTS (SELECT 1 FROM P_niX "+al+" WHERE "+al+".id = "+sc.outer+" AND ¤)", g.expr(niBool, in))
		})
		add(0.2, func() *niNode { return niF(ty, "¤ IN (SELECT id FROM P_nio)", e(niInt)) })
		if sc.win && len(sc.rows) > 0 {
			// An unmasked flag chosen by an offset: total when the offset is.
			add(0.6, func() *niNode {
				return niF(ty, g.pick("lag", "lead")+"("+g.pick(sc.rows...)+".uflag, ¤) OVER (ORDER BY "+sc.order+")", g.expr(niInt, rl))
			})
		}
		if sc.agg {
			add(0.3, func() *niNode { return niF(ty, "bool_and(¤)", g.expr(niBool, rl)) })
		}
	case niInterval:
		add(0.3, func() *niNode { return niF(ty, "¤ + ¤", e(niInterval), e(niInterval)) })
		add(0.2, func() *niNode { return niF(ty, "justify_days(¤)", e(niInterval)) })
		add(0.2, func() *niNode { return niF(ty, "¤ * 2", e(niInterval)) })
	}
	return ps
}

func (g *niGen) pick2(a, b niTy) niTy {
	if g.chance(0.5) {
		return a
	}
	return b
}

// items returns n select items of the given types (random when nil).
func (g *niGen) items(sc niScope, tys []niTy, prefix string) *niNode {
	var ks []*niNode
	for i, ty := range tys {
		if prefix == "" { // VALUES
			ks = append(ks, g.expr(ty, sc))
			continue
		}
		ks = append(ks, niF(niNone, "¤ AS "+prefix+strconv.Itoa(i), g.expr(ty, sc)))
	}
	return niList(niNone, "", ", ", "", ks...)
}

func (g *niGen) types(lo, hi int) []niTy {
	var tys []niTy
	for i := lo + g.r.IntN(hi-lo+1); i > 0; i-- {
		tys = append(tys, g.anyTy())
	}
	return tys
}

// where returns a WHERE clause: mostly on unmasked columns (allowed),
// sometimes any condition.
func (g *niGen) where(sc niScope, al string) *niNode {
	switch g.r.IntN(10) {
	case 0, 1, 2, 3:
		return niLeaf(niNone, "")
	case 4, 5, 6, 7:
		return niLeaf(niNone, " WHERE "+g.pick(al+".id > 3", al+".grp = 2", al+".name <> 'bob'", al+".uflag",
			al+".id IN (SELECT id FROM P_nio WHERE grp = 1)", al+".id % 2 = 0", al+".id < 11"))
	}
	return niF(niNone, " WHERE ¤", g.expr(niBool, sc.rowLevel()))
}

// chooser generates a statement whose masked condition (total, so
// allowed) decides whether an expression over unmasked columns runs: the
// analyzer must deny it unless that expression cannot fail, whatever the
// unmasked values, or the error tells the condition. Mostly on one row
// (the tables' masked values differ in most rows; on every row, each
// table would fail on one): the condition is computed in a subquery, over
// every row, and the outer query keeps one.
func (g *niGen) chooser() *niNode {
	conds := []string{"t.flag", "NOT t.flag", "(t.flag AND t.uflag)", "(t.flag OR t.uflag)", "t.flag IS TRUE",
		"lag(t.uflag, t.salary) OVER (ORDER BY t.id)", "lead(t.uflag, length(t.ssn)) OVER (ORDER BY t.id)",
		"first_value(t.flag) OVER (ORDER BY t.id)", "lag(t.flag) OVER (ORDER BY t.id)"}
	cond := g.pick(conds...)
	ty := g.anyTy()
	al, from, c := "t", " FROM P_niX t ORDER BY t.id", cond
	if g.chance(0.8) {
		al, c = "s", "s.c"
		from = " FROM (SELECT t.*, " + cond + " AS c FROM P_niX t) s WHERE s.id = " + strconv.Itoa(1+g.r.IntN(12))
	}
	plain := niTableScope(al, false)
	plain.win = true
	run := g.expr(ty, plain)
	switch g.r.IntN(4) {
	case 0:
		return niF(niStmt, "SELECT "+al+".id, CASE WHEN "+c+" THEN ¤ ELSE ¤ END AS x"+from, g.lit(ty), run)
	case 1:
		return niF(niStmt, "SELECT "+al+".id, ("+c+" "+g.pick("AND", "OR")+" (¤) IS NULL) AS x"+from, run)
	case 2:
		return niF(niStmt, "SELECT "+al+".id, COALESCE(CASE WHEN "+c+" THEN ¤ END, ¤) AS x"+from, g.lit(ty), run)
	}
	return niF(niStmt, "SELECT "+al+".id, CASE WHEN "+c+" THEN ¤ END AS x"+from, run)
}

// query generates a statement over P_niX t (and P_nio).
func (g *niGen) query() *niNode {
	g.alias = 0
	base := func() (niScope, string) {
		sc := niTableScope("t", true)
		sc.win = true
		join := ""
		if g.chance(0.25) {
			join = " JOIN P_nio u ON u.id = t.id"
			sc.cols = append(sc.cols, niCol{"u.note", niText}, niCol{"u.grp", niInt})
			sc.rows = append(sc.rows, "u")
		}
		return sc, join
	}
	switch k := g.r.IntN(23); k {
	case 20, 21, 22: // a masked condition chooses what runs
		return g.chooser()
	case 0, 1, 2, 3, 4: // plain select
		sc, join := base()
		tail := ""
		if g.chance(0.85) {
			tail = " ORDER BY t.id"
		}
		if g.chance(0.2) {
			tail += " LIMIT " + g.pick("1", "3", "0")
		}
		return niF(niStmt, "SELECT ¤ FROM P_niX t"+join+"¤"+tail, g.items(sc, g.types(1, 3), "x"), g.where(sc, "t"))
	case 5, 6: // aggregate
		sc := niTableScope("t", true)
		sc.agg = true
		if g.chance(0.6) {
			sc.group = []niCol{{"t.grp", niInt}}
			having := niLeaf(niNone, "")
			if g.chance(0.3) {
				having = niF(niNone, " HAVING ¤", g.expr(niBool, sc))
			}
			return niF(niStmt, "SELECT t.grp, ¤ FROM P_niX t¤ GROUP BY t.grp¤ ORDER BY t.grp",
				g.items(sc, g.types(1, 3), "x"), g.where(sc.rowLevel(), "t"), having)
		}
		return niF(niStmt, "SELECT ¤ FROM P_niX t¤", g.items(sc, g.types(1, 3), "x"), g.where(sc.rowLevel(), "t"))
	case 7, 8: // CTE or derived table
		in := niTableScope("t", true)
		in.win = true
		tys := g.types(1, 3)
		out := niScope{order: "c.id", outer: "c.id", rows: []string{"c"}, win: true,
			cols: []niCol{{"c.id", niInt}, {"c.uflag", niBool}}}
		for i, ty := range tys {
			out.cols = append(out.cols, niCol{"c.c" + strconv.Itoa(i), ty})
		}
		inner := niF(niStmt, "SELECT t.id, t.uflag, ¤ FROM P_niX t¤", g.items(in, tys, "c"), g.where(in, "t"))
		outer := g.items(out, g.types(1, 2), "x")
		if k == 7 {
			return niF(niStmt, "WITH c AS (¤) SELECT c.id, ¤ FROM c ORDER BY c.id", inner, outer)
		}
		return niF(niStmt, "SELECT c.id, ¤ FROM (¤) c ORDER BY c.id", outer, inner)
	case 9, 10: // set operation
		tys := g.types(1, 2)
		side := func() *niNode {
			if g.chance(0.2) {
				return niF(niStmt, "VALUES (¤)", g.items(niScope{outer: "2"}, tys, ""))
			}
			al := g.nextAlias("s")
			sc := niTableScope(al, true)
			return niF(niStmt, "SELECT ¤ FROM P_niX "+al+"¤", g.items(sc, tys, "x"), g.where(sc, al))
		}
		op := g.pick(" UNION ALL ", " UNION ALL ", " UNION ", " INTERSECT ", " EXCEPT ")
		return niF(niStmt, "¤"+op+"¤", side(), side())
	case 11: // VALUES
		sc := niScope{outer: "2"}
		tys := g.types(1, 2)
		return niF(niStmt, "VALUES (¤), (¤)", g.items(sc, tys, ""), g.items(sc, tys, ""))
	case 12: // DISTINCT
		sc := niTableScope("t", true)
		return niF(niStmt, "SELECT DISTINCT ¤ FROM P_niX t¤", g.items(sc, g.types(1, 2), "x"), g.where(sc, "t"))
	case 13: // LATERAL
		sc := niTableScope("t", true)
		tail := g.pick("", " LIMIT 1", " OFFSET 0")
		return niF(niStmt, "SELECT t.id, l.* FROM P_niX t, LATERAL (SELECT ¤"+tail+") l ORDER BY t.id",
			g.items(sc, g.types(1, 2), "x"))
	case 14: // set-returning function in the select list or in FROM
		sc := niTableScope("t", true)
		var srf *niNode
		switch g.r.IntN(6) {
		case 0:
			srf = niF(niNone, "unnest(¤)", g.expr(niTextArr, sc))
		case 1:
			srf = niF(niNone, "generate_series(1, ¤)", g.expr(niInt, sc))
		case 2:
			srf = niF(niNone, "jsonb_array_elements(¤)", g.expr(niJsonb, sc))
		case 3:
			srf = niF(niNone, "regexp_split_to_table(¤, ',')", g.expr(niText, sc))
		case 4:
			srf = niF(niNone, "string_to_table(¤, '-')", g.expr(niText, sc))
		default:
			srf = niF(niNone, "jsonb_object_keys(¤)", g.expr(niJsonb, sc))
		}
		if g.chance(0.5) {
			return niF(niStmt, "SELECT t.id, ¤ AS x FROM P_niX t ORDER BY t.id", srf)
		}
		return niF(niStmt, "SELECT t.id, f.* FROM P_niX t, LATERAL ¤ AS f ORDER BY t.id", srf)
	case 15: // EXPLAIN
		sc, join := base()
		sc.win = false
		opts := g.pick("(COSTS OFF) ", "")
		return niF(niStmt, "EXPLAIN "+opts+"SELECT ¤ FROM P_niX t"+join+"¤", g.items(sc, g.types(1, 2), "x"), g.where(sc, "t"))
	case 16: // ORDER BY, GROUP BY, LIMIT computed
		sc := niTableScope("t", true)
		switch g.r.IntN(3) {
		case 0:
			return niF(niStmt, "SELECT t.id FROM P_niX t ORDER BY ¤, t.id", g.anyExpr(sc))
		case 1:
			return niF(niStmt, "SELECT count(*) FROM P_niX t GROUP BY ¤ ORDER BY 1", g.anyExpr(sc))
		}
		return niF(niStmt, "SELECT t.id FROM P_niX t ORDER BY t.id LIMIT ¤", g.expr(niInt, niScope{outer: "3"}))
	case 17: // count over a subquery
		sc, join := base()
		sc.win = true
		return niF(niStmt, "SELECT count(*) FROM (SELECT ¤ FROM P_niX t"+join+"¤) s", g.items(sc, g.types(1, 2), "x"), g.where(sc, "t"))
	case 18: // a filter in a subquery of the WHERE clause
		return niF(niStmt, "SELECT t.id, t.name FROM P_niX t WHERE t.id IN (SELECT x0 FROM (SELECT t2.id AS x0, ¤ FROM P_niX t2) z) ORDER BY t.id",
			g.items(niTableScope("t2", true), g.types(1, 1), "y"))
	}
	// window functions only
	sc := niTableScope("t", true)
	sc.win = true
	var ks []*niNode
	for i := 1 + g.r.IntN(2); i > 0; i-- {
		ks = append(ks, niF(niNone, "¤", g.window(g.anyTy(), sc)))
	}
	return niF(niStmt, "SELECT t.id, ¤ FROM P_niX t ORDER BY t.id", niList(niNone, "", ", ", "", ks...))
}

// niConn is agent ni26's plaintext connection to the gateway, keeping
// every byte and notice it receives.
type niConn struct {
	t       testing.TB
	a       *advEnv
	tp      *tapped
	mu      sync.Mutex
	notices []string
}

func (a *advEnv) niConnect(t testing.TB) *niConn {
	t.Helper()
	nc := &niConn{t: t, a: a}
	nc.connect()
	return nc
}

func (nc *niConn) connect() {
	nc.t.Helper()
	cfg, err := pgconn.ParseConfig(strings.Replace(nc.a.dsn("ni26", "disable"), "dbname=testdb", "dbname=adv", 1))
	if err != nil {
		nc.t.Fatal(err)
	}
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		nc.mu.Lock()
		defer nc.mu.Unlock()
		nc.notices = append(nc.notices, niErrString((*pgconn.PgError)(n)))
	}
	tp, err := dialTapped(nc.t, cfg)
	if err != nil {
		nc.t.Fatalf("connecting as ni26: %v", err)
	}
	nc.tp = tp
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := tp.pc.Exec(ctx, "SET statement_timeout = '3s'").ReadAll(); err != nil {
		nc.t.Fatalf("statement_timeout: %v", err)
	}
	tp.tap.take()
}

func niErrString(e *pgconn.PgError) string {
	return strings.Join([]string{e.Severity, e.Code, e.Message, e.Detail, e.Hint, strconv.Itoa(int(e.Position)),
		strconv.Itoa(int(e.InternalPosition)), e.InternalQuery, e.Where, e.SchemaName, e.TableName, e.ColumnName,
		e.DataTypeName, e.ConstraintName, e.File, strconv.Itoa(int(e.Line)), e.Routine}, "|")
}

// niObs is what the client observed of one run.
type niObs struct {
	denied  bool
	timeout bool
	code    string
	results []string // per result: error, fields, command tag
	rows    [][]string
	notices []string
	leak    string // a raw masked value found in the bytes received
}

// niValue is a value as compared: N for NULL, V and the bytes.
func niValue(v []byte) string {
	if v == nil {
		return "N"
	}
	return "V" + string(v)
}

// run sends sql in mode simple or binary (extended protocol, binary
// results) and returns what came back, with the table names made equal
// by norm.
func (nc *niConn) run(mode, sql string, norm func(string) string) niObs {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var res []*pgconn.Result
	var err error
	switch mode {
	case "simple":
		res, err = nc.tp.pc.Exec(ctx, sql).ReadAll()
	case "binary":
		r := nc.tp.pc.ExecParams(ctx, sql, nil, nil, nil, []int16{1}).Read()
		res, err = []*pgconn.Result{r}, r.Err
	case "params": // round 27: $1 and $2, untyped, text results
		params := [][]byte{[]byte("3"), []byte("x")}
		if !strings.Contains(sql, "$2") {
			params = params[:1]
		}
		r := nc.tp.pc.ExecParams(ctx, sql, params, nil, nil, nil).Read()
		res, err = []*pgconn.Result{r}, r.Err
	}
	var o niObs
	record := func(e error) string {
		var pe *pgconn.PgError
		switch {
		case e == nil:
			return ""
		case errors.As(e, &pe):
			if pe.Code == "57014" {
				o.timeout = true
			}
			if pe.Code == CodeInsufficientPrivilege && strings.HasPrefix(pe.Message, "mandate:") {
				o.denied = true
			}
			if o.code == "" {
				o.code = pe.Code
			}
			return norm(niErrString(pe))
		}
		o.code = "client"
		return "client: " + norm(e.Error())
	}
	for _, r := range res {
		var fs []string
		for _, f := range r.FieldDescriptions {
			fs = append(fs, fmt.Sprintf("%s:%d:%d:%d:%d", norm(f.Name), f.DataTypeOID, f.TableAttributeNumber, f.DataTypeSize, f.Format))
		}
		o.results = append(o.results, record(r.Err)+" fields="+strings.Join(fs, ",")+" tag="+r.CommandTag.String())
		for _, row := range r.Rows {
			var vs []string
			for _, v := range row {
				vs = append(vs, norm(niValue(v)))
			}
			o.rows = append(o.rows, vs)
		}
	}
	if err != nil && (len(res) == 0 || res[len(res)-1].Err != err) {
		o.results = append(o.results, record(err))
	}
	if nc.tp.pc.IsClosed() {
		o.results = append(o.results, "connection closed")
		nc.connect()
	}
	nc.mu.Lock()
	for _, n := range nc.notices {
		o.notices = append(o.notices, norm(n))
	}
	nc.notices = nil
	nc.mu.Unlock()
	got := nc.tp.tap.take()
	for _, s := range niSecrets() {
		if bytes.Contains(got, []byte(s)) {
			o.leak = s
			break
		}
	}
	return o
}

// niDiff compares two observations: "" when the client cannot tell them
// apart, else the kind of difference. Timeouts are inconclusive.
func niDiff(x, y niObs) string {
	switch {
	case x.timeout || y.timeout:
		return ""
	case x.denied != y.denied:
		return "decision"
	case x.code != y.code:
		return "sqlstate"
	case !slices.Equal(x.results, y.results):
		return "error or row description"
	case !slices.Equal(x.notices, y.notices):
		return "notices"
	case len(x.rows) != len(y.rows):
		return "row count"
	}
	nullness := false
	for i := range x.rows {
		if slices.Equal(x.rows[i], y.rows[i]) {
			continue
		}
		if len(x.rows[i]) != len(y.rows[i]) {
			return "values"
		}
		for j := range x.rows[i] {
			p, q := x.rows[i][j], y.rows[i][j]
			switch {
			case p == q:
			case p == "N" && q == "V[REDACTED]" || p == "V[REDACTED]" && q == "N":
				nullness = true
			default:
				if niSameRows(x.rows, y.rows) {
					return "row order"
				}
				return "values"
			}
		}
	}
	if nullness {
		return "nullness"
	}
	return ""
}

func niSameRows(x, y [][]string) bool {
	key := func(rows [][]string) []string {
		var k []string
		for _, r := range rows {
			k = append(k, strings.Join(r, "\x00"))
		}
		slices.Sort(k)
		return k
	}
	return slices.Equal(key(x), key(y))
}

// niPair runs statements against P_nia and P_nib, one connection each.
type niPair struct {
	a      *advEnv
	ca, cb *niConn
	normA  func(string) string
	normB  func(string) string
	runs   int
	modes  []string // the protocol modes compare runs (niModes when nil)
	reset  string   // run on both connections after each mode (round 27)
}

func newNiPair(t *testing.T) *niPair {
	a := newAdvEnv(t)
	a.srv.cfg.Policy.(*enginePolicy).cur.Store(realPolicyWith(t, "testdata/adversarial", a.p, map[string]string{"round26.hcl": round26Policy()}))
	t.Cleanup(func() { admin(t, a.sql("DROP TABLE IF EXISTS P_nia, P_nib, P_nio")) })
	admin(t, niFixture(a))
	na, nb, nx := a.p+"_nia", a.p+"_nib", a.p+"_niX"
	// The rules of P_nia and P_nib are on other lines of the policy.
	rule := regexp.MustCompile(`round26\.hcl:[0-9]+`)
	return &niPair{a: a, ca: a.niConnect(t), cb: a.niConnect(t),
		normA: func(s string) string { return rule.ReplaceAllString(strings.ReplaceAll(s, na, nx), "round26.hcl") },
		normB: func(s string) string { return rule.ReplaceAllString(strings.ReplaceAll(s, nb, nx), "round26.hcl") }}
}

// sqlFor is the statement for table set a or b.
func (p *niPair) sqlFor(stmt string, b bool) string {
	tab := "_nia"
	if b {
		tab = "_nib"
	}
	return strings.ReplaceAll(p.a.sql(stmt), "_niX", tab)
}

var niModes = []string{"simple", "binary"}

// niResult is the comparison of one statement in every mode.
type niResult struct {
	stmt    string
	kind    string // first difference found
	mode    string
	leak    string
	allowed bool
	failed  bool // allowed but failed (an error from the server)
	obsA    niObs
	obsB    niObs
}

func (r niResult) String() string {
	if r.leak != "" {
		return fmt.Sprintf("raw masked value %q reached the client: %s", r.leak, r.stmt)
	}
	return fmt.Sprintf("%s differs (%s): %s\n  a: %v %v %v\n  b: %v %v %v", r.kind, r.mode, r.stmt,
		r.obsA.results, niShort(r.obsA.rows), r.obsA.notices, r.obsB.results, niShort(r.obsB.rows), r.obsB.notices)
}

func niShort(rows [][]string) string {
	s := fmt.Sprint(rows)
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}

// compare runs stmt in both modes against both tables.
func (p *niPair) compare(stmt string) niResult {
	r := niResult{stmt: stmt}
	modes := niModes
	if p.modes != nil {
		modes = p.modes
	}
	for _, mode := range modes {
		var oa, ob niObs
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); oa = p.ca.run(mode, p.sqlFor(stmt, false), p.normA) }()
		go func() { defer wg.Done(); ob = p.cb.run(mode, p.sqlFor(stmt, true), p.normB) }()
		wg.Wait()
		if p.reset != "" {
			p.ca.run("simple", p.reset, p.normA)
			p.cb.run("simple", p.reset, p.normB)
		}
		p.runs += 2
		r.allowed = r.allowed || !oa.denied
		r.failed = r.failed || !oa.denied && oa.code != ""
		for _, l := range []string{oa.leak, ob.leak} {
			if l != "" && r.leak == "" {
				r.leak, r.mode = l, mode
			}
		}
		if k := niDiff(oa, ob); k != "" && r.kind == "" {
			r.kind, r.mode, r.obsA, r.obsB = k, mode, oa, ob
		}
	}
	return r
}

// shrink minimises a statement that shows a difference of the same kind:
// it replaces nodes by descendants of the same type and drops list items
// while the difference stays.
func (p *niPair) shrink(root *niNode, kind string, budget int) *niNode {
	still := func() bool {
		if budget <= 0 {
			return false
		}
		budget--
		r := p.compare(root.String())
		return r.kind == kind || kind == "leak" && r.leak != ""
	}
	for changed := true; changed && budget > 0; {
		changed = false
		var slots []struct {
			parent *niNode
			i      int
		}
		var walk func(n *niNode)
		walk = func(n *niNode) {
			for i, k := range n.kids {
				slots = append(slots, struct {
					parent *niNode
					i      int
				}{n, i})
				walk(k)
			}
		}
		walk(root)
	slotLoop:
		for _, s := range slots {
			k := s.parent.kids[s.i]
			if s.parent.list && len(s.parent.kids) > 1 {
				saved := slices.Clone(s.parent.kids)
				s.parent.kids = slices.Delete(s.parent.kids, s.i, s.i+1)
				if still() {
					changed = true
					break slotLoop
				}
				s.parent.kids = saved
			}
			if k.ty >= niTypes && k.ty != niStmt {
				continue
			}
			var desc []*niNode
			var collect func(n *niNode)
			collect = func(n *niNode) {
				for _, c := range n.kids {
					if c.ty == k.ty {
						desc = append(desc, c)
					}
					collect(c)
				}
			}
			collect(k)
			for _, d := range desc {
				s.parent.kids[s.i] = d
				if still() {
					changed = true
					break slotLoop
				}
				s.parent.kids[s.i] = k
			}
		}
	}
	return root
}

func niEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestAdversarialRound26NonInterference runs the generated statements.
func TestAdversarialRound26NonInterference(t *testing.T) {
	p := newNiPair(t)
	niRun(t, p, niSeeds(t, 26), 0x26, func(g *niGen) *niNode {
		g.max = 2 + g.r.IntN(3)
		return g.query()
	}, nil)
}

// niRun generates MANDATE_NI_N statements (3000) per seed with gen,
// compares each between the pair's tables, and reports (minimised) every
// difference but those tolerated accepts (nil: none), then logs the
// counts.
func niRun(t *testing.T, p *niPair, seeds []uint64, stream uint64, gen func(*niGen) *niNode, tolerated func(kind, stmt string) bool) {
	t.Helper()
	n := niEnvInt("MANDATE_NI_N", 3000)
	failures := 0
	for _, seed := range seeds {
		g := &niGen{r: rand.New(rand.NewPCG(seed, stream)), max: 3}
		var allowed, failed, open int
		kinds := map[string]int{}
		for i := 0; i < n; i++ {
			root := gen(g)
			stmt := root.String()
			r := p.compare(stmt)
			if r.allowed {
				allowed++
			}
			if r.failed {
				failed++
			}
			kind := r.kind
			if r.leak != "" {
				kind = "leak"
			}
			if kind == "" {
				continue
			}
			kinds[kind]++
			if kind != "leak" && tolerated != nil && tolerated(kind, stmt) {
				open++
				continue
			}
			failures++
			if failures > niEnvInt("MANDATE_NI_REPORT", 10) {
				continue
			}
			min := p.shrink(root, kind, 400)
			t.Errorf("seed %d statement %d: %v\n  minimised: %s", seed, i, r, p.sqlFor(min.String(), false))
		}
		t.Logf("seed %d: %d statements, %d allowed by the gateway (%d of them failed upstream), differences %v (%d tolerated open), %d runs",
			seed, n, allowed, failed, kinds, open, p.runs)
	}
}

// niCase is a statement of the regression and open tests.
type niCase struct {
	name  string
	sql   string
	allow bool // allowed (and the same in both); else denied in both
	open  string
}

// niRegressionCases: the minimised oracles the generator found (denied
// now), and total expressions beside them that stay allowed.
var niRegressionCases = []niCase{
	// A value computed from masked columns is masked, its NULL too
	// (mask.go): whether it is NULL was the masked flag, or whether the
	// masked offset leaves the window.
	{name: "null-ness of a computed value", allow: true, sql: "SELECT t.id, CASE WHEN t.flag THEN 'x' END FROM P_niX t ORDER BY t.id"},
	{name: "null-ness of a window offset", allow: true, sql: "SELECT t.id, lag(t.name, t.salary) OVER (ORDER BY t.id) FROM P_niX t ORDER BY t.id"},
	// System columns read the whole row (scope.go): ctid says where a row
	// is stored, which depends on the size of the masked values stored
	// before it; a sample of pages too. Masked in the output, filters
	// elsewhere.
	{name: "ctid", allow: true, sql: "SELECT t.id, t.ctid::text FROM P_niX t ORDER BY t.id"},
	{name: "ctid filter", sql: "SELECT t.id FROM P_niX t WHERE t.ctid >= '(1,0)' ORDER BY t.id"},
	{name: "ctid order", sql: "SELECT t.id FROM P_niX t ORDER BY t.ctid"},
	{name: "tablesample", sql: "SELECT t.id FROM P_niX t TABLESAMPLE SYSTEM (50) REPEATABLE (3) ORDER BY t.id"},
	{name: "format too few arguments under a masked condition", sql: "SELECT t.id, CASE WHEN t.flag THEN format('%s %s', t.name) END FROM P_niX t ORDER BY t.id"},
	{name: "format too few arguments after a masked value", sql: "SELECT t.id, coalesce(t.flag::text, format('%L%L', t.name)) FROM P_niX t ORDER BY t.id"},
	{name: "lpad too long under a masked condition", sql: "SELECT t.id, CASE WHEN t.flag THEN lpad(t.name, 300000000) END FROM P_niX t ORDER BY t.id"},
	{name: "rpad too long under a masked condition", sql: "SELECT t.id, CASE WHEN NOT t.flag THEN rpad(t.name, 268435455, '*') END FROM P_niX t ORDER BY t.id"},
	{name: "a masked offset picks an unmasked condition", sql: "SELECT t.id, CASE WHEN lag(t.uflag, t.salary) OVER (ORDER BY t.id) THEN format('%s %s', t.name) END FROM P_niX t ORDER BY t.id"},
	{name: "array of a six-dimensional array", sql: "SELECT t.id, ARRAY[t.iarr] FROM P_niX t ORDER BY t.id"},
	{name: "array of an array and a literal", sql: "SELECT t.id, ARRAY[t.arr, NULL] FROM P_niX t ORDER BY t.id"},
	{name: "array of a window function", sql: "SELECT ARRAY[lead(t.arr) OVER ()] AS x0 FROM P_niX t"},
	{name: "array of a subquery", sql: "SELECT ARRAY[(SELECT q.iarr FROM P_niX q WHERE q.id > t.id ORDER BY q.id LIMIT 1)] FROM P_niX t WHERE t.id < 11 ORDER BY t.id"},
	{name: "lag default converts numeric to float8", sql: "SELECT t.id, lag(t.n, 1, t.f) OVER (ORDER BY t.id) FROM P_niX t ORDER BY t.id"},
	{name: "lead default converts date to timestamptz", sql: "SELECT t.id, lead(t.d, 1, now()) OVER (ORDER BY t.id) FROM P_niX t ORDER BY t.id"},

	{name: "total expressions stay allowed", allow: true, sql: "SELECT t.id, ARRAY[t.ssn::text, 'x'], format('%s-%L %%', t.ssn, t.email), format('%s', t.ssn, t.card), lpad(t.ssn, 12, '*'), rpad(t.name, 1048576) IS NULL, lag(t.n, 1, 1.5) OVER (ORDER BY t.id), lead(t.ssn, 2, 'none') OVER (ORDER BY t.id), CASE WHEN t.flag THEN lpad(t.name, 3) END IS NULL FROM P_niX t ORDER BY t.id"},
	{name: "to_json of a masked array", allow: true, sql: "SELECT t.id, to_json(t.iarr), array_to_json(t.arr), json_build_array(t.iarr, t.js) FROM P_niX t ORDER BY t.id"},
}

// niOpenCases are differences left open (see the top of the file).
var niOpenCases = []niCase{
	// Row 1: flag is true in P_nia (a string past 1 GB: 54000), false in
	// P_nib. It allocates a gigabyte upstream.
	{name: "size limit under a masked condition", allow: true, open: "total expressions can grow past 1 GB under a masked CASE condition",
		sql: "SELECT s.id, CASE WHEN s.c THEN length(replace(lpad(s.name, 1048576, 'a'), 'a', lpad(s.name, 1100, 'b'))) END AS x FROM (SELECT t.*, t.flag AS c FROM P_niX t) s WHERE s.id = 1"},
}

// niRunCases compares each case's statement between the pair's tables:
// no difference, and allowed (and run) or denied as the case says.
func niRunCases(t *testing.T, p *niPair, cases []niCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			skipOpen(t, tc.open)
			r := p.compare(tc.sql)
			if r.leak != "" || r.kind != "" {
				t.Errorf("%v", r)
			}
			switch {
			case tc.allow && (!r.allowed || r.failed):
				t.Errorf("%s: want allowed and run, got %v", tc.sql, p.ca.run("simple", p.sqlFor(tc.sql, false), p.normA).results)
			case !tc.allow && r.allowed:
				t.Errorf("%s: want denied, got allowed", tc.sql)
			}
		})
	}
}

// TestAdversarialRound26Regressions: the oracles found are denied in both
// tables; total expressions beside them stay allowed and equal.
func TestAdversarialRound26Regressions(t *testing.T) { niRunCases(t, newNiPair(t), niRegressionCases) }

// TestAdversarialRound26Open shows the open differences.
func TestAdversarialRound26Open(t *testing.T) { niRunCases(t, newNiPair(t), niOpenCases) }
