package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"alice", true},
		{"Alice", true},
		{"a", true},
		{"ünïcödé", true},
		{"user@example.com", true},
		{"o'brien", true},
		{strings.Repeat("n", 64), true},
		{strings.Repeat("ü", 64), true}, // 64 characters, 128 bytes
		{"", false},
		{strings.Repeat("n", 65), false},
		{"a:b", false},
		{"a b", false},
		{" alice", false},
		{"a\tb", false},
		{"a\nb", false},
		{"a\x00b", false},
		{"a\u00a0b", false}, // no-break space
		{"a\u200bb", false}, // zero-width space: not printable
		{"a\u2028b", false}, // line separator
		{"\xff", false},
	}
	for _, tc := range tests {
		err := ValidateName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateName(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateName(%q) error %v does not wrap ErrInvalid", tc.name, err)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		user, password string
		ok             bool
	}{
		{"alice", "12345678", true},
		{"alice", strings.Repeat("p", 72), true},
		{"alice", "Alice-pw", true},
		{"alice", "alice123", true},
		{"alice", "1234567", false},
		{"alice", "", false},
		{"alice", strings.Repeat("p", 73), false},
		{"alice-is-long", "alice-is-long", false},
	}
	for _, tc := range tests {
		err := ValidatePassword(tc.user, tc.password)
		if (err == nil) != tc.ok {
			t.Errorf("ValidatePassword(%q, %d bytes) = %v, want ok %v", tc.user, len(tc.password), err, tc.ok)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if tc.password != "" && strings.Contains(err.Error(), tc.password) {
				t.Errorf("error %q quotes the password", err)
			}
		}
	}
}

