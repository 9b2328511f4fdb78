package pgproxy

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
)

// Round 7 of the red team: name resolution (case folding, quoting, U&
// escapes, pg_catalog and pg_temp qualification, catalogs of a later
// PostgreSQL version, settings under other spellings), field notation of
// aggregates (c.array_agg is array_agg(c)), the extended protocol,
// transactions, COPY options and type-system oracles (enums, domains,
// IS JSON, pg_typeof, num_nulls, collations, row and array comparisons).
//
// Hole found and closed: the analyzer resolves the unqualified names of
// the catalogs of every PostgreSQL version it knows to pg_catalog, but a
// server older than the catalog (pg_stat_io on PostgreSQL 15) resolves
// them through the search path to public: a grant of pg_catalog.* read a
// public table of that name (TestAdversarialRound7MissingCatalog; fixed by
// missingCatalog in decide.go). Open: openSearchPath.
//
// Oracles are those of the earlier suites (runAdvCases, runAdvReadOnly).

// round7Fixture adds types an administrator created: an enum and domains
// whose input errors print the value cast to them.
const round7Fixture = `
CREATE TYPE P_r7e AS ENUM ('a', 'b');
CREATE DOMAIN P_r7i AS int;
CREATE DOMAIN P_r7t AS text CHECK (VALUE NOT LIKE '9%');
`

const round7Drop = `
DROP DOMAIN IF EXISTS P_r7i, P_r7t;
DROP TYPE IF EXISTS P_r7e;
`

