package tests

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecurityLogLeakCheck: the checker behind every security test's log check finds what it
// must, and does not cry wolf on an ordinary access line.
func TestSecurityLogLeakCheck(t *testing.T) {
	watch := map[string]string{testSecret: "the secret", "pyconid": "a password"}
	for _, clean := range []string{
		`{"time":"2026-01-01T00:00:00Z","level":"INFO","msg":"request","method":"GET","path":"/protected","query":"token=REDACTED","status":401}`,
		`level=WARN msg="users file reload failed" err="users.yaml:2: password hash is not a bcrypt hash ($2a$, $2b$ or $2y$)"`,
	} {
		if got := logLeaks([]string{clean}, watch); len(got) != 0 {
			t.Errorf("clean line reported: %v", got)
		}
	}
	for name, line := range map[string]string{
		"bcrypt $2a$": `msg=x hash=$2a$04$abcdefghijklmnopqrstuv`,
		"bcrypt $2b$": `msg=x hash=$2b$12$`,
		"bcrypt $2y$": `"hash":"$2y$10$abc"`,
		"JWT":         `query="token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.sig"`,
		"secret":      `err="bad key ` + testSecret + `"`,
		"password":    `user=alice password=pyconid`,
	} {
		if got := logLeaks([]string{line}, watch); len(got) == 0 {
			t.Errorf("%s: not reported", name)
		}
	}
}

// TestSecurityLogsHoldNoSecrets pushes tokens, passwords and secrets through every route and
// every place a request can carry them, in both log formats at debug level; the end-of-test check
// (startServer) then fails on any log line holding one. The log must not be empty: it must show
// the redacted queries.
func TestSecurityLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			s := startServer(t, config(t, ""), "TOKENGATE_LOG_FORMAT="+format)
			exerciseSecrets(t, s)
			s.stop(t)
			if text := strings.Join(s.Logs(), "\n"); !strings.Contains(text, "REDACTED") || !strings.Contains(text, "/protected") {
				t.Fatalf("the access log does not show the redacted requests:\n%s", text)
			}
		})
	}
}

// exerciseSecrets sends every kind of secret to s in every place tokengate reads or logs.
func exerciseSecrets(t *testing.T, s *server) {
	t.Helper()
	access, refresh := s.tokens(t, "alice", "pyconid")
	bobAccess, _ := s.tokens(t, "bob", "bob-password")
	q := url.QueryEscape(access)
	forged := jws(object("alg", "HS256"), claims("alice"), signHS256([]byte("attacker-secret-attacker-secret-attacker")))

	// Logins: every encoding, success and failure, and credentials in the query string.
	s.postJSON(t, "/login", `{"username":"alice","password":"pyconid"}`)
	s.postJSON(t, "/login", `{"username":"alice","password":"bob-password"}`)
	form := newRequest(t, "POST", s.URL+"/login", strings.NewReader("username=bob&password=bob-password"))
	form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	do(t, form)
	s.get(t, "/login", "Authorization", basic("carol", "carol-password"))
	s.get(t, "/login", "Authorization", basic("long", longPassword+"x"))
	s.get(t, "/login?username=alice&password=pyconid")
	s.get(t, "/login?secret="+url.QueryEscape(testSecret))

	// Tokens in every place, good and bad, on every route.
	for _, path := range []string{"/protected", "/me", "/admin", "/nope", "/login", "/healthz"} {
		s.get(t, path, "Authorization", "Bearer "+access)
		s.get(t, path+"?token="+q)
		s.get(t, path+"?%74oken="+q)
		s.get(t, path+"?TOKEN="+q)
		s.get(t, path+"?access_token="+q)
		s.get(t, path+"?token="+q+"&token="+url.QueryEscape(forged))
		s.get(t, path+"?token="+url.QueryEscape(forged))
	}
	s.get(t, "/admin", "Authorization", "Bearer "+bobAccess) // 403
	s.get(t, "/protected", "Authorization", "Bearer "+access, "Cookie", "token="+access)
	do(t, newRequest(t, "DELETE", s.URL+"/protected?token="+q, nil)) // 405

	// Refresh tokens: in the body, in the query, reused.
	r := s.postJSON(t, "/refresh", fmt.Sprintf(`{"refresh_token":%q}`, refresh))
	if r.Status == 200 {
		s.never(r.JSON(t)["access_token"].(string), "an access token")
		s.never(r.JSON(t)["refresh_token"].(string), "a refresh token")
	}
	s.postJSON(t, "/refresh", fmt.Sprintf(`{"refresh_token":%q}`, refresh)) // reuse: the family is revoked
	s.postJSON(t, "/refresh?refresh_token="+url.QueryEscape(refresh), `{}`)
	s.postJSON(t, "/refresh", fmt.Sprintf(`{"refresh_token":%q}`, access)) // an access token as a refresh token

	// Logout, then the revoked token again.
	fresh, freshRefresh := s.tokens(t, "alice", "pyconid")
	s.postJSON(t, "/logout", fmt.Sprintf(`{"refresh_token":%q}`, freshRefresh), "Authorization", "Bearer "+fresh)
	s.get(t, "/protected?token="+url.QueryEscape(fresh))
}

