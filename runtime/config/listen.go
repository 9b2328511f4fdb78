package config

import (
	"fmt"
	"net"

	"github.com/hashicorp/hcl/v2"
)

var listenSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "api"}, {Name: "api_plaintext"}, {Name: "postgres"}, {Name: "ssh"},
}}

func decodeListenBlock(ctx *hcl.EvalContext, block *hcl.Block) (Listen, hcl.Diagnostics) {
	l := Listen{DeclRange: block.DefRange, API: DefaultAPIAddr}
	content, diags := block.Body.Content(listenSchema)
	var d hcl.Diagnostics
	if a := content.Attributes["api"]; a != nil {
		l.API, d = addrAttr(ctx, a)
		diags = append(diags, d...)
	}
	l.APIPlaintext, d = boolAttr(ctx, content.Attributes["api_plaintext"])
	diags = append(diags, d...)
	l.Postgres, d = addrAttr(ctx, content.Attributes["postgres"])
	diags = append(diags, d...)
	l.SSH, d = addrAttr(ctx, content.Attributes["ssh"])
	diags = append(diags, d...)
	return l, diags
}

// addrAttr reads a "host:port" address; "" is allowed and means off.
func addrAttr(ctx *hcl.EvalContext, attr *hcl.Attribute) (string, hcl.Diagnostics) {
	s, diags := stringAttr(ctx, attr)
	if diags.HasErrors() || s == "" {
		return s, diags
	}
	if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
		return "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid listen address",
			Detail:   fmt.Sprintf("The argument %q must be host:port, such as \"127.0.0.1:8080\" (or \"\" to turn the listener off); got %q.", attr.Name, s),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	return s, nil
}
