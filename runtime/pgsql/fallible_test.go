package pgsql

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fallibleCases: a column read under an expression that may fail, or by
// what decides whether one runs, is a filter column (fallible.go); the
// total expressions keep their columns out of the filters. filters is the
// statement's whole FilterColumns.
var fallibleCases = []struct {
	name    string
	sql     string
	filters []string
}{
	// Error oracles: whether the statement fails depends on the value.
	{"cast to int", "SELECT ssn::int FROM t", []string{"app.t.ssn"}},
	{"cast function form", "SELECT int4(ssn) FROM t", []string{"app.t.ssn"}},
	{"cast to a qualified type", "SELECT CAST(ssn AS pg_catalog.int4) FROM t", []string{"app.t.ssn"}},
	{"cast to a text array", "SELECT ssn::text[] FROM t", []string{"app.t.ssn"}},
	{"cast to jsonb", "SELECT ('{\"a\": ' || ssn || '}')::jsonb FROM t", []string{"app.t.ssn"}},
	{"cast over a cast to text", "SELECT ssn::text::int FROM t", []string{"app.t.ssn"}},
	{"division by a difference", "SELECT 1 / (ascii(ssn) - 57) FROM t WHERE id = 1", []string{"app.t.id", "app.t.ssn"}},
	{"overflow", "SELECT (salary - 50000)::int2 FROM t", []string{"app.t.salary"}},
	{"to_date", "SELECT to_date(ssn, 'YYYY') FROM t", []string{"app.t.ssn"}},
	{"substr length", "SELECT substr('abc', 1, ascii(ssn) - 57) FROM t", []string{"app.t.ssn"}},
	{"repeat size", "SELECT repeat('x', ascii(ssn) * 100000000) FROM t", []string{"app.t.ssn"}},
	{"format width", "SELECT format('%*s', ascii(ssn), 'x') FROM t", []string{"app.t.ssn"}},
	{"regular expression", "SELECT ssn ~ '^9' FROM t", []string{"app.t.ssn"}},
	{"like ending in its escape", `SELECT ssn LIKE '9\' FROM t`, []string{"app.t.ssn"}},
	{"comparison", "SELECT ssn > '5' FROM t", []string{"app.t.ssn"}},
	{"nullif", "SELECT nullif(ssn, 'x') FROM t", []string{"app.t.ssn"}},
	{"round to a negative scale", "SELECT round(salary, -2) FROM t", []string{"app.t.salary"}},
	{"round to a computed scale", "SELECT round(salary, id) FROM t", []string{"app.t.id", "app.t.salary"}},
	{"ceil", "SELECT ceil(salary) FROM t", []string{"app.t.salary"}},
	{"round and trunc", "SELECT round(salary), round(salary, 2), trunc(salary, -3), trunc(salary) FROM t", nil},
	{"greatest", "SELECT greatest(salary, 0) FROM t", []string{"app.t.salary"}},
	{"subscript", "SELECT (ARRAY[1, 2])[ascii(ssn) - 48] FROM t", []string{"app.t.ssn"}},
	{"subscript of a column", "SELECT arr[1] FROM t", []string{"app.t.arr"}},
	{"json builder key", "SELECT json_build_object(ssn, 1) FROM t", []string{"app.t.ssn"}},
	{"field notation", "SELECT c.to_jsonb FROM t c", []string{"app.t.*"}},
	{"xml", "SELECT xmlelement(name x, ssn) FROM t", []string{"app.t.ssn"}},
	{"qualified user function named like a total one", "SELECT app.upper(ssn) FROM t", []string{"app.t.ssn"}},
	{"length with an encoding", "SELECT length(b, 'UTF8') FROM t", []string{"app.t.b"}},
	{"sum", "SELECT sum(salary) FROM t", []string{"app.t.salary"}},
	{"count of a cast", "SELECT count(ssn::int) FROM t", []string{"app.t.ssn"}},
	{"total call over a failing one", "SELECT upper(ssn::int::text) FROM t", []string{"app.t.ssn"}},
	{"to_jsonb parses json", "SELECT to_jsonb(ssn) FROM t", []string{"app.t.ssn"}},
	{"jsonb_agg", "SELECT jsonb_agg(c) FROM t c", []string{"app.t.*", "app.t.c"}},
	{"jsonb_build_object", "SELECT jsonb_build_object('k', ssn) FROM t", []string{"app.t.ssn"}},
	{"array_agg of an array", "SELECT array_agg(arr) FROM t", []string{"app.t.arr"}},
	{"sum overflows on intervals", "SELECT sum(salary) OVER () FROM t", []string{"app.t.salary"}},
	{"substr negative length", "SELECT substr(ssn, 1, -1) FROM t", []string{"app.t.ssn"}},
	{"substr computed length", "SELECT substr(ssn, 1, id) FROM t", []string{"app.t.id", "app.t.ssn"}},
	{"substring regex not compiled", "SELECT substring(ssn, '[0-9') FROM t", []string{"app.t.ssn"}},
	{"substring regex too complex", "SELECT substring(ssn FROM '(a{1,255}){1,255}') FROM t", []string{"app.t.ssn"}},
	{"regexp_replace computed pattern", "SELECT regexp_replace(ssn, name, 'x') FROM t", []string{"app.t.name", "app.t.ssn"}},
	{"regexp_replace expanded syntax", "SELECT regexp_replace(ssn, 'a b', 'x', 'x') FROM t", []string{"app.t.ssn"}},
	{"regexp_replace start and count", "SELECT regexp_replace(ssn, 'a', 'x', 1, 2) FROM t", []string{"app.t.ssn"}},
	{"regexp_match global", "SELECT regexp_match(ssn, 'a', 'g') FROM t", []string{"app.t.ssn"}},
	{"regexp_count from zero", "SELECT regexp_count(ssn, 'a', 0) FROM t", []string{"app.t.ssn"}},
	{"regexp_matches returns rows", "SELECT regexp_matches(ssn, 'a') FROM t", []string{"app.t.ssn"}},
	{"strpos of a longer needle", "SELECT strpos(ssn, '-4'), position('é' IN ssn) FROM t", []string{"app.t.ssn"}},
	{"strpos of a column", "SELECT strpos(ssn, card) FROM t", []string{"app.t.card", "app.t.ssn"}},
	{"json_build_object odd", "SELECT json_build_object('k', ssn, 'l') FROM t", []string{"app.t.ssn"}},
	{"json_build_object null key", "SELECT json_build_object(NULL, ssn) FROM t", []string{"app.t.ssn"}},
	{"sum of length", "SELECT sum(length(ssn || 'x')) FROM t", []string{"app.t.ssn"}},
	{"sum of a total text call", "SELECT avg(upper(ssn)) FROM t", []string{"app.t.ssn"}},
	{"a collation of another schema", "SELECT replace(ssn COLLATE app.nd, 'a', 'b'), email COLLATE \"und-x-icu\" FROM t", []string{"app.t.email", "app.t.ssn"}},
	{"a collation through a derived table", "SELECT split_part(s, '@', 1) FROM (SELECT ssn COLLATE nd AS s FROM t) q", []string{"app.t.ssn"}},
	{"jsonb_array_length", "SELECT jsonb_array_length(doc) FROM t", []string{"app.t.doc"}},
	{"ascii", "SELECT ascii(ssn) FROM t", []string{"app.t.ssn"}},
	{"string_to_array", "SELECT string_to_array(ssn, '-') FROM t", []string{"app.t.ssn"}},
	{"nullif", "SELECT nullif(ssn, '') FROM t", []string{"app.t.ssn"}},
	{"substring similar", "SELECT substring(ssn SIMILAR '%#\"9%#\"' ESCAPE '#') FROM t", []string{"app.t.ssn"}},
	{"substr start as text", "SELECT substr(ssn, '1') FROM t", []string{"app.t.ssn"}},
	{"lpad by a column", "SELECT lpad('x', salary) FROM t", []string{"app.t.salary"}},
	{"split_part field zero", "SELECT split_part(ssn, '-', 0) FROM t", []string{"app.t.ssn"}},
	{"split_part computed field", "SELECT split_part(ssn, '-', id) FROM t", []string{"app.t.id", "app.t.ssn"}},
	{"encode from a column", "SELECT encode(b, fmt) FROM t", []string{"app.t.b", "app.t.fmt"}},
	{"encode unknown format", "SELECT encode(b, 'base32') FROM t", []string{"app.t.b"}},
	{"format identifier", "SELECT format('%I', ssn) FROM t", []string{"app.t.ssn"}},
	{"format width", "SELECT format('%10s', ssn) FROM t", []string{"app.t.ssn"}},
	{"format position", "SELECT format('%1$s', ssn) FROM t", []string{"app.t.ssn"}},
	{"format from a column", "SELECT format(fmt, ssn) FROM t", []string{"app.t.fmt", "app.t.ssn"}},
	{"nth_value", "SELECT nth_value(ssn, 2) OVER () FROM t", []string{"app.t.ssn"}},
	{"string_agg ordered by a masked column", "SELECT string_agg(name, ',' ORDER BY ssn) FROM t", []string{"app.t.ssn"}},
	{"lag over an ordered window", "SELECT lag(name) OVER (ORDER BY ssn) FROM t", []string{"app.t.ssn"}},
	{"named argument", "SELECT substr(ssn, 1, \"count\" => 2) FROM t", []string{"app.t.ssn"}},

	// Concatenation: arrays fail on mismatched dimensions.
	{"concat array literal", "SELECT arr || '{x}' FROM t", []string{"app.t.arr"}},
	{"concat dimensions", "SELECT arr || '[1:1]={x}' FROM t", []string{"app.t.arr"}},
	{"append to an array", "SELECT arr || 1 FROM t", []string{"app.t.arr"}},
	{"append text to an array", "SELECT arr || x::text FROM t", []string{"app.t.arr", "app.t.x"}},
	{"concat of two columns", "SELECT ssn || card FROM t", []string{"app.t.card", "app.t.ssn"}},
	{"concat chain ending in a column", "SELECT ssn || '-' || card FROM t", []string{"app.t.card", "app.t.ssn"}},
	{"concat with null", "SELECT (arr || NULL) || x::text FROM t", []string{"app.t.arr", "app.t.x"}},
	{"concat by a user operator", "SELECT ssn OPERATOR(app.||) 'x' FROM t", []string{"app.t.ssn"}},

	// What decides whether something that may fail runs.
	{"case chooses a failure", "SELECT CASE WHEN ssn LIKE '9%' THEN 1 / 0 END FROM t", []string{"app.t.ssn"}},
	{"case total condition chooses a failure", "SELECT CASE WHEN ssn IS NULL THEN 1 / 0 END FROM t", []string{"app.t.ssn"}},
	{"case earlier condition", "SELECT CASE WHEN ssn IS NULL THEN 'a' WHEN id::int2 > 0 THEN 'b' END FROM t", []string{"app.t.id", "app.t.ssn"}},
	{"case else fails", "SELECT CASE WHEN ssn IS NULL THEN 0 ELSE 1 / id END FROM t", []string{"app.t.id", "app.t.ssn"}},
	{"case operand", "SELECT CASE ssn WHEN 'a' THEN 'b' END FROM t", []string{"app.t.ssn"}},
	{"case converts a value", "SELECT CASE WHEN id IS NULL THEN d ELSE now() END FROM t", []string{"app.t.d", "app.t.id"}},
	{"coalesce fallback fails", "SELECT coalesce(ssn, (1 / 0)::text) FROM t", []string{"app.t.ssn"}},
	{"coalesce converts a value", "SELECT coalesce(d, now()) FROM t", []string{"app.t.d"}},
	{"coalesce of two columns", "SELECT coalesce(ssn, card) FROM t", []string{"app.t.card", "app.t.ssn"}},
	{"or beside a failure", "SELECT ssn IS NULL OR id::int2 > 0 FROM t", []string{"app.t.id", "app.t.ssn"}},
	{"and beside a failure", "SELECT ssn IS NOT NULL AND 1 / 0 = 1 FROM t", []string{"app.t.ssn"}},
	{"array of two columns", "SELECT ARRAY[a, b] FROM t", []string{"app.t.a", "app.t.b"}},
	{"array with an array literal", "SELECT ARRAY[arr, '{1}'] FROM t", []string{"app.t.arr"}},
	{"array of one column", "SELECT ARRAY[arr] FROM t", []string{"app.t.arr"}},
	{"array of one column and a literal", "SELECT ARRAY[arr, 'x'] FROM t", []string{"app.t.arr"}},
	{"array of a window function", "SELECT ARRAY[lag(arr) OVER ()] FROM t", []string{"app.t.arr"}},
	{"array of an array", "SELECT ARRAY[ARRAY[arr]] FROM t", []string{"app.t.arr"}},

	// Calls that fail on every row they run for: a CASE or COALESCE
	// decides whether they run.
	{"format with too few arguments", "SELECT CASE WHEN flag THEN format('%s %s', name) END FROM t", []string{"app.t.flag", "app.t.name"}},
	{"format with one argument for two", "SELECT coalesce(ssn, format('%L %s', name)) FROM t", []string{"app.t.name", "app.t.ssn"}},
	{"format with too few arguments alone", "SELECT format('%s%s', ssn) FROM t", []string{"app.t.ssn"}},
	{"lpad too long", "SELECT CASE WHEN flag THEN lpad(name, 300000000) END FROM t", []string{"app.t.flag", "app.t.name"}},
	{"rpad too long", "SELECT rpad(ssn, 268435455, '*') FROM t", []string{"app.t.ssn"}},
	{"lpad past the bound", "SELECT lpad(ssn, 1048577) FROM t", []string{"app.t.ssn"}},
	{"lag default of another type", "SELECT lag(n, 1, f) OVER (ORDER BY id) FROM t", []string{"app.t.f", "app.t.id", "app.t.n"}},
	{"lead default of another type", "SELECT lead(d, 1, now()) OVER () FROM t", []string{"app.t.d"}},
	{"lag offset chooses a failure", "SELECT CASE WHEN lag(uflag, salary) OVER (ORDER BY id) THEN format('%s %s', name) END FROM t", []string{"app.t.id", "app.t.name", "app.t.salary", "app.t.uflag"}},

	// Wherever the expression is.
	{"scalar subquery", "SELECT (SELECT ssn::int FROM t LIMIT 1)", []string{"app.t.ssn"}},
	{"cast of a scalar subquery", "SELECT (SELECT ssn FROM t LIMIT 1)::int", []string{"app.t.ssn"}},
	{"cte", "WITH w AS (SELECT ssn::int AS x FROM t) SELECT x FROM w", []string{"app.t.ssn"}},
	{"unused derived column", "SELECT count(*) FROM (SELECT ssn::int FROM t) s", []string{"app.t.ssn"}},
	{"lateral", "SELECT l.v FROM t c, LATERAL (SELECT c.ssn::int AS v) l", []string{"app.t.ssn"}},
	{"values", "VALUES ((SELECT ssn FROM t LIMIT 1)::int)", []string{"app.t.ssn"}},
	{"insert select", "INSERT INTO o (x) SELECT ssn::int FROM t", []string{"app.t.ssn"}},
	{"update set", "UPDATE t SET note = (ssn::int)::text", []string{"app.t.ssn"}},
	{"returning", "DELETE FROM t WHERE id = 1 RETURNING ssn::int", []string{"app.t.id", "app.t.ssn"}},
	{"aggregate filter", "SELECT count(*) FILTER (WHERE id > 0), max(ssn::int) FROM t", []string{"app.t.id", "app.t.ssn"}},
	{"copy", "COPY (SELECT ssn::int FROM t) TO STDOUT", []string{"app.t.ssn"}},
	{"prepare", "PREPARE p AS SELECT ssn::int FROM t", []string{"app.t.ssn"}},

	// Total expressions: no filters.
	{"plain columns", "SELECT ssn, c, (c).ssn, (c).* FROM t c", nil},
	{"field notation of a total function", "SELECT c.concat FROM t c", nil},
	{"casts to text types", "SELECT ssn::text, ssn::varchar(3), ssn::char(2), ssn::name, CAST(ssn AS pg_catalog.text), c::text FROM t c", nil},
	{"collate and null tests", `SELECT ssn COLLATE "C", ssn IS NULL, ssn IS NOT NULL, (ssn IS NULL) IS TRUE, NOT (ssn IS NULL) FROM t`, nil},
	{"total functions", "SELECT upper(ssn), lower(ssn), length(ssn), char_length(ssn), octet_length(ssn), md5(ssn), concat(ssn, card), concat_ws('-', ssn, card) FROM t", nil},
	{"qualified total function", "SELECT pg_catalog.upper(ssn) FROM t", nil},
	{"type of a value", "SELECT pg_typeof(ssn)::text, c.pg_typeof FROM t c", nil},
	{"total aggregates", "SELECT count(*), count(ssn), count(DISTINCT ssn), min(ssn), max(card) FROM t", nil},
	{"concatenations", "SELECT ssn || 'x', 'x' || ssn || 'y', ssn::text || card::text, upper(ssn) || '-', md5(ssn) || card::text FROM t", nil},
	{"row constructor", "SELECT ROW(ssn, card), ROW(c.*) FROM t c", nil},
	{"case of total parts", "SELECT CASE WHEN ssn IS NULL THEN 'none' ELSE ssn END FROM t", nil},
	{"coalesce of total parts", "SELECT coalesce(ssn, 'none'), coalesce(ssn::text, card::text), coalesce(salary, 0) FROM t", nil},
	{"array of total parts", "SELECT ARRAY[ssn::text], ARRAY[ssn::text, 'x'], ARRAY[ssn::text, card::text], ARRAY[upper(ssn) || 'x', concat(card)] FROM t", nil},
	{"and or of total parts", "SELECT ssn IS NULL OR card IS NULL FROM t", nil},
	{"subquery of total parts", "SELECT (SELECT upper(ssn) FROM t LIMIT 1)", nil},
	{"string functions", "SELECT left(ssn, 3), right(ssn, -4), reverse(ssn), initcap(ssn), btrim(ssn), trim(both '-' from ssn), ltrim(ssn, '0'), rtrim(ssn), replace(ssn, '-', ''), translate(ssn, '0123', 'abcd'), quote_literal(ssn), quote_nullable(ssn), pg_column_size(ssn) FROM t", nil},
	{"string functions with literal arguments", "SELECT substr(ssn, 1, 3), substr(ssn, -2), substring(ssn from 8 for 4), substring(ssn, 2), lpad(ssn, 12, '*'), rpad(ssn, 3), lpad(ssn, 1048576), lpad(ssn, -5), split_part(ssn, '-', 3), split_part(ssn, '-', -1), encode(b, 'hex'), encode(b, 'base64'), format('%s-%L %%', ssn, card), format('%s', ssn, card), format('%%', ssn) FROM t", nil},
	{"json printing", "SELECT to_json(ssn), row_to_json(c), row_to_json(c, true), c.to_json, (c).row_to_json, array_to_json(ARRAY[ssn::text]), json_build_array(ssn, card) FROM t c", nil},
	{"total aggregates of text", "SELECT string_agg(ssn, ','), string_agg(ssn, ',') FILTER (WHERE id > 0), json_agg(c) FROM t c", []string{"app.t.id"}},
	{"window functions", "SELECT first_value(ssn) OVER w, last_value(ssn) OVER w, lag(ssn) OVER w, lead(ssn, 2, 'none') OVER w, lag(n, 1, 1.5) OVER w, lead(ssn, salary, name::text) OVER w, count(ssn) OVER w FROM t WINDOW w AS (ORDER BY id)", []string{"app.t.id"}},
	{"bit_length overflows past 256 MB", "SELECT bit_length(ssn) FROM t", []string{"app.t.ssn"}},
	{"jsonb_pretty of a deep document", "SELECT jsonb_pretty(doc) FROM t", []string{"app.t.doc"}},
	{"string and json functions that fail on no value", `SELECT to_hex(length(ssn)), array_to_string(arr, ','),
		cardinality(arr), array_length(arr, 1), jsonb_typeof(doc), starts_with(ssn, '3'), strpos(ssn, '-'),
		position('@' IN email), json_build_object('k', ssn, 1, card, 'b', NULL) FROM t`, nil},
	{"regular expressions of literal patterns", `SELECT regexp_replace(ssn, '[0-9]', 'X', 'g'), regexp_replace(email, '^(.)[^@]*@', '\1***@'),
		regexp_match(email, '@(.*)$'), regexp_like(email, 'example$', 'i'), regexp_count(notes, 'e'), regexp_count(notes, 'e', 3),
		regexp_substr(email, '[a-z]+'), regexp_instr(email, '@'), substring(email FROM '@(.*)$'), substring(ssn, '\d+') FROM t`, nil},
	{"sum and avg of integers", "SELECT sum(char_length(ssn)), avg(octet_length(email)) OVER (), sum(strpos(ssn, '-')), avg(cardinality(arr)) FROM t", nil},
	{"built-in collations", `SELECT replace(ssn COLLATE "C", 'a', 'b'), strpos(email COLLATE pg_catalog."en-x-icu", '@'), notes COLLATE "POSIX" FROM t`, nil},
	{"concatenating total string functions", "SELECT left(ssn, 3) || right(card, 4), to_json(ssn) || 'x', substr(ssn, 1, 3) || string_agg(card, '') FROM t GROUP BY ssn", []string{"app.t.ssn"}},

	// Output-size amplification (growth.go): past the 1 GB limit of a
	// value by an amount that depends on what it reads.
	{"nested quote_literal", "SELECT " + strings.Repeat("quote_literal(", 28) + "translate(substr(ssn, 1, 1), '3', '''')" + strings.Repeat(")", 28) + " FROM t", []string{"app.t.ssn"}},
	{"growth beside repeat", "SELECT concat(replace(ssn, '3', 'aaaa'), repeat('y', 300000000)) FROM t", []string{"app.t.ssn"}},
	{"length beside repeat", "SELECT length(concat(ssn, repeat('x', 1073741800))) FROM t", []string{"app.t.ssn"}},
	{"length beside a long pad", "SELECT concat(ssn, lpad('', 1000000)) FROM t", []string{"app.t.ssn"}},
	{"repeat of a computed count beside", "SELECT concat(ssn, repeat('x', id)) FROM t", []string{"app.t.id", "app.t.ssn"}},
	{"long replacement", "SELECT replace(ssn, '3', '" + strings.Repeat("a", 5000) + "') FROM t", []string{"app.t.ssn"}},
	{"nested replace", "SELECT replace(replace(ssn, '3', '" + strings.Repeat("a", 100) + "'), 'a', '" + strings.Repeat("b", 100) + "') FROM t", []string{"app.t.ssn"}},
	{"replace of a column", "SELECT replace(ssn, '3', card) FROM t", []string{"app.t.card", "app.t.ssn"}},
	{"regexp_replace nested", "SELECT regexp_replace(regexp_replace(ssn, '3', '" + strings.Repeat("a", 40) + "', 'g'), 'a', '" + strings.Repeat("b", 40) + "', 'g') FROM t", []string{"app.t.ssn"}},
	{"escapes nested", "SELECT to_json(to_json(to_json(to_json(ssn)::text)::text)::text) FROM t", []string{"app.t.ssn"}},
	{"amplifier in a subquery", "SELECT concat(ssn, (SELECT string_agg('x', '') FROM generate_series(1, 100000000))) FROM t", []string{"app.t.ssn"}},
	{"long literal replicated", "SELECT replace(ssn || '" + strings.Repeat("a", 500000) + "', 'a', 'aaaaaaaaaa') FROM t", []string{"app.t.ssn"}},
	{"bounded growth", "SELECT quote_literal(quote_literal(ssn)), upper(translate(ssn, '3', 'ü')), replace(ssn, '3', 'three'), lpad(ssn, 1048576), concat(ssn, repeat('-', 3)) FROM t", nil},

	// Unmasked columns are filters too (the proxy allows filters on
	// them); the rule does not reach DDL.
	{"computed unmasked", "SELECT id + 1, 1 / id FROM t", []string{"app.t.id"}},
	{"ddl", "CREATE TABLE s (a int CHECK (a > 0 OR a IS NULL) DEFAULT 1 / 1, b text GENERATED ALWAYS AS (a::text || 'x') STORED)", nil},
}

