package pgproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/pgsql"
)

// passthroughParams are the startup parameters relayed upstream. Others
// that could widen what the session may do (options, role, search_path,
// read-only settings) are refused; unknown ones are refused too, as
// PostgreSQL itself refuses unknown settings.
var passthroughParams = map[string]bool{
	"application_name": true, "client_encoding": true, "datestyle": true,
	"timezone": true, "intervalstyle": true, "extra_float_digits": true,
	"lc_monetary": true, "lc_numeric": true, "lc_time": true,
	"bytea_output": true, "statement_timeout": true, "lock_timeout": true,
	"idle_in_transaction_session_timeout": true, "geqo": true,
	"client_min_messages": true,
}

// authenticate checks the startup message, asks for the password (the
// token), verifies it and takes the session decision. On failure it has
// already sent the client a FATAL ErrorResponse.
func (ss *session) authenticate(ctx context.Context, a *admitted) error {
	srv := ss.srv
	p := a.startup.Parameters
	agent, conn := p["user"], p["database"]
	if r, ok := p["replication"]; ok && !isFalse(r) {
		return ss.refuse(fatal(CodeFeatureNotSupported, "replication connections are not supported by the mandate gateway"))
	}
	if agent == "" {
		return ss.refuse(fatal(CodeInvalidAuthorization, "no user (agent name) in the startup message"))
	}
	if conn == "" {
		conn = agent // libpq's default database is the user name
	}
	ss.params = map[string]string{}
	for k, v := range p {
		lk := strings.ToLower(k)
		switch {
		case lk == "user" || lk == "database" || lk == "replication" || strings.HasPrefix(lk, "_pq_."):
		case lk == "client_encoding" && !isUTF8(v):
			// In a client-only encoding (SJIS, BIG5, GBK...) a multibyte
			// character can end in the byte of a backslash or quote: the
			// server would split the text into other statements than the
			// gateway's UTF-8 parse decided.
			return ss.refuse(fatal(CodeInvalidParameterValue,
				fmt.Sprintf("client_encoding %q is not allowed through the mandate gateway: use UTF8", v)))
		case lk == "timezone" && pgsql.TimeZoneRefused(v) != "":
			// Far from UTC, PostgreSQL 15 crashes formatting day names,
			// ending every session of the server (pgsql: timezone.go).
			return ss.refuse(fatal(CodeInvalidParameterValue,
				"startup parameter TimeZone refused by the mandate gateway: "+pgsql.TimeZoneRefused(v)))
		case passthroughParams[lk]:
			ss.params[k] = v
		default:
			return ss.refuse(fatal(CodeInvalidParameterValue,
				fmt.Sprintf("startup parameter %q is not allowed through the mandate gateway", k)))
		}
	}
	if a.startup.ProtocolVersion != pgproto3.ProtocolVersion30 || hasPQOptions(p) {
		var opts []string
		for k := range p {
			if strings.HasPrefix(k, "_pq_.") {
				opts = append(opts, k)
			}
		}
		sort.Strings(opts)
		ss.be.Send(&pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: 0, UnrecognizedOptions: opts})
	}
	if !a.isTLS && !srv.plaintextAllowed(a.conn.RemoteAddr()) {
		return ss.refuse(fatal(CodeInvalidAuthorization, "the mandate gateway requires TLS: connect with sslmode=require"))
	}
	ss.be.Send(&pgproto3.AuthenticationCleartextPassword{})
	if err := ss.be.Flush(); err != nil {
		return fmt.Errorf("asking for password: %w", err)
	}
	if err := ss.be.SetAuthType(pgproto3.AuthTypeCleartextPassword); err != nil {
		return err
	}
	msg, err := ss.be.Receive()
	if err != nil {
		return fmt.Errorf("reading password: %w", err)
	}
	pw, ok := msg.(*pgproto3.PasswordMessage)
	if !ok {
		return ss.refuse(fatal(CodeProtocolViolation, fmt.Sprintf("expected password message, got %T", msg)))
	}
	pr, err := srv.cfg.Authenticator.Authenticate(ctx, AuthRequest{
		Agent: agent, Connection: conn, Token: pw.Password, RemoteAddr: a.conn.RemoteAddr(),
	})
	if err == nil && (pr == nil || pr.Agent != agent) {
		err = errors.New("token does not prove this agent")
	}
	if err != nil {
		reason, claimed, claimedConn := withoutToken(err.Error(), pw.Password), claimedName(agent), claimedConnection(conn)
		srv.cfg.Logger.Info("postgres authentication failed", "agent", claimed, "connection", claimedConn, "remote", a.conn.RemoteAddr().String(), "err", reason)
		if ar, ok := srv.cfg.Recorder.(authFailureRecorder); ok {
			ar.AuthFailed(ctx, AuthFailure{Agent: claimed, Connection: claimedConn, RemoteAddr: a.conn.RemoteAddr().String(), Reason: reason})
		}
		return ss.refuse(fatal(CodeInvalidPassword, fmt.Sprintf("password authentication failed for user %q", agent)))
	}
	ss.principal = pr
	c, ok := srv.cfg.Policy.Connection(conn)
	if !ok || c.Type != "postgres" {
		return ss.refuse(fatal(CodeInvalidAuthorization, fmt.Sprintf("no postgres connection %q in the active policy", conn)))
	}
	ss.conn = c
	dec, err := srv.cfg.Policy.Decide(ctx, &model.Input{
		Kind: "session", Agent: agent, Connection: conn,
		NowUnix: srv.cfg.Now().Unix(), Approvals: pr.Approvals,
	})
	if err != nil {
		srv.cfg.Logger.Warn("postgres session decision failed", "agent", agent, "connection", conn, "err", err)
		dec = denyDecision("the policy could not be evaluated")
	}
	if dec.Result != model.Allow {
		e := denial(dec)
		e.Severity, e.SeverityUnlocalized = "FATAL", "FATAL"
		return ss.refuse(e)
	}
	ss.rec = SessionRecord{
		ID: srv.newSessionID(), Agent: agent, Issuer: pr.Issuer, Subject: pr.Subject,
		Role: dec.Role, Grant: dec.Grant, Connection: conn,
		RemoteAddr: a.conn.RemoteAddr().String(), TLS: a.isTLS, ReadOnly: dec.ReadOnly,
		Started: srv.cfg.Now(),
	}
	return nil
}

