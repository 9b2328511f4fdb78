package pgproxy

import (
	"github.com/jackc/pgx/v5/pgproto3"
	"strings"

	"github.com/mandatehq/mandate/masking"
	"github.com/mandatehq/mandate/runtime/pgsql"
)

// hiddenDetail replaces the Detail of errors and notices in sessions with
// column masking: details such as "Key (ssn)=(...)" carry column values.
const hiddenDetail = "[detail hidden by the mandate gateway: it may contain masked values]"

// colInfo is what the proxy keeps of one RowDescription field.
type colInfo struct {
	tableOID uint32
	attnum   uint16
	typeOID  uint32
	format   int16
}

func columnsOf(rd *pgproto3.RowDescription) []colInfo {
	cols := make([]colInfo, len(rd.Fields))
	for i, f := range rd.Fields {
		cols[i] = colInfo{tableOID: f.TableOID, attnum: f.TableAttributeNumber, typeOID: f.DataTypeOID, format: f.Format}
	}
	return cols
}

// textLike reports types whose values are free text in both formats, so a
// masked string is a valid value; other types get NULL when masked.
func textLike(oid uint32) bool {
	switch oid {
	case 25, 1043, 1042, 19, 705, 0: // text, varchar, bpchar, name, unknown
		return true
	}
	return false
}

// colPlan says how to treat one result column.
type colPlan struct {
	method masking.Method // column rule; nil when none
	// computed: method masks a value computed from masked columns, whose
	// NULL is masked too (below).
	computed bool
	nullify  bool // masked but the type cannot carry a masked string
	scan     bool // run detectors
	text     bool // text-like type
	typeOID  uint32
	format   int16
}

// rowPlan masks DataRow values of one result.
type rowPlan struct {
	cols    []colPlan
	scanner *masking.Scanner
	nullAll bool // the result's columns are unknown: NULL everything
	masks   *maskSet
}

// apply masks values in place and returns how many were masked.
func (p *rowPlan) apply(values [][]byte) int {
	n := 0
	for i, v := range values {
		if v == nil {
			// A column's own NULL stays NULL (docs/masking.md). A value
			// computed from masked columns is NULL or not as they decide
			// (CASE WHEN flag THEN 'x' END, lag(name, salary)): masked
			// as any other value.
			if i < len(p.cols) && !p.nullAll {
				if c := &p.cols[i]; c.computed && c.method != nil && !c.nullify {
					if out, isNull := c.method.Apply([]byte{}); !isNull {
						values[i] = out
						n++
					}
				}
			}
			continue
		}
		if p.nullAll || i >= len(p.cols) {
			values[i] = nil
			n++
			continue
		}
		c := &p.cols[i]
		switch {
		case c.nullify:
			values[i] = nil
			n++
		case c.method != nil:
			out, isNull := c.method.Apply(v)
			if isNull {
				out = nil
			}
			values[i] = out
			n++
		case c.scan:
			out, isNull, k := p.scanner.Mask(v)
			switch {
			case k > 0:
				if isNull || !c.text {
					out = nil
				}
				values[i] = out
				n += k
			case !c.text:
				// The value's encoding (binary framing, escapes, hex) may
				// hide a finding from the scan of its bytes: NULL, as for
				// a finding in a non-text type.
				if encodedFinds(p.scanner, c.typeOID, c.format, v) {
					values[i] = nil
					n++
				}
			}
		}
	}
	return n
}

