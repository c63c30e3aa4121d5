package state_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/fakeclock"
	"github.com/tokengate/tokengate/state"
)

// TestMemoryStaysBounded writes far more short-lived entries than are ever
// live at once and checks that expired ones do not pile up.
func TestMemoryStaysBounded(t *testing.T) {
	const (
		writes = 20_000
		life   = 200 * time.Millisecond
		step   = time.Millisecond // so about life/step = 1000 entries of each kind are live
		live   = int(life / step)
		bound  = 6*2*live + 1024 // six kinds of entry, each at most twice live, plus the sweep floor
	)
	clock := fakeclock.New(time.Unix(1_700_000_000, 0))
	m := state.NewMemory(clock.Now)
	ctx := t.Context()
	peak := 0
	for i := range writes {
		id := fmt.Sprint(i)
		exp := clock.Now().Add(life)
		mustNil(t, "Revoke", m.Revoke(ctx, id, exp))
		mustNil(t, "SaveRefresh", m.SaveRefresh(ctx, id, state.Refresh{User: "u", Family: id, ExpiresAt: exp}))
		mustNil(t, "RevokeFamily", m.RevokeFamily(ctx, id, exp))
		if _, err := m.Fail(ctx, id, life); err != nil {
			t.Fatal(err)
		}
		mustNil(t, "Lock", m.Lock(ctx, id, life))
		clock.Add(step)
		peak = max(peak, m.Len())
	}
	t.Logf("peak entries %d (bound %d)", peak, bound)
	if peak > bound {
		t.Fatalf("peak entries = %d after %d writes of each kind with ~%d live, want at most %d", peak, writes, live, bound)
	}
}

func TestMemoryNilClockUsesTimeNow(t *testing.T) {
	m := state.NewMemory(nil)
	mustNil(t, "Revoke", m.Revoke(t.Context(), "j", time.Now().Add(time.Hour)))
	wantRevoked(t, m, "j", true)
	mustNil(t, "Revoke past", m.Revoke(t.Context(), "k", time.Now().Add(-time.Second)))
	wantRevoked(t, m, "k", false)
}