func TestMemoryIsReadOnly(t *testing.T) {
	ctx := t.Context()
	h := mustHash(t, "alice-pw")
	m, err := NewMemory(map[string]Entry{"alice": {PasswordHash: h, Roles: []string{"admin"}}, "Bob": {PasswordHash: h}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	changes := map[string]error{
		"AddUser":     m.AddUser(ctx, "carol", Entry{PasswordHash: h}),
		"SetPassword": m.SetPassword(ctx, "alice", h),
		"SetRoles":    m.SetRoles(ctx, "alice", nil),
		"SetDisabled": m.SetDisabled(ctx, "alice", true),
		"DeleteUser":  m.DeleteUser(ctx, "alice"),
	}
	for name, err := range changes {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s error = %v, want ErrReadOnly", name, err)
		}
	}
	users, err := m.ListUsers(ctx, "", 0)
	if err != nil || len(users) != 2 || users[0].Name != "Bob" || users[1].Name != "alice" || users[1].Roles[0] != "admin" {
		t.Errorf("ListUsers = %+v, %v; want Bob, alice (admin)", users, err)
	}
	if _, err := m.Authenticate(ctx, "alice", "alice-pw"); err != nil {
		t.Errorf("Authenticate after refused changes: %v", err)
	}
}

// runAdminConformance is the suite every writable store (File, SQL) must pass: what
// `tokengate users` and the admin API do through Admin.
func runAdminConformance(t *testing.T, open func(t *testing.T, users map[string]Entry) subject) {
	base := map[string]Entry{
		"alice": {PasswordHash: mustHash(t, "alice-pw"), Roles: []string{"admin"}},
		"dave":  {PasswordHash: mustHash(t, "dave-pw")},
	}
	carolHash := mustHash(t, "carol-pw")

	t.Run("admin: add", func(t *testing.T) {
		s := open(t, base)
		ctx := t.Context()
		if err := s.AddUser(ctx, "carol", Entry{PasswordHash: carolHash, Roles: []string{"ops", "admin", "ops"}}); err != nil {
			t.Fatalf("AddUser: %v", err)
		}
		u, err := s.Authenticate(ctx, "carol", "carol-pw")
		if err != nil {
			t.Fatalf("Authenticate(carol) after AddUser: %v", err)
		}
		if got, want := strings.Join(u.Roles, ","), "admin,ops"; got != want || u.Disabled {
			t.Errorf("carol = %+v, want roles %s (sorted, no duplicates), enabled", u, want)
		}
		if got, err := s.Count(ctx); got != 3 || err != nil {
			t.Errorf("Count() = %d, %v; want 3", got, err)
		}
		if err := s.AddUser(ctx, "erin", Entry{PasswordHash: carolHash, Disabled: true}); err != nil {
			t.Fatalf("AddUser(disabled erin): %v", err)
		}
		if u, err := s.Lookup(ctx, "erin"); err != nil || !u.Disabled || u.Roles != nil {
			t.Errorf("Lookup(erin) = %+v, %v; want disabled, no roles", u, err)
		}
		if _, err := s.Authenticate(ctx, "erin", "carol-pw"); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("Authenticate(disabled erin) error = %v, want ErrInvalidCredentials", err)
		}
	})

	t.Run("admin: add refusals", func(t *testing.T) {
		s := open(t, base)
		ctx := t.Context()
		good := Entry{PasswordHash: carolHash}
		tests := []struct {
			name string
			user string
			e    Entry
			want error
		}{
			{"existing", "alice", good, ErrUserExists},
			{"empty name", "", good, ErrInvalid},
			{"colon", "a:b", good, ErrInvalid},
			{"space", "a b", good, ErrInvalid},
			{"65 characters", strings.Repeat("n", 65), good, ErrInvalid},
			{"plaintext", "carol", Entry{PasswordHash: "carol-pw"}, ErrInvalid},
			{"no hash", "carol", Entry{}, ErrInvalid},
			{"empty role", "carol", Entry{PasswordHash: carolHash, Roles: []string{""}}, ErrInvalid},
			{"role with space", "carol", Entry{PasswordHash: carolHash, Roles: []string{"a b"}}, ErrInvalid},
		}
		for _, tc := range tests {
			err := s.AddUser(ctx, tc.user, tc.e)
			if !errors.Is(err, tc.want) {
				t.Errorf("%s: AddUser error = %v, want %v", tc.name, err, tc.want)
			}
			if err != nil && (strings.Contains(err.Error(), "carol-pw") || bcryptHash.MatchString(err.Error())) {
				t.Errorf("%s: error %q quotes a password or hash", tc.name, err)
			}
		}
		if got, err := s.Count(ctx); got != 2 || err != nil {
			t.Errorf("Count() after refusals = %d, %v; want 2", got, err)
		}
		// Names are case-sensitive: Alice is not alice.
		if err := s.AddUser(ctx, "Alice", good); err != nil {
			t.Errorf("AddUser(Alice) beside alice: %v", err)
		}
		if _, err := s.Authenticate(ctx, "alice", "alice-pw"); err != nil {
			t.Errorf("alice after Alice was added: %v", err)
		}
	})

	t.Run("admin: set password", func(t *testing.T) {
		s := open(t, base)
		ctx := t.Context()
		if err := s.SetPassword(ctx, "alice", mustHash(t, "new-alice-pw")); err != nil {
			t.Fatalf("SetPassword: %v", err)
		}
		if _, err := s.Authenticate(ctx, "alice", "alice-pw"); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("old password: error = %v, want ErrInvalidCredentials", err)
		}
		u, err := s.Authenticate(ctx, "alice", "new-alice-pw")
		if err != nil || strings.Join(u.Roles, ",") != "admin" {
			t.Errorf("new password: %+v, %v; want alice with her role kept", u, err)
		}
		if err := s.SetPassword(ctx, "Alice", carolHash); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetPassword(Alice) error = %v, want ErrNotFound", err)
		}
		if err := s.SetPassword(ctx, "alice", "plain"); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetPassword(plaintext) error = %v, want ErrInvalid", err)
		}
	})

	t.Run("admin: set roles", func(t *testing.T) {
		s := open(t, base)
		ctx := t.Context()
		for _, tc := range []struct {
			roles []string
			want  string
		}{
			{[]string{"ops", "audit"}, "audit,ops"},
			{[]string{}, ""},
			{[]string{"admin"}, "admin"},
			{nil, ""},
		} {
			if err := s.SetRoles(ctx, "alice", tc.roles); err != nil {
				t.Fatalf("SetRoles(%v): %v", tc.roles, err)
			}
			u, err := s.Lookup(ctx, "alice")
			if err != nil || strings.Join(u.Roles, ",") != tc.want || (tc.want == "" && u.Roles != nil) {
				t.Errorf("after SetRoles(%v): Lookup = %+v, %v; want roles %q", tc.roles, u, err, tc.want)
			}
			if u, err := s.Authenticate(ctx, "alice", "alice-pw"); err != nil || strings.Join(u.Roles, ",") != tc.want {
				t.Errorf("after SetRoles(%v): Authenticate = %+v, %v; want roles %q", tc.roles, u, err, tc.want)
			}
		}
		if err := s.SetRoles(ctx, "nobody", []string{"x"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetRoles(nobody) error = %v, want ErrNotFound", err)
		}
		if err := s.SetRoles(ctx, "alice", []string{"a b"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetRoles(bad role) error = %v, want ErrInvalid", err)
		}
	})

	t.Run("admin: disable and enable", func(t *testing.T) {
		s := open(t, base)
		ctx := t.Context()
		if err := s.SetDisabled(ctx, "alice", true); err != nil {
			t.Fatalf("SetDisabled(true): %v", err)
		}
		before := s.hasher.compares.Load()
		if _, err := s.Authenticate(ctx, "alice", "alice-pw"); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("disabled alice: error = %v, want ErrInvalidCredentials", err)
		}
		if got := s.hasher.compares.Load() - before; got != 1 {
			t.Errorf("bcrypt compares for a disabled user = %d, want 1", got)
		}
		if u, err := s.Lookup(ctx, "alice"); err != nil || !u.Disabled || strings.Join(u.Roles, ",") != "admin" {
			t.Errorf("Lookup(disabled alice) = %+v, %v; want disabled, role kept", u, err)
		}
		if err := s.SetDisabled(ctx, "alice", false); err != nil {
			t.Fatalf("SetDisabled(false): %v", err)
		}
		if _, err := s.Authenticate(ctx, "alice", "alice-pw"); err != nil {
			t.Errorf("enabled alice: %v", err)
		}
		if err := s.SetDisabled(ctx, "nobody", true); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetDisabled(nobody) error = %v, want ErrNotFound", err)
		}
	})

	t.Run("admin: delete", func(t *testing.T) {
		s := open(t, base)
		ctx := t.Context()
		if err := s.DeleteUser(ctx, "alice"); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		if _, err := s.Lookup(ctx, "alice"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Lookup after DeleteUser: error = %v, want ErrNotFound", err)
		}
		if _, err := s.Authenticate(ctx, "alice", "alice-pw"); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("Authenticate after DeleteUser: error = %v, want ErrInvalidCredentials", err)
		}
		if err := s.DeleteUser(ctx, "alice"); !errors.Is(err, ErrNotFound) {
			t.Errorf("second DeleteUser error = %v, want ErrNotFound", err)
		}
		if got, err := s.Count(ctx); got != 1 || err != nil {
			t.Errorf("Count() = %d, %v; want 1", got, err)
		}
		// A deleted name is free again, with nothing of the old user.
		if err := s.AddUser(ctx, "alice", Entry{PasswordHash: carolHash}); err != nil {
			t.Fatalf("AddUser after DeleteUser: %v", err)
		}
		if u, err := s.Authenticate(ctx, "alice", "carol-pw"); err != nil || u.Roles != nil {
			t.Errorf("new alice = %+v, %v; want no roles", u, err)
		}
	})

	t.Run("admin: list pages in byte order", func(t *testing.T) {
		s := open(t, base)
		ctx := t.Context()
		names := []string{"alice", "dave"}
		for i := range 23 {
			// Upper and lower case, digits and non-ASCII, so that a collation other than byte order
			// would show.
			name := fmt.Sprintf("%s%02d", []string{"B", "a", "Z", "z", "Ä", "ä", "o", "_"}[i%8], i)
			names = append(names, name)
			if err := s.AddUser(ctx, name, Entry{PasswordHash: carolHash, Disabled: i%3 == 0}); err != nil {
				t.Fatalf("AddUser(%q): %v", name, err)
			}
		}
		slices.Sort(names) // Go compares strings byte by byte
		var got []string
		after := ""
		for page := 0; ; page++ {
			users, err := s.ListUsers(ctx, after, 10)
			if err != nil {
				t.Fatalf("ListUsers(%q, 10): %v", after, err)
			}
			if len(users) > 10 {
				t.Fatalf("page of %d users, want at most 10", len(users))
			}
			if len(users) == 0 {
				break
			}
			for _, u := range users {
				got = append(got, u.Name)
			}
			after = users[len(users)-1].Name
			if page > 10 {
				t.Fatal("paging does not end")
			}
		}
		if !slices.Equal(got, names) {
			t.Errorf("paged names =\n%q\nwant\n%q", got, names)
		}
		all, err := s.ListUsers(ctx, "", 0)
		if err != nil || len(all) != len(names) {
			t.Fatalf("ListUsers(limit 0) = %d users, %v; want all %d", len(all), err, len(names))
		}
		for _, u := range all {
			want, _ := s.Lookup(ctx, u.Name)
			if u.Disabled != want.Disabled || strings.Join(u.Roles, ",") != strings.Join(want.Roles, ",") {
				t.Errorf("listed %+v, Lookup says %+v", u, want)
			}
		}
		if users, err := s.ListUsers(ctx, "\U0010ffff", 10); err != nil || len(users) != 0 {
			t.Errorf("ListUsers after the last name = %+v, %v; want none", users, err)
		}
	})

	t.Run("admin: concurrent adds of one name have one winner", func(t *testing.T) {
		s := open(t, base)
		stores := []credentials{s, s.replica(t)}
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = stores[i%2].AddUser(t.Context(), "carol", Entry{PasswordHash: carolHash, Roles: []string{fmt.Sprint("r", i)}})
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, ErrUserExists):
				t.Errorf("AddUser %d: error = %v, want nil or ErrUserExists", i, err)
			}
		}
		if wins != 1 {
			t.Errorf("%d AddUser calls succeeded, want exactly 1", wins)
		}
		for _, st := range stores {
			if _, err := st.Authenticate(t.Context(), "carol", "carol-pw"); err != nil {
				t.Errorf("carol cannot log in after the race: %v", err)
			}
		}
	})

	t.Run("admin: a change is seen by every replica at once", func(t *testing.T) {
		s := open(t, base)
		r := s.replica(t)
		ctx := t.Context()
		if err := s.AddUser(ctx, "carol", Entry{PasswordHash: carolHash}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Authenticate(ctx, "carol", "carol-pw"); err != nil {
			t.Errorf("replica: carol cannot log in right after AddUser: %v", err)
		}
		if err := s.SetDisabled(ctx, "carol", true); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Authenticate(ctx, "carol", "carol-pw"); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("replica: disabled carol: error = %v, want ErrInvalidCredentials", err)
		}
	})
}
