package tests

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/fakeclock"
	"github.com/tokengate/tokengate/token"
	"github.com/tokengate/tokengate/verify"
)

// The verify package against a real tokengate over real sockets: rotation, a storm of unknown
// kids, tokengate stopped, a slow JWKS endpoint, and logouts honoured through introspection.

// fetches collects a Verifier's JWKS fetch events.
type fetches chan verify.FetchEvent

func (f fetches) hook(e verify.FetchEvent) {
	if e.Document == "jwks" {
		f <- e
	}
}

// next waits for the next JWKS fetch.
func (f fetches) next(t *testing.T) verify.FetchEvent {
	t.Helper()
	select {
	case e := <-f:
		return e
	case <-time.After(30 * time.Second):
		t.Fatal("no JWKS fetch within 30s")
	}
	return verify.FetchEvent{}
}

// newTestVerifier starts a verify.Verifier on issuerURL; clk may be nil (the real clock).
func newTestVerifier(t *testing.T, issuerURL string, clk *fakeclock.Clock, change func(*verify.Options)) (*verify.Verifier, fetches) {
	t.Helper()
	f := make(fetches, 4096)
	o := verify.Options{
		Issuer: issuerURL, TokenIssuer: "tokengate", Audience: "tokengate",
		Hooks:  verify.Hooks{Fetch: f.hook},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if clk != nil {
		o.Now = clk.Now
	}
	if change != nil {
		change(&o)
	}
	v, err := verify.New(context.Background(), o)
	if err != nil {
		t.Fatalf("verify.New: %v", err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v, f
}

// stormToken is a token with a kid nobody has.
func stormToken(i int) string {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	return enc(fmt.Sprintf(`{"alg":"ES256","typ":"JWT","kid":"storm-%d"}`, i)) + "." +
		enc(`{"sub":"mallory","iss":"tokengate","aud":"tokengate"}`) + "." + enc("not-a-signature")
}

// TestVerifyRotation: a key rotated with previous_public_key_files is accepted downstream without a
// restart: at the end of the refresh cooldown when the set was fetched moments ago, on its first
// request otherwise; a key published ahead with next_public_key_files costs no fetch at all.
// Tokens of the retired key stay accepted.
func TestVerifyRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key1, key2, key3 := keygen(t, dir, "ES256", "k1.pem"), keygen(t, dir, "EdDSA", "k2.pem"), keygen(t, dir, "ES256", "k3.pem")
	a := startServer(t, dsConfig(t, "ES256", key1, dsOptions{}))
	p := newIssuerProxy(t, a)
	v, f := newTestVerifier(t, p.URL, nil, nil)
	f.next(t)
	old := a.accessToken(t, "alice", "pyconid")
	if _, err := v.Verify(context.Background(), old); err != nil {
		t.Fatalf("before the rotation: %v", err)
	}

	// Rotation 1, moments after the Verifier's first fetch: key2 signs, key1 is retired.
	b := startServer(t, dsConfig(t, "EdDSA", key2, dsOptions{previous: []string{writePublicPEM(t, key1)}}))
	p.switchTo(t, b)
	rotated := b.accessToken(t, "alice", "pyconid")
	start := time.Now()
	_, err := v.Verify(context.Background(), rotated)
	if err != nil && !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("new key in the cooldown: err = %v, want nil or ErrUnknownKey", err)
	}
	for err != nil {
		if e := f.next(t); e.Err != nil {
			t.Fatalf("refresh failed: %v", e.Err)
		}
		_, err = v.Verify(context.Background(), rotated)
	}
	inCooldown := time.Since(start)
	if inCooldown > verify.DefaultRefreshCooldown+time.Second {
		t.Errorf("rotated key accepted after %v, want within the %v cooldown", inCooldown, verify.DefaultRefreshCooldown)
	}
	if _, err := v.Verify(context.Background(), old); err != nil {
		t.Errorf("retired key after the rotation: %v", err)
	}

	// Rotation 2, long after the last fetch (a fresh Verifier whose clock is past the cooldown):
	// key3 signs, key2 is retired; its first token makes the one fetch and is accepted at once.
	clk := fakeclock.New(time.Now())
	v2, f2 := newTestVerifier(t, p.URL, clk, nil)
	f2.next(t)
	c := startServer(t, dsConfig(t, "ES256", key3, dsOptions{previous: []string{writePublicPEM(t, key2)}}))
	p.switchTo(t, c)
	third := c.accessToken(t, "alice", "pyconid")
	clk.Add(verify.DefaultRefreshCooldown)
	hits := p.jwksHits.Load()
	start = time.Now()
	if _, err := v2.Verify(context.Background(), third); err != nil {
		t.Fatalf("rotated key after the cooldown: %v", err)
	}
	afterCooldown := time.Since(start)
	if got := p.jwksHits.Load() - hits; got != 1 {
		t.Errorf("JWKS fetches for the rotated key = %d, want 1", got)
	}
	f2.next(t)

	// Rotation 3, published ahead: key1 comes back as next key, then signs.
	d := startServer(t, dsConfig(t, "ES256", key3, dsOptions{previous: []string{writePublicPEM(t, key2)}, next: []string{writePublicPEM(t, key1)}}))
	p.switchTo(t, d)
	clk.Add(verify.DefaultRefreshCooldown)
	if _, err := v2.Verify(context.Background(), stormToken(0)); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("unknown kid: %v", err)
	}
	if e := f2.next(t); !e.Changed || e.Keys != 3 {
		t.Fatalf("fetch = %+v, want the set with the next key (3 keys)", e)
	}
	e := startServer(t, dsConfig(t, "ES256", key1, dsOptions{previous: []string{writePublicPEM(t, key3)}}))
	p.switchTo(t, e)
	ahead := e.accessToken(t, "alice", "pyconid")
	hits = p.jwksHits.Load()
	if _, err := v2.Verify(context.Background(), ahead); err != nil {
		t.Fatalf("key published ahead: %v", err)
	}
	if got := p.jwksHits.Load() - hits; got != 0 {
		t.Errorf("JWKS fetches for a key published ahead = %d, want 0", got)
	}
	t.Logf("rotated key accepted downstream: %v after its first token when the set was fetched moments before (cooldown %v); "+
		"%v (one JWKS fetch) when the last fetch is older than the cooldown; at once, with no fetch, when published ahead",
		inCooldown.Round(time.Millisecond), verify.DefaultRefreshCooldown, afterCooldown.Round(time.Microsecond))
}

