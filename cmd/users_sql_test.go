package cmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/pgtest"
	"github.com/tokengate/tokengate/internal/redistest"
	"github.com/tokengate/tokengate/state"
	"github.com/tokengate/tokengate/store"
)

// TestMain shares one PostgreSQL server between the tests of this package.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestUsersOnSQLStore: every users command works on the sql store as on a users file, on SQLite
// and on PostgreSQL, with the password on stdin and no hash in any output.
func TestUsersOnSQLStore(t *testing.T) {
	for _, b := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "users.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			env := []string{"TOKENGATE_STORE_KIND=sql", "TOKENGATE_STORE_DSN=" + b.dsn(t)}
			steps := []struct {
				stdin string
				args  []string
				want  string // in stdout
			}{
				{"alice-password\n", []string{"users", "add", "alice", "--role", "admin", "--cost", "4"}, "added alice to "},
				{"bob-password\n", []string{"users", "add", "Bob", "--cost", "4"}, "added Bob"},
				{"", []string{"users", "roles", "Bob", "ops", "dev"}, "set the roles of Bob"},
				{"", []string{"users", "disable", "alice"}, "disabled alice"},
				{"", []string{"users", "list"}, "Bob\troles=dev,ops\nalice\troles=admin\tdisabled\n"},
				{"", []string{"users", "enable", "alice"}, "enabled alice"},
				{"new-alice-password\n", []string{"users", "passwd", "alice", "--cost", "4"}, "changed the password of alice"},
				{"", []string{"users", "delete", "Bob"}, "removed Bob"},
				{"", []string{"users", "list"}, "alice\troles=admin\n"},
			}
			for _, s := range steps {
				out, errOut, err := runCmd(t, s.stdin, env, s.args...)
				if err != nil {
					t.Fatalf("%v: %v\n%s", s.args, err, errOut)
				}
				if !strings.Contains(out, s.want) {
					t.Errorf("%v: stdout = %q, want %q", s.args, out, s.want)
				}
				if strings.Contains(out+errOut, "$2") || strings.Contains(out+errOut, "password\n") {
					t.Errorf("%v printed a hash or password: %q %q", s.args, out, errOut)
				}
			}
			// The store has what the commands said.
			s, err := store.OpenSQL(t.Context(), strings.TrimPrefix(env[1], "TOKENGATE_STORE_DSN="), store.SQLOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Authenticate(t.Context(), "alice", "new-alice-password"); err != nil {
				t.Errorf("alice cannot log in with her new password: %v", err)
			}
			// Refusals.
			for _, r := range []struct {
				stdin string
				args  []string
				want  string
			}{
				{"alice-password\n", []string{"users", "add", "alice", "--cost", "4"}, "exists"},
				{"short\n", []string{"users", "add", "carol", "--cost", "4"}, "shorter than 8"},
				{"carol-is-me\n", []string{"users", "add", "carol-is-me", "--cost", "4"}, "is the user name"},
				{"", []string{"users", "add", "a:b"}, "':'"},
				{"", []string{"users", "disable", "nobody"}, "not found"},
				{"some-password\n", []string{"users", "passwd", "nobody"}, "not found"},
				{"", []string{"users", "delete", "nobody"}, "not found"},
			} {
				_, _, err := runCmd(t, r.stdin, env, r.args...)
				if err == nil || !strings.Contains(err.Error(), r.want) {
					t.Errorf("%v: error = %v, want one containing %q", r.args, err, r.want)
				}
			}
		})
	}
}

