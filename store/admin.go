package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Admin is user administration: what the `tokengate users` command and the admin API need of a
// store. [File] and [SQL] implement it; [Memory] does too, read-only (every change returns
// [ErrReadOnly]). Changes are seen by the store's own logins at once: a File rewrites its file and
// reloads it before returning; SQL writes its database, which every replica reads on every login.
//
// A change never checks a password: callers hash new passwords (HashPassword) after
// [ValidatePassword], and validate new names with [ValidateName].
type Admin interface {
	// Lookup returns a user, disabled or not, or ErrNotFound.
	Lookup(ctx context.Context, name string) (User, error)
	// ListUsers returns at most limit users whose names sort after after (in byte order), in that
	// order: a page. An empty after starts at the beginning; the last name of a page is the after
	// of the next. A limit below 1 or over MaxPage means MaxPage.
	ListUsers(ctx context.Context, after string, limit int) ([]User, error)
	// AddUser adds user name with e's hash, roles and disabled flag. It returns an error wrapping
	// ErrUserExists when name is taken — also when another process adds it at the same moment:
	// exactly one wins — and one wrapping ErrInvalid for a name ValidateName refuses, a hash that
	// is not bcrypt or a bad role.
	AddUser(ctx context.Context, name string, e Entry) error
	// SetPassword replaces the password hash of name (ErrNotFound for an unknown user).
	SetPassword(ctx context.Context, name, hash string) error
	// SetRoles replaces the roles of name (ErrNotFound for an unknown user).
	SetRoles(ctx context.Context, name string, roles []string) error
	// SetDisabled disables or enables name (ErrNotFound for an unknown user).
	SetDisabled(ctx context.Context, name string, disabled bool) error
	// DeleteUser removes name (ErrNotFound for an unknown user).
	DeleteUser(ctx context.Context, name string) error
}

// More errors of user administration. Callers test them with errors.Is.
var (
	// ErrReadOnly is returned by every change to a Memory store: its users come from the
	// configuration.
	ErrReadOnly = errors.New("the user store is read-only")
	// ErrUnsupported is returned for a change this store cannot hold: roles or a disabled user in
	// an htpasswd file, or removing the last user of a users file.
	ErrUnsupported = errors.New("not supported by this user store")
	// ErrInvalid is wrapped by every refusal of a new user name, a new password, a hash or a
	// role; the error's text says what is wrong, and never quotes a password or a hash.
	ErrInvalid = errors.New("invalid user data")
)

const (
	// MaxPage is the largest page ListUsers returns.
	MaxPage = 1000
	// MaxNewNameChars is the longest user name, in characters, that a new user may have.
	MaxNewNameChars = 64
	// MinPasswordBytes is the shortest new password accepted.
	MinPasswordBytes = 8
)

// invalidError is a refusal with a text safe to show; it wraps ErrInvalid.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Unwrap() error { return ErrInvalid }

func invalid(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// ValidateName reports whether name may be given to a new user: 1 to 64 printable characters of
// valid UTF-8, without ':' (the Basic-auth and htpasswd separator) or any space. Its error wraps
// ErrInvalid. Users loaded from a file or the configuration are held to the looser rule of
// loading (up to MaxNameBytes bytes, no control character or space), so that an upgrade never
// locks anyone out.
func ValidateName(name string) error {
	switch {
	case name == "":
		return invalid("empty user name")
	case !utf8.ValidString(name):
		return invalid("user name is not valid UTF-8")
	case utf8.RuneCountInString(name) > MaxNewNameChars:
		return invalid("user name longer than %d characters", MaxNewNameChars)
	case strings.ContainsRune(name, ':'):
		return invalid("user name contains ':'")
	case strings.IndexFunc(name, func(r rune) bool { return r == ' ' || !unicode.IsPrint(r) }) >= 0:
		return invalid("user name contains a space or control character, or one that is not printable")
	}
	return nil
}

// ValidatePassword reports whether password may become the password of user name: 8 to 72
// bytes (bcrypt checks no more), and not the user name itself. Its error wraps ErrInvalid and
// never quotes the password.
func ValidatePassword(name, password string) error {
	switch {
	case len(password) < MinPasswordBytes:
		return invalid("password shorter than %d bytes", MinPasswordBytes)
	case len(password) > MaxPasswordBytes:
		return invalid("password longer than %d bytes", MaxPasswordBytes)
	case password == name:
		return invalid("password is the user name")
	}
	return nil
}

// ValidateRoles reports whether roles may be given to a user: each non-empty, at most
// MaxNameBytes, without spaces or control characters. Its error wraps ErrInvalid.
func ValidateRoles(roles []string) error {
	_, err := checkNewRoles(roles)
	return err
}

// checkNewUser validates what AddUser is given: the name, the hash and the roles.
func checkNewUser(name string, e Entry) ([]string, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := checkNewHash(e.PasswordHash); err != nil {
		return nil, err
	}
	return checkNewRoles(e.Roles)
}

// checkNewHash is checkHash for a change: its error wraps ErrInvalid.
func checkNewHash(hash string) error {
	if _, err := checkHash(hash); err != nil {
		return invalid("%v", err)
	}
	return nil
}

// checkNewRoles is checkRoles for a change: its error wraps ErrInvalid. Duplicates are dropped,
// and the result is sorted, so that every store keeps and returns roles alike.
func checkNewRoles(roles []string) ([]string, error) {
	roles, err := checkRoles(roles)
	if err != nil {
		return nil, invalid("%v", err)
	}
	slices.Sort(roles)
	return slices.Compact(roles), nil
}

// pageLimit turns a ListUsers limit into the page size.
func pageLimit(limit int) int {
	if limit < 1 || limit > MaxPage {
		return MaxPage
	}
	return limit
}
