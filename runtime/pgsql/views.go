package pgsql

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// View is the lineage of a view's columns. The proxy builds it from the
// catalog (pg_get_viewdef and the view's column names) with
// ViewFromDefinition, so masking rules that name base table columns reach
// through views.
type View struct {
	Columns []string
	Outputs []Lineage
	// Reads is every column the view's query reads (Analyzed.Reads): a
	// statement that reads the view computes them all, used or not (a
	// DISTINCT or a filter of the view needs them).
	Reads Lineage
	// Code is the functions outside the built-in safe set the view's
	// query calls, and Relations the relations it reads: ExpandViews
	// follows them into views of views for Analyzed.ViewCode.
	Code      []string
	Relations []string
	// Table is set for a table (not a view) that has generated columns,
	// built by GeneratedColumns: its plain columns are themselves, its
	// generated columns carry the lineage of their expressions, and
	// expansion stops there (they read the same row).
	Table bool
}

// GeneratedColumns returns the lineage of the columns of table (as
// lineage writes it) when some of them are generated: generated maps such
// a column to its expression as the catalog prints it (pg_get_expr). A
// stored generated column holds a value computed from the other columns of
// its row, so reading it reads them. An expression calling a function
// outside the safe set has unknown lineage: the function ran when the row
// was written and may have stored anything. opts must resolve names as
// the session that printed the expressions did.
func GeneratedColumns(table string, columns []string, generated map[string]string, opts Options) (*View, error) {
	v := &View{Columns: columns, Outputs: make([]Lineage, len(columns)), Table: true}
	for i, c := range columns {
		expr, ok := generated[c]
		if !ok {
			v.Outputs[i] = Lineage{Sources: []string{ColumnSource(table, c)}, Direct: true}
			continue
		}
		res, err := Analyze("SELECT "+expr+" FROM "+table, opts)
		if err != nil {
			return nil, fmt.Errorf("analyzing generated column %s of %s: %w", c, table, err)
		}
		if len(res) != 1 || res[0].Statement.Tag != "SELECT" || len(res[0].Outputs) != 1 {
			return nil, fmt.Errorf("analyzing generated column %s of %s: not a single expression", c, table)
		}
		out := res[0].Outputs[0]
		out.Direct = false // a computed value, never the column's own
		if res[0].Statement.Forbidden != "" || len(res[0].Statement.Functions) > 0 {
			out.Unknown = true
		}
		v.Outputs[i] = out
	}
	return v, nil
}

// ViewFromDefinition analyzes a view's defining query. opts must resolve
// names as the session that rendered the definition did.
func ViewFromDefinition(columns []string, definition string, opts Options) (*View, error) {
	all, err := analyze(definition, opts)
	if err != nil {
		return nil, fmt.Errorf("analyzing view definition: %w", err)
	}
	res := all.out
	if len(res) != 1 || res[0].Statement.Tag != "SELECT" {
		return nil, errors.New("analyzing view definition: not a single SELECT")
	}
	outs := res[0].Outputs
	v := &View{Columns: columns, Outputs: outs, Reads: res[0].Reads, Code: res[0].Statement.Functions}
	for _, x := range res[0].Statement.Accesses {
		if x.Table != "" && !(all.settingsGateOnly[0] && x == settingsGate) {
			// (The select on pg_settings that reading configuration
			// needs is a grant the statement must hold, not a relation
			// the view reads: settingsread.go.)
			v.Relations = append(v.Relations, x.Table)
		}
	}
	if all.credentialOnly[0] && len(outs) == len(columns) {
		// A catalog view over credentials (pg_user_mappings over
		// pg_user_mapping.umoptions, pg_shadow over
		// pg_authid.rolpassword): a statement naming the credential
		// column itself is forbidden (credentials.go); the columns
		// computed from credentials are of unknown origin, so that a
		// view exposing them under another name is denied where
		// masking applies, and the others keep their lineage (pg_user,
		// over pg_shadow, stays readable there).
		v.Outputs = make([]Lineage, len(outs))
		for i, o := range outs {
			v.Outputs[i] = o
			if credentialSource(o) {
				v.Outputs[i].Unknown = true
				v.Outputs[i].Direct = false
			}
		}
		return v, nil
	}
	if res[0].Statement.Forbidden != "" || len(outs) != len(columns) {
		// A query the gateway refuses to run (one reading pg_stats,
		// whose values are copies of every table's columns), or a star
		// the catalog did not expand: every column may carry anything.
		all := union(outs)
		all.Unknown = true
		v.Outputs = make([]Lineage, len(columns))
		for i := range v.Outputs {
			v.Outputs[i] = all
		}
	}
	return v, nil
}

