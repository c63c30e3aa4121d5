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
	if _, ok := v.cache.get(raw, clk.Now()); !ok {
		t.Error("cache miss just before exp, want hit")
	}
	if _, err := v.Verify(ctx, raw); err != nil {
		t.Fatal(err)
	}
	clk.Set(issued.ExpiresAt)
	if _, ok := v.cache.get(raw, clk.Now()); ok {
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

// TestCacheComparesWholeToken: the cache is keyed on the whole token, so a forged token that
// keeps a cached token's header and signature must still go through full verification.
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
