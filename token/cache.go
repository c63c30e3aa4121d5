package token

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// cache remembers verified tokens by their exact string. It never holds more than its size in
// entries: the entries are split over shards whose capacities add up to size, and a full shard
// evicts with CLOCK (second chance), taking expired entries first. Only tokens that passed full
// verification go in, and a hit re-checks the time limits, so a hit never accepts a token that
// full verification at the same instant would refuse (it is stricter: it stops at exp, without
// the leeway). The instant is the one the Verifier passes: its clock, or a request's arrival
// time (VerifyRequest), which the Verifier does not trust in a token's last second.
type cache struct {
	seed   maphash.Seed
	mask   uint64
	shards []cacheShard
}

type cacheShard struct {
	mu   sync.RWMutex
	m    map[uint64]*cacheEntry // by maphash of the token; the entry holds the token to compare
	ring []*cacheEntry          // the CLOCK; nil slots are free
	free []int
	hand int
	_    [64]byte // keep shards' locks off one cache line
}

// cacheEntry is immutable once published, except for its CLOCK bit: VerifyRequest hands out
// &claims to every request that presents the token.
type cacheEntry struct {
	raw       string
	hash      uint64
	claims    Claims
	validFrom time.Time // max(nbf, iat) - leeway
	slot      int
	ref       atomic.Bool
}

func newCache(size int) *cache {
	n := 32
	for n > 1 && n > size/4 {
		n /= 2
	}
	c := &cache{seed: maphash.MakeSeed(), mask: uint64(n - 1), shards: make([]cacheShard, n)}
	for i := range c.shards {
		capacity := size / n
		if i < size%n {
			capacity++
		}
		sh := &c.shards[i]
		sh.m = make(map[uint64]*cacheEntry, capacity)
		sh.ring = make([]*cacheEntry, capacity)
		sh.free = make([]int, capacity)
		for j := range sh.free {
			sh.free[j] = capacity - 1 - j
		}
	}
	return c
}

// hashTail is how many trailing bytes of a token are hashed: its signature, which differs between
// any two tokens (only verified tokens are cached, so only the holder of a key can choose one).
const hashTail = 32

// locate hashes raw once: the hash picks the shard and is the key within it. The seed is random
// per process, and a hit also compares the whole token, so a collision is only ever a miss.
func (c *cache) locate(raw string) (*cacheShard, uint64) {
	h := maphash.String(c.seed, raw[max(len(raw)-hashTail, 0):])
	return &c.shards[h&c.mask], h
}

// get returns the claims cached for raw if they are valid at now, nil otherwise. They are the
// entry's own, never modified after put: the caller must not modify them either (Verify copies).
func (c *cache) get(raw string, now time.Time) *Claims {
	sh, h := c.locate(raw)
	sh.mu.RLock()
	e := sh.m[h]
	sh.mu.RUnlock()
	if e == nil || e.raw != raw {
		return nil
	}
	if !now.Before(e.claims.ExpiresAt) {
		sh.remove(e)
		return nil
	}
	if now.Before(e.validFrom) {
		return nil // the clock went back; full verification decides
	}
	if !e.ref.Load() {
		e.ref.Store(true)
	}
	return &e.claims
}

// put caches claims for raw, verified at now, unless they expire by then.
func (c *cache) put(raw string, claims Claims, validFrom, now time.Time) {
	if !now.Before(claims.ExpiresAt) {
		return
	}
	sh, h := c.locate(raw)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[h]; ok || len(sh.ring) == 0 {
		return // cached already (or a collision: the first token keeps the slot)
	}
	var slot int
	if n := len(sh.free); n > 0 {
		slot, sh.free = sh.free[n-1], sh.free[:n-1]
	} else {
		slot = sh.evict(now)
	}
	// Clone: raw may be a slice of a larger request buffer we must not keep alive.
	e := &cacheEntry{raw: strings.Clone(raw), hash: h, claims: claims.Clone(), validFrom: validFrom, slot: slot}
	sh.ring[slot] = e
	sh.m[h] = e
}

// evict frees one slot of a full shard and returns it; sh.mu is held. Expired entries and
// entries not used since the hand last passed go first; it ends within two turns of the ring.
func (sh *cacheShard) evict(now time.Time) int {
	for {
		i := sh.hand
		sh.hand = (sh.hand + 1) % len(sh.ring)
		e := sh.ring[i]
		if e == nil {
			return i
		}
		if !now.Before(e.claims.ExpiresAt) || !e.ref.Load() {
			delete(sh.m, e.hash)
			sh.ring[i] = nil
			return i
		}
		e.ref.Store(false)
	}
}

func (sh *cacheShard) remove(e *cacheEntry) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m[e.hash] == e {
		delete(sh.m, e.hash)
		sh.ring[e.slot] = nil
		sh.free = append(sh.free, e.slot)
	}
}

// len reports the number of cached entries.
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

// Clone returns a copy of c whose Roles and Audience share no memory with c's (one allocation for
// both).
func (c Claims) Clone() Claims {
	nr, na := len(c.Roles), len(c.Audience)
	if nr+na == 0 {
		return c
	}
	buf := make([]string, nr+na)
	copy(buf, c.Roles)
	copy(buf[nr:], c.Audience)
	if c.Roles != nil {
		c.Roles = buf[:nr:nr]
	}
	if c.Audience != nil {
		c.Audience = buf[nr:]
	}
	return c
}
