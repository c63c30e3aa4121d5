package routes

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/middleware"
	"github.com/tokengate/tokengate/state"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/token"
)

// loginGuard counts failed logins per (user, client IP) and per client IP, and locks a key out for
// policy.Lockout once it reaches its limit (MaxFailures, and 4× that per IP against spraying).
// scope keeps the counts of one kind of caller apart from another's: failed logins from a shared
// address must not lock out the introspection clients there, nor the reverse.
type loginGuard struct {
	state  state.Store
	policy LoginPolicy
	scope  string // "" for logins, "client:" for introspection clients
}

func (g *loginGuard) userKey(user, ip string) string { return g.scope + "u:" + ip + ":" + user }
func (g *loginGuard) ipKey(ip string) string         { return g.scope + "ip:" + ip }

// check returns a *lockedError when either key is locked out.
func (g *loginGuard) check(ctx context.Context, user, ip string) error {
	for _, k := range [...]string{g.userKey(user, ip), g.ipKey(ip)} {
		left, err := g.state.Locked(ctx, k)
		if err != nil {
			return err
		}
		if left > 0 {
			return &lockedError{retryAfter: left}
		}
	}
	return nil
}

// fail counts one failure on both keys and starts a lock-out on any that reached its limit.
func (g *loginGuard) fail(ctx context.Context, user, ip string) error {
	limits := [...]struct {
		key   string
		limit int
	}{{g.userKey(user, ip), g.policy.MaxFailures}, {g.ipKey(ip), 4 * g.policy.MaxFailures}}
	for _, l := range limits {
		n, err := g.state.Fail(ctx, l.key, g.policy.Window)
		if err != nil {
			return err
		}
		if n >= l.limit {
			if err := g.state.Lock(ctx, l.key, g.policy.Lockout); err != nil {
				return err
			}
		}
	}
	return nil
}

func (g *loginGuard) success(ctx context.Context, user, ip string) error {
	return g.state.Reset(ctx, g.userKey(user, ip))
}

// lifetime is the refresh-token lifetime and the clock it runs on (the state backend's).
type lifetime struct {
	ttl time.Duration
	now func() time.Time
}

// end is when a refresh token saved now expires.
func (l lifetime) end() time.Time { return l.now().Add(l.ttl) }

// tokenResponse is the body of a successful login or refresh.
type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
}

// handleLogin checks a password (Basic, JSON or form) and answers with an access token and a
// refresh token of a new family. A locked-out (user, IP) or IP gets 429 even with the right password.
func handleLogin(users Authenticator, issuer *token.Issuer, st state.Store, guard *loginGuard, refresh lifetime, o Observer) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		name, pass, err := credentials(c)
		if err != nil {
			o.Login(loginOutcome(err))
			_ = c.Error(err)
			return
		}
		ip := c.ClientIP()
		if err := guard.check(ctx, name, ip); err != nil {
			o.Login(loginOutcome(err))
			_ = c.Error(err)
			return
		}
		// The session starts when the password is checked: a cut-off (a password change, a
		// disable) that lands while the check runs ends it, though its tokens come after.
		authAt := refresh.now()
		u, err := users.Authenticate(ctx, name, pass)
		if errors.Is(err, store.ErrInvalidCredentials) {
			if ferr := guard.fail(ctx, name, ip); ferr != nil {
				err = ferr
			}
		}
		if err != nil {
			o.Login(loginOutcome(err))
			_ = c.Error(err)
			return
		}
		if err := guard.success(ctx, name, ip); err != nil {
			o.Login("error")
			_ = c.Error(err)
			return
		}
		middleware.SetUser(c, u.Name)
		resp, err := issuePair(ctx, issuer, st, u, "", authAt, refresh)
		if err != nil {
			o.Login("error")
			_ = c.Error(err)
			return
		}
		o.Login("success")
		respondTokens(c, resp)
	}
}

func loginOutcome(err error) string {
	var locked *lockedError
	switch {
	case errors.Is(err, store.ErrInvalidCredentials), errors.Is(err, errNoCredentials):
		return "invalid_credentials"
	case errors.As(err, &locked):
		return "locked"
	case errors.Is(err, store.ErrOverloaded):
		return "overloaded"
	case errors.Is(err, errBadRequest), errors.Is(err, store.ErrPasswordTooLong), middleware.IsTooLarge(err):
		return "invalid_request"
	default:
		return "error"
	}
}

// issuePair issues an access token and a refresh token for u, in the session whose login checked
// the password at authAt. family "" starts a new family.
func issuePair(ctx context.Context, issuer *token.Issuer, st state.Store, u store.User, family string, authAt time.Time, life lifetime) (tokenResponse, error) {
	access, cl, err := issuer.IssueSession(u.Name, u.Roles, authAt)
	if err != nil {
		return tokenResponse{}, err
	}
	if family == "" {
		family = newFamily()
	}
	refresh, hash, err := token.NewRefreshToken()
	if err != nil {
		return tokenResponse{}, err
	}
	exp := life.end()
	if err := st.SaveRefresh(ctx, hash, state.Refresh{User: u.Name, Family: family, ExpiresAt: exp, AuthTime: authAt}); err != nil {
		return tokenResponse{}, err
	}
	return tokenResponse{
		AccessToken:      access,
		TokenType:        "Bearer",
		ExpiresIn:        int64(cl.ExpiresAt.Sub(cl.IssuedAt).Seconds()),
		RefreshToken:     refresh,
		RefreshExpiresIn: int64(life.ttl.Seconds()),
	}, nil
}

func respondTokens(c *gin.Context, resp tokenResponse) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	c.JSON(http.StatusOK, resp)
}

// newFamily names a new refresh-token family: 128 random bits.
func newFamily() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}
