package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const yamlWithComments = `# tokengate users — edited by hand and by ` + "`tokengate users`" + `
users:
  # the admin
  alice:
    password_hash: "%ALICE%"
    roles: [admin, ops] # two roles
  bob:
    password_hash: "%BOB%"
    disabled: true
`

const htpasswdWithComments = "# made by htpasswd -B\nalice:%ALICE%\n\n# bob is new\nbob:%BOB%\n"

// editFixture writes a users file in the given format with alice and bob, at mode 0640.
func editFixture(t *testing.T, file string) (path string, hashes map[string]string) {
	t.Helper()
	hashes = map[string]string{"alice": mustHash(t, "alice-pw"), "bob": mustHash(t, "bob-pw")}
	tmpl := htpasswdWithComments
	if formatOf(file) == formatYAML {
		tmpl = yamlWithComments
	}
	content := strings.NewReplacer("%ALICE%", hashes["alice"], "%BOB%", hashes["bob"]).Replace(tmpl)
	path = filepath.Join(t.TempDir(), file)
	writeFile(t, path, []byte(content))
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	return path, hashes
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertEdited checks what every edit must keep: mode, format (it loads as before), comments, no
// temporary files left behind, and a new inode (written by rename, not in place).
func assertEdited(t *testing.T, path string, before os.FileInfo, comments ...string) {
	t.Helper()
	after, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if after.Mode() != before.Mode() {
		t.Errorf("mode = %v, want %v", after.Mode(), before.Mode())
	}
	if os.SameFile(before, after) {
		t.Error("file was rewritten in place, want a rename")
	}
	content := read(t, path)
	for _, c := range comments {
		if !strings.Contains(content, c) {
			t.Errorf("comment %q lost:\n%s", c, content)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want just the users file (temporary files left?)", len(entries))
	}
	if _, err := OpenFile(path, FileOptions{}); err != nil {
		t.Errorf("edited file does not load: %v", err)
	}
}

func lookupAll(t *testing.T, path string) map[string]User {
	t.Helper()
	users, err := ListUsers(path)
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	m := make(map[string]User)
	for _, u := range users {
		m[u.Name] = u
	}
	return m
}

func TestEditYAML(t *testing.T) {
	comments := []string{"# tokengate users", "# the admin", "# two roles"}
	t.Run("add", func(t *testing.T) {
		path, hashes := editFixture(t, "users.yaml")
		before, _ := os.Lstat(path)
		e := Entry{PasswordHash: mustHash(t, "carol-pw"), Roles: []string{"ops"}, Disabled: true}
		if err := AddUser(path, "carol", e); err != nil {
			t.Fatalf("AddUser: %v", err)
		}
		assertEdited(t, path, before, comments...)
		users := lookupAll(t, path)
		if c := users["carol"]; !c.Disabled || strings.Join(c.Roles, ",") != "ops" {
			t.Errorf("carol = %+v, want disabled with role ops", c)
		}
		if a := users["alice"]; strings.Join(a.Roles, ",") != "admin,ops" || a.Disabled {
			t.Errorf("alice = %+v, want her roles kept", a)
		}
		if b := users["bob"]; !b.Disabled {
			t.Errorf("bob = %+v, want still disabled", b)
		}
		content := read(t, path)
		for name, h := range hashes {
			if !strings.Contains(content, h) {
				t.Errorf("hash of %s changed", name)
			}
		}
		f, err := OpenFile(path, FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		canLogin(t, f, "alice", "alice-pw")
	})
	t.Run("set password", func(t *testing.T) {
		path, hashes := editFixture(t, "users.yaml")
		before, _ := os.Lstat(path)
		if err := SetPassword(path, "alice", mustHash(t, "new-pw")); err != nil {
			t.Fatalf("SetPassword: %v", err)
		}
		assertEdited(t, path, before, comments...)
		if strings.Contains(read(t, path), hashes["alice"]) {
			t.Error("old hash still in the file")
		}
		f, err := OpenFile(path, FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		u, err := f.Authenticate(context.Background(), "alice", "new-pw")
		if err != nil || strings.Join(u.Roles, ",") != "admin,ops" {
			t.Errorf("Authenticate(alice, new-pw) = %+v, %v; want alice with her roles", u, err)
		}
		if _, err := f.Authenticate(context.Background(), "alice", "alice-pw"); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("old password: error = %v, want ErrInvalidCredentials", err)
		}
	})
	t.Run("remove", func(t *testing.T) {
		path, _ := editFixture(t, "users.yaml")
		before, _ := os.Lstat(path)
		if err := RemoveUser(path, "bob"); err != nil {
			t.Fatalf("RemoveUser: %v", err)
		}
		assertEdited(t, path, before, comments...)
		users := lookupAll(t, path)
		if _, ok := users["bob"]; ok || len(users) != 1 {
			t.Errorf("users = %v, want only alice", users)
		}
		if err := RemoveUser(path, "alice"); err == nil || !strings.Contains(err.Error(), "last user") {
			t.Errorf("removing the last user: error = %v, want a refusal", err)
		}
	})
}

func TestEditHtpasswd(t *testing.T) {
	comments := []string{"# made by htpasswd -B\n", "\n\n# bob is new\n"}
	t.Run("add", func(t *testing.T) {
		path, _ := editFixture(t, "htpasswd")
		before, _ := os.Lstat(path)
		want := read(t, path)
		h := mustHash(t, "carol-pw")
		if err := AddUser(path, "carol", Entry{PasswordHash: h}); err != nil {
			t.Fatalf("AddUser: %v", err)
		}
		assertEdited(t, path, before, comments...)
		if got := read(t, path); got != want+"carol:"+h+"\n" {
			t.Errorf("file = %q, want the old content plus one line", got)
		}
	})
	t.Run("set password keeps the line in place", func(t *testing.T) {
		path, hashes := editFixture(t, "htpasswd")
		before, _ := os.Lstat(path)
		h := mustHash(t, "new-pw")
		if err := SetPassword(path, "alice", h); err != nil {
			t.Fatalf("SetPassword: %v", err)
		}
		assertEdited(t, path, before, comments...)
		want := strings.NewReplacer("%ALICE%", h, "%BOB%", hashes["bob"]).Replace(htpasswdWithComments)
		if got := read(t, path); got != want {
			t.Errorf("file = %q, want %q", got, want)
		}
	})
	t.Run("remove", func(t *testing.T) {
		path, hashes := editFixture(t, "htpasswd")
		before, _ := os.Lstat(path)
		if err := RemoveUser(path, "alice"); err != nil {
			t.Fatalf("RemoveUser: %v", err)
		}
		assertEdited(t, path, before, comments...)
		if got, want := read(t, path), "# made by htpasswd -B\n\n# bob is new\nbob:"+hashes["bob"]+"\n"; got != want {
			t.Errorf("file = %q, want %q", got, want)
		}
	})
	t.Run("roles and disabled cannot be written", func(t *testing.T) {
		path, _ := editFixture(t, "htpasswd")
		want := read(t, path)
		for _, e := range []Entry{
			{PasswordHash: mustHash(t, "pw"), Roles: []string{"admin"}},
			{PasswordHash: mustHash(t, "pw"), Disabled: true},
		} {
			err := AddUser(path, "carol", e)
			if err == nil || !strings.Contains(err.Error(), "htpasswd") {
				t.Errorf("AddUser(%v) error = %v, want one saying htpasswd cannot hold it", e, err)
			}
		}
		if err := AddUser(path, "#carol", Entry{PasswordHash: mustHash(t, "pw")}); err == nil {
			t.Error("AddUser(#carol) error = nil, want a refusal: the line would be a comment")
		}
		if read(t, path) != want {
			t.Error("a refused edit changed the file")
		}
	})
	t.Run("CRLF and a missing final newline are kept", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "htpasswd")
		a := mustHash(t, "pw")
		writeFile(t, path, []byte("# x\r\nalice:"+a))
		b := mustHash(t, "pw2")
		if err := AddUser(path, "bob", Entry{PasswordHash: b}); err != nil {
			t.Fatalf("AddUser: %v", err)
		}
		if got, want := read(t, path), "# x\r\nalice:"+a+"\r\nbob:"+b+"\r\n"; got != want {
			t.Errorf("file = %q, want %q", got, want)
		}
	})
}

func TestEditRefusals(t *testing.T) {
	good := mustHash(t, "pw")
	for _, file := range []string{"users.yaml", "htpasswd"} {
		t.Run(file, func(t *testing.T) {
			path, _ := editFixture(t, file)
			want := read(t, path)
			tests := []struct {
				name  string
				edit  func() error
				is    error
				lines string // substring of the error
			}{
				{"add existing", func() error { return AddUser(path, "alice", Entry{PasswordHash: good}) }, ErrUserExists, "alice"},
				{"add empty name", func() error { return AddUser(path, "", Entry{PasswordHash: good}) }, nil, "empty user name"},
				{"add name with colon", func() error { return AddUser(path, "a:b", Entry{PasswordHash: good}) }, nil, "':'"},
				{"add name with space", func() error { return AddUser(path, "a b", Entry{PasswordHash: good}) }, nil, "space"},
				{"add name with tab", func() error { return AddUser(path, "a\tb", Entry{PasswordHash: good}) }, nil, "space or control"},
				{"add name with newline", func() error { return AddUser(path, "a\nb", Entry{PasswordHash: good}) }, nil, "space or control"},
				{"add name with NUL", func() error { return AddUser(path, "a\x00b", Entry{PasswordHash: good}) }, nil, "control"},
				{"add long name", func() error { return AddUser(path, strings.Repeat("n", 65), Entry{PasswordHash: good}) }, nil, "64 characters"},
				{"add plaintext", func() error { return AddUser(path, "carol", Entry{PasswordHash: "pyconid"}) }, nil, "not a bcrypt hash"},
				{"set unknown", func() error { return SetPassword(path, "carol", good) }, ErrNotFound, "carol"},
				{"set plaintext", func() error { return SetPassword(path, "alice", "pyconid") }, nil, "not a bcrypt hash"},
				{"remove unknown", func() error { return RemoveUser(path, "Alice") }, ErrNotFound, "Alice"},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					err := tc.edit()
					if err == nil {
						t.Fatal("error = nil, want a refusal")
					}
					if tc.is != nil && !errors.Is(err, tc.is) {
						t.Errorf("error = %v, want %v", err, tc.is)
					}
					if !strings.Contains(err.Error(), tc.lines) {
						t.Errorf("error %q does not contain %q", err, tc.lines)
					}
					if strings.Contains(err.Error(), "pyconid") || bcryptHash.MatchString(err.Error()) {
						t.Errorf("error %q quotes a password or hash", err)
					}
					if read(t, path) != want {
						t.Error("a refused edit changed the file")
					}
				})
			}
		})
	}
}

func TestEditRefusesABrokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	writeFile(t, path, []byte("alice:"+mustHash(t, "pw")+"\nbob:pyconid\n"))
	err := AddUser(path, "carol", Entry{PasswordHash: mustHash(t, "pw")})
	if err == nil || !strings.Contains(err.Error(), "htpasswd:2:") {
		t.Errorf("AddUser to a broken file: error = %v, want one naming line 2", err)
	}
	if _, err := ListUsers(path); err == nil || !strings.Contains(err.Error(), "htpasswd:2:") {
		t.Errorf("ListUsers of a broken file: error = %v, want one naming line 2", err)
	}
}

func TestAddUserCreatesAFile(t *testing.T) {
	for _, file := range []string{"users.yaml", "htpasswd"} {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), file)
			if err := AddUser(path, "alice", Entry{PasswordHash: mustHash(t, "pw")}); err != nil {
				t.Fatalf("AddUser to a missing file: %v", err)
			}
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("new file mode = %v (%v), want 0600", fi.Mode(), err)
			}
			f, err := OpenFile(path, FileOptions{})
			if err != nil {
				t.Fatalf("OpenFile of the new file: %v", err)
			}
			canLogin(t, f, "alice", "pw")
		})
	}
	t.Run("empty yaml file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "users.yaml")
		writeFile(t, path, []byte("# users go here\n"))
		if err := AddUser(path, "alice", Entry{PasswordHash: mustHash(t, "pw"), Roles: []string{"admin"}}); err != nil {
			t.Fatalf("AddUser to an empty file: %v", err)
		}
		if u := lookupAll(t, path)["alice"]; strings.Join(u.Roles, ",") != "admin" {
			t.Errorf("alice = %+v, want role admin", u)
		}
	})
}

