package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func loginStatus(t testing.TB, s *server, user, pass string) int {
	t.Helper()
	return s.get(t, "/login", "Authorization", basic(user, pass)).Status
}

// The users file's reload results in the server's log: one line per new content read.
var (
	reloadedRE     = regexp.MustCompile(`users file reloaded`)
	reloadFailedRE = regexp.MustCompile(`users file reload failed`)
)

// TestHtpasswdFromApache: a users file made by Apache's `htpasswd -B` works unchanged.
func TestHtpasswdFromApache(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../store/testdata/htpasswd")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "htpasswd")
	writeFile(t, path, string(src))
	s := startServer(t, conf{store: fileStore(path)}.yaml(t))
	s.login(t, "alice", "pyconid")
	wantError(t, s.get(t, "/login", "Authorization", basic("alice", "wrong")), 401, "invalid_credentials")
	if r := s.get(t, "/readyz"); r.Status != 200 {
		t.Fatalf("/readyz = %d", r.Status)
	}
}

// TestUsersFileReload: adding, changing and removing users by editing the file takes effect without
// a restart, by rename or in place; a broken edit changes nothing.
func TestUsersFileReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "users.yaml")
	writeFile(t, path, usersFile(t, testUsers, 4))
	// Logins fail on purpose below: keep them from locking the users out.
	s := startServer(t, conf{store: fileStore(path), extra: "login:\n  max_failures: 100000\n"}.yaml(t))
	tok := s.accessToken(t, "alice", "pyconid")
	if loginStatus(t, s, "dave", "dave-password") != 401 {
		t.Fatal("dave exists before being added")
	}
	users := func(stdin string, args ...string) (string, int) {
		t.Helper()
		out, errOut, code := run(t, dir, stdin, nil, append([]string{"users", "--file", path}, args...)...)
		return out + errOut, code
	}
	// edit makes a change and waits for the reload it causes to be logged as re.
	edit := func(re *regexp.Regexp, change func()) {
		t.Helper()
		n := s.countLog(re)
		change()
		s.awaitLog(t, re, n+1)
	}

	// Add a user with the CLI (atomic rename), password on stdin.
	edit(reloadedRE, func() {
		if out, code := users("dave-password\n", "add", "dave", "--role", "ops", "--cost", "4"); code != 0 {
			t.Fatalf("users add: exit %d: %s", code, out)
		}
	})
	if loginStatus(t, s, "dave", "dave-password") != 200 {
		t.Fatal("dave cannot log in after users add")
	}

	// A broken edit (replaced by rename): logins and tokens are unaffected.
	edit(reloadFailedRE, func() { replaceFile(t, path, "users:\n  alice: {password_hash: \"not-a-bcrypt-hash\"}\n") })
	if loginStatus(t, s, "alice", "pyconid") != 200 || loginStatus(t, s, "dave", "dave-password") != 200 {
		t.Fatal("a broken users file changed the users in force")
	}
	if r := s.get(t, "/protected", "Authorization", "Bearer "+tok); r.Status != 200 {
		t.Fatalf("a broken users file broke a logged-in user: %d", r.Status)
	}
	// An empty (truncated) file is refused too.
	edit(reloadFailedRE, func() { writeFile(t, path, "") })
	if loginStatus(t, s, "alice", "pyconid") != 200 {
		t.Fatal("a truncated users file wiped the users")
	}

	// Rewrite in place without bob; alice gets a new password.
	inPlace := fmt.Sprintf("users:\n  alice:\n    password_hash: %q\n    roles: [admin]\n", hashOf(t, "new-alice-password", 4))
	edit(reloadedRE, func() {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(inPlace); err != nil {
			t.Fatal(err)
		}
		f.Close()
	})
	if loginStatus(t, s, "alice", "new-alice-password") != 200 {
		t.Fatal("alice's new password not in force")
	}
	if loginStatus(t, s, "bob", "bob-password") != 401 {
		t.Fatal("bob not removed")
	}
	wantError(t, s.get(t, "/login", "Authorization", basic("alice", "pyconid")), 401, "invalid_credentials")

	// Remove with the CLI; list shows what is left.
	if out, code := users("", "add", "erin", "--cost", "4"); code == 0 {
		t.Fatalf("users add without a password on stdin succeeded: %s", out)
	}
	edit(reloadedRE, func() {
		if out, code := users("erin-password\n", "add", "erin", "--cost", "4"); code != 0 {
			t.Fatalf("users add erin: exit %d: %s", code, out)
		}
	})
	edit(reloadedRE, func() {
		if out, code := users("", "remove", "alice"); code != 0 {
			t.Fatalf("users remove: exit %d: %s", code, out)
		}
	})
	if out, code := users("", "list"); code != 0 || strings.Contains(out, "alice") || !strings.Contains(out, "erin") {
		t.Fatalf("users list = %q, exit %d", out, code)
	}
	if loginStatus(t, s, "alice", "new-alice-password") != 401 {
		t.Fatal("alice still logs in after users remove")
	}
	if loginStatus(t, s, "erin", "erin-password") != 200 {
		t.Fatal("erin cannot log in after users add")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("users file mode = %v, want 0600 kept", fi.Mode().Perm())
	}
}

