package middleware

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// BenchmarkAccessLog is RequestID and AccessLog (info, to io.Discard) around an empty handler: the
// per-request cost of the operational middleware on its own. text and json are the logger serve
// builds (a LogHandler over a LogWriter batching for 100ms); slog is slog's text handler alone,
// the path AccessLog takes under any other handler (and took before it had its own encoder).
func BenchmarkAccessLog(b *testing.B) {
	for _, bc := range []struct {
		name string
		h    func() slog.Handler
	}{
		{"text", func() slog.Handler { return NewLogHandler(NewLogWriter(io.Discard, 100*time.Millisecond), "text", nil) }},
		{"json", func() slog.Handler { return NewLogHandler(NewLogWriter(io.Discard, 100*time.Millisecond), "json", nil) }},
		{"slog", func() slog.Handler { return slog.NewTextHandler(io.Discard, nil) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			gin.SetMode(gin.ReleaseMode)
			r := gin.New()
			r.Use(RequestID(), AccessLog(slog.New(bc.h()), "token"))
			r.GET("/x", func(c *gin.Context) { c.Status(http.StatusNoContent) })
			req := httptest.NewRequest(http.MethodGet, "/x?a=1&token=secret", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				r.ServeHTTP(w, req)
			}
		})
	}
}

// BenchmarkAccessLine is one access line alone, to io.Discard: the encoder (text, json; batched
// as serve does) against slog's handlers given the same record (slog-text, slog-json), the work
// AccessLog did per request before.
func BenchmarkAccessLine(b *testing.B) {
	r := accessRecord{
		time: time.Now(), method: "GET", path: "/protected", status: 200, duration: 1234567,
		clientIP: "192.0.2.1", requestID: "9f86d081884c-1a", user: "alice",
		hasQuery: true, query: []byte("a=1&token=REDACTED"),
	}
	for _, format := range []string{"text", "json"} {
		b.Run(format, func(b *testing.B) {
			h := NewLogHandler(NewLogWriter(io.Discard, 100*time.Millisecond), format, nil)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				buf := h.getBuffers()
				h.writeAccess(ctx, &r, buf)
				h.putBuffers(buf)
			}
		})
		b.Run("slog-"+format, func(b *testing.B) {
			var h slog.Handler = slog.NewTextHandler(io.Discard, nil)
			if format == "json" {
				h = slog.NewJSONHandler(io.Discard, nil)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_ = h.Handle(ctx, r.slogRecord("a=1&token=REDACTED"))
			}
		})
	}
}
