package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

var bundleSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "source", Required: true},
	{Name: "verification_key"},
	{Name: "key_id"},
	{Name: "verification_keys"},
	{Name: "poll"},
	{Name: "max_age"},
	{Name: "allow_rollback"},
	{Name: "max_size"},
}}

func decodeBundleBlock(ctx *hcl.EvalContext, block *hcl.Block) (Bundle, hcl.Diagnostics) {
	b := Bundle{DeclRange: block.DefRange, Poll: DefaultPoll, MaxAge: DefaultMaxAge, MaxSize: DefaultMaxSize}
	content, diags := block.Body.Content(bundleSchema)
	var d hcl.Diagnostics
	attrs := content.Attributes

	b.Source, d = stringAttr(ctx, attrs["source"])
	diags = append(diags, d...)
	if a := attrs["source"]; a != nil && !d.HasErrors() {
		if err := checkSource(b.Source); err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid bundle source",
				Detail:   fmt.Sprintf("%s. A source is file://path (watched for changes) or https://host/path (polled).", err),
				Subject:  a.Expr.Range().Ptr(),
			})
		}
	}

	single, multi := attrs["verification_key"], attrs["verification_keys"]
	switch {
	case single != nil && multi != nil:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Conflicting verification keys",
			Detail:   "Set verification_key (one key) or verification_keys (several keys by key id, for rotation), not both.",
			Subject:  multi.NameRange.Ptr(),
		})
	case single != nil:
		var path, kid string
		path, d = stringAttr(ctx, single)
		diags = append(diags, d...)
		kid, d = stringAttr(ctx, attrs["key_id"])
		diags = append(diags, d...)
		b.Keys = map[string]string{kid: path}
	case multi != nil:
		b.Keys, d = stringMapAttr(ctx, multi)
		diags = append(diags, d...)
		if a := attrs["key_id"]; a != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unexpected key_id",
				Detail:   "key_id names the single verification_key; with verification_keys the map keys are the key ids.",
				Subject:  a.NameRange.Ptr(),
			})
		}
	}
	if single == nil && multi == nil {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing verification key",
			Detail:   `The gateway activates only signed bundles. Set verification_key = "keys/bundle.pub" or verification_keys = { key_id = "path" }.`,
			Subject:  block.DefRange.Ptr(),
		})
	} else if b.Keys != nil && len(b.Keys) == 0 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing verification key",
			Detail:   "verification_keys is empty; name at least one key.",
			Subject:  multi.Expr.Range().Ptr(),
		})
	}

	var ok bool
	var dur time.Duration
	var timingBad bool
	if dur, ok, d = durationAttr(ctx, attrs["poll"]); ok {
		if dur < minPoll {
			d = append(d, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Poll interval too short",
				Detail:   fmt.Sprintf("poll must be at least %s so the source is not hammered; got %s.", minPoll, dur),
				Subject:  attrs["poll"].Expr.Range().Ptr(),
			})
		}
		b.Poll = dur
	}
	timingBad = d.HasErrors()
	diags = append(diags, d...)
	if dur, ok, d = durationAttr(ctx, attrs["max_age"]); ok {
		b.MaxAge = dur
	}
	timingBad = timingBad || d.HasErrors()
	diags = append(diags, d...)
	b.AllowRollback, d = boolAttr(ctx, attrs["allow_rollback"])
	diags = append(diags, d...)
	var n int64
	if n, ok, d = sizeAttr(ctx, attrs["max_size"]); ok {
		if n < 1024 {
			d = append(d, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Bundle size limit too small",
				Detail:   fmt.Sprintf("max_size must be at least 1KiB; got %d bytes.", n),
				Subject:  attrs["max_size"].Expr.Range().Ptr(),
			})
		}
		b.MaxSize = n
	}
	diags = append(diags, d...)
	if b.MaxAge != 0 && b.MaxAge < b.Poll && !timingBad {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "max_age shorter than poll",
			Detail:   fmt.Sprintf("max_age (%s) must be longer than poll (%s), or the gateway fails closed between two checks.", b.MaxAge, b.Poll),
			Subject:  attrs["max_age"].Expr.Range().Ptr(),
		})
	}
	return b, diags
}

// minPoll is the shortest accepted poll interval.
const minPoll = time.Second

func checkSource(s string) error {
	if p, ok := strings.CutPrefix(s, "file://"); ok {
		if p == "" {
			return fmt.Errorf("%q names no file", s)
		}
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	switch u.Scheme {
	case "https":
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("%q uses plain http, allowed only on loopback; use https", s)
		}
	default:
		return fmt.Errorf("%q has an unsupported scheme %q", s, u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("%q names no host", s)
	}
	return nil
}