// TestSecurityLogsRedactMisplacedTokens: a client that puts its token in a query parameter
// tokengate does not read (a semicolon-separated query, an OAuth-style or array-style name) still
// sends a live bearer token; the access log must not keep it either.
func TestSecurityLogsRedactMisplacedTokens(t *testing.T) {
	t.Parallel()
	s := startServer(t, config(t, ""))
	access, _ := s.tokens(t, "alice", "pyconid")
	q := url.QueryEscape(access)
	// A ';' separator: read one way by some servers and another by net/url, so refused.
	wantError(t, s.get(t, "/protected?page=1;token="+q), 400, "invalid_request")
	for _, query := range []string{
		"token[]=" + q,       // PHP-style array name
		"jwt=" + q,           // a common name for it
		"id_token=" + q,      // OpenID Connect's name
		"Authorization=" + q, // a header copied into the URL
	} {
		wantError(t, s.get(t, "/protected?"+query), 401, "missing_token")
	}
}

// TestSecurityUsersFileErrorsHideSecrets: a users file that fails to reload (a plaintext password
// where the hash goes, a hash under an unknown key, a truncated hash) is logged by line, never by
// content: the log holds no password and no hash.
func TestSecurityUsersFileErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	users := filepath.Join(dir, "users.yaml")
	writeFile(t, users, usersFile(t, testUsers, 4))
	h := hashOf(t, testUsers[0].password, 4)
	s := startServer(t, conf{store: fileStore(users)}.yaml(t))
	s.tokens(t, "alice", "pyconid")

	broken := fmt.Sprintf("users:\n  alice:\n    password_hash: \"pyconid\"\n    passwd: %q\n  bob:\n    password_hash: %q\n  carol:\n    password_hash: \"bob-password\"\n", h, h[:40])
	replaceFile(t, users, broken)
	s.awaitLog(t, reloadFailedRE, 1)
	s.tokens(t, "alice", "pyconid") // the last good list is still in force
}

// TestSecurityCheckConfigHidesSecrets: `tokengate check-config` on a config with problems prints
// every problem and no secret: not the HMAC secret, not a hash.
func TestSecurityCheckConfigHidesSecrets(t *testing.T) {
	t.Parallel()
	short := "short-but-secret-value"
	cfg := strings.Replace(config(t, "state:\n  backend: redis\n  redis_url: \"redis://:hunter2-redis-password@127.0.0.1:1/0\"\n"),
		fmt.Sprintf("secret: %q", testSecret), fmt.Sprintf("secret: %q", short), 1)
	cfg = mustReplace(t, cfg, "  ttl: 15m\n", "  ttl: -1m\n")
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, cfg)
	stdout, stderr, code := run(t, dir, "", nil, "check-config", "--config", path)
	out := stdout + stderr
	if code == 0 {
		t.Fatalf("check-config accepted a bad config:\n%s", out)
	}
	watch := map[string]string{short: "the HMAC secret", "hunter2-redis-password": "the Redis password"}
	for _, u := range testUsers {
		watch[u.password] = "a password"
	}
	for _, leak := range logLeaks(strings.Split(out, "\n"), watch) {
		t.Errorf("check-config output: %s", leak)
	}
	if !strings.Contains(out, "token.ttl") {
		t.Errorf("check-config does not name the bad key token.ttl:\n%s", out)
	}
}
