// Package caddytest builds a real Caddy from the Go module proxy and starts it for tests.
//
// The Caddy build is pinned by the module in ./caddy (Caddy with its standard modules). Building
// it downloads and compiles a few hundred packages — minutes on a cold module cache — so the
// tests that need Caddy run only when TOKENGATE_TEST_CADDY=1, and skip, saying why, otherwise or
// when the build fails. The binary goes into the test's TempDir; nothing is installed.
package caddytest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testproc"
)

// EnvVar turns the Caddy tests on when set to 1.
const EnvVar = "TOKENGATE_TEST_CADDY"

// startTimeout bounds how long Caddy may take to accept connections.
const startTimeout = 20 * time.Second

// Server is a running Caddy.
type Server struct {
	Addr string // 127.0.0.1:PORT, handed to the Caddyfile
	URL  string // http://Addr
	Dir  string // the Caddyfile, Caddy's data and config directories

	stop func()
	out  *testproc.Output
}

// Build builds Caddy into tb.TempDir() and returns the binary. It skips the test unless
// TOKENGATE_TEST_CADDY=1, and when the build fails (no module proxy, no disk), with the reason.
func Build(tb testing.TB) string {
	tb.Helper()
	if os.Getenv(EnvVar) != "1" {
		tb.Skipf("a real Caddy is built from the Go module proxy only when %s=1 (minutes on a cold module cache)", EnvVar)
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Skip("caddytest: cannot find its own source directory")
	}
	bin := filepath.Join(tb.TempDir(), "caddy")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(filepath.Dir(file), "caddy")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Skipf("building Caddy from the Go module proxy failed (%v), so the Caddy tests do not run:\n%s", err, tail(string(out), 20))
	}
	return bin
}

// Start runs Caddy (from Build) on the Caddyfile that caddyfile returns for listen
// ("127.0.0.1:PORT"). The Caddyfile must switch the admin endpoint off (`admin off`), which would
// otherwise take port 2019 for every test. Caddy is stopped in tb.Cleanup, and its log is shown
// when the test failed.
func Start(tb testing.TB, bin string, caddyfile func(listen string) string) *Server {
	tb.Helper()
	var lastErr error
	for range 3 {
		s, err := start(tb, bin, caddyfile)
		if err == nil {
			tb.Cleanup(func() {
				if tb.Failed() {
					tb.Logf("caddy log:\n%s", s.out.String())
				}
				s.stop()
			})
			return s
		}
		lastErr = err
	}
	tb.Fatalf("caddytest: %v", lastErr)
	return nil
}

// Stop stops Caddy and waits for it to exit. It may be called any number of times.
func (s *Server) Stop() { s.stop() }

// Log returns what Caddy has logged so far.
func (s *Server) Log() string { return s.out.String() }

func start(tb testing.TB, bin string, caddyfile func(string) string) (*Server, error) {
	port, err := testproc.FreePort()
	if err != nil {
		return nil, err
	}
	dir := tb.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	conf := caddyfile(addr)
	if !strings.Contains(conf, "admin off") {
		tb.Fatal("caddytest: the Caddyfile must say `admin off` in its global options")
	}
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	s := &Server{Addr: addr, URL: "http://" + addr, Dir: dir, out: &testproc.Output{}}
	cmd := exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"),
	}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if s.stop, err = testproc.Start(cmd, addr, startTimeout, s.out.String); err != nil {
		return nil, err
	}
	return s, nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
