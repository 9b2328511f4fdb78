package pgproxy

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/mandatehq/mandate/runtime/pgsql"
)

// The analysis of trigger code (a WHEN clause, a PL/pgSQL function) and of
// rules (rules.go): what it reads and writes, whatever the masking rules.
// checkTriggerCode (triggers.go) judges it against them.

// triggerCode is what a trigger's WHEN clause or function (or a rule's
// WHERE clause or actions, rules.go) reads and writes, whatever the
// masking rules.
type triggerCode struct {
	// opaque says why the code counts as reading every column ("" when
	// it does not).
	opaque string
	// row are the columns of NEW and OLD it reads; wholeRow is set when
	// it uses NEW or OLD other than as NEW.column.
	row      []string
	wholeRow bool
	// reads are the columns of relations its statements read (lineage);
	// rels are the relations they read rows of.
	reads, rels []string
	// builtins and operators are named without a schema: a namesake in
	// the pinned search path's schema would run instead.
	builtins, operators []string
	writes              []writeTarget
	// stores is set when the code stores values other than by a write
	// statement: an assignment to NEW or a field of it (by :=, SELECT
	// INTO, FETCH INTO, a loop variable), or a RETURN of another row than
	// NEW, OLD or NULL, which a BEFORE trigger stores in NEW's place.
	stores bool
	// kept, when set, is the same code without what it computes but does
	// not store (a rule action's RETURNING, which the statement's own
	// RETURNING reads): what checkCopies judges.
	kept *triggerCode
}

// copies reports whether the code may store what it reads: it writes,
// stores values (stores), or cannot be followed (opaque).
func (tc *triggerCode) copies() bool {
	return tc.stores || len(tc.writes) > 0 || tc.opaque != ""
}

func (tc *triggerCode) fail(why string) {
	if tc.opaque == "" {
		tc.opaque = why
	}
}

// triggerWhen analyzes the WHEN clause of a trigger definition
// (pg_get_triggerdef); nil when it has none.
func triggerWhen(def string) *triggerCode {
	sc, err := pg_query.Scan(def)
	if err != nil {
		return &triggerCode{opaque: "could not be read"}
	}
	toks := sc.Tokens
	for i, t := range toks {
		if t.Token != pg_query.Token_WHEN {
			continue
		}
		tc := &triggerCode{}
		if i+1 >= len(toks) || toks[i+1].Token != pg_query.Token_ASCII_40 {
			tc.fail("could not be read")
			return tc
		}
		depth := 0
		for j := i + 1; j < len(toks); j++ {
			switch toks[j].Token {
			case pg_query.Token_ASCII_40:
				depth++
			case pg_query.Token_ASCII_41:
				depth--
			}
			if depth == 0 {
				tc.addSQL("SELECT " + def[toks[i+1].End:toks[j].Start])
				return tc
			}
		}
		tc.fail("could not be read")
		return tc
	}
	return nil
}

// triggerFunction analyzes a trigger function: lang is its language, src
// its source (prosrc), def its definition (pg_get_functiondef, for
// PL/pgSQL) and config its settings, one a line.
func triggerFunction(lang, src, def, config string) *triggerCode {
	tc := &triggerCode{}
	if lang != "plpgsql" {
		// SQL functions cannot return trigger; C, internal and other
		// languages are code the gateway cannot read.
		tc.fail("is written in " + lang)
		return tc
	}
	for _, c := range strings.Split(config, "\n") {
		if strings.HasPrefix(strings.ToLower(c), "search_path=") {
			tc.fail("sets its own search_path")
		}
	}
	// An alias (r ALIAS FOR NEW) names the whole row under another name.
	sc, err := pg_query.Scan(src)
	if err != nil {
		tc.fail("could not be read")
		return tc
	}
	for _, t := range sc.Tokens {
		if t.Token == pg_query.Token_IDENT && strings.EqualFold(src[t.Start:t.End], "alias") {
			tc.fail("declares an alias")
		}
	}
	js, err := pg_query.ParsePlPgSqlToJSON(def)
	if err != nil {
		tc.fail("could not be parsed")
		return tc
	}
	var tree any
	if err := json.Unmarshal([]byte(js), &tree); err != nil {
		tc.fail("could not be parsed")
		return tc
	}
	tc.walkPlpgsql(tree)
	tc.stores = tc.stores || assignsNew(tree)
	return tc
}

