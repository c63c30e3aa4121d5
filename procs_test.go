package main

import (
	"runtime"
	"testing"

	"github.com/tokengate/tokengate/store"
)

func TestReserveHashProcs(t *testing.T) {
	t.Cleanup(runtime.SetDefaultGOMAXPROCS)
	runtime.SetDefaultGOMAXPROCS()
	base := runtime.GOMAXPROCS(0)
	defaultSlots := store.DefaultHashes()
	limited := base < runtime.NumCPU() || base < 2

	// The operator's GOMAXPROCS wins.
	runtime.GOMAXPROCS(base + 7)
	if procs, slots := reserveHashProcs([]string{"GOMAXPROCS=1"}, 2); procs != base+7 || slots != 2 {
		t.Fatalf("with GOMAXPROCS set: %d procs, %d slots; want %d unchanged, 2", procs, slots, base+7)
	}
	// Otherwise the slots are added to the default, however often it is called; 0 slots means
	// the default count, taken from the default GOMAXPROCS.
	for _, configured := range []int{2, 0, 0, 3} {
		want := configured
		if want == 0 {
			want = defaultSlots
		}
		procs, slots := reserveHashProcs([]string{"PATH=/bin"}, configured)
		if slots != want {
			t.Fatalf("configured %d: %d slots, want %d", configured, slots, want)
		}
		wantProcs := base + want
		if limited {
			wantProcs = base
		}
		if procs != wantProcs || runtime.GOMAXPROCS(0) != wantProcs {
			t.Fatalf("configured %d: procs %d (GOMAXPROCS %d), want %d", configured, procs, runtime.GOMAXPROCS(0), wantProcs)
		}
	}
}
