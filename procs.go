package main

import (
	"runtime"

	"github.com/tokengate/tokengate/store"
)

// reserveHashProcs resolves login.max_concurrent_hashes (0 means store.DefaultHashes of the
// default GOMAXPROCS) and gives those bcrypt slots Ps of their own: it raises GOMAXPROCS from the
// runtime's default by the number of slots. It returns the GOMAXPROCS in effect and the slots.
//
// A bcrypt compare holds its P for tens of milliseconds. With GOMAXPROCS at the CPU count, a login
// flood keeps the slots' Ps busy and verification queues for the rest (on 2 CPUs, /protected's p99
// rose ×5.8 during a flood of 64 logins). With the slots on extra Ps, requests keep every CPU's
// worth of Ps, and the kernel shares the CPUs: the bcrypt threads run at nice 19 (store.Hasher), so
// they get the CPU time the requests leave.
//
// It leaves GOMAXPROCS alone when the GOMAXPROCS environment variable is set (the operator
// decides); when the default is below runtime.NumCPU, which is how Go reports a cgroup CPU limit
// (under a CFS quota an extra busy thread would get the whole container throttled, which is worse
// for latency than the queue); and on a single CPU, where a second P costs every request the
// scheduler's spinning (measured, noisily: 10–20% more CPU per request with the server pinned to
// one CPU) to help only during a flood. Setting GOMAXPROCS stops Go's automatic updates of it when
// the CPU limit changes at run time (Go 1.25): restart tokengate after changing a container's CPU
// limit. It can be called again: it starts from the default each time.
func reserveHashProcs(env []string, configured int) (procs, slots int) {
	if lookupEnv(env, "GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0), orDefaultHashes(configured)
	}
	runtime.SetDefaultGOMAXPROCS()
	base := runtime.GOMAXPROCS(0)
	slots = orDefaultHashes(configured)
	if base < runtime.NumCPU() || base < 2 {
		return base, slots
	}
	runtime.GOMAXPROCS(base + slots)
	return base + slots, slots
}

func orDefaultHashes(n int) int {
	if n > 0 {
		return n
	}
	return store.DefaultHashes()
}
