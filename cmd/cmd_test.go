package cmd

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/store"
)

// runCmd runs the command line args in-process and returns its output and error.
func runCmd(t *testing.T, stdin string, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = Execute(context.Background(), args, IO{Env: env, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb})
	return out.String(), errb.String(), err
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHelpListsEverything: --help (exit 0) and help TOPIC list every command and flag, with the
// real ranges.
func TestHelpListsEverything(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"serve", "check-config", "hash-password", "users", "keygen", "client-secret", "healthcheck", "version", "completion", "--config"}},
		{[]string{"help"}, []string{"serve", "users", "completion"}},
		{[]string{"help", "users"}, []string{"add", "passwd", "roles", "disable", "enable", "delete", "list", "--file", "--config"}},
		{[]string{"users", "add", "--help"}, []string{"--role", "--disabled", "--cost", "4 to 16", "--file", "--config"}},
		{[]string{"hash-password", "--help"}, []string{"--cost", "4 to 16", "72"}},
		{[]string{"keygen", "-h"}, []string{"--alg", "--out", "--if-missing", "RS256, ES256 or EdDSA"}},
		{[]string{"serve", "--help"}, []string{"--config", "TOKENGATE_"}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			out, _, err := runCmd(t, "", nil, c.args...)
			if err != nil {
				t.Fatalf("err = %v, want nil (exit 0)", err)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("help lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestUsageErrors: mistakes on the command line are UsageErrors (exit 2), with a pointer to --help.
func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"frobnicate"}, {"serev"}, {"--no-such-flag"}, {"serve", "extra"}, {"users"}, {"users", "add"},
		{"users", "add", "a", "b"}, {"keygen"}, {"hash-password", "--cost", "many"}, {"version", "x"},
	} {
		_, _, err := runCmd(t, "", nil, args...)
		var ue UsageError
		if !errors.As(err, &ue) || !strings.Contains(ue.Msg, "--help") {
			t.Errorf("%q: err = %v, want a UsageError pointing to --help", args, err)
		}
	}
	_, _, err := runCmd(t, "", nil, "serev")
	if err == nil || !strings.Contains(err.Error(), `did you mean serve`) {
		t.Errorf("serev: %v, want a suggestion", err)
	}
}

// TestFlagsAnywhere: a flag works before or after the command it belongs to.
func TestFlagsAnywhere(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "users.yaml")
	hash, err := store.HashPassword([]byte("pw-of-alice"), store.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.AddUser(file, "alice", store.Entry{PasswordHash: hash, Roles: []string{"admin"}}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"users", "--file", file, "list"},
		{"users", "list", "--file", file},
		{"users", "list", "--file=" + file},
	} {
		out, _, err := runCmd(t, "", nil, args...)
		if err != nil || out != "alice\troles=admin\n" {
			t.Errorf("%q: %q, %v", args, out, err)
		}
	}
	// add with its flags after the name, the file flag first.
	out, _, err := runCmd(t, "pw-of-bob\n", nil, "users", "--file", file, "add", "bob", "--role", "ops", "--role", "dev", "--cost", "4")
	if err != nil || !strings.Contains(out, "added bob") {
		t.Fatalf("add: %q, %v", out, err)
	}
	out, _, _ = runCmd(t, "", nil, "users", "list", "--file", file)
	if !strings.Contains(out, "bob\troles=dev,ops") || strings.Contains(out, "$2") { // roles are kept sorted
		t.Errorf("list after add: %q", out)
	}
	// --config before the command.
	cfg := writeFile(t, "c.yaml", "store:\n  kind: file\n  path: "+file+"\ntoken:\n  secret: test-secret-0123456789abcdef0123456789abcdef\n")
	out, _, err = runCmd(t, "", nil, "--config", cfg, "users", "list")
	if err != nil || !strings.Contains(out, "alice") {
		t.Errorf("--config before users: %q, %v", out, err)
	}
}

// TestUsersOnMemoryStore: the users commands on a configuration with the memory store explain where
// its users are edited and how to switch to a users file.
func TestUsersOnMemoryStore(t *testing.T) {
	cfg := writeFile(t, "config.yaml", "token:\n  secret: test-secret-0123456789abcdef0123456789abcdef\n")
	_, _, err := runCmd(t, "", nil, "users", "list", "--config", cfg)
	if err == nil {
		t.Fatal("users list on the memory store succeeded")
	}
	for _, want := range []string{"memory store", "store.users", "hash-password", "--file", "store.kind: file", "store.path"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q:\n%v", want, err)
		}
	}
}

