package pgproxy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/pganalyze/pg_query_go/v6/parser"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/pgsql"
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

// unparsed is the decision and the denial for a query string the analyzer
// refused. The parser's message quotes the text it failed at (`syntax
// error at or near "'...'"`, `unterminated quoted string at or near
// "'...`, the bytes of invalid UTF-8), which may be a literal, and the
// reason is recorded: it keeps the message's wording with its values
// replaced (redactMessage), and the denial points at the failing
// character with the error's position field, as PostgreSQL does.
func unparsed(err error) (model.Decision, *pgproto3.ErrorResponse) {
	why := err.Error()
	if !errors.Is(err, pgsql.ErrTooLarge) && !errors.Is(err, pgsql.ErrNUL) && !errors.Is(err, pgsql.ErrTooDeep) {
		why = redactMessage(why)
	}
	d := denyDecision("the statement does not parse: " + why)
	e := denial(d)
	if pe := (*parser.Error)(nil); errors.As(err, &pe) && pe.Cursorpos > 0 {
		e.Position = int32(pe.Cursorpos)
	}
	return d, e
}

// redactMessage keeps the wording of a message of PostgreSQL's own parser
// (the gateway's parse, where no user code runs) and replaces its values:
// PostgreSQL quotes words it did not write (tokens, names) and prints
// numbers and byte sequences bare. A quoted value may itself
// hold quotes, so everything from the first quote to the last is one
// "?"; an unmatched quote hides the rest of the text. Outside the quotes,
// hex byte sequences (0xe9) and runs of digits become "?".
func redactMessage(s string) string {
	if first := strings.IndexAny(s, `"'`); first >= 0 {
		last := strings.LastIndexAny(s, `"'`)
		rest := ""
		if last > first {
			rest = s[last+1:]
		}
		return redactNumbers(s[:first]) + `"?"` + redactNumbers(rest)
	}
	return redactNumbers(s)
}

// redactNumbers replaces hex byte sequences (0x...) and runs of digits.
func redactNumbers(s string) string {
	if strings.IndexAny(s, "0123456789") < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c < '0' || c > '9' {
			b.WriteByte(c)
			i++
			continue
		}
		j := i + 1
		if c == '0' && j < len(s) && (s[j] == 'x' || s[j] == 'X') {
			j++
			for j < len(s) && isHex(s[j]) {
				j++
			}
		}
		for j < len(s) && isHex(s[j]) {
			j++
		}
		b.WriteByte('?')
		i = j
	}
	return b.String()
}

// denyDecision is the decision recorded when the proxy denies on its own
// (unparseable statement, policy or recorder unavailable).
func denyDecision(reason string) model.Decision {
	return model.Decision{Result: model.Deny, Reason: reason}
}

// grantDenial is the gateway's own denial of a statement the policy
// allowed, because of what the allowing grant says (it holds no write
// class): the message names that grant's rule.
func grantDenial(dec model.Decision, reason string) model.Decision {
	d := denyDecision(reason)
	d.Source = dec.Source
	return d
}

// maskDenial is the gateway's own denial of a statement because masking
// applies to it, naming the masking block of carried (the session's
// masking so far), else the first of the decision's blocks.
func (ss *session) maskDenial(carried *maskSet, dec model.Decision, reason string) model.Decision {
	if carried != nil && carried.src != nil {
		return carried.denial(reason)
	}
	if len(dec.Masking) > 0 {
		if ms, err := ss.srv.masks.get(dec.Masking); err == nil {
			return ms.denial(reason)
		}
	}
	return denyDecision(reason)
}
