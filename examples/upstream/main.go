// Command upstream is a service with no auth code at all, to put behind tokengate's gateway: it
// answers every request, whatever its method and path, with a JSON echo of what reached it — the
// method, the raw URI, the decoded path, the raw query, the size of the body and every X-Auth-*
// identity header (with all its values) that the reverse proxy set after asking tokengate's /auth.
//
//	ADDR=:8082 upstream
//
// It never cleans or redirects a path (no http.ServeMux), so tests see exactly what the proxy sent.
// It stops gracefully on SIGINT/SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// maxBody bounds how much of a request body is read (and counted).
const maxBody = 1 << 20

// Echo is the answer to every request.
type Echo struct {
	Method      string              `json:"method"`
	URI         string              `json:"uri"`   // the request target as sent, undecoded
	Path        string              `json:"path"`  // decoded
	Query       string              `json:"query"` // raw
	BodyBytes   int64               `json:"body_bytes"`
	AuthHeaders map[string][]string `json:"auth_headers"` // every X-Auth-* header, all values
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "upstream:", err)
		os.Exit(1)
	}
}

// run listens on $ADDR (default :8082) and serves until ctx ends.
func run(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	addr := getenv("ADDR")
	if addr == "" {
		addr = ":8082"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "upstream: listening on %s\n", l.Addr())
	return serve(ctx, l)
}

// serve answers on l until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           http.HandlerFunc(echo),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// echo answers 200 with the Echo of r.
func echo(w http.ResponseWriter, r *http.Request) {
	n, _ := io.Copy(io.Discard, io.LimitReader(r.Body, maxBody))
	e := Echo{
		Method:      r.Method,
		URI:         r.RequestURI,
		Path:        r.URL.Path,
		Query:       r.URL.RawQuery,
		BodyBytes:   n,
		AuthHeaders: map[string][]string{},
	}
	for name, vals := range r.Header {
		if strings.HasPrefix(name, "X-Auth-") {
			e.AuthHeaders[name] = vals
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(e)
}
