package verify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/fakeclock"
	"github.com/tokengate/tokengate/token"
)

// TestVerifyThroughDiscovery: for each algorithm, a Verifier that knows only the issuer URL
// accepts the issuer's tokens and refuses tokens for another audience or issuer, expired ones and
// HS256 tokens keyed with the published key.
func TestVerifyThroughDiscovery(t *testing.T) {
	for _, alg := range []string{token.ES256, token.EdDSA, token.RS256} {
		t.Run(alg, func(t *testing.T) {
			ks := loadKeys(t, alg)
			s := newStubIssuer(t, ks)
			clk := fakeclock.New(testStart)
			v := newVerifier(t, s, clk, newEvents())
			raw, want := issue(t, ks, clk, "alice", "admin")
			got, err := v.Verify(context.Background(), raw)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Subject != "alice" || got.ID != want.ID || !slices.Equal(got.Roles, []string{"admin"}) {
				t.Errorf("claims = %+v, want %+v", got, want)
			}
			other := func(iss, aud string) string {
				r, _, err := token.NewIssuer(ks, token.Options{Issuer: iss, Audience: aud, Now: clk.Now}).Issue("alice", nil)
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			expired, _ := issue(t, ks, fakeclock.New(testStart.Add(-time.Hour)), "alice")
			for _, tt := range []struct {
				name string
				raw  string
				want error
			}{
				{"other audience", other(testIssuer, "billing"), token.ErrAudience},
				{"other issuer", other("someone-else", testAudience), token.ErrIssuer},
				{"expired", expired, token.ErrExpired},
				{"HS256 keyed with the JWKS", hs256(t, ks.KeyID(), ks.JWKS(), clk.Now()), token.ErrAlgorithm},
				{"garbage", "not-a-token", token.ErrMalformed},
			} {
				t.Run(tt.name, func(t *testing.T) {
					_, err := v.Verify(context.Background(), tt.raw)
					if !errors.Is(err, tt.want) || !errors.Is(err, token.ErrInvalid) {
						t.Errorf("err = %v, want %v", err, tt.want)
					}
				})
			}
		})
	}
}

// hs256 makes a token signed with HS256 keyed with secret, claiming kid.
func hs256(t *testing.T, kid string, secret []byte, now time.Time) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	s := enc(map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}) + "." + enc(map[string]any{
		"sub": "mallory", "iss": testIssuer, "aud": testAudience, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "x", "roles": []string{"admin"},
	})
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(s))
	return s + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// TestNewOptions: invalid options are refused naming the field; the issuer named by the
