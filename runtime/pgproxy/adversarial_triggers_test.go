package pgproxy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"
)

// Triggers as write oracles (triggers.go), tested differentially as in
// round 28: agent ni26 writes the P_niX_* tables of set a and of set b,
// identical but for the masked ssn of row 1, inside BEGIN ... ROLLBACK.
// A trigger whose code reads the masked value of the rows a write
// changes answers through its error or the row count: the write must be
// denied in both sets. A trigger that reads no masked column (an
// updated_at or audit trigger, one on a table without masked columns, a
// disabled one) must stay allowed, with the same outcome in both.

const triggersPolicy = `
masking "nitrm" {
  column "public.PREFIX_ni*.ssn" {
    method = "redact"
  }
}

role "nitr" {
  postgres "adv" {
    statements = ["select", "insert", "update", "delete", "copy_in"]
    tables     = ["public.PREFIX_ni*"]
    masking    = [masking.nitrm]
  }
}

agent "ni26" {
  owner = "team-test"
  identity {
    issuer  = "https://issuer.example.com"
    subject = "ni26"
  }
  roles = [role.nitr]
}
`

// triggersFixture is written for set X (a or b); SSN is the masked value
// of row 1.
const triggersFixture = `
CREATE TABLE P_niX_raise (id int PRIMARY KEY, name text, ssn text);
INSERT INTO P_niX_raise VALUES (1, 'ann', SSN), (2, 'bob', 'zz');
CREATE FUNCTION P_niX_raise_f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.name = OLD.ssn THEN RAISE EXCEPTION 'no'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER P_niX_raise_t BEFORE INSERT OR UPDATE ON P_niX_raise FOR EACH ROW EXECUTE FUNCTION P_niX_raise_f();
CREATE VIEW P_niX_raise_v AS SELECT id, name FROM P_niX_raise;

CREATE TABLE P_niX_skip (id int PRIMARY KEY, name text, ssn text);
INSERT INTO P_niX_skip VALUES (1, 'ann', SSN), (2, 'bob', 'zz');
CREATE FUNCTION P_niX_skip_f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.ssn LIKE '9%' THEN RETURN NULL; END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER P_niX_skip_t BEFORE DELETE ON P_niX_skip FOR EACH ROW EXECUTE FUNCTION P_niX_skip_f();

CREATE TABLE P_niX_when (id int PRIMARY KEY, name text, ssn text);
INSERT INTO P_niX_when VALUES (1, 'ann', SSN);
CREATE FUNCTION P_niX_stop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'stop';
END $$;
CREATE TRIGGER P_niX_when_t BEFORE UPDATE ON P_niX_when FOR EACH ROW WHEN (OLD.ssn LIKE '9%') EXECUTE FUNCTION P_niX_stop();

CREATE TABLE P_niX_tt (id int PRIMARY KEY, name text, ssn text);
INSERT INTO P_niX_tt VALUES (1, 'ann', SSN);
CREATE FUNCTION P_niX_tt_f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM P_niX_old o WHERE o::text LIKE '%,9%') THEN RAISE EXCEPTION 'no'; END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER P_niX_tt_t AFTER UPDATE ON P_niX_tt REFERENCING OLD TABLE AS P_niX_old
  FOR EACH STATEMENT EXECUTE FUNCTION P_niX_tt_f();
CREATE FUNCTION P_niX_count_f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO P_niX_log (id, op) SELECT count(*), TG_OP FROM P_niX_rows;
  RETURN NULL;
END $$;
CREATE TRIGGER P_niX_ttins_t AFTER INSERT ON P_niX_tt REFERENCING NEW TABLE AS P_niX_rows
  FOR EACH STATEMENT EXECUTE FUNCTION P_niX_count_f();

CREATE TABLE P_niX_js (id int PRIMARY KEY, name text, ssn text);
INSERT INTO P_niX_js VALUES (1, 'ann', SSN);
CREATE FUNCTION P_niX_js_f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF to_jsonb(NEW) ->> ('s' || 'sn') LIKE '9%' THEN RAISE EXCEPTION 'no'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER P_niX_js_t BEFORE UPDATE ON P_niX_js FOR EACH ROW EXECUTE FUNCTION P_niX_js_f();

CREATE TABLE P_niX_dyn (id int PRIMARY KEY, name text, ssn text);
INSERT INTO P_niX_dyn VALUES (1, 'ann', SSN);
CREATE FUNCTION P_niX_dyn_f() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE hit boolean;
BEGIN
  EXECUTE format('SELECT %I LIKE ''9%%'' FROM %I.%I WHERE id = $1', 's' || 'sn', TG_TABLE_SCHEMA, TG_TABLE_NAME)
    INTO hit USING OLD.id;
  IF hit THEN RAISE EXCEPTION 'no'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER P_niX_dyn_t BEFORE UPDATE ON P_niX_dyn FOR EACH ROW EXECUTE FUNCTION P_niX_dyn_f();

CREATE TABLE P_niX_fn (id int PRIMARY KEY, name text, ssn text);
INSERT INTO P_niX_fn VALUES (1, 'ann', SSN);
CREATE FUNCTION P_niX_peek(int) RETURNS boolean LANGUAGE sql AS 'SELECT ssn LIKE ''9%'' FROM P_niX_fn WHERE id = $1';
CREATE FUNCTION P_niX_fn_f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF P_niX_peek(OLD.id) THEN RAISE EXCEPTION 'no'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER P_niX_fn_t BEFORE UPDATE ON P_niX_fn FOR EACH ROW EXECUTE FUNCTION P_niX_fn_f();

CREATE TABLE P_niX_sup (id int PRIMARY KEY, name text, ssn text);
INSERT INTO P_niX_sup VALUES (1, 'ann', SSN);
CREATE TRIGGER P_niX_sup_t BEFORE UPDATE ON P_niX_sup FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();

CREATE TABLE P_niX_off (id int PRIMARY KEY, name text, ssn text);
INSERT INTO P_niX_off VALUES (1, 'ann', SSN);
CREATE TRIGGER P_niX_off_t BEFORE UPDATE ON P_niX_off FOR EACH ROW EXECUTE FUNCTION P_niX_raise_f();
ALTER TABLE P_niX_off DISABLE TRIGGER P_niX_off_t;

CREATE TABLE P_niX_upd (id int PRIMARY KEY, name text, ssn text, updated_at timestamptz);
INSERT INTO P_niX_upd VALUES (1, 'ann', SSN, NULL);
CREATE FUNCTION P_niX_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END $$;
CREATE TRIGGER P_niX_upd_t BEFORE UPDATE ON P_niX_upd FOR EACH ROW EXECUTE FUNCTION P_niX_touch();

CREATE TABLE P_niX_log (id int, op text, row_json text, at timestamptz DEFAULT now());
CREATE TABLE P_niX_aud (id int PRIMARY KEY, name text, ssn text);
INSERT INTO P_niX_aud VALUES (1, 'ann', SSN), (2, 'bob', 'zz');
CREATE FUNCTION P_niX_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO P_niX_log (id, op) VALUES (OLD.id, TG_OP);
  RETURN OLD;
END $$;
CREATE TRIGGER P_niX_aud_t AFTER UPDATE OR DELETE ON P_niX_aud FOR EACH ROW EXECUTE FUNCTION P_niX_audit();

CREATE TABLE P_niX_plain (id int PRIMARY KEY, name text, note text);
INSERT INTO P_niX_plain VALUES (1, 'ann', 'n');
CREATE FUNCTION P_niX_plain_f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.name = OLD.note THEN RAISE EXCEPTION 'same'; END IF;
  INSERT INTO P_niX_log (id, op, row_json) VALUES (NEW.id, TG_OP, to_jsonb(NEW)::text);
  RETURN NEW;
END $$;
CREATE TRIGGER P_niX_plain_t BEFORE UPDATE ON P_niX_plain FOR EACH ROW EXECUTE FUNCTION P_niX_plain_f();
CREATE TRIGGER P_niX_plain_tt AFTER UPDATE ON P_niX_plain REFERENCING NEW TABLE AS P_niX_rows
  FOR EACH STATEMENT EXECUTE FUNCTION P_niX_count_f();

CREATE TABLE P_niX_peer (id int PRIMARY KEY, name text);
INSERT INTO P_niX_peer VALUES (1, 'ann');
CREATE FUNCTION P_niX_peer_f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM P_niX_raise r WHERE r.id = NEW.id AND r.ssn LIKE '9%') THEN RAISE EXCEPTION 'no'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER P_niX_peer_t BEFORE INSERT OR UPDATE ON P_niX_peer FOR EACH ROW EXECUTE FUNCTION P_niX_peer_f();

CREATE TABLE P_niX_chain (id int PRIMARY KEY, name text);
INSERT INTO P_niX_chain VALUES (1, 'ann');
CREATE TABLE P_niX_chlog (id int);
CREATE FUNCTION P_niX_chain_f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO P_niX_chlog VALUES (NEW.id);
  RETURN NULL;
END $$;
CREATE TRIGGER P_niX_chain_t AFTER UPDATE ON P_niX_chain FOR EACH ROW EXECUTE FUNCTION P_niX_chain_f();
CREATE TRIGGER P_niX_chlog_t BEFORE INSERT ON P_niX_chlog FOR EACH ROW EXECUTE FUNCTION P_niX_peer_f();

CREATE TABLE P_niX_par (id int PRIMARY KEY, name text);
INSERT INTO P_niX_par VALUES (1, 'p');
CREATE TABLE P_niX_kid (id int PRIMARY KEY, par int REFERENCES P_niX_par ON DELETE CASCADE, ssn text);
INSERT INTO P_niX_kid VALUES (1, 1, SSN);
CREATE FUNCTION P_niX_kid_f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.ssn LIKE '9%' THEN RAISE EXCEPTION 'no'; END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER P_niX_kid_t BEFORE DELETE ON P_niX_kid FOR EACH ROW EXECUTE FUNCTION P_niX_kid_f();

CREATE TABLE P_niX_tr (id int, ssn text);
INSERT INTO P_niX_tr VALUES (1, SSN);
CREATE FUNCTION P_niX_tr_f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM P_niX_tr WHERE ssn LIKE '9%') THEN RAISE EXCEPTION 'no'; END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER P_niX_tr_t BEFORE TRUNCATE ON P_niX_tr FOR EACH STATEMENT EXECUTE FUNCTION P_niX_tr_f();

`

