//go:build !linux

package store

// lowPriority runs f. Outside Linux the nice value belongs to the whole process, so bcrypt work
// is bounded only by the Hasher's slots.
func lowPriority(f func() error) error { return f() }
