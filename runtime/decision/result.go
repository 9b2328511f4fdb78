package decision

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/mandatehq/mandate/model"
)

// keepTerm hands the entrypoint's value to the caller as the *ast.Term OPA
// produced, instead of converting it to map[string]any first; toDecision
// reads it directly.
func keepTerm(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }

var (
	keyResult      = ast.InternedTerm("result")
	keyReason      = ast.InternedTerm("reason")
	keyRole        = ast.InternedTerm("role")
	keyGrant       = ast.InternedTerm("grant")
	keyHint        = ast.InternedTerm("hint")
	keyRequestable = ast.InternedTerm("requestable")
	keyReadOnly    = ast.InternedTerm("read_only")
	keyMasking     = ast.InternedTerm("masking")
	keyOverdue     = ast.InternedTerm("overdue")
	keySource      = ast.InternedTerm("source")
	keyFile        = ast.InternedTerm("file")
	keyLine        = ast.InternedTerm("line")
	keyColumn      = ast.InternedTerm("column")
)

// toDecision converts the entrypoint's value (an *ast.Term from keepTerm)
// into a Decision and checks it is one of the three results.
func toDecision(v any) (model.Decision, error) {
	t, ok := v.(*ast.Term)
	if !ok {
		return model.Decision{}, fmt.Errorf("decision is %T, not a term", v)
	}
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return model.Decision{}, fmt.Errorf("decision is %s, not an object", ast.ValueName(t.Value))
	}
	var d model.Decision
	d.Result = str(obj, keyResult)
	d.Reason = str(obj, keyReason)
	d.Role = str(obj, keyRole)
	d.Grant = str(obj, keyGrant)
	d.Hint = str(obj, keyHint)
	d.Requestable = str(obj, keyRequestable)
	if b := obj.Get(keyReadOnly); b != nil {
		ro, _ := b.Value.(ast.Boolean)
		d.ReadOnly = bool(ro)
	}
	d.Masking = stringList(obj.Get(keyMasking))
	d.Overdue = stringList(obj.Get(keyOverdue))
	if s := obj.Get(keySource); s != nil {
		if src, ok := s.Value.(ast.Object); ok {
			d.Source = &model.Source{File: str(src, keyFile), Line: num(src, keyLine), Column: num(src, keyColumn)}
		}
	}
	switch d.Result {
	case model.Allow, model.Deny, model.NeedsApproval:
	default:
		return model.Decision{}, fmt.Errorf("decision has result %q", d.Result)
	}
	if d.Reason == "" {
		return model.Decision{}, fmt.Errorf("decision %s has no reason", d.Result)
	}
	return d, nil
}

func str(obj ast.Object, key *ast.Term) string {
	if t := obj.Get(key); t != nil {
		if s, ok := t.Value.(ast.String); ok {
			return string(s)
		}
	}
	return ""
}

func num(obj ast.Object, key *ast.Term) int {
	if t := obj.Get(key); t != nil {
		if n, ok := t.Value.(ast.Number); ok {
			if i, ok := n.Int(); ok {
				return i
			}
		}
	}
	return 0
}

// stringList reads an array (or a set) of strings; anything else is nil.
func stringList(t *ast.Term) []string {
	if t == nil {
		return nil
	}
	var out []string
	add := func(x *ast.Term) {
		if s, ok := x.Value.(ast.String); ok {
			out = append(out, string(s))
		}
	}
	switch v := t.Value.(type) {
	case *ast.Array:
		if v.Len() == 0 {
			return nil
		}
		out = make([]string, 0, v.Len())
		v.Foreach(add)
	case ast.Set:
		v.Foreach(add)
	}
	return out
}
