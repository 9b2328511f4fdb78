package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/identity"
)

// API roles a group of the policy may hold (model.Group.APIRoles). Admin
// implies every other role.
const (
	RoleAdmin    = "admin"
	RoleApprover = "approver"
	RoleAuditor  = "auditor"
	RoleReviewer = "reviewer"
)

// Human is an authenticated person: the verified token's issuer, subject
// and email, the policy groups it puts them in, and the API roles those
// groups hold.
type Human struct {
	Issuer  string   `json:"issuer"`
	Subject string   `json:"subject"`
	Email   string   `json:"email,omitempty"`
	Groups  []string `json:"groups"`
	Roles   []string `json:"roles"`
	// Agent is set when the token identifies an agent of the policy (its
	// name, or "(several agents)"); it then holds no group and no role.
	Agent string `json:"agent,omitempty"`
}

// Has reports whether h holds role (admin holds every role).
func (h *Human) Has(role string) bool {
	return h != nil && (slices.Contains(h.Roles, role) || slices.Contains(h.Roles, RoleAdmin))
}

// Authenticator turns a bearer token into a Human. Errors that are an
// *AuthError carry the status (401, or 503 with no active policy) and a
// detail safe to show the client.
type Authenticator interface {
	AuthenticateHuman(ctx context.Context, raw string) (*Human, error)
}

// AuthError is a refused human authentication.
type AuthError struct {
	Status int
	Detail string
	Err    error
}

func (e *AuthError) Error() string { return e.Detail + ": " + e.Err.Error() }
func (e *AuthError) Unwrap() error { return e.Err }

// OIDCHumans authenticates humans with OIDC tokens of the configured
// issuers: the token is verified by Verifier (never a gateway session
// token: those are agents'), and groups come from the active policy.
type OIDCHumans struct {
	Verifier *identity.Verifier
	// Policy returns the active policy, nil when none is.
	Policy func() *model.Policy

	cache atomic.Pointer[humanMatcher]
}

type humanMatcher struct {
	p *model.Policy
	m *identity.Matcher
}

var _ Authenticator = (*OIDCHumans)(nil)

func (o *OIDCHumans) matcher(p *model.Policy) *identity.Matcher {
	if hm := o.cache.Load(); hm != nil && hm.p == p {
		return hm.m
	}
	hm := &humanMatcher{p: p, m: identity.NewMatcher(p)}
	o.cache.Store(hm)
	return hm.m
}

// AuthenticateHuman verifies raw and maps it to groups and API roles. A
// token that identifies an agent of the policy holds no API role.
func (o *OIDCHumans) AuthenticateHuman(ctx context.Context, raw string) (*Human, error) {
	p := o.Policy()
	if p == nil {
		return nil, &AuthError{Status: http.StatusServiceUnavailable,
			Detail: "No verified, current policy bundle is active, so no group membership is known; see /readyz.",
			Err:    errors.New("no active bundle")}
	}
	c, err := o.Verifier.Verify(ctx, raw)
	if err != nil {
		return nil, &AuthError{Status: http.StatusUnauthorized,
			Detail: "The token was not accepted: it must be an OIDC token of a configured issuer with a valid signature, audience and lifetime (gateway session tokens are agents' and are not accepted here).",
			Err:    err}
	}
	m := o.matcher(p)
	h := &Human{Issuer: c.Issuer, Subject: c.Subject, Email: c.Email, Groups: []string{}, Roles: []string{}}
	// An agent's token never carries a human's roles, nor does one that
	// matches several agents.
	if a, err := m.Match(c); err == nil {
		h.Agent = a.Name
		return h, nil
	} else if errors.Is(err, identity.ErrAmbiguousAgent) {
		h.Agent = "(several agents)"
		return h, nil
	}
	h.Groups = m.Groups(c)
	for _, g := range h.Groups {
		if grp := p.Groups[g]; grp != nil {
			h.Roles = append(h.Roles, grp.APIRoles...)
		}
	}
	slices.Sort(h.Roles)
	h.Roles = slices.Compact(h.Roles)
	return h, nil
}

type humanKey struct{}

// HumanFrom returns the human a request was authenticated as, or nil.
func HumanFrom(ctx context.Context) *Human {
	h, _ := ctx.Value(humanKey{}).(*Human)
	return h
}

// bearer extracts the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, *Problem) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", problem(http.StatusUnauthorized, "missing-token", "Missing token",
			"Send your OIDC token as \"Authorization: Bearer <token>\".")
	}
	scheme, tok, ok := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", problem(http.StatusUnauthorized, "invalid-token", "Invalid authorization header",
			"Send your OIDC token as \"Authorization: Bearer <token>\".")
	}
	return tok, nil
}

// requireRole wraps next so that it runs only for a human holding one of
// roles; no roles means any API role at all.
func (s *Server) requireRole(next http.HandlerFunc, roles ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h, p := s.authenticate(r)
		if p != nil {
			if p.Status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="mandate"`)
			}
			writeProblem(w, r, p)
			return
		}
		if !allowed(h, roles) {
			s.log.Info("API request refused: missing role", "path", r.URL.Path, "subject", h.Subject, "groups", h.Groups, "need", roles)
			writeProblem(w, r, problem(http.StatusForbidden, "missing-role", "Missing API role", roleDetail(h, roles)))
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), humanKey{}, h)))
	}
}

func (s *Server) authenticate(r *http.Request) (*Human, *Problem) {
	raw, p := bearer(r)
	if p != nil {
		return nil, p
	}
	if s.deps.Humans == nil {
		return nil, problem(http.StatusUnauthorized, "no-issuers", "No issuer configured",
			"This gateway has no issuer blocks, so it cannot verify human tokens; configure an issuer (or, for dry runs only, set api { open_dry_run = true }).")
	}
	h, err := s.deps.Humans.AuthenticateHuman(r.Context(), raw)
	if err != nil {
		var ae *AuthError
		status, detail := http.StatusUnauthorized, "The token was not accepted."
		if errors.As(err, &ae) {
			status, detail = ae.Status, ae.Detail
		}
		s.log.Warn("API authentication refused", "path", r.URL.Path, "status", status, "error", err.Error())
		return nil, problem(status, "token-refused", http.StatusText(status), detail)
	}
	return h, nil
}

func allowed(h *Human, roles []string) bool {
	if len(roles) == 0 {
		return len(h.Roles) > 0
	}
	for _, r := range roles {
		if h.Has(r) {
			return true
		}
	}
	return false
}

func roleDetail(h *Human, roles []string) string {
	need := "any API role (" + strings.Join([]string{RoleAdmin, RoleApprover, RoleAuditor, RoleReviewer}, ", ") + ")"
	if len(roles) > 0 {
		need = "API role " + strings.Join(roles, " or ") + " (or admin)"
	}
	who := h.Subject
	if h.Email != "" {
		who = h.Email
	}
	if h.Agent != "" {
		agent := "agent " + h.Agent
		if strings.HasPrefix(h.Agent, "(") {
			agent = strings.Trim(h.Agent, "()")
		}
		return fmt.Sprintf("%s is the identity of %s; agents hold no API role. This endpoint needs %s.", who, agent, need)
	}
	if len(h.Groups) == 0 {
		return fmt.Sprintf("%s is in no group of the policy; this endpoint needs %s, granted by a group's api_roles.", who, need)
	}
	held := "no API role"
	if len(h.Roles) > 0 {
		held = "API roles " + strings.Join(h.Roles, ", ")
	}
	return fmt.Sprintf("%s is in groups %s, which hold %s; this endpoint needs %s.", who, strings.Join(h.Groups, ", "), held, need)
}
