package tests

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/nginxtest"
	"github.com/tokengate/tokengate/internal/redistest"
)

// TestGatewayThroughNginx is DESIGN.md's Gateway section, row by row, through Debian's nginx running
// deploy/nginx/gateway.conf in front of examples/upstream and a real tokengate.
func TestGatewayThroughNginx(t *testing.T) {
	t.Parallel()
	g := startGatewayStack(t, config(t, gatewayRulesYAML))
	alice := g.tg.accessToken(t, "alice", "pyconid")  // role admin
	bob := g.tg.accessToken(t, "bob", "bob-password") // no role
	forged := alice[:len(alice)-2] + "AA"
	const none = "user=[] roles=[]"

	allowed := []struct {
		name, method, target, body string
		header                     []string
		who                        string
	}{
		{"header token", "GET", "/api/hello", "", []string{"Authorization", "Bearer " + alice}, "user=[alice] roles=[admin]"},
		{"query token", "GET", "/api/hello?x=1&token=" + alice, "", nil, "user=[alice] roles=[admin]"},
		{"a user without roles", "GET", "/api/hello", "", []string{"Authorization", "Bearer " + bob}, "user=[bob] roles=[]"},
		{"role admin on /admin/", "GET", "/admin/users", "", []string{"Authorization", "Bearer " + alice}, "user=[alice] roles=[admin]"},
		{"public without token", "GET", "/pub/page", "", nil, none},
		{"public with a valid token carries the identity", "GET", "/pub/page", "", []string{"Authorization", "Bearer " + bob}, "user=[bob] roles=[]"},
		{"public with a bad token, without identity", "GET", "/pub/page?token=" + forged, "", nil, none},
		{"POST keeps its method and body", "POST", "/api/items", `{"a":1}`, []string{"Authorization", "Bearer " + bob, "Content-Type", "application/json"}, "user=[bob] roles=[]"},
		{"PUT keeps its method and body", "PUT", "/api/items/1", "12345", []string{"Authorization", "Bearer " + bob}, "user=[bob] roles=[]"},
		{"DELETE keeps its method (admin only)", "DELETE", "/api/items/1", "", []string{"Authorization", "Bearer " + alice}, "user=[alice] roles=[admin]"},
		{"PATCH keeps its method", "PATCH", "/api/items/1", "x", []string{"Authorization", "Bearer " + bob}, "user=[bob] roles=[]"},
		{"a method Gin does not route", "PROPFIND", "/api/items/1", "", []string{"Authorization", "Bearer " + bob}, "user=[bob] roles=[]"},
		{"duplicate slashes are merged", "GET", "/api//v1//hello", "", []string{"Authorization", "Bearer " + bob}, "user=[bob] roles=[]"},
	}
	for _, tt := range allowed {
		t.Run("allowed/"+tt.name, func(t *testing.T) {
			r := g.through(t, tt.method, tt.target, tt.body, tt.header...)
			e := upstreamSaw(t, r)
			if e.Method != tt.method || e.URI != tt.target || e.BodyBytes != int64(len(tt.body)) {
				t.Errorf("upstream got %s %s with %d body bytes, want %s %s with %d", e.Method, e.URI, e.BodyBytes, tt.method, tt.target, len(tt.body))
			}
			if got := identity(e); got != tt.who {
				t.Errorf("upstream saw %s, want %s", got, tt.who)
			}
		})
	}

	refusals := []struct {
		name, method, target string
		header               []string
		status               int
		challenge            string // WWW-Authenticate prefix; "" = none
	}{
		{"no token", "GET", "/api/hello", nil, 401, `Bearer realm="tokengate"`},
		{"no rule: default authenticated", "GET", "/elsewhere", nil, 401, `Bearer realm="tokengate"`},
		{"bad token", "GET", "/api/hello", []string{"Authorization", "Bearer " + forged}, 401, `Bearer realm="tokengate", error="invalid_token"`},
		{"bad query token", "GET", "/api/hello?token=" + forged, nil, 401, `Bearer realm="tokengate", error="invalid_token"`},
		{"missing role", "GET", "/admin/users", []string{"Authorization", "Bearer " + bob}, 403, `Bearer realm="tokengate", error="insufficient_scope"`},
		{"missing role for DELETE", "DELETE", "/api/items/1", []string{"Authorization", "Bearer " + bob}, 403, `Bearer realm="tokengate", error="insufficient_scope"`},
		{"deny without token", "GET", "/blocked/x", nil, 403, ""},
		{"deny with an admin token", "GET", "/blocked/x", []string{"Authorization", "Bearer " + alice}, 403, ""},
		// The client cannot pick the judged path: nginx sends /auth only its own family.
		{"the client's X-Forwarded-Uri does not open a path", "GET", "/api/secret", []string{"X-Forwarded-Uri", "/pub/x", "X-Forwarded-Method", "GET", "X-Forwarded-Host", "x"}, 401, `Bearer realm="tokengate"`},
		// tokengate answers an ambiguous path 400, which nginx turns into 500: never the upstream.
		{"dot-dot out of a public prefix", "GET", "/pub/../admin/x", nil, 500, ""},
		{"dot-dot into a public prefix", "GET", "/blocked/../pub/x", nil, 500, ""},
		{"dot-dot out of a public prefix, with a token", "GET", "/pub/../admin/x", []string{"Authorization", "Bearer " + bob}, 500, ""},
		{"encoded dot-dot", "GET", "/pub/%2e%2E/admin/x", nil, 500, ""},
		{"encoded slash", "GET", "/pub%2F..%2Fadmin/x", nil, 500, ""},
		{"encoded backslash", "GET", "/pub/..%5Cadmin/x", nil, 500, ""},
		{"servlet dot-dot", "GET", "/pub/..;/admin/x", nil, 500, ""},
		{"servlet parameter on a guarded segment", "GET", "/admin;x/users", []string{"Authorization", "Bearer " + bob}, 500, ""},
		{"the guarded prefix without its slash", "GET", "/admin", []string{"Authorization", "Bearer " + bob}, 403, `Bearer realm="tokengate", error="insufficient_scope"`},
		{"token in two places", "GET", "/api/hello?token=" + bob, []string{"Authorization", "Bearer " + bob}, 500, ""},
	}
	for _, tt := range refusals {
		t.Run("refused/"+tt.name, func(t *testing.T) {
			r := g.through(t, tt.method, tt.target, "", tt.header...)
			refused(t, r, tt.status)
			if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, tt.challenge) || (got == "") != (tt.challenge == "") {
				t.Errorf("WWW-Authenticate = %q, want %q…", got, tt.challenge)
			}
			if len(r.Header.Values("WWW-Authenticate")) > 1 {
				t.Errorf("WWW-Authenticate sent %d times: %q", len(r.Header.Values("WWW-Authenticate")), r.Header.Values("WWW-Authenticate"))
			}
			if r.Status == 401 || r.Status == 403 {
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q, want application/json", ct)
				}
			}
		})
	}

	t.Run("a client's own identity headers never reach the upstream", func(t *testing.T) {
		forgedIdentity := []string{"X-Auth-User", "admin", "X-Auth-Roles", "admin"}
		e := upstreamSaw(t, g.through(t, "GET", "/pub/page", "", forgedIdentity...))
		if got := identity(e); got != none {
			t.Errorf("public path, no token: upstream saw %s, want %s", got, none)
		}
		e = upstreamSaw(t, g.through(t, "GET", "/api/hello", "", append(forgedIdentity, "Authorization", "Bearer "+bob)...))
		if got := identity(e); got != "user=[bob] roles=[]" {
			t.Errorf("bob's token: upstream saw %s, want user=[bob] roles=[]", got)
		}
		refused(t, g.through(t, "GET", "/admin/users", "", append(forgedIdentity, "Authorization", "Bearer "+bob)...), 403)
	})

	t.Run("a logged-out token is refused on the very next request", func(t *testing.T) {
		carl := g.tg.accessToken(t, "alice", "pyconid")
		upstreamSaw(t, g.through(t, "GET", "/api/hello", "", "Authorization", "Bearer "+carl))
		if r := g.tg.postJSON(t, "/logout", "", "Authorization", "Bearer "+carl); r.Status != http.StatusNoContent {
			t.Fatalf("logout: %d %s", r.Status, r.Body)
		}
		refused(t, g.through(t, "GET", "/api/hello", "", "Authorization", "Bearer "+carl), 401)
		refused(t, g.through(t, "GET", "/api/hello?token="+carl, ""), 401)
		e := upstreamSaw(t, g.through(t, "GET", "/pub/page", "", "Authorization", "Bearer "+carl))
		if got := identity(e); got != none {
			t.Errorf("public path with the logged-out token: upstream saw %s, want no identity", got)
		}
	})

	// tokengate's own log is checked for tokens (any JWT) by the server wrapper when the test ends.
	t.Run("no token in nginx's access log", func(t *testing.T) {
		logs := strings.Join(g.tg.Logs(), "\n")
		if !strings.Contains(logs, `"path":"/auth"`) {
			t.Fatalf("tokengate logged no /auth request:\n%s", logs)
		}
		access, err := os.ReadFile(g.accessLog)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{alice, bob, forged} {
			if strings.Contains(string(access), tok[strings.LastIndexByte(tok, '.')+1:]) {
				t.Errorf("nginx's access log holds a token:\n%s", access)
			}
		}
	})
}

