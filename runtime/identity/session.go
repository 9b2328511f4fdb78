package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/mandatehq/mandate/model"
)

// SessionAudience is the audience of every gateway session token.
const SessionAudience = "mandate-gateway"

// DefaultMaxSession caps a session token when none of the agent's roles sets
// a max session.
const DefaultMaxSession = time.Hour

// SessionIssuer mints and verifies the gateway's session tokens: ES256 JWTs
// signed with the gateway's own P-256 key, issuer the gateway's URL, audience
// SessionAudience. It is safe for concurrent use.
type SessionIssuer struct {
	issuer string
	kid    string
	pub    *ecdsa.PublicKey
	signer jose.Signer
	now    func() time.Time
}

// GenerateSessionKey makes a new P-256 key for a SessionIssuer.
func GenerateSessionKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// NewSessionIssuer returns an issuer named issuer (the gateway's URL) signing
// with key, which must be P-256. now defaults to time.Now.
func NewSessionIssuer(issuer string, key *ecdsa.PrivateKey, now func() time.Time) (*SessionIssuer, error) {
	if issuer == "" {
		return nil, errors.New("session issuer: issuer URL is required")
	}
	if key == nil || key.Curve != elliptic.P256() {
		return nil, errors.New("session issuer: key must be ECDSA P-256")
	}
	if now == nil {
		now = time.Now
	}
	kid, err := KeyID(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	sig, err := signerFor(key, kid)
	if err != nil {
		return nil, err
	}
	return &SessionIssuer{issuer: issuer, kid: kid, pub: &key.PublicKey, signer: sig, now: now}, nil
}

// Issuer is the iss of the tokens this issuer mints.
func (s *SessionIssuer) Issuer() string { return s.issuer }

// SessionRequest asks for a session token.
type SessionRequest struct {
	// Agent is the policy agent the token proves.
	Agent string
	// Roles the session holds.
	Roles []string
	// From is the verified token being exchanged; the session never outlives it.
	From *Claims
	// MaxSession is the roles' session limit (MaxSession); 0 = DefaultMaxSession.
	MaxSession time.Duration
	// TTL is the lifetime asked for; 0 = as long as allowed.
	TTL time.Duration
}

// sessionClaims are the private claims of a session token.
type sessionClaims struct {
	Agent   string   `json:"agent"`
	Roles   []string `json:"roles,omitempty"`
	OrigIss string   `json:"orig_iss"`
	OrigSub string   `json:"orig_sub"`
}

// Issue mints a session token expiring at the earliest of From's expiry,
// now + MaxSession and now + TTL, and returns it with its expiry.
func (s *SessionIssuer) Issue(req SessionRequest) (string, time.Time, error) {
	if req.Agent == "" || req.From == nil {
		return "", time.Time{}, errors.New("issuing session token: agent and the exchanged token are required")
	}
	now := s.now()
	max := req.MaxSession
	if max <= 0 {
		max = DefaultMaxSession
	}
	exp := now.Add(max)
	if req.TTL > 0 && now.Add(req.TTL).Before(exp) {
		exp = now.Add(req.TTL)
	}
	if req.From.Expiry.IsZero() {
		return "", time.Time{}, errors.New("issuing session token: the exchanged token has no expiry")
	}
	if req.From.Expiry.Before(exp) {
		exp = req.From.Expiry
	}
	exp = exp.Truncate(time.Second)
	if !exp.After(now) {
		return "", time.Time{}, errors.New("issuing session token: the exchanged token expires now")
	}
	orig := sessionClaims{Agent: req.Agent, Roles: req.Roles, OrigIss: req.From.Issuer, OrigSub: req.From.Subject}
	if req.From.Session != nil {
		orig.OrigIss, orig.OrigSub = req.From.Session.OriginalIssuer, req.From.Session.OriginalSubject
	}
	std := jwt.Claims{
		Issuer:    s.issuer,
		Subject:   req.Agent,
		Audience:  jwt.Audience{SessionAudience},
		Expiry:    jwt.NewNumericDate(exp),
		NotBefore: jwt.NewNumericDate(now),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        randomID(),
	}
	tok, err := jwt.Signed(s.signer).Claims(std).Claims(orig).Serialize()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issuing session token: signing: %w", err)
	}
	return tok, exp, nil
}

// Verify checks a session token minted by this issuer (signature by this
// issuer's key, iss, aud, exp, nbf) and returns its claims with Session set.
func (s *SessionIssuer) Verify(raw string) (*Claims, error) {
	if _, err := inspect(raw); err != nil {
		return nil, err
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, fmt.Errorf("parsing session token: %w", err)
	}
	if len(jws.Signatures) != 1 || jws.Signatures[0].Header.KeyID != s.kid {
		return nil, errors.New("session token is not signed by this gateway's key")
	}
	payload, err := jws.Verify(s.pub)
	if err != nil {
		return nil, errors.New("session token signature does not verify")
	}
	c, err := claimsFromPayload(payload)
	if err != nil {
		return nil, err
	}
	if c.Issuer != s.issuer {
		return nil, fmt.Errorf("session token issued by %q, not %q", c.Issuer, s.issuer)
	}
	if !contains(c.Audience, SessionAudience) {
		return nil, fmt.Errorf("session token audience %q lacks %q", c.Audience, SessionAudience)
	}
	if err := checkTimes(c, s.now()); err != nil {
		return nil, err
	}
	sess := &Session{}
	sess.ID, _ = stringClaim(c.Raw, "jti")
	if sess.Agent, err = stringClaim(c.Raw, "agent"); err != nil || sess.Agent == "" {
		return nil, errors.New("session token names no agent")
	}
	sess.OriginalIssuer, _ = stringClaim(c.Raw, "orig_iss")
	sess.OriginalSubject, _ = stringClaim(c.Raw, "orig_sub")
	if roles, ok := c.Raw["roles"].([]any); ok {
		for _, r := range roles {
			if rs, ok := r.(string); ok {
				sess.Roles = append(sess.Roles, rs)
			}
		}
	}
	c.Session = sess
	return c, nil
}

// JWKS is the session issuer's public key set.
func (s *SessionIssuer) JWKS() ([]byte, error) { return JWKS(s.pub, s.kid) }

// MaxSession is the session limit of an agent: the smallest max session of
// its roles that set one, else DefaultMaxSession.
func MaxSession(p *model.Policy, a *model.Agent) time.Duration {
	limit := time.Duration(0)
	for _, rn := range a.Roles {
		r := p.Roles[rn]
		if r == nil || r.MaxSessionSeconds <= 0 {
			continue
		}
		d := time.Duration(r.MaxSessionSeconds) * time.Second
		if limit == 0 || d < limit {
			limit = d
		}
	}
	if limit == 0 {
		return DefaultMaxSession
	}
	return limit
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
