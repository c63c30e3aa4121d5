package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// credentials is what every credential store offers; the conformance suite holds each store to it.
type credentials interface {
	Admin
	Authenticate(ctx context.Context, name, password string) (User, error)
	Count(ctx context.Context) (int, error)
}

// subject is one store under the conformance suite, with what the suite looks at inside it.
type subject struct {
	credentials
	ready  func(ctx context.Context) error
	hasher *Hasher
	// dummyCost returns the cost of the dummy hash an unknown user was last compared against.
	dummyCost func(t *testing.T) int
	// replica returns another client of the same users, as a second replica would be (the same
	// store where there is no such thing).
	replica func(t *testing.T) credentials
}

// coreSubject is the subject of a Memory or File store.
func coreSubject(s interface {
	credentials
	Ready() error
	inner() *core
}) subject {
	return subject{
		credentials: s,
		ready:       func(context.Context) error { return s.Ready() },
		hasher:      s.inner().hasher,
		dummyCost: func(t *testing.T) int {
			cost, err := bcrypt.Cost(s.inner().snap.Load().dummy)
			if err != nil {
				t.Fatalf("dummy hash: %v", err)
			}
			return cost
		},
		replica: func(*testing.T) credentials { return s },
	}
}

// conformanceHasher is generous, so that only the overload test ever sees ErrOverloaded.
func conformanceHasher() *Hasher { return NewHasher(4, 10*time.Second) }

// needPlainUsers skips the test when users need roles or a disabled flag, which an htpasswd file
// cannot hold.
func needPlainUsers(t *testing.T, users map[string]Entry) {
	t.Helper()
	for _, e := range users {
		if len(e.Roles) > 0 || e.Disabled {
			t.Skip("htpasswd cannot hold roles or disabled users")
		}
	}
}

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	runConformance(t, openMemory)
}

func openMemory(t *testing.T, users map[string]Entry) subject {
	m, err := NewMemory(users, conformanceHasher(), nil)
	if err != nil {
		t.Fatalf("NewMemory: %v", err)
	}
	return coreSubject(m)
}

func TestFileConformance(t *testing.T) {
	t.Parallel()
	for _, flavour := range []struct {
		name, file string
		render     func(t *testing.T, users map[string]Entry) []byte
	}{
		{"yaml", "users.yaml", func(t *testing.T, u map[string]Entry) []byte { return yamlUsers(u) }},
		{"yml", "users.yml", func(t *testing.T, u map[string]Entry) []byte { return yamlUsers(u) }},
		{"htpasswd", "htpasswd", func(t *testing.T, u map[string]Entry) []byte {
			needPlainUsers(t, u)
			return htpasswdUsers(t, u)
		}},
	} {
		t.Run(flavour.name, func(t *testing.T) {
			open := func(t *testing.T, users map[string]Entry) subject {
				path := filepath.Join(t.TempDir(), flavour.file)
				writeFile(t, path, flavour.render(t, users))
				return coreSubject(openFileStore(t, path))
			}
			runConformance(t, open)
			if flavour.name != "htpasswd" {
				runAdminConformance(t, open)
			}
		})
	}
}

func openFileStore(t *testing.T, path string) *File {
	t.Helper()
	f, err := OpenFile(path, FileOptions{Watch: true, Hasher: conformanceHasher()})
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return f
}

