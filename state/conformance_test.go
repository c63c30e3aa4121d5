package state_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/fakeclock"
	"github.com/tokengate/tokengate/internal/redistest"
	"github.com/tokengate/tokengate/state"
)

// harness is one backend under test.
type harness struct {
	// stores are clients of the same state: one for Memory, two Redis
	// clients on one server (two replicas).
	stores []state.Store
	// now is the clock the backend expires entries by.
	now func() time.Time
	// pass lets d elapse for the backend: Memory advances its clock; Redis
	// waits, polling a witness key with that TTL, until the server has seen
	// d go by.
	pass func(t *testing.T, d time.Duration)
	// slack is how much real time may pass between two steps of a test and
	// so blur a remaining duration: 0 with a fake clock.
	slack time.Duration
}

func (h harness) s() state.Store { return h.stores[0] }

func newMemoryHarness(t *testing.T) harness {
	t.Helper()
	clock := fakeclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	m := state.NewMemory(clock.Now)
	t.Cleanup(func() { _ = m.Close() })
	return harness{
		stores: []state.Store{m},
		now:    clock.Now,
		pass:   func(_ *testing.T, d time.Duration) { clock.Add(d) },
	}
}

func newRedisHarness(t *testing.T) harness {
	t.Helper()
	url := redistest.Start(t)
	a, b := mustRedis(t, url), mustRedis(t, url)
	return harness{
		stores: []state.Store{a, b},
		now:    time.Now,
		pass:   func(t *testing.T, d time.Duration) { waitRedis(t, a, d) },
		slack:  2 * time.Second,
	}
}

func mustRedis(tb testing.TB, url string) *state.Redis {
	tb.Helper()
	r, err := state.NewRedis(url)
	if err != nil {
		tb.Fatalf("NewRedis(%q): %v", url, err)
	}
	tb.Cleanup(func() { _ = r.Close() })
	return r
}

// waitRedis returns once Redis has expired a witness key that lives for d,
// so everything written before the call with a TTL of at most d is gone.
func waitRedis(t *testing.T, s state.Store, d time.Duration) {
	t.Helper()
	ctx := t.Context()
	witness := fmt.Sprintf("witness-%d", time.Now().UnixNano())
	if err := s.Revoke(ctx, witness, time.Now().Add(d)); err != nil {
		t.Fatalf("Revoke(witness): %v", err)
	}
	deadline := time.Now().Add(d + 5*time.Second)
	for {
		revoked, err := s.IsRevoked(ctx, witness)
		if err != nil {
			t.Fatalf("IsRevoked(witness): %v", err)
		}
		if !revoked {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("witness key with a %v TTL still present after %v", d, d+5*time.Second)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ttl is the short lifetime used for expiry cases: short enough to keep the
// Redis run quick, long enough that the steps before the wait finish first.
const ttl = 300 * time.Millisecond

func TestConformance(t *testing.T) {
	backends := []struct {
		name string
		new  func(t *testing.T) harness
	}{
		{"Memory", newMemoryHarness},
		{"Redis", newRedisHarness},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range conformanceCases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.run(t, b.new(t))
				})
			}
		})
	}
}

