package pgproxy

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/mandatehq/mandate/model"
)

// PinnedSearchPath is the search_path every upstream session runs with; the
// analyzer resolves unqualified table names against it and statements that
// change it are forbidden.
const PinnedSearchPath = "public"

// dial connects upstream with the connection's credential, takes the
// connection over from pgconn and completes the client's startup: the
// upstream's ParameterStatus messages, the gateway's own BackendKeyData and
// ReadyForQuery.
func (ss *session) dial(ctx context.Context) error {
	srv := ss.srv
	if srv.slots != nil {
		select {
		case srv.slots <- struct{}{}:
			ss.slot = true
		case <-ctx.Done():
			return ss.refuse(fatal(CodeCannotConnectNow, "the mandate gateway has no free upstream connection; try again"))
		}
	}
	cfg, err := srv.upstreamConfig(ss.conn, ss.params, ss.rec.ReadOnly)
	if err != nil {
		srv.cfg.Logger.Warn("postgres upstream config", "connection", ss.conn.Name, "err", err)
		return ss.refuse(fatal(CodeCannotConnectNow, fmt.Sprintf("connection %q is misconfigured in the gateway; see the gateway log", ss.conn.Name)))
	}
	// The socket under the upstream connection (and under its TLS), for
	// event loops: pgconn dials once per attempt, the last is the one kept.
	var upFlip *flipConn
	dial := cfg.DialFunc
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		upFlip = newFlipConn(c)
		return upFlip, nil
	}
	pc, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		srv.cfg.Logger.Warn("postgres upstream connect", "connection", ss.conn.Name, "err", err)
		return ss.refuse(fatal(CodeCannotConnectNow, fmt.Sprintf("could not connect to the upstream of connection %q", ss.conn.Name)))
	}
	// pgconn may have left a read in flight in its background reader
	// (started when a write during connect was slow); the session reads
	// the connection directly, so that read must end first.
	if err := pc.SyncConn(ctx); err != nil {
		pc.Close(ctx)
		return fmt.Errorf("taking over upstream connection: %w", err)
	}
	hc, err := pc.Hijack()
	if err != nil {
		pc.Close(ctx)
		return fmt.Errorf("taking over upstream connection: %w", err)
	}
	if enc := hc.ParameterStatuses["server_encoding"]; enc != "UTF8" {
		// The analyzer folds and truncates identifiers as PostgreSQL does
		// in UTF8; a single-byte server encoding folds other letters too,
		// so a name could mean another column to the server than to the
		// analysis (a masking bypass). Fail closed.
		hc.Conn.Close()
		srv.cfg.Logger.Warn("postgres upstream database is not UTF8; refusing sessions", "connection", ss.conn.Name, "server_encoding", enc)
		return ss.refuse(fatal(CodeFeatureNotSupported, fmt.Sprintf(
			"the database of connection %q uses server encoding %s; the mandate gateway serves only UTF8 databases", ss.conn.Name, enc)))
	}
	ss.up = hc.Conn
	ss.fe = hc.Frontend
	if hc.Frontend.ReadBufferLen() == 0 {
		// A Frontend of its own, reading the connection itself rather than
		// through pgconn's background reader (stopped by SyncConn).
		ss.fe = pgproto3.NewFrontend(hc.Conn, hc.Conn)
		ss.uflip = upFlip
	}
	ss.upCancel = upstreamCancel{addr: hc.Conn.RemoteAddr(), tls: hc.TLSConfig, pid: hc.PID, secret: hc.SecretKey}

	if err := srv.cfg.Recorder.SessionStart(ctx, &ss.rec); err != nil {
		srv.cfg.Logger.Warn("recording session start", "session", ss.rec.ID, "err", err)
		return ss.refuse(fatal(CodeCannotConnectNow, "the mandate gateway cannot record this session; refusing (fail closed)"))
	}
	ss.started = true
	key, ok := srv.register(ss)
	if !ok {
		return ss.refuse(fatal(CodeAdminShutdown, "the mandate gateway is shutting down"))
	}
	ss.key = key
	ss.pinned = map[string]string{}
	for _, k := range watchedParams {
		if v, ok := hc.ParameterStatuses[k]; ok && (k != "default_transaction_read_only" || ss.rec.ReadOnly) {
			ss.pinned[k] = v
		}
	}
	msgs := []pgproto3.BackendMessage{&pgproto3.AuthenticationOk{}}
	names := make([]string, 0, len(hc.ParameterStatuses))
	for k := range hc.ParameterStatuses {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		msgs = append(msgs, &pgproto3.ParameterStatus{Name: k, Value: hc.ParameterStatuses[k]})
	}
	msgs = append(msgs,
		&pgproto3.BackendKeyData{ProcessID: key.pid, SecretKey: key.secretBytes()},
		&pgproto3.ReadyForQuery{TxStatus: hc.TxStatus})
	if err := ss.sendClient(msgs...); err != nil {
		return fmt.Errorf("completing client startup: %w", err)
	}
	return nil
}

