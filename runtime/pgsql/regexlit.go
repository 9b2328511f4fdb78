package pgsql

import (
	"strings"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// The regular expression functions (regexp_replace, regexp_match,
// regexp_like, regexp_count, regexp_substr, regexp_instr and
// substring(x FROM 'pattern')) fail on no value when their pattern and
// flags are literals PostgreSQL compiles: matching does not fail (past
// values of hundreds of megabytes, which it converts to four bytes a
// character), and what the match finds only changes the masked result.
// A pattern that does not compile fails on every row the call runs for,
// which a CASE or COALESCE around it turns into an oracle on what decides
// whether it runs, so the pattern must be one PostgreSQL surely compiles:
// a short list of the advanced regular expression syntax, checked here,
// and small enough that the compiled automaton is never "too complex"
// (TestRegexLiteralsAgainstPostgres compiles what it accepts and a
// sample of what it refuses on the server).
//
//   - literal characters (any but the metacharacters ^ $ . [ ] ( ) | * + ?
//     { } \), the escapes \d \D \w \W \s \S and a backslash before an
//     ASCII character that is neither a letter nor a digit;
//   - . ^ $ (the anchors not quantified), groups (...) and (?:...) that
//     are not empty, alternatives that are not empty;
//   - bracket expressions: [...] and [^...] of characters, escaped
//     characters, \d \w \s, ranges between two ASCII digits or two ASCII
//     letters of the same case in order, and the classes [:alpha:]
//     [:digit:] [:alnum:] [:upper:] [:lower:] [:space:] [:punct:]
//     [:xdigit:]; ] only escaped, - only first or last;
//   - the quantifiers * + ? {m} {m,} {m,n} with m <= n <= 255, each
//     optionally non-greedy (?), after an atom;
//   - at most maxRegexCost repetitions in all (a bounded repetition
//     counts its upper bound, times that of the groups around it) and
//     maxRegexLen bytes.
//
// Flags are a string literal of g (regexp_replace only), i, c, n, s, p
// and w; others (x, b, e, q) change the syntax or fail.

// maxRegexLen is the longest pattern accepted, in bytes.
const maxRegexLen = 256

// maxRegexCost bounds the repetitions a pattern asks for (see above):
// PostgreSQL refuses (a{1,255}){1,255} as too complex.
const maxRegexCost = 1000

// regexPattern reports a pattern of the accepted syntax.
func regexPattern(p string) bool {
	if p == "" || len(p) > maxRegexLen || !utf8.ValidString(p) || strings.ContainsRune(p, 0) {
		return false
	}
	r := &regexReader{s: p}
	cost, ok := r.alternation(0)
	return ok && r.i == len(r.s) && cost <= maxRegexCost
}

// regexFlags reports flags of the accepted list; global allows g.
func regexFlags(f string, global bool) bool {
	for _, c := range f {
		if !strings.ContainsRune("icnspw", c) && !(global && c == 'g') {
			return false
		}
	}
	return true
}

type regexReader struct {
	s string
	i int
}

// maxRegexDepth bounds the nesting of groups.
const maxRegexDepth = 20

func (r *regexReader) peek() byte {
	if r.i < len(r.s) {
		return r.s[r.i]
	}
	return 0
}

// alternation reads branches separated by |, each not empty, and returns
// their cost.
func (r *regexReader) alternation(depth int) (int, bool) {
	if depth > maxRegexDepth {
		return 0, false
	}
	total := 0
	for {
		cost, ok := r.branch(depth)
		if !ok || cost == 0 {
			return 0, false
		}
		total += cost
		if r.peek() != '|' {
			return total, true
		}
		r.i++
	}
}

// branch reads pieces up to | or ) or the end; an empty branch costs 0.
func (r *regexReader) branch(depth int) (int, bool) {
	total := 0
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case '|', ')':
			return total, true
		case '^', '$':
			r.i++
			if r.quantifierNext() {
				return 0, false
			}
			total++
			continue
		}
		cost, ok := r.atom(depth)
		if !ok {
			return 0, false
		}
		n, ok := r.quantifier()
		if !ok {
			return 0, false
		}
		total += cost * n
		if total > maxRegexCost {
			return 0, false
		}
	}
	return total, true
}

// quantifierNext reports a quantifier at the reader's position.
func (r *regexReader) quantifierNext() bool {
	switch r.peek() {
	case '*', '+', '?', '{':
		return true
	}
	return false
}

// atom reads one atom and returns its cost.
func (r *regexReader) atom(depth int) (int, bool) {
	c := r.s[r.i]
	switch c {
	case '(':
		r.i++
		if strings.HasPrefix(r.s[r.i:], "?:") {
			r.i += 2
		} else if r.peek() == '?' {
			return 0, false // lookahead and the like
		}
		cost, ok := r.alternation(depth + 1)
		if !ok || r.peek() != ')' {
			return 0, false
		}
		r.i++
		return cost, true
	case '.':
		r.i++
		return 1, true
	case '[':
		r.i++
		return 1, r.bracket()
	case '\\':
		r.i++
		if r.i >= len(r.s) {
			return 0, false
		}
		e := r.s[r.i]
		r.i++
		return 1, strings.IndexByte("dDwWsS", e) >= 0 || escapable(e)
	case ')', '|', '*', '+', '?', '{', '}', ']', '^', '$':
		return 0, false
	}
	_, size := utf8.DecodeRuneInString(r.s[r.i:])
	r.i += size
	return 1, true
}

