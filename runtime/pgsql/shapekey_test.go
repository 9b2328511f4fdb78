package pgsql

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// shapeKeyCases are texts for the Go lexer; sure says whether it decides
// them itself (else PostgreSQL's scanner does).
var shapeKeyCases = []struct {
	sql  string
	sure bool
}{
	{"SELECT abalance FROM pgbench_accounts WHERE aid = 12345;", true},
	{"SELECT abalance FROM pgbench_accounts WHERE aid = $1", true},
	{"select a$1, t2.c3 from t2 where x = 1.5 and y = 'it''s' and z = 2.", true},
	{`SELECT "we""ird", "a;b" FROM "T" WHERE s = ';' ;  `, true},
	{"UPDATE t SET v = 'x' || 'y', n = n + 2147483647 WHERE id = 2147483648", true},
	{"INSERT INTO t (a, b) VALUES (1, 'two'), (007, '')\n", true},
	{"SELECT 1; SELECT 2", true},
	{"  ;  ", true},
	{"", true},
	{"SELECT 1 -- comment", false},
	{"SELECT /* c */ 1", false},
	{"SELECT $$dollar$$", false},
	{"SELECT $tag$x$tag$", false},
	{"SELECT E'a\\nb'", false},
	{"SELECT 'a\\b'", false},
	{"SELECT B'101', X'ff', N'nat'", false},
	{`SELECT U&"d\0061t" FROM t`, false},
	{"SELECT U&'d\\0061t'", false},
	{"SELECT 'a'\n'b'", false},
	{"SELECT 1e5, 1.5e-3", false},
	{"SELECT 0x1f, 1_000, 0o17, 0b1", false},
	{"SELECT 123abc", false},
	{"SELECT .5", false},
	{"SELECT 1..2", false},
	{"SELECT 1.5.6", false},
	{"SELECT 'unterminated", false},
	{`SELECT "unterminated`, false},
	{`SELECT ""`, false},
	{"SELECT 'é'", true},
	{"SELECT é", false},
	// Invalid UTF-8 fails the parse: it must not share the shape above.
	{"SELECT 'x\xc3'", true},
	{"SELECT\v1", false},
	{"SELECT 1; -- trailing comment", false},
	{"SELECT x FROM t WHERE a = -1 AND b = +2.5 AND c = 3::int", true},
	{"SELECT 1 LIMIT 10 OFFSET 5", true},
}

func TestFastShapeKeyMatchesScanner(t *testing.T) {
	for _, tc := range shapeKeyCases {
		t.Run(tc.sql, func(t *testing.T) {
			key, text, sure := fastShapeKey(tc.sql)
			if sure != tc.sure {
				t.Fatalf("sure = %v, want %v", sure, tc.sure)
			}
			if !sure {
				return
			}
			skey, stext, ok := scanShapeKey(tc.sql)
			if !ok {
				skey, stext = "", ""
			}
			if diff := cmp.Diff([]string{skey, stext}, []string{key, text}); key != "" && diff != "" {
				t.Errorf("Go key differs from the scanner's (-scanner +go):\n%s", diff)
			}
			if key == "" && ok {
				t.Errorf("Go lexer refuses a string the scanner would key: %q", skey)
			}
		})
	}
}

// literalVariants returns sql with each literal the Go lexer finds replaced
// by other values of the same token type.
func literalVariants(sql string) []string {
	repl := map[string][]string{
		iconstMark: {"0", "42", "2147483647"},
		fconstMark: {"0.0", "3.25", "99999999999"},
		sconstMark: {"''", "'x'", "'o''brien'", "'1'"},
	}
	key, _, sure := fastShapeKey(sql)
	if !sure || key == "" {
		return nil
	}
	var out []string
	for v := 0; v < 4; v++ {
		var b strings.Builder
		rest := key[1:]
		for {
			i := strings.IndexByte(rest, 0)
			if i < 0 {
				b.WriteString(rest)
				break
			}
			b.WriteString(rest[:i])
			j := strings.IndexByte(rest[i:], 1) + i + 1
			vals := repl[rest[i:j]]
			b.WriteString(vals[v%len(vals)])
			rest = rest[j:]
		}
		out = append(out, b.String())
	}
	return out
}

// TestShapeCacheExact serves literal variants of every test statement from
// one Analyzer and compares each with a fresh analysis.
func TestShapeCacheExact(t *testing.T) {
	var sqls []string
	for _, tc := range analyzeCases {
		sqls = append(sqls, tc.sql)
	}
	for _, tc := range escapeCases {
		sqls = append(sqls, tc.sql)
	}
	for _, tc := range shapeKeyCases {
		sqls = append(sqls, tc.sql)
	}
	opts := Options{SearchPath: []string{"app"}}
	z := NewAnalyzer(opts, 0)
	for _, sql := range sqls {
		for _, v := range append([]string{sql}, literalVariants(sql)...) {
			checkCached(t, z, opts, v)
		}
	}
}

func checkCached(t *testing.T, z *Analyzer, opts Options, sql string) {
	t.Helper()
	want, werr := Analyze(sql, opts)
	got, gerr := z.Analyze(sql)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("%q: errors differ: %v vs %v", sql, werr, gerr)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%q: cached analysis differs from a fresh one (-fresh +cached):\n%s", sql, diff)
	}
}

// FuzzShapeKey checks the Go lexer against PostgreSQL's scanner, and that
// two strings sharing a shape key (one analyzed through the cache after the
// other) get exactly a fresh analysis.
func FuzzShapeKey(f *testing.F) {
	for _, tc := range shapeKeyCases {
		f.Add(tc.sql, tc.sql)
		for _, v := range literalVariants(tc.sql) {
			f.Add(tc.sql, v)
		}
	}
	for _, tc := range analyzeCases {
		f.Add(tc.sql, tc.sql)
	}
	opts := Options{SearchPath: []string{"app"}}
	f.Fuzz(func(t *testing.T, a, b string) {
		if strings.IndexByte(a, 0) >= 0 || strings.IndexByte(b, 0) >= 0 || len(a) > maxCachedText || len(b) > maxCachedText {
			return
		}
		for _, s := range []string{a, b} {
			key, text, sure := fastShapeKey(s)
			if !sure || key == "" {
				continue
			}
			skey, stext, ok := scanShapeKey(s)
			if ok && (skey != key || stext != text) {
				t.Fatalf("%q: Go key %q/%q, scanner key %q/%q", s, key, text, skey, stext)
			}
		}
		z := NewAnalyzer(opts, 0)
		_, _ = z.Analyze(a)
		checkCached(t, z, opts, b)
	})
}
