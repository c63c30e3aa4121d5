// Package routes builds tokengate's HTTP handler: every route on one screen (New), the handlers as
// makers (handleX), and the one table that turns errors into HTTP answers (errors.go).
package routes

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/middleware"
	"github.com/tokengate/tokengate/state"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/token"
)

// Authenticator checks a user's password. *store.Memory and *store.File implement it.
type Authenticator interface {
	Authenticate(ctx context.Context, name, password string) (store.User, error)
}

// UserLookup finds a user without a password, for the refresh re-check.
type UserLookup interface {
	Lookup(ctx context.Context, name string) (store.User, error)
}

// Users is what the routes need of a credential store.
type Users interface {
	Authenticator
	UserLookup
}

// Check is one readiness probe: nil when the dependency answers, else an error whose text /readyz
// shows (so it must hold no secret or internal address).
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// LoginPolicy is the lock-out policy of DESIGN.md's "Login hardening".
type LoginPolicy struct {
	MaxFailures int           // failures per (user, client IP) within Window before lock-out; 4× per client IP
	Window      time.Duration // counting window
	Lockout     time.Duration // how long a locked key answers 429
}

// Deps are the routes' dependencies. New refuses a Deps with a required field missing, so a wiring
// mistake stops the start instead of failing a request later.
type Deps struct {
	Log        *slog.Logger
	Users      Users
	Issuer     *token.Issuer
	Verifier   middleware.Verifier
	JWKS       []byte      // the public key set, served at /.well-known/jwks.json
	State      state.Store // refresh tokens, revocations, login failures
	Lookup     middleware.Lookup
	Login      LoginPolicy
	RefreshTTL time.Duration
	// Leeway is the Verifier's token.leeway: a token still verifies that long after its exp, so a
	// logout keeps the revocation that much longer.
	Leeway         time.Duration
	MaxBodyBytes   int64
	TrustedProxies []string
	Ready          []Check // /readyz probes
	// Discovery describes the issuer in the discovery document and how long verifiers may cache it
	// and the JWKS.
	Discovery Discovery
	// Clients may call POST /introspect, by client id; none means every call answers 401.
	Clients map[string]Client
	Gateway Gateway      // the forward-auth rules of /auth
	Metrics http.Handler // served at /metrics when not nil
	Observe Observer     // counts logins, verifications, revocations; may be nil
	// Admin manages the users of /users and /me/password (every store implements store.Admin);
	// nil: those routes answer 409 read_only_store.
	Admin store.Admin
	// Hasher hashes new passwords, in the slots logins use (nil: a Hasher of its own).
	Hasher *store.Hasher
	// HashCost is the bcrypt cost of new passwords (0: store.DefaultCost).
	HashCost int
	// Now is the clock of refresh-token expiries and session cut-offs (nil: time.Now): the clock of
	// the Issuer, the Verifier and the state backend.
	Now func() time.Time
}

// New returns tokengate's HTTP handler.
func New(d Deps) (http.Handler, error) {
	if d.Users == nil || d.Issuer == nil || d.Verifier == nil || d.State == nil || d.JWKS == nil {
		return nil, errors.New("routes: Users, Issuer, Verifier, State and JWKS are required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Observe == nil {
		d.Observe = nopObserver{}
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	// Gin trusts every proxy by default; we believe X-Forwarded-For only from configured proxies.
	if err := r.SetTrustedProxies(d.TrustedProxies); err != nil {
		return nil, err
	}
	r.RemoteIPHeaders = []string{"X-Forwarded-For"}

	guard := &loginGuard{state: d.State, policy: d.Login}
	verifier := &observedVerifier{v: d.Verifier, o: d.Observe}
	auth := middleware.Auth(verifier, d.Lookup)
	admin := newUserAdmin(d)
	now := d.Now
	if now == nil {
		now = time.Now
	}
	refresh := lifetime{ttl: d.RefreshTTL, now: now}
	isAdmin := middleware.RequireRole("admin")

	r.Use(
		middleware.RequestID(),
		middleware.AccessLog(d.Log, d.Lookup.QueryParam),
		observe(d.Observe), // outside Recovery: a request that panicked is counted with its 500
		middleware.Recovery(d.Log),
		middleware.BodyLimit(d.MaxBodyBytes),
		renderErrors(d.Log),
	)
	r.NoRoute(func(c *gin.Context) {
		middleware.WriteError(c, http.StatusNotFound, "not_found", "no such route")
	})
	authRequest := handleAuth(verifier, d.Lookup, d.Gateway, d.Observe)
	r.NoMethod(func(c *gin.Context) {
		if c.Request.URL.Path == "/auth" { // /auth answers every method, also those Gin does not route
			authRequest(c)
			return
		}
		middleware.WriteError(c, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed on this route")
	})

	r.GET("/unprotected", handleUnprotected())
	r.GET("/login", handleLogin(d.Users, d.Issuer, d.State, guard, refresh, d.Observe))
	r.POST("/login", handleLogin(d.Users, d.Issuer, d.State, guard, refresh, d.Observe))
	r.POST("/refresh", handleRefresh(d.Users, d.Issuer, d.State, refresh, d.Observe))
	r.POST("/logout", auth, handleLogout(d.State, refresh, d.Leeway, d.Observe))
	r.GET("/protected", auth, handleProtected())
	r.GET("/me", auth, handleMe())
	r.GET("/admin", auth, isAdmin, handleAdmin())
	r.GET("/users", auth, isAdmin, handleListUsers(admin))
	r.POST("/users", auth, isAdmin, handleAddUser(admin))
	r.GET("/users/*name", auth, isAdmin, handleGetUser(admin))
	r.PATCH("/users/*name", auth, isAdmin, handlePatchUser(admin))
	r.DELETE("/users/*name", auth, isAdmin, handleDeleteUser(admin))
	r.PUT("/me/password", auth, handleChangeOwnPassword(admin, d.Users, guard))
	r.Match([]string{http.MethodGet, http.MethodHead}, "/.well-known/jwks.json", handleJWKS(d.JWKS, d.Discovery.MaxAge))
	r.GET("/.well-known/openid-configuration", handleDiscovery(d.Discovery))
	r.GET("/.well-known/oauth-authorization-server", handleDiscovery(d.Discovery))
	// Failed client authentications count per (client id, client IP) and per client IP, apart from
	// failed logins.
	clientGuard := &loginGuard{state: d.State, policy: d.Login, scope: "client:"}
	r.POST("/introspect", handleIntrospect(d.Clients, d.Verifier, clientGuard, d.Observe))
	r.GET("/healthz", handleHealthz())
	r.GET("/readyz", handleReadyz(d.Ready))
	r.Match(gatewayMethods, "/auth", authRequest) // and every other method, through NoMethod
	if d.Metrics != nil {
		r.GET("/metrics", gin.WrapH(d.Metrics))
	}
	return r, nil
}