// TestGatewayBothFamiliesThroughNginx: with an nginx config that forgets to clear the other family,
// a client's X-Forwarded-Uri reaches /auth beside nginx's X-Original-URI, and tokengate refuses to
// judge (400, which nginx turns into 500) instead of letting the client choose the path.
func TestGatewayBothFamiliesThroughNginx(t *testing.T) {
	t.Parallel()
	tg := startServer(t, config(t, gatewayRulesYAML))
	up := startUpstream(t)
	ngx := nginxtest.Start(t, func(listen string) string {
		return fmt.Sprintf(`
    server {
        listen %s;
        location / {
            auth_request /_auth;
            proxy_pass http://%s;
        }
        location = /_auth {
            internal;
            proxy_pass http://%s/auth;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Original-Host $host;
            proxy_set_header X-Original-URI $request_uri;
        }
    }`, listen, up, hostPort(tg.URL))
	})
	g := gatewayStack{tg: tg, front: ngx.URL}
	upstreamSaw(t, g.through(t, "GET", "/pub/x", ""))
	refused(t, g.through(t, "GET", "/api/secret", "", "X-Forwarded-Method", "GET", "X-Forwarded-Host", "app", "X-Forwarded-Uri", "/pub/x"), 500)
	// Without proxy_method GET the subrequest keeps the client's method: /auth answers it too.
	bob := tg.accessToken(t, "bob", "bob-password")
	e := upstreamSaw(t, g.through(t, "POST", "/api/items", "body", "Authorization", "Bearer "+bob))
	if e.Method != "POST" || identity(e) != "user=[] roles=[]" {
		// This config does not copy the identity: only that the request passed matters here.
		t.Errorf("upstream saw %s %s", e.Method, identity(e))
	}
}

