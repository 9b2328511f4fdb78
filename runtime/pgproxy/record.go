package pgproxy

import (
	"strings"
	"time"

	"github.com/mandatehq/mandate/model"
)

// SessionRecord describes one client session. The proxy fills it before
// SessionStart and does not change it afterwards.
type SessionRecord struct {
	// ID is unique per gateway process.
	ID      string
	Agent   string
	Issuer  string
	Subject string
	// Role and Grant are the role and grant block the session decision
	// admitted the session under.
	Role       string
	Grant      string
	Connection string
	RemoteAddr string
	TLS        bool
	// ReadOnly is set when the session runs in read-only transactions upstream.
	ReadOnly bool
	Started  time.Time
}

// StatementRecord is one statement: what it was, the decision, and (in
// Completed) its result.
type StatementRecord struct {
	// Seq numbers the statements of a session from 1.
	Seq int64
	// Protocol is "simple" or "extended".
	Protocol string
	// Statement is the analysis; nil when the text did not parse.
	Statement *model.Statement
	// raw is the statement's own text; redacted the analyzer's normalized
	// text (pgsql.Analyzed.Redacted).
	raw, redacted string
	Decision      model.Decision
	Decided       time.Time
	Result        Result
}

// Redacted returns the statement text with every literal replaced by a
// parameter ($1, $2...), the only form of the text a record may store. The
// analyzer computed it once per cached analysis (pgsql.Analyzed.Redacted):
// calling it costs nothing and never parses. Empty when the text did not
// parse or normalize.
func (r *StatementRecord) Redacted() string { return r.redacted }

// Raw returns the statement's own text, literals included. A recorder
// stores it only where its configuration keeps raw statements.
func (r *StatementRecord) Raw() string { return r.raw }

// SetText sets the raw and redacted texts, as the proxy does from its
// analysis; recorders' tests use it to build records.
func (r *StatementRecord) SetText(raw, redacted string) { r.raw, r.redacted = raw, redacted }

// Result summarises what the statement returned.
type Result struct {
	// Tag is the CommandComplete tag ("SELECT 3"), empty on error.
	Tag  string
	Rows int64
	// Bytes counts DataRow value bytes relayed to the client.
	Bytes int64
	// Masked counts values masked (column rules and detector findings).
	Masked   int64
	SQLState string
	// Error is the error message as the client got it (masked): it may
	// quote the statement's literals. A record stores RecordedError.
	Error    string
	Duration time.Duration
}

// RecordedError returns Result.Error in the only form a record may store
// where it does not keep raw statements. The gateway's own messages (a
// denial, whose reason names no literal; "not executed: ...") are kept.
// A server's message is not, its SQLSTATE is: PostgreSQL quotes the
// values it failed on (`invalid input syntax for type integer: "..."`,
// from a literal, a Bind parameter or a COPY row), and code that runs
// unseen by the gateway (a trigger, a function behind a view or a row
// policy, a DO block) raises any text under any SQLSTATE (`RAISE ...
// USING ERRCODE = 'check_violation'` quoting NEW.ssn), so no redaction of
// the message can be shown to leave no value in it.
func (r *StatementRecord) RecordedError() string {
	msg := r.Result.Error
	switch {
	case msg == notExecutedStatement, msg == notExecutedBatch, msg == notExecutedDenied, msg == notCompletedSession:
		return msg
	case r.Decision.Result != model.Allow && strings.HasPrefix(msg, "mandate: "):
		return msg
	}
	return ""
}

// Messages of runs that did not run, or not to their end, recorded as
// they are.
const (
	notExecutedStatement = "not executed: an earlier statement failed"
	notExecutedBatch     = "not executed: an earlier message of the batch failed"
	// notExecutedDenied: another statement of the string was denied (or
	// its decision could not be recorded), so none of it ran.
	notExecutedDenied = "not executed: another statement of the string was denied"
	// notCompletedSession: the session ended (client gone, upstream
	// terminated, expiry, shutdown, a panic) before the server reported
	// the statement's end; it may or may not have run.
	notCompletedSession = "session ended before the statement completed"
)
