package pgproxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/pgsql"
)

// Authenticator verifies the token a client presents as its password. The
// user name of the startup message is the agent, the database is the
// connection name. It returns an error for any mismatch (unknown agent,
// token for another agent, expired token).
type Authenticator interface {
	Authenticate(ctx context.Context, req AuthRequest) (*Principal, error)
}

// AuthRequest is what a client presented at startup.
type AuthRequest struct {
	Agent      string
	Connection string
	Token      string
	RemoteAddr net.Addr
}

// Principal is an authenticated agent.
type Principal struct {
	// Agent is the policy agent the token proved; it equals AuthRequest.Agent.
	Agent string
	// Issuer and Subject identify who the token proved, for the record: for
	// a gateway session token, the identity it was exchanged for.
	Issuer  string
	Subject string
	// Approvals are approved requests bound to this session's token.
	Approvals []model.ActiveApproval
	// Expires ends the session: no session outlives the token that opened
	// it or the agent's session limit. Zero: no limit.
	Expires time.Time
}

// Policy is the active bundle as the proxy sees it. The proxy never caches
// what it returns across statements: every call reads the bundle active at
// that moment, so a revocation applies to the next statement of every open
// session.
type Policy interface {
	// Decide evaluates in against the active bundle.
	Decide(ctx context.Context, in *model.Input) (model.Decision, error)
	// Connection returns the named connection of the active bundle.
	Connection(name string) (*model.Connection, bool)
	// Masking returns the named masking block of the active bundle.
	Masking(name string) (*model.Masking, bool)
}

// Analyzer splits a query string into statements with the real PostgreSQL
// parser; *pgsql.Analyzer implements it. An error (the string does not
// parse) denies the whole string. Each Analyzed must carry its Redacted
// text: it is the only statement text the proxy hands the Recorder.
// Default: pgsql.NewAnalyzer (cached) with the pinned search_path.
type Analyzer interface {
	Analyze(sql string) ([]*pgsql.Analyzed, error)
}

var _ Analyzer = (*pgsql.Analyzer)(nil)

// Recorder receives the session's events. Decided is called before a
// statement runs; an error denies the statement (fail closed). The other
// calls are best effort. Implementations must not block for long: they run
// on the session's goroutines.
type Recorder interface {
	SessionStart(ctx context.Context, s *SessionRecord) error
	Decided(ctx context.Context, s *SessionRecord, st *StatementRecord) error
	Completed(ctx context.Context, s *SessionRecord, st *StatementRecord)
	SessionEnd(ctx context.Context, s *SessionRecord, reason string)
}

// AuthFailure is a failed authentication: no session was opened. Agent and
// Connection are what the client claimed.
type AuthFailure struct {
	Agent, Connection, RemoteAddr string
	// Reason is the gateway's own cause, never the token.
	Reason string
}

// authFailureRecorder is implemented by recorders that also record failed
// authentications; the proxy checks for it on Config.Recorder.
type authFailureRecorder interface {
	AuthFailed(ctx context.Context, f AuthFailure)
}

// Plaintext policies for clients that do not ask for TLS.
const (
	PlaintextNever    = "never"
	PlaintextLoopback = "loopback"
	PlaintextAlways   = "always"
)

// Named timeouts; variables so tests can shorten them.
var (
	// HandshakeTimeout bounds admit + authenticate + dial for one client.
	HandshakeTimeout = 30 * time.Second
	// CancelTimeout bounds forwarding one cancel request upstream.
	CancelTimeout = 5 * time.Second
	// CatalogTTL is how long a resolved table OID stays cached.
	CatalogTTL = time.Minute
)

