package redistest

import (
	"net"
	"strings"
	"testing"
)

func TestStartAnswersPing(t *testing.T) {
	url := Start(t)
	addr := hostPort(t, url)
	if err := ping(addr); err != nil {
		t.Fatalf("ping %s: %v", addr, err)
	}
}

func TestStopEndsServer(t *testing.T) {
	url, stop := StartProcess(t)
	addr := hostPort(t, url)
	if err := ping(addr); err != nil {
		t.Fatalf("ping before stop: %v", err)
	}
	stop()
	stop() // idempotent
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatalf("dial %s after stop succeeded, want refused", addr)
	}
}

func hostPort(t *testing.T, url string) string {
	t.Helper()
	rest, ok := strings.CutPrefix(url, "redis://")
	if !ok {
		t.Fatalf("url = %q, want redis://…", url)
	}
	host, _, _ := strings.Cut(rest, "/")
	return host
}
