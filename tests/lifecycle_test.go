package tests

import (
	"fmt"
	"net/url"
	"testing"
)

// TestRefreshRotatesAndDetectsReuse: a refresh spends the old token; presenting it again is refused
// and revokes the whole family, so the newer refresh token dies too (RFC 9700 reuse detection).
func TestRefreshRotatesAndDetectsReuse(t *testing.T) {
	t.Parallel()
	s := startServer(t, config(t, ""))
	first := s.login(t, "alice", "pyconid")
	r1 := first["refresh_token"].(string)

	r := s.refresh(t, r1)
	if r.Status != 200 {
		t.Fatalf("refresh status = %d, want 200; body %s", r.Status, r.Body)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", r.Header.Get("Cache-Control"))
	}
	second := r.JSON(t)
	a2, r2 := second["access_token"].(string), second["refresh_token"].(string)
	if r2 == r1 || a2 == first["access_token"] {
		t.Fatalf("refresh did not rotate the tokens")
	}
	if got := s.get(t, "/protected", "Authorization", "Bearer "+a2); got.Status != 200 {
		t.Fatalf("new access token: status = %d, want 200", got.Status)
	}

	wantError(t, s.refresh(t, r1), 401, "invalid_token") // reuse
	wantError(t, s.refresh(t, r2), 401, "invalid_token") // the family is dead
}

// TestTokensAreNotInterchangeable: an access token is never a refresh token, nor the reverse.
func TestTokensAreNotInterchangeable(t *testing.T) {
	t.Parallel()
	s := startServer(t, config(t, ""))
	body := s.login(t, "alice", "pyconid")
	access, refresh := body["access_token"].(string), body["refresh_token"].(string)
	wantError(t, s.refresh(t, access), 401, "invalid_token")
	wantError(t, s.get(t, "/protected", "Authorization", "Bearer "+refresh), 401, "invalid_token")
	wantError(t, s.get(t, "/protected?token="+url.QueryEscape(refresh)), 401, "invalid_token")
	for name, b := range map[string]string{
		"empty body":  ``,
		"no field":    `{}`,
		"number":      `{"refresh_token":1}`,
		"duplicate":   `{"refresh_token":"a","refresh_token":"b"}`,
		"not json":    `refresh_token=abc`,
		"huge":        fmt.Sprintf(`{"refresh_token":%q}`, string(make([]byte, 600))),
		"unknown one": `{"refresh_token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`,
	} {
		t.Run(name, func(t *testing.T) {
			r := s.postJSON(t, "/refresh", b)
			if r.Status != 400 && r.Status != 401 {
				t.Fatalf("status = %d, want 400 or 401; body %s", r.Status, r.Body)
			}
		})
	}
}

// TestLogout revokes the access token and the refresh token's family.
func TestLogout(t *testing.T) {
	t.Parallel()
	s := startServer(t, config(t, ""))
	body := s.login(t, "alice", "pyconid")
	access, refresh := body["access_token"].(string), body["refresh_token"].(string)
	// Warm the verified-token cache: revocation must still win afterwards.
	if r := s.get(t, "/protected", "Authorization", "Bearer "+access); r.Status != 200 {
		t.Fatalf("before logout: %d", r.Status)
	}
	r := s.postJSON(t, "/logout", fmt.Sprintf(`{"refresh_token":%q}`, refresh), "Authorization", "Bearer "+access)
	if r.Status != 204 {
		t.Fatalf("logout status = %d, want 204; body %s", r.Status, r.Body)
	}
	wantError(t, s.get(t, "/protected", "Authorization", "Bearer "+access), 401, "invalid_token")
	wantError(t, s.get(t, "/protected?token="+url.QueryEscape(access)), 401, "invalid_token")
	wantError(t, s.refresh(t, refresh), 401, "invalid_token")
	// Logging out needs a valid token.
	wantError(t, s.postJSON(t, "/logout", ``), 401, "missing_token")
	wantError(t, s.postJSON(t, "/logout", ``, "Authorization", "Bearer "+access), 401, "invalid_token")
	// Another session of the same user is untouched.
	other := s.accessToken(t, "alice", "pyconid")
	if r := s.get(t, "/protected", "Authorization", "Bearer "+other); r.Status != 200 {
		t.Fatalf("other session: %d", r.Status)
	}
	// Logout without a refresh token revokes the access token only.
	if r := s.postJSON(t, "/logout", ``, "Authorization", "Bearer "+other); r.Status != 204 {
		t.Fatalf("logout without body: %d %s", r.Status, r.Body)
	}
	wantError(t, s.get(t, "/protected", "Authorization", "Bearer "+other), 401, "invalid_token")
}
