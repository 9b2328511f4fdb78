package config

import "github.com/hashicorp/hcl/v2"

var tlsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "cert", Required: true}, {Name: "key", Required: true},
}}

func decodeTLSBlock(ctx *hcl.EvalContext, block *hcl.Block) (*TLS, hcl.Diagnostics) {
	t := &TLS{DeclRange: block.DefRange}
	content, diags := block.Body.Content(tlsSchema)
	var d hcl.Diagnostics
	t.Cert, d = stringAttr(ctx, content.Attributes["cert"])
	diags = append(diags, d...)
	t.Key, d = stringAttr(ctx, content.Attributes["key"])
	diags = append(diags, d...)
	return t, diags
}
