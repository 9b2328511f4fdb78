package pgproxy

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mandatehq/mandate/model"
)

// Round 6 of the red team: what earlier rounds left out.
//
//   - Masked columns read where their values are neither a result column
//     nor a filter (the select list of an EXISTS, a column of a CTE or a
//     derived table the outer query does not use, the statement under
//     EXPLAIN ANALYZE), by functions of the safe set whose errors print the
//     argument unquoted (chr: 54000, make_date and get_byte: class 22) or
//     quote it under a class that is not a data exception (regclass:
//     42P01, current_setting: 42704).
//   - TABLESAMPLE arguments: a subquery there decides how many rows come
//     back (BERNOULLI percentage, REPEATABLE seed).
//   - Inference through row comparison, IS DISTINCT FROM, CASE in ORDER
//     BY, hypothetical-set and ordered-set aggregates, window frames,
//     joins with generate_series and VALUES, COALESCE/NULLIF/GREATEST.
//   - Read-only escapes the earlier list lacks: transaction ids, advisory
//     locks in their other forms, maintenance commands, row locks in
//     subqueries, side effects hidden in views and CTEs.
//   - Detectors (no column rules): the value in binary ranges, in the
//     ParameterStatus of a setting set from it, in notices and errors.
//
// Oracles are those of the earlier suites (runAdvCases, runAdvReadOnly);
// detector cases check every byte the client receives.

