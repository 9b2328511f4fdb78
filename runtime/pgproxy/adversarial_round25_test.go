package pgproxy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Round 25 of the red team: database-level DDL through a superuser
// upstream. A grant's statement class ddl covers relations by table
// pattern, but DDL that names no relation is an access to table "",
// which every grant holding ddl covers; the upstream role is postgres, a
// superuser. So an agent granted ddl on public.PREFIX_app* only (ddl25,
// no masking) could do what only a superuser may, and so, through the
// database-level statements checkDDL lets pass under masking (DROP,
// COMMENT, VACUUM, CREATE SCHEMA), could ddler (masked).
//
// Holes found (each statement ran through the gateway as ddl25, most of
// them as ddler too, and PostgreSQL did it), closed in runtime/pgsql
// (dbddl.go, classify.go): forbidden for every grant with a reason:
//   - host code: CREATE FUNCTION ... LANGUAGE c AS '$libdir/plpgsql',
//     'plpgsql_call_handler' and LANGUAGE internal AS 'int4in' (any
//     language but sql and plpgsql), CREATE LANGUAGE ... HANDLER;
//   - other sessions: CREATE/ALTER/DROP EVENT TRIGGER (runs as the
//     upstream role on everyone's DDL), CREATE CAST (int4 AS text) WITH
//     FUNCTION f (every session's 42::text then ran f), CREATE DEFAULT
//     CONVERSION, CREATE ACCESS METHOD, CREATE TRANSFORM, operator
//     classes and families, text search parsers and templates, base types
//     (what PostgreSQL reserves to superusers);
//   - the server's files and other servers: CREATE/ALTER/DROP EXTENSION
//     (file_fdw, dblink, adminpack), ALTER EXTENSION ADD, CREATE FOREIGN
//     DATA WRAPPER, CREATE SERVER, IMPORT FOREIGN SCHEMA, CREATE FOREIGN
//     TABLE P_app_ft ... SERVER (a name the grant covers, reading
//     whatever the server reads), ALTER FOREIGN TABLE ... OPTIONS, DROP
//     USER MAPPING, CREATE/ALTER/DROP TABLESPACE, ALTER TABLE ALL IN
//     TABLESPACE;
//   - other databases: CREATE DATABASE, DROP DATABASE ... WITH (FORCE)
//     (which ends the sessions connected to it), ALTER DATABASE (rename,
//     owner, connection limit);
//   - every table: CREATE PUBLICATION FOR ALL TABLES / FOR TABLES IN
//     SCHEMA, VACUUM FULL, CLUSTER and REINDEX DATABASE/SCHEMA/SYSTEM
//     without a table (an exclusive lock on every table in turn);
//   - other roles: ALTER DEFAULT PRIVILEGES, GRANT/REVOKE ON ALL TABLES IN
//     SCHEMA and on schemas, databases, functions (pg_read_file), ...,
//     ALTER ... OWNER TO of non-relations (schemas, databases, functions),
//     CREATE SCHEMA AUTHORIZATION another role, SECURITY LABEL on them,
//     SECURITY DEFINER and LEAKPROOF functions, functions that SET role or
//     session_authorization, ALTER ROLE ... RENAME (a RenameStmt, not the
//     forbidden AlterRoleStmt);
//   - PostgreSQL's own objects and other agents' relations: CREATE [OR
//     REPLACE] FUNCTION pg_catalog.lower(text) (the analyzer trusts
//     pg_catalog and information_schema functions as built-ins), ALTER
//     FUNCTION ... SET SCHEMA pg_catalog, ALTER FUNCTION lower(text)
//     RENAME (a built-in written without a schema), ALTER SCHEMA ...
//     RENAME (every relation in it leaves its grants' and masking rules'
//     names), DROP SCHEMA ... CASCADE and DROP ... CASCADE of any
//     database-level object (dropping columns, views and triggers of
//     tables no grant covers).
//
// Also found: DROP TRIGGER/POLICY/RULE ... ON t and COMMENT ON
// TRIGGER/POLICY/RULE/CONSTRAINT ... ON t were ddl on "" instead of on t
// (DROP POLICY P_pol ON P_vic.t ran for a grant not covering it, masked
// or not), and the relations a CREATE SCHEMA s CREATE TABLE x creates were
// named public.x instead of s.x (now decided on s.x).
//
// Kept working (TestAdversarialRound25Ordinary): CREATE TABLE, INDEX,
// ALTER TABLE, VIEW, SCHEMA (AUTHORIZATION CURRENT_USER), COMMENT,
// ANALYZE, VACUUM of covered tables, and without masking functions in sql
// and plpgsql, triggers, statistics, GRANT/REVOKE on covered tables and
// publications of covered tables.
//
// Closed after the round (TestAdversarialRound25TrustedCode): a plpgsql
// or sql function runs any SQL as the upstream superuser, and a trigger on
// a covered table runs it on the grant's own INSERT: without masking, ddl
// on public.PREFIX_app* read tables no grant covers (and could COPY ... TO
// PROGRAM). Storing a function's body now needs the function grant
// pg_catalog.do (as DO does: code the gateway does not analyze), and a
// trigger, an operator, an aggregate or a range type calls the functions
// it names, which the grant must name (agent code25 holds both).

