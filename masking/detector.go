package masking

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Detector finds sensitive values inside a text. FindAll returns the byte
// ranges [start, end) of every finding, in ascending order, non-overlapping.
type Detector interface {
	Name() string
	FindAll(s string) [][2]int
}

// Built-in detector names.
const (
	DetectorCreditCard = "credit_card"
	DetectorEmail      = "email"
	DetectorUSSSN      = "us_ssn"
	DetectorIBAN       = "iban"
	DetectorAPIKey     = "api_key"
	// DetectorPattern is the kind of a custom detector with an RE2 pattern.
	DetectorPattern = "pattern"
)

// stats are cheap facts about a value, computed in one pass, that let a
// detector skip a value that cannot hold a finding.
type stats struct {
	digits  int
	at      bool
	eqColon bool
	// flags holds the flag* bits of the bytes seen.
	flags uint8
}

// digitTab and flagTab drive scanStats without branches.
var digitTab, flagTab = func() (d, f [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		d[c] = 1
	}
	f['@'] = flagAt
	f['='] = flagEqColon
	f[':'] = flagEqColon
	f['A'] = flagA
	f['_'] = flagUnderscore
	f['-'] = flagDash
	f['J'] = flagJ
	for c := 0x80; c < 0x100; c++ {
		f[c] = flagHigh
	}
	return d, f
}()

const (
	flagAt = 1 << iota
	flagEqColon
	flagA
	flagUnderscore
	flagDash
	flagJ
	flagHigh // a byte of a non-ASCII character: the text is searched folded too (normalize)
)

func scanStats(s string) stats {
	digits := 0
	var flags uint8
	for i := 0; i < len(s); i++ {
		c := s[i]
		digits += int(digitTab[c])
		flags |= flagTab[c]
	}
	return stats{digits: digits, at: flags&flagAt != 0, eqColon: flags&flagEqColon != 0, flags: flags}
}

// finder is what every detector of this package implements: a prefilter on
// stats and an appending search that allocates nothing when nothing is found.
type finder interface {
	Detector
	mayMatch(s string, st stats) bool
	appendAll(s string, dst [][2]int) [][2]int
}

var (
	_ finder = (*builtin)(nil)
	_ finder = (*patternDetector)(nil)
)

// builtin is a detector implemented by hand (no regexp on the hot path).
type builtin struct {
	name  string
	quick func(s string, st stats) bool
	find  func(s string, dst [][2]int) [][2]int
}

func (b *builtin) Name() string { return b.name }

func (b *builtin) FindAll(s string) [][2]int {
	st := scanStats(s)
	if !b.quick(s, st) {
		return nil
	}
	return b.find(s, nil)
}

func (b *builtin) mayMatch(s string, st stats) bool        { return b.quick(s, st) }
func (b *builtin) appendAll(s string, d [][2]int) [][2]int { return b.find(s, d) }

var builtins = map[string]*builtin{
	DetectorCreditCard: {
		name:  DetectorCreditCard,
		quick: func(_ string, st stats) bool { return st.digits >= 13 },
		find:  findCards,
	},
	DetectorEmail: {
		name:  DetectorEmail,
		quick: func(_ string, st stats) bool { return st.at },
		find:  findEmails,
	},
	DetectorUSSSN: {
		name:  DetectorUSSSN,
		quick: func(_ string, st stats) bool { return st.digits >= 9 },
		find:  findSSNs,
	},
	DetectorIBAN: {
		name:  DetectorIBAN,
		quick: func(s string, st stats) bool { return st.digits >= 2 && len(s) >= 15 },
		find:  findIBANs,
	},
	DetectorAPIKey: {
		name:  DetectorAPIKey,
		quick: apiKeyMayMatch,
		find:  findAPIKeys,
	},
}

// BuiltinDetector returns the built-in detector with that name.
func BuiltinDetector(name string) (Detector, bool) {
	b, ok := builtins[name]
	if !ok {
		return nil, false
	}
	return b, true
}

// BuiltinDetectorNames lists the built-in detectors, sorted.
func BuiltinDetectorNames() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// patternDetector is a custom RE2 detector.
type patternDetector struct {
	name   string
	re     *regexp.Regexp
	prefix string // a literal every match starts with, "" when none
}

// PatternDetector compiles a custom detector. The expression is RE2 syntax
// (Go regexp); every non-empty match is a finding.
func PatternDetector(name, expr string) (Detector, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("compiling pattern of detector %q: %w", name, err)
	}
	prefix, _ := re.LiteralPrefix()
	return &patternDetector{name: name, re: re, prefix: prefix}, nil
}

func (p *patternDetector) Name() string { return p.name }

func (p *patternDetector) FindAll(s string) [][2]int { return p.appendAll(s, nil) }

func (p *patternDetector) mayMatch(s string, _ stats) bool {
	return p.prefix == "" || strings.Contains(s, p.prefix)
}

func (p *patternDetector) appendAll(s string, dst [][2]int) [][2]int {
	for _, m := range p.re.FindAllStringIndex(s, -1) {
		if m[1] > m[0] {
			dst = append(dst, [2]int{m[0], m[1]})
		}
	}
	return dst
}

// Character classes shared by the detectors (ASCII only).
func isDigit(c byte) bool { return c-'0' < 10 }
func isAlpha(c byte) bool { return (c|0x20)-'a' < 26 }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

// IsDetector reports whether name is a detector kind a rule may name: a
// built-in detector or "pattern".
func IsDetector(name string) bool {
	_, ok := builtins[name]
	return ok || name == DetectorPattern
}