var advRound6MaskCases = []advCase{
	// Legitimate statements keep working.
	{name: "allowed tablesample", sql: "SELECT count(*) FROM P_other TABLESAMPLE BERNOULLI (100) REPEATABLE (7)", allow: true},
	{name: "allowed exists over unmasked", sql: "SELECT EXISTS (SELECT name FROM P_cust WHERE id = 1)", allow: true},
	// Since round 27 EXPLAIN filters on the whole row of what it reads:
	// its plan follows estimates of the masked values' sizes.
	{name: "explain analyze of a masked table's unmasked column", sql: "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT name FROM P_cust", deny: true},
	{name: "allowed explain analyze of unmasked", sql: "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT note FROM P_other", allow: true},
	{name: "allowed cte of unmasked", sql: "WITH w AS MATERIALIZED (SELECT id, name FROM P_cust) SELECT count(*) FROM w", allow: true},
	{name: "allowed window over unmasked", sql: "SELECT nth_value(name, 2) OVER (ORDER BY id) FROM P_cust", allow: true},

	// Values read outside the outputs and filters, printed by errors.
	{name: "exists select list chr error", sql: "SELECT EXISTS (SELECT chr(salary) FROM P_cust)"},
	{name: "exists select list make_date error", sql: "SELECT EXISTS (SELECT make_date(salary, 1, 1) FROM P_cust)"},
	{name: "exists select list get_byte error", sql: "SELECT EXISTS (SELECT get_byte('\\x00'::bytea, salary) FROM P_cust)"},
	{name: "exists select list regclass error", sql: "SELECT EXISTS (SELECT ssn::regclass FROM P_cust)"},
	{name: "exists select list current_setting error", sql: "SELECT EXISTS (SELECT current_setting(email) FROM P_cust)"},
	{name: "exists in case", sql: "SELECT CASE WHEN EXISTS (SELECT card::regclass FROM P_cust) THEN 1 END"},
	{name: "materialized cte column unused", sql: "WITH w AS MATERIALIZED (SELECT id, chr(salary) AS x FROM P_cust) SELECT count(*) FROM w"},
	{name: "materialized cte regclass unused", sql: "WITH w AS MATERIALIZED (SELECT id, ssn::regclass AS x FROM P_cust) SELECT count(id) FROM w"},
	{name: "union all column counted", sql: "SELECT count(*) FROM (SELECT make_time(salary, 0, 0) FROM P_cust UNION ALL SELECT NULL) s"},
	{name: "explain analyze chr error", sql: "EXPLAIN ANALYZE SELECT chr(salary) FROM P_cust"},
	{name: "explain analyze regclass error", sql: "EXPLAIN (ANALYZE, COSTS OFF) SELECT ssn::regclass FROM P_cust"},
	{name: "explain analyze through view", sql: "EXPLAIN ANALYZE SELECT email::regclass FROM P_cust_v"},
	{name: "exists through view", sql: "SELECT EXISTS (SELECT ssn::regclass FROM P_cust_v)"},
	{name: "exists through matview", sql: "SELECT EXISTS (SELECT ssn::regclass FROM P_cust_mv)"},
	{name: "exists through whole row", sql: "SELECT EXISTS (SELECT c::text::regclass FROM P_cust c)"},
	{name: "cursor of exists", sql: "BEGIN; DECLARE r6 CURSOR FOR SELECT EXISTS (SELECT chr(salary) FROM P_cust); FETCH ALL r6; COMMIT", simple: true},
	// Views an administrator created compute every column they read, used
	// or not: a DISTINCT over a computed column, a filter of their own.
	{name: "distinct view column unused", sql: "SELECT id FROM P_dv"},
	{name: "distinct view in exists", sql: "SELECT EXISTS (SELECT id FROM P_dv)"},
	{name: "view filter error", sql: "SELECT id FROM P_fv"},
	{name: "view filter error counted", sql: "SELECT count(*) FROM P_fv"},
	// A function can raise any text into the fields of a notice or error
	// that name objects (RAISE ... USING COLUMN, TABLE, SCHEMA, DATATYPE,
	// CONSTRAINT): the view reads it for the agent.
	{name: "notice object fields", sql: "SELECT id FROM P_tv"},
	{name: "setting set by a view", sql: "SELECT id FROM P_av"},
	{name: "setting set by a view, counted", sql: "SELECT count(*) FROM P_av"},
	{name: "error object fields", sql: "SELECT id FROM P_tev"},
	{name: "prepared exists", sql: "PREPARE r6q AS SELECT EXISTS (SELECT make_date(salary, 1, 1) FROM P_cust); EXECUTE r6q", simple: true},

	// TABLESAMPLE arguments decide which rows come back.
	{name: "tablesample percentage", deny: true,
		sql: "SELECT count(*) FROM P_other TABLESAMPLE BERNOULLI ((SELECT CASE WHEN ssn LIKE '9%' THEN 100 ELSE 0 END FROM P_cust WHERE id = 1))"},
	{name: "tablesample repeatable seed", deny: true,
		sql: "SELECT count(*) FROM P_other TABLESAMPLE BERNOULLI (50) REPEATABLE ((SELECT salary FROM P_cust WHERE id = 1))"},
	{name: "tablesample system", deny: true,
		sql: "SELECT id FROM P_other TABLESAMPLE SYSTEM ((SELECT ascii(ssn) - 57 FROM P_cust WHERE id = 1) * 100)"},

	// Inference through comparisons and ordering.
	{name: "row comparison", sql: "SELECT id FROM P_cust WHERE (ssn, id) > ('5', 0)", deny: true},
	{name: "is distinct from", sql: "SELECT id FROM P_cust WHERE ssn IS DISTINCT FROM '918-27-3645'", deny: true},
	{name: "case in order by", sql: "SELECT id FROM P_cust ORDER BY CASE WHEN ssn LIKE '9%' THEN 0 ELSE 1 END LIMIT 1", deny: true},
	{name: "coalesce in where", sql: "SELECT id FROM P_cust WHERE coalesce(ssn, '') LIKE '9%'", deny: true},
	{name: "nullif in join", sql: "SELECT o.id FROM P_other o JOIN P_cust c ON nullif(c.ssn, '918-27-3645') IS NULL", deny: true},
	{name: "greatest in group by", sql: "SELECT count(*) FROM P_cust GROUP BY greatest(ssn, '5')", deny: true},
	{name: "generate_series join", sql: "SELECT count(*) FROM P_cust c JOIN generate_series(48, 57) g ON g = ascii(c.ssn)", deny: true},
	{name: "values join", sql: "SELECT count(*) FROM P_cust c, (VALUES ('918-27-3645')) v(s) WHERE v.s = c.ssn", deny: true},
	{name: "hypothetical rank", sql: "SELECT rank('918-27-3645') WITHIN GROUP (ORDER BY ssn) FROM P_cust", deny: true},
	{name: "percentile_disc", sql: "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY salary) FROM P_cust", deny: true},
	{name: "mode", sql: "SELECT mode() WITHIN GROUP (ORDER BY substr(ssn, 1, 1)) FROM P_cust", deny: true},
	{name: "window frame offset", sql: "SELECT sum(id) OVER (ORDER BY id ROWS BETWEEN (SELECT ascii(ssn) - 48 FROM P_cust WHERE id = 1) PRECEDING AND CURRENT ROW) FROM P_other", deny: true},
	{name: "offset", sql: "SELECT id FROM P_other OFFSET (SELECT ascii(ssn) - 57 FROM P_cust WHERE id = 1)", deny: true},
	{name: "fetch first with ties on masked", sql: "SELECT id FROM P_cust ORDER BY substr(ssn, 1, 1) FETCH FIRST 1 ROWS WITH TIES", deny: true},
	{name: "cube", sql: "SELECT count(*) FROM P_cust GROUP BY CUBE (substr(ssn, 1, 1), name)", deny: true},
	{name: "correlated subquery in select list", sql: "SELECT id, (SELECT count(*) FROM P_other o WHERE o.note < c.ssn) FROM P_cust c", deny: true},
	{name: "exists correlated", sql: "SELECT id FROM P_other o WHERE EXISTS (SELECT 1 FROM P_cust c WHERE c.id = o.id AND c.salary > 8000000)", deny: true},
	{name: "any array", sql: "SELECT id FROM P_cust WHERE ssn = ANY (ARRAY['918-27-3645', 'x'])", deny: true},
	{name: "recursive depth", sql: "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < (SELECT ascii(ssn) FROM P_cust WHERE id = 1)) SELECT count(*) FROM r", deny: true},
	{name: "json_each of a row", sql: "SELECT count(*) FROM P_cust c, jsonb_each_text(to_jsonb(c)) e WHERE e.value LIKE '9%'", deny: true},
	{name: "xmlexists filter", sql: "SELECT id FROM P_cust WHERE xmlexists('/r[starts-with(., \"9\")]' PASSING BY VALUE xmlelement(name r, ssn))", deny: true},
	{name: "array position in where", sql: "SELECT id FROM P_cust WHERE array_position(ARRAY['918-27-3645'], ssn) = 1", deny: true},
	{name: "join using alias", sql: "SELECT count(*) FROM P_cust JOIN P_cust_mv USING (id) AS j WHERE j.id = 1 AND P_cust_mv.ssn LIKE '9%'", deny: true},

	// Values through outputs: masked, or denied since round 20 where the
	// expression may fail (adversarial_round20_test.go).
	{name: "window nth_value lead", sql: "SELECT nth_value(ssn, 1) OVER (ORDER BY id), lead(card) OVER (ORDER BY id), last_value(salary) OVER (ORDER BY id) FROM P_cust", deny: true},
	{name: "lateral values", sql: "SELECT v.x FROM P_cust c, LATERAL (VALUES (c.ssn), (c.email)) v(x)", masked: true},
	{name: "coalesce greatest least nullif", sql: "SELECT coalesce(ssn, name), greatest(ssn, '0'), least(card, 'z'), nullif(email, name) FROM P_cust", deny: true},
	{name: "json of a row field", sql: "SELECT to_json(c)->>'ssn', (row_to_json(c)::jsonb)->'card', to_json(ROW(c.salary)) FROM P_cust c", deny: true},
	{name: "array subscript by masked", sql: "SELECT (ARRAY['a', 'b', 'c'])[salary % 3 + 1], (string_to_array(ssn, '-'))[2] FROM P_cust", deny: true},
	{name: "format width", sql: "SELECT format('%*s|', salary % 20, 'x'), format('%2$s', name, ssn) FROM P_cust", deny: true},
	{name: "text search", sql: "SELECT to_tsvector('simple', ssn)::text, ts_headline('simple', email, to_tsquery('simple', 'zara')) FROM P_cust", deny: true},
	{name: "to_number to_char", sql: "SELECT to_number(card, '9999999999999999'), to_char(salary, 'FM9G999G999') FROM P_cust", deny: true},
	{name: "grouping sets output", sql: "SELECT name, max(ssn) FROM P_cust GROUP BY GROUPING SETS ((name), ())"},
	{name: "distinct on unmasked key", sql: "SELECT DISTINCT ON (name) name, ssn FROM P_cust ORDER BY name, id"},
	{name: "row comparison output", sql: "SELECT (ssn, card) < ('5', '5'), ssn IS DISTINCT FROM '918-27-3645' FROM P_cust", deny: true},
	{name: "set operation output", sql: "SELECT ssn FROM P_cust UNION ALL SELECT email FROM P_cust_v", masked: true},
	{name: "string_agg of masked ordered by unmasked", sql: "SELECT string_agg(ssn, ',' ORDER BY id), json_agg(card ORDER BY name) FROM P_cust", masked: true},
	{name: "jsonb_object_agg of masked keys", sql: "SELECT jsonb_object_agg(email, salary) FROM P_cust", deny: true},
}

