package pgproxy

import "testing"

// DDL naming an object without a schema reaches pg_catalog's first: with a
// ddl grant, ALTER FUNCTION pg_read_file(text) RENAME TO x renamed the
// built-in for every session, ALTER COLLATION "C" and ALTER TEXT SEARCH
// CONFIGURATION english changed the server's own, and COMMENT ON FUNCTION
// pg_sleep(float8) wrote to the catalog's descriptions (the analyzer knew
// only the built-in types and the safe functions by name). The gateway now
// asks the catalog (pgsql sysnames.go, session.systemObjects). Each
// statement runs inside BEGIN ... ROLLBACK, so that a regression changes
// nothing.

const sysnamesPolicy = `
role "ddl31" {
  postgres "adv" {
    statements = ["select", "ddl"]
    tables     = ["public.PREFIX_app*"]
  }
}

agent "ddl31" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "ddl31"
  }
  roles = [role.ddl31]
}
`

const sysnamesFixture = `
CREATE COLLATION P_app_coll (locale = 'C');
CREATE TEXT SEARCH CONFIGURATION P_app_ts (COPY = pg_catalog.simple);
`

const sysnamesDrop = `
DROP COLLATION IF EXISTS P_app_coll;
DROP COLLATION IF EXISTS P_app_coll2;
DROP TEXT SEARCH CONFIGURATION IF EXISTS P_app_ts;
DROP TEXT SEARCH CONFIGURATION IF EXISTS P_app_ts2;
`

var sysnamesCases = []advCase{
	{name: "rename a built-in function", sql: "BEGIN; ALTER FUNCTION pg_read_file(text) RENAME TO P_app_x; ROLLBACK", simple: true, deny: true},
	{name: "set a built-in function's search path", sql: "BEGIN; ALTER FUNCTION pg_sleep(float8) SET search_path = public; ROLLBACK", simple: true, deny: true},
	{name: "alter a built-in routine", sql: "BEGIN; ALTER ROUTINE pg_sleep(float8) COST 1; ROLLBACK", simple: true, deny: true},
	{name: "comment on a built-in function", sql: "BEGIN; COMMENT ON FUNCTION pg_sleep(float8) IS 'x'; ROLLBACK", simple: true, deny: true},
	{name: "drop a built-in function", sql: "BEGIN; DROP FUNCTION pg_sleep(float8); ROLLBACK", simple: true, deny: true},
	{name: "alter a built-in operator", sql: "BEGIN; ALTER OPERATOR = (int4, int4) SET (RESTRICT = eqsel); ROLLBACK", simple: true, deny: true},
	{name: "rename a built-in collation", sql: `BEGIN; ALTER COLLATION "C" RENAME TO P_app_c; ROLLBACK`, simple: true, deny: true},
	{name: "rename a built-in text search configuration", sql: "BEGIN; ALTER TEXT SEARCH CONFIGURATION english RENAME TO P_app_e; ROLLBACK", simple: true, deny: true},
	{name: "rename a built-in operator class", sql: "BEGIN; ALTER OPERATOR CLASS int4_ops USING btree RENAME TO P_app_o; ROLLBACK", simple: true, deny: true},

	// The agent's own objects, written without a schema.
	{name: "rename its own collation", sql: "BEGIN; ALTER COLLATION P_app_coll RENAME TO P_app_coll2; ROLLBACK", simple: true, allow: true},
	{name: "rename its own text search configuration", sql: "BEGIN; ALTER TEXT SEARCH CONFIGURATION P_app_ts RENAME TO P_app_ts2; ROLLBACK", simple: true, allow: true},
}

func TestAdversarialSystemObjects(t *testing.T) {
	a := newAdvEnv(t)
	a.srv.cfg.Policy.(*enginePolicy).cur.Store(realPolicyWith(t, "testdata/adversarial", a.p, map[string]string{"sysnames.hcl": sysnamesPolicy}))
	t.Cleanup(func() { admin(t, a.sql(sysnamesDrop)) })
	admin(t, a.sql(sysnamesFixture))
	runAdvCases(t, a, "ddl31", sysnamesCases)
}
