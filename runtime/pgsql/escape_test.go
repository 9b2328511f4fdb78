package pgsql

import (
	"slices"
	"strings"
	"testing"
)

// escapeCase is an attempt to escape a read-only grant, a function grant or
// masking. want says what the analysis must show for the attempt to be
// stopped, in one of these forms:
//
//	forbidden          a statement of the string is forbidden
//	class:C            some statement needs class C (on any table)
//	access:C:T         some statement needs class C on table T
//	function:F         some statement reports function F
//	readwrite          some statement asks for a read-write transaction
//	filter:COL         the filter columns hold COL (or its table's *)
//	out:COL            an output carries COL (or its table's *) or is unknown
//	noaccess:T         no statement reads table T (name resolution check)
//	writes:COL         what is stored carries COL (or its table's *) or is unknown
//	reads:COL          Reads holds COL (or its table's *) or is unknown
//	builtin:F          Builtins holds F (nobuiltin: does not)
//	operator:O         Operators holds O (nooperator: does not)
type escapeCase struct {
	name string
	sql  string
	want []string
}

var escapeCases = []escapeCase{
	// Data-modifying statements hidden in reads.
	{"writable cte", "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", []string{"access:delete:app.t"}},
	{"writable cte update", "WITH u AS (UPDATE t SET x = 1 RETURNING id) SELECT count(*) FROM u", []string{"access:update:app.t"}},
	{"writable cte unused", "WITH x AS (SELECT 1), i AS (INSERT INTO t (id) SELECT 1 RETURNING id) SELECT * FROM x", []string{"access:insert:app.t"}},
	{"writable cte in subquery", "SELECT * FROM (WITH d AS (UPDATE t SET x = 1 RETURNING id) SELECT id FROM d) s", []string{"access:update:app.t"}},
	{"writable cte in scalar", "SELECT (WITH i AS (INSERT INTO t VALUES (1) RETURNING id) SELECT id FROM i)", []string{"access:insert:app.t"}},
	{"writable cte in exists", "SELECT 1 WHERE EXISTS (WITH d AS (DELETE FROM t RETURNING 1) SELECT 1 FROM d)", []string{"access:delete:app.t"}},
	{"writable cte in function arg", "SELECT coalesce((WITH i AS (INSERT INTO t VALUES (1) RETURNING 1) SELECT 1 FROM i), 0)", []string{"access:insert:app.t"}},
	{"writable cte behind recursive", "WITH RECURSIVE r AS (SELECT 1 UNION SELECT 1 FROM r) DELETE FROM t", []string{"access:delete:app.t"}},
	{"writable cte in merge source", "WITH d AS (DELETE FROM t RETURNING id) MERGE INTO s USING d ON s.id = d.id WHEN MATCHED THEN DO NOTHING", []string{"access:delete:app.t"}},
	{"second statement", "SELECT 1; DELETE FROM t", []string{"access:delete:app.t"}},
	{"comment first", "/* select */ DELETE FROM t -- select", []string{"access:delete:app.t"}},
	{"insert default values", "INSERT INTO t DEFAULT VALUES", []string{"access:insert:app.t"}},
	{"subscript in insert columns", "INSERT INTO t (arr[(SELECT lo_unlink(1))]) VALUES (1)", []string{"function:lo_unlink"}},
	{"subscript in update set", "UPDATE t SET arr[nextval('s')] = 1", []string{"function:nextval"}},
	{"conflict index expression", "INSERT INTO t VALUES (1) ON CONFLICT ((lower(v) || evil())) DO NOTHING", []string{"function:evil"}},
	{"merge", "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", []string{"access:delete:app.t"}},
	{"merge insert", "MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id)", []string{"access:insert:app.t"}},
	{"merge do nothing", "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DO NOTHING", []string{"access:update:app.t"}},
	{"merge do nothing on false", "MERGE INTO t USING s ON false WHEN NOT MATCHED THEN DO NOTHING", []string{"access:update:app.t"}},
	{"truncate", "TRUNCATE t", []string{"access:delete:app.t"}},
	{"truncate only", "TRUNCATE ONLY app.t RESTART IDENTITY CASCADE", []string{"access:delete:app.t"}},

	// New relations from reads.
	{"select into", "SELECT * INTO newtab FROM t", []string{"access:ddl:app.newtab"}},
	{"select into temp", "SELECT * INTO TEMP newtab FROM t", []string{"class:ddl"}},
	{"create table as", "CREATE TABLE newtab AS SELECT * FROM t", []string{"access:ddl:app.newtab"}},
	{"create table as execute", "CREATE TABLE newtab AS EXECUTE p", []string{"forbidden"}},
	{"materialized view", "CREATE MATERIALIZED VIEW mv AS SELECT * FROM t", []string{"class:ddl"}},
	{"refresh", "REFRESH MATERIALIZED VIEW CONCURRENTLY mv", []string{"class:ddl"}},
	{"create rule", "CREATE RULE r AS ON SELECT TO t DO INSTEAD SELECT 1", []string{"access:ddl:app.t"}},
	{"create rule with write", "CREATE RULE r AS ON INSERT TO t DO ALSO DELETE FROM s", []string{"access:ddl:app.t"}},
	{"create trigger", "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()", []string{"access:ddl:app.t"}},
	{"shadow a builtin", "CREATE OR REPLACE FUNCTION app.lower(text) RETURNS text LANGUAGE sql AS 'select $1'", []string{"class:ddl"}},
	{"disable triggers", "ALTER TABLE t DISABLE TRIGGER ALL", []string{"access:ddl:app.t"}},
	{"create like", "CREATE TABLE x (LIKE t INCLUDING ALL)", []string{"class:ddl"}},
	{"grant", "GRANT ALL ON t TO PUBLIC", []string{"access:ddl:app.t"}},
	{"default privileges", "ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO PUBLIC", []string{"class:ddl"}},
	{"vacuum", "VACUUM FULL t", []string{"class:ddl"}},
	{"cluster", "CLUSTER t USING t_pkey", []string{"class:ddl"}},
	{"reindex", "REINDEX TABLE t", []string{"class:ddl"}},
	{"checkpoint", "CHECKPOINT", []string{"class:ddl"}},
	{"create extension", "CREATE EXTENSION IF NOT EXISTS dblink", []string{"class:ddl"}},
	{"security label", "SECURITY LABEL ON TABLE t IS 'x'", []string{"class:ddl"}},
	{"comment", "COMMENT ON TABLE t IS 'x'", []string{"access:ddl:app.t"}},

	// COPY in every form.
	{"copy to program", "COPY t TO PROGRAM 'id'", []string{"forbidden"}},
	{"copy from program", "COPY t FROM PROGRAM 'id'", []string{"forbidden"}},
	{"copy query to program", "COPY (SELECT 1) TO PROGRAM 'id'", []string{"forbidden"}},
	{"copy to file", "COPY t TO '/tmp/x'", []string{"forbidden"}},
	{"copy from file", "COPY t FROM '/etc/passwd'", []string{"forbidden"}},
	{"copy out", "COPY t TO STDOUT", []string{"access:copy_out:app.t"}},
	{"copy query out", "COPY (SELECT * FROM t) TO STDOUT", []string{"access:copy_out:app.t"}},
	{"copy delete returning", "COPY (DELETE FROM t RETURNING *) TO STDOUT", []string{"access:delete:app.t"}},
	{"copy in", "COPY t FROM STDIN", []string{"access:copy_in:app.t"}},
	{"copy in where", "COPY t FROM STDIN WHERE lo_unlink(1) = 1", []string{"function:lo_unlink"}},

	// Functions with side effects or reach.
	{"lo_import", "SELECT lo_import('/etc/passwd')", []string{"function:lo_import"}},
	{"lo_export", "SELECT lo_export(1, '/tmp/x')", []string{"function:lo_export"}},
	{"lo_create", "SELECT lo_create(0)", []string{"function:lo_create"}},
	{"lo_from_bytea", "SELECT lo_from_bytea(0, 'x')", []string{"function:lo_from_bytea"}},
	{"lo_put", "SELECT lo_put(1, 0, 'x')", []string{"function:lo_put"}},
	{"lo_open lowrite", "SELECT lowrite(lo_open(1, 131072), 'x')", []string{"function:lowrite", "function:lo_open"}},
	{"lo_get read", "SELECT lo_get(1)", []string{"function:lo_get"}},
	{"lo_unlink", "SELECT lo_unlink(1)", []string{"function:lo_unlink"}},
	{"set_config role", "SELECT set_config('role', 'postgres', false)", []string{"function:set_config"}},
	{"set_config read only", "SELECT set_config('default_transaction_read_only', 'off', false)", []string{"function:set_config"}},
	{"set_config qualified", "SELECT pg_catalog.set_config('search_path', 'evil', false)", []string{"function:pg_catalog.set_config"}},
	{"set_config in where", "SELECT 1 FROM t WHERE set_config('role', 'x', true) IS NOT NULL", []string{"function:set_config"}},
	// Values handed to functions outside the safe set may be stored or
	// sent back elsewhere (application_name returns in ParameterStatus, a
	// sequence keeps its value, pg_locks shows lock keys).
	{"masked into set_config", "SELECT set_config('application_name', (SELECT email FROM users LIMIT 1), false)", []string{"filter:app.users.email"}},
	{"masked into setval", "SELECT count(*) FROM (SELECT setval('s', length(email)) FROM users) x", []string{"filter:app.users.email"}},
	{"masked into advisory lock", "SELECT count(*) FROM (SELECT pg_advisory_lock(length(email)) FROM users) x", []string{"filter:app.users.email"}},
	{"masked into notify", "SELECT pg_notify('c', email) FROM users", []string{"filter:app.users.email"}},

	// set_config obeys the rules of SET whatever the grant names.
	{"set_config read only forbidden", "SELECT set_config('transaction_read_only', 'off', true)", []string{"forbidden", "function:set_config"}},
	{"set_config role forbidden", "SELECT pg_catalog.set_config('role', 'postgres', false)", []string{"forbidden"}},
	{"set_config search_path forbidden", "SELECT * FROM set_config('search_path', 'evil', false)", []string{"forbidden"}},
	{"set_config session authorization forbidden", "SELECT set_config('session_authorization', 'postgres', false)", []string{"forbidden"}},
	{"set_config computed name", "SELECT set_config(current_setting('x'), 'off', false)", []string{"forbidden"}},
	{"set_config custom setting", "SELECT set_config('app.tenant', '1', false)", []string{"forbidden"}},
	{"set_config encoding", "SELECT set_config('client_encoding', 'SJIS', false)", []string{"forbidden"}},
	{"set_config in cte", "WITH s AS (SELECT set_config('search_path', 'x', true)) SELECT * FROM s", []string{"forbidden"}},

	// Large-object writes run even in a read-only transaction: they need
	// a write class on pg_catalog.pg_largeobject.
	{"lo_create writes", "SELECT lo_create(0)", []string{"access:insert:pg_catalog.pg_largeobject"}},
	{"lo_from_bytea writes", "SELECT pg_catalog.lo_from_bytea(0, 'x')", []string{"access:insert:pg_catalog.pg_largeobject"}},
	{"lo_import writes", "SELECT lo_import('/etc/passwd')", []string{"access:insert:pg_catalog.pg_largeobject"}},
	{"lo_put writes", "SELECT lo_put(1, 0, 'x')", []string{"access:update:pg_catalog.pg_largeobject"}},
	{"lowrite writes", "SELECT lowrite(lo_open(1, 131072), 'x')", []string{"access:update:pg_catalog.pg_largeobject"}},
	{"lo_unlink writes", "SELECT 1 FROM t WHERE lo_unlink(1) = 1", []string{"access:delete:pg_catalog.pg_largeobject"}},
	// Effects on other sessions and the server that PostgreSQL lets
	// through a read-only transaction need a grant that may write.
	{"pg_notify needs a write", "SELECT pg_notify('ch', 'x')", []string{"access:update:"}},
	{"advisory lock needs a write", "SELECT pg_catalog.pg_advisory_lock(4242)", []string{"access:update:"}},
	{"advisory xact lock needs a write", "SELECT 1 FROM t WHERE pg_try_advisory_xact_lock(id)", []string{"access:update:"}},
	{"advisory unlock needs a write", "SELECT pg_advisory_unlock_all()", []string{"access:update:"}},
	{"terminate needs a write", "SELECT pg_terminate_backend(1)", []string{"access:update:"}},
	{"reload needs a write", "SELECT pg_reload_conf()", []string{"access:update:"}},
	{"slot needs a write", "SELECT * FROM pg_create_physical_replication_slot('s')", []string{"access:update:"}},
	{"nextval", "SELECT nextval('seq')", []string{"function:nextval"}},
	{"setval", "SELECT setval('seq', 1)", []string{"function:setval"}},
	{"advisory lock", "SELECT pg_advisory_lock(1)", []string{"function:pg_advisory_lock"}},
	{"advisory xact lock", "SELECT pg_try_advisory_xact_lock(1)", []string{"function:pg_try_advisory_xact_lock"}},
	{"terminate backend", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity", []string{"function:pg_terminate_backend"}},
	{"terminate qualified", "SELECT pg_catalog.pg_terminate_backend(1)", []string{"function:pg_catalog.pg_terminate_backend"}},
	{"cancel backend", "SELECT pg_cancel_backend(1)", []string{"function:pg_cancel_backend"}},
	{"reload conf", "SELECT pg_reload_conf()", []string{"function:pg_reload_conf"}},
	{"sleep", "SELECT pg_sleep(10)", []string{"function:pg_sleep"}},
	{"read file", "SELECT pg_read_file('/etc/passwd')", []string{"function:pg_read_file"}},
	{"read binary file", "SELECT pg_read_binary_file('/etc/passwd')", []string{"function:pg_read_binary_file"}},
	{"ls dir", "SELECT * FROM pg_ls_dir('.')", []string{"function:pg_ls_dir"}},
	{"stat file", "SELECT pg_stat_file('x')", []string{"function:pg_stat_file"}},
	{"dblink", "SELECT dblink_exec('dbname=test', 'DELETE FROM t')", []string{"function:dblink_exec"}},
	{"dblink table", "SELECT * FROM dblink('dbname=test', 'SELECT 1') AS x(a int)", []string{"function:dblink"}},
	{"query_to_xml runs sql", "SELECT query_to_xml('DELETE FROM t RETURNING 1', true, true, '')", []string{"function:query_to_xml"}},
	{"table_to_xml reads a table", "SELECT table_to_xml('secret', true, true, '')", []string{"function:table_to_xml"}},
	{"cursor_to_xml", "SELECT cursor_to_xml('c', 1, true, true, '')", []string{"function:cursor_to_xml"}},
	{"ts_stat runs sql", "SELECT * FROM ts_stat('SELECT v FROM t')", []string{"function:ts_stat"}},
	{"pg_notify", "SELECT pg_notify('ch', 'x')", []string{"function:pg_notify"}},
	{"txid", "SELECT txid_current()", []string{"function:txid_current"}},
	{"replication slot", "SELECT pg_create_logical_replication_slot('s', 'test_decoding')", []string{"function:pg_create_logical_replication_slot"}},
	{"switch wal", "SELECT pg_switch_wal()", []string{"function:pg_switch_wal"}},
	{"stat reset", "SELECT pg_stat_reset()", []string{"function:pg_stat_reset"}},
	{"user function", "SELECT lower(x) FROM t WHERE app.evil(x)", []string{"function:app.evil"}},
	{"user function unqualified", "SELECT evil()", []string{"function:evil"}},
	{"quoted builtin name", `SELECT "LOWER"('x')`, []string{`function:LOWER`}},
	{"shadowing schema", "SELECT public.lower('x')", []string{"function:public.lower"}},
	// What the search path resolves: PostgreSQL takes pg_catalog's unless
	// the path's schema holds a better match, which the proxy looks up.
	{"unqualified builtin", "SELECT lower(v) FROM t", []string{"builtin:lower"}},
	{"field notation builtin", "SELECT t.to_json FROM t", []string{"builtin:to_json"}},
	{"qualified builtin", "SELECT pg_catalog.lower(v) FROM t", []string{"nobuiltin:lower"}},
	{"operator", "SELECT 1 FROM t WHERE v ## 'x'", []string{"operator:##"}},
	{"operator in select", "SELECT v || 'x' FROM t", []string{"operator:||"}},
	{"in list operator", "SELECT 1 FROM t WHERE v IN ('a', 'b')", []string{"operator:="}},
	{"between operators", "SELECT 1 FROM t WHERE x BETWEEN 1 AND 2", []string{"operator:<=", "operator:>="}},
	{"case operator", "SELECT CASE v WHEN 'a' THEN 1 END FROM t", []string{"operator:="}},
	{"using operator", "SELECT 1 FROM t JOIN s USING (id)", []string{"operator:="}},
	{"in subquery operator", "SELECT 1 FROM t WHERE v IN (SELECT v FROM s)", []string{"operator:="}},
	{"any subquery operator", "SELECT 1 FROM t WHERE v ~~ ANY (SELECT v FROM s)", []string{"operator:~~"}},
	{"order by using", "SELECT v FROM t ORDER BY v USING ~<~", []string{"operator:~<~"}},
	{"aggregate order using", "SELECT string_agg(v, ',' ORDER BY v USING ~>~) FROM t", []string{"operator:~>~"}},
	{"qualified operator", "SELECT 1 OPERATOR(app.+) 1", []string{"function:app.+"}},
	{"qualified operator in filter", "SELECT 1 FROM t WHERE v OPERATOR(public.##) 'x'", []string{"function:public.##"}},
	{"catalog operator", "SELECT 1 OPERATOR(pg_catalog.+) 1", []string{"nooperator:+"}},
	{"procedure result", "CALL proc()", []string{"out:app.t.x"}},
	// SYSTEM_USER is a column reference before PostgreSQL 16.
	{"system_user column", "SELECT system_user FROM t", []string{"out:app.t.system_user"}},
	{"system_user filter", "SELECT 1 FROM t WHERE system_user = 'x'", []string{"filter:app.t.system_user"}},
	// Unqualified relations: pg_catalog's when it has one of that name
	// (searched first), the path's schema otherwise, pg_* or not.
	{"catalog relation", "SELECT * FROM pg_class", []string{"access:select:pg_catalog.pg_class"}},
	{"pg_ name outside the catalog", "SELECT * FROM pg_secret", []string{"access:select:app.pg_secret", "noaccess:pg_catalog.pg_secret"}},
	{"pg_ name written to", "DELETE FROM pg_secret", []string{"access:delete:app.pg_secret"}},
	// pg_settings' rules call set_config with any name.
	{"update pg_settings", "UPDATE pg_settings SET setting = 'evil' WHERE name = 'search_path'", []string{"forbidden"}},
	{"update pg_settings qualified", "UPDATE pg_catalog.pg_settings SET setting = 'off' WHERE name = 'default_transaction_read_only'", []string{"forbidden"}},
	{"insert pg_settings", "WITH x AS (UPDATE pg_settings SET setting = 'x' RETURNING 1) SELECT 1", []string{"forbidden"}},
	{"table function", "SELECT * FROM my_func() f", []string{"function:my_func"}},
	{"rows from", "SELECT * FROM ROWS FROM (generate_series(1, 2), my_func()) x", []string{"function:my_func"}},
	{"function in values", "VALUES ((SELECT lo_import('/x')))", []string{"function:lo_import"}},
	{"function in order by", "SELECT 1 FROM t ORDER BY pg_sleep(1)", []string{"function:pg_sleep"}},
	{"function in limit", "SELECT 1 FROM t LIMIT (SELECT nextval('s'))", []string{"function:nextval"}},
	{"function in tablesample", "SELECT * FROM t TABLESAMPLE SYSTEM (pg_sleep(1)::int)", []string{"function:pg_sleep"}},
	{"function in xmltable", "SELECT * FROM XMLTABLE('/a' PASSING (SELECT lo_get(1)::text::xml) COLUMNS x int)", []string{"function:lo_get"}},
	{"function in json_table", "SELECT * FROM JSON_TABLE(to_jsonb(nextval('s')), '$' COLUMNS (x int PATH '$')) j", []string{"function:nextval"}},
	{"function in any array", "SELECT * FROM t WHERE x = ANY (ARRAY(SELECT lo_unlink(1)))", []string{"function:lo_unlink"}},
	{"function in join", "SELECT 1 FROM t JOIN s ON pg_sleep(1) IS NULL", []string{"function:pg_sleep"}},
	{"function in window", "SELECT sum(x) OVER (ORDER BY nextval('s')) FROM t", []string{"function:nextval"}},
	{"function in case", "SELECT CASE WHEN x > 0 THEN setval('s', 1) END FROM t", []string{"function:setval"}},
	{"function in default", "CREATE TABLE x (id int DEFAULT pg_terminate_backend(1))", []string{"function:pg_terminate_backend"}},
	{"function in set returning", "SELECT generate_series(1, lo_creat(1))", []string{"function:lo_creat"}},

	// EXPLAIN, PREPARE, EXECUTE, cursors.
	{"explain analyze delete", "EXPLAIN ANALYZE DELETE FROM t", []string{"access:delete:app.t"}},
	{"explain options insert", "EXPLAIN (ANALYZE, BUFFERS) INSERT INTO t VALUES (1)", []string{"access:insert:app.t"}},
	{"explain analyze function", "EXPLAIN ANALYZE SELECT lo_import('/x')", []string{"function:lo_import"}},
	{"explain create table as", "EXPLAIN ANALYZE CREATE TABLE z AS SELECT 1", []string{"class:ddl"}},
	{"explain execute", "EXPLAIN ANALYZE EXECUTE p", []string{"forbidden"}},
	{"prepare delete", "PREPARE p AS DELETE FROM t", []string{"access:delete:app.t"}},
	{"prepare with types", "PREPARE p (int) AS UPDATE t SET x = $1", []string{"access:update:app.t"}},
	{"execute", "EXECUTE p", []string{"forbidden"}},
	{"prepare and execute", "PREPARE p AS SELECT 1; EXECUTE p", []string{"forbidden"}},
	{"execute with function args", "EXECUTE p(nextval('s'))", []string{"forbidden", "function:nextval"}},
	{"cursor over writable cte", "DECLARE c CURSOR WITH HOLD FOR WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", []string{"access:delete:app.t"}},
	{"cursor over function", "DECLARE c CURSOR FOR SELECT nextval('s')", []string{"function:nextval"}},
	{"cursor for update", "DECLARE c CURSOR FOR SELECT * FROM t FOR UPDATE", []string{"access:update:app.t"}},

	// Procedures and code blocks.
	{"do block", "DO $$ BEGIN DELETE FROM t; END $$", []string{"class:call", "function:pg_catalog.do"}},
	{"do language", "DO LANGUAGE plpgsql 'BEGIN PERFORM 1; END'", []string{"class:call", "function:pg_catalog.do"}},
	{"call", "CALL proc()", []string{"class:call", "function:proc"}},
	{"call qualified", "CALL app.proc(nextval('s'))", []string{"class:call", "function:app.proc", "function:nextval"}},

	// Locks.
	{"select for update", "SELECT * FROM t FOR UPDATE", []string{"access:update:app.t"}},
	{"select for share", "SELECT * FROM t FOR SHARE SKIP LOCKED", []string{"access:update:app.t"}},
	{"select for key share of", "SELECT * FROM t, s FOR KEY SHARE OF s", []string{"access:update:app.s"}},
	{"lock table", "LOCK TABLE t IN ACCESS EXCLUSIVE MODE", []string{"access:update:app.t"}},
	{"for update of subquery", "SELECT * FROM (SELECT * FROM t) s FOR UPDATE", []string{"access:update:app.t"}},
	{"for update of subquery alias", "SELECT * FROM s AS x, (SELECT id FROM t) d FOR NO KEY UPDATE OF d", []string{"access:update:app.t"}},
	{"for share of cte", "WITH w AS (SELECT * FROM t) SELECT * FROM w FOR SHARE", []string{"access:update:app.t"}},
	{"lock only", "LOCK ONLY app.t", []string{"access:update:app.t"}},

	// Side channels.
	{"listen", "LISTEN ch", []string{"forbidden"}},
	{"notify", "NOTIFY ch, 'x'", []string{"forbidden"}},
	{"unlisten", "UNLISTEN *", []string{"forbidden"}},

	// Identity, name resolution and the read-only wall.
	{"set role", "SET ROLE postgres", []string{"forbidden"}},
	{"set session role", "SET SESSION ROLE postgres", []string{"forbidden"}},
	{"set local role", "SET LOCAL ROLE postgres", []string{"forbidden"}},
	{"set role none", "SET ROLE NONE", []string{"forbidden"}},
	{"reset role", "RESET ROLE", []string{"forbidden"}},
	{"quoted role", `SET "role" = 'postgres'`, []string{"forbidden"}},
	{"session authorization", "SET SESSION AUTHORIZATION postgres", []string{"forbidden"}},
	{"session authorization default", "SET SESSION AUTHORIZATION DEFAULT", []string{"forbidden"}},
	{"reset session authorization", "RESET SESSION AUTHORIZATION", []string{"forbidden"}},
	{"search_path", "SET search_path = evil, public", []string{"forbidden"}},
	{"set schema", "SET SCHEMA 'evil'", []string{"forbidden"}},
	{"search_path default", "SET search_path TO DEFAULT", []string{"forbidden"}},
	{"reset search_path", "RESET search_path", []string{"forbidden"}},
	{"local search_path", "SET LOCAL search_path = evil", []string{"forbidden"}},
	{"read only off", "SET default_transaction_read_only = off", []string{"forbidden"}},
	{"transaction_read_only off", "SET transaction_read_only TO off", []string{"forbidden"}},
	{"local read only", "SET LOCAL transaction_read_only = false", []string{"forbidden"}},
	{"reset read only", "RESET default_transaction_read_only", []string{"forbidden"}},
	{"session characteristics", "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", []string{"readwrite"}},
	{"set transaction read write", "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE", []string{"readwrite"}},
	{"begin read write", "BEGIN READ WRITE", []string{"readwrite"}},
	{"start transaction read write", "START TRANSACTION ISOLATION LEVEL REPEATABLE READ READ WRITE", []string{"readwrite"}},
	{"client encoding sjis", "SET client_encoding = 'SJIS'", []string{"forbidden"}},
	{"set names big5", "SET NAMES 'BIG5'", []string{"forbidden"}},
	{"client encoding identifier", "SET client_encoding TO gbk", []string{"forbidden"}},
	{"replication role", "SET session_replication_role = replica", []string{"forbidden"}},
	{"custom setting", "SET app.tenant_id = '42'", []string{"forbidden"}},
	{"conforming strings", "SET standard_conforming_strings = off", []string{"forbidden"}},
	{"reset all", "RESET ALL", []string{"forbidden"}},
	{"discard all", "DISCARD ALL", []string{"forbidden"}},
	{"alter role set", "ALTER ROLE CURRENT_USER SET default_transaction_read_only = off", []string{"forbidden"}},
	{"alter database set", "ALTER DATABASE test SET search_path = evil", []string{"forbidden"}},
	{"alter system", "ALTER SYSTEM SET default_transaction_read_only = off", []string{"forbidden"}},
	{"create role", "CREATE ROLE evil SUPERUSER", []string{"forbidden"}},
	{"grant role", "GRANT pg_read_server_files TO CURRENT_USER", []string{"forbidden"}},
	{"load", "LOAD 'auto_explain'", []string{"forbidden"}},
	{"prepare transaction", "PREPARE TRANSACTION 'x'", []string{"forbidden"}},
	{"subscription", "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p", []string{"forbidden"}},
	{"user mapping", "CREATE USER MAPPING FOR CURRENT_USER SERVER s OPTIONS (password 'x')", []string{"forbidden"}},

	// Name resolution.
	{"quoted schema", `SELECT * FROM "Public"."Orders"`, []string{"access:select:Public.Orders", "noaccess:public.orders"}},
	{"case folding", `SELECT * FROM PUBLIC.ORDERS`, []string{"access:select:public.orders"}},
	{"unicode escape", `SELECT * FROM U&"\0074"`, []string{"access:select:app.t"}},
	{"unicode escape uescape", `SELECT * FROM U&"!0074" UESCAPE '!'`, []string{"access:select:app.t"}},
	{"dollar quoted table name", `SELECT * FROM "t"`, []string{"access:select:app.t"}},
	{"only", `SELECT * FROM ONLY t`, []string{"access:select:app.t"}},
	{"table syntax", `TABLE app.t`, []string{"access:select:app.t"}},
	{"cte shadows nothing", `WITH t AS (SELECT 1) SELECT * FROM app.t`, []string{"access:select:app.t"}},
	{"catalog name", `SELECT * FROM test.app.t`, []string{"access:select:app.t"}},
	{"pg catalog table", `SELECT * FROM pg_authid`, []string{"access:select:pg_catalog.pg_authid"}},
	{"information schema", `SELECT * FROM information_schema.tables`, []string{"access:select:information_schema.tables"}},

	// Masking leaks by inference and by lineage (users.email is "masked").
	{"filter where", "SELECT id FROM users WHERE email LIKE 'a%'", []string{"filter:app.users.email"}},
	{"filter function of column", "SELECT id FROM users WHERE substr(email, 1, 1) = 'a'", []string{"filter:app.users.email"}},
	{"filter order", "SELECT id FROM users ORDER BY email", []string{"filter:app.users.email"}},
	{"filter order position", "SELECT id, email FROM users ORDER BY 2", []string{"filter:app.users.email"}},
	{"filter group", "SELECT count(*) FROM users GROUP BY email", []string{"filter:app.users.email"}},
	{"filter group sets", "SELECT count(*) FROM users GROUP BY GROUPING SETS ((email), ())", []string{"filter:app.users.email"}},
	{"filter having", "SELECT count(*) FROM users HAVING max(email) > 'm'", []string{"filter:app.users.email"}},
	{"filter join on", "SELECT u.id FROM users u JOIN s ON s.v::text = u.email", []string{"filter:app.users.email"}},
	{"filter join using", "SELECT id FROM users JOIN s USING (email)", []string{"filter:app.users.email"}},
	{"filter natural join", "SELECT id FROM users NATURAL JOIN s", []string{"filter:app.users.email"}},
	{"filter window", "SELECT id, row_number() OVER (ORDER BY email) FROM users", []string{"filter:app.users.email"}},
	{"filter window partition", "SELECT id, count(*) OVER (PARTITION BY email) FROM users", []string{"filter:app.users.email"}},
	{"filter named window", "SELECT id, rank() OVER w FROM users WINDOW w AS (ORDER BY email)", []string{"filter:app.users.email"}},
	{"filter distinct on", "SELECT DISTINCT ON (email) id FROM users", []string{"filter:app.users.email"}},
	{"filter aggregate order", "SELECT string_agg(id::text, ',' ORDER BY email) FROM users", []string{"filter:app.users.email"}},
	{"filter aggregate filter", "SELECT count(*) FILTER (WHERE email LIKE 'a%') FROM users", []string{"filter:app.users.email"}},
	{"filter limit subquery", "SELECT id FROM users LIMIT (SELECT length(email) FROM users LIMIT 1)", []string{"filter:app.users.email"}},
	{"filter in subquery", "SELECT id FROM users WHERE id IN (SELECT id FROM users WHERE email = 'x')", []string{"filter:app.users.email"}},
	{"filter correlated unqualified", "SELECT id FROM users u WHERE EXISTS (SELECT 1 FROM s WHERE email = 'x')", []string{"filter:app.users.email"}},
	{"filter correlated qualified", "SELECT id FROM users u WHERE (SELECT u.email) = 'x'", []string{"filter:app.users.email"}},
	{"filter through derived", "SELECT id FROM (SELECT * FROM users) d WHERE d.email = 'x'", []string{"filter:app.users.email"}},
	{"filter through cte", "WITH c AS (SELECT email AS e, id FROM users) SELECT id FROM c WHERE e = 'x'", []string{"filter:app.users.email"}},
	{"filter column alias", "SELECT i FROM users AS u(i, e) WHERE e = 'x'", []string{"filter:app.users.email"}},
	{"filter case in where", "SELECT id FROM users WHERE CASE WHEN email > 'm' THEN true END", []string{"filter:app.users.email"}},
	{"filter whole row", "SELECT id FROM users u WHERE u::text LIKE '%@x%'", []string{"filter:app.users.email"}},
	{"filter update where", "UPDATE users SET id = id WHERE email = 'x'", []string{"filter:app.users.email"}},
	{"filter delete where", "DELETE FROM users WHERE email = 'x'", []string{"filter:app.users.email"}},
	{"filter union order", "SELECT email FROM users UNION SELECT 'x' ORDER BY 1", []string{"filter:app.users.email"}},
	{"copy masked into another table", "INSERT INTO s (email) SELECT email FROM users", []string{"writes:app.users.email"}},
	{"copy masked into another column", "UPDATE users SET name = email", []string{"writes:app.users.email"}},
	{"copy masked by subquery", "UPDATE s SET email = (SELECT email FROM users LIMIT 1)", []string{"writes:app.users.email"}},
	{"copy masked through values", "INSERT INTO s (email) VALUES ((SELECT upper(email) FROM users LIMIT 1))", []string{"writes:app.users.email"}},
	{"copy masked in writable cte", "WITH i AS (INSERT INTO s (email) SELECT email FROM users RETURNING 1) SELECT count(*) FROM i", []string{"writes:app.users.email"}},
	{"copy masked by upsert", "INSERT INTO s (id) SELECT id FROM users ON CONFLICT (id) DO UPDATE SET email = (SELECT email FROM users LIMIT 1)", []string{"writes:app.users.email"}},
	{"copy masked by merge", "MERGE INTO s USING users u ON s.id = u.id WHEN MATCHED THEN UPDATE SET email = u.email", []string{"writes:app.users.email"}},
	{"copy masked by merge insert", "MERGE INTO s USING users u ON s.id = u.id WHEN NOT MATCHED THEN INSERT (email) VALUES (u.email)", []string{"writes:app.users.email"}},
	{"copy masked by create table as", "CREATE TABLE copy AS SELECT * FROM users", []string{"writes:app.users.email"}},
	{"copy masked by select into", "SELECT email INTO copy FROM users", []string{"writes:app.users.email"}},
	{"copy masked by view", "CREATE VIEW v AS SELECT lower(email) FROM users", []string{"writes:app.users.email"}},
	{"copy masked by prepare", "PREPARE p AS INSERT INTO s (email) SELECT email FROM users", []string{"writes:app.users.email"}},
	{"out direct", "SELECT email FROM users", []string{"out:app.users.email"}},
	{"out expression", "SELECT upper(email) || '' FROM users", []string{"out:app.users.email"}},
	{"out cast", "SELECT email::bytea FROM users", []string{"out:app.users.email"}},
	{"out aggregate", "SELECT array_agg(email) FROM users", []string{"out:app.users.email"}},
	{"out case", "SELECT CASE WHEN email LIKE 'a%' THEN 1 END FROM users", []string{"out:app.users.email"}},
	{"out whole row", "SELECT u FROM users u", []string{"out:app.users.email"}},
	{"out whole row json", "SELECT to_json(users) FROM users", []string{"out:app.users.email"}},
	{"out field of whole row", "SELECT (u).email FROM users u", []string{"out:app.users.email"}},
	{"out scalar subquery", "SELECT (SELECT email FROM users LIMIT 1)", []string{"out:app.users.email"}},
	{"out array subquery", "SELECT ARRAY(SELECT email FROM users)", []string{"out:app.users.email"}},
	{"out derived", "SELECT x.e FROM (SELECT email e FROM users) x", []string{"out:app.users.email"}},
	{"out cte", "WITH c AS (SELECT email FROM users) SELECT * FROM c", []string{"out:app.users.email"}},
	{"out union", "SELECT 'x' UNION ALL SELECT email FROM users", []string{"out:app.users.email"}},
	{"out star", "SELECT * FROM users", []string{"out:app.users.email"}},
	{"out star of join", "SELECT * FROM s, users", []string{"out:app.users.email"}},
	{"out qualified star", "SELECT u.* FROM users u", []string{"out:app.users.email"}},
	{"out column alias", "SELECT e FROM users AS u(i, e)", []string{"out:app.users.email"}},
	{"out user function", "SELECT my_func(id) FROM users", []string{"out:app.users.email"}},
	{"out lateral", "SELECT l.v FROM users u, LATERAL (SELECT u.email AS v) l", []string{"out:app.users.email"}},
	{"out returning", "UPDATE users SET id = id RETURNING email", []string{"out:app.users.email"}},
	{"out returning star", "DELETE FROM users RETURNING *", []string{"out:app.users.email"}},
	{"out recursive", "WITH RECURSIVE r(a, b) AS (SELECT email, 'x' FROM users UNION ALL SELECT b, a FROM r WHERE false) SELECT b FROM r", []string{"out:app.users.email"}},
	{"out copy", "COPY users TO STDOUT", []string{"out:app.users.email"}},
	{"out copy query", "COPY (SELECT lower(email) FROM users) TO STDOUT", []string{"out:app.users.email"}},
	{"out jsonb agg", "SELECT jsonb_agg(u) FROM users u", []string{"out:app.users.email"}},
	{"out values subquery", "VALUES ((SELECT email FROM users LIMIT 1))", []string{"out:app.users.email"}},
	{"out json_table", "SELECT j.* FROM users u, JSON_TABLE(to_jsonb(u.email), '$' COLUMNS (v text PATH '$')) j", []string{"out:app.users.email"}},
	// Field notation: q.f is f(q) when q has no column f, a call of f with
	// the whole row that the parser writes as a column reference.
	{"field notation to_json", "SELECT u.to_json FROM users u", []string{"out:app.users.email"}},
	{"field notation qualified", "SELECT app.users.row_to_json FROM app.users", []string{"out:app.users.email"}},
	{"field notation concat filter", "SELECT id FROM users u WHERE u.concat LIKE '%@x%'", []string{"filter:app.users.email"}},
	{"field notation through star", "SELECT d.to_jsonb FROM (SELECT * FROM users) d", []string{"out:app.users.email"}},
	{"field notation record_out", "SELECT u.record_out FROM users u", []string{"function:record_out", "out:app.users.email"}},
	{"field notation copied", "INSERT INTO s (v) SELECT u.quote_literal FROM users u", []string{"writes:app.users.email"}},

	// Set operations and DISTINCT compare rows: filters.
	{"filter intersect", "SELECT count(*) FROM (SELECT email FROM users INTERSECT SELECT 'a@x') i", []string{"filter:app.users.email"}},
	{"filter intersect all", "SELECT 1 FROM (SELECT email FROM users INTERSECT ALL SELECT 'a@x') i", []string{"filter:app.users.email"}},
	{"filter except right", "SELECT count(*) FROM (SELECT 'a@x' EXCEPT SELECT email FROM users) e", []string{"filter:app.users.email"}},
	{"filter union distinct", "SELECT count(*) FROM (SELECT email FROM users UNION SELECT 'a@x') u", []string{"filter:app.users.email"}},
	{"filter distinct", "SELECT count(*) FROM (SELECT DISTINCT substr(email, 1, 1) FROM users) d", []string{"filter:app.users.email"}},
	{"filter distinct star", "SELECT count(*) FROM (SELECT DISTINCT * FROM users) d", []string{"filter:app.users.email"}},

	// Positions past a star, and inside grouping sets.
	{"filter order position past star", "SELECT * FROM users ORDER BY 3", []string{"filter:app.users.email"}},
	{"filter order position past qualified star", "SELECT 1, u.* FROM users u ORDER BY 4", []string{"filter:app.users.email"}},
	{"filter group position in rollup", "SELECT substr(email, 1, 1), count(*) FROM users GROUP BY ROLLUP (1)", []string{"filter:app.users.email"}},
	{"filter group alias in grouping sets", "SELECT substr(email, 1, 1) AS f, count(*) FROM users GROUP BY GROUPING SETS ((f), ())", []string{"filter:app.users.email"}},

	// Row counts decided by function arguments.
	{"filter srf in from", "SELECT count(*) FROM users u, regexp_matches(u.email, '^a') m", []string{"filter:app.users.email"}},
	{"filter srf series", "SELECT count(*) FROM users u, generate_series(1, length(u.email)) g", []string{"filter:app.users.email"}},
	{"filter srf expandarray", "SELECT count(*) FROM (SELECT information_schema._pg_expandarray(array_fill(0, ARRAY[ascii(substr(email, 1, 1))])) FROM users) s", []string{"filter:app.users.email"}},
	{"filter srf in select", "SELECT count(*) FROM (SELECT unnest(string_to_array(email, '@')) FROM users) s", []string{"filter:app.users.email"}},
	{"filter user function in select", "SELECT count(*) FROM (SELECT app.rows_of(email) FROM users) s", []string{"filter:app.users.email"}},
	{"filter xmltable", "SELECT count(*) FROM users u, XMLTABLE('/r' PASSING xmlelement(name r, u.email) COLUMNS x text) t", []string{"filter:app.users.email"}},
	{"filter tablesample percentage", "SELECT count(*) FROM t TABLESAMPLE BERNOULLI ((SELECT ascii(email) FROM users LIMIT 1))", []string{"filter:app.users.email"}},
	{"filter tablesample seed", "SELECT count(*) FROM t TABLESAMPLE SYSTEM (50) REPEATABLE ((SELECT length(email) FROM users LIMIT 1))", []string{"filter:app.users.email"}},
	{"filter recursive search", "WITH RECURSIVE r(e) AS (SELECT email FROM users UNION ALL SELECT e FROM r WHERE false) SEARCH DEPTH FIRST BY e SET ord SELECT 1 FROM r ORDER BY ord", []string{"filter:app.users.email"}},
	{"filter recursive cycle", "WITH RECURSIVE r(e) AS (SELECT email FROM users UNION ALL SELECT e FROM r) CYCLE e SET c USING p SELECT count(*) FROM r", []string{"filter:app.users.email"}},
	{"out recursive cycle path", "WITH RECURSIVE r(e) AS (SELECT email FROM users UNION ALL SELECT e FROM r) CYCLE e SET c USING p SELECT p FROM r", []string{"out:app.users.email"}},

	// Values read where they are neither a result nor a filter: errors
	// computing them may print them.
	{"reads exists select list", "SELECT EXISTS (SELECT chr(salary) FROM users)", []string{"reads:app.users.salary"}},
	{"reads unused cte column", "WITH w AS MATERIALIZED (SELECT id, email::regclass AS r FROM users) SELECT count(*) FROM w", []string{"reads:app.users.email"}},
	{"reads explain analyze", "EXPLAIN ANALYZE SELECT chr(salary) FROM users", []string{"reads:app.users.salary"}},
	{"reads star in exists", "SELECT EXISTS (SELECT * FROM users)", []string{"reads:app.users.email"}},
	{"reads prepared", "PREPARE p AS SELECT EXISTS (SELECT chr(salary) FROM users)", []string{"reads:app.users.salary"}},

	// Catalogs holding copies of column values.
	{"pg_stats", "SELECT most_common_vals FROM pg_stats", []string{"forbidden"}},
	{"pg_stats qualified", "SELECT histogram_bounds FROM PG_CATALOG.PG_STATS", []string{"forbidden"}},
	{"pg_statistic", "SELECT stavalues1 FROM pg_catalog.pg_statistic", []string{"forbidden"}},
	{"pg_stats_ext", "SELECT * FROM pg_stats_ext_exprs", []string{"forbidden"}},
	{"pg_stats in subquery", "SELECT (SELECT count(*) FROM pg_stats WHERE attname = 'x')", []string{"forbidden"}},
	{"pg_stats copied", "COPY (SELECT * FROM pg_stats) TO STDOUT", []string{"forbidden"}},
}

func TestEscapes(t *testing.T) {
	opts := Options{SearchPath: []string{"app"}}
	for _, tc := range escapeCases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Analyze(tc.sql, opts)
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			for _, w := range tc.want {
				if !escapeHolds(res, w) {
					t.Errorf("%q: want %s; got %s", tc.sql, w, describe(res))
				}
			}
		})
	}
}