func TestAdversarialRound6Masking(t *testing.T) {
	a := newAdvEnv(t)
	t.Cleanup(func() {
		admin(t, a.sql("DROP VIEW IF EXISTS P_dv, P_fv, P_tv, P_tev, P_av; DROP FUNCTION IF EXISTS P_tag(text, bool)"))
	})
	admin(t, a.sql(`CREATE VIEW P_dv AS SELECT DISTINCT id, chr(salary) AS x FROM P_cust;
		CREATE VIEW P_fv AS SELECT id FROM P_cust WHERE card::regclass IS NOT NULL;
		CREATE FUNCTION P_tag(text, bool) RETURNS text LANGUAGE plpgsql AS $$BEGIN
		  IF $2 THEN RAISE EXCEPTION 'tagged' USING ERRCODE = '23505', COLUMN = $1, TABLE = $1, SCHEMA = $1, DATATYPE = $1, CONSTRAINT = $1; END IF;
		  RAISE NOTICE 'tagged' USING COLUMN = $1, TABLE = $1, SCHEMA = $1, DATATYPE = $1, CONSTRAINT = $1; RETURN 'x'; END$$;
		CREATE VIEW P_tv AS SELECT id, P_tag(ssn, false) AS t FROM P_cust;
		CREATE VIEW P_tev AS SELECT id, P_tag(card, true) AS t FROM P_cust;
		CREATE VIEW P_av AS SELECT id, set_config('application_name', ssn, false) AS s FROM P_cust`))
	runAdvCases(t, a, "reader", advRound6MaskCases)
}

