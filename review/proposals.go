package review

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mandatehq/mandate/model"
)

func postgresProposals(role string, g *model.PostgresGrant, gr GrantReview, used func(int64, time.Time) bool) []Proposal {
	base := Proposal{Role: role, GrantKind: "postgres", Connection: gr.Connection, Source: g.Source}
	if !gr.Used {
		p := base
		p.Kind = RemoveGrant
		p.Reason = "Nothing was allowed through this grant in the window."
		return []Proposal{p}
	}
	var out []Proposal
	// Elements named literally, which a narrowed wildcard does not repeat.
	literal := map[string]bool{}
	for _, e := range gr.Entries {
		switch {
		case isPattern(e.Value):
		case e.Field == "tables":
			literal["tables|"+strings.ToLower(qualify(e.Value))] = true
		case e.Field == "statements":
			literal["statements|"+strings.ToLower(e.Value)] = true
		}
	}
	for _, e := range gr.Entries {
		p := base
		p.Value = e.Value
		switch {
		case !e.Used:
			p.Kind = map[string]Kind{"statements": RemoveStatement, "tables": RemoveTable}[e.Field]
			p.Reason = unusedReason(e)
		case e.Field == "statements" && isPattern(e.Value):
			for _, c := range orderClasses(e.Matched) {
				if !literal["statements|"+c] {
					p.Replacement = append(p.Replacement, c)
				}
			}
			if len(p.Replacement) == 0 {
				p.Kind = RemoveStatement
				p.Reason = fmt.Sprintf("The classes used through %q are granted by name already.", e.Value)
			} else {
				p.Kind = NarrowStatements
				p.Reason = fmt.Sprintf("Only %s were used in the window.", strings.Join(orderClasses(e.Matched), ", "))
			}
		case e.Field == "tables" && isPattern(e.Value):
			for _, t := range e.Matched {
				if !literal["tables|"+strings.ToLower(t)] {
					p.Replacement = append(p.Replacement, t)
				}
			}
			if len(p.Replacement) == 0 {
				p.Kind = RemoveTable
				p.Reason = fmt.Sprintf("The tables used through %q are granted by name already.", e.Value)
			} else {
				p.Kind = NarrowTable
				p.Reason = fmt.Sprintf("Only %d of the tables %q covers were used in the window.", len(p.Replacement), e.Value)
			}
		default:
			continue
		}
		out = append(out, p)
	}
	return out
}

func sshProposals(role string, g *model.SSHGrant, gr GrantReview) []Proposal {
	base := Proposal{Role: role, GrantKind: "ssh", Connection: gr.Connection, Source: g.Source}
	if !gr.Used {
		p := base
		p.Kind = RemoveGrant
		p.Reason = "No command ran through this grant in the window."
		return []Proposal{p}
	}
	var out []Proposal
	for _, e := range gr.Entries {
		if e.Used {
			continue
		}
		p := base
		p.Kind = RemoveCommand
		p.Value = e.Value
		p.Reason = fmt.Sprintf("No command matching %q ran in the window.", e.Value)
		out = append(out, p)
	}
	return out
}

func reviewAgents(p *model.Policy, r *model.Role, rr *RoleReview, idx *usageIndex, agentOwner map[string]string, used func(int64, time.Time) bool) {
	usedBy := map[string]bool{}
	for _, u := range idx.grants[r.Name] {
		if used(u.Count, u.Last) {
			usedBy[u.Agent] = true
		}
	}
	for _, a := range idx.approvals[r.Name] {
		if a.Approved > 0 && used(int64(a.Approved), a.Last) {
			usedBy[a.Agent] = true
		}
	}
	for _, name := range sortedKeys(p.Agents) {
		a := p.Agents[name]
		if a == nil || !slices.Contains(a.Roles, r.Name) {
			continue
		}
		ar := AgentReview{Agent: name, UsedRole: usedBy[name], Source: a.Source}
		active := false
		if au := idx.agents[name]; au != nil {
			ar.Sessions, ar.Last = au.Sessions, au.Last.UTC()
			active = used(int64(au.Sessions), au.Last)
		}
		rr.Agents = append(rr.Agents, ar)
		if !rr.Covered {
			continue
		}
		switch {
		case !active && agentOwner[name] == r.Name:
			rr.Proposals = append(rr.Proposals, Proposal{Kind: RemoveAgent, Role: r.Name, Agent: name, Source: a.Source,
				Reason: "The agent had no session in the window."})
		case !active:
			rr.Notes = append(rr.Notes, fmt.Sprintf("Agent %q had no session in the window; its removal is proposed in the review of role %q.", name, agentOwner[name]))
		case !ar.UsedRole:
			rr.Proposals = append(rr.Proposals, Proposal{Kind: RemoveAgentRole, Role: r.Name, Agent: name, Value: r.Name, Source: a.Source,
				Reason: fmt.Sprintf("The agent had sessions but used nothing role %q grants in the window.", r.Name)})
		}
	}
}

func orderClasses(classes []string) []string {
	out := slices.Clone(classes)
	rank := func(c string) int {
		if i := slices.Index(statementOrder, c); i >= 0 {
			return i
		}
		return len(statementOrder)
	}
	slices.SortFunc(out, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(out)
}

func unusedReason(e EntryUsage) string {
	if e.Field == "statements" {
		return fmt.Sprintf("No %s statement was allowed in the window.", e.Value)
	}
	return fmt.Sprintf("No statement touched %s in the window.", e.Value)
}

// formatDuration prints whole days as "90d", other durations as Go does.
func formatDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
