package masking

import (
	"regexp"
	"sort"
	"strings"
)

// API keys and tokens with well-known shapes:
//
//	AWS access key ids       AKIA... / ASIA... + 16 upper-case letters or digits
//	GitHub tokens            ghp_ gho_ ghu_ ghs_ ghr_ + 36 or more, github_pat_...
//	Slack tokens             xoxa- xoxb- xoxp- xoxr-...
//	Stripe secret keys       sk_live_ rk_live_ sk_test_ rk_test_...
//	Google API keys          AIza + 35
//	JSON Web Tokens          eyJ....eyJ....signature
//
// and generic assignments: a name ending in key, token or secret followed by
// '=' or ':' and a value of 16 or more characters holding both a letter and a
// digit; a name ending in password, passwd or pwd with a value of 6 or more.
// Only the value is a finding, not the name.

// keyFamily is one well-known key shape: a literal every key starts with
// (checked with strings.Contains before the expression runs, and the
// expression's literal prefix, so the regexp engine skips ahead to it).
type keyFamily struct {
	flag uint8 // a byte class of the literal, for the prefilter
	lit  string
	re   *regexp.Regexp
}

var keyFamilies = []keyFamily{
	{flagA, "AKIA", regexp.MustCompile(`AKIA[0-9A-Z]{16}\b`)},
	{flagA, "ASIA", regexp.MustCompile(`ASIA[0-9A-Z]{16}\b`)},
	{flagUnderscore, "gh", regexp.MustCompile(`gh[pousr]_[A-Za-z0-9]{36,255}\b`)},
	{flagUnderscore, "github_pat_", regexp.MustCompile(`github_pat_[A-Za-z0-9_]{22,255}\b`)},
	{flagDash, "xox", regexp.MustCompile(`xox[abpr]-[A-Za-z0-9-]{10,250}`)},
	{flagUnderscore, "sk_", regexp.MustCompile(`sk_(?:live|test)_[A-Za-z0-9]{16,247}\b`)},
	{flagUnderscore, "rk_", regexp.MustCompile(`rk_(?:live|test)_[A-Za-z0-9]{16,247}\b`)},
	{flagA, "AIza", regexp.MustCompile(`AIza[0-9A-Za-z_-]{35}`)},
	{flagJ, "eyJ", regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)},
}

// hasAPIKeyLiteral reports whether s may hold a key of a known family. It
// looks only at occurrences of each family's marker byte (flags says which
// occur) and the bytes around them, instead of searching every literal.
func hasAPIKeyLiteral(s string, flags uint8) bool {
	if flags&flagA != 0 && around(s, 'A', 0, func(i int) bool {
		r := s[i+1:]
		return strings.HasPrefix(r, "KIA") || strings.HasPrefix(r, "SIA") || strings.HasPrefix(r, "Iza")
	}) {
		return true
	}
	if flags&flagUnderscore != 0 && around(s, '_', 0, func(i int) bool {
		l := s[:i]
		return (len(l) >= 3 && l[len(l)-3] == 'g' && l[len(l)-2] == 'h') ||
			strings.HasSuffix(l, "github") || strings.HasSuffix(l, "sk") || strings.HasSuffix(l, "rk")
	}) {
		return true
	}
	if flags&flagDash != 0 && around(s, '-', 0, func(i int) bool { return i >= 4 && s[i-4:i-1] == "xox" }) {
		return true
	}
	return flags&flagJ != 0 && around(s, 'J', 0, func(i int) bool { return i >= 2 && s[i-2:i] == "ey" })
}

// around calls f for every index of c in s (from from on) until f is true.
func around(s string, c byte, from int, f func(i int) bool) bool {
	for from < len(s) {
		k := strings.IndexByte(s[from:], c)
		if k < 0 {
			return false
		}
		if f(from + k) {
			return true
		}
		from += k + 1
	}
	return false
}

func apiKeyMayMatch(s string, st stats) bool {
	return st.eqColon || (len(s) >= 20 && hasAPIKeyLiteral(s, st.flags))
}

