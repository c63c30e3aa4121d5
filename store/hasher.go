package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// MinCost is the lowest bcrypt cost HashPassword accepts (bcrypt's own minimum); MaxCost the highest.
const MinCost = bcrypt.MinCost

// defaultHashWait is how long a login waits for a bcrypt slot when a store is given no Hasher.
const defaultHashWait = time.Second

// errMalformedHash replaces bcrypt's own parse errors, which are not ours to leak.
var errMalformedHash = errors.New("malformed bcrypt hash")

// Hasher bounds concurrent bcrypt work, so that a login flood cannot starve the rest of the
// service of CPU: at most n compares run at once, and a caller waits at most a fixed time for a
// slot before it gets ErrOverloaded. Every compare a store makes, the dummy ones for
// unknown users included, goes through its Hasher. One Hasher may be shared by several stores. A
// Hasher must be made by NewHasher.
type Hasher struct {
	slots    chan struct{}
	wait     time.Duration
	compares atomic.Int64 // compares started, for tests
}

// NewHasher returns a Hasher that runs at most n bcrypt compares at once (n <= 0 means
// DefaultHashes()) and lets a caller wait at most wait for a slot (wait <= 0: not at all).
func NewHasher(n int, wait time.Duration) *Hasher {
	if n <= 0 {
		n = DefaultHashes()
	}
	return &Hasher{slots: make(chan struct{}, n), wait: max(wait, 0)}
}

// DefaultHashes is the bound on concurrent bcrypt compares when none is configured: half of
// GOMAXPROCS, at least 1. With all of GOMAXPROCS, a login flood would hold every P with bcrypt and
// verification would queue behind it; half leaves the other half to the routes that are served far
// more often.
func DefaultHashes() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// Compare reports whether password matches the bcrypt hash. It returns ErrPasswordTooLong for a
// password over 72 bytes (without comparing), ErrOverloaded when no slot came free within the
// Hasher's wait, and an error wrapping both ErrOverloaded and ctx.Err() when ctx ended first.
// A mismatch is (false, nil); a hash bcrypt cannot parse is an error that does not quote it.
// Once started, a compare runs to its end: bcrypt cannot be interrupted.
func (h *Hasher) Compare(ctx context.Context, hash, password []byte) (bool, error) {
	if len(password) > MaxPasswordBytes {
		return false, ErrPasswordTooLong
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	h.compares.Add(1)
	switch err := bcrypt.CompareHashAndPassword(hash, password); {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, errMalformedHash
	}
}

// DefaultCost is the bcrypt cost of the hashes tokengate makes when none is given.
const DefaultCost = 12

// Hash returns a bcrypt hash of password at cost, as HashPassword does, made in one of the
// Hasher's slots: a burst of password changes waits its turn like a burst of logins, and gets
// ErrOverloaded like one.
func (h *Hasher) Hash(ctx context.Context, password []byte, cost int) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", ErrPasswordTooLong
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return HashPassword(password, cost)
}

// Slots returns how many compares may run at once.
func (h *Hasher) Slots() int { return cap(h.slots) }

// InUse returns how many compares are running now (for metrics).
func (h *Hasher) InUse() int { return len(h.slots) }

func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrOverloaded, err)
	}
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	if h.wait <= 0 {
		return ErrOverloaded
	}
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-t.C:
		return ErrOverloaded
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrOverloaded, ctx.Err())
	}
}

func (h *Hasher) release() { <-h.slots }

// HashPassword returns a bcrypt hash ($2a$) of password at cost. It refuses a password over 72
// bytes with ErrPasswordTooLong instead of letting bcrypt truncate it, and a cost outside
// MinCost..MaxCost with an error.
func HashPassword(password []byte, cost int) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", ErrPasswordTooLong
	}
	if cost < MinCost || cost > MaxCost {
		return "", fmt.Errorf("bcrypt cost %d out of range %d to %d", cost, MinCost, MaxCost)
	}
	h, err := bcrypt.GenerateFromPassword(password, cost)
	if err != nil {
		return "", errors.New("store: hashing password failed")
	}
	return string(h), nil
}

// newDummyHash returns a bcrypt hash of a random password at cost, for unknown users to be
// compared against. Nobody knows its password, and it is compared only to spend the same time.
func newDummyHash(cost int) ([]byte, error) {
	pw := make([]byte, 24)
	if _, err := rand.Read(pw); err != nil {
		return nil, fmt.Errorf("store: making dummy hash: %w", err)
	}
	h, err := bcrypt.GenerateFromPassword(pw, cost)
	if err != nil {
		return nil, errors.New("store: making dummy hash failed")
	}
	return h, nil
}
