package pgproxy

import (
	"os"
	"testing"
)

// Round 14 of the red team: values derived from masked columns by the
// schema itself, created by an administrator before the agent connects
// (agent DDL is adversarial_ddl_test.go): stored generated columns,
// materialized views, partitions and inheritance children, views with
// security_barrier or security_invoker, composite-type columns, foreign
// tables, rules and triggers.
//
// Holes found and closed:
//   - A stored generated column computed from a masked column
//     (GENERATED ALWAYS AS (right(ssn, 7)), ssn || '', md5(ssn),
//     length(ssn)) was a column of its own that no rule names: read
//     directly, by *, TABLE, RETURNING, through a view (security_barrier
//     and security_invoker too), a view of a view or a materialized view
//     over it, it came back unmasked, and a filter or ORDER BY on it (WHERE
//     tail LIKE '64%') and COPY (SELECT dup ...) TO STDOUT ran. Fixed in
//     catalog.go (relationQuery reads the expression of each stored
//     generated column, catalogQuery and generatedDepsQuery the columns
//     it is computed from, viewDepsQuery follows a view's generated
//     columns to them) and runtime/pgsql (GeneratedColumns, View.Table):
//     a generated column has the lineage of its expression, as a view's
//     column has its definition's, so a value read from it is masked as
//     computed from the masked column (redact, null under a null rule) and
//     a filter on it is a filter on the masked column. An expression
//     calling a function outside the safe set has unknown lineage
//     (denied in results and filters under column masking)
//     (TestAdversarialRound14Generated).
//
// Held (TestAdversarialRound14Holds): materialized views over the masked
// column, also after an administrator's REFRESH (TABLE, *, whole rows,
// COPY (SELECT ...) denied); a child or partition read directly without a
// rule of its own (denied, round 8); a masked composite column and its
// fields; whole rows of a table with generated columns.
//
// Open, by design (TestAdversarialRound14AdminCopies, skipped unless
// MANDATE_ADV_OPEN is set): a foreign table an administrator pointed back
// at the masked table (postgres_fdw) is a relation no rule names; a
// trigger or rule an administrator created copies OLD.ssn into a table
// the agent reads when the agent's allowed UPDATE fires it. The policy
// owner made these copies; the rules must name them (docs/postgres.md).

const round14Policy = `
masking "pii14" {
  column "public.PREFIX_g14.ssn" {
    method = "redact"
  }
  column "public.PREFIX_g14u.ssn" {
    method = "redact"
  }
  column "public.PREFIX_g14p.ssn" {
    method = "redact"
  }
  column "public.PREFIX_g14p_a.ssn" {
    method = "redact"
  }
  column "public.PREFIX_g14ins.ssn" {
    method = "redact"
  }
  column "public.PREFIX_g14c.info" {
    method = "redact"
  }
}

role "reader14" {
  postgres "adv" {
    statements = ["select", "copy_out", "insert", "update"]
    tables     = ["public.PREFIX_*", "pg_catalog.*", "information_schema.*"]
    masking    = [masking.pii, masking.pii14]
  }
}

agent "reader14" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "reader14"
  }
  roles = [role.reader14]
}
`

