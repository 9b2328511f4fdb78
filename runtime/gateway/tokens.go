package gateway

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/api"
	"github.com/mandatehq/mandate/runtime/identity"
)

// tokenExchanger serves POST /v1/token: it verifies an agent's OIDC token,
// matches it to exactly one agent of the active policy and mints a session
// token that expires no later than the token it came from or the agent's
// roles' max session.
type tokenExchanger struct {
	verifier *identity.Verifier
	sessions *identity.SessionIssuer
	policy   func() *model.Policy
	matchers *matcherCache
}

var _ api.TokenExchanger = (*tokenExchanger)(nil)

// matcherCache keeps the agent index of the policy it was built for, so a
// 10,000-agent policy is indexed once per bundle, not per token.
type matcherCache struct{ cur atomic.Pointer[policyMatcher] }

type policyMatcher struct {
	p *model.Policy
	m *identity.Matcher
}

func (c *matcherCache) get(p *model.Policy) *identity.Matcher {
	if pm := c.cur.Load(); pm != nil && pm.p == p {
		return pm.m
	}
	pm := &policyMatcher{p: p, m: identity.NewMatcher(p)}
	c.cur.Store(pm)
	return pm.m
}

func (t *tokenExchanger) Exchange(ctx context.Context, raw string) (*api.TokenResponse, error) {
	p := t.policy()
	if p == nil {
		return nil, &api.ExchangeError{Status: http.StatusServiceUnavailable,
			Detail: "No verified, current policy bundle is active, so no agent can be recognised; see /readyz.",
			Err:    errors.New("no active bundle")}
	}
	claims, err := t.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, &api.ExchangeError{Status: http.StatusUnauthorized,
			Detail: "The token was not accepted: its issuer, signature, audience or validity failed verification.", Err: err}
	}
	agent, err := t.matchers.get(p).Match(claims)
	if err != nil {
		// Which agents matched (or that none did) is not secret: the
		// policy lives in git.
		return nil, &api.ExchangeError{Status: http.StatusForbidden, Detail: err.Error() + ".", Err: err}
	}
	tok, exp, err := t.sessions.Issue(identity.SessionRequest{
		Agent: agent.Name, Roles: agent.Roles, From: claims, MaxSession: identity.MaxSession(p, agent),
	})
	if err != nil {
		return nil, &api.ExchangeError{Status: http.StatusUnauthorized, Detail: "No session token could be issued for this token.", Err: err}
	}
	return &api.TokenResponse{Token: tok, TokenType: "Bearer", ExpiresAt: exp, Agent: agent.Name, Roles: agent.Roles}, nil
}
