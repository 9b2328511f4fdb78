package masking

import (
	"fmt"
	"sort"
	"unsafe"

	"github.com/mandatehq/mandate/model"
)

// Rule pairs a detector with the method that masks its findings.
type Rule struct {
	Detector Detector
	// MethodName is the name Method was made from; it decides which method
	// wins when findings of several rules overlap (null, redact, hash, email,
	// partial, strongest first).
	MethodName string
	Method     Method
}

// CompileRules turns the detector rules of a masking block into Rules.
// hashKey is the block's resolved hash_key, needed when a rule uses "hash".
func CompileRules(rules []*model.DetectorRule, hashKey []byte) ([]Rule, error) {
	out := make([]Rule, 0, len(rules))
	for _, r := range rules {
		var d Detector
		if r.Detector == DetectorPattern {
			var err error
			if d, err = PatternDetector(r.Name, r.Pattern); err != nil {
				return nil, err
			}
		} else {
			var ok bool
			if d, ok = BuiltinDetector(r.Detector); !ok {
				return nil, fmt.Errorf("compiling detector %q: unknown detector %q", r.Name, r.Detector)
			}
		}
		m, err := NewMethod(r.Method, hashKey)
		if err != nil {
			return nil, fmt.Errorf("compiling detector %q: %w", r.Name, err)
		}
		out = append(out, Rule{Detector: d, MethodName: r.Method, Method: m})
	}
	return out, nil
}

// Scanner masks every finding of its rules in a text value. It is safe for
// concurrent use.
type Scanner struct {
	rules []scanRule
}

type scanRule struct {
	f        finder
	method   Method
	strength int
}

// NewScanner builds a scanner from rules. A Detector not made by this
// package is used through its FindAll.
func NewScanner(rules ...Rule) *Scanner {
	s := &Scanner{}
	for _, r := range rules {
		f, ok := r.Detector.(finder)
		if !ok {
			f = foreign{r.Detector}
		}
		s.rules = append(s.rules, scanRule{f: f, method: r.Method, strength: strength(r.MethodName)})
	}
	return s
}

// foreign adapts a Detector from elsewhere.
type foreign struct{ Detector }

func (foreign) mayMatch(string, stats) bool { return true }
func (f foreign) appendAll(s string, dst [][2]int) [][2]int {
	for _, r := range f.FindAll(s) {
		if r[0] >= 0 && r[0] < r[1] && r[1] <= len(s) {
			dst = append(dst, r)
		}
	}
	return dst
}

// Empty reports whether the scanner has no rules.
func (s *Scanner) Empty() bool { return s == nil || len(s.rules) == 0 }

type finding struct {
	start, end int
	rule       int
}

// find returns the findings of every rule, sorted and with overlapping
// findings joined (the strongest method of the joined ones applies).
func (s *Scanner) find(v string) []finding {
	if s.Empty() || v == "" {
		return nil
	}
	st := scanStats(v)
	all := s.findIn(v, st, nil, nil)
	if st.flags&flagHigh != 0 {
		if n, m, ok := normalize(v); ok {
			ns := unsafe.String(unsafe.SliceData(n), len(n))
			all = s.findIn(ns, scanStats(ns), m, all)
		}
	}
	if len(all) < 2 {
		return all
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].start != all[j].start {
			return all[i].start < all[j].start
		}
		return all[i].end > all[j].end
	})
	out := all[:1]
	for _, f := range all[1:] {
		last := &out[len(out)-1]
		if f.start < last.end {
			last.end = max(last.end, f.end)
			if s.rules[f.rule].strength > s.rules[last.rule].strength {
				last.rule = f.rule
			}
			continue
		}
		out = append(out, f)
	}
	return out
}

// findIn appends the findings of every rule in v. m maps offsets of v to
// those of the text v was folded from (normalize); nil: v is that text.
func (s *Scanner) findIn(v string, st stats, m offsetMap, all []finding) []finding {
	var buf [][2]int
	for i, r := range s.rules {
		if !r.f.mayMatch(v, st) {
			continue
		}
		buf = r.f.appendAll(v, buf[:0])
		for _, b := range buf {
			if m != nil {
				b = [2]int{m.orig(b[0]), m.orig(b[1])}
			}
			all = append(all, finding{b[0], b[1], i})
		}
	}
	return all
}

// Mask rewrites v with every finding masked by its rule's method and returns
// the number of masked findings. When nothing is found it returns v itself
// and 0 without allocating. A finding masked by "null" makes the whole value
// NULL (isNull true, out nil).
func (s *Scanner) Mask(v []byte) (out []byte, isNull bool, n int) {
	// The string view of v lives only during find, which keeps offsets only.
	fs := s.find(unsafe.String(unsafe.SliceData(v), len(v)))
	if len(fs) == 0 {
		return v, false, 0
	}
	out = make([]byte, 0, len(v)+16)
	prev := 0
	for _, f := range fs {
		m, null := s.rules[f.rule].method.Apply(folded(v[f.start:f.end]))
		if null {
			return nil, true, len(fs)
		}
		out = append(out, v[prev:f.start]...)
		out = append(out, m...)
		prev = f.end
	}
	return append(out, v[prev:]...), false, len(fs)
}

// MaskString is Mask for text that cannot be NULL, such as a statement the
// recorder stores: a "null" finding is replaced by Redacted instead.
func (s *Scanner) MaskString(v string) (string, int) {
	fs := s.find(v)
	if len(fs) == 0 {
		return v, 0
	}
	out := make([]byte, 0, len(v)+16)
	prev := 0
	for _, f := range fs {
		m, null := s.rules[f.rule].method.Apply(folded([]byte(v[f.start:f.end])))
		if null {
			m = []byte(Redacted)
		}
		out = append(out, v[prev:f.start]...)
		out = append(out, m...)
		prev = f.end
	}
	out = append(out, v[prev:]...)
	return string(out), len(fs)
}

// Finds reports whether any rule finds something in v.
func (s *Scanner) Finds(v []byte) bool {
	return len(s.find(unsafe.String(unsafe.SliceData(v), len(v)))) > 0
}
