package pgsql

import "strings"

// scope is one query level: its FROM items and the CTEs its WITH defines.
// Column references resolve through the chain of enclosing scopes.
type scope struct {
	parent *scope
	ctes   map[string]*cte
	items  []*item
}

func (s *scope) child() *scope { return &scope{parent: s} }

// cte is a WITH query visible by name.
type cte struct {
	rel *relation
}

func (s *scope) lookupCTE(name string) *cte {
	for x := s; x != nil; x = x.parent {
		if c, ok := x.ctes[name]; ok {
			return c
		}
	}
	return nil
}

// relation is the column set of a derived FROM item (subquery, CTE,
// function): known names with their lineage, and an open part when a star or
// a function hides some of its columns.
type relation struct {
	cols []string
	lins []Lineage
	// open is set when some columns are not known by name; openLin is what
	// may flow into any of them.
	open    bool
	openLin Lineage
}

// relationOf builds the relation of a query's outputs.
func relationOf(names []string, outs []Lineage) *relation {
	r := &relation{}
	var open []Lineage
	for i, l := range outs {
		if l.Star {
			open = append(open, l)
			continue
		}
		name := unknownName
		if i < len(names) {
			name = names[i]
		}
		if name == unknownName {
			// A column the analyzer cannot name may be the one any name
			// reaches (firstOutputName).
			open = append(open, l)
			continue
		}
		r.cols = append(r.cols, name)
		r.lins = append(r.lins, l)
	}
	if len(open) > 0 {
		r.open = true
		r.openLin = union(open)
	}
	return r
}

// openRelation is a relation none of whose column names are known.
func openRelation(l Lineage) *relation { return &relation{open: true, openLin: l} }

// rename applies an alias column list positionally.
func (r *relation) rename(names []string) *relation {
	if len(names) == 0 {
		return r
	}
	if r.open {
		// Positions are unknown past a star: every alias may carry anything.
		all := union(append(append([]Lineage{}, r.lins...), r.openLin))
		return openRelation(all)
	}
	n := &relation{cols: append([]string(nil), r.cols...), lins: r.lins}
	for i, name := range names {
		if i < len(n.cols) {
			n.cols[i] = name
		}
	}
	return n
}

func (r *relation) all() Lineage {
	ls := append([]Lineage{}, r.lins...)
	if r.open {
		ls = append(ls, r.openLin)
	}
	return union(ls)
}

// column returns the lineage of a named column; ok is false when the name
// is not known to be there.
func (r *relation) column(name string) (Lineage, bool) {
	for i, c := range r.cols {
		if c == name {
			return r.lins[i], true
		}
	}
	if r.open {
		// A star hides the column: map schema.table.* to schema.table.name.
		var acc linAcc
		for _, s := range r.openLin.Sources {
			if strings.HasSuffix(s, ".*") {
				acc.add(strings.TrimSuffix(s, "*") + ident(name))
			} else {
				acc.add(s)
			}
		}
		acc.unknown = r.openLin.Unknown
		return acc.lineage(), true
	}
	return Lineage{}, false
}

// systemColumns are the columns PostgreSQL gives every table. They hold no
// column's value but say something of every column: ctid where the row is
// stored (which depends on the size of the values stored before it, and
// changes when they are updated), xmin, xmax, cmin and cmax which
// transaction wrote it last, and tableoid which partition holds it (which
// depends on the partition key). Each reads the whole row (table.*), as a
// column alias list does: where masking applies it is masked, and a filter
// on it is a filter on every column.
var systemColumns = setOf(`ctid xmin xmax cmin cmax tableoid`)

// item is one FROM item of a scope.
type item struct {
	// name is how the query qualifies the item's columns (alias or name).
	name string
	// table is schema.table for a base relation, "" for derived items.
	table string
	// aliased is set when an alias hides the relation's own name.
	aliased bool
	// colAliased is set for a base relation with a column alias list, whose
	// aliases cannot be mapped to real columns without the catalog.
	colAliased bool
	// rel is the column set of a derived item.
	rel *relation
	// used is set when a column reference resolved to this item.
	used bool
}

// col returns the lineage of a column of this item.
func (it *item) col(name string) (Lineage, bool) {
	it.used = true
	if it.table != "" {
		if it.colAliased || systemColumns[name] {
			return Lineage{Sources: []string{it.table + ".*"}}, true
		}
		return Lineage{Sources: []string{it.table + "." + ident(name)}, Direct: true}, true
	}
	return it.rel.column(name)
}

// star returns the lineage of item.* (every column of the item).
func (it *item) star() Lineage {
	it.used = true
	if it.table != "" {
		return Lineage{Sources: []string{it.table + ".*"}, Star: true}
	}
	l := it.rel.all()
	l.Star = true
	return l
}

// resolve finds what a column reference (its name parts; "*" for a star)
// reads. Unqualified names that could belong to several items list every
// candidate, including those of enclosing query levels, since only the
// catalog could tell them apart.
func (s *scope) resolve(parts []string) Lineage {
	if len(parts) == 0 {
		return Lineage{Unknown: true}
	}
	last := parts[len(parts)-1]
	qual := parts[:len(parts)-1]
	if len(qual) == 0 {
		if last == "*" {
			return s.starAll()
		}
		return s.resolveBare(last)
	}
	it := s.findItem(qual)
	if it == nil {
		return Lineage{Unknown: true}
	}
	if last == "*" {
		return it.star()
	}
	l, ok := it.col(last)
	if !ok {
		l = it.rel.all()
		l.Unknown = true
		l.Direct = false
	}
	return l
}

// findItem finds the item a qualifier names: alias or relation name, or
// schema.relation (database.schema.relation) for unaliased base relations.
func (s *scope) findItem(qual []string) *item {
	if len(qual) > 2 {
		qual = qual[len(qual)-2:]
	}
	for x := s; x != nil; x = x.parent {
		for _, it := range x.items {
			if len(qual) == 1 && it.name == qual[0] {
				return it
			}
			if len(qual) == 2 && !it.aliased && it.table == ident(qual[0])+"."+ident(qual[1]) {
				return it
			}
		}
	}
	return nil
}

func (s *scope) resolveBare(name string) Lineage {
	var acc linAcc
	found, direct := 0, false
	for x := s; x != nil; x = x.parent {
		definite := false
		for _, it := range x.items {
			if it.table == "" {
				if l, ok := it.rel.column(name); ok {
					acc.addLineage(l)
					found++
					direct = l.Direct
					if !it.rel.open {
						definite = true
					}
					it.used = true
				}
				continue
			}
			l, _ := it.col(name)
			acc.addLineage(l)
			found++
			direct = l.Direct
		}
		// A whole-row reference uses the item's name as a value.
		for _, it := range x.items {
			if it.name == name {
				acc.addLineage(it.star())
				found++
			}
		}
		if definite {
			break
		}
	}
	if found == 0 {
		// No FROM item: a reference PostgreSQL would reject, or an
		// unresolved name; nothing is known.
		return Lineage{Unknown: true}
	}
	l := acc.lineage()
	l.Direct = found == 1 && direct && len(l.Sources) == 1
	return l
}

// starAll is the lineage of an unqualified * over this level's items.
func (s *scope) starAll() Lineage {
	ls := make([]Lineage, 0, len(s.items))
	for _, it := range s.items {
		ls = append(ls, it.star())
	}
	l := union(ls)
	l.Star = true
	return l
}