// discovery document must be the one expected.
func TestNewOptions(t *testing.T) {
	ks := loadKeys(t, token.ES256)
	s := newStubIssuer(t, ks)
	for _, tt := range []struct {
		name string
		o    Options
		want string
	}{
		{"nothing", Options{}, "Issuer or JWKSURL is required"},
		{"no audience", Options{Issuer: s.srv.URL}, "Audience is required"},
		{"relative issuer", Options{Issuer: "tokengate:8080", Audience: "a"}, "Issuer must be an absolute"},
		{"JWKS URL without an issuer", Options{JWKSURL: s.srv.URL, Audience: "a"}, "TokenIssuer is required"},
		{"HMAC algorithm", Options{Issuer: s.srv.URL, Audience: "a", Algorithms: []string{"HS256"}}, `algorithm "HS256"`},
		{"introspection without secret", Options{Issuer: s.srv.URL, Audience: "a", Introspection: &Introspection{ClientID: "x"}}, "Introspection needs ClientID and ClientSecret"},
		{"introspection without URL", Options{JWKSURL: s.srv.URL, TokenIssuer: "t", Audience: "a", Introspection: &Introspection{ClientID: "x", ClientSecret: "y"}}, "Introspection needs URL"},
		{"negative cooldown", Options{Issuer: s.srv.URL, Audience: "a", RefreshCooldown: -1}, "RefreshCooldown must not be negative"},
		{"max below min", Options{Issuer: s.srv.URL, Audience: "a", MinRefresh: time.Hour, MaxRefresh: time.Minute}, "MaxRefresh is less than MinRefresh"},
		{"issuer mismatch", Options{Issuer: s.srv.URL, Audience: "a", Logger: quietLogger()}, "names another issuer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New(context.Background(), tt.o)
			if err == nil {
				v.Close()
				t.Fatalf("New succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	s.set(func(s *stubIssuer) { s.issuer = s.srv.URL })
	v, err := New(context.Background(), Options{Issuer: s.srv.URL, Audience: testAudience, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("New with the issuer the document names: %v", err)
	}
	v.Close()
}

// TestJWKSURLWithoutDiscovery: with JWKSURL the discovery document is never read.
func TestJWKSURLWithoutDiscovery(t *testing.T) {
	ks := loadKeys(t, token.EdDSA)
	s := newStubIssuer(t, ks)
	clk := fakeclock.New(testStart)
	v := newVerifier(t, s, clk, newEvents(), func(o *Options) {
		o.Issuer, o.JWKSURL = "", s.srv.URL+"/.well-known/jwks.json"
	})
	raw, _ := issue(t, ks, clk, "bob")
	if _, err := v.Verify(context.Background(), raw); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if n := s.discoveryHits.Load(); n != 0 {
		t.Errorf("discovery read %d times, want 0", n)
	}
}

// TestUnreachableAtStart: tokengate down at start is not an error; Verify fails closed with
// ErrNoKeys (a state error: 503), and once tokengate is up the keys come without a restart.
func TestUnreachableAtStart(t *testing.T) {
	ks := loadKeys(t, token.ES256)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now: connections are refused

	clk := fakeclock.New(testStart)
	ev := newEvents()
	v, err := New(context.Background(), Options{Issuer: "http://" + addr, TokenIssuer: testIssuer, Audience: testAudience, Now: clk.Now, Hooks: ev.hooks(), Logger: quietLogger()})
	if err != nil {
		t.Fatalf("New with tokengate down: %v", err)
	}
	t.Cleanup(func() { _ = v.Close() })
	if e := ev.nextFetch(t, "discovery"); e.Err == nil || e.Reason != "start" {
		t.Errorf("first fetch = %+v, want a failed start", e)
	}
	raw, _ := issue(t, ks, clk, "alice")
	_, err = v.Verify(context.Background(), raw)
	if !errors.Is(err, ErrNoKeys) || !errors.Is(err, token.ErrStateUnavailable) || errors.Is(err, token.ErrInvalid) {
		t.Fatalf("err = %v, want ErrNoKeys (a state error, not an invalid token)", err)
	}

	// tokengate comes up on the same address.
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	newStubIssuerOn(t, ks, ln)
	clk.Add(DefaultRefreshCooldown)
	if _, err := v.Verify(context.Background(), raw); err != nil {
		t.Fatalf("Verify once tokengate is up: %v", err)
	}
	if st := v.Stats(); st.Keys != 1 || st.UnknownKeyRefreshes == 0 {
		t.Errorf("stats = %+v, want 1 key fetched at a request's asking", st)
	}
}

// randomKidToken is a token whose kid no key has.
func randomKidToken(t *testing.T, i int) string {
	t.Helper()
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	return enc(fmt.Sprintf(`{"alg":"ES256","typ":"JWT","kid":"storm-%d"}`, i)) + "." + enc(`{"sub":"x"}`) + "." + enc("sig")
}

// TestUnknownKidStorm: many requests with unknown kids at once cause one fetch per cooldown, and
// requests with a known kid pass all along.
func TestUnknownKidStorm(t *testing.T) {
	ks := loadKeys(t, token.ES256)
	s := newStubIssuer(t, ks)
	clk := fakeclock.New(testStart)
	ev := newEvents()
	v := newVerifier(t, s, clk, ev)
	ev.nextFetch(t, "jwks")
	good, _ := issue(t, ks, clk, "alice")
	start := s.jwksHits.Load()

	storm := func(n int) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(2)
			go func() {
				defer wg.Done()
				if _, err := v.Verify(context.Background(), randomKidToken(t, i)); !errors.Is(err, token.ErrUnknownKey) {
					t.Errorf("random kid: err = %v, want ErrUnknownKey", err)
				}
			}()
			go func() {
				defer wg.Done()
				if _, err := v.Verify(context.Background(), good); err != nil {
					t.Errorf("known kid during the storm: %v", err)
				}
			}()
		}
		wg.Wait()
	}

	storm(500) // within the cooldown of New's fetch: no fetch at all
	if got := s.jwksHits.Load() - start; got != 0 {
		t.Errorf("fetches during the first cooldown = %d, want 0", got)
	}
	clk.Add(DefaultRefreshCooldown)
	storm(500) // the cooldown is over: exactly one fetch for the whole storm
	if got := s.jwksHits.Load() - start; got != 1 {
		t.Errorf("fetches after one cooldown = %d, want 1", got)
	}
	// Unknown kids came during that fetch and its cooldown: one more fetch follows the cooldown.
	if e := ev.nextFetch(t, "jwks"); e.Reason != "unknown_kid" {
		t.Errorf("storm's fetch reason = %q, want unknown_kid", e.Reason)
	}
	clk.Add(DefaultRefreshCooldown)
	v.poke()
	if e := ev.nextFetch(t, "jwks"); e.Reason != "unknown_kid" {
		t.Errorf("trailing fetch reason = %q, want unknown_kid", e.Reason)
	}
	if got := s.jwksHits.Load() - start; got != 2 {
		t.Errorf("fetches after two cooldowns = %d, want 2", got)
	}
	if st := v.Stats(); st.UnknownKeyRefreshes != 2 || st.JWKSNotModified != 2 {
		t.Errorf("stats = %+v, want 2 refreshes for unknown kids, both 304", st)
	}
}

// TestSlowJWKSDoesNotBlockKnownKids: while a refresh hangs, requests with a known kid are served,
// and a request with an unknown kid waits at most UnknownKeyWait.
func TestSlowJWKSDoesNotBlockKnownKids(t *testing.T) {
	ks := loadKeys(t, token.ES256)
	s := newStubIssuer(t, ks)
	clk := fakeclock.New(testStart)
	v := newVerifier(t, s, clk, newEvents(), func(o *Options) { o.UnknownKeyWait = 50 * time.Millisecond })
	good, _ := issue(t, ks, clk, "alice")
	gate := make(chan struct{})
	s.set(func(s *stubIssuer) { s.gate = gate })
	defer close(gate)
	clk.Add(DefaultRefreshCooldown)

	before := s.jwksHits.Load()
	if _, err := v.Verify(context.Background(), randomKidToken(t, 0)); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("unknown kid: err = %v, want ErrUnknownKey after UnknownKeyWait", err)
	}
	// The fetch it asked for hangs in the JWKS handler until the gate opens.
	for i := range 1000 {
		if _, err := v.Verify(context.Background(), good); err != nil {
			t.Fatalf("known kid #%d while the JWKS hangs: %v", i, err)
		}
	}
	if got := s.jwksHits.Load() - before; got != 1 {
		t.Errorf("JWKS requests = %d, want the one hanging", got)
	}
}

// TestRotation: a token signed by a key published after the Verifier loaded the set is accepted
// at once when the cooldown has passed, and after the cooldown when it has not; a key published
// ahead (next_public_key_files) is known before the first token it signs.
func TestRotation(t *testing.T) {
	old := loadKeys(t, token.ES256)
	s := newStubIssuer(t, old)
	clk := fakeclock.New(testStart)
	ev := newEvents()
	v := newVerifier(t, s, clk, ev)
	ev.nextFetch(t, "jwks")

	rotated := loadKeys(t, token.EdDSA, token.ES256)
	s.set(func(s *stubIssuer) { s.jwks = rotated.JWKS() })
	raw, _ := issue(t, rotated, clk, "alice")

	// Within the cooldown of New's fetch: refused now, accepted once the cooldown has passed.
	if _, err := v.Verify(context.Background(), raw); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("in the cooldown: err = %v, want ErrUnknownKey", err)
	}
	clk.Add(DefaultRefreshCooldown)
	v.poke()
	if e := ev.nextFetch(t, "jwks"); !e.Changed || e.Keys != 2 {
		t.Fatalf("trailing fetch = %+v, want a new set of 2 keys", e)
	}
	if _, err := v.Verify(context.Background(), raw); err != nil {
		t.Fatalf("rotated key after the cooldown: %v", err)
	}
	oldRaw, _ := issue(t, old, clk, "bob")
	if _, err := v.Verify(context.Background(), oldRaw); err != nil {
		t.Fatalf("retired key still published: %v", err)
	}

	// Rotated again, the cooldown long past: the first token is accepted by the refresh it asks for.
	again := loadKeys(t, token.RS256, token.EdDSA)
	s.set(func(s *stubIssuer) { s.jwks = again.JWKS() })
	clk.Add(time.Minute)
	raw3, _ := issue(t, again, clk, "carol")
	if _, err := v.Verify(context.Background(), raw3); err != nil {
		t.Fatalf("rotated key, no cooldown: %v", err)
	}
	if _, err := v.Verify(context.Background(), oldRaw); !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("key no longer published: err = %v, want ErrUnknownKey", err)
	}
}

