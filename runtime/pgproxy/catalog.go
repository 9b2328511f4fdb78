package pgproxy

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/pgsql"
)

// catalogQuery lists a relation's columns, schema-qualified, and which
// are stored generated columns.
const catalogQuery = `SELECT n.nspname, c.relname, a.attnum, a.attname, c.relkind::text, a.attgenerated::text
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped`

// relationQuery returns, for a relation named by schema and name (exactly,
// as lineage writes them), its kind, its definition when it is a view or
// materialized view, and one row per column (none: a NULL name) with the
// expression of a stored generated column, its type's OID, and whether
// that type is plain and whether it is a range (pgsql.ColumnType).
const relationQuery = `SELECT c.relkind::text, CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END, a.attname,
  CASE WHEN a.attgenerated = 's' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END,
  a.atttypid::pg_catalog.int8::text, (t.typtype IN ('b', 'c', 'e', 'r', 'm') AND t.typcategory <> 'A')::text,
  (t.typtype IN ('r', 'm'))::text, t.typtype::text, a.atttypmod::text
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
WHERE n.nspname = $1 AND c.relname = $2
ORDER BY a.attnum`

// catalog resolves RowDescription origins (table OID, attribute number) to
// schema.table.column names, caching each relation for CatalogTTL.
//
// Ownership: it owns one upstream connection per policy connection, opened
// on first use with that connection's credential, used by one lookup at a
// time (mu), and closed by close (Server.Close).
// familyQuery lists the other members of a relation's inheritance tree
// (partitions and inheritance children, recursively, and its parents up to
// the root), each as schema and name.
const familyQuery = `WITH RECURSIVE self AS (
  SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relname = $2),
up(oid) AS (SELECT oid FROM self UNION SELECT i.inhparent FROM pg_catalog.pg_inherits i JOIN up ON i.inhrelid = up.oid),
down(oid) AS (SELECT oid FROM self UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN down ON i.inhparent = down.oid)
SELECT n.nspname, c.relname FROM (SELECT oid FROM up UNION SELECT oid FROM down) f
JOIN pg_catalog.pg_class c ON c.oid = f.oid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE f.oid NOT IN (SELECT oid FROM self)
ORDER BY 1, 2`

type catalog struct {
	srv *Server

	mu    sync.Mutex // serialises lookups and guards conns
	conns map[string]*pgconn.PgConn

	cacheMu sync.RWMutex
	rels    map[relKey]*relInfo
	named   map[namedKey]*namedRel
	keyed   map[namedKey]*relKeys // constraints (oracle.go)
	shadows map[string]*shadowSet // by connection name
}

