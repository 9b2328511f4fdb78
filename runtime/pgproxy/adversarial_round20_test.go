package pgproxy

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// Round 20 of the red team: error oracles on masked columns. Whether a
// statement fails is one bit it returns even when every value it returns
// is masked, and the SQLSTATE (kept under masking, only the message is
// hidden) a few more. An agent whose rules do not allow filtering chooses
// the row (WHERE id = 1, unmasked) and asks a question the error answers:
// SELECT 1 / (ascii(ssn) - 57) FROM t WHERE id = 1 fails with 22012
// exactly when the first digit is 9, SELECT 1 / (ssn <> '918-27-3645')::int
// tests a guessed value, (salary - 7000000)::int2 and salary * 300 overflow
// past a bound (22003), ssn LIKE '9\' fails only when the text matches up
// to the trailing escape (22025), substr with a length computed from the
// value fails when it is negative (22011). A binary search reads a value
// in 30 to 40 statements. Documented until now as a known limit (the case
// "error oracle" of adversarial_mask_test.go).
//
// Holes found and closed, all in runtime/pgsql (fallible.go, and the
// callers in expr.go and conditional.go): under column masking a masked
// value may reach the output only through expressions that cannot fail or
// decide whether something that can fail runs. A column read under any
// other expression (operators, casts other than to text, varchar(n),
// char(n) and name, subscripts, every function but a short allow-list) is
// read in a filter position, and so is what decides whether an
// expression that may fail runs (CASE conditions and operand, COALESCE
// arguments before it, AND/OR beside it): denied unless the rule sets
// allow_filter. It reaches every place an expression is evaluated:
//   - the select list, directly or through a scalar subquery, a derived
//     table, a view, a materialized CTE whose column is never returned, a
//     LATERAL subquery (TestAdversarialRound20ErrorOracle);
//   - aggregates and window functions over a failing expression, COPY
//     (query) TO, PREPARE/EXECUTE, cursors;
//   - RETURNING of a write whose stored values carry nothing masked
//     (TestAdversarialRound20Writes);
//   - a function of the whole row in field notation (c.to_json is
//     to_json(c)), like the call itself.
// Already denied before this round, kept as guards: COPY (query) TO of a
// computed masked value, and writes storing one (a copy of the column).
// What stays allowed: plain masked columns and whole rows, casts to text
// types, upper/lower/length/md5/concat/concat_ws, count/min/max, IS
// [NOT] NULL, x || 'literal', CASE/COALESCE of such parts, anything over
// unmasked columns, and any computation over a column whose rule sets
// allow_filter.
//
// Not closed (docs/sql.md, known limits): errors the server raises
// converting a value to a common type across the rows of VALUES or the
// branches of a UNION (a numeric beyond the float8 range, a date past the
// timestamp range: one fixed bound per pair of types, not a search); the
// size limits near 1 GB (a concatenation or upper() of values that large);
// the time an expression takes; and expressions inside a view's own
// definition, which an administrator wrote.

const round20Policy = `
masking "r20" {
  column "public.PREFIX_r20f.ssn" {
    method       = "redact"
    allow_filter = true
  }
}

role "reader20" {
  postgres "adv" {
    statements = ["select", "copy_out"]
    tables     = ["public.PREFIX_*", "pg_catalog.*"]
    masking    = [masking.pii, masking.r20]
  }
}

agent "reader20" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "reader20"
  }
  roles = [role.reader20]
}
`

// round20Fixture: a masked column whose rule allows filtering, so every
// computation over it is allowed.
const round20Fixture = `
CREATE TABLE P_r20f (id int, ssn text);
INSERT INTO P_r20f VALUES (1, '555-01-0001');
`

const round20Drop = `DROP TABLE IF EXISTS P_r20f`

func newAdvEnv20(t *testing.T) *advEnv {
	t.Helper()
	a := newAdvEnv(t)
	a.srv.cfg.Policy.(*enginePolicy).cur.Store(realPolicyWith(t, "testdata/adversarial", a.p, map[string]string{"round20.hcl": round20Policy}))
	t.Cleanup(func() { admin(t, a.sql(round20Drop)) })
	admin(t, a.sql(round20Fixture))
	return a
}

