package pgproxy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/pgsql"
)

// CASCADE drops, changes or empties objects the statement does not name:
// DROP TABLE app_t CASCADE also drops another schema's view over app_t,
// ALTER TABLE app_t DROP COLUMN id CASCADE the foreign key another table
// holds on it, TRUNCATE app_t CASCADE empties the tables referencing it.
// Migration tools write CASCADE as a matter of course (Django's schema
// editor for every DROP TABLE and DROP COLUMN), so the gateway does not
// refuse it: it looks up in the catalog what the statement would reach and
// decides each relation reached as if the statement named it, with the
// class it has for the ones it names (ddl, delete for TRUNCATE). What
// CASCADE would drop that belongs to no relation (a function, a domain, an
// operator) denies the statement: no table grant covers it.
//
// The catalog shows committed rows, and a name means, in the agent's
// session, what that session's open transaction made of it: ALTER TABLE
// app_b RENAME TO app_a, after app_a was renamed away, makes DROP TABLE
// app_a CASCADE drop app_b's dependents while the catalog shows app_a's.
// So what the session's open transaction changed (the catalog rows it
// updated or deleted, found through the transaction IDs its backend
// holds) is followed as well, as if the statement dropped it whole. And a
// CASCADE decided while statements sent before it have not finished
// (pipelined, or several queries sent without waiting) is denied: the
// catalog does not show what they will change.

// cascadeSeeds is the first part of the lookup queries: seed, what the
// statement's CASCADE starts from, and skip, the relations decided
// already. $1 to $4 are the kinds, schemas, names and members of the
// statement's pgsql.CascadeTargets, $5 the process ID of the session's
// upstream backend. A TRUNCATE without ONLY starts from the named tables'
// descendants too, and DROP COLUMN and DROP CONSTRAINT from the inherited
// columns and constraints of the descendants, which PostgreSQL drops with
// the parent's: the descendants are reached, decided as the tables CASCADE
// reaches. The objects the session's open transaction changed are seeds
// too, and skipped: its earlier statements were decided on them.
const cascadeSeeds = `WITH RECURSIVE
target(kind, nsp, name, member) AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
),
named AS (
  SELECT t.kind, t.member, 'pg_catalog.pg_class'::regclass::oid AS classid, c.oid AS objid
  FROM target t
  JOIN pg_catalog.pg_namespace n ON n.nspname = t.nsp
  JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.name
  WHERE t.kind IN ('relation', 'column', 'constraint', 'truncate', 'truncate only')
  UNION ALL
  SELECT t.kind, t.member, 'pg_catalog.pg_type'::regclass::oid, y.oid
  FROM target t
  JOIN pg_catalog.pg_namespace n ON n.nspname = t.nsp
  JOIN pg_catalog.pg_type y ON y.typnamespace = n.oid AND y.typname = t.name
  WHERE t.kind IN ('type', 'domain constraint')
),
below(kind, member, relid) AS (
  SELECT kind, member, objid FROM named WHERE kind IN ('column', 'constraint', 'truncate')
  UNION
  SELECT b.kind, b.member, h.inhrelid FROM below b JOIN pg_catalog.pg_inherits h ON h.inhparent = b.relid
),
mine AS (
  SELECT l.transactionid AS xid FROM pg_catalog.pg_locks l WHERE l.pid = $5 AND l.locktype = 'transactionid' AND l.granted
),
changed(classid, objid, objsubid) AS (
  SELECT 'pg_catalog.pg_class'::regclass::oid, c.oid, 0 FROM pg_catalog.pg_class c WHERE c.xmax IN (SELECT xid FROM mine)
  UNION
  SELECT 'pg_catalog.pg_class'::regclass::oid, a.attrelid, 0 FROM pg_catalog.pg_attribute a WHERE a.xmax IN (SELECT xid FROM mine)
  UNION
  SELECT 'pg_catalog.pg_type'::regclass::oid, y.oid, 0 FROM pg_catalog.pg_type y WHERE y.xmax IN (SELECT xid FROM mine)
  UNION
  SELECT 'pg_catalog.pg_constraint'::regclass::oid, k.oid, 0 FROM pg_catalog.pg_constraint k WHERE k.xmax IN (SELECT xid FROM mine)
),
seed(classid, objid, objsubid) AS (
  SELECT classid, objid, 0 FROM named WHERE kind IN ('relation', 'type', 'truncate only')
  UNION
  SELECT 'pg_catalog.pg_class'::regclass::oid, relid, 0 FROM below WHERE kind = 'truncate'
  UNION
  SELECT 'pg_catalog.pg_class'::regclass::oid, y.typrelid, 0
  FROM named nm JOIN pg_catalog.pg_type y ON y.oid = nm.objid
  WHERE nm.kind = 'type' AND y.typrelid <> 0
  UNION
  SELECT 'pg_catalog.pg_class'::regclass::oid, b.relid, a.attnum
  FROM below b JOIN pg_catalog.pg_attribute a ON a.attrelid = b.relid AND a.attname = b.member AND NOT a.attisdropped
  WHERE b.kind = 'column'
  UNION
  SELECT 'pg_catalog.pg_constraint'::regclass::oid, k.oid, 0
  FROM below b JOIN pg_catalog.pg_constraint k ON k.conrelid = b.relid AND k.conname = b.member
  WHERE b.kind = 'constraint'
  UNION
  SELECT 'pg_catalog.pg_constraint'::regclass::oid, k.oid, 0
  FROM named nm JOIN pg_catalog.pg_constraint k ON k.contypid = nm.objid AND k.conname = nm.member
  WHERE nm.kind = 'domain constraint'
  UNION
  SELECT classid, objid, objsubid FROM changed
),
skip(relid) AS (
  SELECT objid FROM named WHERE classid = 'pg_catalog.pg_class'::regclass
  UNION
  SELECT y.typrelid FROM named nm JOIN pg_catalog.pg_type y ON y.oid = nm.objid WHERE y.typrelid <> 0
  UNION
  SELECT objid FROM changed WHERE classid = 'pg_catalog.pg_class'::regclass
)
`

