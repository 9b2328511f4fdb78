package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/mandatehq/mandate/runtime/activation"
	"github.com/mandatehq/mandate/runtime/api"
	"github.com/mandatehq/mandate/runtime/bundlesrc"
	"github.com/mandatehq/mandate/runtime/chain"
	"github.com/mandatehq/mandate/runtime/config"
	"github.com/mandatehq/mandate/runtime/decision"
	"github.com/mandatehq/mandate/runtime/identity"
	"github.com/mandatehq/mandate/runtime/pgproxy"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
)

// ShutdownTimeout bounds the drain of open connections and requests.
const ShutdownTimeout = 30 * time.Second

// HTTP server timeouts of the API.
const (
	apiReadHeaderTimeout = 10 * time.Second
	apiReadTimeout       = 30 * time.Second
	apiWriteTimeout      = 60 * time.Second
	apiIdleTimeout       = 2 * time.Minute
)

// Options are what tests and the CLI set beyond the configuration file.
type Options struct {
	Logger *slog.Logger
	// HTTPClient fetches https bundle sources and OIDC discovery; nil uses
	// the defaults of those packages.
	HTTPClient *http.Client
}

// Gateway is one running `mandate serve`.
type Gateway struct {
	cfg      *config.Config
	log      *slog.Logger
	reg      *prometheus.Registry
	mgr      *activation.Manager
	src      bundlesrc.Source
	cert     tls.Certificate
	certPath string
	api      *http.Server
	pg       *pgproxy.Server
	store    store.Store
	rec      *recorder.Recorder
	// recKey signs the record's checkpoints and the usage exports.
	recKey *chain.Key

	// Set by Start, used by Shutdown.
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	apiLn   net.Listener
	pgLn    net.Listener
	stopped sync.Once
	// draining is set once Shutdown closes the listeners itself.
	draining atomic.Bool
}

// New builds a gateway from a validated configuration. It reads keys and
// certificates but opens no listener; Start does.
func New(cfg *config.Config, opts Options) (*Gateway, error) {
	g := &Gateway{cfg: cfg, log: opts.Logger, reg: prometheus.NewRegistry()}
	if g.log == nil {
		g.log = slog.Default()
	}
	g.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating state directory %s: %w", cfg.StateDir, err)
	}
	keys, err := readKeys(cfg)
	if err != nil {
		return nil, err
	}
	g.mgr, err = activation.New(activation.Options{
		Load:          activation.BundleLoader(keys, cfg.Bundle.MaxSize, decision.Options{}),
		StateDir:      cfg.StateDir,
		Source:        cfg.Bundle.Source,
		MaxAge:        cfg.Bundle.MaxAge,
		AllowRollback: cfg.Bundle.AllowRollback,
		Logger:        g.log,
		Registerer:    g.reg,
	})
	if err != nil {
		return nil, err
	}
	g.src, err = bundlesrc.New(cfg.Bundle.Source, bundlesrc.Options{
		Poll: cfg.Bundle.Poll, MaxSize: cfg.Bundle.MaxSize, Client: opts.HTTPClient, Logger: g.log, BaseDir: cfg.Dir,
	})
	if err != nil {
		return nil, err
	}
	if err := g.setupTLS(); err != nil {
		return nil, err
	}
	sessions, verifier, err := g.setupIdentity(opts)
	if err != nil {
		return nil, err
	}
	matchers := &matcherCache{}
	if cfg.Listen.Postgres != "" || cfg.Listen.API != "" {
		// The API's auditor routes read the record the listeners write.
		rec, err := g.openRecorder(context.Background())
		switch {
		case err != nil && cfg.Listen.Postgres != "":
			return nil, err
		case err != nil:
			// Without a recording listener the record is only read:
			// serve the rest of the API, the auditor routes answer 503.
			g.log.Error("record store unavailable: the API's auditor routes are off", "error", err.Error())
		case cfg.Listen.Postgres != "":
			if err := g.setupPostgres(verifier, matchers, rec); err != nil {
				g.closeRecorder()
				return nil, err
			}
		}
	}
	g.api = &http.Server{
		Handler:           api.New(g.apiDeps(verifier, sessions, matchers)),
		ReadHeaderTimeout: apiReadHeaderTimeout,
		ReadTimeout:       apiReadTimeout,
		WriteTimeout:      apiWriteTimeout,
		IdleTimeout:       apiIdleTimeout,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
	g.registerSessions()
	return g, nil
}

