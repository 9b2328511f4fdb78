package pgsql

import (
	"slices"
	"strings"
	"testing"

	"github.com/mandatehq/mandate/model"
)

// TestDatabaseDDL: DDL that acts beyond the relations a grant names (host
// code, other sessions, the server's files and other servers, other
// databases, every table, other roles, PostgreSQL's own objects) is
// forbidden whatever the grant; ordinary DDL is not, and needs ddl on the
// relations it names.
func TestDatabaseDDL(t *testing.T) {
	cases := []struct {
		sql  string
		want string // in Forbidden; "" when the statement must not be forbidden
	}{
		// Code outside the database.
		{"CREATE FUNCTION f(cstring) RETURNS int LANGUAGE internal AS 'int4in'", "LANGUAGE internal"},
		{"CREATE FUNCTION f() RETURNS int LANGUAGE c AS '$libdir/plpgsql', 'plpgsql_call_handler'", "LANGUAGE c"},
		{"CREATE FUNCTION f() RETURNS int LANGUAGE 'C' AS 'lib', 'sym'", "LANGUAGE C"},
		{`CREATE FUNCTION f() RETURNS int LANGUAGE "SQL" AS 'select 1'`, "LANGUAGE SQL"},
		{"CREATE OR REPLACE PROCEDURE p() LANGUAGE internal AS 'int4in'", "LANGUAGE internal"},
		{"CREATE FUNCTION f() RETURNS int LANGUAGE plperlu AS 'system(1)'", "LANGUAGE plperlu"},
		{"CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u AS 'import os'", "LANGUAGE plpython3u"},
		{"CREATE FUNCTION f() RETURNS int LANGUAGE plperl AS 'return 1'", "LANGUAGE plperl"},
		{"CREATE FUNCTION f() RETURNS int AS 'select 1'", "without LANGUAGE"},
		{"CREATE LANGUAGE l HANDLER plpgsql_call_handler", "CREATE LANGUAGE"},
		{"CREATE TRUSTED LANGUAGE l HANDLER h", "CREATE LANGUAGE"},
		{"CREATE LANGUAGE plperlu", "CREATE EXTENSION"}, // PostgreSQL reads it as CREATE EXTENSION
		{"ALTER LANGUAGE plpgsql RENAME TO x", "ALTER LANGUAGE ... RENAME"},
		{"ALTER LANGUAGE plpgsql OWNER TO bob", "OWNER TO"},
		{"DROP LANGUAGE plpgsql CASCADE", "DROP LANGUAGE"},
		// Every other session.
		{"CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION f()", "event trigger runs"},
		{"ALTER EVENT TRIGGER e ENABLE ALWAYS", "event trigger runs"},
		{"ALTER EVENT TRIGGER e RENAME TO x", "event trigger runs"},
		{"DROP EVENT TRIGGER IF EXISTS e", "event trigger runs"},
		{"CREATE CAST (int4 AS text) WITH FUNCTION to_hex(int4) AS ASSIGNMENT", "a cast applies to every session"},
		{"CREATE CAST (t AS u) WITHOUT FUNCTION", "a cast applies to every session"},
		{"DROP CAST (int AS text)", "a cast applies to every session"},
		{"CREATE DEFAULT CONVERSION c FOR 'LATIN1' TO 'UTF8' FROM f", "DEFAULT CONVERSION"},
		{"CREATE ACCESS METHOD am TYPE TABLE HANDLER heap_tableam_handler", "only superusers"},
		{"DROP ACCESS METHOD bloom CASCADE", "only superusers"},
		{"CREATE TRANSFORM FOR int LANGUAGE sql (FROM SQL WITH FUNCTION f(internal))", "TRANSFORM"},
		{"DROP TRANSFORM FOR int LANGUAGE sql", "TRANSFORM"},
		{"CREATE OPERATOR CLASS oc FOR TYPE int USING btree AS OPERATOR 1 <", "CREATE OPERATOR CLASS: PostgreSQL lets only superusers"},
		{"CREATE OPERATOR FAMILY of USING btree", "only superusers"},
		{"ALTER OPERATOR FAMILY of USING btree ADD FUNCTION 1 f(int, int)", "only superusers"},
		{"CREATE TEXT SEARCH PARSER p (START = f, GETTOKEN = f, END = f, LEXTYPES = f)", "TEXT SEARCH PARSER"},
		{"CREATE TEXT SEARCH TEMPLATE t (LEXIZE = f)", "TEXT SEARCH TEMPLATE"},
		{"CREATE TYPE t (INPUT = int4in, OUTPUT = int4out)", "base type"},
		// The server's files and other servers.
		{"CREATE EXTENSION file_fdw", "extensions install code"},
		{"CREATE EXTENSION IF NOT EXISTS dblink SCHEMA public", "extensions install code"},
		{"CREATE EXTENSION adminpack", "extensions install code"},
		{"ALTER EXTENSION plpgsql UPDATE", "extensions install code"},
		{"ALTER EXTENSION plpgsql ADD FUNCTION f()", "extensions install code"},
		{"ALTER EXTENSION plpgsql SET SCHEMA public", "ALTER EXTENSION ... SET SCHEMA"},
		{"ALTER FUNCTION f() DEPENDS ON EXTENSION plpgsql", "DEPENDS ON EXTENSION"},
		{"DROP EXTENSION plpgsql", "DROP EXTENSION"},
		{"CREATE FOREIGN DATA WRAPPER w", "CREATE FOREIGN DATA WRAPPER"},
		{"ALTER FOREIGN DATA WRAPPER w OPTIONS (ADD x 'y')", "ALTER FOREIGN DATA WRAPPER"},
		{"DROP FOREIGN DATA WRAPPER w", "DROP FOREIGN DATA WRAPPER"},
		{"CREATE SERVER s FOREIGN DATA WRAPPER file_fdw", "CREATE SERVER"},
		{"ALTER SERVER s OPTIONS (SET host 'x')", "ALTER SERVER"},
		{"ALTER SERVER s RENAME TO t", "ALTER SERVER ... RENAME"},
		{"DROP SERVER s", "DROP SERVER"},
		{"IMPORT FOREIGN SCHEMA x FROM SERVER s INTO public", "IMPORT FOREIGN SCHEMA"},
		{"CREATE FOREIGN TABLE app_f (l text) SERVER s OPTIONS (filename '/etc/passwd')", "CREATE FOREIGN TABLE"},
		{"CREATE FOREIGN TABLE app_f PARTITION OF app_t FOR VALUES IN (1) SERVER s", "CREATE FOREIGN TABLE"},
		{"ALTER FOREIGN TABLE app_f OPTIONS (SET filename '/etc/passwd')", "OPTIONS"},
		{"ALTER TABLE app_f OPTIONS (SET filename '/etc/passwd')", "OPTIONS"},
		{"ALTER FOREIGN TABLE app_f ALTER COLUMN c OPTIONS (column_name 'ssn')", "OPTIONS"},
		{"DROP USER MAPPING FOR bob SERVER s", "user mappings"},
		{"CREATE TABLESPACE t LOCATION '/tmp/x'", "tablespaces are directories"},
		{"ALTER TABLESPACE t SET (seq_page_cost = 1)", "tablespaces are directories"},
		{"ALTER TABLESPACE t RENAME TO u", "tablespaces are directories"},
		{"DROP TABLESPACE t", "tablespaces are directories"},
		{"ALTER TABLE ALL IN TABLESPACE pg_default SET TABLESPACE t", "tablespaces are directories"},
		{"ALTER INDEX ALL IN TABLESPACE pg_default SET TABLESPACE t", "tablespaces are directories"},
		// Other databases.
		{"CREATE DATABASE d", "databases are managed outside"},
		{"CREATE DATABASE d TEMPLATE test", "databases are managed outside"},
		{"DROP DATABASE d WITH (FORCE)", "databases are managed outside"},
		{"ALTER DATABASE test RENAME TO x", "databases are managed outside"},
		{"ALTER DATABASE test WITH CONNECTION LIMIT 0", "databases are managed outside"},
		{"ALTER DATABASE test SET TABLESPACE t", "databases are managed outside"},
		{"ALTER DATABASE test REFRESH COLLATION VERSION", "databases are managed outside"},
		{"ALTER DATABASE test OWNER TO bob", "OWNER TO"},
		// Every table.
		{"CREATE PUBLICATION p FOR ALL TABLES", "FOR ALL TABLES"},
		{"CREATE PUBLICATION p FOR TABLES IN SCHEMA public", "FOR TABLES IN SCHEMA"},
		{"CREATE PUBLICATION p FOR TABLE app_t, TABLES IN SCHEMA public", "FOR TABLES IN SCHEMA"},
		{"CREATE PUBLICATION p FOR TABLES IN SCHEMA CURRENT_SCHEMA", "FOR TABLES IN SCHEMA"},
		{"ALTER PUBLICATION p ADD TABLES IN SCHEMA public", "FOR TABLES IN SCHEMA"},
		{"ALTER PUBLICATION p SET TABLES IN SCHEMA app", "FOR TABLES IN SCHEMA"},
		{"VACUUM FULL", "VACUUM FULL without a table"},
		{"VACUUM (FULL, ANALYZE)", "VACUUM FULL without a table"},
		{"VACUUM (FULL true)", "VACUUM FULL without a table"},
		{"CLUSTER", "CLUSTER without a table"},
		{"CLUSTER VERBOSE", "CLUSTER without a table"},
		{"REINDEX DATABASE test", "REINDEX"},
		{"REINDEX (CONCURRENTLY) SCHEMA public", "REINDEX"},
		{"REINDEX SYSTEM", "REINDEX"},
		// Other roles.
		{"ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC", "DEFAULT PRIVILEGES"},
		{"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM bob", "DEFAULT PRIVILEGES"},
		{"GRANT SELECT ON ALL TABLES IN SCHEMA public TO PUBLIC", "IN SCHEMA"},
		{"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM bob", "IN SCHEMA"},
		{"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO bob", "IN SCHEMA"},
		{"GRANT USAGE ON SCHEMA public TO PUBLIC", "privileges on database-level objects"},
		{"REVOKE ALL ON SCHEMA public FROM PUBLIC", "privileges on database-level objects"},
		{"GRANT ALL ON DATABASE test TO bob", "privileges on database-level objects"},
		{"GRANT EXECUTE ON FUNCTION pg_read_file(text) TO bob", "privileges on database-level objects"},
		{"GRANT USAGE ON LANGUAGE plpgsql TO bob", "privileges on database-level objects"},
		{"GRANT SELECT ON LARGE OBJECT 1 TO PUBLIC", "privileges on database-level objects"},
		{"GRANT USAGE ON FOREIGN SERVER s TO bob", "privileges on database-level objects"},
		{"GRANT USAGE ON TYPE t TO bob", "privileges on database-level objects"},
		{"GRANT SET ON PARAMETER work_mem TO bob", "privileges on database-level objects"},
		{"ALTER SCHEMA public OWNER TO bob", "OWNER TO"},
		{"ALTER FUNCTION f() OWNER TO bob", "OWNER TO"},
		{"ALTER TYPE t OWNER TO bob", "OWNER TO"},
		{"ALTER LARGE OBJECT 1 OWNER TO bob", "OWNER TO"},
		{"ALTER PUBLICATION p OWNER TO bob", "OWNER TO"},
		{"CREATE SCHEMA s AUTHORIZATION bob", "AUTHORIZATION another role"},
		{"CREATE SCHEMA AUTHORIZATION bob", "AUTHORIZATION another role"},
		{"CREATE SCHEMA AUTHORIZATION CURRENT_USER CREATE TABLE t (id int)", "without a schema name"},
		{"SECURITY LABEL ON SCHEMA public IS 'x'", "SECURITY LABEL"},
		{"SECURITY LABEL FOR selinux ON FUNCTION f() IS 'x'", "SECURITY LABEL"},
		{"CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'select 1'", "SECURITY DEFINER"},
		{"CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql EXTERNAL SECURITY DEFINER AS 'begin return 1; end'", "SECURITY DEFINER"},
		{"ALTER FUNCTION f() SECURITY DEFINER", "SECURITY DEFINER"},
		{"ALTER ROUTINE f() SECURITY DEFINER", "SECURITY DEFINER"},
		{"ALTER PROCEDURE p() SECURITY DEFINER", "SECURITY DEFINER"},
		{"CREATE FUNCTION f() RETURNS int LANGUAGE sql LEAKPROOF AS 'select 1'", "LEAKPROOF"},
		{"ALTER FUNCTION f() LEAKPROOF", "LEAKPROOF"},
		{"CREATE FUNCTION f() RETURNS int LANGUAGE sql SET role = 'bob' AS 'select 1'", "sets role"},
		{"ALTER FUNCTION f() SET session_authorization = 'bob'", "sets session_authorization"},
		{"ALTER FUNCTION f() SET SESSION AUTHORIZATION bob", "sets session_authorization"},
		{"ALTER PROCEDURE p() SET ROLE bob", "sets role"},
		{"ALTER ROLE bob RENAME TO alice", "roles"},
		{"ALTER USER bob RENAME TO alice", "roles"},
		{"ALTER SUBSCRIPTION s RENAME TO t", "subscriptions"},
		// PostgreSQL's own objects.
		{"CREATE FUNCTION pg_catalog.f() RETURNS int LANGUAGE sql AS 'select 1'", "function pg_catalog.f is one of PostgreSQL's own objects"},
		{"CREATE OR REPLACE FUNCTION pg_catalog.lower(text) RETURNS text LANGUAGE sql AS 'select $1'", "PostgreSQL's own objects"},
		{"CREATE OR REPLACE FUNCTION information_schema._pg_expandarray(anyarray) RETURNS int LANGUAGE sql AS 'select 1'", "PostgreSQL's own objects"},
		{"CREATE FUNCTION test.pg_catalog.f() RETURNS int LANGUAGE sql AS 'select 1'", "PostgreSQL's own objects"},
		{"CREATE OPERATOR pg_catalog.=== (LEFTARG = int, RIGHTARG = int, FUNCTION = f)", "PostgreSQL's own objects"},
		{"CREATE AGGREGATE pg_catalog.ag(int) (SFUNC = f, STYPE = int)", "PostgreSQL's own objects"},
		{"CREATE DOMAIN pg_catalog.d AS int", "PostgreSQL's own objects"},
		{"CREATE TYPE pg_catalog.e AS ENUM ('a')", "PostgreSQL's own objects"},
		{"CREATE TYPE pg_catalog.r AS RANGE (subtype = int4)", "PostgreSQL's own objects"},
		{"CREATE TYPE pg_catalog.c AS (a int)", "changes PostgreSQL's own catalog"},
		{"CREATE COLLATION pg_catalog.c (locale = 'C')", "PostgreSQL's own objects"},
		{"CREATE CONVERSION pg_catalog.c FOR 'LATIN1' TO 'UTF8' FROM f", "PostgreSQL's own objects"},
		{"CREATE STATISTICS pg_catalog.s ON a, b FROM app_t", "PostgreSQL's own objects"},
		{"ALTER FUNCTION pg_catalog.lower(text) IMMUTABLE", "PostgreSQL's own objects"},
		{"ALTER FUNCTION lower(text) STRICT", "built-in pg_catalog.lower"},
		{"ALTER FUNCTION lower(text) RENAME TO x", "built-in pg_catalog.lower"},
		{"ALTER AGGREGATE count(*) RENAME TO x", "built-in pg_catalog.count"},
		{"ALTER FUNCTION upper(text) SET SCHEMA public", "built-in pg_catalog.upper"},
		{"ALTER FUNCTION f() SET SCHEMA pg_catalog", "SET SCHEMA pg_catalog"},
		{"ALTER TABLE app_t SET SCHEMA information_schema", "SET SCHEMA information_schema"},
		{"ALTER TYPE pg_catalog.int4 RENAME TO x", "PostgreSQL's own objects"},
		{"ALTER TYPE pg_catalog.int4 SET (RECEIVE = f)", "PostgreSQL's own objects"},
		{"ALTER OPERATOR pg_catalog.= (int, int) SET (RESTRICT = f)", "PostgreSQL's own objects"},
		{"ALTER DOMAIN information_schema.sql_identifier DROP CONSTRAINT c", "PostgreSQL's own objects"},
		{"ALTER OPERATOR CLASS pg_catalog.int4_ops USING btree RENAME TO x", "PostgreSQL's own objects"},
		{"DROP FUNCTION pg_catalog.pg_file_write(text, text, bool)", "PostgreSQL's own objects"},
		{"DROP SCHEMA information_schema", "schema information_schema is one of PostgreSQL's own objects"},
		{"ALTER SCHEMA public RENAME TO x", "renaming a schema"},
		{"ALTER SCHEMA pg_catalog RENAME TO x", "renaming a schema"},
		{"CREATE SCHEMA pg_toast_temp_9", "PostgreSQL's own objects"},
		// CASCADE the gateway cannot follow to the relations it reaches
		// (TestCascadeTargets has those it follows).
		{"DROP SCHEMA public CASCADE", "DROP ... CASCADE"},
		{"DROP SCHEMA IF EXISTS app_s CASCADE", "DROP ... CASCADE"},
		{"DROP FUNCTION f() CASCADE", "DROP ... CASCADE"},
		{"DROP OPERATOR === (int, int) CASCADE", "DROP ... CASCADE"},
		{"DROP TRIGGER tr ON app_t CASCADE", "DROP ... CASCADE"},
		{"DROP POLICY p ON app_t CASCADE", "DROP ... CASCADE"},
		{"DROP COLLATION app_c CASCADE", "DROP ... CASCADE"},
		{"DROP TYPE app_ty[] CASCADE", "type the gateway cannot name"},
		{"ALTER VIEW app_v DROP COLUMN x CASCADE", "ALTER ... CASCADE"},
		// Types of pg_catalog written without a schema (round 29).
		{"ALTER TYPE int4 RENAME TO x", "built-in pg_catalog.int4"},
		{"ALTER TYPE int4 SET SCHEMA public", "built-in pg_catalog.int4"},
		{"ALTER TYPE text SET (STORAGE = plain)", "built-in pg_catalog.text"},
		{"ALTER TYPE _int4 RENAME TO x", "built-in pg_catalog._int4"},
		{"ALTER TYPE pg_class RENAME TO x", "built-in pg_catalog.pg_class"},
		{"ALTER TYPE anyenum ADD VALUE 'x'", "built-in pg_catalog.anyenum"},
		{"ALTER TYPE int4 OWNER TO bob", "OWNER TO"},
		{"ALTER DOMAIN int4 SET DEFAULT 1", "built-in pg_catalog.int4"},
		{"ALTER DOMAIN varchar RENAME TO x", "built-in pg_catalog.varchar"},
		{"DROP TYPE IF EXISTS app_ty, int4", "built-in pg_catalog.int4"},
		{"DROP DOMAIN oidvector", "built-in pg_catalog.oidvector"},
		{"COMMENT ON TYPE int4 IS 'x'", "built-in pg_catalog.int4"},
		{"COMMENT ON DOMAIN text IS 'x'", "built-in pg_catalog.text"},
		{"COMMENT ON TYPE pg_catalog.int4 IS 'x'", "PostgreSQL's own objects"},
		{"COMMENT ON FUNCTION pg_catalog.pg_read_file(text) IS 'x'", "PostgreSQL's own objects"},
		{"COMMENT ON FUNCTION lower(text) IS 'x'", "built-in pg_catalog.lower"},
		{"COMMENT ON SCHEMA pg_catalog IS 'x'", "PostgreSQL's own objects"},
		// Anonymous code in other languages (round 29).
		{"DO LANGUAGE plpython3u $$import os$$", "DO LANGUAGE plpython3u"},
		{"DO $$import os$$ LANGUAGE plperlu", "DO LANGUAGE plperlu"},
		{"DO LANGUAGE 'PLPGSQL' $$BEGIN END$$", "DO LANGUAGE PLPGSQL"},
		{"DO LANGUAGE internal 'int4in'", "DO LANGUAGE internal"},
		// Cluster-wide I/O (round 29).
		{"CHECKPOINT", "CHECKPOINT writes every changed page"},
		// A schema's elements are the statements they are.
		{"CREATE SCHEMA s CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()", "CREATE TRIGGER inside CREATE SCHEMA"},
		{"CREATE SCHEMA s GRANT SELECT ON ALL TABLES IN SCHEMA public TO bob", "IN SCHEMA"},

		// Ordinary DDL keeps its grant's decision.
		{"CREATE TABLE app_t (id int)", ""},
		{"CREATE INDEX ON app_t (id)", ""},
		{"ALTER TABLE app_t ADD COLUMN y int", ""},
		{"ALTER TABLE app_t OWNER TO bob", ""},
		{"ALTER TABLE app_t SET TABLESPACE t", ""},
		{"CREATE VIEW app_v AS SELECT * FROM app_t", ""},
		{"CREATE SCHEMA app_s", ""},
		{"CREATE SCHEMA IF NOT EXISTS app_s AUTHORIZATION CURRENT_USER", ""},
		{"CREATE SCHEMA app_s AUTHORIZATION SESSION_USER", ""},
		{"DROP SCHEMA app_s", ""},
		{"DROP TABLE app_t", ""},
		{"DROP VIEW IF EXISTS app_v RESTRICT", ""},
		{"DROP INDEX app_i", ""},
		{"ALTER TABLE app_t DROP COLUMN y", ""},
		{"ALTER TABLE app_t DROP CONSTRAINT app_t_pkey RESTRICT", ""},
		{"ALTER TYPE app_ty DROP ATTRIBUTE a", ""},
		{"TRUNCATE app_t, app_u", ""},
		{"REVOKE GRANT OPTION FOR SELECT ON app_t FROM bob CASCADE", ""},
		{"ALTER TYPE app_ty RENAME TO app_ty2", ""},
		{"ALTER TYPE public.int4 RENAME TO app_int", ""},
		{"ALTER TYPE e ADD VALUE 'c'", ""},
		{"DROP TYPE IF EXISTS e, public.text", ""},
		{"COMMENT ON TYPE e IS 'x'", ""},
		{"COMMENT ON FUNCTION public.lower(text) IS 'x'", ""},
		{"DO $$BEGIN END$$", ""},
		{"DO LANGUAGE plpgsql $$BEGIN END$$", ""},
		{"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'", ""},
		{"CREATE FUNCTION f() RETURNS int LANGUAGE SQL AS 'select 1'", ""},
		{"CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE plpgsql AS 'begin return 1; end'", ""},
		{"CREATE FUNCTION f() RETURNS int RETURN 1", ""},
		{"CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; END", ""},
		{"CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY INVOKER NOT LEAKPROOF SET search_path = public AS 'select 1'", ""},
		{"CREATE FUNCTION public.lower(varchar) RETURNS text LANGUAGE sql AS 'select 1'", ""},
		{"CREATE PROCEDURE p() LANGUAGE plpgsql AS 'begin null; end'", ""},
		{"ALTER FUNCTION f() SET search_path = public", ""},
		{"ALTER FUNCTION f() IMMUTABLE", ""},
		{"ALTER FUNCTION public.lower(text) RENAME TO my_lower", ""},
		{"ALTER FUNCTION f() SET SCHEMA app", ""},
		{"ALTER FUNCTION f() SECURITY INVOKER", ""},
		{"DROP FUNCTION f()", ""},
		{"DROP FUNCTION IF EXISTS lower(varchar), abs(app_dm)", ""},
		{"CREATE TYPE t AS (a int)", ""},
		{"CREATE TYPE t", ""},
		{"CREATE TYPE e AS ENUM ('a', 'b')", ""},
		{"CREATE DOMAIN d AS int CHECK (VALUE > 0)", ""},
		{"CREATE CONVERSION c FOR 'LATIN1' TO 'UTF8' FROM f", ""},
		{"CREATE TRIGGER tr BEFORE INSERT ON app_t FOR EACH ROW EXECUTE FUNCTION f()", ""},
		{"CREATE STATISTICS s ON a, b FROM app_t", ""},
		{"CREATE PUBLICATION p FOR TABLE app_t", ""},
		{"ALTER PUBLICATION p ADD TABLE app_t", ""},
		{"DROP PUBLICATION p", ""},
		{"GRANT SELECT ON app_t TO bob", ""},
		{"GRANT SELECT (id) ON app_t TO bob", ""},
		{"REVOKE ALL ON app_t FROM PUBLIC", ""},
		{"GRANT USAGE ON SEQUENCE app_s TO bob", ""},
		{"SECURITY LABEL ON TABLE app_t IS 'x'", ""},
		{"SECURITY LABEL ON COLUMN app_t.id IS 'x'", ""},
		{"COMMENT ON DATABASE test IS 'x'", ""},
		{"COMMENT ON EXTENSION plpgsql IS 'x'", ""},
		{"COMMENT ON SCHEMA app_s IS 'x'", ""},
		{"VACUUM", ""},
		{"VACUUM (ANALYZE)", ""},
		{"VACUUM (FULL false)", ""},
		{"VACUUM FULL app_t", ""},
		{"ANALYZE", ""},
		{"CLUSTER app_t", ""},
		{"REINDEX TABLE app_t", ""},
		{"ALTER SCHEMA app_s OWNER TO CURRENT_USER", "OWNER TO"}, // fail closed
	}
	for _, tc := range cases {
		ans, err := Analyze(tc.sql, Options{})
		if err != nil {
			t.Errorf("%s: %v", tc.sql, err)
			continue
		}
		got := ans[0].Statement.Forbidden
		switch {
		case tc.want == "" && got != "":
			t.Errorf("%s: forbidden (%s), want it allowed", tc.sql, got)
		case tc.want != "" && !strings.Contains(got, tc.want):
			t.Errorf("%s: Forbidden = %q, want it to say %q", tc.sql, got, tc.want)
		}
	}
}

