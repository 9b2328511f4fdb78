package pgproxy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/mandatehq/mandate/model"
)

// piiMasking masks ssn, email and age of tbl and finds credit cards.
func piiMasking(tbl string) *model.Masking {
	return &model.Masking{
		Name: "pii",
		Columns: []*model.ColumnRule{
			{Column: tbl + ".ssn", Method: "redact"},
			{Column: tbl + ".email", Method: "email"},
			{Column: tbl + ".age", Method: "redact"},
		},
		Detectors: []*model.DetectorRule{{Detector: "credit_card", Name: "credit_card", Method: "redact"}},
	}
}

// maskEnv is a gateway with masking "pii" on a people table.
func maskEnv(t *testing.T) (*env, string) {
	e := newEnv(t)
	tbl := e.table(t, "people", "id int primary key, name text, ssn text unique, email text, age int, note text",
		"VALUES (1, 'Ann', '123-45-6789', 'ann@example.com', 41, 'card 4111 1111 1111 1111 on file')")
	e.policy.set(func(p *testPolicy) {
		p.masked[tbl] = true
		p.maskings["pii"] = piiMasking(tbl)
	})
	return e, tbl
}

func TestMaskingResults(t *testing.T) {
	e, tbl := maskEnv(t)
	cases := []struct {
		sql  string
		want []string // first row, values as text ("NULL" for null)
	}{
		{"SELECT id, name, ssn FROM " + tbl, []string{"1", "Ann", "[REDACTED]"}},
		{"SELECT * FROM " + tbl, []string{"1", "Ann", "[REDACTED]", "****@example.com", "NULL", "card [REDACTED] on file"}},
		{"SELECT upper(ssn) FROM " + tbl, []string{"[REDACTED]"}},
		{"SELECT ssn || '!' AS s, name FROM " + tbl, []string{"[REDACTED]", "Ann"}},
		{"SELECT (SELECT ssn FROM " + tbl + " LIMIT 1) AS s", []string{"[REDACTED]"}},
		{"WITH c AS (SELECT ssn AS x FROM " + tbl + ") SELECT x FROM c", []string{"[REDACTED]"}},
		{"SELECT age, age + 1 AS next FROM " + tbl, []string{"NULL", "NULL"}},
		{"SELECT 'call 4111-1111-1111-1111' AS t", []string{"call 4111-1111-1111-1111"}}, // no masked table: no masking
	}
	modes := []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec}
	for _, mode := range modes {
		c := e.connect(t, "require")
		for _, tc := range cases {
			t.Run(mode.String()+"/"+tc.sql, func(t *testing.T) {
				rows, err := c.Query(context.Background(), tc.sql, mode)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				if !rows.Next() {
					t.Fatalf("no rows: %v", rows.Err())
				}
				vals, err := rows.Values()
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, v := range vals {
					if v == nil {
						got = append(got, "NULL")
					} else {
						got = append(got, fmt.Sprint(v))
					}
				}
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Fatalf("(-want +got):\n%s", d)
				}
			})
		}
	}
}

