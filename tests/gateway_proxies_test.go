package tests

import (
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tokengate/tokengate/internal/caddytest"
)

// TestGatewayTraefikAndCaddyHeaders sends /auth exactly what Traefik's ForwardAuth and Caddy's
// forward_auth send: a GET with the X-Forwarded-* family (Host with its port, Uri with the query,
// and X-Forwarded-For and -Proto beside them) and the client's own headers.
func TestGatewayTraefikAndCaddyHeaders(t *testing.T) {
	t.Parallel()
	s := startServer(t, config(t, gatewayRulesYAML))
	alice := s.accessToken(t, "alice", "pyconid")
	bob := s.accessToken(t, "bob", "bob-password")
	proxy := func(method, uri string, client ...string) []string {
		return append([]string{
			"X-Forwarded-For", "203.0.113.7", "X-Forwarded-Proto", "https",
			"X-Forwarded-Method", method, "X-Forwarded-Host", "App.Example.com:8443", "X-Forwarded-Uri", uri,
			"User-Agent", "curl/8", "Accept", "*/*",
		}, client...)
	}
	tests := []struct {
		name        string
		header      []string
		status      int
		code        string
		user, roles string
	}{
		{"header token", proxy("POST", "/api/items?x=1", "Authorization", "Bearer "+alice), 200, "", "alice", "admin"},
		{"query token inside X-Forwarded-Uri", proxy("GET", "/api/items?token="+bob), 200, "", "bob", ""},
		{"public", proxy("GET", "/pub/x"), 200, "", "", ""},
		{"no token", proxy("GET", "/api/items"), 401, "missing_token", "", ""},
		{"missing role", proxy("GET", "/admin/", "Authorization", "Bearer "+bob), 403, "insufficient_scope", "", ""},
		{"deny", proxy("GET", "/blocked/", "Authorization", "Bearer "+alice), 403, "access_denied", "", ""},
		{"ambiguous path", proxy("GET", "/pub/%2e%2e/admin/", "Authorization", "Bearer "+bob), 400, "invalid_request", "", ""},
		// Traefik without authRequestHeaders, or Caddy without header_up -X-Original-*, passes a
		// client's own X-Original-* headers on: tokengate refuses to judge.
		{"a client's X-Original-URI beside them", proxy("GET", "/api/secret", "X-Original-URI", "/pub/x"), 400, "invalid_request", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.get(t, "/auth", tt.header...)
			if tt.code != "" {
				wantError(t, r, tt.status, tt.code)
			} else if r.Status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", r.Status, tt.status, r.Body)
			}
			if r.Header.Get("X-Auth-User") != tt.user || r.Header.Get("X-Auth-Roles") != tt.roles {
				t.Errorf("identity %q %q, want %q %q", r.Header.Get("X-Auth-User"), r.Header.Get("X-Auth-Roles"), tt.user, tt.roles)
			}
			if tt.status == 401 && r.Header.Get("WWW-Authenticate") != `Bearer realm="tokengate"` {
				t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// TestTraefikConfig checks deploy/traefik/gateway.yml against tokengate: it is NOT RUN here (no
// Traefik on these machines), so at least its ForwardAuth settings must be the ones the Traefik
// documentation and TestGatewayTraefikAndCaddyHeaders rely on.
func TestTraefikConfig(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../deploy/traefik/gateway.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "NOT RUN HERE") {
		t.Error("deploy/traefik/gateway.yml does not say that it is not run here")
	}
	var doc struct {
		HTTP struct {
			Middlewares map[string]struct {
				ForwardAuth struct {
					Address             string   `yaml:"address"`
					TrustForwardHeader  bool     `yaml:"trustForwardHeader"`
					AuthRequestHeaders  []string `yaml:"authRequestHeaders"`
					AuthResponseHeaders []string `yaml:"authResponseHeaders"`
				} `yaml:"forwardAuth"`
			} `yaml:"middlewares"`
			Routers map[string]struct {
				Middlewares []string `yaml:"middlewares"`
			} `yaml:"routers"`
		} `yaml:"http"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	fa := doc.HTTP.Middlewares["tokengate"].ForwardAuth
	if !strings.HasSuffix(fa.Address, "/auth") {
		t.Errorf("address = %q, want tokengate's /auth", fa.Address)
	}
	if fa.TrustForwardHeader {
		t.Error("trustForwardHeader is true: a client could set X-Forwarded-Uri itself")
	}
	if !slices.Equal(fa.AuthResponseHeaders, []string{"X-Auth-User", "X-Auth-Roles"}) {
		t.Errorf("authResponseHeaders = %q, want the default gateway.user_header and roles_header", fa.AuthResponseHeaders)
	}
	if !slices.Contains(fa.AuthRequestHeaders, "Authorization") || !slices.Contains(fa.AuthRequestHeaders, "Cookie") ||
		slices.ContainsFunc(fa.AuthRequestHeaders, func(h string) bool { return strings.HasPrefix(strings.ToLower(h), "x-original") }) {
		t.Errorf("authRequestHeaders = %q, want Authorization and Cookie and no X-Original-*", fa.AuthRequestHeaders)
	}
	if !slices.Contains(doc.HTTP.Routers["app"].Middlewares, "tokengate") {
		t.Error("the app router does not use the tokengate middleware")
	}
}

// shippedCaddyfile is deploy/caddy/Caddyfile with the test's addresses, the admin endpoint off
// and loopback binding.
func shippedCaddyfile(t testing.TB, tokengate, upstream string) func(listen string) string {
	t.Helper()
	b, err := os.ReadFile("../deploy/caddy/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	conf := replaceOnce(t, string(b), "forward_auth tokengate:8080 {", "forward_auth "+tokengate+" {")
	conf = replaceOnce(t, conf, "reverse_proxy upstream:8082", "reverse_proxy "+upstream)
	conf = replaceOnce(t, conf, "\tauto_https off\n", "\tauto_https off\n\tadmin off\n\tdefault_bind 127.0.0.1\n")
	return func(listen string) string {
		return replaceOnce(t, conf, ":8000 {", listen[strings.LastIndexByte(listen, ':'):]+" {")
	}
}

// TestGatewayThroughCaddy runs deploy/caddy/Caddyfile in a real Caddy, built from the Go module
// proxy: only with TOKENGATE_TEST_CADDY=1 (the first build takes minutes).
func TestGatewayThroughCaddy(t *testing.T) {
	t.Parallel()
	bin := caddytest.Build(t)
	tg := startServer(t, config(t, gatewayRulesYAML))
	up := startUpstream(t)
	caddy := caddytest.Start(t, bin, shippedCaddyfile(t, hostPort(tg.URL), up))
	g := gatewayStack{tg: tg, front: caddy.URL}
	alice := tg.accessToken(t, "alice", "pyconid")
	bob := tg.accessToken(t, "bob", "bob-password")

	t.Run("allowed", func(t *testing.T) {
		for _, tt := range []struct {
			method, target, body string
			header               []string
			who                  string
		}{
			{"GET", "/api/hello", "", []string{"Authorization", "Bearer " + alice}, "user=[alice] roles=[admin]"},
			{"GET", "/api/hello?token=" + bob, "", nil, "user=[bob] roles=[]"},
			{"POST", "/api/items", "12345", []string{"Authorization", "Bearer " + bob}, "user=[bob] roles=[]"},
			{"DELETE", "/api/items/1", "", []string{"Authorization", "Bearer " + alice}, "user=[alice] roles=[admin]"},
			{"GET", "/pub/page", "", []string{"X-Auth-User", "admin", "X-Auth-Roles", "admin"}, "user=[] roles=[]"},
			{"GET", "/api/hello", "", []string{"Authorization", "Bearer " + bob, "X-Auth-User", "admin", "X-Original-URI", "/pub/x"}, "user=[bob] roles=[]"},
			// bob has no roles, so tokengate's answer has no X-Auth-Roles: the client's own must go.
			{"GET", "/api/hello", "", []string{"Authorization", "Bearer " + bob, "X-Auth-Roles", "admin"}, "user=[bob] roles=[]"},
		} {
			e := upstreamSaw(t, g.through(t, tt.method, tt.target, tt.body, tt.header...))
			if e.Method != tt.method || e.URI != tt.target || e.BodyBytes != int64(len(tt.body)) || identity(e) != tt.who {
				t.Errorf("%s %s: upstream got %s %s (%d bytes) as %s, want %s", tt.method, tt.target, e.Method, e.URI, e.BodyBytes, identity(e), tt.who)
			}
		}
	})
	t.Run("refused with tokengate's answer", func(t *testing.T) {
		for _, tt := range []struct {
			target    string
			header    []string
			status    int
			code      string
			challenge string
		}{
			{"/api/hello", nil, 401, "missing_token", `Bearer realm="tokengate"`},
			{"/admin/x", []string{"Authorization", "Bearer " + bob}, 403, "insufficient_scope", `Bearer realm="tokengate", error="insufficient_scope"`},
			{"/blocked/x", []string{"Authorization", "Bearer " + alice}, 403, "access_denied", ""},
			{"/pub/../admin/x", nil, 400, "invalid_request", ""},
			{"/pub/%2e%2e/admin/x", nil, 400, "invalid_request", ""},
			{"/admin;x/users", []string{"Authorization", "Bearer " + bob}, 400, "invalid_request", ""},
		} {
			r := g.through(t, "GET", tt.target, "", tt.header...)
			refused(t, r, tt.status)
			wantError(t, r, tt.status, tt.code)
			if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, tt.challenge) || (got == "") != (tt.challenge == "") {
				t.Errorf("%s: WWW-Authenticate = %q, want %q…", tt.target, got, tt.challenge)
			}
		}
	})
	if r := tg.postJSON(t, "/logout", "", "Authorization", "Bearer "+bob); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d", r.Status)
	}
	refused(t, g.through(t, "GET", "/api/hello", "", "Authorization", "Bearer "+bob), 401)
}
