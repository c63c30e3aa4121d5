package middleware

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
)

// BenchmarkAccessLog is RequestID and AccessLog (info, slog's text handler to io.Discard) around an
// empty handler: the per-request cost of the operational middleware on its own.
func BenchmarkAccessLog(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(RequestID(), AccessLog(slog.New(slog.NewTextHandler(io.Discard, nil)), "token"))
	r.GET("/x", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	req := httptest.NewRequest(http.MethodGet, "/x?a=1&token=secret", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		r.ServeHTTP(w, req)
	}
}
