package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/mandatehq/mandate/runtime/chain"
)

type dialect struct {
	name     string
	postgres bool
}

var (
	dialectSQLite   = dialect{name: "sqlite"}
	dialectPostgres = dialect{name: "postgres", postgres: true}
)

// sqlStore implements Store over database/sql for both dialects; queries are
// written with ? placeholders and rebound for PostgreSQL by q.
type sqlStore struct {
	db      *sql.DB
	dialect dialect
	// inserts caches prepared multi-row INSERTs by row count (SQLite).
	inserts sync.Map // int -> *sql.Stmt
	// usageInserts is the same for usage rows.
	usageInserts sync.Map // int -> *sql.Stmt
	// agents caches session agents for usage rows Append derives.
	agents agentCache
}

var _ Store = (*sqlStore)(nil)

// q rebinds ? placeholders to $n for PostgreSQL.
func (s *sqlStore) q(query string) string {
	if !s.dialect.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *sqlStore) Close() error {
	s.inserts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
	s.usageInserts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
	return s.db.Close()
}

// insertStmt returns the prepared INSERT of n event rows.
func (s *sqlStore) insertStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	if v, ok := s.inserts.Load(n); ok {
		return v.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, insertEvents(n))
	if err != nil {
		return nil, err
	}
	if v, loaded := s.inserts.LoadOrStore(n, st); loaded {
		st.Close()
		return v.(*sql.Stmt), nil
	}
	return st, nil
}

func (s *sqlStore) Append(ctx context.Context, b *Batch) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("appending to record: %w", err)
	}
	defer tx.Rollback()
	// Sessions first: usage rows derived here name their session's agent.
	for i := range b.Sessions {
		if err := s.putSession(ctx, tx, &b.Sessions[i]); err != nil {
			return fmt.Errorf("appending session to record: %w", err)
		}
	}
	var args []any
	if s.dialect.postgres {
		err = appendEventsPostgres(ctx, tx, b.Events)
	} else {
		args = eventArgs(b.Events)
		err = s.appendEventsSQLite(ctx, tx, b.Events, args)
	}
	if err != nil {
		return fmt.Errorf("appending events to record: %w", err)
	}
	if err := s.appendUsageTx(ctx, tx, b, args, false); err != nil {
		return fmt.Errorf("appending usage rows to record: %w", err)
	}
	for i := range b.Checkpoints {
		if err := s.putCheckpoint(ctx, tx, &b.Checkpoints[i]); err != nil {
			return fmt.Errorf("appending checkpoint to record: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing to record: %w", err)
	}
	return nil
}

// sqliteChunk is how many rows one multi-row INSERT carries (8 parameters
// each, under SQLite's default limit of 32766 parameters).
const sqliteChunk = 128

// eventCols are the columns of events in insert order; the usage rows of
// an event reuse its boxed gateway, seq, session_id and time_ns.
const (
	eventCols                               = 8
	argGateway, argSeq, argSession, argTime = 0, 1, 2, 3
)

// eventArgs are the INSERT arguments of evs, eventCols per event.
func eventArgs(evs []Event) []any {
	args := make([]any, 0, eventCols*len(evs))
	var bx boxer
	for i := range evs {
		e := &evs[i]
		args = append(args, bx.str(0, e.Gateway), int64(e.Seq), bx.str(1, e.SessionID), e.Time,
			bx.str(2, e.Kind), e.Payload, e.Prev, e.Hash)
	}
	return args
}

func (s *sqlStore) appendEventsSQLite(ctx context.Context, tx *sql.Tx, evs []Event, args []any) error {
	for len(evs) > 0 {
		n := min(len(evs), sqliteChunk)
		st, err := s.insertStmt(ctx, n)
		if err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args[:n*eventCols]...); err != nil {
			return fmt.Errorf("events %s/%d..%d: %w", evs[0].Gateway, evs[0].Seq, evs[n-1].Seq, err)
		}
		evs, args = evs[n:], args[n*eventCols:]
	}
	return nil
}

// boxer converts strings to database/sql arguments, reusing the last
// conversion of a column while its value repeats: each conversion of a
// non-empty string to any allocates.
type boxer struct {
	s [usageCols]string
	v [usageCols]any
}

