package pgproxy

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// Round 29 of the red team: what round 25 (database-level DDL through the
// superuser upstream) left open. Agent code29 holds ddl and writes on
// public.PREFIX_app* and may run and store code (call, pg_catalog.do),
// without masking;
// an administrator owns a schema P_vic29 that no grant covers, with
// objects that depend on the agent's tables. Each statement below ran
// through the gateway before this round, and PostgreSQL did it:
//   - CASCADE: DROP TABLE P_app_c CASCADE dropped the view P_vic29.v3
//     over it (DROP VIEW, DROP SEQUENCE ... CASCADE a view and a column
//     default of P_vic29); ALTER TABLE P_app_c DROP COLUMN id CASCADE
//     dropped the view P_vic29.v, DROP CONSTRAINT P_app_c_pkey CASCADE
//     the foreign key of P_vic29.ref; ALTER TYPE P_app_ty DROP ATTRIBUTE
//     b CASCADE dropped a column of the typed table P_vic29.typed;
//     TRUNCATE P_app_c CASCADE emptied P_vic29.ref. Round 29 refused
//     CASCADE for every grant; now (cascade.go) the gateway looks up in
//     the catalog what it reaches and decides each relation reached as
//     if the statement named it, so each of these is denied naming the
//     relation of P_vic29 it reaches, and CASCADE reaching only covered
//     relations runs (cascade_test.go).
//   - indexes decided on their own name: DROP INDEX, ALTER INDEX ...
//     RENAME / SET (...), ALTER TABLE ... RENAME, REINDEX INDEX and
//     COMMENT ON INDEX of P_app_oidx, an index of P_other (a table the
//     grant does not cover) named like a covered table. Now decided on
//     the table the index belongs to, looked up in the catalog
//     (indexes.go); an index written without a schema that is
//     pg_catalog's (COMMENT ON INDEX pg_class_oid_index, for a grant on
//     public.*) is refused.
//   - built-in types without a schema: ALTER TYPE int4 RENAME TO x and
//     SET SCHEMA public (pg_catalog comes first in the search path),
//     COMMENT ON TYPE int4. Now refused (pgsql: systemType).
//   - DO LANGUAGE plpython3u (any language but plpgsql) needed only the
//     call class and the function grant pg_catalog.do (PostgreSQL then
//     said the language is not installed here; where it is, it runs
//     Python in the server). Now refused (pgsql: doLanguage).
//   - publications of other teams: DROP PUBLICATION, ALTER PUBLICATION
//     ... SET TABLE / ADD TABLE / SET (publish) / RENAME of P_app_vpub,
//     which publishes P_vic29.pt, were database-level (table ""). Now
//     decided on the tables the publication publishes (indexes.go);
//     publications of every table or of whole schemas are refused.
//   - CHECKPOINT (cluster-wide I/O, superuser-only in PostgreSQL 15).
//     Now refused.
// The rest of the brief's list was already refused for every grant and
// is held here (TestAdversarialRound29Held): LOAD, ALTER SYSTEM, roles,
// REASSIGN/DROP OWNED, ALTER LARGE OBJECT, servers and user mappings,
// ALTER/DROP SUBSCRIPTION, and VACUUM FULL, CLUSTER, LOCK, REFRESH
// MATERIALIZED VIEW and SECURITY LABEL of relations the grant does not
// cover.

// round29Policy: code29 holds writes and ddl on public.PREFIX_app*, and
// may run and store code (call, pg_catalog.do), without masking; wide29
// holds ddl on every relation of public, for the indexes of pg_catalog
// written without a schema (they resolve there).
const round29Policy = `
role "code29" {
  postgres "adv" {
    statements = ["select", "insert", "update", "delete", "ddl", "call"]
    tables     = ["public.PREFIX_app*"]
    functions  = ["pg_catalog.do"]
  }
}

agent "code29" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "code29"
  }
  roles = [role.code29]
}

role "wide29" {
  postgres "adv" {
    statements = ["select", "ddl"]
    tables     = ["public.*"]
  }
}

agent "wide29" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "wide29"
  }
  roles = [role.wide29]
}
`

