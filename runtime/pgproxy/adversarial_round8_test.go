package pgproxy

import (
	"context"
	"strings"
	"testing"

	"github.com/mandatehq/mandate/masking"
	"github.com/mandatehq/mandate/model"
)

// Round 8 of the red team: the semantics of masking rules themselves
// (mixed-case names, a schema other than public, sub-partitions,
// inheritance children with their own column order, merged USING and
// NATURAL columns, whole-row and record field access, system columns,
// table functions returning a masked table's row type, RETURNING of
// writes), masking methods applied to values a query computes, results
// of other shapes (several result sets, empty statements, set
// operations), and detectors over messages that granted functions raise.
//
// Holes found and closed:
//   - A column's rule was applied as written to any value computed from
//     the column, and the first masked source of a computed value picked
//     the method. The methods that keep part of a value then kept what the
//     query put there: email || '@' || split_part(email, '@', 1) kept the
//     local part as the "domain", concat(email, '@', ssn) an SSN, 'x@' ||
//     tag a partially masked value whole; and the hash method hashed any
//     text a CASE or a UNION ALL returned in the masked column's place, so
//     the gateway was an oracle for guesses under the masking's key; a
//     view computing such a value passed it on the same way
//     (TestAdversarialRound8Computed, TestAdversarialRound8HashOracle).
//     Fixed in maskSet.computed and buildPlan (mask.go): a rule applies as
//     written to the column's own value (its origin, or a plain reference
//     with one source); a value computed from masked columns is redacted
//     (NULL under a null rule).
//   - Masking matches rules to columns without regard to case, the
//     policy's filter check as written: a rule written public.t.SSN masked
//     the column ssn in results but let WHERE ssn LIKE '9%' through
//     (TestAdversarialRound8Rules "filter on a rule written in upper
//     case"). Fixed by maskSet.maskedFilter, checked in checkAllowed
//     (decide.go): a filter that only a case-folded match masks is denied.
//   - A rule on a view's own column masked the column read as it is, but a
//     value computed from it (upper(s), s || 'x') was masked by the lineage
//     expanded to the view's base columns, which no rule masks
//     (TestAdversarialRound8Rules "view rule computed"). Fixed by
//     keepMaskedSources (decide.go): the expanded lineage keeps the masked
//     view columns it replaced.
//
// Closed by the lead in package masking: the email and partial methods
// kept whatever followed a value's last '@' (advRound8MethodCases).
//
// Over-denial closed: system columns (ctid, xmin, tableoid ...) of a table
// with masked columns were denied as field notation (namedRel.systemColumn;
// tableoid stays denied in an inheritance tree, where it tells the member
// and so the partition key).
//
// Inherent, not closed: a writer of a hashed column can store a guess and
// read its hash back; the error-or-not bit of a computation stays an
// oracle (docs/sql.md, known limits).

// round8Policy adds to the adversarial policy rules on the round's own
// relations, a reader under both maskings, and a detector-only role whose
// grant names functions that raise notices.
const round8Policy = `
masking "r8" {
  hash_key = env("ADV_HASH_KEY")

  column "public.PREFIX_r8mix.SSN" {
    method = "redact"
  }
  column "public.PREFIX_r8mix.Mail" {
    method = "email"
  }
  column "PREFIX_s8.staff.salary" {
    method = "redact"
  }
  column "public.PREFIX_r8p.tag" {
    method = "partial"
  }
  column "public.PREFIX_r8p.mail" {
    method = "partial"
  }
  column "public.PREFIX_r8p.pin" {
    method = "hash"
  }
  column "public.PREFIX_r8p.nul" {
    method = "null"
  }
  column "public.PREFIX_r8e.mail" {
    method = "email"
  }
  column "public.PREFIX_r8e.part" {
    method = "partial"
  }
  column "public.PREFIX_r8v.s" {
    method = "redact"
  }
  column "public.PREFIX_r8f.ssn" {
    method       = "redact"
    allow_filter = true
  }
  column "public.PREFIX_r8sub.ssn" {
    method = "redact"
  }
  column "public.PREFIX_r8ih.ssn" {
    method = "redact"
  }
}

masking "d8" {
  detector "credit_card" {
    method = "redact"
  }
  detector "us_ssn" {
    method = "redact"
  }
  detector "email" {
    method = "email"
  }
}

role "reader8" {
  postgres "adv" {
    statements = ["select"]
    tables     = ["public.PREFIX_*", "PREFIX_s8.*", "pg_catalog.*"]
    masking    = [masking.pii, masking.r8]
  }
}

role "detect8" {
  postgres "adv" {
    statements = ["select"]
    tables     = ["public.PREFIX_*"]
    functions  = ["PREFIX_noisy", "PREFIX_r8raise"]
    masking    = [masking.d8]
  }
}

agent "reader8" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "reader8"
  }
  roles = [role.reader8]
}

agent "detect8" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "detect8"
  }
  roles = [role.detect8]
}
`