// TestCascadeTargets: the CASCADE the gateway follows is not forbidden;
// the analysis names where it starts (Analyzed.Cascade) for the gateway
// to look up what it reaches, and needs on the objects it names what the
// statement needs without CASCADE.
func TestCascadeTargets(t *testing.T) {
	rel := func(kind, schema, name, member string) CascadeTarget {
		return CascadeTarget{Kind: kind, Schema: schema, Name: name, Member: member}
	}
	cases := []struct {
		sql      string
		want     []CascadeTarget
		accesses []model.Access
	}{
		{"DROP TABLE app_t CASCADE", []CascadeTarget{rel(CascadeRelation, "public", "app_t", "")},
			[]model.Access{{Class: "ddl", Table: "public.app_t"}}},
		// Django's schema editor.
		{`DROP TABLE "App_X" CASCADE`, []CascadeTarget{rel(CascadeRelation, "public", "App_X", "")},
			[]model.Access{{Class: "ddl", Table: "public.App_X"}}},
		{`ALTER TABLE "app_x" DROP COLUMN "y" CASCADE`, []CascadeTarget{rel(CascadeColumn, "public", "app_x", "y")},
			[]model.Access{{Class: "ddl", Table: "public.app_x"}}},
		{"DROP VIEW IF EXISTS s.app_v, app_w CASCADE", []CascadeTarget{
			rel(CascadeRelation, "s", "app_v", ""), rel(CascadeRelation, "public", "app_w", "")}, nil},
		{"DROP MATERIALIZED VIEW db.s.app_mv CASCADE", []CascadeTarget{rel(CascadeRelation, "s", "app_mv", "")}, nil},
		{"DROP SEQUENCE app_s CASCADE", []CascadeTarget{rel(CascadeRelation, "public", "app_s", "")}, nil},
		{"DROP INDEX app_i CASCADE", []CascadeTarget{rel(CascadeRelation, "public", "app_i", "")}, nil},
		{"DROP FOREIGN TABLE app_f CASCADE", []CascadeTarget{rel(CascadeRelation, "public", "app_f", "")}, nil},
		{"DROP TYPE t CASCADE", []CascadeTarget{rel(CascadeType, "public", "t", "")},
			[]model.Access{{Class: "ddl", Table: ""}}},
		{"DROP DOMAIN IF EXISTS s.d, e CASCADE", []CascadeTarget{rel(CascadeType, "s", "d", ""), rel(CascadeType, "public", "e", "")}, nil},
		{"ALTER TABLE app_t ADD COLUMN y int, DROP CONSTRAINT app_t_pkey CASCADE, DROP COLUMN z",
			[]CascadeTarget{rel(CascadeConstraint, "public", "app_t", "app_t_pkey")}, nil},
		{"ALTER TABLE ONLY s.app_t DROP COLUMN a CASCADE, DROP COLUMN b CASCADE",
			[]CascadeTarget{rel(CascadeColumn, "s", "app_t", "a"), rel(CascadeColumn, "s", "app_t", "b")}, nil},
		{"ALTER FOREIGN TABLE app_f DROP COLUMN a CASCADE", []CascadeTarget{rel(CascadeColumn, "public", "app_f", "a")}, nil},
		{"ALTER TYPE app_ty DROP ATTRIBUTE a CASCADE", []CascadeTarget{rel(CascadeType, "public", "app_ty", "")}, nil},
		{"ALTER TYPE s.app_ty ALTER ATTRIBUTE a TYPE text CASCADE", []CascadeTarget{rel(CascadeType, "s", "app_ty", "")}, nil},
		{"ALTER TYPE app_ty ADD ATTRIBUTE b int CASCADE", []CascadeTarget{rel(CascadeType, "public", "app_ty", "")}, nil},
		{"ALTER TYPE app_ty RENAME ATTRIBUTE a TO b CASCADE", []CascadeTarget{rel(CascadeType, "public", "app_ty", "")}, nil},
		{"ALTER DOMAIN d DROP CONSTRAINT c CASCADE", []CascadeTarget{rel(CascadeDomainConstraint, "public", "d", "c")}, nil},
		{"TRUNCATE app_t CASCADE", []CascadeTarget{rel(CascadeTruncate, "public", "app_t", "")},
			[]model.Access{{Class: "delete", Table: "public.app_t"}}},
		// ONLY is each relation's own.
		{"TRUNCATE ONLY app_t, s.app_u RESTART IDENTITY CASCADE", []CascadeTarget{
			rel(CascadeTruncateOnly, "public", "app_t", ""), rel(CascadeTruncate, "s", "app_u", "")}, nil},
		// RESTRICT (the default): PostgreSQL refuses when dependents
		// exist, so there is nothing to look up.
		{"DROP TABLE app_t", nil, nil},
		{"DROP TYPE t RESTRICT", nil, nil},
		{"ALTER TABLE app_t DROP COLUMN y", nil, nil},
		{"ALTER TYPE app_ty RENAME ATTRIBUTE a TO b", nil, nil},
		{"TRUNCATE app_t", nil, nil},
	}
	for _, tc := range cases {
		ans, err := Analyze(tc.sql, Options{})
		if err != nil {
			t.Errorf("%s: %v", tc.sql, err)
			continue
		}
		an := ans[0]
		if an.Statement.Forbidden != "" {
			t.Errorf("%s: forbidden (%s)", tc.sql, an.Statement.Forbidden)
		}
		if !slices.Equal(an.Cascade, tc.want) {
			t.Errorf("%s: Cascade = %+v, want %+v", tc.sql, an.Cascade, tc.want)
		}
		if tc.accesses != nil && !slices.Equal(an.Statement.Accesses, tc.accesses) {
			t.Errorf("%s: Accesses = %+v, want %+v", tc.sql, an.Statement.Accesses, tc.accesses)
		}
	}
}