// round6Fixture adds views and functions whose side effects the gateway
// cannot see (created by an administrator: the read-only transaction
// upstream is the wall).
const round6Fixture = `
CREATE VIEW P_seqv AS SELECT nextval('P_seq') AS n;
CREATE VIEW P_wv AS SELECT P_writer() AS n;
CREATE VIEW P_lockv AS SELECT id FROM P_other FOR UPDATE;
CREATE FUNCTION P_setro() RETURNS text LANGUAGE sql AS 'SELECT set_config(''transaction_read_only'', ''off'', true)';
CREATE VIEW P_rov AS SELECT P_setro() AS s;
CREATE VIEW P_notv AS SELECT pg_notify('mandate_adv', 'x')::text AS n;
CREATE VIEW P_lkv AS SELECT pg_advisory_lock(4242)::text AS l;
`

const round6Drop = `
DROP VIEW IF EXISTS P_seqv, P_wv, P_lockv, P_rov, P_notv, P_lkv;
DROP FUNCTION IF EXISTS P_setro();
`

var advRound6ReadOnlyCases = []roCase{
	// Transaction ids, locks and maintenance.
	{name: "txid_current", sql: "SELECT txid_current()"},
	{name: "pg_current_xact_id", sql: "SELECT pg_current_xact_id()"},
	{name: "advisory xact lock", sql: "SELECT pg_advisory_xact_lock(4242)"},
	{name: "advisory lock shared", sql: "SELECT pg_advisory_lock_shared(4242)"},
	{name: "try advisory lock", sql: "SELECT pg_try_advisory_lock(4242)"},
	{name: "advisory lock in from", sql: "SELECT * FROM pg_advisory_lock(4242)"},
	{name: "lo_put", sql: "SELECT lo_put(1, 0, 'x')"},
	{name: "lo_unlink", sql: "SELECT lo_unlink(1)"},
	{name: "checkpoint", sql: "CHECKPOINT"},
	{name: "vacuum", sql: "VACUUM P_other"},
	{name: "analyze", sql: "ANALYZE P_other"},
	{name: "cluster", sql: "CLUSTER P_other"},
	{name: "reindex", sql: "REINDEX TABLE P_other"},
	{name: "load", sql: "LOAD 'plpgsql'"},
	{name: "import foreign schema", sql: "IMPORT FOREIGN SCHEMA public FROM SERVER nosuch INTO public"},
	{name: "create extension", sql: "CREATE EXTENSION IF NOT EXISTS hstore"},
	{name: "security label", sql: "SECURITY LABEL ON TABLE P_other IS 'x'"},
	{name: "alter default privileges", sql: "ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO PUBLIC"},
	{name: "create temp sequence", sql: "CREATE TEMP SEQUENCE r6_seq"},
	{name: "create temp view", sql: "CREATE TEMP VIEW r6_v AS SELECT 1"},
	{name: "alter database set", sql: "ALTER DATABASE test SET default_transaction_read_only = off"},
	{name: "alter role current_user", sql: "ALTER ROLE CURRENT_USER SET default_transaction_read_only = off"},

	// The read-only settings in other spellings.
	{name: "begin isolation read write", sql: "BEGIN ISOLATION LEVEL SERIALIZABLE READ WRITE; DELETE FROM P_other; COMMIT"},
	{name: "set transaction isolation read write", sql: "BEGIN; SET TRANSACTION ISOLATION LEVEL READ COMMITTED, READ WRITE; DELETE FROM P_other; COMMIT"},
	{name: "set transaction read only then read write", sql: "BEGIN; SET TRANSACTION READ ONLY, READ WRITE; DELETE FROM P_other; COMMIT"},
	{name: "set session default read only", sql: "SET SESSION default_transaction_read_only = off; DELETE FROM P_other"},
	{name: "reset transaction read only", sql: "BEGIN; RESET transaction_read_only; DELETE FROM P_other; COMMIT"},
	{name: "set read only from current", sql: "SET default_transaction_read_only FROM CURRENT"},
	{name: "set_config quoted name", sql: `SELECT set_config('Default_Transaction_Read_Only', 'off', false)`},
	{name: "set_config in from", sql: "SELECT * FROM set_config('default_transaction_read_only', 'off', false)"},
	{name: "savepoint rollback to then read write", sql: "BEGIN; SAVEPOINT a; ROLLBACK TO a; SET TRANSACTION READ WRITE; DELETE FROM P_other; COMMIT"},

	// Row locks and writes in other positions.
	{name: "for update in exists", sql: "SELECT EXISTS (SELECT 1 FROM P_other FOR UPDATE)"},
	{name: "for share in scalar subquery", sql: "SELECT (SELECT id FROM P_other ORDER BY id LIMIT 1 FOR SHARE)"},
	{name: "for update in lateral", sql: "SELECT l.id FROM (SELECT 1) x, LATERAL (SELECT id FROM P_other FOR UPDATE) l"},
	{name: "for update skip locked", sql: "SELECT * FROM P_other FOR UPDATE SKIP LOCKED"},
	{name: "for update in prepared", sql: "PREPARE r6l AS SELECT * FROM P_other FOR UPDATE; EXECUTE r6l"},
	{name: "copy of for update", sql: "COPY (SELECT * FROM P_other FOR UPDATE) TO STDOUT"},
	{name: "explain analyze for update", sql: "EXPLAIN ANALYZE SELECT * FROM P_other FOR UPDATE"},
	{name: "declare for share", sql: "BEGIN; DECLARE r6c CURSOR FOR SELECT * FROM P_other FOR SHARE; FETCH 1 FROM r6c; COMMIT"},
	{name: "merge do nothing", sql: "MERGE INTO P_other o USING (SELECT 1 AS id) s ON o.id = s.id WHEN MATCHED THEN DO NOTHING"},
	{name: "merge delete", sql: "MERGE INTO P_other o USING (SELECT 1 AS id) s ON o.id = s.id WHEN MATCHED THEN DELETE"},
	{name: "writable cte in exists", sql: "SELECT EXISTS (SELECT 1 FROM (WITH d AS (DELETE FROM P_other RETURNING 1) SELECT * FROM d) s)"},
	{name: "insert on conflict do nothing", sql: "INSERT INTO P_other VALUES (1, 'x') ON CONFLICT DO NOTHING"},
	{name: "select into", sql: "SELECT * INTO P_new FROM P_other"},
	{name: "create table as execute", sql: "PREPARE r6s AS SELECT 1; CREATE TABLE P_new AS EXECUTE r6s"},
	{name: "explain analyze execute", sql: "PREPARE r6d AS SELECT 1; EXPLAIN ANALYZE EXECUTE r6d"},

	// Side effects the gateway cannot see: views an administrator
	// created over code that writes or changes settings. The read-only
	// transaction upstream stops them.
	{name: "view over nextval", sql: "SELECT * FROM P_seqv"},
	{name: "view over writing function", sql: "SELECT * FROM P_wv"},
	{name: "view locking rows", sql: "SELECT * FROM P_lockv"},
	{name: "view over set_config", sql: "SELECT * FROM P_rov; DELETE FROM P_other"},
	{name: "view over set_config then nextval", sql: "BEGIN; SELECT * FROM P_rov; SELECT nextval('P_seq'); COMMIT"},
	{name: "cte over view over writing function", sql: "WITH w AS MATERIALIZED (SELECT * FROM P_wv) SELECT count(*) FROM w"},
	// What the read-only transaction does not stop, reached through a view:
	// a read-only session may not read a view whose definition calls it
	// (round 36, readonlyviews.go).
	{name: "view over pg_notify", sql: "SELECT * FROM P_notv"},
	{name: "view over advisory lock", sql: "SELECT * FROM P_lkv"},
	{name: "view over pg_notify counted", sql: "SELECT count(*) FROM P_notv"},
	{name: "view over advisory lock counted", sql: "SELECT count(*) FROM P_lkv"},
}

