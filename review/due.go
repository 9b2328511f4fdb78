package review

import (
	"slices"
	"time"

	"github.com/mandatehq/mandate/model"
)

// DefaultNotice is how long before its due date a role's review is proposed.
const DefaultNotice = 14 * 24 * time.Hour

// Due says why a role is reviewed now.
type Due struct {
	Role string `json:"role"`
	// DueDate is last_reviewed + every (zero when the role has no review block).
	DueDate time.Time `json:"due_date,omitzero"`
	// Overdue is true when DueDate has passed.
	Overdue bool `json:"overdue"`
	// Forced is true when the role was named with --role.
	Forced bool `json:"forced,omitempty"`
}

// DueRoles lists the roles whose review is due at now or within notice,
// sorted by name. When force is not empty, exactly those roles are listed
// (the ones that do not exist are returned in missing).
func DueRoles(p *model.Policy, now time.Time, notice time.Duration, force []string) (due []Due, missing []string) {
	if len(force) > 0 {
		names := slices.Clone(force)
		slices.Sort(names)
		names = slices.Compact(names)
		for _, name := range names {
			r, ok := p.Roles[name]
			if !ok || r == nil {
				missing = append(missing, name)
				continue
			}
			d := Due{Role: name, Forced: true}
			if r.Review != nil && r.Review.DueUnix != 0 {
				d.DueDate = time.Unix(r.Review.DueUnix, 0).UTC()
				d.Overdue = !now.Before(d.DueDate)
			}
			due = append(due, d)
		}
		return due, missing
	}
	for _, name := range sortedKeys(p.Roles) {
		r := p.Roles[name]
		if r == nil || r.Review == nil || r.Review.DueUnix == 0 {
			continue
		}
		dueDate := time.Unix(r.Review.DueUnix, 0).UTC()
		if now.Add(notice).Before(dueDate) {
			continue
		}
		due = append(due, Due{Role: name, DueDate: dueDate, Overdue: !now.Before(dueDate)})
	}
	return due, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
