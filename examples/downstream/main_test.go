package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/token"
	"github.com/tokengate/tokengate/verify"
)

// The service against a small issuer that publishes a real key set's JWKS and discovery document;
// tests/ runs it against a real tokengate.

const testIssuer, testAudience = "tokengate", "tokengate"

func signingKeys(t *testing.T) *token.KeySet {
	t.Helper()
	pem, err := token.GenerateKey(token.ES256)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	ks, err := token.LoadKeys(token.ES256, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// stubIssuer serves the discovery document and JWKS of ks.
func stubIssuer(t *testing.T, ks *token.KeySet) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": testIssuer, "jwks_uri": srv.URL + "/.well-known/jwks.json"})
	})
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(ks.JWKS())
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func issue(t *testing.T, ks *token.KeySet, sub string, roles ...string) string {
	t.Helper()
	raw, _, err := token.NewIssuer(ks, token.Options{Issuer: testIssuer, Audience: testAudience}).Issue(sub, roles)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestRoutes: /hello and /admin answer as the README says, with the token in the header or the
// query, and RFC 6750 errors otherwise.
func TestRoutes(t *testing.T) {
	ks := signingKeys(t)
	iss := stubIssuer(t, ks)
	v, err := verify.New(context.Background(), verify.Options{Issuer: iss.URL, TokenIssuer: testIssuer, Audience: testAudience, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	srv := httptest.NewServer(newHandler(v, discard()))
	defer srv.Close()

	alice := issue(t, ks, "alice", "admin")
	bob := issue(t, ks, "bob")
	other := issue(t, signingKeys(t), "mallory", "admin")
	for _, tt := range []struct {
		name, path, bearer string
		status             int
		body, challenge    string
	}{
		{"hello with the header", "/hello", alice, 200, `{"user":"alice"}`, ""},
		{"hello with the query", "/hello?token=" + bob, "", 200, `{"user":"bob"}`, ""},
		{"admin as admin", "/admin", alice, 200, `{"user":"alice"}`, ""},
		{"admin without the role", "/admin", bob, 403, `"error":"insufficient_scope"`, `error="insufficient_scope"`},
		{"no token", "/hello", "", 401, `"error":"missing_token"`, `Bearer realm="tokengate"`},
		{"garbage", "/hello", "not-a-token", 401, `"error":"invalid_token"`, `error="invalid_token"`},
		{"another issuer's key", "/hello", other, 401, `"error":"invalid_token"`, `error="invalid_token"`},
		{"two places", "/hello?token=" + bob, alice, 400, `"error":"invalid_request"`, ""},
		{"readyz", "/readyz", "", 200, `{"status":"ready"}`, ""},
		{"unknown route", "/nope", "", 404, `"error":"not_found"`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+tt.bearer)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.body) {
				t.Errorf("status = %d, body %s; want %d with %s", resp.StatusCode, body, tt.status, tt.body)
			}
			if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, tt.challenge) {
				t.Errorf("WWW-Authenticate = %q, want it to contain %q", got, tt.challenge)
			}
		})
	}
}

// TestNoKeysFailsClosed: with tokengate unreachable the service starts, /readyz and every guarded
// route answer 503.
func TestNoKeysFailsClosed(t *testing.T) {
	ks := signingKeys(t)
	iss := stubIssuer(t, ks)
	iss.Close()
	v, err := verify.New(context.Background(), verify.Options{Issuer: iss.URL, TokenIssuer: testIssuer, Audience: testAudience, Logger: discard(), UnknownKeyWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	srv := httptest.NewServer(newHandler(v, discard()))
	defer srv.Close()
	for _, path := range []string{"/readyz", "/hello?token=" + issue(t, ks, "alice")} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s: status = %d, want 503", path[:7], resp.StatusCode)
		}
	}
}

// TestConfig: every problem of the environment is reported, naming the variable.
func TestConfig(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  []string
		want []string
	}{
		{"empty", nil, []string{"TOKENGATE_URL: required"}},
		{"half a client", []string{"TOKENGATE_URL=http://x", "TOKENGATE_CLIENT_ID=a"}, []string{"set both or neither"}},
		{"empty audience", []string{"TOKENGATE_URL=http://x", "TOKENGATE_AUDIENCE="}, []string{"TOKENGATE_AUDIENCE"}},
		{"two problems", []string{"TOKENGATE_CLIENT_SECRET=s"}, []string{"TOKENGATE_URL", "TOKENGATE_CLIENT_ID"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(tt.env)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to name %q", err, w)
				}
			}
		})
	}
	c, err := loadConfig([]string{"TOKENGATE_URL=http://tokengate:8080"})
	if err != nil || c.audience != "tokengate" || c.addr != ":8081" {
		t.Errorf("defaults: %+v, %v", c, err)
	}
}

// TestRunServesAndStops: run listens on ADDR, serves, and returns nil once its context ends.
func TestRunServesAndStops(t *testing.T) {
	ks := signingKeys(t)
	iss := stubIssuer(t, ks)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"TOKENGATE_URL=" + iss.URL, "TOKENGATE_ISSUER=" + testIssuer, "ADDR=127.0.0.1:0"}, pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	re := regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)
	var addr string
	for addr == "" && sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if addr == "" {
		cancel()
		t.Fatalf("no listening line: %v", <-errc)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/hello", nil)
	req.Header.Set("Authorization", "Bearer "+issue(t, ks, "alice"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("run = %v, want nil after shutdown", err)
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
