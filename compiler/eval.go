package compiler

import (
	"fmt"
	"sort"
	"sync/atomic"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Reference roots an expression may use. The block kinds evaluate to the
// referenced block's name.
var blockKinds = []string{kindConnection, kindMasking, kindGroup, kindRole, kindAgent}

const (
	kindConnection = "connection"
	kindMasking    = "masking"
	kindGroup      = "group"
	kindRole       = "role"
	kindAgent      = "agent"
	kindVariable   = "variable"
)

// evaluator evaluates attribute expressions against the repository's
// declarations, variables and locals.
type evaluator struct {
	decls  *declarations
	vars   map[string]cty.Value
	locals map[string]cty.Value
	names  map[string]cty.Value // kind -> object of name -> name
	funcs  map[string]function.Function
	bare   *hcl.EvalContext // for expressions without references
	spent  atomic.Int64     // cost of evaluated expressions; decoding is concurrent
}

// literal returns the value of a plain literal or a template made of one
// literal string, the common case, without building a context.
func literal(expr hcl.Expression) (cty.Value, bool) {
	switch x := expr.(type) {
	case *hclsyntax.LiteralValueExpr:
		// A parse error leaves an unknown literal behind.
		return x.Val, x.Val.IsWhollyKnown()
	case *hclsyntax.TemplateExpr:
		if len(x.Parts) == 1 {
			if l, ok := x.Parts[0].(*hclsyntax.LiteralValueExpr); ok && l.Val.Type() == cty.String {
				return l.Val, true
			}
		}
	}
	return cty.NilVal, false
}

func newEvaluator(d *declarations) *evaluator {
	e := &evaluator{
		decls:  d,
		vars:   map[string]cty.Value{},
		locals: map[string]cty.Value{},
		names:  map[string]cty.Value{},
		funcs:  policyFunctions(),
	}
	e.bare = &hcl.EvalContext{Functions: e.funcs}
	for _, k := range blockKinds {
		m := map[string]cty.Value{}
		for name := range d.blocks[k] {
			m[name] = cty.StringVal(name)
		}
		e.names[k] = cty.ObjectVal(m)
	}
	return e
}

// secretFunc stands in for env() and file() outside the places a secret
// reference belongs; those places inspect the call syntactically instead.
func secretFunc(name string) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "name", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
			return cty.NilVal, fmt.Errorf("%s() is a secret reference and is allowed only as a credential's password or private_key, a masking hash_key or a tls ca", name)
		},
	})
}

func policyFunctions() map[string]function.Function {
	return map[string]function.Function{
		"env":       secretFunc("env"),
		"file":      secretFunc("file"),
		"concat":    stdlib.ConcatFunc,
		"distinct":  stdlib.DistinctFunc,
		"flatten":   stdlib.FlattenFunc,
		"merge":     stdlib.MergeFunc,
		"lower":     stdlib.LowerFunc,
		"upper":     stdlib.UpperFunc,
		"length":    stdlib.LengthFunc,
		"contains":  stdlib.ContainsFunc,
		"keys":      stdlib.KeysFunc,
		"values":    stdlib.ValuesFunc,
		"sort":      stdlib.SortFunc,
		"setunion":  stdlib.SetUnionFunc,
		"join":      stdlib.JoinFunc,
		"split":     stdlib.SplitFunc,
		"coalesce":  stdlib.CoalesceFunc,
		"trimspace": stdlib.TrimSpaceFunc,
		"tostring":  stdlib.MakeToFunc(cty.String),
		"tolist":    stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"toset":     stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
	}
}

// checkRefs reports references to undeclared blocks, variables and locals,
// and references of the wrong kind when want is a block kind.
func (e *evaluator) checkRefs(trs []hcl.Traversal) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, tr := range trs {
		root := tr.RootName()
		rng := tr.SourceRange()
		var attr string
		if len(tr) > 1 {
			if a, ok := tr[1].(hcl.TraverseAttr); ok {
				attr = a.Name
			}
		}
		switch root {
		case "var", "local":
			what, set := "variable", e.decls.variables
			if root == "local" {
				what, set = "local value", nil
			}
			if attr == "" {
				diags = append(diags, errDiag(&rng, "Invalid reference", fmt.Sprintf("A %s reference is written %s.NAME.", what, root)))
				continue
			}
			if root == "local" {
				if _, ok := e.decls.locals[attr]; !ok {
					diags = append(diags, errDiag(&rng, "Reference to undeclared local value",
						fmt.Sprintf("No local value named %q is declared in a locals block.", attr)))
				}
				continue
			}
			if _, ok := set[attr]; !ok {
				diags = append(diags, errDiag(&rng, "Reference to undeclared variable",
					fmt.Sprintf("No variable %q is declared; add a variable block or fix the name.", attr)))
			}
		case kindConnection, kindMasking, kindGroup, kindRole, kindAgent:
			if attr == "" {
				diags = append(diags, errDiag(&rng, "Invalid reference", fmt.Sprintf("A %s reference is written %s.NAME.", root, root)))
				continue
			}
			if _, ok := e.decls.blocks[root][attr]; !ok {
				diags = append(diags, errDiag(&rng, "Reference to undeclared "+root,
					fmt.Sprintf("No %s named %q is declared in this repository.%s", root, attr, suggest(attr, e.decls.blocks[root]))))
			}
		default:
			diags = append(diags, errDiag(&rng, "Unknown reference",
				fmt.Sprintf("%q is not a reference this language knows. Use var.NAME, local.NAME, connection.NAME, masking.NAME, group.NAME, role.NAME or agent.NAME.", root)))
		}
	}
	return diags
}

