package tests

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// dsClientSecret is the secret of the introspection client "downstream" in dsConfig.
const dsClientSecret = "downstream-client-secret-0123456789abcdefghij"

// dsOptions adjust dsConfig.
type dsOptions struct {
	previous, next []string // token.previous_public_key_files, token.next_public_key_files
	addr           string   // server.addr; "" means 127.0.0.1:0
	publicURL      string   // server.public_url
}

// dsConfig is the default conf signing with alg and key, with one introspection client,
// "downstream".
func dsConfig(t testing.TB, alg, key string, o dsOptions) string {
	t.Helper()
	sum := sha256.Sum256([]byte(dsClientSecret))
	list := func(files []string) string {
		b, err := json.Marshal(append([]string{}, files...))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	c := conf{
		token: fmt.Sprintf("  algorithm: %s\n  private_key_file: %q\n  previous_public_key_files: %s\n  next_public_key_files: %s\n",
			alg, key, list(o.previous), list(o.next)),
		extra: fmt.Sprintf("clients:\n  downstream:\n    secret_sha256: %q\n", hex.EncodeToString(sum[:])),
	}
	if o.publicURL != "" {
		c.server = fmt.Sprintf("  public_url: %q\n", o.publicURL)
	}
	cfg := c.yaml(t)
	if o.addr != "" {
		cfg = strings.Replace(cfg, `addr: "127.0.0.1:0"`, fmt.Sprintf("addr: %q", o.addr), 1)
	}
	return cfg
}

// introspect asks s about raw as the client id with secret.
func (s *server) introspect(t testing.TB, id, secret, raw string) response {
	t.Helper()
	req := newRequest(t, http.MethodPost, s.URL+"/introspect", strings.NewReader(url.Values{"token": {raw}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(id, secret)
	}
	return do(t, req)
}

// TestDiscoveryAndJWKS: the real binary publishes the discovery document at both well-known paths,
// with URLs from server.public_url or from the request, and a cacheable JWKS (GET and HEAD, ETag
// and 304, CORS) that lists the next key before it signs.
func TestDiscoveryAndJWKS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, next := keygen(t, dir, "ES256", "key.pem"), keygen(t, dir, "EdDSA", "next.pem")
	s := startServer(t, dsConfig(t, "ES256", key, dsOptions{next: []string{writePublicPEM(t, next)}}))
	behind := startServer(t, dsConfig(t, "ES256", key, dsOptions{publicURL: "https://auth.example.com"}))

	for _, tt := range []struct {
		s    *server
		base string
	}{{s, s.URL}, {behind, "https://auth.example.com"}} {
		var docs []string
		for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
			r := tt.s.get(t, path)
			if r.Status != http.StatusOK || r.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.HasPrefix(r.Header.Get("Cache-Control"), "public, max-age=") {
				t.Fatalf("%s: %d %v %s", path, r.Status, r.Header, r.Body)
			}
			docs = append(docs, string(r.Body))
		}
		if docs[0] != docs[1] {
			t.Errorf("the two documents differ")
		}
		doc := response{Body: []byte(docs[0])}.JSON(t)
		for k, want := range map[string]string{
			"issuer": "tokengate", "jwks_uri": tt.base + "/.well-known/jwks.json", "token_endpoint": tt.base + "/login",
			"introspection_endpoint": tt.base + "/introspect",
		} {
			if doc[k] != want {
				t.Errorf("%s = %v, want %s", k, doc[k], want)
			}
		}
		if got := fmt.Sprint(doc["introspection_endpoint_auth_methods_supported"]); got != "[client_secret_basic]" {
			t.Errorf("introspection_endpoint_auth_methods_supported = %s", got)
		}
	}
	if got := fmt.Sprint(s.get(t, "/.well-known/openid-configuration").JSON(t)["id_token_signing_alg_values_supported"]); got != "[ES256 EdDSA]" {
		t.Errorf("algorithms = %s, want [ES256 EdDSA] (the current and the next key)", got)
	}

	set := fetchJWKS(t, s)
	if len(set.Keys) != 2 || set.Keys[0].Algorithm != "ES256" || set.Keys[1].Algorithm != "EdDSA" {
		t.Fatalf("JWKS = %+v, want the ES256 key then the next EdDSA key", set.Keys)
	}
	r := s.get(t, "/.well-known/jwks.json")
	etag := r.Header.Get("ETag")
	if etag == "" || r.Header.Get("Cache-Control") != "public, max-age=300" || r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("JWKS headers: %v", r.Header)
	}
	if r := s.get(t, "/.well-known/jwks.json", "If-None-Match", etag); r.Status != http.StatusNotModified || len(r.Body) != 0 {
		t.Errorf("If-None-Match: %d %q, want 304 and no body", r.Status, r.Body)
	}
	head := do(t, newRequest(t, http.MethodHead, s.URL+"/.well-known/jwks.json", nil))
	if head.Status != http.StatusOK || head.Header.Get("ETag") != etag || len(head.Body) != 0 {
		t.Errorf("HEAD: %d, ETag %q, body %q", head.Status, head.Header.Get("ETag"), head.Body)
	}
}

