package pgsql

import "strings"

// Lineage sources name columns schema.table.column and accesses name
// relations schema.table, each part as the catalog stores it (case kept),
// double-quoted when it holds '.', '"' or '*' (see ident). These helpers
// take such names apart for callers that look them up in the catalog.

// SplitRelation returns the unquoted schema and relation name of a relation
// written as accesses and sources write it; ok is false for anything else.
func SplitRelation(rel string) (schema, name string, ok bool) {
	parts, _, ok := splitParts(rel)
	if !ok || len(parts) != 2 {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// SplitSource splits a lineage source into its relation (written as
// sources write it) and its unquoted column name. any is set for
// schema.table.*: any column of the relation may flow in. ok is false for
// anything but schema.table.column.
func SplitSource(src string) (rel, col string, any, ok bool) {
	// Without quotes (the common case) the relation is written as it
	// came, and the answer is a slice of src.
	if strings.IndexByte(src, '"') < 0 {
		i := strings.IndexByte(src, '.')
		j := strings.LastIndexByte(src, '.')
		if i > 0 && j > i+1 && j < len(src)-1 && strings.IndexByte(src[i+1:j], '.') < 0 &&
			strings.IndexByte(src[:j], '*') < 0 {
			if col = src[j+1:]; col == "*" {
				return src[:j], "", true, true
			}
			return src[:j], col, false, true
		}
	}
	return splitSourceParts(src)
}

// splitSourceParts is SplitSource for any source, quoted parts included.
func splitSourceParts(src string) (rel, col string, any, ok bool) {
	parts, quoted, ok := splitParts(src)
	if !ok || len(parts) != 3 {
		return "", "", false, false
	}
	rel = ident(parts[0]) + "." + ident(parts[1])
	if parts[2] == "*" && !quoted[2] {
		return rel, "", true, true
	}
	return rel, parts[2], false, true
}

// RelationSource is how lineage names relation schema.name (each part
// quoted where SQL needs it).
func RelationSource(schema, name string) string {
	return ident(schema) + "." + ident(name)
}

// ColumnSource is the lineage source naming column col of relation rel
// (written as sources write it).
func ColumnSource(rel, col string) string {
	return rel + "." + ident(col)
}

// splitParts splits a dotted name at its unquoted dots and unquotes each
// part; quoted says which parts were double-quoted.
func splitParts(s string) (parts []string, quoted []bool, ok bool) {
	for {
		if s == "" {
			return nil, nil, false
		}
		var part string
		q := s[0] == '"'
		if q {
			var b strings.Builder
			i := 1
			for {
				if i >= len(s) {
					return nil, nil, false // unterminated quote
				}
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			part, s = b.String(), s[i:]
		} else {
			j := strings.IndexByte(s, '.')
			if j < 0 {
				j = len(s)
			}
			part, s = s[:j], s[j:]
			if part == "" || strings.IndexByte(part, '"') >= 0 {
				return nil, nil, false
			}
		}
		parts, quoted = append(parts, part), append(quoted, q)
		if s == "" {
			return parts, quoted, true
		}
		if s[0] != '.' {
			return nil, nil, false
		}
		s = s[1:]
	}
}