const round14Fixture = `
CREATE TABLE P_g14 (id int PRIMARY KEY, ssn text,
  tail text GENERATED ALWAYS AS (right(ssn, 7)) STORED,
  dup text GENERATED ALWAYS AS (ssn || '') STORED,
  digest text GENERATED ALWAYS AS (md5(ssn)) STORED,
  len int GENERATED ALWAYS AS (length(ssn)) STORED,
  note text);
INSERT INTO P_g14 (id, ssn, note) VALUES (1, '371-64-2958', 'a'), (2, '482-75-3069', 'b');
CREATE VIEW P_g14v AS SELECT id, tail, dup FROM P_g14;
CREATE VIEW P_g14vv AS SELECT id, tail AS t2 FROM P_g14v;
CREATE VIEW P_g14sb WITH (security_barrier) AS SELECT id, dup FROM P_g14;
CREATE VIEW P_g14si WITH (security_invoker) AS SELECT id, dup, tail FROM P_g14;
CREATE MATERIALIZED VIEW P_g14mv AS SELECT id, ssn, dup, upper(ssn) AS up FROM P_g14;
CREATE TABLE P_g14kid (extra text) INHERITS (P_g14);
INSERT INTO P_g14kid (id, ssn, extra) VALUES (3, '593-86-4170', 'k');
CREATE FUNCTION P_g14f(text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT upper($1)';
CREATE TABLE P_g14u (id int, ssn text, up text GENERATED ALWAYS AS (P_g14f(ssn)) STORED);
INSERT INTO P_g14u (id, ssn) VALUES (1, '371-64-2958');
CREATE TABLE P_g14p (id int, ssn text, tail text GENERATED ALWAYS AS (right(ssn, 7)) STORED) PARTITION BY RANGE (id);
CREATE TABLE P_g14p_a PARTITION OF P_g14p FOR VALUES FROM (0) TO (100);
INSERT INTO P_g14p (id, ssn) VALUES (1, '371-64-2958');
CREATE TABLE P_g14ins (id int, ssn text);
INSERT INTO P_g14ins VALUES (1, '482-75-3069');
CREATE TABLE P_g14log (id int, val text);
CREATE FUNCTION P_g14tf() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO P_g14log VALUES (OLD.id, 'trg:' || OLD.ssn); RETURN NEW; END$$;
CREATE TRIGGER P_g14t AFTER UPDATE ON P_g14ins FOR EACH ROW EXECUTE FUNCTION P_g14tf();
CREATE TYPE P_g14person AS (name text, ssn text);
CREATE TABLE P_g14c (id int, info P_g14person);
INSERT INTO P_g14c VALUES (1, ROW('Ann', '593-86-4170'));
`

const round14Drop = `
DROP MATERIALIZED VIEW IF EXISTS P_g14mv;
DROP VIEW IF EXISTS P_g14vv, P_g14v, P_g14sb, P_g14si;
DROP TABLE IF EXISTS P_g14kid, P_g14, P_g14u, P_g14p, P_g14ins, P_g14log, P_g14c CASCADE;
DROP FUNCTION IF EXISTS P_g14f(text), P_g14tf();
DROP TYPE IF EXISTS P_g14person;
`

// r14Secrets are the fixture's values beyond advSecrets, and the parts
// and digest of them its generated columns hold.
var r14Secrets = []string{"371-64-2958", "482-75-3069", "593-86-4170", "64-2958", "75-3069", "86-4170",
	"fec7f21a3589245e11c08f258fdd9acd"}

// newAdvEnv14 is newAdvEnv with round14Policy added and round14Fixture
// created.
func newAdvEnv14(t *testing.T) *advEnv {
	t.Helper()
	a := newAdvEnv(t)
	a.srv.cfg.Policy.(*enginePolicy).cur.Store(realPolicyWith(t, "testdata/adversarial", a.p, map[string]string{"round14.hcl": round14Policy}))
	t.Cleanup(func() { admin(t, a.sql(round14Drop)) })
	admin(t, a.sql(round14Fixture))
	return a
}

