package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fileConfig is baseConfig with the users in a file instead of store.users.
func fileConfig(t testing.TB, path string, extra string) string {
	return fmt.Sprintf(`
server:
  addr: "127.0.0.1:0"
token:
  secret: %q
store:
  kind: file
  path: %q
  watch: true
log:
  format: json
%s
`, testSecret, path, extra)
}

// replaceFile writes content next to path and renames it over path, as editors and Kubernetes do.
func replaceFile(t testing.TB, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// eventually polls check until it returns "" or the deadline passes, then fails with its message.
func eventually(t testing.TB, within time.Duration, check func() string) time.Duration {
	t.Helper()
	start := time.Now()
	var msg string
	for time.Since(start) < within {
		if msg = check(); msg == "" {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("after %v: %s", within, msg)
	return 0
}

func loginStatus(t testing.TB, s *server, user, pass string) int {
	return s.get(t, "/login", "Authorization", basic(user, pass)).Status
}

// TestHtpasswdFromApache: a users file made by Apache's `htpasswd -B` works unchanged.
func TestHtpasswdFromApache(t *testing.T) {
	src, err := os.ReadFile("../store/testdata/htpasswd")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, fileConfig(t, path, ""))
	s.login(t, "alice", "pyconid")
	wantError(t, s.get(t, "/login", "Authorization", basic("alice", "wrong")), 401, "invalid_credentials")
	if r := s.get(t, "/readyz"); r.Status != 200 {
		t.Fatalf("/readyz = %d", r.Status)
	}
}

// TestUsersFileReload: adding, changing and removing users by editing the file takes effect without
// a restart, by rename or in place; a broken edit changes nothing.
func TestUsersFileReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.yaml")
	users := "users:\n" + indent(usersYAML(t), "  ") + "\n"
	if err := os.WriteFile(path, []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	// Polling logins fail until an edit lands: keep them from locking the users out.
	s := startServer(t, fileConfig(t, path, "login:\n  max_failures: 100000\n"))
	tok := s.accessToken(t, "alice", "pyconid")
	if loginStatus(t, s, "dave", "dave-password") != 401 {
		t.Fatal("dave exists before being added")
	}

	// Add a user with the CLI (atomic rename), password on stdin.
	add := exec.Command(binary, "users", "--file", path, "add", "dave", "--role", "ops", "--cost", "4")
	add.Stdin = strings.NewReader("dave-password\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("users add: %v: %s", err, out)
	}
	took := eventually(t, 5*time.Second, func() string {
		if loginStatus(t, s, "dave", "dave-password") != 200 {
			return "dave cannot log in after users add"
		}
		return ""
	})
	t.Logf("users add took effect after %v", took)

	// A broken edit (replaced by rename): logins and tokens are unaffected.
	replaceFile(t, path, "users:\n  alice: {password_hash: \"not-a-bcrypt-hash\"}\n")
	time.Sleep(500 * time.Millisecond) // give a wrong reload the chance to happen
	if loginStatus(t, s, "alice", "pyconid") != 200 || loginStatus(t, s, "dave", "dave-password") != 200 {
		t.Fatal("a broken users file changed the users in force")
	}
	if r := s.get(t, "/protected", "Authorization", "Bearer "+tok); r.Status != 200 {
		t.Fatalf("a broken users file broke a logged-in user: %d", r.Status)
	}
	// An empty (truncated) file is refused too.
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if loginStatus(t, s, "alice", "pyconid") != 200 {
		t.Fatal("a truncated users file wiped the users")
	}

	// Rewrite in place without bob; alice gets a new password.
	hash := hashOf(t, "new-alice-password")
	inPlace := fmt.Sprintf("users:\n  alice:\n    password_hash: %q\n    roles: [admin]\n", hash)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(inPlace); err != nil {
		t.Fatal(err)
	}
	f.Close()
	eventually(t, 5*time.Second, func() string {
		if loginStatus(t, s, "alice", "new-alice-password") != 200 {
			return "alice's new password not in force"
		}
		if loginStatus(t, s, "bob", "bob-password") != 401 {
			return "bob not removed"
		}
		return ""
	})
	wantError(t, s.get(t, "/login", "Authorization", basic("alice", "pyconid")), 401, "invalid_credentials")

	// Remove with the CLI; list shows what is left.
	if out, err := exec.Command(binary, "users", "--file", path, "add", "erin", "--cost", "4").CombinedOutput(); err == nil {
		t.Fatalf("users add without a password on stdin succeeded: %s", out)
	}
	passwd := exec.Command(binary, "users", "--file", path, "add", "erin", "--cost", "4")
	passwd.Stdin = strings.NewReader("erin-password\n")
	if out, err := passwd.CombinedOutput(); err != nil {
		t.Fatalf("users add erin: %v: %s", err, out)
	}
	if out, err := exec.Command(binary, "users", "--file", path, "remove", "alice").CombinedOutput(); err != nil {
		t.Fatalf("users remove: %v: %s", err, out)
	}
	out, err := exec.Command(binary, "users", "--file", path, "list").CombinedOutput()
	if err != nil || strings.Contains(string(out), "alice") || !strings.Contains(string(out), "erin") {
		t.Fatalf("users list = %q, %v", out, err)
	}
	eventually(t, 5*time.Second, func() string {
		if loginStatus(t, s, "alice", "new-alice-password") != 401 {
			return "alice still logs in after users remove"
		}
		return ""
	})
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("users file mode = %v, want 0600 kept", fi.Mode().Perm())
	}
}

// TestUsersFileMustLoadAtStart: a users file that cannot be loaded stops the start with a clear error.
func TestUsersFileMustLoadAtStart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.htpasswd")
	if err := os.WriteFile(path, []byte("alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fileConfig(t, path, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "serve", "--config", cfg).CombinedOutput()
	if err == nil {
		t.Fatalf("serve started with a non-bcrypt users file")
	}
	if !strings.Contains(string(out), "store.path") || !strings.Contains(string(out), "users.htpasswd:1:") {
		t.Fatalf("error does not name store.path and the line: %s", out)
	}
}

// TestLockout: repeated failures for one user from one address end in 429 with Retry-After, even for
// the right password; a forged X-Forwarded-For does not reset the count unless the peer is a
// trusted proxy.
func TestLockout(t *testing.T) {
	policy := "login:\n  max_failures: 3\n  window: 1m\n  lockout: 2m\n"
	s := startServer(t, baseConfig(t, policy))
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
	trusted := startServer(t, baseConfig(t, policy), "TOKENGATE_SERVER_TRUSTED_PROXIES=127.0.0.1")
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
	s := startServer(t, baseConfig(t, "login:\n  max_failures: 2\n"))
	for i := 0; i < 8; i++ {
		wantError(t, s.get(t, "/login", "Authorization", basic(fmt.Sprintf("user%d", i), "Winter2026!")), 401, "invalid_credentials")
	}
	wantError(t, s.get(t, "/login", "Authorization", basic("bob", "bob-password")), 429, "too_many_attempts")
}