// round25Policy: ddl25 holds ddl (and writes) on public.PREFIX_app*
// only, without masking.
const round25Policy = `
role "ddl25" {
  postgres "adv" {
    statements = ["select", "insert", "update", "delete", "ddl"]
    tables     = ["public.PREFIX_app*"]
  }
}

agent "ddl25" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "ddl25"
  }
  roles = [role.ddl25]
}

# code25 may also store code: functions (pg_catalog.do, as DO needs) and
# triggers calling its own functions.
role "code25" {
  postgres "adv" {
    statements = ["select", "insert", "update", "delete", "ddl"]
    tables     = ["public.PREFIX_app*"]
    functions  = ["pg_catalog.do", "PREFIX_app_g"]
  }
}

agent "code25" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "code25"
  }
  roles = [role.code25]
}
`

// newAdvEnv25 is newAdvEnv with round25Policy added and the objects the
// attacks aim at: a role (P_r25), a schema no grant covers (P_vic, with
// a table, a trigger, a policy), a database with a session connected to
// it (P_db), a disabled event trigger, a foreign-data wrapper, server,
// user mapping and foreign table, a composite type and a function. It
// returns the session connected to P_db.
func newAdvEnv25(t *testing.T) (*advEnv, *pgconn.PgConn) {
	t.Helper()
	a := newAdvEnv(t)
	a.srv.cfg.Policy.(*enginePolicy).cur.Store(realPolicyWith(t, "testdata/adversarial", a.p, map[string]string{"round25.hcl": round25Policy}))
	t.Cleanup(func() {
		adminTry(t, a.sql("DROP OWNED BY P_r25"))
		adminTry(t, a.sql("DROP ROLE IF EXISTS P_r25"))
	})
	admin(t, a.sql("CREATE ROLE P_r25 NOLOGIN"))
	t.Cleanup(func() { adminTry(t, a.sql("DROP DATABASE IF EXISTS P_db WITH (FORCE)")) })
	admin(t, a.sql("CREATE DATABASE P_db"))
	t.Cleanup(func() {
		adminTry(t, a.sql(`DROP EVENT TRIGGER IF EXISTS P_evt0;
DROP FOREIGN TABLE IF EXISTS P_app_ft0;
DROP SERVER IF EXISTS P_srv0 CASCADE;
DROP FOREIGN DATA WRAPPER IF EXISTS P_fdw0 CASCADE;
DROP SCHEMA IF EXISTS P_vic CASCADE;
DROP FUNCTION IF EXISTS P_evf(), P_plain(), P_ty2t(P_ty);
DROP TYPE IF EXISTS P_ty CASCADE`))
	})
	admin(t, a.sql(`CREATE SCHEMA P_vic;
CREATE TABLE P_vic.t (id int, s text);
CREATE FUNCTION P_vic.trgf() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER P_trg BEFORE INSERT ON P_vic.t FOR EACH ROW EXECUTE FUNCTION P_vic.trgf();
CREATE POLICY P_pol ON P_vic.t USING (true);
CREATE FUNCTION P_plain() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION P_evf() RETURNS event_trigger LANGUAGE plpgsql AS 'BEGIN RAISE NOTICE ''r25''; END';
CREATE EVENT TRIGGER P_evt0 ON ddl_command_start WHEN TAG IN ('COMMENT') EXECUTE FUNCTION P_evf();
ALTER EVENT TRIGGER P_evt0 DISABLE;
CREATE TYPE P_ty AS (a int);
CREATE FUNCTION P_ty2t(P_ty) RETURNS text LANGUAGE sql AS 'SELECT ''cast''';
CREATE FOREIGN DATA WRAPPER P_fdw0;
CREATE SERVER P_srv0 FOREIGN DATA WRAPPER P_fdw0;
CREATE USER MAPPING FOR P_r25 SERVER P_srv0;
CREATE FOREIGN TABLE P_app_ft0 (l text) SERVER P_srv0 OPTIONS (filename '/nonexistent')`))
	victim := pgconnTo(t, strings.Replace(adminDSN, "dbname=test", "dbname="+a.p+"_db", 1))
	return a, victim
}

