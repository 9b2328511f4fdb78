package pgsql

import (
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// A shape key is the query string with every literal token replaced by a
// marker naming its token type: "s", then the bytes outside literals
// verbatim (whitespace and comments included), each literal written as
// "\x00<token type>\x01" (NUL never occurs in a cached text). Two strings
// share a key exactly when they differ only in the values of literals of
// the same token types, so they parse to the same tree up to those values,
// and pg_query normalizes them to the same text.

// shapeKey returns the shape key of a single-statement string and the
// statement text Analyze would report. ok is false for strings the shape
// cache must not serve: several statements, Unicode-escaped identifiers or
// strings (UESCAPE takes a literal), or a scanner error. It tries the Go
// lexer first and falls back to PostgreSQL's scanner when the Go lexer is
// unsure.
func shapeKey(sql string) (key, text string, ok bool) {
	if key, text, sure := fastShapeKey(sql); sure {
		return key, text, key != ""
	}
	return scanShapeKey(sql)
}

// Token types of literals in shape keys, as PostgreSQL's scanner numbers
// them.
var (
	iconstMark = literalMark(pg_query.Token_ICONST)
	fconstMark = literalMark(pg_query.Token_FCONST)
	sconstMark = literalMark(pg_query.Token_SCONST)
)

func literalMark(t pg_query.Token) string {
	return "\x00" + strconv.Itoa(int(t)) + "\x01"
}

// fastShapeKey is shapeKey in Go for the common subset of SQL: ASCII text
// with identifiers, quoted identifiers, operators, $n parameters, plain
// '...' strings and decimal numbers. sure is false when the text holds
// anything else (comments, dollar quotes, E'x', B'x', X'x', U&'x', N'x' and other
// prefixed strings, backslashes in strings, adjacent strings, numbers with
// exponents, underscores, radix prefixes or trailing junk, non-ASCII
// bytes): the caller then asks PostgreSQL's scanner. When sure, key is ""
// for a string the shape cache must not serve (several statements, only
// whitespace). When sure and key is not "", it equals scanShapeKey's key.
func fastShapeKey(sql string) (key, text string, sure bool) {
	var b strings.Builder
	b.Grow(len(sql) + 8)
	b.WriteByte('s')
	n := len(sql)
	last := 0 // start of the verbatim run not yet written
	end := -1 // position of the terminating semicolon
	seen := false
	for i := 0; i < n; {
		c := sql[i]
		switch {
		case c >= 0x80, c < ' ' && c != '\t' && c != '\n' && c != '\r', c == 0x7f:
			return "", "", false
		case c == ';':
			for j := i + 1; j < n; j++ {
				if !isSpace(sql[j]) {
					return "", "", sql[j] < 0x80 && sql[j] != '-' && sql[j] != '/'
				}
			}
			end = i
			i = n
		case c == '-' && i+1 < n && sql[i+1] == '-', c == '/' && i+1 < n && sql[i+1] == '*':
			return "", "", false // comments: PostgreSQL's scanner decides
		case c == '"':
			j := i + 1
			for {
				k := strings.IndexByte(sql[j:], '"')
				if k < 0 {
					return "", "", false
				}
				j += k + 1
				if j < n && sql[j] == '"' {
					j++
					continue
				}
				break
			}
			if j == i+2 || i > 0 && (sql[i-1] == '&' || identByte(sql[i-1])) {
				return "", "", false // "", U&"...", or a quote glued to a word
			}
			i = j
			seen = true
		case c == '\'':
			if i > 0 && (identByte(sql[i-1]) || sql[i-1] == '&' || sql[i-1] == '\'') {
				return "", "", false // E'', B'', X'', N'', U&'' ...
			}
			j := i + 1
			for {
				k := strings.IndexAny(sql[j:], "'\\")
				if k < 0 || sql[j+k] == '\\' {
					return "", "", false // unterminated, or a backslash
				}
				j += k + 1
				if j < n && sql[j] == '\'' {
					j++
					continue
				}
				break
			}
			// Strings separated by whitespace holding a newline are one
			// literal to PostgreSQL: leave them to its scanner.
			k := j
			for k < n && isSpace(sql[k]) {
				k++
			}
			if k < n && sql[k] == '\'' {
				return "", "", false
			}
			b.WriteString(sql[last:i])
			b.WriteString(sconstMark)
			last, i = j, j
			seen = true
		case c == '$':
			// A parameter ($1) or, glued to a word, part of an identifier;
			// anything else may open a dollar quote.
			if !(i+1 < n && isDigit(sql[i+1])) && !(i > 0 && identByte(sql[i-1])) {
				return "", "", false
			}
			i++
			seen = true
		case isDigit(c) || c == '.' && i+1 < n && isDigit(sql[i+1]):
			if i > 0 && (identByte(sql[i-1]) || sql[i-1] == '.') {
				if c == '.' || sql[i-1] == '.' {
					return "", "", false // 1.5.6, t.1: let the scanner split it
				}
				i++ // part of an identifier or a $n parameter
				continue
			}
			if c == '.' {
				return "", "", false
			}
			j := i
			for j < n && isDigit(sql[j]) {
				j++
			}
			mark := iconstMark
			if j < n && sql[j] == '.' {
				if j+1 < n && sql[j+1] == '.' {
					return "", "", false // 1..2
				}
				mark = fconstMark
				j++
				for j < n && isDigit(sql[j]) {
					j++
				}
			}
			if j < n && (identByte(sql[j]) || sql[j] == '.') {
				return "", "", false // exponents, 0x, 1_000, junk
			}
			if mark == iconstMark {
				if _, err := strconv.ParseInt(sql[i:j], 10, 32); err != nil {
					mark = fconstMark // PostgreSQL: too big for int4
				}
			}
			b.WriteString(sql[last:i])
			b.WriteString(mark)
			last, i = j, j
			seen = true
		default:
			if !isSpace(c) {
				seen = true
			}
			i++
		}
	}
	if !seen {
		return "", "", true
	}
	b.WriteString(sql[last:])
	if end < 0 {
		end = n
	}
	return b.String(), strings.TrimSpace(sql[:end]), true
}

// scanShapeKey builds the shape key from PostgreSQL's own scanner.
func scanShapeKey(sql string) (key, text string, ok bool) {
	res, err := pg_query.Scan(sql)
	if err != nil || len(res.Tokens) == 0 {
		return "", "", false
	}
	var b strings.Builder
	b.Grow(len(sql) + 8)
	b.WriteString("s")
	end := len(sql)
	last := 0
	seen := false
	for i, t := range res.Tokens {
		start, stop := int(t.Start), int(t.End)
		if start < last || stop > len(sql) || start > stop {
			return "", "", false
		}
		switch t.Token {
		case pg_query.Token_SQL_COMMENT, pg_query.Token_C_COMMENT:
			continue
		case pg_query.Token_ASCII_59:
			if i != len(res.Tokens)-1 && !onlyCommentsAfter(res.Tokens[i+1:]) {
				return "", "", false
			}
			end = start
			continue
		case pg_query.Token_UIDENT, pg_query.Token_UESCAPE, pg_query.Token_USCONST:
			return "", "", false
		case pg_query.Token_ICONST, pg_query.Token_FCONST, pg_query.Token_SCONST,
			pg_query.Token_BCONST, pg_query.Token_XCONST:
			b.WriteString(sql[last:start])
			b.WriteString(literalMark(t.Token))
			last = stop
		}
		seen = true
	}
	if !seen {
		return "", "", false
	}
	b.WriteString(sql[last:])
	return b.String(), strings.TrimSpace(sql[:end]), true
}

func onlyCommentsAfter(ts []*pg_query.ScanToken) bool {
	for _, t := range ts {
		if t.Token != pg_query.Token_SQL_COMMENT && t.Token != pg_query.Token_C_COMMENT {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func identByte(c byte) bool {
	return c == '_' || c == '$' || isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// isSpace is PostgreSQL's scanner whitespace.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}
