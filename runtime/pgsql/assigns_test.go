package pgsql

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAssigns: the columns a write sets, which the proxy checks against
// the constraints that compare them with stored values.
func TestAssigns(t *testing.T) {
	cases := []struct {
		name, sql string
		want      []string
	}{
		{"insert column list", "INSERT INTO t (id, ssn) VALUES (1, 'x')", []string{"app.t.id", "app.t.ssn"}},
		{"insert without a column list", "INSERT INTO t VALUES (1, 'x')", []string{"app.t.*"}},
		{"insert select", "INSERT INTO t (ssn) SELECT v FROM s", []string{"app.t.ssn"}},
		{"insert default values", "INSERT INTO t DEFAULT VALUES", nil},
		{"on conflict do update", "INSERT INTO t (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET ssn = 'x'", []string{"app.t.id", "app.t.ssn"}},
		{"on conflict do nothing", "INSERT INTO t (id) VALUES (1) ON CONFLICT DO NOTHING", []string{"app.t.id"}},
		{"update", "UPDATE t SET ssn = 'x', (a, b) = (1, 2) WHERE id = 1", []string{"app.t.a", "app.t.b", "app.t.ssn"}},
		{"update subscript", "UPDATE t SET arr[1] = 'x'", []string{"app.t.arr"}},
		{"delete", "DELETE FROM t WHERE id = 1", nil},
		{"writable cte", "WITH w AS (UPDATE t SET ssn = 'x' RETURNING id) SELECT * FROM w", []string{"app.t.ssn"}},
		{"merge", "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET ssn = s.v WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id)",
			[]string{"app.t.id", "app.t.ssn"}},
		{"merge insert without a column list", "MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id)", []string{"app.t.*"}},
		{"copy from", "COPY t (id, ssn) FROM STDIN", []string{"app.t.id", "app.t.ssn"}},
		{"copy from without a column list", "COPY t FROM STDIN", []string{"app.t.*"}},
		{"prepare", "PREPARE p AS UPDATE t SET ssn = $1", []string{"app.t.ssn"}},
		{"select", "SELECT ssn FROM t", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Analyze(tc.sql, Options{SearchPath: []string{"app"}})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, res[0].Assigns); d != "" {
				t.Errorf("Assigns (-want +got):\n%s", d)
			}
		})
	}
}
