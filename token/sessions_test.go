package token

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// sessions is an in-memory SessionRevocations: revoked jtis plus a cut-off per subject.
type sessions struct {
	revocations
	mu        sync.Mutex
	cutoffs   map[string]time.Time
	userCalls int
}

func (s *sessions) IsTokenRevoked(ctx context.Context, jti, subject string, issuedAt time.Time) (bool, error) {
	s.mu.Lock()
	s.userCalls++
	at, ok := s.cutoffs[subject]
	s.mu.Unlock()
	if revoked, err := s.revocations.IsRevoked(ctx, jti); revoked || err != nil {
		return revoked, err
	}
	return ok && issuedAt.Unix() <= at.Unix(), nil
}

func (s *sessions) cutOff(subject string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cutoffs == nil {
		s.cutoffs = map[string]time.Time{}
	}
	s.cutoffs[subject] = at
}

// With SessionRevocations, every verification — from the cache or not — asks once, with the
// token's subject and iat, and a cut-off refuses the subject's older tokens.
func TestVerifyChecksSessions(t *testing.T) {
	for _, size := range []int{0, 10} {
		clk := newClock()
		s := &sessions{}
		v, is := cachedVerifier(t, clk, size, s)
		ctx := context.Background()
		alice, c := mustIssue(t, is, "alice")
		bob, _ := mustIssue(t, is, "bob")
		for range 3 {
			if _, err := v.Verify(ctx, alice); err != nil {
				t.Fatalf("cache %d: %v", size, err)
			}
		}
		if s.userCalls != 3 || s.calls != 3 {
			t.Errorf("cache %d: asked IsTokenRevoked %d times (IsRevoked %d) in 3 verifications, want 3 (3 through it)", size, s.userCalls, s.calls)
		}

		// A cut-off later in the token's own second refuses it (iat has whole seconds).
		s.cutOff("alice", c.IssuedAt.Add(500*time.Millisecond))
		_, err := v.Verify(ctx, alice)
		wantErr(t, err, ErrRevoked, alice)
		if _, err := v.Verify(ctx, bob); err != nil {
			t.Errorf("cache %d: bob refused by alice's cut-off: %v", size, err)
		}
		// A token issued in a later second is accepted.
		clk.Add(time.Second)
		fresh, _ := mustIssue(t, is, "alice")
		if _, err := v.Verify(ctx, fresh); err != nil {
			t.Errorf("cache %d: a token issued after the cut-off: %v", size, err)
		}

		s.fail(errors.New("connection refused"))
		if _, err := v.Verify(ctx, fresh); !errors.Is(err, ErrStateUnavailable) {
			t.Errorf("cache %d: Verify with the state down = %v, want ErrStateUnavailable", size, err)
		}
	}
}
