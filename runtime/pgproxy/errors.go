package pgproxy

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/mandatehq/mandate/model"
)

// SQLSTATEs the gateway sends itself.
const (
	CodeInsufficientPrivilege = "42501" // denied by policy, needs approval
	CodeInvalidPassword       = "28P01" // token rejected
	CodeInvalidAuthorization  = "28000" // TLS required, unknown connection
	CodeProtocolViolation     = "08P01" // malformed or oversized message
	CodeFeatureNotSupported   = "0A000" // replication, protocol version, GSS
	CodeConnectionFailure     = "08006" // upstream lost
	CodeCannotConnectNow      = "57P03" // upstream unreachable, no slot
	CodeInvalidParameterValue = "22023" // refused startup parameter
	CodeAdminShutdown         = "57P01" // gateway shutting down
	CodeSessionExpired        = "08006" // the session outlived its token or max_session
	CodeInternalError         = "XX000" // a bug in the gateway ended the session
	CodeProgramLimitExceeded  = "54000" // a per-session limit of the gateway
)

// deniedSQL replaces a denied statement upstream: it fails in the raw
// parser (42601) before touching any catalog, so it has no effect except
// the one every failed statement has (an aborted transaction block, the
// rest of an extended-protocol batch discarded until Sync).
const deniedSQL = "mandate_statement_denied_by_policy"

// deniedStatementName is never a prepared statement upstream (the proxy
// names its own statements "mandate_s<n>"); a Bind to it fails (26000).
const deniedStatementName = "mandate_denied"

func errorMsg(severity, code, msg, hint string) *pgproto3.ErrorResponse {
	return &pgproto3.ErrorResponse{
		Severity:            severity,
		SeverityUnlocalized: severity,
		Code:                code,
		Message:             msg,
		Hint:                hint,
	}
}

// fatal is an ErrorResponse that ends the session.
func fatal(code, msg string) *pgproto3.ErrorResponse {
	return errorMsg("FATAL", code, msg, "")
}

// denial builds the ErrorResponse for a statement the policy did not allow.
func denial(d model.Decision) *pgproto3.ErrorResponse {
	reason := d.Reason
	if reason == "" {
		reason = "no grant allows this statement"
	}
	var msg string
	if d.Result == model.NeedsApproval {
		msg = "mandate: statement needs approval: " + reason
	} else {
		msg = "mandate: permission denied by policy: " + reason
	}
	if d.Source != nil && d.Source.File != "" {
		msg += fmt.Sprintf(" (rule %s:%d)", d.Source.File, d.Source.Line)
	}
	// The policy's hint says who approves a requestable statement; there is
	// no approvals workflow in the gateway yet, so no command is invented here.
	hint := d.Hint
	if hint == "" {
		switch {
		case d.Result == model.NeedsApproval && d.Requestable != "":
			hint = fmt.Sprintf("This statement is requestable with approval under role %q; ask that role's approvers.", d.Requestable)
		case d.Result == model.NeedsApproval:
			hint = "This statement needs a human's approval."
		default:
			hint = "Ask the policy owners for a grant that covers this statement, or run `mandate explain`."
		}
	}
	e := errorMsg("ERROR", CodeInsufficientPrivilege, msg, hint)
	if len(d.Overdue) > 0 {
		e.Detail = "Review overdue for role(s): " + strings.Join(d.Overdue, ", ")
	}
	return e
}

// denyDecision is the decision recorded when the proxy denies on its own
// (unparseable statement, policy or recorder unavailable).
func denyDecision(reason string) model.Decision {
	return model.Decision{Result: model.Deny, Reason: reason}
}