// round8Fixture: a table whose rules are written in another case than
// its (folded) columns, a schema of its own, the methods that keep part
// of a value with short, empty, NULL and non-ASCII values, a masked
// column that may be filtered on and an unmasked twin, a partition tree
// two levels deep, an inheritance child with its own column order, and a
// function raising what it is given.
const round8Fixture = `
CREATE TABLE P_r8mix (id int, SSN text, "Mail" text);
INSERT INTO P_r8mix VALUES (1, '918-27-3645', 'zara.secret7@hidden.example');
CREATE SCHEMA P_s8;
CREATE TABLE P_s8.staff (id int, salary text);
INSERT INTO P_s8.staff VALUES (1, '7351982');
CREATE TABLE P_r8p (id int, tag text, mail text, pin text, nul text);
INSERT INTO P_r8p VALUES
  (1, '918-27-3645', 'zara.secret7@hidden.example', '4929381726354410', '827-36-4591'),
  (2, 'ab', '@', '', ''),
  (3, NULL, NULL, NULL, NULL),
  (4, 'Ωmega', 'é@x', 'x', 'y');
CREATE TABLE P_r8e (id int, mail text, part text);
INSERT INTO P_r8e VALUES (1, 'call me @ 736-45-5928', 'n@ 736-45-5928'), (2, 'a@b@827-36-4591', 'x@827-36-4591');
CREATE VIEW P_r8cv AS SELECT id, email || '@' || ssn AS e, split_part(email, '@', 1) AS l FROM P_cust;
CREATE TABLE P_r8vb (id int, s text);
INSERT INTO P_r8vb VALUES (1, '534-29-1846');
CREATE VIEW P_r8v AS SELECT id, s FROM P_r8vb;
CREATE TABLE P_r8f (id int, ssn text);
INSERT INTO P_r8f VALUES (1, '827-36-4591'), (2, '736-45-5928');
CREATE TABLE P_r8g (id int, ssn text);
INSERT INTO P_r8g VALUES (1, NULL), (5, '000-00-0000');
CREATE TABLE P_r8sub (id int, region text, ssn text) PARTITION BY LIST (region);
CREATE TABLE P_r8sub_eu PARTITION OF P_r8sub FOR VALUES IN ('eu') PARTITION BY RANGE (id);
CREATE TABLE P_r8sub_eu1 PARTITION OF P_r8sub_eu FOR VALUES FROM (0) TO (100);
INSERT INTO P_r8sub VALUES (1, 'eu', '645-18-2739');
CREATE TABLE P_r8ih (id int, ssn text);
CREATE TABLE P_r8ih_kid (ssn text, id int, extra text);
ALTER TABLE P_r8ih_kid INHERIT P_r8ih;
INSERT INTO P_r8ih_kid VALUES ('423-56-7190', 1, 'x');
CREATE TABLE P_r8d (id int, note text);
INSERT INTO P_r8d VALUES (1, 'card 4111 1111 1111 1111, ssn 123-45-6789');
CREATE FUNCTION P_r8raise(text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'n %', $1 USING DETAIL = $1, HINT = $1, COLUMN = $1, TABLE = $1, SCHEMA = $1, DATATYPE = $1, CONSTRAINT = $1;
  RAISE WARNING '%', $1;
  IF $1 LIKE '%fail%' THEN
    RAISE EXCEPTION 'e %', $1 USING DETAIL = $1, HINT = $1, COLUMN = $1;
  END IF;
  RETURN 'ok';
END $$;
`

const round8Drop = `
DROP FUNCTION IF EXISTS P_r8raise(text);
DROP VIEW IF EXISTS P_r8v, P_r8cv;
DROP TABLE IF EXISTS P_r8vb, P_r8mix, P_r8e, P_r8p, P_r8f, P_r8g, P_r8sub, P_r8ih, P_r8ih_kid, P_r8d CASCADE;
DROP SCHEMA IF EXISTS P_s8 CASCADE;
`

