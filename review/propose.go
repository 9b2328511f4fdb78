package review

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mandatehq/mandate/model"
)

// DefaultBaselineMin is how many approvals of the same request make it a
// baseline candidate.
const DefaultBaselineMin = 3

// Options tune Propose.
type Options struct {
	// Now is the review date (UTC); its day is written to last_reviewed.
	Now time.Time
	// Notice proposes reviews this long before they are due. Default DefaultNotice.
	Notice time.Duration
	// Roles forces a review of exactly these roles, due or not.
	Roles []string
	// BaselineMin is the approval count that makes a request a baseline
	// candidate. Default DefaultBaselineMin.
	BaselineMin int
}

// Plan is the review of every role that is due.
type Plan struct {
	// Date is the review date, "YYYY-MM-DD".
	Date  string       `json:"date"`
	Since time.Time    `json:"since"`
	Until time.Time    `json:"until"`
	Roles []RoleReview `json:"roles"`
}

// RoleReview is one role's usage and the proposals that follow from it.
type RoleReview struct {
	Due
	Description string `json:"description,omitempty"`
	// WindowStart is the start of the window that decides "used": the later
	// of the usage's Since and Until - unused_after.
	WindowStart time.Time `json:"window_start"`
	// UnusedAfter is the role's unused_after (the usage window when unset).
	UnusedAfter time.Duration `json:"unused_after"`
	// Covered is false when the usage starts after Until - unused_after, so
	// that nothing can be proven unused for long enough and no removal is
	// proposed.
	Covered   bool                  `json:"covered"`
	Grants    []GrantReview         `json:"grants"`
	Agents    []AgentReview         `json:"agents"`
	Baseline  []model.ApprovalUsage `json:"baseline_candidates,omitempty"`
	Proposals []Proposal            `json:"proposals"`
	Notes     []string              `json:"notes,omitempty"`
	Reviewers []string              `json:"reviewers,omitempty"`
	Source    model.Source          `json:"source"`
}

// GrantReview is the use of one grant block by every agent in the window.
type GrantReview struct {
	Kind       string `json:"kind"` // postgres or ssh
	Connection string `json:"connection"`
	// Used is true when the grant allowed something since the role's
	// window start; Count, First and Last cover the whole usage.
	Used    bool         `json:"used"`
	Count   int64        `json:"count"`
	First   time.Time    `json:"first,omitzero"`
	Last    time.Time    `json:"last,omitzero"`
	Agents  []string     `json:"agents,omitempty"`
	Samples []string     `json:"sample_sessions,omitempty"`
	Entries []EntryUsage `json:"entries"`
	Source  model.Source `json:"source"`
}

// EntryUsage is the use of one element of a grant: a statement class, a
// table entry or an SSH command pattern.
type EntryUsage struct {
	// Field is statements, tables or commands.
	Field string `json:"field"`
	Value string `json:"value"`
	// Used is true when the entry allowed something since the role's
	// window start; Count, First and Last cover the whole usage.
	Used    bool      `json:"used"`
	Count   int64     `json:"count"`
	First   time.Time `json:"first,omitzero"`
	Last    time.Time `json:"last,omitzero"`
	Columns []string  `json:"columns,omitempty"`
	Samples []string  `json:"sample_sessions,omitempty"`
	// Matched lists, for a wildcard, the concrete tables, classes or
	// commands it allowed in the window.
	Matched []string `json:"matched,omitempty"`
}

// AgentReview is an agent holding the role.
type AgentReview struct {
	Agent    string    `json:"agent"`
	Sessions int       `json:"sessions"`
	Last     time.Time `json:"last,omitzero"`
	// UsedRole is true when the agent used one of the role's grants (or had
	// one of its requests approved) in the window.
	UsedRole bool         `json:"used_role"`
	Source   model.Source `json:"source"`
}

// Kind is what a proposal changes.
type Kind string

