package pgsql

import (
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// literalTokens returns the literal tokens PostgreSQL's scanner finds in s.
func literalTokens(t *testing.T, s string) []string {
	t.Helper()
	res, err := pg_query.Scan(s)
	if err != nil {
		t.Fatalf("scanning %q: %v", s, err)
	}
	var lits []string
	for _, tok := range res.Tokens {
		switch tok.Token {
		case pg_query.Token_ICONST, pg_query.Token_FCONST, pg_query.Token_SCONST,
			pg_query.Token_BCONST, pg_query.Token_XCONST, pg_query.Token_USCONST:
			lits = append(lits, s[tok.Start:tok.End])
		}
	}
	return lits
}

// TestAdversarialRound11Normalize checks that the redacted text (the only
// statement text the gateway hands its recorder) holds no literal, for
// statements where pg_query's normalization replaces none or only some of
// them: utility statements keep their strings (a password in OPTIONS, a
// COMMENT, the parameters of EXECUTE, the query of PREPARE and CREATE
// VIEW), and Redacted used to carry them.
func TestAdversarialRound11Normalize(t *testing.T) {
	tests := []struct{ name, sql string }{
		// pg_query leaves these literals in place.
		{"comment on", "COMMENT ON TABLE t IS 'zz-secret-comment'"},
		{"comment escape string", "COMMENT ON COLUMN t.c IS E'zz-secret\\n'"},
		{"security label", "SECURITY LABEL ON TABLE t IS 'zz-secret-label'"},
		{"execute parameters", "EXECUTE p('zz-secret-param', 98765)"},
		{"prepare body", "PREPARE p(text) AS SELECT $1 || 'zz-secret-prep'"},
		{"server options password", "ALTER SERVER s OPTIONS (SET password 'zz-secret-pw')"},
		{"foreign table options", "ALTER FOREIGN TABLE ft OPTIONS (ADD password 'zz-secret-pw')"},
		{"create server", "CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'zz-secret-host')"},
		{"create view", "CREATE VIEW v AS SELECT 'zz-secret-view' AS x"},
		{"create table as", "CREATE TABLE t6 AS SELECT 'zz-secret-ctas' AS a"},
		{"materialized view", "CREATE MATERIALIZED VIEW mv AS SELECT 'zz-secret-mv'"},
		{"column default", "CREATE TABLE t (c text DEFAULT 'zz-secret-default' CHECK (c <> 'zz-secret-check'))"},
		{"set default", "ALTER TABLE t ALTER COLUMN c SET DEFAULT 'zz-secret-default'"},
		{"partial index", "CREATE INDEX i ON t (c) WHERE c = 'zz-secret-index'"},
		{"row policy", "CREATE POLICY p ON t USING (c = 'zz-secret-policy')"},
		{"begin atomic body", "CREATE FUNCTION f() RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT 'zz-secret-body'; END"},
		{"trigger when", "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW WHEN (NEW.c = 'zz-secret-when') EXECUTE FUNCTION f('zz-secret-arg')"},
		{"enum", "CREATE TYPE e AS ENUM ('zz-secret-enum')"},
		{"alter database set", "ALTER DATABASE d SET x = 'zz-secret-setting'"},
		{"copy options", "COPY t FROM STDIN WITH (FORMAT csv, NULL 'zz-secret-null')"},
		{"two phase", "PREPARE TRANSACTION 'zz-secret-gid'"},
		{"json_table path", "SELECT * FROM json_table('{}', '$.a' COLUMNS (a int PATH '$.zz-secret-path'))"},
		{"sequence numbers", "ALTER SEQUENCE s RESTART WITH 98765"},
		{"type modifier", "CREATE TABLE tt (a varchar(98765))"},
		{"unicode string", "COMMENT ON TABLE t IS U&'zz-secret-\\0041' UESCAPE '\\'"},
		{"bit and hex strings", "CREATE TABLE t (a bit(4) DEFAULT B'1011', b bytea DEFAULT X'98765a')"},
		{"dollar quoted in view", "CREATE VIEW v AS SELECT $q$zz-secret-dollar$q$"},
		// pg_query replaces these already: what already holds.
		{"select literals", "SELECT 'zz-secret-a', 98765, 3.98765, $$zz-secret-b$$, E'zz-secret-c', B'1011', X'98765a', date '2098-07-06'"},
		{"create role password", "CREATE ROLE r PASSWORD 'zz-secret-role'"},
		{"alter role password", "ALTER ROLE r PASSWORD 'zz-secret-role'"},
		{"user mapping password", "CREATE USER MAPPING FOR r SERVER s OPTIONS (user 'u', password 'zz-secret-map')"},
		{"function body", "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$ SELECT 'zz-secret-fn' $$"},
		{"do block", "DO $$BEGIN RAISE NOTICE 'zz-secret-do'; END$$"},
		{"set", "SET application_name = 'zz-secret-app'"},
		{"dblink", "SELECT dblink_connect('host=x password=zz-secret-dblink')"},
		{"json literal", `SELECT '{"k": "zz-secret-json"}'::jsonb`},
		{"array literal", "SELECT '{zz-secret-arr}'::text[]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Normalize(tc.sql)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			ans, err := Analyze(tc.sql, Options{})
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			if ans[0].Redacted != n {
				t.Errorf("Redacted = %q, Normalize = %q", ans[0].Redacted, n)
			}
			if strings.Contains(n, "zz-secret") || strings.Contains(n, "98765") || strings.Contains(n, "1011") {
				t.Errorf("Normalize(%q) = %q keeps a literal", tc.sql, n)
			}
			if lits := literalTokens(t, n); len(lits) > 0 {
				t.Errorf("Normalize(%q) = %q keeps literal tokens %q", tc.sql, n, lits)
			}
		})
	}
}

// Statements of one shape whose literals pg_query leaves in place share
// the shape cache's entry only because their redacted texts are the same
// literal-free text: neither carries the other's literal.
func TestAdversarialRound11NormalizeShape(t *testing.T) {
	z := NewAnalyzer(Options{}, 0)
	const q = `SELECT * FROM json_table('{}', '$.a' COLUMNS (a int PATH '$.%s'))`
	for _, v := range []string{"zz-first", "zz-second"} {
		res, err := z.Analyze(strings.Replace(q, "%s", v, 1))
		if err != nil {
			t.Fatal(err)
		}
		if r := res[0].Redacted; strings.Contains(r, "zz-") {
			t.Errorf("Redacted = %q keeps a literal", r)
		}
	}
}