// newAdvEnv8 is newAdvEnv with round8Policy added and round8Fixture
// created.
func newAdvEnv8(t *testing.T) *advEnv {
	t.Helper()
	a := newAdvEnv(t)
	a.srv.cfg.Policy.(*enginePolicy).cur.Store(realPolicyWith(t, "testdata/adversarial", a.p, map[string]string{"round8.hcl": round8Policy}))
	t.Cleanup(func() { admin(t, a.sql(round8Drop)) })
	admin(t, a.sql(round8Fixture))
	return a
}

// r8Secrets are the fixture's values beyond advSecrets: the partial
// method may keep the last four characters of a number, never the rest.
var r8Secrets = []string{"Ωmega", "mega", "123-45-6789", "4111 1111 1111 1111"}

var advRound8RuleCases = []advCase{
	// Legitimate statements keep working.
	// System columns read the whole row (since session 7): masked in the
	// output, filters elsewhere (ctid says where a row is stored, which
	// depends on the size of the masked values stored before it).
	{name: "allowed system columns", sql: "SELECT ctid::text, xmin::text, tableoid::text, c.cmin::text FROM P_cust c ORDER BY id", allow: true, masked: true},
	{name: "order by a system column", sql: "SELECT name FROM P_cust c ORDER BY ctid", deny: true},
	{name: "allowed filter on an allow_filter column", sql: "SELECT id FROM P_r8f WHERE ssn LIKE '8%'", allow: true},
	{name: "allowed partial of a plain column", sql: "SELECT tag, mail, pin, nul FROM P_r8p", allow: true},

	// Mixed case and quoted names, a schema of its own.
	{name: "rule written in upper case", sql: "SELECT ssn, SSN, \"Mail\" FROM P_r8mix", masked: true},
	{name: "filter on a rule written in upper case", sql: "SELECT id FROM P_r8mix WHERE ssn LIKE '9%'", deny: true},
	{name: "order by a rule written in upper case", sql: "SELECT id FROM P_r8mix ORDER BY SSN", deny: true},
	{name: "filter on a quoted mixed-case column", sql: `SELECT id FROM P_r8mix WHERE "Mail" LIKE 'z%'`, deny: true},
	{name: "whole row of a mixed-case table", sql: "SELECT m FROM P_r8mix m WHERE m::text LIKE '%9%'", deny: true},
	{name: "other schema", sql: "SELECT salary, upper(salary), s FROM P_s8.staff s", masked: true},
	{name: "other schema filter", sql: "SELECT id FROM P_s8.staff WHERE salary > '5'", deny: true},
	{name: "other schema unqualified resolves to public", sql: "SELECT * FROM staff"},

	// A rule on a view's own column (its base column is not masked).
	{name: "view rule plain", sql: "SELECT s, id FROM P_r8v"},
	{name: "view rule computed", sql: "SELECT upper(s), s || '' FROM P_r8v", masked: true},
	{name: "view rule whole row", sql: "SELECT v, v::text, to_jsonb(v)::text FROM P_r8v v", masked: true},
	{name: "view rule through a subquery", sql: "SELECT x FROM (SELECT s || '' AS x FROM P_r8v) q", masked: true},
	{name: "view rule filter", sql: "SELECT id FROM P_r8v WHERE s LIKE '5%'", deny: true},
	{name: "view rule cast error", sql: "SELECT s::int FROM P_r8v"},
	{name: "view rule cast error in exists", sql: "SELECT EXISTS (SELECT s::int FROM P_r8v)"},
	{name: "view rule cursor", sql: "BEGIN; DECLARE r8vc CURSOR FOR SELECT upper(s) FROM P_r8v; FETCH ALL r8vc; COMMIT", simple: true},

	// Partition trees two levels deep, inheritance children with their
	// own column order.
	{name: "sub-partition read directly", sql: "SELECT * FROM P_r8sub_eu1"},
	{name: "middle partition read directly", sql: "SELECT ssn, upper(ssn) FROM P_r8sub_eu"},
	{name: "sub-partition filter", sql: "SELECT count(*) FROM P_r8sub_eu1 WHERE ssn LIKE '6%'", deny: true},
	{name: "partition tree tableoid", sql: "SELECT tableoid::regclass::text FROM P_r8sub", deny: true},
	{name: "parent over a reordered child", sql: "SELECT ssn, ssn || '' FROM P_r8ih", masked: true},
	{name: "reordered child read directly", sql: "SELECT * FROM P_r8ih_kid"},
	{name: "reordered child whole row", sql: "SELECT k::text FROM P_r8ih_kid k"},

	// Merged columns of USING and NATURAL joins, same-named columns of
	// another table.
	{name: "full join using merged column", sql: "SELECT ssn, upper(ssn) FROM P_r8g FULL JOIN P_r8f USING (ssn)", masked: true},
	{name: "natural full join merged column", sql: "SELECT ssn FROM P_r8g NATURAL FULL JOIN P_r8f", masked: true},
	{name: "right join using merged column", sql: "SELECT ssn || '' FROM P_r8g RIGHT JOIN P_r8f USING (ssn, id)", masked: true},
	{name: "join using alias merged column", sql: "SELECT j.ssn, upper(j.ssn) FROM P_r8g g FULL JOIN P_r8f f USING (ssn) AS j", masked: true},
	{name: "same-named column of an unmasked table", sql: "SELECT f.ssn, g.ssn FROM P_r8g g JOIN P_r8f f ON g.id = f.id"},
	{name: "same-named column through a derived join", sql: "SELECT s.x FROM (SELECT f.ssn AS x FROM P_r8g g, P_r8f f) s", masked: true},

	// Whole rows and record fields.
	{name: "field of a scalar subquery row", sql: "SELECT ((SELECT c FROM P_cust c WHERE id = 1)).ssn", masked: true},
	{name: "field of a cast row", sql: "SELECT (ROW(c.*)::P_cust).ssn, (c::P_cust).card FROM P_cust c", deny: true},
	{name: "field of an array element", sql: "SELECT ((array_agg(c))[1]).ssn FROM P_cust c", deny: true},
	{name: "field of a row in filter", sql: "SELECT count(*) FROM P_cust c WHERE (c).ssn LIKE '9%'", deny: true},
	{name: "row comparison of whole rows", sql: "SELECT count(*) FROM P_cust a, P_cust b WHERE a < b", deny: true},

	// Table functions returning a masked table's row type.
	{name: "populate recordset of masked rows", sql: "SELECT ssn, card FROM jsonb_populate_recordset(NULL::P_cust, (SELECT jsonb_agg(c) FROM P_cust c))", masked: true},
	{name: "populate recordset star", sql: "SELECT * FROM json_populate_recordset(NULL::P_cust, (SELECT json_agg(c) FROM P_cust c))"},
	{name: "to_recordset with column list", sql: "SELECT x.s FROM jsonb_to_recordset((SELECT jsonb_agg(c) FROM P_cust c)) AS x(ssn text, s text)"},
	{name: "unnest of whole rows", sql: "SELECT * FROM unnest((SELECT array_agg(c) FROM P_cust c))"},
	{name: "unnest of whole rows field", sql: "SELECT u.ssn FROM unnest((SELECT array_agg(c) FROM P_cust c)) u", masked: true},
	{name: "rows from of whole rows", sql: "SELECT * FROM ROWS FROM (unnest((SELECT array_agg(c) FROM P_cust c)))"},
	{name: "populate recordset filter", sql: "SELECT count(*) FROM jsonb_populate_recordset(NULL::P_cust, (SELECT jsonb_agg(c) FROM P_cust c)) r WHERE r.ssn LIKE '9%'", deny: true},

	// Results of other shapes.
	{name: "union all with an unmasked branch", sql: "SELECT note FROM P_other UNION ALL SELECT ssn FROM P_cust", masked: true},
	{name: "union all unmasked branch first ordered", sql: "(SELECT note FROM P_other) UNION ALL (SELECT email FROM P_cust) ORDER BY 1", deny: true},
	{name: "empty statements between results", sql: "SELECT name FROM P_cust;; ;SELECT ssn, email FROM P_cust; ; SELECT tag FROM P_r8p;", simple: true},
	{name: "second result of another shape", sql: "SELECT id FROM P_other; SELECT mail, pin, tag, 1 AS x FROM P_r8p; SELECT 1", simple: true},
	{name: "order by output alias shadowing a column", sql: "SELECT ssn AS name FROM P_cust ORDER BY name", deny: true},
	{name: "order by output alias shadowing in a subquery", sql: "SELECT count(*) FROM (SELECT ssn AS id FROM P_cust ORDER BY id LIMIT 1) s", deny: true},
	{name: "distinct count", sql: "SELECT count(DISTINCT ssn), count(DISTINCT tag) FROM P_cust, P_r8p", masked: true},
	{name: "window frame over masked order", sql: "SELECT id, count(*) OVER (ORDER BY salary RANGE BETWEEN 1000000 PRECEDING AND CURRENT ROW) FROM P_cust", deny: true},
	{name: "window groups frame", sql: "SELECT id, sum(id) OVER (ORDER BY ssn GROUPS 1 PRECEDING EXCLUDE TIES) FROM P_cust", deny: true},
}