// adminTry runs SQL directly against PostgreSQL and only logs a failure
// (cleanups of what an attack may or may not have left).
func adminTry(t testing.TB, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Logf("admin: %v", err)
		return
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql); err != nil {
		t.Logf("cleanup %q: %v", sql, err)
	}
}

// quietly wraps a cleanup statement that fails when the attack left
// nothing to undo.
func quietly(sql string) string {
	return "DO $r25$BEGIN " + sql + "; EXCEPTION WHEN OTHERS THEN NULL; END$r25$"
}

// dbddlCase is one attack: sql runs through the gateway and must be
// refused (42501, naming reason when set); effect, run as the
// administrator afterwards, must return want (default "0": what the
// attack would have made is not there). cleanup undoes the attack should
// it have run; it runs whatever happens. Attacks that would change what
// every other test sees were they not refused (a cast between built-in
// types, a built-in function replaced or renamed) run inside a
// transaction they roll back; those that would lock every table of the
// database (VACUUM FULL, CLUSTER, REINDEX DATABASE) share their query
// string with a SET, so that PostgreSQL, were they not refused, would
// fail them in the implicit transaction block before any lock.
type dbddlCase struct {
	name    string
	sql     string
	reason  string // a part of the denial's reason; "" for a grant that does not cover it
	effect  string // "" when nothing is left to check
	want    string
	cleanup string
	simple  bool // several statements: the simple protocol only
}