// escapable reports an ASCII character that is neither a letter nor a
// digit, which a backslash makes literal.
func escapable(c byte) bool {
	return c > ' ' && c < 0x7f && !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9')
}

// bracketClasses are the character classes accepted in brackets.
var bracketClasses = []string{"[:alpha:]", "[:digit:]", "[:alnum:]", "[:upper:]", "[:lower:]", "[:space:]", "[:punct:]", "[:xdigit:]"}

// bracket reads a bracket expression after its [, up to and with its ].
func (r *regexReader) bracket() bool {
	if r.peek() == '^' {
		r.i++
	}
	items := 0
	for {
		if r.i >= len(r.s) {
			return false
		}
		c := r.s[r.i]
		switch {
		case c == ']':
			r.i++
			return items > 0
		case c == '[':
			ok := false
			for _, cl := range bracketClasses {
				if strings.HasPrefix(r.s[r.i:], cl) {
					r.i += len(cl)
					ok = true
					break
				}
			}
			if !ok {
				return false // collating elements, equivalence classes
			}
		case c == '\\':
			if r.i+1 >= len(r.s) {
				return false
			}
			e := r.s[r.i+1]
			if strings.IndexByte("dws", e) < 0 && !escapable(e) {
				return false
			}
			r.i += 2
		case c == '-':
			// Only first or last: a - elsewhere makes a range.
			if items > 0 && !strings.HasPrefix(r.s[r.i+1:], "]") {
				return false
			}
			r.i++
		default:
			_, size := utf8.DecodeRuneInString(r.s[r.i:])
			if r.i+size < len(r.s) && r.s[r.i+size] == '-' && r.i+size+1 < len(r.s) && r.s[r.i+size+1] != ']' {
				if size != 1 || !asciiRange(c, r.s[r.i+size+1]) {
					return false
				}
				r.i += size + 2
			} else {
				r.i += size
			}
		}
		items++
	}
}

// asciiRange reports a range a-b between two ASCII digits or two ASCII
// letters of the same case, in order.
func asciiRange(a, b byte) bool {
	same := func(lo, hi byte) bool { return lo <= a && a <= hi && lo <= b && b <= hi }
	return a <= b && (same('0', '9') || same('a', 'z') || same('A', 'Z'))
}

// quantifier reads an optional quantifier and returns how many times it
// repeats its atom, for the cost (1 without one).
func (r *regexReader) quantifier() (int, bool) {
	n := 1
	switch r.peek() {
	case '*', '+', '?':
		r.i++
		n = 2
	case '{':
		end := strings.IndexByte(r.s[r.i:], '}')
		if end < 0 {
			return 0, false
		}
		lo, hi, ok := repetition(r.s[r.i+1 : r.i+end])
		if !ok {
			return 0, false
		}
		r.i += end + 1
		n = max(lo, hi, 1)
	default:
		return 1, true
	}
	if r.peek() == '?' {
		r.i++ // non-greedy
	}
	if r.quantifierNext() {
		return 0, false // a quantifier of a quantifier
	}
	return n, true
}

// repetition parses m, m, or m,n (m <= n <= 255) of a bounded
// repetition; m, counts as m + 1.
func repetition(s string) (lo, hi int, ok bool) {
	m, rest, comma := strings.Cut(s, ",")
	lo, ok = smallCount(m)
	if !ok {
		return 0, 0, false
	}
	switch {
	case !comma:
		return lo, lo, true
	case rest == "":
		return lo, lo + 1, true
	}
	hi, ok = smallCount(rest)
	return lo, hi, ok && lo <= hi
}

// smallCount parses a repetition count of at most 255.
func smallCount(s string) (int, bool) {
	if s == "" || len(s) > 3 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n <= 255
}

// regexCall reports a call of a regular expression function of the list
// above whose pattern (and flags) are accepted literals: regexp_replace
// with three arguments or four (flags), regexp_match and regexp_like with
// two or three (flags, no g), regexp_count with two, or three (a start of
// at least 1), regexp_substr and regexp_instr with two.
func regexCall(name string, args []*pg_query.Node) bool {
	p, ok := stringLiteral(args, 1)
	if !ok || !regexPattern(p) {
		return false
	}
	flags := func(i int, global bool) bool {
		f, ok := stringLiteral(args, i)
		return ok && regexFlags(f, global)
	}
	switch name {
	case "regexp_replace":
		return len(args) == 3 || len(args) == 4 && flags(3, true)
	case "regexp_match", "regexp_like":
		return len(args) == 2 || len(args) == 3 && flags(2, false)
	case "regexp_count":
		n, ok := intLiteral(args, 2)
		return len(args) == 2 || len(args) == 3 && ok && n >= 1
	case "regexp_substr", "regexp_instr":
		return len(args) == 2
	}
	return false
}
