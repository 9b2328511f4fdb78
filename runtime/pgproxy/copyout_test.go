package pgproxy

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mandatehq/mandate/model"
)

// copyEnv is a gateway whose masking "pii" (column rules only) applies to
// every statement on a people table (ssn and email masked), an orders
// table (no rule) and views over them.
type copyEnv struct {
	*env
	people, orders string
	open, hidden   string // views over unmasked columns, over ssn
	mixedCase      string // a view over ssn with a mixed-case name, as SQL writes it
	fn             string // a function the analyzer cannot see through
	columns        *model.Masking
}

func newCopyEnv(t *testing.T) *copyEnv {
	e := newEnv(t)
	ce := &copyEnv{env: e}
	ce.people = e.table(t, "people", "id int primary key, name text, ssn text, email text, note text",
		"VALUES (1, 'Ann', '123-45-6789', 'ann@example.com', 'card 4111 1111 1111 1111'), (2, 'Bob', NULL, 'bob@example.org', E'tab\\there')")
	ce.orders = e.table(t, "orders", "id int primary key, person int, total numeric", "VALUES (1, 1, 9.5), (2, 2, 20)")
	ce.open, ce.hidden = ce.people+"_open", ce.people+"_hidden"
	mixed := e.prefix + "_People_V"
	ce.mixedCase = `public."` + mixed + `"`
	admin(t, "CREATE VIEW "+ce.open+" AS SELECT id, upper(name) AS n FROM "+ce.people)
	admin(t, "CREATE VIEW "+ce.hidden+" AS SELECT id, lower(ssn) AS s FROM "+ce.people)
	admin(t, "CREATE VIEW "+ce.mixedCase+" AS SELECT id, ssn FROM "+ce.people)
	ce.fn = "public." + e.prefix + "_f"
	admin(t, "CREATE FUNCTION "+ce.fn+"(text) RETURNS text LANGUAGE sql AS 'SELECT $1'")
	t.Cleanup(func() {
		admin(t, "DROP VIEW IF EXISTS "+ce.open+", "+ce.hidden+", "+ce.mixedCase)
		admin(t, "DROP FUNCTION IF EXISTS "+ce.fn+"(text)")
	})
	ce.columns = &model.Masking{Name: "pii", Columns: []*model.ColumnRule{
		{Column: ce.people + ".ssn", Method: "redact"},
		{Column: ce.people + ".email", Method: "email"},
	}}
	e.policy.set(func(p *testPolicy) {
		for _, tbl := range []string{ce.people, ce.orders, ce.open, ce.hidden, "public." + mixed} {
			p.masked[tbl] = true
		}
		p.maskings["pii"] = ce.columns
	})
	return ce
}

// copyOut runs a COPY TO on c and returns the bytes and command tag.
func copyOut(c *pgconn.PgConn, sql string) ([]byte, string, error) {
	var buf bytes.Buffer
	tag, err := c.CopyTo(context.Background(), &buf, sql)
	return buf.Bytes(), tag.String(), err
}