func isWordChar(c byte) bool { return isAlnum(c) || c == '_' }

func findAPIKeys(s string, dst [][2]int) [][2]int {
	var known [][2]int
	if len(s) >= 20 {
		families := 0
		for _, f := range keyFamilies {
			if !strings.Contains(s, f.lit) {
				continue
			}
			n := len(known)
			for _, m := range f.re.FindAllStringIndex(s, -1) {
				if m[0] > 0 && isWordChar(s[m[0]-1]) {
					continue
				}
				known = append(known, [2]int{m[0], m[1]})
			}
			if len(known) > n {
				families++
			}
		}
		if families > 1 {
			sort.Slice(known, func(i, j int) bool { return known[i][0] < known[j][0] })
		}
	}
	var generic [][2]int
	if strings.IndexByte(s, '=') >= 0 || strings.IndexByte(s, ':') >= 0 {
		generic = findAssignedSecrets(s, nil)
	}
	return mergeSorted(dst, known, generic)
}

// mergeSorted appends the union of two sorted finding lists; overlapping
// findings are joined into one.
func mergeSorted(dst [][2]int, a, b [][2]int) [][2]int {
	base := len(dst)
	take := func(f [2]int) {
		if n := len(dst); n > base && f[0] < dst[n-1][1] {
			dst[n-1][1] = max(dst[n-1][1], f[1])
			return
		}
		dst = append(dst, f)
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		if j >= len(b) || (i < len(a) && a[i][0] <= b[j][0]) {
			take(a[i])
			i++
		} else {
			take(b[j])
			j++
		}
	}
	return dst
}

var secretSuffixes = []struct {
	name   string
	minLen int
	mixed  bool
}{
	{"key", 16, true}, {"token", 16, true}, {"secret", 16, true},
	{"password", 6, false}, {"passwd", 6, false}, {"pwd", 6, false},
}

// findAssignedSecrets finds values assigned to secret-looking names:
// api_key=..., "token": "...", password: ....
func findAssignedSecrets(s string, dst [][2]int) [][2]int {
	for i := 0; i < len(s); i++ {
		if s[i] != '=' && s[i] != ':' {
			continue
		}
		// the name before, skipping a closing quote and spaces
		k := i
		for k > 0 && (s[k-1] == ' ' || s[k-1] == '"' || s[k-1] == '\'') {
			k--
		}
		ne := k
		for k > 0 && (isAlnum(s[k-1]) || s[k-1] == '_' || s[k-1] == '-') {
			k--
		}
		name := s[k:ne]
		minLen, mixed, ok := secretName(name)
		if !ok {
			continue
		}
		// the value after, skipping spaces and an opening quote
		v := i + 1
		for v < len(s) && (s[v] == ' ' || s[v] == '"' || s[v] == '\'') {
			v++
		}
		if strings.HasPrefix(s[v:], Redacted) {
			continue // already masked
		}
		e := v
		for e < len(s) && !stopsSecret(s[e]) {
			e++
		}
		if e-v < minLen || (mixed && !letterAndDigit(s[v:e])) {
			if e-v > 256 {
				i = e - 1 // bounds the work on long runs of "a=a=a=..."
			}
			continue
		}
		dst = append(dst, [2]int{v, e})
		i = e - 1
	}
	return dst
}

func secretName(name string) (int, bool, bool) {
	if len(name) < 3 {
		return 0, false, false
	}
	for _, sfx := range secretSuffixes {
		if len(name) >= len(sfx.name) && strings.EqualFold(name[len(name)-len(sfx.name):], sfx.name) {
			return sfx.minLen, sfx.mixed, true
		}
	}
	return 0, false, false
}

func stopsSecret(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '"', '\'', '`', ',', ';', '&', '<', '>', ')', '}', ']', '\\':
		return true
	}
	return c < 0x20 || c == 0x7f
}

func letterAndDigit(v string) bool {
	var l, d bool
	for i := 0; i < len(v); i++ {
		l = l || isAlpha(v[i])
		d = d || isDigit(v[i])
	}
	return l && d
}
