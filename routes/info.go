package routes

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/middleware"
)

// messageBody is the body of the demo routes.
type messageBody struct {
	Message string `json:"message"`
	User    string `json:"user,omitempty"`
}

// handleUnprotected is the demo's open route.
func handleUnprotected() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.JSON(http.StatusOK, messageBody{Message: "Anyone can view this."})
	}
}

// handleProtected is the demo's guarded route; it names the token's subject.
func handleProtected() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.JSON(http.StatusOK, messageBody{Message: "Only available to people with valid tokens.", User: middleware.User(c)})
	}
}

// meResponse is the body of GET /me.
type meResponse struct {
	User      string   `json:"user"`
	Roles     []string `json:"roles"`
	IssuedAt  string   `json:"issued_at,omitempty"` // absent when the token has no iat
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
		body := meResponse{User: cl.Subject, Roles: roles, ExpiresAt: cl.ExpiresAt.UTC().Format(time.RFC3339)}
		if !cl.IssuedAt.IsZero() {
			body.IssuedAt = cl.IssuedAt.UTC().Format(time.RFC3339)
		}
		c.JSON(http.StatusOK, body)
	}
}

// handleAdmin is the example of a route behind middleware.RequireRole("admin").
func handleAdmin() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.JSON(http.StatusOK, messageBody{Message: "Welcome, administrator.", User: middleware.User(c)})
	}
}

// statusBody is the body of /healthz and /readyz.
type statusBody struct {
	Status string `json:"status"`
}

// handleHealthz answers 200 while the process serves.
func handleHealthz() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		c.JSON(http.StatusOK, statusBody{Status: "ok"})
	}
}

// handleReadyz answers 200 when every check passes (the users are loaded, the state backend
// answers), else 503 not_ready naming the first failing check and saying why (a Check's error
// must be fit for the caller to read).
func handleReadyz(checks []Check) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		for _, ch := range checks {
			if err := ch.Fn(ctx); err != nil {
				c.Header("Retry-After", "1")
				middleware.WriteError(c, http.StatusServiceUnavailable, "not_ready", ch.Name+" is not ready: "+err.Error())
				return
			}
		}
		c.JSON(http.StatusOK, statusBody{Status: "ready"})
	}
}