var advRound7MaskCases = []advCase{
	// Legitimate statements keep working.
	{name: "allowed pg_catalog qualified operator on unmasked", sql: "SELECT id FROM P_cust WHERE name OPERATOR(pg_catalog.=) 'Ann'", allow: true},
	{name: "allowed upper-case names", sql: "SELECT NAME FROM PUBLIC.P_CUST WHERE ID = 1", allow: true},
	{name: "allowed metadata of masked column", sql: "SELECT pg_typeof(ssn)::text FROM P_cust", allow: true},

	// Names: case folding, quoting, unicode escapes, qualification.
	{name: "upper-case names", sql: "SELECT SSN, P_CUST.CARD FROM PUBLIC.P_CUST", masked: true},
	{name: "quoted schema and table", sql: `SELECT "ssn", "email" FROM "public"."P_cust"`, masked: true},
	{name: "unicode escaped table", sql: `SELECT ssn FROM U&"P_\0063ust"`, masked: true},
	{name: "unicode escape with uescape in filter", sql: `SELECT id FROM P_cust WHERE U&"!0073sn" UESCAPE '!' LIKE '9%'`, deny: true},
	{name: "database qualified", sql: "SELECT ssn FROM test.public.P_cust", masked: true},
	{name: "pg_catalog qualified operator in filter", sql: "SELECT id FROM P_cust WHERE ssn OPERATOR(pg_catalog.~~) '9%'", deny: true},
	{name: "pg_catalog qualified equality in join", sql: "SELECT count(*) FROM P_cust c JOIN P_cust_mv m ON c.ssn OPERATOR(pg_catalog.=) m.ssn", deny: true},
	{name: "pg_catalog qualified function in filter", sql: `SELECT id FROM P_cust WHERE "pg_catalog".starts_with(ssn, '9')`, deny: true},
	{name: "pg_catalog qualified function output", sql: "SELECT pg_catalog.upper(ssn), pg_catalog.concat(card) FROM P_cust", masked: true},
	{name: "qualified operator output", sql: "SELECT ssn OPERATOR(pg_catalog.||) '', salary OPERATOR(pg_catalog.+) 0 FROM P_cust", deny: true},
	{name: "pg_temp qualified relation", sql: "SELECT * FROM pg_temp.P_cust"},

	// Field notation of aggregates: c.array_agg is array_agg(c).
	{name: "field notation array_agg", sql: "SELECT c.array_agg FROM P_cust c"},
	{name: "field notation json_agg through view", sql: "SELECT v.json_agg FROM P_cust_v v"},
	{name: "field notation jsonb_agg through cte", sql: "WITH w AS (SELECT ssn, name FROM P_cust) SELECT w.jsonb_agg FROM w"},
	{name: "field notation array_agg through derived", sql: "SELECT s.array_agg FROM (SELECT ssn, card FROM P_cust) s"},
	{name: "field notation json_agg through matview", sql: "SELECT m.json_agg::text FROM P_cust_mv m"},

	// Type system oracles.
	{name: "pg_typeof in filter", sql: "SELECT id FROM P_cust WHERE pg_typeof(ssn) = 'text'::regtype", deny: true},
	{name: "is json in filter", sql: "SELECT id FROM P_cust WHERE ssn IS JSON", deny: true},
	{name: "num_nonnulls in filter", sql: "SELECT count(*) FROM P_cust WHERE num_nonnulls(ssn, card) = 2", deny: true},
	{name: "pg_column_size in filter", sql: "SELECT count(*) FROM P_cust WHERE pg_column_size(email) > 28", deny: true},
	{name: "pg_input_is_valid in filter", sql: "SELECT count(*) FROM P_cust WHERE pg_input_is_valid(ssn, 'int4')", deny: true},
	{name: "collate in filter", sql: `SELECT id FROM P_cust WHERE ssn COLLATE "C" > '5'`, deny: true},
	{name: "collate in order by", sql: `SELECT id FROM P_cust ORDER BY ssn COLLATE "C" LIMIT 1`, deny: true},
	{name: "array containment", sql: "SELECT id FROM P_cust WHERE ARRAY[ssn] <@ ARRAY['918-27-3645']", deny: true},
	{name: "row constructor equality", sql: "SELECT id FROM P_cust WHERE ROW(ssn, name) = ROW('918-27-3645', 'Ann')", deny: true},
	{name: "row in list", sql: "SELECT id FROM P_cust WHERE (ssn, name) IN (('918-27-3645', 'Ann'))", deny: true},
	{name: "implicit cast in function argument", sql: "SELECT id FROM P_cust WHERE position(ssn in '918-27-3645') > 0", deny: true},
	{name: "domain check in filter", sql: "SELECT count(*) FROM P_cust WHERE ssn::P_r7t IS NOT NULL", deny: true},
	{name: "metadata outputs", sql: "SELECT num_nulls(ssn, card), num_nonnulls(salary), pg_column_size(c), octet_length(email) FROM P_cust c", deny: true},
	{name: "enum cast error", sql: "SELECT ssn::P_r7e FROM P_cust"},
	{name: "int domain cast error", sql: "SELECT card::P_r7i FROM P_cust"},
	{name: "enum cast error in exists", sql: "SELECT EXISTS (SELECT email::P_r7e FROM P_cust)"},
	{name: "array of enum cast error", sql: "SELECT ARRAY[ssn]::P_r7e[] FROM P_cust"},
	{name: "row cast error", sql: "SELECT ROW(ssn)::P_cust FROM P_cust"},

	// Inference through other spellings of a filter.
	{name: "named window", sql: "SELECT id, row_number() OVER w FROM P_cust WINDOW w AS (ORDER BY ssn)", deny: true},
	{name: "named window refined", sql: "SELECT id, sum(id) OVER (w ROWS UNBOUNDED PRECEDING) FROM P_cust WINDOW w AS (PARTITION BY substr(ssn, 1, 1))", deny: true},
	{name: "table order by position", sql: "TABLE P_cust ORDER BY 3", deny: true},
	{name: "order by table name", sql: "SELECT id FROM P_cust ORDER BY P_cust", deny: true},
	{name: "simple case in filter", sql: "SELECT id FROM P_cust WHERE CASE ssn WHEN '918-27-3645' THEN true END", deny: true},
	{name: "similar to", sql: "SELECT id FROM P_cust WHERE ssn SIMILAR TO '9%'", deny: true},
	{name: "between symmetric", sql: "SELECT id FROM P_cust WHERE ssn BETWEEN SYMMETRIC '99' AND '9'", deny: true},
	{name: "correlated select of column", sql: "SELECT id FROM P_cust WHERE (SELECT ssn) LIKE '9%'", deny: true},
	{name: "lateral alias in filter", sql: "SELECT id FROM P_cust, LATERAL (SELECT ssn AS s) l WHERE l.s LIKE '9%'", deny: true},
	{name: "jsonb containment of row", sql: `SELECT id FROM P_cust c WHERE to_jsonb(c) @> '{"ssn": "918-27-3645"}'`, deny: true},
	{name: "recursive union distinct", sql: "WITH RECURSIVE r(s) AS (SELECT ssn FROM P_cust UNION SELECT '918-27-3645') SELECT count(*) FROM r", deny: true},
	{name: "having bool_or", sql: "SELECT count(*) FROM P_cust HAVING bool_or(ssn LIKE '9%')", deny: true},
	{name: "group by whole row of derived", sql: "SELECT count(*) FROM (SELECT c FROM P_cust c) s GROUP BY s.c", deny: true},
	{name: "json_value filter", sql: "SELECT id FROM P_cust WHERE JSON_VALUE(to_jsonb(ssn), '$') = '918-27-3645'", deny: true},
	{name: "json_exists filter", sql: `SELECT id FROM P_cust c WHERE JSON_EXISTS(to_jsonb(c), '$.ssn ? (@ starts with "9")')`, deny: true},
	{name: "json_table rows", sql: `SELECT count(*) FROM P_cust c, JSON_TABLE(to_jsonb(c), '$ ? (@.ssn starts with "9")' COLUMNS (x int PATH '$.id')) t`, deny: true},
	{name: "order by subquery over values", sql: "SELECT x FROM (VALUES (1), (2), (3)) v(x) ORDER BY (SELECT ssn FROM P_cust WHERE id = x)", deny: true},
	{name: "grouping function", sql: "SELECT GROUPING(ssn), count(*) FROM P_cust GROUP BY ROLLUP (ssn)", deny: true},
	{name: "merge source filter", sql: "SELECT 1 FROM P_cust WHERE id IN (SELECT id FROM P_cust_mv WHERE ssn > '5')", deny: true},

	// COPY with options.
	{name: "copy csv header force quote", sql: "COPY (SELECT ssn, name FROM P_cust) TO STDOUT WITH (FORMAT csv, HEADER, FORCE_QUOTE *)"},
	{name: "copy csv custom quote and delimiter", sql: "COPY (SELECT name, ssn FROM P_cust) TO STDOUT WITH (FORMAT csv, DELIMITER '-', QUOTE '|')"},
	{name: "copy encoding", sql: "COPY (SELECT name, card FROM P_cust) TO STDOUT WITH (ENCODING 'SJIS')"},
	{name: "copy exists error", sql: "COPY (SELECT EXISTS (SELECT ssn::regclass FROM P_cust)) TO STDOUT"},
	{name: "copy enum error", sql: "COPY (SELECT count(ssn::P_r7e) FROM P_cust) TO STDOUT"},
	{name: "copy field notation aggregate", sql: "COPY (SELECT c.json_agg FROM P_cust c) TO STDOUT"},
}

