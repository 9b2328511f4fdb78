package pgproxy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Rewrite rules as write oracles (rules.go), tested differentially as the
// triggers are (adversarial_triggers_test.go): agent ni26 writes the
// P_niX_* tables of set a and of set b, identical but for the masked ssn
// and pin of row 1, inside BEGIN ... ROLLBACK. ssn is masked without
// allow_filter; pin allows filters, but a rule returning it to the client
// must not. A rule whose WHERE clause or actions read the masked value of
// the rows a write changes answers through its error or the row count,
// and one that returns rows hands them past the masking: the write must
// be denied in both sets. A rule that reads no masked column (an audit
// rule, one on a table without masked columns, a disabled one, a view's
// ordinary INSTEAD rules) must stay allowed, with the same outcome in
// both.

const rulesPolicy = `
masking "nirum" {
  column "public.PREFIX_ni*.ssn" {
    method = "redact"
  }
  column "public.PREFIX_ni*.pin" {
    method       = "redact"
    allow_filter = true
  }
}

role "niru" {
  postgres "adv" {
    statements = ["select", "insert", "update", "delete"]
    tables     = ["public.PREFIX_ni*"]
    masking    = [masking.nirum]
  }
}

agent "ni26" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "ni26"
  }
  roles = [role.niru]
}
`

