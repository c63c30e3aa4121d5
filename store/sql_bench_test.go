package store

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/pgtest"
)

// benchCost is the bcrypt cost of the benchmark users: the lowest cost loaded without a warning,
// so the compare is as cheap as a real deployment's can be and the lookup weighs the most.
const benchCost = 10

// benchStores opens the stores a login is measured against: memory, and SQLite and PostgreSQL
// with one user and with 100,000 more.
func benchStores(b *testing.B) []struct {
	name string
	s    interface{ credentials }
} {
	b.Helper()
	hash := mustHashCost(b, "alice-password", benchCost)
	users := map[string]Entry{"alice": {PasswordHash: hash, Roles: []string{"admin"}}}
	mem, err := NewMemory(users, NewHasher(1, 0), nil)
	if err != nil {
		b.Fatal(err)
	}
	open := func(dsn string, extra int) *SQL {
		s, err := OpenSQL(b.Context(), dsn, SQLOptions{Hasher: NewHasher(1, 0)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		for name, e := range users {
			if err := s.AddUser(b.Context(), name, e); err != nil {
				b.Fatal(err)
			}
		}
		if extra > 0 {
			// One statement makes the extra users: names user1…userN, all with alice's hash.
			q := `INSERT INTO tokengate_users (name, password_hash) SELECT 'user' || g, $1 FROM generate_series(1, $2) AS g`
			if s.dialect == "sqlite3" {
				q = `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $2)
INSERT INTO tokengate_users (name, password_hash) SELECT 'user' || i, $1 FROM g`
			}
			if _, err := s.db.ExecContext(b.Context(), q, hash, extra); err != nil {
				b.Fatal(err)
			}
			if _, err := s.db.ExecContext(b.Context(), "ANALYZE"); err != nil {
				b.Fatal(err)
			}
		}
		return s
	}
	sqlite := func(extra int) *SQL { return open("sqlite://"+filepath.Join(b.TempDir(), "users.db"), extra) }
	return []struct {
		name string
		s    interface{ credentials }
	}{
		{"memory", mem},
		{"sqlite", sqlite(0)},
		{"sqlite-100k", sqlite(100_000)},
		{"postgres", open(pgtest.DSN(b), 0)},
		{"postgres-100k", open(pgtest.DSN(b), 100_000)},
	}
}

// BenchmarkLogin measures Authenticate of a known user with the right password, and of an unknown
// user (the dummy compare), on each store: bcrypt at cost 10 plus whatever the store adds.
func BenchmarkLogin(b *testing.B) {
	for _, st := range benchStores(b) {
		for _, c := range []struct{ name, user, password string }{
			{"known", "alice", "alice-password"},
			{"unknown", "mallory", "alice-password"},
		} {
			b.Run(st.name+"/"+c.name, func(b *testing.B) {
				ctx := b.Context()
				for b.Loop() {
					_, _ = st.s.Authenticate(ctx, c.user, c.password)
				}
			})
		}
	}
}

// BenchmarkLoginRead measures what a store adds to a login besides bcrypt: the read of the user
// (for SQL, the one query Authenticate sends; for memory, a map lookup).
func BenchmarkLoginRead(b *testing.B) {
	for _, st := range benchStores(b) {
		b.Run(st.name, func(b *testing.B) {
			ctx := b.Context()
			s, isSQL := st.s.(*SQL)
			for b.Loop() {
				if !isSQL {
					if _, err := st.s.Lookup(ctx, "alice"); err != nil {
						b.Fatal(err)
					}
					continue
				}
				var cost sql.NullInt64
				var hash, roles sql.NullString
				var disabled sql.NullBool
				if err := s.auth.QueryRowContext(ctx, "alice").Scan(&cost, &hash, &roles, &disabled); err != nil || !hash.Valid {
					b.Fatalf("login query: %v (found %v)", err, hash.Valid)
				}
			}
		})
	}
}

// BenchmarkLoginCompared logs in on every store in turn within each iteration, so that all stores
// meet the same machine load, and reports each store's mean time per login (ms/login-NAME) and
// its ratio to the memory store's (ratio-NAME): what a store adds to a login, bcrypt at cost 10
// included, with the noise of a shared machine spread evenly.
func BenchmarkLoginCompared(b *testing.B) {
	stores := benchStores(b)
	for _, c := range []struct{ name, user string }{{"known", "alice"}, {"unknown", "mallory"}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := b.Context()
			total := make([]time.Duration, len(stores))
			n := 0
			for b.Loop() {
				for i, st := range stores {
					start := time.Now()
					_, _ = st.s.Authenticate(ctx, c.user, "alice-password")
					total[i] += time.Since(start)
				}
				n++
			}
			for i, st := range stores {
				b.ReportMetric(float64(total[i].Microseconds())/1000/float64(n), "ms/login-"+st.name)
				if i > 0 {
					b.ReportMetric(float64(total[i])/float64(total[0]), "ratio-"+st.name)
				}
			}
		})
	}
}
