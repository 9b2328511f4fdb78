package compiler

import (
	"fmt"
	"regexp"

	"github.com/hashicorp/hcl/v2"
	"github.com/mandatehq/mandate/model"
)

// MaskingMethods are the ways a value can be masked.
var MaskingMethods = []string{"redact", "partial", "hash", "null", "email"}

// Detectors are the built-in content detectors; a detector block with a
// pattern argument defines a custom one under any other name.
var Detectors = []string{"credit_card", "email", "us_ssn", "iban", "api_key"}

// maxPatternLen caps custom detector expressions.
const maxPatternLen = 4096

type masking struct {
	model.Masking
	DeclRange hcl.Range
}

var maskingSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "hash_key"}, {Name: "description"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "column", LabelNames: []string{"name"}},
		{Type: "detector", LabelNames: []string{"name"}},
	},
}

var columnSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "method", Required: true},
	{Name: "allow_filter"},
}}

var detectorSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "method", Required: true},
	{Name: "pattern"},
}}

func decodeMaskingBlock(e *evaluator, b *hcl.Block) (*masking, hcl.Diagnostics) {
	m := &masking{DeclRange: b.DefRange}
	m.Name = b.Labels[0]
	m.Source = source(b.DefRange)
	m.Columns = []*model.ColumnRule{}
	m.Detectors = []*model.DetectorRule{}
	content, diags := b.Body.Content(maskingSchema)
	if content == nil {
		return m, diags
	}
	var ds hcl.Diagnostics
	m.HashKey, ds = e.secretRef(content.Attributes["hash_key"])
	diags = append(diags, ds...)
	_, ds = e.str(content.Attributes["description"])
	diags = append(diags, ds...)
	seen := map[string]*hcl.Block{}
	var hashUse *hcl.Range
	for _, blk := range content.Blocks {
		key := blk.Type + " " + blk.Labels[0]
		lrng := blk.LabelRanges[0]
		if first, ok := seen[key]; ok {
			diags = append(diags, errDiag(&lrng, "Duplicate "+blk.Type+" rule",
				fmt.Sprintf("This masking already has a %s rule %q at %s; merge them.", blk.Type, blk.Labels[0], first.DefRange.String())))
			continue
		}
		seen[key] = blk
		var method string
		var mrng *hcl.Range
		switch blk.Type {
		case "column":
			r, rng, ds := decodeColumnRule(e, blk)
			diags = append(diags, ds...)
			if r != nil {
				m.Columns = append(m.Columns, r)
				method, mrng = r.Method, rng
			}
		case "detector":
			r, rng, ds := decodeDetectorRule(e, blk)
			diags = append(diags, ds...)
			if r != nil {
				m.Detectors = append(m.Detectors, r)
				method, mrng = r.Method, rng
			}
		}
		if method == "hash" && hashUse == nil {
			hashUse = mrng
		}
	}
	if hashUse != nil && content.Attributes["hash_key"] == nil {
		diags = append(diags, errDiag(hashUse, "Missing hash key",
			"The hash method is a keyed HMAC; add hash_key = env(\"VARIABLE\") or file(\"path\") to this masking block."))
	}
	return m, diags
}

// decodeMethod reads and checks the method argument.
func decodeMethod(e *evaluator, a *hcl.Attribute) (string, *hcl.Range, hcl.Diagnostics) {
	method, diags := e.str(a)
	if a == nil || diags.HasErrors() {
		return "", nil, diags
	}
	rng := a.Expr.Range()
	if !contains(MaskingMethods, method) {
		diags = append(diags, errDiag(&rng, "Unknown masking method",
			fmt.Sprintf("%q is not a masking method; use one of redact, partial, hash, null or email.", method)))
	}
	return method, &rng, diags
}

func decodeColumnRule(e *evaluator, b *hcl.Block) (*model.ColumnRule, *hcl.Range, hcl.Diagnostics) {
	r := &model.ColumnRule{Column: b.Labels[0], Source: source(b.DefRange)}
	var diags hcl.Diagnostics
	if err := checkColumnName(r.Column); err != nil {
		rng := b.LabelRanges[0]
		diags = append(diags, errDiag(&rng, "Invalid column name",
			fmt.Sprintf("%q is not a column name: %s. Write schema.table.column, for example public.customers.email.", r.Column, err)))
	}
	content, ds := b.Body.Content(columnSchema)
	diags = append(diags, ds...)
	if content == nil {
		return r, nil, diags
	}
	var mrng *hcl.Range
	r.Method, mrng, ds = decodeMethod(e, content.Attributes["method"])
	diags = append(diags, ds...)
	r.AllowFilter, ds = e.boolean(content.Attributes["allow_filter"])
	diags = append(diags, ds...)
	return r, mrng, diags
}

func decodeDetectorRule(e *evaluator, b *hcl.Block) (*model.DetectorRule, *hcl.Range, hcl.Diagnostics) {
	r := &model.DetectorRule{Name: b.Labels[0], Source: source(b.DefRange)}
	content, diags := b.Body.Content(detectorSchema)
	if content == nil {
		return r, nil, diags
	}
	var mrng *hcl.Range
	var ds hcl.Diagnostics
	r.Method, mrng, ds = decodeMethod(e, content.Attributes["method"])
	diags = append(diags, ds...)
	builtin := contains(Detectors, r.Name)
	pa := content.Attributes["pattern"]
	lrng := b.LabelRanges[0]
	switch {
	case pa == nil && builtin:
		r.Detector = r.Name
	case pa == nil:
		diags = append(diags, errDiag(&lrng, "Unknown detector",
			fmt.Sprintf("%q is not a built-in detector (credit_card, email, us_ssn, iban, api_key). To define your own, add pattern = \"RE2 expression\".", r.Name)))
	case builtin:
		rng := pa.NameRange
		diags = append(diags, errDiag(&rng, "Pattern on a built-in detector",
			fmt.Sprintf("%q is a built-in detector and takes no pattern; give the custom detector another name.", r.Name)))
	default:
		r.Detector = "pattern"
		p, ds := e.str(pa)
		diags = append(diags, ds...)
		if ds.HasErrors() {
			break
		}
		r.Pattern = p
		rng := pa.Expr.Range()
		if len(p) == 0 || len(p) > maxPatternLen {
			diags = append(diags, errDiag(&rng, "Invalid detector pattern", fmt.Sprintf("A pattern must be between 1 and %d characters.", maxPatternLen)))
		} else if _, err := regexp.Compile(p); err != nil {
			diags = append(diags, errDiag(&rng, "Invalid detector pattern",
				fmt.Sprintf("The pattern is not a valid RE2 regular expression: %s.", err)))
		}
	}
	return r, mrng, diags
}
