package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
)

// UsageStore is what Usage reads.
type UsageStore interface {
	Events(ctx context.Context, f store.EventFilter, fn func(*store.Event) error) error
	Sessions(ctx context.Context, f store.SessionFilter) ([]store.Session, error)
}

// UsageFilter selects the window and, optionally, one role or agent.
type UsageFilter struct {
	Since, Until time.Time
	Role         string
	Agent        string
}

// maxSamples is how many sample session ids each usage entry carries.
const maxSamples = 5

// ShellCommand is the Command name usage gives an interactive shell.
const ShellCommand = store.ShellCommand

// Usage counts, exactly, every allowed statement and command in the window
// under the role and grant whose decision allowed it. The HTTP API serves
// it to auditors and `mandate review` reads it. A store with a usage index
// (UsageIndex: the SQL stores) aggregates it in SQL; any other is read
// event by event.
func Usage(ctx context.Context, st UsageStore, f UsageFilter) (*model.Usage, error) {
	if f.Until.IsZero() {
		f.Until = time.Now()
	}
	if ix, ok := st.(UsageIndex); ok {
		u, err := usageFromIndex(ctx, ix, f)
		if !errors.Is(err, errOpaque) {
			return u, err
		}
	}
	return usageFromEvents(ctx, st, f)
}

// usageFromEvents decodes and counts every event in the window.
func usageFromEvents(ctx context.Context, st UsageStore, f UsageFilter) (*model.Usage, error) {
	a := &usageAgg{f: f, sessions: map[string]store.Session{}, agents: map[string]*agentAgg{},
		grants: map[grantKey]*grantAgg{}, approvals: map[approvalKey]*approvalAgg{}, gateways: map[string]bool{}}
	ss, err := st.Sessions(ctx, store.SessionFilter{Since: unixNano(f.Since)})
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		a.sessions[s.ID] = s
	}
	kinds := []string{string(recorder.KindSessionStart), string(recorder.KindStatement), string(recorder.KindCommand)}
	err = st.Events(ctx, store.EventFilter{Since: unixNano(f.Since), Until: unixNano(f.Until), Kinds: kinds}, func(e *store.Event) error {
		var ev recorder.Event
		if err := json.Unmarshal(e.Payload, &ev); err != nil {
			return fmt.Errorf("reading event %s/%d: %w", e.Gateway, e.Seq, err)
		}
		if _, ok := a.sessions[e.SessionID]; !ok {
			// A session that ended before the window (by its clock) still
			// names the agent; an unknown one is remembered as such.
			ss, err := st.Sessions(ctx, store.SessionFilter{ID: e.SessionID})
			if err != nil {
				return err
			}
			a.sessions[e.SessionID] = store.Session{}
			for _, s := range ss {
				if s.ID == e.SessionID {
					a.sessions[e.SessionID] = s
				}
			}
		}
		a.add(e, &ev)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("computing usage: %w", err)
	}
	return a.result(), nil
}

type grantKey struct{ agent, role, conn, kind string }
type stmtKey struct{ class, table string }
type approvalKey struct{ agent, role, conn, class, table, command string }

type samples map[string]int64 // session id -> last use

func (s samples) add(id string, t int64) {
	if t > s[id] {
		s[id] = t
	}
}

func (s samples) top() []string {
	ids := make([]string, 0, len(s))
	for id := range s {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if s[ids[i]] != s[ids[j]] {
			return s[ids[i]] > s[ids[j]]
		}
		return ids[i] < ids[j]
	})
	if len(ids) > maxSamples {
		ids = ids[:maxSamples]
	}
	return ids
}

type span struct{ first, last int64 }

func (s *span) add(t int64) {
	if s.first == 0 || t < s.first {
		s.first = t
	}
	if t > s.last {
		s.last = t
	}
}

type agentAgg struct {
	span
	sessions map[string]bool
}

type useAgg struct {
	span
	count   int64
	samples samples
	columns map[string]bool
}

type grantAgg struct {
	useAgg
	stmts map[stmtKey]*useAgg
	cmds  map[string]*useAgg
}

type approvalAgg struct {
	ids  map[string]bool
	last int64
}

type usageAgg struct {
	f         UsageFilter
	sessions  map[string]store.Session
	agents    map[string]*agentAgg
	grants    map[grantKey]*grantAgg
	approvals map[approvalKey]*approvalAgg
	gateways  map[string]bool
}

func newUse() *useAgg { return &useAgg{samples: samples{}, columns: map[string]bool{}} }

// add counts runs uses by session sid at t.
func (u *useAgg) add(sid string, t, runs int64) {
	u.count += runs
	u.span.add(t)
	u.samples.add(sid, t)
}

