package compiler

import (
	"sort"

	"github.com/mandatehq/mandate/model"
)

// build assembles the model from decoded blocks. Its maps make the JSON
// encoding deterministic; slices were sorted while decoding where their
// order carries no meaning.
func build(cfg *config) *model.Policy {
	p := &model.Policy{
		SchemaVersion: model.SchemaVersion,
		Connections:   map[string]*model.Connection{},
		Maskings:      map[string]*model.Masking{},
		Groups:        map[string]*model.Group{},
		Roles:         map[string]*model.Role{},
		Agents:        map[string]*model.Agent{},
	}
	for _, c := range cfg.connections {
		mc := c.Connection
		p.Connections[c.Name] = &mc
	}
	for _, m := range cfg.maskings {
		mm := m.Masking
		p.Maskings[m.Name] = &mm
	}
	for _, g := range cfg.groups {
		mg := g.Group
		p.Groups[g.Name] = &mg
	}
	for _, r := range cfg.roles {
		mr := r.Role
		p.Roles[r.Name] = &mr
	}
	for _, a := range cfg.agents {
		ma := a.Agent
		p.Agents[a.Name] = &ma
	}
	return p
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
