package compiler

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var (
	nameRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,127}$`)
	partRE    = regexp.MustCompile(`^[A-Za-z0-9_$*]{1,63}$`)
	funcRE    = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_$]{0,62}\.)?[A-Za-z_][A-Za-z0-9_$]{0,62}$`)
	durPartRE = regexp.MustCompile(`^(\d{1,9})([smhdw])`)
)

// maxDuration caps durations at ten years.
const maxDuration = 10 * 366 * 24 * 3600

var unitSeconds = map[byte]int64{'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 7 * 86400}

// parseDuration parses 30s, 10m, 1h, 90d, 2w and combinations (1h30m).
func parseDuration(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("it is empty")
	}
	var total int64
	rest := s
	for rest != "" {
		m := durPartRE.FindStringSubmatch(rest)
		if m == nil {
			return 0, fmt.Errorf("%q is not a number followed by s, m, h, d or w", rest)
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		total += n * unitSeconds[m[2][0]]
		if total > maxDuration {
			return 0, errors.New("it is longer than ten years")
		}
		rest = rest[len(m[0]):]
	}
	if total == 0 {
		return 0, errors.New("it is zero")
	}
	return total, nil
}

// checkTablePattern accepts schema.table where each part is an identifier
// that may contain the wildcard *.
func checkTablePattern(s string) error {
	return checkDotted(s, 2, "schema.table")
}

// checkColumnName accepts schema.table.column, each part possibly a pattern.
func checkColumnName(s string) error {
	return checkDotted(s, 3, "schema.table.column")
}

func checkDotted(s string, n int, form string) error {
	parts := strings.Split(s, ".")
	if len(parts) != n {
		return fmt.Errorf("it must have the form %s (%d dot-separated parts), not %d", form, n, len(parts))
	}
	for _, p := range parts {
		if !partRE.MatchString(p) {
			return fmt.Errorf("part %q must be an identifier made of letters, digits, _ or $, or contain the wildcard *", p)
		}
	}
	return nil
}

// nameSuggestion returns the candidate closest to given within a small edit
// distance, or "".
func nameSuggestion(given string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(given, c, bestD); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance, or limit when it is at least limit.
func editDistance(a, b string, limit int) int {
	if len(a) > 64 || len(b) > 64 {
		return limit
	}
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	if prev[len(b)] > limit {
		return limit
	}
	return prev[len(b)]
}

// sortedUnique sorts and removes duplicates.
func sortedUnique(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := append([]string(nil), in...)
	sort.Strings(out)
	j := 0
	for i, s := range out {
		if i == 0 || s != out[j-1] {
			out[j] = s
			j++
		}
	}
	return out[:j]
}
