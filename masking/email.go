package masking

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Email addresses: a local part of letters, digits and ._%+- or a quoted
// string ("john smith"), '@', and a domain of at least two dot-separated
// labels whose last is two or more letters. Letters and digits may be of
// any script (internationalized addresses: jörg@bücher.de).

func isLocalChar(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func isDomainChar(c byte) bool { return isAlnum(c) || c == '.' || c == '-' }

// wordRune reports a non-ASCII letter, digit or mark: part of an
// internationalized local part or domain label.
func wordRune(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r))
}

// localStart returns where the local part ending at at begins (at: none).
func localStart(s string, at, floor int) int {
	if at > floor && s[at-1] == '"' {
		// a quoted local part: up to 64 bytes back to the opening quote,
		// without control characters or '@'
		for k := at - 2; k >= floor && k >= at-66; k-- {
			if s[k] < 0x20 || s[k] == 0x7f || s[k] == '@' {
				break
			}
			if s[k] == '"' {
				if k == at-2 {
					break
				}
				return k
			}
		}
		return at
	}
	start := at
	for start > floor {
		if c := s[start-1]; c < utf8.RuneSelf {
			if !isLocalChar(c) {
				break
			}
			start--
			continue
		}
		r, n := utf8.DecodeLastRuneInString(s[floor:start])
		if !wordRune(r) {
			break
		}
		start -= n
	}
	for start < at && s[start] == '.' {
		start++
	}
	return start
}

// domainEnd returns the end of the domain starting at from.
func domainEnd(s string, from int) int {
	end := from
	for end < len(s) {
		if c := s[end]; c < utf8.RuneSelf {
			if !isDomainChar(c) {
				break
			}
			end++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[end:])
		if !wordRune(r) {
			break
		}
		end += n
	}
	for end > from && (s[end-1] == '.' || s[end-1] == '-') {
		end--
	}
	return end
}

func findEmails(s string, dst [][2]int) [][2]int {
	from, floor := 0, 0
	for {
		k := strings.IndexByte(s[from:], '@')
		if k < 0 {
			return dst
		}
		at := from + k
		from = at + 1
		start := localStart(s, at, floor)
		if start == at {
			continue
		}
		end := domainEnd(s, at+1)
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
	for _, r := range last {
		if r < utf8.RuneSelf && !isAlpha(byte(r)) || r >= utf8.RuneSelf && !unicode.IsLetter(r) && !unicode.IsMark(r) {
			return false
		}
	}
	return true
}
