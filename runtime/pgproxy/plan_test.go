package pgproxy

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mandatehq/mandate/masking"
	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/pgsql"
)

func TestAlignLineage(t *testing.T) {
	a := pgsql.Lineage{Sources: []string{"s.t.a"}}
	b := pgsql.Lineage{Sources: []string{"s.t.b"}}
	star := pgsql.Lineage{Star: true, Sources: []string{"s.u.*"}}
	cases := []struct {
		name string
		outs []pgsql.Lineage
		n    int
		want [][]string
	}{
		{"none", nil, 2, nil},
		{"one to one", []pgsql.Lineage{a, b}, 2, [][]string{{"s.t.a"}, {"s.t.b"}}},
		{"star in the middle", []pgsql.Lineage{a, star, b}, 4, [][]string{{"s.t.a"}, {"s.u.*"}, {"s.u.*"}, {"s.t.b"}}},
		{"star first", []pgsql.Lineage{star, b}, 3, [][]string{{"s.u.*"}, {"s.u.*"}, {"s.t.b"}}},
		{"empty star", []pgsql.Lineage{a, star}, 1, [][]string{{"s.t.a"}}},
		{"count mismatch: everything everywhere", []pgsql.Lineage{a, b}, 3, [][]string{{"s.t.a", "s.t.b"}, {"s.t.a", "s.t.b"}, {"s.t.a", "s.t.b"}}},
		{"two stars", []pgsql.Lineage{star, star}, 2, [][]string{{"s.u.*", "s.u.*"}, {"s.u.*", "s.u.*"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, alignLineage(tc.outs, tc.n)); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestMaskSetSources(t *testing.T) {
	srv := &Server{}
	srv.cfg.LookupEnv = lookupEnv
	srv.cfg.ReadFile = readFile
	set, err := (&maskCache{srv: srv}).build([]*model.Masking{{
		Name: "pii", Columns: []*model.ColumnRule{{Column: "public.people.ssn", Method: "redact"}, {Column: "hr.*.salary", Method: "null"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]bool{
		"public.people.ssn":  true,
		"PUBLIC.People.SSN":  true,
		"public.people.name": false,
		"public.people.*":    true,
		"public.other.*":     false,
		"hr.staff.salary":    true,
		"hr.staff.*":         true,
	}
	for src, want := range cases {
		if got := set.source(src) != nil; got != want {
			t.Errorf("source(%q) masked = %v, want %v", src, got, want)
		}
	}
}

func TestRowPlanApply(t *testing.T) {
	redact, _ := newMethod("redact")
	p := &rowPlan{cols: []colPlan{{method: redact, text: true}, {nullify: true}, {}}}
	vals := [][]byte{[]byte("123-45-6789"), []byte("41"), []byte("Ann")}
	if n := p.apply(vals); n != 2 {
		t.Fatalf("masked %d, want 2", n)
	}
	got := []string{string(vals[0]), string(vals[2])}
	if d := cmp.Diff([]string{"[REDACTED]", "Ann"}, got); d != "" || vals[1] != nil {
		t.Fatalf("(-want +got):\n%s null=%v", d, vals[1] == nil)
	}
}

func newMethod(name string) (masking.Method, error) { return masking.NewMethod(name, nil) }