// maxViewDepth bounds views over views; deeper lineage becomes Unknown.
const maxViewDepth = 16

// ExpandViews returns a copy of a whose output lineage, filter columns,
// writes and reads name, instead of view columns, the columns the views read
// (through views of views), or a itself when none of them is in a view.
// resolve returns nil for relations that are not views.
func (a *Analyzed) ExpandViews(resolve func(table string) *View) *Analyzed {
	if !a.readsView(resolve) {
		return a // nothing to expand: spare the copy
	}
	r := *a
	r.Outputs = make([]Lineage, len(a.Outputs))
	for i, o := range a.Outputs {
		r.Outputs[i] = expandLineage(o, resolve, 0)
	}
	// What the statement stores: a copy of a view's column is a copy of
	// what the view reads.
	r.Writes = expandLineage(a.Writes, resolve, 0)
	// A view read without naming any of its columns (count(*)) still
	// computes what it reads.
	reads := Lineage{Sources: append([]string(nil), a.Reads.Sources...), Unknown: a.Reads.Unknown}
	for _, x := range a.Statement.Accesses {
		if x.Table == "" {
			continue
		}
		if v := resolve(x.Table); v != nil && !v.Table {
			reads.Sources = append(reads.Sources, x.Table+".*")
		}
	}
	r.Reads = expandReads(reads, resolve, 0)
	code := map[string]bool{}
	for _, x := range a.Statement.Accesses {
		if x.Table != "" {
			viewCode(x.Table, resolve, 0, code)
		}
	}
	r.ViewCode = setList(code)
	if len(a.Statement.FilterColumns) > 0 {
		typedOnly := map[string]bool{}
		for _, t := range a.TypedFilters {
			for _, c := range t.Reads {
				typedOnly[c] = true
			}
		}
		var acc, genuine linAcc
		for _, f := range a.Statement.FilterColumns {
			l := expandLineage(Lineage{Sources: []string{f}}, resolve, 0)
			acc.addLineage(l)
			if !typedOnly[f] {
				genuine.addLineage(l)
			}
		}
		l := acc.lineage()
		r.Statement.FilterColumns = l.Sources
		r.FilterUnknown = r.FilterUnknown || l.Unknown
		if len(a.TypedFilters) > 0 {
			r.TypedFilters = expandTyped(a.TypedFilters, resolve, toSet(genuine.lineage().Sources))
		}
	}
	return &r
}

// readsView reports whether a source of an output or a filter column is
// in a relation that resolve says is a view.
func (a *Analyzed) readsView(resolve func(table string) *View) bool {
	for _, o := range a.Outputs {
		for _, s := range o.Sources {
			if t, _ := splitColumn(s); resolve(t) != nil {
				return true
			}
		}
	}
	for _, f := range a.Statement.FilterColumns {
		if t, _ := splitColumn(f); resolve(t) != nil {
			return true
		}
	}
	for _, s := range append(a.Writes.Sources, a.Reads.Sources...) {
		if t, _ := splitColumn(s); resolve(t) != nil {
			return true
		}
	}
	for _, x := range a.Statement.Accesses {
		if x.Table != "" && resolve(x.Table) != nil {
			return true
		}
	}
	return false
}

