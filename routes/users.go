package routes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/middleware"
	"github.com/tokengate/tokengate/state"
	"github.com/tokengate/tokengate/store"
)

// defaultPage is the page size of GET /users without a limit.
const defaultPage = 100

// errWrongPassword is a wrong current password at PUT /me/password.
var errWrongPassword = errors.New("the current password is wrong")

// userAdmin is what the user-management routes need: store.Admin and the store's Hasher.
type userAdmin struct {
	store  store.Admin
	hasher *store.Hasher
	cost   int
	st     state.Store   // where endSessions records cut-offs
	span   time.Duration // how long a cut-off must last: past every token issued before it
	now    func() time.Time
	log    *slog.Logger
}

func newUserAdmin(d Deps) *userAdmin {
	a := &userAdmin{store: d.Admin, hasher: d.Hasher, cost: d.HashCost, st: d.State, now: d.Now, log: d.Log}
	if a.now == nil {
		a.now = time.Now
	}
	if a.store == nil {
		a.store = readOnly{}
	}
	if a.hasher == nil {
		a.hasher = store.NewHasher(0, time.Second)
	}
	if a.cost == 0 {
		a.cost = store.DefaultCost
	}
	// Past every token issued before a cut-off: refresh tokens outlive access tokens (config
	// checks token.refresh_ttl > token.ttl), and a token verifies for the leeway after its exp.
	a.span = max(d.RefreshTTL, 0) + max(d.Leeway, 0) + time.Second
	return a
}

// readOnly is the user administration of a service given none: every call is refused.
type readOnly struct{}

func (readOnly) Lookup(context.Context, string) (store.User, error) {
	return store.User{}, store.ErrReadOnly
}
func (readOnly) ListUsers(context.Context, string, int) ([]store.User, error) {
	return nil, store.ErrReadOnly
}
func (readOnly) AddUser(context.Context, string, store.Entry) error { return store.ErrReadOnly }
func (readOnly) SetPassword(context.Context, string, string) error  { return store.ErrReadOnly }
func (readOnly) SetRoles(context.Context, string, []string) error   { return store.ErrReadOnly }
func (readOnly) SetDisabled(context.Context, string, bool) error    { return store.ErrReadOnly }
func (readOnly) DeleteUser(context.Context, string) error           { return store.ErrReadOnly }

// userJSON is a user in answers: never a hash.
type userJSON struct {
	Username string   `json:"username"`
	Roles    []string `json:"roles"`
	Disabled bool     `json:"disabled"`
}

func toJSON(u store.User) userJSON {
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	return userJSON{Username: u.Name, Roles: roles, Disabled: u.Disabled}
}

// userName is the {name} of /users/{name}: the rest of the path, percent-decoded, so that any
// valid name (a "/" included) can be addressed.
func userName(c *gin.Context) (string, error) {
	name := strings.TrimPrefix(c.Param("name"), "/")
	if name == "" {
		return "", errNoSuchUser
	}
	return name, nil
}

// errNoSuchUser is a /users/{name} path without a name.
var errNoSuchUser = store.ErrNotFound

// decodeJSON decodes a JSON object body into v strictly: unknown fields, trailing data and
// anything but a JSON object are a *requestError.
func decodeJSON(c *gin.Context, v any) error {
	if mt := c.ContentType(); mt != "application/json" {
		return badRequest("unsupported Content-Type: use application/json")
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return badRequest("body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return badRequest("field " + typeErr.Field + " has the wrong type")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return badRequest(strings.TrimPrefix(err.Error(), "json: ")) // names the field only
		}
		return badRequest("malformed JSON body")
	}
	if dec.More() {
		return badRequest("trailing data after the JSON object")
	}
	return nil
}

// invalidInput turns a validation error of package store into a 400 with its text.
func invalidInput(err error) error {
	if errors.Is(err, store.ErrInvalid) {
		return badRequest(err.Error())
	}
	return err
}

// hash validates and hashes a new password of user name.
func (a *userAdmin) hash(ctx context.Context, name, password string) (string, error) {
	if err := store.ValidatePassword(name, password); err != nil {
		return "", invalidInput(err)
	}
	return a.hasher.Hash(ctx, []byte(password), a.cost)
}

// endSessions ends every session of user on every replica: their access tokens issued up to now
// are refused and their refresh tokens saved up to now are spent in vain. A failure is logged as
// an error, because the change it follows has been made: the request answers 503, and repeating it
// ends the sessions.
func (a *userAdmin) endSessions(ctx context.Context, user string) error {
	now := a.now()
	if err := a.st.CutOff(ctx, user, now, now.Add(a.span)); err != nil {
		a.log.Error("user changed, but their sessions could not be ended: repeat the change",
			slog.String("user", user), slog.String("error", err.Error()))
		return err
	}
	return nil
}

