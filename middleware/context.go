package middleware

import (
	"context"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/token"
)

// contextKey is the type of this package's keys in the Gin context and the request's
// context.Context: unexported, so no other package can read or overwrite what they hold.
type contextKey int

const (
	claimsKey    contextKey = iota // *token.Claims, set by Auth; never modified once set
	userKey                        // string, set by SetUser
	requestIDKey                   // string, set by RequestID
)

// ClaimsFrom returns the claims that Auth placed in the Gin context: a copy the caller may modify.
func ClaimsFrom(c *gin.Context) (token.Claims, bool) {
	v, _ := c.Get(claimsKey)
	cl, ok := v.(*token.Claims)
	if !ok {
		return token.Claims{}, false
	}
	return cl.Clone(), true
}

// ClaimsFromContext returns the claims that Auth placed in the request's context.Context, for code
// below Gin (plain http handlers, services): a copy the caller may modify.
func ClaimsFromContext(ctx context.Context) (token.Claims, bool) {
	cl, ok := ctx.Value(claimsKey).(*token.Claims)
	if !ok {
		return token.Claims{}, false
	}
	return cl.Clone(), true
}

// User returns the user the request acts for: the token's subject behind Auth, or the name a
// successful login set (SetUser); "" when there is none.
func User(c *gin.Context) string {
	if v, ok := c.Get(claimsKey); ok {
		return v.(*token.Claims).Subject
	}
	return c.GetString(userKey)
}

// SetUser records the user a request acts for, so that the access log can name it (login sets it
// after a successful password check; Auth sets it from the token).
func SetUser(c *gin.Context, name string) { c.Set(userKey, name) }

// RequestIDFrom returns the id the RequestID middleware gave the request ("" when it did not run).
func RequestIDFrom(c *gin.Context) string {
	return c.GetString(requestIDKey)
}

// setClaims stores verified claims in the Gin context and in the request's context.Context: one
// copy, shared by both and never modified (the accessors hand out clones).
func setClaims(c *gin.Context, cl token.Claims) {
	p := &cl
	c.Set(claimsKey, p)
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), claimsKey, p))
}
