package store

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// Memory is a credential store over a fixed user list, given at construction (the `store.users`
// config section). Its methods are safe for concurrent use and never lock.
type Memory struct {
	c core
}

// NewMemory returns a Memory over users (names are case-sensitive). Every hash must be a bcrypt
// hash ($2a$, $2b$, $2y$) of cost 4..MaxCost; the error names each user that is not, and every
// other problem found. Costs under 10 are loaded with a warning on log. An empty map is allowed:
// every login then fails. h bounds the bcrypt work (nil: NewHasher(0, 1s)); log may be nil.
func NewMemory(users map[string]Entry, h *Hasher, log *slog.Logger) (*Memory, error) {
	log = orDiscard(log)
	if h == nil {
		h = NewHasher(0, defaultHashWait)
	}
	entries := make([]sourced, 0, len(users))
	for name, e := range users {
		entries = append(entries, sourced{name: name, entry: e})
	}
	slices.SortFunc(entries, func(a, b sourced) int { return strings.Compare(a.name, b.name) })
	s, err := buildSnapshot(entries, nil, "", log)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	m := &Memory{c: core{hasher: h, log: log}}
	m.c.snap.Store(s)
	return m, nil
}

// Authenticate returns the user name when password is its password. It returns
// ErrInvalidCredentials alike — same error, one bcrypt compare each — for an unknown user, a wrong
// password and a disabled user; ErrPasswordTooLong for a password over 72 bytes (before any
// compare); ErrOverloaded when the Hasher had no slot in time.
func (m *Memory) Authenticate(ctx context.Context, name, password string) (User, error) {
	return m.c.authenticate(ctx, name, password)
}

// Lookup returns the user name, disabled or not (callers check Disabled), or ErrNotFound.
// It does no bcrypt work.
func (m *Memory) Lookup(ctx context.Context, name string) (User, error) {
	return m.c.lookup(name)
}

// Ready returns nil when a user list is loaded, else ErrNotLoaded.
func (m *Memory) Ready() error { return m.c.ready() }

// Len returns the number of users, disabled ones included.
func (m *Memory) Len() int { return m.c.len() }

// Count returns the number of users, disabled ones included (Len, in the form SQL needs).
func (m *Memory) Count(context.Context) (int, error) { return m.c.len(), m.c.ready() }

// ListUsers implements Admin.ListUsers.
func (m *Memory) ListUsers(_ context.Context, after string, limit int) ([]User, error) {
	return m.c.list(after, limit)
}

// AddUser returns ErrReadOnly: a Memory store's users come from the configuration.
func (m *Memory) AddUser(context.Context, string, Entry) error { return ErrReadOnly }

// SetPassword returns ErrReadOnly.
func (m *Memory) SetPassword(context.Context, string, string) error { return ErrReadOnly }

// SetRoles returns ErrReadOnly.
func (m *Memory) SetRoles(context.Context, string, []string) error { return ErrReadOnly }

// SetDisabled returns ErrReadOnly.
func (m *Memory) SetDisabled(context.Context, string, bool) error { return ErrReadOnly }

// DeleteUser returns ErrReadOnly.
func (m *Memory) DeleteUser(context.Context, string) error { return ErrReadOnly }

var _ Admin = (*Memory)(nil)

// inner exposes the shared core to the package's tests.
func (m *Memory) inner() *core { return &m.c }
