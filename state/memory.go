package state

import (
	"context"
	"errors"
	"sync"
	"time"
)

// minPrune is the entry count below which Memory never sweeps.
const minPrune = 1024

// Memory is a [Store] for a single process. Expired entries are removed when
// read, and all maps are swept whenever the number of entries has doubled
// since the last sweep, so memory stays within about twice the live entries
// (plus a small constant) at amortised O(1) cost per write. It never returns
// ErrUnavailable. The zero value is not usable; call [NewMemory].
type Memory struct {
	now func() time.Time

	mu       sync.RWMutex         // read-locked only by IsRevoked and UserCutOff, which run on every verified request
	revoked  map[string]time.Time // jti → revoked until
	refresh  map[string]*memRefresh
	families map[string]time.Time // family → revoked until
	famExp   map[string]time.Time // family → latest expiry of its tokens
	fails    map[string]memFail   // loginID → window
	locks    map[string]time.Time // loginID → locked until
	cutoffs  map[string]memCut    // user → cut-off
	pruneAt  int
}

type memRefresh struct {
	r     Refresh
	spent bool
	saved time.Time // its AuthTime (else when SaveRefresh stored it), for the user's cut-off
}

type memCut struct {
	at, until time.Time
}

type memFail struct {
	n   int
	end time.Time
}

// NewMemory returns an empty in-memory store that reads the time from now
// (nil means time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{
		now:      now,
		revoked:  map[string]time.Time{},
		refresh:  map[string]*memRefresh{},
		families: map[string]time.Time{},
		famExp:   map[string]time.Time{},
		fails:    map[string]memFail{},
		locks:    map[string]time.Time{},
		cutoffs:  map[string]memCut{},
		pruneAt:  minPrune,
	}
}

// live reports whether an entry valid until until is still in force at now.
func live(now, until time.Time) bool { return now.Before(until) }

// ms truncates t to the millisecond precision every backend keeps.
func ms(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()) }

// Revoke implements [Store.Revoke].
func (m *Memory) Revoke(_ context.Context, jti string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	until = ms(until)
	if !live(now, until) {
		return nil
	}
	if cur, ok := m.revoked[jti]; !ok || until.After(cur) {
		m.revoked[jti] = until
	}
	m.wrote(now)
	return nil
}

