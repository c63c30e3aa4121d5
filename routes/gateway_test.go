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

	"github.com/tokengate/tokengate/gateway"
	"github.com/tokengate/tokengate/metrics"
	"github.com/tokengate/tokengate/middleware"
	"github.com/tokengate/tokengate/routes"
	"github.com/tokengate/tokengate/state"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/token"
)

// gatewayRules are the shipped config's rules, a deny rule and a method rule.
var gatewayRules = []gateway.Rule{
	{Paths: []string{"/pub/"}, Access: gateway.Public},
	{Paths: []string{"/blocked/"}, Access: gateway.Deny},
	{Paths: []string{"/api/"}, Methods: []string{"DELETE"}, Access: gateway.Authenticated, Roles: []string{"admin"}},
	{Paths: []string{"/api/"}, Access: gateway.Authenticated},
	{Paths: []string{"/admin/"}, Access: gateway.Authenticated, Roles: []string{"admin"}},
}

// gatewayServer is routes.New with gatewayRules, the memory state and metrics, and tokens for
// alice (role admin) and bob (no role).
type gatewayServer struct {
	h          http.Handler
	st         state.Store
	m          *metrics.Metrics
	alice, bob string
}

func newGatewayServer(t testing.TB, g routes.Gateway, v func(token.Options, *token.KeySet) middleware.Verifier) gatewayServer {
	t.Helper()
	users, keys := aliceAndKeys(t, "pw")
	st := state.NewMemory(nil)
	t.Cleanup(func() { _ = st.Close() })
	opts := token.Options{Issuer: "tokengate", Audience: "tokengate", TTL: time.Minute, Leeway: time.Second, CacheSize: 100, Revoked: st}
	var verifier middleware.Verifier = token.NewVerifier(keys, opts)
	if v != nil {
		verifier = v(opts, keys)
	}
	if g.Policy == nil {
		var err error
		if g.Policy, err = gateway.NewPolicy(gatewayRules, ""); err != nil {
			t.Fatal(err)
		}
	}
	m := metrics.New()
	h, err := routes.New(routes.Deps{
		Users: users, Issuer: token.NewIssuer(keys, opts), Verifier: verifier, JWKS: keys.JWKS(), State: st,
		Lookup:  middleware.Lookup{Sources: []string{"header", "query", "cookie"}, QueryParam: "token", CookieName: "tg"},
		Login:   routes.LoginPolicy{MaxFailures: 5, Window: time.Minute, Lockout: time.Minute},
		Metrics: m.Handler(), Observe: m, Gateway: g,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := gatewayServer{h: h, st: st, m: m}
	issuer := token.NewIssuer(keys, opts)
	if s.alice, _, err = issuer.Issue("alice", []string{"admin", "dev"}); err != nil {
		t.Fatal(err)
	}
	if s.bob, _, err = issuer.Issue("bob", nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// forwarded is the header family Traefik and Caddy send; original is nginx's (as deploy/ sets it).
func forwarded(method, host, uri string) http.Header {
	return http.Header{"X-Forwarded-Method": {method}, "X-Forwarded-Host": {host}, "X-Forwarded-Uri": {uri}}
}

func original(method, host, uri string) http.Header {
	return http.Header{"X-Original-Method": {method}, "X-Original-Host": {host}, "X-Original-Uri": {uri}}
}

// with returns h plus the given name/value pairs.
func with(h http.Header, kv ...string) http.Header {
	h = h.Clone()
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func (s gatewayServer) ask(method, target string, h http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range h {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req)
	return w
}

// TestAuthAnswers is DESIGN.md's Gateway section, row by row, straight to /auth.
func TestAuthAnswers(t *testing.T) {
	s := newGatewayServer(t, routes.Gateway{}, nil)
	bearer := func(tok string) string { return "Bearer " + tok }
	forged := s.alice[:len(s.alice)-2] + "AA"
	tests := []struct {
		name        string
		method      string // of the /auth request itself; "" = GET
		target      string // "" = /auth
		header      http.Header
		status      int
		code        string // error code of the body, "" for 200
		user, roles string // identity headers of a 200
		challenge   string // WWW-Authenticate prefix, "" for none
	}{
		{name: "allowed, header token, Traefik/Caddy headers", header: with(forwarded("GET", "app.example.com", "/api/x"), "Authorization", bearer(s.alice)),
			status: 200, user: "alice", roles: "admin,dev"},
		{name: "allowed, header token, nginx headers", header: with(original("GET", "app.example.com", "/api/x"), "Authorization", bearer(s.alice)),
			status: 200, user: "alice", roles: "admin,dev"},
		{name: "allowed, query token of the original URI", header: original("GET", "app", "/api/x?a=1&token="+s.alice),
			status: 200, user: "alice", roles: "admin,dev"},
		{name: "allowed, cookie token", header: with(original("GET", "app", "/api/x"), "Cookie", "tg="+s.alice),
			status: 200, user: "alice", roles: "admin,dev"},
		{name: "allowed without roles: no roles header", header: with(original("GET", "app", "/api/x"), "Authorization", bearer(s.bob)),
			status: 200, user: "bob"},
		{name: "POST /auth (nginx keeps the client's method)", method: "POST", header: with(original("POST", "app", "/api/x"), "Authorization", bearer(s.alice)),
			status: 200, user: "alice", roles: "admin,dev"},
		{name: "PROPFIND /auth (a method Gin does not route)", method: "PROPFIND", header: with(original("PROPFIND", "app", "/api/x"), "Authorization", bearer(s.alice)),
			status: 200, user: "alice", roles: "admin,dev"},
		{name: "role by method: DELETE needs admin", header: with(original("DELETE", "app", "/api/x"), "Authorization", bearer(s.bob)),
			status: 403, code: "insufficient_scope", challenge: `Bearer realm="tokengate", error="insufficient_scope"`},
		{name: "role by method: admin may DELETE", header: with(original("delete", "app", "/api/x"), "Authorization", bearer(s.alice)),
			status: 200, user: "alice", roles: "admin,dev"},

		{name: "public without token", header: forwarded("GET", "app", "/pub/x"), status: 200},
		{name: "public with a valid token carries the identity", header: with(forwarded("GET", "app", "/pub/x"), "Authorization", bearer(s.alice)),
			status: 200, user: "alice", roles: "admin,dev"},
		{name: "public with a bad token is let through without identity", header: forwarded("GET", "app", "/pub/x?token="+forged), status: 200},
		{name: "public with two tokens is let through without identity", header: with(forwarded("GET", "app", "/pub/x?token="+s.alice), "Authorization", bearer(s.alice)), status: 200},

		{name: "no token", header: forwarded("GET", "app", "/api/x"), status: 401, code: "missing_token", challenge: `Bearer realm="tokengate"`},
		{name: "no rule: default_access authenticated", header: forwarded("GET", "app", "/other"), status: 401, code: "missing_token", challenge: `Bearer realm="tokengate"`},
		{name: "bad token", header: with(forwarded("GET", "app", "/api/x"), "Authorization", bearer(forged)), status: 401, code: "invalid_token",
			challenge: `Bearer realm="tokengate", error="invalid_token"`},
		{name: "bad query token", header: forwarded("GET", "app", "/api/x?token=garbage"), status: 401, code: "invalid_token",
			challenge: `Bearer realm="tokengate", error="invalid_token"`},
		{name: "the /auth request's own query carries no token", target: "/auth?token=" + s.alice, header: forwarded("GET", "app", "/api/x"),
			status: 401, code: "missing_token", challenge: `Bearer realm="tokengate"`},
		{name: "token in two places", header: with(forwarded("GET", "app", "/api/x?token="+s.alice), "Authorization", bearer(s.alice)),
			status: 400, code: "invalid_request"},
		{name: "missing role", header: with(original("GET", "app", "/admin/users"), "Authorization", bearer(s.bob)),
			status: 403, code: "insufficient_scope", challenge: `Bearer realm="tokengate", error="insufficient_scope"`},
		{name: "role present", header: with(original("GET", "app", "/admin/users"), "Authorization", bearer(s.alice)),
			status: 200, user: "alice", roles: "admin,dev"},
		{name: "deny without token", header: original("GET", "app", "/blocked/x"), status: 403, code: "access_denied"},
		{name: "deny with a valid admin token", header: with(original("GET", "app", "/blocked/x"), "Authorization", bearer(s.alice)), status: 403, code: "access_denied"},

		{name: "neither family", header: http.Header{"Authorization": {bearer(s.alice)}}, status: 400, code: "invalid_request"},
		{name: "both families", header: with(original("GET", "app", "/api/secret"), "X-Forwarded-Uri", "/pub/x"), status: 400, code: "invalid_request"},
		{name: "both families, one header each", header: http.Header{"X-Original-Method": {"GET"}, "X-Forwarded-Host": {"app"}, "X-Forwarded-Uri": {"/pub/"}}, status: 400, code: "invalid_request"},
		{name: "a family header missing", header: http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/pub/x"}}, status: 400, code: "invalid_request"},
		{name: "a family header twice", header: with(forwarded("GET", "app", "/api/x"), "X-Forwarded-Uri", "/pub/x"), status: 400, code: "invalid_request"},
		{name: "dot-dot out of a public prefix", header: forwarded("GET", "app", "/pub/../admin/x"), status: 400, code: "invalid_request"},
		{name: "dot-dot into a public prefix", header: forwarded("GET", "app", "/blocked/../pub/x"), status: 400, code: "invalid_request"},
		{name: "encoded dot-dot", header: original("GET", "app", "/pub/%2E%2e/admin/x"), status: 400, code: "invalid_request"},
		{name: "encoded slash", header: original("GET", "app", "/pub%2F..%2Fadmin"), status: 400, code: "invalid_request"},
		{name: "bad host", header: original("GET", "a b", "/pub/x"), status: 400, code: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, target := tt.method, tt.target
			if method == "" {
				method = http.MethodGet
			}
			if target == "" {
				target = "/auth"
			}
			w := s.ask(method, target, tt.header)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get("X-Auth-User"); got != tt.user {
				t.Errorf("X-Auth-User = %q, want %q", got, tt.user)
			}
			if got := w.Header().Get("X-Auth-Roles"); got != tt.roles {
				t.Errorf("X-Auth-Roles = %q, want %q", got, tt.roles)
			}
			if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, tt.challenge) || (tt.challenge == "") != (got == "") {
				t.Errorf("WWW-Authenticate = %q, want %q…", got, tt.challenge)
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if w.Code >= 300 && w.Code < 400 {
				t.Errorf("a redirect: nginx treats it as an error")
			}
			if tt.code == "" {
				return
			}
			var body middleware.ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error != tt.code {
				t.Errorf("body %s, want error %q", w.Body, tt.code)
			}
			if strings.Contains(w.Body.String(), s.alice) || strings.Contains(w.Body.String(), s.bob) {
				t.Errorf("body %s holds a token", w.Body)
			}
		})
	}
}

// TestAuthRevokedAtOnce: a logged-out token is refused on the very next /auth request, also when it
// was verified (and cached) just before.
func TestAuthRevokedAtOnce(t *testing.T) {
	s := newGatewayServer(t, routes.Gateway{}, nil)
	ask := func() int {
		return s.ask("GET", "/auth", with(original("GET", "app", "/api/x"), "Authorization", "Bearer "+s.alice)).Code
	}
	if got := ask(); got != 200 {
		t.Fatalf("before logout: status %d, want 200", got)
	}
	w := s.ask("POST", "/logout", http.Header{"Authorization": {"Bearer " + s.alice}})
	if w.Code != http.StatusNoContent {
		t.Fatalf("logout: %d %s", w.Code, w.Body)
	}
	if got := ask(); got != 401 {
		t.Errorf("after logout: status %d, want 401", got)
	}
}

// unavailableVerifier is a verifier whose revocation store does not answer: the real outage (Redis
// down) is tested end to end in tests/.
type unavailableVerifier struct{}

func (unavailableVerifier) Verify(context.Context, string) (token.Claims, error) {
	return token.Claims{}, token.ErrStateUnavailable
}

func TestAuthStateDownFailsClosed(t *testing.T) {
	s := newGatewayServer(t, routes.Gateway{}, func(token.Options, *token.KeySet) middleware.Verifier { return unavailableVerifier{} })
	w := s.ask("GET", "/auth", with(original("GET", "app", "/api/x"), "Authorization", "Bearer "+s.alice))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("X-Auth-User") != "" {
		t.Errorf("guarded path, state down: %d (X-Auth-User %q), want 503 without identity", w.Code, w.Header().Get("X-Auth-User"))
	}
	w = s.ask("GET", "/auth", with(original("GET", "app", "/pub/x"), "Authorization", "Bearer "+s.alice))
	if w.Code != http.StatusOK || w.Header().Get("X-Auth-User") != "" {
		t.Errorf("public path, state down: %d (X-Auth-User %q), want 200 without identity", w.Code, w.Header().Get("X-Auth-User"))
	}
}

func TestAuthHeaderNamesAndDefaultPolicy(t *testing.T) {
	open, err := gateway.NewPolicy(nil, gateway.Public)
	if err != nil {
		t.Fatal(err)
	}
	s := newGatewayServer(t, routes.Gateway{Policy: open, UserHeader: "Remote-User", RolesHeader: "Remote-Groups"}, nil)
	w := s.ask("GET", "/auth", with(forwarded("GET", "app", "/anything"), "Authorization", "Bearer "+s.alice))
	if w.Code != 200 || w.Header().Get("Remote-User") != "alice" || w.Header().Get("Remote-Groups") != "admin,dev" || w.Header().Get("X-Auth-User") != "" {
		t.Errorf("custom names: %d %v, want 200 with Remote-User alice, Remote-Groups admin,dev", w.Code, w.Header())
	}
	if w := s.ask("GET", "/auth", forwarded("GET", "app", "/anything")); w.Code != 200 {
		t.Errorf("default_access public, no token: %d, want 200", w.Code)
	}
}

// TestAuthCountsDecisions: every answer is counted under its outcome.
func TestAuthCountsDecisions(t *testing.T) {
	s := newGatewayServer(t, routes.Gateway{}, nil)
	for _, h := range []http.Header{
		with(original("GET", "app", "/api/x"), "Authorization", "Bearer "+s.alice), // allowed
		original("GET", "app", "/pub/x"),                                           // public
		original("GET", "app", "/api/x"),                                           // missing_token
		original("GET", "app", "/api/x?token=x"),                                   // invalid_token
		with(original("GET", "app", "/admin/"), "Authorization", "Bearer "+s.bob),  // insufficient_scope
		original("GET", "app", "/blocked/"),                                        // access_denied
		original("GET", "app", "/pub/../admin/"),                                   // invalid_request
	} {
		s.ask("GET", "/auth", h)
	}
	w := s.ask("GET", "/metrics", nil)
	for _, o := range []string{"allowed", "public", "missing_token", "invalid_token", "insufficient_scope", "access_denied", "invalid_request"} {
		if line := `tokengate_gateway_decisions_total{outcome="` + o + `"} 1`; !strings.Contains(w.Body.String(), line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}

// aliceAndKeys is a memory store with one user, alice (no roles), whose password is password, and
// the HS256 key set of benchSecret.
func aliceAndKeys(t testing.TB, password string) (*store.Memory, *token.KeySet) {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users, err := store.NewMemory(map[string]store.Entry{"alice": {PasswordHash: string(hash)}}, store.NewHasher(0, time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.NewHMACKeys("HS256", []byte(benchSecret))
	if err != nil {
		t.Fatal(err)
	}
	return users, keys
}
