package middleware

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// AccessLog writes one line per request, at info level through log's handler, when the request
// ends: method, path, query with the token parameter (and any parameter named like a secret)
// redacted, status, duration, client IP, request id and the user when known. It never logs headers
// or bodies, so no password, token or secret reaches the log. slog's handlers write each line with
// one Write as it is logged, so a crash loses no line of a finished request.
func AccessLog(log *slog.Logger, queryParam string) gin.HandlerFunc {
	h := log.Handler()
	if !h.Enabled(context.Background(), slog.LevelInfo) {
		// The level is fixed at start: below info, the access log costs nothing per request.
		return func(c *gin.Context) { c.Next() }
	}
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		ctx := c.Request.Context()
		attrs := make([]slog.Attr, 0, 8)
		attrs = append(attrs, slog.String("method", c.Request.Method), slog.String("path", c.Request.URL.Path))
		if q := c.Request.URL.RawQuery; q != "" {
			attrs = append(attrs, slog.String("query", RedactQuery(q, queryParam)))
		}
		attrs = append(attrs,
			slog.Int("status", c.Writer.Status()),
			slog.Duration("duration", time.Since(start)),
			slog.String("client_ip", c.ClientIP()),
			slog.String("request_id", RequestIDFrom(c)),
		)
		if u := User(c); u != "" {
			attrs = append(attrs, slog.String("user", u))
		}
		// A record without a source position, handed to the handler directly: Logger.LogAttrs would
		// look up the caller on every request for a position that would only ever name this line.
		r := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
		r.AddAttrs(attrs...)
		_ = h.Handle(ctx, r)
	}
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
// is logged. Names and values are compared after unescaping, so "%74oken=" is redacted too.
func RedactQuery(raw, tokenParam string) string {
	params := strings.Split(raw, "&")
	for i, p := range params {
		params[i] = redactParam(p, tokenParam)
	}
	return strings.Join(params, "&")
}

// redactParam redacts one '&'-separated parameter (see RedactQuery).
func redactParam(p, tokenParam string) string {
	for start := 0; start <= len(p); {
		sub, _, _ := strings.Cut(p[start:], ";")
		name, _, hasValue := strings.Cut(sub, "=")
		if hasValue {
			rest := p[start+len(name)+1:]
			if u, err := url.QueryUnescape(name); err == nil {
				name = u
			}
			if u, err := url.QueryUnescape(rest); err == nil {
				rest = u
			}
			if name == tokenParam || sensitiveName(name) || strings.Contains(rest, "eyJ") {
				return p[:start+strings.IndexByte(p[start:], '=')+1] + "REDACTED"
			}
		}
		start += len(sub) + 1
	}
	return p
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