// shadowQuery lists the functions ('f') and operators ('o') of the pinned
// search path's schema that no extension installed: definitions an
// unqualified call or operator may resolve to instead of pg_catalog's. It
// also lists the relations of pg_catalog ('r'): the analyzer resolves an
// unqualified catalog name of any PostgreSQL version to pg_catalog, but
// on a server whose pg_catalog lacks it the name reaches the search path.
// And it lists the names of pg_catalog's other objects by the kinds of
// pgsql.ObjectName: DDL naming one without a schema changes the built-in.
const shadowQuery = `SELECT 'f', p.proname FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = $1 AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
  WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'e')
UNION
SELECT 'o', o.oprname FROM pg_catalog.pg_operator o
JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
WHERE n.nspname = $1 AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
  WHERE d.classid = 'pg_catalog.pg_operator'::pg_catalog.regclass AND d.objid = o.oid AND d.deptype = 'e')
UNION
SELECT 'r', c.relname FROM pg_catalog.pg_class c
WHERE c.relnamespace = 'pg_catalog'::pg_catalog.regnamespace
UNION
SELECT 'function', proname FROM pg_catalog.pg_proc WHERE pronamespace = 'pg_catalog'::pg_catalog.regnamespace
UNION
SELECT 'operator', oprname FROM pg_catalog.pg_operator WHERE oprnamespace = 'pg_catalog'::pg_catalog.regnamespace
UNION
SELECT 'collation', collname FROM pg_catalog.pg_collation WHERE collnamespace = 'pg_catalog'::pg_catalog.regnamespace
UNION
SELECT 'conversion', conname FROM pg_catalog.pg_conversion WHERE connamespace = 'pg_catalog'::pg_catalog.regnamespace
UNION
SELECT 'text search', cfgname FROM pg_catalog.pg_ts_config WHERE cfgnamespace = 'pg_catalog'::pg_catalog.regnamespace
UNION
SELECT 'text search', dictname FROM pg_catalog.pg_ts_dict WHERE dictnamespace = 'pg_catalog'::pg_catalog.regnamespace
UNION
SELECT 'text search', prsname FROM pg_catalog.pg_ts_parser WHERE prsnamespace = 'pg_catalog'::pg_catalog.regnamespace
UNION
SELECT 'text search', tmplname FROM pg_catalog.pg_ts_template WHERE tmplnamespace = 'pg_catalog'::pg_catalog.regnamespace
UNION
SELECT 'operator class', opcname FROM pg_catalog.pg_opclass WHERE opcnamespace = 'pg_catalog'::pg_catalog.regnamespace
UNION
SELECT 'operator class', opfname FROM pg_catalog.pg_opfamily WHERE opfnamespace = 'pg_catalog'::pg_catalog.regnamespace`

// shadowSet is what shadowQuery found.
type shadowSet struct {
	funcs, ops map[string]bool
	catalogs   map[string]bool // relations of pg_catalog
	system     map[pgsql.ObjectName]bool
	at         time.Time
}

type namedKey struct{ conn, table string }

// namedRel is a relation looked up by its name.
type namedRel struct {
	kind string   // pg_class.relkind; "" when there is no such relation
	name string   // schema.table unquoted, as catalog.column names relations
	cols []string // column names in order, dropped columns left out
	// types are the types of cols, in the same order.
	types []pgsql.ColumnType
	view  *pgsql.View // lineage of a view or materialized view; nil otherwise
	// generated is the lineage of the columns of a relation that is no
	// view but has stored generated columns (pgsql.GeneratedColumns);
	// nil otherwise.
	generated *pgsql.View
	// family are the other relations of its inheritance tree (parents,
	// partitions, children), in lineage form; their rows are its rows or
	// the other way round.
	family []string
	at     time.Time
}

// isView reports a view or materialized view.
func (r *namedRel) isView() bool { return r.kind == "v" || r.kind == "m" }

type relKey struct {
	conn string
	oid  uint32
}

// viewDepsQuery lists the columns a view's (or materialized view's)
// rewrite rule depends on, with the kind of their relation, and the
// columns the stored generated columns among them are computed from.
const viewDepsQuery = `WITH cols AS (SELECT DISTINCT d.refobjid, d.refobjsubid
  FROM pg_catalog.pg_rewrite r
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
  WHERE r.ev_class = $1 AND d.refobjsubid > 0 AND d.refobjid <> $1),
gen AS (SELECT g.refobjid, g.refobjsubid FROM cols
  JOIN pg_catalog.pg_attribute ga ON ga.attrelid = cols.refobjid AND ga.attnum = cols.refobjsubid AND ga.attgenerated = 's'
  JOIN pg_catalog.pg_depend g ON g.classid = 'pg_catalog.pg_class'::regclass AND g.objid = cols.refobjid AND g.objsubid = cols.refobjsubid
    AND g.refclassid = 'pg_catalog.pg_class'::regclass AND g.refobjsubid > 0)
SELECT DISTINCT x.refobjid::int8, n.nspname || '.' || c.relname || '.' || a.attname, c.relkind::text
FROM (SELECT * FROM cols UNION SELECT * FROM gen) x
JOIN pg_catalog.pg_class c ON c.oid = x.refobjid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = x.refobjid AND a.attnum = x.refobjsubid`