func TestListUsers(t *testing.T) {
	path, _ := editFixture(t, "users.yaml")
	users, err := ListUsers(path)
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if len(users) != 2 || users[0].Name != "alice" || users[1].Name != "bob" || !users[1].Disabled {
		t.Errorf("ListUsers = %+v, want alice then disabled bob", users)
	}
	if _, err := ListUsers(filepath.Join(t.TempDir(), "none.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ListUsers of a missing file: error = %v, want os.ErrNotExist", err)
	}
}

// A symlinked users file is edited where it lives; the symlink stays.
func TestEditThroughSymlink(t *testing.T) {
	path, _ := editFixture(t, "users.yaml")
	link := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	if err := AddUser(link, "carol", Entry{PasswordHash: mustHash(t, "pw")}); err != nil {
		t.Fatalf("AddUser through a symlink: %v", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link replaced by a file (%v)", err)
	}
	if _, ok := lookupAll(t, path)["carol"]; !ok {
		t.Error("carol not added to the target file")
	}
}

// A watching store never sees a half-written file: every edit reloads cleanly.
func TestEditsAreAtomicForAWatcher(t *testing.T) {
	path, _ := editFixture(t, "users.yaml")
	w := openWatched(t, path)
	h := mustHash(t, "pw")
	for i := range 20 {
		name := "user" + string(rune('a'+i))
		if err := AddUser(path, name, Entry{PasswordHash: h}); err != nil {
			t.Fatalf("AddUser(%s): %v", name, err)
		}
	}
	eventually(t, "22 users loaded", func() bool { return w.Len() == 22 })
	for _, e := range w.reloads() {
		if !e.ok {
			t.Errorf("a reload failed during atomic edits: %+v\n%s", e, w.log.String())
		}
	}
}
