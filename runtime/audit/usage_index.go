package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/store"
)

// UsageIndex is a store that aggregates usage itself (the SQL stores, from
// the usage rows written beside each event). Usage uses it when the store
// has it instead of decoding every event.
type UsageIndex interface {
	Usage(ctx context.Context, q store.UsageQuery) (*store.UsageSummary, error)
}

// errOpaque says that the index cannot answer for the window exactly.
var errOpaque = errors.New("usage index: window holds events the index cannot represent")

// usageFromIndex builds the same result as the event-by-event aggregation
// from the store's summary. A grant's sample sessions are the top of its
// groups' samples merged: a session among the grant's latest is among the
// latest of the group where its last use is, so the merge is exact.
func usageFromIndex(ctx context.Context, ix UsageIndex, f UsageFilter) (*model.Usage, error) {
	sum, err := ix.Usage(ctx, store.UsageQuery{Since: unixNano(f.Since), Until: unixNano(f.Until), Role: f.Role, Agent: f.Agent, Samples: maxSamples})
	if err != nil {
		return nil, fmt.Errorf("computing usage: %w", err)
	}
	if sum.Opaque {
		return nil, errOpaque
	}
	a := &usageAgg{f: f, agents: map[string]*agentAgg{}, grants: map[grantKey]*grantAgg{},
		approvals: map[approvalKey]*approvalAgg{}, gateways: map[string]bool{}}
	for _, gw := range sum.Gateways {
		a.gateways[gw] = true
	}
	sessions := map[string]int{}
	for _, x := range sum.Agents {
		if f.Agent != "" && x.Agent != f.Agent {
			continue
		}
		ag := &agentAgg{}
		ag.span.add(x.First)
		ag.span.add(x.Last)
		a.agents[x.Agent] = ag
		sessions[x.Agent] = x.Sessions
	}
	grant := func(k *store.UsageKey) *grantAgg {
		gk := grantKey{k.Agent, k.Role, k.Grant, k.Proto}
		g := a.grants[gk]
		if g == nil {
			g = &grantAgg{useAgg: *newUse(), stmts: map[stmtKey]*useAgg{}, cmds: map[string]*useAgg{}}
			a.grants[gk] = g
		}
		return g
	}
	for i := range sum.Groups {
		gr := &sum.Groups[i]
		g := grant(&gr.UsageKey)
		g.count += gr.Events
		g.span.add(gr.First)
		g.span.add(gr.Last)
		var u *useAgg
		switch gr.Part {
		case store.PartAccess:
			u = newUse()
			g.stmts[stmtKey{gr.Class, gr.Table}] = u
		case store.PartCommand:
			u = newUse()
			g.cmds[gr.Command] = u
		}
		for _, s := range gr.Samples {
			g.samples.add(s.Session, s.Last)
			if u != nil {
				u.samples.add(s.Session, s.Last)
			}
		}
		if u != nil {
			for _, c := range gr.Columns {
				u.columns[c] = true
			}
			u.count = gr.Count
			u.span.add(gr.First)
			u.span.add(gr.Last)
		}
	}
	for _, ap := range sum.Approvals {
		k := approvalKey{ap.Agent, ap.Role, ap.Grant, ap.Class, ap.Table, ap.Command}
		if ap.Part == store.PartCommand {
			k.class, k.table = "", ""
		} else {
			k.command = ""
		}
		x := a.approvals[k]
		if x == nil {
			x = &approvalAgg{ids: map[string]bool{}}
			a.approvals[k] = x
		}
		for _, id := range ap.Approvals {
			x.ids[id] = true
		}
		x.last = max(x.last, ap.Time)
	}
	u := a.result()
	for i := range u.Agents {
		u.Agents[i].Sessions = sessions[u.Agents[i].Agent]
	}
	return u, nil
}