var conformanceCases = []struct {
	name string
	run  func(t *testing.T, h harness)
}{
	{"RevokeUntilExpiry", testRevokeUntilExpiry},
	{"RevokeInThePastRecordsNothing", testRevokePast},
	{"RevokeNeverShortens", testRevokeNeverShortens},
	{"SpendOnce", testSpendOnce},
	{"SpendUnknown", testSpendUnknown},
	{"ReuseRevokesFamily", testReuseRevokesFamily},
	{"ReuseRevocationOutlivesReusedToken", testReuseOutlives},
	{"RefreshExpires", testRefreshExpires},
	{"SaveExpiredRefreshStoresNothing", testSaveExpired},
	{"SaveRefreshRejectsEmptyIDs", testSaveEmpty},
	{"RevokeFamily", testRevokeFamily},
	{"RevokeFamilyCoversLatestToken", testRevokeFamilyLatest},
	{"RevokeFamilyExpires", testRevokeFamilyExpires},
	{"FailCountsWithinWindow", testFailCounts},
	{"FailWindowIsFixed", testFailWindowFixed},
	{"FailRejectsBadWindow", testFailBadWindow},
	{"LockRemaining", testLockRemaining},
	{"LockExpires", testLockExpires},
	{"Reset", testReset},
	{"OddKeys", testOddKeys},
	{"ConcurrentSpendHasOneWinner", testConcurrentSpend},
	{"ClientsShareState", testClientsShare},
	{"CutOffRefusesOlderTokens", testCutOffTokens},
	{"CutOffNeverMovesBack", testCutOffNeverBack},
	{"CutOffExpires", testCutOffExpires},
	{"CutOffEndsRefreshTokens", testCutOffRefresh},
	{"CutOffFollowsAuthTime", testCutOffAuthTime},
	{"CutOffIsPerUser", testCutOffPerUser},
	{"CutOffIsShared", testCutOffShared},
	{"Ping", testPing},
}

func mustNil(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantRevoked(t *testing.T, s state.Store, jti string, want bool) {
	t.Helper()
	got, err := s.IsRevoked(t.Context(), jti)
	if err != nil {
		t.Fatalf("IsRevoked(%q): %v", jti, err)
	}
	if got != want {
		t.Fatalf("IsRevoked(%q) = %v, want %v", jti, got, want)
	}
}

func wantSpend(t *testing.T, s state.Store, hash string, want error) state.Refresh {
	t.Helper()
	r, err := s.SpendRefresh(t.Context(), hash)
	if !errors.Is(err, want) || (want == nil && err != nil) {
		t.Fatalf("SpendRefresh(%q) error = %v, want %v", hash, err, want)
	}
	if errors.Is(err, state.ErrUnavailable) {
		t.Fatalf("SpendRefresh(%q) = %v, want no ErrUnavailable", hash, err)
	}
	return r
}

func save(t *testing.T, s state.Store, hash, user, family string, exp time.Time) {
	t.Helper()
	mustNil(t, "SaveRefresh("+hash+")", s.SaveRefresh(t.Context(), hash, state.Refresh{User: user, Family: family, ExpiresAt: exp}))
}

func testRevokeUntilExpiry(t *testing.T, h harness) {
	s := h.s()
	wantRevoked(t, s, "jti-a", false)
	mustNil(t, "Revoke", s.Revoke(t.Context(), "jti-a", h.now().Add(ttl)))
	wantRevoked(t, s, "jti-a", true)
	wantRevoked(t, s, "jti-b", false)
	h.pass(t, ttl)
	wantRevoked(t, s, "jti-a", false)
}

func testRevokePast(t *testing.T, h harness) {
	s := h.s()
	mustNil(t, "Revoke", s.Revoke(t.Context(), "jti-old", h.now().Add(-time.Minute)))
	wantRevoked(t, s, "jti-old", false)
}

func testRevokeNeverShortens(t *testing.T, h harness) {
	s := h.s()
	mustNil(t, "Revoke long", s.Revoke(t.Context(), "jti", h.now().Add(time.Hour)))
	mustNil(t, "Revoke short", s.Revoke(t.Context(), "jti", h.now().Add(ttl)))
	h.pass(t, ttl)
	wantRevoked(t, s, "jti", true)
}

func testSpendOnce(t *testing.T, h harness) {
	s := h.s()
	exp := h.now().Add(time.Hour)
	save(t, s, "h1", "alice", "fam1", exp)
	got := wantSpend(t, s, "h1", nil)
	want := state.Refresh{User: "alice", Family: "fam1", ExpiresAt: time.UnixMilli(exp.UnixMilli())}
	if got.User != want.User || got.Family != want.Family || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("SpendRefresh = %+v, want %+v", got, want)
	}
}

