package store

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3"
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

func TestOpenSQLRefusesBadDSNs(t *testing.T) {
	for _, dsn := range []string{
		"",
		"users.db",
		"mysql://u:s3cret-pw@host/db",
		"sqlite://",
		"sqlite:///tmp/users.db?mode=ro",
		"sqlite://:memory:",
		"sqlite://file:users.db",
		"postgres://u:s3cret-pw@host:notaport/db",
		"postgres://u:s3cret-pw@host/db?sslmode=bogus",
	} {
		_, err := OpenSQL(t.Context(), dsn, SQLOptions{})
		if err == nil {
			t.Errorf("OpenSQL(%q) error = nil, want a refusal", dsn)
			continue
		}
		if strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("OpenSQL(%q) error %q quotes the password", dsn, err)
		}
		if errors.Is(err, ErrUnavailable) {
			t.Errorf("OpenSQL(%q) error %v wraps ErrUnavailable, want a configuration error", dsn, err)
		}
	}
}

func TestOpenSQLUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	dsn := "postgres://u:s3cret-pw@" + addr + "/db?sslmode=disable"
	_, err = OpenSQL(t.Context(), dsn, SQLOptions{})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("OpenSQL(closed port) error = %v, want ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("error %q quotes the password", err)
	}
	if _, err := OpenSQL(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "no", "such", "dir.db"), SQLOptions{}); err == nil {
		t.Error("OpenSQL(sqlite file in a missing directory) error = nil")
	}
}

// While PostgreSQL is down, every call fails closed with ErrUnavailable — never as a wrong
// password — and when it is back, so is everything that was in it.
func TestSQLOutage(t *testing.T) {
	srv := pgtest.Start(t)
	s := openSQL(t, srv.NewDatabase(t), SQLOptions{Timeout: 2 * time.Second})
	ctx := t.Context()
	fill(t, s, map[string]Entry{"alice": {PasswordHash: mustHash(t, "alice-pw"), Roles: []string{"admin"}}})
	if _, err := s.Authenticate(ctx, "alice", "alice-pw"); err != nil {
		t.Fatalf("Authenticate before the outage: %v", err)
	}

	srv.Stop()
	calls := map[string]func() error{
		"Ready":        func() error { return s.Ready(ctx) },
		"Authenticate": func() error { _, err := s.Authenticate(ctx, "alice", "alice-pw"); return err },
		"unknown user": func() error { _, err := s.Authenticate(ctx, "mallory", "x"); return err },
		"Lookup":       func() error { _, err := s.Lookup(ctx, "alice"); return err },
		"Count":        func() error { _, err := s.Count(ctx); return err },
		"ListUsers":    func() error { _, err := s.ListUsers(ctx, "", 10); return err },
		"AddUser":      func() error { return s.AddUser(ctx, "bob", Entry{PasswordHash: mustHash(t, "bob-pw")}) },
		"SetDisabled":  func() error { return s.SetDisabled(ctx, "alice", true) },
	}
	before := s.hasher.compares.Load()
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s while the database is down: error = %v, want ErrUnavailable", name, err)
		}
	}
	if n := s.hasher.compares.Load() - before; n != 0 {
		t.Errorf("bcrypt compares while the database is down = %d, want 0 (no dummy compare stands in for a failed read)", n)
	}

	if err := srv.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if err := s.Ready(ctx); err != nil {
		t.Errorf("Ready after the outage: %v", err)
	}
	u, err := s.Authenticate(ctx, "alice", "alice-pw")
	if err != nil || strings.Join(u.Roles, ",") != "admin" {
		t.Errorf("Authenticate after the outage = %+v, %v; want alice (admin)", u, err)
	}
}

// Replicas that start together on one new database all come up, with the schema made once.
func TestSQLConcurrentStart(t *testing.T) {
	t.Parallel()
	for _, b := range sqlBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			dsn := b.dsn(t)
			const n = 4
			stores := make([]*SQL, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					stores[i], errs[i] = OpenSQL(t.Context(), dsn, SQLOptions{Hasher: conformanceHasher()})
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("OpenSQL %d: %v", i, err)
					continue
				}
				defer stores[i].Close()
			}
			if t.Failed() {
				return
			}
			// Each migration is recorded once, whoever applied it.
			var rows, maxVersion int
			err := stores[0].db.QueryRowContext(t.Context(),
				`SELECT COUNT(*), MAX(version_id) FROM `+migrationsTable+` WHERE version_id > 0`).Scan(&rows, &maxVersion)
			if err != nil {
				t.Fatal(err)
			}
			want := countMigrations(t, stores[0].dialect)
			if rows != want || maxVersion != want {
				t.Errorf("schema versions recorded = %d (max %d), want %d once each", rows, maxVersion, want)
			}
			fill(t, stores[1], map[string]Entry{"alice": {PasswordHash: mustHash(t, "alice-pw")}})
			if _, err := stores[n-1].Authenticate(t.Context(), "alice", "alice-pw"); err != nil {
				t.Errorf("Authenticate on another replica: %v", err)
			}
		})
	}
}

