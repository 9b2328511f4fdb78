package pgsql

import (
	"fmt"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// scrubLiterals replaces by further $n parameters the literal tokens that
// pg_query's normalization leaves in its output: it replaces the constants
// of expressions, but not those of most utility statements (COMMENT ... IS
// '...', EXECUTE p('...'), the query of PREPARE, CREATE VIEW and CREATE
// TABLE ... AS, OPTIONS (password '...'), a BEGIN ATOMIC body, type
// modifiers, sequence and storage parameters). PostgreSQL's own scanner
// finds them, the way the shape cache finds literals. A text the scanner
// rejects has no redacted form: the error leaves the record without text
// (fail closed).
func scrubLiterals(norm string) (string, error) {
	// The Go lexer is sure of most DML: no literal left, nothing to do.
	if key, _, sure := fastShapeKey(norm); sure && key != "" && !strings.Contains(key, "\x00") {
		return norm, nil
	}
	res, err := pg_query.Scan(norm)
	if err != nil {
		return "", fmt.Errorf("scanning normalized statement: %w", err)
	}
	next := 1
	for _, t := range res.Tokens {
		if t.Token == pg_query.Token_PARAM && int(t.Start) < int(t.End) && int(t.End) <= len(norm) {
			if n, err := strconv.Atoi(norm[t.Start+1 : t.End]); err == nil && n >= next {
				next = n + 1
			}
		}
	}
	var b strings.Builder
	b.Grow(len(norm))
	last := 0
	for _, t := range res.Tokens {
		switch t.Token {
		case pg_query.Token_ICONST, pg_query.Token_FCONST, pg_query.Token_SCONST,
			pg_query.Token_BCONST, pg_query.Token_XCONST, pg_query.Token_USCONST:
			start, stop := int(t.Start), int(t.End)
			if start < last || stop > len(norm) || start > stop {
				return "", fmt.Errorf("scanning normalized statement: token at %d out of order", start)
			}
			b.WriteString(norm[last:start])
			b.WriteString("$" + strconv.Itoa(next))
			next++
			last = stop
		}
	}
	b.WriteString(norm[last:])
	return b.String(), nil
}
