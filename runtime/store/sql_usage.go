package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// usageCols are the columns of usage_rows in insert order; the first
// backfillCols are those of the migration that created the table (runs
// came later, with a default of 1, and no event recorded before holds
// repeats).
const (
	usageCols    = 17
	backfillCols = 16
)

// appendUsageTx writes the usage rows of b's events, deriving them from
// the payload where the event does not carry them. evArgs, when not nil,
// are b's event INSERT arguments (eventArgs), whose key values the rows
// reuse; inTx prepares the statements in tx (the migration that creates
// usage_rows has not committed yet) and writes backfillCols columns.
func (s *sqlStore) appendUsageTx(ctx context.Context, tx *sql.Tx, b *Batch, evArgs []any, inTx bool) error {
	var sessions map[string]string
	n := 0
	for i := range b.Events {
		if UsageKind(b.Events[i].Kind) {
			n += max(1, len(b.Events[i].Usage))
		}
	}
	cols := usageCols
	if inTx {
		cols = backfillCols
	}
	args := make([]any, 0, cols*n)
	rows := 0
	var bx boxer
	for i := range b.Events {
		e := &b.Events[i]
		if !UsageKind(e.Kind) {
			continue
		}
		var gw, seq, sid, tm any
		if evArgs != nil {
			a := evArgs[i*eventCols:]
			gw, seq, sid, tm = a[argGateway], a[argSeq], a[argSession], a[argTime]
		} else {
			gw, seq, sid, tm = e.Gateway, int64(e.Seq), e.SessionID, e.Time
		}
		us := e.Usage
		if us == nil {
			if sessions == nil {
				sessions = make(map[string]string, len(b.Sessions))
				for _, x := range b.Sessions {
					sessions[x.ID] = x.Agent
				}
			}
			var err error
			if us, err = s.deriveUsage(ctx, tx, e, sessions); err != nil {
				return err
			}
		}
		if s.dialect.postgres && !pgText(us) {
			// PostgreSQL text cannot hold NUL: mark the event, and usage
			// over a window holding it is computed from the events.
			us = []UsageRow{{Part: PartOpaque}}
		}
		for n := range us {
			u := &us[n]
			allowed, part := int64(0), int64(u.Part)
			if u.Allowed {
				allowed = 1
			} else if part != PartOpaque {
				part = PartNone
			}
			args = append(args, bx.str(0, u.Agent), allowed, bx.str(1, u.Role), bx.str(2, u.Grant), bx.str(3, u.Proto),
				part, bx.str(4, u.Class), bx.str(5, u.Table), bx.str(6, u.Command),
				tm, sid, gw, seq, int64(n), encodeList(u.Columns), encodeList(u.Approvals))
			if !inTx {
				args = append(args, max(1, u.Runs))
			}
			rows++
		}
	}
	if rows == 0 {
		return nil
	}
	if s.dialect.postgres {
		return insertUsagePostgres(ctx, tx, args, cols)
	}
	for len(args) > 0 {
		n := min(len(args)/cols, sqliteChunk)
		if inTx {
			if _, err := tx.ExecContext(ctx, insertUsage(n, cols), args[:n*cols]...); err != nil {
				return err
			}
		} else {
			st, err := prepared(ctx, s.db, &s.usageInserts, n, func(n int) string { return insertUsage(n, usageCols) })
			if err != nil {
				return err
			}
			if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args[:n*cols]...); err != nil {
				return err
			}
		}
		args = args[n*cols:]
	}
	return nil
}

// deriveUsage decodes what usage reads of e's payload. The agent is the
// session's, from the batch, the cache or the sessions table, else the
// one a session_start event names.
func (s *sqlStore) deriveUsage(ctx context.Context, tx *sql.Tx, e *Event, batch map[string]string) ([]UsageRow, error) {
	var p UsagePayload
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return nil, fmt.Errorf("reading event %s/%d: %w", e.Gateway, e.Seq, err)
	}
	agent, ok := batch[e.SessionID]
	if !ok {
		agent, ok = s.agents.get(e.SessionID)
	}
	if !ok {
		err := tx.QueryRowContext(ctx, s.q(`SELECT agent FROM sessions WHERE id = ?`), e.SessionID).Scan(&agent)
		switch {
		case err == nil:
			s.agents.put(e.SessionID, agent)
		case !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("reading session %s: %w", e.SessionID, err)
		}
	}
	if agent == "" && p.Session != nil {
		agent = p.Session.Agent
	}
	return p.Rows(e.Kind, agent), nil
}

// agentCache remembers session agents (which never change) for derived
// usage rows; it forgets everything when full.
type agentCache struct {
	mu sync.Mutex
	m  map[string]string
}

const agentCacheSize = 1 << 16

func (c *agentCache) get(id string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.m[id]
	return a, ok
}

func (c *agentCache) put(id, agent string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= agentCacheSize {
		c.m = map[string]string{}
	}
	c.m[id] = agent
}

