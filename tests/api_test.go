package tests

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestDemoFlow is the original Flask demo's flow: an open route, a Basic-auth login, then the
// protected route with the token in the query string and in the Authorization header.
func TestDemoFlow(t *testing.T) {
	t.Parallel()
	s := startServer(t, config(t, ""))

	r := s.get(t, "/unprotected")
	if r.Status != 200 || r.JSON(t)["message"] != "Anyone can view this." {
		t.Fatalf("/unprotected = %d %s", r.Status, r.Body)
	}

	body := s.login(t, "alice", "pyconid")
	tok, _ := body["access_token"].(string)
	if tok == "" || body["token_type"] != "Bearer" {
		t.Fatalf("login body = %v", body)
	}
	if exp, _ := body["expires_in"].(float64); exp != 900 {
		t.Errorf("expires_in = %v, want 900", body["expires_in"])
	}

	for name, r := range map[string]response{
		"query":         s.get(t, "/protected?token="+url.QueryEscape(tok)),
		"header":        s.get(t, "/protected", "Authorization", "Bearer "+tok),
		"header-lower":  s.get(t, "/protected", "Authorization", "bearer "+tok),
		"header-shouty": s.get(t, "/protected", "Authorization", "BEARER "+tok),
	} {
		t.Run(name, func(t *testing.T) {
			if r.Status != 200 {
				t.Fatalf("status = %d, want 200; body %s", r.Status, r.Body)
			}
			m := r.JSON(t)
			if m["message"] != "Only available to people with valid tokens." || m["user"] != "alice" {
				t.Fatalf("body = %s", r.Body)
			}
		})
	}

	me := s.get(t, "/me", "Authorization", "Bearer "+tok).JSON(t)
	if me["user"] != "alice" {
		t.Fatalf("/me user = %v", me["user"])
	}
	roles, _ := me["roles"].([]any)
	if len(roles) != 1 || roles[0] != "admin" {
		t.Fatalf("/me roles = %v", me["roles"])
	}
	iat, err1 := time.Parse(time.RFC3339, me["issued_at"].(string))
	exp, err2 := time.Parse(time.RFC3339, me["expires_at"].(string))
	if err1 != nil || err2 != nil || exp.Sub(iat) != 15*time.Minute || !strings.HasSuffix(me["expires_at"].(string), "Z") {
		t.Fatalf("/me times = %v, %v", me["issued_at"], me["expires_at"])
	}
}

// TestLoginMethods: Basic on GET and POST, JSON and form bodies all log in.
func TestLoginMethods(t *testing.T) {
	t.Parallel()
	s := startServer(t, config(t, ""))
	cases := map[string]*http.Request{
		"GET basic":  newRequest(t, "GET", s.URL+"/login", nil),
		"POST basic": newRequest(t, "POST", s.URL+"/login", nil),
		"POST json":  newRequest(t, "POST", s.URL+"/login", strings.NewReader(`{"username":"alice","password":"pyconid"}`)),
		"POST form":  newRequest(t, "POST", s.URL+"/login", strings.NewReader("username=alice&password=pyconid")),
		"json+charset": newRequest(t, "POST", s.URL+"/login",
			strings.NewReader(`{"password":"pyconid","username":"alice","extra":{"ignored":[1,2]}}`)),
	}
	cases["GET basic"].Header.Set("Authorization", basic("alice", "pyconid"))
	cases["POST basic"].Header.Set("Authorization", basic("alice", "pyconid"))
	cases["POST json"].Header.Set("Content-Type", "application/json")
	cases["POST form"].Header.Set("Content-Type", "application/x-www-form-urlencoded")
	cases["json+charset"].Header.Set("Content-Type", "application/json; charset=utf-8")
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			r := do(t, req)
			if r.Status != 200 {
				t.Fatalf("status = %d, want 200; body %s", r.Status, r.Body)
			}
			if got := r.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			m := r.JSON(t)
			if m["access_token"] == "" || m["refresh_token"] == "" || m["refresh_expires_in"] == nil {
				t.Fatalf("body = %s", r.Body)
			}
		})
	}
}

