package caddytest

import (
	"fmt"
	"io"
	"net/http"
	"testing"
)

func TestCaddyServesTheCaddyfile(t *testing.T) {
	bin := Build(t)
	s := Start(t, bin, func(listen string) string {
		return fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n}\n\nhttp://%s {\n\trespond \"hello from caddy\" 200\n}\n", listen)
	})
	resp, err := http.Get(s.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello from caddy" || resp.Header.Get("Server") != "Caddy" {
		t.Errorf("GET / = %d %q (Server %q), want 200 %q from Caddy", resp.StatusCode, body, resp.Header.Get("Server"), "hello from caddy")
	}
	s.Stop()
}