var advRound20OracleCases = []advCase{
	// Whether the statement fails depends on the masked value.
	{name: "case chooses a failure", sql: "SELECT CASE WHEN ssn LIKE '9%' THEN 1 / (id - id) END FROM P_cust", deny: true},
	{name: "case on a null test chooses a failure", sql: "SELECT CASE WHEN ssn IS NULL THEN 1 ELSE 1 / (id - id) END FROM P_cust", deny: true},
	{name: "case operand", sql: "SELECT CASE ssn WHEN '918-27-3645' THEN 1 / (id - id) END FROM P_cust", deny: true},
	{name: "case later condition", sql: "SELECT CASE WHEN ssn IS NOT NULL THEN 0 WHEN 1 / (id - id) = 1 THEN 1 END FROM P_cust", deny: true},
	{name: "division by a difference", sql: "SELECT 1 / (ascii(ssn) - 57) FROM P_cust WHERE id = 1", deny: true},
	{name: "division by a guess", sql: "SELECT 1 / (ssn <> '918-27-3645')::int FROM P_cust WHERE id = 1", deny: true},
	{name: "division by a digit", sql: "SELECT 1 / (substr(ssn, 1, 1)::int - 9) FROM P_cust WHERE id = 1", deny: true},
	{name: "cast to int", sql: "SELECT ssn::int FROM P_cust", deny: true},
	{name: "cast to int of a prefix", sql: "SELECT substr(ssn, 1, 3)::int FROM P_cust WHERE id = 1", deny: true},
	{name: "overflow on a cast", sql: "SELECT (salary - 7000000)::int2 FROM P_cust WHERE id = 1", deny: true},
	{name: "overflow on arithmetic", sql: "SELECT salary * 300 FROM P_cust WHERE id = 1", deny: true},
	{name: "to_date", sql: "SELECT to_date(substr(ssn, 1, 2), 'MM') FROM P_cust WHERE id = 1", deny: true},
	{name: "to_timestamp", sql: "SELECT to_timestamp(ssn, 'YYYY-MM-DD') FROM P_cust", deny: true},
	{name: "make_date", sql: "SELECT make_date(2001, 2, ascii(ssn) - 28) FROM P_cust WHERE id = 1", deny: true},
	{name: "substr negative length", sql: "SELECT substr('abc', 1, ascii(ssn) - 57) FROM P_cust WHERE id = 1", deny: true},
	{name: "repeat size", sql: "SELECT repeat('x', ascii(ssn) * 100000000) FROM P_cust WHERE id = 1", deny: true},
	{name: "format argument number", sql: "SELECT format('%' || substr(ssn, 1, 1) || '$s', 'x') FROM P_cust WHERE id = 1", deny: true},
	{name: "like ending in its escape", sql: `SELECT ssn LIKE '9\' FROM P_cust WHERE id = 1`, deny: true},
	{name: "regular expression", sql: "SELECT ssn ~ '^9' FROM P_cust", deny: true},
	{name: "regular expression from the value", sql: "SELECT 'x' ~ ssn FROM P_cust", deny: true},
	{name: "array subscript", sql: "SELECT (ARRAY['a', 'b'])[ascii(ssn)::bigint * 38000000] FROM P_cust WHERE id = 1", deny: true},
	{name: "array concatenation", sql: "SELECT string_to_array(ssn, '-') || ARRAY[['a', 'b', 'c']] FROM P_cust", deny: true},
	{name: "jsonb parsing", sql: "SELECT substr(ssn, 1, 3)::jsonb FROM P_cust", deny: true},
	{name: "json builder null key", sql: "SELECT json_build_object(nullif(ssn, '918-27-3645'), 1) FROM P_cust WHERE id = 1", deny: true},
	{name: "coalesce fallback", sql: "SELECT coalesce(nullif(ssn, '918-27-3645'), (1 / (id - id))::text) FROM P_cust WHERE id = 1", deny: true},
	{name: "or beside a failure", sql: "SELECT ssn IS NULL OR 1 / (id - id) = 1 FROM P_cust", deny: true},
	{name: "and beside a failure", sql: "SELECT ssn IS NOT NULL AND 1 / (id - id) = 1 FROM P_cust", deny: true},
	{name: "greatest", sql: "SELECT greatest(ssn, '5') FROM P_cust", deny: true},
	// Two text columns: the catalog says neither is an array, and text ||
	// text cannot fail (typed reads, adversarial_typed_test.go).
	{name: "concatenation of two columns", sql: "SELECT ssn || name FROM P_cust", masked: true, allow: true},

	// Wherever the expression is evaluated.
	{name: "scalar subquery", sql: "SELECT (SELECT 1 / (ascii(ssn) - 57) FROM P_cust WHERE id = 1)", deny: true},
	{name: "cast of a scalar subquery", sql: "SELECT (SELECT ssn FROM P_cust WHERE id = 1)::int", deny: true},
	{name: "derived table", sql: "SELECT 1 / (ascii(d.s) - 57) FROM (SELECT id, ssn AS s FROM P_cust) d WHERE d.id = 1", deny: true},
	{name: "lateral", sql: "SELECT l.v FROM P_cust c, LATERAL (SELECT 1 / (ascii(c.ssn) - 57) AS v) l WHERE c.id = 1", deny: true},
	{name: "view", sql: "SELECT 1 / (ascii(ssn) - 57) FROM P_cust_v WHERE id = 1", deny: true},
	{name: "materialized cte never returned", sql: "WITH w AS MATERIALIZED (SELECT id, 1 / (ascii(ssn) - 57) AS y FROM P_cust) SELECT count(*) FROM w", deny: true},
	{name: "count of a failure", sql: "SELECT count(1 / (ascii(ssn) - 57)) FROM P_cust", deny: true},
	{name: "max of a failure", sql: "SELECT max(1 / (ascii(ssn) - 57)) FROM P_cust", deny: true},
	{name: "sum", sql: "SELECT sum(salary * 200) FROM P_cust", deny: true},
	{name: "window function", sql: "SELECT first_value(ssn::int) OVER () FROM P_cust", deny: true},
	{name: "copy", sql: "COPY (SELECT 1 / (ascii(ssn) - 57) FROM P_cust WHERE id = 1) TO STDOUT", deny: true},
	{name: "prepare execute", sql: "PREPARE r20p AS SELECT 1 / (ascii(ssn) - 57) FROM P_cust WHERE id = $1; EXECUTE r20p(1)", simple: true, deny: true},
	{name: "cursor", sql: "BEGIN; DECLARE r20c CURSOR FOR SELECT 1 / (ascii(ssn) - 57) FROM P_cust WHERE id = 1; FETCH ALL r20c; COMMIT", simple: true, deny: true},

	// What cannot fail keeps working, masked.
	{name: "allowed plain masked columns", sql: "SELECT id, name, ssn, email, card, salary FROM P_cust ORDER BY id", allow: true},
	{name: "allowed total functions", sql: "SELECT upper(ssn), lower(email), length(card), octet_length(ssn), md5(ssn), concat(ssn, salary), concat_ws('-', ssn, card) FROM P_cust", allow: true, masked: true},
	{name: "allowed concatenation with a literal", sql: "SELECT ssn || 'x', 'x' || card || 'y', ssn::text || email::text, ssn OPERATOR(pg_catalog.||) '' FROM P_cust", allow: true, masked: true},
	{name: "allowed counts and extremes", sql: "SELECT count(ssn), count(DISTINCT card), min(ssn), max(salary) FROM P_cust", allow: true, masked: true},
	{name: "allowed casts to text types", sql: "SELECT ssn::varchar(3), salary::text, card::name, ssn::char(2), (c).ssn, c::text FROM P_cust c", allow: true},
	{name: "allowed null tests and total conditionals", sql: "SELECT ssn IS NULL, CASE WHEN ssn IS NULL THEN 'none' ELSE ssn END, coalesce(card, 'none'), coalesce(ssn::text, card::text) FROM P_cust", allow: true, masked: true},
	{name: "allowed rows and arrays", sql: "SELECT ROW(ssn, card), ARRAY[ssn::text], ARRAY[ssn::text, email::text] FROM P_cust", allow: true},
	{name: "allowed unmasked computed", sql: "SELECT id * 2, 100 / id, upper(name) || repeat('-', id), substr(name, 1, 1)::text, upper(ssn) FROM P_cust WHERE id > 0 ORDER BY id", allow: true},
	// Under allow_filter the computations run, and their errors keep the
	// value out of the message.
	{name: "error message under allow_filter", sql: "SELECT ssn::int FROM P_r20f"},
	{name: "to_date message under allow_filter", sql: "SELECT to_date(ssn, 'YYYY-MM-DD') FROM P_r20f"},
	{name: "allowed under allow_filter", sql: "SELECT 1 / (ascii(ssn) - 40), substr(ssn, 1, 3)::int, ssn ~ '^5' FROM P_r20f WHERE ssn LIKE '5%'", allow: true, masked: true},
}

