package routes

import (
	"bytes"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/middleware"
	"github.com/tokengate/tokengate/state"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/token"
)

// handleRefresh spends a refresh token and answers with a new access token and a new refresh token
// of the same family. A spent token presented again revokes its family (reuse detection); a user
// who no longer exists or is disabled cannot refresh, and their family is revoked.
func handleRefresh(users UserLookup, issuer *token.Issuer, st state.Store, refresh lifetime, o Observer) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		raw, err := refreshField(c, true)
		if err != nil {
			_ = c.Error(err)
			return
		}
		r, err := st.SpendRefresh(ctx, token.HashRefreshToken(raw))
		switch {
		case errors.Is(err, state.ErrReused):
			o.Revoke("reuse")
			_ = c.Error(errBadRefresh)
			return
		case errors.Is(err, state.ErrNotFound):
			_ = c.Error(errBadRefresh)
			return
		case err != nil:
			_ = c.Error(err)
			return
		}
		u, err := users.Lookup(ctx, r.User)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			_ = c.Error(err)
			return
		}
		if err != nil || u.Disabled {
			if rerr := st.RevokeFamily(ctx, r.Family, refresh.end()); rerr != nil {
				_ = c.Error(rerr)
				return
			}
			_ = c.Error(errBadRefresh)
			return
		}
		middleware.SetUser(c, u.Name)
		resp, err := issuePair(ctx, issuer, st, u, r.Family, r.AuthTime, refresh)
		if err != nil {
			_ = c.Error(err)
			return
		}
		respondTokens(c, resp)
	}
}

// handleLogout revokes the presented access token (by jti, until its exp plus the leeway: it
// verifies until then) and, when the body names a refresh token of the same user, that token's
// whole family. It answers 204.
func handleLogout(st state.Store, refresh lifetime, leeway time.Duration, o Observer) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		cl, _ := middleware.ClaimsFrom(c)
		raw, err := refreshField(c, false)
		if err != nil {
			_ = c.Error(err)
			return
		}
		// Kept a second past the last instant the token verifies (exp + leeway, inclusive).
		if err := st.Revoke(ctx, cl.ID, cl.ExpiresAt.Add(max(leeway, 0)+time.Second)); err != nil {
			_ = c.Error(err)
			return
		}
		o.Revoke("access")
		if raw != "" {
			r, err := st.SpendRefresh(ctx, token.HashRefreshToken(raw))
			switch {
			case err == nil && r.User == cl.Subject:
				if err := st.RevokeFamily(ctx, r.Family, refresh.end()); err != nil {
					_ = c.Error(err)
					return
				}
				o.Revoke("refresh_family")
			case err == nil, errors.Is(err, state.ErrNotFound):
				// Not this user's, or already gone: nothing more to revoke.
			case errors.Is(err, state.ErrReused):
				o.Revoke("reuse") // the family is revoked already
			default:
				_ = c.Error(err)
				return
			}
		}
		c.Header("Cache-Control", "no-store")
		c.Status(http.StatusNoContent)
		c.Writer.WriteHeaderNow()
	}
}

// refreshField reads {"refresh_token": "..."} from a JSON body. When required is false an empty body
// gives "".
func refreshField(c *gin.Context, required bool) (string, error) {
	body, err := readBody(c)
	if err != nil {
		return "", err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if required {
			return "", badRequest("refresh_token is required")
		}
		return "", nil
	}
	f, err := stringFields(body, "refresh_token")
	if err != nil {
		return "", err
	}
	raw := f["refresh_token"]
	if raw == "" && required {
		return "", badRequest("refresh_token is required")
	}
	if len(raw) > 512 {
		return "", errBadRefresh
	}
	return raw, nil
}
