package policies

import (
	"embed"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed mandate/*.rego
var library embed.FS

// File is one Rego module of the library.
type File struct {
	// Path is the module's path inside a bundle ("mandate/postgres.rego").
	Path string
	Data []byte
}

// Files returns the library's modules sorted by path, without the Rego unit
// tests (*_test.rego), which stay out of bundles.
func Files() []File { return load(false) }

// TestFiles returns the Rego unit tests (*_test.rego) sorted by path.
func TestFiles() []File { return load(true) }

func load(tests bool) []File {
	var out []File
	// The embedded tree is fixed at build time; WalkDir cannot fail on it.
	_ = fs.WalkDir(library, "mandate", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".rego" {
			return err
		}
		if strings.HasSuffix(p, "_test.rego") != tests {
			return nil
		}
		b, err := library.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, File{Path: p, Data: b})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
