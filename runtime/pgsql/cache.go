package pgsql

import (
	"container/list"
	"strconv"
	"strings"
	"sync"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// DefaultCacheEntries is the Analyzer cache size when none is given.
const DefaultCacheEntries = 4096

// maxCachedText is the longest query text the Analyzer caches.
const maxCachedText = 16 << 10

// Analyzer is Analyze with a bounded LRU cache, safe for concurrent use by
// every session of a gateway that shares one search path. It caches by exact
// text (the extended protocol, repeated simple queries) and, for a single
// SELECT/INSERT/UPDATE/DELETE/MERGE whose analysis does not depend on any
// literal, by shape: the token stream with its literals left out, so pgbench
// -S in simple mode (a new integer each time) parses once. The returned
// slice is the caller's, but the *Analyzed values in it are shared: callers
// must copy one before changing it.
type Analyzer struct {
	opts Options
	max  int

	mu    sync.Mutex
	lru   *list.List // of *cacheEntry, most recent first
	index map[string]*list.Element
}

type cacheEntry struct {
	key string
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
	return &Analyzer{opts: opts, max: entries, lru: list.New(), index: map[string]*list.Element{}}
}

// Analyze is the package Analyze through the cache.
func (z *Analyzer) Analyze(sql string) ([]*Analyzed, error) {
	if len(sql) > maxCachedText || strings.IndexByte(sql, 0) >= 0 {
		return Analyze(sql, z.opts)
	}
	exact := "t" + sql
	if res, ok := z.get(exact); ok {
		// A fresh slice: callers may replace its elements (the proxy swaps
		// in the resolution of an EXECUTE) without touching the cache.
		return append([]*Analyzed(nil), res...), nil
	}
	shape, text, shapeOK := shapeKey(sql)
	if shapeOK {
		if res, ok := z.get(shape); ok {
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
	if shapeOK && len(res.out) == 1 && !res.literalDependent[0] && shapeTags[res.out[0].Statement.Tag] {
		z.put(shape, res.out)
	}
	return append([]*Analyzed(nil), res.out...), nil
}

var shapeTags = map[string]bool{"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true, "MERGE": true}

func (z *Analyzer) get(key string) ([]*Analyzed, bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	el, ok := z.index[key]
	if !ok {
		return nil, false
	}
	z.lru.MoveToFront(el)
	return el.Value.(*cacheEntry).res, true
}

func (z *Analyzer) put(key string, res []*Analyzed) {
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

// shapeKey builds the literal-free key of a single-statement string from
// PostgreSQL's own scanner, and the statement text Analyze would report.
// ok is false for strings the shape cache must not serve: several
// statements, Unicode-escaped identifiers (UESCAPE takes a literal) or a
// scanner error.
func shapeKey(sql string) (key, text string, ok bool) {
	res, err := pg_query.Scan(sql)
	if err != nil || len(res.Tokens) == 0 {
		return "", "", false
	}
	var b strings.Builder
	b.Grow(len(sql) + 8)
	b.WriteString("s")
	end := len(sql)
	seen := false
	for i, t := range res.Tokens {
		start, stop := int(t.Start), int(t.End)
		if start < 0 || stop > len(sql) || start > stop {
			return "", "", false
		}
		switch t.Token {
		case pg_query.Token_SQL_COMMENT, pg_query.Token_C_COMMENT:
			continue
		case pg_query.Token_ASCII_59:
			if i != len(res.Tokens)-1 && !onlyCommentsAfter(res.Tokens[i+1:]) {
				return "", "", false
			}
			end = start
			continue
		case pg_query.Token_UIDENT, pg_query.Token_UESCAPE, pg_query.Token_USCONST:
			return "", "", false
		case pg_query.Token_ICONST, pg_query.Token_FCONST, pg_query.Token_SCONST,
			pg_query.Token_BCONST, pg_query.Token_XCONST:
			b.WriteString("\x00")
			b.WriteString(strconv.Itoa(int(t.Token)))
			b.WriteString("\x01")
		default:
			b.WriteString(strconv.Itoa(int(t.Token)))
			b.WriteString("\x02")
			b.WriteString(sql[start:stop])
			b.WriteString("\x01")
		}
		seen = true
	}
	if !seen {
		return "", "", false
	}
	return b.String(), strings.TrimSpace(sql[:end]), true
}

func onlyCommentsAfter(ts []*pg_query.ScanToken) bool {
	for _, t := range ts {
		if t.Token != pg_query.Token_SQL_COMMENT && t.Token != pg_query.Token_C_COMMENT {
			return false
		}
	}
	return true
}