// TestAdversarialRound20ErrorOracle: a masked value may reach the output
// only through expressions that cannot fail. The leak is shown first, on
// the server itself: the same statement fails for one row and not for the
// other, as the masked value decides.
func TestAdversarialRound20ErrorOracle(t *testing.T) {
	a := newAdvEnv20(t)
	advSecretsExtra(t, []string{"555-01-0001"})
	ctx := context.Background()
	adm := pgconnTo(t, adminDSN)
	code := func(q string) string {
		_, err := adm.Exec(ctx, a.sql(q)).ReadAll()
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			return pe.Code
		}
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return ""
	}
	for _, q := range []string{
		"SELECT 1 / (ascii(ssn) - 57) FROM P_cust WHERE id = %s",
		`SELECT ssn LIKE '9\' FROM P_cust WHERE id = %s`,
		"SELECT substr('abc', 1, ascii(ssn) - 57) FROM P_cust WHERE id = %s",
	} {
		if c1, c2 := code(strings.Replace(q, "%s", "1", 1)), code(strings.Replace(q, "%s", "2", 1)); c1 == c2 {
			t.Fatalf("%s: the outcome does not depend on the masked value (%q for both rows): the fixture no longer shows the leak", q, c1)
		}
	}
	runAdvCases(t, a, "reader20", advRound20OracleCases)
}