const triggersDrop = `DROP VIEW IF EXISTS P_niX_raise_v;
DROP TABLE IF EXISTS P_niX_raise, P_niX_skip, P_niX_when, P_niX_tt, P_niX_js, P_niX_dyn, P_niX_fn, P_niX_sup, P_niX_off,
  P_niX_upd, P_niX_log, P_niX_aud, P_niX_plain, P_niX_peer, P_niX_chain, P_niX_chlog, P_niX_kid, P_niX_par, P_niX_tr CASCADE;
DROP FUNCTION IF EXISTS P_niX_raise_f(), P_niX_skip_f(), P_niX_stop(), P_niX_tt_f(), P_niX_count_f(), P_niX_js_f(), P_niX_dyn_f(),
  P_niX_peek(int), P_niX_fn_f(), P_niX_touch(), P_niX_audit(), P_niX_plain_f(), P_niX_peer_f(), P_niX_chain_f(),
  P_niX_kid_f(), P_niX_tr_f();`

func newTriggersPair(t *testing.T) *niPair {
	a := newAdvEnv(t)
	a.srv.cfg.Policy.(*enginePolicy).cur.Store(realPolicyWith(t, "testdata/adversarial", a.p, map[string]string{"triggers.hcl": triggersPolicy}))
	for _, x := range []string{"a", "b"} {
		t.Cleanup(func() { admin(t, a.sql(strings.ReplaceAll(triggersDrop, "_niX", "_ni"+x))) })
		fx := strings.NewReplacer("_niX", "_ni"+x, "SSN", round28Values[x][0]).Replace(triggersFixture)
		admin(t, a.sql(fx))
	}
	na, nb, nx := a.p+"_nia", a.p+"_nib", a.p+"_niX"
	rule := regexp.MustCompile(`triggers\.hcl:[0-9]+`)
	return &niPair{a: a, ca: a.niConnect(t), cb: a.niConnect(t), modes: []string{"simple"}, reset: "ROLLBACK",
		normA: func(s string) string { return rule.ReplaceAllString(strings.ReplaceAll(s, na, nx), "triggers.hcl") },
		normB: func(s string) string { return rule.ReplaceAllString(strings.ReplaceAll(s, nb, nx), "triggers.hcl") }}
}

