package pgproxy

import (
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/mandatehq/mandate/masking"
	"github.com/mandatehq/mandate/model"
)

// redactAll masks a column whose origin could not be resolved.
var redactAll, _ = masking.NewMethod(masking.MethodRedact, nil)

// maskSet is the compiled masking of a set of Masking blocks.
type maskSet struct {
	rules      []colRule
	hasColumns bool
	scanner    *masking.Scanner // nil: no detectors
	detectors  []masking.Rule
	resolved   sync.Map // lower-case schema.table.column -> masking.Method (nil: none)
	// src is the masking block the set's denials name: the first with
	// column rules, else the first (detectors only).
	src *model.Source
}

// denial is the gateway's own denial of a statement because of the set's
// rules (an unknown origin, COPY TO of masked data, a masked value
// stored): its message names the masking block as a policy denial names
// its rule.
func (ms *maskSet) denial(reason string) model.Decision {
	d := denyDecision(reason)
	d.Source = ms.src
	return d
}

type colRule struct {
	pattern     string // lower-case schema.table.column, path.Match syntax
	method      masking.Method
	rank        int    // strength of the method: null 5, redact 4, hash 3, email 2, partial 1
	allowFilter bool   // the rule's allow_filter
	column      string // the rule's column as written
}

var methodRank = map[string]int{masking.MethodNull: 5, masking.MethodRedact: 4, masking.MethodHash: 3, masking.MethodEmail: 2, masking.MethodPartial: 1}

type noMethod struct{}

// column returns the masking method for a schema.table.column, or nil.
func (ms *maskSet) column(name string) masking.Method {
	name = strings.ToLower(name)
	if v, ok := ms.resolved.Load(name); ok {
		if m, ok := v.(masking.Method); ok {
			return m
		}
		return nil
	}
	var found masking.Method
	for _, r := range ms.rules {
		if ok, _ := path.Match(r.pattern, name); ok {
			found = r.method
			break
		}
	}
	if found != nil {
		ms.resolved.Store(name, found)
	} else {
		ms.resolved.Store(name, noMethod{})
	}
	return found
}

// source is column for a lineage source, which may be "schema.table.*"
// (any column of the table flows in): masked when any rule names a column
// of that table.
func (ms *maskSet) source(src string) masking.Method {
	if !strings.HasSuffix(src, ".*") {
		return ms.column(src)
	}
	return ms.table(strings.TrimSuffix(src, ".*"))
}

// table returns the method of the first rule covering a column of
// relation rel (schema.table), or nil: what source returns for rel.*.
func (ms *maskSet) table(rel string) masking.Method {
	tbl := strings.ToLower(rel)
	for _, r := range ms.rules {
		i := strings.LastIndexByte(r.pattern, '.')
		if i < 0 {
			continue
		}
		if ok, _ := path.Match(r.pattern[:i], tbl); ok {
			return r.method
		}
	}
	return nil
}

// firstOf returns the method of the first masked source, or nil.
func (ms *maskSet) firstOf(srcs []string) masking.Method {
	for _, src := range srcs {
		if m := ms.source(src); m != nil {
			return m
		}
	}
	return nil
}

// computed returns the method for a value computed from srcs rather than
// read from one column (an expression, a cast, a whole row, a set
// operation over several columns): NULL when a masked source's rule says
// null, else redact when any source is masked, else nil. The other
// methods keep part of the value (partial, email) or its equality (hash),
// and an expression chooses what that part is: email || '@' ||
// split_part(email, '@', 1) would keep the local part as the "domain",
// concat(email, '@', ssn) would keep an SSN, and CASE WHEN card IS NULL
// THEN card ELSE 'guess' END would have the gateway hash any guess under
// the masking's key.
func (ms *maskSet) computed(srcs []string) masking.Method {
	masked := false
	for _, src := range srcs {
		name := strings.ToLower(src)
		tbl, all := strings.CutSuffix(name, ".*")
		for _, r := range ms.rules {
			var ok bool
			if all {
				i := strings.LastIndexByte(r.pattern, '.')
				ok = i >= 0 && matches(r.pattern[:i], tbl)
			} else {
				ok = matches(r.pattern, name)
			}
			if !ok {
				continue
			}
			if r.rank == methodRank[masking.MethodNull] {
				return r.method
			}
			masked = true
		}
	}
	if masked {
		return redactAll
	}
	return nil
}