// Writes: what a write stores is checked as before (a copy of a masked
// column is denied); RETURNING is an output like a select list.
var advRound20WriteCases = []advCase{
	{name: "update returning a failure", sql: "UPDATE P_other SET note = note WHERE id = 1 RETURNING (SELECT 1 / (ascii(ssn) - 57) FROM P_cust WHERE id = 1)", deny: true},
	{name: "delete returning a failure", sql: "DELETE FROM P_other WHERE id = 99 RETURNING (SELECT ssn::int FROM P_cust WHERE id = 1)", deny: true},
	{name: "insert returning a failure", sql: "INSERT INTO P_other (id, note) VALUES (5, 'x') RETURNING (SELECT 1 / (ascii(ssn) - 57) FROM P_cust WHERE id = 1)", deny: true},
	{name: "insert from a materialized cte", sql: "WITH w AS MATERIALIZED (SELECT id, 1 / (ascii(ssn) - 57) AS y FROM P_cust WHERE id = 1) INSERT INTO P_other (id) SELECT id + 100 FROM w", deny: true},
	// Already denied as copies of a masked column.
	{name: "insert select", sql: "INSERT INTO P_other (id) SELECT 1 / (ascii(ssn) - 57) FROM P_cust WHERE id = 1", deny: true},
	{name: "update set", sql: "UPDATE P_other SET note = (SELECT (ssn::int)::text FROM P_cust WHERE id = 1) WHERE id = 1", deny: true},
	{name: "allowed returning masked", sql: "UPDATE P_other SET note = note WHERE id = 1 RETURNING id, (SELECT upper(ssn) FROM P_cust WHERE id = 1)", allow: true},
}

func TestAdversarialRound20Writes(t *testing.T) {
	a := newAdvEnv20(t)
	runAdvCases(t, a, "ddler", advRound20WriteCases)
}