// buildPlan resolves each column to its origin (RowDescription table OID
// and attribute number, through the catalog cache) and its lineage (the
// analyzer's Outputs) and picks the masking. Nil: nothing to mask.
func (ss *session) buildPlan(cols []colInfo, r *stmtRun) *rowPlan {
	ms := r.masks
	if ms == nil {
		return nil
	}
	p := &rowPlan{cols: make([]colPlan, len(cols)), scanner: ms.scanner, masks: ms}
	idx := alignment(r.outputs, len(cols))
	lineage := alignedLineage(r.outputs, idx, len(cols))
	own := ownValues(r.outputs, idx, len(cols))
	any := false
	for i, c := range cols {
		var m masking.Method
		computed := false
		if ms.hasColumns {
			// A column of a table is that column: its origin decides. A
			// view's column may carry any column the view depends on; a
			// computed column is decided by the statement's lineage.
			direct := false
			if c.tableOID != 0 && c.attnum > 0 {
				name, deps, err := ss.srv.catalog.column(ss.conn, c.tableOID, c.attnum)
				switch {
				case err != nil:
					ss.srv.cfg.Logger.Warn("postgres catalog lookup; masking the column", "session", ss.rec.ID, "err", err)
					m = redactAll
				case deps == nil:
					m = ms.column(name)
					direct = true
				default:
					// A view column: the view's own rule, else the
					// statement's lineage (views expanded), else every
					// masked column the view depends on.
					m = ms.column(name)
					if m == nil && (lineage == nil || namesRelation(lineage[i], name)) {
						m, computed = ms.computed(deps), true
					}
				}
			}
			// A column's rule applies as written to that column's own
			// value; anything computed from masked columns is redacted
			// (see computed).
			if m == nil && !direct && lineage != nil {
				if own[i] {
					m = ms.source(lineage[i][0])
				} else {
					m, computed = ms.computed(lineage[i]), true
				}
			}
		}
		text := textLike(c.typeOID)
		cp := &p.cols[i]
		cp.text, cp.typeOID, cp.format, cp.computed = text, c.typeOID, c.format, computed
		switch {
		case m != nil && !text:
			cp.nullify = true
			any = true
		case m != nil:
			cp.method = m
			any = true
		case !ms.scanner.Empty():
			cp.scan = true
			any = true
		}
	}
	if !any {
		return nil
	}
	return p
}

// maskFieldNames masks what the detectors find in column names: an alias
// is free text (SELECT 1 AS "4111111111111111").
func maskFieldNames(ms *maskSet, m *pgproto3.RowDescription) {
	if ms == nil || ms.scanner.Empty() {
		return
	}
	for i := range m.Fields {
		f := &m.Fields[i]
		if ms.scanner.Finds(f.Name) {
			name, _ := ms.scanner.MaskString(string(f.Name))
			f.Name = []byte(name)
		}
	}
}

// firstMasks is the masking of v's first statement that has masking, or
// nil.
func (v *verdict) firstMasks() *maskSet {
	if v == nil {
		return nil
	}
	for _, ms := range v.masks {
		if ms != nil {
			return ms
		}
	}
	return nil
}

// namesRelation reports whether srcs still name columns of the relation of
// column (schema.table.column): lineage that was not expanded through the
// view.
func namesRelation(srcs []string, column string) bool {
	i := strings.LastIndexByte(column, '.')
	if i < 0 {
		return true
	}
	rel := strings.ToLower(column[:i+1])
	for _, s := range srcs {
		if strings.HasPrefix(strings.ToLower(s), rel) {
			return true
		}
	}
	return false
}

// alignment maps each of n result columns to the index of the analyzer
// output it comes from. A Star entry stands for a run of columns: with one
// star the entries around it align from both ends and the star covers the
// rest. It returns nil when the outputs cannot be aligned (several stars,
// or counts that disagree).
func alignment(outs []pgsql.Lineage, n int) []int {
	stars, star := 0, -1
	for i, o := range outs {
		if o.Star {
			stars++
			star = i
		}
	}
	idx := make([]int, n)
	switch {
	case stars == 0 && len(outs) == n:
		for i := range idx {
			idx[i] = i
		}
	case stars == 1 && len(outs)-1 <= n:
		after := len(outs) - star - 1
		for i := range idx {
			switch {
			case i < star:
				idx[i] = i
			case i >= n-after:
				idx[i] = len(outs) - (n - i)
			default:
				idx[i] = star
			}
		}
	default:
		return nil
	}
	return idx
}