// rulesFixture is written for set X (a or b); SSN and PIN are the masked
// values of row 1.
const rulesFixture = `
CREATE TABLE P_niX_ulog (v text UNIQUE);
INSERT INTO P_niX_ulog VALUES ('900-11-2222');
CREATE TABLE P_niX_clog (v text CHECK (v NOT LIKE '%"ssn": "9%'));
CREATE TABLE P_niX_log (id int, op text, row_json text);

CREATE TABLE P_niX_del (id int PRIMARY KEY, name text, ssn text);
INSERT INTO P_niX_del VALUES (1, 'ann', SSN), (2, 'bob', 'zz');
CREATE RULE P_niX_del_r AS ON DELETE TO P_niX_del WHERE OLD.ssn LIKE '9%' DO INSTEAD NOTHING;

CREATE TABLE P_niX_upd (id int PRIMARY KEY, name text, ssn text);
INSERT INTO P_niX_upd VALUES (1, 'ann', SSN);
CREATE RULE P_niX_upd_r AS ON UPDATE TO P_niX_upd WHERE NEW.name = OLD.ssn DO INSTEAD NOTHING;

CREATE TABLE P_niX_uq (id int PRIMARY KEY, name text, ssn text);
INSERT INTO P_niX_uq VALUES (1, 'ann', SSN);
CREATE RULE P_niX_uq_r AS ON DELETE TO P_niX_uq DO ALSO INSERT INTO P_niX_ulog VALUES (OLD.ssn);

CREATE TABLE P_niX_ck (id int PRIMARY KEY, name text, ssn text);
INSERT INTO P_niX_ck VALUES (1, 'ann', SSN);
CREATE RULE P_niX_ck_r AS ON UPDATE TO P_niX_ck DO ALSO INSERT INTO P_niX_clog VALUES (to_jsonb(OLD)::text);

CREATE TABLE P_niX_vt (id int PRIMARY KEY, name text, ssn text, pin text);
INSERT INTO P_niX_vt VALUES (1, 'ann', SSN, PIN);
CREATE VIEW P_niX_vi AS SELECT id, name FROM P_niX_vt;
CREATE RULE P_niX_vi_r AS ON INSERT TO P_niX_vi DO INSTEAD
  INSERT INTO P_niX_vt (id, name) SELECT NEW.id, NEW.name WHERE NOT EXISTS (SELECT 1 FROM P_niX_vt WHERE ssn = NEW.name);
CREATE VIEW P_niX_vu AS SELECT id, name, ssn FROM P_niX_vt;
CREATE RULE P_niX_vu_r AS ON UPDATE TO P_niX_vu DO INSTEAD
  UPDATE P_niX_vt SET name = NEW.name WHERE id = OLD.id AND OLD.ssn NOT LIKE '9%';

CREATE TABLE P_niX_rt (id int, name text);
CREATE RULE P_niX_rt_r AS ON INSERT TO P_niX_rt DO INSTEAD
  INSERT INTO P_niX_vt (id, name) VALUES (NEW.id, NEW.name)
  RETURNING P_niX_vt.id, (SELECT pin FROM P_niX_vt r WHERE r.id = 1) || '';

CREATE TABLE P_niX_sel (id int PRIMARY KEY, name text, pin text);
INSERT INTO P_niX_sel VALUES (1, 'ann', PIN);
CREATE RULE P_niX_sel_r AS ON DELETE TO P_niX_sel DO ALSO SELECT OLD.pin || '';

CREATE TABLE P_niX_peer (id int PRIMARY KEY, name text);
INSERT INTO P_niX_peer VALUES (1, 'ann');
CREATE RULE P_niX_peer_r AS ON UPDATE TO P_niX_peer DO ALSO
  INSERT INTO P_niX_ulog SELECT ssn FROM P_niX_del WHERE id = NEW.id;

CREATE TABLE P_niX_chain (id int PRIMARY KEY, name text);
INSERT INTO P_niX_chain VALUES (1, 'ann');
CREATE TABLE P_niX_chlog (id int);
CREATE RULE P_niX_chain_r AS ON UPDATE TO P_niX_chain DO ALSO INSERT INTO P_niX_chlog VALUES (NEW.id);
CREATE RULE P_niX_chlog_r AS ON INSERT TO P_niX_chlog DO ALSO
  INSERT INTO P_niX_ulog SELECT ssn FROM P_niX_del WHERE id = NEW.id;

CREATE TABLE P_niX_fn (id int PRIMARY KEY, name text, ssn text);
INSERT INTO P_niX_fn VALUES (1, 'ann', SSN);
CREATE FUNCTION P_niX_peek(int) RETURNS boolean LANGUAGE sql AS 'SELECT ssn LIKE ''9%'' FROM P_niX_fn WHERE id = $1';
CREATE RULE P_niX_fn_r AS ON DELETE TO P_niX_fn WHERE P_niX_peek(OLD.id) DO INSTEAD NOTHING;

CREATE TABLE P_niX_aud (id int PRIMARY KEY, name text, ssn text);
INSERT INTO P_niX_aud VALUES (1, 'ann', SSN), (2, 'bob', 'zz');
CREATE RULE P_niX_aud_r AS ON DELETE TO P_niX_aud DO ALSO INSERT INTO P_niX_log (id, op) VALUES (OLD.id, 'delete');
CREATE RULE P_niX_aud_ins AS ON INSERT TO P_niX_aud DO ALSO
  INSERT INTO P_niX_log (id, op, row_json) VALUES (NEW.id, 'insert', to_jsonb(NEW)::text);

CREATE TABLE P_niX_plain (id int PRIMARY KEY, name text, note text);
INSERT INTO P_niX_plain VALUES (1, 'ann', 'n');
CREATE RULE P_niX_plain_r AS ON UPDATE TO P_niX_plain WHERE NEW.name = OLD.note DO INSTEAD NOTHING;

CREATE TABLE P_niX_off (id int PRIMARY KEY, name text, ssn text);
INSERT INTO P_niX_off VALUES (1, 'ann', SSN);
CREATE RULE P_niX_off_r AS ON DELETE TO P_niX_off WHERE OLD.ssn LIKE '9%' DO INSTEAD NOTHING;
ALTER TABLE P_niX_off DISABLE RULE P_niX_off_r;

CREATE TABLE P_niX_ot (id int PRIMARY KEY, name text, ssn text);
INSERT INTO P_niX_ot VALUES (1, 'ann', SSN);
CREATE VIEW P_niX_ov AS SELECT id, name FROM P_niX_ot;
CREATE RULE P_niX_ov_ins AS ON INSERT TO P_niX_ov DO INSTEAD
  INSERT INTO P_niX_ot (id, name) VALUES (NEW.id, NEW.name) RETURNING P_niX_ot.id, P_niX_ot.name;
CREATE RULE P_niX_ov_upd AS ON UPDATE TO P_niX_ov DO INSTEAD UPDATE P_niX_ot SET name = NEW.name WHERE id = OLD.id;
CREATE RULE P_niX_ov_del AS ON DELETE TO P_niX_ov DO INSTEAD DELETE FROM P_niX_ot WHERE id = OLD.id;
`

