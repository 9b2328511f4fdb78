package pgsql

import (
	"slices"
	"testing"
)

// TestSystemColumns: a table's system columns (ctid, xmin, xmax, cmin,
// cmax, tableoid) read its whole row, in the output and in filters, and
// TABLESAMPLE filters on the whole relation: where a row is stored, which
// transaction wrote it and which partition holds it depend on its values.
func TestSystemColumns(t *testing.T) {
	cases := []struct {
		sql     string
		out     []string // the first output's sources
		filters []string
	}{
		{"SELECT ctid FROM t", []string{"app.t.*"}, nil},
		{"SELECT t.ctid::text FROM t", []string{"app.t.*"}, nil},
		{"SELECT xmin, xmax FROM t", []string{"app.t.*"}, nil},
		{"SELECT tableoid::text FROM t", []string{"app.t.*"}, nil},
		{"SELECT tableoid::regclass FROM t", []string{"app.t.*"}, []string{"app.t.*"}}, // a cast that is not to text may fail
		{"SELECT x.ctid FROM (SELECT ctid FROM t) x", []string{"app.t.*"}, nil},
		{"SELECT id FROM t WHERE ctid >= '(1,0)'", []string{"app.t.id"}, []string{"app.t.*"}},
		{"SELECT id FROM t ORDER BY ctid", []string{"app.t.id"}, []string{"app.t.*"}},
		{"SELECT id FROM t WHERE tableoid = 16384", []string{"app.t.id"}, []string{"app.t.*"}},
		{"SELECT id FROM t TABLESAMPLE SYSTEM (50)", []string{"app.t.id"}, []string{"app.t.*"}},
		{"SELECT id FROM t TABLESAMPLE BERNOULLI (10) REPEATABLE (3)", []string{"app.t.id"}, []string{"app.t.*"}},
		{"SELECT id FROM t", []string{"app.t.id"}, nil},
		{"SELECT ctid FROM (SELECT 1 AS ctid) x", nil, nil},
	}
	for _, tc := range cases {
		res, err := Analyze(tc.sql, Options{SearchPath: []string{"app"}})
		if err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		an := res[0]
		if len(an.Outputs) == 0 || !slices.Equal(an.Outputs[0].Sources, tc.out) || an.Outputs[0].Direct && len(tc.out) > 0 && tc.out[0] == "app.t.*" {
			t.Errorf("%s: first output %+v, want sources %v", tc.sql, an.Outputs, tc.out)
		}
		if !slices.Equal(an.Statement.FilterColumns, tc.filters) {
			t.Errorf("%s: filters %v, want %v", tc.sql, an.Statement.FilterColumns, tc.filters)
		}
	}
}