// Since round 20 the computations are written with concat where they may
// run (x || y of two columns may fail on an array), and denied where they
// may fail; since session 7 split_part, reverse and substr with literal
// arguments cannot (fallible.go), and their values come back redacted,
// never through the email or partial method of the column they read.
var advRound8ComputedCases = []advCase{
	{name: "email local part as the domain", sql: "SELECT email || '@' || split_part(email, '@', 1) FROM P_cust", masked: true},
	{name: "email method over an ssn", sql: "SELECT concat(email, '@', ssn), concat(email, '@', card) FROM P_cust", masked: true},
	{name: "partial email branch keeps the domain", sql: "SELECT 'x@' || tag, concat(tag, '@', tag) FROM P_r8p", masked: true},
	{name: "partial of a reversed number", sql: "SELECT reverse(tag), substr(tag, 1, 6) || '0000' FROM P_r8p", masked: true},
	{name: "email method through a view", sql: "SELECT email || '@' || split_part(email, '@', 1) FROM P_cust_v", masked: true},
	{name: "view computing over an email column", sql: "SELECT e, l FROM P_r8cv", masked: true},
	{name: "view computing over an email column star", sql: "SELECT * FROM P_r8cv"},
	{name: "email method in a cte", sql: "WITH w AS (SELECT concat(email, '@', ssn) AS e FROM P_cust) SELECT e FROM w", masked: true},
	{name: "email method in a union", sql: "SELECT email FROM P_cust UNION ALL SELECT 'x@' || ssn FROM P_cust", masked: true},
	{name: "partial method in a union of columns", sql: "SELECT tag FROM P_r8p UNION ALL SELECT ssn FROM P_r8sub", masked: true},
	{name: "mixed-case email rule computed", sql: `SELECT concat("Mail", '@', SSN) FROM P_r8mix`, masked: true},
	{name: "null rule computed", sql: "SELECT nul || '@x', concat(tag, nul) FROM P_r8p", masked: true},
	{name: "cursor of computed values", sql: "BEGIN; DECLARE r8c CURSOR FOR SELECT email || '@' || ssn FROM P_cust; FETCH ALL r8c; COMMIT", simple: true},
	{name: "prepared computed values", sql: "PREPARE r8p AS SELECT email || '@' || ssn FROM P_cust; EXECUTE r8p; DEALLOCATE r8p", simple: true},
}