const rulesDrop = `DROP VIEW IF EXISTS P_niX_vi, P_niX_vu, P_niX_ov;
DROP TABLE IF EXISTS P_niX_ulog, P_niX_clog, P_niX_log, P_niX_del, P_niX_upd, P_niX_uq, P_niX_ck, P_niX_vt, P_niX_rt, P_niX_sel,
  P_niX_peer, P_niX_chain, P_niX_chlog, P_niX_fn, P_niX_aud, P_niX_plain, P_niX_off, P_niX_ot CASCADE;
DROP FUNCTION IF EXISTS P_niX_peek(int);`

// rulesValues are the masked ssn and pin of row 1 in each set.
var rulesValues = map[string][2]string{
	"a": {"'900-11-2222'", "'4711'"},
	"b": {"'abcdefghijklm'", "'0815'"},
}

func newRulesPair(t *testing.T) *niPair {
	a := newAdvEnv(t)
	a.srv.cfg.Policy.(*enginePolicy).cur.Store(realPolicyWith(t, "testdata/adversarial", a.p, map[string]string{"rules.hcl": rulesPolicy}))
	for _, x := range []string{"a", "b"} {
		t.Cleanup(func() { admin(t, a.sql(strings.ReplaceAll(rulesDrop, "_niX", "_ni"+x))) })
		v := rulesValues[x]
		admin(t, a.sql(strings.NewReplacer("_niX", "_ni"+x, "SSN", v[0], "PIN", v[1]).Replace(rulesFixture)))
	}
	na, nb, nx := a.p+"_nia", a.p+"_nib", a.p+"_niX"
	rule := regexp.MustCompile(`rules\.hcl:[0-9]+`)
	return &niPair{a: a, ca: a.niConnect(t), cb: a.niConnect(t), modes: []string{"simple"}, reset: "ROLLBACK",
		normA: func(s string) string { return rule.ReplaceAllString(strings.ReplaceAll(s, na, nx), "rules.hcl") },
		normB: func(s string) string { return rule.ReplaceAllString(strings.ReplaceAll(s, nb, nx), "rules.hcl") }}
}

// ruleCase is a write run inside BEGIN ... ROLLBACK in both sets: allowed
// in both (and the same), or denied in both naming rule on table.
type ruleCase struct {
	name  string
	sql   string
	rule  string // the rule the denial names; "" for an allowed write
	table string // the relation the denial names
	col   string // the column the denial names
}

