package compiler

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
)

// loadDir finds and parses every *.hcl file under dir (hidden directories
// skipped), in lexical order of their relative paths. Parsed files are
// stored in files under their diagnostic names.
func loadDir(dir string, files map[string]*hcl.File) ([]*hcl.File, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	st, err := os.Stat(dir)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Failed to read policy directory",
			Detail: fmt.Sprintf("The directory %s could not be read: %s.", dir, err)}}
	}
	if !st.IsDir() {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Not a directory",
			Detail: fmt.Sprintf("%s is not a directory; pass the policy repository's directory.", dir)}}
	}
	type entry struct {
		path, name string
		size       int64
	}
	var entries []entry
	tooMany := false
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			rel, _ := filepath.Rel(dir, path)
			diags = append(diags, fileDiag(filepath.ToSlash(rel), "Failed to read file", fmt.Sprintf("The path could not be read: %s.", err)))
			return nil
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".hcl") || !d.Type().IsRegular() {
			return nil
		}
		if len(entries) >= MaxFiles {
			tooMany = true
			return filepath.SkipAll
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			rel = path
		}
		var size int64
		if info, err := d.Info(); err == nil {
			size = info.Size()
		}
		entries = append(entries, entry{path, filepath.ToSlash(rel), size})
		return nil
	})
	if err != nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Failed to read policy directory",
			Detail: fmt.Sprintf("Walking %s failed: %s.", dir, err)})
	}
	if tooMany {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Too many files",
			Detail: fmt.Sprintf("A policy repository may hold at most %d .hcl files; the rest were not read.", MaxFiles)})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	// Enforce the total size cap first, then read and parse the accepted
	// files in parallel; results are kept in path order.
	var total int64
	accepted := entries
	for i, en := range entries {
		total += min(en.size, MaxFileBytes+1)
		if total > MaxTotalBytes {
			diags = append(diags, fileDiag(en.name, "Repository too large",
				fmt.Sprintf("The policy files together exceed %d MiB; this file and the rest were not read.", MaxTotalBytes>>20)))
			accepted = entries[:i]
			break
		}
	}
	type result struct {
		file  *hcl.File
		diags hcl.Diagnostics
	}
	results := make([]result, len(accepted))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), len(accepted)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				en := accepted[i]
				src, ds := readFile(en.path, en.name)
				if ds.HasErrors() {
					results[i] = result{nil, ds}
					continue
				}
				f, pds := parseFile(src, en.name)
				results[i] = result{f, append(ds, pds...)}
			}
		}()
	}
	for i := range accepted {
		next <- i
	}
	close(next)
	wg.Wait()
	var out []*hcl.File
	for i, r := range results {
		diags = append(diags, r.diags...)
		if r.file == nil {
			continue
		}
		files[accepted[i].name] = r.file
		out = append(out, r.file)
	}
	if len(entries) == 0 && !tooMany {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "No policy files",
			Detail: fmt.Sprintf("%s holds no .hcl files.", dir)})
	}
	return out, diags
}
