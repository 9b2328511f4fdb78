package compiler

import (
	"fmt"
	"net/url"

	"github.com/hashicorp/hcl/v2"
	"github.com/mandatehq/mandate/model"
)

type agent struct {
	model.Agent
	DeclRange hcl.Range
	RoleItems []item
	// IdentityRanges parallel Agent.Identities.
	IdentityRanges []hcl.Range
}

var agentSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "owner"}, {Name: "roles"}, {Name: "description"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "identity"}},
}

var identitySchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "issuer", Required: true},
	{Name: "subject"},
	{Name: "claims"},
}}

func decodeAgentBlock(e *evaluator, b *hcl.Block) (*agent, hcl.Diagnostics) {
	a := &agent{DeclRange: b.DefRange}
	a.Name = b.Labels[0]
	a.Source = source(b.DefRange)
	a.Identities = []*model.Identity{}
	a.Roles = []string{}
	content, diags := b.Body.Content(agentSchema)
	if content == nil {
		return a, diags
	}
	var ds hcl.Diagnostics
	a.Owner, ds = e.str(content.Attributes["owner"])
	diags = append(diags, ds...)
	_, ds = e.str(content.Attributes["description"])
	diags = append(diags, ds...)
	a.RoleItems, ds = e.list(content.Attributes["roles"], kindRole)
	diags = append(diags, ds...)
	a.Roles = sortedUniqueOr(values(a.RoleItems))
	for _, blk := range content.Blocks {
		id, ds := decodeIdentity(e, blk)
		diags = append(diags, ds...)
		if id != nil {
			a.Identities = append(a.Identities, id)
			a.IdentityRanges = append(a.IdentityRanges, blk.DefRange)
		}
	}
	if len(content.Blocks) == 0 {
		lrng := b.LabelRanges[0]
		diags = append(diags, errDiag(&lrng, "Agent without identity",
			fmt.Sprintf("Agent %q has no identity block, so no token can ever match it. Add identity { issuer = \"...\" subject = \"...\" }.", a.Name)))
	}
	return a, diags
}

func decodeIdentity(e *evaluator, b *hcl.Block) (*model.Identity, hcl.Diagnostics) {
	id := &model.Identity{Source: source(b.DefRange)}
	content, diags := b.Body.Content(identitySchema)
	if content == nil {
		return nil, diags
	}
	var ds hcl.Diagnostics
	id.Issuer, ds = e.str(content.Attributes["issuer"])
	diags = append(diags, ds...)
	if at := content.Attributes["issuer"]; at != nil && !ds.HasErrors() {
		if u, err := url.Parse(id.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			rng := at.Expr.Range()
			diags = append(diags, errDiag(&rng, "Invalid issuer",
				fmt.Sprintf("%q is not an OIDC issuer URL; write the issuer exactly as tokens carry it, such as \"https://token.actions.githubusercontent.com\".", id.Issuer)))
		}
	}
	id.Subject, ds = e.str(content.Attributes["subject"])
	diags = append(diags, ds...)
	id.Claims, ds = e.stringMap(content.Attributes["claims"])
	diags = append(diags, ds...)
	if len(id.Claims) == 0 {
		id.Claims = nil
	}
	if !diags.HasErrors() && id.Subject == "" && len(id.Claims) == 0 {
		diags = append(diags, errDiag(&b.DefRange, "Identity matches every token",
			"An identity with only an issuer would match every token that issuer signs. Add subject or claims."))
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return id, diags
}