// TestScheduledRefresh: the set is fetched again when its max-age (clamped) runs out, with the
// ETag, and a 304 keeps it; no Cache-Control takes DefaultRefresh.
func TestScheduledRefresh(t *testing.T) {
	ks := loadKeys(t, token.ES256)
	s := newStubIssuer(t, ks)
	s.set(func(s *stubIssuer) { s.cacheControl = "public, max-age=120" })
	clk := fakeclock.New(testStart)
	ev := newEvents()
	v := newVerifier(t, s, clk, ev)
	ev.nextFetch(t, "jwks")

	clk.Add(119 * time.Second)
	v.poke()
	clk.Add(time.Second)
	v.poke()
	e := ev.nextFetch(t, "jwks")
	if e.Reason != "scheduled" || e.Status != http.StatusNotModified || e.Changed || e.Err != nil {
		t.Errorf("fetch at max-age = %+v, want a scheduled 304", e)
	}
	s.mu.Lock()
	inm := slices.Clone(s.ifNoneMatch)
	s.mu.Unlock()
	if len(inm) != 2 || inm[0] != "" || inm[1] == "" {
		t.Errorf("If-None-Match sent = %q, want none then the ETag", inm)
	}
	if got := s.jwksHits.Load(); got != 2 {
		t.Errorf("JWKS requests = %d, want 2", got)
	}
}

