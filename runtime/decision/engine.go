package decision

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/mandatehq/mandate/compiler/bundle"
	"github.com/mandatehq/mandate/model"
)

// DefaultCacheSize is the number of decisions an Engine caches by default.
const DefaultCacheSize = 1 << 16

// Options tunes an Engine.
type Options struct {
	// CacheSize bounds the decision cache in entries; 0 means
	// DefaultCacheSize, a negative value disables the cache.
	CacheSize int
	// RegoOnly turns the fast path off, so that OPA evaluates every
	// uncached input (for tests and benchmarks that compare the two).
	RegoOnly bool
}

// Engine decides inputs against one bundle. Safe for concurrent use; it
// holds no goroutines and needs no Close.
type Engine struct {
	revision string
	policy   *model.Policy
	queries  map[string]rego.PreparedEvalQuery // by input kind
	// thresholds are the sorted review due times (due + grace) of every
	// role: how many lie before now is all a decision depends on in time.
	thresholds []int64
	cache      *cache
	ids        *idSource
	// fast decides the common inputs without OPA; nil when the bundle's
	// Rego is not this release's library (or Options.RegoOnly).
	fast *fastPath
}

var kinds = map[string]string{
	"postgres": model.EntrypointPostgres,
	"ssh":      model.EntrypointSSH,
	"session":  model.EntrypointSession,
}

// New compiles the bundle's Rego modules and prepares one query per
// entrypoint against its data. It does all the work of activating a bundle;
// Decide only evaluates.
func New(ctx context.Context, b *bundle.Loaded, opts Options) (*Engine, error) {
	if b == nil || b.Policy == nil {
		return nil, errors.New("creating decision engine: no bundle")
	}
	if b.Data == nil {
		return nil, errors.New("creating decision engine: bundle has no data")
	}
	store := inmem.NewFromASTObject(b.Data)
	compiler, err := compileModules(b)
	if err != nil {
		return nil, err
	}

	e := &Engine{
		revision: b.Revision,
		policy:   b.Policy,
		queries:  map[string]rego.PreparedEvalQuery{},
		cache:    newCache(opts.CacheSize),
		ids:      newIDSource(),
	}
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	defer store.Abort(ctx, txn)
	for kind, entry := range kinds {
		pq, err := rego.New(
			rego.Query(entry),
			rego.Compiler(compiler),
			rego.Store(store),
			rego.Transaction(txn),
		).PrepareForEval(ctx)
		if err != nil {
			return nil, fmt.Errorf("preparing %s: %w", entry, err)
		}
		e.queries[kind] = pq
	}
	for _, r := range b.Policy.Roles {
		if r.Review != nil {
			e.thresholds = append(e.thresholds, r.Review.DueUnix+r.Review.GraceSeconds)
		}
	}
	sort.Slice(e.thresholds, func(i, j int) bool { return e.thresholds[i] < e.thresholds[j] })
	if !opts.RegoOnly && stockLibrary(b) {
		e.fast = newFastPath(b.Policy)
	}
	return e, nil
}

// Revision is the bundle revision (policy commit) the engine decides with.
func (e *Engine) Revision() string { return e.revision }

// Policy is the compiled model of the engine's bundle. Callers must not
// modify it.
func (e *Engine) Policy() *model.Policy { return e.policy }

// Decide evaluates in. The decision always carries a fresh ID and the
// revision. On an error the decision is a deny with the reason, so a caller
// may use it as it is; the error is for logs. Decisions share their slices
// and Source with the cache: callers must not modify them.
func (e *Engine) Decide(ctx context.Context, in *model.Input) (model.Decision, error) {
	d, err := e.decide(ctx, in)
	d.ID = e.ids.next()
	d.Revision = e.revision
	return d, err
}

func (e *Engine) decide(ctx context.Context, in *model.Input) (model.Decision, error) {
	if in == nil {
		return denied("no input"), errors.New("deciding: nil input")
	}
	pq, ok := e.queries[in.Kind]
	if !ok {
		err := fmt.Errorf("deciding: unknown input kind %q", in.Kind)
		return denied(err.Error()), err
	}
	if err := ctx.Err(); err != nil {
		err = fmt.Errorf("deciding: %w", err)
		return denied(err.Error()), err
	}
	bucket := sort.Search(len(e.thresholds), func(i int) bool { return e.thresholds[i] >= in.NowUnix })
	key := cacheKey(in, bucket)
	if d, ok := e.cache.get(key); ok {
		return d, nil
	}
	if e.fast != nil {
		if d, ok := e.fast.decide(in); ok {
			e.cache.put(key, d)
			return d, nil
		}
	}
	// OPA would otherwise start a goroutine per evaluation to watch ctx and
	// allocate fresh metrics; AfterFunc registers a callback instead (none at
	// all for a context that cannot be cancelled).
	cancel := topdown.NewCancel()
	stop := context.AfterFunc(ctx, cancel.Cancel)
	rs, err := pq.Eval(ctx,
		rego.EvalParsedInput(inputValue(in)),
		rego.EvalExternalCancel(cancel),
		rego.EvalMetrics(metrics.NoOp()),
		rego.EvalGenerateJSON(keepTerm),
	)
	stop()
	if err != nil {
		err = fmt.Errorf("evaluating %s: %w", kinds[in.Kind], err)
		return denied(err.Error()), err
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		err := fmt.Errorf("evaluating %s: undefined result", kinds[in.Kind])
		return denied(err.Error()), err
	}
	d, err := toDecision(rs[0].Expressions[0].Value)
	if err != nil {
		err = fmt.Errorf("reading the result of %s: %w", kinds[in.Kind], err)
		return denied(err.Error()), err
	}
	e.cache.put(key, d)
	return d, nil
}

func denied(reason string) model.Decision {
	return model.Decision{Result: model.Deny, Reason: "policy evaluation failed, denied (fail closed): " + reason}
}
