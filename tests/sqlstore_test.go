package tests

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/internal/pgtest"
	"github.com/tokengate/tokengate/internal/redistest"
)

// sqlConfig is a config on the sql store at dsn and the Redis state backend at redisURL, with the
// introspection client "downstream" (dsClientSecret).
func sqlConfig(dsn, redisURL string) string {
	sum := sha256.Sum256([]byte(dsClientSecret))
	return fmt.Sprintf(`
server:
  addr: "127.0.0.1:0"
token:
  secret: %q
  ttl: 15m
store:
  kind: sql
  dsn: %q
  query_timeout: 2s
state:
  backend: redis
  redis_url: %q
log:
  level: info
  format: json
clients:
  downstream:
    secret_sha256: %q
`, testSecret, dsn, redisURL, hex.EncodeToString(sum[:]))
}

// runCLI runs the binary with args, stdin and env, and fails the test unless it succeeds.
func runCLI(t *testing.T, stdin string, env []string, args ...string) string {
	t.Helper()
	out, errOut, code := run(t, t.TempDir(), stdin, env, args...)
	if code != 0 {
		t.Fatalf("tokengate %v: exit %d\n%s%s", args, code, out, errOut)
	}
	return out
}

// TestSQLReplicas: two tokengate processes on one PostgreSQL and one Redis. A user created on one
// logs in on the other at once; disabled on one, their token is refused on the other at once;
// two replicas creating one name at once give one 201 and one 409; while PostgreSQL is down both
// fail closed (/readyz and logins 503), and when it is back nothing is lost.
func TestSQLReplicas(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.NewDatabase(t)
	redisURL := redistest.Start(t)
	// The first admin comes from the command line, before any server runs (it migrates the schema).
	out := runCLI(t, "root-password\n", []string{"TOKENGATE_STORE_KIND=sql", "TOKENGATE_STORE_DSN=" + dsn},
		"users", "add", "root", "--role", "admin", "--cost", "4")
	if !strings.Contains(out, "added root to postgres://postgres@127.0.0.1:") {
		t.Errorf("users add: %q", out)
	}
	dir := t.TempDir()
	cfg := dir + "/config.yaml"
	if err := os.WriteFile(cfg, []byte(sqlConfig(dsn, redisURL)), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startIn(t, dir, []string{"serve", "--config", cfg})
	b := startIn(t, dir, []string{"serve", "--config", cfg})
	root := "Bearer " + a.accessToken(t, "root", "root-password")
	send := func(s *server, method, path, body string) response {
		t.Helper()
		req := newRequest(t, method, s.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", root)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		return do(t, req)
	}

	t.Run("created on one, logs in on the other at once", func(t *testing.T) {
		r := send(a, http.MethodPost, "/users", `{"username":"carol","password":"carol-password","roles":["ops"]}`)
		if r.Status != http.StatusCreated {
			t.Fatalf("POST /users on a: %d %s", r.Status, r.Body)
		}
		body := b.login(t, "carol", "carol-password")
		access := body["access_token"].(string)
		if r := b.get(t, "/protected", "Authorization", "Bearer "+access); r.Status != http.StatusOK {
			t.Fatalf("carol on b: %d %s", r.Status, r.Body) // and b has her token cached now
		}
		if r := b.introspect(t, "downstream", dsClientSecret, access); r.Status != 200 || !strings.Contains(string(r.Body), `"active":true`) {
			t.Fatalf("/introspect on b before: %d %s", r.Status, r.Body)
		}

		// Disabled on a: refused on b at once, cached or not, refresh and login too.
		if r := send(a, http.MethodPatch, "/users/carol", `{"disabled":true}`); r.Status != http.StatusOK {
			t.Fatalf("PATCH on a: %d %s", r.Status, r.Body)
		}
		wantError(t, b.get(t, "/protected", "Authorization", "Bearer "+access), 401, "invalid_token")
		wantError(t, a.get(t, "/protected", "Authorization", "Bearer "+access), 401, "invalid_token")
		// The gateway and introspection verify alike.
		r = b.get(t, "/auth", "X-Forwarded-Method", "GET", "X-Forwarded-Host", "app", "X-Forwarded-Uri", "/api/x",
			"Authorization", "Bearer "+access)
		if r.Status != http.StatusUnauthorized {
			t.Errorf("/auth on b with the disabled user's token: %d %s, want 401", r.Status, r.Body)
		}
		if r := b.introspect(t, "downstream", dsClientSecret, access); r.Status != 200 || strings.TrimSpace(string(r.Body)) != `{"active":false}` {
			t.Errorf("/introspect on b: %d %s, want {\"active\":false}", r.Status, r.Body)
		}
		wantError(t, b.refresh(t, body["refresh_token"].(string)), 401, "invalid_token")
		r = b.postJSON(t, "/login", `{"username":"carol","password":"carol-password"}`)
		wantError(t, r, 401, "invalid_credentials")
	})

	t.Run("one name created on both at once: one 201, one 409", func(t *testing.T) {
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i, s := range []*server{a, b} {
			wg.Go(func() {
				codes[i] = send(s, http.MethodPost, "/users", `{"username":"dave","password":"dave-password"}`).Status
			})
		}
		wg.Wait()
		if !(codes[0] == 201 && codes[1] == 409) && !(codes[0] == 409 && codes[1] == 201) {
			t.Errorf("statuses = %v, want one 201 and one 409", codes)
		}
	})

	t.Run("deleted on one, gone on the other", func(t *testing.T) {
		if r := send(b, http.MethodDelete, "/users/dave", ""); r.Status != http.StatusNoContent {
			t.Fatalf("DELETE on b: %d %s", r.Status, r.Body)
		}
		wantError(t, send(a, http.MethodGet, "/users/dave", ""), 404, "not_found")
	})

	t.Run("PostgreSQL down: fail closed; back: nothing lost", func(t *testing.T) {
		pg.Stop()
		for _, s := range []*server{a, b} {
			wantError(t, s.get(t, "/readyz"), 503, "not_ready")
			wantError(t, s.postJSON(t, "/login", `{"username":"root","password":"root-password"}`), 503, "unavailable")
			wantError(t, s.postJSON(t, "/login", `{"username":"nobody","password":"whatever-password"}`), 503, "unavailable")
		}
		if strings.Contains(string(a.get(t, "/readyz").Body), "127.0.0.1") {
			t.Error("/readyz shows the database's address")
		}
		if err := pg.Restart(); err != nil {
			t.Fatal(err)
		}
		for _, s := range []*server{a, b} {
			if r := s.get(t, "/readyz"); r.Status != http.StatusOK {
				t.Errorf("/readyz after the outage: %d %s", r.Status, r.Body)
			}
			s.login(t, "root", "root-password")
		}
		r := send(a, http.MethodGet, "/users", "")
		if r.Status != 200 || !strings.Contains(string(r.Body), `{"username":"carol","roles":["ops"],"disabled":true}`) {
			t.Errorf("GET /users after the outage: %d %s", r.Status, r.Body)
		}
	})

	for _, s := range []*server{a, b} {
		logs := s.logText()
		if strings.Contains(logs, "$2a$") || strings.Contains(logs, "carol-password") {
			t.Errorf("a replica logged a hash or password:\n%s", logs)
		}
	}
	if !strings.Contains(a.logText(), `"msg":"user changed","actor":"root","action":"add","user":"carol"`) {
		t.Errorf("no audit line for carol's creation on a:\n%s", a.logText())
	}
}
