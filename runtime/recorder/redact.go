package recorder

import "strings"

// DefaultRedact replaces the literals of a SQL statement (quoted strings,
// dollar-quoted strings, numbers) with "?" and drops comments (a nested
// block comment whole). It is the fallback when the gateway supplies no
// redactor; it never fails, and an unterminated literal or comment is
// redacted to the end of the text.
func DefaultRedact(sql string) string {
	var b strings.Builder
	b.Grow(len(sql))
	n := len(sql)
	for i := 0; i < n; {
		c := sql[i]
		switch {
		case c == '\'' || ((c == 'E' || c == 'e' || c == 'B' || c == 'b' || c == 'X' || c == 'x') && i+1 < n && sql[i+1] == '\'' && !identByte(prev(sql, i))):
			if c != '\'' {
				i++
			}
			i = skipQuoted(sql, i+1, c == 'E' || c == 'e')
			b.WriteByte('?')
		case c == '"':
			j := i + 1
			for j < n && sql[j] != '"' {
				j++
			}
			if j == n { // unterminated: the rest may hide a literal
				b.WriteByte('?')
				i = n
				continue
			}
			j++
			b.WriteString(sql[i:j])
			i = j
		case c == '$' && i+1 < n && (sql[i+1] == '$' || identStart(sql[i+1])) && !identByte(prev(sql, i)):
			j := i + 1
			for j < n && (identStart(sql[j]) || isDigit(sql[j])) {
				j++
			}
			if j < n && sql[j] == '$' {
				tag := sql[i : j+1]
				end := strings.Index(sql[j+1:], tag)
				if end < 0 {
					i = n
				} else {
					i = j + 1 + end + len(tag)
				}
				b.WriteByte('?')
				continue
			}
			b.WriteString(sql[i:j])
			i = j
		case c == '-' && i+1 < n && sql[i+1] == '-':
			for i < n && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < n && sql[i+1] == '*':
			// Block comments nest in PostgreSQL: /* a /* b */ c */ is one.
			depth := 1
			for i += 2; i < n && depth > 0; {
				switch {
				case sql[i] == '/' && i+1 < n && sql[i+1] == '*':
					depth++
					i += 2
				case sql[i] == '*' && i+1 < n && sql[i+1] == '/':
					depth--
					i += 2
				default:
					i++
				}
			}
			b.WriteByte(' ')
		case c >= '0' && c <= '9' && !identByte(prev(sql, i)):
			j := i
			for j < n && (isDigit(sql[j]) || sql[j] == '.' || sql[j] == '_' || sql[j] == 'e' || sql[j] == 'E' ||
				((sql[j] == '+' || sql[j] == '-') && j > i && (sql[j-1] == 'e' || sql[j-1] == 'E')) ||
				(j == i+1 && (sql[j] == 'x' || sql[j] == 'X')) || isHex(sql[j]) && j > i && (sql[i+1] == 'x' || sql[i+1] == 'X')) {
				j++
			}
			b.WriteByte('?')
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// skipQuoted returns the index after the closing quote of a literal whose
// body starts at i; ” is an escaped quote, and \' too in E” strings.
func skipQuoted(s string, i int, backslash bool) int {
	for i < len(s) {
		switch {
		case backslash && s[i] == '\\' && i+1 < len(s):
			i += 2
		case s[i] == '\'' && i+1 < len(s) && s[i+1] == '\'':
			i += 2
		case s[i] == '\'':
			return i + 1
		default:
			i++
		}
	}
	return i
}

func prev(s string, i int) byte {
	if i == 0 {
		return ' '
	}
	return s[i-1]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
func identStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}
func identByte(c byte) bool { return identStart(c) || isDigit(c) || c == '$' }
