package review

import "strings"

// glob reports whether s matches pattern, where '*' matches any run of
// characters except those in stop, and every other byte matches itself.
func glob(pattern, s, stop string) bool {
	// Iterative matcher with one backtrack point per star (linear enough for
	// policy patterns, never exponential).
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0 && !strings.ContainsRune(stop, rune(s[mark])):
			mark++
			i = mark
			p = star + 1
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// matchTable reports whether a grant's table entry (a schema-qualified name
// or pattern such as "sales.*" or "*.*") covers a used table. A used table
// without a schema is taken to be in "public".
func matchTable(pattern, table string) bool {
	pattern, table = strings.ToLower(pattern), strings.ToLower(qualify(table))
	if !strings.Contains(pattern, ".") {
		pattern = "public." + pattern
	}
	return glob(pattern, table, ".")
}

func qualify(table string) string {
	if table == "" || strings.Contains(table, ".") {
		return table
	}
	return "public." + table
}

// isPattern reports whether a table entry or statement class is a wildcard.
func isPattern(s string) bool { return strings.Contains(s, "*") }

// matchCommand reports whether an SSH grant's command pattern covers a
// command that ran; '*' matches any run of characters except a newline.
func matchCommand(pattern, command string) bool { return glob(pattern, command, "\n") }
