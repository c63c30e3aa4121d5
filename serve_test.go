package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a stderr that serve's goroutines may write while the test reads it; each write
// is announced on wrote (when nobody is waiting, the announcement is dropped).
type lockedBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	defer func() {
		select {
		case b.wrote <- struct{}{}:
		default:
		}
	}()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// TestServeLogsEachRequest: serve writes each request's access line as the request ends, before
// the client has the answer (nothing is held back that a crash could lose), in order with the
// records around it, and redacted.
func TestServeLogsEachRequest(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	err := os.WriteFile(cfg, []byte(`
server:
  addr: "127.0.0.1:0"
token:
  secret: "serve-test-secret-0123456789abcdef0123456789"
log:
  level: info
  format: text
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := lockedBuffer{wrote: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--config", cfg}, nil, nil, &bytes.Buffer{}, &stderr) }()

	var addr string
	for addr == "" {
		if m := listeningRE.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve returned before listening: %v\n%s", err, stderr.String())
		case <-stderr.wrote:
		}
	}
	for i, path := range []string{"/unprotected", "/healthz?token=eyJhbGciOi.x.y"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if n := strings.Count(stderr.String(), "msg=request"); n != i+1 {
			t.Errorf("after request %d, %d access lines in the log, want %d:\n%s", i+1, n, i+1, stderr.String())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}

	log := stderr.String()
	order := []string{"msg=listening", "msg=request method=GET path=/unprotected status=200",
		`msg=request method=GET path=/healthz query="token=REDACTED" status=200`, `msg="shutting down"`, "msg=stopped"}
	rest := log
	for _, want := range order {
		i := strings.Index(rest, want)
		if i < 0 {
			t.Fatalf("log lacks %q after the lines before it:\n%s", want, log)
		}
		rest = rest[i+len(want):]
	}
	if strings.Contains(log, "eyJ") {
		t.Errorf("the token reached the log:\n%s", log)
	}
}
