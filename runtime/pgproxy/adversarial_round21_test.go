package pgproxy

import (
	"context"
	"testing"
)

// Round 21 of the red team: a fresh sweep of public checklists of
// PostgreSQL privilege escalation, data exfiltration and read-only
// escapes, through a read-only grant (reader, fnreader) and under column
// masking without allow_filter (reader).
//
// Hole found and closed:
//   - The parser speaks the PostgreSQL 17 grammar; the server is
//     PostgreSQL 15. JSON_ARRAY(...), JSON(...), JSON_SCALAR(...),
//     JSON_SERIALIZE(...), JSON_QUERY/JSON_VALUE/JSON_EXISTS(...),
//     JSON_ARRAYAGG(...), the legacy JSON_OBJECT(array) and MERGE_ACTION()
//     are syntax to pg_query, analyzed as built-ins over their arguments,
//     but PostgreSQL 15 runs the same text as a call of a function of that
//     name found through the search path. With a namesake in public (an
//     administrator's json_array(text), as public.initcap(varchar) in the
//     fixture), SELECT json_array(name) FROM t returned what the function
//     read (a raw ssn) under masking, and SELECT merge_action() ran it for
//     a grant that names no function and no table it reads
//     (TestAdversarialRound21Syntax). The proxy's search-path check only
//     looked at function calls. Fixed in runtime/pgsql (syntaxcalls.go,
//     called from analyzeStmt): these constructs report the function name
//     an older server calls in Analyzed.Builtins, so the namesake is found
//     as any shadowing function is (decided as calling it: a grant must
//     name it, denied where masking applies).
//
// Held (regression cases kept):
//   - Read-only (TestAdversarialRound21ReadOnly): READ WRITE in every
//     BEGIN/START/SET TRANSACTION/SESSION CHARACTERISTICS spelling,
//     inside a savepoint or a transaction already open, END/ABORT AND
//     CHAIN, RESET transaction_read_only, set_config with named, computed
//     or cast setting names (forbidden: not a literal) and in FROM, LOCK
//     in the modes PostgreSQL allows in a read-only transaction, row
//     locks with SKIP LOCKED and OF, CHECKPOINT, VACUUM, ANALYZE, CLUSTER
//     and REINDEX (which PostgreSQL runs in read-only transactions: they
//     need ddl), advisory locks (xact, qualified), temporary tables,
//     sequences and pg_temp objects named like granted ones (ddl; pg_temp
//     is never searched for functions and operators), nextval by regclass,
//     setval, lo_put, PREPARE TRANSACTION, DISCARD ALL and RESET ALL,
//     COPY TO PROGRAM.
//   - Masking (TestAdversarialRound21MaskHolds): settings that change how
//     values print (bytea_output, extra_float_digits, DateStyle,
//     IntervalStyle, quote_all_identifiers, which the gateway's own
//     catalog connection does not share, SET NAMES, SET LOCAL) before a
//     read of masked columns; cursors WITH HOLD fetched after COMMIT and
//     read backwards, MOVE LAST then FETCH PRIOR; names resolved from
//     strings (regclass, to_regclass, pg_get_viewdef: only names); the
//     functions that run SQL given as text (query_to_xml, table_to_xml,
//     cursor_to_xml, schema_to_xml, database_to_xml,
//     query_to_xml_and_xmlschema, ts_stat: not in the safe set);
//     pg_stat_activity and pg_stat_get_activity of other sessions,
//     pg_prepared_statements, pg_cursors (unknown origin under masking);
//     server files and large objects; COPY TO in binary, CSV with
//     FORCE_QUOTE and with a digit as delimiter (denied: masked columns).
//
// Open, reported: SHOW and current_setting are always allowed, and the
// upstream role is a superuser here, so any setting reads back, server
// file paths (data_directory, hba_file) and settings an administrator
// stored for the database or role (ALTER DATABASE ... SET
// "app.jwt_secret") included, without a grant on pg_settings; SHOW ALL
// gives what pg_settings would. Settings are not table data and no rule
// masks them; gating SHOW like the catalog readers of round 10 is a
// policy change left to the lead (docs/sql.md, always allowed).