// triggerCase is a write run inside BEGIN ... ROLLBACK in both sets:
// allowed in both (and the same), or denied in both naming trigger.
type triggerCase struct {
	name    string
	sql     string
	trigger string // the trigger the denial names; "" for an allowed write
	open    string
}

var triggerCases = []triggerCase{
	// Oracles: the outcome depends on the masked value.
	{name: "raise on new.name = old.ssn", trigger: "raise_t", sql: "UPDATE P_niX_raise SET name = '900-11-2222' WHERE id = 1"},
	{name: "raise through on conflict do update", trigger: "raise_t",
		sql: "INSERT INTO P_niX_raise (id, name) VALUES (1, '900-11-2222') ON CONFLICT (id) DO UPDATE SET name = excluded.name"},
	{name: "raise through merge", trigger: "raise_t",
		sql: "MERGE INTO P_niX_raise t USING (SELECT 1 AS id) v ON t.id = v.id WHEN MATCHED THEN UPDATE SET name = '900-11-2222'"},
	{name: "raise through a view", trigger: "raise_t", sql: "UPDATE P_niX_raise_v SET name = '900-11-2222' WHERE id = 1"},
	{name: "return null on old.ssn", trigger: "skip_t", sql: "DELETE FROM P_niX_skip WHERE id = 1"},
	{name: "return null on old.ssn, returning", trigger: "skip_t", sql: "DELETE FROM P_niX_skip WHERE id = 1 RETURNING id"},
	{name: "when clause on old.ssn", trigger: "when_t", sql: "UPDATE P_niX_when SET name = 'x' WHERE id = 1"},
	{name: "transition table", trigger: "tt_t", sql: "UPDATE P_niX_tt SET name = 'x' WHERE id = 1"},
	{name: "to_jsonb of new", trigger: "js_t", sql: "UPDATE P_niX_js SET name = 'x' WHERE id = 1"},
	{name: "dynamic sql", trigger: "dyn_t", sql: "UPDATE P_niX_dyn SET name = 'x' WHERE id = 1"},
	{name: "a call of an sql function", trigger: "fn_t", sql: "UPDATE P_niX_fn SET name = 'x' WHERE id = 1"},
	{name: "an internal function comparing whole rows", trigger: "sup_t", sql: "UPDATE P_niX_sup SET ssn = '900-11-2222' WHERE id = 1"},
	{name: "a trigger of an unmasked table reading a masked one", trigger: "peer_t", sql: "UPDATE P_niX_peer SET name = 'x' WHERE id = 1"},
	{name: "a trigger of a table a trigger writes", trigger: "chlog_t", sql: "UPDATE P_niX_chain SET name = 'x' WHERE id = 1"},
	{name: "a trigger of a row a cascade deletes", trigger: "kid_t", sql: "DELETE FROM P_niX_par WHERE id = 1"},
	{name: "a truncate trigger", trigger: "tr_t", sql: "TRUNCATE P_niX_tr"},

	// Triggers that read no masked column stay allowed.
	{name: "insert: new holds what the statement wrote", sql: "INSERT INTO P_niX_raise (id, name) VALUES (3, '900-11-2222')"},
	{name: "on conflict do nothing", sql: "INSERT INTO P_niX_raise (id, name) VALUES (1, '900-11-2222') ON CONFLICT (id) DO NOTHING"},
	{name: "disabled trigger", sql: "UPDATE P_niX_off SET name = '900-11-2222' WHERE id = 1"},
	{name: "updated_at", sql: "UPDATE P_niX_upd SET name = 'x' WHERE id = 1 RETURNING id, name"},
	{name: "audit of an update", sql: "UPDATE P_niX_aud SET name = 'x' WHERE id = 1"},
	{name: "audit of a delete", sql: "DELETE FROM P_niX_aud WHERE id = 1 RETURNING id"},
	{name: "a table without masked columns", sql: "UPDATE P_niX_plain SET name = 'x' WHERE id = 1 RETURNING id, name"},
	{name: "insert into the table a trigger writes", sql: "INSERT INTO P_niX_log (id, op) VALUES (9, 'x')"},
	{name: "transition table of an insert", sql: "INSERT INTO P_niX_tt (id, name) VALUES (5, 'x')"},
}