// round29Fixture: the administrator's objects that depend on the agent's
// (P_app_*) or that the agent's names reach.
const round29Fixture = `
CREATE SCHEMA P_vic29;
CREATE TABLE P_app_c (id int PRIMARY KEY, note text);
INSERT INTO P_app_c VALUES (1, 'c');
CREATE VIEW P_vic29.v AS SELECT id, note FROM P_app_c;
CREATE VIEW P_vic29.v3 AS SELECT note FROM P_app_c;
CREATE VIEW P_app_cv AS SELECT id FROM P_app_c;
CREATE VIEW P_vic29.v2 AS SELECT id FROM P_app_cv;
CREATE TABLE P_vic29.ref (id int REFERENCES P_app_c (id));
INSERT INTO P_vic29.ref VALUES (1);
CREATE TYPE P_app_ty AS (a int, b text);
CREATE TABLE P_vic29.typed OF P_app_ty;
CREATE SEQUENCE P_app_sq;
CREATE TABLE P_vic29.seqd (id int DEFAULT nextval('P_app_sq'));
CREATE INDEX P_app_oidx ON P_other (id);
CREATE TABLE P_vic29.pt (id int PRIMARY KEY);
CREATE PUBLICATION P_app_vpub FOR TABLE P_vic29.pt;
CREATE PUBLICATION P_allpub FOR ALL TABLES WITH (publish = 'insert');
CREATE PUBLICATION P_schpub FOR TABLES IN SCHEMA P_vic29 WITH (publish = 'insert');
CREATE ROLE P_r29 NOLOGIN;
CREATE FOREIGN DATA WRAPPER P_fdw29;
CREATE SERVER P_srv29 FOREIGN DATA WRAPPER P_fdw29;
`

// round29Drop undoes round29Fixture and what an attack that ran may have
// left.
const round29Drop = `
DROP PUBLICATION IF EXISTS P_app_vpub, P_app_vpub2, P_allpub, P_schpub, P_app_pub29, P_app_pub29b, P_app_pub29e;
DROP SCHEMA IF EXISTS P_vic29 CASCADE;
DROP VIEW IF EXISTS P_app_cv CASCADE;
DROP TABLE IF EXISTS P_app_c, P_app_t, P_app_t2 CASCADE;
DROP TYPE IF EXISTS P_app_ty, P_app_ty29 CASCADE;
DROP SEQUENCE IF EXISTS P_app_sq CASCADE;
DROP SERVER IF EXISTS P_srv29 CASCADE;
DROP FOREIGN DATA WRAPPER IF EXISTS P_fdw29 CASCADE;
DROP OWNED BY P_r29;
DROP ROLE IF EXISTS P_r29;
`

// newAdvEnv29 is newAdvEnv with round29Policy added and round29Fixture.
func newAdvEnv29(t *testing.T) *advEnv {
	t.Helper()
	a := newAdvEnv(t)
	a.srv.cfg.Policy.(*enginePolicy).cur.Store(realPolicyWith(t, "testdata/adversarial", a.p,
		map[string]string{"round29.hcl": round29Policy}))
	t.Cleanup(func() { adminTry(t, a.sql(round29Drop)) })
	admin(t, a.sql(round29Fixture))
	return a
}