// assignsNew reports whether a PL/pgSQL function tree (ParsePlPgSqlToJSON)
// stores into NEW or a field of it: its statements name the variables
// they assign by number (varno, dno: an assignment, the target of SELECT
// INTO or FETCH, a loop variable), and NEW's number and those of its
// fields and of rows holding them are listed among the function's datums.
func assignsNew(tree any) bool {
	fns, _ := tree.([]any)
	for _, f := range fns {
		fn, _ := f.(map[string]any)["PLpgSQL_function"].(map[string]any)
		if fn == nil {
			continue
		}
		newNo, ok := fn["new_varno"].(float64)
		if !ok {
			continue
		}
		targets := map[int]bool{int(newNo): true}
		datums, _ := fn["datums"].([]any)
		for i, d := range datums {
			m, _ := d.(map[string]any)
			if rf, ok := m["PLpgSQL_recfield"].(map[string]any); ok {
				if p, _ := rf["recparentno"].(float64); int(p) == int(newNo) {
					targets[i] = true
				}
			}
		}
		for i, d := range datums {
			m, _ := d.(map[string]any)
			if row, ok := m["PLpgSQL_row"].(map[string]any); ok && numbersAny(row["fields"], targets) {
				targets[i] = true
			}
		}
		if numbersAny(fn["action"], targets) {
			return true
		}
	}
	return false
}

// numbersAny reports whether v holds a varno, dno or retvarno among
// targets.
func numbersAny(v any, targets map[int]bool) bool {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if numbersAny(e, targets) {
				return true
			}
		}
	case map[string]any:
		for k, e := range x {
			switch k {
			case "varno", "dno", "retvarno":
				if n, ok := e.(float64); ok && targets[int(n)] {
					return true
				}
			}
			if numbersAny(e, targets) {
				return true
			}
		}
	}
	return false
}

// walkPlpgsql analyzes every expression and statement of a PL/pgSQL
// function tree (ParsePlPgSqlToJSON), in a stable order.
func (tc *triggerCode) walkPlpgsql(v any) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			tc.walkPlpgsql(e)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			e := x[k]
			switch k {
			case "PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors", "dynquery":
				tc.fail("runs dynamic SQL (EXECUTE)")
				continue
			case "PLpgSQL_stmt_return":
				// RETURN NEW hands the row back; it reads nothing. Another
				// row is stored in NEW's place (a BEFORE trigger).
				if m, ok := e.(map[string]any); ok {
					if q := exprQuery(m["expr"]); q == "new" || q == "old" || q == "null" {
						continue
					}
					if m["expr"] != nil || m["retvarno"] != nil {
						tc.stores = true
					}
				}
			case "PLpgSQL_recfield":
				// A field of NEW, OLD or a record variable the code
				// names: counted as read, whatever it does with it.
				m, _ := e.(map[string]any)
				if f, _ := m["fieldname"].(string); f != "" && !slices.Contains(tc.row, f) {
					tc.row = append(tc.row, f)
				}
				continue
			case "PLpgSQL_expr":
				m, _ := e.(map[string]any)
				q, _ := m["query"].(string)
				mode, _ := m["parseMode"].(float64)
				tc.addExpr(q, int(mode))
				continue
			}
			tc.walkPlpgsql(e)
		}
	}
}

// exprQuery returns the text of a PLpgSQL_expr node, trimmed and lower
// case.
func exprQuery(v any) string {
	m, _ := v.(map[string]any)
	e, _ := m["PLpgSQL_expr"].(map[string]any)
	q, _ := e["query"].(string)
	return strings.ToLower(strings.TrimSpace(q))
}

