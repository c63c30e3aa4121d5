package routes_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
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

// The whole handler as serve.go wires it — request id, access log (text, at info, to io.Discard),
// Prometheus metrics, recovery, body limit, error rendering, auth — over an in-memory
// ResponseWriter, so that the figures are the server's own work per request, without sockets.
//
//	go test ./routes -run '^$' -bench . -benchmem

const benchSecret = "bench-secret-0123456789abcdef0123456789abcdef"

type benchServer struct {
	h     http.Handler
	token string
}

func newBenchServer(b *testing.B, cacheSize int) benchServer {
	b.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("bench-password"), bcrypt.MinCost)
	if err != nil {
		b.Fatal(err)
	}
	// The logger serve builds (to io.Discard here).
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	users, err := store.NewMemory(map[string]store.Entry{"alice": {PasswordHash: string(hash), Roles: []string{"admin"}}},
		store.NewHasher(0, time.Second), log)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := token.NewHMACKeys("HS256", []byte(benchSecret))
	if err != nil {
		b.Fatal(err)
	}
	st := state.NewMemory(nil)
	b.Cleanup(func() { _ = st.Close() })
	opts := token.Options{Issuer: "tokengate", Audience: "tokengate", TTL: 15 * time.Minute,
		Leeway: 5 * time.Second, CacheSize: cacheSize, Revoked: st}
	m := metrics.New()
	// The shipped config's gateway rules, for /auth.
	policy, err := gateway.NewPolicy([]gateway.Rule{
		{Paths: []string{"/pub/"}, Access: gateway.Public},
		{Paths: []string{"/api/"}, Access: gateway.Authenticated},
		{Paths: []string{"/admin/"}, Access: gateway.Authenticated, Roles: []string{"admin"}},
	}, gateway.Authenticated)
	if err != nil {
		b.Fatal(err)
	}
	h, err := routes.New(routes.Deps{
		Log:          log,
		Users:        users,
		Issuer:       token.NewIssuer(keys, opts),
		Verifier:     token.NewVerifier(keys, opts),
		JWKS:         keys.JWKS(),
		State:        st,
		Lookup:       middleware.Lookup{Sources: []string{"header", "query"}, QueryParam: "token"},
		Login:        routes.LoginPolicy{MaxFailures: 1 << 30, Window: time.Minute, Lockout: time.Minute},
		RefreshTTL:   time.Hour,
		MaxBodyBytes: 65536,
		Metrics:      m.Handler(),
		Observe:      m,
		Gateway:      routes.Gateway{Policy: policy},
	})
	if err != nil {
		b.Fatal(err)
	}
	s := benchServer{h: h}
	req := httptest.NewRequest(http.MethodGet, "/login", nil)
	req.SetBasicAuth("alice", "bench-password")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 200 {
		b.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	s.token = body.AccessToken
	return s
}

// discardWriter is a reusable http.ResponseWriter that keeps only the status.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

// run serves req b.N times and fails unless each answer is want.
func (s benchServer) run(b *testing.B, req *http.Request, want int) {
	b.Helper()
	w := &discardWriter{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.status = 200
		s.h.ServeHTTP(w, req)
		if w.status != want {
			b.Fatalf("status = %d, want %d", w.status, want)
		}
	}
}

// runParallel is run from every P at once (shared cache shards, metrics, revocation store).
func (s benchServer) runParallel(b *testing.B, req *http.Request, want int) {
	b.Helper()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: make(http.Header)}
		r := req.Clone(req.Context())
		for pb.Next() {
			clear(w.h)
			w.status = 200
			s.h.ServeHTTP(w, r)
			if w.status != want {
				b.Errorf("status = %d, want %d", w.status, want)
				return
			}
		}
	})
}

func protectedRequest(tok string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/protected", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	return req
}

// BenchmarkUnprotected is the open route through the whole middleware chain: the floor.
func BenchmarkUnprotected(b *testing.B) {
	s := newBenchServer(b, 10000)
	s.run(b, httptest.NewRequest(http.MethodGet, "/unprotected", nil), 200)
}

// BenchmarkProtected is /protected with a valid HS256 token in the Authorization header.
func BenchmarkProtected(b *testing.B) {
	for _, tt := range []struct {
		name  string
		cache int
	}{{"cache=on", 10000}, {"cache=off", 0}} {
		b.Run(tt.name, func(b *testing.B) {
			s := newBenchServer(b, tt.cache)
			s.run(b, protectedRequest(s.token), 200)
		})
	}
}