// watchedParams are the settings the server reports (ParameterStatus)
// that the gateway pins or relies on: the encoding and string syntax its
// parse assumes, the identity it connected as, the search path (reported
// from PostgreSQL 18) and, in read-only sessions, the read-only default. A
// statement cannot change them past the analyzer; a change the server
// reports means code the analysis could not see (a function, a cast, a
// trigger) did, and the relay ends the session.
var watchedParams = []string{"client_encoding", "standard_conforming_strings", "session_authorization",
	"is_superuser", "search_path", "default_transaction_read_only"}

// upstreamConfig builds the pgconn config of connection c. Secrets are
// resolved here, at connect time, and never logged.
func (s *Server) upstreamConfig(c *model.Connection, params map[string]string, readOnly bool) (*pgconn.Config, error) {
	host, port, socket, err := model.SocketAddress(c.Address)
	if err != nil {
		return nil, fmt.Errorf("address of %s: %w", c.Name, err)
	}
	if !socket {
		if host, port, err = net.SplitHostPort(c.Address); err != nil {
			host, port = c.Address, "5432"
		}
	}
	mode := c.TLSMode
	if socket && mode != "disable" {
		// pgconn, like libpq, drops TLS settings for a Unix socket; the
		// compiler refuses such a connection, and so does the gateway
		// rather than connect with less than the policy asks.
		return nil, fmt.Errorf("connection %s: TLS mode %s cannot apply to the Unix socket %s", c.Name, mode, c.Address)
	}
	if mode == "" {
		mode = "verify-full" // the compiler's default too; never a silent downgrade
	}
	if mode == "require" && c.TLSCA != nil {
		// libpq: require with a root certificate verifies like verify-ca.
		mode = "verify-ca"
	}
	kv := []string{
		"host=" + quoteConnValue(host), "port=" + quoteConnValue(port),
		"dbname=" + quoteConnValue(c.Database), "user=" + quoteConnValue(c.Credential.Username),
		"sslmode=" + quoteConnValue(mode),
	}
	if c.TLSCA != nil && c.TLSCA.Kind == "file" {
		kv = append(kv, "sslrootcert="+quoteConnValue(c.TLSCA.Name))
	}
	cfg, err := pgconn.ParseConfig(strings.Join(kv, " "))
	if err != nil {
		return nil, fmt.Errorf("parsing upstream config of %s: %w", c.Name, err)
	}
	if c.TLSCA != nil && c.TLSCA.Kind == "env" {
		pem, err := s.resolveSecret(*c.TLSCA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("reading tls_ca %s: no PEM certificate", c.TLSCA)
		}
		for _, t := range append([]*pgconn.FallbackConfig{{TLSConfig: cfg.TLSConfig}}, cfg.Fallbacks...) {
			if t.TLSConfig != nil {
				t.TLSConfig.RootCAs = pool
			}
		}
	}
	cfg.Password = ""
	if c.Credential.Password != nil {
		pw, err := s.resolveSecret(*c.Credential.Password)
		if err != nil {
			return nil, err
		}
		cfg.Password = string(pw)
		// The gateway's credential never travels as cleartext or MD5.
		cfg.RequireAuth = "!password,!md5"
	}
	cfg.RuntimeParams = map[string]string{}
	for k, v := range params {
		cfg.RuntimeParams[k] = v
	}
	cfg.RuntimeParams["search_path"] = PinnedSearchPath
	// The gateway parses statements as UTF-8; a role's or database's
	// default client_encoding must not make the server read them otherwise.
	cfg.RuntimeParams["client_encoding"] = "UTF8"
	// The gateway's parse reads backslashes in '...' literally; a role's
	// or database's standard_conforming_strings = off would make the
	// server read them as escapes and split statements elsewhere.
	cfg.RuntimeParams["standard_conforming_strings"] = "on"
	if readOnly {
		cfg.RuntimeParams["default_transaction_read_only"] = "on"
	}
	cfg.ConnectTimeout = HandshakeTimeout
	return cfg, nil
}

// resolveSecret reads an env() or file() reference.
func (s *Server) resolveSecret(r model.SecretRef) ([]byte, error) {
	switch r.Kind {
	case "env":
		v, ok := s.cfg.LookupEnv(r.Name)
		if !ok || v == "" {
			return nil, fmt.Errorf("resolving secret %s: variable not set", r)
		}
		return []byte(v), nil
	case "file":
		b, err := s.cfg.ReadFile(r.Name)
		if err != nil {
			return nil, fmt.Errorf("resolving secret %s: %w", r, err)
		}
		return []byte(strings.TrimRight(string(b), "\r\n")), nil
	}
	return nil, fmt.Errorf("resolving secret %s: unknown kind %q", r, r.Kind)
}

func quoteConnValue(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

func lookupEnv(k string) (string, bool) { return os.LookupEnv(k) }
func readFile(p string) ([]byte, error) { return os.ReadFile(p) }

var errUpstreamGone = errors.New("upstream connection lost")
