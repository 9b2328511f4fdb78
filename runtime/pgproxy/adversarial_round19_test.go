package pgproxy

import (
	"context"
	"strings"
	"testing"
)

// Round 19 of the red team: inference on masked columns through row
// counts and errors, for an agent reading a table with masked columns
// whose rules do not allow filtering.
//
// Already closed, checked and not repeated here: arguments of functions in
// FROM and of set-returning functions anywhere (generate_series(1,
// c.salary), unnest(array_fill(1, ARRAY[c.salary])), regexp_matches and
// string_to_table in the select list, jsonb_array_elements, ROWS FROM),
// LIMIT, OFFSET and FETCH FIRST ... ROWS [WITH TIES] computed by a
// subquery, a window frame offset, TABLESAMPLE, recursive CTEs ended by a
// WHERE or by UNION's duplicate removal, and a count(*) subquery in the
// select list (its WHERE is a filter).
//
// Holes found and closed:
//   - EXPLAIN ANALYZE runs its statement and reports, node by node, what
//     depends on the values it reads: EXPLAIN ANALYZE SELECT repeat('x',
//     ascii(ssn) * 1024) FROM t ORDER BY id shows the sort's memory, one
//     kB per unit of the first character's code; a CASE over a masked
//     column choosing a correlated subquery shows its loops or "never
//     executed". Only the reads in filters were filters
//     (TestAdversarialRound19ExplainAnalyze). Fixed in classify
//     (runtime/pgsql/classify.go): under ANALYZE, every column the
//     statement reads is a filter column.
//   - Whether a subquery runs is observable without its value: the
//     statistics of the current transaction count its scans
//     (pg_stat_xact_user_tables), so SELECT CASE WHEN ssn LIKE
//     '9%' THEN (SELECT note FROM other o WHERE o.id = c.id) END FROM t c
//     followed by a read of the counter is SELECT count(*) ... WHERE ssn
//     LIKE '9%'. COALESCE, AND/OR, BETWEEN, IN lists and row comparisons
//     evaluate lazily the same way, and an ANY/ALL subquery compared row by
//     row stops at the first deciding row (TestAdversarialRound19Lazy).
//     Fixed in runtime/pgsql/conditional.go (caseExpr, coalesceExpr,
//     lazyAExpr) and expr: what decides whether (or how far) a subquery
//     runs is a filter.
//
// Not closed, by design: whether a statement fails is one bit
// (1/(ascii(ssn) - 57) fails with 22012 iff the first digit is 9), and
// the SQLSTATE (kept under masking) tells which of several failures
// happened; see docs/sql.md, known limits.

var advRound19ExplainCases = []advCase{
	{name: "sort memory", sql: "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT repeat('x', ascii(ssn) * 1024) FROM P_cust ORDER BY id", deny: true},
	{name: "legacy syntax", sql: "EXPLAIN ANALYZE SELECT ssn FROM P_cust ORDER BY id", deny: true},
	{name: "analyze on", sql: "EXPLAIN (ANALYZE on, COSTS OFF) SELECT upper(card) FROM P_cust ORDER BY id", deny: true},
	{name: "subplan never executed", sql: "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT CASE WHEN c.id > 0 THEN c.salary END FROM P_cust c ORDER BY id", deny: true},
	{name: "whole row", sql: "EXPLAIN ANALYZE SELECT c::text FROM P_cust c", deny: true},
	// Round 27: any plan of a relation with masked columns shows the
	// planner's estimates, from the relation's size and its columns'
	// statistics (a masked column's average width): denied too.
	{name: "unmasked columns", sql: "EXPLAIN ANALYZE SELECT id, name FROM P_cust ORDER BY name", deny: true},
	{name: "count", sql: "EXPLAIN (ANALYZE, COSTS OFF) SELECT count(*) FROM P_cust", deny: true},
	{name: "plan only", sql: "EXPLAIN (ANALYZE off, COSTS OFF) SELECT ssn FROM P_cust ORDER BY id", deny: true},
	{name: "plain explain", sql: "EXPLAIN SELECT ssn, salary FROM P_cust", deny: true},
	{name: "allowed without masked columns", sql: "EXPLAIN ANALYZE SELECT * FROM P_other ORDER BY 1", allow: true},
}

