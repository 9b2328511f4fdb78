package compiler

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
)

// variableSchema: variables take their value from default; the loader has
// no other input, so a variable is a named constant with a description.
var variableSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "default", Required: true},
	{Name: "description"},
}}

// evalVariables evaluates every variable's default. Defaults may refer to
// blocks but not to other variables or locals.
func (e *evaluator) evalVariables() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range e.decls.list[kindVariable] {
		content, ds := b.Body.Content(variableSchema)
		diags = append(diags, ds...)
		if content == nil {
			continue
		}
		if a := content.Attributes["description"]; a != nil {
			_, ds := e.str(a)
			diags = append(diags, ds...)
		}
		a := content.Attributes["default"]
		if a == nil {
			continue
		}
		if refs := localOrVarRefs(a.Expr); len(refs) > 0 {
			rng := refs[0].SourceRange()
			diags = append(diags, errDiag(&rng, "Invalid variable default",
				"A variable's default cannot refer to variables or local values; use a locals block to derive values."))
			continue
		}
		v, ds := e.eval(a.Expr)
		diags = append(diags, ds...)
		if ds.HasErrors() {
			continue
		}
		if valueCost(v) > maxValueCost {
			rng := a.Expr.Range()
			diags = append(diags, errDiag(&rng, "Value too large", fmt.Sprintf("A variable's value may be at most %d KiB.", maxValueCost>>10)))
			continue
		}
		e.vars[b.Labels[0]] = v
	}
	return diags
}

func localOrVarRefs(expr hcl.Expression) []hcl.Traversal {
	var out []hcl.Traversal
	for _, tr := range expr.Variables() {
		if r := tr.RootName(); r == "var" || r == "local" {
			out = append(out, tr)
		}
	}
	return out
}

func sortAttrs(attrs []*hcl.Attribute) {
	sort.Slice(attrs, func(i, j int) bool {
		a, b := attrs[i].Range, attrs[j].Range
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
}
