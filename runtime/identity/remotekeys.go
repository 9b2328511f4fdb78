package identity

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// KeyRefetchInterval is the least time between two fetches of a discovery
// issuer's JWKS caused by tokens whose key the cached set lacks. Meanwhile
// such tokens are refused without a request to the issuer, so clients
// sending made-up key ids cannot make the gateway hammer it. NewVerifier
// reads it.
var KeyRefetchInterval = 30 * time.Second

// remoteKeySet is the JWKS of a discovery issuer. It is fetched on first use;
// a token whose kid is not in it (or, without a kid, that none of its keys
// verifies) makes it fetch the set again, at most once per interval. The
// first fetch does not count, so the first rotation after start is picked up
// at once. A known kid never causes a fetch. A failed fetch keeps the
// previous keys. Fetches are shared: callers arriving
// during one wait for it rather than start another.
type remoteKeySet struct {
	issuer   string // configuration name, for errors
	url      string // jwks_uri
	client   *http.Client
	now      func() time.Time
	interval time.Duration

	// keys is the last fetched set, nil until a fetch succeeds; it is
	// written under mu and read without it.
	keys atomic.Pointer[keySet]

	mu sync.Mutex
	// fetching is non-nil while a fetch runs and is closed when it ends.
	// The fetch runs in the goroutine that started it, without mu held.
	fetching  chan struct{}
	tried     time.Time // start of the last fetch
	refetched time.Time // start of the last fetch caused by an unknown key
	err       error     // of the last fetch; nil when it succeeded
}

var _ oidc.KeySet = (*remoteKeySet)(nil)

func newRemoteKeySet(issuer, url string, client *http.Client, now func() time.Time, interval time.Duration) *remoteKeySet {
	return &remoteKeySet{issuer: issuer, url: url, client: client, now: now, interval: interval}
}

// VerifySignature implements oidc.KeySet.
func (r *remoteKeySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, h, err := parseSigned(raw)
	if err != nil {
		return nil, err
	}
	ks, err := r.current(ctx)
	if err != nil {
		return nil, err
	}
	// A known kid is decided by the cached set: a bad signature under it is
	// not a reason to ask the issuer.
	known := h.KeyID != "" && ks.has(h.KeyID)
	if !known && h.KeyID == "" {
		if payload, err := ks.verify(jws); err == nil {
			noteKeys(ctx, ks)
			return payload, nil
		}
	}
	if !known {
		if ks, err = r.refresh(ctx, ks, h.KeyID); err != nil {
			return nil, err
		}
		if h.KeyID != "" && !ks.has(h.KeyID) {
			return nil, r.refusal(h.KeyID)
		}
	}
	payload, err := ks.verify(jws)
	if err != nil {
		return nil, err
	}
	noteKeys(ctx, ks)
	return payload, nil
}

// current returns the cached set, fetching it when there is none yet. After
// a failed first fetch, the next is tried no sooner than DiscoveryRetry.
func (r *remoteKeySet) current(ctx context.Context) (*keySet, error) {
	if ks := r.keys.Load(); ks != nil {
		return ks, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if ks := r.keys.Load(); ks != nil {
			return ks, nil
		}
		if r.fetching != nil {
			if err := r.waitLocked(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if r.err != nil && r.now().Sub(r.tried) < DiscoveryRetry {
			return nil, r.err
		}
		if r.fetchLocked(ctx); r.err != nil {
			return nil, r.err
		}
	}
}

// refresh returns a set newer than seen for a token naming kid (empty: no
// kid) that seen cannot verify: the result of a fetch that ended meanwhile,
// or of a new fetch when the last one caused by an unknown key is at least
// the interval ago. Otherwise the token is refused.
func (r *remoteKeySet) refresh(ctx context.Context, seen *keySet, kid string) (*keySet, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.fetching != nil {
		if err := r.waitLocked(ctx); err != nil {
			return nil, err
		}
	}
	if ks := r.keys.Load(); ks != seen {
		return ks, nil
	}
	if now := r.now(); r.refetched.IsZero() || now.Sub(r.refetched) >= r.interval {
		r.refetched = now
		r.fetchLocked(ctx)
		if ks := r.keys.Load(); ks != seen {
			return ks, nil
		}
	}
	return nil, r.refusalLocked(kid)
}

// refusal explains why a token whose key is not in the set is refused.
func (r *remoteKeySet) refusal(kid string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refusalLocked(kid)
}

func (r *remoteKeySet) refusalLocked(kid string) error {
	what := fmt.Sprintf("token key id %s is not in issuer %s's key set", quoteKid(kid), r.issuer)
	if kid == "" {
		what = fmt.Sprintf("token has no key id and no key in issuer %s's key set verifies it", r.issuer)
	}
	ago := int(r.now().Sub(r.tried) / time.Second)
	if r.err != nil {
		return fmt.Errorf("%s; refreshing the keys failed %ds ago: %v", what, ago, r.err)
	}
	return fmt.Errorf("%s; keys were refreshed %ds ago", what, ago)
}

// waitLocked waits, without r.mu, for the running fetch or ctx; r.mu is held
// again when it returns.
func (r *remoteKeySet) waitLocked(ctx context.Context) error {
	done := r.fetching
	r.mu.Unlock()
	defer r.mu.Lock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetchLocked fetches the set and records the outcome. r.mu is held on entry
// and on return, not during the request; no other fetch may be running.
func (r *remoteKeySet) fetchLocked(ctx context.Context) {
	done := make(chan struct{})
	r.fetching = done
	r.tried = r.now()
	r.mu.Unlock()
	ks, err := r.fetch(ctx)
	r.mu.Lock()
	r.fetching = nil
	close(done)
	if err != nil {
		r.err = fmt.Errorf("%w: fetching the keys of issuer %q from %s: %v", ErrIssuerUnavailable, r.issuer, r.url, err)
		return
	}
	r.err = nil
	r.keys.Store(ks)
}

// fetch performs one JWKS request. It is not cut short by the caller's
// cancellation, since other callers may be waiting for it.
func (r *remoteKeySet) fetch(ctx context.Context) (*keySet, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), HTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the JWKS: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the JWKS request answered %s", resp.Status)
	}
	return decodeJWKS(body, false)
}