// audit logs one change: who made it, what, to whom. Never a password or a hash.
func (a *userAdmin) audit(c *gin.Context, action, user string, attrs ...slog.Attr) {
	actor := ""
	if cl, ok := middleware.ClaimsFrom(c); ok {
		actor = cl.Subject
	}
	attrs = append([]slog.Attr{
		slog.String("actor", actor), slog.String("action", action), slog.String("user", user),
		slog.String("request_id", middleware.RequestIDFrom(c)),
	}, attrs...)
	a.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "user changed", attrs...)
}

// handleListUsers answers GET /users?after=NAME&limit=N: a page of users in byte order of their
// names, and "next", the after of the next page, when the page is full.
func handleListUsers(a *userAdmin) gin.HandlerFunc {
	return func(c *gin.Context) {
		q := c.Request.URL.Query()
		limit := defaultPage
		if s := q.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > store.MaxPage {
				_ = c.Error(badRequest("limit must be a number from 1 to " + strconv.Itoa(store.MaxPage)))
				return
			}
			limit = n
		}
		users, err := a.store.ListUsers(c.Request.Context(), q.Get("after"), limit)
		if err != nil {
			_ = c.Error(err)
			return
		}
		resp := struct {
			Users []userJSON `json:"users"`
			Next  string     `json:"next,omitempty"`
		}{Users: make([]userJSON, len(users))}
		for i, u := range users {
			resp.Users[i] = toJSON(u)
		}
		if len(users) == limit {
			resp.Next = users[len(users)-1].Name
		}
		c.JSON(http.StatusOK, resp)
	}
}

// handleGetUser answers GET /users/{name}.
func handleGetUser(a *userAdmin) gin.HandlerFunc {
	return func(c *gin.Context) {
		name, err := userName(c)
		if err == nil {
			var u store.User
			if u, err = a.store.Lookup(c.Request.Context(), name); err == nil {
				c.JSON(http.StatusOK, toJSON(u))
				return
			}
		}
		_ = c.Error(err)
	}
}

// handleAddUser answers POST /users {username, password, roles}: 201 with the user.
func handleAddUser(a *userAdmin) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req struct {
			Username *string  `json:"username"`
			Password *string  `json:"password"`
			Roles    []string `json:"roles"`
			Disabled bool     `json:"disabled"`
		}
		if err := decodeJSON(c, &req); err != nil {
			_ = c.Error(err)
			return
		}
		if req.Username == nil || req.Password == nil {
			_ = c.Error(badRequest("username and password are required"))
			return
		}
		name := *req.Username
		if err := store.ValidateName(name); err != nil {
			_ = c.Error(invalidInput(err))
			return
		}
		if err := store.ValidateRoles(req.Roles); err != nil {
			_ = c.Error(invalidInput(err))
			return
		}
		ctx := c.Request.Context()
		h, err := a.hash(ctx, name, *req.Password)
		if err != nil {
			_ = c.Error(err)
			return
		}
		if err := a.store.AddUser(ctx, name, store.Entry{PasswordHash: h, Roles: req.Roles, Disabled: req.Disabled}); err != nil {
			_ = c.Error(err)
			return
		}
		u, err := a.store.Lookup(ctx, name)
		if err != nil {
			_ = c.Error(err)
			return
		}
		a.audit(c, "add", name, slog.Any("roles", u.Roles), slog.Bool("disabled", u.Disabled))
		c.Header("Location", "/users/"+url.PathEscape(name))
		c.JSON(http.StatusCreated, toJSON(u))
	}
}