// COPY TO where masking applies runs when it copies no masked column (and
// returns what PostgreSQL returns directly), and is denied otherwise.
func TestCopyOutUnderMasking(t *testing.T) {
	ce := newCopyEnv(t)
	people, orders := ce.people, ce.orders
	cases := []struct {
		name string
		sql  string
		deny string // "": runs as directly; else in the denial's message
	}{
		{"table without a masked column", "COPY " + orders + " TO STDOUT", ""},
		{"unmasked columns", "COPY " + people + " (id, name, note) TO STDOUT", ""},
		{"unmasked columns csv", "COPY " + people + " (id, name) TO STDOUT WITH (FORMAT csv, HEADER)", ""},
		{"unmasked columns binary", "COPY " + people + " (id, name) TO STDOUT WITH (FORMAT binary)", ""},
		{"query over unmasked columns", "COPY (SELECT p.id, upper(p.name), o.total FROM " + people + " p JOIN " + orders +
			" o ON o.person = p.id ORDER BY 1) TO STDOUT WITH (FORMAT csv)", ""},
		{"whole row of an unmasked table", "COPY (SELECT o FROM " + orders + " o ORDER BY id) TO STDOUT", ""},
		{"unqualified name in a join", "COPY (SELECT name, o.total FROM " + people + " p JOIN " + orders + " o ON o.person = p.id ORDER BY 1) TO STDOUT", ""},
		{"star of a view over unmasked columns", "COPY (SELECT * FROM " + ce.open + " ORDER BY id) TO STDOUT WITH (FORMAT binary)", ""},

		{"table with a masked column", "COPY " + people + " TO STDOUT", people + ".ssn"},
		{"masked column csv", "COPY " + people + " (id, email) TO STDOUT WITH (FORMAT csv)", people + ".email"},
		{"star binary", "COPY (SELECT * FROM " + people + ") TO STDOUT WITH (FORMAT binary)", people + ".ssn"},
		{"whole row", "COPY (SELECT p FROM " + people + " p) TO STDOUT", people + ".ssn"},
		{"field notation", "COPY (SELECT p.to_json FROM " + people + " p) TO STDOUT", people + ".ssn"},
		{"unqualified name of a joined table", "COPY (SELECT total FROM " + people + " p JOIN " + orders + " o ON o.person = p.id) TO STDOUT", people + ".ssn"},
		{"expression", "COPY (SELECT id, lower(ssn) FROM " + people + ") TO STDOUT", people + ".ssn"},
		{"set operation", "COPY (SELECT name FROM " + people + " UNION ALL SELECT email FROM " + people + ") TO STDOUT", people + ".email"},
		{"view over a masked column", "COPY (SELECT s FROM " + ce.hidden + ") TO STDOUT WITH (FORMAT csv)", people + ".ssn"},
		{"mixed-case view", "COPY (SELECT * FROM " + ce.mixedCase + ") TO STDOUT", people + ".ssn"},
		{"function", "COPY (SELECT " + ce.fn + "(name) FROM " + people + ") TO STDOUT", "unknown"},
		{"server file", "COPY " + orders + " TO '/tmp/mandate_copy_out'", "server file"},
	}
	direct := pgconnTo(t, adminDSN)
	gw := pgconnTo(t, ce.dsn("agent1", "require"))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, tag, err := copyOut(gw, tc.sql)
			if tc.deny != "" {
				var pe *pgconn.PgError
				if !errors.As(err, &pe) || pe.Code != CodeInsufficientPrivilege || !strings.Contains(pe.Message, tc.deny) {
					t.Fatalf("err = %v, want a denial naming %q", err, tc.deny)
				}
				if len(got) > 0 {
					t.Fatalf("denied COPY sent %d bytes", len(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("through the gateway: %v", err)
			}
			want, wantTag, err := copyOut(direct, tc.sql)
			if err != nil {
				t.Fatalf("directly: %v", err)
			}
			if !bytes.Equal(got, want) || tag != wantTag {
				t.Fatalf("through the gateway %q %q, directly %q %q", tag, got, wantTag, want)
			}
		})
	}
	// The session goes on after denials.
	if _, _, err := copyOut(gw, "COPY "+orders+" (id) TO STDOUT"); err != nil {
		t.Fatalf("after the cases: %v", err)
	}
}

// Detectors scan every text value, so no COPY TO runs where they apply.
func TestCopyOutUnderDetectors(t *testing.T) {
	ce := newCopyEnv(t)
	detector := []*model.DetectorRule{{Detector: "credit_card", Name: "credit_card", Method: "redact"}}
	cases := []struct {
		name    string
		masking *model.Masking
		sql     string
	}{
		{"detectors only", &model.Masking{Name: "pii", Detectors: detector}, "COPY " + ce.orders + " TO STDOUT"},
		{"detectors and columns", &model.Masking{Name: "pii", Columns: ce.columns.Columns, Detectors: detector},
			"COPY " + ce.people + " (id, name) TO STDOUT WITH (FORMAT csv)"},
		{"detectors, query", &model.Masking{Name: "pii", Detectors: detector},
			"COPY (SELECT id FROM " + ce.orders + ") TO STDOUT WITH (FORMAT binary)"},
	}
	gw := pgconnTo(t, ce.dsn("agent1", "require"))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ce.policy.set(func(p *testPolicy) { p.maskings["pii"] = tc.masking })
			_, _, err := copyOut(gw, tc.sql)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != CodeInsufficientPrivilege || !strings.Contains(pe.Message, "detectors") {
				t.Fatalf("err = %v, want a denial naming detectors", err)
			}
		})
	}
	// Without masking in force nothing is checked.
	ce.policy.set(func(p *testPolicy) { delete(p.masked, ce.people) })
	if _, _, err := copyOut(gw, "COPY "+ce.people+" TO STDOUT"); err != nil {
		t.Fatalf("without masking: %v", err)
	}
}

// The extended protocol decides COPY TO the same way.
func TestCopyOutExtended(t *testing.T) {
	ce := newCopyEnv(t)
	likePostgres(t, ce.env, []string{"parsed", "bound", "complete COPY 2", "ready I"},
		extended("COPY "+ce.orders+" TO STDOUT"))
	got := exchange(t, pgconnTo(t, ce.dsn("agent1", "require")), extended("COPY "+ce.people+" TO STDOUT"))
	if len(got) == 0 || !strings.HasPrefix(got[0], "error 42501 ") || !strings.Contains(got[0], ce.people+".ssn") {
		t.Fatalf("masked COPY through Parse: %q", got)
	}
}
