package store

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/tokengate/tokengate/internal/pgtest"
)

// TestMain shares one PostgreSQL server between the tests of this package.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// sqlBackends are the databases every SQL test runs against: a real SQLite file and a real
// PostgreSQL 15 server.
var sqlBackends = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "users.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }},
}

// openSQL opens the store at dsn for the test and closes it when the test ends.
func openSQL(t *testing.T, dsn string, opts SQLOptions) *SQL {
	t.Helper()
	if opts.Hasher == nil {
		opts.Hasher = conformanceHasher()
	}
	s, err := OpenSQL(t.Context(), dsn, opts)
	if err != nil {
		t.Fatalf("OpenSQL: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// fill adds users to s.
func fill(t *testing.T, s Admin, users map[string]Entry) {
	t.Helper()
	for _, name := range sortedNames(users) {
		if err := s.AddUser(t.Context(), name, users[name]); err != nil {
			t.Fatalf("AddUser(%q): %v", name, err)
		}
	}
}

func sqlSubject(t *testing.T, dsn string, users map[string]Entry) subject {
	t.Helper()
	s := openSQL(t, dsn, SQLOptions{})
	fill(t, s, users)
	return subject{
		credentials: s,
		ready:       s.Ready,
		hasher:      s.hasher,
		dummyCost: func(t *testing.T) int {
			var users sql.NullInt64
			cost, err := s.maxCost(t.Context(), &users)
			if err != nil {
				t.Fatalf("maxCost: %v", err)
			}
			s.mu.Lock()
			d := s.dummies[cost]
			s.mu.Unlock()
			if d == nil {
				t.Fatalf("no dummy hash of cost %d was made", cost)
			}
			got, err := bcrypt.Cost(d.hash)
			if err != nil {
				t.Fatalf("dummy hash: %v", err)
			}
			return got
		},
		replica: func(t *testing.T) credentials { return openSQL(t, dsn, SQLOptions{}) },
	}
}

func TestSQLConformance(t *testing.T) {
	t.Parallel()
	for _, b := range sqlBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			open := func(t *testing.T, users map[string]Entry) subject { return sqlSubject(t, b.dsn(t), users) }
			runConformance(t, open)
			runAdminConformance(t, open)
		})
	}
}