func TestAdversarialRound7Masking(t *testing.T) {
	a := newAdvEnv(t)
	t.Cleanup(func() { admin(t, a.sql(round7Drop)) })
	admin(t, a.sql(round7Fixture))
	runAdvCases(t, a, "reader", advRound7MaskCases)
}

var advRound7ReadOnlyCases = []roCase{
	// Settings under other spellings and in other positions.
	{name: "quoted mixed-case setting", sql: `SET "Default_Transaction_Read_Only" = off; DELETE FROM P_other`},
	{name: "unicode escaped setting", sql: `BEGIN; SET LOCAL U&"transaction\005Fread\005Fonly" = off; DELETE FROM P_other; COMMIT`},
	{name: "quoted search_path", sql: `SET "Search_Path" = pg_temp, public`},
	{name: "set_config in a subquery", sql: "SELECT * FROM (SELECT set_config('search_path', 'pg_temp', false)) s"},
	{name: "set_config in where", sql: "SELECT 1 WHERE pg_catalog.set_config('default_transaction_read_only', 'off', false) = 'off'"},
	{name: "set_config in a cte", sql: "WITH s AS MATERIALIZED (SELECT set_config('transaction_read_only', 'off', true)) SELECT count(*) FROM s"},
	{name: "alter role all", sql: "ALTER ROLE ALL SET default_transaction_read_only = off"},
	{name: "alter role in database", sql: "ALTER ROLE postgres IN DATABASE test SET search_path = pg_temp"},
	{name: "alter database reset", sql: "ALTER DATABASE test RESET ALL"},
	{name: "function with set clause", sql: "CREATE FUNCTION P_r7f() RETURNS int LANGUAGE sql SET default_transaction_read_only = off AS 'SELECT 1'"},

	// Transaction control inside one string.
	{name: "begin after a select then read write", sql: "SELECT 1; BEGIN; SET TRANSACTION READ WRITE; DELETE FROM P_other; COMMIT"},
	{name: "commit and chain then read write", sql: "BEGIN; COMMIT AND CHAIN; SET TRANSACTION READ WRITE; INSERT INTO P_other VALUES (3, 'x'); COMMIT"},
	{name: "release then read write", sql: "BEGIN; SAVEPOINT a; RELEASE a; SET TRANSACTION READ WRITE; DELETE FROM P_other; COMMIT"},
	{name: "prepare transaction after a select", sql: "BEGIN; SELECT 1; PREPARE TRANSACTION 'mandate_adv'"},
	{name: "start transaction chained read write", sql: "START TRANSACTION; SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION READ WRITE; DELETE FROM P_other"},

	// COPY FROM in other formats.
	{name: "copy in csv header", sql: "COPY P_other FROM STDIN WITH (FORMAT csv, HEADER)"},
	{name: "copy in binary", sql: "COPY P_other FROM STDIN (FORMAT binary)"},
	{name: "copy in freeze", sql: "COPY P_other FROM STDIN WITH (FREEZE)"},
	{name: "copy in where", sql: "COPY P_other FROM STDIN WHERE id > 0"},

	// Qualified and quoted names of side-effect functions.
	{name: "qualified nextval", sql: "SELECT pg_catalog.nextval('P_seq')"},
	{name: "unicode escaped nextval", sql: `SELECT U&"\006Eextval"('P_seq')`},
	{name: "pg_temp function", sql: "SELECT pg_temp.nextval('P_seq')"},
	// A granted function that sets search_path with a computed name: the
	// server reports the change only from PostgreSQL 18.
	{name: "granted function flips search_path", sql: "SELECT P_flip('search_path', 'pg_temp, public')", agent: "fnreader", open: openSearchPath},
}

