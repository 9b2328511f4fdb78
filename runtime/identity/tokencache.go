package identity

import (
	"crypto/sha256"
	"sync"
	"time"
)

// Limits of the verified-token cache.
const (
	// DefaultCacheSize is the number of verified tokens a Verifier
	// remembers unless Options.CacheSize says otherwise.
	DefaultCacheSize = 4096
	// CacheMaxAge is the longest a verified token is remembered, however
	// late it expires.
	CacheMaxAge = 2 * time.Minute
	// evictScan is how many entries a full cache looks at for an expired
	// one to drop before it drops an arbitrary one.
	evictScan = 8
)

// tokenCache remembers successful verifications of issuer tokens, keyed by
// the SHA-256 of the raw token (the token itself is never kept). An entry
// serves until the token expires, at most CacheMaxAge, and only while its
// issuer still has the key set that verified it: a key refetch sends every
// token of that issuer through full verification again. It is safe for
// concurrent use.
type tokenCache struct {
	max int

	mu      sync.Mutex
	entries map[[sha256.Size]byte]cacheEntry
}

type cacheEntry struct {
	// claims is the cache's own copy; callers get copies of it.
	claims *Claims
	is     *issuer
	keys   *keySet // the key set that verified the token
	until  time.Time
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, entries: make(map[[sha256.Size]byte]cacheEntry)}
}

// cacheKey hashes a raw token; tokens that fail the size check are never
// cached, so they are not hashed.
func cacheKey(raw string) ([sha256.Size]byte, bool) {
	if len(raw) == 0 || len(raw) > MaxTokenBytes {
		return [sha256.Size]byte{}, false
	}
	return sha256.Sum256([]byte(raw)), true
}

// get returns a copy of the claims of a remembered token that is still valid
// at now: before its expiry and not-before (checked on every hit), within
// CacheMaxAge, and verified by its issuer's current keys. An entry failing
// any of these is dropped and the token must be verified again.
func (tc *tokenCache) get(key [sha256.Size]byte, now time.Time) (*Claims, bool) {
	tc.mu.Lock()
	e, ok := tc.entries[key]
	tc.mu.Unlock()
	if !ok {
		return nil, false
	}
	if !now.Before(e.until) || e.is.currentKeys() != e.keys || checkTimes(e.claims, now) != nil {
		tc.mu.Lock()
		delete(tc.entries, key)
		tc.mu.Unlock()
		return nil, false
	}
	c := *e.claims
	return &c, true
}

// put remembers claims verified at now by keys of is. A full cache first
// drops expired entries among a few it looks at, else an arbitrary one.
func (tc *tokenCache) put(key [sha256.Size]byte, c *Claims, is *issuer, keys *keySet, now time.Time) {
	until := now.Add(CacheMaxAge)
	if c.Expiry.Before(until) {
		until = c.Expiry
	}
	own := *c
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if _, ok := tc.entries[key]; !ok && len(tc.entries) >= tc.max {
		tc.evictLocked(now)
	}
	tc.entries[key] = cacheEntry{claims: &own, is: is, keys: keys, until: until}
}

func (tc *tokenCache) evictLocked(now time.Time) {
	var first [sha256.Size]byte
	seen, dropped := 0, false
	for k, e := range tc.entries {
		if seen == 0 {
			first = k
		}
		if !now.Before(e.until) {
			delete(tc.entries, k)
			dropped = true
		}
		if seen++; seen == evictScan {
			break
		}
	}
	if !dropped {
		delete(tc.entries, first)
	}
}

// len is the number of remembered tokens.
func (tc *tokenCache) len() int {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return len(tc.entries)
}
