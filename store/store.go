package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// Errors returned by the stores. Callers test them with errors.Is.
var (
	// ErrInvalidCredentials is returned by Authenticate alike for an unknown user, a wrong
	// password and a disabled user, so that neither the answer nor its text tells them apart.
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrPasswordTooLong is returned for a password over 72 bytes, before any bcrypt work:
	// bcrypt would silently compare only the first 72 bytes.
	ErrPasswordTooLong = errors.New("password longer than 72 bytes")
	// ErrOverloaded is returned when no bcrypt slot came free within the Hasher's wait (or before
	// the caller's context ended; the error then also wraps the context's error).
	ErrOverloaded = errors.New("too many password checks in progress")
	// ErrNotFound is returned by Lookup for an unknown user, and by the users-file editing
	// functions for a user that is not in the file.
	ErrNotFound = errors.New("user not found")
	// ErrNotLoaded is returned by a store that has no user list yet (a zero value).
	ErrNotLoaded = errors.New("users not loaded yet")
	// ErrUserExists is returned by AddUser when the name is already in the file.
	ErrUserExists = errors.New("user already exists")
)

const (
	// MaxPasswordBytes is the longest password bcrypt really checks; longer ones are refused.
	MaxPasswordBytes = 72
	// MaxNameBytes is the longest accepted user name.
	MaxNameBytes = 256
	// MaxCost is the highest bcrypt cost accepted, by HashPassword and in any store. A single
	// compare at cost 17 already takes several seconds; higher costs would let one user entry
	// (and the dummy hash that unknown users are checked against) hold a bcrypt slot for minutes.
	MaxCost = 16
	// weakCost is the cost below which a loaded hash draws a warning.
	weakCost = 10
	// maxProblems bounds how many problems one load error lists.
	maxProblems = 10
)

// User is one user as the rest of the service sees it: never with its password hash.
type User struct {
	Name     string
	Roles    []string
	Disabled bool
}

// Entry is one user as configured: a bcrypt hash, roles and the disabled flag. It is the value
// type of the `store.users` config section and of a YAML users file's `users` map.
type Entry struct {
	PasswordHash string
	Roles        []string
	Disabled     bool
}

// String formats e without its password hash, so that an Entry printed by mistake leaks nothing.
func (e Entry) String() string {
	return fmt.Sprintf("{PasswordHash:*** Roles:%v Disabled:%t}", e.Roles, e.Disabled)
}

// LogValue logs e without its password hash.
func (e Entry) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("password_hash", "***"),
		slog.Any("roles", e.Roles),
		slog.Bool("disabled", e.Disabled),
	)
}

// record is one loaded user: its public view and its hash.
type record struct {
	user User
	hash string
}

// snapshot is an immutable user list. Stores swap whole snapshots atomically, so a login always
// sees one complete list, never a half-loaded one.
type snapshot struct {
	users     map[string]record
	dummy     []byte // bcrypt hash of a random password at the highest cost in users
	dummyCost int
}

// sourced is one user entry with where it came from, for error messages.
type sourced struct {
	name  string
	entry Entry
	line  int // 0 when not from a file
}

// problems collects load errors, each naming its file and line when known, and stops listing
// after maxProblems.
type problems struct {
	source string // file path, or "" for the config section
	errs   []error
	more   int
}

func (p *problems) add(line int, format string, args ...any) {
	if len(p.errs) >= maxProblems {
		p.more++
		return
	}
	msg := fmt.Sprintf(format, args...)
	switch {
	case p.source != "" && line > 0:
		msg = fmt.Sprintf("%s:%d: %s", p.source, line, msg)
	case p.source != "":
		msg = p.source + ": " + msg
	case line > 0:
		msg = fmt.Sprintf("line %d: %s", line, msg)
	}
	p.errs = append(p.errs, errors.New(msg))
}

func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	errs := p.errs
	if p.more > 0 {
		errs = append(slices.Clip(errs), fmt.Errorf("… and %d more problems", p.more))
	}
	return errors.Join(errs...)
}

