package pgsql

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

type split struct {
	Rel, Col string
	Any, OK  bool
}

var splitSourceCases = []struct {
	src  string
	want split
}{
	{"public.users.ssn", split{"public.users", "ssn", false, true}},
	{"public.users.*", split{"public.users", "", true, true}},
	{`public.users."*"`, split{"public.users", "*", false, true}},
	{`public."a.b"."c""d"`, split{`public."a.b"`, `c"d`, false, true}},
	{"App.Users.Mixed Case", split{"App.Users", "Mixed Case", false, true}},
	{".t.c", split{}},
	{"public.t..c", split{}},
	{"users.ssn", split{}},
	{"a.b.c.d", split{}},
	{`public."users.ssn`, split{}},
	{`public.us"ers.ssn`, split{}},
	{"public..ssn", split{}},
	{"public.users.", split{}},
	{"", split{}},
}

func TestSplitSource(t *testing.T) {
	for _, tc := range splitSourceCases {
		t.Run(tc.src, func(t *testing.T) {
			var got split
			got.Rel, got.Col, got.Any, got.OK = SplitSource(tc.src)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			var slow split
			slow.Rel, slow.Col, slow.Any, slow.OK = splitSourceParts(tc.src)
			if d := cmp.Diff(slow, got); d != "" {
				t.Errorf("the quote-free fast path differs from the full split (-full +fast):\n%s", d)
			}
			if got.OK && !got.Any && ColumnSource(got.Rel, got.Col) != tc.src {
				t.Errorf("ColumnSource(%q, %q) = %q, want %q", got.Rel, got.Col, ColumnSource(got.Rel, got.Col), tc.src)
			}
		})
	}
}

func TestSplitRelation(t *testing.T) {
	tests := []struct {
		rel          string
		schema, name string
		ok           bool
	}{
		{"public.users", "public", "users", true},
		{`public."a.b"`, "public", "a.b", true},
		{`"my ""schema""".T`, `my "schema"`, "T", true},
		{"users", "", "", false},
		{"public.users.id", "", "", false},
	}
	for _, tc := range tests {
		s, n, ok := SplitRelation(tc.rel)
		if s != tc.schema || n != tc.name || ok != tc.ok {
			t.Errorf("SplitRelation(%q) = %q, %q, %v; want %q, %q, %v", tc.rel, s, n, ok, tc.schema, tc.name, tc.ok)
		}
	}
}

// The sources the analyzer writes split back into the names it read.
func TestSplitAnalyzedSources(t *testing.T) {
	res, err := Analyze(`SELECT "a.b", "Mixed", u.* FROM "my.schema"."Odd ""T""" u`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]string
	for _, o := range res[0].Outputs {
		for _, s := range o.Sources {
			rel, col, any, ok := SplitSource(s)
			if !ok {
				t.Fatalf("SplitSource(%q) failed", s)
			}
			schema, name, ok := SplitRelation(rel)
			if !ok {
				t.Fatalf("SplitRelation(%q) failed", rel)
			}
			if any {
				col = "(any)"
			}
			got = append(got, [2]string{schema + "|" + name, col})
		}
	}
	want := [][2]string{{`my.schema|Odd "T"`, "a.b"}, {`my.schema|Odd "T"`, "Mixed"}, {`my.schema|Odd "T"`, "(any)"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// FuzzSplitSource checks that a source that splits renders back, from its
// parts, to a source that splits into the same parts.
func FuzzSplitSource(f *testing.F) {
	for _, tc := range splitSourceCases {
		f.Add(tc.src)
	}
	f.Add("public.a*b.c")
	f.Add("public.t.a*b")
	f.Fuzz(func(t *testing.T, src string) {
		rel, col, any, ok := SplitSource(src)
		if r, c, a, o := splitSourceParts(src); r != rel || c != col || a != any || o != ok {
			t.Errorf("%q: fast path %q %q %v %v, full split %q %q %v %v", src, rel, col, any, ok, r, c, a, o)
		}
		if !ok || any {
			return
		}
		again := ColumnSource(rel, col)
		rel2, col2, any2, ok2 := SplitSource(again)
		if !ok2 || any2 || rel2 != rel || col2 != col {
			t.Errorf("%q -> %q %q -> %q -> %q %q %v %v", src, rel, col, again, rel2, col2, any2, ok2)
		}
		if _, _, ok := SplitRelation(rel); !ok {
			t.Errorf("%q: relation %q does not split", src, rel)
		}
	})
}