// cascadeDropQuery returns what DROP or ALTER ... CASCADE reaches from
// the seeds: the relations (schema, name, NULL) and, for what belongs to
// none, its description (NULL, NULL, description). It follows pg_depend
// as PostgreSQL's findDependentObjects does: every dependent of an object
// reached (of a column, those of that column), and the owner of an object
// reached that is part of another (deptype 'i': a view's rule stands for
// the view). Each object is decided on the relation it belongs to: a
// view's rule on the view, a constraint, column default, trigger, policy,
// statistics object or publication membership on its table, an index on
// its table, a relation's row type on the relation; parts of another
// object (a TOAST table, an array type, the triggers of a foreign key) go
// with their owner. The relations skipped are left out, and so are the
// seeds that belong to no relation and the parts of the types seeded.
const cascadeDropQuery = cascadeSeeds + `,
reach(classid, objid, objsubid) AS (
  SELECT classid, objid, objsubid FROM seed
  UNION
  SELECT x.classid, x.objid, x.objsubid
  FROM reach r CROSS JOIN LATERAL (
    SELECT d.classid, d.objid, d.objsubid FROM pg_catalog.pg_depend d
    WHERE d.refclassid = r.classid AND d.refobjid = r.objid AND (r.objsubid = 0 OR d.refobjsubid = r.objsubid)
    UNION ALL
    SELECT d.refclassid, d.refobjid, d.refobjsubid FROM pg_catalog.pg_depend d
    WHERE d.classid = r.classid AND d.objid = r.objid AND d.objsubid = r.objsubid AND d.deptype = 'i'
  ) x
),
owner AS (
  SELECT r.classid, r.objid, r.objsubid,
    CASE r.classid
      WHEN 'pg_catalog.pg_class'::regclass THEN r.objid
      WHEN 'pg_catalog.pg_rewrite'::regclass THEN (SELECT ev_class FROM pg_catalog.pg_rewrite WHERE oid = r.objid)
      WHEN 'pg_catalog.pg_constraint'::regclass THEN (SELECT nullif(conrelid, 0) FROM pg_catalog.pg_constraint WHERE oid = r.objid)
      WHEN 'pg_catalog.pg_attrdef'::regclass THEN (SELECT adrelid FROM pg_catalog.pg_attrdef WHERE oid = r.objid)
      WHEN 'pg_catalog.pg_trigger'::regclass THEN (SELECT tgrelid FROM pg_catalog.pg_trigger WHERE oid = r.objid)
      WHEN 'pg_catalog.pg_policy'::regclass THEN (SELECT polrelid FROM pg_catalog.pg_policy WHERE oid = r.objid)
      WHEN 'pg_catalog.pg_statistic_ext'::regclass THEN (SELECT stxrelid FROM pg_catalog.pg_statistic_ext WHERE oid = r.objid)
      WHEN 'pg_catalog.pg_publication_rel'::regclass THEN (SELECT prrelid FROM pg_catalog.pg_publication_rel WHERE oid = r.objid)
      WHEN 'pg_catalog.pg_type'::regclass THEN (SELECT nullif(typrelid, 0) FROM pg_catalog.pg_type WHERE oid = r.objid)
    END AS rel,
    CASE r.classid
      WHEN 'pg_catalog.pg_constraint'::regclass THEN (SELECT contypid FROM pg_catalog.pg_constraint WHERE oid = r.objid AND conrelid = 0)
      WHEN 'pg_catalog.pg_type'::regclass THEN r.objid
    END AS typ
  FROM reach r
  WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i
    WHERE i.classid = r.classid AND i.objid = r.objid AND i.objsubid = r.objsubid AND i.deptype = 'i')
),
mapped AS (
  SELECT o.classid, o.objid, o.objsubid, o.typ,
    CASE WHEN c.relkind IN ('i', 'I') THEN (SELECT indrelid FROM pg_catalog.pg_index WHERE indexrelid = c.oid)
      ELSE c.oid END AS rel
  FROM owner o LEFT JOIN pg_catalog.pg_class c ON c.oid = o.rel
)
SELECT DISTINCT n.nspname, c.relname,
  CASE WHEN c.oid IS NULL THEN coalesce(pg_catalog.pg_describe_object(m.classid, m.objid, m.objsubid), 'an object the catalog cannot describe') END
FROM mapped m
LEFT JOIN pg_catalog.pg_class t ON t.oid = m.rel
LEFT JOIN pg_catalog.pg_class o ON t.relkind = 't' AND o.reltoastrelid = t.oid
LEFT JOIN pg_catalog.pg_class c ON c.oid = coalesce(o.oid, t.oid)
LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE NOT EXISTS (SELECT 1 FROM skip WHERE skip.relid = c.oid)
  AND NOT (c.oid IS NULL AND EXISTS (SELECT 1 FROM seed s
    WHERE s.classid = 'pg_catalog.pg_type'::regclass AND s.objid = m.typ
       OR (s.classid, s.objid, s.objsubid) = (m.classid, m.objid, m.objsubid)))`