// IsRevoked implements [Store.IsRevoked].
func (m *Memory) IsRevoked(_ context.Context, jti string) (bool, error) {
	m.mu.RLock()
	until, ok := m.revoked[jti]
	m.mu.RUnlock()
	if !ok {
		return false, nil
	}
	if live(m.now(), until) {
		return true, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.revoked[jti]
	if ok && live(m.now(), cur) { // revoked again meanwhile, for longer
		return true, nil
	}
	delete(m.revoked, jti)
	return false, nil
}

// CutOff implements [Store.CutOff].
func (m *Memory) CutOff(_ context.Context, user string, at, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	c := memCut{at: ms(at), until: ms(until)}
	if cur, ok := m.cutoffs[user]; ok && live(now, cur.until) {
		if cur.at.After(c.at) {
			c.at = cur.at
		}
		if cur.until.After(c.until) {
			c.until = cur.until
		}
	}
	if !live(now, c.until) {
		return nil
	}
	m.cutoffs[user] = c
	m.wrote(now)
	return nil
}

// UserCutOff implements [Store.UserCutOff].
func (m *Memory) UserCutOff(_ context.Context, user string) (time.Time, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if c, ok := m.cutoffs[user]; ok && live(m.now(), c.until) {
		return c.at, nil
	}
	return time.Time{}, nil
}

// IsTokenRevoked implements [Store.IsTokenRevoked]. It runs on every verified request, so it reads
// both answers under one read lock.
func (m *Memory) IsTokenRevoked(ctx context.Context, jti, user string, issuedAt time.Time) (bool, error) {
	m.mu.RLock()
	until, revoked := m.revoked[jti]
	c, cut := m.cutoffs[user]
	m.mu.RUnlock()
	if !revoked && !cut {
		return false, nil // the common case needs no clock reading
	}
	now := m.now()
	switch {
	case revoked && live(now, until):
		return true, nil
	case cut && live(now, c.until) && cutOffRefuses(c.at, issuedAt):
		return true, nil
	case revoked:
		return m.IsRevoked(ctx, jti) // expired: IsRevoked drops it (or finds it revoked again)
	}
	return false, nil
}

// SaveRefresh implements [Store.SaveRefresh].
func (m *Memory) SaveRefresh(_ context.Context, hash string, r Refresh) error {
	if hash == "" || r.Family == "" {
		return errors.New("state: refresh token hash and family must not be empty")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	r.ExpiresAt = ms(r.ExpiresAt)
	if !live(now, r.ExpiresAt) {
		return nil
	}
	saved := ms(now)
	if !r.AuthTime.IsZero() {
		saved = ms(r.AuthTime)
	}
	r.AuthTime = saved
	m.refresh[hash] = &memRefresh{r: r, saved: saved}
	if cur, ok := m.famExp[r.Family]; !ok || r.ExpiresAt.After(cur) {
		m.famExp[r.Family] = r.ExpiresAt
	}
	m.wrote(now)
	return nil
}

// SpendRefresh implements [Store.SpendRefresh].
func (m *Memory) SpendRefresh(_ context.Context, hash string) (Refresh, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	e, ok := m.refresh[hash]
	if !ok {
		return Refresh{}, ErrNotFound
	}
	if !live(now, e.r.ExpiresAt) {
		delete(m.refresh, hash)
		return Refresh{}, ErrNotFound
	}
	if until, ok := m.families[e.r.Family]; ok && live(now, until) {
		return Refresh{}, ErrNotFound
	}
	if c, ok := m.cutoffs[e.r.User]; ok && live(now, c.until) && !e.saved.After(c.at) {
		return Refresh{}, ErrNotFound
	}
	if e.spent {
		m.revokeFamily(now, e.r.Family, e.r.ExpiresAt)
		return e.r, ErrReused
	}
	e.spent = true
	return e.r, nil
}

// RevokeFamily implements [Store.RevokeFamily].
func (m *Memory) RevokeFamily(_ context.Context, family string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.revokeFamily(m.now(), family, ms(until))
	return nil
}

func (m *Memory) revokeFamily(now time.Time, family string, until time.Time) {
	if exp, ok := m.famExp[family]; ok && exp.After(until) {
		until = exp
	}
	if !live(now, until) {
		return
	}
	if cur, ok := m.families[family]; !ok || until.After(cur) {
		m.families[family] = until
	}
	m.wrote(now)
}

// Fail implements [Store.Fail].
func (m *Memory) Fail(_ context.Context, key string, window time.Duration) (int, error) {
	if window <= 0 {
		return 0, errors.New("state: failure window must be positive")
	}
	id := loginID(key)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	f, ok := m.fails[id]
	if !ok || !live(now, f.end) {
		f = memFail{end: now.Add(window)}
	}
	f.n++
	m.fails[id] = f
	m.wrote(now)
	return f.n, nil
}

// Lock implements [Store.Lock]. A non-positive d locks nothing.
func (m *Memory) Lock(_ context.Context, key string, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	id := loginID(key)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.locks[id] = now.Add(d)
	m.wrote(now)
	return nil
}

// Locked implements [Store.Locked].
func (m *Memory) Locked(_ context.Context, key string) (time.Duration, error) {
	id := loginID(key)
	m.mu.Lock()
	defer m.mu.Unlock()
	until, ok := m.locks[id]
	if !ok {
		return 0, nil
	}
	left := until.Sub(m.now())
	if left <= 0 {
		delete(m.locks, id)
		return 0, nil
	}
	return left, nil
}

// Reset implements [Store.Reset].
func (m *Memory) Reset(_ context.Context, key string) error {
	id := loginID(key)
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.fails, id)
	delete(m.locks, id)
	return nil
}

// Ping implements [Store.Ping]; Memory always answers.
func (m *Memory) Ping(context.Context) error { return nil }

// Close implements [Store.Close]; Memory holds no resources.
func (m *Memory) Close() error { return nil }

// Len returns the number of entries held, expired or not; it lets tests
// check that memory stays bounded.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.size()
}

func (m *Memory) size() int {
	return len(m.revoked) + len(m.refresh) + len(m.families) + len(m.famExp) + len(m.fails) + len(m.locks) + len(m.cutoffs)
}

// wrote is called with m.mu held after every insert. Sweeping only once the
// entry count has doubled since the last sweep keeps the cost amortised O(1).
func (m *Memory) wrote(now time.Time) {
	if m.size() <= m.pruneAt {
		return
	}
	m.prune(now)
	m.pruneAt = max(minPrune, 2*m.size())
}

func (m *Memory) prune(now time.Time) {
	for k, until := range m.revoked {
		if !live(now, until) {
			delete(m.revoked, k)
		}
	}
	for k, e := range m.refresh {
		if !live(now, e.r.ExpiresAt) {
			delete(m.refresh, k)
		}
	}
	for k, until := range m.families {
		if !live(now, until) {
			delete(m.families, k)
		}
	}
	for k, until := range m.famExp {
		if !live(now, until) {
			delete(m.famExp, k)
		}
	}
	for k, f := range m.fails {
		if !live(now, f.end) {
			delete(m.fails, k)
		}
	}
	for k, until := range m.locks {
		if !live(now, until) {
			delete(m.locks, k)
		}
	}
	for k, c := range m.cutoffs {
		if !live(now, c.until) {
			delete(m.cutoffs, k)
		}
	}
}

var _ Store = (*Memory)(nil)
