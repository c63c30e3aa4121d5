package routes

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/state"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/token"
)

// TestErrorTable: every error a handler can record maps to its documented status, code and headers,
// and unknown errors are a 500 whose details stay in the log.
func TestErrorTable(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	cases := []struct {
		err    error
		status int
		code   string
		header string // a header that must be set
	}{
		{store.ErrInvalidCredentials, 401, "invalid_credentials", "WWW-Authenticate"},
		{errNoCredentials, 401, "invalid_credentials", "WWW-Authenticate"},
		{&lockedError{retryAfter: 1500 * time.Millisecond}, 429, "too_many_attempts", "Retry-After"},
		{fmt.Errorf("wrapped: %w", store.ErrOverloaded), 503, "overloaded", "Retry-After"},
		{&http.MaxBytesError{Limit: 10}, 413, "invalid_request", ""},
		{store.ErrPasswordTooLong, 400, "invalid_request", ""},
		{badRequest("malformed JSON body"), 400, "invalid_request", ""},
		{errBadRefresh, 401, "invalid_token", "WWW-Authenticate"},
		{fmt.Errorf("redis: %w", state.ErrUnavailable), 503, "unavailable", "Retry-After"},
		{token.ErrStateUnavailable, 503, "unavailable", "Retry-After"},
		{store.ErrNotLoaded, 503, "unavailable", "Retry-After"},
		{errors.New("secret detail"), 500, "internal_error", ""},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%T %v", c.err, c.err), func(t *testing.T) {
			r := gin.New()
			r.Use(renderErrors(slog.New(slog.DiscardHandler)))
			r.GET("/", func(ctx *gin.Context) { _ = ctx.Error(c.err) })
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			if w.Code != c.status {
				t.Fatalf("status = %d, want %d", w.Code, c.status)
			}
			var body map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if body["error"] != c.code || body["message"] == "" {
				t.Fatalf("body = %v, want error %q", body, c.code)
			}
			if c.header != "" && w.Header().Get(c.header) == "" {
				t.Fatalf("header %s missing", c.header)
			}
			if c.status == 500 && body["message"] != "internal server error" {
				t.Fatalf("500 leaks details: %v", body)
			}
		})
	}
}

func TestCeilSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{0: 1, time.Millisecond: 1, time.Second: 1, 1500 * time.Millisecond: 2, time.Minute: 60} {
		if got := ceilSeconds(d); got != want {
			t.Errorf("ceilSeconds(%v) = %d, want %d", d, got, want)
		}
	}
}