// advRound29Cases are the attacks of code29 (agent "" below): each must
// be denied with 42501 naming reason (the grant's denial names the table
// the statement reaches), and effect must return want after.
var advRound29Cases = []struct {
	dbddlCase
	agent string // code29 when empty
}{
	// An index named like a covered table, on P_other, which is not.
	{dbddlCase: dbddlCase{name: "rename index", sql: "ALTER INDEX P_app_oidx RENAME TO P_app_oidx2", reason: "P_other",
		effect: "SELECT count(*) FROM pg_class WHERE relname = 'P_app_oidx'", want: "1", cleanup: quietly("ALTER INDEX P_app_oidx2 RENAME TO P_app_oidx")}},
	{dbddlCase: dbddlCase{name: "rename index as a table", sql: "ALTER TABLE P_app_oidx RENAME TO P_app_oidx3", reason: "P_other",
		effect: "SELECT count(*) FROM pg_class WHERE relname = 'P_app_oidx'", want: "1", cleanup: quietly("ALTER INDEX P_app_oidx3 RENAME TO P_app_oidx")}},
	{dbddlCase: dbddlCase{name: "index options", sql: "ALTER INDEX P_app_oidx SET (fillfactor = 50)", reason: "P_other",
		effect: "SELECT coalesce(array_to_string(reloptions, ','), 'none') FROM pg_class WHERE relname = 'P_app_oidx'", want: "none"}},
	{dbddlCase: dbddlCase{name: "reindex index", sql: "REINDEX INDEX P_app_oidx", reason: "P_other"}},
	{dbddlCase: dbddlCase{name: "comment on index", sql: "COMMENT ON INDEX P_app_oidx IS 'r29'", reason: "P_other",
		effect: "SELECT coalesce(obj_description('P_app_oidx'::regclass, 'pg_class'), 'none')", want: "none"}},
	{dbddlCase: dbddlCase{name: "drop index", sql: "DROP INDEX P_app_oidx", reason: "P_other",
		effect: "SELECT count(*) FROM pg_class WHERE relname = 'P_app_oidx'", want: "1"}},
	{agent: "wide29", dbddlCase: dbddlCase{name: "comment on a catalog index", simple: true, reason: "PostgreSQL's own catalog",
		sql:    "BEGIN; COMMENT ON INDEX pg_class_oid_index IS 'r29'; ROLLBACK",
		effect: "SELECT coalesce(obj_description('pg_catalog.pg_class_oid_index'::regclass, 'pg_class'), 'none')", want: "none"}},

	// Built-in types written without a schema (inside a transaction
	// rolled back: they would change every session's int4).
	{dbddlCase: dbddlCase{name: "rename int4", simple: true, reason: "built-in pg_catalog.int4",
		sql: "BEGIN; ALTER TYPE int4 RENAME TO P_int; ROLLBACK", effect: "SELECT count(*) FROM pg_type WHERE typname = 'int4'", want: "1"}},
	{dbddlCase: dbddlCase{name: "move int4", simple: true, reason: "built-in pg_catalog.int4",
		sql: "BEGIN; ALTER TYPE int4 SET SCHEMA public; ROLLBACK", effect: "SELECT typnamespace::regnamespace::text FROM pg_type WHERE typname = 'int4'", want: "pg_catalog"}},
	{dbddlCase: dbddlCase{name: "comment on int4", simple: true, reason: "built-in pg_catalog.int4",
		sql: "BEGIN; COMMENT ON TYPE int4 IS 'r29-int4'; ROLLBACK", effect: "SELECT count(*) FROM pg_description WHERE description = 'r29-int4'"}},

	// Code in other languages.
	{dbddlCase: dbddlCase{name: "do plpython3u", sql: "DO LANGUAGE plpython3u $$import os; os.system('id')$$", reason: "DO LANGUAGE plpython3u"}},
	{dbddlCase: dbddlCase{name: "do internal", sql: "DO LANGUAGE internal 'int4in'", reason: "DO LANGUAGE internal"}},

	// Publications of tables the grant does not cover.
	{dbddlCase: dbddlCase{name: "publication set table", sql: "ALTER PUBLICATION P_app_vpub SET TABLE P_app_c", reason: "P_vic29",
		effect: "SELECT count(*) FROM pg_publication_rel WHERE prrelid = 'P_vic29.pt'::regclass", want: "1"}},
	{dbddlCase: dbddlCase{name: "publication add table", sql: "ALTER PUBLICATION P_app_vpub ADD TABLE P_app_c", reason: "P_vic29",
		effect: "SELECT count(*) FROM pg_publication_rel WHERE prrelid = 'P_app_c'::regclass"}},
	{dbddlCase: dbddlCase{name: "publication options", sql: "ALTER PUBLICATION P_app_vpub SET (publish = 'insert')", reason: "P_vic29",
		effect: "SELECT pubupdate::text FROM pg_publication WHERE pubname = 'P_app_vpub'", want: "true"}},
	{dbddlCase: dbddlCase{name: "rename publication", sql: "ALTER PUBLICATION P_app_vpub RENAME TO P_app_vpub2", reason: "P_vic29",
		effect: "SELECT count(*) FROM pg_publication WHERE pubname = 'P_app_vpub'", want: "1", cleanup: quietly("ALTER PUBLICATION P_app_vpub2 RENAME TO P_app_vpub")}},
	{dbddlCase: dbddlCase{name: "drop publication", sql: "DROP PUBLICATION P_app_vpub", reason: "P_vic29",
		effect: "SELECT count(*) FROM pg_publication WHERE pubname = 'P_app_vpub'", want: "1"}},
	{dbddlCase: dbddlCase{name: "drop publication for all tables", sql: "DROP PUBLICATION P_allpub", reason: "FOR ALL TABLES",
		effect: "SELECT count(*) FROM pg_publication WHERE pubname = 'P_allpub'", want: "1"}},
	{dbddlCase: dbddlCase{name: "drop publication of a schema", sql: "DROP PUBLICATION P_schpub", reason: "TABLES IN SCHEMA",
		effect: "SELECT count(*) FROM pg_publication WHERE pubname = 'P_schpub'", want: "1"}},

	// Cluster-wide I/O.
	{dbddlCase: dbddlCase{name: "checkpoint", sql: "CHECKPOINT", reason: "CHECKPOINT"}},

	// CASCADE reaches the administrator's objects in P_vic29 (each
	// case leaves what the next one aims at, were it not refused).
	{dbddlCase: dbddlCase{name: "truncate cascade", sql: "TRUNCATE P_app_c CASCADE", reason: "P_vic29.ref",
		effect: "SELECT count(*) FROM P_vic29.ref", want: "1"}},
	{dbddlCase: dbddlCase{name: "drop constraint cascade", sql: "ALTER TABLE P_app_c DROP CONSTRAINT P_app_c_pkey CASCADE", reason: "P_vic29.ref",
		effect: "SELECT count(*) FROM pg_constraint WHERE conrelid = 'P_vic29.ref'::regclass", want: "1"}},
	{dbddlCase: dbddlCase{name: "drop attribute cascade", sql: "ALTER TYPE P_app_ty DROP ATTRIBUTE b CASCADE", reason: "P_vic29.typed",
		effect: "SELECT count(*) FROM pg_attribute WHERE attrelid = 'P_vic29.typed'::regclass AND attnum > 0 AND NOT attisdropped", want: "2"}},
	{dbddlCase: dbddlCase{name: "drop sequence cascade", sql: "DROP SEQUENCE P_app_sq CASCADE", reason: "P_vic29.seqd",
		effect: "SELECT count(*) FROM pg_attrdef WHERE adrelid = 'P_vic29.seqd'::regclass", want: "1"}},
	{dbddlCase: dbddlCase{name: "drop view cascade", sql: "DROP VIEW P_app_cv CASCADE", reason: "P_vic29.v2",
		effect: "SELECT count(*) FROM pg_views WHERE schemaname = 'P_vic29' AND viewname = 'v2'", want: "1"}},
	{dbddlCase: dbddlCase{name: "drop column cascade", sql: "ALTER TABLE P_app_c DROP COLUMN id CASCADE", reason: "P_vic29.ref",
		effect: "SELECT count(*) FROM pg_views WHERE schemaname = 'P_vic29' AND viewname = 'v'", want: "1"}},
	{dbddlCase: dbddlCase{name: "drop table cascade", sql: "DROP TABLE P_app_c CASCADE", reason: "P_vic29.v3",
		effect: "SELECT count(*) FROM pg_views WHERE schemaname = 'P_vic29' AND viewname = 'v3'", want: "1"}},
}