// round21Shadows are functions of public, as an administrator might have
// created them, named like the constructs that only the PostgreSQL 16/17
// grammar (pg_query's) reads as syntax: PostgreSQL 15 calls them for the
// same text. Each returns the first customer's ssn.
const round21Shadows = `
CREATE FUNCTION public.json_array(text) RETURNS text LANGUAGE sql STABLE AS 'SELECT ssn FROM P_cust WHERE id = 1';
CREATE FUNCTION public.json_scalar(text) RETURNS text LANGUAGE sql STABLE AS 'SELECT ssn FROM P_cust WHERE id = 1';
CREATE FUNCTION public.json_serialize(text) RETURNS text LANGUAGE sql STABLE AS 'SELECT ssn FROM P_cust WHERE id = 1';
CREATE FUNCTION public.json(text) RETURNS text LANGUAGE sql STABLE AS 'SELECT ssn FROM P_cust WHERE id = 1';
CREATE FUNCTION public.json_value(text, text) RETURNS text LANGUAGE sql STABLE AS 'SELECT ssn FROM P_cust WHERE id = 1';
CREATE FUNCTION public.json_query(text, text) RETURNS text LANGUAGE sql STABLE AS 'SELECT ssn FROM P_cust WHERE id = 1';
CREATE FUNCTION public.json_exists(text, text) RETURNS text LANGUAGE sql STABLE AS 'SELECT ssn FROM P_cust WHERE id = 1';
CREATE FUNCTION public.json_arrayagg(text) RETURNS text LANGUAGE sql STABLE AS 'SELECT ssn FROM P_cust WHERE id = 1';
CREATE FUNCTION public.json_object(varchar[]) RETURNS text LANGUAGE sql STABLE AS 'SELECT ssn FROM P_cust WHERE id = 1';
CREATE FUNCTION public.merge_action() RETURNS text LANGUAGE sql STABLE AS 'SELECT ssn FROM P_cust WHERE id = 1';
`

const round21ShadowsDrop = `
DROP FUNCTION IF EXISTS public.json_array(text), public.json_scalar(text), public.json_serialize(text),
  public.json(text), public.json_value(text, text), public.json_query(text, text), public.json_exists(text, text),
  public.json_arrayagg(text), public.json_object(varchar[]), public.merge_action();
`

// advRound21SyntaxCases: the text of a PostgreSQL 16/17 construct, which
// PostgreSQL 15 runs as a call of the namesake of public. The analysis
// (built on the construct) saw only the unmasked name column, or nothing.
var advRound21SyntaxCases = []advCase{
	{name: "json_array", sql: "SELECT json_array(name) FROM P_cust", deny: true},
	{name: "json_array upper case", sql: "SELECT JSON_ARRAY(name) FROM P_cust WHERE id = 2", deny: true},
	{name: "json_scalar", sql: "SELECT json_scalar(name) FROM P_cust", deny: true},
	{name: "json_serialize", sql: "SELECT json_serialize(name) FROM P_cust", deny: true},
	{name: "json", sql: "SELECT json(name) FROM P_cust", deny: true},
	{name: "json_value", sql: "SELECT json_value(name, '$') FROM P_cust", deny: true},
	{name: "json_query", sql: "SELECT json_query(name, '$') FROM P_cust", deny: true},
	{name: "json_exists", sql: "SELECT json_exists(name, '$') FROM P_cust", deny: true},
	{name: "json_arrayagg", sql: "SELECT json_arrayagg(name) FROM P_cust", deny: true},
	{name: "legacy json_object", sql: "SELECT json_object(ARRAY[name]::varchar[]) FROM P_cust", deny: true},
	{name: "merge_action", sql: "SELECT merge_action()", deny: true},
	{name: "merge_action in a filter", sql: "SELECT id FROM P_cust WHERE merge_action() LIKE '9%'", deny: true},
	{name: "prepared json_array", sql: "PREPARE r21p AS SELECT json_array(name) FROM P_cust; EXECUTE r21p", simple: true, deny: true},
	{name: "cursor of json_scalar", sql: "BEGIN; DECLARE r21c CURSOR FOR SELECT json_scalar(name) FROM P_cust; FETCH ALL r21c; COMMIT", simple: true},
	// Built-ins without a namesake keep working.
	{name: "allowed json_build_array", sql: "SELECT json_build_array(name)::text, to_json(name)::text FROM P_cust", allow: true},
	{name: "allowed json_object_agg", sql: "SELECT json_object_agg(id, name)::text FROM P_cust", allow: true},
}

