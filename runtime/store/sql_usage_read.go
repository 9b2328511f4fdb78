package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// UsageQuery selects usage rows: event time within [Since, Until] (ns,
// inclusive; 0 does not bound) and, when set, one role or agent.
type UsageQuery struct {
	Since, Until int64
	Role, Agent  string
	// Samples is how many sample sessions each group carries.
	Samples int
}

// UsageSummary is the usage index aggregated by SQL: what audit.Usage
// turns into a model.Usage.
type UsageSummary struct {
	// Agents are the agents with counted events in the window (the Agent
	// filter does not apply).
	Agents []UsageAgent
	// Gateways are the gateways with counted events in the window.
	Gateways []string
	// Groups aggregate allowed rows by agent, role, grant, proto, part,
	// class, table and command.
	Groups []UsageGroup
	// Approvals are the allowed rows that used approvals.
	Approvals []UsageApproval
	// Opaque is set, and nothing else, when the window holds an event the
	// index cannot represent exactly: read the events instead.
	Opaque bool
}

// UsageAgent is one agent's counted events in the window: how many
// distinct sessions, the first and the last.
type UsageAgent struct {
	Agent       string
	Sessions    int
	First, Last int64
}

// UsageKey identifies a group of allowed usage rows.
type UsageKey struct {
	Agent, Role, Grant, Proto string
	Part                      int
	Class, Table, Command     string
}

// UsageGroup aggregates the allowed rows of one key.
type UsageGroup struct {
	UsageKey
	// Count is the number of rows; Events counts each event once (the
	// group holding its first row), so a grant's events are the sum over
	// its groups.
	Count, Events int64
	First, Last   int64
	// Samples are the sessions with the latest use, newest first (ties by
	// id), with their last use.
	Samples []SessionUse
	// Columns are the column names a PartAccess group's statements
	// referenced, in no order, possibly repeated.
	Columns []string
}

// SessionUse is a session's last use within a group.
type SessionUse struct {
	Session string
	Last    int64
}

// UsageApproval is an allowed row that used approvals.
type UsageApproval struct {
	UsageKey
	Approvals []string
	Time      int64
}

// window returns the WHERE conditions and arguments of q's time bounds
// and, with filters, its role and agent.
func (q *UsageQuery) window(filters bool) ([]string, []any) {
	var where []string
	var args []any
	add := func(c string, v any) { where = append(where, c); args = append(args, v) }
	if q.Since != 0 {
		add("time_ns >= ?", q.Since)
	}
	if q.Until != 0 {
		add("time_ns <= ?", q.Until)
	}
	if filters && q.Role != "" {
		add("role = ?", q.Role)
	}
	if filters && q.Agent != "" {
		add("agent = ?", q.Agent)
	}
	return where, args
}

func where(conds ...string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// Usage aggregates the usage index over q.
func (s *sqlStore) Usage(ctx context.Context, q UsageQuery) (*UsageSummary, error) {
	out := &UsageSummary{}
	if s.dialect.postgres {
		conds, args := q.window(false)
		err := s.db.QueryRowContext(ctx, s.q(`SELECT EXISTS (SELECT 1 FROM usage_rows`+where(append([]string{"part < 0"}, conds...)...)+`)`), args...).Scan(&out.Opaque)
		if err != nil || out.Opaque {
			return out, err
		}
	}
	if err := s.usageAgents(ctx, q, out); err != nil {
		return nil, fmt.Errorf("reading usage sessions: %w", err)
	}
	if err := s.usageGroups(ctx, q, out); err != nil {
		return nil, fmt.Errorf("reading usage: %w", err)
	}
	if err := s.usageSamples(ctx, q, out); err != nil {
		return nil, fmt.Errorf("reading usage samples: %w", err)
	}
	if err := s.usageApprovals(ctx, q, out); err != nil {
		return nil, fmt.Errorf("reading usage approvals: %w", err)
	}
	return out, nil
}

// usageAgents reads each agent's distinct sessions and first and last
// counted event (the primary key leads with the agent, so no sort), and
// the gateways with counted events in the window: an agent's two extreme
// gateways are all of them unless it has more than two, which are then
// read from its rows.
func (s *sqlStore) usageAgents(ctx context.Context, q UsageQuery, out *UsageSummary) error {
	conds, args := q.window(false)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT agent, COUNT(DISTINCT session_id), MIN(time_ns), MAX(time_ns), COUNT(DISTINCT gateway), MIN(gateway), MAX(gateway) FROM usage_rows`+
		where(conds...)+` GROUP BY agent`), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	gateways := map[string]bool{}
	var many []string
	for rows.Next() {
		var x UsageAgent
		var n int
		var lo, hi string
		if err := rows.Scan(&x.Agent, &x.Sessions, &x.First, &x.Last, &n, &lo, &hi); err != nil {
			return err
		}
		out.Agents = append(out.Agents, x)
		gateways[lo], gateways[hi] = true, true
		if n > 2 {
			many = append(many, x.Agent)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	for _, agent := range many {
		if err := s.agentGateways(ctx, agent, conds, args, gateways); err != nil {
			return err
		}
	}
	for gw := range gateways {
		out.Gateways = append(out.Gateways, gw)
	}
	sort.Strings(out.Gateways)
	return nil
}

func (s *sqlStore) agentGateways(ctx context.Context, agent string, conds []string, args []any, into map[string]bool) error {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT DISTINCT gateway FROM usage_rows`+where(append([]string{"agent = ?"}, conds...)...)),
		append([]any{agent}, args...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var gw string
		if err := rows.Scan(&gw); err != nil {
			return err
		}
		into[gw] = true
	}
	return rows.Err()
}