// TestAdversarialRound29: see advRound29Cases.
func TestAdversarialRound29(t *testing.T) {
	a := newAdvEnv29(t)
	for _, tc := range advRound29Cases {
		agent := tc.agent
		if agent == "" {
			agent = "code29"
		}
		t.Run(tc.name, func(t *testing.T) { runDenialCase(t, a, agent, tc.dbddlCase) })
	}
}

// runDenialCase runs tc as agent in the simple and extended protocols
// (the simple one only for tc.simple): each run must be denied with
// 42501 and a hint, naming tc.reason (in any case) when it is set, and
// tc.effect must then return tc.want ("0" when unset).
func runDenialCase(t *testing.T, a *advEnv, agent string, tc dbddlCase) {
	t.Helper()
	ctx := context.Background()
	if tc.cleanup != "" {
		t.Cleanup(func() { adminTry(t, a.sql(tc.cleanup)) })
	}
	tp, err := a.connectTapped(t, agent, nil)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	modes := []string{"simple", "text"}
	if tc.simple {
		modes = modes[:1]
	}
	for _, mode := range modes {
		o := tp.run(ctx, mode, a.sql(tc.sql))
		var pe *pgconn.PgError
		switch {
		case !o.denied:
			t.Errorf("%s: want a denial (42501), got %s %v", mode, o, o.err)
		case !errors.As(o.err, &pe) || pe.Hint == "" ||
			tc.reason != "" && !strings.Contains(strings.ToLower(pe.Message), strings.ToLower(a.sql(tc.reason))):
			t.Errorf("%s: want a denial naming %q, with a hint: %v", mode, a.sql(tc.reason), o.err)
		}
		_ = tp.pc.Exec(ctx, "ROLLBACK").Close()
	}
	if tc.effect != "" {
		want := tc.want
		if want == "" {
			want = "0"
		}
		if got := adminValue(t, a.sql(tc.effect)); got != a.sql(want) {
			t.Errorf("after the attack, %s = %q, want %q", tc.effect, got, want)
		}
	}
}

