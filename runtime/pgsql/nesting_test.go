package pgsql

import (
	"errors"
	"strings"
	"testing"
)

// TestNestingBound: chains pg_query would write out past its C stack are
// refused before parsing; long flat lists are not.
func TestNestingBound(t *testing.T) {
	cases := []struct {
		name string
		sql  string
		deep bool
	}{
		{"operator chain", "SELECT 1" + strings.Repeat("+1", 30000), true},
		{"cast chain", "SELECT 1" + strings.Repeat("::int", 30000), true},
		{"join chain", "SELECT 1 FROM a" + strings.Repeat(" JOIN a ON true", 30000), true},
		{"union chain", "SELECT 1" + strings.Repeat(" UNION SELECT 1", 60000), true},
		{"chain in brackets", "SELECT f(" + strings.Repeat("[", 10) + "1" + strings.Repeat("+1", 10000) + strings.Repeat("]", 10) + ")", true},
		{"in list", "SELECT 1 WHERE 1 IN (" + strings.TrimSuffix(strings.Repeat("-1,", 100000), ",") + ")", false},
		{"and list", "SELECT true" + strings.Repeat(" AND 1 = 1", 30000), false},
		{"values", "VALUES " + strings.TrimSuffix(strings.Repeat("(-1, 'a' || 'b'),", 30000), ","), false},
		{"many statements", strings.Repeat("SELECT 1+1;", 30000), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Analyze(tc.sql, Options{})
			if got := errors.Is(err, ErrTooDeep); got != tc.deep {
				t.Errorf("refused as too deep: %v, want %v (err %v)", got, tc.deep, err)
			}
		})
	}
}
