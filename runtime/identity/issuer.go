package identity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// IssuerConfig is one trusted token issuer.
type IssuerConfig struct {
	// Name is the configuration label, used in errors and logs.
	Name string
	// URL is the issuer identifier; a token's iss claim must equal it exactly.
	// Without static keys it is also the base of OIDC discovery
	// (URL/.well-known/openid-configuration).
	URL string
	// Audience is required in the token's aud claim.
	Audience string
	// JWKSFile names a file holding the issuer's JSON Web Key Set; when set,
	// no discovery happens.
	JWKSFile string
	// JWKS holds the key set itself; it takes precedence over JWKSFile.
	JWKS []byte
}

// Validate rejects a configuration that cannot verify anything.
func (c *IssuerConfig) Validate() error {
	switch {
	case c.URL == "":
		return fmt.Errorf("issuer %q: url is required", c.Name)
	case c.Audience == "":
		return fmt.Errorf("issuer %q: audience is required", c.Name)
	}
	return nil
}

// Timeouts and limits of issuer discovery and key fetching.
const (
	// DiscoveryTimeout bounds one discovery request.
	DiscoveryTimeout = 10 * time.Second
	// HTTPTimeout bounds every request to an issuer (discovery, JWKS).
	HTTPTimeout = 10 * time.Second
	// MaxIssuerResponse caps a discovery document or JWKS, in bytes.
	MaxIssuerResponse = 1 << 20
	// NotBeforeLeeway is the clock skew allowed on a token's nbf.
	NotBeforeLeeway = 30 * time.Second
)

// DiscoveryRetry is the least time between two discovery attempts for an
// issuer whose discovery failed; tokens of that issuer fail meanwhile.
var DiscoveryRetry = 5 * time.Second

// issuer verifies the tokens of one IssuerConfig. A discovery issuer is set
// up on first use and retried after failures, so the gateway starts while an
// issuer is unreachable (its tokens are refused until it answers).
type issuer struct {
	cfg    IssuerConfig
	client *http.Client
	now    func() time.Time
	// refetch is KeyRefetchInterval when the issuer was configured.
	refetch time.Duration

	// static is the key set of a JWKS file; nil for a discovery issuer,
	// whose keys are in remote once discovery succeeded.
	static *keySet
	remote atomic.Pointer[remoteKeySet]

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	lastErr  error
	lastTry  time.Time
}

// currentKeys returns the key set that verifies the issuer's tokens now (nil
// before a discovery issuer's first fetch). A new fetch yields a new set.
func (is *issuer) currentKeys() *keySet {
	if r := is.remote.Load(); r != nil {
		return r.keys.Load()
	}
	return is.static
}

func (is *issuer) oidcConfig(algs []string) *oidc.Config {
	return &oidc.Config{ClientID: is.cfg.Audience, SupportedSigningAlgs: algs, Now: is.now}
}

func newIssuer(cfg IssuerConfig, client *http.Client, now func() time.Time) (*issuer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	is := &issuer{cfg: cfg, client: client, now: now, refetch: KeyRefetchInterval}
	keys := cfg.JWKS
	if keys == nil && cfg.JWKSFile != "" {
		b, err := os.ReadFile(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("reading JWKS of issuer %q: %w", cfg.Name, err)
		}
		keys = b
	}
	if keys != nil {
		ks, err := parseJWKS(keys)
		if err != nil {
			return nil, fmt.Errorf("loading JWKS of issuer %q: %w", cfg.Name, err)
		}
		is.static = ks
		is.verifier = oidc.NewVerifier(cfg.URL, ks, is.oidcConfig(Algorithms))
	}
	return is, nil
}

// ErrIssuerUnavailable is wrapped when an issuer's discovery failed.
var ErrIssuerUnavailable = errors.New("issuer unavailable")

func (is *issuer) get(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.verifier != nil {
		return is.verifier, nil
	}
	if is.lastErr != nil && is.now().Sub(is.lastTry) < DiscoveryRetry {
		return nil, is.lastErr
	}
	is.lastTry = is.now()
	dctx, cancel := context.WithTimeout(ctx, DiscoveryTimeout)
	defer cancel()
	p, err := oidc.NewProvider(oidc.ClientContext(dctx, is.client), is.cfg.URL)
	if err != nil {
		is.lastErr = fmt.Errorf("%w: discovering issuer %q: %v", ErrIssuerUnavailable, is.cfg.URL, err)
		return nil, is.lastErr
	}
	var meta struct {
		Algs    []string `json:"id_token_signing_alg_values_supported"`
		JWKSURI string   `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil || meta.JWKSURI == "" {
		is.lastErr = fmt.Errorf("%w: discovering issuer %q: the discovery document names no jwks_uri", ErrIssuerUnavailable, is.cfg.URL)
		return nil, is.lastErr
	}
	var algs []string
	for _, a := range meta.Algs {
		if allowedAlg(a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		algs = Algorithms
	}
	keys := newRemoteKeySet(is.cfg.Name, meta.JWKSURI, is.client, is.now, is.refetch)
	is.remote.Store(keys)
	is.verifier = oidc.NewVerifier(is.cfg.URL, keys, is.oidcConfig(algs))
	is.lastErr = nil
	return is.verifier, nil
}

// defaultHTTPClient is used for discovery and JWKS when none is given.
func defaultHTTPClient() *http.Client { return &http.Client{Timeout: HTTPTimeout} }

// limitClient returns a copy of c whose responses are capped at max bytes.
func limitClient(c *http.Client, max int64) *http.Client {
	cp := *c
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cp.Transport = limitTransport{base: base, max: max}
	if cp.Timeout == 0 {
		cp.Timeout = HTTPTimeout
	}
	return &cp
}

type limitTransport struct {
	base http.RoundTripper
	max  int64
}

func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitBody{rc: resp.Body, left: t.max}
	return resp, nil
}

// limitBody fails a read past its limit instead of truncating silently.
type limitBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, errors.New("issuer response too large")
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitBody) Close() error { return b.rc.Close() }
