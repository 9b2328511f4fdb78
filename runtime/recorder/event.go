package recorder

import (
	"fmt"
	"time"

	"github.com/mandatehq/mandate/model"
)

// Kind is the kind of an event.
type Kind string

// Event kinds.
const (
	KindSessionStart Kind = "session_start"
	KindSessionEnd   Kind = "session_end"
	KindAuth         Kind = "auth"
	KindStatement    Kind = "statement"
	KindCommand      Kind = "command"
	// KindResult is the outcome of a statement or command recorded earlier
	// (with its decision) when the result arrives; Decision, when set,
	// carries only the decision id. Usage does not count it.
	KindResult   Kind = "result"
	KindApproval Kind = "approval"
	KindTerminal Kind = "terminal"
	// KindRecorder notes the recorder's own lifecycle (start, recovery).
	KindRecorder Kind = "recorder"
)

// SessionInfo describes a session when it starts.
type SessionInfo struct {
	// ID is assigned by StartSession when empty.
	ID    string `json:"id"`
	Agent string `json:"agent"`
	// Subject and Issuer are the identity claims that authenticated the
	// agent. The token itself is never recorded.
	Subject string `json:"subject,omitempty"`
	Issuer  string `json:"issuer,omitempty"`
	Role    string `json:"role,omitempty"`
	// Grant is the connection name of the grant block the session runs under.
	Grant      string `json:"grant,omitempty"`
	Connection string `json:"connection"`
	// Protocol is "postgres" or "ssh".
	Protocol       string    `json:"protocol,omitempty"`
	ClientAddr     string    `json:"client_addr,omitempty"`
	BundleRevision string    `json:"bundle_revision,omitempty"`
	Start          time.Time `json:"start"`
}

// Event is one thing that happened in a session. Set Kind and the fields
// that apply; the recorder stores the rest of the struct as the payload.
type Event struct {
	Kind Kind `json:"-"`
	// Time defaults to the recorder's clock when zero.
	Time time.Time `json:"-"`

	Session   *SessionInfo `json:"session,omitempty"`
	EndReason string       `json:"end_reason,omitempty"`
	Auth      *Auth        `json:"auth,omitempty"`
	Statement *Statement   `json:"statement,omitempty"`
	Command   *Command     `json:"command,omitempty"`
	Decision  *Decision    `json:"decision,omitempty"`
	Result    *Result      `json:"result,omitempty"`
	// Approvals are the ids of approved requests the decision used.
	Approvals []string  `json:"approvals,omitempty"`
	Terminal  *Terminal `json:"terminal,omitempty"`
	Note      string    `json:"note,omitempty"`
	// Repeats are further runs of the statement, in order: the same
	// session ran the same redacted text with the same decision again
	// within the hold of an async statement event (pgrecord coalesces
	// them). Each keeps its own decision id, time and result; usage
	// counts the event 1+len(Repeats) times.
	Repeats []Repeat `json:"repeats,omitempty"`
}

// Repeat is one further run of a statement event's statement.
type Repeat struct {
	// ID is the run's decision id.
	ID string `json:"id"`
	// Offset is the run's decision time after the event's decision time
	// (Decision.Time).
	Offset time.Duration `json:"offset_ns"`
	// Result is nil when the run had not completed when the event was
	// written; a result event with ID follows.
	Result *Result `json:"result,omitempty"`
}

// Runs is how many runs of its statement or command the event records.
func (ev *Event) Runs() int64 { return 1 + int64(len(ev.Repeats)) }

// Auth is an authentication attempt.
type Auth struct {
	OK bool `json:"ok"`
	// Method is "oidc", "grant_token", "publickey", ...
	Method  string `json:"method,omitempty"`
	Subject string `json:"subject,omitempty"`
	Issuer  string `json:"issuer,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Agent, Connection and ClientAddr describe a failed attempt, which has
	// no session: the agent is the name the client claimed.
	Agent      string `json:"agent,omitempty"`
	Connection string `json:"connection,omitempty"`
	ClientAddr string `json:"client_addr,omitempty"`
}

// Statement is one SQL statement. Text is replaced by the redacted form
// before it is stored; Raw is kept only with keep_raw_statements.
type Statement struct {
	Text        string         `json:"text"`
	Raw         string         `json:"raw,omitempty"`
	Fingerprint string         `json:"fingerprint,omitempty"`
	Tag         string         `json:"tag,omitempty"`
	Accesses    []model.Access `json:"accesses,omitempty"`
	// Columns are schema.table.column names the statement referenced.
	Columns []string `json:"columns,omitempty"`
}

// Command is one SSH exec command or an interactive shell.
type Command struct {
	Text  string `json:"text,omitempty"`
	Shell bool   `json:"shell,omitempty"`
}

// Decision is the policy decision for a statement or command.
type Decision struct {
	ID     string `json:"id,omitempty"`
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
	// Source is the deciding policy block as "file:line".
	Source string `json:"source,omitempty"`
	Role   string `json:"role,omitempty"`
	Grant  string `json:"grant,omitempty"`
	// Overdue flags the roles whose review is overdue and whose on_overdue
	// is "warn": the statement was allowed, and the record says so.
	Overdue []string `json:"overdue,omitempty"`
	// Time is when the decision was made, set where the event was held
	// before it was written: the event's own time is when it joined the
	// chain, whose times never go back.
	Time time.Time `json:"time,omitzero"`
}

// DecisionFrom converts a policy decision.
func DecisionFrom(id string, d *model.Decision) *Decision {
	out := &Decision{ID: id, Result: d.Result, Reason: d.Reason, Role: d.Role, Grant: d.Grant, Overdue: d.Overdue}
	if d.Source != nil {
		out.Source = fmt.Sprintf("%s:%d", d.Source.File, d.Source.Line)
	}
	return out
}

// Result is what running an allowed statement or command produced.
type Result struct {
	Rows  int64 `json:"rows,omitempty"`
	Bytes int64 `json:"bytes,omitempty"`
	// Duration is stored in nanoseconds.
	Duration time.Duration `json:"duration_ns,omitempty"`
	// SQLState is the PostgreSQL error code when the statement failed.
	SQLState string `json:"sqlstate,omitempty"`
	Error    string `json:"error,omitempty"`
	// Masked counts the values masking replaced.
	Masked     int64 `json:"masked,omitempty"`
	ExitStatus *int  `json:"exit_status,omitempty"`
}

// Terminal is a chunk of an interactive SSH session, for replay.
type Terminal struct {
	// Stream is "o" (output), "i" (input) or "r" (resize, with Cols/Rows).
	Stream string `json:"stream"`
	Data   []byte `json:"data,omitempty"`
	Cols   int    `json:"cols,omitempty"`
	Rows   int    `json:"rows,omitempty"`
}