// generatedDepsQuery lists, for each stored generated column of a
// relation, the columns its expression reads.
const generatedDepsQuery = `SELECT d.objsubid, n.nspname || '.' || c.relname || '.' || a.attname
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_class c ON c.oid = d.refobjid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = $1 AND d.objsubid > 0
  AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjsubid > 0`

// maxViewDepth bounds how deep views over views are followed.
const maxViewDepth = 8

type relInfo struct {
	cols map[uint16]string
	// view is set for views and materialized views: their columns carry
	// values of other columns, listed (transitively) in deps.
	view bool
	deps []string
	// generated lists, for each stored generated column, the columns
	// its value is computed from (never nil for such a column).
	generated map[uint16][]string
	at        time.Time
}

func newCatalog(s *Server) *catalog {
	return &catalog{srv: s, conns: map[string]*pgconn.PgConn{}, rels: map[relKey]*relInfo{}, named: map[namedKey]*namedRel{},
		keyed: map[namedKey]*relKeys{}, shadows: map[string]*shadowSet{}}
}

// shadowing returns the user-defined functions and operators of the pinned
// search path's schema and the relations of pg_catalog, cached for
// CatalogTTL.
func (c *catalog) shadowing(conn *model.Connection) (*shadowSet, error) {
	c.cacheMu.RLock()
	sh := c.shadows[conn.Name]
	c.cacheMu.RUnlock()
	if sh != nil && time.Since(sh.at) <= CatalogTTL {
		return sh, nil
	}
	ctx, pc, end, err := c.begin(conn)
	if err != nil {
		return nil, err
	}
	defer end()
	res := pc.ExecParams(ctx, shadowQuery, [][]byte{[]byte(PinnedSearchPath)}, []uint32{25}, nil, nil).Read()
	if res.Err != nil {
		c.drop(ctx, conn.Name)
		return nil, fmt.Errorf("listing the functions and operators of %s on %s: %w", PinnedSearchPath, conn.Name, res.Err)
	}
	sh = &shadowSet{funcs: map[string]bool{}, ops: map[string]bool{}, catalogs: map[string]bool{},
		system: map[pgsql.ObjectName]bool{}, at: time.Now()}
	for _, row := range res.Rows {
		switch kind := string(row[0]); kind {
		case "f":
			sh.funcs[string(row[1])] = true
		case "o":
			sh.ops[string(row[1])] = true
		case "r":
			sh.catalogs[string(row[1])] = true
		default:
			sh.system[pgsql.ObjectName{Kind: kind, Name: string(row[1])}] = true
		}
	}
	c.cacheMu.Lock()
	c.shadows[conn.Name] = sh
	c.cacheMu.Unlock()
	return sh, nil
}

// column returns "schema.table.column" for the attribute and, when the
// relation is a view, the base columns its values may come from.
func (c *catalog) column(conn *model.Connection, oid uint32, attnum uint16) (string, []string, error) {
	k := relKey{conn.Name, oid}
	c.cacheMu.RLock()
	ri := c.rels[k]
	c.cacheMu.RUnlock()
	if ri == nil || time.Since(ri.at) > CatalogTTL {
		var err error
		if ri, err = c.lookup(conn, oid); err != nil {
			return "", nil, err
		}
	}
	name, ok := ri.cols[attnum]
	if !ok {
		return "", nil, fmt.Errorf("resolving column %d of relation %d: not in the catalog", attnum, oid)
	}
	if deps, ok := ri.generated[attnum]; ok {
		// A stored generated column: a value computed from other
		// columns, as a view's column is.
		return name, deps, nil
	}
	return name, ri.deps, nil
}

// view returns the lineage of the view named table ("schema.table", as
// lineage writes it), or of the columns of a relation with stored
// generated columns; nil when the relation is neither (or does not
// exist).
func (c *catalog) view(conn *model.Connection, table string) (*pgsql.View, error) {
	r, err := c.relation(conn, table)
	if err != nil {
		return nil, err
	}
	if r.view != nil {
		return r.view, nil
	}
	return r.generated, nil
}

