package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ten := make([]time.Duration, 10)
	for i := range ten {
		ten[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      int
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", []time.Duration{7}, 99, 7},
		{"p50 of ten", ten, 50, 5 * time.Millisecond},
		{"p90 of ten", ten, 90, 9 * time.Millisecond},
		{"p99 of ten", ten, 99, 10 * time.Millisecond},
		{"max of ten", ten, 100, 10 * time.Millisecond},
		{"p0 of ten", ten, 0, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%d) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	results := []result{
		{status: 200, latency: 100 * time.Millisecond},
		{status: 200, latency: 3 * time.Second}, // too late: not ok
		{status: 503, latency: 50 * time.Millisecond},
		{status: 0, latency: 10 * time.Second},
	}
	got := summarize(results, 2*time.Second)
	for _, want := range []string{"sent=4 ", "ok=1 ", "fraction=0.250 ", "statuses=0:1,200:2,503:1", "max_ms=10000.0"} {
		if !strings.Contains(got, want) {
			t.Errorf("summarize = %q, want it to contain %q", got, want)
		}
	}
}

// TestLoginSendsBasicAuth drives login against a real listener: the credentials arrive as HTTP
// Basic, and the status is the server's.
func TestLoginSendsBasicAuth(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "pw" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"access_token":"x"}`))
	}))
	defer srv.Close()
	tests := []struct {
		name, password string
		want           int
	}{
		{"right password", "pw", http.StatusOK},
		{"wrong password", "nope", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := login(srv.Client(), srv.URL, "alice", tt.password).status; got != tt.want {
				t.Errorf("status = %d, want %d", got, tt.want)
			}
		})
	}
}
