package identity

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/mandatehq/mandate/model"
)

// Matching errors, wrapped with the reason.
var (
	ErrNoAgent        = errors.New("no agent matches the token")
	ErrAmbiguousAgent = errors.New("the token matches several agents")
)

// Matcher maps verified tokens to the agents and groups of one policy. Build
// it once per policy (bundle activation); it is read-only and safe for
// concurrent use.
type Matcher struct {
	p        *model.Policy
	byIssuer map[string][]agentIdentity
	groups   []*model.Group
}

type agentIdentity struct {
	agent *model.Agent
	id    *model.Identity
}

// NewMatcher indexes the identities of p's agents by issuer.
func NewMatcher(p *model.Policy) *Matcher {
	m := &Matcher{p: p, byIssuer: map[string][]agentIdentity{}}
	names := make([]string, 0, len(p.Agents))
	for n := range p.Agents {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := p.Agents[n]
		for _, id := range a.Identities {
			if id != nil {
				m.byIssuer[id.Issuer] = append(m.byIssuer[id.Issuer], agentIdentity{a, id})
			}
		}
	}
	gnames := make([]string, 0, len(p.Groups))
	for n := range p.Groups {
		gnames = append(gnames, n)
	}
	sort.Strings(gnames)
	for _, n := range gnames {
		m.groups = append(m.groups, p.Groups[n])
	}
	return m
}

// MatchAgent is NewMatcher(p).Match(c), for one-off use.
func MatchAgent(p *model.Policy, c *Claims) (*model.Agent, error) {
	return NewMatcher(p).Match(c)
}

// Match returns the one agent whose identity matches c: the issuer equal, the
// subject equal when the identity sets one, and every identity claim equal
// to the token's (or contained in it when the token's claim is a list). None
// or several is an error saying why.
//
// A gateway session token names its agent; it matches while that agent still
// exists and still has an identity of the original issuer and subject
// (claim conditions were checked when the session was issued).
func (m *Matcher) Match(c *Claims) (*model.Agent, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: no claims", ErrNoAgent)
	}
	if s := c.Session; s != nil {
		a := m.p.Agents[s.Agent]
		if a == nil {
			return nil, fmt.Errorf("%w: agent %q of the session token is not in the policy", ErrNoAgent, s.Agent)
		}
		for _, id := range a.Identities {
			if id != nil && id.Issuer == s.OriginalIssuer && (id.Subject == "" || id.Subject == s.OriginalSubject) {
				return a, nil
			}
		}
		return nil, fmt.Errorf("%w: agent %q no longer accepts issuer %q subject %q", ErrNoAgent, s.Agent, s.OriginalIssuer, s.OriginalSubject)
	}
	cands := m.byIssuer[c.Issuer]
	if len(cands) == 0 {
		return nil, fmt.Errorf("%w: no agent has an identity of issuer %q", ErrNoAgent, c.Issuer)
	}
	var found []*model.Agent
	for _, ai := range cands {
		if !identityMatches(ai.id, c) {
			continue
		}
		if len(found) == 0 || found[len(found)-1] != ai.agent {
			found = append(found, ai.agent)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%w: no identity of issuer %q matches subject %q and its claims", ErrNoAgent, c.Issuer, c.Subject)
	case 1:
		return found[0], nil
	}
	names := make([]string, len(found))
	for i, a := range found {
		names[i] = a.Name
	}
	return nil, fmt.Errorf("%w: %s; make their identities disjoint (subject or claims)", ErrAmbiguousAgent, strings.Join(names, ", "))
}

func identityMatches(id *model.Identity, c *Claims) bool {
	if id.Issuer != c.Issuer {
		return false
	}
	if id.Subject != "" && id.Subject != c.Subject {
		return false
	}
	return claimsMatch(id.Claims, c.Raw)
}

func claimsMatch(want map[string]string, raw map[string]any) bool {
	for k, v := range want {
		if !claimMatches(raw[k], v) {
			return false
		}
	}
	return true
}

// claimMatches compares a token claim with a policy value: strings equal,
// numbers and booleans by their JSON text, lists when an element matches.
func claimMatches(got any, want string) bool {
	switch g := got.(type) {
	case string:
		return g == want
	case float64:
		return strconv.FormatFloat(g, 'f', -1, 64) == want
	case bool:
		return strconv.FormatBool(g) == want
	case []any:
		for _, e := range g {
			if _, nested := e.([]any); !nested && claimMatches(e, want) {
				return true
			}
		}
	}
	return false
}

// Groups lists, sorted, the groups a human's verified token puts them in:
// groups naming their email (case-insensitive) or subject as a member, and
// groups whose claims all match the token.
func (m *Matcher) Groups(c *Claims) []string {
	var out []string
	for _, g := range m.groups {
		if groupHas(g, c) {
			out = append(out, g.Name)
		}
	}
	return out
}

// Groups is NewMatcher(p).Groups(c), for one-off use.
func Groups(p *model.Policy, c *Claims) []string { return NewMatcher(p).Groups(c) }

func groupHas(g *model.Group, c *Claims) bool {
	if c == nil || c.Session != nil {
		return false // session tokens are agents', never a human's
	}
	for _, mem := range g.Members {
		if (c.Email != "" && strings.EqualFold(mem, c.Email)) || (c.Subject != "" && mem == c.Subject) {
			return true
		}
	}
	return len(g.Claims) > 0 && claimsMatch(g.Claims, c.Raw)
}
