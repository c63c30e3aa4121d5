// Command nethttp is the floor that bench/run.sh measures beside tokengate and gin-jwt: a bare
// net/http server whose /unprotected writes the same body as tokengate's, with no router, no
// middleware and no log. Driven with and without the bearer header /protected needs, it shows what
// net/http itself spends reading that header, before any handler could look at the token.
//
//	nethttp [-addr 127.0.0.1:0]   prints "listening ADDR" on stdout, then serves until killed
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nethttp:", err)
		os.Exit(1)
	}
	body := []byte(`{"message":"Anyone can view this."}`)
	contentType := []string{"application/json; charset=utf-8"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /unprotected", func(w http.ResponseWriter, _ *http.Request) {
		w.Header()["Content-Type"] = contentType
		_, _ = w.Write(body)
	})
	fmt.Println("listening", ln.Addr().String())
	// tokengate's http.Server settings (its defaults): the floor pays the same per-request deadlines.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10}
	fmt.Fprintln(os.Stderr, "nethttp:", srv.Serve(ln))
	os.Exit(1)
}
