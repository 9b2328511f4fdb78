package decision

import (
	"encoding/json"
	"fmt"

	"github.com/mandatehq/mandate/model"
)

// toDecision converts the entrypoint's value into a Decision and checks it
// is one of the three results.
func toDecision(v any) (model.Decision, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return model.Decision{}, fmt.Errorf("decision is %T, not an object", v)
	}
	var d model.Decision
	d.Result, _ = m["result"].(string)
	d.Reason, _ = m["reason"].(string)
	d.Role, _ = m["role"].(string)
	d.Grant, _ = m["grant"].(string)
	d.Hint, _ = m["hint"].(string)
	d.Requestable, _ = m["requestable"].(string)
	d.ReadOnly, _ = m["read_only"].(bool)
	d.Masking = stringList(m["masking"])
	d.Overdue = stringList(m["overdue"])
	if src, ok := m["source"].(map[string]any); ok {
		d.Source = &model.Source{File: str(src["file"]), Line: num(src["line"]), Column: num(src["column"])}
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

func stringList(v any) []string {
	arr, _ := v.([]any)
	if len(arr) == 0 {
		return nil
	}
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func num(v any) int {
	switch n := v.(type) {
	case json.Number:
		i, _ := n.Int64()
		return int(i)
	case float64:
		return int(n)
	case int:
		return n
	case int64:
		return int(n)
	}
	return 0
}