// TestAdversarialTriggers compares each write between the sets.
func TestAdversarialTriggers(t *testing.T) {
	p := newTriggersPair(t)
	for _, tc := range triggerCases {
		t.Run(tc.name, func(t *testing.T) {
			skipOpen(t, tc.open)
			stmt := "BEGIN; " + tc.sql + "; ROLLBACK"
			r := p.compare(stmt)
			if r.leak != "" || r.kind != "" {
				t.Errorf("%v", r)
			}
			switch {
			case tc.trigger == "" && (!r.allowed || r.failed):
				t.Errorf("%s: want allowed and run, got %v", tc.sql, p.ca.run("simple", p.sqlFor(stmt, false), p.normA).results)
			case tc.trigger != "" && r.allowed:
				t.Errorf("%s: want denied, got allowed", tc.sql)
			case tc.trigger != "":
				got := strings.Join(p.ca.run("simple", p.sqlFor(stmt, false), p.normA).results, " ")
				want := "trigger " + p.a.p + "_niX_" + tc.trigger + " on "
				if !strings.Contains(got, want) || !strings.Contains(got, "public."+p.a.p+"_niX_") || !strings.Contains(got, ".ssn") {
					t.Errorf("%s: want a denial naming %q, its table and the rule, got %s", tc.sql, want, got)
				}
			}
			p.ca.run("simple", "ROLLBACK", p.normA)
		})
	}
}