// openSearchPath: before PostgreSQL 18 the server does not report
// search_path (ParameterStatus), so a granted function that changes it
// with a name the analyzer cannot read (set_config($1, $2, false)) goes
// unseen, and later statements resolve unqualified names against another
// path than the analyzer's (docs/postgres.md). Closing it needs the
// gateway to read the setting back after statements that call granted
// functions.
const openSearchPath = "a granted function changing search_path is not seen before PostgreSQL 18"

func TestAdversarialRound7ReadOnly(t *testing.T) {
	a := newAdvEnv(t)
	t.Cleanup(func() { admin(t, a.sql("DROP FUNCTION IF EXISTS P_r7f()")) })
	runAdvReadOnly(t, a, advRound7ReadOnlyCases)
}

// TestAdversarialRound7MissingCatalog reads, unqualified, a relation name
// of pg_catalog in a later PostgreSQL version than the server's: the server
// has no such catalog, so it resolves the name through the search path to
// a table of public, which the grant of pg_catalog.* does not cover.
func TestAdversarialRound7MissingCatalog(t *testing.T) {
	a := newAdvEnv(t)
	ctx := context.Background()
	direct := pgconnTo(t, adminDSN)
	name := ""
	for _, n := range []string{"pg_stat_io", "pg_wait_events", "pg_stat_checkpointer", "pg_aios", "pg_shmem_allocations_numa"} {
		r := direct.ExecParams(ctx, "SELECT count(*) FROM pg_catalog.pg_class WHERE relnamespace = 'pg_catalog'::regnamespace AND relname = $1",
			[][]byte{[]byte(n)}, nil, nil, nil).Read()
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		if string(r.Rows[0][0]) == "0" {
			name = n
			break
		}
	}
	if name == "" {
		t.Skip("the server has every catalog relation the analyzer knows")
	}
	t.Cleanup(func() { admin(t, a.sql("DROP VIEW IF EXISTS P_r7cv; DROP TABLE IF EXISTS public."+name)) })
	admin(t, "CREATE TABLE public."+name+" (id int, ssn text); INSERT INTO public."+name+" VALUES (1, '918-27-3645')")
	// The catalog prints the view's definition with the name unqualified
	// (public is on the path): expanded, its lineage names pg_catalog's
	// relation, which masking rules of public would not match. Fail
	// closed where masking expands views.
	admin(t, a.sql("CREATE VIEW P_r7cv AS SELECT id, ssn || '' AS s FROM public."+name))
	cases := []advCase{
		{name: "unqualified", sql: "SELECT * FROM " + name, deny: true},
		{name: "in a subquery", sql: "SELECT (SELECT ssn FROM " + name + " LIMIT 1)", deny: true},
		{name: "copy", sql: "COPY " + name + " TO STDOUT", deny: true},
		{name: "view over it", sql: "SELECT s FROM P_r7cv", deny: true},
		{name: "allowed catalog of this server", sql: "SELECT count(*) FROM pg_class, pg_catalog.pg_namespace", allow: true},
	}
	runAdvCases(t, a, "reader", cases)
}

