package middleware

import (
	"context"
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

// TestAuthHandsOutCopies: behind a real caching token.Verifier, what ClaimsFrom and
// ClaimsFromContext return is the caller's to change: neither a later middleware of the same
// request nor the next request with the same token sees the change.
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

// gzipLikeWriter wraps the Gin writer the way gzip or timeout middleware do: it replaces c.Writer
// with its own type for the rest of the chain.
type gzipLikeWriter struct {
	gin.ResponseWriter
	wrote int
}

func (w *gzipLikeWriter) Write(b []byte) (int, error) {
	w.wrote += len(b)
	return w.ResponseWriter.Write(b)
}

// TestPerRequestDataSurvivesWrappedWriter: a middleware that wraps the ResponseWriter (before or
// after Auth) hides nothing: the user, the claims and the request id live in the Gin context.
func TestPerRequestDataSurvivesWrappedWriter(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	wrap := func(c *gin.Context) {
		c.Writer = &gzipLikeWriter{ResponseWriter: c.Writer}
		c.Next()
	}
	auth := Auth(fakeVerifier{}, Lookup{Sources: []string{SourceHeader}})
	handler := func(c *gin.Context) {
		if _, ok := c.Writer.(*gzipLikeWriter); !ok {
			t.Error("the writer is not the wrapper")
		}
		cl, ok := ClaimsFrom(c)
		// The same data in the request's context.Context, for code below Gin.
		ctx := c.Request.Context()
		if id := RequestIDFrom(c); RequestIDFromContext(ctx) != id || UserFromContext(ctx) != User(c) {
			t.Errorf("request context: id %q user %q, Gin context: id %q user %q",
				RequestIDFromContext(ctx), UserFromContext(ctx), id, User(c))
		}
		c.String(http.StatusOK, "%s %v %s %v", User(c), ok, cl.Subject, RequestIDFrom(c) != "")
	}
	r := gin.New()
	r.Use(RequestID())
	r.GET("/before", wrap, auth, RequireRole("admin"), handler)
	r.GET("/after", auth, wrap, RequireRole("admin"), handler)
	r.GET("/refused", wrap, auth, RequireRole("ops"), handler)
	for path, want := range map[string]int{"/before": 200, "/after": 200, "/refused": 403} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer good")
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != want {
			t.Fatalf("%s: status = %d, want %d; body %s", path, w.Code, want, w.Body)
		}
		if want == 200 && w.Body.String() != "alice true alice true" {
			t.Errorf("%s: body = %q, want %q", path, w.Body, "alice true alice true")
		}
	}
}

// TestSetUserWithoutRequestID: a login in a service that does not use RequestID still names its
// user, in the Gin context and the request's context.Context; a request nobody named has no user
// and no id.
func TestSetUserWithoutRequestID(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/login", func(c *gin.Context) {
		SetUser(c, "bob")
		c.String(http.StatusOK, "%s|%s|%s", User(c), UserFromContext(c.Request.Context()), RequestIDFrom(c))
	})
	r.GET("/anon", func(c *gin.Context) {
		c.String(http.StatusOK, "%s|%s|%s", User(c), UserFromContext(c.Request.Context()),
			RequestIDFromContext(c.Request.Context()))
	})
	for path, want := range map[string]string{"/login": "bob|bob|", "/anon": "||"} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Body.String() != want {
			t.Errorf("%s: body = %q, want %q", path, w.Body, want)
		}
	}
}

// TestRequestContextCarriesRecord: the request's context.Context carries the request id on every
// route, guarded or not, and the claims behind Auth, also when a middleware in between derives a
// new context (as a timeout middleware does).
func TestRequestContextCarriesRecord(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	timeout := func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), time.Minute)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
	show := func(c *gin.Context) {
		ctx := c.Request.Context()
		cl, ok := ClaimsFromContext(ctx)
		c.String(http.StatusOK, "%v|%s|%v|%s", RequestIDFromContext(ctx) == RequestIDFrom(c) && RequestIDFrom(c) != "",
			UserFromContext(ctx), ok, cl.Subject)
	}
	r := gin.New()
	r.Use(RequestID())
	r.GET("/open", timeout, show)
	r.GET("/guarded", timeout, Auth(fakeVerifier{}, Lookup{Sources: []string{SourceHeader}}), show)
	for path, want := range map[string]string{"/open": "true||false|", "/guarded": "true|alice|true|alice"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer good")
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Body.String() != want {
			t.Errorf("%s: body = %q, want %q", path, w.Body, want)
		}
	}
}
