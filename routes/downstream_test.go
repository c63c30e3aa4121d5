package routes_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokengate/tokengate/internal/fakeclock"
	"github.com/tokengate/tokengate/metrics"
	"github.com/tokengate/tokengate/middleware"
	"github.com/tokengate/tokengate/routes"
	"github.com/tokengate/tokengate/state"
	"github.com/tokengate/tokengate/token"
)

const clientSecret = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"

// downstreamFixture is tokengate's handler with an ES256 key, one introspection client
// ("billing") and metrics.
type downstreamFixture struct {
	h       http.Handler
	keys    *token.KeySet
	pem     []byte // keys' private key
	issuer  *token.Issuer
	clk     *fakeclock.Clock
	metrics *metrics.Metrics
}

func esKeys(t *testing.T) *token.KeySet {
	t.Helper()
	keys, _ := esKeysPEM(t)
	return keys
}

// esKeysPEM is esKeys that also returns the private key's PEM, to sign tokens another library makes.
func esKeysPEM(t *testing.T) (*token.KeySet, []byte) {
	t.Helper()
	pem, err := token.GenerateKey(token.ES256)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := token.LoadKeys(token.ES256, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return keys, pem
}

// failingRevocations cannot answer.
type failingRevocations struct{}

func (failingRevocations) IsRevoked(context.Context, string) (bool, error) {
	return false, errors.New("redis down")
}

func newDownstream(t *testing.T, publicURL string, revoked token.Revocations) *downstreamFixture {
	t.Helper()
	f := &downstreamFixture{clk: fakeclock.New(time.Now().Truncate(time.Second)), metrics: metrics.New()}
	f.keys, f.pem = esKeysPEM(t)
	st := state.NewMemory(f.clk.Now)
	t.Cleanup(func() { _ = st.Close() })
	if revoked == nil {
		revoked = st
	}
	opts := token.Options{Issuer: "https://auth.example.com", Audience: "tokengate", TTL: time.Minute, Now: f.clk.Now, Revoked: revoked}
	f.issuer = token.NewIssuer(f.keys, opts)
	h, err := routes.New(routes.Deps{
		Users: panickingUsers{}, Issuer: f.issuer, Verifier: token.NewVerifier(f.keys, opts),
		JWKS: f.keys.JWKS(), State: st, Lookup: middleware.Lookup{Sources: []string{"header"}},
		Login:        routes.LoginPolicy{MaxFailures: 3, Window: time.Minute, Lockout: time.Minute},
		MaxBodyBytes: 65536,
		Discovery:    routes.Discovery{Issuer: opts.Issuer, PublicURL: publicURL, Algorithms: f.keys.Algorithms(), MaxAge: 90 * time.Second},
		Clients:      map[string]routes.Client{"billing": {SecretSHA256: sha256.Sum256([]byte(clientSecret))}},
		Observe:      f.metrics,
		Metrics:      f.metrics.Handler(),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f
}

func (f *downstreamFixture) do(t *testing.T, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// TestDiscoveryDocument: both well-known paths answer the same document, with URLs from
// server.public_url or else from the request, the algorithms of the keys, cacheable and readable
// from any origin.
func TestDiscoveryDocument(t *testing.T) {
	for _, tt := range []struct {
		name, publicURL, host, base string
	}{
		{"public url", "https://auth.example.com/", "internal:8080", "https://auth.example.com"},
		{"from the request", "", "tokengate:8080", "http://tokengate:8080"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newDownstream(t, tt.publicURL, nil)
			var bodies []string
			for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
				r := httptest.NewRequest(http.MethodGet, path, nil)
				r.Host = tt.host
				w := f.do(t, r)
				if w.Code != http.StatusOK {
					t.Fatalf("%s: %d %s", path, w.Code, w.Body)
				}
				if got := w.Header().Get("Cache-Control"); got != "public, max-age=90" {
					t.Errorf("Cache-Control = %q", got)
				}
				if got := w.Header().Get("Access-Control-Allow-Origin"); got != "*" {
					t.Errorf("Access-Control-Allow-Origin = %q", got)
				}
				// Built from the Host header, the answer must not be shared across hosts.
				if got, want := w.Header().Get("Vary"), map[bool]string{true: "", false: "Host"}[tt.publicURL != ""]; got != want {
					t.Errorf("Vary = %q, want %q", got, want)
				}
				bodies = append(bodies, w.Body.String())
			}
			if bodies[0] != bodies[1] {
				t.Errorf("the two documents differ:\n%s\n%s", bodies[0], bodies[1])
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(bodies[0]), &doc); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"issuer":                 "https://auth.example.com",
				"jwks_uri":               tt.base + "/.well-known/jwks.json",
				"token_endpoint":         tt.base + "/login",
				"introspection_endpoint": tt.base + "/introspect",
				"introspection_endpoint_auth_methods_supported": []any{"client_secret_basic"},
				"id_token_signing_alg_values_supported":         []any{"ES256"},
			}
			if got, want := mustJSON(t, doc), mustJSON(t, want); got != want {
				t.Errorf("document = %s\nwant       %s", got, want)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestJWKSCaching: the JWKS has Cache-Control max-age, an ETag that If-None-Match turns into a 304
// (for GET and HEAD, weak or in a list), and CORS.
func TestJWKSCaching(t *testing.T) {
	f := newDownstream(t, "", nil)
	w := f.do(t, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	etag := w.Header().Get("ETag")
	if w.Code != http.StatusOK || w.Body.String() != string(f.keys.JWKS()) || !strings.HasPrefix(etag, `"`) {
		t.Fatalf("GET: %d, ETag %q, body %s", w.Code, etag, w.Body)
	}
	for k, want := range map[string]string{
		"Cache-Control": "public, max-age=90", "Access-Control-Allow-Origin": "*", "Content-Type": "application/jwk-set+json",
	} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	for _, tt := range []struct {
		method, inm string
		want        int
	}{
		{http.MethodGet, etag, http.StatusNotModified},
		{http.MethodHead, etag, http.StatusNotModified},
		{http.MethodGet, "W/" + etag, http.StatusNotModified},
		{http.MethodGet, `"other", ` + etag, http.StatusNotModified},
		{http.MethodGet, "*", http.StatusNotModified},
		{http.MethodGet, `"other"`, http.StatusOK},
		{http.MethodHead, `"other"`, http.StatusOK},
	} {
		r := httptest.NewRequest(tt.method, "/.well-known/jwks.json", nil)
		r.Header.Set("If-None-Match", tt.inm)
		w := f.do(t, r)
		if w.Code != tt.want {
			t.Errorf("%s If-None-Match %s: status %d, want %d", tt.method, tt.inm, w.Code, tt.want)
		}
		if w.Code == http.StatusNotModified && (w.Body.Len() != 0 || w.Header().Get("ETag") != etag) {
			t.Errorf("304: body %q, ETag %q", w.Body, w.Header().Get("ETag"))
		}
	}
}

// introspect posts token as a form with the client credentials given (id "" sends none).
func (f *downstreamFixture) introspect(t *testing.T, id, secret, form string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/introspect", strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = "192.0.2.7:1234"
	if id != "" {
		r.SetBasicAuth(id, secret)
	}
	return f.do(t, r)
}

// TestIntrospect: configured clients learn whether a token is active; anything not active is
// exactly {"active": false}; other callers get 401 with a Basic challenge.
func TestIntrospect(t *testing.T) {
	f := newDownstream(t, "", nil)
	good, claims, err := f.issuer.Issue("alice", []string{"admin"})
	if err != nil {
		t.Fatal(err)
	}
	expired, _, err := token.NewIssuer(f.keys, token.Options{Issuer: "https://auth.example.com", Audience: "tokengate", TTL: time.Minute,
		Now: func() time.Time { return f.clk.Now().Add(-time.Hour) }}).Issue("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	forged, _, err := token.NewIssuer(esKeys(t), token.Options{Issuer: "https://auth.example.com", Audience: "tokengate", Now: f.clk.Now}).Issue("alice", []string{"admin"})
	if err != nil {
		t.Fatal(err)
	}
	revoked, _, err := f.issuer.Issue("bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	logout := httptest.NewRequest(http.MethodPost, "/logout", nil)
	logout.Header.Set("Authorization", "Bearer "+revoked)
	if w := f.do(t, logout); w.Code != http.StatusNoContent {
		t.Fatalf("logout: %d %s", w.Code, w.Body)
	}

	w := f.introspect(t, "billing", clientSecret, "token="+good+"&token_type_hint=access_token")
	if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("active: %d, Cache-Control %q, %s", w.Code, w.Header().Get("Cache-Control"), w.Body)
	}
	want := mustJSON(t, map[string]any{
		"active": true, "sub": "alice", "exp": claims.ExpiresAt.Unix(), "iat": claims.IssuedAt.Unix(),
		"iss": "https://auth.example.com", "aud": "tokengate", "jti": claims.ID, "roles": []string{"admin"},
		"token_type": "access_token",
	})
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || mustJSON(t, got) != want {
		t.Errorf("active answer = %s\nwant            %s", w.Body, want)
	}

	for _, tt := range []struct{ name, form string }{
		{"expired", "token=" + expired},
		{"forged", "token=" + forged},
		{"revoked", "token=" + revoked},
		{"garbage", "token=not-a-token"},
		{"empty token", "token="},
		{"no token field", "other=1"},
		{"no body", ""},
		{"a refresh token", "token=" + strings.Repeat("A", 43)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := f.introspect(t, "billing", clientSecret, tt.form)
			if w.Code != http.StatusOK || w.Body.String() != `{"active":false}` {
				t.Errorf("got %d %s, want 200 {\"active\":false}", w.Code, w.Body)
			}
		})
	}

	for _, tt := range []struct {
		name, id, secret, form string
		status                 int
		code                   string
	}{
		{"no credentials", "", "", "token=" + good, http.StatusUnauthorized, "invalid_client"},
		{"wrong secret", "billing", "wrong", "token=" + good, http.StatusUnauthorized, "invalid_client"},
		{"unknown client", "payroll", clientSecret, "token=" + good, http.StatusUnauthorized, "invalid_client"},
		{"client id in another case", "Billing", clientSecret, "token=" + good, http.StatusUnauthorized, "invalid_client"},
		{"two tokens", "billing", clientSecret, "token=" + good + "&token=" + good, http.StatusBadRequest, "invalid_request"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := f.introspect(t, tt.id, tt.secret, tt.form)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), `"error":"`+tt.code+`"`) {
				t.Errorf("got %d %s, want %d %s", w.Code, w.Body, tt.status, tt.code)
			}
			if tt.status == http.StatusUnauthorized && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), `Basic realm="tokengate"`) {
				t.Errorf("WWW-Authenticate = %q, want a Basic challenge", w.Header().Get("WWW-Authenticate"))
			}
			if strings.Contains(w.Body.String(), "alice") {
				t.Errorf("a refused caller learnt about the token: %s", w.Body)
			}
		})
	}

	t.Run("JSON body", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/introspect", strings.NewReader(`{"token":"`+good+`"}`))
		r.Header.Set("Content-Type", "application/json")
		r.SetBasicAuth("billing", clientSecret)
		if w := f.do(t, r); w.Code != http.StatusBadRequest {
			t.Errorf("status %d, want 400", w.Code)
		}
	})
	t.Run("form-encoded credentials", func(t *testing.T) {
		// RFC 6749 §2.3.1: a client form-encodes id and secret before Basic encoding.
		w := f.introspect(t, url.QueryEscape("billing"), url.QueryEscape(clientSecret), "token="+good)
		if !strings.Contains(w.Body.String(), `"active":true`) {
			t.Errorf("got %d %s", w.Code, w.Body)
		}
	})

	m := httptest.NewRecorder()
	f.h.ServeHTTP(m, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, line := range []string{
		`tokengate_introspections_total{outcome="active"} 2`,
		`tokengate_introspections_total{outcome="inactive"} 8`,
		`tokengate_introspections_total{outcome="invalid_client"} 4`,
		`tokengate_introspections_total{outcome="invalid_request"} 2`,
	} {
		if !strings.Contains(m.Body.String(), line) {
			t.Errorf("metrics lack %s", line)
		}
	}
}

// TestTokenWithoutIat: a token another library made without iat (accepted: iat is optional) is
// described without one, not with the zero time, by /introspect and /me.
func TestTokenWithoutIat(t *testing.T) {
	f := newDownstream(t, "", nil)
	key, err := jwt.ParseECPrivateKeyFromPEM(f.pem)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"sub": "alice", "iss": "https://auth.example.com", "aud": "tokengate", "jti": "foreign-1",
		"exp": f.clk.Now().Add(time.Minute).Unix(),
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}

	w := f.introspect(t, "billing", clientSecret, "token="+raw)
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got["active"] != true {
		t.Fatalf("introspect: %d %s", w.Code, w.Body)
	}
	if _, ok := got["iat"]; ok {
		t.Errorf("introspection of a token without iat names one: %s", w.Body)
	}

	r := httptest.NewRequest(http.MethodGet, "/me", nil)
	r.Header.Set("Authorization", "Bearer "+raw)
	w = f.do(t, r)
	got = nil
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != http.StatusOK || got["user"] != "alice" {
		t.Fatalf("/me: %d %s", w.Code, w.Body)
	}
	if _, ok := got["issued_at"]; ok {
		t.Errorf("/me of a token without iat names an issued_at: %s", w.Body)
	}
}

// TestIntrospectLockout: failed client authentications lock the client out like failed logins,
// even with the right secret afterwards.
func TestIntrospectLockout(t *testing.T) {
	f := newDownstream(t, "", nil)
	good, _, err := f.issuer.Issue("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if w := f.introspect(t, "billing", "wrong", "token="+good); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, w.Code)
		}
	}
	w := f.introspect(t, "billing", clientSecret, "token="+good)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("locked: %d %s, Retry-After %q; want 429", w.Code, w.Body, w.Header().Get("Retry-After"))
	}
	f.clk.Add(time.Minute)
	good, _, err = f.issuer.Issue("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := f.introspect(t, "billing", clientSecret, "token="+good); !strings.Contains(w.Body.String(), `"active":true`) {
		t.Errorf("after the lock-out: %d %s", w.Code, w.Body)
	}
}

// TestIntrospectStateDown: when revocations cannot be read, introspection answers 503, never
// active.
func TestIntrospectStateDown(t *testing.T) {
	f := newDownstream(t, "", failingRevocations{})
	good, _, err := f.issuer.Issue("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	w := f.introspect(t, "billing", clientSecret, "token="+good)
	body, _ := io.ReadAll(w.Body)
	if w.Code != http.StatusServiceUnavailable || strings.Contains(string(body), "active") {
		t.Errorf("got %d %s, want 503", w.Code, body)
	}
}