// TestAdversarialRound7Extended drives masked statements through
// extended-protocol flows the earlier rounds left out: a simple Query
// between Parse, Bind and Execute, the unnamed statement reused after an
// error or replaced after a Bind, a portal whose statement is closed and
// parsed again, typed parameters that pick another overload (varchar
// reaches public.initcap(varchar)), one-row Executes, portals of a
// transaction rolled back, denials inside transaction blocks and
// savepoints. Oracle: no secret in any byte received, and each flow's
// expected answers (want) among them.
func TestAdversarialRound7Extended(t *testing.T) {
	a := newAdvEnv(t)
	dsn := strings.Replace(a.dsn("reader", "require"), "dbname=testdb", "dbname=adv", 1)
	q := a.sql("SELECT ssn, upper(card), salary::text, email FROM P_cust")
	plain := a.sql("SELECT name, upper(name), id + 0, name FROM P_cust")
	const denied = "error 42501"
	flows := []struct {
		name    string
		batches [][]pgproto3.FrontendMessage
		want    []string // substrings of the answers, in order
	}{
		{"parse without sync then query", [][]pgproto3.FrontendMessage{
			msgs(parse("s1", q), bind("p1", "s1"), query("SELECT 1"), execute("p1", 0), syncMsg)}, []string{"row 1"}},
		{"query between bind and execute", [][]pgproto3.FrontendMessage{
			msgs(parse("", q), bind("", ""), query(plain), execute("", 0), syncMsg)}, []string{"row Ann"}},
		{"unnamed statement reused after an error", [][]pgproto3.FrontendMessage{
			msgs(parse("", plain), bind("", ""), execute("", 0), parse("", "SELECT 1/0"), bind("", ""), execute("", 0), syncMsg),
			msgs(bind("", ""), execute("", 0), syncMsg)}, []string{"row Ann", "error 22012"}},
		{"unnamed statement replaced after bind", [][]pgproto3.FrontendMessage{
			msgs(parse("", plain), bind("p2", ""), parse("", q), bind("", ""), execute("p2", 0), execute("", 0), syncMsg)},
			[]string{"row Ann", "complete SELECT 3", "row [REDACTED]"}},
		{"portal bound then statement closed", [][]pgproto3.FrontendMessage{
			msgs(parse("s3", q), bind("p3", "s3"), &pgproto3.Close{ObjectType: 'S', Name: "s3"}, parse("s3", plain), execute("p3", 0), syncMsg)},
			[]string{"row [REDACTED]"}},
		{"typed varchar parameter reaches a shadowing function", [][]pgproto3.FrontendMessage{
			msgs(&pgproto3.Parse{Name: "s4", Query: a.sql("SELECT $1 || ssn, initcap($1) FROM P_cust"), ParameterOIDs: []uint32{1043}},
				&pgproto3.Bind{PreparedStatement: "s4", Parameters: [][]byte{[]byte("x")}}, execute("", 0), syncMsg)}, []string{denied}},
		// A parameter may be as long as a message (1 MB): beside a masked
		// column in concat it passes the output-size bound (pgsql
		// growth.go), so the column counts as a filter.
		{"bytea parameter", [][]pgproto3.FrontendMessage{
			msgs(&pgproto3.Parse{Name: "s5", Query: a.sql("SELECT concat(ssn, $1) FROM P_cust"), ParameterOIDs: []uint32{17}},
				&pgproto3.Bind{PreparedStatement: "s5", ParameterFormatCodes: []int16{1}, Parameters: [][]byte{{0x41}}, ResultFormatCodes: []int16{1}},
				execute("", 0), syncMsg)}, []string{denied}},
		{"bytea parameter beside an unmasked column", [][]pgproto3.FrontendMessage{
			msgs(&pgproto3.Parse{Name: "s5b", Query: a.sql("SELECT concat(name, $1) FROM P_cust"), ParameterOIDs: []uint32{17}},
				&pgproto3.Bind{PreparedStatement: "s5b", ParameterFormatCodes: []int16{1}, Parameters: [][]byte{{0x41}}, ResultFormatCodes: []int16{1}},
				execute("", 0), syncMsg)}, []string{"complete SELECT 3"}},
		{"max rows one at a time", [][]pgproto3.FrontendMessage{
			msgs(parse("s6", q), bind("p6", "s6"), execute("p6", 1), execute("p6", 1), execute("p6", 1), execute("p6", 1), syncMsg)},
			[]string{"suspended", "suspended", "suspended", "complete SELECT 0"}},
		{"portal of a transaction rolled back", [][]pgproto3.FrontendMessage{
			msgs(query("BEGIN"), parse("s7", q), bind("p7", "s7"), execute("p7", 1), syncMsg, query("ROLLBACK"), execute("p7", 0), syncMsg)},
			[]string{"suspended", "error 34000"}},
		{"denial inside a transaction block", [][]pgproto3.FrontendMessage{
			msgs(query("BEGIN"), parse("", a.sql("SELECT id FROM P_cust WHERE ssn LIKE '9%'")), bind("", ""), execute("", 0), syncMsg,
				parse("", q), bind("", ""), execute("", 0), syncMsg, query("ROLLBACK"))}, []string{denied}},
		{"denial inside a savepoint", [][]pgproto3.FrontendMessage{
			msgs(query("BEGIN; SAVEPOINT a"), query(a.sql("SELECT id FROM P_cust ORDER BY ssn")), query("ROLLBACK TO a"),
				parse("", q), bind("", ""), execute("", 0), syncMsg, query("COMMIT"))}, []string{denied, "row [REDACTED]"}},
	}
	for _, f := range flows {
		t.Run(f.name, func(t *testing.T) {
			got := exchange(t, pgconnTo(t, dsn), f.batches...)
			all := strings.Join(got, "\n")
			if s := leaked([]byte(all)); s != "" {
				t.Errorf("secret %q reached the client:\n%s", s, all)
			}
			rest := all
			for _, w := range f.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("answer %q missing (in order):\n%s", w, all)
					break
				}
				rest = rest[i+len(w):]
			}
			t.Logf("%s", all)
		})
	}
}

// Errors of writes print the failing row, every column of it: the stored
// values of the columns an UPDATE does not set included.
var advRound7WriteErrorCases = []advCase{
	{name: "update not null violation", sql: "UPDATE P_cust SET id = NULL WHERE id = 1"},
	{name: "update not null violation returning", sql: "UPDATE P_cust SET id = NULL WHERE id = 2 RETURNING id"},
	{name: "update partition constraint", sql: "UPDATE P_part_eu SET region = 'us' WHERE id = 1"},
	{name: "update check constraint", sql: "UPDATE P_other SET id = id WHERE id = 1"},
	{name: "update primary key duplicate", sql: "UPDATE P_cust SET id = 2 WHERE id = 1"},
	{name: "merge not null violation", sql: "MERGE INTO P_cust c USING (SELECT 1 AS id) s ON c.id = s.id WHEN MATCHED THEN UPDATE SET id = NULL"},
	{name: "insert on conflict not null", sql: "INSERT INTO P_cust (id, name) VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET id = NULL"},
}

func TestAdversarialRound7WriteErrors(t *testing.T) {
	a := newAdvEnv(t)
	runAdvCases(t, a, "ddler", advRound7WriteErrorCases)
}