func TestAdversarialRound6ReadOnly(t *testing.T) {
	a := newAdvEnv(t)
	t.Cleanup(func() { admin(t, a.sql(round6Drop)) })
	admin(t, a.sql(round6Fixture))
	runAdvReadOnly(t, a, advRound6ReadOnlyCases)
}

// detSecrets are the values of the detector fixture the client must never
// see: a card, an email address, an SSN, an IBAN and an AWS key id.
var detSecrets = []string{
	"4111111111111111", "4111 1111 1111 1111", "zq.detect@secret.example", "219-47-3821",
	"DE89370400440532013000", "AKIAIOSFODNN7EXAMPLE",
}

func detLeak(b []byte) string {
	low := bytes.ToLower(b)
	for _, s := range detSecrets {
		if bytes.Contains(b, []byte(s)) {
			return s
		}
		// bytea hex output
		if h := []byte(strings.ToLower(hexOf(s))); bytes.Contains(low, h) {
			return s + " (hex)"
		}
	}
	return ""
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, digits[s[i]>>4], digits[s[i]&15])
	}
	return string(b)
}

// detEnv is a gateway whose masking for table T has every built-in
// detector and no column rule.
func detEnv(t *testing.T) (*env, string) {
	e := newEnv(t)
	tbl := e.table(t, "det", "id int, cc text, em text, ss text, ib text, ak text",
		`VALUES (1, '4111 1111 1111 1111', 'zq.detect@secret.example', '219-47-3821', 'DE89370400440532013000', 'AKIAIOSFODNN7EXAMPLE')`)
	say := e.prefix + "_say"
	t.Cleanup(func() { admin(t, "DROP FUNCTION IF EXISTS "+say+"(text)") })
	admin(t, "CREATE FUNCTION "+say+"(text) RETURNS int LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'value %', $1 USING COLUMN = $1, TABLE = $1, SCHEMA = $1, DATATYPE = $1, CONSTRAINT = $1; RETURN 1; END$$")
	var dets []*model.DetectorRule
	for _, d := range []string{"credit_card", "email", "us_ssn", "iban", "api_key"} {
		dets = append(dets, &model.DetectorRule{Detector: d, Name: d, Method: "redact"})
	}
	e.policy.set(func(p *testPolicy) {
		p.masked[tbl] = true
		p.maskings["pii"] = &model.Masking{Name: "pii", Detectors: dets}
	})
	return e, tbl
}

