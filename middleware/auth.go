package middleware

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/token"
)

// Verifier checks a raw token and returns its claims. *token.Verifier implements it.
type Verifier interface {
	Verify(ctx context.Context, raw string) (token.Claims, error)
}

// Auth guards the routes behind it: it extracts the one token the request carries (see
// Lookup.Extract), verifies it and stores the claims in the Gin context (ClaimsFrom, User) and the
// request context (ClaimsFromContext). It answers, and aborts:
//   - 400 invalid_request when the token placement is malformed or ambiguous;
//   - 401 missing_token with a bare Bearer challenge when no token is present;
//   - 401 invalid_token with error_description when the token is bad, revoked or expired;
//   - 503 unavailable when revocation state cannot be read (never "allow").
func Auth(v Verifier, l Lookup) gin.HandlerFunc {
	return func(c *gin.Context) {
		raw, err := l.Extract(c.Request)
		if err != nil {
			if errors.Is(err, ErrNoToken) {
				Unauthorized(c, "missing_token", "no access token in the request")
				return
			}
			c.Header("Cache-Control", "no-store")
			WriteError(c, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
		cl, err := v.Verify(c.Request.Context(), raw)
		if err != nil {
			if errors.Is(err, token.ErrStateUnavailable) {
				c.Header("Retry-After", "1")
				WriteError(c, http.StatusServiceUnavailable, "unavailable", "token state is unavailable, try again")
				_ = c.Error(err)
				return
			}
			// The token package's error text is a safe error_description: it never holds the
			// token or a key.
			Unauthorized(c, "invalid_token", err.Error())
			return
		}
		setClaims(c, cl)
		c.Next()
	}
}

// RequireRole lets a request through when its verified claims hold at least one of roles; it must
// run after Auth. Otherwise it answers 403 insufficient_scope (InsufficientScope).
func RequireRole(roles ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if r := lookup(c); r != nil && r.claims != nil && HasAnyRole(r.claims.Roles, roles) {
			c.Next()
			return
		}
		InsufficientScope(c, roles)
	}
}

// HasAnyRole reports whether have holds at least one of want.
func HasAnyRole(have, want []string) bool {
	for _, r := range want {
		if slices.Contains(have, r) {
			return true
		}
	}
	return false
}

// InsufficientScope aborts with 403 insufficient_scope and a Bearer challenge naming the roles
// (RFC 6750 §3.1).
func InsufficientScope(c *gin.Context, roles []string) {
	want := strings.Join(roles, " or ")
	c.Header("WWW-Authenticate", bearerChallenge("insufficient_scope", "requires role "+want))
	WriteError(c, http.StatusForbidden, "insufficient_scope", "this route requires role "+want)
}
