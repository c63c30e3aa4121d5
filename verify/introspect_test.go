package verify

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/fakeclock"
	"github.com/tokengate/tokengate/token"
)

func withIntrospection(secret string, ttl time.Duration) func(*Options) {
	return func(o *Options) {
		o.Introspection = &Introspection{ClientID: testClientID, ClientSecret: secret, CacheTTL: ttl}
	}
}

// TestIntrospectionHonoursLogout: a positive answer is reused for at most 5 s (a longer CacheTTL
// is cut to that), so a revoked token is refused within that time; the negative answer is kept.
func TestIntrospectionHonoursLogout(t *testing.T) {
	ks := loadKeys(t, token.ES256)
	s := newStubIssuer(t, ks)
	clk := fakeclock.New(testStart)
	v := newVerifier(t, s, clk, newEvents(), withIntrospection(testSecret, time.Hour))
	raw, c := issue(t, ks, clk, "alice", "admin")
	ctx := context.Background()

	if _, err := v.Verify(ctx, raw); err != nil {
		t.Fatalf("active token: %v", err)
	}
	s.set(func(s *stubIssuer) { s.inactive[c.ID] = true }) // logged out
	clk.Add(MaxIntrospectionCache - time.Second)
	if _, err := v.Verify(ctx, raw); err != nil {
		t.Fatalf("within the cache time: %v", err)
	}
	if got := s.introHits.Load(); got != 1 {
		t.Errorf("introspection requests = %d, want 1 (the second answer from the cache)", got)
	}
	clk.Add(time.Second)
	_, err := v.Verify(ctx, raw)
	if !errors.Is(err, ErrInactive) || !errors.Is(err, token.ErrRevoked) || !errors.Is(err, token.ErrInvalid) {
		t.Fatalf("logged out, cache expired: err = %v, want ErrInactive (an invalid token)", err)
	}
	clk.Add(time.Minute)
	if _, err := v.Verify(ctx, raw); !errors.Is(err, ErrInactive) {
		t.Errorf("again: err = %v, want ErrInactive", err)
	}
	if got := s.introHits.Load(); got != 2 {
		t.Errorf("introspection requests = %d, want 2 (the negative answer is kept)", got)
	}
	if st := v.Stats(); st.Introspections != 2 || st.IntrospectionCacheHits != 2 || st.IntrospectionFailures != 0 {
		t.Errorf("stats = %+v", st)
	}
	// A token that fails locally is never sent to tokengate.
	if _, err := v.Verify(ctx, "garbage"); !errors.Is(err, token.ErrMalformed) {
		t.Errorf("garbage: err = %v", err)
	}
	if got := s.introHits.Load(); got != 2 {
		t.Errorf("introspection requests = %d after a garbage token, want 2", got)
	}
}

// TestIntrospectionFailsClosed: when tokengate cannot answer (down, refusing the client, errors),
// a cached positive answer is used until it expires, then Verify fails with a state error (503).
func TestIntrospectionFailsClosed(t *testing.T) {
	for _, tt := range []struct {
		name   string
		secret string
		break_ func(s *stubIssuer)
	}{
		{"tokengate stopped", testSecret, func(*stubIssuer) {}},
		{"5xx", testSecret, func(s *stubIssuer) { s.introStatus = http.StatusServiceUnavailable }},
		{"wrong client secret", "wrong-secret-wrong-secret-wrong-secret", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ks := loadKeys(t, token.ES256)
			s := newStubIssuer(t, ks)
			clk := fakeclock.New(testStart)
			ev := newEvents()
			v := newVerifier(t, s, clk, ev, withIntrospection(tt.secret, 0))
			raw, _ := issue(t, ks, clk, "alice")
			ctx := context.Background()
			if tt.break_ == nil {
				_, err := v.Verify(ctx, raw)
				if !errors.Is(err, ErrIntrospectionUnavailable) || !errors.Is(err, token.ErrStateUnavailable) || errors.Is(err, token.ErrInvalid) {
					t.Fatalf("err = %v, want ErrIntrospectionUnavailable (a state error)", err)
				}
				if e := <-ev.introspect; e.Status != http.StatusUnauthorized {
					t.Errorf("introspection event = %+v, want status 401", e)
				}
				return
			}
			if _, err := v.Verify(ctx, raw); err != nil {
				t.Fatalf("before: %v", err)
			}
			if tt.name == "tokengate stopped" {
				s.srv.Close()
			} else {
				s.set(tt.break_)
			}
			clk.Add(MaxIntrospectionCache - time.Second)
			if _, err := v.Verify(ctx, raw); err != nil {
				t.Fatalf("cached answer: %v", err)
			}
			clk.Add(time.Second)
			_, err := v.Verify(ctx, raw)
			if !errors.Is(err, ErrIntrospectionUnavailable) || !errors.Is(err, token.ErrStateUnavailable) {
				t.Fatalf("cache expired: err = %v, want ErrIntrospectionUnavailable", err)
			}
			if st := v.Stats(); st.IntrospectionFailures != 1 {
				t.Errorf("stats = %+v, want 1 failure", st)
			}
		})
	}
}

// TestIntrospectionOneRequestPerToken: concurrent requests with one new token make one
// introspection request.
func TestIntrospectionOneRequestPerToken(t *testing.T) {
	ks := loadKeys(t, token.ES256)
	s := newStubIssuer(t, ks)
	clk := fakeclock.New(testStart)
	v := newVerifier(t, s, clk, newEvents(), withIntrospection(testSecret, 0))
	raw, _ := issue(t, ks, clk, "alice")
	gate := make(chan struct{})
	s.set(func(s *stubIssuer) { s.introGate = gate })

	const n = 50
	var (
		wg      sync.WaitGroup
		started = make(chan struct{}, n)
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started <- struct{}{}
			if _, err := v.Verify(context.Background(), raw); err != nil {
				t.Errorf("Verify: %v", err)
			}
		}()
	}
	for range n {
		<-started
	}
	close(gate)
	wg.Wait()
	// Goroutines that came while the request hung shared it; those that came after used the cache.
	if got := s.introHits.Load(); got != 1 {
		t.Errorf("introspection requests = %d, want 1", got)
	}
	if st := v.Stats(); st.Introspections != 1 || st.IntrospectionCacheHits+1 > n {
		t.Errorf("stats = %+v", st)
	}
}
