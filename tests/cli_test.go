package tests

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	t.Parallel()
	out, _, code := run(t, t.TempDir(), "", nil, "version")
	if code != 0 || !strings.HasPrefix(out, "tokengate ") {
		t.Fatalf("version = %q, exit %d", out, code)
	}
}

// TestVersionFromBuildInfo: a binary built in the checkout the way `make build` builds it names
// the commit it was built from (the module's pseudo-version or the VCS revision), not "dev".
func TestVersionFromBuildInfo(t *testing.T) {
	t.Parallel()
	rev, err := exec.Command("git", "-C", "..", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): no VCS revision to build in", err)
	}
	bin := filepath.Join(t.TempDir(), "tokengate")
	build := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, ".")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if short := strings.TrimSpace(string(rev))[:12]; !strings.Contains(string(out), short) || strings.Contains(string(out), "dev") {
		t.Errorf("version = %q, want it to name commit %s", out, short)
	}
}

func TestHashPassword(t *testing.T) {
	t.Parallel()
	out, _, code := run(t, t.TempDir(), "pyconid\n", nil, "hash-password", "--cost", "10")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	h := strings.TrimSpace(out)
	if !strings.HasPrefix(h, "$2a$10$") || len(h) != 60 {
		t.Fatalf("hash = %q", h)
	}
	// The hash works in tokengate's store: alice logs in with it.
	s := startServer(t, conf{store: fmt.Sprintf("  kind: memory\n  users:\n    alice:\n      password_hash: %q\n", h)}.yaml(t))
	s.login(t, "alice", "pyconid")
	_, errOut, code := run(t, t.TempDir(), strings.Repeat("x", 73)+"\n", nil, "hash-password")
	if code == 0 || !strings.Contains(errOut, "72") {
		t.Fatalf("73-byte password: exit %d, stderr %q", code, errOut)
	}
	if _, _, code := run(t, t.TempDir(), "", nil, "hash-password"); code == 0 {
		t.Fatal("empty password accepted")
	}
}

// TestBadConfigStopsStart: every problem is reported, one line each naming the key, and no secret is
// printed.
func TestBadConfigStopsStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	secret := "short-secret-value"
	writeFile(t, cfg, `
server:
  addr: "127.0.0.1:0"
token:
  secret: "`+secret+`"
  algorithm: XX999
  ttl: -1m
  lookup: [header, body]
login:
  max_failures: 0
`)
	for _, cmd := range [][]string{{"serve", "--config", cfg}, {"check-config", "--config", cfg}} {
		_, errOut, code := run(t, dir, "", nil, cmd...)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1", cmd[0], code)
		}
		for _, key := range []string{"token.algorithm", "token.ttl", "token.lookup", "login.max_failures"} {
			if !strings.Contains(errOut, key) {
				t.Errorf("%s: no line names %s:\n%s", cmd[0], key, errOut)
			}
		}
		if strings.Contains(errOut, secret) {
			t.Errorf("%s printed the secret:\n%s", cmd[0], errOut)
		}
	}
	// A short secret from the environment is refused, naming the key.
	empty := t.TempDir() // no config.yaml: built-in defaults
	_, errOut, code := run(t, empty, "", []string{"TOKENGATE_TOKEN_SECRET=too-short", "TOKENGATE_SERVER_ADDR=127.0.0.1:0"}, "serve")
	if code != 1 || !strings.Contains(errOut, "token.secret") || strings.Contains(errOut, "too-short") {
		t.Fatalf("short secret: exit %d, stderr %q", code, errOut)
	}
	// A wrong type from the environment names the key.
	_, errOut, code = run(t, empty, "", []string{"TOKENGATE_TOKEN_TTL=soon"}, "check-config")
	if code != 1 || !strings.Contains(errOut, "token.ttl") {
		t.Fatalf("bad TTL: exit %d, stderr %q", code, errOut)
	}
	// A taken port fails fast, naming server.addr.
	s := startServer(t, config(t, ""))
	addr := strings.TrimPrefix(s.URL, "http://")
	_, errOut, code = run(t, empty, "", []string{"TOKENGATE_SERVER_ADDR=" + addr, "TOKENGATE_TOKEN_SECRET=" + testSecret}, "serve")
	if code != 1 || !strings.Contains(errOut, "server.addr") {
		t.Fatalf("taken port: exit %d, stderr %q", code, errOut)
	}
}

// TestShippedConfig: the shipped config.yaml is valid, starts with a random secret and a loud
// warning, the demo users log in, and its gateway rules guard /api/ and /admin/.
func TestShippedConfig(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, root, "", nil, "check-config")
	if code != 0 || !strings.Contains(out, "config config.yaml is valid") || !strings.Contains(out, "users: 2 from store.users") ||
		!strings.Contains(out, "warning: token.secret is not set") {
		t.Fatalf("check-config on the shipped config: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "$2y$") || strings.Contains(out, "$2a$") {
		t.Fatalf("check-config printed a password hash:\n%s", out)
	}
	s := startIn(t, root, []string{"serve"}, "TOKENGATE_SERVER_ADDR=127.0.0.1:0")
	body := s.login(t, "alice", "pyconid")
	if r := s.get(t, "/protected?token="+body["access_token"].(string)); r.Status != 200 {
		t.Fatalf("/protected = %d", r.Status)
	}
	bob := s.accessToken(t, "bob", "bobsecret")
	for _, tt := range []struct {
		uri    string
		status int
	}{{"/pub/x", 200}, {"/api/hello?token=" + bob, 200}, {"/api/hello", 401}, {"/admin/?token=" + bob, 403}, {"/elsewhere", 401}} {
		r := s.get(t, "/auth", "X-Forwarded-Method", "GET", "X-Forwarded-Host", "localhost:8000", "X-Forwarded-Uri", tt.uri)
		if r.Status != tt.status {
			t.Errorf("shipped gateway rules: /auth for %s = %d, want %d", strings.Split(tt.uri, "?")[0], r.Status, tt.status)
		}
	}
	warned := false
	for _, l := range s.Logs() {
		if strings.Contains(l, "WARNING") && strings.Contains(l, "token.secret") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no loud warning about the random secret:\n%s", s.logText())
	}
}
