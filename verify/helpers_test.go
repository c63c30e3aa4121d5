package verify

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/fakeclock"
	"github.com/tokengate/tokengate/token"
)

// These unit tests run the Verifier against a small issuer made of httptest servers that publish a
// real token.KeySet's JWKS and a discovery document, so each test can make the issuer slow, wrong
// or unreachable at will. The same behaviour against a real tokengate is tested in tests/.

const (
	testIssuer   = "tokengate"
	testAudience = "tokengate"
	testClientID = "downstream"
	testSecret   = "0123456789abcdef0123456789abcdef-secret"
)

var testStart = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// signingKeys are generated once per test binary: RSA generation is slow under -race.
var signingKeys = sync.OnceValues(func() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, alg := range []string{token.ES256, token.EdDSA, token.RS256, "ES256-next"} {
		gen := alg
		if alg == "ES256-next" {
			gen = token.ES256
		}
		pem, err := token.GenerateKey(gen)
		if err != nil {
			return nil, err
		}
		out[alg] = pem
	}
	return out, nil
})

// loadKeys writes the test key name (ES256, EdDSA, RS256 or ES256-next) and loads it, with the
// named previous keys as retired ones.
func loadKeys(t *testing.T, name string, previous ...string) *token.KeySet {
	t.Helper()
	all, err := signingKeys()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(n string) string {
		path := filepath.Join(dir, n+".pem")
		if err := os.WriteFile(path, all[n], 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	var prev []string
	for _, p := range previous {
		prev = append(prev, write(p))
	}
	alg := name
	if name == "ES256-next" {
		alg = token.ES256
	}
	ks, err := token.LoadKeys(alg, write(name), prev)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// issue signs a token for sub with roles, valid at clk's time.
func issue(t *testing.T, ks *token.KeySet, clk *fakeclock.Clock, sub string, roles ...string) (string, token.Claims) {
	t.Helper()
	raw, c, err := token.NewIssuer(ks, token.Options{Issuer: testIssuer, Audience: testAudience, TTL: 15 * time.Minute, Now: clk.Now}).Issue(sub, roles)
	if err != nil {
		t.Fatal(err)
	}
	return raw, c
}

// stubIssuer publishes a discovery document, a JWKS and an introspection endpoint.
type stubIssuer struct {
	t   *testing.T
	srv *httptest.Server

	mu           sync.Mutex
	issuer       string
	jwks         []byte
	cacheControl string
	jwksStatus   int           // when not 0, the JWKS answers this status
	gate         chan struct{} // when not nil, JWKS requests wait until it is closed
	inactive     map[string]bool
	introStatus  int
	introGate    chan struct{}
	ifNoneMatch  []string

	jwksHits, discoveryHits, introHits atomic.Int64
}

func newStubIssuer(t *testing.T, ks *token.KeySet) *stubIssuer {
	t.Helper()
	s := &stubIssuer{t: t, issuer: testIssuer, jwks: ks.JWKS(), cacheControl: "public, max-age=300", inactive: map[string]bool{}}
	s.srv = httptest.NewServer(s.handler())
	t.Cleanup(s.srv.Close)
	return s
}

// newStubIssuerOn is newStubIssuer on a given listener.
func newStubIssuerOn(t *testing.T, ks *token.KeySet, ln net.Listener) *stubIssuer {
	t.Helper()
	s := &stubIssuer{t: t, issuer: testIssuer, jwks: ks.JWKS(), cacheControl: "public, max-age=300", inactive: map[string]bool{}}
	s.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: s.handler()}}
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stubIssuer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /.well-known/jwks.json", s.jwksHandler)
	mux.HandleFunc("POST /introspect", s.introspect)
	return mux
}

func (s *stubIssuer) discovery(w http.ResponseWriter, r *http.Request) {
	s.discoveryHits.Add(1)
	s.mu.Lock()
	iss := s.issuer
	s.mu.Unlock()
	writeJSON(w, map[string]any{
		"issuer":                 iss,
		"jwks_uri":               s.srv.URL + "/.well-known/jwks.json",
		"token_endpoint":         s.srv.URL + "/login",
		"introspection_endpoint": s.srv.URL + "/introspect",
	})
}

func (s *stubIssuer) jwksHandler(w http.ResponseWriter, r *http.Request) {
	s.jwksHits.Add(1)
	s.mu.Lock()
	gate, status, body, cc := s.gate, s.jwksStatus, s.jwks, s.cacheControl
	s.ifNoneMatch = append(s.ifNoneMatch, r.Header.Get("If-None-Match"))
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		http.Error(w, "unavailable", status)
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("Cache-Control", cc)
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (s *stubIssuer) introspect(w http.ResponseWriter, r *http.Request) {
	s.introHits.Add(1)
	s.mu.Lock()
	gate, status := s.introGate, s.introStatus
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	id, secret, ok := r.BasicAuth()
	if !ok || id != testClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(testSecret)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="tokengate"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	if err := r.ParseForm(); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	ks, err := token.ParseJWKS(s.currentJWKS(), nil)
	if err != nil {
		writeJSON(w, map[string]any{"active": false})
		return
	}
	c, err := token.NewVerifier(ks, token.Options{Issuer: testIssuer, Audience: testAudience, Now: func() time.Time { return testStart }}).Verify(r.Context(), r.PostForm.Get("token"))
	s.mu.Lock()
	revoked := err == nil && s.inactive[c.ID]
	s.mu.Unlock()
	if err != nil || revoked {
		writeJSON(w, map[string]any{"active": false})
		return
	}
	writeJSON(w, map[string]any{"active": true, "sub": c.Subject, "jti": c.ID, "roles": c.Roles, "exp": c.ExpiresAt.Unix(), "token_type": "access_token"})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *stubIssuer) currentJWKS() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jwks
}

func (s *stubIssuer) set(f func(s *stubIssuer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// events collects a Verifier's hook events.
type events struct {
	fetch      chan FetchEvent
	introspect chan IntrospectEvent
}

func newEvents() *events {
	return &events{fetch: make(chan FetchEvent, 1024), introspect: make(chan IntrospectEvent, 1024)}
}

func (e *events) hooks() Hooks {
	return Hooks{
		Fetch:      func(ev FetchEvent) { e.fetch <- ev },
		Introspect: func(ev IntrospectEvent) { e.introspect <- ev },
	}
}

// nextFetch waits for the next fetch event of document.
func (e *events) nextFetch(t *testing.T, document string) FetchEvent {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-e.fetch:
			if ev.Document == document {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s fetch within 30s", document)
		}
	}
}

// quietLogger drops the Verifier's logs.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newVerifier starts a Verifier on the stub issuer with a fake clock and hooks; change adjusts
// the options.
func newVerifier(t *testing.T, s *stubIssuer, clk *fakeclock.Clock, ev *events, change ...func(*Options)) *Verifier {
	t.Helper()
	o := Options{Issuer: s.srv.URL, TokenIssuer: testIssuer, Audience: testAudience, Now: clk.Now, Hooks: ev.hooks(), Logger: quietLogger()}
	for _, f := range change {
		f(&o)
	}
	v, err := New(context.Background(), o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v
}