func TestMaskingSQLObjects(t *testing.T) {
	e, tbl := maskEnv(t)
	c := e.connect(t, "require")
	ctx := context.Background()
	q := func(sql string) string {
		t.Helper()
		var s *string
		if err := c.QueryRow(ctx, sql, pgx.QueryExecModeSimpleProtocol).Scan(&s); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if s == nil {
			return "NULL"
		}
		return *s
	}
	exec := func(sql string) {
		t.Helper()
		if _, err := c.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	view := tbl + "_v"
	admin(t, "CREATE VIEW "+view+" AS SELECT id, lower(ssn) AS s FROM "+tbl)
	t.Cleanup(func() { admin(t, "DROP VIEW IF EXISTS "+view) })
	e.policy.set(func(p *testPolicy) { p.masked[view] = true })
	if got := q("SELECT s FROM " + view); got != "[REDACTED]" {
		t.Errorf("view over a masked column: %q", got)
	}
	exec("PREPARE p AS SELECT lower(ssn) FROM " + tbl)
	if got := q("EXECUTE p"); got != "[REDACTED]" {
		t.Errorf("EXECUTE of a prepared statement over a masked column: %q", got)
	}
	exec("BEGIN")
	exec("DECLARE cur CURSOR FOR SELECT lower(ssn) FROM " + tbl)
	if got := q("FETCH 1 FROM cur"); got != "[REDACTED]" {
		t.Errorf("FETCH from a cursor over a masked column: %q", got)
	}
	exec("ROLLBACK")
	_, err := c.Exec(ctx, "FETCH 1 FROM nosuch", pgx.QueryExecModeSimpleProtocol)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != CodeInsufficientPrivilege {
		t.Errorf("FETCH from an unknown cursor: %v", err)
	}
	_, err = c.Exec(ctx, "PREPARE mandate_s1 AS SELECT 1", pgx.QueryExecModeSimpleProtocol)
	if !errors.As(err, &pe) || pe.Code != CodeInsufficientPrivilege {
		t.Errorf("PREPARE with a reserved name: %v", err)
	}
}

// Errors carrying column values lose their detail under column masking.
// A value written into a masked unique column is an oracle (a unique
// violation says it is stored): denied unless the rule allows filtering,
// and then the violation's detail is still hidden.
func TestMaskingErrors(t *testing.T) {
	e, tbl := maskEnv(t)
	c := e.connect(t, "require")
	_, err := c.Exec(context.Background(), "INSERT INTO "+tbl+" (id, ssn) VALUES (2, '123-45-6789')")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != CodeInsufficientPrivilege {
		t.Fatalf("err = %v, want a denial: the unique violation would say the value is stored", err)
	}
	e.policy.set(func(p *testPolicy) {
		m := piiMasking(tbl)
		m.Columns[0].AllowFilter = true
		p.maskings["pii"] = m
	})
	_, err = c.Exec(context.Background(), "INSERT INTO "+tbl+" (id, ssn) VALUES (2, '123-45-6789')")
	if !errors.As(err, &pe) || pe.Code != "23505" {
		t.Fatalf("err = %v, want a unique violation", err)
	}
	if strings.Contains(pe.Detail, "6789") || pe.Detail != hiddenDetail {
		t.Fatalf("detail leaks: %q", pe.Detail)
	}
	_, err = c.Exec(context.Background(), "SELECT 1/0 FROM "+tbl+" WHERE note = 'x4111 1111 1111 1111'")
	if !errors.As(err, &pe) || strings.Contains(pe.Message+pe.Detail, "4111 1111") {
		t.Fatalf("err = %v", err)
	}
}

// TestMaskingErrorValues: errors of statements that read masked columns do
// not carry a masked value back (the message is hidden, the SQLSTATE
// kept); other errors keep their message.
func TestMaskingErrorValues(t *testing.T) {
	e, tbl := maskEnv(t)
	c := e.connect(t, "require")
	for _, tc := range []struct {
		sql, code string
		hidden    bool // the message had a value hidden
	}{
		{"SELECT ssn::int FROM " + tbl, "22P02", true},
		{"SELECT ssn::numeric FROM " + tbl, "22P02", true},
		{"SELECT to_date(ssn, 'YYYY-MM-DD') FROM " + tbl, "22008", true},
		{"SELECT (ssn || 'x')::bigint FROM " + tbl, "22P02", true},
		{"SELECT ssn::date FROM " + tbl, "22007", true},
		{"SELECT id FROM " + tbl + " GROUP BY name", "42803", false},
	} {
		t.Run(tc.sql, func(t *testing.T) {
			_, err := c.Exec(context.Background(), tc.sql)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a PostgreSQL error", err)
			}
			all := pe.Message + pe.Detail + pe.Hint + pe.Where + pe.InternalQuery
			for _, secret := range []string{"6789", "123-45"} {
				if strings.Contains(all, secret) {
					t.Errorf("%s: error leaks %q: %+v", pe.Code, secret, pe)
				}
			}
			if pe.Code != tc.code && !(tc.hidden && strings.HasPrefix(pe.Code, "22")) {
				t.Errorf("code = %s, want %s", pe.Code, tc.code)
			}
			if got := strings.Contains(pe.Message, hiddenValue) || pe.Message == hiddenMessage; got != tc.hidden {
				t.Errorf("message %q: value hidden = %v, want %v", pe.Message, got, tc.hidden)
			}
		})
	}
}

