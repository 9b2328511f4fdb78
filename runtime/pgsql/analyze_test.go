package pgsql

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mandatehq/mandate/model"
)

// acc builds accesses from "class:table" strings.
func acc(specs ...string) []model.Access {
	out := []model.Access{}
	for _, s := range specs {
		class, table, _ := strings.Cut(s, ":")
		out = append(out, model.Access{Class: class, Table: table})
	}
	sortAccesses(out)
	return out
}

func src(s ...string) Lineage     { return Lineage{Sources: s} }
func dir(s string) Lineage        { return Lineage{Sources: []string{s}, Direct: true} }
func star(s ...string) Lineage    { return Lineage{Sources: s, Star: true} }
func unknown(s ...string) Lineage { return Lineage{Sources: s, Unknown: true} }

type analyzeCase struct {
	name string
	sql  string
	want model.Statement
	outs []Lineage
	// checkOuts compares outs even when it is nil.
	checkOuts bool
	rw        bool
}

var analyzeCases = []analyzeCase{
	{name: "pgbench select", sql: "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.pgbench_accounts"),
			FilterColumns: []string{"app.pgbench_accounts.aid"}},
		outs: []Lineage{dir("app.pgbench_accounts.abalance")}},
	{name: "no table", sql: "SELECT 1, now()", want: model.Statement{Tag: "SELECT", Accesses: acc()},
		outs: []Lineage{{}, {}}},
	{name: "sql syntax functions are safe", sql: `SELECT extract(year FROM now()), substring('abc' FROM 2), position('b' IN 'abc'),
		trim(BOTH FROM ' x '), overlay('abc' PLACING 'x' FROM 2), now() AT TIME ZONE 'UTC', 'a' SIMILAR TO 'b',
		current_date, current_user, coalesce(NULL, 1), nullif(1, 2), greatest(1, 2), 'x' IS NORMALIZED,
		pg_catalog.lower('A'), CAST('1' AS int), xmlserialize(CONTENT '<a/>' AS text), collation for ('a')`,
		want: model.Statement{Tag: "SELECT", Accesses: acc()}},
	{name: "qualified and aliased join", sql: `SELECT u.email, o.total, lower(u.name) || 'x', count(*)
		FROM sales.users u JOIN orders AS o ON o.uid = u.id WHERE o.x > 1 GROUP BY 1, 2, 3 ORDER BY o.created`,
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:sales.users", "select:app.orders"),
			FilterColumns: []string{"app.orders.created", "app.orders.total", "app.orders.uid",
				"app.orders.x", "sales.users.email", "sales.users.id", "sales.users.name"}},
		outs: []Lineage{dir("sales.users.email"), dir("app.orders.total"), src("sales.users.name"), {}}},
	{name: "search path", sql: "SELECT a FROM t, pg_class, information_schema.tables",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.t", "select:pg_catalog.pg_class",
			"select:information_schema.tables")},
		outs: []Lineage{src("app.t.a", "information_schema.tables.a", "pg_catalog.pg_class.a")}},
	{name: "ambiguous unqualified column", sql: "SELECT id FROM a, b WHERE name = 'x'",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.a", "select:app.b"),
			FilterColumns: []string{"app.a.name", "app.b.name"}},
		outs: []Lineage{src("app.a.id", "app.b.id")}},
	{name: "star", sql: "SELECT * FROM a JOIN b USING (id)",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.a", "select:app.b"),
			FilterColumns: []string{"app.a.id", "app.b.id"}},
		outs: []Lineage{star("app.a.*", "app.b.*")}},
	{name: "table syntax and only", sql: "TABLE a; SELECT x FROM ONLY b",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.a")},
		outs: []Lineage{star("app.a.*")}},
	// row_to_json and a cast to int may fail on some values: what they
	// read is a filter (fallible.go); a cast to text cannot.
	{name: "whole row and casts", sql: "SELECT row_to_json(u), u.id::text, CAST(u.n AS int) FROM users u",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.users"),
			FilterColumns: []string{"app.users.n"}},
		outs: []Lineage{src("app.users.*", "app.users.u"), src("app.users.id"), src("app.users.n")}},
	{name: "subquery in from with aliases", sql: "SELECT s.e, s.k FROM (SELECT email AS e, id AS k FROM users) s(e) WHERE s.k > 3",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.users"), FilterColumns: []string{"app.users.id"}},
		outs: []Lineage{dir("app.users.email"), dir("app.users.id")}},
	{name: "cte lineage", sql: "WITH x AS (SELECT email || '!' AS m FROM users) SELECT upper(m) FROM x ORDER BY m",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.users"), FilterColumns: []string{"app.users.email"}},
		outs: []Lineage{src("app.users.email")}},
	{name: "cte star expands", sql: "WITH x AS (SELECT id, email FROM users) SELECT * FROM x",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.users")},
		outs: []Lineage{dir("app.users.id"), dir("app.users.email")}},
	{name: "cte over star", sql: "WITH x AS (SELECT * FROM users) SELECT email FROM x",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.users")},
		outs: []Lineage{src("app.users.email")}},
	// UNION without ALL compares rows to drop duplicates: a filter.
	{name: "union", sql: "SELECT email FROM users UNION SELECT name FROM staff",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.users", "select:app.staff"),
			FilterColumns: []string{"app.staff.name", "app.users.email"}},
		outs: []Lineage{{Sources: []string{"app.staff.name", "app.users.email"}, Direct: true}}},
	{name: "union all", sql: "SELECT email FROM users UNION ALL SELECT name FROM staff",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.users", "select:app.staff")},
		outs: []Lineage{{Sources: []string{"app.staff.name", "app.users.email"}, Direct: true}}},
	{name: "scalar subquery", sql: "SELECT (SELECT max(salary) FROM pay p WHERE p.uid = u.id) FROM users u",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.pay", "select:app.users"),
			FilterColumns: []string{"app.pay.uid", "app.users.id"}},
		// Unqualified names in a subquery may be correlated: outer tables
		// are candidates too.
		outs: []Lineage{src("app.pay.salary", "app.users.salary")}},
	{name: "exists subquery filter", sql: "SELECT id FROM users u WHERE EXISTS (SELECT 1 FROM pay WHERE pay.uid = u.id AND salary > 10)",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.pay", "select:app.users"),
			FilterColumns: []string{"app.pay.salary", "app.pay.uid", "app.users.id", "app.users.salary"}},
		outs: []Lineage{dir("app.users.id")}},
	{name: "in subquery output is a filter", sql: "SELECT id FROM users WHERE email IN (SELECT mail FROM blocked)",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.blocked", "select:app.users"),
			FilterColumns: []string{"app.blocked.mail", "app.users.email", "app.users.mail"}},
		outs: []Lineage{dir("app.users.id")}},
	{name: "window and distinct on", sql: "SELECT DISTINCT ON (dept) rank() OVER (PARTITION BY dept ORDER BY salary) FROM emp HAVING count(*) > 1",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.emp"),
			FilterColumns: []string{"app.emp.dept", "app.emp.salary"}},
		outs: []Lineage{src("app.emp.dept", "app.emp.salary")}},
	{name: "aggregate order and filter", sql: "SELECT string_agg(name, ',' ORDER BY ssn) FILTER (WHERE age > 3) FROM emp",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.emp"),
			FilterColumns: []string{"app.emp.age", "app.emp.ssn"}},
		outs: []Lineage{src("app.emp.age", "app.emp.name", "app.emp.ssn")}},
	{name: "order by output alias", sql: "SELECT email AS e FROM users ORDER BY e",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.users"),
			FilterColumns: []string{"app.users.e", "app.users.email"}},
		outs: []Lineage{dir("app.users.email")}},
	{name: "values", sql: "VALUES (1, 'a'), (2, 'b')", want: model.Statement{Tag: "SELECT", Accesses: acc()},
		outs: []Lineage{{}, {}}},
	{name: "safe table function", sql: "SELECT g FROM generate_series(1, 3) g",
		want: model.Statement{Tag: "SELECT", Accesses: acc()}, outs: []Lineage{{}}},
	{name: "information_schema helper", sql: "SELECT (information_schema._pg_expandarray(ARRAY[4, 5])).n",
		want: model.Statement{Tag: "SELECT", Accesses: acc()}, outs: []Lineage{{}}},
	{name: "information_schema helper in FROM", sql: "SELECT x.n FROM information_schema._pg_expandarray(ARRAY[1, 2]) x",
		want: model.Statement{Tag: "SELECT", Accesses: acc()}, outs: []Lineage{{}}},
	{name: "other information_schema function", sql: "SELECT information_schema.my_func(1)",
		want: model.Statement{Tag: "SELECT", Accesses: acc(), Functions: []string{"information_schema.my_func"}},
		outs: []Lineage{{Unknown: true}}},
	{name: "unsafe table function", sql: "SELECT * FROM my_srf(1) f",
		want: model.Statement{Tag: "SELECT", Accesses: acc(), Functions: []string{"my_srf"}},
		outs: []Lineage{{Star: true, Unknown: true}}},
	{name: "lateral", sql: "SELECT x.v FROM users u, LATERAL (SELECT u.email AS v) x",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.users")},
		outs: []Lineage{dir("app.users.email")}},
	{name: "quoted identifiers", sql: `SELECT "Email" FROM "Public"."Orders"`,
		want: model.Statement{Tag: "SELECT", Accesses: acc(`select:Public.Orders`)},
		outs: []Lineage{dir("Public.Orders.Email")}},
	{name: "dotted identifier is quoted", sql: `SELECT 1 FROM "a.b".c`,
		want: model.Statement{Tag: "SELECT", Accesses: acc(`select:"a.b".c`)}, outs: []Lineage{{}}},
	{name: "three part column", sql: "SELECT app.t.a FROM app.t",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.t")}, outs: []Lineage{dir("app.t.a")}},
	{name: "recursive cte", sql: `WITH RECURSIVE r(a, b) AS (SELECT secret, 1 FROM s UNION ALL SELECT b, a FROM r) SELECT b FROM r`,
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.s")},
		outs: []Lineage{src("app.s.secret")}},

	// Writes.
	{name: "insert select", sql: "INSERT INTO a SELECT * FROM b",
		want: model.Statement{Tag: "INSERT", Accesses: acc("insert:app.a", "select:app.b")}, checkOuts: true},
	{name: "insert returning", sql: "INSERT INTO a (x) VALUES (1) RETURNING id",
		want: model.Statement{Tag: "INSERT", Accesses: acc("insert:app.a", "select:app.a")},
		outs: []Lineage{dir("app.a.id")}},
	{name: "upsert", sql: "INSERT INTO a (id, n) VALUES (1, 2) ON CONFLICT (id) DO UPDATE SET n = excluded.n",
		want: model.Statement{Tag: "INSERT", Accesses: acc("insert:app.a", "update:app.a"),
			FilterColumns: []string{"app.a.id"}}, checkOuts: true},
	{name: "upsert reading target", sql: "INSERT INTO a AS t (id, n) VALUES (1, 2) ON CONFLICT (id) DO UPDATE SET n = t.n + 1",
		want: model.Statement{Tag: "INSERT", Accesses: acc("insert:app.a", "update:app.a", "select:app.a"),
			FilterColumns: []string{"app.a.id", "app.a.n"}}, checkOuts: true},
	{name: "plain update", sql: "UPDATE a SET x = 1",
		want: model.Statement{Tag: "UPDATE", Accesses: acc("update:app.a")}, checkOuts: true},
	{name: "update from", sql: "UPDATE a SET x = b.y FROM b WHERE b.id = 3",
		want: model.Statement{Tag: "UPDATE", Accesses: acc("update:app.a", "select:app.b"),
			FilterColumns: []string{"app.b.id"}}, checkOuts: true},
	{name: "update where", sql: "UPDATE a SET x = 1 WHERE id = 2 RETURNING *",
		want: model.Statement{Tag: "UPDATE", Accesses: acc("update:app.a", "select:app.a"),
			FilterColumns: []string{"app.a.id"}}, outs: []Lineage{star("app.a.*")}},
	{name: "delete using", sql: "DELETE FROM a USING b WHERE a.id = b.id",
		want: model.Statement{Tag: "DELETE", Accesses: acc("delete:app.a", "select:app.a", "select:app.b"),
			FilterColumns: []string{"app.a.id", "app.b.id"}}, checkOuts: true},
	{name: "plain delete", sql: "DELETE FROM a",
		want: model.Statement{Tag: "DELETE", Accesses: acc("delete:app.a")}, checkOuts: true},
	{name: "merge", sql: `MERGE INTO t USING s ON t.id = s.id WHEN MATCHED AND s.del THEN DELETE
		WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)`,
		want: model.Statement{Tag: "MERGE", Accesses: acc("select:app.s", "select:app.t", "insert:app.t",
			"update:app.t", "delete:app.t"), FilterColumns: []string{"app.s.del", "app.s.id", "app.t.id"}}, checkOuts: true},
	{name: "merge do nothing", sql: `MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DO NOTHING`,
		want: model.Statement{Tag: "MERGE", Accesses: acc("select:app.s", "select:app.t", "update:app.t"),
			FilterColumns: []string{"app.s.id", "app.t.id"}}, checkOuts: true},
	{name: "truncate", sql: "TRUNCATE a, app.b",
		want: model.Statement{Tag: "TRUNCATE TABLE", Accesses: acc("delete:app.a", "delete:app.b")}, checkOuts: true},
	{name: "lock", sql: "LOCK TABLE a IN ACCESS SHARE MODE",
		want: model.Statement{Tag: "LOCK TABLE", Accesses: acc("update:app.a")}, checkOuts: true},
	{name: "select for update", sql: "SELECT id FROM a, b FOR UPDATE OF a",
		want: model.Statement{Tag: "SELECT", Accesses: acc("select:app.a", "select:app.b", "update:app.a")},
		outs: []Lineage{src("app.a.id", "app.b.id")}},

	// COPY.
	{name: "copy out table", sql: "COPY a (x, y) TO STDOUT",
		want: model.Statement{Tag: "COPY", Accesses: acc("copy_out:app.a")},
		outs: []Lineage{dir("app.a.x"), dir("app.a.y")}},
	{name: "copy out query", sql: "COPY (SELECT email FROM users) TO STDOUT WITH (FORMAT csv)",
		want: model.Statement{Tag: "COPY", Accesses: acc("copy_out:app.users", "select:app.users")},
		outs: []Lineage{dir("app.users.email")}},
	{name: "copy in", sql: "COPY a FROM STDIN",
		want: model.Statement{Tag: "COPY", Accesses: acc("copy_in:app.a")}, checkOuts: true},

	// Utility.
	{name: "call", sql: "CALL app.proc(1)",
		want: model.Statement{Tag: "CALL", Accesses: acc("call:"), Functions: []string{"app.proc"}},
		outs: []Lineage{{Unknown: true}}},
	{name: "do", sql: "DO $$ BEGIN NULL; END $$",
		want: model.Statement{Tag: "DO", Accesses: acc("call:"), Functions: []string{"pg_catalog.do"}}, checkOuts: true},
	{name: "explain", sql: "EXPLAIN SELECT x FROM a",
		want: model.Statement{Tag: "EXPLAIN", Accesses: acc("select:app.a"), FilterColumns: []string{"app.a.*"}}, checkOuts: true},
	{name: "begin", sql: "BEGIN ISOLATION LEVEL SERIALIZABLE", want: model.Statement{Tag: "BEGIN", Accesses: acc(), Always: true}, checkOuts: true},
	{name: "begin read write", sql: "START TRANSACTION READ WRITE", want: model.Statement{Tag: "START TRANSACTION", Accesses: acc(), Always: true}, checkOuts: true, rw: true},
	{name: "set transaction read write", sql: "SET TRANSACTION READ WRITE", want: model.Statement{Tag: "SET", Accesses: acc(), Always: true}, checkOuts: true, rw: true},
	{name: "commit", sql: "COMMIT", want: model.Statement{Tag: "COMMIT", Accesses: acc(), Always: true}, checkOuts: true},
	{name: "savepoint", sql: "SAVEPOINT s", want: model.Statement{Tag: "SAVEPOINT", Accesses: acc(), Always: true}, checkOuts: true},
	{name: "harmless set", sql: "SET application_name = 'x'", want: model.Statement{Tag: "SET", Accesses: acc(), Always: true}, checkOuts: true},
	{name: "set names utf8", sql: "SET NAMES 'UTF-8'", want: model.Statement{Tag: "SET", Accesses: acc(), Always: true}, checkOuts: true},
	{name: "set time zone", sql: "SET TIME ZONE 'UTC'", want: model.Statement{Tag: "SET", Accesses: acc(), Always: true}, checkOuts: true},
	{name: "show", sql: "SHOW search_path", want: model.Statement{Tag: "SHOW", Accesses: acc(), Always: true}, checkOuts: true},
	{name: "reset harmless", sql: "RESET statement_timeout", want: model.Statement{Tag: "RESET", Accesses: acc(), Always: true}, checkOuts: true},
	{name: "discard plans", sql: "DISCARD PLANS", want: model.Statement{Tag: "DISCARD", Accesses: acc(), Always: true}, checkOuts: true},
	{name: "deallocate", sql: "DEALLOCATE ALL", want: model.Statement{Tag: "DEALLOCATE", Accesses: acc(), Always: true}, checkOuts: true},
	{name: "fetch", sql: "FETCH 10 FROM c", want: model.Statement{Tag: "FETCH", Accesses: acc(), Always: true}, checkOuts: true},
	{name: "create table", sql: "CREATE TABLE n (id int DEFAULT nextval('s'))",
		want: model.Statement{Tag: "CREATE TABLE", Accesses: acc("ddl:app.n"), Functions: []string{"nextval"}}, checkOuts: true},
	{name: "create function", sql: "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'",
		want: model.Statement{Tag: "CREATE FUNCTION", Accesses: acc("ddl:"), Functions: []string{"pg_catalog.do"}}, checkOuts: true},
	{name: "drop", sql: "DROP TABLE a, s.b", want: model.Statement{Tag: "DROP", Accesses: acc("ddl:app.a", "ddl:s.b")}, checkOuts: true},
	{name: "comment on column", sql: "COMMENT ON COLUMN s.t.c IS 'x'", want: model.Statement{Tag: "COMMENT", Accesses: acc("ddl:s.t")}, checkOuts: true},
	{name: "grant", sql: "GRANT SELECT ON a TO PUBLIC", want: model.Statement{Tag: "GRANT", Accesses: acc("ddl:app.a")}, checkOuts: true},
	{name: "revoke", sql: "REVOKE ALL ON a FROM x", want: model.Statement{Tag: "REVOKE", Accesses: acc("ddl:app.a")}, checkOuts: true},
	{name: "vacuum", sql: "VACUUM ANALYZE a", want: model.Statement{Tag: "VACUUM", Accesses: acc("ddl:app.a")}, checkOuts: true},
	{name: "refresh", sql: "REFRESH MATERIALIZED VIEW mv", want: model.Statement{Tag: "REFRESH MATERIALIZED VIEW", Accesses: acc("ddl:app.mv")}, checkOuts: true},
	{name: "create table as", sql: "CREATE TABLE n AS SELECT * FROM secret",
		want: model.Statement{Tag: "CREATE TABLE AS", Accesses: acc("ddl:app.n", "select:app.secret")}, checkOuts: true},
	{name: "select into", sql: "SELECT * INTO n FROM secret",
		want: model.Statement{Tag: "SELECT", Accesses: acc("ddl:app.n", "select:app.secret")},
		outs: []Lineage{star("app.secret.*")}},
	{name: "temp table", sql: "CREATE TEMP TABLE tt (x int)", want: model.Statement{Tag: "CREATE TABLE", Accesses: acc("ddl:pg_temp.tt")}, checkOuts: true},
}

func TestAnalyze(t *testing.T) {
	opts := Options{SearchPath: []string{"app", "public"}}
	for _, tc := range analyzeCases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Analyze(tc.sql, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) == 0 {
				t.Fatal("no statements")
			}
			got := res[0]
			if got.Statement.Fingerprint == "" {
				t.Error("no fingerprint")
			}
			st := got.Statement
			st.Fingerprint = ""
			if diff := cmp.Diff(tc.want, st, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("statement (-want +got):\n%s", diff)
			}
			if tc.outs != nil || tc.checkOuts {
				if diff := cmp.Diff(tc.outs, got.Outputs, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("outputs (-want +got):\n%s", diff)
				}
			}
			if got.ReadWrite != tc.rw {
				t.Errorf("ReadWrite = %v, want %v", got.ReadWrite, tc.rw)
			}
		})
	}
}
