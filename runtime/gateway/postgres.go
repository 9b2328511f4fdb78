package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/activation"
	"github.com/mandatehq/mandate/runtime/identity"
	"github.com/mandatehq/mandate/runtime/pgproxy"
)

// drainPoll is how often a draining shutdown checks for open sessions.
const drainPoll = 100 * time.Millisecond

// setupPostgres builds the PostgreSQL listener's server: it decides with the
// current bundle on every statement and authenticates clients with session
// or OIDC tokens.
func (g *Gateway) setupPostgres(v *identity.Verifier, mc *matcherCache, rec pgproxy.Recorder) error {
	srv, err := pgproxy.New(pgproxy.Config{
		TLS:           &tls.Config{Certificates: []tls.Certificate{g.cert}, MinVersion: tls.VersionTLS12},
		Authenticator: &pgAuth{verifier: v, mgr: g.mgr, matchers: mc},
		Policy:        pgPolicy{g.mgr},
		Recorder:      rec,
		Logger:        g.log,
	})
	if err != nil {
		return fmt.Errorf("configuring the postgres listener: %w", err)
	}
	g.pg = srv
	return nil
}

// registerSessions exports mandate_sessions_active (0 without a listener).
func (g *Gateway) registerSessions() {
	g.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "mandate_sessions_active",
		Help:        "Open agent sessions.",
		ConstLabels: prometheus.Labels{"protocol": "postgres"},
	}, func() float64 {
		if g.pg == nil {
			return 0
		}
		return float64(g.pg.Sessions())
	}))
}

func (g *Gateway) startPostgres() error {
	ln, err := net.Listen("tcp", g.cfg.Listen.Postgres)
	if err != nil {
		return fmt.Errorf("listening on %s (listen.postgres): %w", g.cfg.Listen.Postgres, err)
	}
	g.pgLn = ln
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := g.pg.Serve(ln); err != nil && !errors.Is(err, pgproxy.ErrServerClosed) && !g.draining.Load() {
			g.log.Error("serving postgres", "error", err.Error())
		}
	}()
	g.log.Info("postgres listening", "addr", ln.Addr().String())
	return nil
}

// drainPostgres stops accepting, waits for sessions to end until ctx ends,
// then closes the rest.
func (g *Gateway) drainPostgres(ctx context.Context) {
	g.draining.Store(true)
	if g.pgLn != nil {
		g.pgLn.Close()
	}
	t := time.NewTicker(drainPoll)
	defer t.Stop()
	for g.pg.Sessions() > 0 {
		select {
		case <-ctx.Done():
			g.log.Warn("shutdown deadline: closing open postgres sessions", "sessions", g.pg.Sessions())
			g.pg.Close()
			return
		case <-t.C:
		}
	}
	g.pg.Close()
}

// PostgresAddr is the PostgreSQL listener's address after Start, or nil.
func (g *Gateway) PostgresAddr() net.Addr {
	if g.pgLn == nil {
		return nil
	}
	return g.pgLn.Addr()
}

// pgPolicy is the active bundle as pgproxy sees it: every call reads the
// bundle active at that moment.
type pgPolicy struct{ m *activation.Manager }

var _ pgproxy.Policy = pgPolicy{}

func (p pgPolicy) Decide(ctx context.Context, in *model.Input) (model.Decision, error) {
	return p.m.Current().Decide(ctx, in)
}

func (p pgPolicy) Connection(name string) (*model.Connection, bool) {
	pol := p.m.Policy()
	if pol == nil {
		return nil, false
	}
	c, ok := pol.Connections[name]
	return c, ok
}

func (p pgPolicy) Masking(name string) (*model.Masking, bool) {
	pol := p.m.Policy()
	if pol == nil {
		return nil, false
	}
	mk, ok := pol.Maskings[name]
	return mk, ok
}

// pgAuth checks the token a client sends as its password (a session token
// from /v1/token, or an OIDC token) and that it proves the agent named as
// the user.
type pgAuth struct {
	verifier *identity.Verifier
	mgr      *activation.Manager
	matchers *matcherCache
}

var _ pgproxy.Authenticator = (*pgAuth)(nil)

func (a *pgAuth) Authenticate(ctx context.Context, req pgproxy.AuthRequest) (*pgproxy.Principal, error) {
	pol := a.mgr.Policy()
	if pol == nil {
		return nil, errors.New("no verified, current policy bundle is active")
	}
	c, err := a.verifier.Authenticate(ctx, req.Token)
	if err != nil {
		return nil, err
	}
	agent, err := a.matchers.get(pol).Match(c)
	if err != nil {
		return nil, err
	}
	if agent.Name != req.Agent {
		return nil, fmt.Errorf("the token proves agent %q, not %q", agent.Name, req.Agent)
	}
	p := &pgproxy.Principal{Agent: agent.Name, Issuer: c.Issuer, Subject: c.Subject}
	// No session outlives the token that opened it, nor the agent's
	// session limit (max_session of its roles).
	p.Expires = time.Now().Add(identity.MaxSession(pol, agent))
	if !c.Expiry.IsZero() && c.Expiry.Before(p.Expires) {
		p.Expires = c.Expiry
	}
	if s := c.Session; s != nil {
		// A session token: record the identity it was exchanged for.
		p.Issuer, p.Subject = s.OriginalIssuer, s.OriginalSubject
	}
	return p, nil
}