// Values stored in masked columns that are not what the method expects:
// the email method kept everything from a value's last '@', and the
// partial method's email branch too, whatever followed ('call me @
// 736-45-5928' kept its SSN). Package masking now keeps a domain only when
// it is one (masking.domainAt).
var advRound8MethodCases = []advCase{
	{name: "email method of a value that is no address", sql: "SELECT mail FROM P_r8e"},
	{name: "partial method of a value that is no address", sql: "SELECT part FROM P_r8e"},
}

func TestAdversarialRound8Methods(t *testing.T) {
	a := newAdvEnv8(t)
	runAdvCases(t, a, "reader8", advRound8MethodCases)
}

func TestAdversarialRound8Rules(t *testing.T) {
	a := newAdvEnv8(t)
	advSecretsExtra(t, r8Secrets)
	runAdvCases(t, a, "reader8", advRound8RuleCases)
}

func TestAdversarialRound8Computed(t *testing.T) {
	a := newAdvEnv8(t)
	advSecretsExtra(t, r8Secrets)
	runAdvCases(t, a, "reader8", advRound8ComputedCases)
}

// advSecretsExtra adds secrets to advSecrets for the test's duration.
func advSecretsExtra(t *testing.T, extra []string) {
	saved := advSecrets
	advSecrets = append(append([]string{}, advSecrets...), extra...)
	t.Cleanup(func() { advSecrets = saved })
}