// TestDDLNamedRelations: DROP and COMMENT of a relation's trigger, rule,
// policy or constraint need ddl on that relation (not on "", which every
// grant with ddl covers), and the relations a CREATE SCHEMA creates are
// named in the new schema, those it refers to where PostgreSQL finds
// them.
func TestDDLNamedRelations(t *testing.T) {
	cases := []struct {
		sql  string
		want []model.Access
	}{
		{"DROP TRIGGER tr ON s.t", []model.Access{{Class: "ddl", Table: "s.t"}}},
		{"DROP TRIGGER IF EXISTS tr ON t CASCADE", []model.Access{{Class: "ddl", Table: "public.t"}}},
		{"DROP POLICY p ON customers", []model.Access{{Class: "ddl", Table: "public.customers"}}},
		{"DROP RULE r ON s.t", []model.Access{{Class: "ddl", Table: "s.t"}}},
		{"COMMENT ON TRIGGER tr ON s.t IS 'x'", []model.Access{{Class: "ddl", Table: "s.t"}}},
		{"COMMENT ON POLICY p ON t IS 'x'", []model.Access{{Class: "ddl", Table: "public.t"}}},
		{"COMMENT ON RULE r ON t IS 'x'", []model.Access{{Class: "ddl", Table: "public.t"}}},
		{"COMMENT ON CONSTRAINT c ON s.t IS 'x'", []model.Access{{Class: "ddl", Table: "s.t"}}},
		{"COMMENT ON COLUMN s.t.c IS 'x'", []model.Access{{Class: "ddl", Table: "s.t"}}},
		{"COMMENT ON CONSTRAINT c ON DOMAIN d IS 'x'", []model.Access{{Class: "ddl", Table: ""}}},
		{"DROP SCHEMA app_s", []model.Access{{Class: "ddl", Table: ""}}},
		{"CREATE SCHEMA s", []model.Access{{Class: "ddl", Table: ""}}},
		{"CREATE SCHEMA s CREATE TABLE t (id int) CREATE VIEW v AS SELECT id FROM t CREATE INDEX ON t (id)",
			[]model.Access{{Class: "ddl", Table: ""}, {Class: "ddl", Table: "s.t"}, {Class: "ddl", Table: "s.v"}, {Class: "select", Table: "s.t"}}},
		{"CREATE SCHEMA s CREATE VIEW v AS SELECT * FROM customers",
			[]model.Access{{Class: "ddl", Table: ""}, {Class: "select", Table: "public.customers"}, {Class: "ddl", Table: "s.v"}}},
		{"CREATE SCHEMA s CREATE SEQUENCE q CREATE TABLE t (id int DEFAULT nextval('q')) CREATE INDEX ON other (id)",
			[]model.Access{{Class: "ddl", Table: ""}, {Class: "ddl", Table: "public.other"}, {Class: "ddl", Table: "s.q"}, {Class: "ddl", Table: "s.t"}}},
		{"CREATE SCHEMA s GRANT SELECT ON customers TO bob", []model.Access{{Class: "ddl", Table: ""}, {Class: "ddl", Table: "public.customers"}}},
	}
	for _, tc := range cases {
		ans, err := Analyze(tc.sql, Options{})
		if err != nil {
			t.Errorf("%s: %v", tc.sql, err)
			continue
		}
		st := ans[0].Statement
		want := slices.Clone(tc.want)
		sortAccesses(want)
		if !slices.Equal(st.Accesses, want) {
			t.Errorf("%s: accesses %v, want %v (forbidden %q)", tc.sql, st.Accesses, want, st.Forbidden)
		}
	}
}

