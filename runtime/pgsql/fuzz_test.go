package pgsql

import (
	"testing"
)

// FuzzAnalyze checks that no input panics the analyzer or the cache, and
// that every statement comes back with a tag or a reason.
func FuzzAnalyze(f *testing.F) {
	for _, tc := range analyzeCases {
		f.Add(tc.sql)
	}
	for _, tc := range escapeCases {
		f.Add(tc.sql)
	}
	z := NewAnalyzer(Options{SearchPath: []string{"app"}}, 64)
	f.Fuzz(func(t *testing.T, sql string) {
		res, err := Analyze(sql, Options{})
		if err != nil {
			return
		}
		for _, r := range res {
			if r.Statement.Tag == "" && r.Statement.Forbidden == "" {
				t.Errorf("%q: statement without tag or reason", sql)
			}
			if r.Statement.Always && r.Statement.Forbidden != "" {
				t.Errorf("%q: always and forbidden", sql)
			}
		}
		if _, err := z.Analyze(sql); err != nil {
			t.Errorf("%q: Analyze succeeded but the Analyzer failed: %v", sql, err)
		}
		_, _ = Normalize(sql)
	})
}
