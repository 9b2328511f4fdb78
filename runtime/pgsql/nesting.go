package pgsql

import (
	"errors"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// maxNesting bounds the nesting a statement may reach, as nestingBound
// estimates it from tokens, before pg_query builds its tree. PostgreSQL's
// grammar builds a left-associative chain (1+1+1..., a::int::int..., JOIN
// after JOIN, UNION after UNION) iteratively, however long, but pg_query
// writes the tree out recursively in C: past about 25,000 levels that
// overflows the thread's stack and kills the whole gateway (a SIGSEGV in
// cgo cannot be recovered). Trees deeper than a few thousand levels are
// refused anyway (maxDepth; protobuf's recursion limit), so the bound only
// turns a crash into a denial.
const maxNesting = 10000

// ErrTooDeep is returned for a query string that nests past maxNesting.
var ErrTooDeep = errors.New("statement nests too deeply to analyze")

// checkNesting scans sql (PostgreSQL's scanner is flat: no recursion) and
// refuses it when nestingBound exceeds maxNesting.
func checkNesting(sql string) error {
	res, err := pg_query.Scan(sql)
	if err != nil {
		return nil // the parser reports the syntax error
	}
	if nestingBound(res.Tokens) > maxNesting {
		return ErrTooDeep
	}
	return nil
}

// nestingBound over-estimates the depth of the tree the tokens parse to:
// every bracket opens a level, and every token other than a name, a
// constant or a list separator (',', ';' and the flattened AND and OR) may
// add one to the operand chain it is in.
func nestingBound(tokens []*pg_query.ScanToken) int {
	type level struct{ base, cur int }
	var stack []level
	base, cur, most := 0, 0, 0
	for _, t := range tokens {
		switch t.Token {
		case pg_query.Token_ASCII_40, pg_query.Token_ASCII_91: // ( [
			stack = append(stack, level{base, cur})
			base = cur + 1
			cur = base
		case pg_query.Token_ASCII_41, pg_query.Token_ASCII_93: // ) ]
			if n := len(stack); n > 0 {
				base, cur = stack[n-1].base, stack[n-1].cur
				stack = stack[:n-1]
			}
		case pg_query.Token_ASCII_44, pg_query.Token_ASCII_59, pg_query.Token_AND, pg_query.Token_OR:
			cur = base
		case pg_query.Token_IDENT, pg_query.Token_UIDENT, pg_query.Token_ICONST, pg_query.Token_FCONST,
			pg_query.Token_SCONST, pg_query.Token_USCONST, pg_query.Token_BCONST, pg_query.Token_XCONST,
			pg_query.Token_PARAM, pg_query.Token_SQL_COMMENT, pg_query.Token_C_COMMENT, pg_query.Token_ASCII_46:
		default:
			cur++
		}
		most = max(most, cur)
	}
	return most
}
