package review

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// TestListEdits covers list layouts the golden files do not: trailing
// commas, a last element without one, a closing bracket on the last line,
// and elements that are not literals.
func TestListEdits(t *testing.T) {
	wrap := func(list string) string {
		return "role \"r\" {\n  postgres \"db\" {\n    tables = " + list + "\n  }\n}\n"
	}
	rm := func(v string) Proposal {
		return Proposal{Kind: RemoveTable, Role: "r", GrantKind: "postgres", Connection: "db", Value: v}
	}
	narrow := func(v string, to ...string) Proposal {
		return Proposal{Kind: NarrowTable, Role: "r", GrantKind: "postgres", Connection: "db", Value: v, Replacement: to}
	}
	tests := []struct {
		name, in, want string
		props          []Proposal
		manual         int
	}{
		{"trailing comma kept", `["a.x", "a.y",]`, `["a.x",]`, []Proposal{rm("a.y")}, 0},
		{"first of two", `["a.x", "a.y"]`, `["a.y"]`, []Proposal{rm("a.x")}, 0},
		{"spaces inside brackets", `[ "a.x", "a.y" ]`, `[ "a.y" ]`, []Proposal{rm("a.x")}, 0},
		{"only element", `["a.x"]`, `[]`, []Proposal{rm("a.x")}, 0},
		{"unqualified matches public", `["orders", "a.y"]`, `["a.y"]`, []Proposal{rm("public.orders")}, 0},
		{"case-insensitive", `["Sales.Orders"]`, `[]`, []Proposal{rm("sales.orders")}, 0},
		{"bracket on the last line", "[\n      \"a.x\",\n      \"a.y\"]", "[\n      \"a.x\"]", []Proposal{rm("a.y")}, 0},
		{"multi-line, no trailing comma", "[\n      \"a.x\",\n      \"a.y\"\n    ]", "[\n      \"a.y\"\n    ]", []Proposal{rm("a.x")}, 0},
		{"narrow in multi-line", "[\n      \"s.*\", # sales\n    ]", "[\n      \"s.a\",\n      \"s.b\", # sales\n    ]", []Proposal{narrow("s.*", "s.a", "s.b")}, 0},
		{"narrow single", `["s.*"]`, `["s.a", "s.b"]`, []Proposal{narrow("s.*", "s.a", "s.b")}, 0},
		{"interpolation is not a literal", `["${local.s}.x", "a.y"]`, `["${local.s}.x"]`, []Proposal{rm("a.y"), rm("${local.s}.x")}, 1},
		{"function call list", `concat(local.a, ["a.y"])`, `concat(local.a, ["a.y"])`, []Proposal{rm("a.y")}, 1},
		{"absent element", `["a.x"]`, `["a.x"]`, []Proposal{rm("a.z")}, 1},
		{"comment lines stay with their element", "[\n      # x is old\n      \"a.x\",\n      \"a.y\",\n    ]", "[\n      \"a.y\",\n    ]", []Proposal{rm("a.x")}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, manual, err := EditFile([]byte(wrap(tt.in)), "f.hcl", tt.props)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wrap(tt.want), string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if len(manual) != tt.manual {
				t.Errorf("manual = %+v, want %d", manual, tt.manual)
			}
			if _, diags := hclsyntax.ParseConfig(got, "f.hcl", hcl.InitialPos); diags.HasErrors() {
				t.Errorf("result does not parse: %v", diags)
			}
		})
	}
}
