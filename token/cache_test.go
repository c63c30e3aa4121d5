package token

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

func cachedVerifier(tb testing.TB, clk *clock, size int, revoked Revocations) (*Verifier, *Issuer) {
	tb.Helper()
	keys := mustHMAC(tb, HS256, testSecret)
	o := testOptions(clk)
	o.CacheSize = size
	o.Revoked = revoked
	return NewVerifier(keys, o), NewIssuer(keys, o)
}

func mustIssue(tb testing.TB, is *Issuer, sub string) (string, Claims) {
	tb.Helper()
	raw, c, err := is.Issue(sub, []string{"admin"})
	if err != nil {
		tb.Fatal(err)
	}
	return raw, c
}

// TestCacheEntryEndsAtExp: a cached entry serves until exp and never at or after it; full
// verification then decides (it allows the leeway) without caching again.
func TestCacheEntryEndsAtExp(t *testing.T) {
	clk := newClock()
	v, is := cachedVerifier(t, clk, 10, nil)
	raw, issued := mustIssue(t, is, "alice")
	ctx := context.Background()
	if _, err := v.Verify(ctx, raw); err != nil {
		t.Fatal(err)
	}
	if n := v.cache.len(); n != 1 {
		t.Fatalf("cache len = %d, want 1", n)
	}
	clk.Set(issued.ExpiresAt.Add(-time.Nanosecond))
	if v.cache.get(raw, clk.Now()) == nil {
		t.Error("cache miss just before exp, want hit")
	}
	if _, err := v.Verify(ctx, raw); err != nil {
		t.Fatal(err)
	}
	clk.Set(issued.ExpiresAt)
	if v.cache.get(raw, clk.Now()) != nil {
		t.Error("cache hit at exp, want miss")
	}
	if n := v.cache.len(); n != 0 {
		t.Errorf("cache len = %d after exp, want 0", n)
	}
	if _, err := v.Verify(ctx, raw); err != nil { // within leeway: full verification accepts
		t.Fatalf("Verify within leeway: %v", err)
	}
	if n := v.cache.len(); n != 0 {
		t.Errorf("cache len = %d, want 0: an expired token is not cached", n)
	}
	clk.Set(issued.ExpiresAt.Add(testLeeway))
	_, err := v.Verify(ctx, raw)
	wantErr(t, err, ErrExpired, raw)
}

// TestCacheClockBack: a cached token is refused if the clock goes back before its nbf/iat.
func TestCacheClockBack(t *testing.T) {
	clk := newClock()
	v, is := cachedVerifier(t, clk, 10, nil)
	raw, _ := mustIssue(t, is, "alice")
	if _, err := v.Verify(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	clk.Add(-time.Hour)
	_, err := v.Verify(context.Background(), raw)
	wantErr(t, err, ErrNotYetValid, raw)
}

// TestCacheRevocation: revocation is asked on every Verify, cache hit or not.
func TestCacheRevocation(t *testing.T) {
	clk := newClock()
	rev := &revocations{}
	v, is := cachedVerifier(t, clk, 10, rev)
	raw, c := mustIssue(t, is, "alice")
	ctx := context.Background()
	for range 3 {
		if _, err := v.Verify(ctx, raw); err != nil {
			t.Fatal(err)
		}
	}
	if rev.calls != 3 {
		t.Errorf("revocation asked %d times in 3 verifications, want 3", rev.calls)
	}
	rev.revoke(c.ID)
	_, err := v.Verify(ctx, raw)
	wantErr(t, err, ErrRevoked, raw)

	other, _ := mustIssue(t, is, "bob")
	if _, err := v.Verify(ctx, other); err != nil {
		t.Fatal(err)
	}
	rev.fail(errors.New("connection refused"))
	_, err = v.Verify(ctx, other)
	wantErr(t, err, ErrStateUnavailable, other)
}

// TestCacheNeverAcceptsWhatFullVerificationRefuses compares a cached and an uncached verifier
// at many instants around a token's lifetime.
func TestCacheNeverAcceptsWhatFullVerificationRefuses(t *testing.T) {
	clk := newClock()
	cached, is := cachedVerifier(t, clk, 10, nil)
	full, _ := cachedVerifier(t, clk, 0, nil)
	raw, c := mustIssue(t, is, "alice")
	if _, err := cached.Verify(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	for d := -2 * testLeeway; d <= testTTL+2*testLeeway; d += 500 * time.Millisecond {
		for _, at := range []time.Time{c.IssuedAt.Add(d), c.ExpiresAt.Add(d - testTTL)} {
			clk.Set(at)
			_, errCached := cached.Verify(context.Background(), raw)
			_, errFull := full.Verify(context.Background(), raw)
			if errCached == nil && errFull != nil {
				t.Fatalf("at %v: cache accepts, full verification says %v", at, errFull)
			}
			if (errCached == nil) != (errFull == nil) {
				t.Fatalf("at %v: cached %v, full %v", at, errCached, errFull)
			}
		}
	}
}

// TestCacheBounded: the cache never holds more than CacheSize entries, whatever the size.
func TestCacheBounded(t *testing.T) {
	for _, size := range []int{1, 2, 3, 5, 31, 100, 1000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			clk := newClock()
			v, is := cachedVerifier(t, clk, size, nil)
			capacity := 0
			for i := range v.cache.shards {
				capacity += len(v.cache.shards[i].ring)
			}
			if capacity != size {
				t.Fatalf("shard capacities add up to %d, want %d", capacity, size)
			}
			var tokens []string
			for i := range 3*size + 10 {
				raw, _ := mustIssue(t, is, fmt.Sprint("user", i))
				tokens = append(tokens, raw)
				if _, err := v.Verify(context.Background(), raw); err != nil {
					t.Fatal(err)
				}
				if n := v.cache.len(); n > size {
					t.Fatalf("cache len = %d, want ≤ %d", n, size)
				}
			}
			for _, raw := range tokens { // evicted tokens still verify
				if _, err := v.Verify(context.Background(), raw); err != nil {
					t.Fatal(err)
				}
			}
			if n := v.cache.len(); n > size {
				t.Fatalf("cache len = %d, want ≤ %d", n, size)
			}
		})
	}
}