// checked is the outcome of checkEntries: valid users, their highest cost and the weak ones.
type checked struct {
	users   map[string]record
	maxCost int
	weak    []string // names with a cost under weakCost
}

// checkEntries validates entries: names, duplicates, hashes and roles. Every problem found is
// reported (up to maxProblems), each naming the user and, for a file, the line.
func checkEntries(entries []sourced, source string) (checked, error) {
	p := &problems{source: source}
	c := checked{users: make(map[string]record, len(entries))}
	seen := make(map[string]int, len(entries)) // name → line first defined
	for _, se := range entries {
		if err := validName(se.name); err != nil {
			p.add(se.line, "user %q: %v", se.name, err)
			continue
		}
		if l, dup := seen[se.name]; dup {
			if l > 0 {
				p.add(se.line, "user %q: duplicate, first defined at line %d", se.name, l)
			} else {
				p.add(se.line, "user %q: duplicate", se.name)
			}
			continue
		}
		seen[se.name] = se.line
		cost, err := checkHash(se.entry.PasswordHash)
		if err != nil {
			p.add(se.line, "user %q: %v", se.name, err)
			continue
		}
		roles, err := checkRoles(se.entry.Roles)
		if err != nil {
			p.add(se.line, "user %q: %v", se.name, err)
			continue
		}
		if cost < weakCost {
			c.weak = append(c.weak, se.name)
		}
		c.maxCost = max(c.maxCost, cost)
		c.users[se.name] = record{
			user: User{Name: se.name, Roles: roles, Disabled: se.entry.Disabled},
			hash: se.entry.PasswordHash,
		}
	}
	if err := p.err(); err != nil {
		return checked{}, err
	}
	return c, nil
}

// buildSnapshot validates entries and makes a snapshot of them. Costs under weakCost are logged
// as one warning. The dummy hash is made here, once per load, at the highest cost present (reused
// from prev when that cost did not change), never per request.
func buildSnapshot(entries []sourced, prev *snapshot, source string, log *slog.Logger) (*snapshot, error) {
	c, err := checkEntries(entries, source)
	if err != nil {
		return nil, err
	}
	if len(c.weak) > 0 {
		log.Warn("users with a bcrypt cost below 10: rehash their passwords with a higher cost",
			"source", sourceName(source), "count", len(c.weak), "users", c.weak[:min(len(c.weak), 5)])
	}
	s := &snapshot{users: c.users}
	cost := c.maxCost
	if cost == 0 {
		cost = weakCost // an empty store still makes unknown users pay a realistic compare
	}
	if prev != nil && prev.dummyCost == cost {
		s.dummy, s.dummyCost = prev.dummy, prev.dummyCost
		return s, nil
	}
	if s.dummy, err = newDummyHash(cost); err != nil {
		return nil, err
	}
	s.dummyCost = cost
	return s, nil
}

func sourceName(source string) string {
	if source == "" {
		return "store.users"
	}
	return source
}

