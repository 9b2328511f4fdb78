package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/mandatehq/mandate/runtime/chain"
)

func (s *sqlStore) Head(ctx context.Context, gateway string) (Head, error) {
	var h Head
	var seq int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT seq, hash, time_ns FROM events WHERE gateway = ? ORDER BY seq DESC LIMIT 1`), gateway).Scan(&seq, &h.Hash, &h.Time)
	if errors.Is(err, sql.ErrNoRows) {
		// A pruned chain may be empty but anchored.
		err = s.db.QueryRowContext(ctx, s.q(`SELECT seq, hash, time_ns FROM checkpoints WHERE gateway = ? ORDER BY seq DESC LIMIT 1`), gateway).Scan(&seq, &h.Hash, &h.Time)
		if errors.Is(err, sql.ErrNoRows) {
			return Head{}, nil
		}
	}
	if err != nil {
		return Head{}, fmt.Errorf("reading head of %s: %w", gateway, err)
	}
	h.Seq = uint64(seq)
	return h, nil
}

func (s *sqlStore) Gateways(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT gateway FROM events UNION SELECT DISTINCT gateway FROM checkpoints ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("listing gateways: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, fmt.Errorf("listing gateways: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func (s *sqlStore) Events(ctx context.Context, f EventFilter, fn func(*Event) error) error {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Gateway != "" {
		add("gateway = ?", f.Gateway)
	}
	if f.SessionID != "" {
		add("session_id = ?", f.SessionID)
	}
	if f.FromSeq != 0 {
		add("seq >= ?", int64(f.FromSeq))
	}
	if f.ToSeq != 0 {
		add("seq <= ?", int64(f.ToSeq))
	}
	if f.Since != 0 {
		add("time_ns >= ?", f.Since)
	}
	if f.Until != 0 {
		add("time_ns <= ?", f.Until)
	}
	if len(f.Kinds) > 0 {
		ph := strings.TrimSuffix(strings.Repeat("?,", len(f.Kinds)), ",")
		where = append(where, "kind IN ("+ph+")")
		for _, k := range f.Kinds {
			args = append(args, k)
		}
	}
	query := `SELECT gateway, seq, session_id, time_ns, kind, payload, prev_hash, hash FROM events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY gateway, seq"
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return fmt.Errorf("reading events: %w", err)
	}
	defer rows.Close()
	var e Event
	// RawBytes avoid copying the blobs of every row: they stay valid until
	// the next row, which is why fn must not keep e.
	var payload, prev, hash sql.RawBytes
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&e.Gateway, &seq, &e.SessionID, &e.Time, &e.Kind, &payload, &prev, &hash); err != nil {
			return fmt.Errorf("reading events: %w", err)
		}
		e.Seq, e.Payload, e.Prev, e.Hash = uint64(seq), payload, prev, hash
		if err := fn(&e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading events: %w", err)
	}
	return nil
}

func (s *sqlStore) Checkpoints(ctx context.Context, gateway string) ([]chain.Checkpoint, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT gateway, seq, hash, time_ns, key_id, reason, signature FROM checkpoints WHERE gateway = ? ORDER BY seq`), gateway)
	if err != nil {
		return nil, fmt.Errorf("reading checkpoints: %w", err)
	}
	defer rows.Close()
	var out []chain.Checkpoint
	for rows.Next() {
		var c chain.Checkpoint
		var seq int64
		if err := rows.Scan(&c.Gateway, &seq, &c.Hash, &c.TimeUnixNano, &c.KeyID, &c.Reason, &c.Signature); err != nil {
			return nil, fmt.Errorf("reading checkpoints: %w", err)
		}
		c.Seq = uint64(seq)
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *sqlStore) Sessions(ctx context.Context, f SessionFilter) ([]Session, error) {
	var where []string
	var args []any
	add := func(cond string, v ...any) { where = append(where, cond); args = append(args, v...) }
	if f.ID != "" {
		add("id = ?", f.ID)
	}
	if f.Agent != "" {
		add("agent = ?", f.Agent)
	}
	if f.Connection != "" {
		add("connection = ?", f.Connection)
	}
	if f.Since != 0 {
		add("(end_ns = 0 OR end_ns >= ?)", f.Since)
	}
	query := `SELECT id, gateway, agent, subject, issuer, role, grant_conn, connection, client_addr, bundle_revision, start_ns, end_ns, end_reason FROM sessions`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY start_ns DESC, id"
	if f.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("listing sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var x Session
		if err := rows.Scan(&x.ID, &x.Gateway, &x.Agent, &x.Subject, &x.Issuer, &x.Role, &x.Grant, &x.Connection, &x.ClientAddr, &x.BundleRevision, &x.Start, &x.End, &x.EndReason); err != nil {
			return nil, fmt.Errorf("listing sessions: %w", err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

func (s *sqlStore) Keys(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key_id, public_key FROM record_keys`)
	if err != nil {
		return nil, fmt.Errorf("reading record keys: %w", err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var id string
		var pub []byte
		if err := rows.Scan(&id, &pub); err != nil {
			return nil, fmt.Errorf("reading record keys: %w", err)
		}
		out[id] = pub
	}
	return out, rows.Err()
}
