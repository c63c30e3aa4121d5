package store

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// mustHash returns a bcrypt hash of password at bcrypt.MinCost.
func mustHash(tb testing.TB, password string) string {
	tb.Helper()
	return mustHashCost(tb, password, bcrypt.MinCost)
}

func mustHashCost(tb testing.TB, password string, cost int) string {
	tb.Helper()
	h, err := HashPassword([]byte(password), cost)
	if err != nil {
		tb.Fatalf("HashPassword: %v", err)
	}
	return h
}

// yamlUsers renders users as a YAML users file, in name order.
func yamlUsers(users map[string]Entry) []byte {
	var b bytes.Buffer
	b.WriteString("# tokengate users\nusers:\n")
	for _, name := range sortedNames(users) {
		e := users[name]
		fmt.Fprintf(&b, "  %q:\n    password_hash: %q\n", name, e.PasswordHash)
		if len(e.Roles) > 0 {
			fmt.Fprintf(&b, "    roles: [%s]\n", strings.Join(e.Roles, ", "))
		}
		if e.Disabled {
			b.WriteString("    disabled: true\n")
		}
	}
	return b.Bytes()
}

// htpasswdUsers renders users as an htpasswd file; it fails the test if one has roles or is disabled.
func htpasswdUsers(tb testing.TB, users map[string]Entry) []byte {
	tb.Helper()
	var b bytes.Buffer
	b.WriteString("# made by the store tests\n")
	for _, name := range sortedNames(users) {
		e := users[name]
		if len(e.Roles) > 0 || e.Disabled {
			tb.Fatalf("htpasswd cannot hold roles or disabled (user %q)", name)
		}
		fmt.Fprintf(&b, "%s:%s\n", name, e.PasswordHash)
	}
	return b.Bytes()
}

func sortedNames(users map[string]Entry) []string {
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func writeFile(tb testing.TB, path string, data []byte) {
	tb.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
}

// replaceByRename writes data to a temporary file in path's directory and renames it over path,
// as editors and configuration tools do.
func replaceByRename(tb testing.TB, path string, data []byte) {
	tb.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".edit-"+filepath.Base(path)+".tmp")
	writeFile(tb, tmp, data)
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

// eventually polls cond until it holds or 5 s pass.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("after 5s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// logBuffer is a goroutine-safe log sink for asserting what was (and was not) logged.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newLogger returns a logger writing text records to a new buffer.
func newLogger() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// bcryptHash matches a bcrypt hash anywhere in a text.
var bcryptHash = regexp.MustCompile(`\$2[aby]?\$\d\d\$[./A-Za-z0-9]{10}`)

// assertNoHashes fails if the log shows any bcrypt hash.
func assertNoHashes(tb testing.TB, log *logBuffer) {
	tb.Helper()
	if s := log.String(); bcryptHash.MatchString(s) {
		tb.Errorf("log shows a hash:\n%s", s)
	}
}