// TestSchemaElementsStored: a view created inside CREATE SCHEMA stores
// what its query reads, as a view created on its own does (the proxy
// denies copies of masked columns by Writes).
func TestSchemaElementsStored(t *testing.T) {
	ans, err := Analyze("CREATE SCHEMA s CREATE VIEW v AS SELECT ssn || '' AS x FROM customers", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if w := ans[0].Writes; !slices.Contains(w.Sources, "public.customers.ssn") {
		t.Errorf("Writes = %+v, want public.customers.ssn", w)
	}
}

// TestDDLStoringCode: DDL that stores code run later without naming it
// reports that code as called: a function's body (the function grant
// pg_catalog.do, as DO), a trigger's function, the functions of an
// operator, an aggregate or a range type.
func TestDDLStoringCode(t *testing.T) {
	cases := []struct {
		sql  string
		want []string
	}{
		{"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", []string{"pg_catalog.do"}},
		{"CREATE OR REPLACE FUNCTION app.f() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'", []string{"pg_catalog.do"}},
		{"CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 2; END", []string{"pg_catalog.do"}},
		{"CREATE PROCEDURE p() LANGUAGE sql AS 'SELECT 1'", []string{"pg_catalog.do"}},
		{"CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION app.copy_rows()", []string{"app.copy_rows"}},
		{"CREATE TRIGGER tr AFTER UPDATE ON t FOR EACH STATEMENT EXECUTE PROCEDURE audit()", []string{"audit"}},
		{"CREATE OPERATOR === (function = pg_catalog.pg_read_file, rightarg = text)", []string{"pg_catalog.pg_read_file"}},
		{"CREATE OPERATOR app.<<< (procedure = lower, leftarg = text)", []string{"lower"}},
		{"CREATE AGGREGATE agg(text) (sfunc = app.step, stype = text, finalfunc = app.done)", []string{"app.done", "app.step"}},
		{"CREATE TYPE r AS RANGE (subtype = float8, subtype_diff = app.diff)", []string{"app.diff"}},
		{"CREATE TABLE t (a int)", nil},
		{"DROP FUNCTION f()", nil},
		{"ALTER FUNCTION f() SET search_path = public", nil},
	}
	for _, tc := range cases {
		res, err := Analyze(tc.sql, Options{SearchPath: []string{"public"}})
		if err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		st := res[0].Statement
		if st.Forbidden != "" {
			t.Errorf("%s: forbidden (%s)", tc.sql, st.Forbidden)
		}
		if !slices.Equal(st.Functions, tc.want) {
			t.Errorf("%s: functions %v, want %v", tc.sql, st.Functions, tc.want)
		}
	}
}

// TestChangedPublications: the publications a statement alters, renames
// or drops, which the gateway decides on the tables they publish.
func TestChangedPublications(t *testing.T) {
	cases := []struct {
		sql  string
		want []string
	}{
		{"DROP PUBLICATION p", []string{"p"}},
		{`DROP PUBLICATION IF EXISTS p, "Q" CASCADE`, []string{"p", "Q"}},
		{"ALTER PUBLICATION p ADD TABLE app_t", []string{"p"}},
		{"ALTER PUBLICATION p SET (publish = 'insert')", []string{"p"}},
		{"ALTER PUBLICATION p RENAME TO q", []string{"p"}},
		{"CREATE PUBLICATION p FOR TABLE app_t", nil},
		{"COMMENT ON PUBLICATION p IS 'x'", nil},
		{"DROP TABLE publication", nil},
	}
	for _, tc := range cases {
		got, err := ChangedPublications(tc.sql)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.sql, got, err, tc.want)
		}
	}
	if _, err := ChangedPublications("DROP PUBLICATION"); err == nil {
		t.Error("a statement that does not parse: no error")
	}
}
