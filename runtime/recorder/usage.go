package recorder

import (
	"unicode/utf8"

	"github.com/mandatehq/mandate/runtime/store"
)

// usageRows are the store's usage rows of ev, computed from the event
// rather than decoded again from its payload by the store. It returns nil
// (the store derives them from the payload) when a string is not valid
// UTF-8, which the JSON payload holds with replacement characters.
func usageRows(agent string, ev *Event) []store.UsageRow {
	if !store.UsageKind(string(ev.Kind)) {
		return nil
	}
	// Zero-size elements: only the count matters, and it allocates nothing.
	p := store.UsagePayload{Approvals: ev.Approvals, Repeats: make([]struct{}, len(ev.Repeats))}
	ok := utf8.ValidString(agent) && validAll(ev.Approvals)
	if d := ev.Decision; d != nil {
		p.Decision = &store.UsageDecision{Result: d.Result, Role: d.Role, Grant: d.Grant}
		ok = ok && utf8.ValidString(d.Result) && utf8.ValidString(d.Role) && utf8.ValidString(d.Grant)
	}
	if st := ev.Statement; st != nil {
		p.Statement = &store.UsageStatement{Accesses: st.Accesses, Columns: st.Columns}
		for _, a := range st.Accesses {
			ok = ok && utf8.ValidString(a.Class) && utf8.ValidString(a.Table)
		}
		ok = ok && validAll(st.Columns)
	}
	if c := ev.Command; c != nil {
		p.Command = &store.UsageCommand{Text: c.Text, Shell: c.Shell}
		ok = ok && utf8.ValidString(c.Text)
	}
	if !ok {
		return nil
	}
	return p.Rows(string(ev.Kind), agent)
}

func validAll(ss []string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}