var advRound25Cases = []dbddlCase{
	// Code outside the database.
	{name: "C function", sql: "CREATE FUNCTION P_app_c() RETURNS language_handler LANGUAGE c AS '$libdir/plpgsql', 'plpgsql_call_handler'",
		reason: "LANGUAGE c", effect: "SELECT count(*) FROM pg_proc WHERE proname = 'P_app_c'", cleanup: "DROP FUNCTION IF EXISTS P_app_c()"},
	{name: "internal function", sql: "CREATE FUNCTION P_app_i(cstring) RETURNS int LANGUAGE internal IMMUTABLE STRICT AS 'int4in'",
		reason: "LANGUAGE internal", effect: "SELECT count(*) FROM pg_proc WHERE proname = 'P_app_i'", cleanup: "DROP FUNCTION IF EXISTS P_app_i(cstring)"},
	{name: "internal procedure", sql: "CREATE PROCEDURE P_app_p() LANGUAGE internal AS 'int4in'",
		reason: "LANGUAGE internal", effect: "SELECT count(*) FROM pg_proc WHERE proname = 'P_app_p'", cleanup: "DROP PROCEDURE IF EXISTS P_app_p()"},
	{name: "C function replacing an own function", sql: "CREATE OR REPLACE FUNCTION P_plain() RETURNS int LANGUAGE c AS '$libdir/plpgsql', 'plpgsql_call_handler'",
		reason: "LANGUAGE c", effect: "SELECT lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE proname = 'P_plain'", want: "sql"},
	{name: "create language", sql: "CREATE LANGUAGE P_lang HANDLER plpgsql_call_handler",
		reason: "CREATE LANGUAGE", effect: "SELECT count(*) FROM pg_language WHERE lanname = 'P_lang'", cleanup: "DROP LANGUAGE IF EXISTS P_lang CASCADE"},
	{name: "create untrusted language", sql: "CREATE LANGUAGE plperlu", reason: "extensions install code",
		effect: "SELECT count(*) FROM pg_language WHERE lanname = 'plperlu'"},

	// Every other session.
	{name: "event trigger", sql: "CREATE EVENT TRIGGER P_evt ON ddl_command_start WHEN TAG IN ('COMMENT') EXECUTE FUNCTION P_evf()",
		reason: "event trigger runs", effect: "SELECT count(*) FROM pg_event_trigger WHERE evtname = 'P_evt'", cleanup: "DROP EVENT TRIGGER IF EXISTS P_evt"},
	{name: "enable an event trigger", sql: "ALTER EVENT TRIGGER P_evt0 ENABLE ALWAYS", reason: "event trigger runs",
		effect: "SELECT evtenabled::text FROM pg_event_trigger WHERE evtname = 'P_evt0'", want: "D", cleanup: "ALTER EVENT TRIGGER P_evt0 DISABLE"},
	{name: "drop an event trigger", sql: "DROP EVENT TRIGGER P_evt0", reason: "event trigger runs",
		effect: "SELECT count(*) FROM pg_event_trigger WHERE evtname = 'P_evt0'", want: "1"},
	{name: "cast of an own type", sql: "CREATE CAST (P_ty AS text) WITH FUNCTION P_ty2t(P_ty)", reason: "a cast applies to every session",
		effect: "SELECT count(*) FROM pg_cast WHERE castsource = 'P_ty'::regtype"},
	{name: "cast between built-in types", simple: true, reason: "a cast applies to every session",
		sql:    "BEGIN; CREATE CAST (int4 AS text) WITH FUNCTION to_hex(int4) AS ASSIGNMENT; SELECT 42::text; ROLLBACK",
		effect: "SELECT count(*) FROM pg_cast WHERE castsource = 'int4'::regtype AND casttarget = 'text'::regtype"},
	{name: "default conversion", sql: "CREATE DEFAULT CONVERSION P_conv FOR 'LATIN9' TO 'UTF8' FROM iso8859_to_utf8", reason: "DEFAULT CONVERSION",
		effect: "SELECT count(*) FROM pg_conversion WHERE conname = 'P_conv'", cleanup: "DROP CONVERSION IF EXISTS P_conv"},
	{name: "access method", sql: "CREATE ACCESS METHOD P_am TYPE TABLE HANDLER heap_tableam_handler", reason: "only superusers",
		effect: "SELECT count(*) FROM pg_am WHERE amname = 'P_am'", cleanup: "DROP ACCESS METHOD IF EXISTS P_am"},
	{name: "transform", sql: "CREATE TRANSFORM FOR P_ty LANGUAGE sql (FROM SQL WITH FUNCTION int4recv(internal))", reason: "TRANSFORM",
		effect: "SELECT count(*) FROM pg_transform WHERE trftype = 'P_ty'::regtype"},

	// The server's files and other servers.
	{name: "file_fdw", sql: "CREATE EXTENSION file_fdw", reason: "extensions install code",
		effect: "SELECT count(*) FROM pg_extension WHERE extname = 'file_fdw'", cleanup: "DROP EXTENSION IF EXISTS file_fdw CASCADE"},
	{name: "dblink", sql: "CREATE EXTENSION IF NOT EXISTS dblink SCHEMA public", reason: "extensions install code",
		effect: "SELECT count(*) FROM pg_extension WHERE extname = 'dblink'", cleanup: "DROP EXTENSION IF EXISTS dblink CASCADE"},
	{name: "adminpack", sql: "CREATE EXTENSION adminpack", reason: "extensions install code",
		effect: "SELECT count(*) FROM pg_extension WHERE extname = 'adminpack'", cleanup: "DROP EXTENSION IF EXISTS adminpack CASCADE"},
	{name: "drop plpgsql", sql: "BEGIN; DROP EXTENSION plpgsql; ROLLBACK", simple: true, reason: "DROP EXTENSION",
		effect: "SELECT count(*) FROM pg_extension WHERE extname = 'plpgsql'", want: "1"},
	{name: "function into an extension", sql: "ALTER EXTENSION plpgsql ADD FUNCTION P_plain()", reason: "extensions install code",
		effect:  "SELECT count(*) FROM pg_depend WHERE objid = 'P_plain()'::regprocedure AND deptype = 'e'",
		cleanup: quietly("ALTER EXTENSION plpgsql DROP FUNCTION P_plain()")},
	{name: "foreign data wrapper", sql: "CREATE FOREIGN DATA WRAPPER P_fdw", reason: "CREATE FOREIGN DATA WRAPPER",
		effect: "SELECT count(*) FROM pg_foreign_data_wrapper WHERE fdwname = 'P_fdw'", cleanup: "DROP FOREIGN DATA WRAPPER IF EXISTS P_fdw CASCADE"},
	{name: "foreign server", sql: "CREATE SERVER P_srv FOREIGN DATA WRAPPER P_fdw0", reason: "CREATE SERVER",
		effect: "SELECT count(*) FROM pg_foreign_server WHERE srvname = 'P_srv'", cleanup: "DROP SERVER IF EXISTS P_srv CASCADE"},
	{name: "foreign table named like a covered table", sql: "CREATE FOREIGN TABLE P_app_ft (l text) SERVER P_srv0 OPTIONS (filename '/etc/hostname')",
		reason: "CREATE FOREIGN TABLE", effect: "SELECT count(*) FROM pg_class WHERE relname = 'P_app_ft'", cleanup: "DROP FOREIGN TABLE IF EXISTS P_app_ft"},
	{name: "foreign table repointed", sql: "ALTER FOREIGN TABLE P_app_ft0 OPTIONS (SET filename '/etc/hostname')", reason: "OPTIONS",
		effect: "SELECT array_to_string(ftoptions, ',') FROM pg_foreign_table WHERE ftrelid = 'P_app_ft0'::regclass", want: "filename=/nonexistent"},
	{name: "import foreign schema", sql: "IMPORT FOREIGN SCHEMA public FROM SERVER P_srv0 INTO public", reason: "IMPORT FOREIGN SCHEMA"},
	{name: "drop user mapping", sql: "DROP USER MAPPING FOR P_r25 SERVER P_srv0", reason: "user mappings",
		effect: "SELECT count(*) FROM pg_user_mappings WHERE srvname = 'P_srv0'", want: "1"},
	{name: "tablespace", sql: "CREATE TABLESPACE P_ts LOCATION '/tmp/P_ts'", reason: "tablespaces are directories",
		effect: "SELECT count(*) FROM pg_tablespace WHERE spcname = 'P_ts'", cleanup: "DROP TABLESPACE IF EXISTS P_ts"},
	{name: "move every table", sql: "ALTER TABLE ALL IN TABLESPACE pg_default OWNED BY P_r25 SET TABLESPACE pg_default NOWAIT", reason: "tablespaces are directories"},

	// Other databases.
	{name: "create database", sql: "CREATE DATABASE P_db2", reason: "databases are managed outside",
		effect: "SELECT count(*) FROM pg_database WHERE datname = 'P_db2'", cleanup: "DROP DATABASE IF EXISTS P_db2 WITH (FORCE)"},
	{name: "drop database with force", sql: "DROP DATABASE P_db WITH (FORCE)", reason: "databases are managed outside",
		effect: "SELECT count(*) FROM pg_database WHERE datname = 'P_db'", want: "1"},
	{name: "rename database", sql: "ALTER DATABASE P_db RENAME TO P_db3", reason: "databases are managed outside",
		effect: "SELECT count(*) FROM pg_database WHERE datname = 'P_db'", want: "1", cleanup: "DROP DATABASE IF EXISTS P_db3 WITH (FORCE)"},
	{name: "database connection limit", sql: "ALTER DATABASE P_db CONNECTION LIMIT 0", reason: "databases are managed outside",
		effect: "SELECT datconnlimit::text FROM pg_database WHERE datname = 'P_db'", want: "-1"},
	{name: "database owner", sql: "ALTER DATABASE P_db OWNER TO P_r25", reason: "OWNER TO",
		effect: "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = 'P_db'", want: "postgres"},

	// Every table.
	{name: "publication for all tables", sql: "CREATE PUBLICATION P_pub FOR ALL TABLES", reason: "FOR ALL TABLES",
		effect: "SELECT count(*) FROM pg_publication WHERE pubname = 'P_pub'", cleanup: "DROP PUBLICATION IF EXISTS P_pub"},
	{name: "publication for tables in schema", sql: "CREATE PUBLICATION P_pub2 FOR TABLES IN SCHEMA public", reason: "FOR TABLES IN SCHEMA",
		effect: "SELECT count(*) FROM pg_publication WHERE pubname = 'P_pub2'", cleanup: "DROP PUBLICATION IF EXISTS P_pub2"},
	{name: "publication of a table the grant does not cover", sql: "CREATE PUBLICATION P_pub3 FOR TABLE P_app_ft0, P_vic.t",
		effect: "SELECT count(*) FROM pg_publication WHERE pubname = 'P_pub3'", cleanup: "DROP PUBLICATION IF EXISTS P_pub3"},
	{name: "vacuum full without a table", sql: "SET lock_timeout = '100ms'; VACUUM FULL", simple: true, reason: "VACUUM FULL without a table"},
	{name: "cluster without a table", sql: "SET lock_timeout = '100ms'; CLUSTER", simple: true, reason: "CLUSTER without a table"},
	{name: "reindex database", sql: "SET lock_timeout = '100ms'; REINDEX DATABASE test", simple: true, reason: "REINDEX"},

	// Other roles.
	{name: "default privileges", sql: "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO P_r25", reason: "DEFAULT PRIVILEGES",
		effect:  "SELECT count(*) FROM pg_default_acl WHERE defaclacl::text LIKE '%P_r25%'",
		cleanup: "ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM P_r25"},
	{name: "grant on all tables in schema", sql: "GRANT SELECT ON ALL TABLES IN SCHEMA public TO P_r25", reason: "IN SCHEMA",
		effect: "SELECT has_table_privilege('P_r25', 'P_cust', 'SELECT')::text", want: "false",
		cleanup: "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM P_r25"},
	{name: "grant on a table the grant does not cover", sql: "GRANT SELECT ON P_vic.t TO P_r25",
		effect: "SELECT has_table_privilege('P_r25', 'P_vic.t', 'SELECT')::text", want: "false", cleanup: "REVOKE ALL ON P_vic.t FROM P_r25"},
	{name: "grant on a schema", sql: "GRANT USAGE, CREATE ON SCHEMA P_vic TO P_r25", reason: "privileges on database-level objects",
		effect: "SELECT has_schema_privilege('P_r25', 'P_vic', 'USAGE')::text", want: "false"},
	{name: "grant on the database", sql: "GRANT CREATE ON DATABASE test TO P_r25", reason: "privileges on database-level objects",
		effect: "SELECT has_database_privilege('P_r25', 'test', 'CREATE')::text", want: "false", cleanup: "REVOKE ALL ON DATABASE test FROM P_r25"},
	{name: "grant on pg_read_file", sql: "GRANT EXECUTE ON FUNCTION pg_read_file(text) TO P_r25", reason: "privileges on database-level objects",
		effect: "SELECT has_function_privilege('P_r25', 'pg_read_file(text)', 'EXECUTE')::text", want: "false",
		cleanup: "REVOKE ALL ON FUNCTION pg_read_file(text) FROM P_r25"},
	{name: "schema owner", sql: "ALTER SCHEMA P_vic OWNER TO P_r25", reason: "OWNER TO",
		effect: "SELECT pg_get_userbyid(nspowner)::text FROM pg_namespace WHERE nspname = 'P_vic'", want: "postgres"},
	{name: "function owner", sql: "ALTER FUNCTION P_plain() OWNER TO P_r25", reason: "OWNER TO",
		effect: "SELECT pg_get_userbyid(proowner)::text FROM pg_proc WHERE proname = 'P_plain'", want: "postgres"},
	{name: "schema for another role", sql: "CREATE SCHEMA P_app_s9 AUTHORIZATION P_r25", reason: "AUTHORIZATION another role",
		effect: "SELECT count(*) FROM pg_namespace WHERE nspname = 'P_app_s9'", cleanup: "DROP SCHEMA IF EXISTS P_app_s9 CASCADE"},
	{name: "security label", sql: "SECURITY LABEL ON SCHEMA P_vic IS 'unconfined'", reason: "SECURITY LABEL"},
	{name: "security definer", sql: "CREATE FUNCTION P_app_sd() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'", reason: "SECURITY DEFINER",
		effect: "SELECT count(*) FROM pg_proc WHERE proname = 'P_app_sd'", cleanup: "DROP FUNCTION IF EXISTS P_app_sd()"},
	{name: "alter to security definer", sql: "ALTER FUNCTION P_plain() SECURITY DEFINER", reason: "SECURITY DEFINER",
		effect: "SELECT prosecdef::text FROM pg_proc WHERE proname = 'P_plain'", want: "false", cleanup: "ALTER FUNCTION P_plain() SECURITY INVOKER"},
	{name: "leakproof", sql: "ALTER FUNCTION P_plain() LEAKPROOF", reason: "LEAKPROOF",
		effect: "SELECT proleakproof::text FROM pg_proc WHERE proname = 'P_plain'", want: "false", cleanup: "ALTER FUNCTION P_plain() NOT LEAKPROOF"},
	{name: "function sets session_authorization", sql: "ALTER FUNCTION P_plain() SET session_authorization = 'P_r25'", reason: "identity",
		effect: "SELECT coalesce(array_to_string(proconfig, ','), 'none') FROM pg_proc WHERE proname = 'P_plain'", want: "none",
		cleanup: "ALTER FUNCTION P_plain() RESET ALL"},
	{name: "function sets role", sql: "CREATE FUNCTION P_app_role() RETURNS text LANGUAGE sql SET role = 'P_r25' AS 'SELECT current_user::text'",
		reason: "identity", effect: "SELECT count(*) FROM pg_proc WHERE proname = 'P_app_role'", cleanup: "DROP FUNCTION IF EXISTS P_app_role()"},
	{name: "rename a role", sql: "ALTER ROLE P_r25 RENAME TO P_r26", reason: "roles",
		effect: "SELECT count(*) FROM pg_roles WHERE rolname = 'P_r25'", want: "1", cleanup: quietly("ALTER ROLE P_r26 RENAME TO P_r25")},

	// PostgreSQL's own objects, and relations no grant covers.
	{name: "function in pg_catalog", sql: "CREATE FUNCTION pg_catalog.P_app_lower(text) RETURNS text LANGUAGE sql AS 'SELECT $1'",
		reason: "PostgreSQL's own objects", effect: "SELECT count(*) FROM pg_proc WHERE proname = 'P_app_lower'",
		cleanup: "DROP FUNCTION IF EXISTS pg_catalog.P_app_lower(text)"},
	{name: "replace a built-in", simple: true, reason: "PostgreSQL's own objects",
		sql:    "BEGIN; CREATE OR REPLACE FUNCTION pg_catalog.lower(text) RETURNS text LANGUAGE sql AS 'SELECT ''x'''; SELECT lower('A'); ROLLBACK",
		effect: "SELECT lower('A')", want: "a"},
	{name: "rename a built-in", simple: true, reason: "built-in", sql: "BEGIN; ALTER FUNCTION lower(text) RENAME TO P_lower; ROLLBACK",
		effect: "SELECT lower('A')", want: "a"},
	{name: "function moved into pg_catalog", sql: "ALTER FUNCTION P_plain() SET SCHEMA pg_catalog", reason: "SET SCHEMA pg_catalog",
		effect: "SELECT pronamespace::regnamespace::text FROM pg_proc WHERE proname = 'P_plain'", want: "public",
		cleanup: quietly("ALTER FUNCTION pg_catalog.P_plain() SET SCHEMA public")},
	{name: "rename pg_catalog", simple: true, reason: "renaming a schema", sql: "BEGIN; ALTER SCHEMA pg_catalog RENAME TO P_cat; ROLLBACK",
		effect: "SELECT count(*) FROM pg_namespace WHERE nspname = 'pg_catalog'", want: "1"},
	{name: "rename a schema", sql: "ALTER SCHEMA P_vic RENAME TO P_vic2", reason: "renaming a schema",
		effect: "SELECT count(*) FROM pg_namespace WHERE nspname = 'P_vic'", want: "1", cleanup: quietly("ALTER SCHEMA P_vic2 RENAME TO P_vic")},
	{name: "drop a schema cascade", sql: "DROP SCHEMA P_vic CASCADE", reason: "CASCADE",
		effect: "SELECT count(*) FROM pg_class WHERE oid = 'P_vic.t'::regclass", want: "1"},
	{name: "drop a type cascade", sql: "DROP TYPE P_ty CASCADE", reason: "CASCADE",
		effect: "SELECT count(*) FROM pg_type WHERE typname = 'P_ty'", want: "1"},
	{name: "drop a policy of a table the grant does not cover", sql: "DROP POLICY P_pol ON P_vic.t",
		effect: "SELECT count(*) FROM pg_policy WHERE polname = 'P_pol'", want: "1"},
	{name: "drop a trigger of a table the grant does not cover", sql: "DROP TRIGGER P_trg ON P_vic.t",
		effect: "SELECT count(*) FROM pg_trigger WHERE tgname = 'P_trg'", want: "1"},
	{name: "schema element outside the grant", sql: "CREATE SCHEMA P_app_s8 CREATE TABLE P_app_e (id int)",
		effect: "SELECT count(*) FROM pg_namespace WHERE nspname = 'P_app_s8'", cleanup: "DROP SCHEMA IF EXISTS P_app_s8 CASCADE"},
}