// TestAdversarialRound21Syntax: with namesakes in public, the constructs
// only the PostgreSQL 16/17 grammar knows are calls of user code on the
// PostgreSQL 15 server: denied where masking applies, and needing a
// grant naming the function where it does not (fnreader reads only
// PREFIX_other and names none of them).
func TestAdversarialRound21Syntax(t *testing.T) {
	a := newAdvEnv(t)
	t.Cleanup(func() { admin(t, round21ShadowsDrop) })
	admin(t, round21ShadowsDrop+a.sql(round21Shadows))
	runAdvCases(t, a, "reader", advRound21SyntaxCases)
	t.Run("grant", func(t *testing.T) {
		runAdvCases(t, a, "fnreader", []advCase{
			{name: "merge_action reads a table no grant covers", sql: "SELECT merge_action()", deny: true},
			{name: "json_array reads a table no grant covers", sql: "SELECT json_array(note) FROM P_other", deny: true},
			{name: "allowed json_build_array", sql: "SELECT json_build_array(note)::text FROM P_other", allow: true},
		})
	})
}

// advRound21ReadOnlyCases: transaction control in the spellings earlier
// rounds left out, utility statements PostgreSQL itself runs in a
// read-only transaction (LOCK up to SHARE mode, CHECKPOINT, VACUUM,
// ANALYZE, CLUSTER, REINDEX, advisory locks), temporary objects named like
// granted tables, and set_config in argument forms the analyzer cannot
// read. All held.
var advRound21ReadOnlyCases = []roCase{
	{name: "begin isolation read write", sql: "BEGIN ISOLATION LEVEL READ COMMITTED, READ WRITE; DELETE FROM P_other; COMMIT"},
	{name: "begin read write deferrable", sql: "BEGIN ISOLATION LEVEL SERIALIZABLE, READ WRITE, DEFERRABLE; DELETE FROM P_other; COMMIT"},
	{name: "start transaction read write in a savepoint", sql: "BEGIN; SAVEPOINT s; START TRANSACTION READ WRITE; DELETE FROM P_other; COMMIT"},
	{name: "begin read write inside a transaction", sql: "BEGIN; BEGIN READ WRITE; DELETE FROM P_other; COMMIT"},
	{name: "set transaction read write first", sql: "BEGIN; SET TRANSACTION READ WRITE, ISOLATION LEVEL SERIALIZABLE; DELETE FROM P_other; COMMIT"},
	{name: "session characteristics read only then read write", sql: "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY, READ WRITE; DELETE FROM P_other"},
	{name: "end and chain", sql: "BEGIN; END AND CHAIN; DELETE FROM P_other; COMMIT"},
	{name: "abort and chain", sql: "BEGIN; ABORT AND CHAIN; DELETE FROM P_other; COMMIT"},
	{name: "reset transaction_read_only", sql: "BEGIN; RESET transaction_read_only; DELETE FROM P_other; COMMIT"},
	{name: "set_config read only local", sql: "BEGIN; SELECT set_config('transaction_read_only', 'off', true); DELETE FROM P_other; COMMIT"},
	{name: "set_config named arguments", sql: "SELECT set_config(new_value => 'off', setting_name => 'default_transaction_read_only', is_local => false)", agent: "fnreader"},
	{name: "set_config computed name", sql: "SELECT set_config('default_transaction_' || 'read_only', 'off', false)", agent: "fnreader"},
	{name: "set_config varchar name", sql: "SELECT set_config('role'::varchar, 'postgres', false)", agent: "fnreader"},
	{name: "set_config in from", sql: "SELECT * FROM set_config('default_transaction_read_only', 'off', false)", agent: "fnreader"},
	{name: "lock row share", sql: "BEGIN; LOCK TABLE P_other IN ROW SHARE MODE; COMMIT"},
	{name: "lock share nowait", sql: "BEGIN; LOCK P_other IN SHARE MODE NOWAIT; COMMIT"},
	{name: "select for no key update skip locked", sql: "SELECT * FROM P_other FOR NO KEY UPDATE SKIP LOCKED"},
	{name: "select for share of", sql: "SELECT * FROM P_other o, P_cust c FOR SHARE OF o"},
	{name: "checkpoint", sql: "CHECKPOINT"},
	{name: "vacuum", sql: "VACUUM P_other"},
	{name: "analyze", sql: "ANALYZE P_other"},
	{name: "cluster", sql: "CLUSTER P_cust USING " + "P_cust_pkey"},
	{name: "reindex", sql: "REINDEX TABLE P_cust"},
	{name: "advisory xact lock", sql: "BEGIN; SELECT pg_advisory_xact_lock(4242); COMMIT"},
	{name: "qualified advisory lock", sql: "SELECT pg_catalog.pg_advisory_lock(4242)"},
	{name: "temp table shadowing a granted one", sql: "CREATE TEMP TABLE P_other (id int, note text)"},
	{name: "temp table on commit drop", sql: "BEGIN; CREATE TEMP TABLE r21t (id int) ON COMMIT DROP; COMMIT"},
	{name: "temp sequence", sql: "CREATE TEMP SEQUENCE r21s"},
	{name: "pg_temp qualified table", sql: "CREATE TABLE pg_temp.P_cust (id int)"},
	{name: "pg_temp function", sql: "SELECT pg_temp.P_writer()"},
	{name: "nextval by regclass", sql: "SELECT nextval('P_seq'::regclass)"},
	{name: "setval of the serial sequence", sql: "SELECT setval(pg_get_serial_sequence('P_other', 'id'), 1)"},
	{name: "lo_put", sql: "SELECT lo_put(0, 0, 'x')"},
	{name: "prepare transaction after begin", sql: "BEGIN READ ONLY; PREPARE TRANSACTION 'mandate_adv'"},
	{name: "discard all then write", sql: "DISCARD ALL; DELETE FROM P_other"},
	{name: "reset all then write", sql: "RESET ALL; DELETE FROM P_other"},
	{name: "copy to program in csv", sql: "COPY P_other TO PROGRAM 'cat > /tmp/mandate_r21' WITH (FORMAT csv)"},
}

