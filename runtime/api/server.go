package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/activation"
	"github.com/mandatehq/mandate/runtime/audit"
	"github.com/mandatehq/mandate/runtime/chain"
)

// Request body limits.
const (
	maxDecideBody = 1 << 20
	maxTokenBody  = 64 << 10
)

// bundles is what the API needs of the active bundle (activation.Manager).
type bundles interface {
	Current() activation.Engine
	Status() activation.Status
}

var _ bundles = (*activation.Manager)(nil)

// TokenExchanger turns an agent's OIDC token into a gateway session token.
// Errors that are an *ExchangeError carry the status and a safe detail.
type TokenExchanger interface {
	Exchange(ctx context.Context, subjectToken string) (*TokenResponse, error)
}

// ExchangeError is a refused token exchange: Status (401 or 403, 503 when
// no bundle is active) and a Detail safe to show the client.
type ExchangeError struct {
	Status int
	Detail string
	Err    error
}

func (e *ExchangeError) Error() string { return e.Detail + ": " + e.Err.Error() }
func (e *ExchangeError) Unwrap() error { return e.Err }

// Deps are the parts the API serves.
type Deps struct {
	Bundles bundles
	// Gatherer serves /metrics.
	Gatherer prometheus.Gatherer
	// Tokens serves POST /v1/token; nil answers 501.
	Tokens TokenExchanger
	Logger *slog.Logger
	// Now is the clock of dry runs; nil uses time.Now.
	Now func() time.Time

	// Humans authenticates approvers, reviewers and auditors; nil (no
	// issuer configured) refuses every authenticated route.
	Humans Authenticator
	// OpenDryRun serves GET /v1/bundle and POST /v1/decide without a
	// token. Off (the default), they need a human with any API role.
	OpenDryRun bool
	// Record serves the auditor routes; nil answers them 503.
	Record Record
	// UsageKey signs GET /v1/audit/usage (the gateway's record key).
	UsageKey *chain.Key
	// VerifyKeys are the trusted keys of GET /v1/audit/verify; empty uses
	// the keys recorded in the store.
	VerifyKeys audit.KeySet
}

// Server is the API's http.Handler.
type Server struct {
	deps Deps
	mux  *http.ServeMux
	log  *slog.Logger
}

// New builds the handler.
func New(deps Deps) *Server {
	s := &Server{deps: deps, mux: http.NewServeMux(), log: deps.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.deps.Now == nil {
		s.deps.Now = time.Now
	}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if deps.Gatherer != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(deps.Gatherer, promhttp.HandlerOpts{}))
	}
	dryRun := func(h http.HandlerFunc) http.HandlerFunc {
		if deps.OpenDryRun {
			return h
		}
		return s.requireRole(h)
	}
	s.mux.HandleFunc("GET /v1/bundle", dryRun(s.bundle))
	s.mux.HandleFunc("POST /v1/decide", dryRun(s.decide))
	s.mux.HandleFunc("POST /v1/token", s.token)
	s.mux.HandleFunc("GET /v1/whoami", s.requireRole(s.whoami, RoleAdmin, RoleApprover, RoleAuditor, RoleReviewer))
	auditor := func(h http.HandlerFunc) http.HandlerFunc { return s.requireRole(h, RoleAuditor) }
	s.mux.HandleFunc("GET /v1/sessions", auditor(s.sessions))
	s.mux.HandleFunc("GET /v1/sessions/{id}", auditor(s.session))
	s.mux.HandleFunc("GET /v1/sessions/{id}/asciicast", auditor(s.asciicast))
	s.mux.HandleFunc("GET /v1/audit/usage", auditor(s.usage))
	s.mux.HandleFunc("GET /v1/audit/verify", auditor(s.verify))
	s.mux.HandleFunc("GET /v1/audit/export", auditor(s.export))
	return s
}

// ServeHTTP routes, answering unknown paths and methods with problems.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		// The mux computes 404 vs 405 (and the Allow header); the
		// sniffer replaces its text body with a problem.
		h.ServeHTTP(&statusSniffer{ResponseWriter: w}, r)
		return
	}
	// The mux itself dispatches, so that r.PathValue works.
	s.mux.ServeHTTP(w, r)
}

// statusSniffer turns the mux's plain-text 404/405 into problem JSON.
type statusSniffer struct {
	http.ResponseWriter
	wrote bool
}

func (s *statusSniffer) WriteHeader(code int) {
	if s.wrote {
		return
	}
	s.wrote = true
	p := problem(code, "not-found", "Not found", "No such API endpoint.")
	if code == http.StatusMethodNotAllowed {
		p = problem(code, "method-not-allowed", "Method not allowed", "Allowed: "+s.Header().Get("Allow")+".")
	}
	s.Header().Del("X-Content-Type-Options")
	s.Header().Set("Content-Type", "application/problem+json")
	s.ResponseWriter.WriteHeader(code)
	_ = json.NewEncoder(s.ResponseWriter).Encode(p)
}

func (s *statusSniffer) Write(b []byte) (int, error) {
	if !s.wrote {
		s.WriteHeader(http.StatusNotFound)
	}
	return len(b), nil // the mux's text body is dropped
}

// GET /v1/whoami: the authenticated human, groups and roles.
func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, HumanFrom(r.Context()))
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	st := s.deps.Bundles.Status()
	if !st.Ready {
		writeProblem(w, r, problem(http.StatusServiceUnavailable, "not-ready", "Not ready", st.Reason))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "revision": st.Revision})
}

// BundleStatus is the body of GET /v1/bundle.
type BundleStatus = activation.Status

func (s *Server) bundle(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.deps.Bundles.Status())
}

// decisionRank ranks results: the overall decision of several statements
// is the first with the highest rank.
func decisionRank(d model.Decision) int {
	switch d.Result {
	case model.Allow:
		return 0
	case model.NeedsApproval:
		return 1
	}
	return 2
}