// The proposal kinds; each has an hclwrite edit and a round-trip test.
const (
	RemoveGrant      Kind = "remove_grant"      // a whole postgres/ssh grant block
	RemoveStatement  Kind = "remove_statement"  // one statement class
	NarrowStatements Kind = "narrow_statements" // "*" to the classes used
	RemoveTable      Kind = "remove_table"      // one table entry
	NarrowTable      Kind = "narrow_table"      // a pattern to the tables used
	RemoveCommand    Kind = "remove_command"    // one SSH command pattern
	RemoveAgent      Kind = "remove_agent"      // a whole agent block
	RemoveAgentRole  Kind = "remove_agent_role" // the role from an agent's roles
	SetLastReviewed  Kind = "set_last_reviewed" // review.last_reviewed
)

// Proposal is one exact change to the policy.
type Proposal struct {
	Kind Kind   `json:"kind"`
	Role string `json:"role"`
	// GrantKind (postgres, ssh) and Connection name the grant block.
	GrantKind  string `json:"grant_kind,omitempty"`
	Connection string `json:"connection,omitempty"`
	Agent      string `json:"agent,omitempty"`
	// Value is the element removed or narrowed, or the new last_reviewed.
	Value string `json:"value,omitempty"`
	// Replacement is what a narrowed wildcard becomes.
	Replacement []string     `json:"replacement,omitempty"`
	Reason      string       `json:"reason"`
	Source      model.Source `json:"source"`
}

var statementOrder = []string{"select", "insert", "update", "delete", "ddl", "copy_in", "copy_out", "call"}

// Propose reviews every due role of p against u.
func Propose(p *model.Policy, u *model.Usage, opts Options) (*Plan, error) {
	if p == nil || u == nil {
		return nil, fmt.Errorf("reviewing: policy and usage are required")
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	opts.Now = opts.Now.UTC()
	if opts.Notice == 0 {
		opts.Notice = DefaultNotice
	}
	if opts.BaselineMin <= 0 {
		opts.BaselineMin = DefaultBaselineMin
	}
	if !u.Until.IsZero() && u.Until.Before(u.Since) {
		return nil, fmt.Errorf("reviewing: usage window ends (%s) before it starts (%s)", u.Until, u.Since)
	}
	due, missing := DueRoles(p, opts.Now, opts.Notice, opts.Roles)
	if len(missing) > 0 {
		return nil, fmt.Errorf("reviewing: no role named %s", strings.Join(missing, ", "))
	}
	idx := indexUsage(u)
	plan := &Plan{Date: opts.Now.Format(time.DateOnly), Since: u.Since.UTC(), Until: until(u, opts.Now)}
	// An agent block is removed in the review of the first role it holds.
	agentOwner := map[string]string{}
	for _, d := range due {
		for _, an := range sortedKeys(p.Agents) {
			if a := p.Agents[an]; a != nil && slices.Contains(a.Roles, d.Role) {
				if _, ok := agentOwner[an]; !ok {
					agentOwner[an] = d.Role
				}
			}
		}
	}
	for _, d := range due {
		plan.Roles = append(plan.Roles, reviewRole(p, p.Roles[d.Role], d, idx, plan, agentOwner, opts))
	}
	return plan, nil
}

func until(u *model.Usage, now time.Time) time.Time {
	if u.Until.IsZero() {
		return now
	}
	return u.Until.UTC()
}

// usageIndex groups the usage by role once, so Propose is linear in the
// size of the usage.
type usageIndex struct {
	grants    map[string][]*model.GrantUsage // by role
	approvals map[string][]*model.ApprovalUsage
	agents    map[string]*model.AgentUsage
}

func indexUsage(u *model.Usage) *usageIndex {
	idx := &usageIndex{
		grants:    map[string][]*model.GrantUsage{},
		approvals: map[string][]*model.ApprovalUsage{},
		agents:    map[string]*model.AgentUsage{},
	}
	for i := range u.Grants {
		g := &u.Grants[i]
		idx.grants[g.Role] = append(idx.grants[g.Role], g)
	}
	for i := range u.Approvals {
		a := &u.Approvals[i]
		idx.approvals[a.Role] = append(idx.approvals[a.Role], a)
	}
	for i := range u.Agents {
		a := &u.Agents[i]
		idx.agents[a.Agent] = a
	}
	return idx
}
