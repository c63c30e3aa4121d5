package main

import "runtime"

// reserveHashProcs gives the bcrypt slots Ps of their own: it raises GOMAXPROCS from the runtime's
// default by slots, and returns the value in effect and whether it changed it.
//
// A bcrypt compare holds its P for tens of milliseconds. With GOMAXPROCS at the CPU count, a login
// flood keeps the slots' Ps busy and verification queues for the rest (on 2 CPUs, /protected's p99
// rose ×5.8 during a flood of 64 logins). With the slots on extra Ps, requests keep every CPU's
// worth of Ps, and the kernel shares the CPUs: the bcrypt threads run at nice 19 (store.Hasher), so
// they get the CPU time the requests leave (p99 ×1.8 in the same flood).
//
// It does nothing when the GOMAXPROCS environment variable is set (the operator decides), or when
// the default is below runtime.NumCPU, which is how Go reports a cgroup CPU limit: under a CFS
// quota an extra busy thread would get the whole container throttled, which is worse for latency
// than the queue. Setting GOMAXPROCS stops Go's automatic updates of it when the CPU limit changes
// at run time (Go 1.25): restart tokengate after changing a container's CPU limit. It can be
// called again: it starts from the default each time.
func reserveHashProcs(env []string, slots int) (int, bool) {
	if lookupEnv(env, "GOMAXPROCS") != "" || slots <= 0 {
		return runtime.GOMAXPROCS(0), false
	}
	runtime.SetDefaultGOMAXPROCS()
	base := runtime.GOMAXPROCS(0)
	if base < runtime.NumCPU() {
		return base, false
	}
	runtime.GOMAXPROCS(base + slots)
	return base + slots, true
}