func TestFallibleFilters(t *testing.T) {
	opts := Options{SearchPath: []string{"app"}}
	for _, tc := range fallibleCases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Analyze(tc.sql, opts)
			if err != nil {
				t.Fatal(err)
			}
			an := res[0]
			if an.Prepared != nil {
				an = an.Prepared
			}
			if diff := cmp.Diff(tc.filters, an.Statement.FilterColumns, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: filter columns (-want +got):\n%s", tc.sql, diff)
			}
			if an.FilterUnknown {
				t.Errorf("%s: FilterUnknown set", tc.sql)
			}
		})
	}
}

// TestFallibleLiteralNotCachedByShape: whether x || 'literal' may fail
// depends on the literal's value (an array literal concatenates arrays),
// so the analysis must not be shared by shape with another literal.
func TestFallibleLiteralNotCachedByShape(t *testing.T) {
	z := NewAnalyzer(Options{}, 0)
	for _, q := range []struct {
		sql     string
		filters []string
	}{
		{"SELECT arr || 'x' FROM t", nil},
		{"SELECT arr || '{x}' FROM t", []string{"public.t.arr"}},
		{"SELECT arr || 'y' FROM t", nil},
		// The pattern of a regular expression, a needle, a to_char format.
		{"SELECT regexp_replace(ssn, 'a', 'x') FROM t", nil},
		{"SELECT regexp_replace(ssn, '(', 'x') FROM t", []string{"public.t.ssn"}},
		{"SELECT strpos(ssn, '-') FROM t", nil},
		{"SELECT strpos(ssn, '--') FROM t", []string{"public.t.ssn"}},
		{"SELECT to_char(d, 'TMMon') FROM t", []string{"public.t.d"}},
		{"SELECT to_char(d, 'YYYY') FROM t", []string{"public.t.d"}}, // a typed read: decided on d's type
		// A replacement's and a repetition's length (growth.go).
		{"SELECT replace(ssn, '3', 'aaaa') FROM t", nil},
		{"SELECT replace(ssn, '3', '" + strings.Repeat("a", 5000) + "') FROM t", []string{"public.t.ssn"}},
		{"SELECT concat(ssn, repeat('-', 3)) FROM t", nil},
		{"SELECT concat(ssn, repeat('-', 300000000)) FROM t", []string{"public.t.ssn"}},
		{"SELECT concat(ssn, 'x') FROM t", nil},
		{"SELECT concat(ssn, '" + strings.Repeat("a", 500000) + "') FROM t", []string{"public.t.ssn"}},
	} {
		res, err := z.Analyze(q.sql)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(q.filters, res[0].Statement.FilterColumns, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: filter columns (-want +got):\n%s", q.sql, diff)
		}
		if strings.Contains(q.sql, "to_char") && (len(res[0].TypedFilters) > 0) != strings.Contains(q.sql, "YYYY") {
			t.Errorf("%s: typed reads %v", q.sql, res[0].TypedFilters)
		}
	}
}
