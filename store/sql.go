package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"golang.org/x/crypto/bcrypt"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite": pure Go, so the static image needs no libc
)

// migrations are the schema's versions, one directory per dialect, applied by goose at start.
//
//go:embed migrations
var migrations embed.FS

// ErrUnavailable is wrapped by every error of a store that could not reach its database
// (connection refused, timeout, a failing query). Callers answer 503 and never treat it as
// permission: a login fails closed.
var ErrUnavailable = errors.New("user store unavailable")

// Defaults of SQLOptions.
const (
	DefaultMaxOpenConns    = 10
	DefaultConnMaxLifetime = 30 * time.Minute
	DefaultSQLTimeout      = 5 * time.Second
)

const (
	// migrationsTable is goose's table of applied versions; named for tokengate, so that a shared
	// database may hold other tools' goose tables.
	migrationsTable = "tokengate_schema_version"
	// migrationLockID is the PostgreSQL advisory lock that replicas starting together take in
	// turn while they migrate: crc32("tokengate"), not goose's default, which other tools share.
	migrationLockID int64 = 0x2a4f1bb6
	// sqliteParams are the connection settings of every SQLite connection: WAL so that logins read
	// while a change is written, a busy timeout so that writers (another process too) wait for one
	// another instead of failing, and transactions that take the write lock when they begin, so
	// that two migrating processes run one after the other.
	sqliteParams = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
)

// SQLOptions configures OpenSQL. The zero value is usable.
type SQLOptions struct {
	// Hasher bounds bcrypt work (nil: NewHasher(0, 1s)).
	Hasher *Hasher
	// Logger receives migration and dummy-hash notes (nil: discard). It never receives a hash.
	Logger *slog.Logger
	// MaxOpenConns bounds the connections to the database (0: DefaultMaxOpenConns).
	MaxOpenConns int
	// MaxIdleConns is how many idle connections are kept (0: MaxOpenConns, so that a busy pool
	// does not reconnect all the time; negative: none).
	MaxIdleConns int
	// ConnMaxLifetime closes connections older than this, so that a pool moves to a failed-over
	// server or a new DNS answer in time (0: DefaultConnMaxLifetime; negative: never).
	ConnMaxLifetime time.Duration
	// Timeout bounds every query, so that an unreachable database answers in time (as
	// ErrUnavailable) instead of holding logins (0: DefaultSQLTimeout).
	Timeout time.Duration

	// tracer, set by this package's tests, sees every PostgreSQL query.
	tracer pgx.QueryTracer
}

// SQL is a credential store in a database: an SQLite file (pure Go, no cgo) or PostgreSQL (pgx).
// Every login reads the database, in one query, so a user added, changed or removed by any
// process that shares the database is seen at once: there is no user cache to go stale.
//
// It answers Authenticate as the other stores do: ErrInvalidCredentials alike for an unknown user,
// a wrong password and a disabled user, after one bcrypt compare in every case (against a dummy
// hash of the highest cost in the table for an unknown user). User names are case-sensitive and
// sort byte by byte. Any failure to reach the database is an error wrapping ErrUnavailable. Its
// methods are safe for concurrent use.
type SQL struct {
	db      *sql.DB
	dialect goose.Dialect
	hasher  *Hasher
	log     *slog.Logger
	timeout time.Duration
	auth    *sql.Stmt // authQuery, prepared once: the statement every login runs
	lookup  *sql.Stmt // lookupQuery

	mu      sync.Mutex
	dummies map[int]*dummy // bcrypt cost → dummy hash of that cost
}

// dummy is one dummy hash, made once, when a login first needs its cost.
type dummy struct {
	once sync.Once
	hash []byte
	err  error
}

