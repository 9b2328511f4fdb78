package compiler

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/mandatehq/mandate/model"
)

// APIRoles are the gateway API roles a group may hold.
var APIRoles = []string{"admin", "approver", "auditor", "reviewer"}

type group struct {
	model.Group
	DeclRange hcl.Range
}

var groupSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "members"},
	{Name: "claim"},
	{Name: "github"},
	{Name: "api_roles"},
	{Name: "description"},
}}

func decodeGroupBlock(e *evaluator, b *hcl.Block) (*group, hcl.Diagnostics) {
	g := &group{DeclRange: b.DefRange}
	g.Name = b.Labels[0]
	g.Source = source(b.DefRange)
	content, diags := b.Body.Content(groupSchema)
	if content == nil {
		return g, diags
	}
	members, ds := e.list(content.Attributes["members"], "")
	diags = append(diags, ds...)
	g.Members = sortedUnique(values(members))
	g.Claims, ds = e.stringMap(content.Attributes["claim"])
	diags = append(diags, ds...)
	if len(g.Claims) == 0 {
		g.Claims = nil
	}
	gh, ds := e.list(content.Attributes["github"], "")
	diags = append(diags, ds...)
	g.GitHub = sortedUnique(values(gh))
	roles, ds := e.list(content.Attributes["api_roles"], "")
	diags = append(diags, ds...)
	for _, it := range roles {
		if !contains(APIRoles, it.Value) {
			diags = append(diags, errDiag(&it.Range, "Unknown API role",
				fmt.Sprintf("%q is not a gateway API role; use admin, approver, auditor or reviewer.", it.Value)))
		}
	}
	g.APIRoles = sortedUnique(values(roles))
	_, ds = e.str(content.Attributes["description"])
	diags = append(diags, ds...)
	if !diags.HasErrors() && len(g.Members) == 0 && len(g.Claims) == 0 && len(g.GitHub) == 0 {
		diags = append(diags, errDiag(&g.DeclRange, "Empty group",
			"A group needs members, a claim or github handles; otherwise nobody belongs to it."))
	}
	return g, diags
}