// TestUsersFileMustLoadAtStart: a users file that cannot be loaded stops the start with a clear error.
func TestUsersFileMustLoadAtStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "users.htpasswd")
	writeFile(t, path, "alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n")
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, conf{store: fileStore(path)}.yaml(t))
	out, errOut, code := run(t, dir, "", nil, "serve", "--config", cfg)
	if code == 0 {
		t.Fatalf("serve started with a non-bcrypt users file")
	}
	if all := out + errOut; !strings.Contains(all, "store.path") || !strings.Contains(all, "users.htpasswd:1:") {
		t.Fatalf("error does not name store.path and the line: %s%s", out, errOut)
	}
}

// TestLockout: repeated failures for one user from one address end in 429 with Retry-After, even for
// the right password; a forged X-Forwarded-For does not reset the count unless the peer is a
// trusted proxy.
func TestLockout(t *testing.T) {
	t.Parallel()
	policy := "login:\n  max_failures: 3\n  window: 1m\n  lockout: 2m\n"
	s := startServer(t, config(t, policy))
	for i := 0; i < 3; i++ {
		wantError(t, s.get(t, "/login", "Authorization", basic("alice", "wrong"), "X-Forwarded-For", fmt.Sprintf("10.0.0.%d", i)), 401, "invalid_credentials")
	}
	for _, xff := range []string{"", "10.9.9.9", "203.0.113.7, 10.0.0.1"} {
		r := s.get(t, "/login", "Authorization", basic("alice", "pyconid"), "X-Forwarded-For", xff, "X-Real-IP", "10.1.1.1")
		wantError(t, r, 429, "too_many_attempts")
		if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Fatalf("Retry-After = %q", ra)
		}
	}
	// Another user from the same address is not locked (until the per-IP limit of 4×).
	s.login(t, "bob", "bob-password")

	// Behind a trusted proxy, the forwarded address is the client: a different client is not locked.
	trusted := startServer(t, config(t, policy), "TOKENGATE_SERVER_TRUSTED_PROXIES=127.0.0.1")
	for i := 0; i < 3; i++ {
		wantError(t, trusted.get(t, "/login", "Authorization", basic("alice", "wrong"), "X-Forwarded-For", "198.51.100.1"), 401, "invalid_credentials")
	}
	wantError(t, trusted.get(t, "/login", "Authorization", basic("alice", "pyconid"), "X-Forwarded-For", "198.51.100.1"), 429, "too_many_attempts")
	if r := trusted.get(t, "/login", "Authorization", basic("alice", "pyconid"), "X-Forwarded-For", "198.51.100.2"); r.Status != 200 {
		t.Fatalf("another client behind the trusted proxy: %d %s", r.Status, r.Body)
	}
}

// TestLockoutPerIP: password spraying across many user names from one address is stopped at 4×
// login.max_failures.
func TestLockoutPerIP(t *testing.T) {
	t.Parallel()
	s := startServer(t, config(t, "login:\n  max_failures: 2\n"))
	for i := 0; i < 8; i++ {
		wantError(t, s.get(t, "/login", "Authorization", basic(fmt.Sprintf("user%d", i), "Winter2026!")), 401, "invalid_credentials")
	}
	wantError(t, s.get(t, "/login", "Authorization", basic("bob", "bob-password")), 429, "too_many_attempts")
}