// TestCacheEvictsExpiredFirst: with the cache full, an expired entry goes before a live one.
func TestCacheEvictsExpiredFirst(t *testing.T) {
	clk := newClock()
	keys := mustHMAC(t, HS256, testSecret)
	o := testOptions(clk)
	o.CacheSize = 2
	v := NewVerifier(keys, o)
	short := o
	short.TTL = time.Minute
	shortRaw, _ := mustIssue(t, NewIssuer(keys, short), "short")
	longRaw, _ := mustIssue(t, NewIssuer(keys, o), "long")
	for _, raw := range []string{shortRaw, longRaw, longRaw} { // long is referenced again
		if _, err := v.Verify(context.Background(), raw); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(2 * time.Minute)
	newRaw, _ := mustIssue(t, NewIssuer(keys, o), "new")
	if _, err := v.Verify(context.Background(), newRaw); err != nil {
		t.Fatal(err)
	}
	now := clk.Now()
	if v.cache.get(longRaw, now) == nil {
		t.Error("live entry evicted")
	}
	if v.cache.get(newRaw, now) == nil {
		t.Error("new entry not cached")
	}
}

// TestCacheOnlyVerifiedTokens: refused tokens never enter the cache.
func TestCacheOnlyVerifiedTokens(t *testing.T) {
	clk := newClock()
	v, is := cachedVerifier(t, clk, 10, nil)
	raw, _ := mustIssue(t, is, "alice")
	bad := raw[:len(raw)-2] + "AA"
	for range 2 {
		_, err := v.Verify(context.Background(), bad)
		wantErr(t, err, ErrSignature, bad)
	}
	if n := v.cache.len(); n != 0 {
		t.Errorf("cache len = %d, want 0", n)
	}
	rev := &revocations{}
	vr, isr := cachedVerifier(t, clk, 10, rev)
	raw, c := mustIssue(t, isr, "alice")
	rev.revoke(c.ID)
	_, err := vr.Verify(context.Background(), raw)
	wantErr(t, err, ErrRevoked, raw)
	if n := vr.cache.len(); n != 0 {
		t.Errorf("revoked token cached: len = %d", n)
	}
}

// TestCacheReturnsCopies: a caller changing the returned slices changes nothing for the next.
func TestCacheReturnsCopies(t *testing.T) {
	clk := newClock()
	v, is := cachedVerifier(t, clk, 10, nil)
	raw, _ := mustIssue(t, is, "alice")
	for range 3 {
		c, err := v.Verify(context.Background(), raw)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.Roles, []string{"admin"}) || !slices.Equal(c.Audience, []string{testAudience}) {
			t.Fatalf("claims = %+v", c)
		}
		c.Roles[0] = "root"
		c.Audience[0] = "x"
		_ = append(c.Roles, "more")
	}
}

