package middleware

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// serveAccess runs one request for target through RequestID and AccessLog(log); the handler sets
// the user named by the "as" query parameter.
func serveAccess(t testing.TB, log *slog.Logger, target string, header ...string) {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(RequestID(), AccessLog(log, "token"))
	r.GET("/*any", func(c *gin.Context) {
		if u := c.Query("as"); u != "" {
			SetUser(c, u)
		}
		c.Status(http.StatusTeapot)
	})
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.RemoteAddr = "192.0.2.7:1234"
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	r.ServeHTTP(httptest.NewRecorder(), req)
}

// TestAccessLogLine: one JSON line per request, from slog's own handler, with every field and the
// token redacted.
func TestAccessLogLine(t *testing.T) {
	var buf bytes.Buffer
	serveAccess(t, slog.New(slog.NewJSONHandler(&buf, nil)), "/protected?a=1&token=eyJhbGciOiJIUzI1NiJ9.e30.sig&as=alice",
		RequestIDHeader, "req-1", "Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig")
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("%d lines, want 1: %q", n, buf.String())
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not JSON: %v: %q", err, buf.String())
	}
	want := map[string]any{
		"level": "INFO", "msg": "request", "method": "GET", "path": "/protected",
		"query": "a=1&token=REDACTED&as=alice", "status": float64(http.StatusTeapot),
		"client_ip": "192.0.2.7", "request_id": "req-1", "user": "alice",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v", k, line[k], v)
		}
	}
	if _, ok := line["duration"].(float64); !ok {
		t.Errorf("duration = %v, want a number", line["duration"])
	}
	if _, ok := line["time"].(string); !ok {
		t.Errorf("time = %v, want a string", line["time"])
	}
	if strings.Contains(buf.String(), "eyJ") {
		t.Errorf("token in the log: %q", buf.String())
	}
}

// TestAccessLogText: the text handler writes the same fields; a request without a user or a query
// has neither field.
func TestAccessLogText(t *testing.T) {
	var buf bytes.Buffer
	serveAccess(t, slog.New(slog.NewTextHandler(&buf, nil)), "/x")
	got := buf.String()
	for _, want := range []string{"level=INFO", "msg=request", "method=GET", "path=/x", "status=418", "client_ip=192.0.2.7", "request_id="} {
		if !strings.Contains(got, want) {
			t.Errorf("line %q lacks %q", got, want)
		}
	}
	for _, absent := range []string{"user=", "query=", "source="} {
		if strings.Contains(got, absent) {
			t.Errorf("line %q has %q", got, absent)
		}
	}
}

// TestAccessLogLevel: nothing is written when info is disabled.
func TestAccessLogLevel(t *testing.T) {
	var buf bytes.Buffer
	serveAccess(t, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})), "/x?token=abc")
	if buf.Len() != 0 {
		t.Errorf("wrote %q at level warn, want nothing", buf.String())
	}
}
