package routes

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/middleware"
	"github.com/tokengate/tokengate/state"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/token"
)

// Errors made by this package's handlers.
var (
	// errBadRequest: the request is malformed (JSON, form, Basic header, field types).
	errBadRequest = errors.New("invalid request")
	// errNoCredentials: a login with no credentials at all.
	errNoCredentials = errors.New("login required")
	// errBadRefresh: a refresh token that is unknown, expired, spent or of a revoked family.
	errBadRefresh = errors.New("invalid refresh token")
)

// requestError is a 400 with a message safe to show.
type requestError struct{ msg string }

func (e *requestError) Error() string { return e.msg }
func (e *requestError) Unwrap() error { return errBadRequest }

func badRequest(msg string) error { return &requestError{msg: msg} }

// lockedError is a login refused during a lock-out.
type lockedError struct{ retryAfter time.Duration }

func (e *lockedError) Error() string { return "too many failed logins, try again later" }

// renderErrors renders the last error a handler recorded with c.Error, when the handler wrote
// nothing itself. It is the one error → HTTP table of the service.
func renderErrors(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if len(c.Errors) == 0 || c.Writer.Written() {
			return
		}
		render(c, log, c.Errors.Last().Err)
	}
}

func render(c *gin.Context, log *slog.Logger, err error) {
	var locked *lockedError
	var reqErr *requestError
	switch {
	case errors.Is(err, store.ErrInvalidCredentials), errors.Is(err, errNoCredentials):
		// Identical for unknown user, wrong password and disabled user.
		c.Header("WWW-Authenticate", `Basic realm="`+middleware.Realm+`", charset="UTF-8"`)
		c.Header("Cache-Control", "no-store")
		middleware.WriteError(c, http.StatusUnauthorized, "invalid_credentials", "invalid username or password")
	case errors.Is(err, errInvalidClient):
		c.Header("WWW-Authenticate", `Basic realm="`+middleware.Realm+`", charset="UTF-8"`)
		middleware.WriteError(c, http.StatusUnauthorized, "invalid_client", "client authentication failed")
	case errors.As(err, &locked):
		c.Header("Retry-After", strconv.Itoa(ceilSeconds(locked.retryAfter)))
		middleware.WriteError(c, http.StatusTooManyRequests, "too_many_attempts", locked.Error())
	case errors.Is(err, store.ErrOverloaded):
		c.Header("Retry-After", "1")
		middleware.WriteError(c, http.StatusServiceUnavailable, "overloaded", "too many logins in progress, try again")
	case middleware.IsTooLarge(err):
		c.Header("Connection", "close")
		middleware.WriteError(c, http.StatusRequestEntityTooLarge, "invalid_request", "request body too large")
	case errors.Is(err, store.ErrPasswordTooLong):
		middleware.WriteError(c, http.StatusBadRequest, "invalid_request", "password longer than 72 bytes")
	case errors.As(err, &reqErr):
		middleware.WriteError(c, http.StatusBadRequest, "invalid_request", reqErr.msg)
	case errors.Is(err, errWrongPassword):
		c.Header("WWW-Authenticate", `Basic realm="`+middleware.Realm+`", charset="UTF-8"`)
		c.Header("Cache-Control", "no-store")
		middleware.WriteError(c, http.StatusUnauthorized, "invalid_credentials", errWrongPassword.Error())
	case errors.Is(err, store.ErrUserExists):
		middleware.WriteError(c, http.StatusConflict, "user_exists", "a user of that name exists")
	case errors.Is(err, store.ErrReadOnly):
		middleware.WriteError(c, http.StatusConflict, "read_only_store",
			"the user store is read-only (store.kind: memory): change users in the configuration")
	case errors.Is(err, store.ErrUnsupported):
		middleware.WriteError(c, http.StatusConflict, "unsupported_by_store",
			"the user store cannot hold this change (an htpasswd file holds no roles or disabled users; a users file keeps at least one user)")
	case errors.Is(err, store.ErrNotFound):
		middleware.WriteError(c, http.StatusNotFound, "not_found", "no such user")
	case errors.Is(err, store.ErrInvalid):
		middleware.WriteError(c, http.StatusBadRequest, "invalid_request", "invalid user data")
	case errors.Is(err, errBadRefresh):
		middleware.Unauthorized(c, "invalid_token", "refresh token is invalid, expired or already used")
	case errors.Is(err, state.ErrUnavailable), errors.Is(err, token.ErrStateUnavailable), errors.Is(err, store.ErrNotLoaded),
		errors.Is(err, store.ErrUnavailable):
		log.Warn("dependency unavailable", slog.String("error", err.Error()))
		c.Header("Retry-After", "1")
		middleware.WriteError(c, http.StatusServiceUnavailable, "unavailable", "a dependency is unavailable, try again")
	default:
		log.Error("request failed", slog.String("error", err.Error()), slog.String("path", c.Request.URL.Path))
		middleware.WriteError(c, http.StatusInternalServerError, "internal_error", "internal server error")
	}
}

func ceilSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}
