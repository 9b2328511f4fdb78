package store

import (
	"encoding/json"
	"strings"

	"github.com/mandatehq/mandate/model"
)

// ShellCommand is the command usage gives an interactive shell.
const ShellCommand = "(interactive shell)"

// UnknownAgent is the agent usage gives an event whose session is not known.
const UnknownAgent = "(unknown)"

// Usage row parts: what an allowed row counts besides its grant.
const (
	PartNone    = 0 // an allowed statement without accesses, or no detail
	PartAccess  = 1 // one distinct (class, table) access of a statement
	PartCommand = 2 // an SSH command or interactive shell
	// PartOpaque marks an event whose rows the store cannot hold exactly
	// (PostgreSQL text cannot hold NUL); usage reads such windows from the
	// events instead.
	PartOpaque = -1
)

// UsageRow is one row of the usage index: what `mandate audit usage`
// counts of a session_start, statement or command event. Append derives
// the rows from the event payload unless Event.Usage carries them.
type UsageRow struct {
	Agent   string
	Allowed bool
	Role    string
	Grant   string
	// Proto is "postgres" or "ssh" (command events) on allowed rows.
	Proto   string
	Part    int
	Class   string
	Table   string
	Command string
	// Columns are the column names (without schema.table) the statement
	// referenced in Table.
	Columns []string
	// Approvals are the approved request ids the decision used.
	Approvals []string
	// Runs is how many runs of the statement or command the row counts
	// (an event with coalesced repeats); 0 counts as 1.
	Runs int64
}

// UsagePayload is the part of a recorder event payload that usage reads;
// its JSON form is a subset of the recorder's event encoding.
type UsagePayload struct {
	Session *struct {
		Agent string `json:"agent"`
	} `json:"session,omitempty"`
	Statement *UsageStatement `json:"statement,omitempty"`
	Command   *UsageCommand   `json:"command,omitempty"`
	Decision  *UsageDecision  `json:"decision,omitempty"`
	Approvals []string        `json:"approvals,omitempty"`
	// Repeats are read only for their number.
	Repeats []struct{} `json:"repeats,omitempty"`
}

// UsageStatement is what usage reads of a statement.
type UsageStatement struct {
	Accesses []model.Access `json:"accesses,omitempty"`
	Columns  []string       `json:"columns,omitempty"`
}

// UsageCommand is what usage reads of a command.
type UsageCommand struct {
	Text  string `json:"text,omitempty"`
	Shell bool   `json:"shell,omitempty"`
}

// UsageDecision is what usage reads of a decision.
type UsageDecision struct {
	Result string `json:"result"`
	Role   string `json:"role,omitempty"`
	Grant  string `json:"grant,omitempty"`
}

// UsageKind reports whether usage counts events of kind.
func UsageKind(kind string) bool {
	return kind == "session_start" || kind == "statement" || kind == "command"
}

// Rows returns the usage rows of an event of kind whose session belongs
// to agent ("" for UnknownAgent); nil when usage does not count the kind.
func (p *UsagePayload) Rows(kind, agent string) []UsageRow {
	if !UsageKind(kind) {
		return nil
	}
	if agent == "" {
		agent = UnknownAgent
	}
	runs := 1 + int64(len(p.Repeats))
	d := p.Decision
	if d == nil || d.Result != model.Allow {
		return []UsageRow{{Agent: agent, Runs: runs}}
	}
	base := UsageRow{Agent: agent, Allowed: true, Role: d.Role, Grant: d.Grant, Proto: "postgres", Runs: runs}
	if kind == "command" {
		base.Proto = "ssh"
	}
	var rows []UsageRow
	if st := p.Statement; st != nil && base.Proto == "postgres" {
		for i, acc := range st.Accesses {
			if dupAccess(st.Accesses[:i], acc) {
				continue
			}
			r := base
			r.Part, r.Class, r.Table, r.Approvals = PartAccess, acc.Class, acc.Table, p.Approvals
			if acc.Table != "" {
				for _, c := range st.Columns {
					if col, ok := strings.CutPrefix(c, acc.Table+"."); ok {
						r.Columns = append(r.Columns, col)
					}
				}
			}
			rows = append(rows, r)
		}
	}
	if c := p.Command; c != nil && base.Proto == "ssh" {
		r := base
		r.Part, r.Command, r.Approvals = PartCommand, c.Text, p.Approvals
		if c.Shell {
			r.Command = ShellCommand
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		rows = append(rows, base)
	}
	return rows
}

func dupAccess(seen []model.Access, a model.Access) bool {
	for _, s := range seen {
		if s.Class == a.Class && s.Table == a.Table {
			return true
		}
	}
	return false
}

// encodeList encodes columns or approval ids for a usage row: "" when
// empty, else a JSON array.
func encodeList(l []string) string {
	if len(l) == 0 {
		return ""
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// DecodeList reverses encodeList.
func decodeList(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var l []string
	err := json.Unmarshal([]byte(s), &l)
	return l, err
}
