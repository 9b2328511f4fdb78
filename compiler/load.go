package compiler

import (
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/mandatehq/mandate/model"
)

// Options control validation.
type Options struct {
	// Now is the time reviews are judged against; zero means time.Now().
	Now time.Time
	// FailOnOverdue turns overdue-review warnings into errors.
	FailOnOverdue bool
}

// Repo is a loaded policy repository.
type Repo struct {
	// Dir is the directory Load was given.
	Dir string
	// Policy is the compiled model; partial when Load reported errors.
	Policy *model.Policy
	// Files are the parsed files, keyed by the file name diagnostics use
	// (relative to Dir, forward slashes).
	Files map[string]*hcl.File
}

// config is the decoded repository before cross-reference checks.
type config struct {
	connections []*connection
	maskings    []*masking
	groups      []*group
	roles       []*role
	agents      []*agent
	byConn      map[string]*connection
	byMasking   map[string]*masking
	byGroup     map[string]*group
	byRole      map[string]*role
}

// Load reads every *.hcl file under dir, validates the repository and builds
// its model. It always returns a Repo (possibly partial) and every problem
// found, sorted by file and position.
func Load(dir string, opts Options) (*Repo, hcl.Diagnostics) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	repo := &Repo{Dir: dir, Files: map[string]*hcl.File{}}
	files, diags := loadDir(dir, repo.Files)
	return loadFiles(repo, files, diags, opts)
}

// loadSource loads one in-memory file as a whole repository; the fuzz
// target uses it to skip the filesystem.
func loadSource(name string, src []byte, opts Options) (*Repo, hcl.Diagnostics) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	repo := &Repo{Files: map[string]*hcl.File{}}
	if len(src) > MaxFileBytes {
		return loadFiles(repo, nil, hcl.Diagnostics{fileDiag(name, "File too large", "")}, opts)
	}
	f, diags := parseFile(src, name)
	var files []*hcl.File
	if f != nil {
		repo.Files[name] = f
		files = append(files, f)
	}
	return loadFiles(repo, files, diags, opts)
}

// loadFiles runs every step after parsing: declarations, variables and
// locals, block decoding, cross-reference checks and the model.
func loadFiles(repo *Repo, files []*hcl.File, diags hcl.Diagnostics, opts Options) (*Repo, hcl.Diagnostics) {
	decls, ds := declare(files)
	diags = append(diags, ds...)

	e := newEvaluator(decls)
	diags = append(diags, e.evalVariables()...)
	diags = append(diags, e.evalLocals()...)

	cfg := &config{
		byConn: map[string]*connection{}, byMasking: map[string]*masking{},
		byGroup: map[string]*group{}, byRole: map[string]*role{},
	}
	diags = append(diags, decodeBlocks(e, decls, cfg)...)
	diags = append(diags, validate(cfg, opts)...)
	repo.Policy = build(cfg)
	diags = dropConsequential(diags)
	sortDiagnostics(diags)
	return repo, diags
}

// sortDiagnostics orders diagnostics by file and position; diagnostics
// without a subject come first.
func sortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
}

// decodeBlocks decodes every named block, in parallel (the evaluator is
// read-only by now), and collects the results and diagnostics in
// declaration order so that the output is deterministic.
func decodeBlocks(e *evaluator, decls *declarations, cfg *config) hcl.Diagnostics {
	type job struct {
		kind  string
		block *hcl.Block
	}
	type result struct {
		v     any
		diags hcl.Diagnostics
	}
	var jobs []job
	for _, k := range []string{kindConnection, kindMasking, kindGroup, kindRole, kindAgent} {
		for _, b := range decls.list[k] {
			jobs = append(jobs, job{k, b})
		}
	}
	results := make([]result, len(jobs))
	var wg sync.WaitGroup
	var next atomic.Int64
	for range max(1, min(runtime.GOMAXPROCS(0), len(jobs)/64)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				j := jobs[i]
				var r result
				switch j.kind {
				case kindConnection:
					r.v, r.diags = decodeConnectionBlock(e, j.block)
				case kindMasking:
					r.v, r.diags = decodeMaskingBlock(e, j.block)
				case kindGroup:
					r.v, r.diags = decodeGroupBlock(e, j.block)
				case kindRole:
					r.v, r.diags = decodeRoleBlock(e, j.block)
				case kindAgent:
					r.v, r.diags = decodeAgentBlock(e, j.block)
				}
				results[i] = r
			}
		}()
	}
	wg.Wait()
	var diags hcl.Diagnostics
	for _, r := range results {
		diags = append(diags, r.diags...)
		switch v := r.v.(type) {
		case *connection:
			cfg.connections = append(cfg.connections, v)
			cfg.byConn[v.Name] = v
		case *masking:
			cfg.maskings = append(cfg.maskings, v)
			cfg.byMasking[v.Name] = v
		case *group:
			cfg.groups = append(cfg.groups, v)
			cfg.byGroup[v.Name] = v
		case *role:
			cfg.roles = append(cfg.roles, v)
			cfg.byRole[v.Name] = v
		case *agent:
			cfg.agents = append(cfg.agents, v)
		}
	}
	return diags
}
