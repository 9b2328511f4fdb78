package config

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
)

var storeSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "sqlite"}, {Name: "postgres"}, {Name: "durability"}, {Name: "retention"}, {Name: "keep_raw_statements"},
}}

func decodeStoreBlock(ctx *hcl.EvalContext, block *hcl.Block) (*Store, hcl.Diagnostics) {
	s := &Store{DeclRange: block.DefRange}
	content, diags := block.Body.Content(storeSchema)
	var d hcl.Diagnostics
	s.SQLite, d = stringAttr(ctx, content.Attributes["sqlite"])
	diags = append(diags, d...)
	s.Postgres, d = stringAttr(ctx, content.Attributes["postgres"])
	diags = append(diags, d...)
	if (s.SQLite == "") == (s.Postgres == "") && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Store needs exactly one backend",
			Detail:   `Set either sqlite = "state/mandate.db" (one gateway) or postgres = env("MANDATE_STORE_DSN") (several replicas sharing a record), not both and not neither.`,
			Subject:  block.DefRange.Ptr(),
		})
	}
	s.KeepRawStatements, d = boolAttr(ctx, content.Attributes["keep_raw_statements"])
	diags = append(diags, d...)
	s.Durability, d = stringAttr(ctx, content.Attributes["durability"])
	diags = append(diags, d...)
	if a := content.Attributes["durability"]; a != nil && !d.HasErrors() && s.Durability != "sync" && s.Durability != "async" {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid durability",
			Detail:   fmt.Sprintf("durability is \"sync\" (an event is stored before the statement runs) or \"async\"; got %q.", s.Durability),
			Subject:  a.Expr.Range().Ptr(),
		})
	}
	var ok bool
	s.Retention, ok, d = durationAttr(ctx, content.Attributes["retention"])
	diags = append(diags, d...)
	if a := content.Attributes["retention"]; ok && s.Retention < 24*time.Hour {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Retention too short",
			Detail:   fmt.Sprintf("retention must be at least one day (\"1d\"); got %q. Audit records are evidence; keep them as long as your reviews look back.", s.Retention),
			Subject:  a.Expr.Range().Ptr(),
		})
	}
	return s, diags
}
