package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/token"
)

// fakeVerifier stands in for *token.Verifier, whose real behaviour is tested in token/ and tests/.
type fakeVerifier map[string]error

func (f fakeVerifier) Verify(_ context.Context, raw string) (token.Claims, error) {
	if err, ok := f[raw]; ok {
		return token.Claims{}, err
	}
	return token.Claims{Subject: "alice", Roles: []string{"admin"}, ID: raw}, nil
}

// TestAuthPlacesClaims: the verified claims reach the handler through the Gin context and through
// the request's context.Context; failures answer per RFC 6750 and never reach the handler.
func TestAuthPlacesClaims(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	v := fakeVerifier{
		"bad":  token.ErrExpired,
		"down": token.ErrStateUnavailable,
	}
	r := gin.New()
	r.GET("/p", Auth(v, Lookup{Sources: []string{SourceHeader}}), func(c *gin.Context) {
		g, ok1 := ClaimsFrom(c)
		rc, ok2 := ClaimsFromContext(c.Request.Context())
		if !ok1 || !ok2 || g.Subject != "alice" || rc.Subject != "alice" || rc.ID != "good" {
			c.String(500, "claims missing: %v %v %+v %+v", ok1, ok2, g, rc)
			return
		}
		c.String(200, "ok")
	})
	r.GET("/admin", Auth(v, Lookup{Sources: []string{SourceHeader}}), RequireRole("ops", "admin"), func(c *gin.Context) { c.String(200, "ok") })
	r.GET("/ops", Auth(v, Lookup{Sources: []string{SourceHeader}}), RequireRole("ops"), func(c *gin.Context) { c.String(200, "ok") })
	cases := []struct {
		name, path, auth string
		status           int
		challenge        string
	}{
		{"good", "/p", "Bearer good", 200, ""},
		{"missing", "/p", "", 401, `Bearer realm="tokengate"`},
		{"bad", "/p", "Bearer bad", 401, `error="invalid_token"`},
		{"state down", "/p", "Bearer down", 503, ""},
		{"one of the roles", "/admin", "Bearer good", 200, ""},
		{"missing role", "/ops", "Bearer good", 403, `error="insufficient_scope"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, c.path, nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != c.status {
				t.Fatalf("status = %d, want %d; body %s", w.Code, c.status, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); !strings.Contains(got, c.challenge) {
				t.Fatalf("WWW-Authenticate = %q, want it to contain %q", got, c.challenge)
			}
		})
	}
	if _, ok := ClaimsFromContext(context.Background()); ok {
		t.Fatal("claims from a context Auth never saw")
	}
}
