package pgsql

import (
	"container/list"
	"strings"
	"sync"
	"unicode/utf8"
)

// DefaultCacheEntries is the Analyzer cache size when none is given.
const DefaultCacheEntries = 4096

// maxCachedText is the longest query text the Analyzer caches.
const maxCachedText = 16 << 10

// Analyzer is Analyze with a bounded LRU cache, safe for concurrent use by
// every session of a gateway that shares one search path. It caches by exact
// text (the extended protocol, repeated simple queries) and, for a single
// SELECT/INSERT/UPDATE/DELETE/MERGE whose analysis does not depend on any
// literal, by shape: the text with its literal values left out (see
// shapeKey), so pgbench -S in simple mode (a new integer each time) parses
// once. Texts sharing a shape share Statement, Outputs, Writes, DecisionKey
// and Redacted: only literal values differ between them, and the analysis
// of a cached shape did not read any. The returned
// slice is the caller's, but the *Analyzed values in it are shared: callers
// must copy one before changing it.
type Analyzer struct {
	opts Options
	max  int

	mu    sync.Mutex
	lru   *list.List // of *cacheEntry, most recent first
	index map[cacheKey]*list.Element
}

// cacheKey is an exact text (shape false) or a shape key.
type cacheKey struct {
	shape bool
	s     string
}

type cacheEntry struct {
	key cacheKey
	res []*Analyzed
	// shape is set for entries keyed by shape: a hit re-texts the result.
	shape bool
}

// NewAnalyzer returns an Analyzer caching up to entries results (0:
// DefaultCacheEntries).
func NewAnalyzer(opts Options, entries int) *Analyzer {
	if entries <= 0 {
		entries = DefaultCacheEntries
	}
	return &Analyzer{opts: opts, max: entries, lru: list.New(), index: map[cacheKey]*list.Element{}}
}

// Analyze is the package Analyze through the cache.
func (z *Analyzer) Analyze(sql string) ([]*Analyzed, error) {
	if len(sql) > maxCachedText || strings.IndexByte(sql, 0) >= 0 || !utf8.ValidString(sql) {
		// Invalid UTF-8 fails the parse in a string literal too: such a
		// text must never share the shape of a valid one.
		return Analyze(sql, z.opts)
	}
	exact := cacheKey{s: sql}
	if res, ok := z.get(exact); ok {
		// A fresh slice: callers may replace its elements (the proxy swaps
		// in the resolution of an EXECUTE) without touching the cache.
		return append([]*Analyzed(nil), res...), nil
	}
	shape, text, shapeOK := shapeKey(sql)
	// A literal of growthUnit bytes or more weighs in the output-size
	// bound (growth.go), which a shorter one of the same shape does not:
	// such a text is not answered by shape.
	shapeOK = shapeOK && len(sql) < growthUnit
	if shapeOK {
		if res, ok := z.get(cacheKey{shape: true, s: shape}); ok {
			r := *res[0]
			r.Text = text
			return []*Analyzed{&r}, nil
		}
	}
	res, err := analyze(sql, z.opts)
	if err != nil {
		return nil, err
	}
	z.put(exact, res.out)
	if shapeOK && len(res.out) == 1 && !res.literalDependent[0] && shapeTags[res.out[0].Statement.Tag] &&
		literalFree(res.out[0].Redacted) {
		z.put(cacheKey{shape: true, s: shape}, res.out)
	}
	return append([]*Analyzed(nil), res.out...), nil
}

var shapeTags = map[string]bool{"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true, "MERGE": true}

func (z *Analyzer) get(key cacheKey) ([]*Analyzed, bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	el, ok := z.index[key]
	if !ok {
		return nil, false
	}
	z.lru.MoveToFront(el)
	return el.Value.(*cacheEntry).res, true
}

func (z *Analyzer) put(key cacheKey, res []*Analyzed) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if el, ok := z.index[key]; ok {
		z.lru.MoveToFront(el)
		return
	}
	z.index[key] = z.lru.PushFront(&cacheEntry{key: key, res: res})
	for z.lru.Len() > z.max {
		last := z.lru.Back()
		z.lru.Remove(last)
		delete(z.index, last.Value.(*cacheEntry).key)
	}
}

// Len reports the number of cached entries.
func (z *Analyzer) Len() int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.lru.Len()
}

// literalFree reports whether a normalized text holds no literal token, so
// that it is the normalization of every text of its shape. pg_query leaves
// some literals in place (a JSON_TABLE column PATH), which Normalize then
// replaces too (scrubLiterals); should one remain, the shape is not cached,
// or the redacted text of one statement would be recorded for another.
func literalFree(redacted string) bool {
	if redacted == "" {
		return false
	}
	key, _, sure := fastShapeKey(redacted)
	if !sure {
		key, _, sure = scanShapeKey(redacted)
		if !sure {
			return false
		}
	}
	return !strings.Contains(key, "\x00")
}