// TestMaskingFieldNotation: p.to_json is to_json(p), the whole row, to
// PostgreSQL. Under column masking it is masked as the whole row (built-in
// functions, which the analyzer knows) or denied (a name the relation does
// not have), in outputs and in filters, whatever the protocol; nothing
// leaks either way.
func TestMaskingFieldNotation(t *testing.T) {
	e, tbl := maskEnv(t)
	for _, sql := range []string{
		"SELECT p.to_json FROM " + tbl + " p",
		"SELECT p.row_to_json FROM " + tbl + " p",
		"SELECT p.to_jsonb::text AS j FROM " + tbl + " p",
		"SELECT (p).to_json FROM " + tbl + " p",
		"SELECT id FROM " + tbl + " p WHERE p.to_json::text LIKE '%6789%'",
		"SELECT x.to_json FROM (SELECT * FROM " + tbl + ") x",
		"SELECT p.no_such_function FROM " + tbl + " p",
	} {
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
			t.Run(mode.String()+"/"+sql, func(t *testing.T) {
				c := e.connect(t, "require")
				rows, err := c.Query(context.Background(), sql, mode)
				if err == nil {
					for rows.Next() {
						vals, _ := rows.Values()
						if strings.Contains(fmt.Sprint(vals), "6789") {
							t.Errorf("leaked: %v", vals)
						}
					}
					err = rows.Err()
					rows.Close()
				}
				var pe *pgconn.PgError
				if err != nil && (!errors.As(err, &pe) || pe.Code != "42501") {
					t.Fatalf("err = %v, want masked rows or a 42501 denial", err)
				}
			})
		}
	}
	c := e.connect(t, "require")
	var name string
	if err := c.QueryRow(context.Background(), "SELECT p.name FROM "+tbl+" p WHERE p.id = 1").Scan(&name); err != nil || name != "Ann" {
		t.Errorf("a real column through the same alias: %q, %v", name, err)
	}
	// A whole-row reference is no field notation: it runs, masked.
	for _, sql := range []string{"SELECT p FROM " + tbl + " p", "SELECT p::text FROM " + tbl + " p", "SELECT row_to_json(p) FROM " + tbl + " p"} {
		rows, err := c.Query(context.Background(), sql, pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			t.Errorf("%s: %v", sql, err)
			continue
		}
		for rows.Next() {
			if vals, _ := rows.Values(); strings.Contains(fmt.Sprint(vals), "6789") {
				t.Errorf("%s leaked: %v", sql, vals)
			}
		}
		if err := rows.Err(); err != nil {
			t.Errorf("%s: %v", sql, err)
		}
		rows.Close()
	}
}

func TestHideQuoted(t *testing.T) {
	h := hiddenValue
	for _, tc := range []struct{ in, want string }{
		{`invalid input syntax for type integer: "123-45-6789"`, `invalid input syntax for type integer: "` + h + `"`},
		{`value "99999999999" is out of range for type integer`, `value "` + h + `" is out of range for type integer`},
		{`invalid value 'ab' for "YYYY"`, `invalid value '` + h + `' for "` + h + `"`},
		{`invalid byte sequence for encoding "UTF8": 0xe9 0x80`, `invalid byte sequence for encoding "` + h + `": ` + h + ` ` + h},
		{`unterminated "123-45`, `unterminated "` + h + `"`},
		{`division by zero`, `division by zero`},
		{``, ``},
	} {
		if got := hideQuoted(tc.in); got != tc.want {
			t.Errorf("hideQuoted(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMaskingCount(t *testing.T) {
	e, tbl := maskEnv(t)
	c := e.connect(t, "require")
	if _, err := c.Exec(context.Background(), "SELECT ssn, email FROM "+tbl, pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	c.Close(context.Background())
	waitFor(t, "records", func() bool { return len(e.rec.completedList()) == 1 })
	if got := e.rec.completedList()[0].Result.Masked; got != 2 {
		t.Fatalf("masked = %d, want 2", got)
	}
}

// Copying a masked column into stored data is denied under masking.
func TestMaskingWrites(t *testing.T) {
	e, tbl := maskEnv(t)
	copyTo := e.table(t, "copy", "v text", "")
	e.policy.set(func(p *testPolicy) { p.masked[copyTo] = true })
	c := e.connect(t, "require")
	for _, sql := range []string{
		"INSERT INTO " + copyTo + " SELECT ssn FROM " + tbl,
		"UPDATE " + tbl + " SET name = ssn",
		"COPY " + tbl + " TO STDOUT",
	} {
		_, err := c.Exec(context.Background(), sql, pgx.QueryExecModeSimpleProtocol)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != CodeInsufficientPrivilege {
			t.Errorf("%s: err = %v, want a denial", sql, err)
		}
	}
	if _, err := c.Exec(context.Background(), "INSERT INTO "+copyTo+" SELECT name FROM "+tbl); err != nil {
		t.Fatalf("copying an unmasked column: %v", err)
	}
}

// libpq's prepared flow (Parse; then Bind/Execute with no Describe) in
// binary format: masking uses the statement's columns with Bind's formats.
func TestMaskingPreparedWithoutDescribe(t *testing.T) {
	e, tbl := maskEnv(t)
	c, fe := e.startSession(t)
	send(t, c, &pgproto3.Parse{Name: "s", Query: "SELECT ssn, age, name FROM " + tbl}, &pgproto3.Sync{})
	until[*pgproto3.ReadyForQuery](t, fe)
	for _, formats := range [][]int16{{1}, {0}, nil, {1, 0, 1}} {
		send(t, c, &pgproto3.Bind{PreparedStatement: "s", ResultFormatCodes: formats}, &pgproto3.Execute{}, &pgproto3.Sync{})
		got := until[*pgproto3.ReadyForQuery](t, fe)
		want := []string{"BindComplete", "D [REDACTED],,Ann", "C SELECT 1", "Z I"}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("formats %v (-want +got):\n%s", formats, d)
		}
	}
}
