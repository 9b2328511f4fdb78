package review

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Manual is a proposal that could not be written as an edit, such as a
// list built from a local value; the report lists it for a human.
type Manual struct {
	Proposal Proposal `json:"proposal"`
	Why      string   `json:"why"`
}

// Edits is the result of applying one role's proposals.
type Edits struct {
	// Files are the new contents of the files that changed, keyed by path
	// relative to the policy directory (forward slashes).
	Files  map[string][]byte `json:"-"`
	Manual []Manual          `json:"manual,omitempty"`
}

// EditFile applies proposals to one HCL file's bytes with hclwrite: list
// elements are removed or replaced token by token and blocks are removed
// whole, so comments and layout elsewhere are kept byte for byte.
func EditFile(src []byte, filename string, props []Proposal) ([]byte, []Manual, error) {
	f, diags := hclwrite.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, nil, fmt.Errorf("parsing %s: %w", filename, diags)
	}
	var manual []Manual
	var removals []Proposal
	lists := map[listTarget][]Proposal{}
	var targets []listTarget
	for _, p := range props {
		switch p.Kind {
		case RemoveGrant, RemoveAgent:
			removals = append(removals, p)
		case SetLastReviewed:
			body := findBody(f.Body(), "role", p.Role, "review")
			if body == nil || body.GetAttribute("last_reviewed") == nil {
				manual = append(manual, Manual{p, "no last_reviewed attribute in the role's review block"})
				continue
			}
			body.SetAttributeRaw("last_reviewed", withSpace(hclwrite.TokensForValue(cty.StringVal(p.Value)),
				body.GetAttribute("last_reviewed").Expr().BuildTokens(nil)))
		default:
			t, ok := targetOf(p)
			if !ok {
				return nil, nil, fmt.Errorf("editing %s: unknown proposal kind %q", filename, p.Kind)
			}
			if _, seen := lists[t]; !seen {
				targets = append(targets, t)
			}
			lists[t] = append(lists[t], p)
		}
	}
	for _, t := range targets {
		manual = append(manual, editList(f.Body(), t, lists[t])...)
	}
	out := f.BuildTokens(nil).Bytes()
	for _, p := range removals {
		next, ok, err := removeBlock(out, filename, p)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			manual = append(manual, Manual{p, "the block was not found in " + filename})
			continue
		}
		out = next
	}
	return out, manual, nil
}

// listTarget names one list attribute of one block.
type listTarget struct {
	blockType, label string // top-level block
	nested, nlabel   string // nested block, if any
	attr             string
}

func targetOf(p Proposal) (listTarget, bool) {
	switch p.Kind {
	case RemoveStatement, NarrowStatements:
		return listTarget{"role", p.Role, p.GrantKind, p.Connection, "statements"}, true
	case RemoveTable, NarrowTable:
		return listTarget{"role", p.Role, p.GrantKind, p.Connection, "tables"}, true
	case RemoveCommand:
		return listTarget{"role", p.Role, p.GrantKind, p.Connection, "commands"}, true
	case RemoveAgentRole:
		return listTarget{"agent", p.Agent, "", "", "roles"}, true
	}
	return listTarget{}, false
}

func editList(root *hclwrite.Body, t listTarget, props []Proposal) []Manual {
	fail := func(why string) []Manual {
		var m []Manual
		for _, p := range props {
			m = append(m, Manual{p, why})
		}
		return m
	}
	body := findBody(root, t.blockType, t.label, t.nested, t.nlabel)
	if body == nil {
		return fail(fmt.Sprintf("block %s %q was not found", t.blockType, t.label))
	}
	attr := body.GetAttribute(t.attr)
	if attr == nil {
		return fail(fmt.Sprintf("no %s attribute", t.attr))
	}
	toks := attr.Expr().BuildTokens(nil)
	list, ok := parseTuple(toks)
	if !ok {
		return fail(fmt.Sprintf("%s is not a list of literals; edit it by hand", t.attr))
	}
	applied := make([]bool, len(props))
	newToks, changed := list.edit(func(key string) []string {
		for i, p := range props {
			if sameElement(t.attr, key, p.Value) {
				applied[i] = true
				if p.Replacement != nil {
					return p.Replacement
				}
				return []string{}
			}
		}
		return nil
	})
	if changed {
		body.SetAttributeRaw(t.attr, newToks)
	}
	var manual []Manual
	for i, p := range props {
		if !applied[i] {
			manual = append(manual, Manual{p, fmt.Sprintf("%q is not a literal element of %s", p.Value, t.attr)})
		}
	}
	return manual
}

