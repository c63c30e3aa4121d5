package tests

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/store"
)

// testUser is one user of the test configs.
type testUser struct {
	name, password string
	roles          []string
	disabled       bool
}

var testUsers = []testUser{
	{name: "alice", password: "pyconid", roles: []string{"admin"}},
	{name: "bob", password: "bob-password", roles: nil},
	{name: "carol", password: "carol-password", disabled: true},
	{name: "Alice", password: "capital-alice"}, // user names are case-sensitive
}

var (
	hashOnce sync.Once
	hashes   map[string]string
)

// usersYAML returns the test users as a store.users / users-file mapping, hashed once per run with
// the store's own bcrypt at the lowest cost.
func usersYAML(t testing.TB) string {
	t.Helper()
	hashOnce.Do(func() {
		hashes = map[string]string{}
		for _, u := range testUsers {
			h, err := store.HashPassword([]byte(u.password), 4)
			if err != nil {
				panic(err)
			}
			hashes[u.name] = h
		}
	})
	var b strings.Builder
	for _, u := range testUsers {
		fmt.Fprintf(&b, "%s:\n  password_hash: %q\n", u.name, hashes[u.name])
		if len(u.roles) > 0 {
			fmt.Fprintf(&b, "  roles: [%s]\n", strings.Join(u.roles, ", "))
		}
		if u.disabled {
			b.WriteString("  disabled: true\n")
		}
	}
	return b.String()
}

// hashOf hashes a password with the store's bcrypt at the lowest cost.
func hashOf(t testing.TB, password string) string {
	t.Helper()
	h, err := store.HashPassword([]byte(password), 4)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// hashCost hashes a password with the store's bcrypt at the given cost.
func hashCost(tb testing.TB, password string, cost int) string {
	tb.Helper()
	h, err := store.HashPassword([]byte(password), cost)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
}
