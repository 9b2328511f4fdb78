package compiler

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// FormatResult is what FormatDir did to one file.
type FormatResult struct {
	// File is relative to the directory, with forward slashes.
	File string
	// Changed is set when the file was (or, in check mode, would be)
	// rewritten.
	Changed bool
}

// FormatDir formats every *.hcl file under dir in the canonical style (as
// terraform fmt does, with hclwrite.Format). With check set it writes
// nothing and only reports which files are not formatted. Files that do not
// parse are reported as diagnostics and left alone.
func FormatDir(dir string, check bool) ([]FormatResult, hcl.Diagnostics, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), ".hcl") && d.Type().IsRegular() {
			if len(paths) >= MaxFiles {
				return fmt.Errorf("more than %d .hcl files", MaxFiles)
			}
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("walking %s: %w", dir, err)
	}
	sort.Strings(paths)
	var results []FormatResult
	var diags hcl.Diagnostics
	for _, p := range paths {
		rel, _ := filepath.Rel(dir, p)
		name := filepath.ToSlash(rel)
		src, ds := readFile(p, name)
		diags = append(diags, ds...)
		if ds.HasErrors() {
			continue
		}
		if _, ds := parseFile(src, name); ds.HasErrors() {
			diags = append(diags, ds...)
			continue
		}
		out := hclwrite.Format(src)
		changed := !bytes.Equal(src, out)
		results = append(results, FormatResult{File: name, Changed: changed})
		if changed && !check {
			info, err := os.Stat(p)
			if err != nil {
				return results, diags, fmt.Errorf("formatting %s: %w", p, err)
			}
			if err := os.WriteFile(p, out, info.Mode().Perm()); err != nil {
				return results, diags, fmt.Errorf("formatting %s: %w", p, err)
			}
		}
	}
	return results, diags, nil
}
