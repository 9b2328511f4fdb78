package pgsql

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUpdates: the columns an update sets in rows it keeps, whose other
// (masked) columns a CHECK constraint or generated column reads beside
// them; an INSERT's columns are not among them.
func TestUpdates(t *testing.T) {
	cases := []struct {
		name, sql string
		want      []string
	}{
		{"insert", "INSERT INTO t (id, ssn) VALUES (1, 'x')", nil},
		{"on conflict do update", "INSERT INTO t (id, name) VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET note = 'x'", []string{"app.t.note"}},
		{"update", "UPDATE t SET name = 'x', (a, b) = (1, 2) WHERE id = 1", []string{"app.t.a", "app.t.b", "app.t.name"}},
		{"delete", "DELETE FROM t WHERE id = 1", nil},
		{"writable cte", "WITH w AS (UPDATE t SET name = 'x' RETURNING id) SELECT * FROM w", []string{"app.t.name"}},
		{"merge", "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET name = s.v WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id)",
			[]string{"app.t.name"}},
		{"copy from", "COPY t (id, ssn) FROM STDIN", nil},
		{"prepare", "PREPARE p AS UPDATE t SET name = $1", []string{"app.t.name"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Analyze(tc.sql, Options{SearchPath: []string{"app"}})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, res[0].Updates); d != "" {
				t.Errorf("Updates (-want +got):\n%s", d)
			}
		})
	}
	// EXECUTE resolved with its PREPARE keeps them.
	res, err := Analyze("PREPARE p AS UPDATE t SET name = $1; EXECUTE p('x')", Options{SearchPath: []string{"app"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"app.t.name"}, res[1].ResolveExecute(res[0]).Updates); d != "" {
		t.Errorf("Updates of EXECUTE (-want +got):\n%s", d)
	}
}
