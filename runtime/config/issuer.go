package config

import (
	"fmt"
	"net/url"

	"github.com/hashicorp/hcl/v2"
)

var issuerSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "url", Required: true}, {Name: "audience", Required: true}, {Name: "jwks_file"},
}}

func decodeIssuerBlock(ctx *hcl.EvalContext, block *hcl.Block) (*Issuer, hcl.Diagnostics) {
	iss := &Issuer{Name: block.Labels[0], DeclRange: block.DefRange}
	content, diags := block.Body.Content(issuerSchema)
	var d hcl.Diagnostics
	iss.URL, d = stringAttr(ctx, content.Attributes["url"])
	diags = append(diags, d...)
	if a := content.Attributes["url"]; a != nil && !d.HasErrors() {
		u, err := url.Parse(iss.URL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid issuer URL",
				Detail:   fmt.Sprintf("The issuer URL must be an absolute https URL equal to the tokens' \"iss\" claim, such as \"https://token.actions.githubusercontent.com\"; got %q.", iss.URL),
				Subject:  a.Expr.Range().Ptr(),
			})
		}
	}
	iss.Audience, d = stringAttr(ctx, content.Attributes["audience"])
	diags = append(diags, d...)
	if a := content.Attributes["audience"]; a != nil && !d.HasErrors() && iss.Audience == "" {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Empty audience",
			Detail:   "Tokens are checked for this audience; set it to the value your identity provider puts in \"aud\", such as \"mandate\".",
			Subject:  a.Expr.Range().Ptr(),
		})
	}
	iss.JWKSFile, d = stringAttr(ctx, content.Attributes["jwks_file"])
	diags = append(diags, d...)
	return iss, diags
}