// alignLineage maps the analyzer's outputs onto n result columns
// (alignment); where they cannot be aligned every column conservatively
// gets every source.
func alignLineage(outs []pgsql.Lineage, n int) [][]string {
	return alignedLineage(outs, alignment(outs, n), n)
}

// alignedLineage is alignLineage with the alignment idx of outs computed.
func alignedLineage(outs []pgsql.Lineage, idx []int, n int) [][]string {
	if len(outs) == 0 {
		return nil
	}
	res := make([][]string, n)
	if idx != nil {
		for i, j := range idx {
			res[i] = outs[j].Sources
		}
		return res
	}
	var all []string
	for _, o := range outs {
		all = append(all, o.Sources...)
	}
	for i := range res {
		res[i] = all
	}
	return res
}

// ownValues reports, per result column, whether the analyzer's lineage
// says it is one column's own value: a plain reference (through
// subqueries, CTEs and set operations whose every side is that column)
// with a single source, not part of a star. idx is the alignment of outs
// to the n result columns (nil: none is known to be).
func ownValues(outs []pgsql.Lineage, idx []int, n int) []bool {
	res := make([]bool, n)
	for i, j := range idx {
		l := outs[j]
		res[i] = l.Direct && !l.Star && !l.Unknown && len(l.Sources) == 1
	}
	return res
}

// portalPlan is the plan of an Execute, from the portal's RowDescription:
// the client's Describe('P') or the one the proxy sends before a masked
// Execute (onExecute). The statement's own description is not enough: the
// server analyzes a prepared statement again at Bind when the relations it
// names changed since Parse. Unknown: every value becomes NULL (fail
// closed).
func (ss *session) portalPlan(pt *portal, r *stmtRun) *rowPlan {
	if pt == nil || !pt.hasDesc {
		return &rowPlan{nullAll: true}
	}
	if !pt.planned || pt.planMasks != r.masks {
		pt.plan, pt.planMasks, pt.planned = ss.buildPlan(pt.cols, r), r.masks, true
	}
	return pt.plan
}

// masksFor is the masking in force for a row description, an error, a
// notice or a setting report: the op's (its first masked run's), or for
// messages outside any op, and ops without masking, the session's latest.
//
// It and opFacts look at an op's runs once, not for each of its results:
// a query string of 100,000 statements has as many row descriptions, and
// a walk of them all for each was quadratic. The runs of a queued op do
// not change. Relay goroutine only.
func (ss *session) masksFor(o *op) *maskSet {
	if o == nil {
		return ss.lastMasks
	}
	if !o.looked {
		o.looked = true
		o.walks++
		for _, r := range o.runs {
			if r.masks != nil {
				o.masks = r.masks
				break
			}
		}
	}
	if o.masks != nil {
		return o.masks
	}
	return ss.lastMasks
}

// opFacts reports whether o's statements call code the analysis cannot
// see (callsFunctions) and whether they read what ms masks (readsMasked),
// looked up once per op and masking.
func (ss *session) opFacts(o *op, ms *maskSet) (calls, reads bool) {
	if o == nil {
		return callsFunctions(o), readsMasked(o, ms)
	}
	if !o.factsDone || o.factsMasks != ms {
		o.walks++
		o.factsDone, o.factsMasks = true, ms
		o.calls, o.reads = callsFunctions(o), readsMasked(o, ms)
	}
	return o.calls, o.reads
}

