package tests

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/redistest"
)

// redisConfig is the default config with the Redis state backend and a short lock-out policy.
func redisConfig(t testing.TB, redisURL string) string {
	return config(t, fmt.Sprintf(`
state:
  backend: redis
  redis_url: %q
login:
  max_failures: 3
  window: 1m
  lockout: 5m
`, redisURL))
}

// TestReplicasShareState: two tokengate processes on one Redis honour each other's logouts, refresh
// spends and lock-outs.
func TestReplicasShareState(t *testing.T) {
	t.Parallel()
	redisURL := redistest.Start(t)
	a := startServer(t, redisConfig(t, redisURL))
	b := startServer(t, redisConfig(t, redisURL))

	t.Run("logout on one is honoured by the other", func(t *testing.T) {
		body := a.login(t, "alice", "pyconid")
		access, refresh := body["access_token"].(string), body["refresh_token"].(string)
		if r := b.get(t, "/protected", "Authorization", "Bearer "+access); r.Status != 200 {
			t.Fatalf("replica b before logout: %d %s", r.Status, r.Body) // and now b has it cached
		}
		if r := a.postJSON(t, "/logout", fmt.Sprintf(`{"refresh_token":%q}`, refresh), "Authorization", "Bearer "+access); r.Status != 204 {
			t.Fatalf("logout on a: %d %s", r.Status, r.Body)
		}
		wantError(t, b.get(t, "/protected", "Authorization", "Bearer "+access), 401, "invalid_token")
		wantError(t, b.get(t, "/protected?token="+url.QueryEscape(access)), 401, "invalid_token")
		wantError(t, b.refresh(t, refresh), 401, "invalid_token")
	})

	t.Run("a refresh token spent on one cannot be reused on the other", func(t *testing.T) {
		r1 := a.login(t, "bob", "bob-password")["refresh_token"].(string)
		r := a.refresh(t, r1)
		if r.Status != 200 {
			t.Fatalf("refresh on a: %d %s", r.Status, r.Body)
		}
		r2 := r.JSON(t)["refresh_token"].(string)
		wantError(t, b.refresh(t, r1), 401, "invalid_token")
		wantError(t, b.refresh(t, r2), 401, "invalid_token") // reuse killed the family
	})

	t.Run("a lock-out counted on one holds on the other", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			srv := a
			if i%2 == 1 {
				srv = b
			}
			wantError(t, srv.get(t, "/login", "Authorization", basic("Alice", "wrong")), 401, "invalid_credentials")
		}
		for _, srv := range []*server{a, b} {
			r := srv.get(t, "/login", "Authorization", basic("Alice", "capital-alice")) // right password
			wantError(t, r, 429, "too_many_attempts")
			if r.Header.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After")
			}
		}
	})
}

// TestRedisOutage: with Redis down, routes that need it answer 503 — never 500, never "allow" — and
// /readyz fails; /healthz and open routes keep answering.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	redisURL, stopRedis := redistest.StartProcess(t)
	s := startServer(t, redisConfig(t, redisURL))
	body := s.login(t, "alice", "pyconid")
	access, refresh := body["access_token"].(string), body["refresh_token"].(string)
	if r := s.get(t, "/protected", "Authorization", "Bearer "+access); r.Status != 200 {
		t.Fatalf("before the outage: %d", r.Status)
	}
	if r := s.get(t, "/readyz"); r.Status != 200 {
		t.Fatalf("/readyz before the outage: %d %s", r.Status, r.Body)
	}
	stopRedis()

	for name, r := range map[string]response{
		"protected (cached token)": s.get(t, "/protected", "Authorization", "Bearer "+access),
		"me":                       s.get(t, "/me?token="+url.QueryEscape(access)),
		"login":                    s.get(t, "/login", "Authorization", basic("alice", "pyconid")),
		"refresh":                  s.refresh(t, refresh),
		"logout":                   s.postJSON(t, "/logout", "", "Authorization", "Bearer "+access),
		"readyz":                   s.get(t, "/readyz"),
	} {
		t.Run(name, func(t *testing.T) {
			if r.Status != 503 {
				t.Fatalf("status = %d, want 503; body %s", r.Status, r.Body)
			}
			m := r.JSON(t)
			if e, _ := m["error"].(string); e != "unavailable" && e != "not_ready" {
				t.Fatalf("error = %q", e)
			}
		})
	}
	if r := s.get(t, "/healthz"); r.Status != 200 {
		t.Errorf("/healthz during the outage = %d, want 200", r.Status)
	}
	if r := s.get(t, "/unprotected"); r.Status != 200 {
		t.Errorf("/unprotected during the outage = %d, want 200", r.Status)
	}
	for _, line := range s.Logs() {
		if strings.Contains(line, access) || strings.Contains(line, refresh) {
			t.Fatalf("a token reached the log: %s", line)
		}
	}
}