// TestAdversarialRound21ReadOnly: see advRound21ReadOnlyCases.
func TestAdversarialRound21ReadOnly(t *testing.T) {
	runAdvReadOnly(t, newAdvEnv(t), advRound21ReadOnlyCases)
}

// advRound21MaskHolds: settings that change how values print, in the same
// string as a read of masked columns; cursors held across the transaction
// and read backwards; functions that resolve names from strings
// (regclass, to_regclass, pg_get_viewdef) or run SQL from one
// (query_to_xml and its kin, ungranted); catalogs of other sessions.
// All held.
var advRound21MaskHolds = []advCase{
	{name: "bytea_output escape", sql: "SET bytea_output = 'escape'; SELECT ssn, card, c FROM P_cust c", simple: true},
	{name: "extra_float_digits", sql: "SET extra_float_digits = 3; SELECT salary, card, ARRAY[salary] FROM P_cust", simple: true},
	{name: "datestyle and intervalstyle", sql: "SET DateStyle = 'SQL, DMY'; SET IntervalStyle = 'sql_standard'; SELECT ssn, ROW(salary, card)::text FROM P_cust", simple: true},
	{name: "quote_all_identifiers through a view", sql: "SET quote_all_identifiers = on; SELECT * FROM P_cust_v", simple: true},
	{name: "set names utf8", sql: "SET NAMES 'UTF8'; SELECT ssn, email FROM P_cust", simple: true},
	{name: "xmloption content", sql: "SET xmloption = content; SELECT xmlelement(name x, card)::text, xmlforest(ssn, email)::text FROM P_cust", simple: true},
	{name: "set local in a transaction", sql: "BEGIN; SET LOCAL bytea_output = 'escape'; SET LOCAL extra_float_digits = -15; SELECT ssn, salary, upper(email) FROM P_cust; COMMIT", simple: true},
	{name: "cursor with hold fetched after commit", sql: "BEGIN; DECLARE r21h SCROLL CURSOR WITH HOLD FOR SELECT ssn, card, upper(email) FROM P_cust; COMMIT; FETCH ALL r21h; FETCH BACKWARD 2 FROM r21h; FETCH ABSOLUTE 1 FROM r21h; CLOSE r21h", simple: true},
	{name: "cursor moved then fetched backwards", sql: "BEGIN; DECLARE r21b SCROLL CURSOR FOR SELECT c FROM P_cust c; MOVE LAST IN r21b; FETCH PRIOR FROM r21b; FETCH RELATIVE -1 FROM r21b; COMMIT", simple: true},
	{name: "regclass from a string", sql: "SELECT 'P_cust'::regclass::text, to_regclass('P_cust')::oid > 0", allow: true},
	{name: "view definition by name", sql: "SELECT pg_get_viewdef('P_cust_v'::regclass)", allow: true},
	{name: "xpath over a masked element", sql: "SELECT xpath('/x/text()', xmlelement(name x, ssn))::text FROM P_cust", masked: true},
	{name: "query_to_xml", sql: "SELECT query_to_xml('select ssn from P_cust', true, false, '')", deny: true},
	{name: "table_to_xml by name", sql: "SELECT table_to_xml('P_cust'::regclass, true, false, '')", deny: true},
	{name: "cursor_to_xml", sql: "BEGIN; DECLARE r21x CURSOR FOR SELECT ssn FROM P_cust; SELECT cursor_to_xml('r21x', 10, true, false, ''); COMMIT", simple: true, deny: true},
	{name: "schema_to_xml", sql: "SELECT schema_to_xml('public', true, false, '')", deny: true},
	{name: "database_to_xml", sql: "SELECT database_to_xml(true, false, '')", deny: true},
	{name: "query_to_xml_and_xmlschema", sql: "SELECT query_to_xml_and_xmlschema(format('select %I from %I', 'ssn', 'P_cust'), true, false, '')", deny: true},
	{name: "ts_stat runs a query", sql: "SELECT * FROM ts_stat('select to_tsvector(''simple'', ssn) from P_cust')", deny: true},
	{name: "pg_stat_activity of other sessions", sql: "SELECT query FROM pg_stat_activity WHERE query LIKE '%918%'", deny: true},
	{name: "pg_stat_get_activity", sql: "SELECT query FROM pg_stat_get_activity(NULL) WHERE query IS NOT NULL", deny: true},
	{name: "pg_prepared_statements", sql: "PREPARE r21q AS SELECT id FROM P_cust WHERE ssn = '918-27-3645'; SELECT statement FROM pg_prepared_statements", simple: true, deny: true},
	{name: "pg_cursors", sql: "BEGIN; DECLARE r21k CURSOR FOR SELECT id FROM P_cust WHERE id = 1; SELECT statement FROM pg_cursors; COMMIT", simple: true},
	{name: "pg_read_binary_file", sql: "SELECT pg_read_binary_file('/etc/hostname')", deny: true},
	{name: "lo_get", sql: "SELECT lo_get(0)", deny: true},
	{name: "copy binary of a masked column", sql: "COPY (SELECT ssn, card FROM P_cust) TO STDOUT WITH (FORMAT binary)"},
	{name: "copy csv force quote", sql: "COPY P_cust TO STDOUT WITH (FORMAT csv, HEADER, FORCE_QUOTE *)"},
	{name: "copy with a digit delimiter", sql: "COPY P_cust (ssn, card) TO STDOUT WITH (DELIMITER '9')"},
}

// TestAdversarialRound21MaskHolds: see advRound21MaskHolds.
func TestAdversarialRound21MaskHolds(t *testing.T) {
	a := newAdvEnv(t)
	// Another session whose last statement holds a secret literal.
	other := pgconnTo(t, adminDSN)
	if err := other.Exec(context.Background(), a.sql("SELECT count(*) FROM P_cust WHERE ssn = '918-27-3645'")).Close(); err != nil {
		t.Fatal(err)
	}
	runAdvCases(t, a, "reader", advRound21MaskHolds)
}
