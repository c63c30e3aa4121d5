package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// The fixture was made by Apache's htpasswd -B -C 10 (see testdata/README.md) and is used unchanged.
func TestFileApacheHtpasswdFixture(t *testing.T) {
	t.Parallel()
	f, err := OpenFile("testdata/htpasswd", FileOptions{})
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	defer f.Close()
	ctx := context.Background()
	u, err := f.Authenticate(ctx, "alice", "pyconid")
	if err != nil || u.Name != "alice" {
		t.Fatalf("Authenticate(alice, pyconid) = %+v, %v; want alice, nil", u, err)
	}
	if _, err := f.Authenticate(ctx, "bob", "pyconid"); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("Authenticate(bob, alice's password) error = %v, want ErrInvalidCredentials", err)
	}
	if got := f.Len(); got != 2 {
		t.Errorf("Len() = %d, want 2", got)
	}
	if cost, _ := bcrypt.Cost(f.c.snap.Load().dummy); cost != 10 {
		t.Errorf("dummy cost = %d, want the file's 10", cost)
	}
}

func TestOpenFileErrorsNameTheLine(t *testing.T) {
	h := mustHash(t, "pw")
	bigLine := "alice:" + strings.Repeat("x", maxLineBytes)
	tests := []struct {
		name, file, content string
		want                []string // substrings of the error
	}{
		{"htpasswd missing colon", "htpasswd", "# users\nalice:" + h + "\npyconid\n", []string{"htpasswd:3:", "expected name:hash"}},
		{"htpasswd plaintext", "htpasswd", "alice:pyconid\n", []string{"htpasswd:1:", `user "alice"`, "not a bcrypt hash"}},
		{"htpasswd sha1", "htpasswd", "\n\nalice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", []string{"htpasswd:3:", "not a bcrypt hash"}},
		{"htpasswd apr1", ".htpasswd", "alice:$apr1$r31lmb2o$Fh1Ry6x/E2xLgbNi9VUVo1\n", []string{".htpasswd:1:", "not a bcrypt hash"}},
		{"htpasswd crypt", "users.txt", "alice:" + h + "\nbob:rl0C1uHSwJzyY\n", []string{"users.txt:2:", `user "bob"`}},
		{"htpasswd duplicate", "htpasswd", "alice:" + h + "\n# x\nalice:" + h + "\n", []string{"htpasswd:3:", "duplicate, first defined at line 1"}},
		{"htpasswd long line", "htpasswd", "alice:" + h + "\n" + bigLine + "\n", []string{"htpasswd:2:", "longer than 4096 bytes"}},
		{"htpasswd empty", "htpasswd", "", []string{"no users"}},
		{"htpasswd only comments", "htpasswd", "# nobody\n\n   \n", []string{"no users"}},
		{"htpasswd bad name", "htpasswd", "al ice:" + h + "\n", []string{"htpasswd:1:", "space"}},
		{"yaml empty", "users.yaml", "", []string{"no users"}},
		{"yaml no users", "users.yaml", "users: {}\n", []string{"no users"}},
		{"yaml null users", "users.yaml", "users:\n", []string{"no users"}},
		{"yaml unknown top key", "users.yaml", "users:\n  alice:\n    password_hash: \"" + h + "\"\nuser: {}\n", []string{"users.yaml:4:", `unknown key "user"`}},
		{"yaml unknown user key", "users.yaml", "users:\n  alice:\n    password_hash: \"" + h + "\"\n    role: [admin]\n", []string{"users.yaml:4:", `user "alice"`, `unknown key "role"`}},
		{"yaml tab", "users.yaml", "users:\n  alice:\n    password_hash: \"" + h + "\"\n\troles: [admin]\n", []string{"users.yaml:4:", "cannot start any token"}},
		{"yaml syntax", "users.yaml", "users:\n  alice:\n    password_hash: \"" + h + "\"\n  bob: : :\n", []string{"users.yaml:4:"}},
		{"yaml duplicate user", "users.yml", "users:\n  alice:\n    password_hash: \"" + h + "\"\n  alice:\n    password_hash: \"" + h + "\"\n", []string{"users.yml:4:", "duplicate, first defined at line 2"}},
		{"yaml plaintext", "users.yaml", "users:\n  alice:\n    password_hash: pyconid\n", []string{"users.yaml:2:", "not a bcrypt hash"}},
		{"yaml hash not a string", "users.yaml", "users:\n  alice:\n    password_hash: 12345\n", []string{"users.yaml:3:", "must be a string"}},
		{"yaml disabled not bool", "users.yaml", "users:\n  alice:\n    password_hash: \"" + h + "\"\n    disabled: yes\n", []string{"users.yaml:4:", "true or false"}},
		{"yaml roles not list", "users.yaml", "users:\n  alice:\n    password_hash: \"" + h + "\"\n    roles: admin\n", []string{"users.yaml:4:", "list of strings"}},
		{"yaml user not mapping", "users.yaml", "users:\n  alice: \"" + h + "\"\n", []string{"users.yaml:2:", "expected a mapping"}},
		{"yaml users not mapping", "users.yaml", "users: [alice]\n", []string{"users.yaml:1:", "expected a mapping"}},
		{"yaml top not mapping", "users.yaml", "- alice\n", []string{"users.yaml:1:", "expected a mapping"}},
		{"yaml two documents", "users.yaml", "users:\n  alice:\n    password_hash: \"" + h + "\"\n---\nusers: {}\n", []string{"users.yaml:4:", "more than one YAML document"}},
		{"yaml alias", "users.yaml", "users:\n  alice: &a\n    password_hash: \"" + h + "\"\n  bob: *a\n", []string{"users.yaml:4:", `user "bob"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.file)
			writeFile(t, path, []byte(tc.content))
			f, err := OpenFile(path, FileOptions{Watch: true})
			if err == nil {
				f.Close()
				t.Fatal("OpenFile error = nil, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if bcryptHash.MatchString(err.Error()) || strings.Contains(err.Error(), "pyconid") || strings.Contains(err.Error(), "rl0C1") {
				t.Errorf("error %q quotes a hash or password", err)
			}
		})
	}
}

func TestOpenFileRefusesMissingAndHugeFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := OpenFile(filepath.Join(dir, "nope.yaml"), FileOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error = %v, want os.ErrNotExist", err)
	}
	if _, err := OpenFile(filepath.Join(dir, "no-dir", "users.yaml"), FileOptions{Watch: true}); err == nil {
		t.Error("missing directory with Watch: error = nil, want an error")
	}
	huge := filepath.Join(dir, "huge")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxFileBytes + 1); err != nil { // sparse: costs no disk
		t.Fatal(err)
	}
	f.Close()
	if _, err := OpenFile(huge, FileOptions{}); err == nil || !strings.Contains(err.Error(), "larger than 64 MiB") {
		t.Errorf("huge file: error = %v, want larger than 64 MiB", err)
	}
}

func TestOpenFileFormats(t *testing.T) {
	h := mustHash(t, "pw")
	tests := []struct {
		name, file, content string
		want                map[string]User
	}{
		{"htpasswd with comments, blanks, CRLF, BOM", "htpasswd",
			"\xef\xbb\xbf# admins\r\nalice:" + h + "\r\n\r\n  # indented comment\r\nbob:" + h,
			map[string]User{"alice": {Name: "alice"}, "bob": {Name: "bob"}}},
		{"yaml full schema", "users.yaml",
			"# users\nusers:\n  alice:\n    password_hash: \"" + h + "\"\n    roles: [admin, ops]\n    disabled: false\n" +
				"  Carol:\n    password_hash: '" + h + "'\n    roles:\n      - ops\n    disabled: True\n  \"1234\":\n    password_hash: " + h + "\n    roles: ~\n",
			map[string]User{"alice": {Name: "alice", Roles: []string{"admin", "ops"}}, "Carol": {Name: "Carol", Roles: []string{"ops"}, Disabled: true}, "1234": {Name: "1234"}}},
		{"upper-case extension is YAML", "USERS.YML", "users:\n  alice:\n    password_hash: \"" + h + "\"\n",
			map[string]User{"alice": {Name: "alice"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.file)
			writeFile(t, path, []byte(tc.content))
			f, err := OpenFile(path, FileOptions{})
			if err != nil {
				t.Fatalf("OpenFile: %v", err)
			}
			if got := f.Len(); got != len(tc.want) {
				t.Errorf("Len() = %d, want %d", got, len(tc.want))
			}
			for name, want := range tc.want {
				got, err := f.Lookup(context.Background(), name)
				if err != nil || got.Disabled != want.Disabled || strings.Join(got.Roles, ",") != strings.Join(want.Roles, ",") {
					t.Errorf("Lookup(%q) = %+v, %v; want %+v", name, got, err, want)
				}
			}
		})
	}
}

func TestOpenFileWarnsOnWeakCostWithoutHashes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	writeFile(t, path, htpasswdUsers(t, map[string]Entry{"alice": {PasswordHash: mustHash(t, "pw")}}))
	log, buf := newLogger()
	f, err := OpenFile(path, FileOptions{Logger: log})
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	defer f.Close()
	if out := buf.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "cost below 10") {
		t.Errorf("log = %q, want a weak-cost warning", out)
	}
	assertNoHashes(t, buf)
}

// reloadEvent is one OnReload call.
type reloadEvent struct {
	ok    bool
	users int
}

// watched is a File under watch with what it reported, for reload tests.
type watched struct {
	*File
	log    *logBuffer
	mu     sync.Mutex
	events []reloadEvent
}

func (w *watched) reloads() []reloadEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]reloadEvent(nil), w.events...)
}

func (w *watched) sawReload(ok bool, users int) func() bool {
	return func() bool {
		for _, e := range w.reloads() {
			if e == (reloadEvent{ok, users}) {
				return true
			}
		}
		return false
	}
}

func openWatched(t *testing.T, path string) *watched {
	t.Helper()
	log, buf := newLogger()
	w := &watched{log: buf}
	f, err := OpenFile(path, FileOptions{
		Watch:    true,
		Debounce: 20 * time.Millisecond,
		Hasher:   NewHasher(0, 10*time.Second),
		Logger:   log,
		OnReload: func(ok bool, users int) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.events = append(w.events, reloadEvent{ok, users})
		},
	})
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	w.File = f
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		assertNoHashes(t, buf)
	})
	return w
}

// hasUser reports whether s currently knows name.
func hasUser(s credentials, name string) func() bool {
	return func() bool {
		_, err := s.Lookup(context.Background(), name)
		return err == nil
	}
}

func canLogin(t *testing.T, s credentials, name, password string) {
	t.Helper()
	if _, err := s.Authenticate(context.Background(), name, password); err != nil {
		t.Errorf("Authenticate(%q) error = %v, want nil", name, err)
	}
}

func TestFileReload(t *testing.T) {
	hashes := map[string]string{"alice": mustHash(t, "alice-pw"), "bob": mustHash(t, "bob-pw")}
	v1 := map[string]Entry{"alice": {PasswordHash: hashes["alice"]}}
	v2 := map[string]Entry{"alice": {PasswordHash: hashes["alice"]}, "bob": {PasswordHash: hashes["bob"]}}
	for _, flavour := range []struct {
		file   string
		render func(map[string]Entry) []byte
	}{
		{"users.yaml", yamlUsers},
		{"htpasswd", func(u map[string]Entry) []byte { return htpasswdUsers(t, u) }},
	} {
		t.Run(flavour.file, func(t *testing.T) {
			t.Run("replaced by rename", func(t *testing.T) {
				path := filepath.Join(t.TempDir(), flavour.file)
				writeFile(t, path, flavour.render(v1))
				w := openWatched(t, path)
				replaceByRename(t, path, flavour.render(v2))
				eventually(t, "bob added by rename", hasUser(w, "bob"))
				canLogin(t, w, "bob", "bob-pw")
				eventually(t, "OnReload(true, 2)", w.sawReload(true, 2))
				replaceByRename(t, path, flavour.render(v1))
				eventually(t, "bob removed by rename", func() bool { return !hasUser(w, "bob")() })
			})
			t.Run("rewritten in place", func(t *testing.T) {
				path := filepath.Join(t.TempDir(), flavour.file)
				writeFile(t, path, flavour.render(v1))
				w := openWatched(t, path)
				writeFile(t, path, flavour.render(v2))
				eventually(t, "bob added in place", hasUser(w, "bob"))
				canLogin(t, w, "bob", "bob-pw")
			})
			t.Run("broken edit keeps the last good list", func(t *testing.T) {
				path := filepath.Join(t.TempDir(), flavour.file)
				writeFile(t, path, flavour.render(v2))
				w := openWatched(t, path)
				broken := append(flavour.render(v1), "carol:pyconid\n"...)
				replaceByRename(t, path, broken)
				eventually(t, "OnReload(false, 2)", w.sawReload(false, 2))
				if !strings.Contains(w.log.String(), "keeping the last good user list") {
					t.Errorf("log = %q, want the failed reload logged", w.log.String())
				}
				canLogin(t, w, "alice", "alice-pw")
				canLogin(t, w, "bob", "bob-pw")
				writeFile(t, path, nil) // a truncated write
				eventually(t, "OnReload for the empty file", func() bool { return len(w.reloads()) >= 3 })
				if w.Len() != 2 {
					t.Errorf("after an empty write Len() = %d, want 2", w.Len())
				}
				replaceByRename(t, path, flavour.render(v1))
				eventually(t, "fixed file loaded", func() bool { return !hasUser(w, "bob")() })
				if strings.Contains(w.log.String(), "pyconid") {
					t.Errorf("log shows a line of the file: %q", w.log.String())
				}
			})
			t.Run("deleted then restored", func(t *testing.T) {
				path := filepath.Join(t.TempDir(), flavour.file)
				writeFile(t, path, flavour.render(v2))
				w := openWatched(t, path)
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
				eventually(t, "OnReload(false, 2) for the missing file", w.sawReload(false, 2))
				if !strings.Contains(w.log.String(), "users file missing") {
					t.Errorf("log = %q, want the missing file logged", w.log.String())
				}
				canLogin(t, w, "bob", "bob-pw")
				replaceByRename(t, path, flavour.render(v1))
				eventually(t, "restored file loaded", func() bool { return !hasUser(w, "bob")() })
				canLogin(t, w, "alice", "alice-pw")
			})
		})
	}
}

// Kubernetes mounts a secret as dir/users.yaml → ..data/users.yaml, ..data → ..<timestamp>, and
// updates it by writing a new timestamped directory and renaming a new ..data symlink over the old.
func TestFileReloadKubernetesSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	v1 := yamlUsers(map[string]Entry{"alice": {PasswordHash: mustHash(t, "alice-pw")}})
	v2 := yamlUsers(map[string]Entry{"alice": {PasswordHash: mustHash(t, "alice-pw")}, "bob": {PasswordHash: mustHash(t, "bob-pw"), Roles: []string{"admin"}}})
	project := func(ts string, content []byte) {
		t.Helper()
		if err := os.Mkdir(filepath.Join(dir, ts), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, ts, "users.yaml"), content)
		if err := os.Symlink(ts, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	project("..2024_01_01_00_00_00.1", v1)
	if err := os.Symlink(filepath.Join("..data", "users.yaml"), filepath.Join(dir, "users.yaml")); err != nil {
		t.Fatal(err)
	}
	w := openWatched(t, filepath.Join(dir, "users.yaml"))
	project("..2024_01_01_00_01_00.2", v2)
	if err := os.RemoveAll(filepath.Join(dir, "..2024_01_01_00_00_00.1")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob added by the ..data swap", hasUser(w, "bob"))
	u, err := w.Authenticate(context.Background(), "bob", "bob-pw")
	if err != nil || len(u.Roles) != 1 {
		t.Errorf("Authenticate(bob) = %+v, %v; want bob with role admin", u, err)
	}
	project("..2024_01_01_00_02_00.3", v1)
	eventually(t, "bob removed by a second swap", func() bool { return !hasUser(w, "bob")() })
}

// A path that is a symlink to a file in another directory sees that file edited in place.
func TestFileReloadSymlinkToOtherDirectory(t *testing.T) {
	real := filepath.Join(t.TempDir(), "real.yaml")
	writeFile(t, real, yamlUsers(map[string]Entry{"alice": {PasswordHash: mustHash(t, "pw")}}))
	link := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	w := openWatched(t, link)
	writeFile(t, real, yamlUsers(map[string]Entry{"alice": {PasswordHash: mustHash(t, "pw")}, "bob": {PasswordHash: mustHash(t, "pw")}}))
	eventually(t, "bob added in the target directory", hasUser(w, "bob"))
}

// Logins in flight never fail or wait because of a reload.
func TestFileReloadDoesNotDisturbLogins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.yaml")
	alice := mustHash(t, "alice-pw")
	versions := [][]byte{
		yamlUsers(map[string]Entry{"alice": {PasswordHash: alice}}),
		yamlUsers(map[string]Entry{"alice": {PasswordHash: alice}, "bob": {PasswordHash: mustHash(t, "bob-pw")}}),
		[]byte("users: {broken\n"),
	}
	writeFile(t, path, versions[0])
	w := openWatched(t, path)
	var stop atomic.Bool
	var logins atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				if _, err := w.Authenticate(context.Background(), "alice", "alice-pw"); err != nil {
					t.Errorf("login during reloads: %v", err)
					return
				}
				logins.Add(1)
			}
		})
	}
	for i := range 30 {
		replaceByRename(t, path, versions[i%len(versions)])
		time.Sleep(10 * time.Millisecond) // pacing the edits, not asserting timing
	}
	replaceByRename(t, path, versions[1])
	eventually(t, "final version loaded", hasUser(w, "bob"))
	stop.Store(true)
	wg.Wait()
	t.Logf("%d logins during 30 edits, %d reloads reported", logins.Load(), len(w.reloads()))
}

func TestFileCloseStopsWatching(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	writeFile(t, path, htpasswdUsers(t, map[string]Entry{"alice": {PasswordHash: mustHash(t, "pw")}}))
	f, err := OpenFile(path, FileOptions{Watch: true, Debounce: time.Millisecond})
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	// Keep the watcher busy while closing.
	writeFile(t, path, htpasswdUsers(t, map[string]Entry{"alice": {PasswordHash: mustHash(t, "pw")}, "bob": {PasswordHash: mustHash(t, "pw")}}))
	closed := make(chan error)
	go func() { closed <- f.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close() = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return within 5s")
	}
	select {
	case <-f.done:
	default:
		t.Error("watch goroutine still running after Close")
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	if err := f.Ready(); err != nil {
		t.Errorf("Ready() after Close = %v, want nil: the last list stays", err)
	}
	canLogin(t, f, "alice", "pw")
}

func TestFileWithoutWatchDoesNotReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	writeFile(t, path, htpasswdUsers(t, map[string]Entry{"alice": {PasswordHash: mustHash(t, "pw")}}))
	f, err := OpenFile(path, FileOptions{})
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	if f.watcher != nil || f.Close() != nil {
		t.Error("a File without Watch has a watcher or fails to Close")
	}
}