func testSpendUnknown(t *testing.T, h harness) {
	wantSpend(t, h.s(), "no-such-hash", state.ErrNotFound)
}

func testReuseRevokesFamily(t *testing.T, h harness) {
	s := h.s()
	exp := h.now().Add(time.Hour)
	save(t, s, "a", "alice", "fam", exp)
	save(t, s, "b", "alice", "fam", exp)
	save(t, s, "other", "bob", "fam2", exp)
	wantSpend(t, s, "a", nil)
	r := wantSpend(t, s, "a", state.ErrReused)
	if r.User != "alice" || r.Family != "fam" {
		t.Fatalf("reused record = %+v, want user alice, family fam", r)
	}
	wantSpend(t, s, "a", state.ErrNotFound) // family now revoked
	wantSpend(t, s, "b", state.ErrNotFound) // the unspent sibling too
	wantSpend(t, s, "other", nil)           // other families untouched
}

func testReuseOutlives(t *testing.T, h harness) {
	s := h.s()
	save(t, s, "old", "alice", "fam", h.now().Add(ttl))
	save(t, s, "new", "alice", "fam", h.now().Add(time.Hour))
	wantSpend(t, s, "old", nil)
	wantSpend(t, s, "old", state.ErrReused)
	h.pass(t, ttl) // the reused token has expired; its family must stay revoked
	wantSpend(t, s, "new", state.ErrNotFound)
}

func testRefreshExpires(t *testing.T, h harness) {
	s := h.s()
	save(t, s, "h", "alice", "fam", h.now().Add(ttl))
	h.pass(t, ttl)
	wantSpend(t, s, "h", state.ErrNotFound)
}

func testSaveExpired(t *testing.T, h harness) {
	s := h.s()
	save(t, s, "h", "alice", "fam", h.now().Add(-time.Second))
	wantSpend(t, s, "h", state.ErrNotFound)
}

func testSaveEmpty(t *testing.T, h harness) {
	s := h.s()
	exp := h.now().Add(time.Hour)
	for _, tc := range []struct {
		name, hash, family string
	}{
		{"no hash", "", "fam"},
		{"no family", "h", ""},
	} {
		err := s.SaveRefresh(t.Context(), tc.hash, state.Refresh{User: "alice", Family: tc.family, ExpiresAt: exp})
		if err == nil || errors.Is(err, state.ErrUnavailable) {
			t.Errorf("%s: SaveRefresh error = %v, want an argument error", tc.name, err)
		}
	}
}

func testRevokeFamily(t *testing.T, h harness) {
	s := h.s()
	exp := h.now().Add(time.Hour)
	save(t, s, "a", "alice", "fam", exp)
	save(t, s, "b", "alice", "fam", exp)
	save(t, s, "c", "bob", "fam2", exp)
	mustNil(t, "RevokeFamily", s.RevokeFamily(t.Context(), "fam", exp))
	wantSpend(t, s, "a", state.ErrNotFound)
	wantSpend(t, s, "b", state.ErrNotFound)
	wantSpend(t, s, "c", nil)
}

func testRevokeFamilyLatest(t *testing.T, h harness) {
	s := h.s()
	save(t, s, "a", "alice", "fam", h.now().Add(time.Hour))
	// A caller that passes too early a time still revokes every live token.
	mustNil(t, "RevokeFamily", s.RevokeFamily(t.Context(), "fam", h.now().Add(ttl)))
	h.pass(t, ttl)
	wantSpend(t, s, "a", state.ErrNotFound)
}

func testRevokeFamilyExpires(t *testing.T, h harness) {
	s := h.s()
	mustNil(t, "RevokeFamily", s.RevokeFamily(t.Context(), "fam", h.now().Add(ttl)))
	h.pass(t, ttl)
	// The revocation has expired: a token saved in that family later works.
	save(t, s, "a", "alice", "fam", h.now().Add(time.Hour))
	wantSpend(t, s, "a", nil)
}

