package tests

import (
	"bufio"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// rawExchange writes req on a new connection and reads one answer; status 0 means the server
// closed the connection without answering (which net/http does for some malformed requests).
func rawExchange(t *testing.T, addr, req string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(req)); err != nil {
		return 0, err.Error()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	return resp.StatusCode, string(buf[:n])
}

// TestSecurityRawHTTP: requests no well-behaved client sends (bytes a client library refuses,
// smuggling shapes, odd paths) get a 4xx or a closed connection (or, where the HTTP RFCs make the
// request mean a plain one, that one's answer), never an unexpected 5xx.
func TestSecurityRawHTTP(t *testing.T) {
	t.Parallel()
	s := startServer(t, config(t, ""))
	access, _ := s.tokens(t, "alice", "pyconid")
	addr := strings.TrimPrefix(s.URL, "http://")
	h := "Host: tokengate\r\n"
	cases := []struct {
		name, source, req string
		allowed           []int // 0: connection closed without an answer
	}{
		{"NUL in the Authorization header", "RFC 9110 §5.5", "GET /protected HTTP/1.1\r\n" + h + "Authorization: Bearer " + access[:20] + "\x00" + access[20:] + "\r\n\r\n", []int{400, 401}},
		{"bare CR in the Authorization header", "RFC 9110 §5.5", "GET /protected HTTP/1.1\r\n" + h + "Authorization: Bearer a\rb\r\n\r\n", []int{400, 401}},
		// RFC 9112 §5.2: reject obs-fold, or replace it with SP; net/http does the latter, so this
		// is the valid token with its scheme, not a bypass.
		{"obs-fold continuation", "RFC 9112 §5.2 (obsolete line folding)", "GET /protected HTTP/1.1\r\n" + h + "Authorization: Bearer\r\n " + access + "\r\n\r\n", []int{200, 400}},
		{"space before the colon", "RFC 9112 §5.1", "GET /protected HTTP/1.1\r\n" + h + "Authorization : Bearer " + access + "\r\n\r\n", []int{400, 401}},
		{"Content-Length and Transfer-Encoding", "request smuggling (RFC 9112 §6.1)", "POST /login HTTP/1.1\r\n" + h + "Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", []int{0, 400, 401}},
		{"two Content-Lengths", "request smuggling (RFC 9112 §6.3)", "POST /login HTTP/1.1\r\n" + h + "Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}", []int{0, 400}},
		{"negative Content-Length", "RFC 9110 §8.6", "POST /login HTTP/1.1\r\n" + h + "Content-Length: -1\r\n\r\n", []int{0, 400}},
		{"huge Content-Length", "RFC 9110 §8.6; max_body_bytes", "POST /login HTTP/1.1\r\n" + h + "Content-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n{}", []int{413}},
		{"obfuscated Transfer-Encoding", "request smuggling", "POST /login HTTP/1.1\r\n" + h + "Transfer-Encoding: xchunked\r\n\r\n", []int{0, 400, 501}},
		{"HTTP/1.0 without Host", "RFC 9112 §3.2", "GET /protected HTTP/1.0\r\n\r\n", []int{401}},
		{"HTTP/1.1 without Host", "RFC 9112 §3.2", "GET /protected HTTP/1.1\r\n\r\n", []int{400}},
		{"absolute-form target", "RFC 9112 §3.2.2", "GET http://evil.example/protected?token=x HTTP/1.1\r\n" + h + "\r\n", []int{401}},
		{"NUL in the method", "RFC 9110 §9.1", "G\x00ET /protected HTTP/1.1\r\n" + h + "\r\n", []int{0, 400, 405}},
		{"unknown HTTP version", "RFC 9112 §2.3", "GET /protected HTTP/9.9\r\n" + h + "\r\n", []int{0, 400, 505}},
		{"dot segments in the path", "path traversal", "GET /../protected HTTP/1.1\r\n" + h + "Authorization: Bearer " + access + "\r\n\r\n", []int{400, 404}},
		{"encoded slash in the path", "path confusion", "GET /%2Fprotected HTTP/1.1\r\n" + h + "\r\n", []int{400, 404}},
		{"trailing slash", "route confusion", "GET /protected/ HTTP/1.1\r\n" + h + "\r\n", []int{404}},
		{"upper-case path", "route confusion", "GET /PROTECTED HTTP/1.1\r\n" + h + "\r\n", []int{404}},
		{"path parameter", "route confusion (;jsessionid style)", "GET /protected;token=x HTTP/1.1\r\n" + h + "\r\n", []int{404}},
		{"TRACE", "cross-site tracing (OWASP)", "TRACE /protected HTTP/1.1\r\n" + h + "Authorization: Bearer " + access + "\r\n\r\n", []int{405}},
		{"method override header", "X-HTTP-Method-Override (OWASP)", "GET /logout HTTP/1.1\r\n" + h + "X-HTTP-Method-Override: POST\r\nAuthorization: Bearer " + access + "\r\n\r\n", []int{405}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := rawExchange(t, addr, c.req)
			if status >= 500 && !slices.Contains(c.allowed, status) {
				t.Fatalf("status %d, a 5xx (%s): %s", status, c.source, body)
			}
			if !slices.Contains(c.allowed, status) {
				t.Fatalf("status %d (%q), want one of %v (%s)", status, body, c.allowed, c.source)
			}
		})
	}
	stillServes(t, s, access)
}