// ctxFor builds an evaluation context holding only what expr references.
func (e *evaluator) ctxFor(trs []hcl.Traversal) *hcl.EvalContext {
	if len(trs) == 0 {
		return e.bare
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{}, Functions: e.funcs}
	vars, locals := map[string]cty.Value{}, map[string]cty.Value{}
	for _, tr := range trs {
		root := tr.RootName()
		if len(tr) < 2 {
			continue
		}
		a, ok := tr[1].(hcl.TraverseAttr)
		if !ok {
			continue
		}
		switch root {
		case "var":
			if v, ok := e.vars[a.Name]; ok {
				vars[a.Name] = v
			} else {
				vars[a.Name] = cty.DynamicVal
			}
		case "local":
			if v, ok := e.locals[a.Name]; ok {
				locals[a.Name] = v
			} else {
				locals[a.Name] = cty.DynamicVal
			}
		default:
			if v, ok := e.names[root]; ok {
				ctx.Variables[root] = v
			}
		}
	}
	ctx.Variables["var"] = cty.ObjectVal(vars)
	ctx.Variables["local"] = cty.ObjectVal(locals)
	return ctx
}

// eval checks references and the evaluation budget, then evaluates expr.
func (e *evaluator) eval(expr hcl.Expression) (cty.Value, hcl.Diagnostics) {
	if v, ok := literal(expr); ok {
		return v, nil
	}
	trs := expr.Variables()
	if diags := e.checkRefs(trs); diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	cost := e.cost(expr)
	rng := expr.Range()
	if cost > maxExprCost {
		return cty.DynamicVal, hcl.Diagnostics{errDiag(&rng, "Expression too large",
			"This expression could produce a value larger than the loader accepts. Simplify it or split it into several values.")}
	}
	if e.spent.Add(cost) > maxTotalCost {
		return cty.DynamicVal, hcl.Diagnostics{errDiag(&rng, "Policy too large",
			"The repository's expressions together produce more data than the loader accepts.")}
	}
	if e.dependsOnFailed(trs) {
		return cty.DynamicVal, hcl.Diagnostics{consequential(&rng)}
	}
	v, diags := expr.Value(e.ctxFor(trs))
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	if !v.IsWhollyKnown() {
		// Unknown values come only from errors already reported (a parse
		// error, a failed local); do not report them twice.
		return cty.DynamicVal, append(diags, consequential(&rng))
	}
	return v, diags
}

// consequentialError marks a diagnostic that only repeats an earlier
// failure (an expression using a local that did not evaluate); Load drops
// these before returning.
type consequentialError struct{}

func consequential(rng *hcl.Range) *hcl.Diagnostic {
	d := errDiag(rng, "Unknown value", "This expression depends on a value that failed to evaluate.")
	d.Extra = consequentialError{}
	return d
}

// dropConsequential removes diagnostics that repeat an earlier failure.
func dropConsequential(diags hcl.Diagnostics) hcl.Diagnostics {
	out := diags[:0]
	for _, d := range diags {
		if _, ok := d.Extra.(consequentialError); !ok {
			out = append(out, d)
		}
	}
	return out
}

// dependsOnFailed reports whether expr refers to a declared variable or
// local value that failed to evaluate.
func (e *evaluator) dependsOnFailed(trs []hcl.Traversal) bool {
	for _, tr := range trs {
		if len(tr) < 2 {
			continue
		}
		a, ok := tr[1].(hcl.TraverseAttr)
		if !ok {
			continue
		}
		switch tr.RootName() {
		case "var":
			if _, ok := e.vars[a.Name]; !ok {
				return true
			}
		case "local":
			if _, ok := e.locals[a.Name]; !ok {
				return true
			}
		}
	}
	return false
}

// suggest proposes a close declared name ("Did you mean ...?").
func suggest(name string, set map[string]*hcl.Block) string {
	if len(set) > 2000 {
		return ""
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	if s := nameSuggestion(name, names); s != "" {
		return fmt.Sprintf(" Did you mean %q?", s)
	}
	return ""
}

// asString converts v to a string or reports why not.
func asString(v cty.Value, rng hcl.Range, what string) (string, *hcl.Diagnostic) {
	if !v.IsWhollyKnown() {
		return "", consequential(&rng)
	}
	if v.IsNull() {
		return "", errDiag(&rng, "Invalid value", fmt.Sprintf("%s must not be null.", what))
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil {
		return "", errDiag(&rng, "Invalid value", fmt.Sprintf("%s must be a string: %s.", what, err))
	}
	return s.AsString(), nil
}

func errDiag(rng *hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rng}
}

func warnDiag(rng *hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: detail, Subject: rng}
}