// TestUsersListPages: list pages through a table larger than one page.
func TestUsersListPages(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "users.db")
	s, err := store.OpenSQL(t.Context(), dsn, store.SQLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := store.HashPassword([]byte("password"), store.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	const n = store.MaxPage + 234
	for i := range n {
		if err := s.AddUser(t.Context(), fmt.Sprintf("user%05d", i), store.Entry{PasswordHash: h}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	out, _, err := runCmd(t, "", []string{"TOKENGATE_STORE_KIND=sql", "TOKENGATE_STORE_DSN=" + dsn}, "users", "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != n || lines[0] != "user00000" || lines[n-1] != fmt.Sprintf("user%05d", n-1) {
		t.Errorf("list printed %d lines (%q … %q), want %d in order", len(lines), lines[0], lines[len(lines)-1], n)
	}
}

// TestUsersEndSessionsThroughRedis: with state.backend redis, passwd, disable and delete end the
// user's sessions on every replica (a cut-off in Redis); with the memory backend they say that
// sessions end at their expiry.
func TestUsersEndSessionsThroughRedis(t *testing.T) {
	url := redistest.Start(t)
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "users.db")
	env := []string{"TOKENGATE_STORE_KIND=sql", "TOKENGATE_STORE_DSN=" + dsn,
		"TOKENGATE_STATE_BACKEND=redis", "TOKENGATE_STATE_REDIS_URL=" + url}
	r, err := state.NewRedis(url)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, u := range []string{"alice", "bob", "carol"} {
		if _, _, err := runCmd(t, u+"-password\n", env, "users", "add", u, "--cost", "4"); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range [][]string{
		{"users", "passwd", "alice", "--cost", "4"},
		{"users", "disable", "bob"},
		{"users", "delete", "carol"},
	} {
		user := c[2]
		out, _, err := runCmd(t, "another-password\n", env, c...)
		if err != nil || !strings.Contains(out, "ended every session of "+user) {
			t.Fatalf("%v: %q, %v", c, out, err)
		}
		at, err := r.UserCutOff(context.Background(), user)
		if err != nil || at.IsZero() {
			t.Errorf("%v: cut-off of %s = %v, %v; want one", c, user, at, err)
		}
	}
	_, errOut, err := runCmd(t, "", env[:2], "users", "disable", "alice")
	if err != nil || !strings.Contains(errOut, "end when their tokens expire") {
		t.Errorf("memory state backend: %q, %v; want a note that sessions end at expiry", errOut, err)
	}
}

// TestUsersAddSeed: add --password-file --if-missing, as a seeding job runs it at every start.
func TestUsersAddSeed(t *testing.T) {
	env := []string{"TOKENGATE_STORE_KIND=sql", "TOKENGATE_STORE_DSN=sqlite://" + filepath.Join(t.TempDir(), "users.db")}
	pwFile := writeFile(t, "pw", "seed-password\nignored second line\n")
	args := []string{"users", "add", "alice", "--role", "admin", "--password-file", pwFile, "--if-missing", "--cost", "4"}
	for i, want := range []string{"added alice", "alice exists in sqlite://"} {
		out, _, err := runCmd(t, "", env, args...)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("run %d: %q, %v; want %q", i+1, out, err, want)
		}
	}
	if _, _, err := runCmd(t, "", env, args[:len(args)-3]...); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("without --if-missing: error = %v, want one saying alice exists", err)
	}
	s, err := store.OpenSQL(t.Context(), strings.TrimPrefix(env[1], "TOKENGATE_STORE_DSN="), store.SQLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Authenticate(t.Context(), "alice", "seed-password"); err != nil {
		t.Errorf("alice cannot log in with the password of the file: %v", err)
	}
	// A hash made before moves as it is, whatever its password (the rules of new passwords
	// cannot be checked on a hash).
	h, err := store.HashPassword([]byte("short"), store.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	hashFile := writeFile(t, "hash", h+"\n")
	if out, _, err := runCmd(t, "", env, "users", "add", "bob", "--password-hash-file", hashFile); err != nil || !strings.Contains(out, "added bob") {
		t.Fatalf("add --password-hash-file: %q, %v", out, err)
	}
	if _, err := s.Authenticate(t.Context(), "bob", "short"); err != nil {
		t.Errorf("bob cannot log in with the password of the moved hash: %v", err)
	}
	notHash := writeFile(t, "nothash", "short\n")
	if _, _, err := runCmd(t, "", env, "users", "add", "carol", "--password-hash-file", notHash); err == nil || !strings.Contains(err.Error(), "not a bcrypt hash") {
		t.Errorf("add --password-hash-file with a password in it: error = %v, want a refusal", err)
	}
}

// TestCheckConfigSQL: check-config opens the database (and brings its schema up to date), counts
// its users and shows the DSN with its password masked; an unreachable database is one problem
// naming store.dsn, without the password.
func TestCheckConfigSQL(t *testing.T) {
	dsn := strings.Replace(pgtest.DSN(t), "postgres://postgres@", "postgres://postgres:s3cret-pw@", 1)
	env := []string{"TOKENGATE_STORE_KIND=sql", "TOKENGATE_STORE_DSN=" + dsn, "TOKENGATE_TOKEN_SECRET=" + strings.Repeat("k", 32)}
	if _, _, err := runCmd(t, "alice-password\n", env, "users", "add", "alice", "--cost", "4"); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runCmd(t, "", env, "check-config")
	if err != nil {
		t.Fatalf("check-config: %v\n%s", err, errOut)
	}
	for _, want := range []string{"users: 1 from the postgres database postgres://postgres:***@127.0.0.1:", "store.kind: sql", "store.dsn: postgres://postgres:***@"} {
		if !strings.Contains(out, want) {
			t.Errorf("check-config output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, "s3cret-pw") {
		t.Errorf("check-config shows the DSN's password:\n%s%s", out, errOut)
	}
	env[1] = "TOKENGATE_STORE_DSN=postgres://postgres:s3cret-pw@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"
	_, errOut, err = runCmd(t, "", env, "check-config")
	if err == nil || !strings.Contains(errOut, "store.dsn: ") || strings.Contains(errOut, "s3cret-pw") {
		t.Errorf("check-config on an unreachable database: %v\n%s", err, errOut)
	}
}
