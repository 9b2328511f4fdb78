package pgsql

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestTypedFilters(t *testing.T) {
	tests := []struct {
		sql     string
		typed   []TypedRead // want
		filters []string    // want Statement.FilterColumns
	}{
		{"SELECT sum(salary) FROM t", []TypedRead{{"sum", "public.t.salary", []string{"public.t.salary"}}}, []string{"public.t.salary"}},
		{"SELECT avg(x.salary), array_agg(x.ssn) FROM t x", []TypedRead{
			{"avg", "public.t.salary", []string{"public.t.salary"}},
			{"array_agg", "public.t.ssn", []string{"public.t.ssn"}},
		}, []string{"public.t.salary", "public.t.ssn"}},
		{"SELECT pg_catalog.bit_or(n) FROM (SELECT salary AS n FROM t) s", []TypedRead{{"bit_or", "public.t.salary", []string{"public.t.salary"}}}, []string{"public.t.salary"}},
		// A filter on the column otherwise: no typed read.
		{"SELECT sum(salary) FROM t WHERE salary > 0", nil, []string{"public.t.salary"}},
		{"SELECT sum(salary) FROM t GROUP BY salary", nil, []string{"public.t.salary"}},
		// Not one resolved column.
		{"SELECT sum(salary + 1) FROM t", nil, []string{"public.t.salary"}},
		{"SELECT sum(salary::int8) FROM t", nil, []string{"public.t.salary"}},
		{"SELECT sum(salary) FROM t, u", nil, []string{"public.t.salary", "public.u.salary"}},
		{"SELECT sum(x) FROM (SELECT salary AS x FROM t UNION ALL SELECT 1.5) s", nil, []string{"public.t.salary"}},
		{"SELECT sum(x) FROM (SELECT a AS x FROM t UNION ALL SELECT b FROM u) s", nil, []string{"public.t.a", "public.u.b"}},
		// A function of the same name elsewhere is code the gateway cannot see.
		{"SELECT public.sum(salary) FROM t", nil, []string{"public.t.salary"}},
		// Counted as a call that may fail in what decides whether it
		// runs: the CASE condition is a filter.
		{"SELECT CASE WHEN ssn = 'x' THEN sum(salary) END FROM t GROUP BY ssn", []TypedRead{{"sum", "public.t.salary", []string{"public.t.salary"}}},
			[]string{"public.t.salary", "public.t.ssn"}},
		// A concatenation's typed reads decide all it reads: text
		// appended to an int[] is converted to int.
		{"SELECT name || ' ' || ssn FROM t", []TypedRead{{"||", "public.t.ssn", []string{"public.t.name", "public.t.ssn"}}},
			[]string{"public.t.name", "public.t.ssn"}},
		{"SELECT arr || ssn::text FROM t", []TypedRead{{"||", "public.t.arr", []string{"public.t.arr", "public.t.ssn"}}},
			[]string{"public.t.arr", "public.t.ssn"}},
		{"SELECT ssn || name || email FROM t", []TypedRead{
			{"||", "public.t.email", []string{"public.t.email", "public.t.name", "public.t.ssn"}},
			{"||", "public.t.name", []string{"public.t.email", "public.t.name", "public.t.ssn"}},
			{"||", "public.t.ssn", []string{"public.t.email", "public.t.name", "public.t.ssn"}},
		}, []string{"public.t.email", "public.t.name", "public.t.ssn"}},
		{"SELECT ssn || '{1}' FROM t", nil, []string{"public.t.ssn"}},
		{"SELECT upper(ssn) || lower(email) FROM t", []TypedRead{
			{"lower", "public.t.email", []string{"public.t.email", "public.t.ssn"}},
			{"upper", "public.t.ssn", []string{"public.t.email", "public.t.ssn"}},
		}, []string{"public.t.email", "public.t.ssn"}},
		{"SELECT ssn || (salary + 1) FROM t", nil, []string{"public.t.salary", "public.t.ssn"}},
		{"SELECT to_jsonb(ssn), jsonb_build_object('s', ssn, 'n', 1), jsonb_build_array(ssn, 'x') FROM t", []TypedRead{
			{"jsonb_build_array", "public.t.ssn", []string{"public.t.ssn"}},
			{"jsonb_build_object", "public.t.ssn", []string{"public.t.ssn"}},
			{"to_jsonb", "public.t.ssn", []string{"public.t.ssn"}},
		}, []string{"public.t.ssn"}},
		{"SELECT jsonb_build_object(name, ssn) FROM t", nil, []string{"public.t.name", "public.t.ssn"}},
		// A whole row: every column's type decides.
		{"SELECT to_jsonb(c) FROM t c", []TypedRead{{"to_jsonb", "public.t.*", []string{"public.t.*", "public.t.c"}}},
			[]string{"public.t.*", "public.t.c"}},
		{"SELECT jsonb_agg(c.*) FROM t c", []TypedRead{{"jsonb_agg", "public.t.*", []string{"public.t.*"}}}, []string{"public.t.*"}},
		{"SELECT to_jsonb(s) FROM (SELECT ssn FROM t) s", nil, []string{"public.t.ssn"}},
		{"SELECT jsonb_build_object('k', ssn, NULL, 1) FROM t", nil, []string{"public.t.ssn"}},
		// Total without a type: nothing converts to boolean implicitly.
		{"SELECT bool_and(flag) FROM t", nil, nil},

		// json operators with literal or column keys, and chains of them.
		{"SELECT doc -> 'a', doc ->> 'b', doc -> -2 FROM t", []TypedRead{
			{"->", "public.t.doc", []string{"public.t.doc"}},
			{"->>", "public.t.doc", []string{"public.t.doc"}},
		}, []string{"public.t.doc"}},
		{"SELECT doc -> 'a' ->> 'b', doc #> '{a,b}' -> 0, doc #>> '{}' FROM t", []TypedRead{
			{"#>", "public.t.doc", []string{"public.t.doc"}},
			{"#>>", "public.t.doc", []string{"public.t.doc"}},
			{"->", "public.t.doc", []string{"public.t.doc"}},
			{"->>", "public.t.doc", []string{"public.t.doc"}},
		}, []string{"public.t.doc"}},
		{"SELECT doc OPERATOR(pg_catalog.->>) 'a' FROM t", []TypedRead{{"->>", "public.t.doc", []string{"public.t.doc"}}}, []string{"public.t.doc"}},
		{"SELECT upper(x.doc ->> 'a') FROM t x", []TypedRead{{"->>", "public.t.doc", []string{"public.t.doc"}}}, []string{"public.t.doc"}},
		{"SELECT doc -> k FROM t", []TypedRead{
			{"->", "public.t.doc", []string{"public.t.doc", "public.t.k"}},
			{"json key", "public.t.k", []string{"public.t.doc", "public.t.k"}},
		}, []string{"public.t.doc", "public.t.k"}},
		{"SELECT doc #>> path FROM t", []TypedRead{
			{"#>>", "public.t.doc", []string{"public.t.doc", "public.t.path"}},
			{"json path", "public.t.path", []string{"public.t.doc", "public.t.path"}},
		}, []string{"public.t.doc", "public.t.path"}},
		// ->> returns text, whose -> is no json operator; a key that is
		// an expression or of another literal kind, an operator of
		// another schema, a document that is no column.
		{"SELECT doc ->> 'a' ->> 'b' FROM t", nil, []string{"public.t.doc"}},
		{"SELECT doc -> (k || '') FROM t", nil, []string{"public.t.doc", "public.t.k"}},
		{"SELECT doc -> 1.5, doc #> 1, doc -> NULL FROM t", nil, []string{"public.t.doc"}},
		{"SELECT doc OPERATOR(public.->) 'a' FROM t", nil, []string{"public.t.doc"}},
		{"SELECT to_jsonb(ssn) -> 'a' FROM t", nil, []string{"public.t.ssn"}},
		{"SELECT x -> 'a' FROM (SELECT doc AS x FROM t UNION ALL SELECT NULL::json) s", nil, []string{"public.t.doc"}},
		{"SELECT id FROM t WHERE doc ->> 'a' = 'x'", nil, []string{"public.t.doc"}},

		// Date and time fields: the field is part of the call, as it
		// decides the types.
		{"SELECT extract(YEAR FROM created), date_part('Hour', created), pg_catalog.date_trunc('day', created) FROM t", []TypedRead{
			{"date_part(hour)", "public.t.created", []string{"public.t.created"}},
			{"date_trunc(day)", "public.t.created", []string{"public.t.created"}},
			{"extract(year)", "public.t.created", []string{"public.t.created"}},
		}, []string{"public.t.created"}},
		{"SELECT max(extract(epoch FROM s.c)) FROM (SELECT created AS c FROM t) s", []TypedRead{{"extract(epoch)", "public.t.created", []string{"public.t.created"}}},
			[]string{"public.t.created"}},
		// A unit no type takes without failing, a time zone, a field
		// that is no literal, an expression, a function elsewhere.
		{"SELECT date_trunc('dow', created), extract(foo FROM created), extract(week FROM created + d) FROM t", nil,
			[]string{"public.t.created", "public.t.d"}},
		{"SELECT date_trunc('day', created, 'UTC') FROM t", nil, []string{"public.t.created"}},
		{"SELECT date_trunc(unit, created) FROM t", nil, []string{"public.t.created", "public.t.unit"}},
		{"SELECT public.date_part('year', created) FROM t", nil, []string{"public.t.created"}},
		{"SELECT to_char(created, 'YYYY') FROM t", nil, []string{"public.t.created"}},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			res, err := Analyze(tt.sql, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.typed, res[0].TypedFilters, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("TypedFilters (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.filters, res[0].Statement.FilterColumns, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("FilterColumns (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTypedRead(t *testing.T) {
	for _, tt := range []struct {
		call string
		typ  ColumnType
		want bool
	}{
		{"sum", ColumnType{OID: oidInt4, Plain: true}, true},
		{"avg", ColumnType{OID: oidInt8, Plain: true}, true},
		{"bit_xor", ColumnType{OID: oidInt2, Plain: true}, true},
		{"sum", ColumnType{OID: 1700, Plain: true}, false}, // numeric
		{"avg", ColumnType{OID: 701, Plain: true}, false},  // float8
		{"sum", ColumnType{OID: 1186, Plain: true}, false}, // interval
		{"array_agg", ColumnType{OID: 25, Plain: true}, true},
		{"array_agg", ColumnType{OID: 1007}, false}, // int4[]
		{"upper", ColumnType{OID: 25, Plain: true}, true},
		{"lower", ColumnType{OID: 3904, Plain: true, Range: true}, false}, // int4range
		{"to_jsonb", ColumnType{OID: 25, Plain: true, Kind: 'b'}, true},
		{"jsonb_agg", ColumnType{OID: 114, Plain: true, Kind: 'b'}, false},            // json
		{"jsonb_build_object", ColumnType{OID: 20000, Plain: true, Kind: 'b'}, false}, // not built in: a cast to json
		{"to_jsonb", ColumnType{OID: 16390, Plain: true, Kind: 'c'}, false},           // a composite
		{"count", ColumnType{OID: oidInt4, Plain: true}, false},
		{"->", ColumnType{OID: oidJSONB, Plain: true, Kind: 'b'}, true},
		{"#>>", ColumnType{OID: oidJSONB, Plain: true, Kind: 'b'}, true},
		{"->>", ColumnType{OID: oidJSON, Plain: true, Kind: 'b'}, false},             // json: parsed again
		{"->", ColumnType{OID: oidText, Plain: true, Kind: 'b'}, false},              // hstore's -> is no jsonb one either
		{"->", ColumnType{OID: 20001, Plain: true, Kind: 'd'}, false},                // a domain over jsonb
		{"json key", ColumnType{OID: oidBPChar, Plain: true, Kind: 'b'}, true},       // char(n) is text without padding
		{"json key", ColumnType{OID: oidInt2, Plain: true, Kind: 'b'}, true},         // int2 is int4
		{"json key", ColumnType{OID: oidInt8, Plain: true, Kind: 'b'}, false},        // no jsonb -> int8
		{"json key", ColumnType{OID: oidTextArray, Kind: 'b'}, false},                // a path
		{"json path", ColumnType{OID: oidVarcharArray, Kind: 'b'}, true},             // varchar[] is text[]
		{"json path", ColumnType{OID: oidText, Plain: true, Kind: 'b'}, false},       // no jsonb #> text
		{"extract(year)", ColumnType{OID: oidDate, Plain: true, Kind: 'b'}, true},    // extract(text, date)
		{"date_part(year)", ColumnType{OID: oidDate, Plain: true, Kind: 'b'}, false}, // a date past 294276 as a timestamp
		{"extract(year)", ColumnType{OID: oidTime, Plain: true, Kind: 'b'}, false},
		{"extract(timezone)", ColumnType{OID: oidTimestamp, Plain: true, Kind: 'b'}, false}, // fails unless infinite
		{"extract(timezone)", ColumnType{OID: oidTimeTZ, Plain: true, Kind: 'b'}, true},
		{"extract(week)", ColumnType{OID: oidInterval, Plain: true, Kind: 'b'}, false},
		{"extract(hour)", ColumnType{OID: oidInt4, Plain: true, Kind: 'b'}, false},
		{"date_trunc(week)", ColumnType{OID: oidTimestamp, Plain: true, Kind: 'b'}, true},
		{"date_trunc(month)", ColumnType{OID: oidTimestamp, Plain: true, Kind: 'b'}, false}, // 4714-11-24 BC
		{"date_trunc(month)", ColumnType{OID: oidInterval, Plain: true, Kind: 'b'}, true},
		{"date_trunc(second)", ColumnType{OID: oidTimestampTZ, Plain: true, Kind: 'b'}, true},
		{"date_trunc(minute)", ColumnType{OID: oidTimestampTZ, Plain: true, Kind: 'b'}, false}, // local mean time
		{"date_trunc(day)", ColumnType{OID: oidDate, Plain: true, Kind: 'b'}, false},           // as a timestamptz
	} {
		if got := (TypedRead{Call: tt.call}).Total(tt.typ); got != tt.want {
			t.Errorf("%s of %+v: Total = %v, want %v", tt.call, tt.typ, got, tt.want)
		}
	}
}

// A view column read by sum keeps the view's column as the one whose type
// decides, and reads the base column; a base column the statement also
// filters on otherwise stays out of the typed reads.
func TestExpandTyped(t *testing.T) {
	opts := Options{SearchPath: []string{"app"}}
	pay, err := ViewFromDefinition([]string{"who", "amount"}, "SELECT p.name, p.salary FROM people p", opts)
	if err != nil {
		t.Fatal(err)
	}
	resolve := func(table string) *View {
		if table == "app.pay" {
			return pay
		}
		return nil
	}
	for _, tt := range []struct {
		sql     string
		typed   []TypedRead
		filters []string
	}{
		{"SELECT sum(amount) FROM pay", []TypedRead{{"sum", "app.pay.amount", []string{"app.people.salary"}}}, []string{"app.people.salary"}},
		{"SELECT sum(p.amount) FROM pay p JOIN people q ON q.salary = 1 AND p.who = q.name", []TypedRead{{"sum", "app.pay.amount", nil}},
			[]string{"app.people.name", "app.people.salary"}},
	} {
		res, err := Analyze(tt.sql, opts)
		if err != nil {
			t.Fatal(err)
		}
		exp := res[0].ExpandViews(resolve)
		if diff := cmp.Diff(tt.typed, exp.TypedFilters, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: TypedFilters (-want +got):\n%s", tt.sql, diff)
		}
		if diff := cmp.Diff(tt.filters, exp.Statement.FilterColumns, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: FilterColumns (-want +got):\n%s", tt.sql, diff)
		}
	}
}

// typedValues are values at the ends of each type's range, with the
// infinities, in temporary tables named by the type's OID: ty_1114 holds
// timestamps. Dates and times cover every day of the first and last
// years of their range, intervals every mix of extreme months, days and
// microseconds.
const typedValues = `
CREATE TEMP TABLE ty_1114 AS SELECT d + i * interval '1 day' + t AS c
  FROM (VALUES ('4714-11-24 BC'::timestamp, 412), ('294275-12-20', '294276-12-31'::date - '294275-12-20'::date),
      ('0001-12-20 BC', 30)) v(d, n),
    generate_series(0, n) i, unnest('{00:00,00:00:00.5,23:59:59.999999}'::interval[]) t
  UNION ALL VALUES ('infinity'::timestamp), ('-infinity'), (NULL);
CREATE TEMP TABLE ty_1184 AS SELECT c AT TIME ZONE 'UTC' AS c FROM ty_1114;
CREATE TEMP TABLE ty_1082 AS SELECT '4714-11-24 BC'::date + i AS c FROM generate_series(0, 412) i
  UNION ALL SELECT '294276-12-20'::date + i FROM generate_series(0, 21) i
  UNION ALL SELECT '5874896-12-20'::date + i FROM generate_series(0, 376) i
  UNION ALL VALUES ('infinity'::date), ('-infinity'), (NULL);
CREATE TEMP TABLE ty_1083 AS SELECT c::time AS c FROM (VALUES ('00:00'), ('24:00'), ('23:59:59.999999'), (NULL)) v(c);
CREATE TEMP TABLE ty_1266 AS SELECT c::timetz AS c FROM (VALUES ('00:00+15:59:59'), ('24:00-15:59:59'), ('12:00-05:45'), (NULL)) v(c);
CREATE TEMP TABLE ty_1186 AS SELECT make_interval(0, m, 0, d) + make_interval(secs => t / 1e6) AS c
  FROM unnest('{0,1,-1,11,-11,2147483647,-2147483648,2147483640,-2147483640}'::int[]) m,
    unnest('{0,1,-1,2147483647,-2147483648}'::int[]) d,
    unnest('{0,1,-1,999999,-999999,9223372036854775807,-9223372036854775807,-9223372036854775808,9223372036800000000}'::int8[]) t;
CREATE TEMP TABLE ty_3802 (c jsonb);
INSERT INTO ty_3802 VALUES ('{"a": {"b": 1}, "a": 2, "k": "x"}'), ('[1, [2, 3], {"b": null}]'), ('"s"'), ('42'), ('null'),
  ('{"a": "\ud83d\ude00", "": "\u00e9"}'), ('{"a": 1e1000, "b": -1e-1000}'), ('[]'), ('{}'), ('{"a": [[[[[[[[[[1]]]]]]]]]]}'),
  ('{"a": "\\u0000"}'), (NULL);
CREATE TEMP TABLE ty_114 (c json);
INSERT INTO ty_114 VALUES ('{"a": 1}'), ('{"b": "\u0000"}');
CREATE TEMP TABLE ty_keys (kt text, kv varchar, kb char(3), kn name, k2 int2, k4 int4, ka text[], kva varchar[]);
INSERT INTO ty_keys VALUES ('a', 'a', 'a', 'a', 1, 1, '{a,b}', '{a,b}'),
  ('', 'é', '', '', -1, -2147483648, '{1,-1,x,NULL}', '{}'),
  (repeat('x', 100000), '0', 'xyz', repeat('n', 63), 32767, 2147483647, '{{a,b},{c,d}}', '{NULL}'),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
`

// The fields of datetimeFields fail on no value of their types, nor the
// json operators on any jsonb value, in the PostgreSQL the tests run
// against; the calls left out fail on some, so the values reach far
// enough to tell.
func TestTypedAgainstPostgres(t *testing.T) {
	conn := connectPG(t)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, typedValues); err != nil {
		t.Fatalf("creating the values: %v", err)
	}
	run := func(zone, q string) error {
		_, err := conn.Exec(ctx, "SET TimeZone = '"+zone+"'; "+q)
		return err
	}
	// Time zones of local mean time (seconds off the hour), of the
	// largest offsets PostgreSQL takes, and of daylight saving time.
	zones := []string{"UTC", "Europe/Amsterdam", "America/New_York", "Pacific/Kiritimati", "Etc/GMT+12",
		"XXX167:59", "XXX-167:59", "XXX-167:59YYY", "Asia/Kathmandu"}
	for name, byType := range datetimeFields {
		for oid, fields := range byType {
			for _, f := range strings.Fields(fields) {
				expr := fmt.Sprintf("%s('%s', c)", name, f)
				if name == "extract" {
					expr = fmt.Sprintf("extract('%s' FROM c)", f)
				}
				q := fmt.Sprintf("SELECT count(%s) FROM pg_temp.ty_%d", expr, oid)
				for _, z := range zones {
					if err := run(z, q); err != nil {
						t.Errorf("%s (TimeZone %s): %v", q, z, err)
					}
				}
			}
		}
	}
	var json []string
	for _, k := range []string{"'a'", "''", "'k'", "0", "1", "-1", "-100", "2147483647", "-2147483648"} {
		json = append(json, "c -> "+k, "c ->> "+k)
	}
	for _, p := range []string{"'{a,b}'", "'{}'", "'{1,x}'", "'{a,NULL}'", "'{99999999999999999999}'", "'{-1}'", "'{{a},{b}}'", `'{" 1"}'`} {
		json = append(json, "c #> "+p, "c #>> "+p)
	}
	json = append(json, "c -> 'a' ->> 'b'", "c #> '{a}' -> 0 -> 0 #>> '{0}'",
		"c -> kt", "c ->> kv", "c -> kb", "c ->> kn", "c -> k2", "c ->> k4", "c #> ka", "c #>> kva")
	for _, e := range json {
		if err := run("UTC", fmt.Sprintf("SELECT count(%s) FROM pg_temp.ty_3802, pg_temp.ty_keys", e)); err != nil {
			t.Errorf("%s: %v", e, err)
		}
	}
	// Left out: each fails on some values and not on others (a NULL
	// aside), or as PostgreSQL chose the operator at planning.
	for _, tc := range []struct {
		zone, q string
		fails   bool
	}{
		{"UTC", "SELECT count(date_trunc('month', c)) FROM pg_temp.ty_1114 WHERE c < '1000-01-01'", true},
		{"UTC", "SELECT count(date_trunc('month', c)) FROM pg_temp.ty_1114 WHERE c > '1000-01-01'", false},
		{"UTC", "SELECT count(extract(timezone FROM c)) FROM pg_temp.ty_1114 WHERE c = '0001-01-01'", true},
		{"UTC", "SELECT count(extract(timezone FROM c)) FROM pg_temp.ty_1114 WHERE c = 'infinity'", false},
		{"UTC", "SELECT count(date_trunc('foo', c)) FROM pg_temp.ty_1114 WHERE c = 'infinity'", false},
		{"UTC", "SELECT count(date_part('year', c)) FROM pg_temp.ty_1082 WHERE c > '294277-01-01'", true},
		{"UTC", "SELECT count(date_trunc('day', c)) FROM pg_temp.ty_1082 WHERE c > '294277-01-01'", true},
		{"Europe/Amsterdam", "SELECT count(date_trunc('minute', c)) FROM pg_temp.ty_1184", true},
		{"Etc/GMT+12", "SELECT count(date_trunc('day', c)) FROM pg_temp.ty_1184", true},
		{"UTC", "SELECT count(c -> 'a') FROM pg_temp.ty_114", true},
		{"UTC", "SELECT count(c -> 'a') FROM pg_temp.ty_114 WHERE c::text NOT LIKE '%u0000%'", false},
	} {
		if err := run(tc.zone, tc.q); (err != nil) != tc.fails {
			t.Errorf("%s (TimeZone %s): error %v, want one: %v", tc.q, tc.zone, err, tc.fails)
		}
	}
}