var ruleCases = []ruleCase{
	// Oracles: the outcome depends on the masked value.
	{name: "do instead nothing where old.ssn", rule: "del_r", table: "del", col: ".ssn",
		sql: "DELETE FROM P_niX_del WHERE id = 1"},
	{name: "do instead nothing where new.name = old.ssn", rule: "upd_r", table: "upd", col: ".ssn",
		sql: "UPDATE P_niX_upd SET name = '900-11-2222' WHERE id = 1"},
	{name: "an action inserting old.ssn under a unique constraint", rule: "uq_r", table: "uq", col: ".ssn",
		sql: "DELETE FROM P_niX_uq WHERE id = 1"},
	{name: "an action inserting the whole old row under a check", rule: "ck_r", table: "ck", col: ".ssn",
		sql: "UPDATE P_niX_ck SET name = 'x' WHERE id = 1"},
	{name: "an instead insert rule of a view reading the masked column", rule: "vi_r", table: "vi", col: ".ssn",
		sql: "INSERT INTO P_niX_vi (id, name) VALUES (5, '900-11-2222')"},
	{name: "an instead update rule of a view on its masked column", rule: "vu_r", table: "vu", col: ".ssn",
		sql: "UPDATE P_niX_vu SET name = 'x' WHERE id = 1"},
	{name: "a rule of an unmasked table reading a masked one", rule: "peer_r", table: "peer", col: ".ssn",
		sql: "UPDATE P_niX_peer SET name = 'x' WHERE id = 1"},
	{name: "a rule of a table a rule writes", rule: "chlog_r", table: "chlog", col: ".ssn",
		sql: "UPDATE P_niX_chain SET name = 'x' WHERE id = 1"},
	{name: "a call of an sql function", rule: "fn_r", table: "fn", col: ".ssn",
		sql: "DELETE FROM P_niX_fn WHERE id = 1"},
	// Rows a rule returns to the client, of a column that allows filters.
	{name: "a select action", rule: "sel_r", table: "sel", sql: "DELETE FROM P_niX_sel WHERE id = 1"},
	{name: "the returning of an instead rule", rule: "rt_r", table: "rt",
		sql: "INSERT INTO P_niX_rt (id, name) VALUES (5, 'x') RETURNING *"},
	{name: "the returning of an instead rule, prepared", rule: "rt_r", table: "rt",
		sql: "PREPARE P_niX_p AS INSERT INTO P_niX_rt (id, name) VALUES (5, 'x') RETURNING *; EXECUTE P_niX_p; DEALLOCATE P_niX_p"},
	{name: "the returning of an instead rule, in a data-modifying with", rule: "rt_r", table: "rt",
		sql: "WITH d AS (INSERT INTO P_niX_rt (id, name) VALUES (5, 'x') RETURNING *) INSERT INTO P_niX_log (id, op) SELECT id, name FROM d WHERE name LIKE '4%'"},

	// Rules that read no masked column stay allowed.
	{name: "audit of a delete", sql: "DELETE FROM P_niX_aud WHERE id = 1"},
	{name: "insert: new holds what the statement wrote", sql: "INSERT INTO P_niX_aud (id, name) VALUES (5, 'x')"},
	{name: "a table without masked columns", sql: "UPDATE P_niX_plain SET name = 'n' WHERE id = 1"},
	{name: "disabled rule", sql: "DELETE FROM P_niX_off WHERE id = 1"},
	{name: "view instead insert", sql: "INSERT INTO P_niX_ov (id, name) VALUES (5, 'x')"},
	{name: "view instead update", sql: "UPDATE P_niX_ov SET name = 'x' WHERE id = 1"},
	{name: "view instead delete", sql: "DELETE FROM P_niX_ov WHERE id = 1"},
	{name: "the returning of an instead rule, statement without returning", sql: "INSERT INTO P_niX_rt (id, name) VALUES (5, 'x')"},
}

// TestAdversarialRules compares each write between the sets.
func TestAdversarialRules(t *testing.T) {
	p := newRulesPair(t)
	for _, tc := range ruleCases {
		t.Run(tc.name, func(t *testing.T) {
			stmt := "BEGIN; " + tc.sql + "; ROLLBACK"
			r := p.compare(stmt)
			if r.leak != "" || r.kind != "" {
				t.Errorf("%v", r)
			}
			switch {
			case tc.rule == "" && (!r.allowed || r.failed):
				t.Errorf("%s: want allowed and run, got %v", tc.sql, p.ca.run("simple", p.sqlFor(stmt, false), p.normA).results)
			case tc.rule != "" && r.allowed:
				t.Errorf("%s: want denied, got allowed", tc.sql)
			case tc.rule != "":
				got := strings.Join(p.ca.run("simple", p.sqlFor(stmt, false), p.normA).results, " ")
				x := p.a.p + "_niX_"
				for _, want := range []string{"rule " + x + tc.rule + " on public." + x + tc.table + ",", tc.col} {
					if !strings.Contains(got, want) {
						t.Errorf("%s: want a denial naming %q, got %s", tc.sql, want, got)
					}
				}
			}
			p.ca.run("simple", "ROLLBACK", p.normA)
		})
	}
}