// cascadeTruncateQuery returns the tables TRUNCATE ... CASCADE empties
// that are not skipped: the named tables' descendants and the tables with
// a foreign key referencing a table emptied, recursively, as PostgreSQL's
// heap_truncate_find_FKs finds them (a partition's foreign keys are
// constraints of their own).
const cascadeTruncateQuery = cascadeSeeds + `,
fk(relid) AS (
  SELECT objid FROM seed WHERE classid = 'pg_catalog.pg_class'::regclass
  UNION
  SELECT k.conrelid FROM fk JOIN pg_catalog.pg_constraint k ON k.confrelid = fk.relid AND k.contype = 'f'
)
SELECT n.nspname, c.relname, NULL::text
FROM fk
JOIN pg_catalog.pg_class c ON c.oid = fk.relid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE NOT EXISTS (SELECT 1 FROM skip WHERE skip.relid = c.oid)`

// maxCascadeObjects is how many of the objects CASCADE would drop that
// belong to no relation a denial names.
const maxCascadeObjects = 5

// oidTextArray is the type OID of text[], the lookup's parameters (the
// process ID is an int4, encscan.go's oidInt4).
const oidTextArray = 1009

// cascadeTables returns an with an access added for every relation its
// CASCADE reaches (an.Cascade): ddl for DROP and ALTER, delete for
// TRUNCATE, the classes of the relations it names. It returns a reason to
// deny when CASCADE would drop an object that belongs to no relation,
// when statements sent before it are still running, or when the catalog
// cannot be read (fail closed). No answer is cached: the catalog changes
// between statements.
func (ss *session) cascadeTables(an *pgsql.Analyzed) (*pgsql.Analyzed, string) {
	if len(an.Cascade) == 0 {
		return an, ""
	}
	if ss.statementsInFlight() {
		return an, "CASCADE is decided on what the catalog shows before the statement runs, and statements sent before it have not finished: send it once their results are in"
	}
	pid := ss.upCancel.pid
	if pid == 0 || pid > 1<<31-1 {
		return an, "the session's upstream backend is unknown, so what its transaction changed, which CASCADE may reach, cannot be looked up (fail closed)"
	}
	query, class := cascadeDropQuery, "ddl"
	var kinds, schemas, names, members []string
	for _, c := range an.Cascade {
		if c.Kind == pgsql.CascadeTruncate || c.Kind == pgsql.CascadeTruncateOnly {
			query, class = cascadeTruncateQuery, "delete"
		}
		kinds, schemas, names, members = append(kinds, c.Kind), append(schemas, c.Schema), append(names, c.Name), append(members, c.Member)
	}
	ctx, pc, end, err := ss.srv.catalog.begin(ss.conn)
	if err != nil {
		ss.srv.cfg.Logger.Warn("postgres catalog lookup", "session", ss.rec.ID, "err", err)
		return an, "the catalog could not be read to find what CASCADE reaches (fail closed)"
	}
	defer end()
	params := [][]byte{textArray(kinds), textArray(schemas), textArray(names), textArray(members), []byte(strconv.FormatUint(uint64(pid), 10))}
	// The planner cannot estimate the recursion and costs it high enough
	// for JIT compilation, which takes a second where the lookup takes a
	// millisecond: off for the batch's transaction only.
	var b pgconn.Batch
	b.ExecParams("SELECT pg_catalog.set_config('jit', 'off', true)", nil, nil, nil, nil)
	b.ExecParams(query, params, []uint32{oidTextArray, oidTextArray, oidTextArray, oidTextArray, oidInt4}, nil, nil)
	results, err := pc.ExecBatch(ctx, &b).ReadAll()
	if err == nil && len(results) != 2 {
		err = fmt.Errorf("%d results, want 2", len(results))
	}
	for _, r := range results {
		if err == nil {
			err = r.Err
		}
	}
	if err != nil {
		ss.srv.catalog.drop(ctx, ss.conn.Name)
		ss.srv.cfg.Logger.Warn("postgres catalog lookup", "session", ss.rec.ID, "err", err)
		return an, "what CASCADE reaches could not be looked up (fail closed)"
	}
	res := results[1]
	accesses := slices.Clone(an.Statement.Accesses)
	var objects []string
	for _, row := range res.Rows {
		if row[2] != nil {
			objects = append(objects, string(row[2]))
			continue
		}
		accesses = append(accesses, model.Access{Class: class, Table: pgsql.RelationSource(string(row[0]), string(row[1]))})
	}
	if len(objects) > 0 {
		slices.Sort(objects)
		more := ""
		if len(objects) > maxCascadeObjects {
			more = " and " + strconv.Itoa(len(objects)-maxCascadeObjects) + " more"
			objects = objects[:maxCascadeObjects]
		}
		return an, "CASCADE would also drop " + strings.Join(objects, ", ") + more +
			", which belong to no table a grant covers (fail closed): drop them with their own statements first, then this one"
	}
	slices.SortFunc(accesses, func(x, y model.Access) int {
		if c := strings.Compare(x.Table, y.Table); c != 0 {
			return c
		}
		return strings.Compare(x.Class, y.Class)
	})
	r := *an
	r.Statement.Accesses = slices.Compact(accesses)
	return &r, ""
}

// statementsInFlight reports whether a statement sent upstream before
// the one being decided has not finished (its op still waits for its
// responses).
func (ss *session) statementsInFlight() bool {
	ss.opsMu.Lock()
	defer ss.opsMu.Unlock()
	for _, o := range ss.ops {
		if len(o.runs) > 0 {
			return true
		}
	}
	return false
}

// textArray is the text form of a PostgreSQL text[] holding ss.
func textArray(ss []string) []byte {
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, r := range s {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return []byte(b.String())
}
