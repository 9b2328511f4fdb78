package compiler

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// topSchema is the schema of a policy file's top level.
var topSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: kindConnection, LabelNames: []string{"name"}},
	{Type: kindMasking, LabelNames: []string{"name"}},
	{Type: kindGroup, LabelNames: []string{"name"}},
	{Type: kindRole, LabelNames: []string{"name"}},
	{Type: kindAgent, LabelNames: []string{"name"}},
	{Type: kindVariable, LabelNames: []string{"name"}},
	{Type: "locals"},
}}

// MaxLocals caps the number of local values and of variables.
const MaxLocals = 10000

// declarations are the named top-level blocks of a repository.
type declarations struct {
	// blocks maps kind -> name -> the first block declaring it.
	blocks map[string]map[string]*hcl.Block
	// list holds the first declarations per kind in file and position order.
	list map[string][]*hcl.Block
	// variables is blocks["variable"].
	variables map[string]*hcl.Block
	// locals maps each local value's name to its attribute.
	locals     map[string]*hcl.Attribute
	localOrder []*hcl.Attribute
}

// declare reads the top level of every file and records its declarations,
// reporting duplicates against the first declaration.
func declare(files []*hcl.File) (*declarations, hcl.Diagnostics) {
	d := &declarations{
		blocks: map[string]map[string]*hcl.Block{},
		list:   map[string][]*hcl.Block{},
		locals: map[string]*hcl.Attribute{},
	}
	for _, k := range append(blockKinds, kindVariable) {
		d.blocks[k] = map[string]*hcl.Block{}
	}
	d.variables = d.blocks[kindVariable]
	var diags hcl.Diagnostics
	for _, f := range files {
		content, ds := f.Body.Content(topSchema)
		diags = append(diags, ds...)
		if content == nil {
			continue
		}
		for _, b := range content.Blocks {
			if b.Type == "locals" {
				diags = append(diags, d.declareLocals(b)...)
				continue
			}
			name := b.Labels[0]
			rng := b.LabelRanges[0]
			if !nameRE.MatchString(name) {
				diags = append(diags, errDiag(&rng, "Invalid name",
					fmt.Sprintf("%q is not a valid %s name. Names start with a letter or underscore and contain only letters, digits, underscores and dashes (at most 128 characters).", name, b.Type)))
				continue
			}
			if first, ok := d.blocks[b.Type][name]; ok {
				diags = append(diags, errDiag(&rng, "Duplicate "+b.Type,
					fmt.Sprintf("A %s named %q was already declared at %s. Each %s name must be unique; rename or remove one of them.",
						b.Type, name, first.DefRange.String(), b.Type)))
				continue
			}
			if b.Type == kindVariable && len(d.variables) >= MaxLocals {
				diags = append(diags, errDiag(&rng, "Too many variables", fmt.Sprintf("A repository may declare at most %d variables.", MaxLocals)))
				continue
			}
			d.blocks[b.Type][name] = b
			d.list[b.Type] = append(d.list[b.Type], b)
		}
	}
	return d, diags
}

func (d *declarations) declareLocals(b *hcl.Block) hcl.Diagnostics {
	attrs, diags := b.Body.JustAttributes()
	// JustAttributes returns a map; restore source order.
	ordered := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		ordered = append(ordered, a)
	}
	sortAttrs(ordered)
	for _, a := range ordered {
		if first, ok := d.locals[a.Name]; ok {
			rng := a.NameRange
			diags = append(diags, errDiag(&rng, "Duplicate local value",
				fmt.Sprintf("A local value named %q was already declared at %s. Each local value name must be unique.", a.Name, first.NameRange.String())))
			continue
		}
		if len(d.locals) >= MaxLocals {
			rng := a.NameRange
			diags = append(diags, errDiag(&rng, "Too many local values", fmt.Sprintf("A repository may declare at most %d local values.", MaxLocals)))
			break
		}
		d.locals[a.Name] = a
		d.localOrder = append(d.localOrder, a)
	}
	return diags
}