// TestMaxAge: Cache-Control max-age is read and clamped to [MinRefresh, MaxRefresh].
func TestMaxAge(t *testing.T) {
	v := &Verifier{o: Options{MinRefresh: time.Minute, MaxRefresh: time.Hour}}
	for _, tt := range []struct {
		cc   []string
		want time.Duration
	}{
		{nil, DefaultRefresh},
		{[]string{"public, max-age=300"}, 5 * time.Minute},
		{[]string{"public", "MAX-AGE=600"}, 10 * time.Minute},
		{[]string{`max-age="900"`}, 15 * time.Minute},
		{[]string{"max-age=1"}, time.Minute},
		{[]string{"max-age=999999999"}, time.Hour},
		{[]string{"max-age=-5"}, time.Minute},
		{[]string{"max-age=abc"}, time.Minute},
		{[]string{"no-store"}, time.Minute},
		{[]string{"no-cache, max-age=600"}, time.Minute},
		{[]string{"s-maxage=600"}, DefaultRefresh},
	} {
		h := http.Header{"Cache-Control": tt.cc}
		if got := v.clampRefresh(h); got != tt.want {
			t.Errorf("Cache-Control %q: refresh = %v, want %v", tt.cc, got, tt.want)
		}
	}
}

// TestFailedRefreshKeepsKeys: when tokengate answers errors or garbage, the last good set keeps
// verifying and the fetch is retried with backoff.
func TestFailedRefreshKeepsKeys(t *testing.T) {
	ks := loadKeys(t, token.ES256)
	s := newStubIssuer(t, ks)
	clk := fakeclock.New(testStart)
	ev := newEvents()
	v := newVerifier(t, s, clk, ev)
	ev.nextFetch(t, "jwks")
	for _, tt := range []struct {
		name string
		f    func(s *stubIssuer)
	}{
		{"503", func(s *stubIssuer) { s.jwksStatus = http.StatusServiceUnavailable }},
		{"not JSON", func(s *stubIssuer) { s.jwksStatus, s.jwks = 0, []byte("<html>") }},
		{"only a symmetric key", func(s *stubIssuer) { s.jwks = []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h"}]}`) }},
		{"empty set", func(s *stubIssuer) { s.jwks = []byte(`{"keys":[]}`) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s.set(tt.f)
			clk.Add(time.Hour)
			v.poke()
			if e := ev.nextFetch(t, "jwks"); e.Err == nil {
				t.Fatalf("fetch = %+v, want a failure", e)
			}
			raw, _ := issue(t, ks, clk, "alice")
			if _, err := v.Verify(context.Background(), raw); err != nil {
				t.Fatalf("Verify with the last good keys: %v", err)
			}
		})
	}
	v.mu.Lock()
	failures, due := v.failures, v.due.Sub(v.now())
	v.mu.Unlock()
	if failures != 4 || due > 8*time.Second {
		t.Errorf("after 4 failures: failures = %d, next try in %v, want 4 and a backoff of at most 8s", failures, due)
	}
}

// TestBackoff: waits double from 1 s up to the ceiling, less a random tenth at most.
func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		n       int
		ceiling time.Duration
		want    time.Duration
	}{
		{1, time.Minute, time.Second},
		{2, time.Minute, 2 * time.Second},
		{5, time.Minute, 16 * time.Second},
		{6, time.Minute, 30 * time.Second},
		{100, time.Minute, 30 * time.Second},
		{100, 10 * time.Second, 10 * time.Second},
	} {
		got := backoff(tt.n, tt.ceiling)
		if got > tt.want || got < tt.want-tt.want/10 {
			t.Errorf("backoff(%d, %v) = %v, want %v less at most a tenth", tt.n, tt.ceiling, got, tt.want)
		}
	}
}

// TestCloseStopsRefreshes: after Close no fetch starts, Verify still uses the keys it has, and an
// unknown kid does not wait.
func TestCloseStopsRefreshes(t *testing.T) {
	ks := loadKeys(t, token.ES256)
	s := newStubIssuer(t, ks)
	clk := fakeclock.New(testStart)
	v := newVerifier(t, s, clk, newEvents(), func(o *Options) { o.UnknownKeyWait = time.Hour })
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	before := s.jwksHits.Load()
	clk.Add(time.Hour)
	raw, _ := issue(t, ks, clk, "alice")
	if _, err := v.Verify(context.Background(), raw); err != nil {
		t.Errorf("Verify after Close: %v", err)
	}
	if _, err := v.Verify(context.Background(), randomKidToken(t, 1)); !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("unknown kid after Close: err = %v", err)
	}
	if got := s.jwksHits.Load(); got != before {
		t.Errorf("fetches after Close = %d, want 0", got-before)
	}
}
