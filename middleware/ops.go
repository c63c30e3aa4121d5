package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"

	"github.com/gin-gonic/gin"
)

// RequestIDHeader is the header that carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

// SetUser records the user a request acts for, so the access log can name it (login sets it after a
// successful password check; Auth sets it from the token).
func SetUser(c *gin.Context, name string) { infoOf(c).user = name }

// RequestID gives every request an id: the caller's X-Request-Id when it is short and plain
// (letters, digits, '-', '_', '.', at most 64 bytes), else a new one, unique to this process (a
// random per-process prefix and a counter). The id is echoed in the response header and logged.
func RequestID() gin.HandlerFunc {
	ids := newIDSource()
	return func(c *gin.Context) {
		ri := infoOf(c)
		var id string
		if v := c.Request.Header[RequestIDHeader]; len(v) > 0 { // canonical key: skip Get's canonicalising
			id = v[0]
		}
		if !plainID(id) {
			id = ids.next()
		}
		ri.idHeader[0] = id
		c.Writer.Header()[RequestIDHeader] = ri.idHeader[:] // canonical key; no []string allocation
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

// AccessLog writes one line per request at info level: method, path, query with the token
// parameter (and any parameter named like a secret) redacted, status, duration, client IP, request
// id and the user when known. It never logs headers or bodies, so no password, token or secret
// reaches the log. It reads the clock as the request comes in (Arrival) and once it is done
// (Finish); middleware inside it that needs the time shares those two readings.
//
// When log's handler is a *LogHandler, AccessLog encodes the line itself, byte for byte what that
// slog handler would write, and hands it to the LogWriter as a batched access line; under any
// other handler it logs a slog.Record.
func AccessLog(log *slog.Logger, queryParam string) gin.HandlerFunc {
	h, fast := log.Handler().(*LogHandler)
	return func(c *gin.Context) {
		Arrival(c)
		c.Next()
		end, took := Finish(c)
		ctx := c.Request.Context()
		if !log.Enabled(ctx, slog.LevelInfo) {
			return
		}
		r := accessRecord{
			method:   c.Request.Method,
			path:     c.Request.URL.Path,
			status:   c.Writer.Status(),
			clientIP: c.ClientIP(),
		}
		if ri := peekInfo(c); ri != nil {
			r.requestID, r.user = ri.id(), ri.user
		}
		if !fast {
			var query string
			if q := c.Request.URL.RawQuery; q != "" {
				r.hasQuery, query = true, RedactQuery(q, queryParam)
			}
			r.time, r.duration = end, took
			// A Record with no PC, handed to the handler directly: Logger.LogAttrs would call
			// runtime.Callers on every request for a source position that would only ever name
			// this line (1.6% of the server's CPU on /protected).
			_ = log.Handler().Handle(ctx, r.slogRecord(query))
			return
		}
		b := h.getBuffers()
		if q := c.Request.URL.RawQuery; q != "" {
			b.query = appendRedactedQuery(b.query[:0], q, queryParam)
			r.hasQuery, r.query = true, b.query
		}
		r.time, r.duration = end, took
		h.writeAccess(ctx, &r, b)
		h.putBuffers(b)
	}
}

// requestID returns the id RequestID gave the request ("" when it did not run).
func requestID(c *gin.Context) string {
	if ri := peekInfo(c); ri != nil {
		return ri.id()
	}
	return ""
}

// sensitiveWords: a query parameter whose name contains one of these (in any case) has its value
// redacted from the log, besides the configured token parameter. Clients put tokens in the URL
// under many names (jwt, id_token, access_token, token[], Authorization …); none is logged.
var sensitiveWords = []string{"token", "jwt", "auth", "pass", "secret", "key", "session", "code", "credential"}

// RedactQuery returns the raw query with the values of sensitive parameters replaced by
// "REDACTED": the token parameter, any parameter whose name contains a word of sensitiveWords,
// and any value that holds something shaped like a JWT ("eyJ"). Parameters are separated by '&'
// (as net/url and the token lookup split them); within one, a ';' may start another (older servers
// and proxies split on it, so "a=1;token=…" may carry a token): from the first sensitive one on,
// the rest of the '&' parameter is redacted, so no part of what either reading takes for a token
// is logged. Names are compared after unescaping, so "%74oken=" is redacted too.
func RedactQuery(raw, tokenParam string) string {
	var stack [512]byte // a query with a token fits: one allocation, the string
	return string(appendRedactedQuery(stack[:0], raw, tokenParam))
}

// appendRedactedQuery appends RedactQuery(raw, tokenParam) to dst: the access log redacts into a
// pooled buffer, so that a query costs no allocation (RedactQuery itself is this into a new slice).
func appendRedactedQuery(dst []byte, raw, tokenParam string) []byte {
	for first := true; raw != ""; first = false {
		var seg string
		seg, raw, _ = strings.Cut(raw, "&")
		if !first {
			dst = append(dst, '&')
		}
		dst = appendRedactedSegment(dst, seg, tokenParam)
	}
	return dst
}

// appendRedactedSegment appends one '&'-separated parameter, redacted (see RedactQuery), to dst.
func appendRedactedSegment(dst []byte, seg, tokenParam string) []byte {
	for start := 0; start <= len(seg); {
		sub := seg[start:]
		if i := strings.IndexByte(sub, ';'); i >= 0 {
			sub = sub[:i]
		}
		k, _, hasValue := strings.Cut(sub, "=")
		if hasValue {
			name := k
			if escaped(k) {
				if u, err := url.QueryUnescape(k); err == nil {
					name = u
				}
			}
			rest := seg[start+len(k)+1:]
			if escaped(rest) {
				if u, err := url.QueryUnescape(rest); err == nil {
					rest = u
				}
			}
			if name == tokenParam || sensitiveName(name) || strings.Contains(rest, "eyJ") {
				dst = append(dst, seg[:start+len(k)+1]...)
				return append(dst, "REDACTED"...)
			}
		}
		start += len(sub) + 1
	}
	return append(dst, seg...)
}

func sensitiveName(name string) bool {
	lower := strings.ToLower(name)
	for _, w := range sensitiveWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
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
					slog.String("request_id", requestID(c)),
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
