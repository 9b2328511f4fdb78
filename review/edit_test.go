package review

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/<name>, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func TestEditFileGolden(t *testing.T) {
	grant := func(k Kind, kind, conn, value string, repl ...string) Proposal {
		return Proposal{Kind: k, Role: "order_reader", GrantKind: kind, Connection: conn, Value: value, Replacement: repl}
	}
	tests := []struct {
		name   string
		props  []Proposal
		manual int
	}{
		{"remove_statement", []Proposal{grant(RemoveStatement, "postgres", "orders_db", "update")}, 0},
		{"remove_statement_last", []Proposal{grant(RemoveStatement, "postgres", "orders_db", "delete")}, 0},
		{"remove_table", []Proposal{grant(RemoveTable, "postgres", "orders_db", "public.order_items")}, 0},
		{"remove_table_first_and_last", []Proposal{
			grant(RemoveTable, "postgres", "orders_db", "public.orders"),
			grant(RemoveTable, "postgres", "orders_db", "public.customers"),
		}, 0},
		{"remove_table_all", []Proposal{
			grant(RemoveTable, "postgres", "orders_db", "public.orders"),
			grant(RemoveTable, "postgres", "orders_db", "public.order_items"),
			grant(RemoveTable, "postgres", "orders_db", "public.customers"),
		}, 0},
		{"narrow_table", []Proposal{grant(NarrowTable, "postgres", "sales_db", "sales.*", "sales.invoices", "sales.orders")}, 0},
		{"narrow_table_multiline", []Proposal{grant(NarrowTable, "postgres", "orders_db", "public.order_items", "public.order_items", "public.order_notes")}, 0},
		{"narrow_statements", []Proposal{grant(NarrowStatements, "postgres", "sales_db", "*", "select", "insert")}, 0},
		{"remove_command", []Proposal{grant(RemoveCommand, "ssh", "build_host", "journalctl -u app -n *")}, 0},
		{"remove_grant", []Proposal{grant(RemoveGrant, "postgres", "orders_db", "")}, 0},
		{"remove_grant_ssh", []Proposal{grant(RemoveGrant, "ssh", "build_host", "")}, 0},
		{"remove_grant_two", []Proposal{grant(RemoveGrant, "postgres", "sales_db", ""), grant(RemoveGrant, "postgres", "audit_db", "")}, 0},
		{"remove_agent", []Proposal{{Kind: RemoveAgent, Role: "order_reader", Agent: "legacy-batch"}}, 0},
		{"remove_agent_first", []Proposal{{Kind: RemoveAgent, Role: "order_reader", Agent: "fulfilment-planner"}}, 0},
		{"remove_agent_role", []Proposal{{Kind: RemoveAgentRole, Role: "order_reader", Agent: "fulfilment-planner", Value: "order_reader"}}, 0},
		{"set_last_reviewed", []Proposal{{Kind: SetLastReviewed, Role: "order_reader", Value: "2026-11-26"}}, 0},
		{"non_literal_list", []Proposal{grant(RemoveTable, "postgres", "audit_db", "audit.events")}, 1},
		{"missing_block", []Proposal{grant(RemoveGrant, "postgres", "nope", ""), grant(RemoveTable, "postgres", "nope", "x")}, 2},
	}
	src, err := os.ReadFile("testdata/edits/policy.hcl")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, manual, err := EditFile(src, "policy.hcl", tt.props)
			if err != nil {
				t.Fatal(err)
			}
			if len(manual) != tt.manual {
				t.Errorf("manual = %+v, want %d", manual, tt.manual)
			}
			if _, diags := hclsyntax.ParseConfig(got, "after.hcl", hcl.InitialPos); diags.HasErrors() {
				t.Fatalf("edited file does not parse: %v\n%s", diags, got)
			}
			golden(t, "edits/"+tt.name+".after.hcl", got)

			// The Editor edits only the spans of the touched blocks; the
			// result must be the same bytes.
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "policy.hcl"), src, 0o644); err != nil {
				t.Fatal(err)
			}
			props := slices.Clone(tt.props)
			for i := range props {
				props[i].Source.File = "policy.hcl"
			}
			edits, err := NewEditor(dir).Edit(props)
			if err != nil {
				t.Fatal(err)
			}
			viaEditor, ok := edits.Files["policy.hcl"]
			if !ok {
				viaEditor = src
			}
			if diff := cmp.Diff(string(got), string(viaEditor)); diff != "" {
				t.Errorf("Editor and EditFile differ (-EditFile +Editor):\n%s", diff)
			}
			if len(edits.Manual) != tt.manual {
				t.Errorf("Editor manual = %+v, want %d", edits.Manual, tt.manual)
			}
		})
	}
}

// TestEditFileRoundTrip: no proposals, no change, byte for byte.
func TestEditFileRoundTrip(t *testing.T) {
	src, err := os.ReadFile("testdata/edits/policy.hcl")
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := EditFile(src, "policy.hcl", nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(src), string(got)); diff != "" {
		t.Error(diff)
	}
}

func TestEditFileBadInput(t *testing.T) {
	if _, _, err := EditFile([]byte("role \"x\" {"), "bad.hcl", []Proposal{{Kind: SetLastReviewed, Role: "x"}}); err == nil {
		t.Error("no error for unparseable HCL")
	}
	if _, _, err := EditFile([]byte(""), "x.hcl", []Proposal{{Kind: "bogus"}}); err == nil {
		t.Error("no error for an unknown kind")
	}
}