// apiDeps wires the API to the bundle, the issuers (agents' token
// exchange and humans' authentication) and the record.
func (g *Gateway) apiDeps(verifier *identity.Verifier, sessions *identity.SessionIssuer, matchers *matcherCache) api.Deps {
	deps := api.Deps{Bundles: g.mgr, Gatherer: g.reg, Logger: g.log, OpenDryRun: g.cfg.API.OpenDryRun, UsageKey: g.recKey}
	if len(g.cfg.Issuers) > 0 {
		deps.Tokens = &tokenExchanger{verifier: verifier, sessions: sessions, policy: g.mgr.Policy, matchers: matchers}
		deps.Humans = &api.OIDCHumans{Verifier: verifier, Policy: g.mgr.Policy}
	}
	if g.store != nil {
		deps.Record = g.store
	}
	return deps
}

// setupTLS loads the tls block's certificate, or makes a self-signed one.
func (g *Gateway) setupTLS() error {
	if t := g.cfg.TLS; t != nil {
		c, err := loadCert(t.Cert, t.Key)
		if err != nil {
			return err
		}
		g.cert, g.certPath = c, t.Cert
		return nil
	}
	var hosts []string
	for _, a := range []string{g.cfg.Listen.API, g.cfg.Listen.Postgres, g.cfg.Listen.SSH} {
		if h, _, err := net.SplitHostPort(a); err == nil {
			hosts = append(hosts, h)
		}
	}
	c, path, created, err := selfSignedCert(g.cfg.StateDir, hosts, time.Now())
	if err != nil {
		return err
	}
	g.cert, g.certPath = c, path
	verb := "using"
	if created {
		verb = "created"
	}
	g.log.Warn("no tls block: "+verb+" a self-signed certificate; clients must trust it explicitly",
		"cert", path, "sha256", fingerprint(c))
	return nil
}

// setupIdentity makes the session issuer (its key persisted in the state
// directory so session tokens survive a restart) and the verifier of the
// issuer blocks.
func (g *Gateway) setupIdentity(opts Options) (*identity.SessionIssuer, *identity.Verifier, error) {
	key, err := sessionKey(g.cfg.StateDir)
	if err != nil {
		return nil, nil, err
	}
	sessions, err := identity.NewSessionIssuer(SessionIssuerURL, key, nil)
	if err != nil {
		return nil, nil, err
	}
	var issuers []identity.IssuerConfig
	for _, is := range g.cfg.Issuers {
		issuers = append(issuers, identity.IssuerConfig{Name: is.Name, URL: is.URL, Audience: is.Audience, JWKSFile: is.JWKSFile})
	}
	v, err := identity.NewVerifier(issuers, identity.Options{HTTPClient: opts.HTTPClient, Sessions: sessions})
	if err != nil {
		return nil, nil, fmt.Errorf("configuring issuers: %w", err)
	}
	return sessions, v, nil
}