func (ss *session) maskError(o *op, m *pgproto3.ErrorResponse) *pgproto3.ErrorResponse {
	ms := ss.masksFor(o)
	// WITH HOLD cursors of a committing transaction run their queries to
	// the end at the commit: their errors come back as the COMMIT's.
	holds := false
	if commits(o) {
		if h := ss.track.holdMasks(); h != nil {
			ms, holds = mergeMasks(ms, h), true
		}
	}
	if ms == nil {
		return m
	}
	e := *m
	calls, reads := ss.opFacts(o, ms)
	maskFields(ms, e.Code, calls || (holds || reads) && !dataFree(e.Code), &e.Message, &e.Detail, &e.Hint, &e.Where,
		objectFields(&e), &e.InternalQuery)
	if ms.hasColumns {
		// Where in PostgreSQL's source the error was raised (file, line,
		// routine) tells apart the checks behind one SQLSTATE (which
		// bound a value crossed): more than the code, so not under
		// column masking.
		e.File, e.Line, e.Routine = "", 0, ""
	}
	return &e
}

// commits reports whether o may commit a transaction: a Sync (which ends
// an implicit transaction) or a run of a statement tagged COMMIT (also
// COMMIT AND CHAIN and END).
func commits(o *op) bool {
	if o == nil || o.kind == 'S' {
		return true
	}
	for _, r := range o.runs {
		if st := r.rec.Statement; st != nil && st.Tag == "COMMIT" {
			return true
		}
	}
	return false
}

// readsMasked reports whether a statement of o reads a masked column, in
// its result, its filters or anywhere else (a column of a CTE it does not
// use, the statement under EXPLAIN ANALYZE: pgsql Analyzed.Reads), or
// something of unknown origin: its errors may then quote a masked value
// anywhere in their text (`ssn::regclass` answers `relation "123-45-6789"
// does not exist`, `chr(salary)` prints the number unquoted). A message
// outside any statement counts as reading.
func readsMasked(o *op, ms *maskSet) bool {
	if o == nil {
		return true
	}
	for _, r := range o.runs {
		rms := ms
		if r.masks != nil {
			rms = r.masks
		}
		for _, l := range r.outputs {
			if l.Unknown || rms.firstOf(l.Sources) != nil {
				return true
			}
		}
		if st := r.rec.Statement; st != nil && rms.firstOf(st.FilterColumns) != nil {
			return true
		}
		if r.reads.Unknown || rms.firstOf(r.reads.Sources) != nil {
			return true
		}
	}
	return false
}

// dataFree reports the SQLSTATEs whose messages PostgreSQL writes without
// any value: transaction state, serialization and deadlock, cancellation
// and shutdown, lock timeouts, resources, connection failures, and
// permission denials.
func dataFree(code string) bool {
	switch code {
	case "25001", "25006", "25P02", "40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03", "42501":
		return true
	}
	return strings.HasPrefix(code, "53") || strings.HasPrefix(code, "08")
}

// callsFunctions reports whether a statement of o calls a function outside
// the built-in safe set: code a grant allowed, which may raise any message
// with any SQLSTATE.
func callsFunctions(o *op) bool {
	if o == nil {
		return false
	}
	for _, r := range o.runs {
		if r.rec.Statement != nil && len(r.rec.Statement.Functions) > 0 {
			return true
		}
	}
	return false
}

func (ss *session) maskNotice(o *op, m *pgproto3.NoticeResponse) *pgproto3.NoticeResponse {
	ms := ss.masksFor(o)
	if ms == nil {
		return m
	}
	e := *m
	calls, reads := ss.opFacts(o, ms)
	maskFields(ms, e.Code, calls || reads && !dataFree(e.Code), &e.Message, &e.Detail, &e.Hint, &e.Where,
		objectFields((*pgproto3.ErrorResponse)(&e)), &e.InternalQuery)
	if ms.hasColumns {
		e.File, e.Line, e.Routine = "", 0, "" // as for errors (maskError)
	}
	return &e
}