// Config configures a Server. Zero values take the documented defaults.
type Config struct {
	// TLS is the server certificate configuration offered to clients. Nil
	// disables TLS; then Plaintext must allow the clients.
	TLS *tls.Config
	// Plaintext says which clients may connect without TLS: "never"
	// (default when TLS is set), "loopback" (default when TLS is nil) or
	// "always". The password (a token) travels in the clear without TLS.
	Plaintext string
	// MaxMessageSize caps one client protocol message body, in bytes.
	// Default 1 MiB. A larger message ends the session with SQLSTATE 08P01.
	MaxMessageSize int
	// MaxUpstreamConns caps concurrent upstream connections across all
	// sessions; a client waits (up to HandshakeTimeout) for a free slot.
	// Default 0: no cap.
	MaxUpstreamConns int
	// EventLoops is how many event loops run sessions (loop.go): a session
	// runs on one when its Recorder only queues (queuingRecorder) and both
	// its sockets are TCP or Unix sockets (TLS above them included), and
	// on goroutines of its own otherwise. Default 0: none, every session
	// on goroutines. Experimental: on the 2-core machine measured so far
	// it saves no CPU per query (docs/benchmarks.md, session 6).
	EventLoops int
	// Authenticator verifies client tokens. Required.
	Authenticator Authenticator
	// Policy is the active bundle. Required.
	Policy Policy
	// Analyzer parses statements. Default: pgsql.NewAnalyzer with the pinned search_path.
	Analyzer Analyzer
	// Recorder receives events. Default: records nothing.
	Recorder Recorder
	// Logger receives operational logs (never secrets or result values).
	// Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// LookupEnv resolves env() secret references. Default os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// ReadFile resolves file() secret references. Default os.ReadFile.
	ReadFile func(string) ([]byte, error)
}

// DefaultMaxMessageSize is the default MaxMessageSize: 1 MiB.
const DefaultMaxMessageSize = 1 << 20

// CheckAndSetDefaults fills defaults and rejects nonsense.
func (c *Config) CheckAndSetDefaults() error {
	if c.Authenticator == nil {
		return errors.New("pgproxy config: Authenticator is required")
	}
	if c.Policy == nil {
		return errors.New("pgproxy config: Policy is required")
	}
	if c.Analyzer == nil {
		c.Analyzer = pgsql.NewAnalyzer(pgsql.Options{SearchPath: []string{PinnedSearchPath}}, 0)
	}
	switch c.Plaintext {
	case "":
		c.Plaintext = PlaintextNever
		if c.TLS == nil {
			c.Plaintext = PlaintextLoopback
		}
	case PlaintextNever, PlaintextLoopback, PlaintextAlways:
	default:
		return fmt.Errorf("pgproxy config: Plaintext %q: want never, loopback or always", c.Plaintext)
	}
	if c.TLS == nil && c.Plaintext == PlaintextNever {
		return errors.New("pgproxy config: TLS is nil and Plaintext is never: no client could connect")
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.MaxMessageSize < 1024 {
		return fmt.Errorf("pgproxy config: MaxMessageSize %d: want at least 1024 bytes", c.MaxMessageSize)
	}
	if c.EventLoops < 0 {
		return fmt.Errorf("pgproxy config: EventLoops %d: want 0 (none) or more", c.EventLoops)
	}
	if c.MaxUpstreamConns < 0 {
		return fmt.Errorf("pgproxy config: MaxUpstreamConns %d: want 0 (no cap) or more", c.MaxUpstreamConns)
	}
	if c.Recorder == nil {
		c.Recorder = nopRecorder{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.LookupEnv == nil {
		c.LookupEnv = lookupEnv
	}
	if c.ReadFile == nil {
		c.ReadFile = readFile
	}
	return nil
}

type nopRecorder struct{}

// queuingRecorder is implemented by a Recorder that can tell whether its
// calls only queue (never wait on a disk or the network): its sessions may
// then run on event loops, where a call that waits would hold up the
// loop's other sessions.
type queuingRecorder interface{ Queues() bool }

func (nopRecorder) Queues() bool { return true }

func (nopRecorder) SessionStart(context.Context, *SessionRecord) error              { return nil }
func (nopRecorder) Decided(context.Context, *SessionRecord, *StatementRecord) error { return nil }
func (nopRecorder) Completed(context.Context, *SessionRecord, *StatementRecord)     {}
func (nopRecorder) SessionEnd(context.Context, *SessionRecord, string)              {}

var _ Recorder = nopRecorder{}