// OpenSQL opens the database named by dsn — sqlite:///path/users.db (the file is created if
// missing) or postgres://user:password@host:port/db?… (anything pgx accepts) — and brings its
// schema up to date with the migrations built into the binary. Several processes may start at
// once on one database: on PostgreSQL they migrate one after the other under an advisory lock; on
// SQLite, SQLite's own write lock orders them. The error for a database that cannot be reached
// wraps ErrUnavailable; no error quotes a password of the DSN. Call Close when done.
func OpenSQL(ctx context.Context, dsn string, opts SQLOptions) (*SQL, error) {
	db, dialect, err := openDB(dsn, opts.tracer)
	if err != nil {
		return nil, err
	}
	s := &SQL{
		db:      db,
		dialect: dialect,
		hasher:  opts.Hasher,
		log:     orDiscard(opts.Logger),
		timeout: opts.Timeout,
		dummies: make(map[int]*dummy),
	}
	if s.hasher == nil {
		s.hasher = NewHasher(0, defaultHashWait)
	}
	if s.timeout <= 0 {
		s.timeout = DefaultSQLTimeout
	}
	maxOpen := opts.MaxOpenConns
	if maxOpen <= 0 {
		maxOpen = DefaultMaxOpenConns
	}
	maxIdle := opts.MaxIdleConns
	switch {
	case maxIdle == 0:
		maxIdle = maxOpen
	case maxIdle < 0:
		maxIdle = 0
	}
	lifetime := opts.ConnMaxLifetime
	switch {
	case lifetime == 0:
		lifetime = DefaultConnMaxLifetime
	case lifetime < 0:
		lifetime = 0 // database/sql: forever
	}
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(min(maxIdle, maxOpen))
	db.SetConnMaxLifetime(lifetime)

	if err := s.Ready(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if s.auth, err = db.PrepareContext(ctx, authQuery); err == nil {
		s.lookup, err = db.PrepareContext(ctx, lookupQuery)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: preparing queries: %w", s.classify(err))
	}
	// Make the dummy hash of the current highest cost now, so that the first unknown user does not
	// wait for it (and so take longer than a known one). An empty table has no user to tell apart.
	var users sql.NullInt64
	cost, err := s.maxCost(ctx, &users)
	if err == nil && users.Int64 > 0 {
		_, err = s.dummyHash(cost)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// openDB opens (without connecting) the database of dsn. A new SQLite file is made with mode 0600:
// it holds password hashes.
func openDB(dsn string, tracer pgx.QueryTracer) (*sql.DB, goose.Dialect, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite://"):
		path := strings.TrimPrefix(dsn, "sqlite://")
		switch {
		case path == "":
			return nil, "", errors.New("store: sqlite DSN has no path (want sqlite:///path/users.db)")
		case strings.ContainsAny(path, "?#"):
			return nil, "", errors.New("store: sqlite DSN takes no parameters (want sqlite:///path/users.db)")
		case path == ":memory:" || strings.HasPrefix(path, "file:"):
			return nil, "", errors.New("store: sqlite DSN must name a file (want sqlite:///path/users.db)")
		}
		if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
			f.Close()
		} else if !errors.Is(err, fs.ErrExist) {
			return nil, "", fmt.Errorf("store: creating %s: %w", path, err)
		}
		db, err := sql.Open("sqlite", path+"?"+sqliteParams)
		if err != nil {
			return nil, "", fmt.Errorf("store: opening %s: %w", path, err)
		}
		return db, goose.DialectSQLite3, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			// pgx's parse errors hide the DSN's password; say no more than that it is wrong.
			return nil, "", errors.New("store: invalid postgres DSN (want postgres://user:password@host:5432/db)")
		}
		if cfg.ConnectTimeout == 0 {
			cfg.ConnectTimeout = DefaultSQLTimeout
		}
		if _, ok := cfg.RuntimeParams["application_name"]; !ok {
			cfg.RuntimeParams["application_name"] = "tokengate"
		}
		if tracer != nil {
			cfg.Tracer = tracer
		}
		return stdlib.OpenDB(*cfg), goose.DialectPostgres, nil
	}
	return nil, "", errors.New("store: DSN must start with sqlite:// or postgres://")
}

