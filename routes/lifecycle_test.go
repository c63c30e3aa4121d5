package routes_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tokengate/tokengate/internal/fakeclock"
	"github.com/tokengate/tokengate/metrics"
	"github.com/tokengate/tokengate/middleware"
	"github.com/tokengate/tokengate/routes"
	"github.com/tokengate/tokengate/state"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/token"
)

// TestLogoutOutlastsLeeway: a token verifies until exp + token.leeway, so its revocation must last
// that long too; a logged-out token must not come back in the leeway after its exp.
func TestLogoutOutlastsLeeway(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.NewHMACKeys("HS256", []byte(benchSecret))
	if err != nil {
		t.Fatal(err)
	}
	const leeway = 30 * time.Second
	for _, cache := range []int{0, 10} {
		clk := fakeclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) // Issuer, Verifier and state
		st := state.NewMemory(clk.Now)
		users, err := store.NewMemory(map[string]store.Entry{"alice": {PasswordHash: string(hash)}},
			store.NewHasher(0, time.Second), nil)
		if err != nil {
			t.Fatal(err)
		}
		opts := token.Options{Issuer: "tokengate", Audience: "tokengate", TTL: time.Minute, Leeway: leeway,
			Now: clk.Now, CacheSize: cache, Revoked: st}
		h, err := routes.New(routes.Deps{
			Users:    users,
			Issuer:   token.NewIssuer(keys, opts),
			Verifier: token.NewVerifier(keys, opts),
			JWKS:     keys.JWKS(),
			State:    st,
			Lookup:   middleware.Lookup{Sources: []string{"header"}},
			Login:    routes.LoginPolicy{MaxFailures: 5, Window: time.Minute, Lockout: time.Minute},
			Leeway:   leeway,
		})
		if err != nil {
			t.Fatal(err)
		}
		serve := func(method, path, auth string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(method, path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			return w
		}
		login := httptest.NewRequest(http.MethodGet, "/login", nil)
		login.SetBasicAuth("alice", "pw")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, login)
		var body struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int    `json:"expires_in"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != http.StatusOK {
			t.Fatalf("login: %d %s", w.Code, w.Body)
		}
		bearer := "Bearer " + body.AccessToken
		exp := clk.Now().Add(time.Minute)

		if w := serve(http.MethodGet, "/protected", bearer); w.Code != http.StatusOK {
			t.Fatalf("cache %d: before logout: %d %s", cache, w.Code, w.Body)
		}
		if w := serve(http.MethodPost, "/logout", bearer); w.Code != http.StatusNoContent {
			t.Fatalf("cache %d: logout: %d %s", cache, w.Code, w.Body)
		}
		for _, at := range []time.Duration{-time.Second, time.Second, leeway} {
			clk.Set(exp.Add(at))
			if w := serve(http.MethodGet, "/protected", bearer); w.Code != http.StatusUnauthorized {
				t.Fatalf("cache %d: logged-out token at exp%+v: %d %s", cache, at, w.Code, w.Body)
			}
		}
	}
}

// panickingUsers is a credential store with a bug: every call panics.
type panickingUsers struct{}

func (panickingUsers) Authenticate(context.Context, string, string) (store.User, error) {
	panic("store bug")
}

func (panickingUsers) Lookup(context.Context, string) (store.User, error) { panic("store bug") }

// TestPanicIsCounted: a request whose handler panics is answered 500 by Recovery and still counted
// in the metrics, with that status.
func TestPanicIsCounted(t *testing.T) {
	keys, err := token.NewHMACKeys("HS256", []byte(benchSecret))
	if err != nil {
		t.Fatal(err)
	}
	st := state.NewMemory(nil)
	t.Cleanup(func() { _ = st.Close() })
	opts := token.Options{Issuer: "tokengate", Audience: "tokengate", Revoked: st}
	m := metrics.New()
	h, err := routes.New(routes.Deps{
		Users: panickingUsers{}, Issuer: token.NewIssuer(keys, opts), Verifier: token.NewVerifier(keys, opts),
		JWKS: keys.JWKS(), State: st, Lookup: middleware.Lookup{Sources: []string{"header"}},
		Login:   routes.LoginPolicy{MaxFailures: 5, Window: time.Minute, Lockout: time.Minute},
		Metrics: m.Handler(), Observe: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/login", nil)
	req.SetBasicAuth("alice", "pw")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("login with a panicking store: %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	const series = `tokengate_http_requests_total{method="GET",route="/login",status="500"} 1`
	if !strings.Contains(w.Body.String(), series) {
		t.Fatalf("metrics lack %s", series)
	}
}
