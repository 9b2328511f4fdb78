package pgproxy

import (
	"slices"

	"github.com/mandatehq/mandate/runtime/pgsql"
)

// COPY TO under masking. CopyData rows reach the client as the server
// sends them (text, CSV or binary, with no column boundaries the gateway
// could rely on), so nothing in them can be masked. Where masking applies, a
// COPY TO runs only when masking would change nothing it copies: no
// detectors are in force (they scan every text value) and no copied column
// is masked, by the lineage SELECT results are masked by. Anything that
// cannot be resolved denies.

// copiesOut reports a COPY ... TO statement.
func copiesOut(an *pgsql.Analyzed) bool {
	if an.Statement.Tag != "COPY" {
		return false
	}
	for _, a := range an.Statement.Accesses {
		if a.Class == "copy_out" {
			return true
		}
	}
	return false
}

// checkCopyOut returns why a COPY TO may not run under ms, or "" when it
// may. an is the statement as analyzed and exp the same with views
// expanded (an itself when it reads no view): a rule naming a view's
// column or a base column it reads masks the copied column. A source for
// every column of a relation (a COPY without a column list, a star, a
// whole-row reference), or for a column the relation does not have, stands
// for each column the catalog lists.
func (ss *session) checkCopyOut(an, exp *pgsql.Analyzed, ms *maskSet) string {
	if !ms.scanner.Empty() {
		return "COPY TO is not allowed where masking detectors apply: the gateway cannot scan COPY data; use SELECT"
	}
	if !ms.hasColumns {
		return ""
	}
	passes := []*pgsql.Analyzed{an}
	if exp != an {
		passes = append(passes, exp)
	}
	for _, p := range passes {
		for _, o := range p.Outputs {
			if o.Unknown {
				return "COPY TO is not allowed where masking applies and the origin of a copied column is unknown; use SELECT"
			}
			for _, src := range o.Sources {
				if reason := ss.copySource(src, ms, p == exp); reason != "" {
					return reason
				}
			}
		}
	}
	return ""
}

// copySource checks one lineage source of a copied column. In the
// expanded statement (expanded), a view left unexpanded denies.
func (ss *session) copySource(src string, ms *maskSet, expanded bool) string {
	const prefix = "COPY TO is not allowed where masking applies"
	rel, col, any, ok := pgsql.SplitSource(src)
	if !ok {
		return prefix + " and the origin of a copied column is unknown (" + src + "); use SELECT"
	}
	r, err := ss.srv.catalog.relation(ss.conn, rel)
	if err != nil {
		ss.srv.cfg.Logger.Warn("postgres relation lookup for COPY", "session", ss.rec.ID, "err", err)
		return prefix + " and the columns of " + rel + " could not be looked up (fail closed)"
	}
	switch {
	case r.kind == "":
		return prefix + " and " + rel + " is not in the catalog (fail closed); use SELECT"
	case expanded && r.isView():
		return prefix + " and view " + rel + " could not be expanded (fail closed); use SELECT"
	}
	cols := []string{col}
	if any || !slices.Contains(r.cols, col) {
		// A column the relation does not have is an unqualified name
		// another relation holds, or field notation calling a function
		// on the whole row (c.to_json is to_json(c)): the whole row.
		cols = r.cols
	}
	for _, c := range cols {
		// Both spellings: lineage quotes odd names, the catalog's
		// RowDescription lookup (catalog.column) does not.
		name := pgsql.ColumnSource(rel, c)
		if ms.column(name) != nil || ms.column(r.name+"."+c) != nil {
			return "COPY TO is not allowed: it copies the masked column " + name + "; use SELECT"
		}
	}
	return ""
}