// TestAdversarialRulesCode checks what the analysis of a rule definition
// (as pg_get_ruledef prints it) finds, without a server.
func TestAdversarialRulesCode(t *testing.T) {
	type found struct {
		Where              string
		Opaque             string
		Row                []string
		WholeRow           bool
		Rels, Writes       []string
		Selects, Returning bool
	}
	code := func(tc *triggerCode) string {
		if tc == nil {
			return "none"
		}
		return fmt.Sprintf("opaque=%q row=%v whole=%v rels=%v", tc.opaque, slices.Sorted(slices.Values(tc.row)), tc.wholeRow, tc.rels)
	}
	for _, tc := range []struct {
		name, def string
		want      found
	}{
		{name: "where on old", def: "CREATE RULE r AS\n    ON DELETE TO public.t\n   WHERE (old.ssn ~~ '9%'::text) DO INSTEAD NOTHING;",
			want: found{Where: `opaque="" row=[ssn] whole=false rels=[]`}},
		{name: "where comparing new and old", def: "CREATE RULE r AS\n    ON UPDATE TO public.t\n   WHERE (new.name = old.ssn) DO INSTEAD NOTHING;",
			want: found{Where: `opaque="" row=[name ssn] whole=false rels=[]`}},
		{name: "audit", def: "CREATE RULE r AS\n    ON DELETE TO public.t DO  INSERT INTO log (id, op)\n  VALUES (old.id, 'delete'::text);",
			want: found{Where: "none", Row: []string{"id"}, Writes: []string{"public.log [id op] [] 4"}}},
		{name: "whole row", def: "CREATE RULE r AS\n    ON DELETE TO public.t DO ( INSERT INTO log (v)\n  VALUES ((to_jsonb(old.*))::text);\n NOTIFY foo;\n);",
			want: found{Where: "none", WholeRow: true, Writes: []string{"public.log [v] [] 4"}}},
		{name: "a read of another table", def: "CREATE RULE r AS\n    ON UPDATE TO public.t DO  INSERT INTO ulog (v)  SELECT s.ssn\n   FROM s\n  WHERE (s.id = new.id);",
			want: found{Where: "none", Row: []string{"id"}, Rels: []string{"public.s"}, Writes: []string{"public.ulog [v] [] 4"}}},
		{name: "a view's instead update", def: "CREATE RULE r AS\n    ON UPDATE TO public.v DO INSTEAD  UPDATE t SET name = new.name\n  WHERE (t.id = old.id);",
			want: found{Where: "none", Row: []string{"id", "name"}, Writes: []string{"public.t [name] [name] 16"}}},
		{name: "a select action", def: "CREATE RULE r AS\n    ON DELETE TO public.t DO  SELECT (old.pin || ''::text);",
			want: found{Where: "none", Row: []string{"pin"}, Selects: true}},
		{name: "returning", def: "CREATE RULE r AS\n    ON INSERT TO public.v DO INSTEAD  INSERT INTO t (id, name)\n  VALUES (new.id, new.name)\n  RETURNING t.id,\n    t.name;",
			want: found{Where: "none", Row: []string{"id", "name"}, Writes: []string{"public.t [id name] [] 4"}, Returning: true}},
		{name: "a call outside the safe set", def: "CREATE RULE r AS\n    ON DELETE TO public.t\n   WHERE f(old.id) DO INSTEAD NOTHING;",
			want: found{Where: `opaque="calls f, outside the built-in safe set" row=[id] whole=false rels=[]`}},
		{name: "unreadable", def: "CREATE RULE r AS ON DELETE TO",
			want: found{Where: "none", Opaque: "could not be parsed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ru := ruleOf(tc.def)
			got := found{Where: code(ru.where), Opaque: ru.actions.opaque, Row: slices.Sorted(slices.Values(ru.actions.row)),
				WholeRow: ru.actions.wholeRow, Rels: ru.actions.rels, Selects: ru.selects, Returning: ru.returning}
			for _, w := range ru.actions.writes {
				got.Writes = append(got.Writes, fmt.Sprintf("%s %v %v %d", w.table, w.cols, w.updCols, w.events))
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