// relation looks up the relation named table ("schema.table", as lineage
// writes it); a relation that does not exist has an empty kind.
func (c *catalog) relation(conn *model.Connection, table string) (*namedRel, error) {
	k := namedKey{conn.Name, table}
	c.cacheMu.RLock()
	r := c.named[k]
	c.cacheMu.RUnlock()
	if r != nil && time.Since(r.at) <= CatalogTTL {
		return r, nil
	}
	schema, name, ok := pgsql.SplitRelation(table)
	if !ok {
		return nil, fmt.Errorf("looking up relation %s: not a schema-qualified name", table)
	}
	ctx, pc, end, err := c.begin(conn)
	if err != nil {
		return nil, err
	}
	defer end()
	res := pc.ExecParams(ctx, relationQuery, [][]byte{[]byte(schema), []byte(name)}, []uint32{25, 25}, nil, nil).Read()
	if res.Err != nil {
		c.drop(ctx, conn.Name)
		return nil, fmt.Errorf("looking up relation %s on %s: %w", table, conn.Name, res.Err)
	}
	r = &namedRel{name: schema + "." + name, at: time.Now()}
	var generated map[string]string
	for _, row := range res.Rows {
		r.kind = string(row[0])
		if row[2] != nil {
			r.cols = append(r.cols, string(row[2]))
			oid, _ := strconv.ParseUint(string(row[4]), 10, 32)
			r.types = append(r.types, pgsql.ColumnType{OID: uint32(oid), Plain: string(row[5]) == "true", Range: string(row[6]) == "true",
				Kind: firstByte(row[7]), Typmod: typmod(row[8])})
		}
		if row[2] != nil && row[3] != nil {
			if generated == nil {
				generated = map[string]string{}
			}
			generated[string(row[2])] = string(row[3])
		}
	}
	if r.kind != "" {
		fam := pc.ExecParams(ctx, familyQuery, [][]byte{[]byte(schema), []byte(name)}, []uint32{25, 25}, nil, nil).Read()
		if fam.Err != nil {
			c.drop(ctx, conn.Name)
			return nil, fmt.Errorf("looking up the inheritance tree of %s on %s: %w", table, conn.Name, fam.Err)
		}
		for _, row := range fam.Rows {
			r.family = append(r.family, pgsql.RelationSource(string(row[0]), string(row[1])))
		}
	}
	if r.isView() {
		if len(res.Rows) == 0 || res.Rows[0][1] == nil {
			return nil, fmt.Errorf("looking up view %s on %s: no definition", table, conn.Name)
		}
		if r.view, err = pgsql.ViewFromDefinition(r.cols, string(res.Rows[0][1]), pgsql.Options{SearchPath: []string{PinnedSearchPath}}); err != nil {
			return nil, fmt.Errorf("analyzing view %s: %w", table, err)
		}
	} else if generated != nil {
		rel := pgsql.RelationSource(schema, name)
		if r.generated, err = pgsql.GeneratedColumns(rel, r.cols, generated, pgsql.Options{SearchPath: []string{PinnedSearchPath}}); err != nil {
			return nil, fmt.Errorf("analyzing the generated columns of %s: %w", table, err)
		}
	}
	c.cacheMu.Lock()
	if len(c.named) > 4096 {
		c.named = map[namedKey]*namedRel{}
	}
	c.named[k] = r
	c.cacheMu.Unlock()
	return r, nil
}