func wantFail(t *testing.T, s state.Store, key string, window time.Duration, want int) {
	t.Helper()
	got, err := s.Fail(t.Context(), key, window)
	if err != nil {
		t.Fatalf("Fail(%q): %v", key, err)
	}
	if got != want {
		t.Fatalf("Fail(%q) = %d, want %d", key, got, want)
	}
}

func wantLocked(t *testing.T, s state.Store, key string, min, max time.Duration) {
	t.Helper()
	got, err := s.Locked(t.Context(), key)
	if err != nil {
		t.Fatalf("Locked(%q): %v", key, err)
	}
	if got < min || got > max {
		t.Fatalf("Locked(%q) = %v, want in [%v, %v]", key, got, min, max)
	}
}

func testFailCounts(t *testing.T, h harness) {
	s := h.s()
	for i := 1; i <= 3; i++ {
		wantFail(t, s, "alice|192.0.2.1", ttl, i)
	}
	wantFail(t, s, "alice|192.0.2.2", ttl, 1)
	wantFail(t, s, "bob|192.0.2.1", ttl, 1)
	h.pass(t, ttl)
	wantFail(t, s, "alice|192.0.2.1", ttl, 1)
}

func testFailWindowFixed(t *testing.T, h harness) {
	s := h.s()
	// Margins are wide so that a slow machine cannot flake the Redis run: the second failure
	// lands well inside the window even if a pass overshoots, and the last check is past the
	// fixed window's end however late it comes (a sliding window would still hold 3 unless
	// the second pass overshot by ttl/2).
	const window = 6 * ttl
	wantFail(t, s, "k", window, 1)
	h.pass(t, ttl)
	wantFail(t, s, "k", window, 2) // still in the first window…
	h.pass(t, window-ttl/2)
	wantFail(t, s, "k", window, 1) // …which a later failure did not extend
}

func testFailBadWindow(t *testing.T, h harness) {
	for _, w := range []time.Duration{0, -time.Second} {
		if _, err := h.s().Fail(t.Context(), "k", w); err == nil || errors.Is(err, state.ErrUnavailable) {
			t.Errorf("Fail(window %v) error = %v, want an argument error", w, err)
		}
	}
}

func testLockRemaining(t *testing.T, h harness) {
	s := h.s()
	const d = 10 * time.Second
	wantLocked(t, s, "k", 0, 0)
	mustNil(t, "Lock", s.Lock(t.Context(), "k", d))
	wantLocked(t, s, "k", d-h.slack, d)
	wantLocked(t, s, "other", 0, 0)
	h.pass(t, ttl)
	wantLocked(t, s, "k", d-ttl-h.slack, d-ttl)
	mustNil(t, "Lock zero", s.Lock(t.Context(), "zero", 0))
	wantLocked(t, s, "zero", 0, 0)
}

func testLockExpires(t *testing.T, h harness) {
	s := h.s()
	mustNil(t, "Lock", s.Lock(t.Context(), "k", ttl))
	wantLocked(t, s, "k", time.Millisecond, ttl)
	h.pass(t, ttl)
	wantLocked(t, s, "k", 0, 0)
}

func testReset(t *testing.T, h harness) {
	s := h.s()
	wantFail(t, s, "k", time.Hour, 1)
	wantFail(t, s, "k", time.Hour, 2)
	wantFail(t, s, "other", time.Hour, 1)
	mustNil(t, "Lock", s.Lock(t.Context(), "k", time.Hour))
	mustNil(t, "Reset", s.Reset(t.Context(), "k"))
	wantLocked(t, s, "k", 0, 0)
	wantFail(t, s, "k", time.Hour, 1)
	wantFail(t, s, "other", time.Hour, 2)
	mustNil(t, "Reset unknown", s.Reset(t.Context(), "never-seen"))
}

