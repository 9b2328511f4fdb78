package pgproxy

import (
	"slices"
	"strings"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/pgsql"
)

// Some objects belong to tables without their statements naming them. An
// index is part of the table it indexes, but DROP INDEX, ALTER INDEX,
// REINDEX INDEX and COMMENT ON INDEX name the index, and the analyzer
// decides them on that name: an index called app_x on a table no grant
// covers was dropped by a grant of ddl on public.app_*. A publication
// sends the tables it publishes to its subscribers, and a statistics
// object describes its table, but ALTER and DROP PUBLICATION, DROP, ALTER
// and COMMENT ON STATISTICS name no table, and the analyzer decides them
// as database-level (table ""), which every grant holding ddl covers. And
// a table's partitions and inheritance children, in whatever schema, go
// with it: DROP TABLE of a partitioned table drops them, TRUNCATE empties
// them, ALTER TABLE and CREATE INDEX change them, naming only the parent.
// Only the catalog knows these, so the gateway decides the statement on
// them too, looked up at every decision (not cached: the answer decides,
// and a name can move to another table).

// indexTableQuery returns the schema of each index named $2 in schema $1
// or $3 and the table it indexes.
const indexTableQuery = `SELECT n.nspname, tn.nspname, t.relname
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
WHERE c.relname = $2 AND n.nspname IN ($1, $3)`

// publicationQuery returns, for the publication named $1, whether it
// publishes every table, whether it publishes schemas (PostgreSQL 15 and
// later; publicationQueryNoSchemas before), and the tables it names (one
// row each; one row with NULLs for none).
const publicationQuery = `SELECT p.puballtables,
  EXISTS (SELECT 1 FROM pg_catalog.pg_publication_namespace s WHERE s.pnpubid = p.oid),
  n.nspname, c.relname
FROM pg_catalog.pg_publication p
LEFT JOIN pg_catalog.pg_publication_rel r ON r.prpubid = p.oid
LEFT JOIN pg_catalog.pg_class c ON c.oid = r.prrelid
LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE p.pubname = $1`

const publicationQueryNoSchemas = `SELECT p.puballtables, false, n.nspname, c.relname
FROM pg_catalog.pg_publication p
LEFT JOIN pg_catalog.pg_publication_rel r ON r.prpubid = p.oid
LEFT JOIN pg_catalog.pg_class c ON c.oid = r.prrelid
LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE p.pubname = $1`

// ownerTables returns an as the policy must decide it: an access added for
// every relation its CASCADE reaches (cascade.go), each ddl access to an
// index replaced by one to the table it indexes, a ddl access added for
// every table a publication it alters, renames or drops publishes and for
// the table of every statistics object it drops, alters or comments on,
// and, for each table it changes (ddl but COMMENT and SECURITY LABEL) or
// empties (TRUNCATE), the same access to each of its partitions and
// inheritance children, which go with it wherever they are. It
// returns a reason to deny when an index written without a schema is
// pg_catalog's, a publication publishes every table or whole schemas, or
// the catalog cannot be read (fail closed). A statement denied already
// (reason, or forbidden by the analysis) is not looked up.
func (ss *session) ownerTables(an *pgsql.Analyzed, reason string) (*pgsql.Analyzed, string) {
	if reason != "" || an.Statement.Forbidden != "" {
		return an, reason // denied already, with its own reason
	}
	// What CASCADE reaches is decided like what the statement names,
	// indexes on their tables included (cascade.go).
	if an, reason = ss.cascadeTables(an); reason != "" {
		return an, reason
	}
	var pubs []string
	switch an.Statement.Tag {
	case "DROP", "ALTER", "ALTER PUBLICATION":
		if strings.Contains(strings.ToLower(an.Text), "publication") {
			var err error
			if pubs, err = pgsql.ChangedPublications(an.Text); err != nil {
				return an, "the publications this statement changes could not be read (fail closed)"
			}
		}
	}
	var stats []string
	switch an.Statement.Tag {
	case "DROP", "ALTER", "ALTER STATS", "COMMENT":
		if strings.Contains(strings.ToLower(an.Text), "statistics") {
			var err error
			if stats, err = pgsql.ChangedStatistics(an.Text, PinnedSearchPath); err != nil {
				return an, "the statistics objects this statement changes could not be read (fail closed)"
			}
		}
	}
	named := false
	for _, a := range an.Statement.Accesses {
		named = named || a.Table != "" && (a.Class == "ddl" || a.Class == "delete" && an.Statement.Tag == "TRUNCATE TABLE")
	}
	if !named && len(pubs) == 0 && len(stats) == 0 {
		return an, ""
	}
	accesses, reason := ss.lookupOwnerTables(an.Statement.Accesses, pubs, stats, an.Statement.Tag)
	if reason != "" || slices.Equal(accesses, an.Statement.Accesses) {
		return an, reason
	}
	r := *an
	r.Statement.Accesses = accesses
	return &r, ""
}