// TestAdversarialRound25DatabaseDDL: see advRound25Cases, for ddl on
// public.PREFIX_app* without masking (ddl25) and for ddl on
// public.PREFIX_* under masking (ddler). The session connected to the
// database the attacks aim at survives.
func TestAdversarialRound25DatabaseDDL(t *testing.T) {
	a, victim := newAdvEnv25(t)
	ctx := context.Background()
	for _, agent := range []string{"code25", "ddler"} {
		t.Run(agent, func(t *testing.T) {
			for _, tc := range advRound25Cases {
				t.Run(tc.name, func(t *testing.T) { runDenialCase(t, a, agent, tc) })
			}
		})
	}
	if _, err := victim.Exec(ctx, "SELECT 1").ReadAll(); err != nil {
		t.Errorf("the session connected to %s_db: %v", a.p, err)
	}
}

// advRound25Ordinary is DDL a team granting ddl on public.PREFIX_app*
// expects to work, in order, each step allowed; masked marks the steps
// the masked ddler runs too (where masking applies, code and privileges
// stay denied by checkDDL).
var advRound25Ordinary = []struct {
	sql    string
	masked bool
}{
	{"CREATE TABLE P_app_t (id int PRIMARY KEY, note text)", true},
	{"CREATE INDEX P_app_t_note ON P_app_t (note)", true},
	{"ALTER TABLE P_app_t ADD COLUMN extra int", true},
	{"CREATE VIEW P_app_v AS SELECT id, note FROM P_app_t", true},
	{"CREATE SCHEMA P_app_s", true},
	{"CREATE SCHEMA P_app_s2 AUTHORIZATION CURRENT_USER", true},
	{"COMMENT ON SCHEMA P_app_s IS 'round 25'", true},
	{"COMMENT ON TABLE P_app_t IS 'round 25'", true},
	{"ANALYZE P_app_t", true},
	{"VACUUM P_app_t", true},
	{"CREATE FUNCTION P_app_f(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 + 1'", false},
	{"CREATE FUNCTION P_app_f2() RETURNS int BEGIN ATOMIC SELECT 2; END", false},
	{"ALTER FUNCTION P_app_f(int) SET search_path = public", false},
	{"ALTER FUNCTION P_app_f(int) SECURITY INVOKER", false},
	{"CREATE FUNCTION P_app_g() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN NEW.extra := 1; RETURN NEW; END'", false},
	{"CREATE TRIGGER P_app_tr BEFORE INSERT ON P_app_t FOR EACH ROW EXECUTE FUNCTION P_app_g()", false},
	{"INSERT INTO P_app_t (id, note) VALUES (1, 'x')", true},
	{"CREATE STATISTICS P_app_st ON id, note FROM P_app_t", false},
	{"GRANT SELECT ON P_app_t TO P_r25", false},
	{"REVOKE SELECT ON P_app_t FROM P_r25", false},
	{"CREATE PUBLICATION P_app_pub FOR TABLE P_app_t", false},
	{"DROP PUBLICATION P_app_pub", false},
	{"DROP TRIGGER P_app_tr ON P_app_t", false},
	{"DROP FUNCTION P_app_f(int), P_app_f2(), P_app_g()", false},
	{"DROP VIEW P_app_v", true},
	{"DROP SCHEMA P_app_s, P_app_s2", true},
	{"DROP TABLE P_app_t", true},
}