// migrate applies the migrations the database lacks.
func (s *SQL) migrate(ctx context.Context) error {
	dir := "migrations/postgres"
	opts := []goose.ProviderOption{goose.WithTableName(migrationsTable), goose.WithDisableGlobalRegistry(true)}
	if s.dialect == goose.DialectSQLite3 {
		dir = "migrations/sqlite"
	} else {
		// Replicas starting together take turns; one that waits a minute gives up.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 60))
		if err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	p, err := goose.NewProvider(s.dialect, s.db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	// On SQLite, a process that migrates while another one does fails on the other's work (its
	// version was read before the other's committed). When the version moved on meanwhile, the
	// migration is tried again from there; a failure at a version that stands still is real.
	for attempt := 1; ; attempt++ {
		before, verr := p.GetDBVersion(ctx)
		results, err := p.Up(ctx)
		for _, r := range results {
			s.log.Info("user store schema migrated", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
		}
		if err == nil {
			return nil
		}
		after, aerr := p.GetDBVersion(ctx)
		if s.dialect != goose.DialectSQLite3 || attempt == 3 || verr != nil || aerr != nil || after <= before {
			return fmt.Errorf("store: migrating the user store schema: %w", s.classify(err))
		}
	}
}

// classify wraps err in ErrUnavailable when it comes from a database that cannot be reached.
// Every error of a query is one: the statements are fixed, so only the database can fail them.
func (s *SQL) classify(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// op returns a context bounded by the store's timeout.
func (s *SQL) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// Ready returns nil when the database answers, else an error wrapping ErrUnavailable.
func (s *SQL) Ready(ctx context.Context) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: database: %w", s.classify(err))
	}
	return nil
}

// Close closes the connection pool.
func (s *SQL) Close() error {
	s.auth.Close()
	s.lookup.Close()
	return s.db.Close()
}

// Dialect returns "sqlite3" or "postgres".
func (s *SQL) Dialect() string { return string(s.dialect) }

// maxCost returns the highest bcrypt cost in the table, clamped to what the store accepts, or the
// cost an empty store still makes unknown users pay; and the number of users.
func (s *SQL) maxCost(ctx context.Context, users *sql.NullInt64) (int, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var cost sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(cost), COUNT(*) FROM tokengate_users`).Scan(&cost, users); err != nil {
		return 0, fmt.Errorf("store: reading the highest cost: %w", s.classify(err))
	}
	return dummyCost(cost), nil
}

// dummyCost turns the highest cost in the table (NULL when empty) into the dummy's cost.
func dummyCost(cost sql.NullInt64) int {
	if !cost.Valid {
		return weakCost // an empty store still makes unknown users pay a realistic compare
	}
	return min(max(int(cost.Int64), bcrypt.MinCost), MaxCost)
}

// dummyHash returns the dummy hash of cost, making it on first use (once per cost).
func (s *SQL) dummyHash(cost int) ([]byte, error) {
	s.mu.Lock()
	d, ok := s.dummies[cost]
	if !ok {
		d = &dummy{}
		s.dummies[cost] = d
	}
	s.mu.Unlock()
	d.once.Do(func() { d.hash, d.err = newDummyHash(cost) })
	return d.hash, d.err
}

// authQuery reads, in one round trip, the highest cost in the table (for the dummy) and the user,
// if there is one: the outer query always yields exactly one row.
const authQuery = `SELECT m.cost, u.password_hash, u.roles, u.disabled
FROM (SELECT MAX(cost) AS cost FROM tokengate_users) AS m
LEFT JOIN tokengate_users AS u ON u.name = $1`

// lookupQuery reads one user without its hash.
const lookupQuery = `SELECT roles, disabled FROM tokengate_users WHERE name = $1`

// Authenticate returns the user name when password is its password. It returns
// ErrInvalidCredentials alike — same error, one bcrypt compare each — for an unknown user, a wrong
// password and a disabled user; ErrPasswordTooLong for a password over 72 bytes (before any query
// or compare); ErrOverloaded when the Hasher had no slot in time; an error wrapping
// ErrUnavailable when the database cannot be read. It makes one query.
func (s *SQL) Authenticate(ctx context.Context, name, password string) (User, error) {
	if len(password) > MaxPasswordBytes {
		return User{}, ErrPasswordTooLong
	}
	var (
		cost     sql.NullInt64
		hash     sql.NullString
		roles    sql.NullString
		disabled sql.NullBool
	)
	qctx, cancel := s.op(ctx)
	err := s.auth.QueryRowContext(qctx, name).Scan(&cost, &hash, &roles, &disabled)
	cancel()
	if err != nil {
		return User{}, fmt.Errorf("store: reading user: %w", s.classify(err))
	}
	known := hash.Valid
	var u User
	if known {
		if u, err = s.user(name, roles.String, disabled.Bool); err != nil {
			return User{}, err
		}
	}
	cmp, err := s.dummyHash(dummyCost(cost))
	if err != nil {
		return User{}, err
	}
	if known {
		cmp = []byte(hash.String)
	}
	// One compare in every case, a disabled user's real hash included, so that timing matches.
	ok, err := s.hasher.Compare(ctx, cmp, []byte(password))
	if err != nil {
		if errors.Is(err, ErrOverloaded) {
			return User{}, err
		}
		s.log.Error("bcrypt compare failed", "user", name, "err", err)
		return User{}, ErrInvalidCredentials
	}
	if !known || !ok || u.Disabled {
		return User{}, ErrInvalidCredentials
	}
	return u, nil
}

// user makes a User of a row.
func (s *SQL) user(name, roles string, disabled bool) (User, error) {
	u := User{Name: name, Disabled: disabled}
	if err := json.Unmarshal([]byte(roles), &u.Roles); err != nil {
		// Only a hand-edited row can get here; say which one, and fail closed.
		s.log.Error("user store row has malformed roles", "user", name)
		return User{}, fmt.Errorf("store: user %q has malformed roles: %w", name, ErrUnavailable)
	}
	if len(u.Roles) == 0 {
		u.Roles = nil
	}
	return u, nil
}

// Lookup returns the user name, disabled or not (callers check Disabled), or ErrNotFound. It does
// no bcrypt work; an error reaching the database wraps ErrUnavailable.
func (s *SQL) Lookup(ctx context.Context, name string) (User, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var roles string
	var disabled bool
	err := s.lookup.QueryRowContext(ctx, name).Scan(&roles, &disabled)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return User{}, ErrNotFound
	case err != nil:
		return User{}, fmt.Errorf("store: reading user: %w", s.classify(err))
	}
	return s.user(name, roles, disabled)
}

// Count returns the number of users, disabled ones included.
func (s *SQL) Count(ctx context.Context) (int, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokengate_users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: counting users: %w", s.classify(err))
	}
	return n, nil
}

// ListUsers implements Admin.ListUsers: one indexed query per page, however large the table.
func (s *SQL) ListUsers(ctx context.Context, after string, limit int) ([]User, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	rows, err := s.db.QueryContext(ctx,
		`SELECT name, roles, disabled FROM tokengate_users WHERE name > $1 ORDER BY name LIMIT $2`,
		after, pageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: listing users: %w", s.classify(err))
	}
	defer rows.Close()
	var users []User
	for rows.Next() {
		var name, roles string
		var disabled bool
		if err := rows.Scan(&name, &roles, &disabled); err != nil {
			return nil, fmt.Errorf("store: listing users: %w", s.classify(err))
		}
		u, err := s.user(name, roles, disabled)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: listing users: %w", s.classify(err))
	}
	return users, nil
}

// AddUser implements Admin.AddUser. The name is the table's primary key, so when several processes
// add one name at once exactly one succeeds and the others get ErrUserExists.
func (s *SQL) AddUser(ctx context.Context, name string, e Entry) error {
	roles, err := checkNewUser(name, e)
	if err != nil {
		return fmt.Errorf("store: add user %q: %w", name, err)
	}
	rolesJSON, err := json.Marshal(nonNil(roles))
	if err != nil {
		return fmt.Errorf("store: add user %q: %w", name, err)
	}
	n, err := s.exec(ctx, `INSERT INTO tokengate_users (name, password_hash, roles, disabled) VALUES ($1, $2, $3, $4)
ON CONFLICT (name) DO NOTHING`, name, e.PasswordHash, string(rolesJSON), e.Disabled)
	switch {
	case err != nil:
		return fmt.Errorf("store: add user %q: %w", name, err)
	case n == 0:
		return fmt.Errorf("store: add user %q: %w", name, ErrUserExists)
	}
	return nil
}

// SetPassword implements Admin.SetPassword.
func (s *SQL) SetPassword(ctx context.Context, name, hash string) error {
	if err := checkNewHash(hash); err != nil {
		return fmt.Errorf("store: set password of %q: %w", name, err)
	}
	return s.update(ctx, name, "set password of",
		`UPDATE tokengate_users SET password_hash = $2, updated_at = CURRENT_TIMESTAMP WHERE name = $1`, hash)
}

// SetRoles implements Admin.SetRoles. Roles are kept sorted, without duplicates.
func (s *SQL) SetRoles(ctx context.Context, name string, roles []string) error {
	roles, err := checkNewRoles(roles)
	if err != nil {
		return fmt.Errorf("store: set roles of %q: %w", name, err)
	}
	rolesJSON, err := json.Marshal(nonNil(roles))
	if err != nil {
		return fmt.Errorf("store: set roles of %q: %w", name, err)
	}
	return s.update(ctx, name, "set roles of",
		`UPDATE tokengate_users SET roles = $2, updated_at = CURRENT_TIMESTAMP WHERE name = $1`, string(rolesJSON))
}

// SetDisabled implements Admin.SetDisabled.
func (s *SQL) SetDisabled(ctx context.Context, name string, disabled bool) error {
	return s.update(ctx, name, "set disabled flag of",
		`UPDATE tokengate_users SET disabled = $2, updated_at = CURRENT_TIMESTAMP WHERE name = $1`, disabled)
}

// DeleteUser implements Admin.DeleteUser.
func (s *SQL) DeleteUser(ctx context.Context, name string) error {
	return s.update(ctx, name, "delete user", `DELETE FROM tokengate_users WHERE name = $1`)
}

// update runs a statement on the row of name and returns ErrNotFound when there is none.
func (s *SQL) update(ctx context.Context, name, what, query string, args ...any) error {
	n, err := s.exec(ctx, query, append([]any{name}, args...)...)
	switch {
	case err != nil:
		return fmt.Errorf("store: %s %q: %w", what, name, err)
	case n == 0:
		return fmt.Errorf("store: %s %q: %w", what, name, ErrNotFound)
	}
	return nil
}

// exec runs a statement and returns how many rows it changed.
func (s *SQL) exec(ctx context.Context, query string, args ...any) (int64, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, s.classify(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.classify(err)
	}
	return n, nil
}

// nonNil makes an empty role list encode as [] rather than null.
func nonNil(roles []string) []string {
	if roles == nil {
		return []string{}
	}
	return roles
}

var _ Admin = (*SQL)(nil)