func countMigrations(t *testing.T, dialect goose.Dialect) int {
	t.Helper()
	dir := "migrations/postgres"
	if dialect == goose.DialectSQLite3 {
		dir = "migrations/sqlite"
	}
	entries, err := migrations.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// A store opened again on its database keeps its users and applies nothing twice.
func TestSQLReopen(t *testing.T) {
	for _, b := range sqlBackends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			s := openSQL(t, dsn, SQLOptions{})
			fill(t, s, map[string]Entry{"alice": {PasswordHash: mustHash(t, "alice-pw")}})
			s.Close()
			s2 := openSQL(t, dsn, SQLOptions{})
			if _, err := s2.Authenticate(t.Context(), "alice", "alice-pw"); err != nil {
				t.Errorf("Authenticate after reopening: %v", err)
			}
		})
	}
}

func TestSQLiteFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.db")
	openSQL(t, "sqlite://"+path, SQLOptions{})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("new database file mode = %v, want 0600 (it holds password hashes)", got)
	}
}

// queryCounter is a pgx tracer that counts the queries sent to PostgreSQL.
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Every login is one query, whatever its outcome: no round-trip storm.
func TestSQLLoginIsOneQuery(t *testing.T) {
	counter := &queryCounter{}
	s := openSQL(t, pgtest.DSN(t), SQLOptions{tracer: counter})
	fill(t, s, map[string]Entry{
		"alice": {PasswordHash: mustHash(t, "alice-pw"), Roles: []string{"admin"}},
		"carol": {PasswordHash: mustHash(t, "carol-pw"), Disabled: true},
	})
	for _, tc := range []struct{ name, user, password string }{
		{"right password", "alice", "alice-pw"},
		{"wrong password", "alice", "nope"},
		{"unknown user", "mallory", "x"},
		{"disabled user", "carol", "carol-pw"},
	} {
		before := counter.n.Load()
		_, _ = s.Authenticate(t.Context(), tc.user, tc.password)
		if got := counter.n.Load() - before; got != 1 {
			t.Errorf("%s: %d queries, want 1", tc.name, got)
		}
	}
}

// The dummy compare follows the highest cost in the table, also when another replica raised it.
func TestSQLDummyFollowsHighestCost(t *testing.T) {
	for _, b := range sqlBackends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			s := openSQL(t, dsn, SQLOptions{})
			other := openSQL(t, dsn, SQLOptions{})
			fill(t, s, map[string]Entry{"low": {PasswordHash: mustHash(t, "pw")}})
			for _, cost := range []int{bcrypt.MinCost, bcrypt.MinCost + 2} {
				if cost > bcrypt.MinCost {
					if err := other.AddUser(t.Context(), "high", Entry{PasswordHash: mustHashCost(t, "pw", cost)}); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := s.Authenticate(t.Context(), "mallory", "pw"); !errors.Is(err, ErrInvalidCredentials) {
					t.Fatalf("Authenticate(mallory): %v", err)
				}
				s.mu.Lock()
				d := s.dummies[cost]
				s.mu.Unlock()
				if d == nil {
					t.Fatalf("after a user of cost %d was added, no dummy of that cost was made", cost)
				}
				if got, _ := bcrypt.Cost(d.hash); got != cost {
					t.Errorf("dummy cost = %d, want %d", got, cost)
				}
			}
		})
	}
}

// Rows written by hand that the store would never write fail closed and leak nothing.
func TestSQLStrangeRows(t *testing.T) {
	for _, b := range sqlBackends {
		t.Run(b.name, func(t *testing.T) {
			log, buf := newLogger()
			s := openSQL(t, b.dsn(t), SQLOptions{Logger: log})
			ctx := t.Context()
			good := mustHash(t, "pw")
			for _, row := range []struct{ name, hash, roles string }{
				{"badroles", good, "not json"},
				{"badhash", "$2a$04$" + strings.Repeat("!", 53), "[]"},
			} {
				if _, err := s.db.ExecContext(ctx, `INSERT INTO tokengate_users (name, password_hash, roles) VALUES ($1, $2, $3)`,
					row.name, row.hash, row.roles); err != nil {
					t.Fatalf("insert %s: %v", row.name, err)
				}
			}
			if _, err := s.Authenticate(ctx, "badroles", "pw"); err == nil || errors.Is(err, ErrInvalidCredentials) {
				t.Errorf("Authenticate(malformed roles) error = %v, want a failure that is not a wrong password", err)
			}
			if _, err := s.Lookup(ctx, "badroles"); err == nil {
				t.Error("Lookup(malformed roles) error = nil")
			}
			if _, err := s.Authenticate(ctx, "badhash", "pw"); !errors.Is(err, ErrInvalidCredentials) {
				t.Errorf("Authenticate(malformed hash) error = %v, want ErrInvalidCredentials", err)
			}
			assertNoHashes(t, buf)
			if strings.Contains(buf.String(), strings.Repeat("!", 20)) {
				t.Errorf("log quotes a stored hash:\n%s", buf)
			}
		})
	}
}

func TestSQLPoolOptions(t *testing.T) {
	s := openSQL(t, pgtest.DSN(t), SQLOptions{MaxOpenConns: 3, MaxIdleConns: 7})
	if got := s.db.Stats().MaxOpenConnections; got != 3 {
		t.Errorf("MaxOpenConnections = %d, want 3", got)
	}
	d := openSQL(t, pgtest.DSN(t), SQLOptions{})
	if got := d.db.Stats().MaxOpenConnections; got != DefaultMaxOpenConns {
		t.Errorf("default MaxOpenConnections = %d, want %d", got, DefaultMaxOpenConns)
	}
}