// TestAdversarialRound25Ordinary: see advRound25Ordinary.
func TestAdversarialRound25Ordinary(t *testing.T) {
	a, _ := newAdvEnv25(t)
	ctx := context.Background()
	for _, agent := range []string{"code25", "ddler"} {
		t.Run(agent, func(t *testing.T) {
			t.Cleanup(func() {
				adminTry(t, a.sql(`DROP PUBLICATION IF EXISTS P_app_pub; DROP SCHEMA IF EXISTS P_app_s, P_app_s2 CASCADE;
DROP TABLE IF EXISTS P_app_t CASCADE; DROP FUNCTION IF EXISTS P_app_f(int), P_app_f2(), P_app_g()`))
			})
			tp, err := a.connectTapped(t, agent, nil)
			if err != nil {
				t.Fatalf("connecting: %v", err)
			}
			for _, step := range advRound25Ordinary {
				if agent == "ddler" && !step.masked {
					continue
				}
				if o := tp.run(ctx, "simple", a.sql(step.sql)); o.err != nil {
					t.Errorf("%s: %v", step.sql, o.err)
				}
			}
		})
	}
}

// TestAdversarialRound25TrustedCode: a plpgsql function runs any SQL as
// the upstream superuser, and a trigger on a covered table runs it on the
// grant's own INSERT. ddl on public.PREFIX_app* without a grant naming
// pg_catalog.do cannot store the function; without one naming the
// function, no trigger can call an administrator's function that reads
// other tables.
func TestAdversarialRound25TrustedCode(t *testing.T) {
	a, _ := newAdvEnv25(t)
	ctx := context.Background()
	t.Cleanup(func() {
		adminTry(t, a.sql("DROP TABLE IF EXISTS P_app_x CASCADE; DROP FUNCTION IF EXISTS P_app_tf(), P_vic_tf()"))
	})
	admin(t, a.sql("INSERT INTO P_vic.t VALUES (1, 'r25-uncovered-secret')"))
	// An administrator's function that reads a table no grant covers.
	admin(t, a.sql("CREATE FUNCTION P_vic_tf() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.s := (SELECT string_agg(s, ',') FROM P_vic.t); RETURN NEW; END$$"))
	tp, err := a.connectTapped(t, "ddl25", nil)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		sql  string
		deny bool
	}{
		{"CREATE TABLE P_app_x (s text)", false},
		{"CREATE FUNCTION P_app_tf() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.s := (SELECT string_agg(s, ',') FROM P_vic.t); RETURN NEW; END$$", true},
		{"CREATE TRIGGER P_app_xt BEFORE INSERT ON P_app_x FOR EACH ROW EXECUTE FUNCTION P_app_tf()", true},
		{"CREATE TRIGGER P_app_xt BEFORE INSERT ON P_app_x FOR EACH ROW EXECUTE FUNCTION P_vic_tf()", true},
		{"INSERT INTO P_app_x VALUES ('x')", false},
	}
	for _, st := range steps {
		o := tp.run(ctx, "simple", a.sql(st.sql))
		if st.deny != o.denied || !st.deny && o.err != nil {
			t.Errorf("%s: want denied=%v, got %s %v", st.sql, st.deny, o, o.err)
		}
	}
	o := tp.run(ctx, "simple", a.sql("SELECT s FROM P_app_x"))
	if o.err != nil || len(o.rows) != 1 {
		t.Fatalf("reading back: %s %v", o, o.err)
	}
	if strings.Contains(string(o.rows[0][0]), "r25-uncovered-secret") {
		t.Errorf("a table no grant covers was read through a trigger: %q", o.rows[0][0])
	}
}
