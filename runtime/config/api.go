package config

import "github.com/hashicorp/hcl/v2"

var apiSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "open_dry_run"}}}

func decodeAPIBlock(ctx *hcl.EvalContext, block *hcl.Block) (API, hcl.Diagnostics) {
	a := API{DeclRange: block.DefRange}
	content, diags := block.Body.Content(apiSchema)
	var d hcl.Diagnostics
	a.OpenDryRun, d = boolAttr(ctx, content.Attributes["open_dry_run"])
	return a, append(diags, d...)
}