func escapeHolds(res []*Analyzed, want string) bool {
	kind, arg, _ := strings.Cut(want, ":")
	switch kind {
	case "builtin", "nobuiltin", "operator", "nooperator":
		found := false
		for _, r := range res {
			found = found || slices.Contains(r.Builtins, arg) && strings.HasSuffix(kind, "builtin") ||
				slices.Contains(r.Operators, arg) && strings.HasSuffix(kind, "operator")
		}
		return found != strings.HasPrefix(kind, "no")
	}
	if kind == "noaccess" {
		for _, r := range res {
			for _, x := range r.Statement.Accesses {
				if x.Table == arg {
					return false
				}
			}
		}
		return true
	}
	table := func(col string) string { return col[:strings.LastIndexByte(col, '.')] }
	for _, r := range res {
		st := r.Statement
		switch kind {
		case "forbidden":
			if st.Forbidden != "" {
				return true
			}
		case "readwrite":
			if r.ReadWrite {
				return true
			}
		case "class":
			for _, x := range st.Accesses {
				if x.Class == arg {
					return true
				}
			}
		case "access":
			class, tbl, _ := strings.Cut(arg, ":")
			for _, x := range st.Accesses {
				if x.Class == class && x.Table == tbl {
					return true
				}
			}
		case "function":
			if slices.Contains(st.Functions, arg) {
				return true
			}
		case "filter":
			if slices.Contains(st.FilterColumns, arg) || slices.Contains(st.FilterColumns, table(arg)+".*") {
				return true
			}
		case "reads":
			w := r.Reads
			if r.Prepared != nil {
				w = r.Prepared.Reads
			}
			if w.Unknown || slices.Contains(w.Sources, arg) || slices.Contains(w.Sources, table(arg)+".*") {
				return true
			}
		case "writes":
			w := r.Writes
			if w.Unknown || slices.Contains(w.Sources, arg) || slices.Contains(w.Sources, table(arg)+".*") {
				return true
			}
		case "out":
			for _, o := range r.Outputs {
				if o.Unknown || slices.Contains(o.Sources, arg) || slices.Contains(o.Sources, table(arg)+".*") {
					return true
				}
			}
		}
	}
	return false
}

func describe(res []*Analyzed) string {
	var b strings.Builder
	for _, r := range res {
		b.WriteString("\n  ")
		b.WriteString(r.Statement.Tag)
		for _, x := range r.Statement.Accesses {
			b.WriteString(" " + x.Class + ":" + x.Table)
		}
		b.WriteString(" functions=" + strings.Join(r.Statement.Functions, ","))
		b.WriteString(" filters=" + strings.Join(r.Statement.FilterColumns, ","))
		if r.Statement.Forbidden != "" {
			b.WriteString(" forbidden=" + r.Statement.Forbidden)
		}
		for _, o := range r.Outputs {
			b.WriteString(" out=" + strings.Join(o.Sources, "|"))
			if o.Unknown {
				b.WriteString("?")
			}
		}
	}
	return b.String()
}