func expandLineage(l Lineage, resolve func(string) *View, depth int) Lineage {
	var acc linAcc
	acc.unknown = l.Unknown
	changed, direct := false, l.Direct
	for _, s := range l.Sources {
		table, col := splitColumn(s)
		v := resolve(table)
		if v == nil {
			acc.add(s)
			continue
		}
		changed = true
		if depth >= maxViewDepth {
			acc.add(s)
			acc.unknown = true
			continue
		}
		var sub Lineage
		if col == "*" {
			sub = union(v.Outputs)
		} else if i := indexOf(v.Columns, col); i >= 0 && i < len(v.Outputs) {
			sub = v.Outputs[i]
		} else if v.Table {
			// A system column, or a name the proxy checks as field
			// notation (checkFieldNotation): the table's own.
			sub = Lineage{Sources: []string{s}, Direct: true}
		} else if slices.Contains(l.Sources, table+".*") {
			// A bare alias (SELECT v FROM view v) is reported as both
			// view.v and view.*: the view has no column v, so it is the
			// whole row. (Field notation, v.f, is f(v): the proxy
			// checks f as it checks a built-in called without a schema.)
			sub = union(v.Outputs)
		} else {
			sub = union(v.Outputs)
			sub.Unknown = true
		}
		if !v.Table {
			sub = expandLineage(sub, resolve, depth+1)
		}
		direct = direct && sub.Direct
		acc.addLineage(sub)
	}
	if !changed {
		return l
	}
	out := acc.lineage()
	out.Star = l.Star
	out.Direct = direct && len(out.Sources) == 1 && !out.Unknown
	return out
}

// expandReads is expandLineage for Reads: reading any column of a view
// reads everything the view reads.
func expandReads(l Lineage, resolve func(string) *View, depth int) Lineage {
	var acc linAcc
	acc.unknown = l.Unknown
	changed := false
	for _, s := range l.Sources {
		table, _ := splitColumn(s)
		v := resolve(table)
		if v == nil {
			acc.add(s)
			continue
		}
		changed = true
		if depth >= maxViewDepth {
			acc.add(s)
			acc.unknown = true
			continue
		}
		if v.Table {
			// A table's column reads itself; a generated one also what
			// its expression read.
			acc.add(s)
			if _, col := splitColumn(s); col == "*" {
				acc.addLineage(union(v.Outputs))
			} else if i := indexOf(v.Columns, col); i >= 0 && i < len(v.Outputs) {
				acc.addLineage(v.Outputs[i])
			}
			continue
		}
		acc.addLineage(expandReads(union(append([]Lineage{v.Reads}, v.Outputs...)), resolve, depth+1))
	}
	if !changed {
		return l
	}
	return acc.lineage()
}

// viewCode adds to code the functions outside the safe set that view
// table calls, itself or through the views it reads.
func viewCode(table string, resolve func(string) *View, depth int, code map[string]bool) {
	v := resolve(table)
	if v == nil {
		return
	}
	if depth >= maxViewDepth {
		code["views nested too deeply"] = true
		return
	}
	for _, f := range v.Code {
		code[f] = true
	}
	for _, t := range v.Relations {
		viewCode(t, resolve, depth+1, code)
	}
}

// splitColumn splits schema.table.column at its last unquoted dot.
func splitColumn(s string) (table, col string) {
	inQuote := false
	last := -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case '.':
			if !inQuote {
				last = i
			}
		}
	}
	if last < 0 {
		return s, ""
	}
	col = s[last+1:]
	if strings.HasPrefix(col, `"`) && strings.HasSuffix(col, `"`) && len(col) >= 2 && col != `"*"` {
		col = strings.ReplaceAll(col[1:len(col)-1], `""`, `"`)
	}
	return s[:last], col
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}