// TestAdversarialRound19ExplainAnalyze: EXPLAIN ANALYZE of a statement
// that reads a masked column is a filter on it. The sort's memory (the
// leak) is shown first, on the server itself.
func TestAdversarialRound19ExplainAnalyze(t *testing.T) {
	a := newAdvEnv(t)
	ctx := context.Background()
	adm := pgconnTo(t, adminDSN)
	memory := func(q string) string {
		res, err := adm.Exec(ctx, a.sql(q)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range res[0].Rows {
			if s := string(row[0]); strings.Contains(s, "Memory:") {
				return s
			}
		}
		t.Fatalf("no sort memory in the plan of %s", q)
		return ""
	}
	const plan = "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT repeat('x', ascii(ssn) * 1024) FROM P_cust WHERE id = %s ORDER BY name"
	if m1, m2 := memory(strings.Replace(plan, "%s", "1", 1)), memory(strings.Replace(plan, "%s", "2", 1)); m1 == m2 {
		t.Fatalf("the sort memory does not depend on the masked value (%q): the fixture no longer shows the leak", m1)
	}
	runAdvCases(t, a, "reader", advRound19ExplainCases)
}

var advRound19LazyCases = []advCase{
	{name: "case chooses a subquery", sql: "SELECT CASE WHEN c.ssn LIKE '9%' THEN (SELECT o.note FROM P_other o WHERE o.id = c.id) END FROM P_cust c", deny: true},
	{name: "case operand", sql: "SELECT CASE substr(c.ssn, 1, 1) WHEN '9' THEN (SELECT o.note FROM P_other o WHERE o.id = c.id) END FROM P_cust c", deny: true},
	{name: "case else", sql: "SELECT CASE WHEN c.salary > 8000000 THEN 0 ELSE (SELECT count(*) FROM P_other o WHERE o.id = c.id) END FROM P_cust c", deny: true},
	{name: "coalesce", sql: "SELECT coalesce(nullif(c.ssn, '918-27-3645'), (SELECT o.note FROM P_other o WHERE o.id = c.id)) FROM P_cust c", deny: true},
	{name: "and", sql: "SELECT c.ssn LIKE '9%' AND EXISTS (SELECT 1 FROM P_other o WHERE o.id = c.id) FROM P_cust c", deny: true},
	{name: "or", sql: "SELECT c.card < '5' OR EXISTS (SELECT 1 FROM P_other o WHERE o.id = c.id) FROM P_cust c", deny: true},
	{name: "between", sql: "SELECT c.ssn BETWEEN '9' AND (SELECT o.note FROM P_other o WHERE o.id = c.id) FROM P_cust c", deny: true},
	{name: "in list", sql: "SELECT c.ssn IN (g.v, (SELECT o.note FROM P_other o WHERE o.id = c.id)) FROM P_cust c, (VALUES ('918-27-3645')) g(v)", deny: true},
	{name: "row comparison", sql: "SELECT (c.ssn, 1) = ('918-27-3645', (SELECT count(*) FROM P_other o WHERE o.id = c.id)) FROM P_cust c", deny: true},
	{name: "any subquery row by row", sql: "SELECT c.ssn > ANY (SELECT o.note FROM P_other o) FROM P_cust c", deny: true},
	{name: "in subquery", sql: "SELECT c.email IN (SELECT o.note FROM P_other o) FROM P_cust c", deny: true},
	{name: "allowed case on unmasked", sql: "SELECT CASE WHEN c.id > 1 THEN (SELECT o.note FROM P_other o WHERE o.id = c.id) END, c.ssn FROM P_cust c", allow: true},
	{name: "allowed case without subquery", sql: "SELECT CASE WHEN ssn IS NULL THEN ssn ELSE 'x' END, coalesce(card, 'y') FROM P_cust", allow: true},
	{name: "allowed subquery value in a branch", sql: "SELECT CASE WHEN c.id > 1 THEN (SELECT o.ssn FROM P_cust o WHERE o.id = c.id) END FROM P_cust c", allow: true},
}

// TestAdversarialRound19Lazy: what decides whether a subquery runs is a
// filter. The leak is shown first: the transaction's statistics count the
// subquery's scans, one per row whose masked value matches.
func TestAdversarialRound19Lazy(t *testing.T) {
	a := newAdvEnv(t)
	ctx := context.Background()
	scans := func(prefix string) string {
		// A new session: counts not yet flushed stay with the session.
		adm := pgconnTo(t, adminDSN)
		defer adm.Close(ctx)
		q := a.sql("BEGIN; SELECT CASE WHEN c.ssn LIKE '" + prefix + "%' THEN (SELECT o.note FROM P_other o WHERE o.id = c.id) END FROM P_cust c; " +
			"SELECT concat_ws(',', idx_scan, seq_scan, seq_tup_read) FROM pg_stat_xact_user_tables WHERE relname = '" + strings.ToLower(a.p) + "_other'; COMMIT")
		res, err := adm.Exec(ctx, q).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return string(res[2].Rows[0][0])
	}
	if n9, n1 := scans("9"), scans("1"); n9 == n1 {
		t.Fatalf("the scan count does not depend on the masked value (%s): the fixture no longer shows the leak", n9)
	}
	runAdvCases(t, a, "reader", advRound19LazyCases)
}
