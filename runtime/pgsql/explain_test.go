package pgsql

import (
	"slices"
	"testing"
)

// TestExplainEstimates: EXPLAIN, with or without ANALYZE and COSTS,
// filters on the whole row of every relation its statement reads: the
// plan's rows, widths, costs and shape come from each relation's size
// and its columns' statistics (a masked column's average width).
func TestExplainEstimates(t *testing.T) {
	cases := []struct {
		sql     string
		filters []string
	}{
		{"EXPLAIN SELECT id FROM t", []string{"app.t.*"}},
		{"EXPLAIN SELECT ssn FROM t", []string{"app.t.*"}},
		{"EXPLAIN (COSTS OFF) SELECT t.id FROM t JOIN u ON u.id = t.id", []string{"app.t.*", "app.u.*", "app.t.id", "app.u.id"}},
		{"EXPLAIN (ANALYZE false) SELECT id FROM t WHERE id > 3", []string{"app.t.*", "app.t.id"}},
		{"EXPLAIN SELECT (SELECT max(x) FROM u) FROM t", []string{"app.t.*", "app.u.*"}},
		{"EXPLAIN UPDATE t SET id = 1", []string{"app.t.*"}},
		{"SELECT id FROM t", nil},
	}
	for _, tc := range cases {
		res, err := Analyze(tc.sql, Options{SearchPath: []string{"app"}})
		if err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		got := slices.Sorted(slices.Values(res[0].Statement.FilterColumns))
		want := slices.Sorted(slices.Values(tc.filters))
		if !slices.Equal(got, want) {
			t.Errorf("%s: filters %v, want %v", tc.sql, got, want)
		}
	}
	// A whole row of a catalog of credentials under EXPLAIN is not a read
	// of them.
	res, err := Analyze("EXPLAIN SELECT rolname FROM pg_authid", Options{SearchPath: []string{"app"}})
	if err != nil || res[0].Statement.Forbidden != "" {
		t.Errorf("EXPLAIN SELECT rolname FROM pg_authid: %v %q", err, res[0].Statement.Forbidden)
	}
}