func (a *usageAgg) add(e *store.Event, ev *recorder.Event) {
	a.gateways[e.Gateway] = true
	agent := a.sessions[e.SessionID].Agent
	if agent == "" && ev.Session != nil {
		agent = ev.Session.Agent
	}
	if agent == "" {
		agent = "(unknown)"
	}
	if a.f.Agent != "" && agent != a.f.Agent {
		return
	}
	ag := a.agents[agent]
	if ag == nil {
		ag = &agentAgg{sessions: map[string]bool{}}
		a.agents[agent] = ag
	}
	ag.sessions[e.SessionID] = true
	ag.span.add(e.Time)
	d := ev.Decision
	if d == nil || d.Result != model.Allow || (a.f.Role != "" && d.Role != a.f.Role) {
		return
	}
	kind := "postgres"
	if e.Kind == string(recorder.KindCommand) {
		kind = "ssh"
	}
	gk := grantKey{agent, d.Role, d.Grant, kind}
	g := a.grants[gk]
	if g == nil {
		g = &grantAgg{useAgg: *newUse(), stmts: map[stmtKey]*useAgg{}, cmds: map[string]*useAgg{}}
		a.grants[gk] = g
	}
	runs := ev.Runs() // coalesced repeats count at the event's time
	g.add(e.SessionID, e.Time, runs)
	var aks []approvalKey
	if st := ev.Statement; st != nil && kind == "postgres" {
		seen := map[stmtKey]bool{}
		for _, acc := range st.Accesses {
			k := stmtKey{acc.Class, acc.Table}
			if seen[k] {
				continue
			}
			seen[k] = true
			u := g.stmts[k]
			if u == nil {
				u = newUse()
				g.stmts[k] = u
			}
			u.add(e.SessionID, e.Time, runs)
			for _, c := range st.Columns {
				if acc.Table != "" && strings.HasPrefix(c, acc.Table+".") {
					u.columns[strings.TrimPrefix(c, acc.Table+".")] = true
				}
			}
			aks = append(aks, approvalKey{agent, d.Role, d.Grant, acc.Class, acc.Table, ""})
		}
	}
	if c := ev.Command; c != nil && kind == "ssh" {
		text := c.Text
		if c.Shell {
			text = ShellCommand
		}
		u := g.cmds[text]
		if u == nil {
			u = newUse()
			g.cmds[text] = u
		}
		u.add(e.SessionID, e.Time, runs)
		aks = append(aks, approvalKey{agent, d.Role, d.Grant, "", "", text})
	}
	if len(ev.Approvals) == 0 {
		return
	}
	for _, k := range aks {
		ap := a.approvals[k]
		if ap == nil {
			ap = &approvalAgg{ids: map[string]bool{}}
			a.approvals[k] = ap
		}
		for _, id := range ev.Approvals {
			ap.ids[id] = true
		}
		ap.last = max(ap.last, e.Time)
	}
}

func ts(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func (a *usageAgg) result() *model.Usage {
	u := &model.Usage{Since: a.f.Since.UTC(), Until: a.f.Until.UTC(), Agents: []model.AgentUsage{}, Grants: []model.GrantUsage{}}
	for gw := range a.gateways {
		u.Gateways = append(u.Gateways, gw)
	}
	sort.Strings(u.Gateways)
	withGrants := map[string]bool{}
	for k, g := range a.grants {
		withGrants[k.agent] = true
		gu := model.GrantUsage{Agent: k.agent, Role: k.role, Connection: k.conn, Kind: k.kind, Count: g.count,
			First: ts(g.first), Last: ts(g.last), SampleSessions: g.samples.top()}
		for sk, s := range g.stmts {
			su := model.StatementUsage{Class: sk.class, Table: sk.table, Count: s.count, First: ts(s.first), Last: ts(s.last), SampleSessions: s.samples.top()}
			for c := range s.columns {
				su.Columns = append(su.Columns, c)
			}
			sort.Strings(su.Columns)
			gu.Statements = append(gu.Statements, su)
		}
		sort.Slice(gu.Statements, func(i, j int) bool {
			x, y := gu.Statements[i], gu.Statements[j]
			return x.Class < y.Class || (x.Class == y.Class && x.Table < y.Table)
		})
		for c, s := range g.cmds {
			gu.Commands = append(gu.Commands, model.CommandUsage{Command: c, Count: s.count, First: ts(s.first), Last: ts(s.last), SampleSessions: s.samples.top()})
		}
		sort.Slice(gu.Commands, func(i, j int) bool { return gu.Commands[i].Command < gu.Commands[j].Command })
		u.Grants = append(u.Grants, gu)
	}
	sort.Slice(u.Grants, func(i, j int) bool {
		x, y := u.Grants[i], u.Grants[j]
		return fmt.Sprint(x.Agent, "\x00", x.Role, "\x00", x.Connection, "\x00", x.Kind) < fmt.Sprint(y.Agent, "\x00", y.Role, "\x00", y.Connection, "\x00", y.Kind)
	})
	for name, ag := range a.agents {
		if a.f.Role != "" && !withGrants[name] {
			continue
		}
		u.Agents = append(u.Agents, model.AgentUsage{Agent: name, Sessions: len(ag.sessions), First: ts(ag.first), Last: ts(ag.last)})
	}
	sort.Slice(u.Agents, func(i, j int) bool { return u.Agents[i].Agent < u.Agents[j].Agent })
	for k, ap := range a.approvals {
		u.Approvals = append(u.Approvals, model.ApprovalUsage{Agent: k.agent, Role: k.role, Connection: k.conn,
			Class: k.class, Table: k.table, Command: k.command, Approved: len(ap.ids), Last: ts(ap.last)})
	}
	sort.Slice(u.Approvals, func(i, j int) bool {
		x, y := u.Approvals[i], u.Approvals[j]
		return fmt.Sprint(x.Agent, "\x00", x.Role, "\x00", x.Connection, "\x00", x.Class, "\x00", x.Table, "\x00", x.Command) <
			fmt.Sprint(y.Agent, "\x00", y.Role, "\x00", y.Connection, "\x00", y.Class, "\x00", y.Table, "\x00", y.Command)
	})
	return u
}