// TestAdversarialRound8HashOracle: the hash method maps a value to the
// same output wherever it appears, so a value the query chose, returned in
// a hashed column's place, must not come back hashed: the gateway would
// compute hashes of guesses under the masking's key, to compare with the
// masked column's.
func TestAdversarialRound8HashOracle(t *testing.T) {
	a := newAdvEnv8(t)
	ctx := context.Background()
	guesses := []string{
		"SELECT CASE WHEN pin IS NULL THEN pin ELSE '4929381726354410' END FROM P_r8p WHERE id = 2",
		"SELECT coalesce(CASE WHEN pin IS NULL THEN pin END, '4929381726354410') FROM P_r8p WHERE id = 2",
		"SELECT pin FROM P_r8p WHERE false UNION ALL SELECT '4929381726354410'",
		"SELECT pin FROM P_r8p WHERE false UNION ALL SELECT tag FROM P_r8p WHERE id = 1",
		"SELECT x FROM (SELECT pin AS x FROM P_r8p WHERE false UNION ALL SELECT '4929381726354410') s",
	}
	for _, mode := range []string{"simple", "text", "binary"} {
		t.Run(mode, func(t *testing.T) {
			tp, err := a.connectTapped(t, "reader8", nil)
			if err != nil {
				t.Fatal(err)
			}
			real := tp.run(ctx, mode, a.sql("SELECT pin FROM P_r8p WHERE id = 1"))
			if real.err != nil || len(real.rows) != 1 || string(real.rows[0][0][:2]) != "h:" {
				t.Fatalf("the hashed column itself: %v %q", real.err, real.rows)
			}
			for _, g := range guesses {
				o := tp.run(ctx, mode, a.sql(g))
				if o.err != nil {
					t.Errorf("%s: %v", g, o.err)
					continue
				}
				for _, row := range o.rows {
					if v := string(row[0]); v != "[REDACTED]" {
						t.Errorf("%s: %q, want [REDACTED] (the column's own value hashes to %q)", g, v, real.rows[0][0])
					}
				}
			}
		})
	}
}

// RETURNING of writes by a writer role (ddler, masked): old values read
// by a subquery or a self-join, whole rows, computed values, writable
// CTEs. The deleting case runs last: it changes the fixture.
var advRound8ReturningCases = []advCase{
	{name: "update returning old values by subquery", sql: "UPDATE P_cust SET name = name WHERE id = 1 RETURNING (SELECT ssn FROM P_cust c2 WHERE c2.id = 1), concat(email, '@', ssn)", masked: true},
	{name: "update from self returning old row", sql: "UPDATE P_cust c SET name = c.name FROM P_cust o WHERE o.id = c.id RETURNING o.ssn, o.card, o, concat(o.email, '@', o.ssn)", masked: true},
	{name: "update from derived returning computed", sql: "UPDATE P_other o SET note = o.note FROM (SELECT id, concat(email, '@', ssn) AS x FROM P_cust) s WHERE s.id = o.id RETURNING s.x", masked: true},
	{name: "insert select returning scalar subquery", sql: "INSERT INTO P_other (id, note) SELECT id + 100, name FROM P_cust RETURNING id, (SELECT card FROM P_cust WHERE id = 1)"},
	{name: "insert on conflict returning", sql: "INSERT INTO P_cust (id, name) VALUES (1, 'Ann') ON CONFLICT (id) DO UPDATE SET name = excluded.name RETURNING ssn, email, P_cust::text, concat(email, '@', card)", masked: true},
	{name: "writable cte returning star", sql: "WITH u AS (UPDATE P_cust SET name = name WHERE id = 2 RETURNING *) SELECT ssn, concat(email, '@', card), u FROM u", masked: true},
	{name: "writable cte returning filtered", sql: "WITH u AS (UPDATE P_cust SET name = name RETURNING ssn) SELECT count(*) FROM u WHERE ssn LIKE '9%'", deny: true},
	{name: "writable cte returning ordered", sql: "WITH d AS (UPDATE P_cust SET name = name RETURNING id, email) SELECT id FROM d ORDER BY email", deny: true},
	{name: "update returning into a filter of the set", sql: "UPDATE P_other o SET note = 'x' FROM P_cust c WHERE c.id = o.id AND c.salary > 8000000 RETURNING o.id", deny: true},
	{name: "delete returning", sql: "DELETE FROM P_cust WHERE id = 3 RETURNING ssn, email || '@' || ssn, P_cust"},
}

