package pgsql

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAnalyzerMatchesAnalyze(t *testing.T) {
	opts := Options{SearchPath: []string{"app"}}
	z := NewAnalyzer(opts, 0)
	var sqls []string
	for _, tc := range analyzeCases {
		sqls = append(sqls, tc.sql)
	}
	for _, tc := range escapeCases {
		sqls = append(sqls, tc.sql)
	}
	for round := 0; round < 2; round++ {
		for _, sql := range sqls {
			want, werr := Analyze(sql, opts)
			got, gerr := z.Analyze(sql)
			if (werr != nil) != (gerr != nil) {
				t.Fatalf("%q: errors differ: %v vs %v", sql, werr, gerr)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("round %d %q: cached analysis differs (-want +got):\n%s", round, sql, diff)
			}
		}
	}
}

func TestAnalyzerShapeCache(t *testing.T) {
	z := NewAnalyzer(Options{}, 0)
	tests := []struct {
		name   string
		first  string
		second string
		// shared says whether the second string is served from the shape
		// entry of the first.
		shared bool
	}{
		{"integer literal", "SELECT abalance FROM pgbench_accounts WHERE aid = 1;", "SELECT abalance FROM pgbench_accounts WHERE aid = 77;", true},
		// Spacing and comments are part of the shape: Redacted keeps them.
		{"spacing and comments", "SELECT a FROM t WHERE x = 1", "  /* lead */ SELECT a FROM t   WHERE x = 2 ;  -- trail\n", false},
		{"same comments", "/* app */ SELECT a FROM t WHERE x = 1 -- z\n", "/* app */ SELECT a FROM t WHERE x = 3 -- z\n", true},
		{"float literal", "SELECT a FROM t WHERE x = 1.5", "SELECT a FROM t WHERE x = 22.25", true},
		{"integer and float", "SELECT a FROM t WHERE x = 1", "SELECT a FROM t WHERE x = 1.5", false},
		{"int4 and bigger", "SELECT a FROM t WHERE x = 1", "SELECT a FROM t WHERE x = 9999999999", false},
		{"escape string", "SELECT a FROM t WHERE y = E'a\\n'", "SELECT a FROM t WHERE y = E'b'", true},
		{"string literal", "SELECT id FROM users WHERE email = 'a'", "SELECT id FROM users WHERE email = 'b'", true},
		{"order by position", "SELECT id, email FROM users ORDER BY 1", "SELECT id, email FROM users ORDER BY 2", false},
		{"group by position", "SELECT id, email FROM users GROUP BY 1, 2", "SELECT id, email FROM users GROUP BY 2, 1", false},
		{"different identifier", "SELECT a FROM t WHERE x = 1", "SELECT a FROM u WHERE x = 1", false},
		{"multi statement", "SELECT 1; SELECT 2", "SELECT 3; SELECT 4", false},
		{"uescape", `SELECT * FROM U&"!0074" UESCAPE '!'`, `SELECT * FROM U&"!0074" UESCAPE '#'`, false},
		{"copy is never shape cached", "COPY t FROM STDIN", "COPY t FROM '/etc/passwd'", false},
		{"set is never shape cached", "SET statement_timeout = 1", "SET statement_timeout = 2", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := z.Analyze(tc.first)
			if err != nil {
				t.Fatal(err)
			}
			b, err := z.Analyze(tc.second)
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := Analyze(tc.second, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(fresh, b); diff != "" {
				t.Errorf("cached result differs from a fresh analysis (-want +got):\n%s", diff)
			}
			shared := len(a) == 1 && len(b) == 1 && &a[0].Outputs != &b[0].Outputs &&
				len(a[0].Outputs) > 0 && len(b[0].Outputs) > 0 && &a[0].Outputs[0] == &b[0].Outputs[0]
			if shared != tc.shared {
				t.Errorf("shared = %v, want %v", shared, tc.shared)
			}
		})
	}
}

func TestAnalyzerBounded(t *testing.T) {
	z := NewAnalyzer(Options{}, 8)
	for i := 0; i < 100; i++ {
		if _, err := z.Analyze(fmt.Sprintf("SELECT c%d FROM t", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := z.Len(); n > 8 {
		t.Errorf("cache holds %d entries, want at most 8", n)
	}
}

func TestAnalyzerConcurrent(t *testing.T) {
	z := NewAnalyzer(Options{}, 16)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				res, err := z.Analyze(fmt.Sprintf("SELECT abalance FROM pgbench_accounts WHERE aid = %d", i*g))
				if err != nil || len(res) != 1 || len(res[0].Statement.Accesses) != 1 {
					t.Errorf("unexpected result %v %v", res, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

func TestAnalyzerSliceIsCallers(t *testing.T) {
	z := NewAnalyzer(Options{}, 0)
	a, _ := z.Analyze("EXECUTE p")
	a[0] = &Analyzed{Text: "replaced"}
	b, _ := z.Analyze("EXECUTE p")
	if b[0].Text != "EXECUTE p" {
		t.Errorf("replacing an element of a returned slice changed the cache: %q", b[0].Text)
	}
}

// TestShapeCacheKeepsFunctions: the output-size bound (growth.go) reads
// literals only where their value sets a factor, so a statement calling
// functions whose factor is fixed stays answered by shape when only a
// literal elsewhere changes, as pgbench -S's does.
func TestShapeCacheKeepsFunctions(t *testing.T) {
	for _, tc := range []struct {
		shape   string // %d: the literal that changes
		byShape bool
	}{
		{"SELECT abalance FROM pgbench_accounts WHERE aid = %d", true},
		{"SELECT upper(name), lower(email), quote_literal(ssn) FROM t WHERE id = %d", true},
		{"SELECT concat(name, ' ', ssn)::text FROM t WHERE id = %d", true},
		{"SELECT replace(ssn, '-', '') FROM t WHERE id = %d", false},
		{"SELECT concat(ssn, repeat('-', 3)) FROM t WHERE id = %d", false},
	} {
		z := NewAnalyzer(Options{SearchPath: []string{"public"}}, 0)
		for i := 1; i <= 3; i++ {
			if _, err := z.Analyze(fmt.Sprintf(tc.shape, i)); err != nil {
				t.Fatal(err)
			}
		}
		// By shape: one exact entry and one shape entry; otherwise an exact
		// entry a text.
		if got := z.Len() == 2; got != tc.byShape {
			t.Errorf("%s: %d cache entries, answered by shape: %v, want %v", tc.shape, z.Len(), got, tc.byShape)
		}
	}
}