func (b *boxer) str(col int, s string) any {
	if b.v[col] == nil || b.s[col] != s {
		b.s[col], b.v[col] = s, s
	}
	return b.v[col]
}

// insertEvents is an INSERT of n rows with ? placeholders.
func insertEvents(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO events (gateway, seq, session_id, time_ns, kind, payload, prev_hash, hash) VALUES `)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?)")
	}
	return b.String()
}

func appendEventsPostgres(ctx context.Context, tx *sql.Tx, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	n := len(evs)
	gw, sid, kind := make([]string, n), make([]string, n), make([]string, n)
	seq, tm := make([]int64, n), make([]int64, n)
	payload, prev, hash := make([][]byte, n), make([][]byte, n), make([][]byte, n)
	for i := range evs {
		e := &evs[i]
		gw[i], seq[i], sid[i], tm[i], kind[i] = e.Gateway, int64(e.Seq), e.SessionID, e.Time, e.Kind
		payload[i], prev[i], hash[i] = e.Payload, e.Prev, e.Hash
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO events (gateway, seq, session_id, time_ns, kind, payload, prev_hash, hash)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::bytea[], $7::bytea[], $8::bytea[])`,
		gw, seq, sid, tm, kind, payload, prev, hash)
	return err
}

func (s *sqlStore) putCheckpoint(ctx context.Context, tx *sql.Tx, c *chain.Checkpoint) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO checkpoints (gateway, seq, hash, time_ns, key_id, reason, signature) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (gateway, seq) DO UPDATE SET hash = excluded.hash, time_ns = excluded.time_ns, key_id = excluded.key_id, reason = excluded.reason, signature = excluded.signature`),
		c.Gateway, int64(c.Seq), c.Hash, c.TimeUnixNano, c.KeyID, c.Reason, c.Signature)
	return err
}

func (s *sqlStore) putSession(ctx context.Context, tx *sql.Tx, x *Session) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO sessions (id, gateway, agent, subject, issuer, role, grant_conn, connection, client_addr, bundle_revision, start_ns, end_ns, end_reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET end_ns = excluded.end_ns, end_reason = excluded.end_reason`),
		x.ID, x.Gateway, x.Agent, x.Subject, x.Issuer, x.Role, x.Grant, x.Connection, x.ClientAddr, x.BundleRevision, x.Start, x.End, x.EndReason)
	return err
}

func (s *sqlStore) PutKey(ctx context.Context, gateway, keyID string, pub []byte) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO record_keys (key_id, gateway, public_key) VALUES (?, ?, ?) ON CONFLICT (key_id) DO NOTHING`), keyID, gateway, pub)
	if err != nil {
		return fmt.Errorf("recording public key %s: %w", keyID, err)
	}
	return nil
}

func (s *sqlStore) Prune(ctx context.Context, gateway string, through uint64, anchor *chain.Checkpoint) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("pruning record: %w", err)
	}
	defer tx.Rollback()
	if err := s.putCheckpoint(ctx, tx, anchor); err != nil {
		return 0, fmt.Errorf("pruning record: writing anchor: %w", err)
	}
	res, err := tx.ExecContext(ctx, s.q(`DELETE FROM events WHERE gateway = ? AND seq <= ?`), gateway, int64(through))
	if err != nil {
		return 0, fmt.Errorf("pruning events: %w", err)
	}
	n, _ := res.RowsAffected()
	if !s.dialect.postgres { // PostgreSQL: a trigger deletes them
		if _, err := tx.ExecContext(ctx, `DELETE FROM usage_rows WHERE gateway = ? AND seq <= ?`, gateway, int64(through)); err != nil {
			return 0, fmt.Errorf("pruning usage rows: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM checkpoints WHERE gateway = ? AND seq < ?`), gateway, int64(anchor.Seq)); err != nil {
		return 0, fmt.Errorf("pruning checkpoints: %w", err)
	}
	// Sessions whose events are all gone leave the index too.
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE gateway = ? AND end_ns <> 0 AND NOT EXISTS (SELECT 1 FROM events WHERE events.session_id = sessions.id)`), gateway); err != nil {
		return 0, fmt.Errorf("pruning sessions: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("committing prune: %w", err)
	}
	return n, nil
}