// typesQuery returns, for a relation named by schema and name, one row
// per column (none: a NULL name) with its type as relationQuery gives it,
// and whether a schema change the committed catalog does not show may be
// under way: a session, the agent's own included, holds or awaits an
// ACCESS EXCLUSIVE lock on the relation. Every change of what its columns
// are (ALTER TABLE ... TYPE, ADD, DROP or RENAME COLUMN, a rename, DROP)
// takes one and holds it until its transaction ends, a released
// savepoint's too; and a statement queued behind it runs on what the
// change leaves.
const typesQuery = `WITH rel AS (
  SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relname = $2
)
SELECT a.attname, a.atttypid::pg_catalog.int8::text, (t.typtype IN ('b', 'c', 'e', 'r', 'm') AND t.typcategory <> 'A')::text,
  (t.typtype IN ('r', 'm'))::text, t.typtype::text,
  EXISTS (SELECT 1 FROM pg_catalog.pg_locks k WHERE k.locktype = 'relation' AND k.relation = r.oid
    AND k.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
    AND k.mode = 'AccessExclusiveLock')::text, a.atttypmod::text
FROM rel r
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
ORDER BY a.attnum`

// columnTypes returns the type of the column a lineage source names, or
// of every column of a relation for schema.table.*; ok is false when the
// catalog has no such column or relation, changing when a schema change
// of the relation may be under way (typesQuery). The types decide whether
// a statement may run, so they are read each time rather than cached: a
// type changed since, by the session or another, would decide on the old
// one.
func (c *catalog) columnTypes(conn *model.Connection, src string) (ts []pgsql.ColumnType, ok, changing bool, err error) {
	rel, col, any, valid := pgsql.SplitSource(src)
	if !valid {
		return nil, false, false, nil
	}
	schema, name, valid := pgsql.SplitRelation(rel)
	if !valid {
		return nil, false, false, nil
	}
	ctx, pc, end, err := c.begin(conn)
	if err != nil {
		return nil, false, false, err
	}
	defer end()
	res := pc.ExecParams(ctx, typesQuery, [][]byte{[]byte(schema), []byte(name)}, []uint32{25, 25}, nil, nil).Read()
	if res.Err != nil {
		c.drop(ctx, conn.Name)
		return nil, false, false, fmt.Errorf("looking up the column types of %s on %s: %w", rel, conn.Name, res.Err)
	}
	for _, row := range res.Rows {
		if string(row[5]) == "true" {
			return nil, false, true, nil
		}
		if row[0] == nil || !any && string(row[0]) != col {
			continue
		}
		oid, _ := strconv.ParseUint(string(row[1]), 10, 32)
		ts = append(ts, pgsql.ColumnType{OID: uint32(oid), Plain: string(row[2]) == "true", Range: string(row[3]) == "true",
			Kind: firstByte(row[4]), Typmod: typmod(row[6])})
	}
	return ts, len(ts) > 0, false, nil
}

// typmod reads pg_attribute.atttypmod; -1 (none) when it does not parse.
func typmod(b []byte) int32 {
	n, err := strconv.ParseInt(string(b), 10, 32)
	if err != nil {
		return -1
	}
	return int32(n)
}

// begin takes the lookup lock and the catalog connection of conn, under a
// lookup deadline; the caller calls end when its queries are done.
func (c *catalog) begin(conn *model.Connection) (ctx context.Context, pc *pgconn.PgConn, end func(), err error) {
	c.mu.Lock()
	ctx, cancel := context.WithTimeout(c.srv.ctx, HandshakeTimeout)
	end = func() {
		cancel()
		c.mu.Unlock()
	}
	if pc, err = c.conn(ctx, conn); err != nil {
		end()
		return nil, nil, nil, err
	}
	return ctx, pc, end, nil
}

// conn returns the catalog connection of conn, connecting when needed.
// Called with mu held.
func (c *catalog) conn(ctx context.Context, conn *model.Connection) (*pgconn.PgConn, error) {
	pc := c.conns[conn.Name]
	if pc != nil && !pc.IsClosed() {
		return pc, nil
	}
	cfg, err := c.srv.upstreamConfig(conn, nil, true)
	if err != nil {
		return nil, err
	}
	if pc, err = pgconn.ConnectConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("connecting for catalog lookups on %s: %w", conn.Name, err)
	}
	c.conns[conn.Name] = pc
	return pc, nil
}

