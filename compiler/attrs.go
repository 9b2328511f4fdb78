package compiler

import (
	"fmt"
	"math/big"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// item is one evaluated string with the narrowest range it came from.
type item struct {
	Value string
	Range hcl.Range
}

// str evaluates an optional string attribute; a nil attribute yields "".
func (e *evaluator) str(attr *hcl.Attribute) (string, hcl.Diagnostics) {
	if attr == nil {
		return "", nil
	}
	v, diags := e.eval(attr.Expr)
	if diags.HasErrors() {
		return "", diags
	}
	s, d := asString(v, attr.Expr.Range(), fmt.Sprintf("The %s argument", attr.Name))
	if d != nil {
		return "", append(diags, d)
	}
	return s, diags
}

// boolean evaluates an optional bool attribute.
func (e *evaluator) boolean(attr *hcl.Attribute) (bool, hcl.Diagnostics) {
	if attr == nil {
		return false, nil
	}
	v, diags := e.eval(attr.Expr)
	if diags.HasErrors() {
		return false, diags
	}
	rng := attr.Expr.Range()
	b, err := convert.Convert(v, cty.Bool)
	if err != nil || b.IsNull() {
		return false, append(diags, errDiag(&rng, "Invalid value", fmt.Sprintf("The %s argument must be true or false.", attr.Name)))
	}
	return b.True(), diags
}

// integer evaluates an optional whole-number attribute.
func (e *evaluator) integer(attr *hcl.Attribute) (int64, hcl.Diagnostics) {
	if attr == nil {
		return 0, nil
	}
	v, diags := e.eval(attr.Expr)
	if diags.HasErrors() {
		return 0, diags
	}
	rng := attr.Expr.Range()
	n, err := convert.Convert(v, cty.Number)
	if err != nil || n.IsNull() {
		return 0, append(diags, errDiag(&rng, "Invalid value", fmt.Sprintf("The %s argument must be a whole number.", attr.Name)))
	}
	bf := n.AsBigFloat()
	i, acc := bf.Int64()
	if acc != big.Exact || !bf.IsInt() {
		return 0, append(diags, errDiag(&rng, "Invalid value", fmt.Sprintf("The %s argument must be a whole number.", attr.Name)))
	}
	return i, diags
}

// list evaluates an optional list-of-strings attribute. When the expression
// is a literal list, each element is evaluated on its own so diagnostics
// point at the element. want, when set, is the block kind a bare reference
// must name (role.x where a role is expected).
func (e *evaluator) list(attr *hcl.Attribute, want string) ([]item, hcl.Diagnostics) {
	if attr == nil {
		return nil, nil
	}
	var diags hcl.Diagnostics
	what := fmt.Sprintf("Each element of %s", attr.Name)
	if tup, ok := attr.Expr.(*hclsyntax.TupleConsExpr); ok {
		out := make([]item, 0, len(tup.Exprs))
		for _, el := range tup.Exprs {
			rng := el.Range()
			if d := wrongKind(el, want); d != nil {
				diags = append(diags, d)
				continue
			}
			v, ds := e.eval(el)
			diags = append(diags, ds...)
			if ds.HasErrors() {
				continue
			}
			s, d := asString(v, rng, what)
			if d != nil {
				diags = append(diags, d)
				continue
			}
			out = append(out, item{s, rng})
		}
		return out, diags
	}
	v, diags := e.eval(attr.Expr)
	if diags.HasErrors() {
		return nil, diags
	}
	rng := attr.Expr.Range()
	ty := v.Type()
	if v.IsNull() || !(ty.IsListType() || ty.IsSetType() || ty.IsTupleType()) {
		return nil, append(diags, errDiag(&rng, "Invalid value", fmt.Sprintf("The %s argument must be a list of strings.", attr.Name)))
	}
	var out []item
	for it := v.ElementIterator(); it.Next(); {
		_, ev := it.Element()
		s, d := asString(ev, rng, what)
		if d != nil {
			return nil, append(diags, d)
		}
		out = append(out, item{s, rng})
	}
	return out, diags
}

// wrongKind reports a bare reference to a block of another kind than want.
func wrongKind(expr hcl.Expression, want string) *hcl.Diagnostic {
	st, ok := expr.(*hclsyntax.ScopeTraversalExpr)
	if !ok || want == "" {
		return nil
	}
	root := st.Traversal.RootName()
	for _, k := range blockKinds {
		if root == k && k != want {
			rng := st.Range()
			return errDiag(&rng, "Wrong kind of reference",
				fmt.Sprintf("This list names %ss, but the reference points at a %s. Use %s.NAME.", want, k, want))
		}
	}
	return nil
}

// stringMap evaluates an optional map-of-strings attribute.
func (e *evaluator) stringMap(attr *hcl.Attribute) (map[string]string, hcl.Diagnostics) {
	if attr == nil {
		return nil, nil
	}
	v, diags := e.eval(attr.Expr)
	if diags.HasErrors() {
		return nil, diags
	}
	rng := attr.Expr.Range()
	ty := v.Type()
	if v.IsNull() || !(ty.IsMapType() || ty.IsObjectType()) {
		return nil, append(diags, errDiag(&rng, "Invalid value", fmt.Sprintf("The %s argument must be a map of strings, such as { groups = \"oncall\" }.", attr.Name)))
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		s, d := asString(ev, rng, fmt.Sprintf("Each value of %s", attr.Name))
		if d != nil {
			return nil, append(diags, d)
		}
		out[k.AsString()] = s
	}
	return out, diags
}

// duration evaluates an optional duration attribute in seconds.
func (e *evaluator) duration(attr *hcl.Attribute) (int64, hcl.Diagnostics) {
	s, diags := e.str(attr)
	if attr == nil || diags.HasErrors() {
		return 0, diags
	}
	secs, err := parseDuration(s)
	if err != nil {
		rng := attr.Expr.Range()
		return 0, append(diags, errDiag(&rng, "Invalid duration",
			fmt.Sprintf("%q is not a duration: %s. Write a number and a unit: 30s, 10m, 1h, 90d or 2w (units may be combined, as in 1h30m).", s, err)))
	}
	return secs, diags
}

func values(items []item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Value
	}
	return out
}