// objectFields are the fields of an error or notice that name schema
// objects: PostgreSQL fills them with names, but a function's RAISE ...
// USING COLUMN (TABLE, SCHEMA, DATATYPE, CONSTRAINT) puts any text there.
func objectFields(e *pgproto3.ErrorResponse) []*string {
	return []*string{&e.SchemaName, &e.TableName, &e.ColumnName, &e.DataTypeName, &e.ConstraintName}
}

// maskFields masks an error's or notice's fields under ms. With column
// masking, the Detail is hidden whole, and so are the values quoted in the
// message and context of the errors that quote the data they failed on
// (see valueCarrying): `SELECT ssn::int` must not answer with
// `invalid input syntax for type integer: "123-45-6789"`; the object
// fields are treated as the message is. Detectors then scan every field.
func maskFields(ms *maskSet, code string, hideAll bool, message, detail, hint, where *string, objects []*string, rest ...*string) {
	if ms.hasColumns && *detail != "" {
		*detail = hiddenDetail
	}
	switch {
	case ms.hasColumns && raised(code):
		*message, *hint = hiddenRaised, ""
		*where = hideQuoted(*where)
		for _, f := range objects {
			*f = ""
		}
	case ms.hasColumns && hideAll:
		*message, *hint, *where = hiddenMessage, "", ""
		for _, f := range append(objects, rest...) {
			*f = ""
		}
	case ms.hasColumns && valueCarrying(code):
		*message = hideQuoted(*message)
		*where = hideQuoted(*where)
		*hint = hideQuoted(*hint)
		for _, f := range objects {
			*f = hideQuoted(*f)
		}
	}
	rest = append(append(rest, hint, where), objects...)
	if ms.scanner.Empty() {
		return
	}
	*message, _ = ms.scanner.MaskString(*message)
	*detail, _ = ms.scanner.MaskString(*detail)
	for _, f := range rest {
		*f, _ = ms.scanner.MaskString(*f)
	}
}

// hiddenMessage replaces the text of an error of a statement that reads
// masked data; the SQLSTATE stays.
const hiddenMessage = "[error message hidden by the mandate gateway: the statement reads masked columns, and the message may quote their values; the SQLSTATE is kept]"

// hiddenRaised replaces the text of a message a function raised (RAISE
// NOTICE/EXCEPTION), free text that may carry any value unquoted.
const hiddenRaised = "[message raised by a function, hidden by the mandate gateway: it may contain masked values]"

// raised reports whether code is one RAISE gives by default: P0001
// (raise_exception) and the rest of class P0, or 00000/01000 on notices and
// warnings.
func raised(code string) bool {
	return strings.HasPrefix(code, "P0") || code == "00000" || code == "01000"
}

// hiddenValue stands for a value hideQuoted removed.
const hiddenValue = "[value hidden by the mandate gateway]"

// valueCarrying reports whether errors of SQLSTATE code may quote the data
// they failed on: data exceptions (class 22: invalid input syntax, out of
// range, malformed literals), integrity violations (23), internal errors
// (XX) and, fail closed, any code that is not five characters.
func valueCarrying(code string) bool {
	if len(code) != 5 {
		return true
	}
	switch code[:2] {
	case "22", "23", "XX":
		return true
	}
	return false
}

// hideQuoted replaces what is between double or single quotes, and hex byte
// sequences (0xe9 0x80, as encoding errors print them), by hiddenValue.
// An unterminated quote hides the rest of the text.
func hideQuoted(s string) string {
	if !strings.ContainsAny(s, `"'`) && !strings.Contains(s, "0x") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\'':
			end := strings.IndexByte(s[i+1:], c)
			b.WriteByte(c)
			b.WriteString(hiddenValue)
			if end < 0 {
				b.WriteByte(c)
				return b.String()
			}
			b.WriteByte(c)
			i += end + 2
		case c == '0' && i+2 < len(s) && s[i+1] == 'x' && isHex(s[i+2]):
			j := i + 2
			for j < len(s) && isHex(s[j]) {
				j++
			}
			b.WriteString(hiddenValue)
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
