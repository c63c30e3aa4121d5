package store

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// niceOf returns the nice value of the calling thread (getpriority returns 20 - nice on Linux).
func niceOf(t *testing.T) int {
	t.Helper()
	p, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	if err != nil {
		t.Fatal(err)
	}
	return 20 - p
}

// TestLowPriority: the work runs at nice 19, and the caller's thread keeps its own priority.
func TestLowPriority(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := niceOf(t)
	var inside int
	if err := lowPriority(func() error { inside = niceOf(t); return nil }); err != nil {
		t.Fatal(err)
	}
	if before < bcryptNice && inside != bcryptNice {
		t.Errorf("nice inside lowPriority = %d, want %d", inside, bcryptNice)
	}
	if after := niceOf(t); after != before {
		t.Errorf("caller's nice = %d after lowPriority, want %d as before", after, before)
	}
}

// TestLowPriorityDoesNotLeak: threads that ran bcrypt are not reused by other goroutines.
func TestLowPriorityDoesNotLeak(t *testing.T) {
	for range 20 {
		if err := lowPriority(func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for range 50 {
		done := make(chan int)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			p, _ := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
			done <- 20 - p
		}()
		if n := <-done; n == bcryptNice {
			t.Fatalf("a goroutine ran on a thread at nice %d after lowPriority returned", n)
		}
	}
}