// Stored generated columns over masked columns (role reader14): each of
// these returned or filtered on a value computed from ssn before the fix.
var advRound14GeneratedCases = []advCase{
	// Legitimate statements keep working.
	{name: "allowed plain columns", sql: "SELECT id, note FROM P_g14 WHERE note = 'a' ORDER BY id", allow: true},
	{name: "allowed count over user code", sql: "SELECT count(*) FROM P_g14u", allow: true},
	// System columns read the whole row (since session 7: ctid depends on
	// the size of every stored value), here a generated column computed by
	// user code: of unknown origin, denied where masking applies.
	{name: "system columns of a row with user code", sql: "SELECT ctid::text, xmin::text, id FROM P_g14u", deny: true},

	// Read as they are.
	{name: "right of a masked column", sql: "SELECT tail FROM P_g14", masked: true},
	{name: "copy of a masked column", sql: "SELECT dup FROM P_g14", masked: true},
	{name: "digest of a masked column", sql: "SELECT digest FROM P_g14", masked: true},
	{name: "length of a masked column", sql: "SELECT len FROM P_g14", masked: true},
	{name: "star", sql: "SELECT * FROM P_g14"},
	{name: "table", sql: "TABLE P_g14"},
	// Two stars: the result cannot be aligned with the lineage, so the
	// catalog's origin of each column decides alone.
	{name: "two stars", sql: "SELECT g.*, h.* FROM P_g14 g JOIN P_g14 h USING (id)"},
	{name: "two stars of a view", sql: "SELECT v.*, w.* FROM P_g14v v JOIN P_g14v w USING (id)"},
	{name: "computed from a generated column", sql: "SELECT upper(tail), dup || '', coalesce(len, 0) FROM P_g14", masked: true},
	{name: "update returning", sql: "UPDATE P_g14 SET note = note RETURNING tail, dup, len", masked: true},
	{name: "update returning star", sql: "UPDATE P_g14 SET note = note RETURNING *"},
	{name: "partitioned table", sql: "SELECT tail, tail || '' FROM P_g14p", masked: true},
	{name: "partition", sql: "SELECT tail, tail || '' FROM P_g14p_a", masked: true},

	// Through views and materialized views.
	{name: "view", sql: "SELECT tail, dup FROM P_g14v", masked: true},
	{name: "view of a view", sql: "SELECT t2 FROM P_g14vv", masked: true},
	{name: "view of a view computed", sql: "SELECT t2 || '' FROM P_g14vv", masked: true},
	{name: "security barrier view", sql: "SELECT dup FROM P_g14sb", masked: true},
	{name: "security invoker view", sql: "SELECT dup, tail FROM P_g14si", masked: true},
	{name: "security invoker view star", sql: "SELECT * FROM P_g14si"},
	{name: "materialized view column over a generated column", sql: "SELECT dup FROM P_g14mv", masked: true},

	// Filters, copies out and into stored data.
	{name: "filter", sql: "SELECT id FROM P_g14 WHERE tail LIKE '64%'", deny: true},
	{name: "filter on a length", sql: "SELECT id FROM P_g14 WHERE len = 11", deny: true},
	{name: "order by a digest", sql: "SELECT id FROM P_g14 ORDER BY digest", deny: true},
	{name: "filter through a view of a view", sql: "SELECT id FROM P_g14vv WHERE t2 LIKE '6%'", deny: true},
	{name: "filter through a materialized view", sql: "SELECT id FROM P_g14mv WHERE dup LIKE '3%'", deny: true},
	{name: "filter on a partition", sql: "SELECT id FROM P_g14p_a WHERE tail > '5'", deny: true},
	{name: "update filtered", sql: "UPDATE P_g14 SET note = note WHERE tail LIKE '6%'", deny: true},
	{name: "insert select", sql: "INSERT INTO P_g14log SELECT id, tail FROM P_g14", deny: true},
	{name: "copy out", sql: "COPY (SELECT dup FROM P_g14) TO STDOUT"},
	{name: "copy out of a materialized view", sql: "COPY (SELECT dup FROM P_g14mv) TO STDOUT"},

	// A generation expression calling a function the gateway cannot
	// see: of unknown origin.
	{name: "user function", sql: "SELECT up FROM P_g14u", deny: true},
	{name: "user function star", sql: "SELECT * FROM P_g14u", deny: true},
}

func TestAdversarialRound14Generated(t *testing.T) {
	a := newAdvEnv14(t)
	advSecretsExtra(t, r14Secrets)
	runAdvCases(t, a, "reader14", advRound14GeneratedCases)
}