func TestAdversarialRound6Detectors(t *testing.T) {
	e, tbl := detEnv(t)
	ctx := context.Background()
	cases := []struct {
		name   string
		sql    string
		simple bool
		// null: every value must come back NULL (a finding behind an
		// encoding the byte oracle cannot read: binary numbers).
		null bool
	}{
		{name: "plain", sql: "SELECT cc, em, ss, ib, ak FROM T"},
		{name: "one text", sql: "SELECT concat_ws(' ', cc, em, ss, ib, ak) FROM T"},
		{name: "arrays and records", sql: "SELECT ARRAY[cc, em], ROW(ss, ib), ARRAY[ROW(ak)] FROM T"},
		{name: "json", sql: "SELECT json_build_object('c', cc, 'e', em), jsonb_build_array(ss, ib, ak), to_jsonb(ROW(cc)) FROM T"},
		{name: "bytea", sql: "SELECT convert_to(cc, 'UTF8'), convert_to(em, 'UTF8'), ARRAY[convert_to(ak, 'UTF8')] FROM T"},
		{name: "xml and tsvector", sql: "SELECT xmlelement(name x, em), to_tsvector('simple', replace(cc, ' ', '')), to_tsvector('simple', ak) FROM T"},
		{name: "numbers", null: true, sql: "SELECT replace(cc, ' ', '')::int8, replace(cc, ' ', '')::numeric, ARRAY[replace(cc, ' ', '')::int8] FROM T"},
		{name: "ranges", null: true, sql: "SELECT int8range(replace(cc, ' ', '')::int8, NULL), numrange(replace(cc, ' ', '')::numeric, NULL), ARRAY[int8range(replace(cc, ' ', '')::int8, NULL)] FROM T"},
		{name: "multiranges", null: true, sql: "SELECT int8multirange(int8range(replace(cc, ' ', '')::int8, NULL)), nummultirange(numrange(1, replace(cc, ' ', '')::numeric)) FROM T"},
		{name: "xid8", null: true, sql: "SELECT replace(cc, ' ', '')::xid8, ARRAY[replace(cc, ' ', '')::xid8] FROM T"},
		{name: "json escapes in an array", null: true, sql: `SELECT ARRAY[('"' || replace(cc, '4', '\u0034') || '"')::json], ARRAY[('"' || replace(em, '@', '\u0040') || '"')::json] FROM T`},
		{name: "json escapes in a record", null: true, sql: `SELECT ROW(('"' || replace(cc, '1', '\u0031') || '"')::json), ARRAY[ROW(('"' || replace(ak, 'A', '\u0041') || '"')::json)] FROM T`},
		{name: "xml character references", null: true, sql: `SELECT ('<x>' || replace(cc, '4', '&#52;') || '</x>')::xml, ('<x>' || replace(em, '@', '&#x40;') || '</x>')::xml, ARRAY[('<x>' || replace(ss, '-', '&#45;') || '</x>')::xml] FROM T`},
		{name: "bytea escape output", simple: true, sql: "SET bytea_output = 'escape'; SELECT convert_to(cc, 'UTF8'), convert_to(ak, 'UTF8') FROM T; RESET bytea_output"},
		{name: "error quoting the value", sql: "SELECT ak::int FROM T"},
		{name: "error regclass", sql: "SELECT ib::regclass FROM T"},
		{name: "error chr", sql: "SELECT chr(replace(cc, ' ', '')::int8::int) FROM T"},
		{name: "notice", sql: "SELECT " + e.prefix + "_say(concat_ws(' ', cc, em, ss, ib, ak)) FROM T"},
		{name: "parameter status", sql: "SELECT set_config('application_name', em || ' ' || cc, false) FROM T"},
		{name: "parameter status of an email", sql: "SELECT set_config('application_name', em, false) FROM T"},
		{name: "column names", sql: `SELECT 1 AS "zq.detect@secret.example", 2 AS "AKIAIOSFODNN7EXAMPLE" FROM T`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tp := detConnect(t, e)
			sql := strings.ReplaceAll(tc.sql, "FROM T", "FROM "+tbl)
			modes := []string{"simple", "text", "binary", "prepared"}
			if tc.simple {
				modes = modes[:1]
			}
			for _, mode := range modes {
				o := tp.run(ctx, mode, sql)
				if s := detLeak(tp.tap.take()); s != "" {
					t.Errorf("%s: detected value %q reached the client (%s %v)", mode, s, o, o.err)
				}
				t.Logf("%s %v", o, o.err)
				if tc.null && o.err != nil {
					t.Errorf("%s: %v", mode, o.err)
				}
				for _, row := range o.rows {
					for _, v := range row {
						if tc.null && v != nil {
							t.Errorf("%s: value %q holding a finding came back", mode, v)
						}
					}
				}
				_ = tp.pc.Exec(ctx, "RESET application_name").Close()
				tp.tap.take()
			}
		})
	}
}

// detConnect is a tapped connection to e's gateway as agent1.
func detConnect(t *testing.T, e *env) *tapped {
	t.Helper()
	cfg, err := pgconn.ParseConfig(e.dsn("agent1", "disable"))
	if err != nil {
		t.Fatal(err)
	}
	tp, err := dialTapped(t, cfg)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	tp.tap.take()
	return tp
}