// TestGatewayStateDown: with the Redis state backend down, a guarded request fails closed (/auth 503,
// which nginx turns into 500) and a public one passes without identity.
func TestGatewayStateDown(t *testing.T) {
	t.Parallel()
	redisURL, stopRedis := redistest.StartProcess(t)
	g := startGatewayStack(t, redisConfig(t, redisURL)+gatewayRulesYAML)
	bob := g.tg.accessToken(t, "bob", "bob-password")
	upstreamSaw(t, g.through(t, "GET", "/api/hello", "", "Authorization", "Bearer "+bob))

	stopRedis()
	refused(t, g.through(t, "GET", "/api/hello", "", "Authorization", "Bearer "+bob), 500)
	r := g.tg.get(t, "/auth", "X-Forwarded-Method", "GET", "X-Forwarded-Host", "app", "X-Forwarded-Uri", "/api/hello", "Authorization", "Bearer "+bob)
	wantError(t, r, http.StatusServiceUnavailable, "unavailable")
	e := upstreamSaw(t, g.through(t, "GET", "/pub/page", "", "Authorization", "Bearer "+bob))
	if got := identity(e); got != "user=[] roles=[]" {
		t.Errorf("public path, state down: upstream saw %s, want no identity", got)
	}
	refused(t, g.through(t, "GET", "/api/hello?token="+bob, ""), 500)
}