// prepared returns the statement build(n), prepared once per n in cache.
func prepared(ctx context.Context, db *sql.DB, cache *sync.Map, n int, build func(int) string) (*sql.Stmt, error) {
	if v, ok := cache.Load(n); ok {
		return v.(*sql.Stmt), nil
	}
	st, err := db.PrepareContext(ctx, build(n))
	if err != nil {
		return nil, err
	}
	if v, loaded := cache.LoadOrStore(n, st); loaded {
		st.Close()
		return v.(*sql.Stmt), nil
	}
	return st, nil
}

// usageColumns are the usage_rows columns in insert order.
var usageColumns = [usageCols]string{"agent", "allowed", "role", "grant_conn", "proto", "part", "class", "tbl", "command",
	"time_ns", "session_id", "gateway", "seq", "n", "columns", "approvals", "runs"}

// usageInsert is the INSERT of the first cols columns, up to VALUES.
func usageInsert(cols int) string {
	return "INSERT INTO usage_rows (" + strings.Join(usageColumns[:cols], ", ") + ") VALUES "
}

// insertUsage is an INSERT of n usage rows of cols columns with ?
// placeholders.
func insertUsage(n, cols int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	var b strings.Builder
	b.WriteString(usageInsert(cols))
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

// insertUsagePostgres inserts the rows in args (ncols values each) with
// one INSERT ... SELECT FROM unnest.
func insertUsagePostgres(ctx context.Context, tx *sql.Tx, args []any, ncols int) error {
	n := len(args) / ncols
	cols := make([][]any, ncols)
	for c := range cols {
		cols[c] = make([]any, n)
		for r := 0; r < n; r++ {
			cols[c][r] = args[r*ncols+c]
		}
	}
	text := func(c int) []string {
		out := make([]string, n)
		for r, v := range cols[c] {
			out[r] = v.(string)
		}
		return out
	}
	ints := func(c int) []int64 {
		out := make([]int64, n)
		for r, v := range cols[c] {
			switch x := v.(type) {
			case int:
				out[r] = int64(x)
			case int64:
				out[r] = x
			}
		}
		return out
	}
	insert := usageInsert(ncols)
	arrays := `$1::text[], $2::smallint[], $3::text[], $4::text[], $5::text[], $6::smallint[], $7::text[], $8::text[],
			$9::text[], $10::bigint[], $11::text[], $12::text[], $13::bigint[], $14::integer[], $15::text[], $16::text[]`
	vals := []any{text(0), ints(1), text(2), text(3), text(4), ints(5), text(6), text(7), text(8), ints(9), text(10), text(11), ints(12), ints(13), text(14), text(15)}
	if ncols > backfillCols {
		arrays += `, $17::integer[]`
		vals = append(vals, ints(16))
	}
	_, err := tx.ExecContext(ctx, insert[:strings.Index(insert, " VALUES")]+`
		SELECT * FROM unnest(`+arrays+`)`, vals...)
	return err
}

// backfillChunk is how many events backfillUsage reads at a time.
const backfillChunk = 5000

// backfillUsage writes the usage rows of the events recorded before the
// migration that created usage_rows, in that migration's transaction.
func (s *sqlStore) backfillUsage(ctx context.Context, tx *sql.Tx) error {
	gw, seq := "", int64(-1)
	for {
		rows, err := tx.QueryContext(ctx, s.q(`SELECT gateway, seq, session_id, time_ns, kind, payload FROM events
			WHERE kind IN ('session_start', 'statement', 'command') AND (gateway > ? OR (gateway = ? AND seq > ?))
			ORDER BY gateway, seq LIMIT `+fmt.Sprint(backfillChunk)), gw, gw, seq)
		if err != nil {
			return fmt.Errorf("reading events: %w", err)
		}
		var b Batch
		for rows.Next() {
			var e Event
			var n int64
			if err := rows.Scan(&e.Gateway, &n, &e.SessionID, &e.Time, &e.Kind, &e.Payload); err != nil {
				rows.Close()
				return fmt.Errorf("reading events: %w", err)
			}
			e.Seq = uint64(n)
			b.Events = append(b.Events, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reading events: %w", err)
		}
		if len(b.Events) == 0 {
			return nil
		}
		if err := s.appendUsageTx(ctx, tx, &b, nil, true); err != nil {
			return err
		}
		last := b.Events[len(b.Events)-1]
		gw, seq = last.Gateway, int64(last.Seq)
	}
}

// pgText reports whether PostgreSQL text columns can hold the rows' strings.
func pgText(us []UsageRow) bool {
	for i := range us {
		u := &us[i]
		for _, x := range []string{u.Agent, u.Role, u.Grant, u.Class, u.Table, u.Command} {
			if strings.IndexByte(x, 0) >= 0 {
				return false
			}
		}
	}
	return true
}