// TestTokenLookup: RFC 6750 answers for missing, duplicated and bad tokens.
func TestTokenLookup(t *testing.T) {
	t.Parallel()
	s := startServer(t, config(t, ""))
	tok := s.accessToken(t, "alice", "pyconid")
	q := url.QueryEscape(tok)
	h, p, sig := splitJWS(t, tok)
	tampered := h + "." + p + "." + flipBit(sig)

	t.Run("missing", func(t *testing.T) {
		r := s.get(t, "/protected")
		wantError(t, r, 401, "missing_token")
		if got := r.Header.Get("WWW-Authenticate"); got != `Bearer realm="tokengate"` {
			t.Errorf("WWW-Authenticate = %q", got)
		}
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control = %q", got)
		}
	})
	t.Run("basic is not a bearer token", func(t *testing.T) {
		wantError(t, s.get(t, "/protected", "Authorization", basic("alice", "pyconid")), 401, "missing_token")
	})
	for name, r := range map[string]response{
		"header and query":  s.get(t, "/protected?token="+q, "Authorization", "Bearer "+tok),
		"two headers":       s.get(t, "/protected", "Authorization", "Bearer "+tok, "Authorization", "Bearer "+tok),
		"two query params":  s.get(t, "/protected?token="+q+"&token="+q),
		"escaped duplicate": s.get(t, "/protected?token="+q+"&%74oken="+q),
		"empty bearer":      s.get(t, "/protected", "Authorization", "Bearer "),
		"empty query":       s.get(t, "/protected?token="),
	} {
		t.Run(name, func(t *testing.T) { wantError(t, r, 400, "invalid_request") })
	}
	for name, r := range map[string]response{
		"garbage header": s.get(t, "/protected", "Authorization", "Bearer not.a.jwt"),
		"garbage query":  s.get(t, "/protected?token=not-a-jwt"),
		"tampered":       s.get(t, "/protected", "Authorization", "Bearer "+tampered),
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, r, 401, "invalid_token")
			if got := r.Header.Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) || !strings.HasPrefix(got, `Bearer realm="tokengate"`) {
				t.Errorf("WWW-Authenticate = %q", got)
			}
			if got := r.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q", got)
			}
		})
	}
}

// TestRoutesAndErrors: JSON 404/405, health, readiness and the role example.
func TestRoutesAndErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t, config(t, ""))
	wantError(t, s.get(t, "/nope"), 404, "not_found")
	wantError(t, do(t, newRequest(t, "DELETE", s.URL+"/protected", nil)), 405, "method_not_allowed")
	if r := s.get(t, "/healthz"); r.Status != 200 {
		t.Errorf("/healthz = %d", r.Status)
	}
	if r := s.get(t, "/readyz"); r.Status != 200 {
		t.Errorf("/readyz = %d %s", r.Status, r.Body)
	}
	if r := s.get(t, "/.well-known/jwks.json"); r.Status != 200 || string(r.Body) != `{"keys":[]}` {
		t.Errorf("jwks = %d %s", r.Status, r.Body)
	}
	admin := s.accessToken(t, "alice", "pyconid")
	if r := s.get(t, "/admin", "Authorization", "Bearer "+admin); r.Status != 200 {
		t.Errorf("/admin as alice = %d %s", r.Status, r.Body)
	}
	plain := s.accessToken(t, "bob", "bob-password")
	r := s.get(t, "/admin", "Authorization", "Bearer "+plain)
	wantError(t, r, 403, "insufficient_scope")
	if got := r.Header.Get("WWW-Authenticate"); !strings.Contains(got, `error="insufficient_scope"`) {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	if r := s.get(t, "/me", "Authorization", "Bearer "+s.accessToken(t, "Alice", "capital-alice")); r.JSON(t)["user"] != "Alice" {
		t.Errorf("case-sensitive user: %s", r.Body)
	}
}
