package compiler

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/mandatehq/mandate/model"
)

type role struct {
	model.Role
	DeclRange   hcl.Range
	NameRange   hcl.Range
	Refs        []grantRef // direct grants
	Requestable []grantRef
	Approvers   []item
	Reviewers   []item
	ReviewDate  hcl.Range // last_reviewed expression
	ReviewRange hcl.Range
}

var roleSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "description"}, {Name: "max_session"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "postgres", LabelNames: []string{"connection"}},
		{Type: "ssh", LabelNames: []string{"connection"}},
		{Type: "approval"},
		{Type: "review"},
	},
}

func decodeRoleBlock(e *evaluator, b *hcl.Block) (*role, hcl.Diagnostics) {
	r := &role{DeclRange: b.DefRange, NameRange: b.LabelRanges[0]}
	r.Name = b.Labels[0]
	r.Source = source(b.DefRange)
	content, diags := b.Body.Content(roleSchema)
	if content == nil {
		return r, diags
	}
	var ds hcl.Diagnostics
	r.Description, ds = e.str(content.Attributes["description"])
	diags = append(diags, ds...)
	r.MaxSessionSeconds, ds = e.duration(content.Attributes["max_session"])
	diags = append(diags, ds...)
	g, ds := decodeGrants(e, content.Blocks)
	diags = append(diags, ds...)
	r.Refs = g.Refs
	if len(g.Postgres) > 0 {
		r.Postgres = g.Postgres
	}
	if len(g.SSH) > 0 {
		r.SSH = g.SSH
	}
	var approval, review *hcl.Block
	for _, blk := range content.Blocks {
		var slot **hcl.Block
		switch blk.Type {
		case "approval":
			slot = &approval
		case "review":
			slot = &review
		default:
			continue
		}
		if *slot != nil {
			diags = append(diags, errDiag(&blk.DefRange, "Duplicate "+blk.Type+" block",
				"A role has at most one "+blk.Type+" block; the first is at "+(*slot).DefRange.String()+"."))
			continue
		}
		*slot = blk
	}
	if approval != nil {
		diags = append(diags, decodeApproval(e, r, approval)...)
	}
	if review != nil {
		diags = append(diags, decodeReview(e, r, review)...)
	}
	return r, diags
}
