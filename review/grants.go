package review

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mandatehq/mandate/model"
)

const maxSamples = 5

func reviewRole(p *model.Policy, r *model.Role, d Due, idx *usageIndex, plan *Plan, agentOwner map[string]string, opts Options) RoleReview {
	rr := RoleReview{Due: d, Description: r.Description, Source: r.Source}
	rr.UnusedAfter = plan.Until.Sub(plan.Since)
	if r.Review != nil && r.Review.UnusedAfterSeconds > 0 {
		rr.UnusedAfter = time.Duration(r.Review.UnusedAfterSeconds) * time.Second
	}
	start := plan.Until.Add(-rr.UnusedAfter)
	rr.Covered = !plan.Since.After(start)
	if start.Before(plan.Since) {
		start = plan.Since
	}
	rr.WindowStart = start
	if !rr.Covered {
		rr.Notes = append(rr.Notes, fmt.Sprintf("The usage starts %s, later than %s (the review date minus unused_after %s): nothing can be shown unused for long enough, so no removal is proposed. Rerun with a longer --since.",
			plan.Since.Format(time.DateOnly), plan.Until.Add(-rr.UnusedAfter).Format(time.DateOnly), formatDuration(rr.UnusedAfter)))
	}
	if r.Review != nil {
		for _, g := range r.Review.Reviewers {
			if grp := p.Groups[g]; grp != nil {
				rr.Reviewers = append(rr.Reviewers, grp.GitHub...)
				if len(grp.GitHub) == 0 {
					rr.Notes = append(rr.Notes, fmt.Sprintf("Reviewer group %q has no `github` handles, so no review is requested from it; add them to the group or ask its members by hand.", g))
				}
			}
		}
		slices.Sort(rr.Reviewers)
		rr.Reviewers = slices.Compact(rr.Reviewers)
	}
	used := func(count int64, last time.Time) bool {
		return count > 0 && (last.IsZero() || !last.Before(start))
	}
	usages := idx.grants[r.Name]
	for _, conn := range sortedKeys(r.Postgres) {
		g := r.Postgres[conn]
		if g == nil {
			continue
		}
		gr := collectGrant("postgres", conn, g.Source, usages, used)
		gr.Entries = postgresEntries(g, usages, conn, used)
		rr.Grants = append(rr.Grants, gr)
		if rr.Covered {
			rr.Proposals = append(rr.Proposals, postgresProposals(r.Name, g, gr, used)...)
		}
	}
	for _, conn := range sortedKeys(r.SSH) {
		g := r.SSH[conn]
		if g == nil {
			continue
		}
		gr := collectGrant("ssh", conn, g.Source, usages, used)
		gr.Entries = sshEntries(g, usages, conn, used)
		rr.Grants = append(rr.Grants, gr)
		if g.Interactive {
			shells := shellUse(usages, conn, used)
			if shells > 0 {
				rr.Notes = append(rr.Notes, fmt.Sprintf("ssh %q: %d interactive shell sessions in the window.", conn, shells))
			} else {
				rr.Notes = append(rr.Notes, fmt.Sprintf("ssh %q allows interactive shells and none was opened in the window; consider `interactive = false` (the bot does not change it).", conn))
			}
		}
		if rr.Covered {
			rr.Proposals = append(rr.Proposals, sshProposals(r.Name, g, gr)...)
		}
	}
	reviewAgents(p, r, &rr, idx, agentOwner, used)
	for _, a := range idx.approvals[r.Name] {
		if a.Approved >= opts.BaselineMin {
			rr.Baseline = append(rr.Baseline, *a)
		}
	}
	slices.SortStableFunc(rr.Baseline, func(a, b model.ApprovalUsage) int {
		if a.Approved != b.Approved {
			return b.Approved - a.Approved
		}
		return strings.Compare(a.Agent+a.Connection+a.Class+a.Table+a.Command, b.Agent+b.Connection+b.Class+b.Table+b.Command)
	})
	if r.Review != nil {
		rr.Proposals = append(rr.Proposals, Proposal{Kind: SetLastReviewed, Role: r.Name, Value: plan.Date,
			Reason: "Merging this pull request recertifies the role.", Source: r.Review.Source})
	}
	return rr
}

