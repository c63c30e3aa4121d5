package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestNewMemoryRefuses(t *testing.T) {
	good := mustHash(t, "pw")
	tests := []struct {
		name  string
		users map[string]Entry
		want  []string // substrings of the error
	}{
		{"plaintext", map[string]Entry{"alice": {PasswordHash: "pyconid"}}, []string{`user "alice"`, "not a bcrypt hash"}},
		{"no hash", map[string]Entry{"alice": {}}, []string{`user "alice"`, "no password hash"}},
		{"md5 apr1", map[string]Entry{"alice": {PasswordHash: "$apr1$abcdefgh$0123456789abcdefghijkl"}}, []string{"not a bcrypt hash"}},
		{"2x variant", map[string]Entry{"alice": {PasswordHash: "$2x$" + good[4:]}}, []string{"not a bcrypt hash"}},
		{"truncated hash", map[string]Entry{"alice": {PasswordHash: good[:59]}}, []string{"malformed bcrypt hash"}},
		{"bad alphabet", map[string]Entry{"alice": {PasswordHash: good[:59] + "!"}}, []string{"malformed bcrypt hash"}},
		{"cost too high", map[string]Entry{"alice": {PasswordHash: "$2y$17$" + good[7:]}}, []string{"cost 17"}},
		{"cost too low", map[string]Entry{"alice": {PasswordHash: "$2y$03$" + good[7:]}}, []string{"cost 3"}},
		{"name with colon", map[string]Entry{"al:ice": {PasswordHash: good}}, []string{"':'"}},
		{"name with space", map[string]Entry{"al ice": {PasswordHash: good}}, []string{"space"}},
		{"empty name", map[string]Entry{"": {PasswordHash: good}}, []string{"empty user name"}},
		{"long name", map[string]Entry{strings.Repeat("n", 257): {PasswordHash: good}}, []string{"longer than 256"}},
		{"empty role", map[string]Entry{"alice": {PasswordHash: good, Roles: []string{""}}}, []string{"empty role"}},
		{"every problem at once", map[string]Entry{
			"alice": {PasswordHash: "plain-one"},
			"bob":   {PasswordHash: "plain-two"},
		}, []string{`user "alice"`, `user "bob"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewMemory(tc.users, nil, nil)
			if err == nil {
				t.Fatal("NewMemory error = nil, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, e := range tc.users {
				if e.PasswordHash != "" && strings.Contains(err.Error(), e.PasswordHash) {
					t.Errorf("error %q quotes the hash", err)
				}
			}
		})
	}
}

func TestNewMemoryAcceptsEveryBcryptVersion(t *testing.T) {
	h := mustHash(t, "pw") // $2a$
	users := map[string]Entry{"a": {PasswordHash: h}, "b": {PasswordHash: "$2b$" + h[4:]}, "y": {PasswordHash: "$2y$" + h[4:]}}
	m, err := NewMemory(users, nil, nil)
	if err != nil {
		t.Fatalf("NewMemory: %v", err)
	}
	for name := range users {
		if _, err := m.Authenticate(context.Background(), name, "pw"); err != nil {
			t.Errorf("Authenticate(%q) error = %v, want nil", name, err)
		}
	}
}

func TestNewMemoryWarnsOnWeakCost(t *testing.T) {
	log, buf := newLogger()
	if _, err := NewMemory(map[string]Entry{"alice": {PasswordHash: mustHash(t, "pw")}}, nil, log); err != nil {
		t.Fatalf("NewMemory: %v", err)
	}
	if out := buf.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "alice") {
		t.Errorf("log = %q, want a warning naming alice", out)
	}
	assertNoHashes(t, buf)
}

func TestEmptyMemoryRejectsEveryone(t *testing.T) {
	t.Parallel()
	m, err := NewMemory(nil, nil, nil)
	if err != nil {
		t.Fatalf("NewMemory(nil): %v", err)
	}
	if err := m.Ready(); err != nil || m.Len() != 0 {
		t.Errorf("Ready() = %v, Len() = %d; want nil, 0", err, m.Len())
	}
	if _, err := m.Authenticate(context.Background(), "alice", "pw"); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("Authenticate error = %v, want ErrInvalidCredentials", err)
	}
}

func TestZeroStoresAreNotLoaded(t *testing.T) {
	for name, s := range map[string]interface {
		credentials
		Ready() error
	}{"Memory": &Memory{}, "File": &File{}} {
		if err := s.Ready(); !errors.Is(err, ErrNotLoaded) {
			t.Errorf("%s.Ready() = %v, want ErrNotLoaded", name, err)
		}
		if _, err := s.Authenticate(context.Background(), "a", "b"); !errors.Is(err, ErrNotLoaded) {
			t.Errorf("%s.Authenticate error = %v, want ErrNotLoaded", name, err)
		}
		if _, err := s.Lookup(context.Background(), "a"); !errors.Is(err, ErrNotLoaded) {
			t.Errorf("%s.Lookup error = %v, want ErrNotLoaded", name, err)
		}
	}
	if err := (&File{}).Close(); err != nil {
		t.Errorf("zero File Close() = %v, want nil", err)
	}
}

func TestEntryNeverPrintsItsHash(t *testing.T) {
	e := Entry{PasswordHash: mustHash(t, "pw"), Roles: []string{"admin"}}
	if !bcryptHash.MatchString(e.PasswordHash) {
		t.Fatal("bcryptHash does not match a bcrypt hash")
	}
	log, buf := newLogger()
	log.Info("entry", "e", e)
	for _, s := range []string{e.String(), buf.String()} {
		if bcryptHash.MatchString(s) || !strings.Contains(s, "admin") {
			t.Errorf("printed entry = %q, want roles without the hash", s)
		}
	}
}