// drop closes a catalog connection after an error. Called with mu held.
func (c *catalog) drop(ctx context.Context, name string) {
	if pc := c.conns[name]; pc != nil {
		pc.Close(ctx)
		delete(c.conns, name)
	}
}

func (c *catalog) lookup(conn *model.Connection, oid uint32) (*relInfo, error) {
	ctx, pc, end, err := c.begin(conn)
	if err != nil {
		return nil, err
	}
	defer end()
	res := pc.ExecParams(ctx, catalogQuery, [][]byte{[]byte(strconv.FormatUint(uint64(oid), 10))}, []uint32{26}, nil, nil).Read()
	if res.Err != nil {
		c.drop(ctx, conn.Name)
		return nil, fmt.Errorf("looking up relation %d on %s: %w", oid, conn.Name, res.Err)
	}
	ri := &relInfo{cols: map[uint16]string{}, at: time.Now()}
	for _, row := range res.Rows {
		n, err := strconv.ParseUint(string(row[2]), 10, 16)
		if err != nil {
			continue
		}
		ri.cols[uint16(n)] = string(row[0]) + "." + string(row[1]) + "." + string(row[3])
		ri.view = string(row[4]) == "v" || string(row[4]) == "m"
		if string(row[5]) == "s" {
			if ri.generated == nil {
				ri.generated = map[uint16][]string{}
			}
			ri.generated[uint16(n)] = []string{}
		}
	}
	if ri.generated != nil {
		gen := pc.ExecParams(ctx, generatedDepsQuery, [][]byte{[]byte(strconv.FormatUint(uint64(oid), 10))}, []uint32{26}, nil, nil).Read()
		if gen.Err != nil {
			c.drop(ctx, conn.Name)
			return nil, fmt.Errorf("resolving the generated columns of relation %d on %s: %w", oid, conn.Name, gen.Err)
		}
		for _, row := range gen.Rows {
			n, err := strconv.ParseUint(string(row[0]), 10, 16)
			if deps, ok := ri.generated[uint16(n)]; err == nil && ok {
				ri.generated[uint16(n)] = append(deps, string(row[1]))
			}
		}
	}
	if ri.view {
		deps, err := viewDeps(ctx, pc, oid, 0)
		if err != nil {
			c.drop(ctx, conn.Name)
			return nil, err
		}
		ri.deps = deps
	}
	c.cacheMu.Lock()
	c.rels[relKey{conn.Name, oid}] = ri
	c.cacheMu.Unlock()
	return ri, nil
}

// viewDeps returns the base columns view oid depends on, following views
// over views.
func viewDeps(ctx context.Context, pc *pgconn.PgConn, oid uint32, depth int) ([]string, error) {
	if depth > maxViewDepth {
		return nil, fmt.Errorf("resolving view %d: views nested deeper than %d", oid, maxViewDepth)
	}
	res := pc.ExecParams(ctx, viewDepsQuery, [][]byte{[]byte(strconv.FormatUint(uint64(oid), 10))}, []uint32{26}, nil, nil).Read()
	if res.Err != nil {
		return nil, fmt.Errorf("resolving view %d: %w", oid, res.Err)
	}
	var deps []string
	for _, row := range res.Rows {
		deps = append(deps, string(row[1]))
		if k := string(row[2]); k == "v" || k == "m" {
			inner, err := strconv.ParseUint(string(row[0]), 10, 32)
			if err != nil {
				return nil, fmt.Errorf("resolving view %d: %w", oid, err)
			}
			more, err := viewDeps(ctx, pc, uint32(inner), depth+1)
			if err != nil {
				return nil, err
			}
			deps = append(deps, more...)
		}
	}
	return deps, nil
}

func (c *catalog) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, pc := range c.conns {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		pc.Close(ctx)
		cancel()
		delete(c.conns, name)
	}
}
