// Package pgtest starts real, throw-away PostgreSQL 15 servers for tests.
//
// A server is a new cluster (initdb) in a temporary directory, listening on a free loopback port
// with trust authentication, tuned for tests (no fsync). It runs Debian's postgresql-15 binaries
// from /usr/lib/postgresql/15/bin (or initdb and postgres on PATH); when they are missing the test
// fails with a message naming the Debian package. When the tests run as root, PostgreSQL runs as
// the postgres OS user, since initdb refuses to run as root.
//
// A test binary shares one server when its TestMain calls [Main]; [DSN] then gives each test a
// database of its own on it. Without [Main], [DSN] starts a server per test. [Start] gives a test
// a server of its own that it can stop and start again, to simulate an outage. Servers are stopped
// by their PID and their directory is removed.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// missing is the message for a machine without PostgreSQL 15.
const missing = "PostgreSQL 15 not found (/usr/lib/postgresql/15/bin/initdb): install the Debian package postgresql-15"

// debianBin is where Debian's postgresql-15 package puts its programs (not on PATH).
const debianBin = "/usr/lib/postgresql/15/bin"

const (
	startTimeout = 60 * time.Second // initdb plus the first accepted connection
	stopTimeout  = 15 * time.Second // a fast shutdown; then SIGKILL
)

// Server is one running PostgreSQL cluster. Its superuser is postgres, reachable without a
// password on 127.0.0.1 at Port.
type Server struct {
	Port int

	bin  string // directory of initdb and postgres
	dir  string // temporary directory: data/ and the unix socket
	attr *syscall.SysProcAttr
	out  *syncBuffer

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	dbs    atomic.Int64 // databases made, for unique names
}

// shared is the server of a test binary whose TestMain calls Main. A package-level variable is the
// one way to share a server between the tests of a binary; it is set only by Main.
var shared struct {
	mu     sync.Mutex
	active bool // Main is running the tests
	srv    *Server
	err    error
}

// Main runs the tests of m and then stops the shared server, if a test started it. Call it from
// TestMain: func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }.
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.active = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv != nil {
		if err := shared.srv.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			if code == 0 {
				code = 1
			}
		}
		shared.srv = nil
	}
	return code
}

// DSN returns the URL of a new, empty database for the test (postgres://…?sslmode=disable),
// dropped when the test ends. Its default collation is ICU's en-US, as on many production
// servers, so that a query relying on byte order without saying so shows up in tests. The server
// is the binary's shared one under Main, else one started for this test.
func DSN(tb testing.TB) string {
	tb.Helper()
	shared.mu.Lock()
	if !shared.active {
		shared.mu.Unlock()
		return Start(tb).NewDatabase(tb)
	}
	if shared.srv == nil && shared.err == nil {
		shared.srv, shared.err = start()
	}
	srv, err := shared.srv, shared.err
	shared.mu.Unlock()
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return srv.NewDatabase(tb)
}

// Start starts a server of the test's own, closed (stopped and removed) when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := start()
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return s
}

// find returns the directory holding initdb and postgres, or "".
func find() string {
	if isExec(filepath.Join(debianBin, "initdb")) && isExec(filepath.Join(debianBin, "postgres")) {
		return debianBin
	}
	initdb, err1 := exec.LookPath("initdb")
	postgres, err2 := exec.LookPath("postgres")
	if err1 == nil && err2 == nil && filepath.Dir(initdb) == filepath.Dir(postgres) {
		return filepath.Dir(initdb)
	}
	return ""
}

func isExec(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// start makes a cluster in a new temporary directory and starts it.
func start() (*Server, error) {
	bin := find()
	if bin == "" {
		return nil, errors.New(missing)
	}
	attr, own, err := procAttr()
	if err != nil {
		return nil, err
	}
	// Not a test's TempDir: as root, PostgreSQL runs as another user, who cannot enter the test's
	// private temporary directories; os.MkdirTemp's directory sits right in the world-usable
	// temporary directory.
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir, attr: attr, out: &syncBuffer{}}
	fail := func(err error) (*Server, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := own(dir); err != nil {
		return fail(fmt.Errorf("handing %s to the postgres user: %w", dir, err))
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"),
		"-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	initdb.Dir = dir // the test's working directory may not be readable by the postgres user
	initdb.SysProcAttr = attr
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %v:\n%s", err, out))
	}
	// The free port is found by listening and closing, so another process can take it before
	// postgres binds: try a few times.
	for range 3 {
		if s.Port, err = freePort(); err != nil {
			return fail(err)
		}
		if err = s.run(); err == nil {
			return s, nil
		}
	}
	return fail(err)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// run starts postgres on s.Port and waits until it accepts connections.
func (s *Server) run() error {
	cmd := exec.Command(filepath.Join(s.bin, "postgres"),
		"-D", filepath.Join(s.dir, "data"),
		"-p", strconv.Itoa(s.Port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+s.dir,
		"-c", "max_connections=300",
		"-c", "shared_buffers=32MB",
		// Durability is worth nothing in a throw-away cluster; speed is.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
	)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = s.out, s.out
	cmd.SysProcAttr = s.attr
	// The kernel sends the parent-death signal when the thread that forked the child ends, not the
	// process; and Go ends threads (one locked by a goroutine that exits, as bcrypt's low-priority
	// threads are). So the fork happens on a thread of its own that lives until postgres exits.
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: the thread must end with this goroutine
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		cancel()
		if err == nil {
			_ = conn.Close(context.Background())
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("postgres on port %d exited early:\n%s", s.Port, s.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("postgres on port %d accepted no connection within %v: %v\n%s", s.Port, startTimeout, err, s.out.String())
		}
	}
}

// DSN returns the URL of database db on s.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// NewDatabase creates a new, empty database on s (ICU en-US collation) and returns its URL. The
// database is dropped when the test ends, if the server still runs.
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("t%d_%s", s.dbs.Add(1), dbSuffix(tb.Name()))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		tb.Fatalf("pgtest: connecting to make a database: %v", err)
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident+
		" TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"); err != nil {
		tb.Fatalf("pgtest: CREATE DATABASE %s: %v", ident, err)
	}
	tb.Cleanup(func() {
		if !s.Running() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err != nil {
			tb.Errorf("pgtest: connecting to drop database %s: %v", ident, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE "+ident+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: DROP DATABASE %s: %v", ident, err)
		}
	})
	return s.DSN(name)
}

// dbSuffix turns a test name into a short, lower-case identifier part.
func dbSuffix(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if b.Len() >= 40 {
			break
		}
		if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Running reports whether the server process is running.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Stop stops the server (a fast shutdown by its PID, then SIGKILL if it lingers) and keeps its
// data, so that Restart can bring it back. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGINT) // the postmaster started above, nothing else
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Restart starts a stopped server again on the same port and data.
func (s *Server) Restart() error {
	if s.Running() {
		return errors.New("pgtest: server is running")
	}
	return s.run()
}

// Close stops the server and removes its directory.
func (s *Server) Close() error {
	s.Stop()
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("removing %s: %w", s.dir, err)
	}
	return nil
}

// syncBuffer collects the server's output for error messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 64<<10 {
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