// TestIntrospection: a configured client learns that a token is active until it is logged out;
// every other caller gets 401 with a Basic challenge; the metrics count each outcome.
func TestIntrospection(t *testing.T) {
	t.Parallel()
	key := keygen(t, t.TempDir(), "ES256", "key.pem")
	s := startServer(t, dsConfig(t, "ES256", key, dsOptions{}))
	tok := s.accessToken(t, "alice", "pyconid")

	r := s.introspect(t, "downstream", dsClientSecret, tok)
	body := r.JSON(t)
	if r.Status != http.StatusOK || body["active"] != true || body["sub"] != "alice" || body["token_type"] != "access_token" ||
		body["iss"] != "tokengate" || body["aud"] != "tokengate" || fmt.Sprint(body["roles"]) != "[admin]" || body["jti"] == "" {
		t.Fatalf("active token: %d %s", r.Status, r.Body)
	}
	for name, raw := range map[string]string{"garbage": "garbage", "empty": "", "refresh token": s.login(t, "bob", "bob-password")["refresh_token"].(string)} {
		if r := s.introspect(t, "downstream", dsClientSecret, raw); r.Status != http.StatusOK || string(r.Body) != `{"active":false}` {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	for _, c := range [][2]string{{"", ""}, {"downstream", "wrong"}, {"other", dsClientSecret}} {
		r := s.introspect(t, c[0], c[1], tok)
		wantError(t, r, http.StatusUnauthorized, "invalid_client")
		if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
		}
	}
	if r := s.postJSON(t, "/logout", "", "Authorization", "Bearer "+tok); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	if r := s.introspect(t, "downstream", dsClientSecret, tok); string(r.Body) != `{"active":false}` {
		t.Errorf("logged out: %d %s", r.Status, r.Body)
	}
	metrics := string(s.get(t, "/metrics").Body)
	for _, line := range []string{
		`tokengate_introspections_total{outcome="active"} 1`,
		`tokengate_introspections_total{outcome="inactive"} 4`,
		`tokengate_introspections_total{outcome="invalid_client"} 3`,
	} {
		if !strings.Contains(metrics, line) {
			t.Errorf("metrics lack %s", line)
		}
	}
}

// issuerProxy stands between a verifier and a real tokengate: it counts the JWKS requests, can
// hold them (a slow JWKS endpoint), and can switch to another tokengate (a rolled deployment).
// It keeps the Host header, so the discovery document names the proxy.
type issuerProxy struct {
	URL      string
	backend  atomic.Pointer[url.URL]
	jwksHits atomic.Int64

	mu   sync.Mutex
	gate chan struct{} // when not nil, JWKS requests wait until it is closed
}

func newIssuerProxy(t *testing.T, to *server) *issuerProxy {
	t.Helper()
	p := &issuerProxy{}
	p.switchTo(t, to)
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(p.backend.Load())
		r.Out.Host = r.In.Host
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/jwks.json" {
			p.jwksHits.Add(1)
			p.mu.Lock()
			gate := p.gate
			p.mu.Unlock()
			if gate != nil {
				select {
				case <-gate:
				case <-r.Context().Done():
					return
				}
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func (p *issuerProxy) switchTo(t *testing.T, s *server) {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	p.backend.Store(u)
}

// hold makes JWKS requests wait until the returned function is called.
func (p *issuerProxy) hold() (release func()) {
	gate := make(chan struct{})
	p.mu.Lock()
	p.gate = gate
	p.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			p.gate = nil
			p.mu.Unlock()
			close(gate)
		})
	}
}