const usageKeyCols = `agent, role, grant_conn, proto, part, class, tbl, command`

func (k *UsageKey) dest() []any {
	return []any{&k.Agent, &k.Role, &k.Grant, &k.Proto, &k.Part, &k.Class, &k.Table, &k.Command}
}

// usageGroups aggregates the allowed rows. Grouping by the leading
// columns of the primary key lets SQLite read the table in order without
// sorting it; the rows that are not allowed (one group per agent) are
// skipped here, since a condition on allowed makes SQLite sort. The distinct column
// lists, each a JSON array, are joined by commas: a JSON array of arrays
// once bracketed.
func (s *sqlStore) usageGroups(ctx context.Context, q UsageQuery, out *UsageSummary) error {
	conds, args := q.window(true)
	cols := `group_concat(DISTINCT NULLIF(columns, ''))`
	if s.dialect.postgres {
		cols = `string_agg(DISTINCT NULLIF(columns, ''), ',')`
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT allowed, `+usageKeyCols+`, SUM(runs), SUM(CASE WHEN n = 0 THEN runs ELSE 0 END), MIN(time_ns), MAX(time_ns), `+cols+
		` FROM usage_rows`+where(conds...)+` GROUP BY agent, allowed, role, grant_conn, proto, part, class, tbl, command`), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var g UsageGroup
		var lists sql.NullString
		var allowed int
		if err := rows.Scan(append(append([]any{&allowed}, g.dest()...), &g.Count, &g.Events, &g.First, &g.Last, &lists)...); err != nil {
			return err
		}
		if allowed != 1 {
			continue
		}
		if lists.Valid && lists.String != "" {
			var ls [][]string
			if err := json.Unmarshal([]byte("["+lists.String+"]"), &ls); err != nil {
				return fmt.Errorf("decoding columns: %w", err)
			}
			for _, l := range ls {
				g.Columns = append(g.Columns, l...)
			}
		}
		out.Groups = append(out.Groups, g)
	}
	return rows.Err()
}

// usageSamples reads each group's rows newest first (the primary key
// backwards) until it has seen q.Samples distinct sessions and the rows at
// the time of the last one: the first row of a session is its last use,
// and sessions tied at a time are ordered by id.
func (s *sqlStore) usageSamples(ctx context.Context, q UsageQuery, out *UsageSummary) error {
	if q.Samples <= 0 || len(out.Groups) == 0 {
		return nil
	}
	conds, wargs := q.window(false)
	conds = append([]string{"agent = ?", "allowed = 1", "role = ?", "grant_conn = ?", "proto = ?", "part = ?", "class = ?", "tbl = ?", "command = ?"}, conds...)
	st, err := s.db.PrepareContext(ctx, s.q(`SELECT session_id, time_ns FROM usage_rows`+where(conds...)+` ORDER BY time_ns DESC, session_id DESC`))
	if err != nil {
		return err
	}
	defer st.Close()
	for i := range out.Groups {
		g := &out.Groups[i]
		args := append([]any{g.Agent, g.Role, g.Grant, g.Proto, g.Part, g.Class, g.Table, g.Command}, wargs...)
		if err := sampleGroup(ctx, st, args, q.Samples, g); err != nil {
			return err
		}
	}
	return nil
}

func sampleGroup(ctx context.Context, st *sql.Stmt, args []any, n int, g *UsageGroup) error {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	seen := make(map[string]bool, n)
	var samples []SessionUse
	for rows.Next() {
		var x SessionUse
		if err := rows.Scan(&x.Session, &x.Last); err != nil {
			return err
		}
		if len(samples) >= n && x.Last < samples[len(samples)-1].Last {
			break
		}
		if !seen[x.Session] {
			seen[x.Session] = true
			samples = append(samples, x)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	sort.SliceStable(samples, func(i, j int) bool {
		if samples[i].Last != samples[j].Last {
			return samples[i].Last > samples[j].Last
		}
		return samples[i].Session < samples[j].Session
	})
	g.Samples = samples[:min(n, len(samples))]
	return nil
}

func (s *sqlStore) usageApprovals(ctx context.Context, q UsageQuery, out *UsageSummary) error {
	conds, args := q.window(true)
	conds = append([]string{"approvals <> ''", "allowed = 1"}, conds...)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+usageKeyCols+`, approvals, time_ns FROM usage_rows`+where(conds...)), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var a UsageApproval
		var ids string
		if err := rows.Scan(append(a.dest(), &ids, &a.Time)...); err != nil {
			return err
		}
		if a.Approvals, err = decodeList(ids); err != nil {
			return fmt.Errorf("decoding approvals %q: %w", ids, err)
		}
		out.Approvals = append(out.Approvals, a)
	}
	return rows.Err()
}
