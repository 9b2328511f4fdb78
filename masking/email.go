package masking

import "strings"

// Email addresses: a local part of letters, digits and ._%+- (the practical
// subset; quoted local parts are not detected), '@', and a domain of at least
// two dot-separated labels whose last is two or more letters.

func isLocalChar(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func isDomainChar(c byte) bool { return isAlnum(c) || c == '.' || c == '-' }

func findEmails(s string, dst [][2]int) [][2]int {
	from, floor := 0, 0
	for {
		k := strings.IndexByte(s[from:], '@')
		if k < 0 {
			return dst
		}
		at := from + k
		from = at + 1
		start := at
		for start > floor && isLocalChar(s[start-1]) {
			start--
		}
		for start < at && s[start] == '.' {
			start++
		}
		if start == at {
			continue
		}
		end := at + 1
		for end < len(s) && isDomainChar(s[end]) {
			end++
		}
		for end > at+1 && (s[end-1] == '.' || s[end-1] == '-') {
			end--
		}
		if !validDomain(s[at+1 : end]) {
			continue
		}
		dst = append(dst, [2]int{start, end})
		from, floor = end, end
	}
}

func validDomain(d string) bool {
	if len(d) < 4 || len(d) > 253 {
		return false
	}
	labels := 0
	last := ""
	for d != "" {
		l := d
		if i := strings.IndexByte(d, '.'); i >= 0 {
			l, d = d[:i], d[i+1:]
		} else {
			d = ""
		}
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		labels++
		last = l
	}
	if labels < 2 || len(last) < 2 {
		return false
	}
	for i := 0; i < len(last); i++ {
		if !isAlpha(last[i]) {
			return false
		}
	}
	return true
}
