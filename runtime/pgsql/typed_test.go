package pgsql

import (
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
