package compiler

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Evaluation budget: an expression whose estimated result exceeds
// maxExprCost (about bytes) is refused before it is evaluated, and the whole
// repository may spend at most maxTotalCost.
const (
	maxExprCost  = 16 << 20
	maxTotalCost = 256 << 20
	maxValueCost = 1 << 20
)

// cost estimates the size of what evaluating expr may materialise, so that
// hostile expressions are refused before they run.
func (e *evaluator) cost(expr hcl.Expression) int64 {
	c := e.costN(expr, 0)
	if c < 0 || c > maxExprCost*4 {
		return maxExprCost * 4
	}
	return c
}

func (e *evaluator) costN(expr hcl.Expression, depth int) int64 {
	if depth > 2*MaxNesting {
		return maxExprCost * 4
	}
	sum := func(es ...hcl.Expression) int64 {
		var t int64
		for _, x := range es {
			if x != nil {
				t = capAdd(t, e.costN(x, depth+1))
			}
		}
		return t
	}
	switch x := expr.(type) {
	case *hclsyntax.LiteralValueExpr:
		return valueCost(x.Val)
	case *hclsyntax.TemplateExpr:
		return 16 + sum(exprs(x.Parts)...)
	case *hclsyntax.ScopeTraversalExpr:
		return 16 + e.traversalCost(x.Traversal)
	case *hclsyntax.RelativeTraversalExpr:
		return sum(x.Source)
	case *hclsyntax.FunctionCallExpr:
		return 2 * (16 + sum(exprs(x.Args)...))
	case *hclsyntax.ConditionalExpr:
		return sum(x.Condition, x.TrueResult, x.FalseResult)
	case *hclsyntax.IndexExpr:
		return sum(x.Collection, x.Key)
	case *hclsyntax.TupleConsExpr:
		return 16 + sum(exprs(x.Exprs)...)
	case *hclsyntax.ObjectConsExpr:
		t := int64(16)
		for _, it := range x.Items {
			t = capAdd(t, sum(it.KeyExpr, it.ValueExpr))
		}
		return t
	case *hclsyntax.ObjectConsKeyExpr:
		return sum(x.Wrapped)
	case *hclsyntax.TemplateWrapExpr:
		return sum(x.Wrapped)
	case *hclsyntax.TemplateJoinExpr:
		return sum(x.Tuple)
	case *hclsyntax.ParenthesesExpr:
		return sum(x.Expression)
	case *hclsyntax.BinaryOpExpr:
		return sum(x.LHS, x.RHS)
	case *hclsyntax.UnaryOpExpr:
		return sum(x.Val)
	case *hclsyntax.ForExpr:
		coll := sum(x.CollExpr)
		return capAdd(coll, capMul(coll, 16+sum(x.KeyExpr, x.ValExpr, x.CondExpr)))
	case *hclsyntax.SplatExpr:
		src := sum(x.Source)
		return capAdd(src, capMul(src, 16+sum(x.Each)))
	}
	return 16
}

func exprs(in []hclsyntax.Expression) []hcl.Expression {
	out := make([]hcl.Expression, len(in))
	for i, x := range in {
		out[i] = x
	}
	return out
}

func (e *evaluator) traversalCost(tr hcl.Traversal) int64 {
	if len(tr) < 2 {
		return 16
	}
	a, ok := tr[1].(hcl.TraverseAttr)
	if !ok {
		return 16
	}
	switch tr.RootName() {
	case "var":
		return valueCost(e.vars[a.Name])
	case "local":
		return valueCost(e.locals[a.Name])
	}
	return int64(len(a.Name)) + 16
}

func capAdd(a, b int64) int64 {
	if a+b < 0 || a+b > maxExprCost*4 {
		return maxExprCost * 4
	}
	return a + b
}

func capMul(a, b int64) int64 {
	if a != 0 && (b > (maxExprCost*4)/a) {
		return maxExprCost * 4
	}
	return a * b
}

// valueCost approximates the memory a value takes, stopping early once it
// passes the largest accepted expression.
func valueCost(v cty.Value) int64 {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return 16
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return 16 + int64(len(v.AsString()))
	case ty.IsPrimitiveType():
		return 16
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType() || ty.IsMapType() || ty.IsObjectType():
		t := int64(16)
		for it := v.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			t = capAdd(t, valueCost(k)+valueCost(ev))
			if t >= maxExprCost*4 {
				break
			}
		}
		return t
	}
	return 16
}
