package diff

import (
	"fmt"
	"sort"

	"github.com/mandatehq/mandate/model"
)

// Item is one unit of an agent's effective access.
type Item struct {
	Agent string `json:"agent"`
	// Role is the role the access comes through; empty for identities.
	Role       string `json:"role,omitempty"`
	Connection string `json:"connection,omitempty"`
	// Kind is postgres, ssh, masking or identity.
	Kind string `json:"kind"`
	// Access says what, in words: "update on public.orders", "run
	// `systemctl status app`", "masking pii", "identity ...".
	Access string `json:"access"`
	// Requestable is set for access that needs an approval.
	Requestable bool `json:"requestable,omitempty"`
}

func (it Item) key() string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s\x00%t", it.Agent, it.Connection, it.Role, it.Kind, it.Access, it.Requestable)
}

// Effective lists every agent's effective access in p, sorted.
func Effective(p *model.Policy) []Item {
	var items []Item
	for _, a := range p.Agents {
		for _, id := range a.Identities {
			items = append(items, Item{Agent: a.Name, Kind: "identity", Access: identityText(id)})
		}
		for _, rn := range a.Roles {
			r := p.Roles[rn]
			if r == nil {
				continue
			}
			for _, g := range r.Postgres {
				items = append(items, postgresItems(a.Name, rn, g, false)...)
			}
			for _, g := range r.SSH {
				items = append(items, sshItems(a.Name, rn, g, false)...)
			}
			if r.Approval != nil {
				for _, g := range r.Approval.Postgres {
					items = append(items, postgresItems(a.Name, rn, g, true)...)
				}
				for _, g := range r.Approval.SSH {
					items = append(items, sshItems(a.Name, rn, g, true)...)
				}
			}
		}
	}
	sortItems(items)
	return items
}

func postgresItems(agent, role string, g *model.PostgresGrant, requestable bool) []Item {
	var out []Item
	add := func(kind, access string) {
		out = append(out, Item{Agent: agent, Role: role, Connection: g.Connection, Kind: kind, Access: access, Requestable: requestable})
	}
	for _, class := range g.Statements {
		if class == "*" {
			class = "every statement class"
		}
		for _, table := range g.Tables {
			add("postgres", class+" on "+table)
		}
	}
	for _, f := range g.Functions {
		add("postgres", "call of function "+f)
	}
	for _, m := range g.Masking {
		add("masking", "masking "+m)
	}
	return out
}

func sshItems(agent, role string, g *model.SSHGrant, requestable bool) []Item {
	var out []Item
	for _, c := range g.Commands {
		out = append(out, Item{Agent: agent, Role: role, Connection: g.Connection, Kind: "ssh", Access: "run `" + c + "`", Requestable: requestable})
	}
	if g.Interactive {
		out = append(out, Item{Agent: agent, Role: role, Connection: g.Connection, Kind: "ssh", Access: "interactive shell", Requestable: requestable})
	}
	return out
}

func identityText(id *model.Identity) string {
	s := "identity issuer " + id.Issuer
	if id.Subject != "" {
		s += " subject " + id.Subject
	}
	keys := make([]string, 0, len(id.Claims))
	for k := range id.Claims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s += fmt.Sprintf(" %s=%s", k, id.Claims[k])
	}
	return s
}

func sortItems(items []Item) {
	sort.Slice(items, func(i, j int) bool { return items[i].key() < items[j].key() })
}
