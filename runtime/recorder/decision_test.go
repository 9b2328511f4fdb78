package recorder

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mandatehq/mandate/model"
)

func TestDecisionFrom(t *testing.T) {
	tests := []struct {
		name string
		in   model.Decision
		want Decision
	}{
		{"deny with source", model.Decision{Result: model.Deny, Reason: "no grant", Source: &model.Source{File: "roles.hcl", Line: 7}},
			Decision{ID: "d1", Result: model.Deny, Reason: "no grant", Source: "roles.hcl:7"}},
		{"allowed, review overdue (warn)", model.Decision{Result: model.Allow, Role: "reader", Grant: "app", Overdue: []string{"reader"}},
			Decision{ID: "d1", Result: model.Allow, Role: "reader", Grant: "app", Overdue: []string{"reader"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(&tc.want, DecisionFrom("d1", &tc.in)); d != "" {
				t.Errorf("DecisionFrom (-want +got):\n%s", d)
			}
		})
	}
}