// TestCheckConfig: every problem at once (a wrong type does not hide the rest), one line each naming
// its key, no secret; when valid, the file read, the users loaded and a warning for a missing secret.
func TestCheckConfig(t *testing.T) {
	bad := writeFile(t, "bad.yaml", "token:\n  ttl: soon\n  secret: short-secret\n  lookup: [header, body]\nlogin:\n  max_failures: 0\n")
	_, stderr, err := runCmd(t, "", nil, "check-config", "--config", bad)
	if !errors.Is(err, ErrReported) {
		t.Fatalf("err = %v, want ErrReported", err)
	}
	for _, key := range []string{"token.ttl", "token.secret", "token.lookup", "login.max_failures"} {
		if !strings.Contains(stderr, "tokengate: config: "+key+": ") {
			t.Errorf("no line for %s:\n%s", key, stderr)
		}
	}
	if strings.Contains(stderr, "short-secret") || strings.Contains(stderr, "config: config:") {
		t.Errorf("secret or doubled prefix:\n%s", stderr)
	}
	_, stderr, err = runCmd(t, "", nil, "check-config", "--config", filepath.Join(t.TempDir(), "missing.yaml"))
	if !errors.Is(err, ErrReported) || strings.Count(stderr, "config:") != 1 {
		t.Errorf("missing file: %v\n%s", err, stderr)
	}

	hash, err := store.HashPassword([]byte("pw"), store.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	good := writeFile(t, "good.yaml", "store:\n  users:\n    alice:\n      password_hash: \""+hash+"\"\n")
	out, _, err := runCmd(t, "", nil, "check-config", "--config", good)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"config " + good + " is valid", "users: 1 from store.users", "warning: token.secret is not set"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, hash) {
		t.Errorf("hash printed:\n%s", out)
	}
	none := writeFile(t, "none.yaml", "token:\n  secret: test-secret-0123456789abcdef0123456789abcdef\n")
	out, _, err = runCmd(t, "", nil, "check-config", "--config", none)
	if err != nil || !strings.Contains(out, "users: 0") || !strings.Contains(out, "no users are configured") ||
		strings.Contains(out, "token.secret is not set") || strings.Contains(out, "test-secret") {
		t.Errorf("no users: %v\n%s", err, out)
	}
}

// TestCompletion: cobra's completion scripts for bash, zsh and fish.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, _, err := runCmd(t, "", nil, "completion", shell)
		if err != nil || !strings.Contains(out, "tokengate") || len(out) < 500 {
			t.Errorf("completion %s: %v, %d bytes", shell, err, len(out))
		}
	}
}

func TestVersion(t *testing.T) {
	version = "v9.8.7"
	t.Cleanup(func() { version = "" })
	out, _, err := runCmd(t, "", nil, "version")
	if err != nil || out != "tokengate v9.8.7\n" {
		t.Errorf("version = %q, %v", out, err)
	}
	out, _, err = runCmd(t, "", nil, "--version")
	if err != nil || out != "tokengate v9.8.7\n" {
		t.Errorf("--version = %q, %v", out, err)
	}
}

// TestNoUsersNotReady: a memory store without users builds (the image's built-in configuration
// has none), but its readiness check says why it is not ready.
func TestNoUsersNotReady(t *testing.T) {
	cfg := writeFile(t, "config.yaml", "token:\n  secret: test-secret-0123456789abcdef0123456789abcdef\n")
	c, err := loadConfig(cfg, nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := build(c, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	for _, ch := range a.ready {
		if ch.Name == "store" {
			if err := ch.Fn(context.Background()); !errors.Is(err, errNoUsers) {
				t.Fatalf("store check = %v, want %v", err, errNoUsers)
			}
			return
		}
	}
	t.Fatal("no store check")
}

// TestImageShipsNoUsers: the configuration built into the image (deploy/config.image.yaml, copied
// by the Dockerfile) is valid and has no users, so the image ships no known login.
func TestImageShipsNoUsers(t *testing.T) {
	dockerfile, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dockerfile), "cp deploy/config.image.yaml /out/etc/tokengate/config.yaml") ||
		strings.Contains(string(dockerfile), "cp config.yaml") {
		t.Fatal("the Dockerfile does not build deploy/config.image.yaml into the image")
	}
	out, _, err := runCmd(t, "", nil, "check-config", "--config", "../deploy/config.image.yaml")
	if err != nil || !strings.Contains(out, "users: 0 from store.users") || !strings.Contains(out, "no users are configured") {
		t.Fatalf("check-config of the image's config: %v\n%s", err, out)
	}
	// The shipped config.yaml keeps the demo user: tests/TestShippedConfig logs in with it.
}
