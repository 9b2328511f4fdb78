package pgproxy

import (
	"context"
	"errors"
	"regexp"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestGatewayDenialsNameTheRule: the denials the gateway makes itself on a
// statement the policy allowed name the policy block behind them, as a
// policy denial names its rule: the masking block for what masking forbids
// (an unknown origin, COPY TO of masked data, a masked value stored, a
// view that reads masked data whole), the allowing grant for what a
// read-only grant forbids. Each keeps SQLSTATE 42501 and a hint.
func TestGatewayDenialsNameTheRule(t *testing.T) {
	a := newAdvEnv(t)
	masking := regexp.MustCompile(`\(rule masking\.hcl:\d+\)$`)
	roles := regexp.MustCompile(`\(rule roles\.hcl:\d+\)$`)
	cases := []struct {
		name, agent, sql string
		want             *regexp.Regexp
	}{
		{"unknown origin", "reader", "SELECT v.nosuch FROM P_cust_v v", masking},
		{"copy out of masked data", "reader", "COPY P_cust TO STDOUT", masking},
		{"copy out of a masked query", "reader", "COPY (SELECT ssn FROM P_cust) TO STDOUT", masking},
		{"masked value stored", "ddler", "INSERT INTO P_other (id, note) SELECT id, ssn FROM P_cust", masking},
		{"filter", "reader", "SELECT id FROM P_cust WHERE ssn LIKE '9%'", masking},
		{"read-write transaction on a read-only grant", "reader", "BEGIN READ WRITE", roles},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := a.connectTapped(t, tc.agent, nil)
			if err != nil {
				t.Fatal(err)
			}
			o := tp.run(context.Background(), "simple", a.sql(tc.sql))
			var pe *pgconn.PgError
			if !o.denied || !errors.As(o.err, &pe) {
				t.Fatalf("want a denial, got %s %v", o, o.err)
			}
			if !tc.want.MatchString(pe.Message) {
				t.Errorf("message %q does not name the rule (%s)", pe.Message, tc.want)
			}
			if pe.Hint == "" {
				t.Errorf("no hint: %q", pe.Message)
			}
		})
	}
}

// TestServerErrorSourceUnderMasking: under column masking, the server's
// errors lose where in PostgreSQL's source they were raised (file, line,
// routine: which check behind one SQLSTATE failed); elsewhere they keep it.
func TestServerErrorSourceUnderMasking(t *testing.T) {
	a := newAdvEnv(t)
	for _, tc := range []struct {
		agent  string
		masked bool
	}{{"reader", true}, {"fnreader", false}} {
		tp, err := a.connectTapped(t, tc.agent, nil)
		if err != nil {
			t.Fatal(err)
		}
		o := tp.run(context.Background(), "simple", "SELECT 1 / 0")
		var pe *pgconn.PgError
		if !errors.As(o.err, &pe) || pe.Code != "22012" {
			t.Fatalf("%s: want 22012, got %s %v", tc.agent, o, o.err)
		}
		hidden := pe.File == "" && pe.Line == 0 && pe.Routine == ""
		if hidden != tc.masked {
			t.Errorf("%s: file %q line %d routine %q, want them hidden = %v", tc.agent, pe.File, pe.Line, pe.Routine, tc.masked)
		}
	}
}
