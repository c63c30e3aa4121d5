package routes

import (
	"context"
	"testing"
	"time"

	"github.com/tokengate/tokengate/token"
)

// countingObserver records Verify outcomes.
type countingObserver struct {
	nopObserver
	verified map[string]int
}

func (o *countingObserver) Verify(outcome string) { o.verified[outcome]++ }

// plainVerifier has Verify only.
type plainVerifier struct{ calls *int }

func (p plainVerifier) Verify(context.Context, string) (token.Claims, error) {
	*p.calls++
	return token.Claims{Subject: "alice"}, nil
}

// requestVerifier has VerifyRequest too, and hands out the one *Claims it holds.
type requestVerifier struct {
	plainVerifier
	shared  *token.Claims
	arrived *time.Time
}

func (r requestVerifier) VerifyRequest(_ context.Context, _ string, arrived time.Time) (*token.Claims, error) {
	*r.arrived = arrived
	return r.shared, nil
}

// TestObservedVerifierForwards: the metrics wrapper passes VerifyRequest through (the arrival time
// in, the shared claims out, counted once), and falls back to Verify for a Verifier without it.
func TestObservedVerifierForwards(t *testing.T) {
	ctx := context.Background()
	now := time.Now()

	var calls int
	var arrived time.Time
	shared := &token.Claims{Subject: "alice"}
	o := &countingObserver{verified: map[string]int{}}
	ov := newObservedVerifier(requestVerifier{plainVerifier{&calls}, shared, &arrived}, o)
	cl, err := ov.VerifyRequest(ctx, "t", now)
	if err != nil || cl != shared || !arrived.Equal(now) || calls != 0 || o.verified["valid"] != 1 {
		t.Fatalf("forwarded: claims %p (want %p), err %v, arrival %v, Verify calls %d, counted %v",
			cl, shared, err, arrived, calls, o.verified)
	}

	o = &countingObserver{verified: map[string]int{}}
	ov = newObservedVerifier(plainVerifier{&calls}, o)
	cl, err = ov.VerifyRequest(ctx, "t", now)
	if err != nil || cl == nil || cl.Subject != "alice" || calls != 1 || o.verified["valid"] != 1 {
		t.Fatalf("fallback: claims %+v, err %v, Verify calls %d, counted %v", cl, err, calls, o.verified)
	}
}
