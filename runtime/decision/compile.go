package decision

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/mandatehq/mandate/compiler/bundle"
)

// compiled caches the compiler of the last Rego library seen, keyed by a
// digest of its modules: every bundle of one mandate release carries the
// same library, so activating a new policy revision reuses the compiled
// modules and only prepares queries against the new data. A compiled
// ast.Compiler is read-only during evaluation and safe to share between
// engines.
var compiled struct {
	mu       sync.Mutex
	key      [sha256.Size]byte
	compiler *ast.Compiler
}

// compileModules compiles the bundle's modules, or returns the cached
// compiler when they are the same as last time.
func compileModules(b *bundle.Loaded) (*ast.Compiler, error) {
	key, cacheable := modulesKey(b)
	compiled.mu.Lock()
	defer compiled.mu.Unlock()
	if cacheable && compiled.compiler != nil && compiled.key == key {
		return compiled.compiler, nil
	}
	compiler := ast.NewCompiler().WithDefaultRegoVersion(ast.RegoV1)
	modules := make(map[string]*ast.Module, len(b.Modules))
	for path, m := range b.Modules {
		modules[path] = m.Copy()
	}
	if compiler.Compile(modules); compiler.Failed() {
		return nil, fmt.Errorf("compiling bundle policies: %w", compiler.Errors)
	}
	if cacheable {
		compiled.key, compiled.compiler = key, compiler
	}
	return compiler, nil
}

// modulesKey digests the paths and verified SHA-256 digests of the bundle's
// Rego files. It reports false, caching nothing, unless every module has
// its file summary (a Loaded built by hand may lack them).
func modulesKey(b *bundle.Loaded) ([sha256.Size]byte, bool) {
	var k [sha256.Size]byte
	h := sha256.New()
	n := 0
	for _, f := range b.Files { // sorted by path
		if !strings.HasSuffix(f.Path, ".rego") {
			continue
		}
		if _, ok := b.Modules[f.Path]; !ok {
			return k, false
		}
		n++
		fmt.Fprintf(h, "%d:%s %s\n", len(f.Path), f.Path, f.SHA256)
	}
	if n == 0 || n != len(b.Modules) {
		return k, false
	}
	h.Sum(k[:0])
	return k, true
}
