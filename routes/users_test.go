package routes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/fakeclock"
	"github.com/tokengate/tokengate/middleware"
	"github.com/tokengate/tokengate/routes"
	"github.com/tokengate/tokengate/state"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/token"
)

// syncBuffer is a log sink safe for the handler's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// adminHarness is routes.New over a users store, with a fake clock shared by the Issuer, the
// Verifier, the state and the cut-offs.
type adminHarness struct {
	t   *testing.T
	h   http.Handler
	clk *fakeclock.Clock
	log *syncBuffer
}

func mustHashMin(t *testing.T, pw string) string {
	t.Helper()
	h, err := store.HashPassword([]byte(pw), store.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// newAdminHarness serves users from a YAML users file (writable), or from memory when readOnly.
func newAdminHarness(t *testing.T, readOnly bool) *adminHarness {
	t.Helper()
	entries := map[string]store.Entry{
		"root": {PasswordHash: mustHashMin(t, "root-password"), Roles: []string{"admin"}},
		"bob":  {PasswordHash: mustHashMin(t, "bob-password")},
	}
	hasher := store.NewHasher(2, time.Second)
	var users interface {
		routes.Users
		store.Admin
	}
	if readOnly {
		m, err := store.NewMemory(entries, hasher, nil)
		if err != nil {
			t.Fatal(err)
		}
		users = m
	} else {
		path := filepath.Join(t.TempDir(), "users.yaml")
		for _, name := range []string{"root", "bob"} {
			if err := store.AddUser(path, name, entries[name]); err != nil {
				t.Fatal(err)
			}
		}
		f, err := store.OpenFile(path, store.FileOptions{Hasher: hasher})
		if err != nil {
			t.Fatal(err)
		}
		users = f
	}
	keys, err := token.NewHMACKeys("HS256", []byte(benchSecret))
	if err != nil {
		t.Fatal(err)
	}
	clk := fakeclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	st := state.NewMemory(clk.Now)
	opts := token.Options{Issuer: "tokengate", Audience: "tokengate", TTL: 10 * time.Minute, Now: clk.Now, CacheSize: 100, Revoked: st}
	log := &syncBuffer{}
	h, err := routes.New(routes.Deps{
		Log:          slog.New(slog.NewTextHandler(log, nil)),
		Users:        users,
		Admin:        users,
		Hasher:       hasher,
		HashCost:     store.MinCost,
		Now:          clk.Now,
		Issuer:       token.NewIssuer(keys, opts),
		Verifier:     token.NewVerifier(keys, opts),
		JWKS:         keys.JWKS(),
		State:        st,
		Lookup:       middleware.Lookup{Sources: []string{"header"}},
		Login:        routes.LoginPolicy{MaxFailures: 3, Window: time.Minute, Lockout: time.Minute},
		RefreshTTL:   time.Hour,
		MaxBodyBytes: 1 << 16,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &adminHarness{t: t, h: h, clk: clk, log: log}
}

type tokens struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
}

// login logs in with Basic and returns the tokens, or fails the test unless want is the status.
func (a *adminHarness) login(user, pw string, want int) tokens {
	a.t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/login", nil)
	req.SetBasicAuth(user, pw)
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	if w.Code != want {
		a.t.Fatalf("login %s: status = %d, want %d: %s", user, w.Code, want, w.Body)
	}
	var tk tokens
	_ = json.Unmarshal(w.Body.Bytes(), &tk)
	return tk
}

// do sends a JSON request with a bearer token and wants status and, when code is set, that error.
func (a *adminHarness) do(method, path, bearer, body string, status int, code string) *httptest.ResponseRecorder {
	a.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	if w.Code != status {
		a.t.Fatalf("%s %s: status = %d, want %d: %s", method, path, w.Code, status, w.Body)
	}
	if code != "" {
		var e struct{ Error, Message string }
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error != code || e.Message == "" {
			a.t.Fatalf("%s %s: body = %s, want error %q with a message", method, path, w.Body, code)
		}
	}
	return w
}

func (a *adminHarness) refresh(refresh string, status int) {
	a.t.Helper()
	a.do(http.MethodPost, "/refresh", "", `{"refresh_token":"`+refresh+`"}`, status, "")
}

var hashLike = regexp.MustCompile(`\$2[aby]\$\d\d\$`)

func TestUserAdminRoutes(t *testing.T) {
	a := newAdminHarness(t, false)
	root := a.login("root", "root-password", http.StatusOK).Access
	bob := a.login("bob", "bob-password", http.StatusOK).Access

	// Role admin only.
	a.do(http.MethodGet, "/users", bob, "", http.StatusForbidden, "insufficient_scope")
	a.do(http.MethodGet, "/users", "", "", http.StatusUnauthorized, "missing_token")

	w := a.do(http.MethodGet, "/users", root, "", http.StatusOK, "")
	if got, want := strings.TrimSpace(w.Body.String()),
		`{"users":[{"username":"bob","roles":[],"disabled":false},{"username":"root","roles":["admin"],"disabled":false}]}`; got != want {
		t.Errorf("GET /users = %s\nwant %s", got, want)
	}

	// Add.
	w = a.do(http.MethodPost, "/users", root, `{"username":"carol","password":"carol-password","roles":["ops","admin"]}`, http.StatusCreated, "")
	if got, want := strings.TrimSpace(w.Body.String()), `{"username":"carol","roles":["admin","ops"],"disabled":false}`; got != want {
		t.Errorf("POST /users = %s, want %s", got, want)
	}
	if got := w.Header().Get("Location"); got != "/users/carol" {
		t.Errorf("Location = %q, want /users/carol", got)
	}
	carol := a.login("carol", "carol-password", http.StatusOK)
	a.do(http.MethodPost, "/users", root, `{"username":"carol","password":"another-password"}`, http.StatusConflict, "user_exists")
	a.do(http.MethodPost, "/users", root, `{"username":"Carol","password":"another-password"}`, http.StatusCreated, "") // case-sensitive

	for _, body := range []string{
		`{"username":"a b","password":"long-enough"}`,
		`{"username":"a:b","password":"long-enough"}`,
		`{"username":"` + strings.Repeat("n", 65) + `","password":"long-enough"}`,
		`{"username":"dave","password":"short"}`,
		`{"username":"davedave","password":"davedave"}`,
		`{"username":"dave","password":"` + strings.Repeat("p", 73) + `"}`,
		`{"username":"dave","password":"long-enough","roles":["a b"]}`,
		`{"username":"dave","password":"long-enough","roles":["viewer,admin"]}`,
		`{"username":"dave","password":"long-enough","role":["admin"]}`,
		`{"username":"dave"}`,
		`{"username":"dave","password":7}`,
		`["dave"]`,
		`{"username":"dave","password":"long-enough"} {}`,
		`not json`,
	} {
		a.do(http.MethodPost, "/users", root, body, http.StatusBadRequest, "invalid_request")
	}

	// Get.
	a.do(http.MethodGet, "/users/carol", root, "", http.StatusOK, "")
	a.do(http.MethodGet, "/users/nobody", root, "", http.StatusNotFound, "not_found")
	a.do(http.MethodGet, "/users/CAROL", root, "", http.StatusNotFound, "not_found")

	// Patch roles: the sessions end (a token carries its roles), a new login has the new roles.
	w = a.do(http.MethodPatch, "/users/carol", root, `{"roles":["ops"]}`, http.StatusOK, "")
	if got, want := strings.TrimSpace(w.Body.String()), `{"username":"carol","roles":["ops"],"disabled":false}`; got != want {
		t.Errorf("PATCH roles = %s, want %s", got, want)
	}
	a.do(http.MethodGet, "/protected", carol.Access, "", http.StatusUnauthorized, "invalid_token")
	a.refresh(carol.Refresh, http.StatusUnauthorized)
	a.clk.Add(time.Second) // a token of the cut-off's own second is refused
	carol = a.login("carol", "carol-password", http.StatusOK)
	a.do(http.MethodGet, "/protected", carol.Access, "", http.StatusOK, "")
	a.do(http.MethodGet, "/admin", carol.Access, "", http.StatusForbidden, "insufficient_scope")
	a.do(http.MethodPatch, "/users/carol", root, `{}`, http.StatusBadRequest, "invalid_request")
	a.do(http.MethodPatch, "/users/nobody", root, `{"roles":[]}`, http.StatusNotFound, "not_found")
	a.do(http.MethodPatch, "/users/carol", root, `{"password":"carol"}`, http.StatusBadRequest, "invalid_request")

	// Disable: every session of carol ends at once, and she cannot log in.
	a.do(http.MethodPatch, "/users/carol", root, `{"disabled":true}`, http.StatusOK, "")
	a.do(http.MethodGet, "/protected", carol.Access, "", http.StatusUnauthorized, "invalid_token")
	a.refresh(carol.Refresh, http.StatusUnauthorized)
	a.login("carol", "carol-password", http.StatusUnauthorized)
	a.do(http.MethodGet, "/protected", bob, "", http.StatusOK, "") // others untouched

	// Enable with a new password, a second later (a token of the cut-off's second is refused).
	a.clk.Add(time.Second)
	a.do(http.MethodPatch, "/users/carol", root, `{"disabled":false,"password":"new-carol-password"}`, http.StatusOK, "")
	a.login("carol", "carol-password", http.StatusUnauthorized)
	a.clk.Add(time.Second)
	carol = a.login("carol", "new-carol-password", http.StatusOK)
	a.do(http.MethodGet, "/protected", carol.Access, "", http.StatusOK, "")

	// Delete: sessions end, the name is gone.
	a.do(http.MethodDelete, "/users/carol", root, "", http.StatusNoContent, "")
	a.do(http.MethodGet, "/protected", carol.Access, "", http.StatusUnauthorized, "invalid_token")
	a.refresh(carol.Refresh, http.StatusUnauthorized)
	a.do(http.MethodGet, "/users/carol", root, "", http.StatusNotFound, "not_found")
	a.do(http.MethodDelete, "/users/carol", root, "", http.StatusNotFound, "not_found")

	// Pages.
	w = a.do(http.MethodGet, "/users?limit=2", root, "", http.StatusOK, "")
	var page struct {
		Users []struct{ Username string }
		Next  string
	}
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || len(page.Users) != 2 || page.Next != page.Users[1].Username {
		t.Fatalf("GET /users?limit=2 = %s, want 2 users and next", w.Body)
	}
	w = a.do(http.MethodGet, "/users?limit=2&after="+page.Next, root, "", http.StatusOK, "")
	page.Next = ""
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || len(page.Users) != 1 || page.Users[0].Username != "root" || page.Next != "" {
		t.Errorf("second page = %s, want root alone, no next", w.Body)
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x"} {
		a.do(http.MethodGet, "/users?"+q, root, "", http.StatusBadRequest, "invalid_request")
	}

	// Every change is an audit line naming who, what and whom; no log line shows a hash or password.
	logs := a.log.String()
	for _, want := range []string{
		`msg="user changed" actor=root action=add user=carol`,
		`action=roles user=carol`,
		`action=disable user=carol`,
		`action=enable+password user=carol`,
		`action=delete user=carol`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if hashLike.MatchString(logs) || strings.Contains(logs, "carol-password") {
		t.Errorf("log shows a hash or password:\n%s", logs)
	}
}

func TestMemoryStoreIsReadOnlyOverHTTP(t *testing.T) {
	a := newAdminHarness(t, true)
	root := a.login("root", "root-password", http.StatusOK).Access
	a.do(http.MethodGet, "/users", root, "", http.StatusOK, "")
	a.do(http.MethodGet, "/users/bob", root, "", http.StatusOK, "")
	a.do(http.MethodPost, "/users", root, `{"username":"carol","password":"carol-password"}`, http.StatusConflict, "read_only_store")
	a.do(http.MethodPatch, "/users/bob", root, `{"disabled":true}`, http.StatusConflict, "read_only_store")
	a.do(http.MethodDelete, "/users/bob", root, "", http.StatusConflict, "read_only_store")
	bob := a.login("bob", "bob-password", http.StatusOK).Access
	a.do(http.MethodPut, "/me/password", bob, `{"current_password":"bob-password","new_password":"new-bob-password"}`,
		http.StatusConflict, "read_only_store")
	a.do(http.MethodGet, "/protected", bob, "", http.StatusOK, "") // nothing ended
}

func TestChangeOwnPassword(t *testing.T) {
	a := newAdminHarness(t, false)
	bob := a.login("bob", "bob-password", http.StatusOK)
	other := a.login("bob", "bob-password", http.StatusOK) // a second session

	a.do(http.MethodPut, "/me/password", "", `{"current_password":"bob-password","new_password":"new-bob-password"}`,
		http.StatusUnauthorized, "missing_token")
	a.do(http.MethodPut, "/me/password", bob.Access, `{"current_password":"bob-password","new_password":"short"}`,
		http.StatusBadRequest, "invalid_request")
	a.do(http.MethodPut, "/me/password", bob.Access, `{"current_password":"bob-password","new_password":"bob"}`,
		http.StatusBadRequest, "invalid_request")
	a.do(http.MethodPut, "/me/password", bob.Access, `{"new_password":"new-bob-password"}`,
		http.StatusBadRequest, "invalid_request")

	// A wrong current password is a failed login: 401, and after login.max_failures, 429.
	for range 2 {
		a.do(http.MethodPut, "/me/password", bob.Access, `{"current_password":"guess","new_password":"new-bob-password"}`,
			http.StatusUnauthorized, "invalid_credentials")
	}
	a.do(http.MethodPut, "/me/password", bob.Access, `{"current_password":"guess","new_password":"new-bob-password"}`,
		http.StatusUnauthorized, "invalid_credentials")
	a.do(http.MethodPut, "/me/password", bob.Access, `{"current_password":"bob-password","new_password":"new-bob-password"}`,
		http.StatusTooManyRequests, "too_many_attempts")
	a.login("bob", "bob-password", http.StatusTooManyRequests) // the same lock-out as /login
	a.clk.Add(time.Minute)

	a.do(http.MethodPut, "/me/password", bob.Access, `{"current_password":"bob-password","new_password":"new-bob-password"}`,
		http.StatusNoContent, "")
	// Every session ends, this one too.
	for _, s := range []tokens{bob, other} {
		a.do(http.MethodGet, "/protected", s.Access, "", http.StatusUnauthorized, "invalid_token")
		a.refresh(s.Refresh, http.StatusUnauthorized)
	}
	a.clk.Add(time.Second)
	a.login("bob", "bob-password", http.StatusUnauthorized)
	fresh := a.login("bob", "new-bob-password", http.StatusOK)
	a.do(http.MethodGet, "/protected", fresh.Access, "", http.StatusOK, "")
	a.refresh(fresh.Refresh, http.StatusOK)
	if logs := a.log.String(); !strings.Contains(logs, "actor=bob action=password user=bob") || strings.Contains(logs, "new-bob-password") {
		t.Errorf("log = %s\nwant an audit line for bob's own change, without the password", logs)
	}
}

// racingUsers is a credential store whose password check overlaps a password change: the user's
// sessions are cut off after the password was checked and before the login answers, which then
// comes a second and a half later.
type racingUsers struct {
	routes.Users
	st  state.Store
	clk *fakeclock.Clock
}

func (r racingUsers) Authenticate(ctx context.Context, name, password string) (store.User, error) {
	u, err := r.Users.Authenticate(ctx, name, password)
	if err == nil {
		if cerr := r.st.CutOff(ctx, name, r.clk.Now(), r.clk.Now().Add(time.Hour)); cerr != nil {
			return store.User{}, cerr
		}
		r.clk.Add(1500 * time.Millisecond)
	}
	return u, err
}

// TestLoginRacingACutOff: a login that checked the old password while the password was being
// changed gets tokens issued after the cut-off, and they must end with the user's other sessions:
// the session starts at the password check (auth_time, and the refresh family's AuthTime).
func TestLoginRacingACutOff(t *testing.T) {
	users, keys := aliceAndKeys(t, "old-password")
	for _, cache := range []int{0, 10} {
		clk := fakeclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
		st := state.NewMemory(clk.Now)
		opts := token.Options{Issuer: "tokengate", Audience: "tokengate", TTL: 10 * time.Minute, Now: clk.Now, CacheSize: cache, Revoked: st}
		h, err := routes.New(routes.Deps{
			Users: racingUsers{Users: users, st: st, clk: clk}, Issuer: token.NewIssuer(keys, opts),
			Verifier: token.NewVerifier(keys, opts), JWKS: keys.JWKS(), State: st,
			Lookup:     middleware.Lookup{Sources: []string{"header"}},
			Login:      routes.LoginPolicy{MaxFailures: 5, Window: time.Minute, Lockout: time.Minute},
			RefreshTTL: time.Hour, Now: clk.Now, MaxBodyBytes: 65536,
		})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, "/login", nil)
		req.SetBasicAuth("alice", "old-password")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("login: %d %s", w.Code, w.Body)
		}
		var pair struct {
			Access  string `json:"access_token"`
			Refresh string `json:"refresh_token"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &pair); err != nil {
			t.Fatal(err)
		}
		req = httptest.NewRequest(http.MethodGet, "/protected", nil)
		req.Header.Set("Authorization", "Bearer "+pair.Access)
		w = httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("cache %d: the raced login's access token: %d %s, want 401", cache, w.Code, w.Body)
		}
		req = httptest.NewRequest(http.MethodPost, "/refresh", strings.NewReader(`{"refresh_token":"`+pair.Refresh+`"}`))
		req.Header.Set("Content-Type", "application/json")
		w = httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("cache %d: the raced login's refresh token: %d %s, want 401", cache, w.Code, w.Body)
		}
		_ = st.Close()
	}
}
