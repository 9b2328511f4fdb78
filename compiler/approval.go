package compiler

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/mandatehq/mandate/model"
)

var approvalSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "approvers", Required: true},
		{Name: "min_approvals"},
		{Name: "max_ttl", Required: true},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "requestable"}},
}

var requestableSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "postgres", LabelNames: []string{"connection"}},
	{Type: "ssh", LabelNames: []string{"connection"}},
}}

// maxApprovals caps min_approvals at a number a team can meet.
const maxApprovals = 10

func decodeApproval(e *evaluator, r *role, b *hcl.Block) hcl.Diagnostics {
	ap := &model.Approval{Source: source(b.DefRange), MinApprovals: 1, Approvers: []string{}}
	r.Approval = ap
	content, diags := b.Body.Content(approvalSchema)
	if content == nil {
		return diags
	}
	approvers, ds := e.list(content.Attributes["approvers"], kindGroup)
	diags = append(diags, ds...)
	r.Approvers = approvers
	ap.Approvers = sortedUniqueOr(values(approvers))
	if a := content.Attributes["approvers"]; a != nil && len(approvers) == 0 && !ds.HasErrors() {
		rng := a.Expr.Range()
		diags = append(diags, errDiag(&rng, "No approvers", "An approval needs at least one approver group, such as approvers = [group.oncall]."))
	}
	if a := content.Attributes["min_approvals"]; a != nil {
		n, ds := e.integer(a)
		diags = append(diags, ds...)
		if !ds.HasErrors() {
			if n < 1 || n > maxApprovals {
				rng := a.Expr.Range()
				diags = append(diags, errDiag(&rng, "Invalid min_approvals",
					fmt.Sprintf("min_approvals must be between 1 and %d; got %d.", maxApprovals, n)))
			} else {
				ap.MinApprovals = int(n)
			}
		}
	}
	ap.MaxTTLSecond, ds = e.duration(content.Attributes["max_ttl"])
	diags = append(diags, ds...)

	var req *hcl.Block
	for _, blk := range content.Blocks {
		if req != nil {
			diags = append(diags, errDiag(&blk.DefRange, "Duplicate requestable block",
				"An approval has one requestable block; the first is at "+req.DefRange.String()+"."))
			continue
		}
		req = blk
	}
	if req == nil {
		diags = append(diags, errDiag(&b.DefRange, "Missing requestable block",
			"An approval needs a requestable block with the postgres or ssh grants a human may approve."))
		return diags
	}
	rc, ds := req.Body.Content(requestableSchema)
	diags = append(diags, ds...)
	if rc == nil {
		return diags
	}
	g, ds := decodeGrants(e, rc.Blocks)
	diags = append(diags, ds...)
	if len(g.Refs) == 0 {
		diags = append(diags, errDiag(&req.DefRange, "Empty requestable block",
			"Add at least one postgres or ssh grant that a human may approve."))
	}
	r.Requestable = g.Refs
	if len(g.Postgres) > 0 {
		ap.Postgres = g.Postgres
	}
	if len(g.SSH) > 0 {
		ap.SSH = g.SSH
	}
	return diags
}
