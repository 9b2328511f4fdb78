package compiler

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/mandatehq/mandate/model"
)

// secretRef decodes an attribute that must be env("NAME") or file("PATH").
// The compiler never reads what the reference points to.
func (e *evaluator) secretRef(attr *hcl.Attribute) (*model.SecretRef, hcl.Diagnostics) {
	if attr == nil {
		return nil, nil
	}
	rng := attr.Expr.Range()
	call, ok := attr.Expr.(*hclsyntax.FunctionCallExpr)
	if !ok || (call.Name != "env" && call.Name != "file") {
		if len(attr.Expr.Variables()) == 0 && !ok {
			if v, ds := attr.Expr.Value(nil); !ds.HasErrors() && v.IsKnown() && !v.IsNull() {
				return nil, hcl.Diagnostics{errDiag(&rng, "Literal secret in credential",
					fmt.Sprintf("The %s argument holds a literal value, which would put a secret into the repository and the signed bundle. Write env(\"VARIABLE\") or file(\"path\") instead; the gateway resolves the reference when it connects.", attr.Name))}
			}
		}
		return nil, hcl.Diagnostics{errDiag(&rng, "Invalid secret reference",
			fmt.Sprintf("The %s argument must be env(\"VARIABLE\") or file(\"path\"), written directly.", attr.Name))}
	}
	if len(call.Args) != 1 || call.ExpandFinal {
		return nil, hcl.Diagnostics{errDiag(&rng, "Invalid secret reference",
			fmt.Sprintf("%s() takes exactly one string argument.", call.Name))}
	}
	v, diags := e.eval(call.Args[0])
	if diags.HasErrors() {
		return nil, diags
	}
	name, d := asString(v, call.Args[0].Range(), fmt.Sprintf("The argument of %s()", call.Name))
	if d != nil {
		return nil, append(diags, d)
	}
	if name == "" {
		argRng := call.Args[0].Range()
		return nil, append(diags, errDiag(&argRng, "Invalid secret reference", fmt.Sprintf("The argument of %s() must not be empty.", call.Name)))
	}
	return &model.SecretRef{Kind: call.Name, Name: name}, diags
}
