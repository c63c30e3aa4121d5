// Package testproc runs a real server process for a test: it starts the command, waits until the
// server accepts TCP connections on its address (or exits, or a timeout passes) and stops it by
// its PID. On Linux the kernel also kills the process when the test binary dies.
package testproc

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// FreePort returns a loopback TCP port that was free a moment ago. Another process may take it
// before the server binds, so callers retry a failed start with a new port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Output collects a process's stdout and stderr (the first 64 KiB) for error messages.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.b.Len() > 64<<10 {
		return len(p), nil
	}
	return o.b.Write(p)
}

// String returns what was written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.TrimSpace(o.b.String())
}

// Start starts cmd and waits until addr accepts a TCP connection. stop kills the process (the
// one started here, by its PID) and waits for it to exit; it may be called any number of times.
// When the process exits first, or addr does not answer within timeout, Start returns an error
// holding describe(), e.g. the server's log.
func Start(cmd *exec.Cmd, addr string, timeout time.Duration, describe func() string) (stop func(), err error) {
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
	}
	name := cmd.Path[strings.LastIndexByte(cmd.Path, '/')+1:]
	deadline := time.Now().Add(timeout)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return stop, nil
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("%s on %s exited early:\n%s", name, addr, describe())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("%s on %s did not accept connections within %v:\n%s", name, addr, timeout, describe())
		}
	}
}