// handlePatchUser answers PATCH /users/{name} {roles?, disabled?, password?}: 200 with the user.
// A new password or disabling ends the user's sessions.
func handlePatchUser(a *userAdmin) gin.HandlerFunc {
	return func(c *gin.Context) {
		name, err := userName(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		var req struct {
			Roles    *[]string `json:"roles"`
			Disabled *bool     `json:"disabled"`
			Password *string   `json:"password"`
		}
		if err := decodeJSON(c, &req); err != nil {
			_ = c.Error(err)
			return
		}
		if req.Roles == nil && req.Disabled == nil && req.Password == nil {
			_ = c.Error(badRequest("nothing to change: give roles, disabled or password"))
			return
		}
		if req.Roles != nil {
			if err := store.ValidateRoles(*req.Roles); err != nil {
				_ = c.Error(invalidInput(err))
				return
			}
		}
		ctx := c.Request.Context()
		var hash string
		if req.Password != nil {
			if hash, err = a.hash(ctx, name, *req.Password); err != nil {
				_ = c.Error(err)
				return
			}
		}
		// The user must exist before anything changes: a 404 changes nothing.
		if _, err := a.store.Lookup(ctx, name); err != nil {
			_ = c.Error(err)
			return
		}
		var changed []string
		if req.Roles != nil {
			if err := a.store.SetRoles(ctx, name, *req.Roles); err != nil {
				_ = c.Error(err)
				return
			}
			changed = append(changed, "roles")
		}
		if req.Disabled != nil {
			if err := a.store.SetDisabled(ctx, name, *req.Disabled); err != nil {
				_ = c.Error(err)
				return
			}
			changed = append(changed, map[bool]string{true: "disable", false: "enable"}[*req.Disabled])
		}
		if req.Password != nil {
			if err := a.store.SetPassword(ctx, name, hash); err != nil {
				_ = c.Error(err)
				return
			}
			changed = append(changed, "password")
		}
		u, err := a.store.Lookup(ctx, name)
		if err != nil {
			_ = c.Error(err)
			return
		}
		// A token carries the roles it was issued with, so a roles change ends the sessions too:
		// otherwise a demoted admin keeps their role (and could restore it) until the token expires.
		ended := req.Password != nil || req.Roles != nil || (req.Disabled != nil && *req.Disabled)
		a.audit(c, strings.Join(changed, "+"), name, slog.Any("roles", u.Roles), slog.Bool("disabled", u.Disabled),
			slog.Bool("sessions_ended", ended))
		if ended {
			if err := a.endSessions(ctx, name); err != nil {
				_ = c.Error(err)
				return
			}
		}
		c.JSON(http.StatusOK, toJSON(u))
	}
}

// handleDeleteUser answers DELETE /users/{name}: 204, and the user's sessions end.
func handleDeleteUser(a *userAdmin) gin.HandlerFunc {
	return func(c *gin.Context) {
		name, err := userName(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		ctx := c.Request.Context()
		if err := a.store.DeleteUser(ctx, name); err != nil {
			_ = c.Error(err)
			return
		}
		a.audit(c, "delete", name, slog.Bool("sessions_ended", true))
		if err := a.endSessions(ctx, name); err != nil {
			_ = c.Error(err)
			return
		}
		c.Status(http.StatusNoContent)
		c.Writer.WriteHeaderNow()
	}
}

// handleChangeOwnPassword answers PUT /me/password {current_password, new_password}: 204, and
// every session of the user ends (this one too: log in again). A wrong current password is a
// failed login for the lock-out: 401, or 429 once locked out.
func handleChangeOwnPassword(a *userAdmin, users Authenticator, guard *loginGuard) gin.HandlerFunc {
	return func(c *gin.Context) {
		cl, _ := middleware.ClaimsFrom(c)
		name := cl.Subject
		var req struct {
			Current *string `json:"current_password"`
			New     *string `json:"new_password"`
		}
		if err := decodeJSON(c, &req); err != nil {
			_ = c.Error(err)
			return
		}
		if req.Current == nil || req.New == nil {
			_ = c.Error(badRequest("current_password and new_password are required"))
			return
		}
		if len(*req.Current) > store.MaxPasswordBytes {
			_ = c.Error(store.ErrPasswordTooLong)
			return
		}
		if err := store.ValidatePassword(name, *req.New); err != nil {
			_ = c.Error(invalidInput(err))
			return
		}
		ctx := c.Request.Context()
		ip := c.ClientIP()
		if err := guard.check(ctx, name, ip); err != nil {
			_ = c.Error(err)
			return
		}
		if _, err := users.Authenticate(ctx, name, *req.Current); err != nil {
			if errors.Is(err, store.ErrInvalidCredentials) {
				err = errWrongPassword
				if ferr := guard.fail(ctx, name, ip); ferr != nil {
					err = ferr
				}
			}
			_ = c.Error(err)
			return
		}
		if err := guard.success(ctx, name, ip); err != nil {
			_ = c.Error(err)
			return
		}
		h, err := a.hash(ctx, name, *req.New)
		if err != nil {
			_ = c.Error(err)
			return
		}
		if err := a.store.SetPassword(ctx, name, h); err != nil {
			_ = c.Error(err)
			return
		}
		a.audit(c, "password", name, slog.Bool("sessions_ended", true))
		if err := a.endSessions(ctx, name); err != nil {
			_ = c.Error(err)
			return
		}
		c.Header("Cache-Control", "no-store")
		c.Status(http.StatusNoContent)
		c.Writer.WriteHeaderNow()
	}
}
