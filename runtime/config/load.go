package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var rootSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "state_dir"},
		{Name: "log_level"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "listen"},
		{Type: "api"},
		{Type: "tls"},
		{Type: "bundle"},
		{Type: "issuer", LabelNames: []string{"name"}},
		{Type: "store"},
	},
}

// Load reads and validates the configuration file at path. The Config is
// returned even with error diagnostics, as far as it could be decoded.
func Load(path string) (*Config, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read configuration file",
			Detail:   fmt.Sprintf("Reading %s: %s.", path, err),
		}}
	}
	return Parse(src, path)
}

// Parse decodes and validates configuration source; filename names it in
// diagnostics and its directory anchors relative paths.
func Parse(src []byte, filename string) (*Config, hcl.Diagnostics) {
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	dir, err := filepath.Abs(filepath.Dir(filename))
	if err != nil {
		dir = filepath.Dir(filename)
	}
	cfg := &Config{Dir: dir}
	ctx := evalContext(dir)
	content, moreDiags := file.Body.Content(rootSchema)
	diags = append(diags, moreDiags...)

	cfg.StateDir, moreDiags = stringAttr(ctx, content.Attributes["state_dir"])
	diags = append(diags, moreDiags...)
	cfg.LogLevel, moreDiags = stringAttr(ctx, content.Attributes["log_level"])
	diags = append(diags, moreDiags...)
	if a := content.Attributes["log_level"]; a != nil && !moreDiags.HasErrors() && !slices.Contains(logLevels, cfg.LogLevel) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid log level",
			Detail:   fmt.Sprintf("log_level is one of %s; got %q.", strings.Join(logLevels, ", "), cfg.LogLevel),
			Subject:  a.Expr.Range().Ptr(),
		})
		cfg.LogLevel = ""
	}

	seen := map[string]*hcl.Block{}
	var bundleSeen bool
	for _, block := range content.Blocks {
		if block.Type != "issuer" {
			if first, dup := seen[block.Type]; dup {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  fmt.Sprintf("Duplicate %s block", block.Type),
					Detail: fmt.Sprintf("A %s block was already declared at %s. Merge the two into one.",
						block.Type, first.DefRange),
					Subject: block.DefRange.Ptr(),
				})
				continue
			}
			seen[block.Type] = block
		}
		switch block.Type {
		case "listen":
			cfg.Listen, moreDiags = decodeListenBlock(ctx, block)
		case "api":
			cfg.API, moreDiags = decodeAPIBlock(ctx, block)
		case "tls":
			cfg.TLS, moreDiags = decodeTLSBlock(ctx, block)
		case "bundle":
			bundleSeen = true
			cfg.Bundle, moreDiags = decodeBundleBlock(ctx, block)
		case "issuer":
			var iss *Issuer
			iss, moreDiags = decodeIssuerBlock(ctx, block)
			for _, prev := range cfg.Issuers {
				if iss != nil && prev.Name == iss.Name {
					moreDiags = append(moreDiags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Duplicate issuer",
						Detail: fmt.Sprintf("An issuer named %q was already declared at %s. Issuer names must be unique.",
							iss.Name, prev.DeclRange),
						Subject: block.LabelRanges[0].Ptr(),
					})
					iss = nil
					break
				}
			}
			if iss != nil {
				cfg.Issuers = append(cfg.Issuers, iss)
			}
		case "store":
			cfg.Store, moreDiags = decodeStoreBlock(ctx, block)
		}
		diags = append(diags, moreDiags...)
	}
	if !bundleSeen {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing bundle block",
			Detail:   `The gateway needs a bundle block naming where its signed policy bundle comes from, for example bundle { source = "file://build/bundle.tar.gz" verification_key = "keys/bundle.pub" }.`,
			Subject:  file.Body.MissingItemRange().Ptr(),
		})
	}
	diags = append(diags, cfg.validate()...)
	sortDiags(diags)
	return cfg, diags
}

// sortDiags orders diagnostics by position so they read top to bottom;
// those without a subject come last.
func sortDiags(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a != nil && b == nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		case a.Start.Line != b.Start.Line:
			return a.Start.Line < b.Start.Line
		}
		return a.Start.Column < b.Start.Column
	})
}