// collectGrant sums the use of one grant block over every agent.
func collectGrant(kind, conn string, src model.Source, usages []*model.GrantUsage, used func(int64, time.Time) bool) GrantReview {
	gr := GrantReview{Kind: kind, Connection: conn, Source: src}
	for _, u := range usages {
		if u.Kind != kind || u.Connection != conn || u.Count == 0 {
			continue
		}
		gr.Used = gr.Used || used(u.Count, u.Last)
		gr.Count += u.Count
		gr.First, gr.Last = span(gr.First, gr.Last, u.First, u.Last)
		gr.Agents = append(gr.Agents, u.Agent)
		gr.Samples = append(gr.Samples, u.SampleSessions...)
	}
	slices.Sort(gr.Agents)
	gr.Agents = slices.Compact(gr.Agents)
	gr.Samples = samples(gr.Samples)
	return gr
}

func postgresEntries(g *model.PostgresGrant, usages []*model.GrantUsage, conn string, used func(int64, time.Time) bool) []EntryUsage {
	var out []EntryUsage
	for _, s := range g.Statements {
		e := EntryUsage{Field: "statements", Value: s}
		eachStatement(usages, "postgres", conn, func(su *model.StatementUsage) {
			if !(s == "*" || strings.EqualFold(s, su.Class)) {
				return
			}
			addUse(&e, su.Count, su.First, su.Last, su.SampleSessions)
			if used(su.Count, su.Last) {
				e.Used = true
				e.Matched = append(e.Matched, strings.ToLower(su.Class))
			}
		})
		out = append(out, finishEntry(e, s == "*"))
	}
	for _, t := range g.Tables {
		e := EntryUsage{Field: "tables", Value: t}
		eachStatement(usages, "postgres", conn, func(su *model.StatementUsage) {
			if su.Table == "" || !matchTable(t, su.Table) {
				return
			}
			addUse(&e, su.Count, su.First, su.Last, su.SampleSessions)
			e.Columns = append(e.Columns, su.Columns...)
			if used(su.Count, su.Last) {
				e.Used = true
				e.Matched = append(e.Matched, qualify(su.Table))
			}
		})
		slices.Sort(e.Columns)
		e.Columns = slices.Compact(e.Columns)
		out = append(out, finishEntry(e, isPattern(t)))
	}
	return out
}

func sshEntries(g *model.SSHGrant, usages []*model.GrantUsage, conn string, used func(int64, time.Time) bool) []EntryUsage {
	var out []EntryUsage
	for _, c := range g.Commands {
		e := EntryUsage{Field: "commands", Value: c}
		for _, u := range usages {
			if u.Kind != "ssh" || u.Connection != conn {
				continue
			}
			for i := range u.Commands {
				cu := &u.Commands[i]
				if cu.Count > 0 && cu.Command != ShellCommand && matchCommand(c, cu.Command) {
					addUse(&e, cu.Count, cu.First, cu.Last, cu.SampleSessions)
					if used(cu.Count, cu.Last) {
						e.Used = true
						e.Matched = append(e.Matched, cu.Command)
					}
				}
			}
		}
		out = append(out, finishEntry(e, isPattern(c)))
	}
	return out
}

func eachStatement(usages []*model.GrantUsage, kind, conn string, f func(*model.StatementUsage)) {
	for _, u := range usages {
		if u.Kind != kind || u.Connection != conn {
			continue
		}
		for i := range u.Statements {
			f(&u.Statements[i])
		}
	}
}

func addUse(e *EntryUsage, n int64, first, last time.Time, s []string) {
	e.Count += n
	e.First, e.Last = span(e.First, e.Last, first, last)
	e.Samples = append(e.Samples, s...)
}

func finishEntry(e EntryUsage, pattern bool) EntryUsage {
	e.Samples = samples(e.Samples)
	if !pattern {
		e.Matched = nil
		return e
	}
	slices.Sort(e.Matched)
	e.Matched = slices.Compact(e.Matched)
	return e
}

func span(first, last, f, l time.Time) (time.Time, time.Time) {
	if !f.IsZero() && (first.IsZero() || f.Before(first)) {
		first = f
	}
	if l.After(last) {
		last = l
	}
	return first.UTC(), last.UTC()
}

// samples keeps up to maxSamples distinct session ids, in the order seen.
func samples(s []string) []string {
	var out []string
	for _, id := range s {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
			if len(out) == maxSamples {
				break
			}
		}
	}
	return out
}

// ShellCommand is the command name the usage gives an interactive shell
// (runtime/audit.ShellCommand); no command pattern matches it.
const ShellCommand = "(interactive shell)"

func shellUse(usages []*model.GrantUsage, conn string, used func(int64, time.Time) bool) int64 {
	var n int64
	for _, u := range usages {
		if u.Kind != "ssh" || u.Connection != conn {
			continue
		}
		for _, cu := range u.Commands {
			if cu.Command == ShellCommand && used(cu.Count, cu.Last) {
				n += cu.Count
			}
		}
	}
	return n
}