// addExpr analyzes one PL/pgSQL expression, by its parse mode
// (RawParseMode): a statement, an expression, or an assignment.
func (tc *triggerCode) addExpr(q string, mode int) {
	switch mode {
	case 0: // RAW_PARSE_DEFAULT: an SQL statement
		tc.addSQL(q)
	case 2: // RAW_PARSE_PLPGSQL_EXPR
		tc.addSQL("SELECT " + q)
	case 3, 4, 5: // RAW_PARSE_PLPGSQL_ASSIGN1..3: target := expression
		// The target (NEW.col[i]) is read as well as the expression.
		sc, err := pg_query.Scan(q)
		if err != nil {
			tc.fail("could not be read")
			return
		}
		depth := 0
		for _, t := range sc.Tokens {
			switch t.Token {
			case pg_query.Token_ASCII_40, pg_query.Token_ASCII_91:
				depth++
			case pg_query.Token_ASCII_41, pg_query.Token_ASCII_93:
				depth--
			case pg_query.Token_COLON_EQUALS, pg_query.Token_ASCII_61:
				if depth == 0 {
					tc.addSQL("SELECT " + q[:t.Start] + ", " + q[t.End:])
					return
				}
			}
		}
		tc.fail("could not be read")
	default:
		tc.fail("could not be read")
	}
}

// addSQL analyzes one SQL statement of trigger code.
func (tc *triggerCode) addSQL(sql string) {
	as, err := pgsql.Analyze(sql, pgsql.Options{SearchPath: []string{PinnedSearchPath}})
	if err != nil || len(as) == 0 {
		tc.fail("could not be parsed")
		return
	}
	for _, a := range as {
		if a.Statement.Forbidden != "" {
			tc.fail("runs a statement no grant allows")
		}
		if len(a.Statement.Functions) > 0 {
			tc.fail("calls " + strings.Join(a.Statement.Functions, ", ") + ", outside the built-in safe set")
		}
		tc.builtins = append(tc.builtins, a.Builtins...)
		tc.operators = append(tc.operators, a.Operators...)
		tc.reads = append(tc.reads, a.Reads.Sources...)
		for _, x := range a.Statement.Accesses {
			var ev uint16
			switch x.Class {
			case "select":
				if !slices.Contains(tc.rels, x.Table) {
					tc.rels = append(tc.rels, x.Table)
				}
				continue
			case "insert":
				ev = trigInsert
			case "delete":
				ev = trigDelete
				if a.Statement.Tag == "TRUNCATE TABLE" {
					ev = trigTruncate
				}
			case "update":
				ev = trigUpdate
			default:
				tc.fail("needs " + x.Class + " access")
				continue
			}
			w := writeTarget{table: x.Table, events: ev, delete: ev == trigDelete}
			for _, s := range a.Assigns {
				if rel, col, all, ok := pgsql.SplitSource(s); ok && rel == x.Table {
					if all {
						col = "*"
					}
					w.cols = append(w.cols, col)
					if slices.Contains(a.Updates, s) {
						w.updCols = append(w.updCols, col)
					}
				}
			}
			tc.writes = append(tc.writes, w)
		}
	}
	js, err := pg_query.ParseToJSON(sql)
	if err != nil {
		tc.fail("could not be parsed")
		return
	}
	var tree any
	if err := json.Unmarshal([]byte(js), &tree); err != nil {
		tc.fail("could not be parsed")
		return
	}
	tc.rowRefs(tree)
}

// rowRefs collects the references to NEW and OLD of a parse tree
// (pg_query.ParseToJSON).
func (tc *triggerCode) rowRefs(v any) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			tc.rowRefs(e)
		}
	case map[string]any:
		if ref, ok := x["ColumnRef"].(map[string]any); ok {
			fields, _ := ref["fields"].([]any)
			names := make([]string, len(fields)) // "" for *
			for i, f := range fields {
				m, _ := f.(map[string]any)
				s, _ := m["String"].(map[string]any)
				names[i], _ = s["sval"].(string)
			}
			if len(names) > 0 && (strings.EqualFold(names[0], "new") || strings.EqualFold(names[0], "old")) {
				if len(names) == 1 || names[1] == "" {
					tc.wholeRow = true
				} else if !slices.Contains(tc.row, names[1]) {
					tc.row = append(tc.row, names[1])
				}
			}
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			tc.rowRefs(x[k])
		}
	}
}
