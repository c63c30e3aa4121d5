package middleware

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync/atomic"

	"github.com/gin-gonic/gin"
)

// RequestIDHeader is the header that carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

// RequestID gives every request an id: the caller's X-Request-Id when it is short and plain
// (letters, digits, '-', '_', '.', at most 64 bytes), else a new one, unique to this process (a
// random per-process prefix and a counter: ids must be unique, not secret). The id is echoed in the
// response header, kept in the Gin context (RequestIDFrom) and the request's context.Context
// (RequestIDFromContext), and logged.
func RequestID() gin.HandlerFunc {
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := hex.EncodeToString(b[:]) + "-"
	var n atomic.Uint64
	return func(c *gin.Context) {
		id := c.GetHeader(RequestIDHeader)
		if !plainID(id) {
			id = prefix + strconv.FormatUint(n.Add(1), 16)
		}
		requestOf(c).id = id
		c.Header(RequestIDHeader, id)
		c.Next()
	}
}

func plainID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.') {
			return false
		}
	}
	return true
}

// Recovery turns a panic in a handler into a 500 internal_error JSON answer; the panic value and
// stack go to the log only, never to the client.
func Recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if rec := recover(); rec != nil {
				if rec == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
					panic(rec)
				}
				log.Error("panic serving request",
					slog.String("panic", fmt.Sprint(rec)),
					slog.String("path", c.Request.URL.Path),
					slog.String("request_id", RequestIDFrom(c)),
					slog.String("stack", string(debug.Stack())))
				if !c.Writer.Written() {
					WriteError(c, http.StatusInternalServerError, "internal_error", "internal server error")
				} else {
					c.Abort()
				}
			}
		}()
		c.Next()
	}
}

// BodyLimit caps request bodies at max bytes: a declared Content-Length over the cap is refused at
// once with 413, and reading past the cap fails with *http.MaxBytesError (which IsTooLarge reports).
func BodyLimit(max int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > max {
			c.Header("Connection", "close")
			WriteError(c, http.StatusRequestEntityTooLarge, "invalid_request",
				fmt.Sprintf("request body larger than %d bytes", max))
			return
		}
		if c.Request.Body != nil && c.Request.Body != http.NoBody {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, max)
		}
		c.Next()
	}
}

// IsTooLarge reports whether err came from reading past BodyLimit's cap.
func IsTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
