package routes

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/middleware"
)

var unprotectedBody = []byte(`{"message":"Anyone can view this."}`)

const jsonType = "application/json; charset=utf-8"

// jsonContentType is shared by every response header that names it, as Gin does for c.JSON:
// c.Data would allocate a new []string per response.
var jsonContentType = []string{jsonType}

// writeJSON writes body, a complete JSON document, with status.
func writeJSON(c *gin.Context, status int, body []byte) {
	c.Writer.Header()["Content-Type"] = jsonContentType
	c.Status(status)
	_, _ = c.Writer.Write(body)
}

// handleUnprotected is the demo's open route.
func handleUnprotected() gin.HandlerFunc {
	return func(c *gin.Context) {
		writeJSON(c, http.StatusOK, unprotectedBody)
	}
}

// handleProtected is the demo's guarded route; it names the token's subject.
func handleProtected() gin.HandlerFunc {
	body := newUserMessage("Only available to people with valid tokens.")
	return func(c *gin.Context) {
		body.write(c, http.StatusOK, middleware.User(c))
	}
}

// userMessage makes {"message":message,"user":user}, byte for byte what c.JSON(gin.H{…}) writes
// (encoding/json: keys sorted, HTML-escaped), without reflection or a map: /protected is the hot
// route. The constant part is encoded once.
type userMessage struct {
	prefix []byte // {"message":"…","user":
}

func newUserMessage(message string) userMessage {
	b := append([]byte(`{"message":`), nil...)
	b = appendJSONString(b, message)
	return userMessage{prefix: append(b, `,"user":`...)}
}

// appendTo appends the body for user to b.
func (m userMessage) appendTo(b []byte, user string) []byte {
	b = append(b, m.prefix...)
	b = appendJSONString(b, user)
	return append(b, '}')
}

// bodyBufs holds the buffers that userMessage.write builds bodies in. A Write must not keep the
// slice once it returns (io.Writer), so the buffer is reused: one allocation less per request on
// the hot route.
var bodyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// write answers with status and the body for user.
func (m userMessage) write(c *gin.Context, status int, user string) {
	bp := bodyBufs.Get().(*[]byte)
	b := m.appendTo((*bp)[:0], user)
	writeJSON(c, status, b)
	if cap(b) <= 4096 { // an odd huge user name does not pin its buffer in the pool
		*bp = b[:0]
		bodyBufs.Put(bp)
	}
}

// appendJSONString appends s as encoding/json encodes it. Printable ASCII other than the five
// characters encoding/json escapes is copied as it is; any other string goes through
// encoding/json itself, so that the output never differs.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if ch := s[i]; ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\' || ch == '<' || ch == '>' || ch == '&' {
			enc, _ := json.Marshal(s) // a string always encodes
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// meResponse is the body of GET /me.
type meResponse struct {
	User      string   `json:"user"`
	Roles     []string `json:"roles"`
	IssuedAt  string   `json:"issued_at"`
	ExpiresAt string   `json:"expires_at"`
}

// handleMe describes the caller's token.
func handleMe() gin.HandlerFunc {
	return func(c *gin.Context) {
		cl, _ := middleware.ClaimsFrom(c)
		roles := cl.Roles
		if roles == nil {
			roles = []string{}
		}
		c.JSON(http.StatusOK, meResponse{
			User:      cl.Subject,
			Roles:     roles,
			IssuedAt:  cl.IssuedAt.UTC().Format(time.RFC3339),
			ExpiresAt: cl.ExpiresAt.UTC().Format(time.RFC3339),
		})
	}
}

// handleAdmin is the example of a route behind middleware.RequireRole("admin").
func handleAdmin() gin.HandlerFunc {
	body := newUserMessage("Welcome, administrator.")
	return func(c *gin.Context) {
		body.write(c, http.StatusOK, middleware.User(c))
	}
}

// handleJWKS serves the public key set (empty for HMAC algorithms).
func handleJWKS(jwks []byte) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		c.Data(http.StatusOK, "application/jwk-set+json", jwks)
	}
}

// handleHealthz answers 200 while the process serves.
func handleHealthz() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		c.Data(http.StatusOK, jsonType, []byte(`{"status":"ok"}`))
	}
}

// handleReadyz answers 200 when every check passes (the users are loaded, the state backend
// answers), else 503 not_ready naming the first failing check.
func handleReadyz(checks []Check) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		for _, ch := range checks {
			if err := ch.Fn(ctx); err != nil {
				c.Header("Retry-After", "1")
				middleware.WriteError(c, http.StatusServiceUnavailable, "not_ready", ch.Name+" is not ready")
				return
			}
		}
		c.Data(http.StatusOK, jsonType, []byte(`{"status":"ready"}`))
	}
}