func testOddKeys(t *testing.T, h harness) {
	s := h.s()
	long := strings.Repeat("x", 10000)
	keys := []string{long, long + "y", "a\x00b", "a\r\nb", "tg:lock:x", "ünï", "", "~abc", "a b"}
	exp := h.now().Add(time.Hour)
	for i, k := range keys {
		wantRevoked(t, s, k, false)
		mustNil(t, "Revoke", s.Revoke(t.Context(), k, exp))
		wantRevoked(t, s, k, true)
		// The i-th key has failed i+1 times: distinct keys never share a count.
		for n := 1; n <= i+1; n++ {
			wantFail(t, s, k, time.Hour, n)
		}
		if k == "" {
			continue // no refresh token has an empty hash or family
		}
		save(t, s, k, k, k, exp)
		if r := wantSpend(t, s, k, nil); r.User != k || r.Family != k {
			t.Fatalf("SpendRefresh(odd key %d) = user %q family %q, want both %q", i, r.User, r.Family, k)
		}
	}
	wantRevoked(t, s, "abc", false) // "~abc" is not "abc"
}

func testConcurrentSpend(t *testing.T, h harness) {
	save(t, h.s(), "h", "alice", "fam", h.now().Add(time.Hour))
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		s := h.stores[i%len(h.stores)] // across replicas where there are several
		wg.Go(func() {
			<-start
			_, errs[i] = s.SpendRefresh(context.Background(), "h")
		})
	}
	close(start)
	wg.Wait()
	var ok, reused, notFound int
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, state.ErrReused):
			reused++
		case errors.Is(err, state.ErrNotFound):
			notFound++
		default:
			t.Fatalf("spend %d: unexpected error %v", i, err)
		}
	}
	// One spends; the next sees it spent and revokes the family; the rest
	// find a revoked family.
	if ok != 1 || reused != 1 || notFound != n-2 {
		t.Fatalf("successes, reuses, not-founds = %d, %d, %d; want 1, 1, %d", ok, reused, notFound, n-2)
	}
}

// testClientsShare checks that every client of one backend sees every other
// client's writes: for Redis, two replicas sharing one server.
func testClientsShare(t *testing.T, h harness) {
	a, b := h.stores[0], h.stores[len(h.stores)-1]
	ctx := t.Context()
	exp := h.now().Add(time.Hour)

	mustNil(t, "Revoke on a", a.Revoke(ctx, "jti", exp))
	wantRevoked(t, b, "jti", true)

	save(t, a, "r1", "alice", "fam", exp)
	save(t, a, "r2", "alice", "fam", exp)
	wantSpend(t, b, "r1", nil)
	wantSpend(t, a, "r1", state.ErrReused)
	wantSpend(t, b, "r2", state.ErrNotFound)

	save(t, b, "r3", "bob", "fam3", exp)
	mustNil(t, "RevokeFamily on a", a.RevokeFamily(ctx, "fam3", exp))
	wantSpend(t, b, "r3", state.ErrNotFound)

	wantFail(t, a, "k", time.Hour, 1)
	wantFail(t, b, "k", time.Hour, 2)
	mustNil(t, "Lock on b", b.Lock(ctx, "k", time.Hour))
	wantLocked(t, a, "k", time.Hour-h.slack, time.Hour)
	mustNil(t, "Reset on a", a.Reset(ctx, "k"))
	wantLocked(t, b, "k", 0, 0)
	wantFail(t, b, "k", time.Hour, 1)
}

func testPing(t *testing.T, h harness) {
	for i, s := range h.stores {
		mustNil(t, fmt.Sprintf("Ping(client %d)", i), s.Ping(t.Context()))
	}
}

func wantTokenRevoked(t *testing.T, s state.Store, jti, user string, iat time.Time, want bool) {
	t.Helper()
	got, err := s.IsTokenRevoked(t.Context(), jti, user, iat)
	if err != nil {
		t.Fatalf("IsTokenRevoked(%q, %q, %v): %v", jti, user, iat, err)
	}
	if got != want {
		t.Fatalf("IsTokenRevoked(%q, %q, iat %v) = %v, want %v", jti, user, iat, got, want)
	}
}

