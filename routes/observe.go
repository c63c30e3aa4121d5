package routes

import (
	"context"
	"errors"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/middleware"
	"github.com/tokengate/tokengate/token"
)

// Observer receives the events that tokengate's metrics count. Implementations must be safe for
// concurrent use and cheap: Request and Verify run on every request.
type Observer interface {
	// Request is called once per request with the matched route pattern ("" when none matched).
	Request(route, method string, status int, d time.Duration)
	// Login is called once per login attempt: success, invalid_credentials, locked, overloaded,
	// invalid_request or error.
	Login(outcome string)
	// Verify is called once per token verification: valid, invalid, revoked, expired or unavailable.
	Verify(outcome string)
	// Revoke is called when logout revokes an access token ("access") or a refresh family
	// ("refresh_family"), or reuse detection kills a family ("reuse").
	Revoke(kind string)
	// Gateway is called once per /auth decision: allowed, public, missing_token, invalid_token,
	// insufficient_scope, access_denied, invalid_request or unavailable.
	Gateway(outcome string)
	// Introspect is called once per introspection request: active, inactive, invalid_client,
	// locked, invalid_request, unavailable or error.
	Introspect(outcome string)
}

type nopObserver struct{}

func (nopObserver) Request(string, string, int, time.Duration) {}
func (nopObserver) Login(string)                               {}
func (nopObserver) Verify(string)                              {}
func (nopObserver) Revoke(string)                              {}
func (nopObserver) Gateway(string)                             {}
func (nopObserver) Introspect(string)                          {}

// observe reports every request to o.
func observe(o Observer) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		o.Request(c.FullPath(), c.Request.Method, c.Writer.Status(), time.Since(start))
	}
}

// observedVerifier counts verification outcomes.
type observedVerifier struct {
	v middleware.Verifier
	o Observer
}

func (ov *observedVerifier) Verify(ctx context.Context, raw string) (token.Claims, error) {
	cl, err := ov.v.Verify(ctx, raw)
	switch {
	case err == nil:
		ov.o.Verify("valid")
	case errors.Is(err, token.ErrStateUnavailable):
		ov.o.Verify("unavailable")
	case errors.Is(err, token.ErrRevoked):
		ov.o.Verify("revoked")
	case errors.Is(err, token.ErrExpired):
		ov.o.Verify("expired")
	default:
		ov.o.Verify("invalid")
	}
	return cl, err
}
