package routes

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tokengate/tokengate/state"
)

// TestGuardScopes: failed logins from an address lock out logins there, not the introspection
// clients at the same address (a shared NAT, a proxy missing from trusted_proxies), nor the reverse.
func TestGuardScopes(t *testing.T) {
	ctx := context.Background()
	st := state.NewMemory(nil)
	t.Cleanup(func() { _ = st.Close() })
	policy := LoginPolicy{MaxFailures: 2, Window: time.Minute, Lockout: time.Minute}
	logins := &loginGuard{state: st, policy: policy}
	clients := &loginGuard{state: st, policy: policy, scope: "client:"}
	const ip = "192.0.2.1"
	for i := range 4 * policy.MaxFailures { // enough to lock the address for logins
		if err := logins.fail(ctx, "user"+string(rune('a'+i)), ip); err != nil {
			t.Fatal(err)
		}
	}
	var locked *lockedError
	if err := logins.check(ctx, "someone", ip); !errors.As(err, &locked) {
		t.Fatalf("logins from %s after %d failures: %v, want locked", ip, 4*policy.MaxFailures, err)
	}
	if err := clients.check(ctx, "billing", ip); err != nil {
		t.Fatalf("introspection client at the same address: %v, want not locked", err)
	}
	for range policy.MaxFailures {
		if err := clients.fail(ctx, "billing", "192.0.2.2"); err != nil {
			t.Fatal(err)
		}
	}
	if err := clients.check(ctx, "billing", "192.0.2.2"); !errors.As(err, &locked) {
		t.Fatalf("client billing after %d failures: %v, want locked", policy.MaxFailures, err)
	}
	if err := logins.check(ctx, "billing", "192.0.2.2"); err != nil {
		t.Fatalf("a user named like the client at that address: %v, want not locked", err)
	}
}