// BenchmarkProtectedQuery is /protected?token=… (the original demo's placement; redacted in the log).
func BenchmarkProtectedQuery(b *testing.B) {
	s := newBenchServer(b, 10000)
	s.run(b, httptest.NewRequest(http.MethodGet, "/protected?token="+s.token, nil), 200)
}

// BenchmarkProtectedParallel is /protected (cache on) from every P at once.
func BenchmarkProtectedParallel(b *testing.B) {
	s := newBenchServer(b, 10000)
	s.runParallel(b, protectedRequest(s.token), 200)
}

// BenchmarkUnprotectedParallel is /unprotected from every P at once.
func BenchmarkUnprotectedParallel(b *testing.B) {
	s := newBenchServer(b, 10000)
	s.runParallel(b, httptest.NewRequest(http.MethodGet, "/unprotected", nil), 200)
}

// BenchmarkProtectedRefused is a forged token: the 401 path, as under a flood of bad tokens.
func BenchmarkProtectedRefused(b *testing.B) {
	s := newBenchServer(b, 10000)
	s.run(b, protectedRequest(s.token[:len(s.token)-2]+"AA"), 401)
}

// authRequest is nginx's auth subrequest for GET /admin/users?page=2 (a rule with a role) with the
// token in the header, or in the original URI's query.
func authRequest(tok string, inQuery bool) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/auth", nil)
	req.Header.Set("X-Original-Method", "GET")
	req.Header.Set("X-Original-Host", "app.example.com")
	if inQuery {
		req.Header.Set("X-Original-Uri", "/admin/users?page=2&token="+tok)
	} else {
		req.Header.Set("X-Original-Uri", "/admin/users?page=2")
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return req
}

// BenchmarkAuth is a forward-auth decision (/auth) with a valid token, to compare with
// BenchmarkProtected: the same verification, plus reading the original request and the rules.
func BenchmarkAuth(b *testing.B) {
	for _, tt := range []struct {
		name    string
		inQuery bool
	}{{"header", false}, {"query", true}} {
		b.Run(tt.name, func(b *testing.B) {
			s := newBenchServer(b, 10000)
			s.run(b, authRequest(s.token, tt.inQuery), 200)
		})
	}
}

// BenchmarkAuthParallel is /auth (header token) from every P at once.
func BenchmarkAuthParallel(b *testing.B) {
	s := newBenchServer(b, 10000)
	s.runParallel(b, authRequest(s.token, false), 200)
}

// BenchmarkLogin is a successful HTTP Basic login at bcrypt.MinCost (so the figure is the login
// path's own work: lock-out check, token issue, refresh token, response) and a wrong password.
func BenchmarkLogin(b *testing.B) {
	for _, tt := range []struct {
		name, password string
		want           int
	}{{"ok", "bench-password", 200}, {"wrong", "wrong-password", 401}} {
		b.Run(tt.name, func(b *testing.B) {
			s := newBenchServer(b, 10000)
			req := httptest.NewRequest(http.MethodGet, "/login", nil)
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:"+tt.password)))
			s.run(b, req, tt.want)
		})
	}
}

// BenchmarkLoginJSON is a successful JSON login at bcrypt.MinCost.
func BenchmarkLoginJSON(b *testing.B) {
	s := newBenchServer(b, 10000)
	w := &discardWriter{h: make(http.Header)}
	const body = `{"username":"alice","password":"bench-password"}`
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.status = 200
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		s.h.ServeHTTP(w, req)
		if w.status != 200 {
			b.Fatalf("status = %d, want 200", w.status)
		}
	}
}

// BenchmarkReadRequest is net/http's request parser alone, on the two requests bench/run.sh sends:
// /unprotected as wrk sends it, and with the bearer header /protected needs (a real token of the
// Issuer). The difference is what reading the header costs any Go server before a handler runs;
// set it against BenchmarkProtected's difference from BenchmarkUnprotected.
func BenchmarkReadRequest(b *testing.B) {
	tok := newBenchServer(b, 0).token
	for _, tt := range []struct{ name, extra string }{
		{"plain", ""},
		{"bearer", "Authorization: Bearer " + tok + "\r\n"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			raw := []byte("GET /unprotected HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n" + tt.extra + "\r\n")
			rd := bytes.NewReader(raw)
			br := bufio.NewReader(rd)
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(raw)
				br.Reset(rd)
				if _, err := http.ReadRequest(br); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