// advRound29Held were refused before this round, for every grant or for
// code29's (they name relations it does not cover): held.
var advRound29Held = []dbddlCase{
	{name: "load", sql: "LOAD 'plpgsql'", reason: "LOAD"},
	{name: "alter system", sql: "SET lock_timeout = '100ms'; ALTER SYSTEM SET work_mem = '1MB'", simple: true, reason: "ALTER SYSTEM"},
	{name: "create role", sql: "CREATE ROLE P_r29b SUPERUSER", reason: "roles",
		effect: "SELECT count(*) FROM pg_roles WHERE rolname = 'P_r29b'", cleanup: "DROP ROLE IF EXISTS P_r29b"},
	{name: "create user", sql: "CREATE USER P_r29c PASSWORD 'x'", reason: "roles",
		effect: "SELECT count(*) FROM pg_roles WHERE rolname = 'P_r29c'", cleanup: "DROP ROLE IF EXISTS P_r29c"},
	{name: "create group", sql: "CREATE GROUP P_r29d", reason: "roles",
		effect: "SELECT count(*) FROM pg_roles WHERE rolname = 'P_r29d'", cleanup: "DROP ROLE IF EXISTS P_r29d"},
	{name: "alter role", sql: "ALTER ROLE P_r29 SUPERUSER LOGIN", reason: "roles",
		effect: "SELECT rolsuper::text FROM pg_roles WHERE rolname = 'P_r29'", want: "false"},
	{name: "alter group", sql: "ALTER GROUP pg_read_server_files ADD USER P_r29", reason: "roles",
		effect: "SELECT count(*) FROM pg_auth_members WHERE member = 'P_r29'::regrole"},
	{name: "drop user", sql: "DROP USER P_r29", reason: "roles", effect: "SELECT count(*) FROM pg_roles WHERE rolname = 'P_r29'", want: "1"},
	{name: "reassign owned", sql: "REASSIGN OWNED BY P_r29 TO postgres", reason: "roles"},
	{name: "drop owned", sql: "DROP OWNED BY P_r29", reason: "roles"},
	{name: "alter large object", sql: "ALTER LARGE OBJECT 4242 OWNER TO P_r29", reason: "OWNER TO"},
	{name: "alter server", sql: "ALTER SERVER P_srv29 OPTIONS (host 'elsewhere')", reason: "ALTER SERVER",
		effect: "SELECT count(*) FROM pg_foreign_server WHERE srvname = 'P_srv29' AND srvoptions IS NOT NULL"},
	{name: "create user mapping", sql: "CREATE USER MAPPING FOR P_r29 SERVER P_srv29 OPTIONS (password 'x')", reason: "user mappings",
		effect: "SELECT count(*) FROM pg_user_mappings WHERE srvname = 'P_srv29'"},
	{name: "alter subscription", sql: "ALTER SUBSCRIPTION P_sub29 DISABLE", reason: "subscriptions"},
	{name: "drop subscription", sql: "DROP SUBSCRIPTION IF EXISTS P_sub29", reason: "subscriptions"},
	{name: "vacuum full of an uncovered table", sql: "VACUUM FULL P_other", reason: "P_other"},
	{name: "cluster of an uncovered table", sql: "CLUSTER P_other USING P_app_oidx", reason: "P_other"},
	{name: "lock of an uncovered table", sql: "BEGIN; LOCK TABLE P_other IN ACCESS EXCLUSIVE MODE; COMMIT", simple: true, reason: "P_other"},
	{name: "refresh of an uncovered view", sql: "REFRESH MATERIALIZED VIEW P_cust_mv", reason: "P_cust_mv"},
	{name: "security label of an uncovered table", sql: "SECURITY LABEL ON TABLE P_other IS 'x'", reason: "P_other"},
}

