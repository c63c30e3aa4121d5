package middleware

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/token"
)

// Verifier checks a raw token and returns its claims. *token.Verifier implements it.
type Verifier interface {
	Verify(ctx context.Context, raw string) (token.Claims, error)
}

// errNoClaims is what Auth answers when a RequestVerifier returns neither claims nor an error.
var errNoClaims = errors.New("the token could not be verified")

// ctxKey is the request context key of the verified claims.
type ctxKey struct{}

// RequestVerifier is a Verifier that can also check a token at the time its request arrived and
// hand out claims shared with its cache (see token.Verifier.VerifyRequest); *token.Verifier
// implements it. Auth uses it when v has it. ClaimsFrom and ClaimsFromContext always return copies.
type RequestVerifier interface {
	VerifyRequest(ctx context.Context, raw string, arrived time.Time) (*token.Claims, error)
}

// ClaimsFrom returns the claims that Auth placed in the Gin context: a copy the caller may modify.
func ClaimsFrom(c *gin.Context) (token.Claims, bool) {
	ri := peekInfo(c)
	if ri == nil || ri.claims == nil {
		return token.Claims{}, false
	}
	return ri.claims.Clone(), true
}

// User returns the user the request acts for: the token's subject behind Auth, or the name a
// successful login set (SetUser); "" when there is none.
func User(c *gin.Context) string {
	if ri := peekInfo(c); ri != nil {
		return ri.user
	}
	return ""
}

// ClaimsFromContext returns the claims that Auth placed in the request's context.Context, for code
// below Gin (plain http handlers, services): a copy the caller may modify.
func ClaimsFromContext(ctx context.Context) (token.Claims, bool) {
	cl, ok := ctx.Value(ctxKey{}).(*token.Claims)
	if !ok {
		return token.Claims{}, false
	}
	return cl.Clone(), true
}

// Auth guards the routes behind it: it extracts the one token the request carries (see
// Lookup.Extract), verifies it and stores the claims in the Gin context (ClaimsFrom) and the request
// context (ClaimsFromContext). It answers, and aborts:
//   - 400 invalid_request when the token placement is malformed or ambiguous;
//   - 401 missing_token with a bare Bearer challenge when no token is present;
//   - 401 invalid_token with error_description when the token is bad, revoked or expired;
//   - 503 unavailable when revocation state cannot be read (never "allow").
func Auth(v Verifier, l Lookup) gin.HandlerFunc {
	rv, _ := v.(RequestVerifier)
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
		var cl *token.Claims
		if rv != nil {
			cl, err = rv.VerifyRequest(c.Request.Context(), raw, Arrival(c))
			if err == nil && cl == nil {
				err = errNoClaims // a broken RequestVerifier fails closed
			}
		} else {
			var own token.Claims
			own, err = v.Verify(c.Request.Context(), raw)
			cl = &own
		}
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
		ri := infoOf(c)
		ri.claims, ri.user = cl, cl.Subject
		ri.ctx = claimsContext{Context: c.Request.Context(), claims: cl}
		c.Request = c.Request.WithContext(&ri.ctx)
		c.Next()
	}
}

// RequireRole lets a request through when its verified claims hold at least one of roles; it must
// run after Auth. Otherwise it answers 403 insufficient_scope with a Bearer challenge (RFC 6750 §3.1).
func RequireRole(roles ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if ri := peekInfo(c); ri != nil && ri.claims != nil {
			for _, r := range roles {
				if slices.Contains(ri.claims.Roles, r) {
					c.Next()
					return
				}
			}
		}
		want := strings.Join(roles, " or ")
		c.Header("WWW-Authenticate", bearerChallenge("insufficient_scope", "requires role "+want))
		WriteError(c, http.StatusForbidden, "insufficient_scope", "this route requires role "+want)
	}
}