// sameElement compares a list element with a proposal's value the way the
// compiler does: statement classes and tables without case, an unqualified
// table as public's, a role by name or by reference.
func sameElement(attr, key, value string) bool {
	switch attr {
	case "statements":
		return strings.EqualFold(key, value)
	case "tables":
		return strings.EqualFold(qualify(key), qualify(value))
	case "roles":
		return strings.TrimPrefix(key, "role.") == value
	}
	return key == value
}

// findBody walks type/label pairs down from root.
func findBody(root *hclwrite.Body, path ...string) *hclwrite.Body {
	b := root
	for i := 0; i+1 < len(path); i += 2 {
		if path[i] == "" {
			break
		}
		var labels []string
		if path[i+1] != "" {
			labels = []string{path[i+1]}
		}
		blk := b.FirstMatchingBlock(path[i], labels)
		if blk == nil {
			return nil
		}
		b = blk.Body()
	}
	if len(path)%2 == 1 {
		blk := b.FirstMatchingBlock(path[len(path)-1], nil)
		if blk == nil {
			return nil
		}
		b = blk.Body()
	}
	return b
}

// withSpace gives new expression tokens the spacing after "=" that the old
// ones had.
func withSpace(toks, old hclwrite.Tokens) hclwrite.Tokens {
	if len(toks) > 0 && len(old) > 0 {
		toks[0].SpacesBefore = old[0].SpacesBefore
	}
	return toks
}

// blockPath is where a removed block lives.
func blockPath(p Proposal) []string {
	if p.Kind == RemoveAgent {
		return []string{"agent", p.Agent}
	}
	return []string{"role", p.Role, p.GrantKind, p.Connection}
}

// removeBlock removes a block (and the comments directly above it) with
// hclwrite, then tidies the blank lines at the seam: hclwrite keeps the
// separating newlines, which would leave two blank lines or a blank line
// before a closing brace.
func removeBlock(src []byte, filename string, p Proposal) ([]byte, bool, error) {
	f, diags := hclwrite.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, false, fmt.Errorf("parsing %s: %w", filename, diags)
	}
	path := blockPath(p)
	parent := findBody(f.Body(), path[:len(path)-2]...)
	if parent == nil {
		return nil, false, nil
	}
	blk := parent.FirstMatchingBlock(path[len(path)-2], []string{path[len(path)-1]})
	if blk == nil || !parent.RemoveBlock(blk) {
		return nil, false, nil
	}
	return tidySeam(src, f.BuildTokens(nil).Bytes()), true, nil
}

// tidySeam finds where lines were cut out of before to give after and
// removes a blank line that the cut left doubled or next to a brace.
func tidySeam(before, after []byte) []byte {
	a := strings.SplitAfter(string(before), "\n")
	b := strings.SplitAfter(string(after), "\n")
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	blank := func(k int) bool { return k >= 0 && k < len(b) && strings.TrimSpace(b[k]) == "" && b[k] != "" }
	opens := func(k int) bool { return k >= 0 && k < len(b) && strings.HasSuffix(strings.TrimSpace(b[k]), "{") }
	closes := func(k int) bool { return k >= 0 && k < len(b) && strings.HasPrefix(strings.TrimSpace(b[k]), "}") }
	switch {
	case blank(i-1) && (blank(i) || closes(i) || i == len(b) || (i == len(b)-1 && b[i] == "")):
		b = slices.Delete(b, i-1, i)
	case (opens(i-1) || i == 0) && blank(i):
		b = slices.Delete(b, i, i+1)
	}
	return []byte(strings.Join(b, ""))
}
