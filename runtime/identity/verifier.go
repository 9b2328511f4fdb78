package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Options configure a Verifier. Zero values take the defaults.
type Options struct {
	// HTTPClient fetches discovery documents and JWKS. Default: a client
	// with HTTPTimeout. Responses are capped at MaxIssuerResponse bytes.
	HTTPClient *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Sessions verifies the gateway's own session tokens in Authenticate;
	// nil accepts none.
	Sessions *SessionIssuer
	// CacheSize bounds the verified-token cache, in tokens. Default
	// DefaultCacheSize; negative turns the cache off.
	CacheSize int
}

// Verifier verifies tokens of the configured issuers. It is safe for
// concurrent use.
type Verifier struct {
	issuers  map[string]*issuer
	sessions *SessionIssuer
	now      func() time.Time
	cache    *tokenCache // nil when off
}

// Errors a caller may classify with errors.Is. Every verification failure
// wraps ErrRejected.
var (
	ErrRejected      = errors.New("token rejected")
	ErrUnknownIssuer = errors.New("issuer not configured")
)

// NewVerifier builds a verifier for issuers. Static key sets are read now;
// discovery issuers are contacted on first use.
func NewVerifier(issuers []IssuerConfig, opts Options) (*Verifier, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	client := opts.HTTPClient
	if client == nil {
		client = defaultHTTPClient()
	}
	client = limitClient(client, MaxIssuerResponse)
	v := &Verifier{issuers: map[string]*issuer{}, sessions: opts.Sessions, now: now}
	switch {
	case opts.CacheSize == 0:
		v.cache = newTokenCache(DefaultCacheSize)
	case opts.CacheSize > 0:
		v.cache = newTokenCache(opts.CacheSize)
	}
	for _, cfg := range issuers {
		if _, dup := v.issuers[cfg.URL]; dup {
			return nil, fmt.Errorf("issuer %q: url %q is configured twice", cfg.Name, cfg.URL)
		}
		if opts.Sessions != nil && cfg.URL == opts.Sessions.Issuer() {
			return nil, fmt.Errorf("issuer %q: url %q is the gateway's own session issuer", cfg.Name, cfg.URL)
		}
		is, err := newIssuer(cfg, client, now)
		if err != nil {
			return nil, err
		}
		v.issuers[cfg.URL] = is
	}
	return v, nil
}

// Verify verifies an OIDC/JWT token from one of the configured issuers:
// shape and size, an asymmetric algorithm, the signature by a current key of
// the issuer named in iss, the audience, expiry and not-before.
//
// A token verified before is answered from the cache (see tokenCache) after
// its expiry and not-before are checked again. The returned Claims share
// their Raw map and Audience slice with the cache: treat them as read-only.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	if c, ok := v.cached(raw); ok {
		return c, nil
	}
	u, err := inspect(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRejected, err)
	}
	is, ok := v.issuers[u.iss]
	if !ok {
		return nil, fmt.Errorf("%w: %w: %q", ErrRejected, ErrUnknownIssuer, u.iss)
	}
	used := &usedKeys{}
	c, err := is.verify(context.WithValue(ctx, usedKeysKey{}, used), raw)
	if err != nil {
		return nil, fmt.Errorf("%w: verifying token of issuer %q: %w", ErrRejected, is.cfg.Name, err)
	}
	if key, ok := cacheKey(raw); ok && v.cache != nil && used.ks != nil {
		v.cache.put(key, c, is, used.ks, v.now())
	}
	return c, nil
}

// cached returns the claims of raw when the cache holds them.
func (v *Verifier) cached(raw string) (*Claims, bool) {
	if v.cache == nil {
		return nil, false
	}
	key, ok := cacheKey(raw)
	if !ok {
		return nil, false
	}
	return v.cache.get(key, v.now())
}

func (is *issuer) verify(ctx context.Context, raw string) (*Claims, error) {
	ov, err := is.get(ctx)
	if err != nil {
		return nil, err
	}
	// Load a discovery issuer's keys here so that a failed first fetch
	// reaches the caller as ErrIssuerUnavailable (go-oidc does not wrap
	// the key set's errors).
	if r := is.remote.Load(); r != nil {
		if _, err := r.current(ctx); err != nil {
			return nil, err
		}
	}
	tok, err := ov.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	var payload json.RawMessage
	if err := tok.Claims(&payload); err != nil {
		return nil, fmt.Errorf("reading claims: %w", err)
	}
	c, err := claimsFromPayload(payload)
	if err != nil {
		return nil, err
	}
	// go-oidc checked iss and aud as encoding/json decodes them into a
	// struct, matching member names case-insensitively ("ISS", "iſs"); the
	// claims used from here on are the exact names. Check them again, so a
	// token signed by this issuer never names another issuer or audience.
	if c.Issuer != is.cfg.URL {
		return nil, fmt.Errorf("token claims issuer %q but is signed by issuer %q", c.Issuer, is.cfg.URL)
	}
	if !contains(c.Audience, is.cfg.Audience) {
		return nil, fmt.Errorf("token audience %q lacks %q", c.Audience, is.cfg.Audience)
	}
	if err := checkTimes(c, is.now()); err != nil {
		return nil, err
	}
	if c.Subject == "" {
		return nil, errors.New("token has no subject (sub)")
	}
	return c, nil
}

// checkTimes applies the checks go-oidc leaves loose: nbf with a small leeway
// (go-oidc allows five minutes) and a present exp.
func checkTimes(c *Claims, now time.Time) error {
	if c.Expiry.IsZero() {
		return errors.New("token has no expiry (exp)")
	}
	if !now.Before(c.Expiry) {
		return fmt.Errorf("token expired at %s", c.Expiry.Format(time.RFC3339))
	}
	if !c.NotBefore.IsZero() && now.Add(NotBeforeLeeway).Before(c.NotBefore) {
		return fmt.Errorf("token not valid before %s", c.NotBefore.Format(time.RFC3339))
	}
	return nil
}

// Authenticate accepts what a client may present as a password: a gateway
// session token (when Options.Sessions is set) or an OIDC token of a
// configured issuer.
func (v *Verifier) Authenticate(ctx context.Context, raw string) (*Claims, error) {
	// Only issuer tokens are cached, so a hit is never a session token.
	if c, ok := v.cached(raw); ok {
		return c, nil
	}
	if v.sessions != nil {
		u, err := inspect(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRejected, err)
		}
		if u.iss == v.sessions.Issuer() {
			c, err := v.sessions.Verify(raw)
			if err != nil {
				return nil, fmt.Errorf("%w: verifying session token: %w", ErrRejected, err)
			}
			return c, nil
		}
	}
	return v.Verify(ctx, raw)
}

// Issuers lists the configured issuer URLs.
func (v *Verifier) Issuers() []string {
	out := make([]string, 0, len(v.issuers))
	for u := range v.issuers {
		out = append(out, u)
	}
	return out
}
