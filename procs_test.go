package main

import (
	"runtime"
	"testing"
)

func TestReserveHashProcs(t *testing.T) {
	t.Cleanup(runtime.SetDefaultGOMAXPROCS)
	runtime.SetDefaultGOMAXPROCS()
	base := runtime.GOMAXPROCS(0)
	limited := base < runtime.NumCPU()

	// The operator's GOMAXPROCS wins.
	runtime.GOMAXPROCS(base + 7)
	if n, changed := reserveHashProcs([]string{"GOMAXPROCS=1"}, 2); changed || n != base+7 {
		t.Fatalf("with GOMAXPROCS set: %d, %v; want %d unchanged", n, changed, base+7)
	}
	// Otherwise the slots are added to the default, however often it is called.
	for range 2 {
		n, changed := reserveHashProcs([]string{"PATH=/bin"}, 2)
		if limited {
			if changed || n != base {
				t.Fatalf("under a CPU limit: %d, %v; want %d unchanged", n, changed, base)
			}
			continue
		}
		if !changed || n != base+2 || runtime.GOMAXPROCS(0) != base+2 {
			t.Fatalf("reserveHashProcs = %d, %v (GOMAXPROCS %d); want %d", n, changed, runtime.GOMAXPROCS(0), base+2)
		}
	}
}