// checkHash reports whether hash is a well-formed bcrypt hash of an accepted version and cost,
// and returns its cost. Its errors never quote the hash.
func checkHash(hash string) (int, error) {
	if !strings.HasPrefix(hash, "$2a$") && !strings.HasPrefix(hash, "$2b$") && !strings.HasPrefix(hash, "$2y$") {
		if hash == "" {
			return 0, errors.New("no password hash")
		}
		return 0, errors.New("password hash is not a bcrypt hash ($2a$, $2b$ or $2y$)")
	}
	// $2y$10$ + 22 characters of salt + 31 of hash.
	if len(hash) != 60 || hash[6] != '$' || !isDigit(hash[4]) || !isDigit(hash[5]) {
		return 0, errors.New("malformed bcrypt hash")
	}
	for i := 7; i < len(hash); i++ {
		if !isBcryptBase64(hash[i]) {
			return 0, errors.New("malformed bcrypt hash")
		}
	}
	cost := int(hash[4]-'0')*10 + int(hash[5]-'0')
	if cost < 4 || cost > MaxCost {
		return 0, fmt.Errorf("bcrypt cost %d out of range 4..%d", cost, MaxCost)
	}
	return cost, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isBcryptBase64(c byte) bool {
	return c == '.' || c == '/' || ('0' <= c && c <= '9') || ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z')
}

// validName reports whether name may be a user name: non-empty, at most MaxNameBytes, valid
// UTF-8, and free of ':' (the Basic-auth and htpasswd separator), control characters and spaces.
func validName(name string) error {
	switch {
	case name == "":
		return errors.New("empty user name")
	case len(name) > MaxNameBytes:
		return fmt.Errorf("user name longer than %d bytes", MaxNameBytes)
	case !utf8.ValidString(name):
		return errors.New("user name is not valid UTF-8")
	case strings.ContainsRune(name, ':'):
		return errors.New("user name contains ':'")
	case strings.IndexFunc(name, badRune) >= 0:
		return errors.New("user name contains a space or control character")
	}
	return nil
}

func badRune(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

// checkRoles validates roles and returns a private copy.
func checkRoles(roles []string) ([]string, error) {
	for _, r := range roles {
		switch {
		case r == "":
			return nil, errors.New("empty role name")
		case len(r) > MaxNameBytes:
			return nil, fmt.Errorf("role name longer than %d bytes", MaxNameBytes)
		case !utf8.ValidString(r) || strings.IndexFunc(r, badRune) >= 0:
			return nil, fmt.Errorf("role %q contains a space or control character", r)
		case strings.ContainsRune(r, ','):
			// The gateway's X-Auth-Roles joins roles with commas: "viewer,admin" would read as admin.
			return nil, fmt.Errorf("role %q contains a comma", r)
		}
	}
	if len(roles) == 0 {
		return nil, nil
	}
	return slices.Clone(roles), nil
}

// core is what Memory and File share: the current snapshot, the Hasher and the logger.
type core struct {
	snap   atomic.Pointer[snapshot]
	hasher *Hasher
	log    *slog.Logger
}

func (c *core) authenticate(ctx context.Context, name, password string) (User, error) {
	if len(password) > MaxPasswordBytes {
		return User{}, ErrPasswordTooLong
	}
	s := c.snap.Load()
	if s == nil || c.hasher == nil {
		return User{}, ErrNotLoaded
	}
	// One compare in every case: against the user's hash, or the dummy for an unknown user.
	// A disabled user's real hash is compared too, so that its timing matches the others.
	r, known := s.users[name]
	hash := s.dummy
	if known {
		hash = []byte(r.hash)
	}
	ok, err := c.hasher.Compare(ctx, hash, []byte(password))
	if err != nil {
		if errors.Is(err, ErrOverloaded) {
			return User{}, err
		}
		// A hash that passed checkHash but still fails to parse: treat as a failed login and
		// say so in the log without the hash.
		c.log.Error("bcrypt compare failed", "user", name, "err", err)
		return User{}, ErrInvalidCredentials
	}
	if !known || !ok || r.user.Disabled {
		return User{}, ErrInvalidCredentials
	}
	return r.user.clone(), nil
}

func (c *core) lookup(name string) (User, error) {
	s := c.snap.Load()
	if s == nil {
		return User{}, ErrNotLoaded
	}
	r, ok := s.users[name]
	if !ok {
		return User{}, ErrNotFound
	}
	return r.user.clone(), nil
}

func (c *core) ready() error {
	if c.snap.Load() == nil {
		return ErrNotLoaded
	}
	return nil
}

// list returns a page of the users, as Admin.ListUsers does.
func (c *core) list(after string, limit int) ([]User, error) {
	s := c.snap.Load()
	if s == nil {
		return nil, ErrNotLoaded
	}
	names := make([]string, 0, len(s.users))
	for name := range s.users {
		if name > after {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	names = names[:min(len(names), pageLimit(limit))]
	users := make([]User, len(names))
	for i, name := range names {
		users[i] = s.users[name].user.clone()
	}
	return users, nil
}

func (c *core) len() int {
	s := c.snap.Load()
	if s == nil {
		return 0
	}
	return len(s.users)
}

func (u User) clone() User {
	u.Roles = slices.Clone(u.Roles)
	return u
}

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