// What held before the fix.
var advRound14HoldCases = []advCase{
	{name: "whole row of a table with generated columns", sql: "SELECT g::text FROM P_g14 g", masked: true},
	{name: "materialized view", sql: "SELECT ssn, up FROM P_g14mv", masked: true},
	{name: "materialized view table", sql: "TABLE P_g14mv"},
	{name: "materialized view whole row", sql: "SELECT m::text, to_jsonb(m)::text FROM P_g14mv m", masked: true},
	{name: "materialized view copy", sql: "COPY P_g14mv TO STDOUT"},
	{name: "child read directly", sql: "SELECT tail, dup FROM P_g14kid", deny: true},
	{name: "child star", sql: "SELECT * FROM P_g14kid", deny: true},
	{name: "composite column and its field", sql: "SELECT (info).ssn, info FROM P_g14c", masked: true},
	{name: "composite field filter", sql: "SELECT id FROM P_g14c WHERE (info).ssn LIKE '5%'", deny: true},
}

// After an administrator's REFRESH the materialized view is masked the
// same way.
var advRound14RefreshCases = []advCase{
	{name: "materialized view after refresh", sql: "SELECT ssn, up FROM P_g14mv", masked: true},
	{name: "materialized view after refresh star", sql: "SELECT * FROM P_g14mv"},
	{name: "materialized view after refresh copy", sql: "COPY (SELECT * FROM P_g14mv) TO STDOUT"},
	{name: "materialized view after refresh filter", sql: "SELECT count(*) FROM P_g14mv WHERE up LIKE '5%'", deny: true},
}

func TestAdversarialRound14Holds(t *testing.T) {
	a := newAdvEnv14(t)
	advSecretsExtra(t, r14Secrets)
	runAdvCases(t, a, "reader14", advRound14HoldCases)
	admin(t, a.sql("INSERT INTO P_g14 (id, ssn) VALUES (5, '593-86-4170'); REFRESH MATERIALIZED VIEW P_g14mv"))
	runAdvCases(t, a, "reader14", advRound14RefreshCases)
}

// TestAdversarialRound14AdminCopies: copies of the masked column an
// administrator set up, which the rules do not name. Open by design (the
// policy owner made the copy; see docs/postgres.md, Masking): a foreign
// table pointing back at the masked table, and a trigger and a rule that
// copy OLD.ssn into an unmasked table when the agent's allowed UPDATE
// fires them.
func TestAdversarialRound14AdminCopies(t *testing.T) {
	if os.Getenv("MANDATE_ADV_OPEN") == "" {
		t.Skip("open: copies an administrator made (foreign table, trigger, rule) are relations no rule names")
	}
	a := newAdvEnv14(t)
	advSecretsExtra(t, r14Secrets)
	if adminValue(t, "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgres_fdw'") != "1" {
		t.Skip("postgres_fdw is not available")
	}
	t.Cleanup(func() {
		admin(t, a.sql("DROP SCHEMA IF EXISTS P_fdw CASCADE; DROP SERVER IF EXISTS P_srv CASCADE; DROP EXTENSION IF EXISTS postgres_fdw CASCADE"))
	})
	admin(t, a.sql(`CREATE SCHEMA P_fdw; CREATE EXTENSION postgres_fdw SCHEMA P_fdw;
CREATE SERVER P_srv FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '5432', dbname 'test');
CREATE USER MAPPING FOR postgres SERVER P_srv OPTIONS (user 'postgres');
CREATE FOREIGN TABLE P_ft (id int, ssn text) SERVER P_srv OPTIONS (table_name 'P_g14');
CREATE RULE P_g14rule AS ON UPDATE TO P_g14ins DO ALSO INSERT INTO P_g14log VALUES (OLD.id, 'rule:' || OLD.ssn);`))
	runAdvCases(t, a, "reader14", []advCase{
		{name: "foreign table over the masked table", sql: "SELECT ssn FROM P_ft", masked: true},
		{name: "foreign table filter", sql: "SELECT id FROM P_ft WHERE ssn LIKE '3%'", deny: true},
		{name: "update fires the copies", sql: "UPDATE P_g14ins SET id = id", simple: true},
		{name: "copies read back", sql: "SELECT val FROM P_g14log", masked: true},
	})
}