// lookupOwnerTables is ownerTables' catalog part: the accesses with
// indexes replaced by their tables, the tables of pubs and of the
// statistics objects stats added, and the descendants of the tables the
// statement (tag) changes or empties (reaches), sorted as the analyzer
// sorts them.
func (ss *session) lookupOwnerTables(accesses []model.Access, pubs, stats []string, tag string) ([]model.Access, string) {
	var pubSchemas bool
	if len(pubs) > 0 {
		sh, err := ss.srv.catalog.shadowing(ss.conn)
		if err != nil {
			ss.srv.cfg.Logger.Warn("postgres catalog lookup", "session", ss.rec.ID, "err", err)
			return nil, "the relations of pg_catalog could not be looked up (fail closed)"
		}
		pubSchemas = sh.catalogs["pg_publication_namespace"]
	}
	ctx, pc, end, err := ss.srv.catalog.begin(ss.conn)
	if err != nil {
		ss.srv.cfg.Logger.Warn("postgres catalog lookup", "session", ss.rec.ID, "err", err)
		return nil, "the catalog could not be read to find the tables this statement changes (fail closed)"
	}
	defer end()
	failed := func(what string, err error) string {
		ss.srv.catalog.drop(ctx, ss.conn.Name)
		ss.srv.cfg.Logger.Warn("postgres catalog lookup", "session", ss.rec.ID, "err", err)
		return what + " could not be looked up (fail closed)"
	}
	out := make([]model.Access, 0, len(accesses))
	for _, a := range accesses {
		schema, name, ok := pgsql.SplitRelation(a.Table)
		if a.Class != "ddl" || !ok {
			out = append(out, a)
			continue
		}
		// A name without a schema reaches pg_catalog's index before
		// the pinned schema's; the analyzer wrote it in the latter.
		other := schema
		if schema == PinnedSearchPath {
			other = "pg_catalog"
		}
		res := pc.ExecParams(ctx, indexTableQuery, [][]byte{[]byte(schema), []byte(name), []byte(other)}, []uint32{25, 25, 25}, nil, nil).Read()
		if res.Err != nil {
			return nil, failed("the table of index "+a.Table, res.Err)
		}
		if len(res.Rows) == 0 {
			out = append(out, a) // not an index
			continue
		}
		for _, row := range res.Rows {
			if string(row[0]) != schema {
				return nil, "index " + name + " written without a schema is pg_catalog's, an index of PostgreSQL's own catalog, which no grant changes"
			}
			out = append(out, model.Access{Class: "ddl", Table: pgsql.RelationSource(string(row[1]), string(row[2]))})
		}
	}
	query := publicationQueryNoSchemas
	if pubSchemas {
		query = publicationQuery
	}
	for _, p := range pubs {
		res := pc.ExecParams(ctx, query, [][]byte{[]byte(p)}, []uint32{25}, nil, nil).Read()
		if res.Err != nil {
			return nil, failed("the tables of publication "+p, res.Err)
		}
		for _, row := range res.Rows {
			switch {
			case string(row[0]) == "t":
				return nil, "publication " + p + " publishes every table of the database (FOR ALL TABLES), which no grant covers: an administrator changes or drops it"
			case string(row[1]) == "t":
				return nil, "publication " + p + " publishes whole schemas (TABLES IN SCHEMA), tables no grant covers among them: an administrator changes or drops it"
			case row[2] != nil && row[3] != nil:
				// Its subscribers receive these tables: changing or
				// dropping it is ddl on each.
				out = append(out, model.Access{Class: "ddl", Table: pgsql.RelationSource(string(row[2]), string(row[3]))})
			}
		}
	}
	for _, st := range stats {
		schema, name, ok := pgsql.SplitRelation(st)
		if !ok {
			return nil, "statistics object " + st + " could not be named (fail closed)"
		}
		res := pc.ExecParams(ctx, statisticsTableQuery, [][]byte{[]byte(schema), []byte(name)}, []uint32{25, 25}, nil, nil).Read()
		if res.Err != nil {
			return nil, failed("the table of statistics object "+st, res.Err)
		}
		for _, row := range res.Rows {
			out = append(out, model.Access{Class: "ddl", Table: pgsql.RelationSource(string(row[0]), string(row[1]))})
		}
	}
	// A partitioned table's partitions and a parent's inheritance
	// children go with it: DROP TABLE drops its partitions, TRUNCATE
	// empties its descendants, ALTER TABLE (ADD, DROP, RENAME or ALTER
	// COLUMN, constraints, ...) and CREATE INDEX change them, wherever
	// they are.
	if reaches := tag != "COMMENT" && tag != "SECURITY LABEL"; reaches {
		for _, a := range slices.Clone(out) {
			schema, name, ok := pgsql.SplitRelation(a.Table)
			if !ok || !(a.Class == "ddl" || a.Class == "delete" && tag == "TRUNCATE TABLE") {
				continue
			}
			res := pc.ExecParams(ctx, descendantsQuery, [][]byte{[]byte(schema), []byte(name)}, []uint32{25, 25}, nil, nil).Read()
			if res.Err != nil {
				return nil, failed("the partitions and inheritance children of "+a.Table, res.Err)
			}
			for _, row := range res.Rows {
				out = append(out, model.Access{Class: a.Class, Table: pgsql.RelationSource(string(row[0]), string(row[1]))})
			}
		}
	}
	slices.SortFunc(out, func(x, y model.Access) int {
		if c := strings.Compare(x.Table, y.Table); c != 0 {
			return c
		}
		return strings.Compare(x.Class, y.Class)
	})
	return slices.Compact(out), ""
}

// statisticsTableQuery returns the table of the extended statistics
// object named $2 in schema $1 (no row when there is none).
const statisticsTableQuery = `SELECT n.nspname, c.relname
FROM pg_catalog.pg_statistic_ext s
JOIN pg_catalog.pg_namespace sn ON sn.oid = s.stxnamespace
JOIN pg_catalog.pg_class c ON c.oid = s.stxrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE sn.nspname = $1 AND s.stxname = $2`

// descendantsQuery returns the partitions and inheritance children of the
// relation named $2 in schema $1, recursively, each as schema and name.
const descendantsQuery = `WITH RECURSIVE down(oid) AS (
  SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relname = $2
  UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN down ON i.inhparent = down.oid)
SELECT n.nspname, c.relname FROM down
JOIN pg_catalog.pg_class c ON c.oid = down.oid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE NOT (n.nspname = $1 AND c.relname = $2)`
