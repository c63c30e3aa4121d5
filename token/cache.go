package token

import (
	"strings"
	"sync"
	"time"
)

// cache remembers verified tokens by their exact string, at most size of them. Only tokens that
// passed full verification go in, and a hit re-checks the time limits, so a hit never accepts a
// token that full verification at the same instant would refuse: it is stricter, stopping at exp
// without the leeway. Revocation is not cached: Verify asks on every hit.
type cache struct {
	mu      sync.RWMutex
	size    int
	entries map[string]cacheEntry
}

type cacheEntry struct {
	claims    Claims    // never modified once stored: Verify hands out clones
	validFrom time.Time // max(nbf, iat) - leeway
}

func newCache(size int) *cache {
	return &cache{size: size, entries: make(map[string]cacheEntry, size)}
}

// get returns the claims cached for raw when they are valid at now. The claims share their slices
// with the cache: the caller must not modify them.
func (c *cache) get(raw string, now time.Time) (Claims, bool) {
	c.mu.RLock()
	e, ok := c.entries[raw]
	c.mu.RUnlock()
	switch {
	case !ok:
		return Claims{}, false
	case !now.Before(e.claims.ExpiresAt):
		c.mu.Lock()
		delete(c.entries, raw)
		c.mu.Unlock()
		return Claims{}, false
	case now.Before(e.validFrom):
		return Claims{}, false // the clock went back; full verification decides
	}
	return e.claims, true
}

// put caches claims for raw, verified at now, unless they expire by then. A full cache drops an
// entry at random to make room (an expired entry is dropped when it is next looked up, and is
// never served).
func (c *cache) put(raw string, claims Claims, validFrom, now time.Time) {
	if !now.Before(claims.ExpiresAt) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries { // map iteration starts at a random entry
		if len(c.entries) < c.size {
			break
		}
		delete(c.entries, k)
	}
	// Clone: raw may be a slice of a larger request buffer we must not keep alive.
	c.entries[strings.Clone(raw)] = cacheEntry{claims: claims, validFrom: validFrom}
}

// len reports the number of cached entries.
func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// Clone returns a copy of c whose Roles and Audience share no memory with c's (one allocation for
// both; a nil slice stays nil).
func (c Claims) Clone() Claims {
	nr, na := len(c.Roles), len(c.Audience)
	if nr+na == 0 {
		return c
	}
	buf := make([]string, nr+na)
	if c.Roles != nil {
		c.Roles = buf[:copy(buf, c.Roles):nr]
	}
	if c.Audience != nil {
		c.Audience = buf[nr : nr+copy(buf[nr:], c.Audience)]
	}
	return c
}