func TestAdversarialRound8Returning(t *testing.T) {
	a := newAdvEnv8(t)
	runAdvCases(t, a, "ddler", advRound8ReturningCases)
}

// Detectors over what granted functions raise (message, detail, hint,
// the object fields, a warning, an exception) from stored data, and over
// column names in every result of a string. Role detect8: detectors only,
// the functions granted.
var advRound8DetectorCases = []advCase{
	{name: "raise notice from data", sql: "SELECT P_r8raise(note) FROM P_r8d"},
	{name: "raise exception from data", sql: "SELECT P_r8raise(note || ' fail') FROM P_r8d"},
	{name: "raise with dashes", sql: "SELECT P_r8raise(replace(note, ' ', '-')) FROM P_r8d"},
	{name: "raise in a subquery filter", sql: "SELECT count(*) FROM P_other WHERE EXISTS (SELECT P_r8raise(note) FROM P_r8d)"},
	{name: "notice function from data", sql: "SELECT P_noisy(note) FROM P_r8d"},
	{name: "column name in a second result", sql: `SELECT 1; SELECT 2 AS "card 4111 1111 1111 1111"; SELECT 3 AS "ssn 123-45-6789"`, simple: true},
	{name: "column name of a cursor", sql: `BEGIN; DECLARE d8 CURSOR FOR SELECT 1 AS "4111 1111 1111 1111"; FETCH ALL d8; COMMIT`, simple: true},
	{name: "column name of a prepared statement", sql: `PREPARE d8p AS SELECT 1 AS "ssn 123-45-6789"; EXECUTE d8p; DEALLOCATE d8p`, simple: true},
	{name: "column name described", sql: `SELECT id AS "4111 1111 1111 1111" FROM P_r8d`},
}

func TestAdversarialRound8Detectors(t *testing.T) {
	a := newAdvEnv8(t)
	advSecretsExtra(t, r8Secrets)
	runAdvCases(t, a, "detect8", advRound8DetectorCases)
}

// TestAdversarialRound8MaskSet pins the method choice for computed values
// and the case-folded filter check on their own.
func TestAdversarialRound8MaskSet(t *testing.T) {
	srv := &Server{}
	srv.cfg.LookupEnv = func(string) (string, bool) { return "k", true }
	set, err := (&maskCache{srv: srv}).build([]*model.Masking{{
		Name: "pii", HashKey: &model.SecretRef{Kind: "env", Name: "K"},
		Columns: []*model.ColumnRule{
			{Column: "public.people.Email", Method: "email"},
			{Column: "public.people.card", Method: "hash"},
			{Column: "public.people.gone", Method: "null"},
			{Column: "public.people.note", Method: "partial", AllowFilter: true},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	apply := func(m masking.Method) string {
		if m == nil {
			return "none"
		}
		out, isNull := m.Apply([]byte("x@y"))
		if isNull {
			return "NULL"
		}
		return string(out)
	}
	computed := map[string]string{
		"public.people.email":             "[REDACTED]",
		"public.people.card":              "[REDACTED]",
		"public.people.*":                 "NULL",
		"public.people.card,public.o.x":   "[REDACTED]",
		"public.people.gone,public.o.x":   "NULL",
		"public.people.name,public.o.x":   "none",
		"public.people.note":              "[REDACTED]",
		"public.other.*,public.people.id": "none",
	}
	for srcs, want := range computed {
		if got := apply(set.computed(strings.Split(srcs, ","))); got != want {
			t.Errorf("computed(%s) = %s, want %s", srcs, got, want)
		}
	}
	filters := map[string]string{
		"public.people.email": "public.people.Email", // written in another case
		"public.people.Email": "",                    // as written: the policy decides
		"public.people.*":     "",
		"public.People.*":     "public.people.Email",
		"public.People.card":  "public.people.card",
		"public.people.note":  "", // allow_filter
		"public.people.name":  "",
	}
	for c, want := range filters {
		if _, got := set.maskedFilter([]string{c}); got != want {
			t.Errorf("maskedFilter(%s) = %q, want %q", c, got, want)
		}
	}
}