// Start restores the last good bundle, starts the bundle source and opens
// the listeners. It returns once they accept connections.
func (g *Gateway) Start(ctx context.Context) error {
	if err := g.mgr.Restore(ctx); err != nil {
		g.log.Error("no usable persisted bundle; waiting for the source", "error", err.Error())
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g.cancel = cancel
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.src.Run(runCtx, g.deliver(runCtx))
	}()

	if g.cfg.Listen.API != "" {
		if err := g.startAPI(); err != nil {
			g.stopSource()
			return err
		}
	} else {
		g.log.Warn("listen.api is empty: no HTTP API, health checks or metrics")
	}

	if g.pg != nil {
		if err := g.startPostgres(); err != nil {
			g.Shutdown(context.Background())
			return err
		}
	}
	if g.cfg.Listen.SSH != "" {
		g.log.Warn("listen.ssh is set, but this build has no SSH gateway yet; not listening", "addr", g.cfg.Listen.SSH)
	}
	return nil
}

// startAPI opens the API listener (HTTPS with the gateway's certificate
// unless api_plaintext) and serves it on a goroutine Shutdown waits for.
func (g *Gateway) startAPI() error {
	ln, err := net.Listen("tcp", g.cfg.Listen.API)
	if err != nil {
		return fmt.Errorf("listening on %s (listen.api): %w", g.cfg.Listen.API, err)
	}
	scheme := "https"
	if g.cfg.Listen.APIPlaintext {
		scheme = "http"
		if h, _, _ := net.SplitHostPort(g.cfg.Listen.API); !isLoopback(h) {
			g.log.Warn("API served over plain HTTP on a non-loopback address; tokens travel in the clear", "addr", g.cfg.Listen.API)
		}
	} else {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{g.cert}, MinVersion: tls.VersionTLS12})
	}
	g.apiLn = ln
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := g.api.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.log.Error("serving API", "error", err.Error())
		}
	}()
	g.log.Info("API listening", "url", scheme+"://"+ln.Addr().String())
	return nil
}

// deliver feeds source events into the activation manager.
func (g *Gateway) deliver(ctx context.Context) bundlesrc.Deliver {
	return func(ev bundlesrc.Event) error {
		switch {
		case ev.Err != nil:
			if errors.Is(ev.Err, bundlesrc.ErrTooLarge) {
				g.mgr.Rejected(activation.Reject(activation.ReasonOversized, ev.Err))
			} else {
				g.mgr.FetchFailed(ev.Err)
			}
			return ev.Err
		case ev.NotModified:
			g.mgr.Confirm()
			return nil
		default:
			return g.mgr.Offer(ctx, ev.Data)
		}
	}
}

// Shutdown stops accepting, lets requests and sessions in flight finish
// until ctx ends, then closes what remains. Safe to call more than once.
func (g *Gateway) Shutdown(ctx context.Context) error {
	var err error
	g.stopped.Do(func() {
		g.log.Info("shutting down; draining connections")
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			if e := g.api.Shutdown(ctx); e != nil {
				err = fmt.Errorf("draining API: %w", e)
				g.api.Close()
			}
		}()
		if g.pg != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				g.drainPostgres(ctx)
			}()
		}
		wg.Wait()
		g.stopSource()
		g.wg.Wait()
		g.closeRecorder()
		g.mgr.Flush()
		g.log.Info("stopped")
	})
	return err
}

func (g *Gateway) stopSource() {
	if g.cancel != nil {
		g.cancel()
	}
}

// Run starts the gateway, serves until ctx ends, then shuts down within
// ShutdownTimeout.
func (g *Gateway) Run(ctx context.Context) error {
	if err := g.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	return g.Shutdown(sctx)
}

// Current is the engine to decide with now; see activation.Manager.Current.
func (g *Gateway) Current() activation.Engine { return g.mgr.Current() }

// Manager is the activation manager (status, policy).
func (g *Gateway) Manager() *activation.Manager { return g.mgr }

// APIAddr is the address the API listens on after Start, or nil.
func (g *Gateway) APIAddr() net.Addr {
	if g.apiLn == nil {
		return nil
	}
	return g.apiLn.Addr()
}

// Registry holds the gateway's metrics.
func (g *Gateway) Registry() *prometheus.Registry { return g.reg }

// CertPath is the PEM certificate the gateway serves.
func (g *Gateway) CertPath() string { return g.certPath }

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