// TestVerifyUnknownKidStorm: thousands of tokens with random kids at once make at most one JWKS
// fetch per cooldown, and tokens with a known kid pass all along.
func TestVerifyUnknownKidStorm(t *testing.T) {
	t.Parallel()
	key := keygen(t, t.TempDir(), "ES256", "key.pem")
	s := startServer(t, dsConfig(t, "ES256", key, dsOptions{}))
	p := newIssuerProxy(t, s)
	clk := fakeclock.New(time.Now())
	v, f := newTestVerifier(t, p.URL, clk, nil)
	f.next(t)
	good := s.accessToken(t, "alice", "pyconid")

	const n = 2000
	storm := func(offset int) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := v.Verify(context.Background(), stormToken(offset+i)); !errors.Is(err, token.ErrUnknownKey) {
					t.Errorf("random kid: err = %v", err)
				}
				if i%10 == 0 {
					if _, err := v.Verify(context.Background(), good); err != nil {
						t.Errorf("known kid during the storm: %v", err)
					}
				}
			}()
		}
		wg.Wait()
	}
	base := p.jwksHits.Load()
	storm(0) // within the cooldown of the first fetch
	inCooldown := p.jwksHits.Load() - base
	clk.Add(verify.DefaultRefreshCooldown)
	storm(n) // one cooldown later
	oneCooldown := p.jwksHits.Load() - base - inCooldown
	f.next(t)
	clk.Add(verify.DefaultRefreshCooldown)
	if _, err := v.Verify(context.Background(), stormToken(2*n)); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatal(err)
	}
	f.next(t) // the refresh that followed the second storm's cooldown
	total := p.jwksHits.Load() - base
	if inCooldown != 0 || oneCooldown != 1 || total > 3 {
		t.Errorf("JWKS fetches: %d in the first cooldown, %d in the next, %d in all; want 0, 1 and at most 3", inCooldown, oneCooldown, total)
	}
	st := v.Stats()
	t.Logf("unknown-kid storm: %d tokens with random kids (and %d with the known kid) in each of two cooldowns: "+
		"%d JWKS fetches in the first, %d in the second, %d in all with the trailing refresh (%d answered 304)",
		n, n/10, inCooldown, oneCooldown, total, st.JWKSNotModified)
}