// runConformance is the one suite every credential store must pass. open returns a store over
// users; it may skip the test when its store cannot hold them (htpasswd: roles, disabled).
func runConformance(t *testing.T, open func(t *testing.T, users map[string]Entry) subject) {
	long72 := strings.Repeat("p", 72)
	plain := map[string]Entry{
		"alice": {PasswordHash: mustHash(t, "alice-pw")},
		"Bob":   {PasswordHash: mustHash(t, "bob-pw")},
		"long":  {PasswordHash: mustHash(t, long72)},
	}
	rich := map[string]Entry{
		"alice": {PasswordHash: plain["alice"].PasswordHash, Roles: []string{"admin", "ops"}},
		"carol": {PasswordHash: mustHash(t, "carol-pw"), Disabled: true, Roles: []string{"ops"}},
		"dave":  {PasswordHash: mustHash(t, "dave-pw")},
	}
	ctx := context.Background()

	t.Run("ready and len", func(t *testing.T) {
		s := open(t, plain)
		if err := s.ready(ctx); err != nil {
			t.Errorf("Ready() = %v, want nil", err)
		}
		if got, err := s.Count(ctx); got != len(plain) || err != nil {
			t.Errorf("Count() = %d, %v; want %d, nil", got, err, len(plain))
		}
	})

	t.Run("right password", func(t *testing.T) {
		s := open(t, plain)
		for name, pw := range map[string]string{"alice": "alice-pw", "Bob": "bob-pw", "long": long72} {
			u, err := s.Authenticate(ctx, name, pw)
			if err != nil {
				t.Fatalf("Authenticate(%q) error = %v, want nil", name, err)
			}
			if u.Name != name || u.Disabled || len(u.Roles) != 0 {
				t.Errorf("Authenticate(%q) = %+v, want name %q, no roles, enabled", name, u, name)
			}
		}
	})

	t.Run("right password returns roles", func(t *testing.T) {
		s := open(t, rich)
		u, err := s.Authenticate(ctx, "alice", "alice-pw")
		if err != nil {
			t.Fatalf("Authenticate error = %v, want nil", err)
		}
		if got, want := strings.Join(u.Roles, ","), "admin,ops"; got != want || u.Name != "alice" {
			t.Errorf("Authenticate = %+v, want alice with roles %s", u, want)
		}
		u.Roles[0] = "root" // the caller's copy, not the store's
		if u2, _ := s.Authenticate(ctx, "alice", "alice-pw"); u2.Roles[0] != "admin" {
			t.Errorf("changing a returned user changed the store: roles %v", u2.Roles)
		}
	})

	rejected := []struct {
		name, user, password string
		rich                 bool
	}{
		{"wrong password", "alice", "alice-pw!", false},
		{"empty password", "alice", "", false},
		{"unknown user", "mallory", "alice-pw", false},
		{"empty user", "", "alice-pw", false},
		{"case of name", "Alice", "alice-pw", false},
		{"case of name 2", "bob", "bob-pw", false},
		{"prefix of password", "long", long72[:71], false},
		{"disabled user, right password", "carol", "carol-pw", true},
		{"disabled user, wrong password", "carol", "nope", true},
		{"unknown user, rich store", "mallory", "x", true},
		{"wrong password, rich store", "dave", "alice-pw", true},
	}
	for _, tc := range rejected {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			users := plain
			if tc.rich {
				users = rich
			}
			s := open(t, users)
			h := s.hasher
			before := h.compares.Load()
			u, err := s.Authenticate(ctx, tc.user, tc.password)
			if !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("Authenticate(%q) error = %v, want ErrInvalidCredentials", tc.user, err)
			}
			if got, want := err.Error(), ErrInvalidCredentials.Error(); got != want {
				t.Errorf("error text = %q, want %q (identical for every rejection)", got, want)
			}
			if u.Name != "" || u.Roles != nil {
				t.Errorf("Authenticate returned user %+v with its error", u)
			}
			// One bcrypt compare, as for a real user: timing does not tell the cases apart.
			if got := h.compares.Load() - before; got != 1 {
				t.Errorf("bcrypt compares = %d, want 1", got)
			}
		})
	}

	t.Run("unknown users are compared against a dummy of the highest cost", func(t *testing.T) {
		users := map[string]Entry{
			"low":  {PasswordHash: mustHashCost(t, "pw", bcrypt.MinCost)},
			"high": {PasswordHash: mustHashCost(t, "pw", bcrypt.MinCost+2)},
		}
		s := open(t, users)
		if _, err := s.Authenticate(ctx, "mallory", "pw"); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("Authenticate(mallory) error = %v, want ErrInvalidCredentials", err)
		}
		if got, want := s.dummyCost(t), bcrypt.MinCost+2; got != want {
			t.Errorf("dummy hash cost = %d, want %d", got, want)
		}
	})

	t.Run("72-byte limit", func(t *testing.T) {
		s := open(t, plain)
		if _, err := s.Authenticate(ctx, "long", long72); err != nil {
			t.Errorf("72-byte password: error = %v, want nil", err)
		}
		h := s.hasher
		before := h.compares.Load()
		// bcrypt alone would accept this one: it ignores everything past byte 72.
		for _, user := range []string{"long", "mallory"} {
			if _, err := s.Authenticate(ctx, user, long72+"x"); !errors.Is(err, ErrPasswordTooLong) {
				t.Errorf("73-byte password for %q: error = %v, want ErrPasswordTooLong", user, err)
			}
		}
		if got := h.compares.Load() - before; got != 0 {
			t.Errorf("bcrypt compares for 73-byte passwords = %d, want 0", got)
		}
	})

	t.Run("lookup", func(t *testing.T) {
		s := open(t, rich)
		cases := []struct {
			name    string
			want    User
			wantErr error
		}{
			{"alice", User{Name: "alice", Roles: []string{"admin", "ops"}}, nil},
			{"carol", User{Name: "carol", Roles: []string{"ops"}, Disabled: true}, nil},
			{"dave", User{Name: "dave"}, nil},
			{"Alice", User{}, ErrNotFound},
			{"mallory", User{}, ErrNotFound},
		}
		for _, tc := range cases {
			h := s.hasher
			before := h.compares.Load()
			got, err := s.Lookup(ctx, tc.name)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Lookup(%q) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			if got.Name != tc.want.Name || got.Disabled != tc.want.Disabled ||
				strings.Join(got.Roles, ",") != strings.Join(tc.want.Roles, ",") {
				t.Errorf("Lookup(%q) = %+v, want %+v", tc.name, got, tc.want)
			}
			if n := h.compares.Load() - before; n != 0 {
				t.Errorf("Lookup(%q) made %d bcrypt compares, want 0", tc.name, n)
			}
		}
	})

	t.Run("lookup plain", func(t *testing.T) {
		s := open(t, plain)
		if u, err := s.Lookup(ctx, "Bob"); err != nil || u.Name != "Bob" {
			t.Errorf("Lookup(Bob) = %+v, %v; want Bob, nil", u, err)
		}
		if _, err := s.Lookup(ctx, "bob"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Lookup(bob) error = %v, want ErrNotFound", err)
		}
	})

	t.Run("concurrent authenticate", func(t *testing.T) {
		s := open(t, plain)
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for i := range 8 {
			wg.Go(func() {
				for j := range 3 {
					name, pw, want := "alice", "alice-pw", error(nil)
					switch (i + j) % 3 {
					case 1:
						pw, want = "wrong", ErrInvalidCredentials
					case 2:
						name, want = "nobody", ErrInvalidCredentials
					}
					u, err := s.Authenticate(ctx, name, pw)
					if !errors.Is(err, want) || (want == nil && u.Name != name) {
						errs <- err
					}
					_, _ = s.Lookup(ctx, "Bob")
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent Authenticate: unexpected result, error %v", err)
		}
	})

	t.Run("overloaded hasher", func(t *testing.T) {
		s := open(t, plain)
		h := s.hasher
		for range cap(h.slots) {
			h.slots <- struct{}{} // every slot busy
		}
		for _, name := range []string{"alice", "mallory"} {
			ctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			_, err := s.Authenticate(ctx, name, "alice-pw")
			cancel()
			if !errors.Is(err, ErrOverloaded) {
				t.Errorf("Authenticate(%q) with every slot busy: error = %v, want ErrOverloaded", name, err)
			}
		}
		for range cap(h.slots) {
			<-h.slots
		}
		if _, err := s.Authenticate(ctx, "alice", "alice-pw"); err != nil {
			t.Errorf("Authenticate after slots freed: error = %v, want nil", err)
		}
	})
}