// TestAdversarialRound29Held: see advRound29Held.
func TestAdversarialRound29Held(t *testing.T) {
	a := newAdvEnv29(t)
	for _, tc := range advRound29Held {
		t.Run(tc.name, func(t *testing.T) { runDenialCase(t, a, "code29", tc) })
	}
}

// advRound29Ordinary is DDL code29 runs on its own tables, in order, each
// step allowed: RESTRICT drops, TRUNCATE of every table named, CASCADE
// reaching only tables and views the grant covers, an index
// named outside the grant's pattern on a covered table (decided on the
// table), publications of covered tables (an empty one is
// database-level), DO in plpgsql, a type of its own.
var advRound29Ordinary = []string{
	"CREATE TABLE P_app_t (id int PRIMARY KEY, note text)",
	"CREATE TABLE P_app_t2 (id int REFERENCES P_app_t)",
	"CREATE INDEX P_app_t_note ON P_app_t (note)",
	"CREATE INDEX P_zz29 ON P_app_t (id, note)",
	"ALTER INDEX P_zz29 SET (fillfactor = 70)",
	"COMMENT ON INDEX P_zz29 IS 'r29'",
	"REINDEX INDEX P_zz29",
	"DROP INDEX P_zz29",
	"DROP INDEX P_app_t_note",
	"TRUNCATE P_app_t, P_app_t2",
	"TRUNCATE P_app_t CASCADE",
	"CREATE PUBLICATION P_app_pub29 FOR TABLE P_app_t WITH (publish = 'insert')",
	"ALTER PUBLICATION P_app_pub29 ADD TABLE P_app_t2",
	"ALTER PUBLICATION P_app_pub29 SET (publish = 'insert, truncate')",
	"ALTER PUBLICATION P_app_pub29 RENAME TO P_app_pub29b",
	"DROP PUBLICATION P_app_pub29b",
	"CREATE PUBLICATION P_app_pub29e",
	"DROP PUBLICATION P_app_pub29e",
	"ALTER TABLE P_app_t2 DROP COLUMN id",
	"DO $$BEGIN PERFORM 1; END$$",
	"DO LANGUAGE plpgsql $$BEGIN PERFORM 2; END$$",
	"CREATE TYPE P_app_ty29 AS ENUM ('a')",
	"ALTER TYPE P_app_ty29 ADD VALUE 'b'",
	"COMMENT ON TYPE P_app_ty29 IS 'r29'",
	"DROP TYPE P_app_ty29",
	"DROP TABLE P_app_t2",
	"CREATE VIEW P_app_tv AS SELECT note FROM P_app_t",
	"DROP TABLE P_app_t CASCADE",
}

// TestAdversarialRound29Ordinary: see advRound29Ordinary.
func TestAdversarialRound29Ordinary(t *testing.T) {
	a := newAdvEnv29(t)
	ctx := context.Background()
	tp, err := a.connectTapped(t, "code29", nil)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	for _, step := range advRound29Ordinary {
		if o := tp.run(ctx, "simple", a.sql(step)); o.err != nil {
			t.Errorf("%s: %v", step, o.err)
		}
	}
}