// TestVerifyTokengateStopped: with tokengate down, a JWKS-only Verifier keeps accepting tokens on
// its cached keys (refreshes fail, the keys stay), while a Verifier with introspection accepts a
// token only as long as its cached answer, at most 5 s, then fails closed.
func TestVerifyTokengateStopped(t *testing.T) {
	t.Parallel()
	key := keygen(t, t.TempDir(), "ES256", "key.pem")
	s := startServer(t, dsConfig(t, "ES256", key, dsOptions{}))
	clk := fakeclock.New(time.Now())
	jwksOnly, f := newTestVerifier(t, s.URL, clk, nil)
	f.next(t)
	withIntro, _ := newTestVerifier(t, s.URL, clk, func(o *verify.Options) {
		o.Introspection = &verify.Introspection{ClientID: "downstream", ClientSecret: dsClientSecret}
	})
	tok := s.accessToken(t, "alice", "pyconid")
	ctx := context.Background()
	for _, v := range []*verify.Verifier{jwksOnly, withIntro} {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("tokengate up: %v", err)
		}
	}

	s.stop(t)
	clk.Add(verify.MaxIntrospectionCache - time.Second)
	for _, v := range []*verify.Verifier{jwksOnly, withIntro} {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("tokengate down, within the cache: %v", err)
		}
	}
	clk.Add(time.Second)
	if _, err := withIntro.Verify(ctx, tok); !errors.Is(err, verify.ErrIntrospectionUnavailable) || !errors.Is(err, token.ErrStateUnavailable) {
		t.Errorf("introspection, tokengate down, cache expired: err = %v, want ErrIntrospectionUnavailable (503)", err)
	}

	clk.Add(6 * time.Minute) // past the JWKS max-age, within the token's lifetime
	if _, err := jwksOnly.Verify(ctx, stormToken(0)); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("unknown kid: %v", err)
	}
	if e := f.next(t); e.Err == nil {
		t.Fatalf("refresh with tokengate down = %+v, want a failure", e)
	}
	if _, err := jwksOnly.Verify(ctx, tok); err != nil {
		t.Errorf("JWKS only, tokengate down, refresh failed: %v", err)
	}
	if st := jwksOnly.Stats(); st.JWKSFailures == 0 || st.Keys != 1 {
		t.Errorf("stats = %+v, want failures and the 1 cached key", st)
	}
}

// TestVerifySlowJWKS: while a refresh hangs on a slow JWKS endpoint, tokens with a known kid are
// verified without waiting, and a token with an unknown kid waits at most UnknownKeyWait.
func TestVerifySlowJWKS(t *testing.T) {
	t.Parallel()
	key := keygen(t, t.TempDir(), "ES256", "key.pem")
	s := startServer(t, dsConfig(t, "ES256", key, dsOptions{}))
	p := newIssuerProxy(t, s)
	clk := fakeclock.New(time.Now())
	const wait = 200 * time.Millisecond
	v, f := newTestVerifier(t, p.URL, clk, func(o *verify.Options) { o.UnknownKeyWait = wait })
	f.next(t)
	good := s.accessToken(t, "alice", "pyconid")
	release := p.hold()
	defer release()
	clk.Add(verify.DefaultRefreshCooldown)

	hits := p.jwksHits.Load()
	start := time.Now()
	if _, err := v.Verify(context.Background(), stormToken(0)); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("unknown kid while the JWKS hangs: %v", err)
	}
	if waited := time.Since(start); waited < wait {
		t.Errorf("unknown kid answered after %v, before the refresh it asked for could end (UnknownKeyWait %v)", waited, wait)
	}
	var slowest time.Duration
	for i := range 1000 {
		start := time.Now()
		if _, err := v.Verify(context.Background(), good); err != nil {
			t.Fatalf("known kid #%d while the JWKS hangs: %v", i, err)
		}
		slowest = max(slowest, time.Since(start))
	}
	if got := p.jwksHits.Load() - hits; got != 1 {
		t.Errorf("JWKS requests = %d, want the 1 hanging", got)
	}
	release()
	if e := f.next(t); e.Err != nil {
		t.Errorf("the held refresh: %v", e.Err)
	}
	t.Logf("slow JWKS: 1000 known-kid verifications while the refresh hung, slowest %v", slowest)
}

// TestVerifyHonoursLogout: with introspection, a logged-out token is refused once the positive
// answer cached for it (at most 5 s) expires.
func TestVerifyHonoursLogout(t *testing.T) {
	t.Parallel()
	key := keygen(t, t.TempDir(), "ES256", "key.pem")
	s := startServer(t, dsConfig(t, "ES256", key, dsOptions{}))
	clk := fakeclock.New(time.Now())
	v, _ := newTestVerifier(t, s.URL, clk, func(o *verify.Options) {
		o.Introspection = &verify.Introspection{ClientID: "downstream", ClientSecret: dsClientSecret}
	})
	tok := s.accessToken(t, "alice", "pyconid")
	ctx := context.Background()
	if c, err := v.Verify(ctx, tok); err != nil || c.Subject != "alice" {
		t.Fatalf("before logout: %+v, %v", c, err)
	}
	if r := s.postJSON(t, "/logout", "", "Authorization", "Bearer "+tok); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d", r.Status)
	}
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("within the cached answer: %v", err)
	}
	clk.Add(verify.MaxIntrospectionCache)
	if _, err := v.Verify(ctx, tok); !errors.Is(err, verify.ErrInactive) || !errors.Is(err, token.ErrInvalid) {
		t.Errorf("after logout and the cache: err = %v, want ErrInactive", err)
	}
	other := s.accessToken(t, "alice", "pyconid")
	if _, err := v.Verify(ctx, other); err != nil {
		t.Errorf("another token of the same user: %v", err)
	}
}
