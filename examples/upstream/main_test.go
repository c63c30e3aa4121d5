package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestEchoShowsWhatArrived(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(echo))
	defer srv.Close()
	tests := []struct {
		name, method, target, body string
		header                     http.Header
		want                       Echo
	}{
		{
			name: "identity headers", method: "GET", target: "/api/hello?token=abc&x=1",
			header: http.Header{"X-Auth-User": {"alice"}, "X-Auth-Roles": {"admin,dev"}, "X-Other": {"no"}},
			want: Echo{Method: "GET", URI: "/api/hello?token=abc&x=1", Path: "/api/hello", Query: "token=abc&x=1",
				AuthHeaders: map[string][]string{"X-Auth-User": {"alice"}, "X-Auth-Roles": {"admin,dev"}}},
		},
		{
			name: "two values of one header are both shown", method: "GET", target: "/",
			header: http.Header{"X-Auth-User": {"alice", "admin"}},
			want:   Echo{Method: "GET", URI: "/", Path: "/", AuthHeaders: map[string][]string{"X-Auth-User": {"alice", "admin"}}},
		},
		{
			name: "no cleaning, no redirect", method: "DELETE", target: "/a//b/../%2e%2e/c%2Fd", body: "12345",
			want: Echo{Method: "DELETE", URI: "/a//b/../%2e%2e/c%2Fd", Path: "/a//b/../../c/d", BodyBytes: 5, AuthHeaders: map[string][]string{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := do(t, srv.URL, tt.method, tt.target, tt.body, tt.header)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("echo = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// do sends target as the raw request line target (no client-side cleaning) and decodes the echo.
func do(t *testing.T, base, method, target, body string, h http.Header) Echo {
	t.Helper()
	req, err := http.NewRequest(method, base, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = target
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s %s = %d %s, want 200 application/json", method, target, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var e Echo
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestServeAnswersAndStops(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, l) }()
	got := do(t, "http://"+l.Addr().String(), "PUT", "/x", "ab", nil)
	if got.Method != "PUT" || got.BodyBytes != 2 {
		t.Errorf("echo = %+v, want PUT with 2 body bytes", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve after cancel = %v, want nil", err)
	}
}

func TestRunRefusesABadAddress(t *testing.T) {
	env := map[string]string{"ADDR": "127.0.0.1:notaport"}
	var stderr strings.Builder
	if err := run(context.Background(), func(k string) string { return env[k] }, &stderr); err == nil {
		t.Fatal("run with ADDR=127.0.0.1:notaport = nil, want an error")
	}
}