func wantCutOff(t *testing.T, s state.Store, user string, want time.Time) {
	t.Helper()
	got, err := s.UserCutOff(t.Context(), user)
	if err != nil {
		t.Fatalf("UserCutOff(%q): %v", user, err)
	}
	if !got.Equal(want) {
		t.Fatalf("UserCutOff(%q) = %v, want %v", user, got, want)
	}
}

// iat is a token's issued-at as a JWT carries it: whole seconds.
func iat(t time.Time) time.Time { return time.Unix(t.Unix(), 0) }

func testCutOffTokens(t *testing.T, h harness) {
	s := h.s()
	// A cut-off in the middle of a second, in the past so that Redis's real clock agrees.
	at := time.Unix(h.now().Add(-time.Minute).Unix(), 300*int64(time.Millisecond))
	wantCutOff(t, s, "alice", time.Time{})
	wantTokenRevoked(t, s, "j1", "alice", iat(at), false)
	mustNil(t, "CutOff", s.CutOff(t.Context(), "alice", at, h.now().Add(time.Hour)))
	wantCutOff(t, s, "alice", at)
	for _, tc := range []struct {
		name string
		iat  time.Time
		want bool
	}{
		{"an hour before", iat(at.Add(-time.Hour)), true},
		{"the second before", iat(at.Add(-time.Second)), true},
		{"the cut-off's own second, issued after it", iat(at).Add(999 * time.Millisecond), true},
		{"the cut-off's own second", iat(at), true},
		{"the next second", iat(at.Add(time.Second)), false},
		{"a minute later", iat(at.Add(time.Minute)), false},
	} {
		t.Run(tc.name, func(t *testing.T) { wantTokenRevoked(t, s, "jti", "alice", tc.iat, tc.want) })
	}
	// A revoked jti is refused whatever its iat.
	mustNil(t, "Revoke", s.Revoke(t.Context(), "late", h.now().Add(time.Hour)))
	wantTokenRevoked(t, s, "late", "alice", iat(at.Add(time.Minute)), true)
	wantTokenRevoked(t, s, "late", "bob", iat(at.Add(time.Minute)), true)
}

func testCutOffNeverBack(t *testing.T, h harness) {
	s := h.s()
	at := time.UnixMilli(h.now().Add(-time.Minute).UnixMilli())
	mustNil(t, "CutOff", s.CutOff(t.Context(), "alice", at, h.now().Add(time.Hour)))
	mustNil(t, "earlier CutOff", s.CutOff(t.Context(), "alice", at.Add(-time.Hour), h.now().Add(ttl)))
	wantCutOff(t, s, "alice", at)
	h.pass(t, ttl) // the earlier call's shorter until did not shorten the first one's
	wantCutOff(t, s, "alice", at)
	later := at.Add(30 * time.Second)
	mustNil(t, "later CutOff", s.CutOff(t.Context(), "alice", later, h.now().Add(time.Hour)))
	wantCutOff(t, s, "alice", later)
	wantTokenRevoked(t, s, "jti", "alice", iat(later), true)
}

func testCutOffExpires(t *testing.T, h harness) {
	s := h.s()
	at := time.UnixMilli(h.now().Add(-time.Minute).UnixMilli())
	mustNil(t, "CutOff", s.CutOff(t.Context(), "alice", at, h.now().Add(ttl)))
	wantTokenRevoked(t, s, "jti", "alice", iat(at), true)
	h.pass(t, ttl)
	wantCutOff(t, s, "alice", time.Time{})
	wantTokenRevoked(t, s, "jti", "alice", iat(at), false)
	// A cut-off whose until has passed records nothing.
	mustNil(t, "expired CutOff", s.CutOff(t.Context(), "bob", at, h.now().Add(-time.Second)))
	wantCutOff(t, s, "bob", time.Time{})
}

