package middleware

import (
	"context"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/token"
)

// contextKey is the type of this package's key in the Gin context and the request's
// context.Context: unexported, so no other package can read or overwrite what it holds.
type contextKey int

const requestKey contextKey = 0 // *request

// request is what this package knows of one request: its id (RequestID), the verified claims
// (Auth) and the user a login acted for (SetUser). The first of these to run places it in the Gin
// context and in the request's context.Context, so that code below Gin (plain http handlers,
// services, a log line written there) sees the id, the user and the claims too; the others fill it
// in. Its fields are set before the handlers that read them run, and never changed after; claims
// is never modified (the accessors hand out clones).
type request struct {
	id     string
	user   string
	claims *token.Claims
}

// requestOf returns the request's record, placing a new one in the Gin context and the request's
// context.Context if none is there.
func requestOf(c *gin.Context) *request {
	if r := lookup(c); r != nil {
		return r
	}
	r := new(request)
	c.Set(requestKey, r)
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), requestKey, r))
	return r
}

// lookup returns the record in c, or nil.
func lookup(c *gin.Context) *request {
	v, _ := c.Get(requestKey)
	r, _ := v.(*request)
	return r
}

// fromContext returns the record in ctx, or nil.
func fromContext(ctx context.Context) *request {
	r, _ := ctx.Value(requestKey).(*request)
	return r
}

// ClaimsFrom returns the claims that Auth placed in the Gin context: a copy the caller may modify.
func ClaimsFrom(c *gin.Context) (token.Claims, bool) {
	return lookup(c).claimsCopy()
}

// ClaimsFromContext returns the claims that Auth placed in the request's context.Context, for code
// below Gin (plain http handlers, services): a copy the caller may modify.
func ClaimsFromContext(ctx context.Context) (token.Claims, bool) {
	return fromContext(ctx).claimsCopy()
}

func (r *request) claimsCopy() (token.Claims, bool) {
	if r == nil || r.claims == nil {
		return token.Claims{}, false
	}
	return r.claims.Clone(), true
}

// User returns the user the request acts for: the token's subject behind Auth, or the name a
// successful login set (SetUser); "" when there is none.
func User(c *gin.Context) string { return lookup(c).userName() }

// UserFromContext is User for code below Gin, from the request's context.Context.
func UserFromContext(ctx context.Context) string { return fromContext(ctx).userName() }

func (r *request) userName() string {
	switch {
	case r == nil:
		return ""
	case r.claims != nil:
		return r.claims.Subject
	}
	return r.user
}

// SetUser records the user a request acts for, so that the access log can name it (login sets it
// after a successful password check; Auth sets it from the token). Call it before the handlers
// that read it run, not from another goroutine.
func SetUser(c *gin.Context, name string) { requestOf(c).user = name }

// RequestIDFrom returns the id the RequestID middleware gave the request ("" when it did not run).
func RequestIDFrom(c *gin.Context) string { return lookup(c).requestID() }

// RequestIDFromContext is RequestIDFrom for code below Gin, from the request's context.Context (to
// name the request in a log line written there).
func RequestIDFromContext(ctx context.Context) string { return fromContext(ctx).requestID() }

func (r *request) requestID() string {
	if r == nil {
		return ""
	}
	return r.id
}

// setClaims stores verified claims in the request's record.
func setClaims(c *gin.Context, cl token.Claims) { requestOf(c).claims = &cl }
