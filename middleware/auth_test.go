package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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

// arrivalVerifier is a RequestVerifier that records the arrival time Auth passes.
type arrivalVerifier struct {
	fakeVerifier
	arrived *time.Time
}

func (a arrivalVerifier) VerifyRequest(ctx context.Context, raw string, arrived time.Time) (*token.Claims, error) {
	*a.arrived = arrived
	cl, err := a.Verify(ctx, raw)
	return &cl, err
}

var _ RequestVerifier = arrivalVerifier{}

// TestAuthVerifiesAtArrival: Auth hands a RequestVerifier the request's arrival time, the one
// reading of the clock that the access log took.
func TestAuthVerifiesAtArrival(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	var arrived, seen time.Time
	r := gin.New()
	r.Use(RequestID(), AccessLog(slog.New(slog.DiscardHandler), "token"))
	r.GET("/p", Auth(arrivalVerifier{fakeVerifier{}, &arrived}, Lookup{Sources: []string{SourceHeader}}), func(c *gin.Context) {
		seen = Arrival(c)
		c.Status(http.StatusNoContent)
	})
	req := httptest.NewRequest(http.MethodGet, "/p", nil)
	req.Header.Set("Authorization", "Bearer good")
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Code != http.StatusNoContent || arrived.IsZero() || !arrived.Equal(seen) {
		t.Fatalf("status %d; VerifyRequest got arrival %v, the request's is %v", w.Code, arrived, seen)
	}
}

// TestAuthHandsOutCopies: behind a real caching token.Verifier (whose cached claims Auth does not
// copy), what ClaimsFrom and ClaimsFromContext return is the caller's to change: the next request
// with the same token still has its roles.
func TestAuthHandsOutCopies(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	keys, err := token.NewHMACKeys("HS256", []byte("a-test-secret-of-at-least-32-bytes!!"))
	if err != nil {
		t.Fatal(err)
	}
	o := token.Options{Issuer: "tg", Audience: "tg", CacheSize: 10}
	raw, _, err := token.NewIssuer(keys, o).Issue("alice", []string{"admin", "ops"})
	if err != nil {
		t.Fatal(err)
	}
	auth := Auth(token.NewVerifier(keys, o), Lookup{Sources: []string{SourceHeader}})
	r := gin.New()
	r.GET("/change", auth, func(c *gin.Context) {
		g, _ := ClaimsFrom(c)
		rc, _ := ClaimsFromContext(c.Request.Context())
		g.Roles[0], g.Audience[0] = "guest", "x"
		rc.Roles[0], rc.Audience[0] = "guest", "x"
		c.Status(http.StatusNoContent)
	})
	r.GET("/admin", auth, RequireRole("admin"), func(c *gin.Context) {
		g, _ := ClaimsFrom(c)
		rc, _ := ClaimsFromContext(c.Request.Context())
		c.String(http.StatusOK, "%s %s %s %s", g.Roles[0], g.Audience[0], rc.Roles[0], rc.Audience[0])
	})
	for i, path := range []string{"/change", "/change", "/admin", "/change", "/admin"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+raw)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if path == "/admin" && (w.Code != http.StatusOK || w.Body.String() != "admin tg admin tg") {
			t.Fatalf("request %d %s: %d %q: a handler's change reached the cache", i, path, w.Code, w.Body)
		}
	}
}

// nilVerifier is a broken RequestVerifier: no claims and no error.
type nilVerifier struct{ fakeVerifier }

func (nilVerifier) VerifyRequest(context.Context, string, time.Time) (*token.Claims, error) {
	return nil, nil
}

// TestAuthFailsClosedOnNoClaims: a RequestVerifier that returns neither claims nor an error gets
// the request refused, not a panic or a pass.
func TestAuthFailsClosedOnNoClaims(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/p", Auth(nilVerifier{}, Lookup{Sources: []string{SourceHeader}}), func(c *gin.Context) {
		c.Status(http.StatusNoContent)
	})
	req := httptest.NewRequest(http.MethodGet, "/p", nil)
	req.Header.Set("Authorization", "Bearer good")
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("status %d, WWW-Authenticate %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
}
