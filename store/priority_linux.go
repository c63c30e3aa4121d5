package store

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// bcryptNice is the nice value of the threads that run bcrypt: the lowest priority.
const bcryptNice = 19

// lowPriority runs f on a new OS thread at nice bcryptNice and returns its result. Linux keeps a
// nice value per thread, so only that thread is lowered. The goroutine stays locked to its thread
// and returns locked, so the runtime ends the thread with it: the lowered priority can never
// reach a thread that later serves requests. A thread start costs microseconds; a bcrypt compare
// tens of milliseconds. If the priority cannot be set, f runs all the same.
func lowPriority(f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked, on purpose (see above)
		_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), bcryptNice)
		done <- f()
	}()
	return <-done
}