// TestAdversarialTriggersCopyFrom: COPY FROM fires insert triggers, and
// the pair cannot feed CopyData: the oracle is checked on one connection.
func TestAdversarialTriggersCopyFrom(t *testing.T) {
	p := newTriggersPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		table string
		deny  bool
	}{
		{"P_nia_peer", true},   // BEFORE INSERT reads P_nia_raise.ssn
		{"P_nia_raise", false}, // BEFORE INSERT reads NEW and OLD only
	} {
		_, err := p.ca.tp.pc.CopyFrom(ctx, strings.NewReader("7\tcopied\n"), p.a.sql("COPY "+tc.table+" (id, name) FROM STDIN"))
		var pe *pgconn.PgError
		denied := errors.As(err, &pe) && pe.Code == CodeInsufficientPrivilege && strings.Contains(pe.Message, "fires trigger")
		if denied != tc.deny {
			t.Errorf("COPY %s FROM STDIN: want denied %v, got %v", tc.table, tc.deny, err)
		}
	}
}

// TestTriggerCode checks what the analysis of trigger code finds, without
// a server: the PL/pgSQL forms that read the row, write elsewhere, or
// hide what they read.
func TestTriggerCode(t *testing.T) {
	type found struct {
		Opaque   string
		Row      []string
		WholeRow bool
		Rels     []string
		Writes   []string
	}
	summary := func(tc *triggerCode) found {
		f := found{Opaque: tc.opaque, Row: slices.Sorted(slices.Values(tc.row)), WholeRow: tc.wholeRow, Rels: tc.rels}
		for _, w := range tc.writes {
			f.Writes = append(f.Writes, fmt.Sprintf("%s %v %v %d", w.table, w.cols, w.updCols, w.events))
		}
		return f
	}
	for _, tc := range []struct {
		name, lang, body, config string
		want                     found
	}{
		{name: "updated_at with =", body: "BEGIN NEW.updated_at = now(); RETURN NEW; END",
			want: found{Row: []string{"updated_at"}}},
		{name: "updated_at with :=", body: "BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END",
			want: found{Row: []string{"updated_at"}}},
		{name: "return old", body: "BEGIN RETURN OLD; END", want: found{}},
		{name: "return of a whole row expression", body: "BEGIN RETURN COALESCE(NEW, OLD); END", want: found{WholeRow: true}},
		{name: "record assigned the row", body: "DECLARE r record; BEGIN r := NEW; RETURN NULL; END", want: found{WholeRow: true}},
		{name: "star of the row", body: "BEGIN INSERT INTO log SELECT OLD.*; RETURN NULL; END",
			want: found{WholeRow: true, Writes: []string{"public.log [*] [] 4"}}},
		{name: "subscript reads", body: "BEGIN NEW.arr[OLD.ssn::int] := 1; RETURN NEW; END",
			want: found{Row: []string{"arr", "ssn"}}},
		{name: "alias", body: "DECLARE r ALIAS FOR NEW; BEGIN IF to_jsonb(r) IS NULL THEN RETURN NULL; END IF; RETURN NEW; END",
			want: found{Opaque: "declares an alias"}},
		{name: "execute", body: "BEGIN EXECUTE 'SELECT 1'; RETURN NEW; END", want: found{Opaque: "runs dynamic SQL (EXECUTE)"}},
		{name: "for in execute", body: "DECLARE r record; BEGIN FOR r IN EXECUTE 'SELECT 1' LOOP END LOOP; RETURN NULL; END",
			want: found{Opaque: "runs dynamic SQL (EXECUTE)"}},
		{name: "open for execute", body: "DECLARE c refcursor; BEGIN OPEN c FOR EXECUTE 'SELECT 1'; RETURN NULL; END",
			want: found{Opaque: "runs dynamic SQL (EXECUTE)"}},
		{name: "a call outside the safe set", body: "BEGIN IF f(NEW.id) THEN RETURN NULL; END IF; RETURN NEW; END",
			want: found{Opaque: "calls f, outside the built-in safe set", Row: []string{"id"}}},
		{name: "a read of a table", body: "BEGIN PERFORM 1 FROM t WHERE t.x = NEW.id; RETURN NEW; END",
			want: found{Row: []string{"id"}, Rels: []string{"public.t"}}},
		{name: "a cursor over a table", body: "DECLARE c CURSOR FOR SELECT x FROM s.t; BEGIN RETURN NEW; END",
			want: found{Rels: []string{"s.t"}}},
		{name: "audit", body: "BEGIN INSERT INTO log (id, op) VALUES (OLD.id, TG_OP); RETURN OLD; END",
			want: found{Row: []string{"id"}, Writes: []string{"public.log [id op] [] 4"}}},
		{name: "update elsewhere", body: "BEGIN UPDATE counts SET n = n + 1 WHERE id = NEW.id; RETURN NEW; END",
			want: found{Row: []string{"id"}, Rels: []string{"public.counts"}, Writes: []string{"public.counts [n] [n] 16"}}},
		{name: "another language", lang: "plpython3u", body: "return 'OK'", want: found{Opaque: "is written in plpython3u"}},
		{name: "its own search_path", body: "BEGIN RETURN NEW; END", config: "search_path=pg_temp",
			want: found{Opaque: "sets its own search_path"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lang := tc.lang
			if lang == "" {
				lang = "plpgsql"
			}
			def := "CREATE FUNCTION f() RETURNS trigger LANGUAGE " + lang + " AS $f$" + tc.body + "$f$"
			if diff := cmp.Diff(tc.want, summary(triggerFunction(lang, tc.body, def, tc.config))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	for def, want := range map[string]*found{
		"CREATE TRIGGER x BEFORE UPDATE ON public.t FOR EACH ROW WHEN ((old.ssn ~~ '9%'::text)) EXECUTE FUNCTION f()":        {Row: []string{"ssn"}},
		"CREATE TRIGGER x BEFORE UPDATE ON public.t FOR EACH ROW WHEN ((new.* IS DISTINCT FROM old.*)) EXECUTE FUNCTION f()": {WholeRow: true},
		"CREATE TRIGGER x AFTER DELETE ON public.t FOR EACH ROW EXECUTE FUNCTION f('when')":                                  nil,
	} {
		got := triggerWhen(def)
		switch {
		case want == nil && got != nil:
			t.Errorf("%s: want no WHEN clause, got %+v", def, summary(got))
		case want != nil && got == nil:
			t.Errorf("%s: want a WHEN clause, got none", def)
		case want != nil:
			if diff := cmp.Diff(*want, summary(got)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", def, diff)
			}
		}
	}
}