// maskedFilter returns a filter column that a rule without allow_filter
// masks only when case is ignored, and that rule's column. Results are
// masked by rules matched without regard to case (a rule written
// public.t.SSN masks the column ssn, which PostgreSQL folded), but the
// policy matches filter columns to rules as written, so it would let
// WHERE ssn LIKE '9%' through. A schema.table.* filter (a whole row, a
// natural join) counts for every rule on the table.
func (ms *maskSet) maskedFilter(filters []string) (col, rule string) {
	for _, c := range filters {
		name := strings.ToLower(c)
		tbl, all := strings.CutSuffix(name, ".*")
		exactTbl := strings.TrimSuffix(c, ".*")
		for _, r := range ms.rules {
			if r.allowFilter {
				continue
			}
			var folded, exact bool
			if all {
				i := strings.LastIndexByte(r.pattern, '.')
				j := strings.LastIndexByte(r.column, '.')
				folded = i >= 0 && matches(r.pattern[:i], tbl)
				exact = j >= 0 && matches(r.column[:j], exactTbl)
			} else {
				folded = matches(r.pattern, name)
				exact = matches(r.column, c)
			}
			if folded && !exact {
				return c, r.column
			}
		}
	}
	return "", ""
}

// unfilterable returns the column of a rule that masks src without
// allowing filters on it (matched without regard to case, as results
// are masked), or "". A schema.table.* source counts for every rule on
// the table.
func (ms *maskSet) unfilterable(src string) string {
	return ms.ruleFor(src, false)
}

// ruleFor returns the column of a rule that masks src (matched as
// unfilterable matches), or "": with filters set, rules that allow
// filters count too.
func (ms *maskSet) ruleFor(src string, filters bool) string {
	name := strings.ToLower(src)
	tbl, all := strings.CutSuffix(name, ".*")
	for _, r := range ms.rules {
		if r.allowFilter && !filters {
			continue
		}
		if all {
			if i := strings.LastIndexByte(r.pattern, '.'); i >= 0 && matches(r.pattern[:i], tbl) {
				return r.column
			}
		} else if matches(r.pattern, name) {
			return r.column
		}
	}
	return ""
}

func matches(pattern, name string) bool {
	ok, _ := path.Match(pattern, name)
	return ok
}

// maskCache compiles masking blocks once per bundle: an entry is reused
// while the policy returns the same *model.Masking values.
type maskCache struct {
	srv *Server
	mu  sync.Mutex
	m   map[string]maskEntry
}

type maskEntry struct {
	blocks []*model.Masking
	set    *maskSet
}

func newMaskCache(s *Server) *maskCache { return &maskCache{srv: s, m: map[string]maskEntry{}} }

func (c *maskCache) get(names []string) (*maskSet, error) {
	blocks := make([]*model.Masking, len(names))
	for i, n := range names {
		b, ok := c.srv.cfg.Policy.Masking(n)
		if !ok {
			return nil, fmt.Errorf("loading masking %q: not in the active policy", n)
		}
		blocks[i] = b
	}
	key := strings.Join(names, "\x00")
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok && sameBlocks(e.blocks, blocks) {
		return e.set, nil
	}
	set, err := c.build(blocks)
	if err != nil {
		return nil, err
	}
	if len(c.m) > 1024 {
		c.m = map[string]maskEntry{}
	}
	c.m[key] = maskEntry{blocks: blocks, set: set}
	return set, nil
}

func sameBlocks(a, b []*model.Masking) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (c *maskCache) build(blocks []*model.Masking) (*maskSet, error) {
	set := &maskSet{}
	var detectors []masking.Rule
	for _, b := range blocks {
		if set.src == nil || !set.hasColumns && len(b.Columns) > 0 {
			src := b.Source
			set.src = &src
		}
		var key []byte
		if b.HashKey != nil {
			k, err := c.srv.resolveSecret(*b.HashKey)
			if err != nil {
				return nil, fmt.Errorf("loading masking %q: %w", b.Name, err)
			}
			key = k
		}
		for _, r := range b.Columns {
			m, err := masking.NewMethod(r.Method, key)
			if err != nil {
				return nil, fmt.Errorf("loading masking %q column %s: %w", b.Name, r.Column, err)
			}
			set.rules = append(set.rules, colRule{pattern: strings.ToLower(r.Column), method: m, rank: methodRank[r.Method],
				allowFilter: r.AllowFilter, column: r.Column})
			set.hasColumns = true
		}
		rules, err := masking.CompileRules(b.Detectors, key)
		if err != nil {
			return nil, fmt.Errorf("loading masking %q: %w", b.Name, err)
		}
		detectors = append(detectors, rules...)
	}
	if len(detectors) > 0 {
		set.scanner = masking.NewScanner(detectors...)
		set.detectors = detectors
	}
	return set, nil
}

// mergeMasks combines two sets (either may be nil).
func mergeMasks(a, b *maskSet) *maskSet {
	if a == nil || a == b {
		return b
	}
	if b == nil {
		return a
	}
	m := &maskSet{
		rules:      append(append([]colRule{}, a.rules...), b.rules...),
		hasColumns: a.hasColumns || b.hasColumns,
		detectors:  append(append([]masking.Rule{}, a.detectors...), b.detectors...),
		src:        a.src,
	}
	if !a.hasColumns && b.hasColumns || m.src == nil {
		m.src = b.src
	}
	if len(m.detectors) > 0 {
		m.scanner = masking.NewScanner(m.detectors...)
	}
	return m
}
