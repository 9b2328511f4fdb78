package compiler

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/mandatehq/mandate/model"
)

// maxCommandLen caps one SSH command pattern.
const maxCommandLen = 4096

var postgresGrantSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "statements", Required: true},
	{Name: "tables"},
	{Name: "functions"},
	{Name: "masking"},
}}

var sshGrantSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "commands"},
	{Name: "interactive"},
}}

// grantRef is a grant's reference to its connection, kept for
// cross-reference checks.
type grantRef struct {
	Kind       string // postgres or ssh
	Connection string
	Range      hcl.Range // the label
	Masking    []item
}

// grants decodes the postgres and ssh blocks of a role or requestable block.
type grants struct {
	Postgres map[string]*model.PostgresGrant
	SSH      map[string]*model.SSHGrant
	Refs     []grantRef
}

func decodeGrants(e *evaluator, blocks hcl.Blocks) (grants, hcl.Diagnostics) {
	g := grants{Postgres: map[string]*model.PostgresGrant{}, SSH: map[string]*model.SSHGrant{}}
	var diags hcl.Diagnostics
	first := map[string]*hcl.Block{}
	for _, b := range blocks {
		if b.Type != "postgres" && b.Type != "ssh" {
			continue
		}
		name := b.Labels[0]
		lrng := b.LabelRanges[0]
		if f, ok := first[name]; ok {
			diags = append(diags, errDiag(&lrng, "Duplicate grant",
				fmt.Sprintf("Connection %q already has a grant block in this role at %s; a role holds one grant block per connection, so merge them.", name, f.DefRange.String())))
			continue
		}
		first[name] = b
		ref := grantRef{Kind: b.Type, Connection: name, Range: lrng}
		if b.Type == "postgres" {
			pg, masks, ds := decodePostgresGrant(e, b)
			diags = append(diags, ds...)
			g.Postgres[name] = pg
			ref.Masking = masks
		} else {
			sg, ds := decodeSSHGrant(e, b)
			diags = append(diags, ds...)
			g.SSH[name] = sg
		}
		g.Refs = append(g.Refs, ref)
	}
	return g, diags
}

func decodePostgresGrant(e *evaluator, b *hcl.Block) (*model.PostgresGrant, []item, hcl.Diagnostics) {
	pg := &model.PostgresGrant{Connection: b.Labels[0], Source: source(b.DefRange), Statements: []string{}, Tables: []string{}}
	content, diags := b.Body.Content(postgresGrantSchema)
	if content == nil {
		return pg, nil, diags
	}
	stmts, ds := e.list(content.Attributes["statements"], "")
	diags = append(diags, ds...)
	onlyCall := len(stmts) > 0
	for _, it := range stmts {
		if it.Value != "*" && !contains(model.StatementClasses, it.Value) {
			diags = append(diags, errDiag(&it.Range, "Unknown statement class",
				fmt.Sprintf("%q is not a statement class; use %s, or \"*\" for all.", it.Value, strings.Join(model.StatementClasses, ", "))))
		}
		if it.Value != "call" {
			onlyCall = false
		}
	}
	if a := content.Attributes["statements"]; a != nil && len(stmts) == 0 && !ds.HasErrors() {
		rng := a.Expr.Range()
		diags = append(diags, errDiag(&rng, "Empty statement list", "A postgres grant must allow at least one statement class."))
	}
	pg.Statements = sortedUniqueOr(values(stmts))
	tables, ds := e.list(content.Attributes["tables"], "")
	diags = append(diags, ds...)
	for _, it := range tables {
		if err := checkTablePattern(it.Value); err != nil {
			diags = append(diags, errDiag(&it.Range, "Invalid table pattern",
				fmt.Sprintf("%q is not a table pattern: %s. Write schema.table, with * as a wildcard (sales.*, *.*).", it.Value, err)))
		}
	}
	if content.Attributes["tables"] == nil && !onlyCall && len(stmts) > 0 {
		diags = append(diags, errDiag(&b.DefRange, "Missing tables",
			"A postgres grant needs tables = [\"schema.table\", ...] naming what its statements may touch (only a grant of call alone may omit them)."))
	}
	pg.Tables = sortedUniqueOr(values(tables))
	fns, ds := e.list(content.Attributes["functions"], "")
	diags = append(diags, ds...)
	for _, it := range fns {
		if !funcRE.MatchString(it.Value) {
			diags = append(diags, errDiag(&it.Range, "Invalid function name",
				fmt.Sprintf("%q is not a function name; write name or schema.name.", it.Value)))
		}
	}
	pg.Functions = sortedUnique(values(fns))
	masks, ds := e.list(content.Attributes["masking"], kindMasking)
	diags = append(diags, ds...)
	pg.Masking = sortedUnique(values(masks))
	return pg, masks, diags
}

func decodeSSHGrant(e *evaluator, b *hcl.Block) (*model.SSHGrant, hcl.Diagnostics) {
	sg := &model.SSHGrant{Connection: b.Labels[0], Source: source(b.DefRange), Commands: []string{}}
	content, diags := b.Body.Content(sshGrantSchema)
	if content == nil {
		return sg, diags
	}
	cmds, ds := e.list(content.Attributes["commands"], "")
	diags = append(diags, ds...)
	for _, it := range cmds {
		if strings.TrimSpace(it.Value) == "" || strings.ContainsAny(it.Value, "\n\r\x00") || len(it.Value) > maxCommandLen {
			diags = append(diags, errDiag(&it.Range, "Invalid command pattern",
				fmt.Sprintf("A command pattern is one non-empty line of at most %d characters; * matches any run of characters.", maxCommandLen)))
		}
	}
	sg.Commands = sortedUniqueOr(values(cmds))
	sg.Interactive, ds = e.boolean(content.Attributes["interactive"])
	diags = append(diags, ds...)
	if !diags.HasErrors() && len(sg.Commands) == 0 && !sg.Interactive {
		diags = append(diags, errDiag(&b.DefRange, "Empty SSH grant",
			"An ssh grant must allow commands = [...] or interactive = true."))
	}
	return sg, diags
}

// sortedUniqueOr is sortedUnique but never nil, for lists the model
// encodes as [] rather than omitting.
func sortedUniqueOr(in []string) []string {
	if out := sortedUnique(in); out != nil {
		return out
	}
	return []string{}
}