func testCutOffRefresh(t *testing.T, h harness) {
	s := h.s()
	exp := h.now().Add(time.Hour)
	save(t, s, "old", "alice", "fam1", exp)
	save(t, s, "old2", "alice", "fam2", exp)
	save(t, s, "bobs", "bob", "fam3", exp)
	h.pass(t, 2*time.Millisecond) // the cut-off comes after the saves, to the millisecond
	mustNil(t, "CutOff", s.CutOff(t.Context(), "alice", h.now(), h.now().Add(time.Hour)))
	h.pass(t, 2*time.Millisecond)
	save(t, s, "new", "alice", "fam4", exp)
	wantSpend(t, s, "old", state.ErrNotFound)  // every family of alice's from before…
	wantSpend(t, s, "old2", state.ErrNotFound) // …ends at once,
	wantSpend(t, s, "new", nil)                // a login after the cut-off works,
	wantSpend(t, s, "bobs", nil)               // and other users are untouched.
}

// testCutOffAuthTime: a refresh token is judged by its family's AuthTime, not by when it was saved:
// a login that checked the old password while it was being changed saves its token after the
// cut-off, and that token must end with the others; the AuthTime comes back from SpendRefresh, for
// the next token of the family.
func testCutOffAuthTime(t *testing.T, h harness) {
	s := h.s()
	exp := h.now().Add(time.Hour)
	checked := time.UnixMilli(h.now().UnixMilli()) // the password check, before the cut-off
	h.pass(t, 2*time.Millisecond)
	mustNil(t, "CutOff", s.CutOff(t.Context(), "alice", h.now(), h.now().Add(time.Hour)))
	h.pass(t, 2*time.Millisecond)
	raced := state.Refresh{User: "alice", Family: "fam1", ExpiresAt: exp, AuthTime: checked}
	mustNil(t, "SaveRefresh", s.SaveRefresh(t.Context(), "raced", raced))
	wantSpend(t, s, "raced", state.ErrNotFound)

	later := time.UnixMilli(h.now().UnixMilli())
	mustNil(t, "SaveRefresh", s.SaveRefresh(t.Context(), "after", state.Refresh{User: "alice", Family: "fam2", ExpiresAt: exp, AuthTime: later}))
	r, err := s.SpendRefresh(t.Context(), "after")
	if err != nil || !r.AuthTime.Equal(later) {
		t.Fatalf("SpendRefresh(after) = %+v, %v; want AuthTime %v", r, err, later)
	}
}

func testCutOffPerUser(t *testing.T, h harness) {
	s := h.s()
	at := time.UnixMilli(h.now().Add(-time.Minute).UnixMilli())
	long := strings.Repeat("u", 500)
	users := []string{"alice", "Alice", long, long + "x", "ünï", "a:b", "tg:cutoff:x", ""}
	for i, u := range users {
		mustNil(t, "CutOff", s.CutOff(t.Context(), u, at.Add(time.Duration(i)*time.Second), h.now().Add(time.Hour)))
	}
	for i, u := range users {
		wantCutOff(t, s, u, at.Add(time.Duration(i)*time.Second))
	}
	wantCutOff(t, s, "bob", time.Time{})
	wantCutOff(t, s, "x", time.Time{})
	wantTokenRevoked(t, s, "jti", "bob", iat(at), false)
}

func testCutOffShared(t *testing.T, h harness) {
	a, b := h.stores[0], h.stores[len(h.stores)-1]
	at := time.UnixMilli(h.now().Add(-time.Minute).UnixMilli())
	mustNil(t, "CutOff on a", a.CutOff(t.Context(), "alice", at, h.now().Add(time.Hour)))
	wantTokenRevoked(t, b, "jti", "alice", iat(at), true)
	wantCutOff(t, b, "alice", at)
}
