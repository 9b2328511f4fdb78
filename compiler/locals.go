package compiler

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// evalLocals evaluates every local value in dependency order, reporting
// cycles. Each local is evaluated once; a local that fails evaluates to an
// unknown value, so expressions using it are skipped rather than reported
// again.
func (e *evaluator) evalLocals() hcl.Diagnostics {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var diags hcl.Diagnostics
	var stack []string
	var visit func(a *hcl.Attribute)
	visit = func(a *hcl.Attribute) {
		state[a.Name] = visiting
		stack = append(stack, a.Name)
		defer func() { stack = stack[:len(stack)-1] }()
		for _, tr := range a.Expr.Variables() {
			if tr.RootName() != "local" || len(tr) < 2 {
				continue
			}
			at, ok := tr[1].(hcl.TraverseAttr)
			if !ok {
				continue
			}
			dep, ok := e.decls.locals[at.Name]
			if !ok {
				continue // reported by checkRefs
			}
			switch state[at.Name] {
			case visiting:
				rng := tr.SourceRange()
				diags = append(diags, errDiag(&rng, "Cyclic local value",
					fmt.Sprintf("local.%s refers back to itself through %s. Local values must not depend on themselves.", at.Name, cycleText(stack, at.Name))))
				state[a.Name] = done
				return
			case unvisited:
				visit(dep)
			}
		}
		if state[a.Name] == done {
			return
		}
		state[a.Name] = done
		v, ds := e.eval(a.Expr)
		diags = append(diags, ds...)
		if ds.HasErrors() {
			return
		}
		if valueCost(v) > maxValueCost {
			rng := a.Expr.Range()
			diags = append(diags, errDiag(&rng, "Value too large", fmt.Sprintf("A local value may be at most %d KiB.", maxValueCost>>10)))
			return
		}
		e.locals[a.Name] = v
	}
	for _, a := range e.decls.localOrder {
		if state[a.Name] == unvisited {
			visit(a)
		}
	}
	return diags
}

func cycleText(stack []string, to string) string {
	start := 0
	for i, s := range stack {
		if s == to {
			start = i
		}
	}
	parts := make([]string, 0, len(stack)-start+1)
	for _, s := range stack[start:] {
		parts = append(parts, "local."+s)
	}
	parts = append(parts, "local."+to)
	return strings.Join(parts, " -> ")
}
