package nginxtest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestStartServesTheConfig(t *testing.T) {
	s := Start(t, func(listen string) string {
		return fmt.Sprintf(`
    server {
        listen %s;
        location = /hello { default_type text/plain; return 200 "hello from nginx\n"; }
    }`, listen)
	})
	// Two requests on one keep-alive connection: nginx logs a request before it reads the next
	// one, so the first is in the access log once the second is answered.
	for _, path := range []string{"/hello", "/hello?again"} {
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "hello from nginx\n" {
			t.Fatalf("GET %s = %d %q, want 200 %q", path, resp.StatusCode, body, "hello from nginx\n")
		}
		if got := resp.Header.Get("Server"); !strings.HasPrefix(got, "nginx") {
			t.Errorf("Server = %q, want nginx…", got)
		}
	}
	if log := s.AccessLog(); !strings.Contains(log, `"GET /hello HTTP/1.1" 200`) {
		t.Errorf("access log %q does not hold the first request", log)
	}
}

func TestStopEndsNginx(t *testing.T) {
	s := Start(t, func(listen string) string {
		return fmt.Sprintf("server { listen %s; return 204; }", listen)
	})
	s.Stop()
	s.Stop() // idempotent
	if c, err := net.Dial("tcp", s.Addr); err == nil {
		c.Close()
		t.Fatalf("dial %s after Stop succeeded, want refused", s.Addr)
	}
}

func TestBadConfigNamesTheProblem(t *testing.T) {
	bin := Find()
	if bin == "" {
		t.Fatal(Missing)
	}
	_, err := start(t, bin, func(listen string) string {
		return fmt.Sprintf("server { listen %s; no_such_directive on; }", listen)
	})
	if err == nil {
		t.Fatal("nginx started with an unknown directive")
	}
	if !strings.Contains(err.Error(), `unknown directive "no_such_directive"`) {
		t.Errorf("error %q does not name the bad directive", err)
	}
}