// TestCacheConcurrent runs Verify from many goroutines over a small cache (for -race).
func TestCacheConcurrent(t *testing.T) {
	clk := newClock()
	rev := &revocations{}
	v, is := cachedVerifier(t, clk, 8, rev)
	var tokens []string
	for i := range 32 {
		raw, _ := mustIssue(t, is, fmt.Sprint("user", i))
		tokens = append(tokens, raw)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				raw := tokens[(g*7+i)%len(tokens)]
				if _, err := v.Verify(context.Background(), raw); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := v.cache.len(); n > 8 {
		t.Errorf("cache len = %d, want ≤ 8", n)
	}
}

// TestCacheComparesWholeToken: the cache key hashes only the signature end of a token, so a
// forged token that keeps a cached token's signature must still go through full verification.
func TestCacheComparesWholeToken(t *testing.T) {
	clk := newClock()
	v, is := cachedVerifier(t, clk, 10, nil)
	raw, _ := mustIssue(t, is, "alice")
	if _, err := v.Verify(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	h, _, sig := split3(t, raw)
	forged := h + "." + b64([]byte(`{"sub":"admin","iss":"tokengate","aud":"tokengate","exp":9999999999}`)) + "." + sig
	_, err := v.Verify(context.Background(), forged)
	wantErr(t, err, ErrSignature, forged)
}

// TestVerifyRequestShares: VerifyRequest hands out the cache's claims (no copy), Verify and Clone
// copies that the caller may change without changing what the next request sees.
func TestVerifyRequestShares(t *testing.T) {
	clk := newClock()
	v, is := cachedVerifier(t, clk, 10, nil)
	raw, _ := mustIssue(t, is, "alice")
	ctx := context.Background()
	if _, err := v.VerifyRequest(ctx, raw, time.Time{}); err != nil {
		t.Fatal(err)
	}
	a, err := v.VerifyRequest(ctx, raw, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.VerifyRequest(ctx, raw, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if a != b || &a.Roles[0] != &b.Roles[0] {
		t.Error("cached claims were copied: VerifyRequest should share the cache's")
	}
	for _, c := range []Claims{mustVerify(t, v, raw), a.Clone()} {
		if &c.Roles[0] == &a.Roles[0] || &c.Audience[0] == &a.Audience[0] {
			t.Fatal("Verify or Clone shares memory with the cache")
		}
		c.Roles[0], c.Audience[0] = "root", "x"
	}
	if c, _ := v.VerifyRequest(ctx, raw, time.Time{}); c.Roles[0] != "admin" || c.Audience[0] != testAudience {
		t.Errorf("a copy's change reached the cache: %+v", c)
	}
}

// TestVerifyRequestArrived: a cached token's time limits are checked at the arrival time given,
// without reading the clock, while the token has over a second left; in its last second, in full
// verification, and always for a Verifier made with Options.Now, the Verifier's clock decides.
func TestVerifyRequestArrived(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T, realClock bool) (*clock, *Verifier, string, Claims) {
		clk := newClock()
		v, is := cachedVerifier(t, clk, 10, nil) // made with Options.Now = clk.Now
		if realClock {
			v.ownClock = false // as NewVerifier sets it without Options.Now, with clk as the real clock
		}
		raw, c := mustIssue(t, is, "alice")
		if _, err := v.VerifyRequest(ctx, raw, time.Time{}); err != nil { // cached now
			t.Fatal(err)
		}
		return clk, v, raw, c
	}

	t.Run("arrival trusted", func(t *testing.T) {
		clk, v, raw, c := setup(t, true)
		arrived := clk.Now().Add(time.Minute)
		clk.Set(c.ExpiresAt.Add(time.Hour)) // the clock is not read: the arrival decides
		if _, err := v.VerifyRequest(ctx, raw, arrived); err != nil {
			t.Fatalf("cached token at its arrival time: %v", err)
		}
	})
	t.Run("last second", func(t *testing.T) {
		clk, v, raw, c := setup(t, true)
		// Expired by the clock, leeway and all: the last second reads it again.
		clk.Set(c.ExpiresAt.Add(testLeeway + time.Second))
		_, err := v.VerifyRequest(ctx, raw, c.ExpiresAt.Add(-500*time.Millisecond))
		wantErr(t, err, ErrExpired, raw)
		clk.Set(c.ExpiresAt.Add(-time.Millisecond))
		if _, err := v.VerifyRequest(ctx, raw, c.ExpiresAt.Add(-500*time.Millisecond)); err != nil {
			t.Fatalf("valid by the clock in its last second: %v", err)
		}
	})
	t.Run("arrival after exp", func(t *testing.T) {
		clk, v, raw, c := setup(t, true)
		clk.Set(c.ExpiresAt.Add(time.Hour))
		_, err := v.VerifyRequest(ctx, raw, c.ExpiresAt.Add(testLeeway+time.Second))
		wantErr(t, err, ErrExpired, raw) // the entry goes; full verification reads the clock
		if n := v.cache.len(); n != 0 {
			t.Errorf("expired entry kept: len = %d", n)
		}
		_, err = v.VerifyRequest(ctx, raw, c.ExpiresAt.Add(-time.Hour))
		wantErr(t, err, ErrExpired, raw) // not cached any more: the clock decides
	})
	t.Run("Options.Now", func(t *testing.T) {
		clk, v, raw, c := setup(t, false)
		arrived := clk.Now().Add(time.Minute)
		clk.Set(c.ExpiresAt.Add(time.Hour))
		_, err := v.VerifyRequest(ctx, raw, arrived)
		wantErr(t, err, ErrExpired, raw)
	})
}

func mustVerify(tb testing.TB, v *Verifier, raw string) Claims {
	tb.Helper()
	c, err := v.Verify(context.Background(), raw)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
