// Package redistest starts a real, throw-away redis-server for tests.
//
// The server listens on a free loopback port, keeps nothing on disk
// (--save "" --appendonly no) and is killed when the test ends. When
// redis-server is not installed the test is skipped, except under CI=true,
// where a missing Redis is a failure: install the Debian package
// redis-server.
package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// missing is the message for a machine without redis-server.
const missing = "redis-server not found: install the Debian package redis-server"

// startTimeout bounds how long a server may take to be ready (a guard against a hang).
const startTimeout = 10 * time.Second

// Start starts a redis-server for the test and returns its URL
// (redis://127.0.0.1:PORT/0). The server is killed in tb.Cleanup.
func Start(tb testing.TB) (url string) {
	tb.Helper()
	url, _ = StartProcess(tb)
	return url
}

// StartProcess is Start that also returns stop, which kills the server and
// waits for it to exit, so a test can simulate an outage mid-test. stop may
// be called any number of times; tb.Cleanup calls it too.
func StartProcess(tb testing.TB) (url string, stop func()) {
	tb.Helper()
	bin := find()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal(missing)
		}
		tb.Skip(missing)
	}
	// The free port is found by listening and closing, so another process
	// can take it before redis-server binds: try a few times.
	var lastErr error
	for range 3 {
		url, stop, err := start(tb, bin)
		if err == nil {
			tb.Cleanup(stop)
			return url, stop
		}
		lastErr = err
	}
	tb.Fatalf("redistest: %v", lastErr)
	return "", nil
}

// find returns the redis-server binary, or "" when there is none.
func find() string {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	const debian = "/usr/bin/redis-server"
	if st, err := os.Stat(debian); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
		return debian
	}
	return ""
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// readyLine is what redis-server logs once it accepts connections.
const readyLine = "Ready to accept connections"

// syncBuffer collects the server's output for error messages, and closes ready when the output
// holds readyLine.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	ready chan struct{}
	seen  bool
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{ready: make(chan struct{})} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 64<<10 {
		return len(p), nil
	}
	n, err := s.b.Write(p)
	if !s.seen && bytes.Contains(s.b.Bytes(), []byte(readyLine)) {
		s.seen = true
		close(s.ready)
	}
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(tb testing.TB, bin string) (string, func(), error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--dir", tb.TempDir(),
	)
	out := newSyncBuffer()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill() // the PID started above, nothing else
			<-exited
		})
	}
	// Wait for the server to say it is ready, then check that it answers.
	timeout := time.NewTimer(startTimeout)
	defer timeout.Stop()
	select {
	case <-out.ready:
	case <-exited:
		return "", nil, fmt.Errorf("redis-server on %s exited early:\n%s", addr, out.String())
	case <-timeout.C:
		stop()
		return "", nil, fmt.Errorf("redis-server on %s was not ready within %v:\n%s", addr, startTimeout, out.String())
	}
	if err := ping(addr); err != nil {
		stop()
		return "", nil, fmt.Errorf("redis-server on %s is ready but does not answer PING: %v\n%s", addr, err, out.String())
	}
	return "redis://" + addr + "/0", stop, nil
}

// ping sends an inline PING and wants +PONG, without a Redis client library.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}