// withoutToken removes the presented token, and each of its dot-separated
// parts long enough to be secret (a JWT's signature, say), from an
// authenticator's error before it is logged or recorded: a verifier may
// quote what it rejected.
func withoutToken(reason, token string) string {
	if token == "" {
		return reason
	}
	reason = strings.ReplaceAll(reason, token, "[token]")
	for _, part := range strings.Split(token, ".") {
		if len(part) >= minSecretPart {
			reason = strings.ReplaceAll(reason, part, "[token part]")
		}
	}
	return reason
}

// claimedName is the agent name a failed authentication logs and records:
// the user name the client sent when it can be an agent's (the policy
// language's names: a letter or underscore, then letters, digits, '_' and
// '-', at most 128 characters; never a dot), else a placeholder, so that a
// token sent as the user name by mistake is never written down.
func claimedName(agent string) string {
	if isPolicyName(agent) {
		return agent
	}
	return fmt.Sprintf("[not an agent name: %d bytes]", len(agent))
}

// claimedConnection is claimedName for the database (connection) name of a
// failed authentication: a token sent as the database name is never
// written down either.
func claimedConnection(conn string) string {
	if isPolicyName(conn) {
		return conn
	}
	return fmt.Sprintf("[not a connection name: %d bytes]", len(conn))
}

// isPolicyName reports a name the policy language accepts for an agent or
// a connection.
func isPolicyName(s string) bool {
	ok := len(s) > 0 && len(s) <= 128
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
		ok = letter || i > 0 && ('0' <= c && c <= '9' || c == '-')
	}
	return ok
}

// minSecretPart is the shortest token part withoutToken removes on its own;
// a shorter part would be cut out of ordinary words of the message.
const minSecretPart = 16

// refuse sends e and returns it as an error.
func (ss *session) refuse(e *pgproto3.ErrorResponse) error {
	ss.be.Send(e)
	_ = ss.be.Flush()
	return &refusedError{e}
}

type refusedError struct{ e *pgproto3.ErrorResponse }

func (r *refusedError) Error() string { return "refused: " + r.e.Code + " " + r.e.Message }

func (s *Server) plaintextAllowed(addr net.Addr) bool {
	switch s.cfg.Plaintext {
	case PlaintextAlways:
		return true
	case PlaintextLoopback:
		switch a := addr.(type) {
		case *net.TCPAddr:
			return a.IP.IsLoopback()
		case *net.UnixAddr:
			return true
		}
	}
	return false
}

// isUTF8 reports a client_encoding value naming UTF-8, in any of the
// spellings PostgreSQL accepts.
func isUTF8(v string) bool {
	norm := strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(strings.TrimSpace(v)))
	return norm == "utf8" || norm == "unicode"
}

func isFalse(v string) bool {
	switch strings.ToLower(v) {
	case "false", "off", "0", "no":
		return true
	}
	return false
}

func hasPQOptions(p map[string]string) bool {
	for k := range p {
		if strings.HasPrefix(k, "_pq_.") {
			return true
		}
	}
	return false
}
