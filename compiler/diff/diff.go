package diff

import (
	"fmt"
	"sort"

	"github.com/mandatehq/mandate/model"
)

// Change is one item an agent gains or loses.
type Change struct {
	// Change is "gains" or "loses".
	Change string `json:"change"`
	Item
}

// Sentence says the change in words, for example "fulfilment-planner gains
// update on public.orders via role order_writer (orders_db)".
func (c Change) Sentence() string {
	switch c.Kind {
	case "identity":
		return fmt.Sprintf("%s %s %s", c.Agent, c.Change, c.Access)
	case "masking":
		verb := "is now masked by"
		if c.Change == "loses" {
			verb = "is no longer masked by"
		}
		return fmt.Sprintf("%s %s %s on %s via role %s", c.Agent, verb, c.Access[len("masking "):], c.Connection, c.Role)
	}
	s := fmt.Sprintf("%s %s %s via role %s (%s)", c.Agent, c.Change, c.Access, c.Role, c.Connection)
	if c.Requestable {
		s += ", with an approval"
	}
	return s
}

// Report is the difference between two policies.
type Report struct {
	Old string `json:"old"`
	New string `json:"new"`
	// AddedAgents and RemovedAgents name agents present on one side only.
	AddedAgents   []string `json:"added_agents,omitempty"`
	RemovedAgents []string `json:"removed_agents,omitempty"`
	// Changes are sorted by agent, then connection, role and access.
	Changes []Change `json:"changes"`
}

// Compare returns what each agent gains and loses from old to new.
func Compare(oldName string, old *model.Policy, newName string, new *model.Policy) *Report {
	r := &Report{Old: oldName, New: newName, Changes: []Change{}}
	for name := range new.Agents {
		if _, ok := old.Agents[name]; !ok {
			r.AddedAgents = append(r.AddedAgents, name)
		}
	}
	for name := range old.Agents {
		if _, ok := new.Agents[name]; !ok {
			r.RemovedAgents = append(r.RemovedAgents, name)
		}
	}
	sort.Strings(r.AddedAgents)
	sort.Strings(r.RemovedAgents)

	before := index(Effective(old))
	after := index(Effective(new))
	for k, it := range after {
		if _, ok := before[k]; !ok {
			r.Changes = append(r.Changes, Change{Change: "gains", Item: it})
		}
	}
	for k, it := range before {
		if _, ok := after[k]; !ok {
			r.Changes = append(r.Changes, Change{Change: "loses", Item: it})
		}
	}
	sort.Slice(r.Changes, func(i, j int) bool {
		a, b := r.Changes[i], r.Changes[j]
		if a.Agent != b.Agent {
			return a.Agent < b.Agent
		}
		if a.key() != b.key() {
			return a.key() < b.key()
		}
		return a.Change < b.Change
	})
	return r
}

func index(items []Item) map[string]Item {
	m := make(map[string]Item, len(items))
	for _, it := range items {
		m[it.key()] = it
	}
	return m
}

// Empty reports whether nothing changed.
func (r *Report) Empty() bool {
	return len(r.Changes) == 0 && len(r.AddedAgents) == 0 && len(r.RemovedAgents) == 0
}
