package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// evalContext offers env("NAME") and file("path") to expressions, so secrets
// such as a store DSN stay out of the file. file() paths are relative to dir.
func evalContext(dir string) *hcl.EvalContext {
	return &hcl.EvalContext{Functions: map[string]function.Function{
		"env": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "name", Type: cty.String}},
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				name := args[0].AsString()
				v, ok := os.LookupEnv(name)
				if !ok {
					return cty.NilVal, fmt.Errorf("environment variable %s is not set", name)
				}
				return cty.StringVal(v), nil
			},
		}),
		"file": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "path", Type: cty.String}},
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				p := args[0].AsString()
				if !filepath.IsAbs(p) {
					p = filepath.Join(dir, p)
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return cty.NilVal, fmt.Errorf("reading %s: %w", p, err)
				}
				return cty.StringVal(strings.TrimRight(string(b), "\r\n")), nil
			},
		}),
	}}
}

func evalAttr(ctx *hcl.EvalContext, attr *hcl.Attribute, want cty.Type) (cty.Value, hcl.Diagnostics) {
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	if v.IsNull() || !v.IsWhollyKnown() {
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Missing value",
			Detail:   fmt.Sprintf("The argument %q needs a value.", attr.Name),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	if !v.Type().Equals(want) {
		var err error
		switch {
		case want == cty.String && v.Type().IsPrimitiveType():
			v, err = convertPrimitive(v, want)
		case want == cty.Bool && v.Type() == cty.String:
			v, err = convertPrimitive(v, want)
		default:
			err = fmt.Errorf("want %s, got %s", want.FriendlyName(), v.Type().FriendlyName())
		}
		if err != nil {
			return cty.NilVal, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Incorrect attribute value type",
				Detail:   fmt.Sprintf("Inappropriate value for %q: %s.", attr.Name, err),
				Subject:  attr.Expr.Range().Ptr(),
			}}
		}
	}
	return v, nil
}

func convertPrimitive(v cty.Value, want cty.Type) (cty.Value, error) {
	switch want {
	case cty.String:
		switch v.Type() {
		case cty.Number:
			return cty.StringVal(v.AsBigFloat().Text('f', -1)), nil
		case cty.Bool:
			return cty.StringVal(strconv.FormatBool(v.True())), nil
		}
	case cty.Bool:
		b, err := strconv.ParseBool(v.AsString())
		if err != nil {
			return cty.NilVal, fmt.Errorf("want bool, got %q", v.AsString())
		}
		return cty.BoolVal(b), nil
	}
	return cty.NilVal, fmt.Errorf("want %s, got %s", want.FriendlyName(), v.Type().FriendlyName())
}

// stringAttr returns "" for an absent attribute.
func stringAttr(ctx *hcl.EvalContext, attr *hcl.Attribute) (string, hcl.Diagnostics) {
	if attr == nil {
		return "", nil
	}
	v, diags := evalAttr(ctx, attr, cty.String)
	if diags.HasErrors() {
		return "", diags
	}
	return v.AsString(), nil
}

func boolAttr(ctx *hcl.EvalContext, attr *hcl.Attribute) (bool, hcl.Diagnostics) {
	if attr == nil {
		return false, nil
	}
	v, diags := evalAttr(ctx, attr, cty.Bool)
	if diags.HasErrors() {
		return false, diags
	}
	return v.True(), nil
}

// stringMapAttr decodes an object or map of strings.
func stringMapAttr(ctx *hcl.EvalContext, attr *hcl.Attribute) (map[string]string, hcl.Diagnostics) {
	if attr == nil {
		return nil, nil
	}
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	bad := hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Incorrect attribute value type",
		Detail:   fmt.Sprintf("The argument %q must be a map of strings, such as { key_id = \"path\" }.", attr.Name),
		Subject:  attr.Expr.Range().Ptr(),
	}}
	if v.IsNull() || !v.IsWhollyKnown() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		return nil, bad
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		if ev.IsNull() || ev.Type() != cty.String {
			return nil, bad
		}
		out[k.AsString()] = ev.AsString()
	}
	return out, nil
}

// durationAttr parses Go durations plus a "d" (24h) suffix: "10s", "24h", "400d".
func durationAttr(ctx *hcl.EvalContext, attr *hcl.Attribute) (time.Duration, bool, hcl.Diagnostics) {
	s, diags := stringAttr(ctx, attr)
	if attr == nil || diags.HasErrors() {
		return 0, false, diags
	}
	d, err := ParseDuration(s)
	if err != nil {
		return 0, false, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid duration",
			Detail:   fmt.Sprintf("The argument %q must be a duration such as \"10s\", \"24h\" or \"400d\": %s.", attr.Name, err),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	return d, true, nil
}

// ParseDuration accepts time.ParseDuration syntax and whole days ("400d").
func ParseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n < 0 || n > 100*365 {
			return 0, fmt.Errorf("%q is not a whole number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

var sizeUnits = map[string]int64{
	"": 1, "B": 1,
	"KB": 1000, "MB": 1000 * 1000, "GB": 1000 * 1000 * 1000,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
}

// ParseSize reads a byte size: "1024", "64MiB", "10MB".
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(s)
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	mult, ok := sizeUnits[unit]
	if !ok || num == "" {
		units := make([]string, 0, len(sizeUnits))
		for u := range sizeUnits {
			if u != "" {
				units = append(units, u)
			}
		}
		sort.Strings(units)
		return 0, fmt.Errorf("%q is not a size (a whole number with an optional unit: %s)", s, strings.Join(units, ", "))
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}

func sizeAttr(ctx *hcl.EvalContext, attr *hcl.Attribute) (int64, bool, hcl.Diagnostics) {
	s, diags := stringAttr(ctx, attr)
	if attr == nil || diags.HasErrors() {
		return 0, false, diags
	}
	n, err := ParseSize(s)
	if err != nil {
		return 0, false, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid size",
			Detail:   fmt.Sprintf("The argument %q must be a size such as \"64MiB\": %s.", attr.Name, err),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	return n, true, nil
}
